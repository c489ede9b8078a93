//! Live push (`serve --chat-live`): an in-process hub that hands every newly stored note to
//! the streams that sent a note at its location, through bounded per-stream buffers.
//!
//! Backends publish into a [`LiveFeed`] in each location's store order (the memory store as
//! it stores, PostgreSQL from `LISTEN`); a [`LiveSubscriber`] keeps, per location, the
//! highest sequence its stream has been shown, so a note reaches a stream once, whether by
//! replay or live, and never when the stream stored it itself.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::Note;
use crate::geo::GeoPoint;

/// A stored note with its sequence: at one location, a note stored later has a larger one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequencedNote {
    /// The note's place in the store's order.
    pub sequence: u64,
    /// The note.
    pub note: Note,
}

/// What a sequenced exchange returns: the earlier notes at the location, oldest first, and
/// the sequence given to the stored note.
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
    locations: Vec<GeoPoint>,
}

impl Subscribers {
    fn remove(&mut self, id: u64) {
        let Some(stream) = self.streams.remove(&id) else {
            return;
        };
        for location in stream.locations {
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
                locations: Vec::new(),
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
            if let Some(stream) = subscribers.streams.get(id)
                && stream.sender.try_send(note.clone()).is_err()
            {
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
    /// Per watched location, the highest sequence this stream has been shown or stored;
    /// `None` until the stream's first exchange there returned.
    shown: HashMap<GeoPoint, Option<u64>>,
}

impl LiveSubscriber {
    /// Starts receiving notes stored at `location` from now on (call it before the stream's
    /// first exchange there, then [`Self::admit_replay`] with the exchange's result).
    pub fn watch(&mut self, location: GeoPoint) {
        if self.shown.contains_key(&location) {
            return;
        }
        self.shown.insert(location, None);
        let mut subscribers = self.feed.lock();
        if let Some(stream) = subscribers.streams.get_mut(&self.id) {
            stream.locations.push(location);
            subscribers
                .by_location
                .entry(location)
                .or_default()
                .push(self.id);
        }
    }

    /// Returns the notes of `exchanged` (an exchange at `location`) that this stream has not
    /// been shown yet, oldest first, and counts the stored note as shown.
    pub fn admit_replay(&mut self, location: GeoPoint, exchanged: Exchanged) -> Vec<Note> {
        let shown = self.shown.entry(location).or_insert(None);
        let before = *shown;
        let fresh = exchanged
            .earlier
            .into_iter()
            .filter(|earlier| before.is_none_or(|seen| earlier.sequence > seen))
            .map(|earlier| earlier.note)
            .collect();
        *shown = Some(before.map_or(exchanged.sequence, |seen| seen.max(exchanged.sequence)));
        fresh
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
            // A note the stream stored itself, or was shown by a replay, is not sent again;
            // nor is one at a location whose first exchange has not returned (none is read
            // then: the stream awaits its exchange before reading live notes).
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
