//! RecordRoute: summarises a client's stream of points in constant memory.

use std::time::Instant;

use futures::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use super::convert::{point_from_pb, shutting_down, summary_to_pb};
use super::{RouteGuideService, log_call};
use crate::geo::GeoPoint;
use crate::pb;
use crate::route::RouteRecorder;

/// Points taken from the request stream at once when that many are already received.
const CHUNK: usize = 64;

/// Runs one RecordRoute call until the client half-closes, a point is invalid, or the
/// server drains. The deadline is enforced by the deadline layer, which drops this future.
///
/// Points that have already arrived are handled as a chunk: validated in order, then
/// looked up in the index together (their lookups overlap), then added to the route.
pub(super) async fn handle(
    service: &RouteGuideService,
    request: Request<Streaming<pb::Point>>,
) -> Result<Response<pb::RouteSummary>, Status> {
    let started = Instant::now();
    // A `Status` is ~170 bytes and a `Point` 8: boxing the (rare) error keeps each chunk
    // small, so gathering a chunk moves 16 bytes per point instead of a whole `Result`.
    let mut chunks = request
        .into_inner()
        .map(|item| item.map_err(Box::new))
        .ready_chunks(CHUNK);
    let mut recorder = RouteRecorder::new();
    let mut points: Vec<GeoPoint> = Vec::with_capacity(CHUNK);
    // One drain future for the whole call: creating one per chunk would register and
    // unregister a waiter (a lock each) every time.
    let drained = service.drain.cancelled();
    tokio::pin!(drained);
    let result = loop {
        let chunk = tokio::select! {
            // Drain first, so that a client that never pauses still sees the shutdown.
            biased;
            () = &mut drained => break Err(shutting_down()),
            chunk = chunks.next() => chunk,
        };
        let Some(chunk) = chunk else {
            break Ok(recorder.finish(started.elapsed()));
        };
        points.clear();
        let mut failure = None;
        for item in chunk {
            match item.map_err(|status| *status).and_then(|point| {
                point_from_pb(&point, "").map_err(|status| {
                    // Formatted only on this error path, not for every point.
                    let index = recorder.point_count() + points.len() as u64;
                    Status::invalid_argument(format!("point {index}: {}", status.message()))
                })
            }) {
                Ok(point) => points.push(point),
                Err(status) => {
                    failure = Some(status);
                    break;
                }
            }
        }
        for (&point, has_feature) in points.iter().zip(service.index.have_features_at(&points)) {
            recorder.add(point, has_feature);
        }
        if let Some(status) = failure {
            break Err(status);
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
