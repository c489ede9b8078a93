//! The `routeguide` binary end to end: subcommands, typed coordinates, output formats, exit
//! codes, bad databases, operator flags, the README's commands, TLS and tokens, and
//! graceful shutdown on
//! real signals.

mod bad_database;
mod client_commands;
mod config_file;
mod coordinates;
mod durable_notes;
mod exit_codes;
mod operations;
#[path = "../shared/pki.rs"]
mod pki;
mod process;
mod readme;
mod reload;
mod security;
mod signals;
mod system_roots;
