//! The `routeguide` binary end to end: subcommands, output formats, exit codes, bad databases
//! and graceful shutdown on real signals.

mod bad_database;
mod client_commands;
mod durable_notes;
mod process;
mod signals;
