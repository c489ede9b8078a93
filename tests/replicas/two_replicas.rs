//! Two replicas on one database share every note; the log names the store, never its password.

use super::clients::{chat, connect, note};
use super::environment::database;
use super::process::{ServerProcess, run, stderr};

#[tokio::test]
async fn a_note_sent_to_one_replica_is_replayed_by_the_other() {
    let Some(database) = database() else {
        return;
    };
    let url = database.url_for("two_replicas");
    let a = ServerProcess::start(&["--notes", &url]);
    let b = ServerProcess::start(&["--notes", &url]);
    let (mut to_a, mut to_b) = (connect(&a.addr).await, connect(&b.addr).await);

    assert!(
        chat(&mut to_a, vec![note(1, "from a")])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        chat(&mut to_b, vec![note(1, "from b"), note(2, "elsewhere")])
            .await
            .unwrap(),
        ["from a"]
    );
    assert_eq!(
        chat(&mut to_a, vec![note(1, "again a"), note(2, "more")])
            .await
            .unwrap(),
        ["from a", "from b", "elsewhere"]
    );

    for server in [&a, &b] {
        let log = server.log();
        assert!(
            log.contains("note store ready store=postgres://routeguide@127.0.0.1:"),
            "{log}"
        );
        if let Some(password) = database.password() {
            assert!(
                !log.contains(&password),
                "the log shows the password: {log}"
            );
        }
    }
}

#[test]
fn an_unreachable_database_stops_serve_with_host_and_database_named() {
    // Nothing listens on port 9 of loopback, so the connection is refused at once.
    let output = run(
        &[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--notes",
            "postgres://someone:hunter2@127.0.0.1:9/notes_db",
        ],
        "",
    );
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("127.0.0.1:9, database notes_db, user someone"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!text.contains("listening on"), "{text}");
}
