//! GetFeature: the first feature at a point, or an unnamed feature at that point.

use tonic::{Request, Response, Status};

use super::RouteGuideService;
use super::call_log::CallLog;
use super::convert::{feature_to_pb, point_from_pb};
use crate::pb;

/// Answers one GetFeature call: the feature at the requested point, or an unnamed feature
/// there; logs the call.
pub(super) fn handle(
    service: &RouteGuideService,
    request: Request<pb::Point>,
) -> Result<Response<pb::Feature>, Status> {
    let log = CallLog::start("GetFeature", &request);
    let requested = request.get_ref();
    let result = point_from_pb(requested, "").map(|point| {
        service.index.read(|index| {
            index
                .first_at(point)
                .map(feature_to_pb)
                .unwrap_or_else(|| pb::Feature {
                    name: String::new(),
                    location: Some(*requested),
                })
        })
    });
    log.end(1, result.as_ref().err());
    result.map(Response::new)
}
