//! In-memory note store: fast, bounded, and lost at exit.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use super::{Exchanged, LiveFeed, Note, NoteError, NoteRetention, NoteStore, SequencedNote};
use crate::geo::GeoPoint;

/// Keeps notes in process memory under a [`NoteRetention`] bound.
///
/// One `std::sync::Mutex` guards everything: the critical section only clones `Arc`s and
/// never awaits, so an async mutex would only add cost.
#[derive(Debug)]
pub struct MemoryNoteStore {
    retention: NoteRetention,
    state: Mutex<State>,
    /// Where stored notes are published for live push, when enabled; published under
    /// `state`'s lock, so each location's notes reach it in sequence order.
    live: Option<LiveFeed>,
}

#[derive(Debug, Default)]
struct State {
    /// Notes per location, oldest first, each tagged with its sequence number.
    by_location: HashMap<GeoPoint, VecDeque<(u64, Arc<str>)>>,
    /// Every note in arrival order, for the total bound; entries whose note was already
    /// trimmed per location are skipped when they reach the front.
    arrival: VecDeque<(u64, GeoPoint)>,
    next_sequence: u64,
}

impl MemoryNoteStore {
    /// Returns an empty store keeping at most what `retention` allows.
    pub fn new(retention: NoteRetention) -> Self {
        Self {
            retention,
            state: Mutex::new(State::default()),
            live: None,
        }
    }

    /// Returns the store publishing every stored note to `feed` (live push, one process).
    pub fn with_live_feed(mut self, feed: LiveFeed) -> Self {
        self.live = Some(feed);
        self
    }

    /// Returns how many notes are retained.
    pub fn len(&self) -> usize {
        self.lock().by_location.values().map(VecDeque::len).sum()
    }

    /// Returns whether no note is retained.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave `State` inconsistent in a way that
        // matters more than losing the store, so a poisoned lock is used as is.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait::async_trait]
impl NoteStore for MemoryNoteStore {
    async fn exchange(&self, note: Note) -> Result<Vec<Note>, NoteError> {
        let exchanged = self.exchange_sequenced(note).await?;
        Ok(exchanged.earlier.into_iter().map(|e| e.note).collect())
    }

    async fn exchange_sequenced(&self, note: Note) -> Result<Exchanged, NoteError> {
        let mut state = self.lock();
        let state = &mut *state;
        let sequence = state.next_sequence;
        state.next_sequence += 1;

        let notes = state.by_location.entry(note.location).or_default();
        let earlier = notes
            .iter()
            .map(|(sequence, message)| SequencedNote {
                sequence: *sequence,
                note: Note {
                    location: note.location,
                    message: Arc::clone(message),
                },
            })
            .collect();
        notes.push_back((sequence, Arc::clone(&note.message)));
        if notes.len() > self.retention.max_per_location {
            notes.pop_front();
        }
        state.arrival.push_back((sequence, note.location));

        // The arrival queue holds every retained note plus stale entries, so bounding its
        // length bounds both the notes and the queue itself.
        while state.arrival.len() > self.retention.max_total {
            let Some((oldest, location)) = state.arrival.pop_front() else {
                break;
            };
            if let Some(at_location) = state.by_location.get_mut(&location) {
                if at_location.front().is_some_and(|(s, _)| *s == oldest) {
                    at_location.pop_front();
                }
                if at_location.is_empty() {
                    state.by_location.remove(&location);
                }
            }
        }
        if let Some(feed) = &self.live {
            feed.publish(&SequencedNote { sequence, note });
        }
        Ok(Exchanged { earlier, sequence })
    }

    fn live_feed(&self) -> Option<&LiveFeed> {
        self.live.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notes::conformance::{OpenStore, Place, note_store_conformance};

    struct Memory;

    impl OpenStore for Memory {
        const DURABLE: bool = false;

        async fn open(&self, _: &Place, retention: NoteRetention) -> Arc<dyn NoteStore> {
            Arc::new(MemoryNoteStore::new(retention))
        }
    }

    note_store_conformance!(Memory);

    fn note(latitude: i32, message: &str) -> Note {
        Note {
            location: GeoPoint::new(latitude, 0).unwrap(),
            message: message.into(),
        }
    }

    fn messages(notes: Vec<Note>) -> Vec<String> {
        notes.iter().map(|n| n.message.to_string()).collect()
    }

    fn store(max_per_location: usize, max_total: usize) -> MemoryNoteStore {
        MemoryNoteStore::new(NoteRetention {
            max_per_location,
            max_total,
        })
    }

    #[tokio::test]
    async fn trims_oldest_overall_and_stays_bounded() {
        let store = store(3, 4);
        for i in 0..1000 {
            store.exchange(note(i % 5, &i.to_string())).await.unwrap();
            assert!(store.len() <= 4);
            assert!(store.lock().arrival.len() <= 4);
        }
        // Spamming one location must not grow the arrival queue past the bound either.
        for i in 0..1000 {
            store.exchange(note(0, &i.to_string())).await.unwrap();
        }
        assert!(store.lock().arrival.len() <= 4);
        assert_eq!(
            messages(store.exchange(note(0, "z")).await.unwrap()),
            ["997", "998", "999"]
        );
    }
}
