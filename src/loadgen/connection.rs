//! `Connection`: one HTTP/2 connection (plain or TLS) that generated clients call through
//! directly.
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
use crate::tls::ClientTls;

/// The `user-agent` of every request.
static USER_AGENT: http::HeaderValue =
    http::HeaderValue::from_static(concat!("routeguide-bench/", env!("CARGO_PKG_VERSION")));

/// A cloneable handle to one HTTP/2 connection; every clone sends on the same connection.
#[derive(Debug, Clone)]
pub(super) struct Connection {
    send: SendRequest<tonic::body::Body>,
    /// Scheme and authority for the requests' URIs (no path).
    origin: Uri,
    /// The `authorization` header every request carries, if any.
    authorization: Option<http::HeaderValue>,
}

impl Connection {
    /// Opens an HTTP/2 connection (TCP_NODELAY, as the server sets it) to the authority
    /// of `uri`, over TLS for `https://` (with `tls`, which it needs) and in plain text for
    /// `http://`, and drives it on a task of its own until every handle is gone.
    pub(super) async fn open(
        uri: Uri,
        timeout: Duration,
        tls: Option<&ClientTls>,
    ) -> Result<Self, LoadgenError> {
        let failed = |message: String| LoadgenError::Connect {
            address: uri.to_string(),
            message,
        };
        let scheme = match (uri.scheme(), tls) {
            (Some(scheme), None) if *scheme == http::uri::Scheme::HTTP => scheme.clone(),
            (Some(scheme), Some(_)) if *scheme == http::uri::Scheme::HTTPS => scheme.clone(),
            (_, None) => {
                return Err(failed("https:// needs TLS settings".to_owned()));
            }
            (_, Some(_)) => {
                return Err(failed("TLS settings need an https:// address".to_owned()));
            }
        };
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
        let http2 = http2::Builder::new(TokioExecutor::new());
        // hyper's own message is only "http2 error"; the cause says what went wrong.
        let send = match tls {
            None => {
                let (send, connection) = http2
                    .handshake(TokioIo::new(tcp))
                    .await
                    .map_err(|e| failed(innermost_cause(&e)))?;
                tokio::spawn(connection);
                send
            }
            Some(tls) => {
                let name = tls.server_name(host).map_err(|e| failed(e.to_string()))?;
                let connector = tokio_rustls::TlsConnector::from(tls.rustls_config());
                let stream = tokio::time::timeout(timeout, connector.connect(name, tcp))
                    .await
                    .map_err(|_| failed(format!("TLS handshake timed out after {timeout:?}")))?
                    .map_err(|e| failed(innermost_cause(&e)))?;
                if stream.get_ref().1.alpn_protocol() != Some(b"h2") {
                    return Err(failed(
                        "the server did not agree to HTTP/2 (ALPN h2)".to_owned(),
                    ));
                }
                let (send, connection) = http2
                    .handshake(TokioIo::new(stream))
                    .await
                    .map_err(|e| failed(innermost_cause(&e)))?;
                tokio::spawn(connection);
                send
            }
        };
        // A path in the address is not a prefix of the method paths: only the server's
        // scheme and authority go into the requests.
        let origin = Uri::builder()
            .scheme(scheme)
            .authority(authority.clone())
            .path_and_query("/")
            .build()
            .map_err(|e| failed(e.to_string()))?;
        Ok(Self {
            send,
            origin,
            authorization: None,
        })
    }

    /// Returns the connection with `authorization` on every request it sends.
    pub(super) fn with_authorization(self, authorization: Option<http::HeaderValue>) -> Self {
        Self {
            authorization,
            ..self
        }
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
        let headers = request.headers_mut();
        headers.insert(http::header::USER_AGENT, USER_AGENT.clone());
        if let Some(authorization) = &self.authorization {
            headers.insert(http::header::AUTHORIZATION, authorization.clone());
        }
        Box::pin(self.send.send_request(request))
    }
}
