//! RecordRoute: summarises a client's stream of points in constant memory.

use std::time::Instant;

use tonic::{Request, Response, Status, Streaming};

use super::convert::{point_from_pb, shutting_down, summary_to_pb};
use super::{RouteGuideService, log_call};
use crate::pb;
use crate::route::RouteRecorder;

/// Runs one RecordRoute call until the client half-closes, a point is invalid, or the
/// server drains. The deadline is enforced by the deadline layer, which drops this future.
pub(super) async fn handle(
    service: &RouteGuideService,
    request: Request<Streaming<pb::Point>>,
) -> Result<Response<pb::RouteSummary>, Status> {
    let started = Instant::now();
    let mut points = request.into_inner();
    let mut recorder = RouteRecorder::new();
    let result = loop {
        let next = tokio::select! {
            next = points.message() => next,
            () = service.drain.cancelled() => break Err(shutting_down()),
        };
        match next {
            Ok(Some(point)) => {
                let prefix = format!("point {}: ", recorder.point_count());
                match point_from_pb(&point, &prefix) {
                    Ok(point) => recorder.add(point, service.index.has_feature_at(point)),
                    Err(status) => break Err(status),
                }
            }
            Ok(None) => break Ok(recorder.finish(started.elapsed())),
            Err(status) => break Err(status),
        }
    };
    log_call(
        "RecordRoute",
        started,
        recorder.point_count(),
        result.as_ref().err(),
    );
    result.map(|summary| Response::new(summary_to_pb(summary)))
}
