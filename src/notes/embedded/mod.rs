//! The embedded note store: notes in memory for replays, durable in one SQLite file.
//!
//! Every retained note is kept in memory (the same [`RetainedNotes`] the memory backend
//! uses), so an exchange never reads the disk. The exchange fixes the note's place in
//! memory and queues it, under one lock, for the writer thread (`writer.rs`), which
//! commits everything queued in one fsynced transaction (group commit) and only then lets
//! each exchange hand out its replay. Commits happen in queue order, so a note that is
//! replayed was committed no later than the note whose exchange replays it. With live push
//! the writer publishes each note to the in-process [`LiveFeed`] after its commit, so a
//! note pushed live is durable too.

mod sqlite;
mod writer;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Instant;

use tokio::sync::oneshot;

use super::retained::RetainedNotes;
use super::{
    CommitProgress, Exchanged, LiveFeed, Note, NoteError, NoteRetention, NoteStore, PendingExchange,
};
use sqlite::StoreFile;
use writer::Job;

/// A durable note store in one SQLite file, locked by this process while it is open.
///
/// Guarantees: an exchange's replay is handed out only after its note, and so every note
/// it replays, is fsynced; notes exchanged at the same time share one fsync; a crash
/// loses at most notes whose exchange had not finished; a note is pushed live only after
/// its commit. Retention applies to the file as well: trimmed notes are deleted in the
/// same commit.
pub struct EmbeddedNoteStore {
    path: PathBuf,
    /// The retained notes and the writer's queue, locked together so that the queue's
    /// order is the notes' order. A std mutex: nothing awaits while holding it.
    shared: Mutex<Shared>,
    /// How far the writer's commits have come; exchanges wait on it.
    progress: Arc<CommitProgress>,
    /// Commits the writer has made, for logs and tests.
    commits: Arc<AtomicU64>,
    /// The writer thread, joined by `close`.
    writer: Mutex<Option<JoinHandle<()>>>,
    /// Where the writer publishes committed notes, with live push.
    live: Option<LiveFeed>,
}

struct Shared {
    notes: RetainedNotes,
    /// `None` once the store is closed.
    jobs: Option<mpsc::Sender<Job>>,
}

impl EmbeddedNoteStore {
    /// Opens the store at `path` (created when missing), locks it against other
    /// processes, checks it, loads its notes under `retention` (deleting the ones it no
    /// longer allows) and starts its writer thread; with `live`, the writer publishes each
    /// committed note there. Blocks: call it off the async threads.
    ///
    /// # Errors
    /// [`NoteError::InUse`], [`NoteError::Damaged`] or [`NoteError::Open`], each naming
    /// the file. A damaged file is left as it was.
    pub fn open(
        path: &Path,
        retention: NoteRetention,
        live: Option<LiveFeed>,
    ) -> Result<Self, NoteError> {
        Self::open_gated(path, retention, live, None)
    }

    fn open_gated(
        path: &Path,
        retention: NoteRetention,
        live: Option<LiveFeed>,
        gate: Option<mpsc::Receiver<()>>,
    ) -> Result<Self, NoteError> {
        let started = Instant::now();
        let (mut file, stored) = StoreFile::open(path)?;
        let stored_count = stored.len();
        let next_sequence = stored.last().map_or(0, |(sequence, _)| sequence + 1);
        let mut notes = RetainedNotes::new(retention, next_sequence);
        let mut trimmed = Vec::new();
        for (sequence, note) in stored {
            notes.restore(sequence, note, |s| trimmed.push(s));
        }
        if !trimmed.is_empty() {
            file.delete(&trimmed)?;
        }
        let (jobs, queue) = mpsc::channel();
        let progress = Arc::new(CommitProgress::new("embedded", next_sequence));
        let commits = Arc::new(AtomicU64::new(0));
        let writer = writer::Writer {
            file,
            jobs: queue,
            progress: Arc::clone(&progress),
            commits: Arc::clone(&commits),
            live: live.clone(),
        };
        let writer = std::thread::Builder::new()
            .name("notes-writer".into())
            .spawn(move || writer.run(gate))
            .map_err(|error| {
                sqlite::open_error(path, format!("cannot start the writer thread: {error}"))
            })?;
        tracing::info!(
            path = %path.display(),
            notes = notes.len(),
            trimmed_at_open = trimmed.len(),
            stored = stored_count,
            seconds = started.elapsed().as_secs_f64(),
            "notes store opened"
        );
        Ok(Self {
            path: path.to_owned(),
            shared: Mutex::new(Shared {
                notes,
                jobs: Some(jobs),
            }),
            progress,
            commits,
            writer: Mutex::new(Some(writer)),
            live,
        })
    }

