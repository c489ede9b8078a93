//! GetFeature: the first feature at a point, or an unnamed feature at that point.

use std::time::Instant;

use tonic::{Request, Response, Status};

use super::convert::{feature_to_pb, point_from_pb};
use super::{RouteGuideService, log_call};
use crate::pb;

/// Answers one GetFeature call that came through tonic's generated server (a compressed
/// request); uncompressed ones come through `DirectCalls` to [`answer`].
pub(super) fn handle(
    service: &RouteGuideService,
    request: Request<pb::Point>,
) -> Result<Response<pb::Feature>, Status> {
    answer(service, request.get_ref()).map(Response::new)
}

/// Returns the feature at `requested`, or an unnamed feature there; logs the call.
pub(super) fn answer(
    service: &RouteGuideService,
    requested: &pb::Point,
) -> Result<pb::Feature, Status> {
    let started = Instant::now();
    let result = point_from_pb(requested, "").map(|point| {
        service
            .index
            .first_at(point)
            .map(feature_to_pb)
            .unwrap_or_else(|| pb::Feature {
                name: String::new(),
                location: Some(*requested),
            })
    });
    log_call("GetFeature", started, 1, result.as_ref().err());
    result
}
