//! Typed RouteGuide client used by the CLI, the demo, the load generator and the tests.

mod deadline;
mod error;

use std::time::{Duration, Instant};

use futures::Stream;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

pub use deadline::ResponseStream;
pub use error::{CLOSED_BEFORE_SENT, ClientError, code_name};

use crate::auth::Secret;
use crate::geo::{GeoPoint, GeoRect};
use crate::pb;
use crate::pb::route_guide_client::RouteGuideClient as GeneratedClient;
use crate::tls::{ClientTls, ClientTlsFiles};
use deadline::{CallDeadline, within};

/// How long a connection attempt may take when the caller set no timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Returns `address` with an `http://` scheme when it has none.
pub fn normalise_address(address: &str) -> String {
    if address.contains("://") {
        address.to_owned()
    } else {
        format!("http://{address}")
    }
}

/// How a client connects, and what every call carries besides its message.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Bounds connecting (5 s without one) and becomes the deadline of every call.
    pub timeout: Option<Duration>,
    /// TLS for an `https://` address (without it, the system's roots); an `http://`
    /// address with TLS settings is refused.
    pub tls: Option<ClientTls>,
    /// The token every call carries as `authorization: Bearer TOKEN`.
    pub token: Option<Secret>,
}

/// Puts `authorization: Bearer TOKEN` on every call, when there is a token.
#[derive(Debug, Clone, Default)]
pub struct BearerToken {
    /// The header value, marked sensitive: HPACK never indexes it and `Debug` hides it.
    value: Option<MetadataValue<Ascii>>,
}

impl BearerToken {
    /// Returns the interceptor for `token` (none: calls carry no `authorization`).
    ///
    /// # Errors
    /// [`ClientError::InvalidToken`] when the token cannot be sent in a header.
    pub fn new(token: Option<&Secret>) -> Result<Self, ClientError> {
        let Some(token) = token else {
            return Ok(Self::default());
        };
        if !token.is_valid_token() {
            return Err(ClientError::InvalidToken);
        }
        let mut value = MetadataValue::try_from(format!("Bearer {}", token.expose()))
            .map_err(|_| ClientError::InvalidToken)?;
        value.set_sensitive(true);
        Ok(Self { value: Some(value) })
    }
}

impl Interceptor for BearerToken {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.value {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// The generated client as this wrapper calls it: over a channel, with the bearer token.
pub type AuthorizedClient = GeneratedClient<InterceptedService<Channel, BearerToken>>;

/// A connected RouteGuide client that puts the same deadline (and bearer token) on every
/// call; cheap to clone.
#[derive(Debug, Clone)]
pub struct RouteGuideClient {
    inner: AuthorizedClient,
    timeout: Option<Duration>,
}

impl RouteGuideClient {
    /// Connects to `address` (`host:port`, an `http://` or an `https://` URI) in plain
    /// text. `timeout` bounds the connection attempt (5 s without one) and becomes the
    /// deadline of every call: a call that has not finished when it passes fails with
    /// `DEADLINE_EXCEEDED`, even if the server answers later.
    ///
    /// # Errors
    /// As [`RouteGuideClient::connect_with`].
    pub async fn connect(address: &str, timeout: Option<Duration>) -> Result<Self, ClientError> {
        let options = ConnectOptions {
            timeout,
            ..ConnectOptions::default()
        };
        Self::connect_with(address, &options).await
    }

    /// Connects to `address` as [`RouteGuideClient::connect`] does, over TLS for an
    /// `https://` address (verifying the server's certificate, and presenting the client's
    /// for mutual TLS), with `options.token` on every call.
    ///
    /// # Errors
    /// [`ClientError::InvalidAddress`] (also for `http://` with TLS settings),
    /// [`ClientError::Tls`] for `https://` without settings on a system without roots,
    /// [`ClientError::InvalidToken`], [`ClientError::Connect`] (also for a failed TLS
    /// handshake), or [`ClientError::ConnectDeadline`] when the timeout passes first.
    pub async fn connect_with(
        address: &str,
        options: &ConnectOptions,
    ) -> Result<Self, ClientError> {
        let uri = normalise_address(address);
        let invalid = |message: &str| ClientError::InvalidAddress {
            address: address.to_owned(),
            message: message.to_owned(),
        };
        let tls = match uri.split_once("://") {
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("http") => {
                if options.tls.is_some() {
                    return Err(invalid("TLS settings need an https:// address"));
                }
                None
            }
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("https") => match &options.tls {
                Some(tls) => Some(tls.clone()),
                None => Some(ClientTls::load(&ClientTlsFiles::default())?),
            },
            _ => return Err(invalid("the scheme must be http:// or https://")),
        };
        let token = BearerToken::new(options.token.as_ref())?;
        let mut endpoint = Endpoint::from_shared(uri.clone())
            .map_err(|e| invalid(&e.to_string()))?
            .tcp_nodelay(true);
        if let Some(tls) = tls {
            endpoint =
                endpoint
                    .tls_config(tls.tonic_config())
                    .map_err(|e| ClientError::Connect {
                        address: uri.clone(),
                        reason: innermost_cause(&e),
                    })?;
        }
        let timeout = options.timeout;
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
        Ok(Self::from_channel(channel, timeout, token))
    }

    /// Returns a client over an existing channel whose calls have `timeout` as deadline
    /// and carry `token`.
    pub fn from_channel(channel: Channel, timeout: Option<Duration>, token: BearerToken) -> Self {
        Self {
            // Servers may compress responses (grpc-python with gzip does); requests stay plain.
            inner: GeneratedClient::with_interceptor(channel, token)
                .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
            timeout,
        }
    }

    /// Returns the generated client (with the bearer token), for calls this wrapper does
    /// not cover.
    pub fn generated(&self) -> AuthorizedClient {
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
    async fn tls_settings_are_refused_for_http_and_tokens_never_print() {
        let files = ClientTlsFiles::default();
        let options = ConnectOptions {
            tls: ClientTls::load(&files).ok(),
            ..ConnectOptions::default()
        };
        if options.tls.is_some() {
            let error = RouteGuideClient::connect_with("http://127.0.0.1:1", &options).await;
            let message = error.unwrap_err().to_string();
            assert!(message.contains("need an https:// address"), "{message}");
        }
        let token = Secret::new("bad token");
        let error = BearerToken::new(Some(&token)).unwrap_err().to_string();
        assert!(!error.contains("bad token"), "{error}");
        let token = BearerToken::new(Some(&Secret::new("s3cr3t"))).unwrap();
        assert!(!format!("{token:?}").contains("s3cr3t"));
    }
}
