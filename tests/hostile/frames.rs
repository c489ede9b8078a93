//! Raw sockets: what the server sends back, read as HTTP/2 frames, and how the connection ends.

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::target::PATIENCE;

/// The client connection preface of HTTP/2 (RFC 9113, section 3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// HTTP/2 frame types the tests name.
pub const HEADERS: u8 = 0x1;
pub const SETTINGS: u8 = 0x4;
pub const GOAWAY: u8 = 0x7;

/// One frame the server sent: its type and, for GOAWAY, the error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    pub kind: u8,
    pub goaway_code: Option<u32>,
}

/// Everything the server sent on a connection until it closed it.
#[derive(Debug)]
pub struct Received {
    pub frames: Vec<Frame>,
}

impl Received {
    /// Returns the kinds of the frames, in order.
    pub fn kinds(&self) -> Vec<u8> {
        self.frames.iter().map(|f| f.kind).collect()
    }

    /// Returns the error code of the GOAWAY frame, if the server sent one.
    pub fn goaway(&self) -> Option<u32> {
        self.frames.iter().find_map(|f| f.goaway_code)
    }
}

/// Returns the whole frames at the start of `bytes` (a frame cut short by the end of the
/// connection is left out).
pub fn parse_frames(mut bytes: &[u8]) -> Vec<Frame> {
    let mut frames = Vec::new();
    while bytes.len() >= 9 {
        let length = u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]) as usize;
        if bytes.len() < 9 + length {
            break;
        }
        let (kind, payload) = (bytes[3], &bytes[9..9 + length]);
        let goaway_code = (kind == GOAWAY && payload.len() >= 8)
            .then(|| u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]));
        frames.push(Frame { kind, goaway_code });
        bytes = &bytes[9 + length..];
    }
    frames
}

/// Reads until the server closes `socket` (end of file or a reset) and returns what it
/// sent; panics if it keeps the connection open for [`PATIENCE`].
pub async fn read_until_closed(socket: &mut TcpStream) -> Received {
    let mut bytes = Vec::new();
    let read_all = async {
        let mut chunk = vec![0; 16 * 1024];
        loop {
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(PATIENCE, read_all)
        .await
        .expect("the server closes the connection");
    Received {
        frames: parse_frames(&bytes),
    }
}

/// Reads the server's first frame (its SETTINGS, which it sends without waiting for the
/// client) and returns its kind; panics if none comes within [`PATIENCE`].
pub async fn read_first_frame(socket: &mut TcpStream) -> u8 {
    let mut header = [0; 9];
    tokio::time::timeout(PATIENCE, socket.read_exact(&mut header))
        .await
        .expect("the server sends a frame")
        .expect("the connection stays open for the first frame");
    let length = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
    let mut payload = vec![0; length];
    tokio::time::timeout(PATIENCE, socket.read_exact(&mut payload))
        .await
        .expect("the server sends the whole frame")
        .unwrap();
    header[3]
}

/// Sends the client preface and an empty SETTINGS frame on `socket`, then returns the kind
/// of the server's first frame (the server also speaks HTTP/1.1, so it says nothing until
/// the client's first bytes show HTTP/2).
pub async fn open_http2(socket: &mut TcpStream) -> u8 {
    use tokio::io::AsyncWriteExt;
    let empty_settings = [0, 0, 0, SETTINGS, 0, 0, 0, 0, 0];
    socket
        .write_all(&[PREFACE, &empty_settings[..]].concat())
        .await
        .expect("the connection is open");
    read_first_frame(socket).await
}
