//! The writer thread: group commit of every queued note in one fsynced transaction.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use tokio::sync::oneshot;

use super::sqlite::StoreFile;
use crate::notes::{CommitProgress, Note, NoteError};

/// What the store asks of its writer, in the order the notes were exchanged.
pub(super) enum Job {
    /// Store a note under its sequence number.
    Append(u64, Note),
    /// Delete the note with this sequence number (retention trimmed it).
    Delete(u64),
    /// Finish every earlier job, then checkpoint and close the file, and answer.
    Close(oneshot::Sender<Result<(), NoteError>>),
}

/// Says, when the writer ends however it ends, that nothing more will become durable.
struct StopOnExit(Arc<CommitProgress>);

impl Drop for StopOnExit {
    fn drop(&mut self) {
        self.0
            .stop("the store stopped before the note was durable".into());
    }
}

/// Runs the writer until the store closes it or drops its end of `jobs`.
///
/// Each round takes every job queued so far, writes them in one transaction (one fsync)
/// and only then advances `progress` past them: so a note is reported durable, and a
/// replay that includes it is handed out, only after the commit that holds it. After a
/// failed commit nothing more becomes durable (the notes in memory no longer match the
/// file), so every later exchange fails.
///
/// `gate` (tests only) holds the writer back until it is sent a `()`, so that a test can
/// queue notes first; when the gate is dropped instead, the writer stops without writing,
/// like a process killed before its commit.
pub(super) fn run(
    file: StoreFile,
    jobs: mpsc::Receiver<Job>,
    progress: Arc<CommitProgress>,
    commits: Arc<AtomicU64>,
    gate: Option<mpsc::Receiver<()>>,
) {
    let _stop = StopOnExit(Arc::clone(&progress));
    if let Some(gate) = gate
        && gate.recv().is_err()
    {
        // Release the file before the queued notes fail, as a dead process would have.
        drop(file);
        return;
    }
    let mut file = Some(file);
    let mut failed = false;
    let mut appended: Vec<(u64, Note)> = Vec::new();
    let mut trimmed: Vec<u64> = Vec::new();
    while let Ok(first) = jobs.recv() {
        let mut close = None;
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Append(sequence, note) => appended.push((sequence, note)),
                Job::Delete(sequence) => trimmed.push(sequence),
                Job::Close(answer) => {
                    close = Some(answer);
                    break;
                }
            }
            next = jobs.try_recv().ok();
        }
        // A round may hold only deletions, when it took a note's deletions but not yet the
        // note queued right after them; they are written all the same.
        let work = !appended.is_empty() || !trimmed.is_empty();
        if let (true, false, Some(open)) = (work, failed, file.as_mut()) {
            let started = Instant::now();
            match open.write(&appended, &trimmed) {
                Ok(()) => {
                    commits.fetch_add(1, Ordering::Relaxed);
                    if let Some(&(last, _)) = appended.last() {
                        progress.committed(last + 1);
                    }
                    tracing::trace!(
                        notes = appended.len(),
                        trimmed = trimmed.len(),
                        seconds = started.elapsed().as_secs_f64(),
                        "notes committed"
                    );
                }
                Err(error) => {
                    tracing::error!(%error, "notes store commit failed; every later note fails");
                    progress.stop(format!("commit failed: {error}"));
                    failed = true;
                }
            }
        }
        appended.clear();
        trimmed.clear();
        if let Some(answer) = close {
            let result = file.take().map_or(Ok(()), StoreFile::close);
            let _ = answer.send(result);
            return;
        }
    }
    // Every handle is gone without a close: release the file all the same.
    if let Some(file) = file.take()
        && let Err(error) = file.close()
    {
        tracing::warn!(%error, "notes store not closed cleanly");
    }
}
