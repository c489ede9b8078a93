//! `RouteGuideFirst`: RouteGuide calls go straight to their service, all others to the router.
//!
//! tonic's router (axum) re-boxes every request and response body on the way through,
//! which costs a few allocations and an indirection per frame. RouteGuide carries nearly
//! all the traffic, so its calls skip the router; health and reflection keep it.
//! Uncompressed GetFeature, ListFeatures and RecordRoute calls skip tonic's generated server
//! too ([`DirectCalls`]).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::future::Either;
use prost::bytes::Bytes;
use tonic::Status;
use tonic::body::Body;
use tonic::server::NamedService;

use crate::service::DirectCalls;

/// The future of a [`DirectCalls`] call.
type DirectFuture = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

/// Tower layer that puts `route_guide` in front of the router it wraps.
#[derive(Debug, Clone)]
pub(super) struct RouteGuideFirstLayer<R> {
    route_guide: R,
    direct: DirectCalls,
}

impl<R> RouteGuideFirstLayer<R> {
    /// Returns the layer; `direct` answers the GetFeature, ListFeatures and RecordRoute
    /// calls it takes, and `route_guide` every other path under its service name.
    pub(super) fn new(route_guide: R, direct: DirectCalls) -> Self {
        Self {
            route_guide,
            direct,
        }
    }
}

impl<S, R: Clone> tower::Layer<S> for RouteGuideFirstLayer<R> {
    type Service = RouteGuideFirst<S, R>;

    fn layer(&self, router: S) -> Self::Service {
        RouteGuideFirst {
            router,
            route_guide: self.route_guide.clone(),
            direct: self.direct.clone(),
        }
    }
}

/// Sends requests for `R`'s service (`/{R::NAME}/...`) to `route_guide` (uncompressed
/// GetFeature, ListFeatures and RecordRoute calls to `direct`), others to `router`.
#[derive(Clone)]
pub(super) struct RouteGuideFirst<S, R> {
    router: S,
    route_guide: R,
    direct: DirectCalls,
}

impl<S, R> RouteGuideFirst<S, R>
where
    R: NamedService,
{
    fn is_route_guide(path: &str) -> bool {
        path.strip_prefix('/')
            .and_then(|rest| rest.strip_prefix(R::NAME))
            .is_some_and(|method| method.starts_with('/'))
    }
}

impl<S, R, B> tower::Service<http::Request<B>> for RouteGuideFirst<S, R>
where
    S: tower::Service<http::Request<B>, Response = http::Response<Body>, Error = Infallible>,
    R: tower::Service<http::Request<B>, Response = http::Response<Body>, Error = Infallible>
        + NamedService,
    B: http_body::Body<Data = Bytes, Error = Status> + Unpin + Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Either<Either<R::Future, DirectFuture>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Both are always ready (tonic's generated servers and its router are); asking
        // both keeps this correct should either ever apply backpressure.
        match (self.route_guide.poll_ready(cx), self.router.poll_ready(cx)) {
            (Poll::Ready(Ok(())), Poll::Ready(Ok(()))) => Poll::Ready(Ok(())),
            _ => Poll::Pending,
        }
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if DirectCalls::takes(&request) {
            let answer = self.direct.call(request);
            Either::Left(Either::Right(Box::pin(async move { Ok(answer.await) })))
        } else if Self::is_route_guide(request.uri().path()) {
            Either::Left(Either::Left(self.route_guide.call(request)))
        } else {
            Either::Right(self.router.call(request))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::route_guide_server::RouteGuideServer;
    use crate::service::RouteGuideService;

    type First = RouteGuideFirst<(), RouteGuideServer<RouteGuideService>>;

    #[test]
    fn only_route_guide_paths_skip_the_router() {
        assert!(First::is_route_guide("/routeguide.RouteGuide/GetFeature"));
        assert!(First::is_route_guide("/routeguide.RouteGuide/Unknown"));
        for other in [
            "/grpc.health.v1.Health/Check",
            "/routeguide.RouteGuideX/GetFeature",
            "/routeguide.RouteGuide",
            "routeguide.RouteGuide/GetFeature",
            "/",
            "",
        ] {
            assert!(!First::is_route_guide(other), "{other}");
        }
    }
}
