//! `routeguide gen`: write a deterministic synthetic database with a progress bar.
//!
//! A file is written under a temporary name in the same directory and renamed at the end,
//! so a failed or interrupted run leaves no empty or partial database behind.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// Writes the database and prints a one-line summary to stderr; on Ctrl-C, stops and
/// removes what it wrote.
pub async fn run(args: GenArgs) -> anyhow::Result<()> {
    let spec = SyntheticSpec {
        count: args.n,
        seed: args.seed,
        bbox: args.bbox.unwrap_or_else(default_bbox),
        duplicates: args.duplicates,
    };
    let out = args.out.clone();
    let interrupted = Arc::new(AtomicBool::new(false));
    let stop = Arc::clone(&interrupted);
    let mut generator = tokio::task::spawn_blocking(move || generate(&spec, &out, &stop));
    let result = tokio::select! {
        result = &mut generator => result,
        Ok(()) = tokio::signal::ctrl_c() => {
            // The generator's next write fails, which removes its temporary file.
            interrupted.store(true, Ordering::Relaxed);
            generator.await
        }
    };
    let written = result.context("generator panicked")?;
    if interrupted.load(Ordering::Relaxed) {
        anyhow::bail!("interrupted; {} was not written", args.out.display());
    }
    written
}

fn generate(spec: &SyntheticSpec, out: &Path, interrupted: &AtomicBool) -> anyhow::Result<()> {
    let started = Instant::now();
    let bar = progress_bar(spec.count);
    let on_progress = |done| bar.set_position(done);
    let summary = if out.as_os_str() == "-" {
        let stdout = Interruptible::new(std::io::stdout().lock(), interrupted);
        write_database(spec, BufWriter::with_capacity(1 << 20, stdout), on_progress)
            .context("stdout")?
    } else {
        if out.is_dir() {
            anyhow::bail!("{}: is a directory; give --out a file name", out.display());
        }
        let temporary = TemporaryFile::create(out)?;
        let file = Interruptible::new(&temporary.file, interrupted);
        let summary = write_database(spec, BufWriter::with_capacity(1 << 20, file), on_progress)
            .with_context(|| out.display().to_string())?;
        temporary.persist()?;
        summary
    };
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

/// A file being written as `.NAME.PID.tmp` next to its final path; removed when dropped
/// unless [`TemporaryFile::persist`] renamed it into place.
struct TemporaryFile {
    file: File,
    path: PathBuf,
    target: PathBuf,
    persisted: bool,
}

impl TemporaryFile {
    fn create(target: &Path) -> anyhow::Result<Self> {
        let name = target
            .file_name()
            .with_context(|| format!("{}: not a file name", target.display()))?;
        let mut temporary_name = std::ffi::OsString::from(".");
        temporary_name.push(name);
        temporary_name.push(format!(".{}.tmp", std::process::id()));
        let path = target.with_file_name(temporary_name);
        let file =
            File::create(&path).with_context(|| format!("{}: cannot create", target.display()))?;
        Ok(Self {
            file,
            path,
            target: target.to_owned(),
            persisted: false,
        })
    }

    fn persist(mut self) -> anyhow::Result<()> {
        std::fs::rename(&self.path, &self.target)
            .with_context(|| format!("{}: cannot rename into place", self.target.display()))?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for TemporaryFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A writer that fails once `interrupted` is set, so a long write stops at the next buffer.
struct Interruptible<'a, W> {
    inner: W,
    interrupted: &'a AtomicBool,
}

impl<'a, W: Write> Interruptible<'a, W> {
    fn new(inner: W, interrupted: &'a AtomicBool) -> Self {
        Self { inner, interrupted }
    }

    fn check(&self) -> std::io::Result<()> {
        if self.interrupted.load(Ordering::Relaxed) {
            // Not `ErrorKind::Interrupted`, which `write_all` retries forever.
            return Err(std::io::Error::other("interrupted"));
        }
        Ok(())
    }
}

impl<W: Write> Write for Interruptible<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.check()?;
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.check()?;
        self.inner.flush()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_no_file_and_a_finished_one_is_renamed_into_place() {
        let dir = std::env::temp_dir().join(format!("routeguide-gen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("db.json");
        let _ = std::fs::remove_file(&target);
        let spec = SyntheticSpec {
            count: 10,
            seed: 1,
            bbox: default_bbox(),
            duplicates: 0.0,
        };
        let interrupted = AtomicBool::new(true);
        let error = generate(&spec, &target, &interrupted).unwrap_err();
        assert!(format!("{error:#}").contains("interrupted"), "{error:#}");
        let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");

        generate(&spec, &target, &AtomicBool::new(false)).unwrap();
        let written = std::fs::read_to_string(&target).unwrap();
        assert_eq!(written.matches("\"location\"").count(), 10);
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, ["db.json"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
