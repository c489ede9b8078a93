//! RouteChat: each note first replays the earlier notes at its location, then is stored;
//! replies go out only once the notes they carry are durable.

use std::sync::Arc;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesOrdered;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::bounded_stream::BoundedStream;
use super::call_log::CallLog;
use super::convert::point_from_pb;
use super::{ResponseStream, RouteGuideService, deadline_of};
use crate::notes::{Note, NoteError, NoteStore};
use crate::pb;

/// Starts one RouteChat call: a task reads notes and queues replies on a bounded channel.
pub(super) fn handle(
    service: &RouteGuideService,
    request: Request<Streaming<pb::RouteNote>>,
) -> Result<Response<ResponseStream<pb::RouteNote>>, Status> {
    let log = CallLog::start("RouteChat", &request);
    let deadline = deadline_of(&request);
    let (replies, receiver) = mpsc::channel(service.limits.chat_reply_buffer.max(1));
    let chat = Chat {
        store: Arc::clone(&service.notes),
        max_note_bytes: service.limits.max_note_bytes,
        in_flight: service.limits.chat_notes_in_flight.max(1),
        replies,
        received: 0,
    };
    let reader = chat.run(request.into_inner());
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

/// A note's replay on its way to durability, with the location its replies carry.
type Waiting = BoxFuture<'static, (pb::Point, Result<Vec<Note>, NoteError>)>;

/// One call's reader: stores notes in order, and sends each note's replay once the store
/// says the note is durable (a durable store commits many notes at once).
struct Chat {
    store: Arc<dyn NoteStore>,
    max_note_bytes: usize,
    /// The most notes waiting for their commit at once.
    in_flight: usize,
    replies: mpsc::Sender<Reply>,
    /// Notes handed to the store so far.
    received: u64,
}

impl Chat {
    /// Reads notes until the client half-closes, sends something invalid, or stops
    /// listening; returns how many notes it handed to the store and why it stopped.
    ///
    /// The reply stream ends (status OK) when this returns and drops `replies`: after
    /// every note's replay was sent, so after every note was durable.
    async fn run(mut self, mut notes: Streaming<pb::RouteNote>) -> (u64, &'static str) {
        let reason = self.read_notes(&mut notes).await;
        (self.received, reason)
    }

    /// The loop of [`Chat::run`].
    async fn read_notes(&mut self, notes: &mut Streaming<pb::RouteNote>) -> &'static str {
        let mut waiting: FuturesOrdered<Waiting> = FuturesOrdered::new();
        loop {
            let next = tokio::select! {
                biased;
                // The reply stream was dropped: the client left, the deadline passed or
                // the server drained. Stop reading.
                () = self.replies.closed() => return "the reply stream ended",
                Some((location, durable)) = waiting.next() => {
                    if let Err(reason) = self.send_replay(location, durable).await {
                        return reason;
                    }
                    continue;
                }
                next = notes.message(), if waiting.len() < self.in_flight => next,
            };
            let (status, reason) = match next {
                Ok(Some(note)) => match note_from_pb(note, self.received, self.max_note_bytes) {
                    Ok(note) => {
                        if let Err(reason) = self.exchange(note, &mut waiting).await {
                            return reason;
                        }
                        continue;
                    }
                    Err(status) => (Some(status), "a note was invalid"),
                },
                Ok(None) => (None, "the client half-closed"),
                // The client reset the stream or sent an undecodable frame; it is already
                // gone or will get this status.
                Err(status) => (Some(status), "the request stream failed"),
            };
            // Notes that arrived before the end stay stored, and their replays are sent.
            while let Some((location, durable)) = waiting.next().await {
                if let Err(reason) = self.send_replay(location, durable).await {
                    return reason;
                }
            }
            if let Some(status) = status {
                let _ = self.replies.send(Err(status)).await;
            }
            return reason;
        }
    }

    /// Hands `note` to the store; its replay is sent at once when the store has nothing to
    /// wait for and no earlier replay is waiting, and queued behind them otherwise.
    async fn exchange(
        &mut self,
        note: Note,
        waiting: &mut FuturesOrdered<Waiting>,
    ) -> Result<(), &'static str> {
        self.received += 1;
        let location = pb::Point::from(note.location);
        let pending = match self.store.begin_exchange(note).await {
            Ok(pending) => pending,
            Err(error) => return Err(self.store_failed(error).await),
        };
        if pending.is_ready() && waiting.is_empty() {
            let durable = pending.durable().await;
            return self.send_replay(location, durable).await;
        }
        waiting.push_back(Box::pin(async move { (location, pending.durable().await) }));
        Ok(())
    }

    /// Sends a durable replay, or ends the call when the store could not make it durable.
    async fn send_replay(
        &self,
        location: pb::Point,
        durable: Result<Vec<Note>, NoteError>,
    ) -> Result<(), &'static str> {
        let earlier = match durable {
            Ok(earlier) => earlier,
            Err(error) => return Err(self.store_failed(error).await),
        };
        for earlier in earlier {
            let reply = pb::RouteNote {
                location: Some(location),
                message: earlier.message.to_string(),
            };
            if self.replies.send(Ok(reply)).await.is_err() {
                return Err("the reply stream ended");
            }
        }
        Ok(())
    }

    /// Logs a store failure and ends the call with `UNAVAILABLE`.
    async fn store_failed(&self, error: NoteError) -> &'static str {
        tracing::error!(%error, "note store failed");
        let _ = self
            .replies
            .send(Err(Status::unavailable("note store unavailable")))
            .await;
        "the note store failed"
    }
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
