//! A bare HTTP/2 gRPC caller that enforces no deadline of its own, so tests see exactly the
//! status the server sends (tonic's client races the server with its own `CANCELLED`).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use prost::Message;

/// What the server ended a call with.
#[derive(Debug)]
pub struct CallEnd {
    pub grpc_status: Option<String>,
    pub grpc_message: Option<String>,
}

/// Returns `message` in gRPC's length-prefixed framing.
fn frame(message: &impl Message) -> Bytes {
    let body = message.encode_to_vec();
    let mut framed = Vec::with_capacity(body.len() + 5);
    framed.push(0);
    framed.extend_from_slice(&(body.len() as u32).to_be_bytes());
    framed.extend_from_slice(&body);
    Bytes::from(framed)
}

/// Calls `path` with `grpc-timeout: timeout`, sends `messages` and keeps the request open
/// (no half-close) until the server ends the call; gives up after `give_up`.
pub async fn call_and_keep_open(
    addr: SocketAddr,
    path: &str,
    timeout: &str,
    messages: &[impl Message],
    give_up: Duration,
) -> CallEnd {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let mut client = client.ready().await.unwrap();
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("grpc-timeout", timeout)
        .body(())
        .unwrap();
    let (response, mut send) = client.send_request(request, false).unwrap();
    for message in messages {
        send.send_data(frame(message), false).unwrap();
    }
    let end = tokio::time::timeout(give_up, async {
        let response = response.await.unwrap();
        let (parts, mut body) = response.into_parts();
        let header = |map: &http::HeaderMap, name: &str| {
            map.get(name)
                .map(|v| v.to_str().unwrap_or_default().to_owned())
        };
        if parts.headers.contains_key("grpc-status") {
            // Trailers-only response.
            return CallEnd {
                grpc_status: header(&parts.headers, "grpc-status"),
                grpc_message: header(&parts.headers, "grpc-message"),
            };
        }
        while let Some(chunk) = body.data().await {
            let chunk = chunk.unwrap();
            let _ = body.flow_control().release_capacity(chunk.len());
        }
        let trailers = body.trailers().await.unwrap().unwrap_or_default();
        CallEnd {
            grpc_status: header(&trailers, "grpc-status"),
            grpc_message: header(&trailers, "grpc-message"),
        }
    })
    .await
    .expect("the server ends the call by itself");
    drop(send);
    end
}
