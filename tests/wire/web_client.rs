//! A small HTTP/1.1 client for the gRPC-Web and map page tests: one request per connection,
//! gRPC-Web framing in both modes (binary and text), and the response split into messages
//! and trailers.

use std::net::SocketAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::{Buf, Bytes};
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

/// The two gRPC-Web body encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `application/grpc-web+proto`: frames as they are.
    Binary,
    /// `application/grpc-web-text`: frames in base64.
    Text,
}

impl Mode {
    /// Returns the content type a request in this mode carries.
    pub fn content_type(self) -> &'static str {
        match self {
            Mode::Binary => "application/grpc-web+proto",
            Mode::Text => "application/grpc-web-text",
        }
    }
}

/// Sends `request` over a new HTTP/1.1 connection to `addr`; returns the response with its
/// whole body.
pub async fn send(addr: SocketAddr, request: Request<Full<Bytes>>) -> Response<Bytes> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    let driver = tokio::spawn(connection);
    let response = sender.send_request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    driver.abort();
    Response::from_parts(parts, body)
}

/// Returns an HTTP/1.1 request builder for `path` on `addr` with its `host` header.
pub fn request(addr: SocketAddr, method: &str, path: &str) -> http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
}

/// Returns the gRPC-Web request body holding `messages`, one frame each.
pub fn frames<M: prost::Message>(messages: &[M], mode: Mode) -> Bytes {
    let mut body = Vec::new();
    for message in messages {
        let encoded = message.encode_to_vec();
        body.push(0u8);
        body.extend_from_slice(&(encoded.len() as u32).to_be_bytes());
        body.extend_from_slice(&encoded);
    }
    match mode {
        Mode::Binary => Bytes::from(body),
        Mode::Text => Bytes::from(STANDARD.encode(body)),
    }
}

/// A gRPC-Web response: HTTP status and headers, the messages, and the trailer frame.
#[derive(Debug)]
pub struct WebCall {
    /// The HTTP status (200 for every gRPC outcome).
    pub http_status: http::StatusCode,
    /// The HTTP response headers.
    pub headers: HeaderMap,
    /// The payload of each message frame, in order.
    pub messages: Vec<Bytes>,
    /// The trailers sent in the body's trailer frame (empty for a trailers-only response).
    pub trailers: HeaderMap,
}

impl WebCall {
    /// Returns the call's `grpc-status`, from the trailer frame or, for a trailers-only
    /// response, from the headers.
    pub fn grpc_status(&self) -> Option<i32> {
        self.field("grpc-status").and_then(|s| s.parse().ok())
    }

    /// Returns the call's `grpc-message`, percent-decoded as far as tests need (spaces).
    pub fn grpc_message(&self) -> String {
        self.field("grpc-message")
            .unwrap_or_default()
            .replace("%20", " ")
    }

    /// Returns the messages decoded as `M`.
    pub fn decode<M: prost::Message + Default>(&self) -> Vec<M> {
        self.messages
            .iter()
            .map(|m| M::decode(m.clone()).unwrap())
            .collect()
    }

    fn field(&self, name: &str) -> Option<String> {
        self.trailers
            .get(name)
            .or_else(|| self.headers.get(name))
            .map(|v| v.to_str().unwrap().to_owned())
    }
}

/// Calls `/routeguide.RouteGuide/{rpc}` with `messages` as the whole request body, in
/// `mode`, with the extra `headers`; returns the split response.
pub async fn call<M: prost::Message>(
    addr: SocketAddr,
    rpc: &str,
    messages: &[M],
    mode: Mode,
    headers: &[(&str, &str)],
) -> WebCall {
    let mut builder = request(addr, "POST", &format!("/routeguide.RouteGuide/{rpc}"))
        .header("content-type", mode.content_type())
        .header("accept", mode.content_type())
        .header("x-grpc-web", "1");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let response = send(
        addr,
        builder.body(Full::new(frames(messages, mode))).unwrap(),
    )
    .await;
    let (parts, body) = response.into_parts();
    let content_type = parts
        .headers
        .get("content-type")
        .map(|v| v.to_str().unwrap());
    let mut body = match mode {
        Mode::Binary => body,
        Mode::Text => {
            if !body.is_empty() {
                assert_eq!(content_type, Some("application/grpc-web-text+proto"));
            }
            decode_text(&body)
        }
    };
    let mut call = WebCall {
        http_status: parts.status,
        headers: parts.headers,
        messages: Vec::new(),
        trailers: HeaderMap::new(),
    };
    while body.has_remaining() {
        let flag = body.get_u8();
        let length = body.get_u32() as usize;
        let payload = body.split_to(length);
        if flag & 0x80 != 0 {
            call.trailers = parse_trailers(&payload);
        } else {
            assert_eq!(flag, 0, "compressed or unknown frame");
            call.messages.push(payload);
        }
    }
    call
}

/// Decodes a grpc-web-text body: base64 whose chunks may each end in padding, so it is
/// decoded four characters at a time.
fn decode_text(body: &[u8]) -> Bytes {
    assert_eq!(body.len() % 4, 0, "base64 in whole quads");
    let mut out = Vec::new();
    for quad in body.chunks(4) {
        out.extend(STANDARD.decode(quad).unwrap());
    }
    Bytes::from(out)
}

/// Parses a trailer frame: `name: value` lines separated by CRLF.
fn parse_trailers(payload: &[u8]) -> HeaderMap {
    let text = std::str::from_utf8(payload).unwrap();
    let mut trailers = HeaderMap::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').unwrap();
        trailers.append(
            http::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
            value.trim().parse().unwrap(),
        );
    }
    trailers
}
