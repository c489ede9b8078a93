//! `routeguide bench`: closed-loop load against any RouteGuide server, with a progress bar.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use routeguide::loadgen::{self, BenchReport, LoadConfig, RectShape, Rpc, Workload};

use super::record::load_index;
use super::security::ClientSecurityArgs;
use super::values::{
    parse_duration, parse_positive, parse_positive_duration, parse_positive_size,
    parse_server_address,
};
use super::{EXIT_RPC_ERROR, EXIT_UNAVAILABLE, ExitError};

/// The RPC to drive, as spelled on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RpcArg {
    /// Unary GetFeature at real feature locations.
    GetFeature,
    /// ListFeatures over squares of `--rect-size` degrees around real features.
    ListFeatures,
    /// RecordRoute with `--points` real locations per call.
    RecordRoute,
    /// RouteChat streams of `--points` notes at real locations (or `--locations N`).
    RouteChat,
}

/// Arguments of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Server address: `host:port` (plain text, or TLS when a TLS flag is given),
    /// `http://host:port` or `https://host:port`.
    #[arg(
        long,
        env = "ROUTEGUIDE_ADDR",
        default_value = "127.0.0.1:50051",
        value_parser = parse_server_address
    )]
    pub addr: String,
    #[command(flatten)]
    pub security: ClientSecurityArgs,
    /// The RPC to drive.
    #[arg(
        env = "ROUTEGUIDE_RPC",
        long,
        value_enum,
        default_value = "get-feature"
    )]
    pub rpc: RpcArg,
    /// Calls in flight at once.
    #[arg(long, env = "ROUTEGUIDE_CONCURRENCY", default_value_t = 32, value_parser = parse_positive::<usize>)]
    pub concurrency: usize,
    /// Separate HTTP/2 connections the calls are spread over.
    #[arg(long, env = "ROUTEGUIDE_CONNECTIONS", default_value_t = 2, value_parser = parse_positive::<usize>)]
    pub connections: usize,
    /// Concurrent streams for the streaming RPCs; overrides `--concurrency` when given.
    #[arg(long, env = "ROUTEGUIDE_STREAMS", value_parser = parse_positive::<usize>)]
    pub streams: Option<usize>,
    /// Length of the measured window, e.g. `10s`.
    #[arg(long, env = "ROUTEGUIDE_DURATION", default_value = "10s", value_parser = parse_positive_duration)]
    pub duration: Duration,
    /// Time before measuring whose calls are not recorded.
    #[arg(long, env = "ROUTEGUIDE_WARMUP", default_value = "2s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Database to pick real feature locations from (default: the built-in one).
    #[arg(long, env = "ROUTEGUIDE_DB")]
    pub db: Option<PathBuf>,
    /// Side of the ListFeatures square in degrees.
    #[arg(long, env = "ROUTEGUIDE_RECT_SIZE", default_value_t = 0.01, value_parser = parse_positive_size)]
    pub rect_size: f64,
    /// ListFeatures over the whole world (every feature) instead of squares.
    #[arg(long, env = "ROUTEGUIDE_WHOLE_WORLD")]
    pub whole_world: bool,
    /// Points per RecordRoute call, notes per RouteChat call.
    #[arg(long, env = "ROUTEGUIDE_POINTS", default_value_t = 100, value_parser = parse_positive::<usize>)]
    pub points: usize,
    /// Draw points and notes from this many distinct locations on a grid instead of the
    /// database's feature locations (e.g. RouteChat over many locations).
    #[arg(long, env = "ROUTEGUIDE_LOCATIONS", value_parser = clap::value_parser!(u32).range(1..))]
    pub locations: Option<u32>,
    /// Deadline of each call.
    #[arg(long, env = "ROUTEGUIDE_TIMEOUT", default_value = "60s", value_parser = parse_positive_duration)]
    pub timeout: Duration,
    /// Seed of the random choices.
    #[arg(long, env = "ROUTEGUIDE_SEED", default_value_t = 1)]
    pub seed: u64,
    /// The server's pid, to report its CPU use next to the generator's.
    #[arg(long, env = "ROUTEGUIDE_SERVER_PID")]
    pub server_pid: Option<u32>,
    /// Print the report as one JSON object.
    #[arg(long, env = "ROUTEGUIDE_JSON")]
    pub json: bool,
}

/// How many feature locations the workers pick from.
const SAMPLE_POINTS: usize = 1 << 16;

