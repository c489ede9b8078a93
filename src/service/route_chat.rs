//! RouteChat: each note first replays the earlier notes at its location, then is stored;
//! replies go out only once the notes they carry are durable, and with live push
//! (`serve --chat-live`) later notes at those locations follow as they arrive.
//!
//! Each call runs two loops joined in one task, with one ordered queue between them:
//! - the reader (`route_chat/reader.rs`) hands each note to the store as soon as it
//!   arrives (so that a durable store commits many at once) and queues the
//!   [`PendingExchange`], queues each live note the stream's subscriber yields, and last
//!   queues how the call ends;
//! - the sender sends what is queued, in order: an exchange's replay once the store says
//!   its note is durable, a live note at once (it is durable already), then the reader's
//!   final status. The reply stream ends, OK or not, only after every earlier reply went
//!   out, so an OK call has every note durable.
//!
//! A stream's memory is bounded: at most `chat_notes_in_flight` queued items, at most
//! `chat_waiting_replays` replayed notes held by them, `chat_reply_buffer` replies, and
//! the live buffer, whose overflow ends the call with `RESOURCE_EXHAUSTED`.

mod reader;

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::bounded_stream::BoundedStream;
use super::call_log::CallLog;
use super::convert::point_from_pb;
use super::{ResponseStream, RouteGuideService, deadline_of};
use crate::metrics::Metrics;
use crate::notes::{Note, NoteError, PendingExchange};
use crate::pb;
use reader::Reader;

/// Starts one RouteChat call: a task reads notes and queues replies on a bounded channel.
pub(super) fn handle(
    service: &RouteGuideService,
    request: Request<Streaming<pb::RouteNote>>,
) -> Result<Response<ResponseStream<pb::RouteNote>>, Status> {
    let log = CallLog::start("RouteChat", &request);
    let deadline = deadline_of(&request);
    let limits = service.limits;
    let (replies, receiver) = mpsc::channel(limits.chat_reply_buffer.max(1));
    let (outgoing, queue) = mpsc::channel(limits.chat_notes_in_flight.max(1));
    let reader = Reader {
        // With live push, the stream subscribes now and watches each location it sends a
        // note at.
        live: service.notes.live_feed().map(|feed| feed.subscribe()),
        store: Arc::clone(&service.notes),
        max_note_bytes: limits.max_note_bytes,
        replay_room: Arc::new(Semaphore::new(limits.chat_waiting_replays.max(1))),
        replay_limit: limits.chat_waiting_replays.max(1),
        outgoing,
        received: 0,
    };
    let sender = send_replies(queue, replies, service.metrics.clone());
    let reader_log = log.companion();
    tokio::spawn(async move {
        let ((received, read_reason), send_reason) =
            tokio::join!(reader.run(request.into_inner()), sender);
        reader_log.work_stopped(received, send_reason.unwrap_or(read_reason));
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

/// What the reader hands the sender, in the order it happened.
enum Outgoing {
    /// A note handed to the store: send its replay once it is durable. The permit holds
    /// room for the replay's notes until they are sent.
    Exchange(PendingExchange, OwnedSemaphorePermit),
    /// A note someone else stored where this stream sent one (live push; durable).
    Live(Note),
    /// The reader stopped: send this status (if any) after everything queued before it.
    End(Option<Status>),
}

/// Sends what the reader queued, in order, each replay once its note is durable, then
/// the reader's final status; returns why it stopped early, if it did.
///
/// The reply stream ends (status OK, unless a status was sent) when this returns and drops
/// `replies`: after every queued reply was sent, so after every note was durable.
async fn send_replies(
    mut queue: mpsc::Receiver<Outgoing>,
    replies: mpsc::Sender<Reply>,
    metrics: Metrics,
) -> Option<&'static str> {
    loop {
        let next = tokio::select! {
            biased;
            // The reply stream was dropped: the client left, the deadline passed or the
            // server drained.
            () = replies.closed() => return Some("the reply stream ended"),
            next = queue.recv() => next,
        };
        let sent = match next {
            Some(Outgoing::Exchange(pending, permit)) => {
                let exchanged = match pending.durable().await {
                    Ok(exchanged) => exchanged,
                    Err(error) => {
                        let _ = replies.send(Err(store_failed(&error))).await;
                        return Some("the note store failed");
                    }
                };
                metrics.note_stored();
                let mut sent = true;
                for earlier in exchanged.earlier {
                    sent = replies.send(Ok(reply(earlier.note))).await.is_ok();
                    if !sent {
                        break;
                    }
                }
                drop(permit);
                sent
            }
            Some(Outgoing::Live(note)) => replies.send(Ok(reply(note))).await.is_ok(),
            Some(Outgoing::End(status)) => {
                if let Some(status) = status {
                    let _ = replies.send(Err(status)).await;
                }
                return None;
            }
            // The reader stopped without saying why: it was dropped with the call.
            None => return None,
        };
        if !sent {
            return Some("the reply stream ended");
        }
    }
}

/// Returns the reply carrying `note`.
fn reply(note: Note) -> pb::RouteNote {
    pb::RouteNote {
        location: Some(pb::Point::from(note.location)),
        message: note.message.to_string(),
    }
}

/// Logs a store failure and returns the status that ends the call.
fn store_failed(error: &NoteError) -> Status {
    tracing::error!(%error, "note store failed");
    Status::unavailable("note store unavailable")
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
