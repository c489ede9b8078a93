//! GetFeature over the wire: hits, misses, first-in-file-order, validation.

use tonic::Code;

use super::support::{TestServer, assert_status, canonical_features, index_of, pb_point};
use routeguide::config::ServerConfig;

#[tokio::test]
async fn every_canonical_feature_is_found_by_its_location() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let features = canonical_features();
    for (location, name) in &features {
        let feature = client.get_feature(*location).await.unwrap().into_inner();
        // The first feature in file order at that location wins.
        let first = features
            .iter()
            .find(|(l, _)| l == location)
            .map(|(_, n)| n)
            .unwrap();
        assert_eq!(&feature.name, first, "at {location:?} (own name {name:?})");
        assert_eq!(feature.location, Some(*location));
    }
}

#[tokio::test]
async fn miss_returns_unnamed_feature_at_the_point() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    for point in [
        pb_point(0, 0),
        pb_point(-900_000_000, 1_800_000_000),
        pb_point(409_146_139, -746_188_906),
    ] {
        let feature = client.get_feature(point).await.unwrap().into_inner();
        assert_eq!(feature.name, "");
        assert_eq!(feature.location, Some(point));
    }
}

#[tokio::test]
async fn duplicates_return_the_first_in_file_order() {
    let index = index_of(&[(5, 5, ""), (5, 5, "second"), (7, 7, "a"), (7, 7, "b")]);
    let server = TestServer::start_with(index, ServerConfig::default()).await;
    let mut client = server.client().await;
    let at = |lat, lon| pb_point(lat, lon);
    assert_eq!(
        client
            .get_feature(at(5, 5))
            .await
            .unwrap()
            .into_inner()
            .name,
        ""
    );
    assert_eq!(
        client
            .get_feature(at(7, 7))
            .await
            .unwrap()
            .into_inner()
            .name,
        "a"
    );
}

#[tokio::test]
async fn invalid_points_are_rejected_by_field_and_value() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let cases = [
        (pb_point(900_000_001, 0), "latitude 900000001"),
        (pb_point(-900_000_001, 0), "latitude -900000001"),
        (pb_point(0, 1_800_000_001), "longitude 1800000001"),
        (pb_point(i32::MIN, i32::MAX), "latitude -2147483648"),
    ];
    for (point, fragment) in cases {
        assert_status(
            client.get_feature(point).await,
            Code::InvalidArgument,
            fragment,
        );
    }
    // Both bounds are inclusive.
    client
        .get_feature(pb_point(900_000_000, -1_800_000_000))
        .await
        .unwrap();
}
