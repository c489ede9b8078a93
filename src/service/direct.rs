//! `DirectCalls`: GetFeature, ListFeatures and RecordRoute calls with uncompressed
//! requests, answered from the HTTP request itself instead of through tonic's generated
//! server.
//!
//! tonic's per-call and per-message machinery (a boxed decoder and request stream, a
//! boxed response stream and encoder, a `pb::Feature` with its own `String` per streamed
//! feature) costs as much as the work of these small calls: a RecordRoute point is a
//! 17-byte message (see `request_messages.rs`), a ListFeatures feature a 60-byte one (see
//! `feature_frames.rs`). Calls whose request names no `grpc-encoding` (or `identity`),
//! which is what clients send unless told to compress, come here; a compressed request
//! goes through tonic, which decompresses it.
//!
//! The answer is what tonic's generated server sends for the same call: `content-type:
//! application/grpc`, then the messages and `grpc-status` in the trailers, or a
//! trailers-only response for an error before the response starts. A unary request is
//! read to its end before it is answered, and every message after the first must decode,
//! as in tonic. Answers are never compressed, even for a client that accepts gzip (tonic
//! would compress them for such a client): every message is a few dozen bytes, which gzip
//! does not shrink, and a gRPC server may always answer uncompressed. A request that
//! cannot be read is logged as a failed call, where tonic's path logs nothing.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use http::{HeaderMap, HeaderValue};
use http_body::Body;
use http_body::Frame;
use http_body_util::StreamBody;
use prost::Message;
use prost::bytes::{BufMut, Bytes, BytesMut};
use tokio::time::Instant;
use tonic::Status;

use super::feature_frames::FeatureFrames;
use super::request_messages::RequestMessages;
use super::{Deadline, RouteGuideService, get_feature, list_features, log_call, record_route};
use crate::codec::decode_bytes;
use crate::pb;

/// The path of GetFeature calls.
const GET_FEATURE: &str = "/routeguide.RouteGuide/GetFeature";
/// The path of ListFeatures calls.
const LIST_FEATURES: &str = "/routeguide.RouteGuide/ListFeatures";
/// The path of RecordRoute calls.
const RECORD_ROUTE: &str = "/routeguide.RouteGuide/RecordRoute";

/// The header naming a request's compression.
static GRPC_ENCODING: http::HeaderName = http::HeaderName::from_static("grpc-encoding");

/// Answers the calls it [`takes`](Self::takes) as the RouteGuide server would, with the
/// same results, statuses and message limit.
#[derive(Clone)]
pub struct DirectCalls {
    service: Arc<RouteGuideService>,
    max_message_bytes: usize,
}

impl std::fmt::Debug for DirectCalls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectCalls")
            .field("max_message_bytes", &self.max_message_bytes)
            .finish_non_exhaustive()
    }
}

impl DirectCalls {
    /// Returns the entry for `service`'s GetFeature, ListFeatures and RecordRoute,
    /// accepting messages of at most `max_message_bytes` (the generated server's limit).
    pub fn new(service: Arc<RouteGuideService>, max_message_bytes: usize) -> Self {
        Self {
            service,
            max_message_bytes,
        }
    }

    /// Returns whether `request` is a GetFeature, ListFeatures or RecordRoute call whose
    /// request is uncompressed: the calls [`call`](Self::call) answers.
    pub fn takes<B>(request: &http::Request<B>) -> bool {
        matches!(
            request.uri().path(),
            GET_FEATURE | LIST_FEATURES | RECORD_ROUTE
        ) && request
            .headers()
            .get(&GRPC_ENCODING)
            .is_none_or(|encoding| encoding.as_bytes() == b"identity")
    }

    /// Answers the call `request`, which [`takes`](Self::takes) accepted.
    pub fn call<B>(
        &self,
        request: http::Request<B>,
    ) -> impl Future<Output = http::Response<tonic::body::Body>> + Send + 'static
    where
        B: Body<Data = Bytes, Error = Status> + Unpin + Send + 'static,
    {
        let service = Arc::clone(&self.service);
        let rpc = DirectRpc::of(request.uri().path());
        let deadline = request
            .extensions()
            .get::<Deadline>()
            .map(|&Deadline(at)| at);
        let messages = RequestMessages::new(request.into_body(), self.max_message_bytes);
        async move {
            let answer = match rpc {
                DirectRpc::RecordRoute => record_route::record(&service, messages)
                    .await
                    .map(|summary| message_response(&summary)),
                DirectRpc::ListFeatures => list_features(&service, messages, deadline).await,
                DirectRpc::GetFeature => get_feature(&service, messages)
                    .await
                    .map(|feature| message_response(&feature)),
            };
            answer.unwrap_or_else(Status::into_http)
        }
    }
}

/// The RPCs answered here.
#[derive(Debug, Clone, Copy)]
enum DirectRpc {
    GetFeature,
    ListFeatures,
    RecordRoute,
}

impl DirectRpc {
    /// Returns the RPC of `path`, which [`DirectCalls::takes`] accepted: GetFeature unless
    /// it is one of the other two.
    fn of(path: &str) -> Self {
        match path {
            LIST_FEATURES => Self::ListFeatures,
            RECORD_ROUTE => Self::RecordRoute,
            _ => Self::GetFeature,
        }
    }
}

