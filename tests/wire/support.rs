//! Test helpers: start a server on 127.0.0.1:0, build databases, connect clients.

use std::net::SocketAddr;
use std::sync::Arc;

use routeguide::config::ServerConfig;
use routeguide::geo::GeoPoint;
use routeguide::index::{FeatureIndex, FeatureIndexBuilder};
use routeguide::notes::{MemoryNoteStore, NoteStore};
use routeguide::pb;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// A server running in this process; stops when dropped or on [`TestServer::shutdown`].
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), routeguide::server::ServeError>>>,
}

impl TestServer {
    /// Starts a server on the built-in database with the default configuration.
    pub async fn start() -> Self {
        Self::start_with(routeguide::db::builtin(), ServerConfig::default()).await
    }

    /// Starts a server on `index` with `config`.
    pub async fn start_with(index: FeatureIndex, config: ServerConfig) -> Self {
        Self::start_layered(index, config, tower::layer::util::Identity::new()).await
    }

    /// Starts a server on `index` with `config` and `layer` outermost in its stack.
    pub async fn start_layered<L>(index: FeatureIndex, config: ServerConfig, layer: L) -> Self
    where
        L: tower::Layer<routeguide::server::CallStack> + Clone + Send + 'static,
        L::Service: tower::Service<
                http::Request<tonic::body::Body>,
                Response = http::Response<tonic::body::Body>,
                Error = std::convert::Infallible,
            > + Clone
            + Send
            + 'static,
        <L::Service as tower::Service<http::Request<tonic::body::Body>>>::Future: Send,
    {
        let notes: Arc<dyn NoteStore> = Arc::new(MemoryNoteStore::new(config.retention));
        Self::start_full(index, config, layer, notes).await
    }

    /// Starts a server on the built-in database with the default configuration and `notes`.
    pub async fn start_with_notes(notes: Arc<dyn NoteStore>) -> Self {
        let identity = tower::layer::util::Identity::new();
        Self::start_full(
            routeguide::db::builtin(),
            ServerConfig::default(),
            identity,
            notes,
        )
        .await
    }

    async fn start_full<L>(
        index: FeatureIndex,
        config: ServerConfig,
        layer: L,
        notes: Arc<dyn NoteStore>,
    ) -> Self
    where
        L: tower::Layer<routeguide::server::CallStack> + Clone + Send + 'static,
        L::Service: tower::Service<
                http::Request<tonic::body::Body>,
                Response = http::Response<tonic::body::Body>,
                Error = std::convert::Infallible,
            > + Clone
            + Send
            + 'static,
        <L::Service as tower::Service<http::Request<tonic::body::Body>>>::Future: Send,
    {
        // Every server's calls are logged where tests can wait for them.
        super::logs::logs();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            routeguide::server::serve_with_layer(
                listener,
                Arc::new(index),
                notes,
                &config,
                layer,
                shutdown,
            )
            .await
        });
        Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Returns the `http://` URI of the server.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Returns a new channel (one HTTP/2 connection) to the server.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.uri())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// Returns the generated client on a new connection.
    pub async fn client(&self) -> pb::route_guide_client::RouteGuideClient<Channel> {
        pb::route_guide_client::RouteGuideClient::new(self.channel().await)
    }

    /// Returns the generated client on a new connection whose calls carry `agent` in their
    /// user agent, which the server's log line of each call names.
    pub async fn client_as(
        &self,
        agent: &str,
    ) -> pb::route_guide_client::RouteGuideClient<Channel> {
        let channel = Channel::from_shared(self.uri())
            .unwrap()
            .user_agent(agent)
            .unwrap()
            .connect()
            .await
            .unwrap();
        pb::route_guide_client::RouteGuideClient::new(channel)
    }

    /// Returns the summary the server gives for `route`, sent by the generated client.
    pub async fn record(&self, route: &[pb::Point]) -> pb::RouteSummary {
        self.client()
            .await
            .record_route(futures::stream::iter(route.to_vec()))
            .await
            .unwrap()
            .into_inner()
    }

    /// Begins shutdown and returns the server task to await.
    pub fn shutdown(&mut self) -> JoinHandle<Result<(), routeguide::server::ServeError>> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.take().unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Returns a point, panicking on invalid test input.
pub fn point(latitude: i32, longitude: i32) -> GeoPoint {
    GeoPoint::new(latitude, longitude).unwrap()
}

/// Returns the wire point.
pub fn pb_point(latitude: i32, longitude: i32) -> pb::Point {
    pb::Point {
        latitude,
        longitude,
    }
}

/// Returns an index of `(latitude, longitude, name)` features in that file order.
pub fn index_of(features: &[(i32, i32, &str)]) -> FeatureIndex {
    let mut builder = FeatureIndexBuilder::new();
    for &(latitude, longitude, name) in features {
        builder.push(point(latitude, longitude), name).unwrap();
    }
    builder.build()
}

/// Returns an index of `n` distinct features on a grid of 1000 columns.
pub fn grid_index(n: i32) -> FeatureIndex {
    let mut builder = FeatureIndexBuilder::new();
    for i in 0..n {
        builder
            .push(
                point(i / 1000 * 100, i % 1000 * 100),
                &format!("feature number {i}"),
            )
            .unwrap();
    }
    builder.build()
}

/// Returns the canonical database as (point, name) pairs, read straight from the JSON.
pub fn canonical_features() -> Vec<(pb::Point, String)> {
    let value: serde_json::Value = serde_json::from_str(routeguide::db::BUILTIN_JSON).unwrap();
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let location = &f["location"];
            (
                pb_point(
                    location["latitude"].as_i64().unwrap() as i32,
                    location["longitude"].as_i64().unwrap() as i32,
                ),
                f["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Asserts that `result` failed with `code` and a message containing `fragment`.
pub fn assert_status<T: std::fmt::Debug>(
    result: Result<T, tonic::Status>,
    code: tonic::Code,
    fragment: &str,
) {
    let status = result.expect_err("call should fail");
    assert_eq!(status.code(), code, "status: {status:?}");
    assert!(
        status.message().contains(fragment),
        "message {:?} should contain {fragment:?}",
        status.message()
    );
}

/// Checks the server still answers: health SERVING and a GetFeature that echoes its point.
pub async fn assert_healthy(server: &TestServer) {
    let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel().await);
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    let feature = server
        .client()
        .await
        .get_feature(pb_point(409_146_138, -746_188_906))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(feature.location, Some(pb_point(409_146_138, -746_188_906)));
}
