//! `DirectRecordRoute`: RecordRoute calls with uncompressed requests, answered from the
//! HTTP request itself instead of through tonic's generated server.
//!
//! A RecordRoute request is a stream of 17-byte points, and tonic's request stream costs
//! about as much per point as the route's own work (see `request_messages.rs`). Calls whose
//! request names no `grpc-encoding` (or `identity`), which is what clients send unless told
//! to compress, come here; a compressed request goes through tonic, which decompresses it.
//!
//! The answer is what tonic's generated server sends for the same call: `content-type:
//! application/grpc`, then the summary as one message and `grpc-status: 0` in the
//! trailers, or a trailers-only response with the error. The summary is never compressed,
//! even for a client that accepts gzip: a compressed 20-byte message only grows, and a
//! gRPC server may always answer uncompressed.

use std::future::Future;
use std::sync::Arc;

use http::{HeaderMap, HeaderValue};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use prost::Message;
use prost::bytes::{BufMut, Bytes, BytesMut};
use tonic::Status;

use super::RouteGuideService;
use super::record_route;
use super::request_messages::RequestMessages;
use crate::pb;

/// The path of RecordRoute calls.
const PATH: &str = "/routeguide.RouteGuide/RecordRoute";

/// The header naming a request's compression.
static GRPC_ENCODING: http::HeaderName = http::HeaderName::from_static("grpc-encoding");

/// Answers the RecordRoute calls it [`takes`](Self::takes) as the RouteGuide server would,
/// with the same results, statuses and message limit.
#[derive(Clone)]
pub struct DirectRecordRoute {
    service: Arc<RouteGuideService>,
    max_message_bytes: usize,
}

impl std::fmt::Debug for DirectRecordRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectRecordRoute")
            .field("max_message_bytes", &self.max_message_bytes)
            .finish_non_exhaustive()
    }
}

impl DirectRecordRoute {
    /// Returns the entry for `service`'s RecordRoute, accepting messages of at most
    /// `max_message_bytes` (the limit the generated server is given).
    pub fn new(service: Arc<RouteGuideService>, max_message_bytes: usize) -> Self {
        Self {
            service,
            max_message_bytes,
        }
    }

    /// Returns whether `request` is a RecordRoute call whose request is uncompressed: the
    /// calls [`call`](Self::call) answers.
    pub fn takes<B>(request: &http::Request<B>) -> bool {
        request.uri().path() == PATH
            && request
                .headers()
                .get(&GRPC_ENCODING)
                .is_none_or(|encoding| encoding.as_bytes() == b"identity")
    }

    /// Answers the RecordRoute call `request`, which [`takes`](Self::takes) accepted.
    pub fn call<B>(
        &self,
        request: http::Request<B>,
    ) -> impl Future<Output = http::Response<tonic::body::Body>> + Send + 'static
    where
        B: Body<Data = Bytes, Error = Status> + Unpin + Send + 'static,
    {
        let service = Arc::clone(&self.service);
        let points = RequestMessages::new(request.into_body(), self.max_message_bytes);
        async move {
            match record_route::record(&service, points).await {
                Ok(summary) => summary_response(&summary),
                Err(status) => status.into_http(),
            }
        }
    }
}

/// Returns the successful answer: `summary` as the one message, then `grpc-status: 0`.
fn summary_response(summary: &pb::RouteSummary) -> http::Response<tonic::body::Body> {
    let length = summary.encoded_len();
    let mut message = BytesMut::with_capacity(5 + length);
    message.put_u8(0);
    // A RouteSummary is at most four varints: far below u32::MAX.
    message.put_u32(length as u32);
    summary.encode_raw(&mut message);
    let mut trailers = HeaderMap::with_capacity(1);
    trailers.insert(Status::GRPC_STATUS, HeaderValue::from_static("0"));
    let body = Full::new(message.freeze()).with_trailers(std::future::ready(Some(Ok(trailers))));
    let mut response = http::Response::new(tonic::body::Body::new(body));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, encoding: Option<&str>) -> http::Request<()> {
        let mut request = http::Request::builder().uri(path);
        if let Some(encoding) = encoding {
            request = request.header("grpc-encoding", encoding);
        }
        request.body(()).unwrap()
    }

    #[test]
    fn takes_only_uncompressed_record_route_calls() {
        assert!(DirectRecordRoute::takes(&request(PATH, None)));
        assert!(DirectRecordRoute::takes(&request(PATH, Some("identity"))));
        assert!(!DirectRecordRoute::takes(&request(PATH, Some("gzip"))));
        assert!(!DirectRecordRoute::takes(&request(PATH, Some("zstd"))));
        for other in [
            "/routeguide.RouteGuide/GetFeature",
            "/routeguide.RouteGuide/RecordRouteX",
            "/routeguide.RouteGuide/RouteChat",
            "/grpc.health.v1.Health/Check",
        ] {
            assert!(!DirectRecordRoute::takes(&request(other, None)), "{other}");
        }
    }

    #[test]
    fn the_summary_is_one_uncompressed_message() {
        let summary = pb::RouteSummary {
            point_count: 3,
            feature_count: 1,
            distance: 123_456,
            elapsed_time: 2,
        };
        let response = summary_response(&summary);
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
