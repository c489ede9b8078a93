//! RouteChat notes: the `NoteStore` contract shared by every storage backend (memory, an
//! embedded SQLite file, PostgreSQL), and the choice of backend from `--notes`.

#[cfg(test)]
pub(crate) mod conformance;
mod embedded;
mod live;
mod memory;
mod pending;
mod postgres;
mod retained;
mod url;

use std::path::PathBuf;
use std::sync::Arc;

pub use embedded::EmbeddedNoteStore;
pub use live::{Exchanged, LiveError, LiveFeed, LiveSubscriber, SequencedNote};
pub use memory::MemoryNoteStore;
pub use pending::{CommitProgress, PendingExchange};
pub use postgres::{PostgresNoteStore, PostgresUrl};
pub use url::NoteStoreUrl;

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
///
/// No variant ever holds a password from a store URL.
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
    /// `--notes` names no store this build can open, or names one badly.
    #[error("--notes {url}: {reason}")]
    InvalidUrl {
        /// The URL as given, with any password replaced by `***`.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The backend cannot do what was asked (e.g. live push).
    #[error("this note store does not support {feature}")]
    Unsupported {
        /// What it cannot do.
        feature: &'static str,
    },
    /// The store could not be reached or prepared when it was opened.
    #[error("cannot open the {backend} note store at {target}: {message}")]
    Open {
        /// Which backend.
        backend: &'static str,
        /// Where it is, without secrets (e.g. `127.0.0.1:5432, database routeguide`, or a
        /// file's path).
        target: String,
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
}

/// Where RouteChat notes live; shared by every stream as `Arc<dyn NoteStore>`.
///
/// Every backend gives each stored note a sequence number (at one location, a note stored
/// later has a larger one), which live push uses to show each note to a stream once.
#[async_trait::async_trait]
pub trait NoteStore: Send + Sync + 'static {
    /// Fixes the place of `note` in its location's order: takes every retained note at
    /// `note.location` (oldest first, never `note` itself) as its replay, then stores it.
    /// Returns once that order is fixed; the replay comes inside a [`PendingExchange`] that
    /// hands it out only once `note`, and so every replayed note, is durable.
    ///
    /// The two steps are atomic with respect to other calls at the same location: two
    /// concurrent exchanges never both miss each other's note. Exchanges begun one after
    /// another are ordered as if each had finished before the next began, and their
    /// [`PendingExchange`]s become durable in that order, so one stream can have many notes
    /// waiting for the same commit (group commit in a batching backend). A backend with
    /// nothing to batch returns a [`PendingExchange::ready`] one; one with a [`LiveFeed`]
    /// publishes each stored note there, in its location's order, once it is durable.
    ///
    /// # Errors
    /// [`NoteError`] when the backend cannot read or store; `note` is then not stored. A
    /// failure to make the note durable comes from [`PendingExchange::durable`] instead.
    async fn begin_exchange(&self, note: Note) -> Result<PendingExchange, NoteError>;

    /// Returns every retained note at `note.location`, oldest first, then stores `note`: a
    /// whole [`Self::begin_exchange`], returning once the note is durable.
    ///
    /// # Errors
    /// As [`Self::begin_exchange`] and [`PendingExchange::durable`].
    async fn exchange(&self, note: Note) -> Result<Vec<Note>, NoteError> {
        let exchanged = self.begin_exchange(note).await?.durable().await?;
        Ok(exchanged.earlier.into_iter().map(|e| e.note).collect())
    }

    /// Returns the hub this store publishes stored notes to, when it was opened for live
    /// push; `None` (the default) when it was not.
    fn live_feed(&self) -> Option<&LiveFeed> {
        None
    }

    /// Returns `Ok` when the store can serve right now; the server polls it for health.
    ///
    /// # Errors
    /// [`NoteError`] saying why the store is unreachable or cannot write.
    async fn check(&self) -> Result<(), NoteError> {
        Ok(())
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
