//! RouteChat on the embedded store: many notes of one stream wait on the same commit, and
//! their replies still come in order, before the call's end or its error; at shutdown the
//! store closes only after the calls in flight.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use routeguide::config::ServerConfig;
use routeguide::notes::{EmbeddedNoteStore, LiveFeed, NoteRetention, NoteStore};
use routeguide::pb;
use tonic::Code;

use super::route_chat::{chat, messages, note};
use super::support::{TestServer, point};

/// A fresh directory for one test's store, removed when dropped.
pub(super) struct StoreDir(PathBuf);

impl StoreDir {
    pub(super) fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("rg_wire_{}_{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// Returns the path of `name` in this directory.
    pub(super) fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    async fn open(&self) -> Arc<dyn NoteStore> {
        let retention = NoteRetention {
            max_per_location: 1000,
            max_total: 100_000,
        };
        self.open_with(retention, None).await
    }

    /// Opens the store in this directory with `retention`, publishing to `live`.
    pub(super) async fn open_with(
        &self,
        retention: NoteRetention,
        live: Option<LiveFeed>,
    ) -> Arc<dyn NoteStore> {
        let path = self.path("notes.db");
        let opening = move || EmbeddedNoteStore::open(&path, retention, live);
        let store = tokio::task::spawn_blocking(opening).await.unwrap().unwrap();
        Arc::new(store)
    }
}

impl Drop for StoreDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Returns the replies a store that replays every earlier note at the same location
/// sends for `notes`, given what `earlier` holds per location.
fn expected_replies(
    notes: &[pb::RouteNote],
    earlier: &mut HashMap<(i32, i32), Vec<String>>,
) -> Vec<String> {
    let mut replies = Vec::new();
    for note in notes {
        let point = note.location.unwrap();
        let at = earlier
            .entry((point.latitude, point.longitude))
            .or_default();
        replies.extend(at.iter().cloned());
        at.push(note.message.clone());
    }
    replies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_waiting_on_commits_get_their_replies_in_order() {
    let dir = StoreDir::new("order");
    let server = TestServer::start_with_notes(ServerConfig::default(), dir.open().await).await;
    let mut client = server.client().await;
    let mut earlier = HashMap::new();
    let notes: Vec<_> = (0..300).map(|i| note(i % 3, 0, &format!("n{i}"))).collect();
    let expected = expected_replies(&notes, &mut earlier);
    let (replies, status) = chat(&mut client, notes).await;
    status.unwrap();
    same_replies(&replies, &expected);

    // The valid notes before an invalid one get their replies before the error.
    let mut notes: Vec<_> = (0..100).map(|i| note(i % 2, 0, &format!("v{i}"))).collect();
    let expected = expected_replies(&notes, &mut earlier);
    notes.push(note(900_000_001, 0, "bad"));
    let (replies, status) = chat(&mut client, notes).await;
    let status = status.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("note 100: location.latitude"),
        "{status:?}"
    );
    same_replies(&replies, &expected);
}

/// Asserts that `replies` carry the `expected` messages, with a short message if not.
fn same_replies(replies: &[pb::RouteNote], expected: &[String]) {
    let got = messages(replies);
    let first_difference = got.iter().zip(expected).position(|(g, e)| g != e);
    assert!(
        got == expected,
        "{} replies, expected {}; first difference at {first_difference:?}",
        got.len(),
        expected.len()
    );
}

#[tokio::test]
async fn shutdown_closes_the_store_after_the_notes_of_calls_in_flight() {
    let dir = StoreDir::new("shutdown");
    let config = ServerConfig {
        grace: std::time::Duration::from_secs(20),
        ..ServerConfig::default()
    };
    let mut server = TestServer::start_with_notes(config, dir.open().await).await;
    let mut client = server.client().await;
    let (notes, receiver) = tokio::sync::mpsc::channel(4);
    let mut replies = client
        .route_chat(tokio_stream::wrappers::ReceiverStream::new(receiver))
        .await
        .unwrap()
        .into_inner();
    notes.send(note(5, 5, "before 1")).await.unwrap();
    notes.send(note(5, 5, "before 2")).await.unwrap();
    // The reply to the second note: the call runs and its first note is stored.
    let reply = replies.message().await.unwrap().unwrap();
    assert_eq!(reply.message, "before 1");

    let serving = server.shutdown();
    // The call in flight goes on during the grace period, and its new note is stored.
    notes.send(note(5, 5, "during shutdown")).await.unwrap();
    drop(notes);
    let mut rest = Vec::new();
    while let Some(reply) = replies.message().await.unwrap() {
        rest.push(reply);
    }
    assert_eq!(messages(&rest), ["before 1", "before 2"]);
    tokio::time::timeout(std::time::Duration::from_secs(30), serving)
        .await
        .expect("the server stops once the call ended")
        .unwrap()
        .unwrap();

    // The store was closed (its lock released) with every note of the call in it.
    let store = dir.open().await;
    let next = routeguide::notes::Note {
        location: point(5, 5),
        message: "after restart".into(),
    };
    let earlier: Vec<String> = store
        .exchange(next)
        .await
        .unwrap()
        .iter()
        .map(|note| note.message.to_string())
        .collect();
    assert_eq!(earlier, ["before 1", "before 2", "during shutdown"]);
    store.close().await.unwrap();
}
