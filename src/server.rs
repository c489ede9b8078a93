//! Server assembly: RouteGuide, health and reflection on one listener, with graceful shutdown.

mod incoming;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::body::Body;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::pb::health_check_response::ServingStatus;
use tower::layer::util::Identity;
use tower::{Layer, Service};

use crate::config::ServerConfig;
use crate::health::health_reporter;
use crate::index::FeatureIndex;
use crate::notes::NoteStore;
use crate::notes_health::follow_note_store;
use crate::pb;
use crate::service::{DeadlineLayer, DeadlineService, RouteGuideService};

/// The service that a layer given to [`serve_with_layer`] wraps: every call of every
/// service (RouteGuide, health, reflection) after the deadline layer read its deadline.
pub type CallStack = DeadlineService<Routes>;

/// The encoded descriptor set of `proto/route_guide.proto`, served by reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/route_guide_descriptor.bin"));

/// The fully qualified name of the RouteGuide service.
pub const SERVICE_NAME: &str = "routeguide.RouteGuide";

/// How long connections may stay open after the grace period ended all streams.
const CLOSE_AFTER_DRAIN: Duration = Duration::from_secs(2);

/// Says why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listener's address could not be read.
    #[error("cannot read listener address: {0}")]
    Listener(#[source] std::io::Error),
    /// The reflection service could not be built from the descriptor set.
    #[error("cannot build reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The transport failed.
    #[error("transport error: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// Closing the note store failed.
    #[error(transparent)]
    Notes(#[from] crate::notes::NoteError),
}

/// Serves on `listener` until `shutdown` resolves, then shuts down gracefully.
///
/// Logs `listening on ADDR` once connections are accepted. While serving, health follows
/// the note store (`NOT_SERVING` while `NoteStore::check` fails, checked every
/// `config.notes_check_interval`). After `shutdown`: health turns `NOT_SERVING` for good,
/// the listener closes and connections get GOAWAY; calls in flight may finish during
/// `config.grace`; then open streams end with `UNAVAILABLE`, connections get a little
/// longer to close, and the note store is closed last.
///
/// # Errors
/// [`ServeError`] when the reflection descriptors are broken, the transport fails, or the
/// note store cannot be closed.
pub async fn serve(
    listener: TcpListener,
    index: Arc<FeatureIndex>,
    notes: Arc<dyn NoteStore>,
    config: &ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    serve_with_layer(listener, index, notes, config, Identity::new(), shutdown).await
}

/// Serves as [`serve`] does, with `layer` outermost in the stack every call passes through.
///
/// The layer sees each call's HTTP request (path, headers, extensions such as tonic's
/// `TcpConnectInfo`) before any handler, whatever the service or the compression, and
/// may answer it itself (e.g. with `Status::into_http`); what it leaves in the request's
/// headers and extensions reaches the handler as metadata and extensions.
///
/// # Errors
/// As [`serve`].
pub async fn serve_with_layer<L>(
    listener: TcpListener,
    index: Arc<FeatureIndex>,
    notes: Arc<dyn NoteStore>,
    config: &ServerConfig,
    layer: L,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError>
where
    L: Layer<CallStack> + Clone,
    L::Service:
        Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    <L::Service as Service<http::Request<Body>>>::Future: Send,
    <L::Service as Service<http::Request<Body>>>::Error: Into<tower::BoxError> + Send + 'static,
{
    let address = listener.local_addr().map_err(ServeError::Listener)?;
    let drain = CancellationToken::new();
    let stopping = CancellationToken::new();

    let (health_reporter, health_service) = health_reporter(drain.clone());
    for service in ["", SERVICE_NAME] {
        health_reporter.set(service, ServingStatus::Serving);
    }

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let service = Arc::new(
        RouteGuideService::new(index, Arc::clone(&notes), config.requests, drain.clone())
            .with_rectangle_search(config.rectangle_search),
    );
    let route_guide = pb::route_guide_server::RouteGuideServer::from_arc(service)
        .max_decoding_message_size(config.max_message_bytes)
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip)
        .send_compressed(tonic::codec::CompressionEncoding::Gzip);

    // tonic's `serve_with_incoming` ignores the builder's TCP settings, so set them here:
    // without TCP_NODELAY, small stream messages wait ~40 ms for delayed ACKs.
    // Out of file descriptors, tonic's accept loop would spin; this pauses it instead.
    let incoming = incoming::PausingIncoming::new(
        TcpIncoming::from(listener)
            .with_nodelay(Some(true))
            .with_keepalive(Some(config.keepalive_interval)),
    );

    // The health follower is cancelled (and awaited) before shutdown writes NOT_SERVING, so
    // it cannot turn health back to SERVING; the guard also ends it if serving fails.
    let follower_stop = CancellationToken::new();
    let _follower_guard = follower_stop.clone().drop_guard();
    let follower = tokio::spawn({
        let notes = Arc::clone(&notes);
        let reporter = health_reporter.clone();
        let interval = config.notes_check_interval;
        let stop = follower_stop.clone();
        async move {
            follow_note_store(notes, reporter, &["", SERVICE_NAME], interval, stop).await;
        }
    });

    let begin_shutdown = {
        let stopping = stopping.clone();
        let reporter = health_reporter.clone();
        async move {
            shutdown.await;
            tracing::info!(grace_seconds = config.grace.as_secs_f64(), "shutting down");
            follower_stop.cancel();
            let _ = follower.await;
            for service in ["", SERVICE_NAME] {
                reporter.set(service, ServingStatus::NotServing);
            }
            stopping.cancel();
        }
    };

    let serving = Server::builder()
        .http2_keepalive_interval(Some(config.keepalive_interval))
        .http2_keepalive_timeout(Some(config.keepalive_timeout))
        .max_concurrent_streams(Some(config.max_concurrent_streams))
        .layer(layer)
        .layer(DeadlineLayer)
        .add_service(route_guide)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .serve_with_incoming_shutdown(incoming, begin_shutdown);
    tokio::pin!(serving);
    tracing::info!(%address, "listening on {address}");

    let grace_over = async {
        stopping.cancelled().await;
        tokio::time::sleep(config.grace).await;
    };
    tokio::select! {
        result = &mut serving => result?,
        () = grace_over => {
            tracing::info!("grace period over, ending open streams");
            drain.cancel();
            match tokio::time::timeout(CLOSE_AFTER_DRAIN, &mut serving).await {
                Ok(result) => result?,
                Err(_) => tracing::warn!("connections still open after drain, closing them"),
            }
        }
    }
    notes.close().await?;
    tracing::info!("note store closed");
    tracing::info!("stopped");
    Ok(())
}
