//! The reading half of a RouteChat call: notes from the client go to the store as they
//! arrive, live notes to the sender, each in the order it happened.

use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc};
use tonic::{Status, Streaming};

use super::{Outgoing, note_from_pb, store_failed};
use crate::notes::{LiveError, LiveSubscriber, Note, NoteStore};
use crate::pb;

/// The reading half of a call.
pub(super) struct Reader {
    pub(super) store: Arc<dyn NoteStore>,
    pub(super) max_note_bytes: usize,
    /// Room for replayed notes that wait for their commit, so a stream's memory stays
    /// bounded however large the replays (one permit per replayed note).
    pub(super) replay_room: Arc<Semaphore>,
    /// The permits of the semaphore, the most one replay may take.
    pub(super) replay_limit: usize,
    /// The stream's live subscription, with live push.
    pub(super) live: Option<LiveSubscriber>,
    /// What waits for the sender; bounded, so at most that many notes wait for commits.
    pub(super) outgoing: mpsc::Sender<Outgoing>,
    /// Notes handed to the store so far.
    pub(super) received: u64,
}

/// What the reader got next.
enum Next {
    /// A message, the end of the request stream, or its failure.
    Note(Result<Option<pb::RouteNote>, Status>),
    /// A live note, or the end of the subscription.
    Live(Result<Note, LiveError>),
    /// The sender stopped.
    SenderGone,
}

impl Reader {
    /// Reads notes until the client half-closes, sends something invalid, falls behind live
    /// notes, or the sender stops; returns how many notes it handed to the store and why it
    /// stopped.
    pub(super) async fn run(mut self, mut notes: Streaming<pb::RouteNote>) -> (u64, &'static str) {
        let (status, reason) = self.read_notes(&mut notes).await;
        // The sender may be gone already; then it said why.
        let _ = self.outgoing.send(Outgoing::End(status)).await;
        (self.received, reason)
    }

    /// The loop of [`Reader::run`]; returns the status the call should end with, if not
    /// OK, and why the reader stopped.
    async fn read_notes(
        &mut self,
        notes: &mut Streaming<pb::RouteNote>,
    ) -> (Option<Status>, &'static str) {
        const SENDER_GONE: (Option<Status>, &str) = (None, "the reply stream ended");
        loop {
            let next = tokio::select! {
                biased;
                // The sender stopped: the client left, the deadline passed, the server
                // drained or the store failed. Stop reading.
                () = self.outgoing.closed() => Next::SenderGone,
                // Live notes that arrived are queued before the next note is read, so a
                // note pushed before the client half-closes is always delivered.
                live = next_live(self.live.as_mut()) => Next::Live(live),
                next = notes.message() => Next::Note(next),
            };
            let note = match next {
                Next::SenderGone => return SENDER_GONE,
                Next::Live(Ok(note)) => {
                    if self.outgoing.send(Outgoing::Live(note)).await.is_err() {
                        return SENDER_GONE;
                    }
                    continue;
                }
                Next::Live(Err(error)) => {
                    let status = Status::resource_exhausted(error.to_string());
                    return (Some(status), "the reader fell behind live notes");
                }
                Next::Note(Ok(Some(note))) => note,
                Next::Note(Ok(None)) => return (None, "the client half-closed"),
                // The client reset the stream or sent an undecodable frame; it is already
                // gone or will get this status.
                Next::Note(Err(status)) => return (Some(status), "the request stream failed"),
            };
            let note = match note_from_pb(note, self.received, self.max_note_bytes) {
                Ok(note) => note,
                Err(status) => return (Some(status), "a note was invalid"),
            };
            self.received += 1;
            let location = note.location;
            if let Some(live) = &mut self.live {
                live.watch(location);
            }
            let mut pending = match self.store.begin_exchange(note).await {
                Ok(pending) => pending,
                Err(error) => return (Some(store_failed(&error)), "the note store failed"),
            };
            // Admitted at once, before any later live note is read: the replay then leaves
            // out what the stream was shown live, and live push what the replay holds.
            if let Some(live) = &mut self.live {
                live.admit(location, &mut pending);
            }
            let room = pending.replay_len().clamp(1, self.replay_limit);
            let room = u32::try_from(room).unwrap_or(u32::MAX);
            let Ok(permit) = Arc::clone(&self.replay_room).acquire_many_owned(room).await else {
                return SENDER_GONE;
            };
            if self
                .outgoing
                .send(Outgoing::Exchange(pending, permit))
                .await
                .is_err()
            {
                return SENDER_GONE;
            }
        }
    }
}

/// Returns the stream's next live note; never resolves without live push.
async fn next_live(live: Option<&mut LiveSubscriber>) -> Result<Note, LiveError> {
    match live {
        Some(live) => live.next().await,
        None => std::future::pending().await,
    }
}
