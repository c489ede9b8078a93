//! `RateLimitLayer`: each client IP gets a budget of calls (GCRA, through governor); a
//! call over it is answered `RESOURCE_EXHAUSTED` before any handler runs.
//!
//! Health checks are never limited, so a load balancer probing from a busy address keeps
//! its answers. The per-IP state of clients not seen for a while is dropped every
//! [`HOUSEKEEPING_INTERVAL`] checks, so a scan from many addresses does not keep memory.

use std::convert::Infallible;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use futures::future::{Either, Ready, ready};
use governor::{DefaultKeyedRateLimiter, Quota};
use tonic::Status;
use tonic::body::Body;
use tonic::transport::server::TcpConnectInfo;

use crate::config::RateLimit;
use crate::metrics::Metrics;

/// How many checks pass between two sweeps of clients whose budget is full again.
const HOUSEKEEPING_INTERVAL: u64 = 4096;

/// The path prefix of the health service, which is never limited.
const HEALTH: &str = "/grpc.health.v1.Health/";

/// What every clone of a [`RateLimitLayer`] shares.
struct Shared {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    metrics: Metrics,
    checks: AtomicU64,
    /// The answer's text, made once.
    message: String,
}

/// Tower layer that limits calls per client IP address; without a limit it passes every
/// call through.
#[derive(Clone)]
pub struct RateLimitLayer {
    shared: Option<Arc<Shared>>,
}

impl RateLimitLayer {
    /// Returns the layer enforcing `limit` (none when `None`), counting refusals in
    /// `metrics`.
    pub fn new(limit: Option<RateLimit>, metrics: Metrics) -> Self {
        let shared = limit.and_then(|limit| {
            let burst = NonZeroU32::new(limit.burst)?;
            let quota = Quota::with_period(limit.period)?.allow_burst(burst);
            let period = humantime::format_duration(limit.period);
            Some(Arc::new(Shared {
                limiter: DefaultKeyedRateLimiter::keyed(quota),
                metrics,
                checks: AtomicU64::new(0),
                message: format!(
                    "rate limit exceeded: a client may make {burst} calls at once, then one \
                     every {period} (--rate-limit)"
                ),
            }))
        });
        Self { shared }
    }
}

impl<S> tower::Layer<S> for RateLimitLayer {
    type Service = RateLimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimitService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service made by [`RateLimitLayer`].
#[derive(Clone)]
pub struct RateLimitService<S> {
    inner: S,
    shared: Option<Arc<Shared>>,
}

impl<S, B> tower::Service<http::Request<B>> for RateLimitService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<Body>, Error = Infallible>,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Either<Ready<Result<http::Response<Body>, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if let Some(shared) = &self.shared
            && !request.uri().path().starts_with(HEALTH)
            && let Some(ip) = request
                .extensions()
                .get::<TcpConnectInfo>()
                .and_then(TcpConnectInfo::remote_addr)
                .map(|peer| peer.ip())
            && !shared.allows(ip)
        {
            let status = Status::resource_exhausted(shared.message.clone());
            return Either::Left(ready(Ok(status.into_http())));
        }
        Either::Right(self.inner.call(request))
    }
}

impl Shared {
    /// Returns whether `ip` may make a call now, taking it from its budget.
    fn allows(&self, ip: IpAddr) -> bool {
        let checks = self.checks.fetch_add(1, Ordering::Relaxed);
        if checks.is_multiple_of(HOUSEKEEPING_INTERVAL) {
            self.limiter.retain_recent();
        }
        if self.limiter.check_key(&ip).is_ok() {
            return true;
        }
        self.metrics.call_rate_limited();
        tracing::debug!(%ip, "call refused: over the rate limit");
        false
    }
}
