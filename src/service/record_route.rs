//! RecordRoute: summarises a client's stream of points in constant memory.

use std::task::{Context, Poll};
use std::time::Instant;

use futures::StreamExt;
use prost::bytes::Bytes;
use tonic::{Request, Response, Status, Streaming};

use super::convert::{shutting_down, summary_to_pb};
use super::request_messages::RequestMessages;
use super::{RouteGuideService, log_call};
use crate::codec::decode_bytes;
use crate::geo::GeoPoint;
use crate::index::FeatureIndex;
use crate::pb;
use crate::route::RouteRecorder;

/// The most points handled together: those already received when a chunk starts.
const CHUNK: usize = 64;

/// Runs one RecordRoute call that came through tonic's generated server (a compressed
/// request); uncompressed ones come through `DirectCalls` to [`record`].
pub(super) async fn handle(
    service: &RouteGuideService,
    request: Request<Streaming<pb::Point>>,
) -> Result<Response<pb::RouteSummary>, Status> {
    record(service, request.into_inner())
        .await
        .map(Response::new)
}

/// A RecordRoute request's points as they arrive, however the request is framed.
pub(super) trait RoutePoints {
    /// Polls for the next point of the request: `None` once the client half-closed.
    fn poll_point(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<pb::Point, Status>>>;
}

impl RoutePoints for Streaming<pb::Point> {
    fn poll_point(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<pb::Point, Status>>> {
        self.poll_next_unpin(cx)
    }
}

impl<B> RoutePoints for RequestMessages<B>
where
    B: http_body::Body<Data = Bytes, Error = Status> + Unpin,
{
    fn poll_point(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<pb::Point, Status>>> {
        self.poll_next_with(cx, decode_bytes)
    }
}

/// Runs one RecordRoute call over `points` until the client half-closes, a point is
/// invalid, or the server drains. The deadline is enforced by the deadline layer, which
/// drops this future.
///
/// Points that have already arrived are handled as a chunk: each is validated as it is
/// decoded and its index memory requested then, so that decoding the rest of the chunk
/// overlaps the memory accesses; then the chunk's distances are summed and its features
/// counted.
pub(super) async fn record(
    service: &RouteGuideService,
    mut points_in: impl RoutePoints,
) -> Result<pb::RouteSummary, Status> {
    let started = Instant::now();
    let mut recorder = RouteRecorder::new();
    let mut points: Vec<GeoPoint> = Vec::with_capacity(CHUNK);
    // One drain future for the whole call: creating one per chunk would register and
    // unregister a waiter (a lock each) every time.
    let drained = service.drain.cancelled();
    tokio::pin!(drained);
    let result = loop {
        points.clear();
        let rest = tokio::select! {
            // Drain first, so that a client that never pauses still sees the shutdown.
            biased;
            () = &mut drained => break Err(shutting_down()),
            rest = next_chunk(&mut points_in, &service.index, &mut points, recorder.point_count()) => rest,
        };
        add_chunk(service, &mut recorder, &points);
        match rest {
            Rest::More => {}
            Rest::End => break Ok(recorder.finish(started.elapsed())),
            Rest::Failed(status) => break Err(status),
        }
    };
    log_call(
        "RecordRoute",
        started,
        recorder.point_count(),
        result.as_ref().err(),
    );
    result.map(summary_to_pb)
}

/// What follows a gathered chunk.
enum Rest {
    /// The stream goes on.
    More,
    /// The client half-closed after the chunk.
    End,
    /// The stream failed, or the point after the chunk is invalid.
    Failed(Status),
}

/// Waits for the next point, then validates it and the points already received after
/// it, up to [`CHUNK`] points or until the task's cooperative budget is spent, into
/// `points` (empty on entry); `offset` is the index of the first of them in the route.
async fn next_chunk(
    stream: &mut impl RoutePoints,
    index: &FeatureIndex,
    points: &mut Vec<GeoPoint>,
    offset: u64,
) -> Rest {
    std::future::poll_fn(|cx| {
        loop {
            // One unit of tokio's cooperative budget per point, as a tokio channel takes
            // per message: h2's streams take none, so points that are always ready would
            // otherwise keep this worker thread. Once the budget is spent, the points
            // gathered are handled and the task then yields.
            let coop = match tokio::task::coop::poll_proceed(cx) {
                Poll::Ready(coop) => coop,
                Poll::Pending if points.is_empty() => return Poll::Pending,
                Poll::Pending => return Poll::Ready(Rest::More),
            };
            let point = match stream.poll_point(cx) {
                Poll::Pending if points.is_empty() => return Poll::Pending,
                Poll::Pending => return Poll::Ready(Rest::More),
                Poll::Ready(None) => return Poll::Ready(Rest::End),
                Poll::Ready(Some(Err(status))) => return Poll::Ready(Rest::Failed(status)),
                Poll::Ready(Some(Ok(point))) => point,
            };
            coop.made_progress();
            match GeoPoint::new(point.latitude, point.longitude) {
                Ok(point) => {
                    // Decoding the rest of the chunk hides this point's index lookup.
                    index.prefetch_points(&[point]);
                    points.push(point);
                }
                Err(error) => {
                    // Formatted only on this error path, not for every point.
                    let position = offset + points.len() as u64;
                    let message = format!("point {position}: {error}");
                    return Poll::Ready(Rest::Failed(Status::invalid_argument(message)));
                }
            }
            if points.len() == CHUNK {
                return Poll::Ready(Rest::More);
            }
        }
    })
    .await
}

/// Adds `points` to `recorder`: their distances, then their features.
fn add_chunk(service: &RouteGuideService, recorder: &mut RouteRecorder, points: &[GeoPoint]) {
    recorder.add_points(points);
    recorder.add_features(
        service
            .index
            .have_features_at(points)
            .filter(|&has| has)
            .count(),
    );
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

    /// Runs `record` over the points `make_points` returns on a one-thread runtime and
    /// fails unless another task on that thread gets its turn.
    fn assert_other_tasks_get_their_turn<P: RoutePoints + Send + 'static>(make_points: fn() -> P) {
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
                let points = make_points();
                tokio::spawn(async move {
                    let _ = record(&service, points).await;
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

    #[test]
    fn a_client_that_never_pauses_leaves_other_tasks_their_turn_through_tonic() {
        assert_other_tasks_get_their_turn(|| {
            let decoder = RouteGuideCodec::<pb::RouteSummary, pb::Point>::default().decoder();
            Streaming::new_request(decoder, EndlessRoute(framed_points()), None, None)
        });
    }

    #[test]
    fn a_client_that_never_pauses_leaves_other_tasks_their_turn_read_directly() {
        assert_other_tasks_get_their_turn(|| {
            RequestMessages::new(EndlessRoute(framed_points()), usize::MAX)
        });
    }
}
