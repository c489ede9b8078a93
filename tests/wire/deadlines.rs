//! Deadlines over the wire: every RPC kind ends with DEADLINE_EXCEEDED, never CANCELLED.

use std::time::Duration;

use routeguide::config::ServerConfig;
use routeguide::pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Request};

use super::logs::logs;
use super::raw_h2::{call_and_keep_open, call_raw, frame};
use super::support::{TestServer, assert_healthy, grid_index, pb_point};

fn with_timeout<T>(message: T, timeout: Duration) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(timeout);
    request
}

#[tokio::test]
async fn record_route_left_open_past_its_deadline() {
    let server = TestServer::start().await;
    let end = call_and_keep_open(
        server.addr,
        "/routeguide.RouteGuide/RecordRoute",
        "300m",
        &[pb_point(0, 0)],
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        end.grpc_status.as_deref(),
        Some("4"),
        "DEADLINE_EXCEEDED, got {end:?}"
    );
    assert_eq!(
        end.grpc_message.as_deref(),
        Some("deadline%20exceeded"),
        "percent-encoded grpc-message"
    );
    assert_healthy(&server).await;
}

#[tokio::test]
async fn route_chat_left_open_past_its_deadline() {
    let server = TestServer::start().await;
    let note = pb::RouteNote {
        location: Some(pb_point(0, 0)),
        message: "hi".into(),
    };
    let end = call_and_keep_open(
        server.addr,
        "/routeguide.RouteGuide/RouteChat",
        "300m",
        &[note],
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        end.grpc_status.as_deref(),
        Some("4"),
        "DEADLINE_EXCEEDED, got {end:?}"
    );
}

#[tokio::test]
async fn tonic_client_sees_deadline_exceeded_on_open_chat() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let (notes, receiver) = mpsc::channel::<pb::RouteNote>(1);
    let request = with_timeout(ReceiverStream::new(receiver), Duration::from_millis(300));
    let mut replies = client.route_chat(request).await.unwrap().into_inner();
    let status = replies.message().await.unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    drop(notes);
}

#[tokio::test]
async fn list_features_read_too_slowly_for_its_deadline() {
    let server = TestServer::start_with(grid_index(300_000), ServerConfig::default()).await;
    let mut client = server.client().await;
    let world = pb::Rectangle {
        lo: Some(pb_point(-900_000_000, -1_800_000_000)),
        hi: Some(pb_point(900_000_000, 1_800_000_000)),
    };
    let mut stream = client
        .list_features(with_timeout(world, Duration::from_millis(300)))
        .await
        .unwrap()
        .into_inner();
    stream.message().await.unwrap().unwrap();
    // The slowness under test: the reader stops reading until its deadline has passed.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut received = 1;
    let status = loop {
        match stream.message().await {
            Ok(Some(_)) => received += 1,
            Ok(None) => panic!("stream ended OK after {received} features"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(
        received < 300_000,
        "the server stopped producing at the deadline"
    );
}

#[tokio::test]
async fn calls_within_their_deadline_succeed() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let feature = client
        .get_feature(with_timeout(
            pb_point(409_146_138, -746_188_906),
            Duration::from_secs(5),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!feature.name.is_empty());
    let summary = client
        .record_route(with_timeout(
            futures::stream::iter(vec![pb_point(0, 0)]),
            Duration::from_secs(5),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary.point_count, 1);
}

#[tokio::test]
async fn a_deadline_past_on_arrival_is_exceeded_without_running_the_handler() {
    let server = TestServer::start().await;
    let agent = "deadline-past-on-arrival";
    let point = pb_point(409_146_138, -746_188_906);
    let rectangle = frame(&pb::Rectangle {
        lo: Some(point),
        hi: Some(point),
    });
    let note = frame(&pb::RouteNote {
        location: Some(point),
        message: "too late".into(),
    });
    for (rpc, request) in [
        ("GetFeature", frame(&point)),
        ("ListFeatures", rectangle),
        ("RecordRoute", frame(&point)),
        ("RouteChat", note),
    ] {
        // tonic's client would give up on its own before sending: call with bare HTTP/2.
        let end = call_raw(
            server.addr,
            &format!("/routeguide.RouteGuide/{rpc}"),
            &[("grpc-timeout", "1n"), ("user-agent", agent)],
            &[request],
            true,
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(end.grpc_status.as_deref(), Some("4"), "{rpc}: {end:?}");
    }
    // Every handler logs its start; none started.
    assert_eq!(logs().matching(&[agent]), Vec::<String>::new());
    assert_healthy(&server).await;
}
