//! A flood of connections, beyond what the server can hold.

use std::process::Command;

use tokio::net::TcpStream;

use super::frames::{SETTINGS, open_http2};
use super::process::{ServerProcess, clean_environment};
use super::target::{Target, probe_on};

/// The server's open-files limit (`ulimit -n`), below its `--max-connections` (1000).
const OPEN_FILES: usize = 256;

/// Flood connections beyond what the server can hold. The kernel queues up to 128 (the
/// listen backlog tokio asks for) completed connections the server has not accepted, so
/// every flood connection still connects.
const BEYOND: usize = 64;

/// Flood connections closed first, to free descriptors for the queued ones.
const RELEASED: usize = 100;

/// Starts `routeguide serve` with at most [`OPEN_FILES`] open files.
fn start_with_few_files() -> Target {
    let mut command = clean_environment(Command::new("sh"));
    // A long handshake timeout: the flood's connections sit idle while the test runs.
    let script = format!(
        "ulimit -n {OPEN_FILES} && exec \"$0\" serve --addr 127.0.0.1:0 --handshake-timeout 5m"
    );
    command
        .args(["-c", &script, env!("CARGO_BIN_EXE_routeguide")])
        .env("RUST_LOG", "routeguide=trace");
    let process = ServerProcess::spawn(command);
    let addr = process.addr.clone();
    Target { process, addr }
}

/// Returns how many files the process `pid` has open.
fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// A client connects; then a flood of connections, [`BEYOND`] more than the server has file
/// descriptors left for, connects at once and stays.
///
/// Expected: the server accepts until it runs out of descriptors, then logs a warning
/// (`cannot accept connections`) and pauses before each new attempt instead of retrying
/// at once (tonic's accept loop alone would spin on EMFILE, using a whole core); the
/// connections beyond wait in the kernel's accept queue. The client connected before the
/// flood is served throughout. When the first 100 flood connections close, every waiting
/// one is accepted and answers the preface with the server's SETTINGS frame. (With
/// `--max-connections` below the descriptor limit, a flood meets that limit instead:
/// `tests/wire/limits.rs`.)
#[tokio::test]
async fn connections_beyond_the_file_limit_wait_and_the_server_recovers() {
    let mut target = start_with_few_files();
    let baseline = target.baseline().await;
    let client = target.channel().await;
    let room = OPEN_FILES - open_files(target.process.child.id());
    let mut flood = Vec::new();
    for _ in 0..room + BEYOND {
        flood.push(TcpStream::connect(&target.addr).await.unwrap());
    }
    target
        .await_log_lines(&["WARN", "cannot accept connections"], 1)
        .await;
    probe_on(client.clone()).await;
    let full = target.memory();
    flood.drain(..RELEASED);
    for socket in &mut flood {
        assert_eq!(open_http2(socket).await, SETTINGS);
    }
    probe_on(client).await;
    drop(flood);
    println!(
        "flood: {} connections, VmRSS {} KiB while full",
        room + BEYOND,
        full.now_kib
    );
    target.probe().await;
    target.await_memory_near("connection flood", baseline).await;
    target.assert_alive();
}
