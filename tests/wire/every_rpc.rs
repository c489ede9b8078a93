//! One call of any of the four RPCs, for tests that check a concern on every call.

use routeguide::pb;
use tonic::codec::CompressionEncoding;
use tonic::{Request, Status};

use super::support::{TestServer, pb_point};

/// The four RouteGuide RPCs, by method name.
pub const RPCS: [&str; 4] = ["GetFeature", "ListFeatures", "RecordRoute", "RouteChat"];

/// Returns `message` in a request carrying `metadata` (name, value pairs).
fn request<T>(message: T, metadata: &[(&'static str, &str)]) -> Request<T> {
    let mut request = Request::new(message);
    for &(name, value) in metadata {
        request
            .metadata_mut()
            .insert(name, value.parse().expect("an ASCII metadata value"));
    }
    request
}

/// Makes one call of `rpc` on a new connection whose user agent names `agent`,
/// gzip-compressed both ways when `gzip`, with `metadata` on the request: a GetFeature at
/// the tutorial's first feature, a ListFeatures over the tutorial's rectangle, a two-point
/// RecordRoute, a one-note RouteChat; reads every response. Returns OK or the status
/// that ended the call.
pub async fn call(
    server: &TestServer,
    agent: &str,
    rpc: &str,
    gzip: bool,
    metadata: &[(&'static str, &str)],
) -> Result<(), Status> {
    let mut client = server.client_as(agent).await;
    if gzip {
        client = client
            .send_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Gzip);
    }
    let point = pb_point(409_146_138, -746_188_906);
    match rpc {
        "GetFeature" => {
            client.get_feature(request(point, metadata)).await?;
        }
        "ListFeatures" => {
            let rectangle = pb::Rectangle {
                lo: Some(pb_point(400_000_000, -750_000_000)),
                hi: Some(pb_point(420_000_000, -730_000_000)),
            };
            let request = request(rectangle, metadata);
            let mut stream = client.list_features(request).await?.into_inner();
            while stream.message().await?.is_some() {}
        }
        "RecordRoute" => {
            let points = futures::stream::iter(vec![point, point]);
            client.record_route(request(points, metadata)).await?;
        }
        "RouteChat" => {
            let note = pb::RouteNote {
                location: Some(point),
                message: format!("note from {agent}"),
            };
            let notes = futures::stream::iter(vec![note]);
            let mut replies = client
                .route_chat(request(notes, metadata))
                .await?
                .into_inner();
            while replies.message().await?.is_some() {}
        }
        other => unreachable!("no RPC {other}"),
    }
    Ok(())
}
