//! `routeguide serve`: load the database, bind, and serve until SIGINT or SIGTERM.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use routeguide::config::{self, MapTiles, RateLimit, ServerConfig, WebConfig};
use routeguide::index::{FeatureIndex, SharedIndex};
use routeguide::metrics::Metrics;
use routeguide::metrics::endpoint::serve_metrics;
use routeguide::notes::{LiveFeed, NoteStoreUrl};
use routeguide::server::ServerParts;
use routeguide::service::RectangleSearch;
use tokio_util::sync::CancellationToken;

use super::UsageError;
use super::reload::Reloadable;
use super::security::ServerSecurityArgs;
use super::values::{
    listen_parts, parse_duration, parse_listen_address, parse_positive, parse_positive_duration,
};

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (`host:port`; `http://` allowed, `https://` with `--tls-cert`);
    /// port 0 picks a free port (logged).
    #[arg(long, env = "ROUTEGUIDE_ADDR", default_value = "127.0.0.1:50051", value_parser = parse_listen_address)]
    pub addr: String,
    /// Feature database in the canonical JSON format (default: the built-in 100 features).
    #[arg(long, env = "ROUTEGUIDE_DB")]
    pub db: Option<PathBuf>,
    /// Where RouteChat notes live: `memory:` (default, lost at exit), a file path such as
    /// `./notes.db` (durable on local disk, created when missing; also `file:PATH`), or
    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE[?schema=NAME&pool_size=N]` (shared by
    /// replicas). An invalid value is a usage error whose message masks the password (clap
    /// would print the value as given).
    #[arg(long, env = "ROUTEGUIDE_NOTES", default_value = "memory:")]
    pub notes: String,
    /// RouteChat live push: a stream also gets new notes that others send where it sent
    /// one, as they arrive (off: exactly the replay).
    #[arg(long, env = "ROUTEGUIDE_CHAT_LIVE")]
    pub chat_live: bool,
    /// Time in-flight calls get to finish after SIGINT/SIGTERM.
    #[arg(long, env = "ROUTEGUIDE_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub grace: Duration,
    /// Longest accepted RouteChat message, in bytes.
    #[arg(long, env = "ROUTEGUIDE_MAX_NOTE_BYTES", default_value_t = config::DEFAULT_MAX_NOTE_BYTES, value_parser = parse_positive::<usize>)]
    pub max_note_bytes: usize,
    /// RouteChat notes kept per location (oldest dropped first).
    #[arg(long, env = "ROUTEGUIDE_NOTES_PER_LOCATION", default_value_t = config::DEFAULT_NOTES_PER_LOCATION, value_parser = parse_positive::<usize>)]
    pub notes_per_location: usize,
    /// RouteChat notes kept in total (oldest dropped first).
    #[arg(long, env = "ROUTEGUIDE_NOTES_TOTAL", default_value_t = config::DEFAULT_NOTES_TOTAL, value_parser = parse_positive::<usize>)]
    pub notes_total: usize,
    /// Concurrent HTTP/2 streams per connection.
    #[arg(long, env = "ROUTEGUIDE_MAX_CONCURRENT_STREAMS", default_value_t = config::DEFAULT_MAX_CONCURRENT_STREAMS, value_parser = parse_positive::<u32>)]
    pub max_concurrent_streams: u32,
    /// Largest accepted request message, in bytes.
    #[arg(long, env = "ROUTEGUIDE_MAX_MESSAGE_BYTES", default_value_t = config::DEFAULT_MAX_MESSAGE_BYTES, value_parser = parse_positive::<usize>)]
    pub max_message_bytes: usize,
    /// Answer ListFeatures by scanning every feature instead of using the index (a
    /// benchmark baseline; results are identical).
    #[arg(long, env = "ROUTEGUIDE_LINEAR_SCAN")]
    pub linear_scan: bool,
    /// Client connections open at once; a further one is closed at once.
    #[arg(long, env = "ROUTEGUIDE_MAX_CONNECTIONS", default_value_t = config::DEFAULT_MAX_CONNECTIONS, value_parser = parse_positive::<usize>)]
    pub max_connections: usize,
    /// Time a new connection has to finish its TLS handshake (with TLS on), then again to
    /// send the HTTP/2 preface and settings, before it is closed.
    #[arg(long, env = "ROUTEGUIDE_HANDSHAKE_TIMEOUT", default_value = "10s", value_parser = parse_positive_duration)]
    pub handshake_timeout: Duration,
    /// Time a call's open request stream may go without a message either way before it
    /// ends with DEADLINE_EXCEEDED.
    #[arg(long, env = "ROUTEGUIDE_STREAM_IDLE_TIMEOUT", default_value = "5m", value_parser = parse_positive_duration)]
    pub stream_idle_timeout: Duration,
    /// Calls per second each client IP address may make (health checks are exempt); a
    /// call over it is answered RESOURCE_EXHAUSTED (default: no limit).
    #[arg(long, env = "ROUTEGUIDE_RATE_LIMIT", value_name = "CALLS_PER_SECOND", value_parser = parse_positive::<u32>)]
    pub rate_limit: Option<u32>,
    /// Calls a client may make at once before --rate-limit paces it (default: the rate).
    #[arg(long, env = "ROUTEGUIDE_RATE_LIMIT_BURST", requires = "rate_limit", value_parser = parse_positive::<u32>)]
    pub rate_limit_burst: Option<u32>,
    /// Serve Prometheus metrics at `http://HOST:PORT/metrics` (default: not served).
    #[arg(long, env = "ROUTEGUIDE_METRICS_ADDR", value_name = "HOST:PORT", value_parser = parse_listen_address)]
    pub metrics_addr: Option<String>,
    /// Log one line per call (peer, method, status code, duration, messages in and out)
    /// at info under the target `routeguide::access`.
    #[arg(long, env = "ROUTEGUIDE_ACCESS_LOG")]
    pub access_log: bool,
    /// How log lines are written to stderr: `text`, or `json` (one object per line).
    #[arg(long, env = "ROUTEGUIDE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub security: ServerSecurityArgs,
    /// Read further settings from this TOML file, whose keys are these flags' names
    /// (`max-message-bytes = 1048576`); flags and `ROUTEGUIDE_*` variables win over it.
    #[arg(long, env = "ROUTEGUIDE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the effective configuration (with where each value came from, secrets
    /// masked) as TOML and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Do not serve server reflection (grpc.reflection.v1 and v1alpha).
    #[arg(long, env = "ROUTEGUIDE_NO_REFLECTION")]
    pub no_reflection: bool,
    /// Lets pages from ORIGIN (`http(s)://HOST[:PORT]`) make gRPC-Web calls (CORS);
    /// repeatable (the variable takes a comma-separated list). None by default: only the
    /// built-in map page can.
    #[arg(
        long = "cors-origin",
        value_name = "ORIGIN",
        env = "ROUTEGUIDE_CORS_ORIGIN",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,
    /// A tile layer under the map page's features, as a URL template such as
    /// `https://tile.openstreetmap.org/{z}/{x}/{y}.png` (off: the bundled land outline only,
    /// and the page asks nothing of any other host).
    #[arg(long, value_name = "URL-TEMPLATE", env = "ROUTEGUIDE_MAP_TILES")]
    pub map_tiles: Option<String>,
    /// The attribution the tiles' licence asks for, shown on the map (plain text).
    #[arg(
        long,
        value_name = "TEXT",
        env = "ROUTEGUIDE_MAP_ATTRIBUTION",
        requires = "map_tiles"
    )]
    pub map_attribution: Option<String>,
}

