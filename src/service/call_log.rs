//! `CallLog`: the one line each RouteGuide call logs when it ends.

use std::net::SocketAddr;
use std::time::Instant;

use tonic::metadata::{Ascii, MetadataValue};
use tonic::{Code, Request, Status};

/// What a call's end-of-call log line names, taken from the request when the call starts.
///
/// The peer comes from the request's extensions and the user agent from its metadata, so
/// a layer in the server's stack that rewrites either is seen here.
#[derive(Debug, Clone)]
pub(super) struct CallLog {
    rpc: &'static str,
    started: Instant,
    peer: Option<SocketAddr>,
    user_agent: Option<MetadataValue<Ascii>>,
}

impl CallLog {
    /// Returns the log of a call of `rpc` that starts now with `request`.
    /// Logs the start at trace level.
    pub(super) fn start<T>(rpc: &'static str, request: &Request<T>) -> Self {
        let log = Self {
            rpc,
            started: Instant::now(),
            peer: request.remote_addr(),
            user_agent: request.metadata().get("user-agent").cloned(),
        };
        tracing::trace!(rpc, peer = ?log.peer(), user_agent = log.user_agent(), "call started");
        log
    }

    fn peer(&self) -> Option<tracing::field::DisplayValue<SocketAddr>> {
        self.peer.map(tracing::field::display)
    }

    fn user_agent(&self) -> Option<&str> {
        self.user_agent.as_ref().and_then(|v| v.to_str().ok())
    }

    /// Returns the instant the call started.
    pub(super) fn started(&self) -> Instant {
        self.started
    }

    /// Logs the end of the call after `items` messages (sent or received, by RPC): at debug
    /// when it succeeded or the client left, at warn otherwise.
    pub(super) fn end(&self, items: u64, error: Option<&Status>) {
        let rpc = self.rpc;
        let elapsed_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        let (peer, user_agent) = (self.peer(), self.user_agent());
        match error {
            None => tracing::debug!(rpc, ?peer, user_agent, items, elapsed_ms, "call ok"),
            Some(status) if status.code() == Code::Cancelled => tracing::debug!(
                rpc,
                ?peer,
                user_agent,
                items,
                elapsed_ms,
                "call cancelled by client"
            ),
            Some(status) => tracing::warn!(
                rpc,
                ?peer,
                user_agent,
                items,
                elapsed_ms,
                code = ?status.code(),
                message = status.message(),
                "call failed"
            ),
        }
    }
}
