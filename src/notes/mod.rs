//! RouteChat notes: the `NoteStore` contract shared by every storage backend.

#[cfg(test)]
pub(crate) mod conformance;
mod memory;

use std::sync::Arc;

pub use memory::MemoryNoteStore;

use crate::geo::GeoPoint;

/// A note left at a location; the message is shared cheaply between replays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Where the note was left.
    pub location: GeoPoint,
    /// The note's text (already checked against the size limit).
    pub message: Arc<str>,
}

/// How many notes a store keeps; when a bound is hit the oldest notes go first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoteRetention {
    /// The most notes kept at one location.
    pub max_per_location: usize,
    /// The most notes kept over all locations.
    pub max_total: usize,
}

/// Says why a note store could not serve a request.
#[derive(Debug, thiserror::Error)]
pub enum NoteError {
    /// The backend failed; `message` has the detail for the logs.
    #[error("{backend} note store failed: {message}")]
    Backend {
        /// Which backend failed.
        backend: &'static str,
        /// What failed.
        message: String,
    },
}

/// Where RouteChat notes live; shared by every stream as `Arc<dyn NoteStore>`.
#[async_trait::async_trait]
pub trait NoteStore: Send + Sync + 'static {
    /// Returns every retained note at `note.location`, oldest first, then stores `note`.
    ///
    /// The two steps are atomic with respect to other calls at the same location: two
    /// concurrent exchanges never both miss each other's note, and the returned notes never
    /// include `note` itself.
    ///
    /// # Errors
    /// [`NoteError`] when the backend cannot read or store; `note` is then not stored.
    async fn exchange(&self, note: Note) -> Result<Vec<Note>, NoteError>;

    /// Flushes anything buffered; called once, last, at shutdown.
    ///
    /// # Errors
    /// [`NoteError`] when buffered notes could not be written.
    async fn close(&self) -> Result<(), NoteError> {
        Ok(())
    }
}
