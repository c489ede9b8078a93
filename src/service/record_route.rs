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
    // One drain future for the whole call: creating one per point would register and
    // unregister a waiter (a lock each) for every message.
    let drained = service.drain.cancelled();
    tokio::pin!(drained);
    let result = loop {
        let next = tokio::select! {
            next = points.message() => next,
            () = &mut drained => break Err(shutting_down()),
        };
        match next {
            Ok(Some(point)) => match point_from_pb(&point, "") {
                Ok(point) => recorder.add(point, service.index.has_feature_at(point)),
                Err(status) => {
                    // The index is formatted only on this error path, not for every point.
                    let message = format!("point {}: {}", recorder.point_count(), status.message());
                    break Err(tonic::Status::invalid_argument(message));
                }
            },
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
