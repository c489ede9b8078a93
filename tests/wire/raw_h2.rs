//! A bare HTTP/2 gRPC caller that enforces no deadline of its own and sends any bytes, so
//! tests see exactly the status the server sends (tonic's client races the server with its
//! own `CANCELLED`) and can frame a request body however they like.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use prost::Message;

/// How the server ended a call, and the response headers (but `date`) and body it sent.
#[derive(Debug, PartialEq, Eq)]
pub struct CallEnd {
    pub grpc_status: Option<String>,
    pub grpc_message: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Returns `message` in gRPC's length-prefixed framing.
pub fn frame(message: &impl Message) -> Bytes {
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
    let frames: Vec<Bytes> = messages.iter().map(frame).collect();
    call_raw(
        addr,
        path,
        &[("grpc-timeout", timeout)],
        &frames,
        false,
        give_up,
    )
    .await
}

/// Calls `path` with `headers` added, sends each of `data_frames` as one HTTP/2 DATA frame,
/// half-closes the request if `half_close`, and waits until the server ends the call;
/// gives up after `give_up`.
pub async fn call_raw(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    data_frames: &[Bytes],
    half_close: bool,
    give_up: Duration,
) -> CallEnd {
    let (response, mut send) = open_call(addr, path, headers).await;
    for data in data_frames {
        send.send_data(data.clone(), false).unwrap();
    }
    if half_close {
        send.send_data(Bytes::new(), true).unwrap();
    }
    let end = tokio::time::timeout(give_up, async {
        let response = response.await.unwrap();
        let (parts, mut body) = response.into_parts();
        let header = |map: &http::HeaderMap, name: &str| {
            map.get(name)
                .map(|v| v.to_str().unwrap_or_default().to_owned())
        };
        let mut headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .filter(|(name, _)| *name != "date")
            .map(|(name, value)| {
                let value = value.to_str().unwrap_or_default().to_owned();
                (name.as_str().to_owned(), value)
            })
            .collect();
        headers.sort();
        if parts.headers.contains_key("grpc-status") {
            // Trailers-only response.
            return CallEnd {
                grpc_status: header(&parts.headers, "grpc-status"),
                grpc_message: header(&parts.headers, "grpc-message"),
                headers,
                body: Vec::new(),
            };
        }
        let mut received = Vec::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.unwrap();
            let _ = body.flow_control().release_capacity(chunk.len());
            received.extend_from_slice(&chunk);
        }
        let trailers = body.trailers().await.unwrap().unwrap_or_default();
        CallEnd {
            grpc_status: header(&trailers, "grpc-status"),
            grpc_message: header(&trailers, "grpc-message"),
            headers,
            body: received,
        }
    })
    .await
    .expect("the server ends the call by itself");
    drop(send);
    end
}

/// Opens a call of `path` with `headers` added on a new connection and returns its
/// response and its request stream (to send DATA frames, half-close or reset).
pub async fn open_call(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (h2::client::ResponseFuture, h2::SendStream<Bytes>) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let mut client = client.ready().await.unwrap();
    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let (response, send) = client
        .send_request(request.body(()).unwrap(), false)
        .unwrap();
    (response, send)
}
