//! RouteChat: each note first replays the earlier notes at its location, then is stored;
//! replies go out only once the notes they carry are durable.
//!
//! Each call runs two loops in one task: the reader hands notes to the store as fast as
//! they arrive (so that a durable store commits many at once), and the sender sends each
//! note's replay, in order, once the store says the note is durable.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::bounded_stream::BoundedStream;
use super::call_log::CallLog;
use super::convert::point_from_pb;
use super::{ResponseStream, RouteGuideService, deadline_of};
use crate::notes::{Note, NoteError, NoteStore, PendingExchange};
use crate::pb;

/// Starts one RouteChat call: a task reads notes and queues replies on a bounded channel.
pub(super) fn handle(
    service: &RouteGuideService,
    request: Request<Streaming<pb::RouteNote>>,
) -> Result<Response<ResponseStream<pb::RouteNote>>, Status> {
    let log = CallLog::start("RouteChat", &request);
    let deadline = deadline_of(&request);
    let limits = service.limits;
    let (replies, receiver) = mpsc::channel(limits.chat_reply_buffer.max(1));
    let (waiting, queue) = mpsc::channel(limits.chat_notes_in_flight.max(1));
    let reader = Reader {
        store: Arc::clone(&service.notes),
        max_note_bytes: limits.max_note_bytes,
        replay_room: Arc::new(Semaphore::new(limits.chat_waiting_replays.max(1))),
        replay_limit: limits.chat_waiting_replays.max(1),
        waiting,
        received: 0,
    };
    let sender = send_replies(queue, replies);
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

/// What the reader hands the sender, in the order of the notes.
enum Waiting {
    /// A note handed to the store: send its replay once it is durable. The permit holds
    /// room for the replay's notes until they are sent.
    Exchange(pb::Point, PendingExchange, OwnedSemaphorePermit),
    /// The reader stopped: send this status (if any) after every earlier replay.
    End(Option<Status>),
}

/// The reading half of a call.
struct Reader {
    store: Arc<dyn NoteStore>,
    max_note_bytes: usize,
    /// Room for replayed notes that wait for their commit, so a stream's memory stays
    /// bounded however large the replays (one permit per replayed note).
    replay_room: Arc<Semaphore>,
    /// The permits of the semaphore, the most one replay may take.
    replay_limit: usize,
    /// Notes waiting for the sender; bounded, so at most that many wait for commits.
    waiting: mpsc::Sender<Waiting>,
    /// Notes handed to the store so far.
    received: u64,
}

impl Reader {
    /// Reads notes until the client half-closes, sends something invalid, or the sender
    /// stops; returns how many notes it handed to the store and why it stopped.
    async fn run(mut self, mut notes: Streaming<pb::RouteNote>) -> (u64, &'static str) {
        let (status, reason) = self.read_notes(&mut notes).await;
        // The sender may be gone already; then it said why.
        let _ = self.waiting.send(Waiting::End(status)).await;
        (self.received, reason)
    }

    /// The loop of [`Reader::run`]; returns the status the call should end with, if not
    /// OK, and why the reader stopped.
    async fn read_notes(
        &mut self,
        notes: &mut Streaming<pb::RouteNote>,
    ) -> (Option<Status>, &'static str) {
        loop {
            let next = tokio::select! {
                // The sender stopped: the client left, the deadline passed, the server
                // drained or the store failed. Stop reading.
                () = self.waiting.closed() => return (None, "the reply stream ended"),
                next = notes.message() => next,
            };
            let note = match next {
                Ok(Some(note)) => note,
                Ok(None) => return (None, "the client half-closed"),
                // The client reset the stream or sent an undecodable frame; it is already
                // gone or will get this status.
                Err(status) => return (Some(status), "the request stream failed"),
            };
            let note = match note_from_pb(note, self.received, self.max_note_bytes) {
                Ok(note) => note,
                Err(status) => return (Some(status), "a note was invalid"),
            };
            self.received += 1;
            let location = pb::Point::from(note.location);
            let pending = match self.store.begin_exchange(note).await {
                Ok(pending) => pending,
                Err(error) => return (Some(store_failed(&error)), "the note store failed"),
            };
            let room = pending.replay_len().clamp(1, self.replay_limit) as u32;
            let Ok(permit) = Arc::clone(&self.replay_room).acquire_many_owned(room).await else {
                return (None, "the reply stream ended");
            };
            let waiting = Waiting::Exchange(location, pending, permit);
            if self.waiting.send(waiting).await.is_err() {
                return (None, "the reply stream ended");
            }
        }
    }
}

/// Sends each waiting note's replay once it is durable, then the reader's final status;
/// returns why it stopped early, if it did.
///
/// The reply stream ends (status OK) when this returns and drops `replies`: after every
/// note's replay was sent, so after every note was durable.
async fn send_replies(
    mut queue: mpsc::Receiver<Waiting>,
    replies: mpsc::Sender<Reply>,
) -> Option<&'static str> {
    loop {
        let next = tokio::select! {
            biased;
            // The reply stream was dropped: the client left, the deadline passed or the
            // server drained.
            () = replies.closed() => return Some("the reply stream ended"),
            next = queue.recv() => next,
        };
        let (location, pending, permit) = match next {
            Some(Waiting::Exchange(location, pending, permit)) => (location, pending, permit),
            Some(Waiting::End(status)) => {
                if let Some(status) = status {
                    let _ = replies.send(Err(status)).await;
                }
                return None;
            }
            // The reader stopped without saying why: it was dropped with the call.
            None => return None,
        };
        let earlier = match pending.durable().await {
            Ok(earlier) => earlier,
            Err(error) => {
                let _ = replies.send(Err(store_failed(&error))).await;
                return Some("the note store failed");
            }
        };
        for earlier in earlier {
            let reply = pb::RouteNote {
                location: Some(location),
                message: earlier.message.to_string(),
            };
            if replies.send(Ok(reply)).await.is_err() {
                return Some("the reply stream ended");
            }
        }
        drop(permit);
    }
}

/// Logs a store failure and returns the status that ends the call.
fn store_failed(error: &NoteError) -> Status {
    tracing::error!(%error, "note store failed");
    Status::unavailable("note store unavailable")
}

/// Returns the domain note, or `INVALID_ARGUMENT` naming the note's index and field.
fn note_from_pb(note: pb::RouteNote, index: u64, max_note_bytes: usize) -> Result<Note, Status> {
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
