//! Health follows the note store: `NOT_SERVING` while it is unreachable (or, for an
//! embedded store, while its file is not where it was opened), `SERVING` when it is back;
//! RouteChat answers `UNAVAILABLE` meanwhile and loses nothing stored before.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use routeguide::config::ServerConfig;
use routeguide::notes::{
    MemoryNoteStore, Note, NoteError, NoteRetention, NoteStore, PendingExchange,
};
use routeguide::pb;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse, health_client::HealthClient};

use super::durable_chat::StoreDir;
use super::support::{TestServer, pb_point};

/// A memory store that a test can make unreachable.
struct Switchable {
    inner: MemoryNoteStore,
    down: AtomicBool,
}

impl Switchable {
    fn failure() -> NoteError {
        NoteError::Backend {
            backend: "test",
            message: "switched off".into(),
        }
    }
}

#[async_trait::async_trait]
impl NoteStore for Switchable {
    async fn begin_exchange(&self, note: Note) -> Result<PendingExchange, NoteError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(Self::failure());
        }
        self.inner.begin_exchange(note).await
    }

    async fn check(&self) -> Result<(), NoteError> {
        match self.down.load(Ordering::SeqCst) {
            true => Err(Self::failure()),
            false => Ok(()),
        }
    }
}

async fn chat_one(server: &TestServer, message: &str) -> Result<Vec<String>, tonic::Status> {
    let note = pb::RouteNote {
        location: Some(pb_point(9, 9)),
        message: message.to_owned(),
    };
    let mut replies = server
        .client()
        .await
        .route_chat(futures::stream::iter(vec![note]))
        .await?
        .into_inner();
    let mut received = Vec::new();
    while let Some(reply) = replies.message().await? {
        received.push(reply.message);
    }
    Ok(received)
}

/// Returns the next status a health Watch sends; a generous limit turns a missing change
/// into a failure instead of a hang.
async fn next_status(watch: &mut tonic::Streaming<HealthCheckResponse>) -> i32 {
    tokio::time::timeout(Duration::from_secs(30), watch.message())
        .await
        .expect("a health change within 30 s")
        .unwrap()
        .unwrap()
        .status
}

#[tokio::test]
async fn health_is_not_serving_while_the_note_store_is_unreachable() {
    let store = Arc::new(Switchable {
        inner: MemoryNoteStore::new(NoteRetention {
            max_per_location: 10,
            max_total: 10,
        }),
        down: AtomicBool::new(false),
    });
    let config = ServerConfig {
        notes_check_interval: Duration::from_millis(20),
        ..ServerConfig::default()
    };
    let server = TestServer::start_with_notes(config, Arc::clone(&store) as _).await;
    let mut health = HealthClient::new(server.channel().await);
    let mut watches = Vec::new();
    for service in ["", "routeguide.RouteGuide"] {
        let request = HealthCheckRequest {
            service: service.into(),
        };
        let mut watch = health.watch(request).await.unwrap().into_inner();
        let first = next_status(&mut watch).await;
        assert_eq!(first, ServingStatus::Serving as i32);
        watches.push(watch);
    }
    assert!(chat_one(&server, "before").await.unwrap().is_empty());

    store.down.store(true, Ordering::SeqCst);
    for watch in &mut watches {
        let next = next_status(watch).await;
        assert_eq!(next, ServingStatus::NotServing as i32);
    }
    let status = chat_one(&server, "while down").await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");

    store.down.store(false, Ordering::SeqCst);
    for watch in &mut watches {
        let next = next_status(watch).await;
        assert_eq!(next, ServingStatus::Serving as i32);
    }
    assert_eq!(chat_one(&server, "after").await.unwrap(), ["before"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_follows_the_file_of_an_embedded_store() {
    let dir = StoreDir::new("health");
    let retention = NoteRetention {
        max_per_location: 10,
        max_total: 10,
    };
    let config = ServerConfig {
        notes_check_interval: Duration::from_millis(20),
        ..ServerConfig::default()
    };
    let server = TestServer::start_with_notes(config, dir.open_with(retention, None).await).await;
    let mut health = HealthClient::new(server.channel().await);
    let request = HealthCheckRequest {
        service: String::new(),
    };
    let mut watch = health.watch(request).await.unwrap().into_inner();
    assert_eq!(next_status(&mut watch).await, ServingStatus::Serving as i32);
    assert!(chat_one(&server, "kept").await.unwrap().is_empty());

    // Moved away while serving, later notes would be written where no restart finds them.
    let (path, aside) = (dir.path("notes.db"), dir.path("aside.db"));
    std::fs::rename(&path, &aside).unwrap();
    assert_eq!(
        next_status(&mut watch).await,
        ServingStatus::NotServing as i32
    );
    std::fs::rename(&aside, &path).unwrap();
    assert_eq!(next_status(&mut watch).await, ServingStatus::Serving as i32);
    assert_eq!(chat_one(&server, "after").await.unwrap(), ["kept"]);
}
