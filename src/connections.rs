//! Connection-level limits on the accepted sockets, before any call: at most
//! `--max-connections` open at once ([`LimitedIncoming`]), and a deadline for the HTTP/2
//! handshake ([`HandshakeIncoming`], in `handshake.rs`).
//!
//! Both wrap the stream of accepted connections that tonic serves and the connections
//! themselves, forwarding tonic's `Connected` information (the peer address) unchanged.

mod handshake;

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use futures::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::transport::server::Connected;

pub use handshake::{HandshakeGuarded, HandshakeIncoming};

use crate::metrics::Metrics;

/// Wraps a stream of accepted connections: while `max` of the connections it yielded are
/// open, a newly accepted one is closed at once (the client sees the connection closed,
/// without an HTTP/2 answer) and counted in `routeguide_connections_rejected_total`.
///
/// Closing at once, rather than leaving connections in the kernel's backlog, tells a
/// client to retry elsewhere in one round trip instead of after its own timeout. The
/// first refusal after the server had room logs a warning; later ones only count, so a
/// flood of connections cannot flood the log.
pub struct LimitedIncoming<S> {
    inner: Pin<Box<S>>,
    permits: Arc<Semaphore>,
    metrics: Metrics,
    /// Whether the last accepted connection was refused (so the next refusal is quieter).
    at_limit: bool,
}

impl<S> LimitedIncoming<S> {
    /// Returns `inner` limited to `max` open connections, counted in `metrics`.
    pub fn new(inner: S, max: usize, metrics: Metrics) -> Self {
        Self {
            inner: Box::pin(inner),
            permits: Arc::new(Semaphore::new(max)),
            metrics,
            at_limit: false,
        }
    }
}

impl<S, IO, E> Stream for LimitedIncoming<S>
where
    S: Stream<Item = Result<IO, E>>,
    IO: Connected<ConnectInfo = tonic::transport::server::TcpConnectInfo>,
{
    type Item = Result<Limited<IO>, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let connection = match ready!(self.inner.as_mut().poll_next(cx)) {
                Some(Ok(connection)) => connection,
                Some(Err(error)) => return Poll::Ready(Some(Err(error))),
                None => return Poll::Ready(None),
            };
            match Arc::clone(&self.permits).try_acquire_owned() {
                Ok(permit) => {
                    self.at_limit = false;
                    let metrics = self.metrics.clone();
                    metrics.connections_open().inc();
                    return Poll::Ready(Some(Ok(Limited {
                        peer: connection.connect_info().remote_addr(),
                        inner: connection,
                        _permit: permit,
                        metrics,
                    })));
                }
                Err(_) => {
                    let peer = connection.connect_info().remote_addr();
                    self.metrics.connection_rejected();
                    if !std::mem::replace(&mut self.at_limit, true) {
                        tracing::warn!(
                            peer = peer.map(tracing::field::display),
                            "connection limit reached (--max-connections), closing new connections"
                        );
                    } else {
                        tracing::debug!(
                            peer = peer.map(tracing::field::display),
                            "connection refused: at the connection limit"
                        );
                    }
                    // Dropping the socket closes it.
                }
            }
        }
    }
}

/// The peer address in a connection's connect info, plain TCP or TLS over TCP.
pub trait PeerAddress {
    /// Returns the client's address, if known.
    fn peer(&self) -> Option<SocketAddr>;
}

impl PeerAddress for tonic::transport::server::TcpConnectInfo {
    fn peer(&self) -> Option<SocketAddr> {
        self.remote_addr()
    }
}

impl<T: PeerAddress> PeerAddress for tonic::transport::server::TlsConnectInfo<T> {
    fn peer(&self) -> Option<SocketAddr> {
        self.get_ref().peer()
    }
}

/// A connection that holds one of the limit's places until it is dropped.
pub struct Limited<IO> {
    inner: IO,
    peer: Option<SocketAddr>,
    _permit: OwnedSemaphorePermit,
    metrics: Metrics,
}

impl<IO> Drop for Limited<IO> {
    fn drop(&mut self) {
        let open = self.metrics.connections_open().dec() - 1;
        let peer = self.peer.map(tracing::field::display);
        tracing::debug!(peer, open, "connection closed");
    }
}

impl<IO: Connected> Connected for Limited<IO> {
    type ConnectInfo = IO::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

/// Forwards `AsyncRead` and `AsyncWrite` of a wrapper to its `inner` field.
macro_rules! forward_io {
    ($wrapper:ident) => {
        impl<IO: AsyncWrite + Unpin> AsyncWrite for $wrapper<IO> {
            fn poll_write(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bytes: &[u8],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut self.inner).poll_write(cx, bytes)
            }

            fn poll_write_vectored(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bytes: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut self.inner).poll_write_vectored(cx, bytes)
            }

            fn is_write_vectored(&self) -> bool {
                self.inner.is_write_vectored()
            }

            fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut self.inner).poll_flush(cx)
            }

            fn poll_shutdown(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
            ) -> Poll<io::Result<()>> {
                Pin::new(&mut self.inner).poll_shutdown(cx)
            }
        }
    };
}

pub(crate) use forward_io;

forward_io!(Limited);

impl<IO: AsyncRead + Unpin> AsyncRead for Limited<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}
