//! A closed-loop load generator for any RouteGuide server, behind `routeguide bench`.
//!
//! `concurrency` workers each issue one call at a time, back to back, spread over
//! `connections` HTTP/2 connections (see `connection.rs`). Calls that start during the
//! warm-up are not recorded, and calls still running when the window closes are cancelled
//! and not recorded either; messages are counted as they move, so message rates cover
//! exactly the window even when one call (a whole-database stream) outlasts it. Each
//! worker keeps its own histogram and counters, merged at the end, so workers share
//! nothing but a progress counter and the flag that opens the window. The report includes
//! the CPU time the generator itself used (and the server's, given its pid), to show which
//! side was busy.

mod connection;
mod counting_codec;
mod cpu;
mod stats;
mod workload;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::{SeedableRng, rngs::StdRng};
use serde::Serialize;

use connection::Connection;
pub use cpu::CpuTime;
pub use stats::{Latency, Messages, Recorder, Throughput};
use workload::Caller;
pub use workload::{MessageCounters, RectShape, Rpc, Workload};

use crate::auth::Secret;
use crate::client::normalise_address;
use crate::tls::ClientTls;

/// Says why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum LoadgenError {
    /// The server address is not a valid URI.
    #[error("invalid server address {address:?}: {message}")]
    InvalidAddress {
        /// The address as given.
        address: String,
        /// Why it is invalid.
        message: String,
    },
    /// A connection could not be made.
    #[error("cannot connect to {address}: {message}")]
    Connect {
        /// The address that was tried.
        address: String,
        /// The transport's explanation.
        message: String,
    },
    /// A setting is unusable.
    #[error("{0} must be greater than zero")]
    Zero(&'static str),
    /// The bearer token cannot be sent in a header; the error never quotes it.
    #[error("the bearer token must be visible ASCII characters without spaces")]
    InvalidToken,
}

/// How to drive the server.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Server address, `host:port` or a URI.
    pub address: String,
    /// Calls in flight at any time (one per worker).
    pub concurrency: usize,
    /// Separate HTTP/2 connections; worker `i` uses connection `i % connections`.
    pub connections: usize,
    /// Length of the measured window.
    pub duration: Duration,
    /// Time before the measured window whose calls are not recorded.
    pub warmup: Duration,
    /// Seed of the workers' random choices.
    pub seed: u64,
    /// The server's process id, to report its CPU use too (local servers only).
    pub server_pid: Option<u32>,
    /// TLS for the connections (an `https://` address needs it); `None` is plain text.
    pub tls: Option<ClientTls>,
    /// The token every call carries as `authorization: Bearer TOKEN`.
    pub token: Option<Secret>,
}

/// CPU use over the measured window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CpuUse {
    /// User-mode CPU seconds.
    pub user_seconds: f64,
    /// Kernel CPU seconds.
    pub system_seconds: f64,
    /// Average number of cores kept busy (CPU seconds per wall second).
    pub cores: f64,
    /// CPU microseconds per successful call.
    pub micros_per_call: f64,
}

impl CpuUse {
    fn new(cpu: CpuTime, wall: Duration, calls: u64) -> Self {
        let total = cpu.total().as_secs_f64();
        Self {
            user_seconds: cpu.user.as_secs_f64(),
            system_seconds: cpu.system.as_secs_f64(),
            cores: total / wall.as_secs_f64().max(f64::MIN_POSITIVE),
            micros_per_call: total * 1e6 / (calls.max(1) as f64),
        }
    }
}

/// The result of one benchmark run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// The RPC driven.
    pub rpc: Rpc,
    /// The server address.
    pub address: String,
    /// Calls in flight.
    pub concurrency: usize,
    /// HTTP/2 connections.
    pub connections: usize,
    /// Warm-up length in seconds.
    pub warmup_seconds: f64,
    /// Rates and latencies in the measured window.
    #[serde(flatten)]
    pub throughput: Throughput,
    /// CPU used by this load generator in the measured window.
    pub bench_cpu: Option<CpuUse>,
    /// CPU used by the server in the measured window, when its pid was given.
    pub server_cpu: Option<CpuUse>,
}

