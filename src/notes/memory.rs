//! In-memory note store: fast, bounded, and lost at exit.

use std::sync::Mutex;

use super::retained::RetainedNotes;
use super::{
    Exchanged, LiveFeed, Note, NoteError, NoteRetention, NoteStore, PendingExchange, SequencedNote,
};

/// Keeps notes in process memory under a [`NoteRetention`] bound.
///
/// One `std::sync::Mutex` guards everything: the critical section only clones `Arc`s and
/// never awaits, so an async mutex would only add cost.
#[derive(Debug)]
pub struct MemoryNoteStore {
    notes: Mutex<RetainedNotes>,
    /// Where stored notes are published for live push, when enabled; published under
    /// `notes`' lock, so each location's notes reach it in sequence order.
    live: Option<LiveFeed>,
}

impl MemoryNoteStore {
    /// Returns an empty store keeping at most what `retention` allows.
    pub fn new(retention: NoteRetention) -> Self {
        Self {
            notes: Mutex::new(RetainedNotes::new(retention, 0)),
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
        self.lock().len()
    }

    /// Returns whether no note is retained.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RetainedNotes> {
        // A panic while holding the lock cannot leave the notes inconsistent in a way that
        // matters more than losing the store, so a poisoned lock is used as is.
        self.notes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait::async_trait]
impl NoteStore for MemoryNoteStore {
    async fn begin_exchange(&self, note: Note) -> Result<PendingExchange, NoteError> {
        let mut notes = self.lock();
        let earlier = notes.at(note.location);
        let published = self.live.as_ref().map(|feed| (feed, note.clone()));
        let sequence = notes.push(note, |_| {});
        if let Some((feed, note)) = published {
            feed.publish(&SequencedNote { sequence, note });
        }
        Ok(PendingExchange::ready(Exchanged { earlier, sequence }))
    }

    fn live_feed(&self) -> Option<&LiveFeed> {
        self.live.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::geo::GeoPoint;
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
            assert!(store.lock().arrival_len() <= 4);
        }
        // Spamming one location must not grow the arrival queue past the bound either.
        for i in 0..1000 {
            store.exchange(note(0, &i.to_string())).await.unwrap();
        }
        assert!(store.lock().arrival_len() <= 4);
        assert_eq!(
            messages(store.exchange(note(0, "z")).await.unwrap()),
            ["997", "998", "999"]
        );
    }
}
