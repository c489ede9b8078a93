//! Server assembly: RouteGuide, health and reflection on one listener, with graceful shutdown;
//! gRPC-Web and the map page for browsers on the same port.

mod incoming;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::future::Either;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::body::Body;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_web::GrpcWebLayer;
use tower::layer::util::Identity;
use tower::{Layer, Service};

use crate::auth::Authenticator;
use crate::config::ServerConfig;
use crate::connections::{HandshakeIncoming, LimitedIncoming};
use crate::health::health_reporter;
use crate::index::SharedIndex;
use crate::metrics::Metrics;
use crate::notes::NoteStore;
use crate::notes_health::follow_note_store;
use crate::pb;
use crate::service::{
    AuthLayer, AuthService, DeadlineLayer, DeadlineService, MessageSizeLayer, MessageSizeService,
    ObserveLayer, ObserveService, RateLimitLayer, RateLimitService, RouteGuideService,
    StreamIdleLayer, StreamIdleService,
};
use crate::tls::{TlsAcceptor, TlsIncoming};
use crate::web::{self, MapPage, MapPageLayer};

/// The service that a layer given to [`serve_with_layer`] wraps: every call of every
/// service (RouteGuide, health, reflection), before the server's own layers see it:
/// metrics and access log, the rate limit, the bearer token, the message size status,
/// the stream idle timeout, then the deadline.
pub type CallStack = ObserveService<
    RateLimitService<AuthService<MessageSizeService<StreamIdleService<DeadlineService<Routes>>>>>,
>;

/// What guards the server's calls besides its bind address; the default guards nothing.
///
/// It holds handles, not files: whoever loaded them (the CLI) keeps clones and can
/// replace what they hold (e.g. [`Authenticator::replace`]) while the server runs.
#[derive(Debug, Clone, Default)]
pub struct Security {
    /// The accepted bearer tokens; `None` lets every call in.
    pub tokens: Option<Authenticator>,
    /// TLS on every connection (mutual when it verifies clients); `None` is plain text.
    pub tls: Option<TlsAcceptor>,
}

/// What the server serves, and what guards and observes it.
///
/// Every part is a handle: the caller may keep clones to replace or read what they hold
/// while the server runs (a reloaded index, new tokens or certificates, the metrics).
#[derive(Clone)]
pub struct ServerParts {
    /// The features, read at the start of each call.
    pub index: SharedIndex,
    /// Where RouteChat notes live; closed last at shutdown.
    pub notes: Arc<dyn NoteStore>,
    /// Tokens and TLS.
    pub security: Security,
    /// Where calls, messages and limits are counted.
    pub metrics: Metrics,
}

impl ServerParts {
    /// Returns the parts serving `index` and `notes`, unguarded, with fresh metrics.
    pub fn new(index: impl Into<SharedIndex>, notes: Arc<dyn NoteStore>) -> Self {
        Self {
            index: index.into(),
            notes,
            security: Security::default(),
            metrics: Metrics::new(),
        }
    }
}

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
    /// A setting is unusable (the configuration was not validated).
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

/// Serves on `listener` until `shutdown` resolves, then shuts down gracefully.
///
/// Logs `listening on ADDR` once connections are accepted. Every call is counted in
/// `metrics` (which the caller may serve with [`crate::metrics::endpoint::serve_metrics`]).
/// While serving, health follows
/// the note store (`NOT_SERVING` while `NoteStore::check` fails, checked every
/// `config.notes_check_interval`). After `shutdown`: health turns `NOT_SERVING` for good,
/// the listener closes and connections get GOAWAY; calls in flight may finish during
/// `config.grace`; then open streams end with `UNAVAILABLE`, connections get a little
/// longer to close, and the note store is closed last.
///
/// With `security.tls` every connection must finish a TLS handshake (with a client
/// certificate of the client CA for mutual TLS) within `config.handshake_timeout`;
/// with `security.tokens` every call but health and reflection needs a bearer token of the
/// set. Listening beyond loopback without either logs a warning saying which is missing.
///
/// # Errors
/// [`ServeError`] when the reflection descriptors are broken, the transport fails, or the
/// note store cannot be closed.
pub async fn serve(
    listener: TcpListener,
    parts: ServerParts,
    config: &ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    serve_with_layer(listener, parts, config, Identity::new(), shutdown).await
}

