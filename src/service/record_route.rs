//! RecordRoute: summarises a client's stream of points in constant memory.

use std::task::{Context, Poll};

use futures::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use super::RouteGuideService;
use super::call_log::CallLog;
use super::convert::{shutting_down, summary_to_pb};
use crate::geo::GeoPoint;
use crate::pb;
use crate::route::RouteRecorder;

/// The most points handled together: those that had already arrived when a batch started.
///
/// Looking up a batch's points in one tight loop lets the processor overlap their memory
/// accesses, which one lookup per received point (between decoding and polling the
/// stream) does not.
const BATCH: usize = 64;

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
    // The whole route is checked against the index served when the call started.
    let index = service.index.current();
    let mut recorder = RouteRecorder::new();
    let mut received = Vec::with_capacity(BATCH);
    let mut batch = Vec::with_capacity(BATCH);
    // One drain future for the whole call: creating one per batch would register and
    // unregister a waiter (a lock each) every time.
    let drained = service.drain.cancelled();
    tokio::pin!(drained);
    let result = loop {
        received.clear();
        let rest = tokio::select! {
            // Drain first, so that a client that never pauses still sees the shutdown.
            biased;
            () = &mut drained => break Err(shutting_down()),
            rest = std::future::poll_fn(|cx| poll_batch(&mut points, cx, &mut received)) => rest,
        };
        if let Err(status) = validate(&received, recorder.point_count(), &mut batch) {
            break Err(status);
        }
        let with_feature = batch
            .iter()
            .filter(|&&point| index.has_feature_at(point))
            .count();
        recorder.add_all(&batch, with_feature);
        match rest {
            Rest::More => {}
            Rest::End => break Ok(recorder.finish(log.started().elapsed())),
            Rest::Failed(status) => break Err(status),
        }
    };
    log.end(recorder.point_count(), result.as_ref().err());
    result.map(summary_to_pb)
}

/// What follows a batch of received points.
enum Rest {
    /// The stream goes on.
    More,
    /// The client half-closed after the batch.
    End,
    /// The stream failed after the batch.
    Failed(Status),
}

/// Moves the points that have arrived into `batch` (empty on entry): waits for the first,
/// then takes those already received, up to [`BATCH`] or until the task's cooperative
/// budget is spent.
fn poll_batch(
    points: &mut Streaming<pb::Point>,
    cx: &mut Context<'_>,
    batch: &mut Vec<pb::Point>,
) -> Poll<Rest> {
    loop {
        // One unit of tokio's cooperative budget per point, as a tokio channel takes per
        // message: h2's streams take none, so a client whose points are always ready
        // would otherwise keep this worker thread. Once the budget is spent, the batch
        // is handled and the task then yields.
        let coop = match tokio::task::coop::poll_proceed(cx) {
            Poll::Ready(coop) => coop,
            Poll::Pending if batch.is_empty() => return Poll::Pending,
            Poll::Pending => return Poll::Ready(Rest::More),
        };
        match points.poll_next_unpin(cx) {
            Poll::Pending if batch.is_empty() => return Poll::Pending,
            Poll::Pending => return Poll::Ready(Rest::More),
            Poll::Ready(None) => return Poll::Ready(Rest::End),
            Poll::Ready(Some(Err(status))) => return Poll::Ready(Rest::Failed(status)),
            Poll::Ready(Some(Ok(point))) => {
                coop.made_progress();
                batch.push(point);
                if batch.len() == BATCH {
                    return Poll::Ready(Rest::More);
                }
            }
        }
    }
}

/// Validates `received` into `batch`, or returns `INVALID_ARGUMENT` naming the first
/// invalid point by its index in the route (`offset` is the index of the first).
pub(super) fn validate(
    received: &[pb::Point],
    offset: u64,
    batch: &mut Vec<GeoPoint>,
) -> Result<(), Status> {
    batch.clear();
    for (index, point) in (offset..).zip(received) {
        match GeoPoint::new(point.latitude, point.longitude) {
            Ok(point) => batch.push(point),
            Err(error) => {
                return Err(Status::invalid_argument(format!("point {index}: {error}")));
            }
        }
    }
    Ok(())
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
                        chat_notes_in_flight: 1,
                        chat_waiting_replays: 1,
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
