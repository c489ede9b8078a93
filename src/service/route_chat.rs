//! RouteChat: each note first replays the earlier notes at its location, then is stored;
//! with live push (`serve --chat-live`) later notes at those locations follow as they arrive.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::bounded_stream::BoundedStream;
use super::call_log::CallLog;
use super::convert::point_from_pb;
use super::{ResponseStream, RouteGuideService, deadline_of};
use crate::metrics::Metrics;
use crate::notes::{LiveError, LiveSubscriber, Note, NoteStore};
use crate::pb;

/// Starts one RouteChat call: a task reads notes and queues replies on a bounded channel.
pub(super) fn handle(
    service: &RouteGuideService,
    request: Request<Streaming<pb::RouteNote>>,
) -> Result<Response<ResponseStream<pb::RouteNote>>, Status> {
    let log = CallLog::start("RouteChat", &request);
    let deadline = deadline_of(&request);
    let (replies, receiver) = mpsc::channel(service.limits.chat_reply_buffer.max(1));
    let reader = exchange_notes(
        request.into_inner(),
        Arc::clone(&service.notes),
        service.limits.max_note_bytes,
        replies,
        service.metrics.clone(),
    );
    let reader_log = log.companion();
    tokio::spawn(async move {
        let (received, reason) = reader.await;
        reader_log.work_stopped(received, reason);
    });
    let stream = BoundedStream::new(
        ReceiverStream::new(receiver),
        deadline,
        service.drain.clone(),
        move |sent, error| log.end(sent, error),
    );
    Ok(Response::new(Box::pin(stream)))
}

type Reply = Result<pb::RouteNote, Status>;

/// Reads notes until the client half-closes, sends something invalid, or stops listening;
/// returns how many notes it stored and why it stopped.
///
/// The reply stream ends (status OK) when this returns and drops `replies`.
async fn exchange_notes(
    mut notes: Streaming<pb::RouteNote>,
    store: Arc<dyn NoteStore>,
    max_note_bytes: usize,
    replies: mpsc::Sender<Reply>,
    metrics: Metrics,
) -> (u64, &'static str) {
    let mut received = 0u64;
    // With live push, the stream subscribes now and watches each location it sends a note at.
    let mut live = store.live_feed().map(|feed| feed.subscribe());
    let reason = read_notes(
        &mut notes,
        &*store,
        max_note_bytes,
        &replies,
        live.as_mut(),
        &mut received,
        &metrics,
    )
    .await;
    (received, reason)
}

/// Returns the stream's next live note; never resolves without live push.
async fn next_live(live: Option<&mut LiveSubscriber>) -> Result<Note, LiveError> {
    match live {
        Some(live) => live.next().await,
        None => std::future::pending().await,
    }
}

/// Returns the reply carrying `note`.
fn reply(note: Note) -> pb::RouteNote {
    pb::RouteNote {
        location: Some(pb::Point::from(note.location)),
        message: note.message.to_string(),
    }
}

/// The loop of [`exchange_notes`]; counts stored notes in `received`.
async fn read_notes(
    notes: &mut Streaming<pb::RouteNote>,
    store: &dyn NoteStore,
    max_note_bytes: usize,
    replies: &mpsc::Sender<Reply>,
    mut live: Option<&mut LiveSubscriber>,
    received: &mut u64,
    metrics: &Metrics,
) -> &'static str {
    loop {
        let next = tokio::select! {
            // Live notes that arrived go out before the next note is read, so a note pushed
            // before the client half-closes is always delivered.
            biased;
            live_note = next_live(live.as_deref_mut()) => match live_note {
                Ok(note) => {
                    if replies.send(Ok(reply(note))).await.is_err() {
                        return "the reply stream ended";
                    }
                    continue;
                }
                Err(error) => {
                    let status = Status::resource_exhausted(error.to_string());
                    let _ = replies.send(Err(status)).await;
                    return "the reader fell behind live notes";
                }
            },
            next = notes.message() => next,
            // The reply stream was dropped: the client left, the deadline passed or the
            // server drained. Stop reading.
            () = replies.closed() => return "the reply stream ended",
        };
        let note = match next {
            Ok(Some(note)) => note,
            Ok(None) => return "the client half-closed",
            // The client reset the stream or sent an undecodable frame; it is already gone
            // or will get this status.
            Err(status) => {
                let _ = replies.send(Err(status)).await;
                return "the request stream failed";
            }
        };
        let note = match note_from_pb(note, *received, max_note_bytes) {
            Ok(note) => note,
            Err(status) => {
                let _ = replies.send(Err(status)).await;
                return "a note was invalid";
            }
        };
        *received += 1;
        let location = note.location;
        let exchanged = match live.as_deref_mut() {
            Some(live) => {
                live.watch(location);
                let exchanged = store.exchange_sequenced(note).await;
                exchanged.map(|exchanged| live.admit_replay(location, exchanged))
            }
            None => store.exchange(note).await,
        };
        match exchanged {
            Ok(earlier) => {
                metrics.note_stored();
                for earlier in earlier {
                    if replies.send(Ok(reply(earlier))).await.is_err() {
                        return "the reply stream ended";
                    }
                }
            }
            Err(error) => {
                tracing::error!(%error, "note store failed");
                let _ = replies
                    .send(Err(Status::unavailable("note store unavailable")))
                    .await;
                return "the note store failed";
            }
        }
    }
}

/// Returns the domain note, or `INVALID_ARGUMENT` naming the note's index and field.
pub(super) fn note_from_pb(
    note: pb::RouteNote,
    index: u64,
    max_note_bytes: usize,
) -> Result<Note, Status> {
    let location = match &note.location {
        None => {
            return Err(Status::invalid_argument(format!(
                "note {index}: location is missing"
            )));
        }
        Some(point) => point_from_pb(point, &format!("note {index}: location."))?,
    };
    if note.message.len() > max_note_bytes {
        return Err(Status::invalid_argument(format!(
            "note {index}: message is {} bytes, the limit is {max_note_bytes}",
            note.message.len()
        )));
    }
    Ok(Note {
        location,
        message: note.message.into(),
    })
}
