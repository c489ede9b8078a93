//! `--stream-idle-timeout`: a call whose request stream stays open and silent ends with
//! `DEADLINE_EXCEEDED`, on every RPC, while streams with traffic and other clients go on.
//! The passing of time is what is tested here, so the timeouts are short and real.

use std::time::Duration;

use routeguide::config::ServerConfig;
use routeguide::pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic::codec::CompressionEncoding;

use super::raw_h2::call_raw;
use super::support::{TestServer, assert_healthy, pb_point};

fn server_config(idle: Duration) -> ServerConfig {
    ServerConfig {
        stream_idle_timeout: idle,
        ..ServerConfig::default()
    }
}

/// Returns a note at one fixed point.
fn note(message: &str) -> pb::RouteNote {
    pb::RouteNote {
        location: Some(pb_point(7, 7)),
        message: message.to_owned(),
    }
}

/// Asserts that `status` is the idle timeout's.
fn assert_idle(status: &tonic::Status, what: &str) {
    assert_eq!(status.code(), Code::DeadlineExceeded, "{what}: {status:?}");
    assert!(
        status.message().starts_with("stream idle: "),
        "{what}: {status:?}"
    );
}

#[tokio::test]
async fn a_silent_open_stream_ends_with_deadline_exceeded_on_every_rpc() {
    let server = TestServer::start_with(
        routeguide::db::builtin(),
        server_config(Duration::from_millis(300)),
    )
    .await;
    for gzip in [false, true] {
        let mut client = server.client().await;
        if gzip {
            client = client
                .send_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Gzip);
        }
        // One point, then silence with the stream left open.
        let (points, receiver) = mpsc::channel(1);
        points.send(pb_point(1, 1)).await.unwrap();
        let status = client
            .record_route(ReceiverStream::new(receiver))
            .await
            .unwrap_err();
        assert_idle(&status, "RecordRoute");
        drop(points);

        let (notes, receiver) = mpsc::channel(1);
        notes.send(note("then nothing")).await.unwrap();
        let mut replies = client
            .route_chat(ReceiverStream::new(receiver))
            .await
            .unwrap()
            .into_inner();
        let status = loop {
            match replies.message().await {
                Ok(Some(_)) => {}
                Ok(None) => panic!("RouteChat ended without a status"),
                Err(status) => break status,
            }
        };
        assert_idle(&status, "RouteChat");
        drop(notes);
    }
    // Unary requests whose body never comes.
    for path in [
        "/routeguide.RouteGuide/GetFeature",
        "/routeguide.RouteGuide/ListFeatures",
    ] {
        let end = call_raw(server.addr, path, &[], &[], false, Duration::from_secs(20)).await;
        assert_eq!(end.grpc_status.as_deref(), Some("4"), "{path}: {end:?}");
        let message = end.grpc_message.unwrap_or_default();
        // grpc-message is percent-encoded on the wire.
        assert!(message.starts_with("stream%20idle"), "{path}: {message}");
    }
    let text = server.scrape().await;
    assert!(
        text.contains("\nrouteguide_stream_idle_timeouts_total 6\n"),
        "{text}"
    );
    assert_healthy(&server).await;
}

#[tokio::test]
async fn a_stream_with_traffic_is_not_idle() {
    let idle = Duration::from_millis(1000);
    let server = TestServer::start_with(routeguide::db::builtin(), server_config(idle)).await;
    let mut client = server.client().await;
    let (notes, receiver) = mpsc::channel(1);
    let mut replies = client
        .route_chat(ReceiverStream::new(receiver))
        .await
        .unwrap()
        .into_inner();
    // Twelve notes a tenth of the timeout apart, each at a point of its own so that the
    // server sends nothing back: the client's messages alone keep the call alive past
    // the timeout (the server's replies count too; see the unit tests).
    for i in 0..12 {
        let note = pb::RouteNote {
            location: Some(pb_point(i, 9)),
            message: format!("note {i}"),
        };
        notes.send(note).await.unwrap();
        tokio::time::sleep(idle / 10).await;
    }
    drop(notes);
    assert!(replies.message().await.unwrap().is_none());
}
