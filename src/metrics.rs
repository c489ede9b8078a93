//! Every Prometheus metric the server exports, declared once here, and their exposition.
//!
//! [`Metrics`] is a cheap handle over one registry; the server's layers and handlers
//! update it, [`endpoint::serve_metrics`] serves it at `/metrics`. Each server owns its
//! registry (no global recorder), so servers in one process, as in the tests, never mix
//! their counts. Names follow Prometheus' conventions: the `routeguide_` prefix, counters end in
//! `_total` (appended by the OpenMetrics encoder), durations in `_seconds`.

pub mod endpoint;
mod labels;

use labels::KNOWN_METHODS;
pub(crate) use labels::MethodId;
pub use labels::{MethodLabels, UNKNOWN, code_name};

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};
use tonic::Code;

/// The prefix of every metric name.
const PREFIX: &str = "routeguide";

/// Upper bounds of the call duration buckets, in seconds: from half a millisecond (a
/// GetFeature on loopback) to ten minutes (a long RouteChat stream).
const DURATION_BUCKETS: [f64; 16] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0, 120.0,
    600.0,
];

/// The labels of `routeguide_calls_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CallLabels {
    service: &'static str,
    method: &'static str,
    /// The gRPC status code's name, e.g. `OK`, `INVALID_ARGUMENT`.
    code: &'static str,
}

/// The build's version, the one label of `routeguide_build_info`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

/// The series of one method, resolved once so a call touches no label map until it ends.
#[derive(Debug)]
pub(crate) struct MethodMetrics {
    pub(crate) labels: MethodLabels,
    pub(crate) in_flight: Gauge,
    pub(crate) duration: Histogram,
    pub(crate) received: Counter,
    pub(crate) sent: Counter,
    /// The method's `calls` series per status code (indexed by the code's number), each
    /// created in the family the first time a call ends with that code.
    calls_by_code: [OnceLock<Counter>; CODES],
}

/// How many gRPC status codes there are (0 `OK` to 16 `UNAUTHENTICATED`).
const CODES: usize = 17;

/// A handle on one server's metrics; clones share them.
#[derive(Clone, Debug)]
pub struct Metrics {
    shared: Arc<Shared>,
}

/// What every [`Metrics`] clone points at; written by the server's layers and handlers,
/// read by the `/metrics` endpoint. Only atomics and the families' own locks: no lock of
/// ours is held while encoding.
#[derive(Debug)]
struct Shared {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    /// One entry per [`KNOWN_METHODS`] entry, in that order.
    known: Vec<MethodMetrics>,
    /// The series of every other path.
    unknown: MethodMetrics,
    notes_stored: Counter,
    features_loaded: Gauge,
    features_load_seconds: Gauge<f64, AtomicU64>,
    connections_open: Gauge,
    connections_rejected: Counter,
    handshake_timeouts: Counter,
    stream_idle_timeouts: Counter,
    rate_limited: Counter,
    reloads: Family<ReloadLabels, Counter>,
}

