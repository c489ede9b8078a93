//! RouteChat live push in one process (`--chat-live` on the memory and the embedded store):
//! new notes at a place a stream sent a note at follow as they arrive, once each, never its
//! own; a reader that falls behind ends with `RESOURCE_EXHAUSTED`; off, streams get exactly
//! the replay.

use std::sync::Arc;
use std::time::Duration;

use routeguide::config::ServerConfig;
use routeguide::notes::{LiveFeed, MemoryNoteStore, NoteRetention, NoteStore};
use routeguide::pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::durable_chat::StoreDir;
use super::support::{TestServer, pb_point};

fn note(latitude: i32, message: &str) -> pb::RouteNote {
    pb::RouteNote {
        location: Some(pb_point(latitude, 0)),
        message: message.to_owned(),
    }
}

async fn server(live: Option<LiveFeed>, retention: NoteRetention) -> TestServer {
    let mut store = MemoryNoteStore::new(retention);
    if let Some(feed) = live {
        store = store.with_live_feed(feed);
    }
    serve(Arc::new(store), retention).await
}

/// Returns a server on an embedded store in `dir`, with live push.
async fn embedded_server(dir: &StoreDir, live: LiveFeed, retention: NoteRetention) -> TestServer {
    serve(dir.open_with(retention, Some(live)).await, retention).await
}

async fn serve(notes: Arc<dyn NoteStore>, retention: NoteRetention) -> TestServer {
    let config = ServerConfig {
        retention,
        ..ServerConfig::default()
    };
    TestServer::start_with_notes(config, notes).await
}

const ROOMY: NoteRetention = NoteRetention {
    max_per_location: 1000,
    max_total: 100_000,
};

/// Sends `notes` in one call and returns the replies, once the call ended OK.
async fn chat(server: &TestServer, notes: Vec<pb::RouteNote>) -> Vec<String> {
    let mut replies = server
        .client()
        .await
        .route_chat(futures::stream::iter(notes))
        .await
        .unwrap()
        .into_inner();
    let mut received = Vec::new();
    while let Some(reply) = replies.message().await.unwrap() {
        received.push(reply.message);
    }
    received
}

/// Returns what a stream receives when it sends "mine" at 1, another client then sends at 1
/// and at 2, and the stream sends "mine again" at 1 and half-closes.
async fn what_a_stream_sees(server: &TestServer) -> Vec<String> {
    chat(server, vec![note(1, "seed")]).await;
    let mut client = server.client().await;
    let (outgoing, receiver) = mpsc::channel(4);
    let mut replies = client
        .route_chat(ReceiverStream::new(receiver))
        .await
        .unwrap()
        .into_inner();
    outgoing.send(note(1, "mine")).await.unwrap();
    // The replay arrives after the note was stored (and, with live push, watched).
    let mut seen = vec![replies.message().await.unwrap().unwrap().message];
    chat(server, vec![note(1, "theirs"), note(2, "elsewhere")]).await;
    outgoing.send(note(1, "mine again")).await.unwrap();
    drop(outgoing);
    while let Some(reply) = replies.message().await.unwrap() {
        seen.push(reply.message);
    }
    seen
}

#[tokio::test]
async fn live_push_sends_new_notes_where_the_stream_sent_one_once_each() {
    let server = server(Some(LiveFeed::new(64)), ROOMY).await;
    // "theirs" comes live, so the replay of "mine again" does not repeat it; "mine" and
    // "elsewhere" never come.
    assert_eq!(what_a_stream_sees(&server).await, ["seed", "theirs"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_push_on_the_embedded_store_sends_each_note_once_too() {
    let dir = StoreDir::new("live_once");
    let server = embedded_server(&dir, LiveFeed::new(64), ROOMY).await;
    assert_eq!(what_a_stream_sees(&server).await, ["seed", "theirs"]);
}

#[tokio::test]
async fn without_live_push_a_stream_gets_exactly_the_replay() {
    let server = server(None, ROOMY).await;
    assert_eq!(
        what_a_stream_sees(&server).await,
        ["seed", "seed", "mine", "theirs"]
    );
}

/// One note per place, so the writer's own replays stay small.
const ONE_PER_PLACE: NoteRetention = NoteRetention {
    max_per_location: 1,
    max_total: 100_000,
};

#[tokio::test]
async fn a_live_reader_that_falls_behind_ends_with_resource_exhausted() {
    let server = server(Some(LiveFeed::new(8)), ONE_PER_PLACE).await;
    a_slow_reader_ends_with_resource_exhausted(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_reader_of_the_embedded_store_that_falls_behind_ends_too() {
    let dir = StoreDir::new("live_behind");
    let server = embedded_server(&dir, LiveFeed::new(8), ONE_PER_PLACE).await;
    a_slow_reader_ends_with_resource_exhausted(&server).await;
}

/// Floods the place a stream watches while it reads nothing, then expects the stream to
/// end with `RESOURCE_EXHAUSTED` before it was sent every note.
async fn a_slow_reader_ends_with_resource_exhausted(server: &TestServer) {
    chat(server, vec![note(3, "seed")]).await;
    let mut client = server.client().await;
    let (outgoing, receiver) = mpsc::channel(4);
    let mut slow = client
        .route_chat(ReceiverStream::new(receiver))
        .await
        .unwrap()
        .into_inner();
    outgoing.send(note(3, "watching")).await.unwrap();
    assert_eq!(slow.message().await.unwrap().unwrap().message, "seed");
    // The slow stream reads nothing more while 4 MiB of notes arrive at its place: more
    // than HTTP/2 flow control, the reply queue and the live buffer hold together.
    let big = "x".repeat(4096);
    let flood: Vec<pb::RouteNote> = (0..1024).map(|_| note(3, &big)).collect();
    chat(server, flood).await;
    let mut delivered = 0;
    let status = loop {
        // A generous limit turns a reader that is never ended into a failure, not a hang.
        let next = tokio::time::timeout(Duration::from_secs(30), slow.message());
        match next.await.expect("the slow stream ends") {
            Ok(Some(_)) => delivered += 1,
            Ok(None) => panic!("the slow stream ended OK after {delivered} live notes"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(delivered < 1024, "{delivered}");
    drop(outgoing);
}
