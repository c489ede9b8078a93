//! A client that goes away stops the server's work for its call: the producer of each
//! streaming RPC logs that it stopped, and the server keeps serving.

use prost::Message;
use routeguide::config::ServerConfig;
use routeguide::pb;

use super::logs::logs;
use super::raw_h2::{frame, open_call};
use super::support::{TestServer, assert_healthy, grid_index, pb_point};

/// Features in the database: far more than one call could stream before the test cancels.
const FEATURES: i32 = 200_000;

/// Returns the number in `field=N` of a log line.
fn field(line: &str, field: &str) -> u64 {
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(&format!("{field}=")))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {line}"))
}

#[tokio::test]
async fn a_dropped_list_features_stream_stops_producing() {
    let server = TestServer::start_with(grid_index(FEATURES), ServerConfig::default()).await;
    let world = pb::Rectangle {
        lo: Some(pb_point(-900_000_000, -1_800_000_000)),
        hi: Some(pb_point(900_000_000, 1_800_000_000)),
    };
    for round in 0..5 {
        let agent = format!("abandoned-list-{round}");
        let mut client = server.client_as(&agent).await;
        let mut stream = client.list_features(world).await.unwrap().into_inner();
        stream.message().await.unwrap().unwrap();
        drop(stream);
        let line = logs()
            .wait_for(&["rpc=\"ListFeatures\"", &agent, "call cancelled by client"])
            .await;
        let sent = field(&line, "items");
        assert!(sent < FEATURES as u64, "it streamed everything: {line}");
    }
    assert_healthy(&server).await;
}

/// Returns the next gRPC message of `body`, reading more DATA frames as needed.
async fn next_message<M: Message + Default>(body: &mut h2::RecvStream, buffer: &mut Vec<u8>) -> M {
    loop {
        if buffer.len() >= 5 {
            let length = u32::from_be_bytes([buffer[1], buffer[2], buffer[3], buffer[4]]) as usize;
            if buffer.len() >= 5 + length {
                let message = M::decode(&buffer[5..5 + length]).unwrap();
                buffer.drain(..5 + length);
                return message;
            }
        }
        let chunk = body.data().await.expect("more data").unwrap();
        let _ = body.flow_control().release_capacity(chunk.len());
        buffer.extend_from_slice(&chunk);
    }
}

#[tokio::test]
async fn a_reset_route_chat_stops_reading_notes() {
    let server = TestServer::start().await;
    let agent = "abandoned-chat";
    let (response, mut request) = open_call(
        server.addr,
        "/routeguide.RouteGuide/RouteChat",
        &[("user-agent", agent)],
    )
    .await;
    for message in ["first", "second"] {
        let note = pb::RouteNote {
            location: Some(pb_point(7, 7)),
            message: message.into(),
        };
        request.send_data(frame(&note), false).unwrap();
    }
    // The second note's replay of the first shows the reader at work; the request stays
    // open, so only the reset can stop it.
    let mut body = response.await.unwrap().into_body();
    let reply: pb::RouteNote = next_message(&mut body, &mut Vec::new()).await;
    assert_eq!(reply.message, "first");
    request.send_reset(h2::Reason::CANCEL);
    let line = logs()
        .wait_for(&["rpc=\"RouteChat\"", agent, "call work stopped"])
        .await;
    assert_eq!(field(&line, "items"), 2, "{line}");
    assert_healthy(&server).await;
}

#[tokio::test]
async fn a_reset_record_route_stops_its_handler() {
    let server = TestServer::start().await;
    let agent = "abandoned-route";
    let (_response, mut request) = open_call(
        server.addr,
        "/routeguide.RouteGuide/RecordRoute",
        &[("user-agent", agent)],
    )
    .await;
    request.send_data(frame(&pb_point(0, 0)), false).unwrap();
    logs()
        .wait_for(&["rpc=\"RecordRoute\"", agent, "call started"])
        .await;
    request.send_reset(h2::Reason::CANCEL);
    // hyper reads a CANCEL reset as the end of the request body, so the handler sums up
    // the route it got (no one can receive the summary): its end-of-call line says so.
    let line = logs()
        .wait_for(&["rpc=\"RecordRoute\"", agent, "items="])
        .await;
    assert_eq!(field(&line, "items"), 1, "{line}");
    assert_healthy(&server).await;
}
