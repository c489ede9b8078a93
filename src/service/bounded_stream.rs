//! Response streams that end at the client's deadline or when the server drains.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{FutureExt, Stream};
use tokio::time::{Instant, Sleep};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tonic::Status;

use super::Deadline;
use super::convert::{deadline_exceeded, shutting_down};

/// Called once when a stream ends, with the number of items yielded and the final error.
type OnEnd = Box<dyn FnOnce(u64, Option<&Status>) + Send>;

/// How many items an always-ready stream yields between checks of its deadline and drain.
const STOP_CHECK_INTERVAL: u64 = 32;

/// Wraps a response stream: yields its items until the deadline passes (then one
/// `DEADLINE_EXCEEDED`) or the server drains (then one `UNAVAILABLE`), and ends after that.
///
/// Dropping it drops the inner stream, which is how a client's cancellation stops the work.
///
/// While the inner stream is always ready (ListFeatures), the deadline and the drain token
/// are checked by reading the clock and a flag every `STOP_CHECK_INTERVAL` items; the
/// timer and the token's waiter list are only joined when the inner stream returns
/// `Pending`, so a short call registers nothing.
pub(super) struct BoundedStream<S> {
    inner: Pin<Box<S>>,
    deadline: Option<Instant>,
    /// The timer for `deadline`, created the first time the stream waits.
    sleep: Option<Pin<Box<Sleep>>>,
    drain: CancellationToken,
    /// The wait on `drain`, created the first time the stream waits.
    drain_wait: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
    finished: bool,
    on_end: Option<OnEnd>,
    yielded: u64,
}

impl<S> BoundedStream<S> {
    /// Returns `inner` bounded by `deadline` and `drain`; `on_end` runs when the stream ends
    /// or is dropped, and is where the call gets logged.
    pub(super) fn new(
        inner: S,
        deadline: Option<Deadline>,
        drain: CancellationToken,
        on_end: impl FnOnce(u64, Option<&Status>) + Send + 'static,
    ) -> Self {
        Self {
            inner: Box::pin(inner),
            deadline: deadline.map(|Deadline(at)| at),
            sleep: None,
            drain,
            drain_wait: None,
            finished: false,
            on_end: Some(Box::new(on_end)),
            yielded: 0,
        }
    }

    fn finish(&mut self, error: Option<&Status>) {
        self.finished = true;
        if let Some(on_end) = self.on_end.take() {
            on_end(self.yielded, error);
        }
    }

    /// Returns the status to end with if the deadline passed or the server drains, after
    /// finishing the stream. With `cx`, also registers it with the timer and the token so
    /// that either wakes the stream.
    fn stop(&mut self, cx: Option<&mut Context<'_>>) -> Option<Status> {
        let mut expired = self.deadline.is_some_and(|at| at <= Instant::now());
        let mut drained = self.drain.is_cancelled();
        if let Some(cx) = cx
            && !expired
            && !drained
        {
            if let Some(at) = self.deadline {
                let sleep = self
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
                expired = sleep.as_mut().poll(cx).is_ready();
            }
            let drain = &self.drain;
            let wait = self
                .drain_wait
                .get_or_insert_with(|| Box::pin(drain.clone().cancelled_owned()));
            drained = wait.poll_unpin(cx).is_ready();
        }
        let status = if expired {
            deadline_exceeded()
        } else if drained {
            shutting_down()
        } else {
            return None;
        };
        self.finish(Some(&status));
        Some(status)
    }
}

impl<S, T> Stream for BoundedStream<S>
where
    S: Stream<Item = Result<T, Status>>,
{
    type Item = Result<T, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.finished {
            return Poll::Ready(None);
        }
        if this.yielded.is_multiple_of(STOP_CHECK_INTERVAL)
            && let Some(status) = this.stop(None)
        {
            return Poll::Ready(Some(Err(status)));
        }
        match this.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(item))) => {
                this.yielded += 1;
                Poll::Ready(Some(Ok(item)))
            }
            Poll::Ready(Some(Err(status))) => {
                this.finish(Some(&status));
                Poll::Ready(Some(Err(status)))
            }
            Poll::Ready(None) => {
                this.finish(None);
                Poll::Ready(None)
            }
            Poll::Pending => match this.stop(Some(cx)) {
                Some(status) => Poll::Ready(Some(Err(status))),
                None => Poll::Pending,
            },
        }
    }
}

impl<S> Drop for BoundedStream<S> {
    fn drop(&mut self) {
        if !self.finished {
            let cancelled = Status::cancelled("client went away");
            self.finish(Some(&cancelled));
        }
    }
}
