//! Live push across two replicas (`serve --chat-live`): a note sent to replica B reaches a
//! stream on replica A as it arrives, also after A's `LISTEN` connection was cut.

use std::time::Duration;

use super::clients::{OpenChat, chat, connect, note};
use super::environment::database;
use super::process::ServerProcess;

/// Waits until `server` logged `line` at least `times` times.
fn await_log(server: &ServerProcess, line: &str, times: usize) {
    server.wait_for_log(line, times, Duration::from_secs(60));
}

/// Ends the `LISTEN` sessions of the replicas on `schema`; returns how many it ended.
async fn cut_live_listeners(url: &str, schema: &str) -> i64 {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let name = format!("routeguide-live {schema}");
    client
        .query_one(include_str!("terminate_live_listeners.sql"), &[&name])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_note_sent_to_b_reaches_a_stream_on_a_live_also_after_a_reconnect() {
    let Some(database) = database() else {
        return;
    };
    let url = database.url_for("live");
    let schema = url.rsplit("schema=").next().unwrap().to_owned();
    let a = ServerProcess::start(&["--notes", &url, "--chat-live"]);
    let b = ServerProcess::start(&["--notes", &url, "--chat-live"]);
    let (mut to_a, mut to_b) = (connect(&a.addr).await, connect(&b.addr).await);

    chat(&mut to_b, vec![note(6, "seed")]).await.unwrap();
    let mut watching = OpenChat::open(&mut to_a).await;
    watching.outgoing.send(note(6, "watching")).await.unwrap();
    // The replay comes once the note is stored and the place watched.
    assert_eq!(watching.next().await.unwrap().as_deref(), Some("seed"));

    chat(&mut to_b, vec![note(6, "live 1"), note(7, "elsewhere")])
        .await
        .unwrap();
    assert_eq!(watching.next().await.unwrap().as_deref(), Some("live 1"));

    assert_eq!(cut_live_listeners(database.url(), &schema).await, 2);
    await_log(&a, "live feed connection lost", 1);
    await_log(&a, "live feed listening", 2);
    chat(&mut to_b, vec![note(6, "live 2")]).await.unwrap();
    assert_eq!(watching.next().await.unwrap().as_deref(), Some("live 2"));

    // The stream's own notes never come back, and it ends OK when it half-closes.
    watching.outgoing.send(note(6, "mine")).await.unwrap();
    let OpenChat {
        outgoing,
        mut replies,
    } = watching;
    drop(outgoing);
    assert!(
        replies.message().await.unwrap().is_none(),
        "ends OK, no echo"
    );
}
