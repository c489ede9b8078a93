//! RouteChat over the wire: replay before store, sharing across clients, retention, validation.

use std::time::Duration;

use routeguide::config::ServerConfig;
use routeguide::pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic::transport::Channel;

use super::support::{TestServer, pb_point};

pub(super) type Client = pb::route_guide_client::RouteGuideClient<Channel>;

pub(super) fn note(latitude: i32, longitude: i32, message: &str) -> pb::RouteNote {
    pb::RouteNote {
        location: Some(pb_point(latitude, longitude)),
        message: message.to_owned(),
    }
}

/// Sends `notes`, half-closes, and returns every reply with the final status.
pub(super) async fn chat(
    client: &mut Client,
    notes: Vec<pb::RouteNote>,
) -> (Vec<pb::RouteNote>, Result<(), tonic::Status>) {
    let mut replies = match client.route_chat(futures::stream::iter(notes)).await {
        Ok(response) => response.into_inner(),
        Err(status) => return (Vec::new(), Err(status)),
    };
    let mut received = Vec::new();
    loop {
        match replies.message().await {
            Ok(Some(note)) => received.push(note),
            Ok(None) => return (received, Ok(())),
            Err(status) => return (received, Err(status)),
        }
    }
}

pub(super) fn messages(notes: &[pb::RouteNote]) -> Vec<&str> {
    notes.iter().map(|n| n.message.as_str()).collect()
}

#[tokio::test]
async fn tutorial_notes_replay_earlier_notes_at_the_same_location() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let (replies, status) = chat(
        &mut client,
        vec![
            note(0, 0, "First message"),
            note(0, 1, "Second message"),
            note(1, 0, "Third message"),
            note(0, 0, "Fourth message"),
            note(1, 0, "Fifth message"),
        ],
    )
    .await;
    status.unwrap();
    assert_eq!(messages(&replies), ["First message", "Third message"]);
    assert_eq!(replies[0].location, Some(pb_point(0, 0)));
    assert_eq!(replies[1].location, Some(pb_point(1, 0)));
}

#[tokio::test]
async fn replies_come_before_the_next_note_is_processed_and_are_not_echoed() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let (outgoing, receiver) = mpsc::channel(4);
    let mut replies = client
        .route_chat(ReceiverStream::new(receiver))
        .await
        .unwrap()
        .into_inner();
    for i in 0..5 {
        outgoing.send(note(3, 3, &format!("n{i}"))).await.unwrap();
        // Note i replays exactly notes 0..i, oldest first.
        let mut got = Vec::new();
        for _ in 0..i {
            got.push(replies.message().await.unwrap().unwrap().message);
        }
        let expected: Vec<String> = (0..i).map(|j| format!("n{j}")).collect();
        assert_eq!(got, expected);
    }
    drop(outgoing);
    assert!(
        replies.message().await.unwrap().is_none(),
        "ends OK after half-close, no echo"
    );
}

#[tokio::test]
async fn notes_are_shared_between_clients() {
    let server = TestServer::start().await;
    let mut alice = server.client().await;
    let mut bob = server.client().await;
    let (replies, status) = chat(
        &mut alice,
        vec![note(5, 5, "from alice"), note(6, 6, "elsewhere")],
    )
    .await;
    status.unwrap();
    assert!(replies.is_empty());
    let (replies, status) = chat(&mut bob, vec![note(5, 5, "from bob")]).await;
    status.unwrap();
    assert_eq!(messages(&replies), ["from alice"]);
    let (replies, _) = chat(&mut alice, vec![note(5, 5, "again")]).await;
    assert_eq!(messages(&replies), ["from alice", "from bob"]);
}

#[tokio::test]
async fn concurrent_streams_see_each_others_notes() {
    let server = TestServer::start().await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let mut client = server.client().await;
        tasks.push(tokio::spawn(async move {
            chat(&mut client, vec![note(7, 7, &format!("c{i}"))]).await
        }));
    }
    let mut total = 0;
    for task in tasks {
        let (replies, status) = task.await.unwrap();
        status.unwrap();
        total += replies.len();
    }
    // Whatever the interleaving, the k-th note stored replays k earlier ones.
    assert_eq!(total, (0..20).sum::<usize>());
}

#[tokio::test]
async fn retention_keeps_the_newest_notes_per_location() {
    let mut config = ServerConfig::default();
    config.retention.max_per_location = 3;
    let server = TestServer::start_with(routeguide::db::builtin(), config).await;
    let mut client = server.client().await;
    let notes = (0..6).map(|i| note(1, 1, &format!("m{i}"))).collect();
    chat(&mut client, notes).await.1.unwrap();
    let (replies, _) = chat(&mut client, vec![note(1, 1, "last")]).await;
    assert_eq!(messages(&replies), ["m3", "m4", "m5"]);
}

#[tokio::test]
async fn invalid_notes_end_the_call_and_keep_earlier_notes() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let too_long = "x".repeat(4097);
    let cases = [
        (
            vec![pb::RouteNote {
                location: None,
                message: "lost".into(),
            }],
            "note 0: location is missing",
        ),
        (
            vec![note(2, 2, "kept"), note(900_000_001, 0, "bad")],
            "note 1: location.latitude 900000001",
        ),
        (
            vec![note(2, 2, "kept too"), note(2, 2, &too_long)],
            "note 1: message is 4097 bytes, the limit is 4096",
        ),
    ];
    for (notes, fragment) in cases {
        let (_, status) = chat(&mut client, notes).await;
        let status = status.expect_err(fragment);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains(fragment), "{}", status.message());
    }
    // A message exactly at the limit is fine; the valid notes before each error were stored.
    let (replies, status) = chat(&mut client, vec![note(2, 2, &"y".repeat(4096))]).await;
    status.unwrap();
    assert_eq!(messages(&replies), ["kept", "kept too"]);
}

#[tokio::test]
async fn a_silent_open_chat_does_not_block_others() {
    let server = TestServer::start().await;
    let mut idle = server.client().await;
    let (_keep_open, receiver) = mpsc::channel::<pb::RouteNote>(1);
    let _idle_stream = idle
        .route_chat(ReceiverStream::new(receiver))
        .await
        .unwrap();
    let mut client = server.client().await;
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        chat(&mut client, vec![note(4, 4, "hi")]),
    )
    .await;
    result.unwrap().1.unwrap();
}
