//! ListFeatures through tonic's generated server: a lazy stream of the features inside a
//! rectangle. (Uncompressed requests are answered by `DirectCalls` with `FeatureFrames`,
//! from the same [`query`].)
//!
//! The stream computes each feature only when tonic asks for the next message, so a slow
//! reader holds nothing but the query position, HTTP/2 flow control is the backpressure,
//! and a dropped stream simply stops.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::Stream;
use tonic::{Request, Response, Status};

use super::bounded_stream::BoundedStream;
use super::convert::{feature_to_pb, rect_from_pb};
use super::{RectangleSearch, ResponseStream, RouteGuideService, deadline_of, log_call};
use crate::index::{FeatureIndex, RectQuery};
use crate::pb;

/// Starts one ListFeatures call that came through tonic's generated server (a compressed
/// request) after validating the rectangle; uncompressed ones come through `DirectCalls`.
pub(super) fn handle(
    service: &RouteGuideService,
    request: Request<pb::Rectangle>,
) -> Result<Response<ResponseStream<pb::Feature>>, Status> {
    let started = Instant::now();
    let query = query(service, request.get_ref(), started)?;
    let features = FeatureStream {
        query,
        index: Arc::clone(&service.index),
    };
    let stream = BoundedStream::new(
        features,
        deadline_of(&request),
        service.drain.clone(),
        move |sent, error| log_call("ListFeatures", started, sent, error),
    );
    Ok(Response::new(Box::pin(stream)))
}

/// Returns the query for the features inside `rect`, or `INVALID_ARGUMENT` naming the
/// field at fault; logs a rejected call as having started at `started`.
pub(super) fn query(
    service: &RouteGuideService,
    rect: &pb::Rectangle,
    started: Instant,
) -> Result<RectQuery, Status> {
    let rect = rect_from_pb(rect).inspect_err(|status| {
        log_call("ListFeatures", started, 0, Some(status));
    })?;
    Ok(match service.search {
        RectangleSearch::Index => RectQuery::new(&service.index, rect),
        RectangleSearch::LinearScan => RectQuery::linear_scan(&service.index, rect),
    })
}

/// Yields the features of one rectangle query, always ready.
struct FeatureStream {
    index: Arc<FeatureIndex>,
    query: RectQuery,
}

impl Stream for FeatureStream {
    type Item = Result<pb::Feature, Status>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        Poll::Ready(
            this.query
                .next_in(&this.index)
                .map(|f| Ok(feature_to_pb(f))),
        )
    }
}
