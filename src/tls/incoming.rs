//! `TlsIncoming`: the TLS handshakes of accepted TCP connections, run side by side, each
//! under a time limit, yielding the connections whose handshake succeeded.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinSet;
use tokio_rustls::rustls;
use tokio_rustls::server::TlsStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

use super::TlsAcceptor;

/// A stream of TLS connections over the accepted connections `S` yields (TCP connections,
/// possibly wrapped, whose connect info is tonic's `TcpConnectInfo`).
///
/// A handshake runs on a task of its own, so a slow or silent client holds up no other
/// connection; one that fails or takes longer than the time limit is closed and logged at
/// debug. Dropping the stream (the server stopped accepting) aborts handshakes in progress.
pub(crate) struct TlsIncoming<S, IO> {
    tcp: Pin<Box<S>>,
    acceptor: TlsAcceptor,
    timeout: Duration,
    handshakes: JoinSet<Option<TlsStream<IO>>>,
    tcp_ended: bool,
}

impl<S, IO> TlsIncoming<S, IO> {
    /// Returns the TLS connections of `tcp`, each handshake with the configuration
    /// `acceptor` holds when it starts and at most `timeout` long.
    pub(crate) fn new(tcp: S, acceptor: TlsAcceptor, timeout: Duration) -> Self {
        Self {
            tcp: Box::pin(tcp),
            acceptor,
            timeout,
            handshakes: JoinSet::new(),
            tcp_ended: false,
        }
    }
}

impl<S, IO> Stream for TlsIncoming<S, IO>
where
    S: Stream<Item = std::io::Result<IO>>,
    IO: AsyncRead + AsyncWrite + Connected<ConnectInfo = TcpConnectInfo> + Unpin + Send + 'static,
{
    type Item = std::io::Result<TlsStream<IO>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        while !this.tcp_ended {
            match this.tcp.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(stream))) => {
                    let config = this.acceptor.current().config;
                    this.handshakes
                        .spawn(handshake(config, stream, this.timeout));
                }
                // Accept errors go to tonic, which decides as it does without TLS.
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
                Poll::Ready(None) => this.tcp_ended = true,
                Poll::Pending => break,
            }
        }
        loop {
            match this.handshakes.poll_join_next(cx) {
                Poll::Ready(Some(Ok(Some(stream)))) => return Poll::Ready(Some(Ok(stream))),
                // A failed handshake was logged by its task; a panicked one is just gone.
                Poll::Ready(Some(Ok(None) | Err(_))) => continue,
                Poll::Ready(None) if this.tcp_ended => return Poll::Ready(None),
                Poll::Ready(None) | Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// Returns the TLS connection over `stream`, or `None` when the handshake failed or took
/// longer than `timeout`.
async fn handshake<IO>(
    config: Arc<rustls::ServerConfig>,
    stream: IO,
    timeout: Duration,
) -> Option<TlsStream<IO>>
where
    IO: AsyncRead + AsyncWrite + Connected<ConnectInfo = TcpConnectInfo> + Unpin,
{
    let peer = stream
        .connect_info()
        .remote_addr()
        .map(tracing::field::display);
    let accept = tokio_rustls::TlsAcceptor::from(config).accept(stream);
    match tokio::time::timeout(timeout, accept).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(error)) => {
            tracing::debug!(?peer, %error, "tls handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(
                ?peer,
                timeout_seconds = timeout.as_secs_f64(),
                "tls handshake timed out"
            );
            None
        }
    }
}
