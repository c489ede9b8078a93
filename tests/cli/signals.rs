//! Graceful shutdown of a real process on SIGTERM and SIGINT.

use std::time::Duration;

use futures::StreamExt;
use routeguide::pb;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use super::process::ServerProcess;

#[tokio::test]
async fn sigterm_reports_not_serving_finishes_calls_ends_streams_and_exits_0() {
    let mut server = ServerProcess::start(&["--grace", "1s"]);
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel.clone());
    let mut watch = health
        .watch(HealthCheckRequest {
            service: "routeguide.RouteGuide".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        watch.message().await.unwrap().unwrap().status,
        ServingStatus::Serving as i32
    );

    let mut client = pb::route_guide_client::RouteGuideClient::new(channel);
    let (points, receiver) = mpsc::channel(4);
    points
        .send(pb::Point {
            latitude: 0,
            longitude: 0,
        })
        .await
        .unwrap();
    // The transport pulls the first point only after it has opened the RecordRoute stream,
    // so the RouteChat stream opened next on the same connection comes after it, and once
    // RouteChat's headers are back the server has both calls in flight.
    let (pulled, first_point_pulled) = oneshot::channel();
    let mut pulled = Some(pulled);
    let points_stream = ReceiverStream::new(receiver).inspect(move |_| {
        if let Some(pulled) = pulled.take() {
            let _ = pulled.send(());
        }
    });
    let mut route_client = client.clone();
    let route = tokio::spawn(async move { route_client.record_route(points_stream).await });
    tokio::time::timeout(Duration::from_secs(30), first_point_pulled)
        .await
        .expect("RecordRoute's first point was never sent")
        .unwrap();
    let (_notes, note_receiver) = mpsc::channel::<pb::RouteNote>(1);
    let mut chat = client
        .route_chat(ReceiverStream::new(note_receiver))
        .await
        .unwrap()
        .into_inner();

    server.signal("TERM");
    let next = watch.message().await.unwrap().unwrap();
    assert_eq!(next.status, ServingStatus::NotServing as i32);

    points
        .send(pb::Point {
            latitude: 1,
            longitude: 1,
        })
        .await
        .unwrap();
    drop(points);
    let summary = route.await.unwrap().unwrap().into_inner();
    assert_eq!(summary.point_count, 2, "the call in flight finished");

    let status = chat.message().await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");

    let code = tokio::task::spawn_blocking(move || {
        let code = server.wait_exit(Duration::from_secs(15));
        (code, server.log())
    })
    .await
    .unwrap();
    assert_eq!(code.0, Some(0), "{}", code.1);
    assert!(code.1.contains("signal=\"SIGTERM\""), "{}", code.1);
    assert!(code.1.contains("stopped"), "{}", code.1);
}

#[test]
fn sigint_on_an_idle_server_exits_0_promptly() {
    let mut server = ServerProcess::start(&[]);
    server.signal("INT");
    assert_eq!(
        server.wait_exit(Duration::from_secs(10)),
        Some(0),
        "{}",
        server.log()
    );
}