/// Runs the benchmark and prints its report; fails (after the report) when calls were made
/// and every one failed.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let rpc = match args.rpc {
        RpcArg::GetFeature => Rpc::GetFeature,
        RpcArg::ListFeatures => Rpc::ListFeatures,
        RpcArg::RecordRoute => Rpc::RecordRoute,
        RpcArg::RouteChat => Rpc::RouteChat,
    };
    let rect = if args.whole_world {
        RectShape::World
    } else {
        RectShape::Square(args.rect_size)
    };
    let (address, tls) = args.security.target(&args.addr)?;
    let db = args.db.clone();
    let index = tokio::task::spawn_blocking(move || load_index(db.as_deref())).await??;
    let workload = Workload::new(
        rpc,
        &index,
        SAMPLE_POINTS,
        args.seed,
        rect,
        args.points,
        args.timeout,
    );
    drop(index);
    let workload = match args.locations {
        Some(locations) => workload.with_locations(locations as usize),
        None => workload,
    };
    let streaming = matches!(rpc, Rpc::ListFeatures | Rpc::RecordRoute | Rpc::RouteChat);
    let concurrency = match args.streams {
        Some(streams) if streaming => streams,
        _ => args.concurrency,
    };
    let config = LoadConfig {
        address,
        concurrency,
        connections: args.connections,
        duration: args.duration,
        warmup: args.warmup,
        seed: args.seed,
        server_pid: args.server_pid,
        tls,
        token: args.security.token.clone(),
    };
    let progress = Arc::new(AtomicU64::new(0));
    let ticker = spawn_progress(Arc::clone(&progress), args.warmup + args.duration);
    let report = loadgen::run(&config, Arc::new(workload), progress).await;
    ticker.abort();
    let report = report?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_report(&report);
    }
    every_call_failed(&report.throughput.errors, report.throughput.calls).map_or(Ok(()), Err)
}

/// Returns the failure to exit with when no call succeeded but some failed: exit code 3 when
/// every failure was `UNAVAILABLE` (the server went away), 4 otherwise.
fn every_call_failed(
    errors: &std::collections::BTreeMap<String, u64>,
    calls: u64,
) -> Option<anyhow::Error> {
    if calls > 0 || errors.is_empty() {
        return None;
    }
    let unavailable = format!("{:?}", tonic::Code::Unavailable);
    let code = if errors.keys().all(|code| *code == unavailable) {
        EXIT_UNAVAILABLE
    } else {
        EXIT_RPC_ERROR
    };
    let counts: Vec<String> = errors.iter().map(|(c, n)| format!("{c} {n}")).collect();
    Some(
        ExitError {
            code,
            message: format!("every call failed ({})", counts.join(", ")),
        }
        .into(),
    )
}

/// Draws a progress bar on a terminal (nothing otherwise) until aborted.
fn spawn_progress(calls: Arc<AtomicU64>, total: Duration) -> tokio::task::JoinHandle<()> {
    let bar =
        ProgressBar::with_draw_target(Some(total.as_millis() as u64), ProgressDrawTarget::stderr());
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed}] {wide_bar} {msg}") {
        bar.set_style(style);
    }
    tokio::spawn(async move {
        let started = Instant::now();
        let mut last = (Instant::now(), 0u64);
        let mut interval = tokio::time::interval(Duration::from_millis(250));
        loop {
            interval.tick().await;
            let now = Instant::now();
            let done = calls.load(Ordering::Relaxed);
            let rate = (done - last.1) as f64 / (now - last.0).as_secs_f64().max(1e-9);
            last = (now, done);
            bar.set_position(started.elapsed().as_millis() as u64);
            bar.set_message(format!("{done} calls, {rate:.0}/s"));
            if started.elapsed() >= total {
                bar.finish_and_clear();
            }
        }
    })
}

fn print_report(report: &BenchReport) {
    let t = &report.throughput;
    let l = &t.latency_ms;
    println!(
        "{:?} against {}: {} in flight over {} connection(s), {:.1}s measured after {:.1}s warm-up",
        report.rpc,
        report.address,
        report.concurrency,
        report.connections,
        t.seconds,
        report.warmup_seconds
    );
    println!(
        "calls:     {} ok, {:.0} calls/s",
        t.calls, t.calls_per_second
    );
    println!(
        "messages:  {:.0} sent/s, {:.0} received/s",
        t.sent_per_second, t.received_per_second
    );
    println!(
        "latency:   p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms",
        l.p50, l.p90, l.p99, l.p999, l.max
    );
    if t.errors.is_empty() {
        println!("errors:    none");
    } else {
        let errors: Vec<String> = t.errors.iter().map(|(c, n)| format!("{c} {n}")).collect();
        println!("errors:    {}", errors.join(", "));
    }
    for (who, cpu) in [
        ("bench cpu", report.bench_cpu),
        ("server cpu", report.server_cpu),
    ] {
        if let Some(cpu) = cpu {
            println!(
                "{who}:{:width$}{:.2} cores ({:.1} µs per call)",
                "",
                cpu.cores,
                cpu.micros_per_call,
                width = 11 - who.len()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn exit_code(errors: &[(&str, u64)], calls: u64) -> Option<u8> {
        let errors: BTreeMap<String, u64> =
            errors.iter().map(|&(c, n)| (c.to_owned(), n)).collect();
        every_call_failed(&errors, calls).map(|e| super::super::exit_code(&e))
    }

    #[test]
    fn a_run_without_a_successful_call_fails_by_its_errors() {
        assert_eq!(exit_code(&[], 0), None, "no call at all is not a failure");
        assert_eq!(exit_code(&[("Unavailable", 3)], 1), None);
        assert_eq!(exit_code(&[("Unavailable", 3)], 0), Some(EXIT_UNAVAILABLE));
        assert_eq!(
            exit_code(&[("Unavailable", 3), ("DeadlineExceeded", 1)], 0),
            Some(EXIT_RPC_ERROR)
        );
        assert_eq!(
            exit_code(&[("InvalidArgument", 9)], 0),
            Some(EXIT_RPC_ERROR)
        );
    }
}
