//! ListFeatures: a lazy stream of the features inside a rectangle.
//!
//! The stream computes each feature only when tonic asks for the next message, so a slow
//! reader holds nothing but the query position, HTTP/2 flow control is the backpressure,
//! and a dropped stream simply stops.
//!
//! A client that sends the metadata [`FEATURE_COUNT_REQUEST`] also gets, in the response
//! headers, [`FEATURE_COUNT`]: how many features the whole stream would hold, counted
//! without reading them, so it may read a few and cancel the rest (the map page does).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status};

use super::bounded_stream::BoundedStream;
use super::call_log::CallLog;
use super::convert::{feature_to_pb, rect_from_pb};
use super::{RectangleSearch, ResponseStream, RouteGuideService, deadline_of};
use crate::index::{FeatureIndex, RectQuery};
use crate::pb;

/// The request metadata that asks ListFeatures for [`FEATURE_COUNT`] (any value).
pub const FEATURE_COUNT_REQUEST: &str = "routeguide-want-count";

/// The response metadata of ListFeatures holding the number of features in the rectangle,
/// in decimal, when the request carried [`FEATURE_COUNT_REQUEST`].
pub const FEATURE_COUNT: &str = "routeguide-feature-count";

/// Starts one ListFeatures call after validating the rectangle.
pub(super) fn handle(
    service: &RouteGuideService,
    request: Request<pb::Rectangle>,
) -> Result<Response<ResponseStream<pb::Feature>>, Status> {
    let log = CallLog::start("ListFeatures", &request);
    let rect = match rect_from_pb(request.get_ref()) {
        Ok(rect) => rect,
        Err(status) => {
            log.end(0, Some(&status));
            return Err(status);
        }
    };
    // The whole stream reads the index served when the call started.
    let index = service.index.current();
    let count_opt = request
        .metadata()
        .contains_key(FEATURE_COUNT_REQUEST)
        .then(|| index.count_within(rect));
    let query = match service.search {
        RectangleSearch::Index => RectQuery::new(&index, rect),
        RectangleSearch::LinearScan => RectQuery::linear_scan(&index, rect),
    };
    let features = FeatureStream { query, index };
    let stream = BoundedStream::new(
        features,
        deadline_of(&request),
        service.drain.clone(),
        move |sent, error| log.end(sent, error),
    );
    let mut response = Response::new(Box::pin(stream) as ResponseStream<pb::Feature>);
    if let Some(count) = count_opt {
        response
            .metadata_mut()
            .insert(FEATURE_COUNT, MetadataValue::from(count));
    }
    Ok(response)
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
