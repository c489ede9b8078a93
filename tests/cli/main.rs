//! The `routeguide` binary end to end: subcommands, typed coordinates, output formats, exit
//! codes, bad databases, operator flags, the README's commands and graceful shutdown on
//! real signals.

mod bad_database;
mod client_commands;
mod coordinates;
mod exit_codes;
mod operations;
mod process;
mod readme;
mod signals;
