//! Answers are gzip-compressed on every RPC when the client accepts gzip, and only then.

use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataMap;

use routeguide::pb;

use super::support::{TestServer, pb_point};

/// Returns the `grpc-encoding` of a response's headers, if any.
fn encoding(metadata: &MetadataMap) -> Option<String> {
    metadata
        .get("grpc-encoding")
        .map(|value| value.to_str().unwrap().to_owned())
}

/// Calls each RPC once with a client that accepts gzip when `accept_gzip` (requests
/// uncompressed) and returns each response's `grpc-encoding`, reading every message.
async fn response_encodings(server: &TestServer, accept_gzip: bool) -> Vec<Option<String>> {
    let mut client = server.client().await;
    if accept_gzip {
        client = client.accept_compressed(CompressionEncoding::Gzip);
    }
    let point = pb_point(409_146_138, -746_188_906);
    let mut encodings = Vec::new();

    let response = client.get_feature(point).await.unwrap();
    encodings.push(encoding(response.metadata()));

    let rectangle = pb::Rectangle {
        lo: Some(pb_point(400_000_000, -750_000_000)),
        hi: Some(pb_point(420_000_000, -730_000_000)),
    };
    let response = client.list_features(rectangle).await.unwrap();
    encodings.push(encoding(response.metadata()));
    let mut features = response.into_inner();
    let mut count = 0;
    while features.message().await.unwrap().is_some() {
        count += 1;
    }
    assert!(count > 0, "the tutorial's rectangle holds features");

    let route = futures::stream::iter(vec![point, point]);
    let response = client.record_route(route).await.unwrap();
    encodings.push(encoding(response.metadata()));
    assert_eq!(response.into_inner().point_count, 2);

    let note = pb::RouteNote {
        location: Some(point),
        message: "compressed?".to_owned(),
    };
    let response = client
        .route_chat(futures::stream::iter(vec![note.clone(), note]))
        .await
        .unwrap();
    encodings.push(encoding(response.metadata()));
    let mut replies = response.into_inner();
    let mut replayed = 0;
    while replies.message().await.unwrap().is_some() {
        replayed += 1;
    }
    assert_eq!(replayed, 1, "the second note replays the first");
    encodings
}

#[tokio::test]
async fn every_rpc_answers_gzip_to_a_client_that_accepts_it() {
    let server = TestServer::start().await;
    let gzip = Some("gzip".to_owned());
    assert_eq!(
        response_encodings(&server, true).await,
        vec![gzip.clone(), gzip.clone(), gzip.clone(), gzip]
    );
}

#[tokio::test]
async fn no_rpc_compresses_for_a_client_that_does_not_accept_it() {
    let server = TestServer::start().await;
    assert_eq!(
        response_encodings(&server, false).await,
        vec![None, None, None, None]
    );
}
