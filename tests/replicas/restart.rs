//! A PostgreSQL restart under two serving replicas: calls fail with `UNAVAILABLE` and
//! health turns `NOT_SERVING` while it is down; both recover by themselves, with every
//! note stored before.

use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use super::clients::{HealthWatch, OpenChat, chat, connect, note};
use super::environment::cluster;
use super::process::ServerProcess;

#[tokio::test]
async fn replicas_survive_a_database_restart_without_losing_notes() {
    let Some((url, mut cluster)) = cluster() else {
        return;
    };
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{separator}schema=rg_restart_{}", std::process::id());
    let a = ServerProcess::start(&["--notes", &url]);
    let b = ServerProcess::start(&["--notes", &url]);
    let (mut to_a, mut to_b) = (connect(&a.addr).await, connect(&b.addr).await);
    let mut health_a = HealthWatch::start(&a.addr).await;
    let mut health_b = HealthWatch::start(&b.addr).await;
    health_a.until(ServingStatus::Serving).await;
    health_b.until(ServingStatus::Serving).await;

    chat(&mut to_a, vec![note(1, "before 1")]).await.unwrap();
    chat(&mut to_b, vec![note(1, "before 2")]).await.unwrap();
    // A stream open across the restart. Its first note's replies come after the note is
    // committed, so once they arrive the note is stored.
    let mut open = OpenChat::open(&mut to_a).await;
    open.outgoing.send(note(1, "open 1")).await.unwrap();
    assert_eq!(open.next().await.unwrap().as_deref(), Some("before 1"));
    assert_eq!(open.next().await.unwrap().as_deref(), Some("before 2"));

    cluster.stop();
    open.outgoing.send(note(2, "open 2")).await.unwrap();
    let status = open.next().await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    let status = chat(&mut to_b, vec![note(1, "while down")])
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    health_a.until(ServingStatus::NotServing).await;
    health_b.until(ServingStatus::NotServing).await;

    cluster.start();
    health_a.until(ServingStatus::Serving).await;
    health_b.until(ServingStatus::Serving).await;
    assert_eq!(
        chat(&mut to_a, vec![note(1, "after a")]).await.unwrap(),
        ["before 1", "before 2", "open 1"]
    );
    assert_eq!(
        chat(&mut to_b, vec![note(1, "after b")]).await.unwrap(),
        ["before 1", "before 2", "open 1", "after a"]
    );
    for server in [&a, &b] {
        let log = server.log();
        assert!(log.contains("note store unreachable"), "{log}");
        assert!(log.contains("note store reachable again"), "{log}");
    }
}
