//! `PendingExchange`: a replay that is handed out only once it is durable, and
//! `CommitProgress`, how far a batching backend's commits have come.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::Notify;

use super::{Exchanged, NoteError};

/// How far a backend's commits have come, by sequence number: shared by the backend (which
/// advances it once per commit) and every exchange waiting on it.
///
/// One commit wakes every waiter once, whatever the number of notes it made durable.
#[derive(Debug)]
pub struct CommitProgress {
    backend: &'static str,
    /// Every sequence number below this is durable.
    durable_below: AtomicU64,
    /// Set once when the backend stops committing (a failure, or the end of its writer);
    /// sequence numbers not durable by then never will be.
    stopped: OnceLock<String>,
    notify: Notify,
}

impl CommitProgress {
    /// Returns the progress of `backend`, nothing durable yet from `first_sequence` on.
    pub fn new(backend: &'static str, first_sequence: u64) -> Self {
        Self {
            backend,
            durable_below: AtomicU64::new(first_sequence),
            stopped: OnceLock::new(),
            notify: Notify::new(),
        }
    }

    /// Marks every sequence number below `end` durable and wakes the exchanges waiting.
    pub fn committed(&self, end: u64) {
        self.durable_below.fetch_max(end, Ordering::Release);
        self.notify.notify_waiters();
    }

    /// Says that nothing more will become durable, because of `reason` (the first reason
    /// given stays); exchanges still waiting then fail with it.
    pub fn stop(&self, reason: String) {
        let _ = self.stopped.set(reason);
        self.notify.notify_waiters();
    }

    /// Returns why the backend stopped committing, once it has.
    pub fn stopped(&self) -> Option<&str> {
        self.stopped.get().map(String::as_str)
    }

    /// Returns `Some(Ok)` once `sequence` is durable, `Some(Err)` once it never will be.
    fn outcome(&self, sequence: u64) -> Option<Result<(), NoteError>> {
        if sequence < self.durable_below.load(Ordering::Acquire) {
            return Some(Ok(()));
        }
        self.stopped.get().map(|reason| {
            Err(NoteError::Backend {
                backend: self.backend,
                message: reason.clone(),
            })
        })
    }

    /// Waits until `sequence` is durable, or fails when it never will be.
    async fn wait(&self, sequence: u64) -> Result<(), NoteError> {
        if let Some(outcome) = self.outcome(sequence) {
            return outcome;
        }
        loop {
            // Registered before the check, so a commit between the two still wakes us.
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(outcome) = self.outcome(sequence) {
                return outcome;
            }
            notified.await;
        }
    }
}

/// The replay of an exchange whose note may not be durable yet.
///
/// The replay is private: the only way to its notes is [`PendingExchange::durable`], so a
/// caller cannot send a note that a crash could still lose. Its sequence numbers are not
/// secret: live push filters the replay by them before it is durable.
#[derive(Debug)]
#[must_use = "the replay is only handed out by `durable`"]
pub struct PendingExchange {
    exchanged: Exchanged,
    /// The commit progress to wait on for the note's sequence number; `None` when the note
    /// already is durable (or the backend promises nothing more).
    commit: Option<Arc<CommitProgress>>,
}

impl PendingExchange {
    /// Returns an exchange whose note (and so its replay) is already durable, or that is
    /// kept by a backend that does not promise durability.
    pub fn ready(exchanged: Exchanged) -> Self {
        Self {
            exchanged,
            commit: None,
        }
    }

    /// Returns an exchange that becomes durable once `progress` has committed the stored
    /// note's sequence number.
    pub fn after(exchanged: Exchanged, progress: Arc<CommitProgress>) -> Self {
        Self {
            exchanged,
            commit: Some(progress),
        }
    }

    /// Returns the sequence number of the stored note.
    pub fn sequence(&self) -> u64 {
        self.exchanged.sequence
    }

    /// Returns how many notes the replay holds.
    pub fn replay_len(&self) -> usize {
        self.exchanged.earlier.len()
    }

    /// Keeps in the replay only the notes whose sequence number `keep` accepts.
    pub fn retain_replay(&mut self, mut keep: impl FnMut(u64) -> bool) {
        self.exchanged.earlier.retain(|note| keep(note.sequence));
    }

    /// Says whether [`PendingExchange::durable`] would answer without waiting.
    pub fn is_ready(&self) -> bool {
        self.commit
            .as_ref()
            .is_none_or(|progress| progress.outcome(self.exchanged.sequence).is_some())
    }

    /// Returns the replay (with the sequence numbers) once the exchange's note and every
    /// replayed note are durable.
    ///
    /// # Errors
    /// [`NoteError`] when the backend could not make the note durable (or stopped before it
    /// did); the replay is then dropped unsent.
    pub async fn durable(self) -> Result<Exchanged, NoteError> {
        if let Some(progress) = &self.commit {
            progress.wait(self.exchanged.sequence).await?;
        }
        Ok(self.exchanged)
    }
}
