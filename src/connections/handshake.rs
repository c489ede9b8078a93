//! `HandshakeIncoming`: a connection that has not finished the HTTP/2 handshake within
//! `--handshake-timeout` is closed (slow loris).
//!
//! hyper's HTTP/2 server waits for the client's preface without a deadline, and tonic 0.14
//! exposes none (its `timeout` bounds calls, `http2_keepalive_*` starts after the
//! handshake), so the connection's reads carry one: until the client's preface and its
//! first frame (the SETTINGS the protocol requires) have arrived in full, a read fails
//! once the deadline has passed, and hyper closes the connection.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};
use tonic::transport::server::Connected;

use super::PeerAddress;

use super::forward_io;
use crate::metrics::Metrics;

/// The client connection preface's length ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").
const PREFACE: usize = 24;
/// The length of an HTTP/2 frame header.
const FRAME_HEADER: usize = 9;

/// Wraps a stream of accepted connections so that each must finish the HTTP/2 handshake
/// within `timeout` of being accepted, or be closed and counted in
/// `routeguide_handshake_timeouts_total`.
pub struct HandshakeIncoming<S> {
    inner: Pin<Box<S>>,
    timeout: Duration,
    metrics: Metrics,
}

impl<S> HandshakeIncoming<S> {
    /// Returns `inner` with the handshake of each connection bounded by `timeout`.
    pub fn new(inner: S, timeout: Duration, metrics: Metrics) -> Self {
        Self {
            inner: Box::pin(inner),
            timeout,
            metrics,
        }
    }
}

impl<S, IO, E> Stream for HandshakeIncoming<S>
where
    S: Stream<Item = Result<IO, E>>,
    IO: Connected,
    IO::ConnectInfo: PeerAddress,
{
    type Item = Result<HandshakeGuarded<IO>, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = ready!(self.inner.as_mut().poll_next(cx));
        let deadline = Instant::now() + self.timeout;
        Poll::Ready(next.map(|accepted| {
            accepted.map(|inner| HandshakeGuarded {
                handshake: Some(Handshake {
                    peer: inner.connect_info().peer(),
                    deadline: Box::pin(tokio::time::sleep_until(deadline)),
                    head: [0; PREFACE + FRAME_HEADER],
                    seen: 0,
                    metrics: self.metrics.clone(),
                }),
                inner,
            })
        }))
    }
}

/// What a connection still owes of its handshake.
struct Handshake {
    deadline: Pin<Box<Sleep>>,
    /// The preface and the first frame's header, as far as they have arrived.
    head: [u8; PREFACE + FRAME_HEADER],
    /// How many bytes the client has sent so far.
    seen: usize,
    /// Who the client is, for the log.
    peer: Option<std::net::SocketAddr>,
    metrics: Metrics,
}

impl Handshake {
    /// Takes note of `bytes` read from the client; returns whether the handshake is done:
    /// the preface and the whole first frame have arrived.
    fn read(&mut self, bytes: &[u8]) -> bool {
        let head = self.head.len();
        if self.seen < head {
            let take = bytes.len().min(head - self.seen);
            self.head[self.seen..self.seen + take].copy_from_slice(&bytes[..take]);
        }
        self.seen = self.seen.saturating_add(bytes.len());
        if self.seen < head {
            return false;
        }
        let length = &self.head[PREFACE..PREFACE + 3];
        let length = u32::from_be_bytes([0, length[0], length[1], length[2]]) as usize;
        self.seen >= head + length
    }
}

/// A connection whose reads fail once its handshake deadline has passed unfinished.
pub struct HandshakeGuarded<IO> {
    inner: IO,
    /// `None` once the handshake is done.
    handshake: Option<Handshake>,
}

impl<IO: Connected> Connected for HandshakeGuarded<IO> {
    type ConnectInfo = IO::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

forward_io!(HandshakeGuarded);

impl<IO: AsyncRead + Unpin> AsyncRead for HandshakeGuarded<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let Some(handshake) = &mut this.handshake else {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        };
        let before = buf.filled().len();
        let read = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = read
            && handshake.read(&buf.filled()[before..])
        {
            this.handshake = None;
            return read;
        }
        // Checked on every read, so a client that trickles bytes is cut off too.
        if handshake.deadline.as_mut().poll(cx).is_pending() {
            return read;
        }
        handshake.metrics.handshake_timed_out();
        tracing::debug!(
            peer = handshake.peer.map(tracing::field::display),
            "connection closed: http/2 handshake not finished in time (--handshake-timeout)"
        );
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "http/2 handshake not finished in time",
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks` to a fresh handshake and returns whether each finished it.
    fn check(chunks: &[&[u8]]) -> Vec<bool> {
        let mut handshake = Handshake {
            deadline: Box::pin(tokio::time::sleep(Duration::ZERO)),
            head: [0; PREFACE + FRAME_HEADER],
            seen: 0,
            peer: None,
            metrics: Metrics::new(),
        };
        chunks.iter().map(|chunk| handshake.read(chunk)).collect()
    }

    const HELLO: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

    #[tokio::test]
    async fn the_handshake_ends_with_the_first_frame() {
        let empty_settings: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];
        let settings_of_six: &[u8] = &[0, 0, 6, 4, 0, 0, 0, 0, 0];
        assert_eq!(check(&[HELLO, empty_settings]), vec![false, true]);
        assert_eq!(check(&[&[HELLO, empty_settings].concat()]), vec![true]);
        assert_eq!(check(&[HELLO, &settings_of_six[..4]]), vec![false, false]);
        assert_eq!(
            check(&[HELLO, settings_of_six, &[1, 2, 3], &[4, 5, 6, 7]]),
            vec![false, false, false, true]
        );
        assert_eq!(check(&[b"PRI * HTTP/2.0"]), vec![false]);
    }
}
