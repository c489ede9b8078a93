//! GetFeature: the first feature at a point, or an unnamed feature at that point.

use std::time::Instant;

use tonic::{Request, Response, Status};

use super::convert::{feature_to_pb, point_from_pb};
use super::{RouteGuideService, log_call};
use crate::pb;

/// Answers one GetFeature call.
pub(super) fn handle(
    service: &RouteGuideService,
    request: Request<pb::Point>,
) -> Result<Response<pb::Feature>, Status> {
    let started = Instant::now();
    let result = point_from_pb(request.get_ref(), "").map(|point| {
        service
            .index
            .first_at(point)
            .map(feature_to_pb)
            .unwrap_or_else(|| pb::Feature {
                name: String::new(),
                location: Some(*request.get_ref()),
            })
    });
    log_call("GetFeature", started, 1, result.as_ref().err());
    result.map(Response::new)
}