/// Serves as [`serve`] does, with `layer` in the stack every call passes through.
///
/// The layer sits inside the gRPC-Web translation, so it sees gRPC-Web calls as gRPC calls
/// like any other (the map page's `GET`s are answered before it). It sees each call's HTTP
/// request (path, headers, extensions such as tonic's `TcpConnectInfo`) before any handler,
/// whatever the service or the compression, and may answer it itself (e.g. with
/// `Status::into_http`); what it leaves in the request's headers and extensions reaches the
/// handler as metadata and extensions.
///
/// # Errors
/// As [`serve`].
pub async fn serve_with_layer<L>(
    listener: TcpListener,
    parts: ServerParts,
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
    let ServerParts {
        index,
        notes,
        security,
        metrics,
    } = parts;
    let address = listener.local_addr().map_err(ServeError::Listener)?;
    let drain = CancellationToken::new();
    let stopping = CancellationToken::new();

    let (health_reporter, health_service) = health_reporter(drain.clone());
    for service in ["", SERVICE_NAME] {
        health_reporter.set(service, ServingStatus::Serving);
    }

    let reflection = |enabled: bool| enabled.then(reflection_builder);
    let reflection_v1 = reflection(config.reflection)
        .map(|b| b.build_v1())
        .transpose()?;
    let reflection_v1alpha = reflection(config.reflection)
        .map(|b| b.build_v1alpha())
        .transpose()?;

    let cors_opt = web::cors_layer(&config.web.cors_origins)?;
    let map_page = MapPageLayer::new(MapPage::new(index.clone(), config.web.map_tiles.as_ref()));

    let service = Arc::new(
        RouteGuideService::new(index, Arc::clone(&notes), config.requests, drain.clone())
            .with_rectangle_search(config.rectangle_search)
            .with_metrics(metrics.clone()),
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
    // The connection limit counts raw sockets; TLS (when on) comes next, and the HTTP/2
    // handshake deadline runs over the decrypted bytes from when a connection is ready.
    let incoming = LimitedIncoming::new(incoming, config.max_connections, metrics.clone());

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

    let router = Server::builder()
        // HTTP/1.1 as well as HTTP/2, for browsers: the map page and gRPC-Web calls.
        .accept_http1(true)
        .http2_keepalive_interval(Some(config.keepalive_interval))
        .http2_keepalive_timeout(Some(config.keepalive_timeout))
        .max_concurrent_streams(Some(config.max_concurrent_streams))
        // Cross-origin calls only from `--cors-origin` origins; then the map page (GET).
        .layer(tower::util::option_layer(cors_opt))
        .layer(map_page)
        // gRPC-Web (binary and text) becomes gRPC here, so every layer inside sees it as
        // gRPC; native gRPC passes through untouched.
        .layer(GrpcWebLayer::new())
        .layer(layer)
        // Outermost first. Observing comes first so that it counts every call with the
        // status the client finally gets, including those the layers below answer.
        .layer(ObserveLayer::new(metrics.clone(), config.access_log))
        // Refused calls cost nothing below this point, token guesses included.
        .layer(RateLimitLayer::new(config.rate_limit, metrics.clone()))
        .layer(AuthLayer::new(security.tokens.clone()))
        .layer(MessageSizeLayer)
        .layer(StreamIdleLayer::new(
            config.stream_idle_timeout,
            metrics.clone(),
        ))
        .layer(DeadlineLayer)
        .add_service(route_guide)
        .add_service(health_service)
        .add_optional_service(reflection_v1)
        .add_optional_service(reflection_v1alpha);
    // Plain and TLS connections are different types; `Either` lets them share what follows.
    let timeout = config.handshake_timeout;
    let serving = match &security.tls {
        None => {
            let incoming = HandshakeIncoming::new(incoming, timeout, metrics.clone());
            Either::Left(router.serve_with_incoming_shutdown(incoming, begin_shutdown))
        }
        Some(acceptor) => {
            let incoming = TlsIncoming::new(incoming, acceptor.clone(), timeout);
            let incoming = HandshakeIncoming::new(incoming, timeout, metrics.clone());
            Either::Right(router.serve_with_incoming_shutdown(incoming, begin_shutdown))
        }
    };
    tokio::pin!(serving);
    warn_if_exposed(address, &security);
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

/// Logs a warning for each guard a server reachable from other machines goes without:
/// TLS (else calls and tokens cross the network readable by anyone on the path), and
/// client authentication by token or client certificate (else anyone who reaches the port
/// may call). A loopback address needs neither and logs nothing.
fn warn_if_exposed(address: SocketAddr, security: &Security) {
    if !is_reachable_from_elsewhere(address) {
        return;
    }
    if security.tls.is_none() {
        tracing::warn!(
            %address,
            "serving plain text on a non-loopback address: calls (and tokens) can be read \
             and changed on the network; give --tls-cert and --tls-key"
        );
    }
    let mutual = security
        .tls
        .as_ref()
        .is_some_and(|tls| tls.current().is_mutual());
    if security.tokens.is_none() && !mutual {
        tracing::warn!(
            %address,
            "serving without authentication on a non-loopback address: anyone who reaches \
             it can call; give --auth-token-file or --tls-client-ca"
        );
    }
}

/// Returns whether other machines may reach `address`: anything but a loopback address
/// (IPv4-mapped `::ffff:127.0.0.1` included), so also `0.0.0.0` and `[::]`.
fn is_reachable_from_elsewhere(address: SocketAddr) -> bool {
    !address.ip().to_canonical().is_loopback()
}

/// Returns a reflection builder that knows the RouteGuide and health descriptors.
fn reflection_builder() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_addresses_are_out_of_reach() {
        for (address, reachable) in [
            ("127.0.0.1:1", false),
            ("127.0.0.2:1", false),
            ("[::1]:1", false),
            ("[::ffff:127.0.0.1]:1", false),
            ("0.0.0.0:1", true),
            ("[::]:1", true),
            ("192.0.2.7:1", true),
            ("[2001:db8::1]:1", true),
        ] {
            let parsed: SocketAddr = address.parse().unwrap();
            assert_eq!(is_reachable_from_elsewhere(parsed), reachable, "{address}");
        }
    }
}
