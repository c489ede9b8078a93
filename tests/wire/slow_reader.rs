//! A whole-database ListFeatures against a separate server process: a slow reader does not
//! grow the server's memory, and a cancelled call drops the server's producer.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use routeguide::pb;
use routeguide::synthetic::{SyntheticSpec, default_bbox, write_database};

/// Features in the database: their encoded stream (~14 MB) dwarfs what flow control lets
/// the server buffer (a few hundred KiB of window and send buffer).
const FEATURES: u64 = 300_000;

/// A `routeguide serve` child process, killed on drop.
struct ServerProcess {
    child: Child,
    address: String,
    log: mpsc::Receiver<String>,
}

impl ServerProcess {
    fn start(db: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_routeguide"))
            .args(["serve", "--addr", "127.0.0.1:0", "--db"])
            .arg(db)
            .env("RUST_LOG", "routeguide=debug")
            .env("NO_COLOR", "1")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let (lines, log) = mpsc::channel();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let address = loop {
            let line = log.recv().expect("server exited before listening");
            if let Some((_, rest)) = line.split_once("listening on ") {
                // The line goes on with structured fields after the address.
                break rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
            }
        };
        Self {
            child,
            address,
            log,
        }
    }

    /// Returns the server's resident memory in bytes.
    fn resident_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().strip_suffix("kB"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap();
        kb * 1024
    }

    /// Waits for a log line containing every fragment; false if the server goes quiet first.
    fn wait_for_log(&self, fragments: &[&str]) -> bool {
        while let Ok(line) = self.log.recv_timeout(Duration::from_secs(30)) {
            if fragments.iter().all(|f| line.contains(f)) {
                return true;
            }
        }
        false
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// Multi-threaded so the client's connection task keeps running while the test thread
// blocks on the server's log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_reader_costs_bounded_memory_and_cancel_drops_the_producer() {
    slow_reader_case(false).await;
}

/// The same through tonic's generated server, which takes compressed requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_reader_of_a_compressed_request_costs_bounded_memory_too() {
    slow_reader_case(true).await;
}

async fn slow_reader_case(compressed: bool) {
    let dir = std::env::temp_dir().join(format!(
        "routeguide-slow-reader-{}-{compressed}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("db.json");
    let spec = SyntheticSpec {
        count: FEATURES,
        seed: 5,
        bbox: default_bbox(),
        duplicates: 0.0,
    };
    write_database(&spec, std::fs::File::create(&db).unwrap(), |_| {}).unwrap();
    let server = ServerProcess::start(&db);

    let channel = tonic::transport::Channel::from_shared(format!("http://{}", server.address))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = pb::route_guide_client::RouteGuideClient::new(channel);
    if compressed {
        client = client.send_compressed(tonic::codec::CompressionEncoding::Gzip);
    }
    let world = pb::Rectangle {
        lo: Some(pb::Point {
            latitude: -900_000_000,
            longitude: -1_800_000_000,
        }),
        hi: Some(pb::Point {
            latitude: 900_000_000,
            longitude: 1_800_000_000,
        }),
    };
    let mut stream = client.list_features(world).await.unwrap().into_inner();
    stream.message().await.unwrap().unwrap();
    let before = server.resident_bytes();
    // Read slowly: a server that produced ahead of the reader would now hold the rest of
    // the stream (more than 14 MB encoded) in memory.
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        stream.message().await.unwrap().unwrap();
    }
    let after = server.resident_bytes();
    let growth = after.saturating_sub(before);
    assert!(
        growth < 8 << 20,
        "server grew by {growth} bytes while a slow client read 20 messages"
    );

    // Cancel the call; the connection stays open.
    drop(stream);
    assert!(
        server.wait_for_log(&["ListFeatures", "call cancelled by client"]),
        "the server did not drop the cancelled stream"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
