//! `MessageSizeLayer`: a request message over `--max-message-bytes` ends its call with
//! `RESOURCE_EXHAUSTED`, as the gRPC status code guide says, where tonic says `OUT_OF_RANGE`.
//!
//! tonic checks each message's length prefix against the limit and, for a compressed
//! message, its decompressed size. The status comes back in a trailers-only response
//! (unary requests, or a handler that returns it) or in the trailers after replies
//! (RouteChat), so the layer rewrites both, and nothing else.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http_body::{Body as _, Frame};
use hyper::body::Bytes;
use tonic::body::Body;
use tonic::{Code, Status};

use super::observe::grpc_code;

/// How tonic's message for a length prefix over the limit begins (code `OUT_OF_RANGE`).
const TONIC_PREFIX_TOO_LARGE: &str = "Error, decoded message length too large: ";

/// How tonic's message for a decompressed message over the limit begins (code
/// `RESOURCE_EXHAUSTED` already).
const TONIC_DECOMPRESSED_TOO_LARGE: &str = "Error decompressing: size limit, of ";

/// Returns the status to send instead of `status`, if `status` is tonic's answer to a
/// request message over the size limit.
fn replacement(status: &Status) -> Option<Status> {
    let message = status.message();
    let text = match status.code() {
        Code::OutOfRange => {
            // "found N bytes, the limit is: M bytes"
            let rest = message.strip_prefix(TONIC_PREFIX_TOO_LARGE)?;
            format!(
                "request message too large: {}",
                rest.replace("limit is:", "limit is")
            )
        }
        Code::ResourceExhausted => {
            // "N bytes, exceeded while decompressing message"
            let rest = message.strip_prefix(TONIC_DECOMPRESSED_TOO_LARGE)?;
            let limit = rest.split(" bytes").next().unwrap_or(rest);
            format!("request message too large: over {limit} bytes once decompressed")
        }
        _ => return None,
    };
    Some(Status::resource_exhausted(text))
}

/// Rewrites the status in `headers` (a trailers-only response's headers or trailers) if it
/// is tonic's answer to an oversized request message.
fn rewrite(headers: &mut http::HeaderMap) {
    if !matches!(
        grpc_code(headers),
        Some(Code::OutOfRange | Code::ResourceExhausted)
    ) {
        return;
    }
    let Some(status) = Status::from_header_map(headers) else {
        return;
    };
    if let Some(replacement) = replacement(&status) {
        for name in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
            headers.remove(name);
        }
        // The replacement's message is plain text, which always encodes.
        let _ = replacement.add_header(headers);
    }
}

/// Tower layer that answers an oversized request message with `RESOURCE_EXHAUSTED`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MessageSizeLayer;

impl<S> tower::Layer<S> for MessageSizeLayer {
    type Service = MessageSizeService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MessageSizeService { inner }
    }
}

/// The service made by [`MessageSizeLayer`].
#[derive(Debug, Clone)]
pub struct MessageSizeService<S> {
    inner: S,
}

impl<S, B> tower::Service<http::Request<B>> for MessageSizeService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<Body>>,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = MessageSizeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        MessageSizeFuture {
            inner: self.inner.call(request),
        }
    }
}

pin_project_lite::pin_project! {
    /// Resolves to the inner response with its status rewritten where it has to be.
    pub struct MessageSizeFuture<F> {
        #[pin]
        inner: F,
    }
}

impl<F, E> Future for MessageSizeFuture<F>
where
    F: Future<Output = Result<http::Response<Body>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut response = ready!(self.project().inner.poll(cx))?;
        rewrite(response.headers_mut());
        if response.body().is_end_stream() {
            return Poll::Ready(Ok(response));
        }
        Poll::Ready(Ok(
            response.map(|inner| Body::new(RewrittenTrailers { inner }))
        ))
    }
}

/// A response body whose trailers get [`rewrite`].
struct RewrittenTrailers {
    inner: Body,
}

impl http_body::Body for RewrittenTrailers {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let mut frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if let Some(Ok(frame)) = &mut frame
            && let Some(trailers) = frame.trailers_mut()
        {
            rewrite(trailers);
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
mod tests {
    use super::*;

    fn check(status: Status, expected: Option<(Code, &str)>) {
        let mut headers = http::HeaderMap::new();
        status.add_header(&mut headers).expect("encodable");
        rewrite(&mut headers);
        let after = Status::from_header_map(&headers).expect("a status");
        match expected {
            Some((code, message)) => {
                assert_eq!((after.code(), after.message()), (code, message));
            }
            None => assert_eq!(
                (after.code(), after.message()),
                (status.code(), status.message())
            ),
        }
    }

    #[test]
    fn only_tonics_size_errors_are_rewritten() {
        check(
            Status::out_of_range(
                "Error, decoded message length too large: found 2000 bytes, the limit is: 1024 bytes",
            ),
            Some((
                Code::ResourceExhausted,
                "request message too large: found 2000 bytes, the limit is 1024 bytes",
            )),
        );
        check(
            Status::resource_exhausted(
                "Error decompressing: size limit, of 1024 bytes, exceeded while decompressing message",
            ),
            Some((
                Code::ResourceExhausted,
                "request message too large: over 1024 bytes once decompressed",
            )),
        );
        check(Status::out_of_range("page 3 is past the end"), None);
        check(Status::resource_exhausted("reader fell behind"), None);
        check(Status::invalid_argument("latitude 1 out of range"), None);
    }
}