    /// Returns how many notes are retained.
    pub fn len(&self) -> usize {
        self.lock().notes.len()
    }

    /// Returns whether no note is retained.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns how many transactions the writer has committed (each one fsync).
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        // The critical sections cannot panic between changing the notes and queueing
        // them, so a poisoned lock is used as is.
        self.shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn closed(&self) -> NoteError {
        self.failed(format!("notes store {} is closed", self.path.display()))
    }

    fn failed(&self, message: String) -> NoteError {
        NoteError::Backend {
            backend: "embedded",
            message,
        }
    }
}

#[async_trait::async_trait]
impl NoteStore for EmbeddedNoteStore {
    async fn begin_exchange(&self, note: Note) -> Result<PendingExchange, NoteError> {
        let mut shared = self.lock();
        let shared = &mut *shared;
        let Some(jobs) = &shared.jobs else {
            return Err(self.closed());
        };
        let earlier = shared.notes.at(note.location);
        let mut queued = true;
        let sequence = shared.notes.push(note.clone(), |trimmed| {
            queued &= jobs.send(Job::Delete(trimmed)).is_ok();
        });
        // Queued under the lock, so the writer sees notes in sequence order.
        queued &= jobs.send(Job::Append(sequence, note)).is_ok();
        if !queued {
            return Err(self.failed("the writer thread stopped".into()));
        }
        Ok(PendingExchange::after(
            Exchanged { earlier, sequence },
            Arc::clone(&self.progress),
        ))
    }

    fn live_feed(&self) -> Option<&LiveFeed> {
        self.live.as_ref()
    }

    /// Fails once a commit failed or the writer stopped, and otherwise asks the writer,
    /// after the commit it is doing, whether the path still names the file it writes (a
    /// store moved or deleted while serving would lose every later note at restart).
    async fn check(&self) -> Result<(), NoteError> {
        if let Some(reason) = self.progress.stopped() {
            return Err(self.failed(reason.to_owned()));
        }
        let (answer, checked) = oneshot::channel();
        let sent = match &self.lock().jobs {
            Some(jobs) => jobs.send(Job::Check(answer)).is_ok(),
            None => return Err(self.closed()),
        };
        match (sent, checked.await) {
            (true, Ok(result)) => result.map_err(|message| self.failed(message)),
            _ => Err(self.failed("the writer thread stopped".into())),
        }
    }

    async fn close(&self) -> Result<(), NoteError> {
        let Some(jobs) = self.lock().jobs.take() else {
            return Ok(());
        };
        let (answer, closed) = oneshot::channel();
        let sent = jobs.send(Job::Close(answer));
        drop(jobs);
        let result = match sent {
            Ok(()) => closed.await.unwrap_or_else(|_| {
                Err(self.failed("the writer thread stopped before closing".into()))
            }),
            Err(_) => Err(self.failed("the writer thread stopped before closing".into())),
        };
        let writer = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(writer) = writer {
            // The writer has answered (or is gone), so joining does not wait long.
            let _ = tokio::task::spawn_blocking(move || writer.join()).await;
        }
        tracing::info!(
            path = %self.path.display(),
            notes = self.len(),
            commits = self.commits(),
            "notes store closed"
        );
        result
    }
}

impl std::fmt::Debug for EmbeddedNoteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedNoteStore")
            .field("path", &self.path)
            .field("commits", &self.commits())
            .finish_non_exhaustive()
    }
}