/// Runs a benchmark and returns its report; `progress` counts every finished call,
/// warm-up included, so a caller can draw progress while it runs.
///
/// # Errors
/// [`LoadgenError`] when the configuration is unusable or a connection cannot be made.
/// Failed calls are not errors: they are counted by status code in the report.
pub async fn run(
    config: &LoadConfig,
    workload: Arc<Workload>,
    progress: Arc<AtomicU64>,
) -> Result<BenchReport, LoadgenError> {
    if config.concurrency == 0 {
        return Err(LoadgenError::Zero("concurrency"));
    }
    if config.connections == 0 {
        return Err(LoadgenError::Zero("connections"));
    }
    let authorization = config.token.as_ref().map(bearer_header).transpose()?;
    let mut connections = Vec::with_capacity(config.connections);
    for _ in 0..config.connections {
        let connection = connect(&config.address, config.tls.as_ref()).await?;
        connections.push(connection.with_authorization(authorization.clone()));
    }

    let started = Instant::now();
    let measure_from = started + config.warmup;
    let stop_at = measure_from + config.duration;
    let counters: Vec<Arc<MessageCounters>> = (0..config.concurrency)
        .map(|_| Arc::new(MessageCounters::default()))
        .collect();
    // A call is recorded only if it starts after the window's start was read, so that all
    // its messages are inside the window. Without warm-up that is before any worker starts.
    let window_open = Arc::new(AtomicBool::new(false));
    let early_start = config.warmup.is_zero().then(|| {
        let start = WindowEdge::take(&counters, config.server_pid);
        window_open.store(true, Ordering::Release);
        start
    });
    let workers: Vec<_> = counters
        .iter()
        .enumerate()
        .map(|(worker, counters)| {
            let connection = connections[worker % connections.len()].clone();
            let driver = Driver {
                caller: Caller::new(&connection),
                connection,
                workload: Arc::clone(&workload),
                rng: StdRng::seed_from_u64(config.seed.wrapping_add(worker as u64)),
                counters: Arc::clone(counters),
                progress: Arc::clone(&progress),
                window_open: Arc::clone(&window_open),
            };
            tokio::spawn(driver.drive(stop_at))
        })
        .collect();

    let start = match early_start {
        Some(start) => start,
        None => {
            tokio::time::sleep_until(measure_from.into()).await;
            let start = WindowEdge::take(&counters, config.server_pid);
            window_open.store(true, Ordering::Release);
            start
        }
    };
    tokio::time::sleep_until(stop_at.into()).await;
    let end = WindowEdge::take(&counters, config.server_pid);
    let bench_cpu = end.bench_cpu.zip(start.bench_cpu);
    let server_cpu = end.server_cpu.zip(start.server_cpu);
    let wall = stop_at.saturating_duration_since(start.at);

    let mut total = Recorder::new();
    for worker in workers {
        // A worker only ends by returning its recorder; a panic would be a bug in it.
        if let Ok(recorder) = worker.await {
            total.merge(&recorder);
        }
    }
    let messages = Messages {
        sent: end.messages.sent - start.messages.sent,
        received: end.messages.received - start.messages.received,
    };
    let throughput = total.summary(wall, messages);
    let calls = throughput.calls;
    Ok(BenchReport {
        rpc: workload.rpc(),
        address: config.address.clone(),
        concurrency: config.concurrency,
        connections: config.connections,
        warmup_seconds: config.warmup.as_secs_f64(),
        throughput,
        bench_cpu: bench_cpu.map(|(end, start)| CpuUse::new(end.since(start), wall, calls)),
        server_cpu: server_cpu.map(|(end, start)| CpuUse::new(end.since(start), wall, calls)),
    })
}

