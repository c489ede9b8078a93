//! Hostile clients against a real `routeguide serve` process, one module per attack: each
//! documents what the server does, checks that it keeps answering other clients meanwhile,
//! and that its resident memory returns near its baseline afterwards.

#[path = "../cli/process.rs"]
#[allow(dead_code)]
mod process;

mod abandoned_streams;
mod connection_flood;
mod frames;
mod metadata;
mod no_preface;
mod random_bytes;
mod rapid_reset;
mod raw_client;
mod target;
