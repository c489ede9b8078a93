//! `serve --notes FILE` as a real process: notes survive SIGKILL, damaged or busy stores are
//! refused naming the file, the log names the store, and `--notes` rejects stores it does
//! not know without showing a password.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use routeguide::pb;
use tokio::sync::watch;

use super::process::{ServerProcess, routeguide, run, stderr, stdout, wait_output};

/// A fresh directory for one test's store, removed when dropped.
struct StoreDir(PathBuf);

impl StoreDir {
    fn new(test: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("routeguide-notes-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn file(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for StoreDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

type Client = pb::route_guide_client::RouteGuideClient<tonic::transport::Channel>;

async fn client(server: &ServerProcess) -> Client {
    Client::connect(format!("http://{}", server.addr))
        .await
        .unwrap()
}

fn note(latitude: i32, message: &str) -> pb::RouteNote {
    pb::RouteNote {
        location: Some(pb::Point {
            latitude,
            longitude: 7,
        }),
        message: message.to_owned(),
    }
}

/// Sends `notes` in one call; returns the replies if the call ended with OK.
async fn chat(client: &mut Client, notes: Vec<pb::RouteNote>) -> Option<Vec<String>> {
    let mut replies = client
        .route_chat(futures::stream::iter(notes))
        .await
        .ok()?
        .into_inner();
    let mut received = Vec::new();
    while let Some(reply) = replies.message().await.ok()? {
        received.push(reply.message);
    }
    Some(received)
}

/// Returns every note stored at `latitude`, oldest first, by leaving one more there.
async fn stored_at(client: &mut Client, latitude: i32) -> Vec<String> {
    chat(client, vec![note(latitude, "probe")])
        .await
        .expect("the probe call succeeds")
}

const LOCATIONS: i32 = 8;
const STREAMS: usize = 4;
const NOTES_PER_CALL: usize = 20;

/// One stream's calls, back to back, until one fails; returns the notes of each OK call.
async fn stream_calls(
    mut client: Client,
    stream: usize,
    ok_calls: watch::Sender<usize>,
) -> Vec<Vec<pb::RouteNote>> {
    let mut ok = Vec::new();
    for call in 0.. {
        let notes: Vec<_> = (0..NOTES_PER_CALL)
            .map(|i| {
                note(
                    (stream + call + i) as i32 % LOCATIONS,
                    &format!("s{stream}-c{call}-n{i}"),
                )
            })
            .collect();
        if chat(&mut client, notes.clone()).await.is_none() {
            return ok;
        }
        ok.push(notes);
        ok_calls.send_modify(|count| *count += 1);
    }
    ok
}

/// Returns (stream, call, note) from a message `s{stream}-c{call}-n{note}`.
fn parse(message: &str) -> Option<(usize, usize, usize)> {
    let mut parts = message.split('-').map(|p| p[1..].parse().ok());
    Some((parts.next()??, parts.next()??, parts.next()??))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_note_of_every_ok_call_survives_sigkill_in_order() {
    let dir = StoreDir::new("sigkill");
    let store = dir.file("notes.db");
    let roomy = [
        "--notes",
        &store,
        "--notes-per-location",
        "100000",
        "--notes-total",
        "1000000",
    ];
    let mut server = ServerProcess::start(&roomy);
    let (ok_calls, mut progress) = watch::channel(0);
    let mut streams = Vec::new();
    for stream in 0..STREAMS {
        let client = client(&server).await;
        streams.push(tokio::spawn(stream_calls(client, stream, ok_calls.clone())));
    }
    // Kill once enough calls ended with OK, while every stream is still sending.
    progress.wait_for(|count| *count >= 24).await.unwrap();
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let mut ok_notes = Vec::new();
    for stream in streams {
        ok_notes.extend(stream.await.unwrap().into_iter().flatten());
    }
    assert!(ok_notes.len() >= 24 * NOTES_PER_CALL);

    let server = ServerProcess::start(&roomy);
    let mut client = client(&server).await;
    let mut stored: HashMap<i32, Vec<String>> = HashMap::new();
    for latitude in 0..LOCATIONS {
        stored.insert(latitude, stored_at(&mut client, latitude).await);
    }
    for (latitude, messages) in &stored {
        let unique: HashSet<&String> = messages.iter().collect();
        assert_eq!(unique.len(), messages.len(), "a duplicate at {latitude}");
        // Every stored note is one that was sent there, intact, and each stream's notes
        // keep the order it sent them in.
        let mut last_of_stream: HashMap<usize, (usize, usize)> = HashMap::new();
        for message in messages {
            let (stream, call, i) =
                parse(message).unwrap_or_else(|| panic!("corrupted: {message:?}"));
            let sent_at = (stream + call + i) as i32 % LOCATIONS;
            assert_eq!(sent_at, *latitude, "{message} stored at the wrong location");
            let previous = last_of_stream.insert(stream, (call, i));
            assert!(previous < Some((call, i)), "{message} out of order");
        }
    }
    let lost: Vec<&str> = ok_notes
        .iter()
        .filter(|n| !stored[&n.location.unwrap().latitude].contains(&n.message))
        .map(|n| n.message.as_str())
        .collect();
    assert!(lost.is_empty(), "notes of OK calls lost: {lost:?}");
}

/// Starts a server on `store`, stores `notes` through the `chat` command, and stops it
/// with SIGTERM; returns the server's log.
fn fill_and_stop(store: &str, notes: &str) -> String {
    let mut server = ServerProcess::start(&["--notes", store]);
    let output = run(&["chat", "--e7", "--addr", &server.addr], notes);
    assert!(output.status.success(), "{}", stderr(&output));
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(30)), Some(0));
    server.log()
}

/// Runs `serve` on `store`, which must be refused before listening; returns stderr.
/// A server that serves the store instead is killed after 30 s and fails the test.
fn refused(store: &str) -> String {
    let child = routeguide()
        .args(["serve", "--addr", "127.0.0.1:0", "--notes", store])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = wait_output(child, Duration::from_secs(30));
    let status = output.status;
    let message = stderr(&output);
    assert_eq!(status.code(), Some(1), "{message}");
    assert!(
        message.contains(&format!("notes store {store}")),
        "names the file: {message}"
    );
    assert!(
        !message.contains("listening on"),
        "nothing is served: {message}"
    );
    assert!(!message.contains("panicked"), "{message}");
    message
}

fn notes_text(count: usize) -> String {
    (0..count)
        .map(|i| format!("{},0 stored note {i:04}\n", i % 10))
        .collect()
}

#[test]
fn truncated_and_corrupted_stores_are_refused_and_left_as_they_were() {
    let dir = StoreDir::new("damaged");
    let store = dir.file("notes.db");
    let log = fill_and_stop(&store, &notes_text(300));
    assert!(log.contains("notes store closed"), "{log}");
    let intact = std::fs::read(&store).unwrap();
    assert!(
        !Path::new(&format!("{store}-wal")).exists(),
        "close removes the log"
    );

    let truncated = dir.file("truncated.db");
    std::fs::write(&truncated, &intact[..intact.len() / 2]).unwrap();
    assert!(refused(&truncated).contains("is damaged: it is truncated"));

    let corrupted = dir.file("corrupted.db");
    let mut bytes = intact.clone();
    let needle = b"stored note 0123";
    for at in 0..bytes.len() - needle.len() {
        if &bytes[at..at + needle.len()] == needle {
            bytes[at + 12] = b'7';
        }
    }
    std::fs::write(&corrupted, &bytes).unwrap();
    assert!(refused(&corrupted).contains("does not match its checksum"));
    // A refused start changes nothing: the damaged file can still be examined or repaired.
    assert_eq!(std::fs::read(&corrupted).unwrap(), bytes);

    // The intact store still has every note.
    let server = ServerProcess::start(&["--notes", &store]);
    let output = run(&["chat", "--e7", "--addr", &server.addr], "3,0 probe\n");
    let expected: String = (0..300)
        .filter(|i| i % 10 == 3)
        .map(|i| format!("Got message \"stored note {i:04}\" at 0.0000003,0.0000000\n"))
        .collect();
    assert_eq!(stdout(&output), expected);
}

#[test]
fn a_second_server_on_a_store_in_use_is_refused() {
    let dir = StoreDir::new("in_use");
    let store = dir.file("notes.db");
    let server = ServerProcess::start(&["--notes", &store]);
    let message = refused(&store);
    assert!(
        message.contains("is in use by another process"),
        "{message}"
    );
    let output = run(
        &["chat", "--e7", "--addr", &server.addr],
        "0,0 still served\n0,0 twice\n",
    );
    assert_eq!(
        stdout(&output),
        "Got message \"still served\" at 0.0000000,0.0000000\n"
    );
}

#[test]
fn unknown_note_stores_are_usage_errors_naming_the_flag_without_the_password() {
    let output = run(
        &[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--notes",
            "redis://app:hunter2@x",
        ],
        "",
    );
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(message.contains("--notes redis://app:***@x"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    assert!(
        message.contains("unsupported notes store `redis:`"),
        "{message}"
    );
}

#[test]
fn the_log_names_the_store_file_with_live_push_on() {
    let dir = StoreDir::new("live");
    let store = dir.file("notes.db");
    let server = ServerProcess::start(&["--notes", &store, "--chat-live"]);
    let ready = server.wait_for_line("note store ready", Duration::from_secs(30));
    assert!(ready.contains(&format!("file:{store}")), "{ready}");
    assert!(ready.contains("live_push=true"), "{ready}");
}
