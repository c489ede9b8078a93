//! `AuthLayer`: RouteGuide calls without a valid bearer token are answered `UNAUTHENTICATED`
//! before any handler runs; health and reflection stay open.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use futures::future::{Either, Ready, ready};
use tonic::Status;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

use crate::auth::{Authenticator, Caller};

/// Path prefixes of the services every client may call without a token: standard health
/// (load balancers and orchestrators probe it without credentials) and reflection (which
/// `--no-reflection` removes instead). Every other path, unknown ones included, needs one.
const OPEN_PREFIXES: [&str; 3] = [
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

/// Tower layer that checks `authorization: Bearer TOKEN` on every call that needs it.
///
/// Without an [`Authenticator`] it lets every call through untouched. With one, a call to
/// any path but health and reflection either carries a token of the current set, and then
/// reaches its handler with the [`Caller`] in its extensions, or is answered
/// `UNAUTHENTICATED` (and logged at warn without the token) without reaching a handler.
#[derive(Debug, Clone, Default)]
pub struct AuthLayer {
    authenticator: Option<Authenticator>,
}

impl AuthLayer {
    /// Returns the layer; `None` lets every call through.
    pub fn new(authenticator: Option<Authenticator>) -> Self {
        Self { authenticator }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            authenticator: self.authenticator.clone(),
        }
    }
}

/// The service made by [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    authenticator: Option<Authenticator>,
}

impl<S, B> tower::Service<http::Request<B>> for AuthService<S>
where
    S: tower::Service<
            http::Request<B>,
            Response = http::Response<tonic::body::Body>,
            Error = Infallible,
        >,
{
    type Response = S::Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Self::Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let Some(authenticator) = &self.authenticator else {
            return Either::Right(self.inner.call(request));
        };
        let path = request.uri().path();
        if OPEN_PREFIXES.iter().any(|open| path.starts_with(open)) {
            return Either::Right(self.inner.call(request));
        }
        let authorization = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .map(http::HeaderValue::as_bytes);
        match authenticator.check(authorization) {
            Ok(caller) => {
                request.extensions_mut().insert::<Caller>(caller);
                Either::Right(self.inner.call(request))
            }
            Err(rejection) => {
                tracing::warn!(
                    path,
                    peer = ?peer(&request).map(tracing::field::display),
                    reason = %rejection,
                    "call unauthenticated"
                );
                let status = Status::unauthenticated(rejection.to_string());
                Either::Left(ready(Ok(status.into_http())))
            }
        }
    }
}

/// Returns the peer address tonic left in the request's extensions, over TCP or TLS.
fn peer<B>(request: &http::Request<B>) -> Option<SocketAddr> {
    let extensions = request.extensions();
    extensions
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| {
            extensions
                .get::<TlsConnectInfo<TcpConnectInfo>>()
                .and_then(|info| info.get_ref().remote_addr())
        })
}
