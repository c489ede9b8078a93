//! The `routeguide` command line: flags, subcommand dispatch and exit codes.

mod bench;
mod bench_parse;
mod chat;
mod coords;
mod demo;
mod r#gen;
mod get;
mod list;
mod output;
mod record;
mod serve;
mod values;

use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use routeguide::client::{ClientError, RouteGuideClient};
use routeguide::config::ConfigError;

pub use coords::parse_point;
use output::Printer;
use values::{parse_positive_duration, parse_server_address};

/// Exit code for every other failure (unreadable files, broken databases, bad route lines).
pub const EXIT_FAILURE: u8 = 1;
/// Exit code for a bad command line (clap exits with it too).
pub const EXIT_USAGE: u8 = 2;
/// Exit code when the server cannot be reached or answered `UNAVAILABLE`.
pub const EXIT_UNAVAILABLE: u8 = 3;
/// Exit code when a call failed with another status (`DEADLINE_EXCEEDED`, ...).
pub const EXIT_RPC_ERROR: u8 = 4;

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

/// Options every client subcommand takes.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Server address, `host:port` or `http://host:port` (no TLS yet).
    #[arg(
        long,
        env = "ROUTEGUIDE_ADDR",
        default_value = "http://127.0.0.1:50051",
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
}

impl ClientArgs {
    /// Returns a connected client whose calls carry the `--timeout` deadline.
    pub async fn connect(&self) -> Result<RouteGuideClient, ClientError> {
        RouteGuideClient::connect(&self.addr, Some(self.timeout)).await
    }

    /// Returns the printer for `--json`.
    pub fn printer(&self) -> Printer {
        Printer { json: self.json }
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
        if cause.is::<ConfigError>() {
            return EXIT_USAGE;
        }
        if let Some(client) = cause.downcast_ref::<ClientError>() {
            return client.code().map_or(EXIT_USAGE, code_for_status);
        }
        if let Some(status) = cause.downcast_ref::<tonic::Status>() {
            return code_for_status(status.code());
        }
    }
    EXIT_FAILURE
}