/// The counts read at one edge of the measured window.
struct WindowEdge {
    at: Instant,
    messages: Messages,
    bench_cpu: Option<CpuTime>,
    server_cpu: Option<CpuTime>,
}

impl WindowEdge {
    fn take(counters: &[Arc<MessageCounters>], server_pid: Option<u32>) -> Self {
        Self {
            at: Instant::now(),
            messages: total_messages(counters),
            bench_cpu: CpuTime::of_self(),
            server_cpu: server_pid.and_then(CpuTime::of_pid),
        }
    }
}

/// Returns the messages all workers have moved so far.
fn total_messages(counters: &[Arc<MessageCounters>]) -> Messages {
    counters
        .iter()
        .fold(Messages::default(), |total, c| Messages {
            sent: total.sent + c.sent.load(Ordering::Relaxed),
            received: total.received + c.received.load(Ordering::Relaxed),
        })
}

/// Returns the `authorization` header value of `token`, marked sensitive (never indexed
/// by HPACK, hidden from `Debug`).
fn bearer_header(token: &Secret) -> Result<http::HeaderValue, LoadgenError> {
    if !token.is_valid_token() {
        return Err(LoadgenError::InvalidToken);
    }
    let mut value = http::HeaderValue::try_from(format!("Bearer {}", token.expose()))
        .map_err(|_| LoadgenError::InvalidToken)?;
    value.set_sensitive(true);
    Ok(value)
}

/// Opens one HTTP/2 connection to `address`, over TLS with `tls`.
async fn connect(address: &str, tls: Option<&ClientTls>) -> Result<Connection, LoadgenError> {
    let uri: http::Uri =
        normalise_address(address)
            .parse()
            .map_err(|e: http::uri::InvalidUri| LoadgenError::InvalidAddress {
                address: address.to_owned(),
                message: e.to_string(),
            })?;
    Connection::open(uri, Duration::from_secs(5), tls).await
}

/// One closed-loop worker and what it owns.
struct Driver {
    caller: Caller,
    /// The connection `caller` calls through.
    connection: Connection,
    workload: Arc<Workload>,
    rng: StdRng,
    counters: Arc<MessageCounters>,
    progress: Arc<AtomicU64>,
    /// Set once the window's start has been read; calls that start before are not recorded.
    window_open: Arc<AtomicBool>,
}

impl Driver {
    /// Calls back to back until `stop_at`, recording calls that start once the window is
    /// open; the call running at `stop_at` is cancelled and not recorded. A call that
    /// outlasts the workload's timeout fails with DEADLINE_EXCEEDED. The worker stops early
    /// once its connection has closed, so a server that goes away ends the run on time
    /// with the failed calls counted.
    async fn drive(mut self, stop_at: Instant) -> Recorder {
        let mut recorder = Recorder::new();
        loop {
            // Acquire pairs with the Release after the start reading: this call's messages
            // are counted after that reading.
            let recorded = self.window_open.load(Ordering::Acquire);
            let started = Instant::now();
            if started >= stop_at {
                return recorder;
            }
            // One timer per call serves both the call's deadline and the window's end.
            let deadline = stop_at.min(started + self.workload.timeout());
            let call = self
                .workload
                .call(&mut self.caller, &mut self.rng, &self.counters);
            let result = match tokio::time::timeout_at(deadline.into(), call).await {
                Ok(result) => result,
                Err(_) if deadline == stop_at => return recorder,
                Err(_) => Err(tonic::Code::DeadlineExceeded),
            };
            self.progress.fetch_add(1, Ordering::Relaxed);
            if recorded {
                match result {
                    Ok(()) => recorder.success(started.elapsed()),
                    Err(code) => recorder.failure(code),
                }
            }
            if result.is_err() {
                if self.connection.is_closed() {
                    return recorder;
                }
                // A failure may come back without waiting on anything: let the connection's
                // own task run, or it could not notice that the connection has closed.
                tokio::task::yield_now().await;
            }
        }
    }
}
