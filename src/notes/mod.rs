//! RouteChat notes: the `NoteStore` contract shared by every storage backend, and the
//! choice of backend from `--notes`.

#[cfg(test)]
pub(crate) mod conformance;
mod embedded;
mod memory;
mod pending;
mod retained;
mod url;

use std::path::PathBuf;
use std::sync::Arc;

pub use embedded::EmbeddedNoteStore;
pub use memory::MemoryNoteStore;
pub use pending::{CommitProgress, PendingExchange};
pub use url::{NoteStoreUrl, open};

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

/// Says why a note store could not be opened or could not serve a request.
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
    /// The store file could not be opened, read or created.
    #[error("cannot open notes store {}: {message}", path.display())]
    Open {
        /// The store file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The store file is damaged (truncated, overwritten, not a notes store); nothing was
    /// changed in it and nothing is served from it.
    #[error(
        "notes store {} is damaged: {problem}; nothing was served from it (restore it from a \
         backup, or move it aside to start an empty store)",
        path.display()
    )]
    Damaged {
        /// The store file.
        path: PathBuf,
        /// What is wrong, as found.
        problem: String,
    },
    /// Another process (e.g. a second server) has the store file open.
    #[error("notes store {} is in use by another process", path.display())]
    InUse {
        /// The store file.
        path: PathBuf,
    },
    /// `--notes` names a backend that this build cannot open.
    #[error("{0} notes are not supported yet")]
    Unsupported(&'static str),
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
    ///
    /// A durable backend returns only once `note` and every returned note are durable.
    async fn exchange(&self, note: Note) -> Result<Vec<Note>, NoteError>;

    /// Does what [`NoteStore::exchange`] does, but returns as soon as the order is fixed: the
    /// replay comes back inside a [`PendingExchange`] that hands it out only once `note` and
    /// every replayed note are durable.
    ///
    /// One stream can so have many notes waiting for the same commit. Exchanges begun one
    /// after another are ordered as if each had been a whole [`NoteStore::exchange`], and
    /// their [`PendingExchange`]s become durable in that order. The default waits for
    /// [`NoteStore::exchange`], which suits any backend that has nothing to batch.
    ///
    /// # Errors
    /// As [`NoteStore::exchange`]; a failure to make the note durable comes from
    /// [`PendingExchange::durable`] instead.
    async fn begin_exchange(&self, note: Note) -> Result<PendingExchange, NoteError> {
        Ok(PendingExchange::ready(self.exchange(note).await?))
    }

    /// Flushes anything buffered and releases the store; called once, last, at shutdown.
    /// What an exchange after `close` does is up to the backend (a durable one fails it).
    ///
    /// # Errors
    /// [`NoteError`] when buffered notes could not be written.
    async fn close(&self) -> Result<(), NoteError> {
        Ok(())
    }
}
