//! Typed RouteGuide client used by the CLI, the demo, the load generator and the tests.

use std::future::Future;
use std::time::{Duration, Instant};

use futures::Stream;
use tonic::Streaming;
use tonic::transport::{Channel, Endpoint};

use crate::geo::{GeoPoint, GeoRect};
use crate::pb;
use crate::pb::route_guide_client::RouteGuideClient as GeneratedClient;

/// How long a connection attempt may take when the caller set no timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Says why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server address is not a valid URI, or asks for a transport this client lacks
    /// (`https://`: it is refused rather than sent as plain text).
    #[error("invalid server address {address:?}: {message}")]
    InvalidAddress {
        /// The address as given.
        address: String,
        /// Why it is invalid.
        message: String,
    },
    /// No connection could be made.
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
    /// every other gRPC client does.
    pub fn rpc(rpc: &'static str, status: tonic::Status) -> Self {
        let status =
            if status.code() == tonic::Code::Cancelled && status.message() == "Timeout expired" {
                tonic::Status::deadline_exceeded("the call did not finish within its deadline")
            } else {
                status
            };
        ClientError::Rpc { rpc, status }
    }

    /// Returns the status code the failure amounts to: the call's status, `UNAVAILABLE` for
    /// a failed connection, `DEADLINE_EXCEEDED` for a deadline that passed while connecting,
    /// and `None` for an invalid address.
    pub fn code(&self) -> Option<tonic::Code> {
        match self {
            ClientError::InvalidAddress { .. } => None,
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

/// Returns `address` with an `http://` scheme when it has none.
pub fn normalise_address(address: &str) -> String {
    if address.contains("://") {
        address.to_owned()
    } else {
        format!("http://{address}")
    }
}

/// The moment a call must be over by, and the timeout it came from (for messages).
#[derive(Debug, Clone, Copy)]
struct CallDeadline {
    at: Instant,
    timeout: Duration,
}

impl CallDeadline {
    /// Returns the deadline of a call starting now, or `None` when `timeout` is too long
    /// to represent (such a call has no deadline of its own, only the header).
    fn starting_now(timeout: Duration) -> Option<Self> {
        Instant::now()
            .checked_add(timeout)
            .map(|at| Self { at, timeout })
    }

    fn exceeded(self, rpc: &'static str) -> ClientError {
        let message = format!(
            "the call did not finish within its {:?} deadline",
            self.timeout
        );
        ClientError::rpc(rpc, tonic::Status::deadline_exceeded(message))
    }
}

/// Awaits `call` under `deadline`: an answer (or error) that is not in before the deadline
/// makes the call fail with `DEADLINE_EXCEEDED`, whatever the server says later.
async fn within<T>(
    rpc: &'static str,
    deadline: Option<CallDeadline>,
    call: impl Future<Output = Result<T, tonic::Status>>,
) -> Result<T, ClientError> {
    let Some(deadline) = deadline else {
        return call.await.map_err(|status| ClientError::rpc(rpc, status));
    };
    match tokio::time::timeout_at(deadline.at.into(), call).await {
        Ok(result) if Instant::now() < deadline.at => {
            result.map_err(|status| ClientError::rpc(rpc, status))
        }
        _ => Err(deadline.exceeded(rpc)),
    }
}

/// The messages of a response stream; the call's deadline covers the whole stream.
#[derive(Debug)]
pub struct ResponseStream<T> {
    inner: Streaming<T>,
    rpc: &'static str,
    deadline: Option<CallDeadline>,
}

impl<T> ResponseStream<T> {
    /// Returns the next message, or `None` once the server ended the call with OK.
    ///
    /// # Errors
    /// [`ClientError::Rpc`] with the status that ended the call, or `DEADLINE_EXCEEDED`
    /// when the call's deadline passes first.
    pub async fn message(&mut self) -> Result<Option<T>, ClientError> {
        within(self.rpc, self.deadline, self.inner.message()).await
    }
}

/// A connected RouteGuide client that puts the same deadline on every call; cheap to clone.
#[derive(Debug, Clone)]
pub struct RouteGuideClient {
    inner: GeneratedClient<Channel>,
    timeout: Option<Duration>,
}

impl RouteGuideClient {
    /// Connects to `address` (`host:port` or an `http://` URI). `timeout` bounds the
    /// connection attempt (5 s without one) and becomes the deadline of every call: a call
    /// that has not finished when it passes fails with `DEADLINE_EXCEEDED`, even if the
    /// server answers later.
    ///
    /// # Errors
    /// [`ClientError::InvalidAddress`] (also for `https://`, as TLS is not supported yet),
    /// [`ClientError::Connect`], or [`ClientError::ConnectDeadline`] when `timeout` passes
    /// while connecting.
    pub async fn connect(address: &str, timeout: Option<Duration>) -> Result<Self, ClientError> {
        let uri = normalise_address(address);
        let invalid = |message: String| ClientError::InvalidAddress {
            address: address.to_owned(),
            message,
        };
        match uri.split_once("://") {
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("http") => {}
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("https") => {
                return Err(invalid("TLS is not supported yet; use http://".to_owned()));
            }
            _ => return Err(invalid("the scheme must be http://".to_owned())),
        }
        let endpoint = Endpoint::from_shared(uri.clone())
            .map_err(|e| invalid(e.to_string()))?
            .tcp_nodelay(true);
        let limit = timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let channel = match tokio::time::timeout(limit, endpoint.connect()).await {
            Ok(Ok(channel)) => channel,
            Ok(Err(error)) => {
                return Err(ClientError::Connect {
                    address: uri,
                    reason: innermost_cause(&error),
                });
            }
            Err(_) if timeout.is_some() => {
                return Err(ClientError::ConnectDeadline {
                    address: uri,
                    timeout: limit,
                });
            }
            Err(_) => {
                return Err(ClientError::Connect {
                    address: uri,
                    reason: format!("no connection within {limit:?}"),
                });
            }
        };
        Ok(Self::from_channel(channel, timeout))
    }

    /// Returns a client over an existing channel whose calls have `timeout` as deadline.
    pub fn from_channel(channel: Channel, timeout: Option<Duration>) -> Self {
        Self {
            // Servers may compress responses (grpc-python with gzip does); requests stay plain.
            inner: GeneratedClient::new(channel)
                .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
            timeout,
        }
    }

    /// Returns the generated client, for calls this wrapper does not cover.
    pub fn generated(&self) -> GeneratedClient<Channel> {
        self.inner.clone()
    }

    /// Returns the request for a call starting now and its deadline; a deadline that has
    /// already passed fails the call without sending it.
    fn start<T>(
        &self,
        rpc: &'static str,
        message: T,
    ) -> Result<(tonic::Request<T>, Option<CallDeadline>), ClientError> {
        let mut request = tonic::Request::new(message);
        let Some(timeout) = self.timeout else {
            return Ok((request, None));
        };
        let deadline = CallDeadline::starting_now(timeout);
        let remaining =
            deadline.map_or(timeout, |d| d.at.saturating_duration_since(Instant::now()));
        if remaining.is_zero() {
            return Err(CallDeadline {
                at: Instant::now(),
                timeout,
            }
            .exceeded(rpc));
        }
        request.set_timeout(remaining);
        Ok((request, deadline))
    }

    /// Returns the feature at `point` (an empty name when there is none).
    ///
    /// # Errors
    /// [`ClientError::Rpc`] with the server's status, or `DEADLINE_EXCEEDED`.
    pub async fn get_feature(&mut self, point: GeoPoint) -> Result<pb::Feature, ClientError> {
        const RPC: &str = "GetFeature";
        let (request, deadline) = self.start(RPC, pb::Point::from(point))?;
        let response = within(RPC, deadline, self.inner.get_feature(request)).await?;
        Ok(response.into_inner())
    }

    /// Returns the stream of features inside `rect`.
    ///
    /// # Errors
    /// [`ClientError::Rpc`] when the call is refused; later errors arrive on the stream.
    pub async fn list_features(
        &mut self,
        rect: GeoRect,
    ) -> Result<ResponseStream<pb::Feature>, ClientError> {
        const RPC: &str = "ListFeatures";
        let rectangle = pb::Rectangle {
            lo: Some(rect.min().into()),
            hi: Some(rect.max().into()),
        };
        let (request, deadline) = self.start(RPC, rectangle)?;
        let response = within(RPC, deadline, self.inner.list_features(request)).await?;
        Ok(ResponseStream {
            inner: response.into_inner(),
            rpc: RPC,
            deadline,
        })
    }

    /// Sends `points` as one route and returns the server's summary.
    ///
    /// # Errors
    /// [`ClientError::Rpc`] with the server's status, or `DEADLINE_EXCEEDED`.
    pub async fn record_route(
        &mut self,
        points: impl Stream<Item = pb::Point> + Send + 'static,
    ) -> Result<pb::RouteSummary, ClientError> {
        const RPC: &str = "RecordRoute";
        let (request, deadline) = self.start(RPC, points)?;
        let response = within(RPC, deadline, self.inner.record_route(request)).await?;
        Ok(response.into_inner())
    }

    /// Sends `notes` and returns the stream of notes the server replays.
    ///
    /// # Errors
    /// [`ClientError::Rpc`] when the call is refused; later errors arrive on the stream.
    pub async fn route_chat(
        &mut self,
        notes: impl Stream<Item = pb::RouteNote> + Send + 'static,
    ) -> Result<ResponseStream<pb::RouteNote>, ClientError> {
        const RPC: &str = "RouteChat";
        let (request, deadline) = self.start(RPC, notes)?;
        let response = within(RPC, deadline, self.inner.route_chat(request)).await?;
        Ok(ResponseStream {
            inner: response.into_inner(),
            rpc: RPC,
            deadline,
        })
    }
}

/// Returns the text of the last error in `error`'s source chain; transport errors repeat
/// their wrappers' text, so the innermost one is the informative part.
pub(crate) fn innermost_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deadline_in(timeout: Duration) -> Option<CallDeadline> {
        CallDeadline::starting_now(timeout)
    }

    fn code<T: std::fmt::Debug>(result: Result<T, ClientError>) -> Option<tonic::Code> {
        result.unwrap_err().code()
    }

    #[tokio::test]
    async fn a_call_not_finished_by_its_deadline_is_deadline_exceeded() {
        let answered = within("Get", deadline_in(Duration::from_secs(3600)), async {
            Ok(1)
        });
        assert_eq!(answered.await.unwrap(), 1);
        let status = within("Get", None, async {
            Err::<(), _>(tonic::Status::not_found("x"))
        });
        assert_eq!(code(status.await), Some(tonic::Code::NotFound));

        let never = std::future::pending::<Result<(), tonic::Status>>();
        let error = within("Get", deadline_in(Duration::from_millis(1)), never).await;
        let message = error.as_ref().unwrap_err().to_string();
        assert_eq!(
            message,
            "Get failed: DEADLINE_EXCEEDED: the call did not finish within its 1ms deadline"
        );
        // An answer that is ready only after the deadline does not count.
        let passed = Some(CallDeadline {
            at: Instant::now(),
            timeout: Duration::from_nanos(1),
        });
        let late = within("Get", passed, async { Ok(1) }).await;
        assert_eq!(code(late), Some(tonic::Code::DeadlineExceeded));
    }

    #[test]
    fn tonics_client_timeout_reads_as_deadline_exceeded() {
        let error = ClientError::rpc("Chat", tonic::Status::cancelled("Timeout expired"));
        assert_eq!(error.code(), Some(tonic::Code::DeadlineExceeded));
        let error = ClientError::rpc("Chat", tonic::Status::cancelled("by the server"));
        assert_eq!(error.code(), Some(tonic::Code::Cancelled));
        assert_eq!(code_name(tonic::Code::Ok), "OK");
        assert_eq!(code_name(tonic::Code::InvalidArgument), "INVALID_ARGUMENT");
    }

    #[tokio::test]
    async fn https_is_refused_instead_of_sent_as_plain_text() {
        let error = RouteGuideClient::connect("https://127.0.0.1:1", None).await;
        let message = error.unwrap_err().to_string();
        assert!(message.contains("TLS is not supported yet"), "{message}");
    }
}
