//! `ClientError`: why a client call failed, with the status code it amounts to.

use std::time::Duration;

use crate::tls::TlsError;

use super::innermost_cause;

/// The message of a call whose connection closed before the call was sent, e.g. because
/// the server refused the client's certificate just after the TLS handshake.
pub const CLOSED_BEFORE_SENT: &str = "the connection closed before the call was sent";

/// Says why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server address is not a valid URI, has a scheme other than `http://` and
    /// `https://`, or is `http://` with TLS settings (which it would not use).
    #[error("invalid server address {address:?}: {message}")]
    InvalidAddress {
        /// The address as given.
        address: String,
        /// Why it is invalid.
        message: String,
    },
    /// The TLS settings for an `https://` address cannot be used (e.g. no system roots).
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The bearer token cannot be sent in a header; the error never quotes it.
    #[error("the bearer token must be visible ASCII characters without spaces")]
    InvalidToken,
    /// No connection could be made, including a failed TLS handshake (wrong CA, expired
    /// certificate, wrong name).
    #[error("cannot connect to {address}: {reason}")]
    Connect {
        /// The address that was tried.
        address: String,
        /// The innermost cause, e.g. "Connection refused (os error 111)".
        reason: String,
    },
    /// The deadline passed before a connection was made (as in gRPC, where connecting is
    /// part of a call's deadline).
    #[error("cannot connect to {address}: DEADLINE_EXCEEDED: no connection within {timeout:?}")]
    ConnectDeadline {
        /// The address that was tried.
        address: String,
        /// The deadline's length.
        timeout: Duration,
    },
    /// The call failed with a status: the server's, or `DEADLINE_EXCEEDED` from the client.
    #[error("{rpc} failed: {}: {}", code_name(.status.code()), .status.message())]
    Rpc {
        /// The RPC that failed.
        rpc: &'static str,
        /// The status the server (or the transport) returned.
        status: tonic::Status,
    },
}

impl ClientError {
    /// Returns the error for `rpc` failing with `status`.
    ///
    /// tonic's client enforces the deadline itself and reports `CANCELLED "Timeout expired"`
    /// when its timer beats the server's answer; that is reported as `DEADLINE_EXCEEDED`, as
    /// every other gRPC client does. A connection that failed under the call (tonic's
    /// `UNKNOWN "transport error"`, e.g. the server refused the client's certificate after
    /// the TLS handshake, or hyper's `CANCELLED` for a call still queued when it closed) is
    /// reported as `UNAVAILABLE` with its innermost cause, as gRPC reports transport
    /// failures.
    pub fn rpc(rpc: &'static str, status: tonic::Status) -> Self {
        let transport = std::error::Error::source(&status)
            .filter(|source| source.is::<tonic::transport::Error>())
            .map(innermost_cause);
        let status = match transport {
            _ if status.code() == tonic::Code::Cancelled
                && status.message() == "Timeout expired" =>
            {
                tonic::Status::deadline_exceeded("the call did not finish within its deadline")
            }
            Some(cause) if status.code() == tonic::Code::Unknown => {
                tonic::Status::unavailable(format!("connection failed: {cause}"))
            }
            // hyper's word for a call still queued when its connection closed: this client
            // never cancels a call it reports on, so the connection failed under it.
            _ if status.code() == tonic::Code::Cancelled
                && status.message() == "operation was canceled" =>
            {
                tonic::Status::unavailable(CLOSED_BEFORE_SENT)
            }
            _ => status,
        };
        ClientError::Rpc { rpc, status }
    }

    /// Returns the status code the failure amounts to: the call's status, `UNAVAILABLE` for
    /// a failed connection, `DEADLINE_EXCEEDED` for a deadline that passed while connecting,
    /// and `None` for an invalid address.
    pub fn code(&self) -> Option<tonic::Code> {
        match self {
            ClientError::InvalidAddress { .. }
            | ClientError::Tls(_)
            | ClientError::InvalidToken => None,
            ClientError::Connect { .. } => Some(tonic::Code::Unavailable),
            ClientError::ConnectDeadline { .. } => Some(tonic::Code::DeadlineExceeded),
            ClientError::Rpc { status, .. } => Some(status.code()),
        }
    }
}

/// Returns the canonical name of a status code, as the gRPC documentation spells it
/// (`DEADLINE_EXCEEDED` for tonic's `DeadlineExceeded`).
pub fn code_name(code: tonic::Code) -> String {
    let mut name = String::new();
    for (index, letter) in format!("{code:?}").chars().enumerate() {
        if letter.is_ascii_uppercase() && index > 0 {
            name.push('_');
        }
        name.push(letter.to_ascii_uppercase());
    }
    name
}
