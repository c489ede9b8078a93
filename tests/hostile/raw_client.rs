//! A raw HTTP/2 client (the `h2` crate) that builds gRPC requests by hand, so an attack can
//! open, abandon and reset streams and send headers the way no well-behaved client would.

use bytes::Bytes;
use prost::Message;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use super::target::PATIENCE;

/// One HTTP/2 connection: the handle that opens streams and the task that drives it, which
/// ends with the connection (an `Err` says how the server ended it).
pub struct Connection {
    pub streams: h2::client::SendRequest<Bytes>,
    pub driver: JoinHandle<Result<(), h2::Error>>,
}

/// Opens an HTTP/2 connection to `addr`.
pub async fn connect(addr: &str) -> Connection {
    let handshake = async {
        let tcp = TcpStream::connect(addr).await.unwrap();
        h2::client::handshake(tcp).await.unwrap()
    };
    let (streams, driver) = tokio::time::timeout(PATIENCE, handshake)
        .await
        .expect("the HTTP/2 handshake completes");
    Connection {
        streams,
        driver: tokio::spawn(driver),
    }
}

impl Connection {
    /// Waits until the server ends the connection, keeping it open from this side
    /// meanwhile, and returns how: the error (e.g. the server's GOAWAY) or `Ok` for a
    /// clean close; panics if the server keeps it open for [`PATIENCE`].
    pub async fn closed_by_server(self) -> Result<(), h2::Error> {
        let Connection { streams, driver } = self;
        let ended = tokio::time::timeout(PATIENCE, driver)
            .await
            .expect("the server closes the connection")
            .expect("the driver does not panic");
        drop(streams);
        ended
    }
}

/// Returns a gRPC request of `/routeguide.RouteGuide/METHOD` with `headers` added.
pub fn request(addr: &str, method: &str, headers: &[(String, String)]) -> http::Request<()> {
    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{addr}/routeguide.RouteGuide/{method}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.body(()).unwrap()
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

/// How the server answered a unary call: the HTTP status, and the `grpc-status` from the
/// trailers or a trailers-only response.
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    pub http_status: u16,
    pub grpc_status: Option<String>,
}

/// Sends `message` to `method` as a whole request (half-closed) on `connection` with
/// `headers` added, and returns the answer, or the stream or connection error.
pub async fn unary(
    connection: &Connection,
    addr: &str,
    method: &str,
    headers: &[(String, String)],
    message: &impl Message,
) -> Result<Answer, h2::Error> {
    let call = async {
        let mut streams = connection.streams.clone().ready().await?;
        let (response, mut body) = streams.send_request(request(addr, method, headers), false)?;
        body.send_data(frame(message), true)?;
        let response = response.await?;
        let http_status = response.status().as_u16();
        let grpc_status = |map: &http::HeaderMap| {
            let value = map.get("grpc-status")?;
            Some(value.to_str().unwrap_or_default().to_owned())
        };
        if let Some(status) = grpc_status(response.headers()) {
            return Ok(Answer {
                http_status,
                grpc_status: Some(status),
            });
        }
        let mut body = response.into_body();
        while let Some(chunk) = body.data().await {
            let chunk = chunk?;
            let _ = body.flow_control().release_capacity(chunk.len());
        }
        let trailers = body.trailers().await?.unwrap_or_default();
        Ok(Answer {
            http_status,
            grpc_status: grpc_status(&trailers),
        })
    };
    tokio::time::timeout(PATIENCE, call)
        .await
        .expect("the server answers the call")
}
