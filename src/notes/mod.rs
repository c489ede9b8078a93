//! RouteChat notes: the `NoteStore` contract shared by every storage backend.

#[cfg(test)]
pub(crate) mod conformance;
mod live;
mod memory;
mod postgres;
mod url;

use std::sync::Arc;

pub use live::{Exchanged, LiveError, LiveFeed, LiveSubscriber, SequencedNote};
pub use memory::MemoryNoteStore;
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
        /// Where it is, without secrets (e.g. `127.0.0.1:5432, database routeguide`).
        target: String,
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

    /// Does what [`Self::exchange`] does, and also returns the sequences of the replayed
    /// notes and of the stored one (for live push); backends with a [`LiveFeed`] implement
    /// it, and publish each stored note there in the order of its location.
    ///
    /// # Errors
    /// As [`Self::exchange`]; [`NoteError::Unsupported`] by default.
    async fn exchange_sequenced(&self, _note: Note) -> Result<Exchanged, NoteError> {
        Err(NoteError::Unsupported {
            feature: "live push (--chat-live)",
        })
    }

    /// Returns the hub this store publishes stored notes to, when it was opened for live
    /// push; `None` (the default) when it was not.
    fn live_feed(&self) -> Option<&LiveFeed> {
        None
    }

    /// Returns `Ok` when the store can serve right now; the server polls it for health.
    ///
    /// # Errors
    /// [`NoteError`] saying why the store is unreachable.
    async fn check(&self) -> Result<(), NoteError> {
        Ok(())
    }

    /// Flushes anything buffered; called once, last, at shutdown.
    ///
    /// # Errors
    /// [`NoteError`] when buffered notes could not be written.
    async fn close(&self) -> Result<(), NoteError> {
        Ok(())
    }
}
