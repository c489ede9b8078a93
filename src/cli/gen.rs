//! `routeguide gen`: write a deterministic synthetic database with a progress bar.

use std::fs::File;
use std::io::{BufWriter, IsTerminal};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use routeguide::geo::GeoRect;
use routeguide::synthetic::{SyntheticSpec, default_bbox, write_database};

use super::coords::parse_bbox;
use super::values::parse_fraction;

/// Arguments of `gen`.
#[derive(Debug, Args)]
pub struct GenArgs {
    /// Number of features.
    #[arg(long, env = "ROUTEGUIDE_GEN_N")]
    pub n: u64,
    /// Seed: the same seed and options always write the same file.
    #[arg(long, env = "ROUTEGUIDE_SEED", default_value_t = 1)]
    pub seed: u64,
    /// Output file (`-` for stdout).
    #[arg(long, env = "ROUTEGUIDE_GEN_OUT")]
    pub out: PathBuf,
    /// Bounding box `LAT_LO,LON_LO,LAT_HI,LON_HI` in degrees, or E7 integers when all four
    /// are integers and one exceeds 180 (default 40.0,-74.61,41.22,-73.39: 1.49 square
    /// degrees, ~67 features per 0.01° square at 1M).
    #[arg(long, env = "ROUTEGUIDE_GEN_BBOX", value_parser = parse_bbox_arg, allow_hyphen_values = true)]
    pub bbox: Option<GeoRect>,
    /// Fraction of features (0 to 1) that reuse a recent feature's location.
    #[arg(long, env = "ROUTEGUIDE_GEN_DUPLICATES", default_value_t = 0.0, value_parser = parse_fraction)]
    pub duplicates: f64,
}

fn parse_bbox_arg(text: &str) -> Result<GeoRect, String> {
    parse_bbox(text).map(|(lo, hi)| GeoRect::from_corners(lo, hi))
}

/// Writes the database and prints a one-line summary to stderr.
pub async fn run(args: GenArgs) -> anyhow::Result<()> {
    let spec = SyntheticSpec {
        count: args.n,
        seed: args.seed,
        bbox: args.bbox.unwrap_or_else(default_bbox),
        duplicates: args.duplicates,
    };
    let out = args.out.clone();
    tokio::task::spawn_blocking(move || generate(&spec, &out))
        .await
        .context("generator panicked")?
}

fn generate(spec: &SyntheticSpec, out: &std::path::Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let bar = progress_bar(spec.count);
    let writer: Box<dyn std::io::Write> = if out.as_os_str() == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        let file =
            File::create(out).with_context(|| format!("{}: cannot create", out.display()))?;
        Box::new(file)
    };
    let writer = BufWriter::with_capacity(1 << 20, writer);
    let summary = write_database(spec, writer, |done| bar.set_position(done))
        .with_context(|| format!("{}: cannot write", out.display()))?;
    bar.finish_and_clear();
    let named = summary.features - summary.unnamed;
    tracing::info!(
        file = %out.display(),
        features = summary.features,
        unnamed = summary.unnamed,
        duplicates = summary.duplicates,
        average_name_bytes = summary.name_bytes as f64 / named.max(1) as f64,
        seconds = started.elapsed().as_secs_f64(),
        "database written"
    );
    Ok(())
}

/// Returns a progress bar on stderr, hidden when stderr is not a terminal.
fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} features ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar
}
