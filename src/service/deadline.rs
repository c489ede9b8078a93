//! Client deadlines (`grpc-timeout`) answered with `DEADLINE_EXCEEDED`, never `CANCELLED`.
//!
//! tonic's own timeout answers `CANCELLED "Timeout expired"`. [`DeadlineLayer`] runs inside
//! it and takes the deadline first; tonic polls it before checking its own timer, so for
//! unary and client-streaming calls it always answers before tonic does. A call whose
//! deadline has already passed when it arrives is answered at once, without running its
//! handler. Handlers of streaming responses read the [`Deadline`] it leaves in the request
//! extensions and end their streams themselves.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

use super::convert::deadline_exceeded;

/// The header a client's deadline arrives in; a constant, so no call parses its name.
static GRPC_TIMEOUT: http::HeaderName = http::HeaderName::from_static("grpc-timeout");

/// The instant by which a call must end, taken from its `grpc-timeout` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(pub Instant);

/// Tower layer that enforces `grpc-timeout` with `DEADLINE_EXCEEDED`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeadlineLayer;

impl<S> tower::Layer<S> for DeadlineLayer {
    type Service = DeadlineService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        DeadlineService { inner }
    }
}

/// The service made by [`DeadlineLayer`].
#[derive(Debug, Clone)]
pub struct DeadlineService<S> {
    inner: S,
}

impl<S, B> tower::Service<http::Request<B>> for DeadlineService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = DeadlineFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let deadline = request
            .headers()
            .get(&GRPC_TIMEOUT)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_grpc_timeout)
            .map(|timeout| Instant::now() + timeout);
        // The second reading of the clock: a deadline of a few nanoseconds has passed by
        // now, and the handler is not worth starting.
        let inner = match deadline {
            Some(at) if at <= Instant::now() => None,
            Some(at) => {
                request.extensions_mut().insert(Deadline(at));
                Some(self.inner.call(request))
            }
            None => Some(self.inner.call(request)),
        };
        DeadlineFuture {
            inner,
            deadline,
            sleep: None,
        }
    }
}

pin_project_lite::pin_project! {
    /// Resolves to the inner response, or to `DEADLINE_EXCEEDED` once the deadline passes.
    pub struct DeadlineFuture<F> {
        // `None` when the deadline had passed before the handler was called.
        #[pin]
        inner: Option<F>,
        deadline: Option<Instant>,
        // Created the first time the handler is not ready at once.
        sleep: Option<Pin<Box<Sleep>>>,
    }
}

impl<F, E> Future for DeadlineFuture<F>
where
    F: Future<Output = Result<http::Response<tonic::body::Body>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(inner) = this.inner.as_pin_mut() else {
            return Poll::Ready(Ok(deadline_exceeded().into_http()));
        };
        // The handler first: a call that answers at once (GetFeature) never touches the
        // timer, which saves registering and removing a timer entry per call.
        if let Poll::Ready(output) = inner.poll(cx) {
            return Poll::Ready(output);
        }
        let Some(at) = *this.deadline else {
            return Poll::Pending;
        };
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Ok(deadline_exceeded().into_http())),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Returns the duration in a `grpc-timeout` value (1 to 8 digits and a unit of H, M, S, m, u, n).
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let split = value.len().checked_sub(1)?;
    let (digits, unit) = value.split_at_checked(split)?;
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tower::{Layer, Service, ServiceExt};

    use super::*;

    /// A handler that answers OK after `delay` and counts its calls.
    #[derive(Clone)]
    struct SlowHandler {
        delay: Duration,
        calls: Arc<AtomicUsize>,
    }

    impl Service<http::Request<()>> for SlowHandler {
        type Response = http::Response<tonic::body::Body>;
        type Error = Infallible;
        type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: http::Request<()>) -> Self::Future {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let delay = self.delay;
            Box::pin(async move {
                tokio::time::sleep(delay).await;
                Ok(http::Response::new(tonic::body::Body::empty()))
            })
        }
    }

    /// Calls a handler that takes `delay` through the layer with `grpc_timeout` and returns
    /// the grpc-status answered (`None`: the handler's own response) and the handler's
    /// call count.
    async fn call_with(grpc_timeout: Option<&str>, delay: Duration) -> (Option<String>, usize) {
        let calls = Arc::new(AtomicUsize::new(0));
        let handler = SlowHandler {
            delay,
            calls: Arc::clone(&calls),
        };
        let mut request = http::Request::new(());
        if let Some(value) = grpc_timeout {
            request
                .headers_mut()
                .insert("grpc-timeout", value.parse().expect("a header value"));
        }
        let response = DeadlineLayer
            .layer(handler)
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response
            .headers()
            .get("grpc-status")
            .map(|v| v.to_str().unwrap_or("?").to_owned());
        (status, calls.load(Ordering::SeqCst))
    }

    /// `DEADLINE_EXCEEDED`'s code on the wire.
    const EXCEEDED: &str = "4";

    #[tokio::test(start_paused = true)]
    async fn a_deadline_that_passed_on_arrival_never_runs_the_handler() {
        assert_eq!(
            call_with(Some("0n"), Duration::ZERO).await,
            (Some(EXCEEDED.to_owned()), 0)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_handler_is_cut_off_at_the_deadline() {
        let started = Instant::now();
        let answer = call_with(Some("100m"), Duration::from_secs(5)).await;
        assert_eq!(answer, (Some(EXCEEDED.to_owned()), 1));
        assert_eq!(started.elapsed(), Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn a_handler_within_its_deadline_or_without_one_answers_itself() {
        assert_eq!(
            call_with(Some("2S"), Duration::from_secs(1)).await,
            (None, 1)
        );
        assert_eq!(call_with(None, Duration::from_secs(3600)).await, (None, 1));
        // A malformed timeout is no deadline, as tonic reads it.
        assert_eq!(
            call_with(Some("soon"), Duration::from_secs(1)).await,
            (None, 1)
        );
    }

    #[test]
    fn parses_grpc_timeout_values() {
        let check = |value: &str, expected: Option<Duration>| {
            assert_eq!(parse_grpc_timeout(value), expected, "{value}");
        };
        check("1H", Some(Duration::from_secs(3600)));
        check("2M", Some(Duration::from_secs(120)));
        check("3S", Some(Duration::from_secs(3)));
        check("250m", Some(Duration::from_millis(250)));
        check("99999999u", Some(Duration::from_micros(99_999_999)));
        check("5n", Some(Duration::from_nanos(5)));
        check("123456789S", None);
        check("S", None);
        check("", None);
        check("10x", None);
        check("-1S", None);
        check("1é", None);
    }
}
