//! Per-worker call statistics (latency histogram, items, errors) and the merged report.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency the histogram tracks exactly; slower calls are clamped to it.
const MAX_TRACKED_MICROS: u64 = 3_600_000_000;

/// Messages moved in the measured window, counted as they moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Messages {
    /// Messages the client sent (1 per unary or server-streaming call).
    pub sent: u64,
    /// Messages the client received.
    pub received: u64,
}

/// Statistics one worker gathers without sharing anything; merge them at the end.
#[derive(Debug, Clone)]
pub struct Recorder {
    latency_micros: Histogram<u64>,
    calls: u64,
    errors: BTreeMap<String, u64>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// Returns an empty recorder (latencies from 1 µs to an hour, 3 significant digits).
    pub fn new() -> Self {
        let latency_micros = Histogram::new_with_bounds(1, MAX_TRACKED_MICROS, 3)
            // Constant bounds that hdrhistogram accepts: low >= 1, high >= 2 * low, 3 digits.
            .expect("histogram bounds are valid");
        Self {
            latency_micros,
            calls: 0,
            errors: BTreeMap::new(),
        }
    }

    /// Records a successful call that took `latency`.
    pub fn success(&mut self, latency: Duration) {
        let micros = (latency.as_micros() as u64).clamp(1, MAX_TRACKED_MICROS);
        self.latency_micros.saturating_record(micros);
        self.calls += 1;
    }

    /// Records a failed call by its status code name (e.g. `Unavailable`).
    pub fn failure(&mut self, code: tonic::Code) {
        *self.errors.entry(format!("{code:?}")).or_insert(0) += 1;
    }

    /// Adds everything `other` recorded.
    pub fn merge(&mut self, other: &Recorder) {
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency_micros.add(&other.latency_micros);
        self.calls += other.calls;
        for (code, count) in &other.errors {
            *self.errors.entry(code.clone()).or_insert(0) += count;
        }
    }

    /// Returns the statistics over a measured window of `elapsed` in which `messages` moved.
    pub fn summary(&self, elapsed: Duration, messages: Messages) -> Throughput {
        let seconds = elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
        let h = &self.latency_micros;
        let ms = |micros: u64| micros as f64 / 1000.0;
        Throughput {
            seconds: elapsed.as_secs_f64(),
            calls: self.calls,
            calls_per_second: self.calls as f64 / seconds,
            sent: messages.sent,
            sent_per_second: messages.sent as f64 / seconds,
            received: messages.received,
            received_per_second: messages.received as f64 / seconds,
            errors: self.errors.clone(),
            latency_ms: Latency {
                mean: h.mean() / 1000.0,
                p50: ms(h.value_at_quantile(0.50)),
                p90: ms(h.value_at_quantile(0.90)),
                p99: ms(h.value_at_quantile(0.99)),
                p999: ms(h.value_at_quantile(0.999)),
                max: ms(h.max()),
            },
        }
    }
}

/// Latency percentiles of successful calls, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Slowest call.
    pub max: f64,
}

/// Rates and latencies over the measured window (warm-up excluded).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Throughput {
    /// Length of the measured window in seconds.
    pub seconds: f64,
    /// Successful calls that started and ended inside the window.
    pub calls: u64,
    /// Successful calls per second.
    pub calls_per_second: f64,
    /// Messages sent by the client.
    pub sent: u64,
    /// Messages sent per second.
    pub sent_per_second: f64,
    /// Messages received by the client.
    pub received: u64,
    /// Messages received per second.
    pub received_per_second: f64,
    /// Failed calls by status code name.
    pub errors: BTreeMap<String, u64>,
    /// Latency of successful calls.
    pub latency_ms: Latency,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_and_summarises() {
        let mut a = Recorder::new();
        let mut b = Recorder::new();
        for ms in 1..=100 {
            a.success(Duration::from_millis(ms));
        }
        b.failure(tonic::Code::Unavailable);
        b.failure(tonic::Code::Unavailable);
        a.merge(&b);
        let messages = Messages {
            sent: 100,
            received: 200,
        };
        let summary = a.summary(Duration::from_secs(2), messages);
        assert_eq!(summary.calls, 100);
        assert_eq!(summary.received, 200);
        assert_eq!(summary.calls_per_second, 50.0);
        assert_eq!(summary.errors.get("Unavailable"), Some(&2));
        assert!((summary.latency_ms.p50 - 50.0).abs() < 0.1);
        assert!((summary.latency_ms.max - 100.0).abs() < 0.1);
    }
}
