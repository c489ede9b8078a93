//! The writer thread: group commit of every queued note in one fsynced transaction.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use tokio::sync::oneshot;

use super::Append;
use super::sqlite::StoreFile;
use crate::notes::NoteError;

/// What the store asks of its writer, in the order the notes were exchanged.
pub(super) enum Job {
    /// Store a note and delete the notes it trimmed.
    Append(Append),
    /// Finish every earlier job, then checkpoint and close the file, and answer.
    Close(oneshot::Sender<Result<(), NoteError>>),
}

/// Runs the writer until the store closes it or drops its end of `jobs`.
///
/// Each round takes every job queued so far, writes them in one transaction (one fsync)
/// and only then answers each job's `done`: so a note is reported durable, and a replay
/// that includes it is handed out, only after the commit that holds it. After a failed
/// commit every later job fails too, because the notes in memory no longer match the file.
///
/// `gate` (tests only) holds the writer back until it is sent a `()`, so that a test can
/// queue notes first; when the gate is dropped instead, the writer stops without writing,
/// like a process killed before its commit.
pub(super) fn run(
    file: StoreFile,
    jobs: mpsc::Receiver<Job>,
    commits: Arc<AtomicU64>,
    gate: Option<mpsc::Receiver<()>>,
) {
    if let Some(gate) = gate
        && gate.recv().is_err()
    {
        // Release the file before the queued jobs fail, as a dead process would have.
        drop(file);
        return;
    }
    let mut file = Some(file);
    let mut failure: Option<String> = None;
    let mut batch: Vec<Append> = Vec::new();
    let mut trimmed: Vec<u64> = Vec::new();
    while let Ok(first) = jobs.recv() {
        let mut close = None;
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Append(append) => batch.push(append),
                Job::Close(answer) => {
                    close = Some(answer);
                    break;
                }
            }
            next = jobs.try_recv().ok();
        }
        if !batch.is_empty() {
            trimmed.clear();
            trimmed.extend(
                batch
                    .iter()
                    .flat_map(|append| append.trimmed.iter().copied()),
            );
            let result = match (&failure, file.as_mut()) {
                (Some(message), _) => Err(message.clone()),
                (None, Some(file)) => file.write(&batch, &trimmed).map_err(|e| e.to_string()),
                (None, None) => Err("the store is closed".to_owned()),
            };
            match &result {
                Ok(()) => {
                    commits.fetch_add(1, Ordering::Relaxed);
                }
                Err(message) if failure.is_none() => {
                    tracing::error!(error = %message, "notes store commit failed; every later note fails");
                    failure = Some(message.clone());
                }
                Err(_) => {}
            }
            for append in batch.drain(..) {
                let answer = result.clone().map_err(|message| NoteError::Backend {
                    backend: "embedded",
                    message,
                });
                // The exchange may have been dropped (its client left); the note is stored.
                let _ = append.done.send(answer);
            }
        }
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
