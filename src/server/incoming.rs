//! Accepted connections that pause after an accept error no connection caused (out of file
//! descriptors or memory), instead of retrying at once.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures::Stream;
use tokio::time::Sleep;

/// How long the server waits before it accepts again after running out of file
/// descriptors or memory.
pub(super) const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// The connections of `inner`, with a pause of [`ACCEPT_ERROR_PAUSE`] after each accept
/// error that is not one connection's fault (EMFILE, ENFILE, ENOBUFS, ENOMEM), logged as a
/// warning once per run of failures.
///
/// tonic's accept loop logs every accept error at trace level and polls again at once.
/// Out of descriptors, the pending connection stays in the kernel's queue, so the next
/// accept fails at once too and the loop spins on a core until a descriptor frees up.
/// Errors of one connection (reset or aborted before it was accepted) pass through
/// without a pause, so a client cannot slow down the accepting of others.
pub(super) struct PausingIncoming<S> {
    inner: S,
    /// Set after an accept error; accepting resumes when it fires.
    pause: Option<Pin<Box<Sleep>>>,
    /// Whether the last accept failed, so that a run of failures logs one warning.
    failing: bool,
}

impl<S> PausingIncoming<S> {
    /// Returns the connections of `inner`, pausing after errors as the type says.
    pub(super) fn new(inner: S) -> Self {
        Self {
            inner,
            pause: None,
            failing: false,
        }
    }
}

impl<S, T> Stream for PausingIncoming<S>
where
    S: Stream<Item = io::Result<T>> + Unpin,
{
    type Item = io::Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(pause) = this.pause.as_mut() {
                ready!(pause.as_mut().poll(cx));
                this.pause = None;
            }
            match ready!(Pin::new(&mut this.inner).poll_next(cx)) {
                Some(Err(error)) if !is_one_connections_fault(&error) => {
                    if !this.failing {
                        let pause_ms = ACCEPT_ERROR_PAUSE.as_millis() as u64;
                        tracing::warn!(%error, pause_ms, "cannot accept connections, pausing");
                    }
                    this.failing = true;
                    this.pause = Some(Box::pin(tokio::time::sleep(ACCEPT_ERROR_PAUSE)));
                }
                Some(Ok(connection)) => {
                    if this.failing {
                        this.failing = false;
                        tracing::info!("accepting connections again");
                    }
                    return Poll::Ready(Some(Ok(connection)));
                }
                other => return Poll::Ready(other),
            }
        }
    }
}

/// Says whether an accept error concerns one incoming connection only (the errors tonic
/// itself treats as transient), so the next accept may well succeed.
fn is_one_connections_fault(error: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        error.kind(),
        ConnectionAborted | ConnectionReset | BrokenPipe | Interrupted | WouldBlock | TimedOut
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures::StreamExt;
    use tokio::time::Instant;

    use super::*;

    /// Returns EMFILE, as accept does when the process is out of file descriptors.
    fn out_of_files() -> io::Error {
        io::Error::from_raw_os_error(24)
    }

    /// Returns the stream of `results`, counting each accept attempt in `attempts`.
    fn accepts(
        results: Vec<io::Result<u32>>,
        attempts: &Arc<AtomicUsize>,
    ) -> impl Stream<Item = io::Result<u32>> + Unpin {
        let attempts = Arc::clone(attempts);
        futures::stream::iter(results).inspect(move |_| {
            attempts.fetch_add(1, Ordering::Relaxed);
        })
    }

    #[tokio::test(start_paused = true)]
    async fn pauses_after_running_out_of_file_descriptors() {
        let attempts = Arc::new(AtomicUsize::new(0));
        let results = vec![Err(out_of_files()), Err(out_of_files()), Ok(7)];
        let mut incoming = PausingIncoming::new(accepts(results, &attempts));
        let start = Instant::now();
        assert_eq!(incoming.next().await.unwrap().unwrap(), 7);
        assert_eq!(attempts.load(Ordering::Relaxed), 3);
        // The clock is paused, so it moved by exactly the two pauses.
        assert_eq!(start.elapsed(), 2 * ACCEPT_ERROR_PAUSE);
    }

    #[tokio::test(start_paused = true)]
    async fn one_connections_error_passes_through_without_a_pause() {
        let attempts = Arc::new(AtomicUsize::new(0));
        let reset = io::Error::from(io::ErrorKind::ConnectionAborted);
        let mut incoming = PausingIncoming::new(accepts(vec![Err(reset), Ok(7)], &attempts));
        let start = Instant::now();
        let error = incoming.next().await.unwrap().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionAborted);
        assert_eq!(incoming.next().await.unwrap().unwrap(), 7);
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}
