//! `StreamIdleLayer`: a call whose request stream stays open with no traffic for
//! `--stream-idle-timeout` ends with `DEADLINE_EXCEEDED`.
//!
//! Traffic is a request message arriving or a response message leaving, so a RouteChat
//! stream that only listens to live notes is not idle while notes reach it. Once the
//! client half-closes, nothing more is expected from it and the call is never idle.
//! The request body fails with the status, which the handler (or tonic, for a unary
//! request) ends the call with. `CANCELLED` would not do: tonic reads a request body
//! failing with it as a clean end of the stream.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use http_body::{Body as _, Frame};
use hyper::body::Bytes;
use tokio::time::{Instant, Sleep};
use tonic::Status;
use tonic::body::Body;

use crate::metrics::Metrics;

/// Tower layer that ends calls whose open request stream carries no traffic for a while.
#[derive(Debug, Clone)]
pub struct StreamIdleLayer {
    timeout: Duration,
    metrics: Metrics,
}

impl StreamIdleLayer {
    /// Returns the layer ending calls idle for `timeout`, counted in `metrics`.
    pub fn new(timeout: Duration, metrics: Metrics) -> Self {
        Self { timeout, metrics }
    }
}

impl<S> tower::Layer<S> for StreamIdleLayer {
    type Service = StreamIdleService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        StreamIdleService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`StreamIdleLayer`].
#[derive(Debug, Clone)]
pub struct StreamIdleService<S> {
    inner: S,
    layer: StreamIdleLayer,
}

impl<S> tower::Service<http::Request<Body>> for StreamIdleService<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>>,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = StreamIdleFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let now = Instant::now();
        let activity = Arc::new(Activity::new(now));
        let timeout = self.layer.timeout;
        let (metrics, sent) = (self.layer.metrics.clone(), Arc::clone(&activity));
        let request = request.map(move |inner| {
            Body::new(IdleRequest {
                inner,
                timeout,
                deadline: now + timeout,
                sleep: None,
                responses: sent,
                metrics,
                timed_out: false,
            })
        });
        StreamIdleFuture {
            inner: self.inner.call(request),
            activity: Some(activity),
        }
    }
}

/// When the call's response last sent data, and whether its request stream ended; shared
/// by its request and response bodies.
#[derive(Debug)]
struct Activity {
    origin: Instant,
    /// Nanoseconds after `origin`; zero until the response sends data.
    last_sent: AtomicU64,
    /// Set once the request stream ended: from then on the call is never idle, so its
    /// response need not report traffic (a unary request has always ended by the time
    /// tonic answers it).
    request_ended: AtomicBool,
}

impl Activity {
    fn new(origin: Instant) -> Self {
        Self {
            origin,
            last_sent: AtomicU64::new(0),
            request_ended: AtomicBool::new(false),
        }
    }

    fn record(&self) {
        let nanos = u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last_sent.store(nanos, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.origin + Duration::from_nanos(self.last_sent.load(Ordering::Relaxed))
    }
}

pin_project_lite::pin_project! {
    /// Resolves to the inner response, whose body reports its traffic.
    pub struct StreamIdleFuture<F> {
        #[pin]
        inner: F,
        activity: Option<Arc<Activity>>,
    }
}

impl<F, E> Future for StreamIdleFuture<F>
where
    F: Future<Output = Result<http::Response<Body>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        let Some(activity) = this.activity.take() else {
            return Poll::Ready(Ok(response));
        };
        if response.body().is_end_stream() || activity.request_ended.load(Ordering::Relaxed) {
            return Poll::Ready(Ok(response));
        }
        Poll::Ready(Ok(
            response.map(|inner| Body::new(ActiveResponse { inner, activity }))
        ))
    }
}

/// A request body that fails with `DEADLINE_EXCEEDED` after `timeout` without traffic.
struct IdleRequest {
    inner: Body,
    timeout: Duration,
    /// When the call is idle unless traffic comes first.
    deadline: Instant,
    /// The timer for `deadline`, created the first time the body waits.
    sleep: Option<Pin<Box<Sleep>>>,
    responses: Arc<Activity>,
    metrics: Metrics,
    timed_out: bool,
}

impl http_body::Body for IdleRequest {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = &mut *self;
        if this.timed_out {
            return Poll::Ready(None);
        }
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            if frame.is_none() || this.inner.is_end_stream() {
                this.responses.request_ended.store(true, Ordering::Relaxed);
            } else if let Some(Ok(frame)) = &frame
                && frame.is_data()
            {
                this.deadline = Instant::now() + this.timeout;
            }
            return Poll::Ready(frame);
        }
        loop {
            let deadline = this.deadline;
            let sleep = this
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
            if sleep.deadline() != deadline {
                sleep.as_mut().reset(deadline);
            }
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            // The response may have sent something since the deadline was set.
            let resume = this.responses.last() + this.timeout;
            if resume > Instant::now() {
                this.deadline = resume;
                continue;
            }
            this.timed_out = true;
            this.metrics.stream_idle_timed_out();
            let idle = humantime::format_duration(this.timeout);
            return Poll::Ready(Some(Err(Status::deadline_exceeded(format!(
                "stream idle: no message for {idle} (--stream-idle-timeout)"
            )))));
        }
    }

    fn is_end_stream(&self) -> bool {
        self.timed_out || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that records when it sends data.
struct ActiveResponse {
    inner: Body,
    activity: Arc<Activity>,
}

impl http_body::Body for ActiveResponse {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if let Some(Ok(frame)) = &frame
            && frame.is_data()
        {
            self.activity.record();
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests;
