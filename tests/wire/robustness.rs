//! Hostile clients: garbage payloads, garbage bytes on the socket, mass-abandoned streams.

use std::time::Duration;

use routeguide::config::ServerConfig;
use routeguide::pb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

use super::logs::logs;
use super::raw_codec::RawCodec;
use super::support::{TestServer, assert_healthy, grid_index, pb_point};

const METHODS: [&str; 4] = [
    "/routeguide.RouteGuide/GetFeature",
    "/routeguide.RouteGuide/ListFeatures",
    "/routeguide.RouteGuide/RecordRoute",
    "/routeguide.RouteGuide/RouteChat",
];

fn garbage_payloads() -> Vec<Vec<u8>> {
    vec![
        vec![0xff; 64],               // invalid tags and varints
        vec![0x0a, 0x05, 0x08],       // length-delimited field cut short
        vec![0x12, 0x02, 0xc3, 0x28], // invalid UTF-8 in a string field
        vec![
            0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ], // overlong varint
        (0..=255u8).collect(),
        Vec::new(), // empty is a valid default message
    ]
}

#[tokio::test]
async fn garbage_messages_get_error_statuses_not_crashes() {
    let server = TestServer::start().await;
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    for method in METHODS {
        for payload in garbage_payloads() {
            grpc.ready().await.unwrap();
            let path = http::uri::PathAndQuery::from_static(method);
            let request = tonic::Request::new(futures::stream::iter(vec![payload.clone()]));
            let result = grpc.streaming(request, path, RawCodec).await;
            // Decoding failures surface as a status on the call or on its stream.
            if let Ok(response) = result {
                let mut stream = response.into_inner();
                while let Ok(Some(_)) = stream.message().await {}
            }
        }
    }
    assert_healthy(&server).await;
}

/// Point bytes prost rejects, each for a different reason.
fn undecodable_points() -> Vec<Vec<u8>> {
    vec![
        vec![0xff; 8],                               // an invalid key and varint
        vec![0x08, 0x80],                            // a varint cut short
        vec![0x0d, 0x01, 0x02],                      // field 1 as a fixed32 cut short
        [&[0x08][..], &[0xff; 9], &[0x02]].concat(), // a tenth varint byte above 1
    ]
}

/// Asserts that `status` is INTERNAL with prost's own error for `bytes` as its message.
fn assert_prosts_error(status: &tonic::Status, bytes: &[u8]) {
    use prost::Message;
    let expected = pb::Point::decode(bytes).unwrap_err().to_string();
    assert_eq!(status.code(), tonic::Code::Internal, "{status:?}");
    assert_eq!(status.message(), expected, "{bytes:02x?}");
}

#[tokio::test]
async fn undecodable_point_is_internal_with_prosts_message() {
    let server = TestServer::start().await;
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    for bytes in undecodable_points() {
        grpc.ready().await.unwrap();
        let path = http::uri::PathAndQuery::from_static("/routeguide.RouteGuide/GetFeature");
        let status = grpc
            .unary(tonic::Request::new(bytes.clone()), path, RawCodec)
            .await
            .unwrap_err();
        assert_prosts_error(&status, &bytes);
    }
}

#[tokio::test]
async fn undecodable_point_mid_route_is_internal_with_prosts_message() {
    use prost::Message;
    let server = TestServer::start().await;
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    let valid = pb_point(409_146_138, -746_188_906).encode_to_vec();
    for bytes in undecodable_points() {
        grpc.ready().await.unwrap();
        let path = http::uri::PathAndQuery::from_static("/routeguide.RouteGuide/RecordRoute");
        let messages = vec![valid.clone(), valid.clone(), bytes.clone(), valid.clone()];
        let request = tonic::Request::new(futures::stream::iter(messages));
        let status = grpc
            .client_streaming(request, path, RawCodec)
            .await
            .unwrap_err();
        assert_prosts_error(&status, &bytes);
    }
}

