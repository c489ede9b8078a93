//! `DirectCalls`: GetFeature and RecordRoute calls with uncompressed requests, answered
//! from the HTTP request itself instead of through tonic's generated server.
//!
//! A RecordRoute request is a stream of 17-byte points, and tonic's request stream costs
//! about as much per point as the route's own work (see `request_messages.rs`); a
//! GetFeature call is so small that tonic's per-call machinery (a boxed decoder and
//! request stream, a boxed response stream and encoder) is a visible share of it. Calls
//! whose request names no `grpc-encoding` (or `identity`), which is what clients send
//! unless told to compress, come here; a compressed request goes through tonic, which
//! decompresses it.
//!
//! The answer is what tonic's generated server sends for the same call: `content-type:
//! application/grpc`, then the answer as one message and `grpc-status: 0` in the
//! trailers, or a trailers-only response with the error. A GetFeature request is read to
//! its end before it is answered, and every message after the first must decode, as in
//! tonic. The answer is never compressed, even for a client that accepts gzip: both
//! answers are a few dozen bytes, which gzip does not shrink, and a gRPC server may always
//! answer uncompressed.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use http::{HeaderMap, HeaderValue};
use http_body::Body;
use http_body::Frame;
use http_body_util::StreamBody;
use prost::Message;
use prost::bytes::{BufMut, Bytes, BytesMut};
use tonic::Status;

use super::request_messages::RequestMessages;
use super::{RouteGuideService, get_feature, record_route};
use crate::codec::decode_point_slice;
use crate::pb;

/// The path of GetFeature calls.
const GET_FEATURE: &str = "/routeguide.RouteGuide/GetFeature";
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
    /// Returns the entry for `service`'s GetFeature and RecordRoute, accepting messages of
    /// at most `max_message_bytes` (the limit the generated server is given).
    pub fn new(service: Arc<RouteGuideService>, max_message_bytes: usize) -> Self {
        Self {
            service,
            max_message_bytes,
        }
    }

    /// Returns whether `request` is a GetFeature or RecordRoute call whose request is
    /// uncompressed: the calls [`call`](Self::call) answers.
    pub fn takes<B>(request: &http::Request<B>) -> bool {
        matches!(request.uri().path(), GET_FEATURE | RECORD_ROUTE)
            && request
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
        let record_route = request.uri().path() == RECORD_ROUTE;
        let messages = RequestMessages::new(request.into_body(), self.max_message_bytes);
        async move {
            let answer = if record_route {
                record_route::record(&service, messages)
                    .await
                    .map(|summary| message_response(&summary))
            } else {
                get_feature(&service, messages)
                    .await
                    .map(|feature| message_response(&feature))
            };
            answer.unwrap_or_else(Status::into_http)
        }
    }
}

/// Reads a GetFeature request to its end, as tonic's unary calls do, and answers it.
async fn get_feature<B>(
    service: &RouteGuideService,
    mut messages: RequestMessages<B>,
) -> Result<pb::Feature, Status>
where
    B: Body<Data = Bytes, Error = Status> + Unpin,
{
    let point = messages
        .next_with(decode_point)
        .await
        .ok_or_else(|| Status::internal("Missing request message."))??;
    while messages
        .next_with(decode_point)
        .await
        .transpose()?
        .is_some()
    {}
    get_feature::answer(service, &point)
}

/// Decodes a `Point` message with the generated server's status on failure: INTERNAL with
/// prost's message.
fn decode_point(bytes: &[u8]) -> Result<pb::Point, Status> {
    decode_point_slice(bytes).map_err(|error| Status::internal(error.to_string()))
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
    let mut response = http::Response::new(tonic::body::Body::new(body));
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
    fn takes_only_uncompressed_get_feature_and_record_route_calls() {
        for path in [GET_FEATURE, RECORD_ROUTE] {
            assert!(DirectCalls::takes(&request(path, None)));
            assert!(DirectCalls::takes(&request(path, Some("identity"))));
            assert!(!DirectCalls::takes(&request(path, Some("gzip"))));
            assert!(!DirectCalls::takes(&request(path, Some("zstd"))));
        }
        for other in [
            "/routeguide.RouteGuide/ListFeatures",
            "/routeguide.RouteGuide/RecordRouteX",
            "/routeguide.RouteGuide/RouteChat",
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
