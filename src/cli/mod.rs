//! The `routeguide` command line: flags, subcommand dispatch and exit codes.

mod bench;
mod bench_parse;
mod chat;
mod config_file;
mod coords;
mod demo;
mod r#gen;
mod get;
mod list;
mod output;
mod record;
mod reload;
mod security;
mod serve;
mod values;

use std::fmt;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use routeguide::client::{ClientError, ConnectOptions, RouteGuideClient};
use routeguide::config::ConfigError;
use routeguide::geo::GeoPoint;
use routeguide::loadgen::LoadgenError;
use routeguide::tls::TlsError;

pub use config_file::parse_command_line;
use coords::{PointText, Units};
use output::Printer;
use security::ClientSecurityArgs;
use values::{parse_positive_duration, parse_server_address};

pub use serve::LogFormat;

/// Exit code for every other failure (unreadable files, broken databases, bad route lines).
pub const EXIT_FAILURE: u8 = 1;
/// Exit code for a bad command line (clap exits with it too).
pub const EXIT_USAGE: u8 = 2;
/// Exit code when the server cannot be reached or answered `UNAVAILABLE`.
pub const EXIT_UNAVAILABLE: u8 = 3;
/// Exit code when a call failed with another status (`DEADLINE_EXCEEDED`, ...).
pub const EXIT_RPC_ERROR: u8 = 4;

/// A bad command line found after clap parsed it, such as a `LAT,LON` argument out of range
/// under the `--e7` choice; it exits with [`EXIT_USAGE`].
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A failure whose exit code was decided where it happened (e.g. every bench call failed).
#[derive(Debug)]
pub struct ExitError {
    /// The exit code.
    pub code: u8,
    /// What to print after `routeguide: error: `.
    pub message: String,
}

impl fmt::Display for ExitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExitError {}

/// RouteGuide gRPC server and client.
#[derive(Debug, Parser)]
#[command(name = "routeguide", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    #[command(args_override_self = true)]
    Serve(serve::ServeArgs),
    /// GetFeature: print the feature at LAT,LON.
    Get(get::GetArgs),
    /// ListFeatures: print every feature in the rectangle LO..HI.
    List(list::ListArgs),
    /// RecordRoute: send a route and print its summary.
    Record(record::RecordArgs),
    /// RouteChat: send notes read from stdin ("LAT,LON message"), print replies.
    Chat(chat::ChatArgs),
    /// Walk through the gRPC tutorial's client calls against a server.
    Demo(demo::DemoArgs),
    /// Load generator: closed-loop calls with latency percentiles and rates.
    Bench(bench::BenchArgs),
    /// Write a deterministic synthetic database in the canonical JSON format.
    Gen(r#gen::GenArgs),
    /// Time a bare serde_json parse of a database file (and optionally a full load).
    #[command(hide = true)]
    BenchParse(bench_parse::BenchParseArgs),
}

impl Command {
    /// Returns how this subcommand writes its logs (only `serve` has a choice).
    pub fn log_format(&self) -> serve::LogFormat {
        match self {
            Command::Serve(args) => args.log_format,
            _ => serve::LogFormat::Text,
        }
    }

    /// Returns the subcommand's name as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Serve(_) => "serve",
            Command::Get(_) => "get",
            Command::List(_) => "list",
            Command::Record(_) => "record",
            Command::Chat(_) => "chat",
            Command::Demo(_) => "demo",
            Command::Bench(_) => "bench",
            Command::Gen(_) => "gen",
            Command::BenchParse(_) => "bench-parse",
        }
    }
}

/// Options every client subcommand takes.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Server address: `host:port` (plain text, or TLS when a TLS flag is given),
    /// `http://host:port` or `https://host:port`.
    #[arg(
        long,
        env = "ROUTEGUIDE_ADDR",
        default_value = "127.0.0.1:50051",
        value_parser = parse_server_address
    )]
    pub addr: String,
    /// Deadline of each call (and of connecting), e.g. `10s`, `500ms`, `2.5`; a call not
    /// finished by then fails with DEADLINE_EXCEEDED.
    #[arg(long, env = "ROUTEGUIDE_TIMEOUT", default_value = "10s", value_parser = parse_positive_duration)]
    pub timeout: Duration,
    /// Print one proto3 JSON object per line instead of sentences.
    #[arg(long, env = "ROUTEGUIDE_JSON")]
    pub json: bool,
    #[command(flatten)]
    pub security: ClientSecurityArgs,
}