/// How the process writes its log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, `RUST_LOG`'s usual format.
    Text,
    /// One JSON object per line, the event's fields at its top level.
    Json,
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
            reflection: !self.no_reflection,
            metrics_addr: self.metrics_addr.clone(),
            access_log: self.access_log,
            max_connections: self.max_connections,
            handshake_timeout: self.handshake_timeout,
            stream_idle_timeout: self.stream_idle_timeout,
            rate_limit: self.rate_limit.map(|per_second| RateLimit {
                period: Duration::from_secs(1) / per_second,
                burst: self.rate_limit_burst.unwrap_or(per_second),
            }),
            web: WebConfig {
                cors_origins: self.cors_origins.clone(),
                map_tiles: self.map_tiles.clone().map(|url_template| MapTiles {
                    url_template,
                    attribution: self.map_attribution.clone().unwrap_or_default(),
                }),
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
    let (scheme, addr) = listen_parts(&args.addr);
    let tls = args.security.tls_files().is_some();
    match scheme {
        Some(true) if !tls => {
            return Err(UsageError(format!(
                "invalid value '{}' for '--addr': https:// needs --tls-cert and --tls-key",
                args.addr
            ))
            .into());
        }
        Some(false) if tls => {
            return Err(UsageError(format!(
                "invalid value '{}' for '--addr': --tls-cert serves https://, not http://",
                args.addr
            ))
            .into());
        }
        _ => {}
    }
    let security = args.security.load()?;
    let live = args
        .chat_live
        .then(|| LiveFeed::new(config::DEFAULT_CHAT_LIVE_BUFFER));
    let url = NoteStoreUrl::parse(&args.notes).map_err(|error| UsageError(error.to_string()))?;
    // The database first: a broken file is the commoner mistake, and it stops the server
    // before any store is opened.
    let metrics = Metrics::new();
    let index = SharedIndex::new(Arc::new(load_database(args.db.clone(), &metrics).await?));
    let notes = url.open(config.retention, live).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    // Installed before the server listens, so no SIGHUP finds the default action (exit).
    let reloader = super::reload::spawn_reloader(Reloadable {
        db: args.db.clone(),
        index: index.clone(),
        tls: args.security.tls_files().zip(security.tls.clone()),
        tokens: args
            .security
            .auth_token_file
            .clone()
            .zip(security.tokens.clone()),
        metrics: metrics.clone(),
    })
    .context("cannot listen for SIGHUP")?;
    let metrics_listener = match &config.metrics_addr {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} for metrics"))?;
            let address = listener
                .local_addr()
                .with_context(|| format!("cannot read the address of {addr}"))?;
            // Logged before `listening on`, so whoever waits for that line sees this one.
            tracing::info!(%address, "serving metrics at http://{address}/metrics");
            Some(listener)
        }
        None => None,
    };
    // The endpoint outlives the server's drain, so the last scrapes see it, and stops
    // with it.
    let stop_endpoint = CancellationToken::new();
    let endpoint = metrics_listener.map(|listener| {
        let stopped = stop_endpoint.clone().cancelled_owned();
        tokio::spawn(serve_metrics(listener, metrics.clone(), stopped))
    });
    let parts = ServerParts {
        index,
        notes,
        security,
        metrics,
    };
    let served = routeguide::server::serve(
        listener,
        parts,
        &config,
        routeguide::shutdown::terminate_signal(),
    )
    .await;
    reloader.abort();
    stop_endpoint.cancel();
    if let Some(endpoint) = endpoint {
        let _ = endpoint.await;
    }
    served?;
    Ok(())
}

/// Loads the database off the async threads, logs its size, time and memory, and records
/// its size and time in `metrics`.
pub(super) async fn load_database(
    path: Option<PathBuf>,
    metrics: &Metrics,
) -> anyhow::Result<FeatureIndex> {
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
    let seconds = started.elapsed().as_secs_f64();
    metrics.database_loaded(index.len(), seconds);
    let memory = routeguide::memory::current();
    tracing::info!(
        source,
        features = index.len(),
        seconds,
        index_mib = index.heap_bytes() as f64 / 1048576.0,
        rss_mib = memory.map(|m| m.resident_bytes as f64 / 1048576.0),
        peak_rss_mib = memory.map(|m| m.peak_resident_bytes as f64 / 1048576.0),
        "database loaded"
    );
    Ok(index)
}
