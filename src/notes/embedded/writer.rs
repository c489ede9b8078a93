//! The writer thread: group commit of every queued note in one fsynced transaction, then
//! live push of the committed notes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use tokio::sync::oneshot;

use super::sqlite::StoreFile;
use crate::notes::{CommitProgress, LiveFeed, Note, NoteError, SequencedNote};

/// What the store asks of its writer, in the order the notes were exchanged.
pub(super) enum Job {
    /// Store a note under its sequence number.
    Append(u64, Note),
    /// Delete the note with this sequence number (retention trimmed it).
    Delete(u64),
    /// Answer, after the current round's commit, whether the store can still write.
    Check(oneshot::Sender<Result<(), String>>),
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

/// Everything the writer thread owns.
pub(super) struct Writer {
    /// The open store file.
    pub(super) file: StoreFile,
    /// The store's queue, in sequence order.
    pub(super) jobs: mpsc::Receiver<Job>,
    /// Advanced past each commit's notes once it is fsynced.
    pub(super) progress: Arc<CommitProgress>,
    /// Commits made, for logs and tests.
    pub(super) commits: Arc<AtomicU64>,
    /// Where committed notes are published, with live push.
    pub(super) live: Option<LiveFeed>,
}

/// One round's jobs, taken from the queue at once.
#[derive(Default)]
struct Round {
    appended: Vec<(u64, Note)>,
    trimmed: Vec<u64>,
    checks: Vec<oneshot::Sender<Result<(), String>>>,
    close: Option<oneshot::Sender<Result<(), NoteError>>>,
}

impl Writer {
    /// Runs the writer until the store closes it or drops its end of the queue.
    ///
    /// Each round takes every job queued so far, writes them in one transaction (one
    /// fsync) and only then publishes them live and advances the progress past them: so a
    /// note is pushed live, reported durable, and handed out in a replay only after the
    /// commit that holds it. After a failed commit nothing more becomes durable (the notes
    /// in memory no longer match the file), so every later exchange fails, and so does
    /// every check.
    ///
    /// `gate` (tests only) holds the writer back until it is sent a `()`, so that a test
    /// can queue notes first; when the gate is dropped instead, the writer stops without
    /// writing, like a process killed before its commit.
    pub(super) fn run(self, gate: Option<mpsc::Receiver<()>>) {
        let _stop = StopOnExit(Arc::clone(&self.progress));
        if let Some(gate) = gate
            && gate.recv().is_err()
        {
            // Release the file before the queued notes fail, as a dead process would have.
            drop(self.file);
            return;
        }
        let mut file = Some(self.file);
        let mut failure: Option<String> = None;
        while let Ok(first) = self.jobs.recv() {
            let mut round = Round::default();
            let mut next = Some(first);
            while let Some(job) = next.take() {
                match job {
                    Job::Append(sequence, note) => round.appended.push((sequence, note)),
                    Job::Delete(sequence) => round.trimmed.push(sequence),
                    Job::Check(answer) => round.checks.push(answer),
                    Job::Close(answer) => {
                        round.close = Some(answer);
                        break;
                    }
                }
                next = self.jobs.try_recv().ok();
            }
            if let (None, Some(open)) = (&failure, file.as_mut()) {
                failure = commit(open, &mut round, &self.progress, &self.commits, &self.live).err();
            }
            for answer in round.checks {
                let status = match (&failure, &file) {
                    (Some(reason), _) => Err(reason.clone()),
                    (None, Some(open)) => open.still_in_place(),
                    (None, None) => Err("the store is closed".into()),
                };
                let _ = answer.send(status);
            }
            if let Some(answer) = round.close {
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
}

/// Writes a round's notes and deletions in one transaction, then publishes its notes live
/// and marks them durable; returns why the commit failed, if it did (the progress is then
/// stopped for good).
fn commit(
    file: &mut StoreFile,
    round: &mut Round,
    progress: &CommitProgress,
    commits: &AtomicU64,
    live: &Option<LiveFeed>,
) -> Result<(), String> {
    // A round may hold only deletions, when it took a note's deletions but not yet the
    // note queued right after them; they are written all the same.
    if round.appended.is_empty() && round.trimmed.is_empty() {
        return Ok(());
    }
    let started = Instant::now();
    if let Err(error) = file.write(&round.appended, &round.trimmed) {
        tracing::error!(%error, "notes store commit failed; every later note fails");
        let reason = format!("commit failed: {error}");
        progress.stop(reason.clone());
        return Err(reason);
    }
    commits.fetch_add(1, Ordering::Relaxed);
    tracing::trace!(
        notes = round.appended.len(),
        trimmed = round.trimmed.len(),
        seconds = started.elapsed().as_secs_f64(),
        "notes committed"
    );
    let end = round.appended.last().map(|&(last, _)| last + 1);
    if let Some(feed) = live {
        // In sequence order, so each location's notes are pushed in its order; before the
        // exchanges learn they are durable, so a call that ended OK was pushed already.
        for (sequence, note) in round.appended.drain(..) {
            feed.publish(&SequencedNote { sequence, note });
        }
    }
    if let Some(end) = end {
        progress.committed(end);
    }
    Ok(())
}
