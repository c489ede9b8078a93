//! Live push (`serve --chat-live`): an in-process hub that hands every newly stored note to
//! the streams that sent a note at its location, through bounded per-stream buffers.
//!
//! Backends publish into a [`LiveFeed`] in each location's store order (the memory store as
//! it stores, the embedded store once a commit made the notes durable, PostgreSQL from
//! `LISTEN`); a [`LiveSubscriber`] keeps, per location, the highest sequence its stream has
//! been shown, so a note reaches a stream once, whether by replay or live, and never when
//! the stream stored it itself.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::{Note, PendingExchange};
use crate::geo::GeoPoint;

/// A stored note with its sequence: at one location, a note stored later has a larger one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequencedNote {
    /// The note's place in the store's order.
    pub sequence: u64,
    /// The note.
    pub note: Note,
}

/// What an exchange gives, once durable ([`PendingExchange::durable`]): the earlier notes
/// at the location, oldest first, and the sequence given to the stored note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchanged {
    /// The replay, oldest first.
    pub earlier: Vec<SequencedNote>,
    /// The sequence of the note just stored.
    pub sequence: u64,
}

/// Says why a live subscription ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LiveError {
    /// The stream read too slowly and its buffer of live notes filled up.
    #[error("the live note buffer of {capacity} notes is full: the reader fell behind")]
    Overflowed {
        /// The buffer's capacity.
        capacity: usize,
    },
}

/// The hub of live notes; cheap to clone, every clone is the same hub.
#[derive(Debug, Clone)]
pub struct LiveFeed {
    shared: Arc<Mutex<Subscribers>>,
    capacity: usize,
}

/// Everyone listening, behind a std mutex: each operation is a few map updates and
/// `try_send`s, never an await.
#[derive(Debug, Default)]
struct Subscribers {
    next_id: u64,
    by_location: HashMap<GeoPoint, Vec<u64>>,
    streams: HashMap<u64, Stream>,
}

#[derive(Debug)]
struct Stream {
    sender: mpsc::Sender<SequencedNote>,
    overflowed: Arc<AtomicBool>,
    /// The locations the stream watches, each with the highest sequence the stream already
    /// has there (stored, replayed or shown) once it admitted an exchange there: notes at
    /// or below it are not sent, so that a stream's own notes, which a batching backend
    /// publishes many at a time, never fill its buffer.
    watched: HashMap<GeoPoint, Option<u64>>,
}

impl Subscribers {
    fn remove(&mut self, id: u64) {
        let Some(stream) = self.streams.remove(&id) else {
            return;
        };
        for location in stream.watched.into_keys() {
            if let Some(ids) = self.by_location.get_mut(&location) {
                ids.retain(|&other| other != id);
                if ids.is_empty() {
                    self.by_location.remove(&location);
                }
            }
        }
    }
}

impl LiveFeed {
    /// Returns a hub whose subscribers each buffer at most `capacity` notes (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            shared: Arc::default(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Subscribers> {
        // Every update leaves the maps consistent, so a poisoned lock is still usable.
        self.shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Returns a new subscriber that watches no location yet.
    pub fn subscribe(&self) -> LiveSubscriber {
        let (sender, receiver) = mpsc::channel(self.capacity);
        let overflowed = Arc::new(AtomicBool::new(false));
        let mut subscribers = self.lock();
        let id = subscribers.next_id;
        subscribers.next_id += 1;
        subscribers.streams.insert(
            id,
            Stream {
                sender,
                overflowed: Arc::clone(&overflowed),
                watched: HashMap::new(),
            },
        );
        LiveSubscriber {
            feed: self.clone(),
            id,
            receiver,
            overflowed,
            shown: HashMap::new(),
        }
    }

    /// Returns whether any subscriber watches `location`.
    pub fn is_watched(&self, location: GeoPoint) -> bool {
        self.lock().by_location.contains_key(&location)
    }

    /// Hands `note` to every subscriber watching its location without waiting; one whose
    /// buffer is full is dropped from the hub and its [`LiveSubscriber::next`] fails.
    pub fn publish(&self, note: &SequencedNote) {
        let mut subscribers = self.lock();
        let Some(ids) = subscribers.by_location.get(&note.note.location) else {
            return;
        };
        let mut overflowed = Vec::new();
        for id in ids {
            let Some(stream) = subscribers.streams.get(id) else {
                continue;
            };
            let has = stream.watched.get(&note.note.location).copied().flatten();
            if has.is_some_and(|has| note.sequence <= has) {
                continue;
            }
            if stream.sender.try_send(note.clone()).is_err() {
                stream.overflowed.store(true, Ordering::SeqCst);
                overflowed.push(*id);
            }
        }
        for id in overflowed {
            subscribers.remove(id);
        }
    }
}

/// One stream's subscription; leaves the hub when dropped.
#[derive(Debug)]
pub struct LiveSubscriber {
    feed: LiveFeed,
    id: u64,
    receiver: mpsc::Receiver<SequencedNote>,
    overflowed: Arc<AtomicBool>,
    /// Per watched location, the highest sequence this stream has been shown, stored, or
    /// will be shown by a replay it admitted; `None` until its first exchange there.
    shown: HashMap<GeoPoint, Option<u64>>,
}

impl LiveSubscriber {
    /// Starts receiving notes stored at `location` from now on (call it before the stream's
    /// first exchange there, then [`Self::admit`] with the exchange as soon as it is begun).
    pub fn watch(&mut self, location: GeoPoint) {
        if self.shown.contains_key(&location) {
            return;
        }
        self.shown.insert(location, None);
        let mut subscribers = self.feed.lock();
        if let Some(stream) = subscribers.streams.get_mut(&self.id) {
            stream.watched.insert(location, None);
            subscribers
                .by_location
                .entry(location)
                .or_default()
                .push(self.id);
        }
    }

    /// Drops from the replay of `exchange` (an exchange at `location`, begun but perhaps
    /// not durable yet) the notes this stream has been shown already, and counts the
    /// stored note, and so everything before it there, as shown.
    pub fn admit(&mut self, location: GeoPoint, exchange: &mut PendingExchange) {
        let shown = self.shown.entry(location).or_insert(None);
        let before = *shown;
        exchange.retain_replay(|sequence| before.is_none_or(|seen| sequence > seen));
        let stored = exchange.sequence();
        let has = before.map_or(stored, |seen| seen.max(stored));
        *shown = Some(has);
        if let Some(stream) = self.feed.lock().streams.get_mut(&self.id) {
            stream.watched.insert(location, Some(has));
        }
    }

    /// Returns the next live note this stream has not been shown; waits while there is none.
    ///
    /// # Errors
    /// [`LiveError::Overflowed`] once the buffer overflowed; the subscription is then over.
    pub async fn next(&mut self) -> Result<Note, LiveError> {
        loop {
            let overflow = LiveError::Overflowed {
                capacity: self.feed.capacity,
            };
            if self.overflowed.load(Ordering::SeqCst) {
                return Err(overflow);
            }
            let Some(live) = self.receiver.recv().await else {
                return Err(overflow);
            };
            let location = live.note.location;
            // A note the stream stored itself, or has in a replay, is not sent again; nor is
            // one at a location whose first exchange was not admitted yet (none is read
            // then: the stream admits each exchange as soon as it is begun).
            if let Some(Some(shown)) = self.shown.get_mut(&location)
                && live.sequence > *shown
            {
                *shown = live.sequence;
                return Ok(live.note);
            }
        }
    }
}

impl Drop for LiveSubscriber {
    fn drop(&mut self) {
        self.feed.lock().remove(self.id);
    }
}

#[cfg(test)]
mod tests;
