//! The retained notes and their trimming, shared by the memory and embedded backends.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::{Note, NoteRetention, SequencedNote};
use crate::geo::GeoPoint;

/// Every retained note, indexed by location, under a [`NoteRetention`] bound.
///
/// Each note gets a sequence number, increasing in arrival order; the embedded backend
/// stores notes under these numbers and deletes those that [`RetainedNotes::push`] trims.
#[derive(Debug)]
pub(super) struct RetainedNotes {
    retention: NoteRetention,
    /// Notes per location, oldest first, each tagged with its sequence number.
    by_location: HashMap<GeoPoint, VecDeque<(u64, Arc<str>)>>,
    /// Every note in arrival order, for the total bound; entries whose note was already
    /// trimmed per location are skipped when they reach the front.
    arrival: VecDeque<(u64, GeoPoint)>,
    next_sequence: u64,
}

impl RetainedNotes {
    /// Returns an empty set whose first note gets sequence number `next_sequence`.
    pub(super) fn new(retention: NoteRetention, next_sequence: u64) -> Self {
        Self {
            retention,
            by_location: HashMap::new(),
            arrival: VecDeque::new(),
            next_sequence,
        }
    }

    /// Returns the notes at `location` with their sequence numbers, oldest first.
    pub(super) fn at(&self, location: GeoPoint) -> Vec<SequencedNote> {
        self.by_location
            .get(&location)
            .map(|notes| {
                notes
                    .iter()
                    .map(|(sequence, message)| SequencedNote {
                        sequence: *sequence,
                        note: Note {
                            location,
                            message: Arc::clone(message),
                        },
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Stores `note` as the newest, returns its sequence number, and calls `trimmed` with
    /// the sequence number of each note the bounds push out (oldest first).
    pub(super) fn push(&mut self, note: Note, mut trimmed: impl FnMut(u64)) -> u64 {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.restore(sequence, note, &mut trimmed);
        sequence
    }

    /// Stores `note` under `sequence`, which must exceed every sequence stored before, and
    /// calls `trimmed` with the sequence number of each note the bounds push out.
    pub(super) fn restore(&mut self, sequence: u64, note: Note, mut trimmed: impl FnMut(u64)) {
        debug_assert!(
            self.arrival.back().is_none_or(|(last, _)| *last < sequence),
            "sequences go up"
        );
        self.next_sequence = self.next_sequence.max(sequence + 1);
        let notes = self.by_location.entry(note.location).or_default();
        notes.push_back((sequence, note.message));
        if notes.len() > self.retention.max_per_location
            && let Some((oldest, _)) = notes.pop_front()
        {
            trimmed(oldest);
        }
        self.arrival.push_back((sequence, note.location));

        // The arrival queue holds every retained note plus stale entries, so bounding its
        // length bounds both the notes and the queue itself.
        while self.arrival.len() > self.retention.max_total {
            let Some((oldest, location)) = self.arrival.pop_front() else {
                break;
            };
            if let Some(at_location) = self.by_location.get_mut(&location) {
                if at_location.front().is_some_and(|(s, _)| *s == oldest) {
                    at_location.pop_front();
                    trimmed(oldest);
                }
                if at_location.is_empty() {
                    self.by_location.remove(&location);
                }
            }
        }
    }

    /// Returns how many notes are retained.
    pub(super) fn len(&self) -> usize {
        self.by_location.values().map(VecDeque::len).sum()
    }

    /// Returns the length of the arrival queue (retained notes plus stale entries).
    #[cfg(test)]
    pub(super) fn arrival_len(&self) -> usize {
        self.arrival.len()
    }
}
