//! `CallLog`: the one line each RouteGuide call logs when it ends.

use std::net::SocketAddr;
use std::time::Instant;

use tonic::metadata::{Ascii, MetadataValue};
use tonic::{Code, Request, Status};

use crate::auth::Caller;

/// What a call's end-of-call log line names, taken from the request when the call starts.
///
/// The peer and the caller (the token the auth layer accepted) come from the request's
/// extensions and the user agent from its metadata, so a layer in the server's stack that
/// rewrites either is seen here. A call's log that is
/// dropped before [`CallLog::end`] (its handler was dropped: the client left or the
/// deadline passed) logs that the call was abandoned.
#[derive(Debug)]
pub(super) struct CallLog {
    rpc: &'static str,
    started: Instant,
    peer: Option<SocketAddr>,
    caller: Option<Caller>,
    user_agent: Option<MetadataValue<Ascii>>,
    /// Whether dropping this log says the call was abandoned: until `end`, and never for a
    /// companion.
    pending: bool,
}

impl CallLog {
    /// Returns the log of a call of `rpc` that starts now with `request`, and logs the
    /// start at trace level.
    pub(super) fn start<T>(rpc: &'static str, request: &Request<T>) -> Self {
        let log = Self {
            rpc,
            started: Instant::now(),
            peer: request.remote_addr(),
            caller: request.extensions().get::<Caller>().copied(),
            user_agent: request.metadata().get("user-agent").cloned(),
            pending: true,
        };
        tracing::trace!(rpc, peer = ?log.peer(), caller = log.caller(), user_agent = log.user_agent(), "call started");
        log
    }

    /// Returns a log of the same call for its background work, which logs nothing when
    /// dropped.
    pub(super) fn companion(&self) -> Self {
        Self {
            user_agent: self.user_agent.clone(),
            pending: false,
            ..*self
        }
    }

    /// Returns the instant the call started.
    pub(super) fn started(&self) -> Instant {
        self.started
    }

    /// Logs the end of the call after `items` messages (sent or received, by RPC): at debug
    /// when it succeeded or the client left, at warn otherwise.
    pub(super) fn end(mut self, items: u64, error: Option<&Status>) {
        self.pending = false;
        let (rpc, peer, caller, user_agent) =
            (self.rpc, self.peer(), self.caller(), self.user_agent());
        let elapsed_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        match error {
            None => tracing::debug!(rpc, ?peer, caller, user_agent, items, elapsed_ms, "call ok"),
            Some(status) if status.code() == Code::Cancelled => tracing::debug!(
                rpc,
                ?peer,
                caller,
                user_agent,
                items,
                elapsed_ms,
                "call cancelled by client"
            ),
            Some(status) => tracing::warn!(
                rpc,
                ?peer,
                caller,
                user_agent,
                items,
                elapsed_ms,
                code = ?status.code(),
                message = status.message(),
                "call failed"
            ),
        }
    }

    /// Logs at debug that the call's background work (a task beside its response stream)
    /// stopped after `items` messages, and why.
    pub(super) fn work_stopped(self, items: u64, reason: &'static str) {
        let (rpc, peer, caller, user_agent) =
            (self.rpc, self.peer(), self.caller(), self.user_agent());
        tracing::debug!(
            rpc,
            ?peer,
            caller,
            user_agent,
            items,
            reason,
            "call work stopped"
        );
    }

    fn peer(&self) -> Option<tracing::field::DisplayValue<SocketAddr>> {
        self.peer.map(tracing::field::display)
    }

    fn caller(&self) -> Option<tracing::field::DisplayValue<Caller>> {
        self.caller.map(tracing::field::display)
    }

    fn user_agent(&self) -> Option<&str> {
        self.user_agent.as_ref().and_then(|v| v.to_str().ok())
    }
}

impl Drop for CallLog {
    fn drop(&mut self) {
        if self.pending {
            let (rpc, peer, caller, user_agent) =
                (self.rpc, self.peer(), self.caller(), self.user_agent());
            let elapsed_ms = self.started.elapsed().as_secs_f64() * 1000.0;
            tracing::debug!(
                rpc,
                ?peer,
                caller,
                user_agent,
                elapsed_ms,
                "call abandoned: the client left or the deadline passed"
            );
        }
    }
}
