//! `ObserveLayer`: per-call metrics and the access log, for every call the server answers.
//!
//! The layer starts a [`Call`] when the request headers arrive and ends it when the
//! response's status is known: at once for a trailers-only response, else when the
//! response body yields its trailers (or ends or is dropped, which is `CANCELLED`). Request
//! and response bodies are counted message by message from their gRPC framing, so every
//! service and every compression is counted alike.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http_body::{Body as _, Frame};
use hyper::body::Bytes;
use tonic::Code;
use tonic::body::Body;
use tonic::transport::server::TcpConnectInfo;

use super::frames::FrameCounter;
use crate::metrics::{MethodId, Metrics, code_name};

/// The `tracing` target of access log lines.
pub const ACCESS_TARGET: &str = "routeguide::access";

/// Returns the gRPC status code in `headers` (a trailers-only response's headers or a
/// response's trailers), if there is one.
pub(crate) fn grpc_code(headers: &http::HeaderMap) -> Option<Code> {
    headers
        .get("grpc-status")
        .map(|value| Code::from_bytes(value.as_bytes()))
}

/// Tower layer that records every call in [`Metrics`] and, when asked, logs one access
/// line per call at info under the target [`ACCESS_TARGET`].
///
/// The line names the peer address, the method's path, the status code's name, the
/// duration and the messages received and sent, plus the user agent; never another
/// header (so never `authorization`) and never a message's content.
#[derive(Debug, Clone)]
pub struct ObserveLayer {
    metrics: Metrics,
    access_log: bool,
}

impl ObserveLayer {
    /// Returns the layer recording into `metrics`, logging access lines if `access_log`.
    pub fn new(metrics: Metrics, access_log: bool) -> Self {
        Self {
            metrics,
            access_log,
        }
    }
}

impl<S> tower::Layer<S> for ObserveLayer {
    type Service = ObserveService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ObserveService {
            inner,
            metrics: self.metrics.clone(),
            access_log: self.access_log,
        }
    }
}

/// The service made by [`ObserveLayer`].
#[derive(Debug, Clone)]
pub struct ObserveService<S> {
    inner: S,
    metrics: Metrics,
    access_log: bool,
}

impl<S> tower::Service<http::Request<Body>> for ObserveService<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>>,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = ObserveFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let call = Call::start(&self.metrics, &request, self.access_log);
        let (received, metrics, method) = (
            Arc::clone(&call.received),
            self.metrics.clone(),
            call.method,
        );
        let request = request.map(move |inner| {
            Body::new(CountedRequest {
                inner,
                frames: FrameCounter::default(),
                received,
                metrics,
                method,
            })
        });
        ObserveFuture {
            inner: self.inner.call(request),
            call: Some(call),
        }
    }
}

/// What the access log line of a call names besides its counts.
#[derive(Debug)]
struct AccessFields {
    peer: Option<SocketAddr>,
    /// The path called, kept only for an unknown method (a known one is static).
    unknown_path: Option<String>,
    user_agent: Option<String>,
}

/// One call between its request headers and its status; ends itself when dropped.
#[derive(Debug)]
struct Call {
    metrics: Metrics,
    method: MethodId,
    started: Instant,
    /// Request messages completed so far, counted by the request body.
    received: Arc<AtomicU64>,
    sent: u64,
    /// The status code, once the response headers or trailers carried one.
    code: Option<Code>,
    access: Option<AccessFields>,
    ended: bool,
}

impl Call {
    fn start(metrics: &Metrics, request: &http::Request<Body>, access_log: bool) -> Self {
        let path = request.uri().path();
        let method = MethodId::of(path);
        metrics.method(method).in_flight.inc();
        let access = access_log.then(|| AccessFields {
            peer: request
                .extensions()
                .get::<TcpConnectInfo>()
                .and_then(TcpConnectInfo::remote_addr),
            unknown_path: method.path().is_none().then(|| path.to_owned()),
            user_agent: request
                .headers()
                .get(http::header::USER_AGENT)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned),
        });
        Self {
            metrics: metrics.clone(),
            method,
            started: Instant::now(),
            received: Arc::new(AtomicU64::new(0)),
            sent: 0,
            code: None,
            access,
            ended: false,
        }
    }

    /// Ends the call with its status code, or `fallback` when none was seen; only once.
    fn end(&mut self, fallback: Code) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        let code = self.code.unwrap_or(fallback);
        let seconds = self.started.elapsed().as_secs_f64();
        let series = self.metrics.method(self.method);
        series.in_flight.dec();
        series.duration.observe(seconds);
        self.metrics.call_ended(self.method, code);
        if let Some(access) = &self.access {
            let method = self
                .method
                .path()
                .or(access.unknown_path.as_deref())
                .unwrap_or_default();
            tracing::info!(
                target: ACCESS_TARGET,
                peer = access.peer.map(tracing::field::display),
                method,
                code = code_name(code),
                duration_ms = seconds * 1000.0,
                messages_in = self.received.load(Ordering::Relaxed),
                messages_out = self.sent,
                user_agent = access.user_agent.as_deref(),
                "call"
            );
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        // Dropped before its status was sent: the client or the connection went away.
        self.end(Code::Cancelled);
    }
}

pin_project_lite::pin_project! {
    /// Resolves to the inner response with its body observed.
    pub struct ObserveFuture<F> {
        #[pin]
        inner: F,
        call: Option<Call>,
    }
}

impl<F, E> Future for ObserveFuture<F>
where
    F: Future<Output = Result<http::Response<Body>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let Some(mut call) = this.call.take() else {
            return Poll::Ready(result);
        };
        let response = match result {
            Ok(response) => response,
            Err(error) => {
                // The transport turns a service error into a reset stream.
                call.end(Code::Unknown);
                return Poll::Ready(Err(error));
            }
        };
        call.code = grpc_code(response.headers());
        if response.body().is_end_stream() {
            call.end(Code::Unknown);
            return Poll::Ready(Ok(response));
        }
        Poll::Ready(Ok(response.map(|inner| {
            Body::new(ObservedResponse {
                inner,
                frames: FrameCounter::default(),
                call,
            })
        })))
    }
}

/// A request body that counts its messages into its call and the method's counter.
struct CountedRequest {
    inner: Body,
    frames: FrameCounter,
    received: Arc<AtomicU64>,
    metrics: Metrics,
    method: MethodId,
}

impl http_body::Body for CountedRequest {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, tonic::Status>>> {
        let this = &mut *self;
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        if let Some(Ok(frame)) = &frame
            && let Some(data) = frame.data_ref()
        {
            let completed = this.frames.feed(data);
            if completed > 0 {
                this.received.fetch_add(completed, Ordering::Relaxed);
                this.metrics.method(this.method).received.inc_by(completed);
            }
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

/// A response body that counts its messages and ends its call at the status.
struct ObservedResponse {
    inner: Body,
    frames: FrameCounter,
    call: Call,
}

impl http_body::Body for ObservedResponse {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, tonic::Status>>> {
        let this = &mut *self;
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    let completed = this.frames.feed(data);
                    this.call.sent += completed;
                    let series = this.call.metrics.method(this.call.method);
                    series.sent.inc_by(completed);
                }
                if let Some(trailers) = frame.trailers_ref() {
                    this.call.code = grpc_code(trailers).or(this.call.code);
                }
                // hyper stops polling a body that says it ended, so end the call now.
                if this.inner.is_end_stream() {
                    this.call.end(Code::Unknown);
                }
            }
            Some(Err(status)) => {
                this.call.code = Some(status.code());
                this.call.end(Code::Unknown);
            }
            None => this.call.end(Code::Unknown),
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