impl ClientArgs {
    /// Returns a connected client whose calls carry the `--timeout` deadline and the
    /// `--token`, over TLS when the address or the TLS flags ask for it.
    pub async fn connect(&self) -> anyhow::Result<RouteGuideClient> {
        let (address, tls) = self.security.target(&self.addr)?;
        let options = ConnectOptions {
            timeout: Some(self.timeout),
            tls,
            token: self.security.token.clone(),
        };
        Ok(RouteGuideClient::connect_with(&address, &options).await?)
    }

    /// Returns the printer for `--json`.
    pub fn printer(&self) -> Printer {
        Printer { json: self.json }
    }
}

/// How the client commands that read coordinates read them.
#[derive(Debug, Args)]
pub struct CoordinateArgs {
    /// Read every `LAT,LON` as E7 integers (degrees × 10^7, as on the wire), never as
    /// degrees; without it a pair is degrees unless both are integers and one exceeds 180.
    #[arg(long, env = "ROUTEGUIDE_E7")]
    pub e7: bool,
}

impl CoordinateArgs {
    /// Returns the units typed coordinates are read in.
    pub fn units(&self) -> Units {
        Units::from_flag(self.e7)
    }

    /// Returns the point typed as the argument `name`, or a usage error naming it.
    pub fn resolve(&self, name: &str, point: &PointText) -> Result<GeoPoint, UsageError> {
        point.resolve(self.units()).map_err(|message| {
            UsageError(format!(
                "invalid value '{}' for '{name}': {message}",
                point.text()
            ))
        })
    }
}

/// Runs the chosen subcommand.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Get(args) => get::run(args).await,
        Command::List(args) => list::run(args).await,
        Command::Record(args) => record::run(args).await,
        Command::Chat(args) => chat::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Bench(args) => bench::run(args).await,
        Command::Gen(args) => r#gen::run(args).await,
        Command::BenchParse(args) => bench_parse::run(args).await,
    }
}

/// Returns the exit code for a failure, decided by the outermost cause that says: usage
/// (2), server unreachable or `UNAVAILABLE` (3), another status (4), anything else (1).
pub fn exit_code(error: &anyhow::Error) -> u8 {
    let code_for_status = |code: tonic::Code| match code {
        tonic::Code::Unavailable => EXIT_UNAVAILABLE,
        _ => EXIT_RPC_ERROR,
    };
    for cause in error.chain() {
        if let Some(exit) = cause.downcast_ref::<ExitError>() {
            return exit.code;
        }
        if cause.is::<UsageError>() || cause.is::<ConfigError>() {
            return EXIT_USAGE;
        }
        if let Some(tls) = cause.downcast_ref::<TlsError>() {
            return tls_exit_code(tls);
        }
        if let Some(client) = cause.downcast_ref::<ClientError>() {
            return client.code().map_or(EXIT_USAGE, code_for_status);
        }
        if let Some(loadgen) = cause.downcast_ref::<LoadgenError>() {
            return match loadgen {
                LoadgenError::Connect { .. } => EXIT_UNAVAILABLE,
                LoadgenError::InvalidAddress { .. }
                | LoadgenError::Zero(_)
                | LoadgenError::InvalidToken => EXIT_USAGE,
            };
        }
        if let Some(status) = cause.downcast_ref::<tonic::Status>() {
            return code_for_status(status.code());
        }
    }
    EXIT_FAILURE
}

/// Returns the exit code of a TLS failure: a setting the command line must change (2) or
/// a file that cannot be used (1).
fn tls_exit_code(error: &TlsError) -> u8 {
    match error {
        TlsError::NoSystemRoots | TlsError::ServerName { .. } => EXIT_USAGE,
        _ => EXIT_FAILURE,
    }
}

/// Returns the error and its causes joined by `: `, leaving out a cause whose text is
/// already there (errors that print their source, as `LoadError` does, would repeat it).
pub fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}
