//! A flood of connections, beyond what the server can hold.

use std::process::Command;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::frames::{PREFACE, SETTINGS, open_http2};
use super::process::{ServerProcess, clean_environment};
use super::target::{PATIENCE, Target, probe_on};

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
/// `--max-connections` below the descriptor limit, a flood meets that limit instead: the
/// next test.)
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

/// `--max-connections` for the next test.
const MAX_CONNECTIONS: usize = 32;

/// Connections the next test's flood opens at once, far beyond [`MAX_CONNECTIONS`].
const FLOOD: usize = 400;

/// Sends the HTTP/2 preface on `socket` and returns the kind of the server's first frame,
/// or `None` when the server closed the connection instead.
async fn first_answer(socket: &mut TcpStream) -> Option<u8> {
    let empty_settings = [0, 0, 0, SETTINGS, 0, 0, 0, 0, 0];
    socket
        .write_all(&[PREFACE, &empty_settings[..]].concat())
        .await
        .ok()?;
    let mut header = [0; 9];
    match tokio::time::timeout(PATIENCE, socket.read_exact(&mut header)).await {
        Ok(Ok(_)) => Some(header[3]),
        Ok(Err(_)) => None,
        Err(_) => panic!("the server neither answered nor closed a connection"),
    }
}

/// A client connects; then a flood of [`FLOOD`] connections arrives, far beyond
/// `--max-connections`.
///
/// Expected: the server holds at most `--max-connections` connections; every further one
/// is closed at once, without an HTTP/2 answer (so its client fails fast), and the first
/// refusal logs one warning. The client connected before the flood is served throughout;
/// once the flood goes away new clients are served again and memory returns near its
/// baseline.
#[tokio::test]
async fn connections_beyond_max_connections_are_closed_and_the_server_recovers() {
    let max = MAX_CONNECTIONS.to_string();
    let mut target = Target::start(&["--max-connections", &max, "--handshake-timeout", "5m"]);
    let baseline = target.baseline().await;
    let client = target.channel().await;
    let mut flood = Vec::new();
    for _ in 0..FLOOD {
        flood.push(TcpStream::connect(&target.addr).await.unwrap());
    }
    let mut answered = 0;
    for socket in &mut flood {
        if let Some(kind) = first_answer(socket).await {
            assert_eq!(kind, SETTINGS);
            answered += 1;
        }
    }
    // The client holds one connection; the baseline's probes may still hold some until
    // the server has seen them close.
    assert!(
        (1..MAX_CONNECTIONS).contains(&answered),
        "{answered} of {FLOOD} flood connections were served with --max-connections {max}"
    );
    target
        .await_log_lines(&["WARN", "connection limit reached"], 1)
        .await;
    assert_eq!(
        target.log_lines(&["WARN", "connection limit reached"]),
        1,
        "one warning per time the limit is reached, not one per connection"
    );
    probe_on(client.clone()).await;
    drop(flood);
    // The server frees each slot once it has seen its connection close: retry until a
    // new client is let in.
    let served_again = tokio::time::timeout(PATIENCE, async {
        loop {
            let endpoint = tonic::transport::Channel::from_shared(target.uri()).unwrap();
            if let Ok(channel) = endpoint.connect().await {
                probe_on(channel).await;
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(
        served_again.is_ok(),
        "no new client was served after the flood"
    );
    probe_on(client).await;
    target
        .await_memory_near("max-connections flood", baseline)
        .await;
    target.assert_alive();
}
