//! The server under attack: a real `routeguide serve` process, the probes that show it still
//! answers other clients, and its resident memory read from `/proc/PID/status`.

use std::time::Duration;

use routeguide::pb;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use super::process::ServerProcess;

/// How long a probe, a read or a memory wait may take before the test fails; it only bounds
/// a failure, nothing is timed.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// How far above its baseline the server's resident memory may stay once an attack is
/// over. glibc's allocator keeps freed memory in its arenas instead of returning it to the
/// system, so resident memory after an attack levels off above the baseline rather than
/// dropping back: measured on Linux x86_64 with 2 cores, 15 rounds of 800 abandoned streams
/// leave it 18 MiB above, and it stops growing after about 5 rounds. A case that must show
/// more than retention repeats its attack until a leak of what each round held would
/// exceed this margin.
pub const MEMORY_MARGIN_KIB: u64 = 32 * 1024;

/// The point every probe asks for: the first feature of the built-in database.
const PROBE_POINT: pb::Point = pb::Point {
    latitude: 409_146_138,
    longitude: -746_188_906,
};

/// A `routeguide serve --addr 127.0.0.1:0` process on the built-in database, logging each
/// call at debug level; killed when dropped.
pub struct Target {
    pub process: ServerProcess,
    /// `host:port` the server listens on.
    pub addr: String,
}

/// Resident memory of the server process in KiB.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// `VmRSS`: resident now.
    pub now_kib: u64,
    /// `VmHWM`: the most it was ever resident.
    pub peak_kib: u64,
}

impl Target {
    /// Starts the server with `extra` flags and waits until it listens.
    pub fn start(extra: &[&str]) -> Self {
        let process = ServerProcess::start_with_env(extra, &[("RUST_LOG", "routeguide=trace")]);
        let addr = process.addr.clone();
        Self { process, addr }
    }

    /// Returns the `http://` URI of the server.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Returns a new HTTP/2 connection to the server as a tonic channel.
    pub async fn channel(&self) -> Channel {
        let endpoint = Channel::from_shared(self.uri()).unwrap();
        tokio::time::timeout(PATIENCE, endpoint.connect())
            .await
            .expect("connecting within the patience")
            .expect("the server accepts a connection")
    }

    /// Checks that the server answers a client on a new connection: health is SERVING and
    /// GetFeature returns the feature at the probe point.
    pub async fn probe(&self) {
        let channel = self.channel().await;
        probe_on(channel).await;
    }

    /// Returns the server's resident memory now and at its peak.
    pub fn memory(&self) -> Memory {
        let path = format!("/proc/{}/status", self.process.child.id());
        let status = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.trim().strip_suffix("kB"))
                .and_then(|kib| kib.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {name} in {path}"))
        };
        Memory {
            now_kib: field("VmRSS:"),
            peak_kib: field("VmHWM:"),
        }
    }

    /// Returns the resident memory after a few probes, once the runtime's threads and the
    /// allocator's arenas exist: the level later readings are compared with.
    pub async fn baseline(&self) -> Memory {
        for _ in 0..4 {
            self.probe().await;
        }
        self.memory()
    }

    /// Waits until resident memory is within [`MEMORY_MARGIN_KIB`] of `baseline`, polling,
    /// and returns it; panics with the readings if it stays above for [`PATIENCE`].
    pub async fn await_memory_near(&self, case: &str, baseline: Memory) -> Memory {
        let limit = baseline.now_kib + MEMORY_MARGIN_KIB;
        let mut readings = Vec::new();
        let settled = tokio::time::timeout(PATIENCE, async {
            loop {
                let memory = self.memory();
                readings.push(memory.now_kib);
                if memory.now_kib <= limit {
                    return memory;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
        let Ok(after) = settled else {
            let last: Vec<_> = readings.iter().rev().take(5).collect();
            panic!("{case}: VmRSS stayed above {limit} KiB (baseline {baseline:?}), last {last:?}")
        };
        // The numbers the report quotes; shown with `cargo test -- --nocapture`.
        println!(
            "{case}: VmRSS baseline {} KiB, peak {} KiB, after {} KiB",
            baseline.now_kib, after.peak_kib, after.now_kib
        );
        after
    }

    /// Returns how many of the server's log lines `matches` accepts.
    pub fn log_count(&self, matches: impl Fn(&str) -> bool) -> usize {
        self.process
            .log()
            .lines()
            .filter(|line| matches(line))
            .count()
    }

    /// Waits until the server has logged at least `count` lines that `matches` accepts;
    /// panics after [`PATIENCE`], naming `what`.
    pub async fn await_log(
        &self,
        what: &str,
        count: usize,
        matches: impl Fn(&str) -> bool + Send + 'static,
    ) {
        let watch = self.process.log_watch();
        let waited = tokio::task::spawn_blocking(move || watch.wait_for(count, PATIENCE, matches))
            .await
            .unwrap();
        if waited.is_err() {
            panic!("fewer than {count} log lines of {what} within {PATIENCE:?}");
        }
    }

    /// Returns how many of the server's log lines contain every one of `fragments`.
    pub fn log_lines(&self, fragments: &[&str]) -> usize {
        self.log_count(|line| fragments.iter().all(|f| line.contains(f)))
    }

    /// Waits until the server has logged at least `count` lines that contain every one of
    /// `fragments`; panics after [`PATIENCE`].
    pub async fn await_log_lines(&self, fragments: &[&str], count: usize) {
        let what = format!("{fragments:?}");
        let fragments: Vec<String> = fragments.iter().map(|f| f.to_string()).collect();
        let matches = move |line: &str| fragments.iter().all(|f| line.contains(f.as_str()));
        self.await_log(&what, count, matches).await;
    }

    /// Checks that the server logged no panic and is still running.
    pub fn assert_alive(&mut self) {
        assert!(
            !self.process.log().contains("panicked"),
            "the server panicked: {}",
            self.process.log()
        );
        let status = self.process.child.try_wait().unwrap();
        assert!(status.is_none(), "the server exited: {status:?}");
    }
}

/// Checks that the server answers on `channel`: health is SERVING and GetFeature returns
/// the feature at the probe point.
pub async fn probe_on(channel: Channel) {
    let check = async {
        let mut health = HealthClient::new(channel.clone());
        let request = HealthCheckRequest {
            service: String::new(),
        };
        let status = health.check(request).await.unwrap().into_inner().status;
        assert_eq!(status, ServingStatus::Serving as i32);
        let mut client = pb::route_guide_client::RouteGuideClient::new(channel);
        let feature = client.get_feature(PROBE_POINT).await.unwrap().into_inner();
        assert_eq!(feature.location, Some(PROBE_POINT));
        assert!(!feature.name.is_empty(), "{feature:?}");
    };
    tokio::time::timeout(PATIENCE, check)
        .await
        .expect("the server answers a probe within the patience");
}
