//! `routeguide serve`: load the database, bind, and serve until SIGINT or SIGTERM.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use routeguide::config::{self, ServerConfig};
use routeguide::index::FeatureIndex;
use routeguide::notes::NoteStoreUrl;
use routeguide::service::RectangleSearch;

use super::parse_duration;

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (logged).
    #[arg(long, env = "ROUTEGUIDE_ADDR", default_value = "127.0.0.1:50051")]
    pub addr: String,
    /// Feature database in the canonical JSON format (default: the built-in 100 features).
    #[arg(long, env = "ROUTEGUIDE_DB")]
    pub db: Option<PathBuf>,
    /// Where RouteChat notes live: `memory:` (default, lost at exit) or a file path such as
    /// `./notes.db` (durable, created when missing).
    #[arg(long, env = "ROUTEGUIDE_NOTES", default_value = "memory:", value_parser = NoteStoreUrl::parse)]
    pub notes: NoteStoreUrl,
    /// Time in-flight calls get to finish after SIGINT/SIGTERM.
    #[arg(long, env = "ROUTEGUIDE_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub grace: Duration,
    /// Longest accepted RouteChat message, in bytes.
    #[arg(long, env = "ROUTEGUIDE_MAX_NOTE_BYTES", default_value_t = config::DEFAULT_MAX_NOTE_BYTES)]
    pub max_note_bytes: usize,
    /// RouteChat notes kept per location (oldest dropped first).
    #[arg(long, env = "ROUTEGUIDE_NOTES_PER_LOCATION", default_value_t = config::DEFAULT_NOTES_PER_LOCATION)]
    pub notes_per_location: usize,
    /// RouteChat notes kept in total (oldest dropped first).
    #[arg(long, env = "ROUTEGUIDE_NOTES_TOTAL", default_value_t = config::DEFAULT_NOTES_TOTAL)]
    pub notes_total: usize,
    /// Concurrent HTTP/2 streams per connection.
    #[arg(long, env = "ROUTEGUIDE_MAX_CONCURRENT_STREAMS", default_value_t = config::DEFAULT_MAX_CONCURRENT_STREAMS)]
    pub max_concurrent_streams: u32,
    /// Largest accepted request message, in bytes.
    #[arg(long, env = "ROUTEGUIDE_MAX_MESSAGE_BYTES", default_value_t = config::DEFAULT_MAX_MESSAGE_BYTES)]
    pub max_message_bytes: usize,
    /// Answer ListFeatures by scanning every feature instead of using the index (a
    /// benchmark baseline; results are identical).
    #[arg(long, env = "ROUTEGUIDE_LINEAR_SCAN")]
    pub linear_scan: bool,
}

impl ServeArgs {
    fn config(&self) -> anyhow::Result<ServerConfig> {
        let mut config = ServerConfig {
            grace: self.grace,
            max_concurrent_streams: self.max_concurrent_streams,
            max_message_bytes: self.max_message_bytes,
            rectangle_search: if self.linear_scan {
                RectangleSearch::LinearScan
            } else {
                RectangleSearch::Index
            },
            ..ServerConfig::default()
        };
        config.requests.max_note_bytes = self.max_note_bytes;
        config.retention.max_per_location = self.notes_per_location;
        config.retention.max_total = self.notes_total;
        config.validate()?;
        Ok(config)
    }
}

/// Runs the server until a shutdown signal, then drains and returns.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    let notes = routeguide::notes::open(&args.notes, config.retention).await?;
    let index = Arc::new(load_database(args.db.clone()).await?);
    let addr = args.addr.strip_prefix("http://").unwrap_or(&args.addr);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    routeguide::server::serve(
        listener,
        index,
        notes,
        &config,
        routeguide::shutdown::terminate_signal(),
    )
    .await?;
    Ok(())
}

/// Loads the database off the async threads and logs its size, time and memory.
async fn load_database(path: Option<PathBuf>) -> anyhow::Result<FeatureIndex> {
    let started = Instant::now();
    let source = path
        .as_ref()
        .map_or_else(|| "built-in".to_owned(), |p| p.display().to_string());
    let index = tokio::task::spawn_blocking(move || match path {
        Some(path) => routeguide::db::load_file(&path),
        None => Ok(routeguide::db::builtin()),
    })
    .await
    .context("database loader panicked")??;
    let memory = routeguide::memory::current();
    tracing::info!(
        source,
        features = index.len(),
        seconds = started.elapsed().as_secs_f64(),
        index_mib = index.heap_bytes() as f64 / 1048576.0,
        rss_mib = memory.map(|m| m.resident_bytes as f64 / 1048576.0),
        peak_rss_mib = memory.map(|m| m.peak_resident_bytes as f64 / 1048576.0),
        "database loaded"
    );
    Ok(index)
}