#[tokio::test]
async fn garbage_bytes_on_the_socket_leave_the_server_healthy() {
    let server = TestServer::start().await;
    let junk: Vec<Vec<u8>> = vec![
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect(),
        [b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".as_slice(), &[0xff; 512]].concat(),
        [
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".as_slice(),
            &[0, 0, 4, 1, 0, 0, 0, 0, 1, 1, 2, 3],
        ]
        .concat(),
    ];
    for bytes in junk {
        let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let _ = socket.write_all(&bytes).await;
        let mut sink = vec![0; 4096];
        // The server answers or closes; either way it must not hang forever.
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while let Ok(n) = socket.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
        })
        .await;
    }
    assert_healthy(&server).await;
}

#[tokio::test]
async fn hundreds_of_abandoned_streams_leave_the_server_healthy() {
    let server = TestServer::start().await;
    let channels: Vec<Channel> = futures::future::join_all((0..3).map(|_| server.channel())).await;
    // The tutorial rectangle: 100 features per stream, small enough that hundreds of unread
    // streams do not exhaust the connection's flow-control window.
    let tutorial = pb::Rectangle {
        lo: Some(pb_point(400_000_000, -750_000_000)),
        hi: Some(pb_point(420_000_000, -730_000_000)),
    };
    let mut held = Vec::new();
    let mut senders = Vec::new();
    for i in 0..300 {
        let mut client = pb::route_guide_client::RouteGuideClient::new(channels[i % 3].clone());
        let mut features = client.list_features(tutorial).await.unwrap().into_inner();
        features.message().await.unwrap().unwrap();
        held.push(features);

        let (notes, receiver) = mpsc::channel(1);
        notes
            .send(pb::RouteNote {
                location: Some(pb_point(i as i32, 0)),
                message: "bye".into(),
            })
            .await
            .unwrap();
        let chat = client
            .route_chat(ReceiverStream::new(receiver))
            .await
            .unwrap();
        senders.push((notes, chat));
    }
    drop(held);
    drop(senders);
    drop(channels);
    assert_healthy(&server).await;
}

#[tokio::test]
async fn abandoned_whole_database_streams_stop_producing() {
    let server = TestServer::start_with(grid_index(200_000), ServerConfig::default()).await;
    let world = pb::Rectangle {
        lo: Some(pb_point(-900_000_000, -1_800_000_000)),
        hi: Some(pb_point(900_000_000, 1_800_000_000)),
    };
    for round in 0..50 {
        let agent = format!("abandoned-whole-database-{round}");
        let mut client = server.client_as(&agent).await;
        let mut features = client.list_features(world).await.unwrap().into_inner();
        features.message().await.unwrap().unwrap();
    }
    // Each client and its connection are gone: each stream was dropped, not drained.
    for round in 0..50 {
        let agent = format!("abandoned-whole-database-{round} ");
        logs()
            .wait_for(&["rpc=\"ListFeatures\"", &agent, "call cancelled by client"])
            .await;
    }
    assert_healthy(&server).await;
}

/// Unknown methods of the service and unknown services answer `UNIMPLEMENTED`, and health
/// keeps its route.
#[tokio::test]
async fn unknown_methods_and_services_are_unimplemented() {
    let server = TestServer::start().await;
    for path in [
        "/routeguide.RouteGuide/NoSuchMethod",
        "/routeguide.RouteGuideV2/GetFeature",
        "/no.such.Service/GetFeature",
    ] {
        let mut grpc = tonic::client::Grpc::new(server.channel().await);
        grpc.ready().await.unwrap();
        let result: Result<tonic::Response<pb::Feature>, tonic::Status> = grpc
            .unary(
                tonic::Request::new(pb_point(1, 1)),
                http::uri::PathAndQuery::from_static(path),
                tonic_prost::ProstCodec::default(),
            )
            .await;
        assert_eq!(
            result.unwrap_err().code(),
            tonic::Code::Unimplemented,
            "{path}"
        );
    }
    assert_healthy(&server).await;
}
