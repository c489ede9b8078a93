//! Per-call limits: an oversized request message is `RESOURCE_EXHAUSTED` on every RPC,
//! compressed or not, and a connection gets no more concurrent streams than allowed;
//! the server keeps serving others meanwhile.

use std::time::Duration;

use routeguide::config::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;
use tonic::codec::CompressionEncoding;

use super::raw_codec::RawCodec;
use super::support::{TestServer, assert_healthy};

/// The message size limit of the servers below.
const LIMIT: usize = 1024;

/// Returns `n` bytes that gzip cannot shrink (a deterministic pseudo-random sequence).
fn incompressible(n: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Calls `method` with `messages` as raw bytes and returns the status it ended with.
async fn call(
    server: &TestServer,
    method: &str,
    messages: Vec<Vec<u8>>,
    gzip: bool,
) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    if gzip {
        grpc = grpc.send_compressed(CompressionEncoding::Gzip);
    }
    grpc.ready().await.unwrap();
    let path = http::uri::PathAndQuery::try_from(method).unwrap();
    let request = tonic::Request::new(futures::stream::iter(messages));
    match grpc.streaming(request, path, RawCodec).await {
        Err(status) => status,
        Ok(response) => {
            let mut replies = response.into_inner();
            loop {
                match replies.message().await {
                    Ok(Some(_)) => {}
                    Ok(None) => return tonic::Status::ok(""),
                    Err(status) => return status,
                }
            }
        }
    }
}

#[tokio::test]
async fn an_oversized_message_is_resource_exhausted_on_every_rpc() {
    let config = ServerConfig {
        max_message_bytes: LIMIT,
        ..ServerConfig::default()
    };
    let server = TestServer::start_with(routeguide::db::builtin(), config).await;
    // A valid point first on the streaming RPCs, so the oversized message is not the first.
    let point = vec![0x08, 0x01, 0x10, 0x02];
    let note = vec![0x0a, 0x04, 0x08, 0x01, 0x10, 0x02];
    let cases = [
        ("/routeguide.RouteGuide/GetFeature", None),
        ("/routeguide.RouteGuide/ListFeatures", None),
        ("/routeguide.RouteGuide/RecordRoute", Some(point)),
        ("/routeguide.RouteGuide/RouteChat", Some(note)),
    ];
    for (method, first) in cases {
        for gzip in [false, true] {
            let mut messages: Vec<Vec<u8>> = first.iter().cloned().collect();
            messages.push(incompressible(LIMIT + 1));
            let status = call(&server, method, messages, gzip).await;
            assert_eq!(
                status.code(),
                Code::ResourceExhausted,
                "{method} gzip {gzip}: {status:?}"
            );
            let message = status.message();
            let found = if gzip {
                // The compressed message is a little longer than the original.
                message.split(' ').nth(5).unwrap_or_default().to_owned()
            } else {
                (LIMIT + 1).to_string()
            };
            assert!(found.parse::<usize>().unwrap_or(0) > LIMIT, "{message}");
            assert_eq!(
                message,
                format!(
                    "request message too large: found {found} bytes, the limit is {LIMIT} bytes"
                ),
                "{method} gzip {gzip}"
            );
        }
        // Compressible bytes fit the limit compressed, not once decompressed.
        let status = call(&server, method, vec![vec![0; 4 * LIMIT]], true).await;
        assert_eq!(
            status.code(),
            Code::ResourceExhausted,
            "{method}: {status:?}"
        );
        assert_eq!(
            status.message(),
            format!("request message too large: over {LIMIT} bytes once decompressed")
        );
    }
    // A message at the limit passes the size check (and then fails to decode, as it is
    // not a point).
    let status = call(
        &server,
        "/routeguide.RouteGuide/GetFeature",
        vec![incompressible(LIMIT)],
        false,
    )
    .await;
    assert_ne!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_healthy(&server).await;
}

/// Returns one HTTP/2 frame.
fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let length = (payload.len() as u32).to_be_bytes();
    let mut frame = vec![length[1], length[2], length[3], kind, flags];
    frame.extend_from_slice(&stream.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// Returns a HEADERS frame (END_HEADERS, stream left open) opening a RouteChat call on
/// `stream`, its fields HPACK-encoded as literals without indexing or Huffman coding.
fn open_route_chat(stream: u32) -> Vec<u8> {
    let mut block = Vec::new();
    for (name, value) in [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", "/routeguide.RouteGuide/RouteChat"),
        (":authority", "localhost"),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    ] {
        block.push(0);
        block.push(name.len() as u8);
        block.extend_from_slice(name.as_bytes());
        block.push(value.len() as u8);
        block.extend_from_slice(value.as_bytes());
    }
    h2_frame(0x1, 0x4, stream, &block)
}

/// HTTP/2's frame types and error code used below.
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const REFUSED_STREAM: u32 = 0x7;

#[tokio::test]
async fn a_connection_gets_no_more_concurrent_streams_than_allowed() {
    let config = ServerConfig {
        max_concurrent_streams: 2,
        ..ServerConfig::default()
    };
    let server = TestServer::start_with(routeguide::db::builtin(), config).await;
    // A raw client, since h2's own holds back streams beyond the server's limit.
    let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend(h2_frame(0x4, 0, 0, &[]));
    for stream in [1, 3, 5] {
        hello.extend(open_route_chat(stream));
    }
    socket.write_all(&hello).await.unwrap();
    // Streams 1 and 3 get their response headers, stream 5 is refused.
    let (mut answered, mut resets) = (Vec::new(), Vec::new());
    tokio::time::timeout(Duration::from_secs(20), async {
        while answered.len() < 2 || resets.is_empty() {
            let mut header = [0u8; 9];
            socket.read_exact(&mut header).await.unwrap();
            let length = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
            let stream = u32::from_be_bytes([header[5], header[6], header[7], header[8]]);
            let mut payload = vec![0; length];
            socket.read_exact(&mut payload).await.unwrap();
            match header[3] {
                HEADERS => answered.push(stream),
                RST_STREAM => {
                    let code = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]);
                    resets.push((stream, code));
                }
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("answered {answered:?}, reset {resets:?}"));
    answered.sort_unstable();
    assert_eq!(answered, vec![1, 3]);
    assert_eq!(resets, vec![(5, REFUSED_STREAM)]);
    // Both streams stay open on that connection while other clients are served.
    assert_healthy(&server).await;
    drop(socket);
}
