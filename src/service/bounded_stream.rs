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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use futures::StreamExt;
    use tonic::Code;

    use super::*;

    /// How a bounded stream ended: the items before its end, its last status code, and
    /// what `on_end` was told.
    type Ending = (Vec<u32>, Option<Code>, Option<(u64, Option<Code>)>);

    /// Reads `inner` bounded by `deadline` (from now) and `drain` until it ends.
    async fn read_all<S>(inner: S, deadline: Option<Duration>, drain: CancellationToken) -> Ending
    where
        S: Stream<Item = Result<u32, Status>> + Send + 'static,
    {
        let ended = Arc::new(Mutex::new(None));
        let seen = Arc::clone(&ended);
        let mut stream = BoundedStream::new(
            inner,
            deadline.map(|d| Deadline(Instant::now() + d)),
            drain,
            move |items, error| {
                *seen.lock().unwrap() = Some((items, error.map(Status::code)));
            },
        );
        let (mut items, mut last) = (Vec::new(), None);
        while let Some(item) = stream.next().await {
            match item {
                Ok(item) => items.push(item),
                Err(status) => last = Some(status.code()),
            }
        }
        let end = *ended.lock().unwrap();
        (items, last, end)
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_that_waits_past_its_deadline_ends_with_deadline_exceeded() {
        let started = Instant::now();
        let waits_forever = futures::stream::iter([Ok(1), Ok(2)]).chain(futures::stream::pending());
        let ending = read_all(
            waits_forever,
            Some(Duration::from_secs(3)),
            CancellationToken::new(),
        )
        .await;
        assert_eq!(
            ending,
            (
                vec![1, 2],
                Some(Code::DeadlineExceeded),
                Some((2, Some(Code::DeadlineExceeded)))
            )
        );
        assert_eq!(started.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn an_always_ready_stream_stops_within_a_check_interval_of_its_deadline() {
        // Each item takes a millisecond of (paused) time: the deadline passes as item 99
        // (the hundredth) is made.
        let slow = futures::stream::iter(0..).then(|i| async move {
            tokio::time::advance(Duration::from_millis(1)).await;
            Ok(i)
        });
        let (items, last, _) = read_all(
            slow,
            Some(Duration::from_millis(100)),
            CancellationToken::new(),
        )
        .await;
        assert_eq!(last, Some(Code::DeadlineExceeded));
        let sent = items.len() as u64;
        assert!(
            (99..=100 + STOP_CHECK_INTERVAL).contains(&sent),
            "{sent} items"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn draining_ends_a_waiting_stream_with_unavailable() {
        let drain = CancellationToken::new();
        let trigger = drain.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(60)).await;
            trigger.cancel();
        });
        let ending = read_all(futures::stream::pending(), None, drain).await;
        assert_eq!(
            ending,
            (
                vec![],
                Some(Code::Unavailable),
                Some((0, Some(Code::Unavailable)))
            )
        );
    }

    #[tokio::test]
    async fn a_stream_that_ends_by_itself_reports_its_items() {
        let ending = read_all(
            futures::stream::iter([Ok(7), Ok(8), Ok(9)]),
            Some(Duration::from_secs(60)),
            CancellationToken::new(),
        )
        .await;
        assert_eq!(ending, (vec![7, 8, 9], None, Some((3, None))));
    }
}
