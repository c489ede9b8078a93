//! Client deadlines (`grpc-timeout`) answered with `DEADLINE_EXCEEDED`, never `CANCELLED`.
//!
//! tonic's own timeout answers `CANCELLED "Timeout expired"`. [`DeadlineLayer`] runs inside
//! it and takes the deadline first; tonic polls it before checking its own timer, so for unary and client-streaming calls
//! it always answers before tonic does. Handlers of streaming responses read the
//! [`Deadline`] it leaves in the request extensions and end their streams themselves.

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
            .map(|timeout| Deadline(Instant::now() + timeout));
        if let Some(deadline) = deadline {
            request.extensions_mut().insert(deadline);
        }
        DeadlineFuture {
            inner: self.inner.call(request),
            deadline: deadline.map(|Deadline(at)| at),
            sleep: None,
        }
    }
}

pin_project_lite::pin_project! {
    /// Resolves to the inner response, or to `DEADLINE_EXCEEDED` once the deadline passes.
    pub struct DeadlineFuture<F> {
        #[pin]
        inner: F,
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
        // The handler first: a call that answers at once (GetFeature) never touches the
        // timer, which saves registering and removing a timer entry per call.
        if let Poll::Ready(output) = this.inner.poll(cx) {
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
    use super::*;

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
