//! The `routeguide` binary: parse flags, set up logging, run the subcommand, map errors to exit codes.

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::CommandFactory;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = match cli::parse_command_line() {
        Ok(cli) => cli,
        Err(usage) => {
            print_usage_error("serve", &usage);
            return ExitCode::from(cli::EXIT_USAGE);
        }
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.command.log_format() {
        cli::LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        cli::LogFormat::Json => logs.json().flatten_event(true).init(),
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("routeguide: error: cannot start the runtime: {error}");
            return ExitCode::from(cli::EXIT_FAILURE);
        }
    };
    let subcommand = cli.command.name();
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => match error.downcast_ref::<cli::UsageError>() {
            Some(usage) => {
                print_usage_error(subcommand, usage);
                ExitCode::from(cli::EXIT_USAGE)
            }
            None => {
                eprintln!("routeguide: error: {}", cli::describe(&error));
                ExitCode::from(cli::exit_code(&error))
            }
        },
    }
}

/// Prints a usage error found after parsing the way clap prints those it finds itself,
/// with the subcommand's usage line.
fn print_usage_error(subcommand: &str, usage: &cli::UsageError) {
    let kind = clap::error::ErrorKind::ValueValidation;
    let mut command = cli::Cli::command();
    command.build();
    let error = match command.find_subcommand_mut(subcommand) {
        Some(subcommand) => subcommand.error(kind, usage),
        None => command.error(kind, usage),
    };
    let _ = error.print();
}

/// Returns whether the failure is stdout closing early (as with `| head`), which is not an error.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