/// Reads a GetFeature request and answers it.
async fn get_feature<B>(
    service: &RouteGuideService,
    messages: RequestMessages<B>,
) -> Result<pb::Feature, Status>
where
    B: Body<Data = Bytes, Error = Status> + Unpin,
{
    let started = std::time::Instant::now();
    let point = read_unary(messages, decode_bytes::<pb::Point>)
        .await
        .inspect_err(|status| log_call("GetFeature", started, 0, Some(status)))?;
    get_feature::answer(service, &point)
}

/// Reads a ListFeatures request and starts streaming its features, until `deadline`.
async fn list_features<B>(
    service: &RouteGuideService,
    messages: RequestMessages<B>,
    deadline: Option<Instant>,
) -> Result<http::Response<tonic::body::Body>, Status>
where
    B: Body<Data = Bytes, Error = Status> + Unpin,
{
    let started = std::time::Instant::now();
    let rect = read_unary(messages, decode_bytes::<pb::Rectangle>)
        .await
        .inspect_err(|status| log_call("ListFeatures", started, 0, Some(status)))?;
    let query = list_features::query(service, &rect, started)?;
    let body = FeatureFrames::new(
        Arc::clone(&service.index),
        query,
        deadline,
        service.drain.clone(),
        move |sent, error| log_call("ListFeatures", started, sent, error),
    );
    Ok(grpc_response(tonic::body::Body::new(body)))
}

/// Reads a unary request to its end, as tonic does: its first message, decoded by
/// `decode`, and every further message must decode too; none is INTERNAL
/// "Missing request message.", as in tonic.
async fn read_unary<B, T>(
    mut messages: RequestMessages<B>,
    decode: impl Fn(&[u8]) -> Result<T, Status>,
) -> Result<T, Status>
where
    B: Body<Data = Bytes, Error = Status> + Unpin,
{
    let message = messages
        .next_with(&decode)
        .await
        .ok_or_else(|| Status::internal("Missing request message."))??;
    while messages.next_with(&decode).await.transpose()?.is_some() {}
    Ok(message)
}

/// Returns the successful answer: `message` as the one message, then `grpc-status: 0`.
fn message_response(message: &impl Message) -> http::Response<tonic::body::Body> {
    let length = message.encoded_len();
    let mut framed = BytesMut::with_capacity(5 + length);
    framed.put_u8(0);
    // Answers are a summary or a feature whose name came from a loaded database (a few
    // hundred bytes at most): far below u32::MAX.
    framed.put_u32(length as u32);
    message.encode_raw(&mut framed);
    let mut trailers = HeaderMap::with_capacity(1);
    trailers.insert(Status::GRPC_STATUS, HeaderValue::from_static("0"));
    // A stream body states no size, so hyper sends no `content-length`, as for tonic's answers.
    let frames = [Frame::data(framed.freeze()), Frame::trailers(trailers)];
    let body = StreamBody::new(futures::stream::iter(frames.map(Ok::<_, Infallible>)));
    grpc_response(tonic::body::Body::new(body))
}

/// Returns a successful gRPC response with `body`: the headers tonic sends.
fn grpc_response(body: tonic::body::Body) -> http::Response<tonic::body::Body> {
    let mut response = http::Response::new(body);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    response
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    fn request(path: &str, encoding: Option<&str>) -> http::Request<()> {
        let mut request = http::Request::builder().uri(path);
        if let Some(encoding) = encoding {
            request = request.header("grpc-encoding", encoding);
        }
        request.body(()).unwrap()
    }

    #[test]
    fn takes_only_uncompressed_calls_of_the_three_rpcs() {
        for path in [GET_FEATURE, LIST_FEATURES, RECORD_ROUTE] {
            assert!(DirectCalls::takes(&request(path, None)));
            assert!(DirectCalls::takes(&request(path, Some("identity"))));
            assert!(!DirectCalls::takes(&request(path, Some("gzip"))));
            assert!(!DirectCalls::takes(&request(path, Some("zstd"))));
        }
        for other in [
            "/routeguide.RouteGuide/RouteChat",
            "/routeguide.RouteGuide/RecordRouteX",
            "/routeguide.RouteGuide/GetFeature/",
            "/grpc.health.v1.Health/Check",
        ] {
            assert!(!DirectCalls::takes(&request(other, None)), "{other}");
        }
    }

    #[test]
    fn the_answer_is_one_uncompressed_message() {
        let summary = pb::RouteSummary {
            point_count: 3,
            feature_count: 1,
            distance: 123_456,
            elapsed_time: 2,
        };
        let response = message_response(&summary);
        assert_eq!(response.headers()["content-type"], "application/grpc");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let collected = runtime.block_on(response.into_body().collect()).unwrap();
        let trailers = collected.trailers().cloned().unwrap();
        assert_eq!(trailers["grpc-status"], "0");
        let bytes = collected.to_bytes();
        assert_eq!(bytes[0], 0);
        let length = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]) as usize;
        assert_eq!(length, bytes.len() - 5);
        assert_eq!(pb::RouteSummary::decode(&bytes[5..]).unwrap(), summary);
    }
}
