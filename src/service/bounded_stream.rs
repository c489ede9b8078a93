//! Response streams that end at the client's deadline or when the server drains.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{FutureExt, Stream};
use tokio::time::Sleep;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tonic::Status;

use super::Deadline;
use super::convert::{deadline_exceeded, shutting_down};

/// Called once when a stream ends, with the number of items yielded and the final error.
type OnEnd = Box<dyn FnOnce(u64, Option<&Status>) + Send>;

/// Wraps a response stream: yields its items until the deadline passes (then one
/// `DEADLINE_EXCEEDED`) or the server drains (then one `UNAVAILABLE`), and ends after that.
///
/// Dropping it drops the inner stream, which is how a client's cancellation stops the work.
pub(super) struct BoundedStream<S> {
    inner: Pin<Box<S>>,
    deadline: Option<Pin<Box<Sleep>>>,
    drain: Pin<Box<WaitForCancellationFutureOwned>>,
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
            deadline: deadline.map(|Deadline(at)| Box::pin(tokio::time::sleep_until(at))),
            drain: Box::pin(drain.cancelled_owned()),
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
        let expired = this
            .deadline
            .as_mut()
            .is_some_and(|sleep| sleep.as_mut().poll(cx).is_ready());
        let stop = if expired {
            Some(deadline_exceeded())
        } else if this.drain.poll_unpin(cx).is_ready() {
            Some(shutting_down())
        } else {
            None
        };
        if let Some(status) = stop {
            this.finish(Some(&status));
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
            Poll::Pending => Poll::Pending,
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
