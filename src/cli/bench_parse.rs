//! `routeguide bench-parse FILE` (hidden): time a bare serde_json parse against a full load.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

/// Arguments of `bench-parse`.
#[derive(Debug, Args)]
pub struct BenchParseArgs {
    /// The database file.
    pub file: PathBuf,
    /// Also load the file into an index after the bare parse and report the ratio.
    #[arg(long)]
    pub load: bool,
}

/// Parses the file with derived serde types and no index (the baseline start-up time is
/// compared with), optionally loads it for real, and logs times and memory.
pub async fn run(args: BenchParseArgs) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || measure(&args)).await?
}

fn measure(args: &BenchParseArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let bare = routeguide::db::bare_parse_file(&args.file)?;
    let bare_seconds = started.elapsed().as_secs_f64();
    let memory = routeguide::memory::current();
    tracing::info!(
        features = bare.features,
        name_bytes = bare.name_bytes,
        checksum = bare.coordinate_sum,
        seconds = bare_seconds,
        peak_rss_mib = memory.map(|m| m.peak_resident_bytes as f64 / 1048576.0),
        "bare parse done"
    );
    if args.load {
        let started = Instant::now();
        let index = routeguide::db::load_file(&args.file)?;
        let load_seconds = started.elapsed().as_secs_f64();
        let memory = routeguide::memory::current();
        tracing::info!(
            features = index.len(),
            seconds = load_seconds,
            ratio_to_bare = load_seconds / bare_seconds,
            index_mib = index.heap_bytes() as f64 / 1048576.0,
            rss_mib = memory.map(|m| m.resident_bytes as f64 / 1048576.0),
            peak_rss_mib = memory.map(|m| m.peak_resident_bytes as f64 / 1048576.0),
            "load done"
        );
    }
    Ok(())
}
