//! Graceful shutdown in process: NOT_SERVING first, in-flight calls finish, streams end at grace.

use std::time::Duration;

use routeguide::config::ServerConfig;
use routeguide::pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use super::logs::logs;
use super::support::{TestServer, pb_point};

#[tokio::test]
async fn shutdown_reports_not_serving_lets_calls_finish_and_ends_streams_at_grace() {
    let config = ServerConfig {
        grace: Duration::from_millis(1500),
        ..ServerConfig::default()
    };
    let mut server = TestServer::start_with(routeguide::db::builtin(), config).await;
    let channel = server.channel().await;

    let mut health = HealthClient::new(channel.clone());
    let mut watch = health
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        watch.message().await.unwrap().unwrap().status,
        ServingStatus::Serving as i32
    );

    // A route in flight and a chat that never half-closes.
    let agent = "shutdown-in-flight";
    let mut client = server.client_as(agent).await;
    let (points, receiver) = mpsc::channel(4);
    points.send(pb_point(0, 0)).await.unwrap();
    let mut route_client = client.clone();
    let route = tokio::spawn(async move {
        route_client
            .record_route(ReceiverStream::new(receiver))
            .await
    });
    let (_notes, note_receiver) = mpsc::channel::<pb::RouteNote>(1);
    let mut chat = client
        .route_chat(ReceiverStream::new(note_receiver))
        .await
        .unwrap()
        .into_inner();
    // Both handlers have started before shutdown begins.
    for rpc in ["RecordRoute", "RouteChat"] {
        logs()
            .wait_for(&[&format!("rpc=\"{rpc}\""), agent, "call started"])
            .await;
    }

    let serving = server.shutdown();
    let next = watch.message().await.unwrap().unwrap();
    assert_eq!(next.status, ServingStatus::NotServing as i32);

    // The route in flight still completes after shutdown began.
    points.send(pb_point(1, 1)).await.unwrap();
    drop(points);
    let summary = route.await.unwrap().unwrap().into_inner();
    assert_eq!(summary.point_count, 2);

    // The open chat is ended cleanly once the grace period is over.
    let status = chat.message().await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");

    let result = tokio::time::timeout(Duration::from_secs(10), serving).await;
    result
        .expect("server stops after the grace period")
        .unwrap()
        .unwrap();

    // New connections are refused.
    assert!(tokio::net::TcpStream::connect(server.addr).await.is_err());
}

#[tokio::test]
async fn an_idle_browser_connection_does_not_hold_shutdown() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A grace period longer than the watchdog: only closing idle connections at once can
    // let the server stop in time.
    let config = ServerConfig {
        grace: Duration::from_secs(3600),
        ..ServerConfig::default()
    };
    let mut server = TestServer::start_with(routeguide::db::builtin(), config).await;
    let mut browser = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    browser
        .write_all(b"GET /config.json HTTP/1.1\r\nhost: routeguide\r\n\r\n")
        .await
        .unwrap();
    let mut answer = vec![0; 4096];
    let read = browser.read(&mut answer).await.unwrap();
    assert!(answer[..read].starts_with(b"HTTP/1.1 200 OK"));

    let serving = server.shutdown();
    let result = tokio::time::timeout(Duration::from_secs(10), serving).await;
    result
        .expect("an idle keep-alive connection is closed at shutdown")
        .unwrap()
        .unwrap();
    assert_eq!(browser.read(&mut answer).await.unwrap(), 0, "closed");
}