/// The labels of a reload: what was reloaded and whether it loaded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReloadLabels {
    part: &'static str,
    result: &'static str,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Returns a fresh registry holding every metric, all at zero, and the build info.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix(PREFIX);
        let build = Info::new(BuildLabels {
            version: env!("CARGO_PKG_VERSION"),
        });
        registry.register("build", "The version of the running server", build);

        let calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "calls",
            "Calls ended, by service, method and gRPC status code",
            calls.clone(),
        );
        let duration = Family::<MethodLabels, Histogram>::new_with_constructor(
            duration_histogram as fn() -> Histogram,
        );
        registry.register_with_unit(
            "call_duration",
            "Time from a call's request headers to its status, by service and method",
            Unit::Seconds,
            duration.clone(),
        );
        let in_flight = Family::<MethodLabels, Gauge>::default();
        registry.register(
            "calls_in_flight",
            "Calls started and not yet ended, by service and method",
            in_flight.clone(),
        );
        let received = Family::<MethodLabels, Counter>::default();
        registry.register(
            "messages_received",
            "Request messages received in full, by service and method",
            received.clone(),
        );
        let sent = Family::<MethodLabels, Counter>::default();
        registry.register(
            "messages_sent",
            "Response messages sent, by service and method",
            sent.clone(),
        );
        let method_metrics = |labels: MethodLabels| MethodMetrics {
            labels,
            in_flight: in_flight.get_or_create_owned(&labels),
            duration: duration.get_or_create_owned(&labels),
            received: received.get_or_create_owned(&labels),
            sent: sent.get_or_create_owned(&labels),
            calls_by_code: Default::default(),
        };
        let known = KNOWN_METHODS
            .iter()
            .map(|&(_, service, method)| method_metrics(MethodLabels { service, method }))
            .collect();
        let unknown = method_metrics(MethodLabels {
            service: UNKNOWN,
            method: UNKNOWN,
        });

        let mut counter = |name: &str, help: &str| {
            let counter = Counter::default();
            registry.register(name, help, counter.clone());
            counter
        };
        let notes_stored = counter("notes_stored", "RouteChat notes stored");
        let connections_rejected = counter(
            "connections_rejected",
            "Connections closed at once because --max-connections were open",
        );
        let handshake_timeouts = counter(
            "handshake_timeouts",
            "Connections closed for not finishing the HTTP/2 handshake in time",
        );
        let rate_limited = counter(
            "rate_limited",
            "Calls answered RESOURCE_EXHAUSTED by the per-client rate limit",
        );
        let stream_idle_timeouts = counter(
            "stream_idle_timeouts",
            "Calls ended DEADLINE_EXCEEDED after --stream-idle-timeout without traffic",
        );

        let reloads = Family::<ReloadLabels, Counter>::default();
        registry.register(
            "reloads",
            "Reloads on SIGHUP, by part (database, tokens, tls) and result (ok, failed)",
            reloads.clone(),
        );

        let features_loaded = Gauge::default();
        registry.register(
            "features_loaded",
            "Features in the served database",
            features_loaded.clone(),
        );
        let features_load_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register_with_unit(
            "features_load",
            "Time the served database took to load",
            Unit::Seconds,
            features_load_seconds.clone(),
        );
        let connections_open = Gauge::default();
        registry.register(
            "connections_open",
            "Client connections open",
            connections_open.clone(),
        );

        Self {
            shared: Arc::new(Shared {
                registry,
                calls,
                known,
                unknown,
                notes_stored,
                features_loaded,
                features_load_seconds,
                connections_open,
                connections_rejected,
                handshake_timeouts,
                stream_idle_timeouts,
                rate_limited,
                reloads,
            }),
        }
    }

    /// Counts one reload of `part` (`database`, `tokens` or `tls`) that succeeded or not.
    pub fn reloaded(&self, part: &'static str, succeeded: bool) {
        let result = if succeeded { "ok" } else { "failed" };
        let labels = ReloadLabels { part, result };
        self.shared.reloads.get_or_create(&labels).inc();
    }

    /// Records that the served database holds `features` and took `seconds` to load.
    pub fn database_loaded(&self, features: usize, seconds: f64) {
        let features = i64::try_from(features).unwrap_or(i64::MAX);
        self.shared.features_loaded.set(features);
        self.shared.features_load_seconds.set(seconds);
    }

    /// Returns every metric in the OpenMetrics text format, ending with `# EOF`.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a `String` cannot fail; the encoder only passes on `fmt::Error`s.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.shared.registry);
        text
    }

    /// Returns the series of the method `id` names.
    pub(crate) fn method(&self, id: MethodId) -> &MethodMetrics {
        self.shared
            .known
            .get(id.index())
            .unwrap_or(&self.shared.unknown)
    }

    /// Counts one call of `method` that ended with `code`.
    pub(crate) fn call_ended(&self, method: MethodId, code: Code) {
        let series = self.method(method);
        let count = |code: Code| {
            let labels = CallLabels {
                service: series.labels.service,
                method: series.labels.method,
                code: code_name(code),
            };
            self.shared.calls.get_or_create_owned(&labels)
        };
        match series.calls_by_code.get(code as usize) {
            Some(slot) => slot.get_or_init(|| count(code)).inc(),
            None => count(code).inc(),
        };
    }

    /// Counts a RouteChat note stored.
    pub(crate) fn note_stored(&self) {
        self.shared.notes_stored.inc();
    }

    /// Returns the gauge of open connections.
    pub(crate) fn connections_open(&self) -> &Gauge {
        &self.shared.connections_open
    }

    /// Counts a connection refused by the connection limit.
    pub(crate) fn connection_rejected(&self) {
        self.shared.connections_rejected.inc();
    }

    /// Counts a connection closed by the handshake timeout.
    pub(crate) fn handshake_timed_out(&self) {
        self.shared.handshake_timeouts.inc();
    }

    /// Counts a call refused by the rate limit.
    pub(crate) fn call_rate_limited(&self) {
        self.shared.rate_limited.inc();
    }

    /// Counts a call ended by the stream idle timeout.
    pub(crate) fn stream_idle_timed_out(&self) {
        self.shared.stream_idle_timeouts.inc();
    }
}

/// Returns an empty call duration histogram.
fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

#[cfg(test)]
mod tests;
