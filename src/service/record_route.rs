//! RecordRoute: summarises a client's stream of points in constant memory.

use futures::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use super::RouteGuideService;
use super::call_log::CallLog;
use super::convert::{shutting_down, summary_to_pb};
use crate::geo::GeoPoint;
use crate::pb;
use crate::route::RouteRecorder;

/// Runs one RecordRoute call until the client half-closes, a point is invalid, or the
/// server drains. The deadline is enforced by the deadline layer, which drops this future.
pub(super) async fn handle(
    service: &RouteGuideService,
    request: Request<Streaming<pb::Point>>,
) -> Result<Response<pb::RouteSummary>, Status> {
    let log = CallLog::start("RecordRoute", &request);
    record(service, request.into_inner(), log)
        .await
        .map(Response::new)
}

/// Summarises `points` in constant memory; logs the call in `log` (which logs an abandoned
/// call when this future is dropped).
async fn record(
    service: &RouteGuideService,
    mut points: Streaming<pb::Point>,
    log: CallLog,
) -> Result<pb::RouteSummary, Status> {
    let mut recorder = RouteRecorder::new();
    // One drain future for the whole call: creating one per point would register and
    // unregister a waiter (a lock each) every time.
    let drained = service.drain.cancelled();
    tokio::pin!(drained);
    let result = loop {
        let next = tokio::select! {
            // Drain first, so that a client that never pauses still sees the shutdown.
            biased;
            () = &mut drained => break Err(shutting_down()),
            next = points.next() => next,
        };
        let point = match next {
            None => break Ok(recorder.finish(log.started().elapsed())),
            Some(Err(status)) => break Err(status),
            Some(Ok(point)) => point,
        };
        match GeoPoint::new(point.latitude, point.longitude) {
            Ok(point) => recorder.add(point, service.index.has_feature_at(point)),
            Err(error) => {
                let position = recorder.point_count();
                break Err(Status::invalid_argument(format!(
                    "point {position}: {error}"
                )));
            }
        }
        // One unit of tokio's cooperative budget per point, as a tokio channel takes per
        // message: h2's streams take none, so a client whose points are always ready would
        // otherwise keep this worker thread.
        tokio::task::coop::consume_budget().await;
    };
    log.end(recorder.point_count(), result.as_ref().err());
    result.map(summary_to_pb)
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::mpsc::RecvTimeoutError;
    use std::task::{Context, Poll};
    use std::time::Duration;

    use http_body::{Body, Frame};
    use prost::Message;
    use prost::bytes::Bytes;
    use tokio_util::sync::CancellationToken;
    use tonic::codec::Codec;

    use super::*;
    use crate::codec::RouteGuideCodec;
    use crate::notes::{MemoryNoteStore, NoteRetention};
    use crate::service::RequestLimits;

    /// A request body with 64 more points always ready: a client that never pauses.
    struct EndlessRoute(Bytes);

    impl Body for EndlessRoute {
        type Data = Bytes;
        type Error = Status;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
            Poll::Ready(Some(Ok(Frame::data(self.0.clone()))))
        }
    }

    /// 64 points of the built-in database in gRPC framing.
    fn framed_points() -> Bytes {
        let point = pb::Point {
            latitude: 409_146_138,
            longitude: -746_188_906,
        }
        .encode_to_vec();
        let mut frames = Vec::new();
        for _ in 0..64 {
            frames.push(0);
            frames.extend_from_slice(&(point.len() as u32).to_be_bytes());
            frames.extend_from_slice(&point);
        }
        Bytes::from(frames)
    }

    /// Runs `record` over an endless, always-ready route on a one-thread runtime and fails
    /// unless another task on that thread gets its turn.
    #[test]
    fn a_client_that_never_pauses_leaves_other_tasks_their_turn() {
        let (turn, turns) = std::sync::mpsc::channel();
        // One runtime thread: the task below runs only if the handler yields.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let service = RouteGuideService::new(
                    Arc::new(crate::db::builtin()),
                    Arc::new(MemoryNoteStore::new(NoteRetention {
                        max_per_location: 1,
                        max_total: 1,
                    })),
                    RequestLimits {
                        max_note_bytes: 1,
                        chat_reply_buffer: 1,
                    },
                    CancellationToken::new(),
                );
                let decoder = RouteGuideCodec::<pb::RouteSummary, pb::Point>::default().decoder();
                let points =
                    Streaming::new_request(decoder, EndlessRoute(framed_points()), None, None);
                let log = CallLog::start("RecordRoute", &Request::new(()));
                tokio::spawn(async move {
                    let _ = record(&service, points, log).await;
                });
                tokio::task::yield_now().await;
                let _ = turn.send(());
            });
        });
        // On failure the handler's thread spins until the test process exits.
        match turns.recv_timeout(Duration::from_secs(10)) {
            Ok(()) => {}
            Err(RecvTimeoutError::Timeout) => {
                panic!("the handler of an endless, always-ready route never yielded")
            }
            Err(RecvTimeoutError::Disconnected) => panic!("the runtime thread failed"),
        }
    }
}
