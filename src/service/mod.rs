//! The RouteGuide gRPC service: wire messages in, domain calls, statuses out.
//!
//! This is the only place that maps domain errors to `tonic::Status`; each RPC lives in
//! its own file.

mod auth;
mod bounded_stream;
mod call_log;
mod convert;
mod deadline;
mod frames;
#[doc(hidden)]
pub mod fuzzing;
mod get_feature;
mod list_features;
mod message_size;
mod observe;
#[cfg(test)]
mod properties;
mod rate_limit;
mod record_route;
mod route_chat;
mod stream_idle;

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

pub use auth::{AuthLayer, AuthService};
pub use deadline::{Deadline, DeadlineLayer, DeadlineService, parse_grpc_timeout};
pub use list_features::{FEATURE_COUNT, FEATURE_COUNT_REQUEST};
pub use message_size::{MessageSizeFuture, MessageSizeLayer, MessageSizeService};
pub use observe::{ACCESS_TARGET, ObserveFuture, ObserveLayer, ObserveService};
pub use rate_limit::{RateLimitLayer, RateLimitService};
pub use stream_idle::{StreamIdleFuture, StreamIdleLayer, StreamIdleService};

use crate::index::SharedIndex;
use crate::metrics::Metrics;
use crate::notes::NoteStore;
use crate::pb;

/// What a request may carry, beyond what the proto itself limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// The longest accepted `RouteNote.message`, in bytes.
    pub max_note_bytes: usize,
    /// How many replies a RouteChat stream may have queued before it waits for the client.
    pub chat_reply_buffer: usize,
    /// How many notes of one RouteChat stream may wait for their commit at once (the
    /// stream stops reading at this bound); each note's replies are sent after its commit.
    pub chat_notes_in_flight: usize,
    /// How many replayed notes those waiting notes may hold in all; the stream stops
    /// reading at this bound too.
    pub chat_waiting_replays: usize,
}

/// How ListFeatures finds the features inside a rectangle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RectangleSearch {
    /// Through the spatial index (the default).
    #[default]
    Index,
    /// By scanning every feature: the baseline for benchmarks, with identical results.
    LinearScan,
}

/// The `routeguide.RouteGuide` implementation; cheap to clone, all state is shared.
#[derive(Clone)]
pub struct RouteGuideService {
    index: SharedIndex,
    notes: Arc<dyn NoteStore>,
    limits: RequestLimits,
    search: RectangleSearch,
    /// Cancelled when the shutdown grace period ends; open streams then end with `UNAVAILABLE`.
    drain: CancellationToken,
    /// Where handlers count what only they know (notes stored).
    metrics: Metrics,
}

impl RouteGuideService {
    /// Returns a service over `index` and `notes`; streams end when `drain` is cancelled.
    /// Each call answers from the index `index` serves when the call starts.
    pub fn new(
        index: impl Into<SharedIndex>,
        notes: Arc<dyn NoteStore>,
        limits: RequestLimits,
        drain: CancellationToken,
    ) -> Self {
        Self {
            index: index.into(),
            notes,
            limits,
            search: RectangleSearch::Index,
            drain,
            metrics: Metrics::new(),
        }
    }

    /// Returns the service counting into `metrics` (by default, a registry of its own).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Returns the service with ListFeatures using `search`.
    pub fn with_rectangle_search(mut self, search: RectangleSearch) -> Self {
        self.search = search;
        self
    }
}

/// A boxed response stream, as the generated trait wants it.
type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// Returns the deadline the client set on `request`, if any.
fn deadline_of<T>(request: &Request<T>) -> Option<Deadline> {
    request.extensions().get::<Deadline>().copied()
}

#[tonic::async_trait]
impl pb::route_guide_server::RouteGuide for RouteGuideService {
    async fn get_feature(
        &self,
        request: Request<pb::Point>,
    ) -> Result<Response<pb::Feature>, Status> {
        get_feature::handle(self, request)
    }

    type ListFeaturesStream = ResponseStream<pb::Feature>;

    async fn list_features(
        &self,
        request: Request<pb::Rectangle>,
    ) -> Result<Response<Self::ListFeaturesStream>, Status> {
        list_features::handle(self, request)
    }

    async fn record_route(
        &self,
        request: Request<Streaming<pb::Point>>,
    ) -> Result<Response<pb::RouteSummary>, Status> {
        record_route::handle(self, request).await
    }

    type RouteChatStream = ResponseStream<pb::RouteNote>;

    async fn route_chat(
        &self,
        request: Request<Streaming<pb::RouteNote>>,
    ) -> Result<Response<Self::RouteChatStream>, Status> {
        route_chat::handle(self, request)
    }
}
