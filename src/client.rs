//! Typed RouteGuide client used by the CLI, the demo, the load generator and the tests.

use std::time::Duration;

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
    /// The server address is not a valid URI.
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
    /// The server answered a call with an error status.
    #[error("{rpc} failed: {}: {}", .status.code(), .status.message())]
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
                tonic::Status::deadline_exceeded("deadline exceeded (client timeout)")
            } else {
                status
            };
        ClientError::Rpc { rpc, status }
    }

    /// Returns the gRPC status if the failure was a call's status.
    pub fn status(&self) -> Option<&tonic::Status> {
        match self {
            ClientError::Rpc { status, .. } => Some(status),
            _ => None,
        }
    }
}

/// Returns `address` with an `http://` scheme when it has none.
pub fn normalise_address(address: &str) -> String {
    if address.contains("://") {
        address.to_owned()
    } else {
        format!("http://{address}")
    }
}

/// A connected RouteGuide client that puts the same deadline on every call; cheap to clone.
#[derive(Debug, Clone)]
pub struct RouteGuideClient {
    inner: GeneratedClient<Channel>,
    timeout: Option<Duration>,
}

impl RouteGuideClient {
    /// Connects to `address` (`host:port` or a URI); `timeout` bounds the connection attempt
    /// and becomes the deadline of every call.
    ///
    /// # Errors
    /// [`ClientError::InvalidAddress`] or [`ClientError::Connect`].
    pub async fn connect(address: &str, timeout: Option<Duration>) -> Result<Self, ClientError> {
        let uri = normalise_address(address);
        let endpoint = Endpoint::from_shared(uri.clone())
            .map_err(|e| ClientError::InvalidAddress {
                address: address.to_owned(),
                message: e.to_string(),
            })?
            .connect_timeout(timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
            .tcp_nodelay(true);
        let channel = endpoint
            .connect()
            .await
            .map_err(|error| ClientError::Connect {
                address: uri,
                reason: innermost_cause(&error),
            })?;
        Ok(Self::from_channel(channel, timeout))
    }

    /// Returns a client over an existing channel.
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

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(timeout) = self.timeout {
            request.set_timeout(timeout);
        }
        request
    }

    /// Returns the feature at `point` (an empty name when there is none).
    ///
    /// # Errors
    /// [`ClientError::Rpc`] with the server's status.
    pub async fn get_feature(&mut self, point: GeoPoint) -> Result<pb::Feature, ClientError> {
        let request = self.request(pb::Point::from(point));
        let response = self.inner.get_feature(request).await;
        response
            .map(tonic::Response::into_inner)
            .map_err(|status| ClientError::rpc("GetFeature", status))
    }

    /// Returns the stream of features inside `rect`.
    ///
    /// # Errors
    /// [`ClientError::Rpc`] when the call is refused; later errors arrive on the stream.
    pub async fn list_features(
        &mut self,
        rect: GeoRect,
    ) -> Result<Streaming<pb::Feature>, ClientError> {
        let request = self.request(pb::Rectangle {
            lo: Some(rect.min().into()),
            hi: Some(rect.max().into()),
        });
        let response = self.inner.list_features(request).await;
        response
            .map(tonic::Response::into_inner)
            .map_err(|status| ClientError::rpc("ListFeatures", status))
    }

    /// Sends `points` as one route and returns the server's summary.
    ///
    /// # Errors
    /// [`ClientError::Rpc`] with the server's status.
    pub async fn record_route(
        &mut self,
        points: impl Stream<Item = pb::Point> + Send + 'static,
    ) -> Result<pb::RouteSummary, ClientError> {
        let request = self.request(points);
        let response = self.inner.record_route(request).await;
        response
            .map(tonic::Response::into_inner)
            .map_err(|status| ClientError::rpc("RecordRoute", status))
    }

    /// Sends `notes` and returns the stream of notes the server replays.
    ///
    /// # Errors
    /// [`ClientError::Rpc`] when the call is refused; later errors arrive on the stream.
    pub async fn route_chat(
        &mut self,
        notes: impl Stream<Item = pb::RouteNote> + Send + 'static,
    ) -> Result<Streaming<pb::RouteNote>, ClientError> {
        let request = self.request(notes);
        let response = self.inner.route_chat(request).await;
        response
            .map(tonic::Response::into_inner)
            .map_err(|status| ClientError::rpc("RouteChat", status))
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
