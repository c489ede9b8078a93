//! `Connection`: one HTTP/2 connection that generated clients call through directly.
//!
//! A tonic `Channel` puts a request queue and its own task between every call and the
//! connection (so that it can reconnect and balance), which costs the load generator CPU
//! on every call, the resource the benchmark must leave to the server. The load generator
//! needs neither: it opens its connections once, and once one is closed its calls fail
//! (and the workers on it stop, see `Driver::drive`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper::body::Incoming;
use hyper::client::conn::http2::{self, SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use super::LoadgenError;
use crate::client::innermost_cause;
use crate::pb::route_guide_client::RouteGuideClient;

/// The `user-agent` of every request.
static USER_AGENT: http::HeaderValue =
    http::HeaderValue::from_static(concat!("routeguide-bench/", env!("CARGO_PKG_VERSION")));

/// A cloneable handle to one HTTP/2 connection; every clone sends on the same connection.
#[derive(Debug, Clone)]
pub(super) struct Connection {
    send: SendRequest<tonic::body::Body>,
    /// Scheme and authority for the requests' URIs (no path).
    origin: Uri,
}

impl Connection {
    /// Opens a plain-text HTTP/2 connection (TCP_NODELAY, as the server sets it) to the
    /// authority of `uri` and drives it on a task of its own until every handle is gone.
    pub(super) async fn open(uri: Uri, timeout: Duration) -> Result<Self, LoadgenError> {
        let failed = |message: String| LoadgenError::Connect {
            address: uri.to_string(),
            message,
        };
        if uri.scheme() != Some(&http::uri::Scheme::HTTP) {
            return Err(failed(
                "the load generator speaks plain-text HTTP/2 (http://) only".to_owned(),
            ));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| failed("the address has no host".to_owned()))?;
        let port = authority.port_u16().unwrap_or(80);
        // An IPv6 host comes in brackets, which the resolver does not take.
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let tcp = tokio::time::timeout(timeout, TcpStream::connect((host, port)))
            .await
            .map_err(|_| failed(format!("timed out after {timeout:?}")))?
            .map_err(|e| failed(e.to_string()))?;
        tcp.set_nodelay(true).map_err(|e| failed(e.to_string()))?;
        let (send, connection) = http2::Builder::new(TokioExecutor::new())
            .handshake(TokioIo::new(tcp))
            .await
            // hyper's own message is only "http2 error"; the cause says what went wrong.
            .map_err(|e| failed(innermost_cause(&e)))?;
        tokio::spawn(connection);
        // A path in the address is not a prefix of the method paths: only the server's
        // scheme and authority go into the requests.
        let origin = Uri::builder()
            .scheme(http::uri::Scheme::HTTP)
            .authority(authority.clone())
            .path_and_query("/")
            .build()
            .map_err(|e| failed(e.to_string()))?;
        Ok(Self { send, origin })
    }

    /// Returns whether the connection has closed (the server went away or sent GOAWAY);
    /// every call on it fails from then on.
    pub(super) fn is_closed(&self) -> bool {
        self.send.is_closed()
    }

    /// Returns a generated client whose calls go over this connection.
    pub(super) fn client(&self) -> RouteGuideClient<Self> {
        RouteGuideClient::with_origin(self.clone(), self.origin.clone())
    }

    /// Returns a bare gRPC client over this connection, for calls with a codec of their own.
    pub(super) fn grpc(&self) -> tonic::client::Grpc<Self> {
        tonic::client::Grpc::with_origin(self.clone(), self.origin.clone())
    }
}

impl tower::Service<http::Request<tonic::body::Body>> for Connection {
    type Response = http::Response<Incoming>;
    type Error = hyper::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.send.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<tonic::body::Body>) -> Self::Future {
        // gRPC clients name themselves; a tonic `Channel` would have said "tonic/...".
        request
            .headers_mut()
            .insert(http::header::USER_AGENT, USER_AGENT.clone());
        Box::pin(self.send.send_request(request))
    }
}
