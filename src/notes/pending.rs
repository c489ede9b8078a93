//! `PendingExchange`: a replay that is handed out only once it is durable.

use tokio::sync::oneshot;

use super::{Note, NoteError};

/// The replay of an exchange whose note may not be durable yet.
///
/// The replay is private: the only way to it is [`PendingExchange::durable`], so a caller
/// cannot send a note that a crash could still lose.
#[derive(Debug)]
#[must_use = "the replay is only handed out by `durable`"]
pub struct PendingExchange {
    replay: Vec<Note>,
    /// The backend's name, for the error when it stops without answering.
    backend: &'static str,
    /// Answered by the backend once the exchange's note is durable; `None` when it already is.
    commit: Option<oneshot::Receiver<Result<(), NoteError>>>,
}

impl PendingExchange {
    /// Returns an exchange whose note (and so its replay) is already durable, or that is
    /// kept by a backend that does not promise durability.
    pub fn ready(replay: Vec<Note>) -> Self {
        Self {
            replay,
            backend: "",
            commit: None,
        }
    }

    /// Returns an exchange of `backend` that becomes durable when `commit` is answered
    /// with `Ok`.
    pub fn after(
        backend: &'static str,
        replay: Vec<Note>,
        commit: oneshot::Receiver<Result<(), NoteError>>,
    ) -> Self {
        Self {
            replay,
            backend,
            commit: Some(commit),
        }
    }

    /// Says whether the replay can be had without waiting.
    pub fn is_ready(&self) -> bool {
        self.commit.is_none()
    }

    /// Returns the replay once the exchange's note and every replayed note are durable.
    ///
    /// # Errors
    /// [`NoteError`] when the backend could not make the note durable (or stopped before it
    /// said); the replay is then dropped unsent.
    pub async fn durable(self) -> Result<Vec<Note>, NoteError> {
        if let Some(commit) = self.commit {
            commit.await.map_err(|_| NoteError::Backend {
                backend: self.backend,
                message: "the store stopped before the note was durable".into(),
            })??;
        }
        Ok(self.replay)
    }
}
