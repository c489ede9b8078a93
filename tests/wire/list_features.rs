//! ListFeatures over the wire: inclusive normalised bounds, each feature once, validation.

use std::collections::BTreeMap;

use futures::StreamExt;
use routeguide::config::ServerConfig;
use routeguide::pb;
use tonic::Code;

use super::support::{
    TestServer, assert_status, canonical_features, grid_index, index_of, pb_point,
};

fn rect(lo: pb::Point, hi: pb::Point) -> pb::Rectangle {
    pb::Rectangle {
        lo: Some(lo),
        hi: Some(hi),
    }
}

async fn collect(
    client: &mut pb::route_guide_client::RouteGuideClient<tonic::transport::Channel>,
    rectangle: pb::Rectangle,
) -> Result<Vec<pb::Feature>, tonic::Status> {
    let mut stream = client.list_features(rectangle).await?.into_inner();
    let mut features = Vec::new();
    while let Some(feature) = stream.message().await? {
        features.push(feature);
    }
    Ok(features)
}

/// Counts features by (latitude, longitude, name).
fn multiset(
    features: impl IntoIterator<Item = (pb::Point, String)>,
) -> BTreeMap<(i32, i32, String), usize> {
    let mut counts = BTreeMap::new();
    for (p, name) in features {
        *counts.entry((p.latitude, p.longitude, name)).or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn tutorial_rectangle_streams_all_100_features_once() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let got = collect(
        &mut client,
        rect(
            pb_point(400_000_000, -750_000_000),
            pb_point(420_000_000, -730_000_000),
        ),
    )
    .await
    .unwrap();
    assert_eq!(got.len(), 100);
    assert_eq!(
        got.iter().filter(|f| f.name.is_empty()).count(),
        36,
        "unnamed features included"
    );
    let got = multiset(got.into_iter().map(|f| (f.location.unwrap(), f.name)));
    assert_eq!(got, multiset(canonical_features()));
}

#[tokio::test]
async fn corners_in_any_order_give_the_same_features_in_the_same_order() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let (a, b) = (
        pb_point(405_000_000, -748_000_000),
        pb_point(410_000_000, -742_000_000),
    );
    let mixed_a = pb_point(a.latitude, b.longitude);
    let mixed_b = pb_point(b.latitude, a.longitude);
    let first = collect(&mut client, rect(a, b)).await.unwrap();
    assert!(!first.is_empty());
    for (lo, hi) in [(b, a), (mixed_a, mixed_b), (mixed_b, mixed_a), (a, b)] {
        assert_eq!(
            collect(&mut client, rect(lo, hi)).await.unwrap(),
            first,
            "lo {lo:?} hi {hi:?}"
        );
    }
}

#[tokio::test]
async fn bounds_are_inclusive_on_corners_and_edges() {
    let index = index_of(&[
        (10, 10, "lo corner"),
        (20, 20, "hi corner"),
        (10, 20, "other corner"),
        (15, 10, "west edge"),
        (20, 15, "north edge"),
        (15, 15, ""),
        (15, 15, "duplicate"),
        (9, 15, "south of it"),
        (15, 21, "east of it"),
    ]);
    let server = TestServer::start_with(index, ServerConfig::default()).await;
    let mut client = server.client().await;
    let got = collect(&mut client, rect(pb_point(20, 20), pb_point(10, 10)))
        .await
        .unwrap();
    let mut names: Vec<_> = got.iter().map(|f| f.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "",
            "duplicate",
            "hi corner",
            "lo corner",
            "north edge",
            "other corner",
            "west edge"
        ]
    );

    // A degenerate rectangle is a point; both features there come back.
    let got = collect(&mut client, rect(pb_point(15, 15), pb_point(15, 15)))
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    // A line of zero width.
    let got = collect(&mut client, rect(pb_point(10, 10), pb_point(20, 10)))
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
}

#[tokio::test]
async fn whole_world_streams_a_large_database() {
    let server = TestServer::start_with(grid_index(50_000), ServerConfig::default()).await;
    let mut client = server.client().await;
    let world = rect(
        pb_point(-900_000_000, -1_800_000_000),
        pb_point(900_000_000, 1_800_000_000),
    );
    let mut stream = client.list_features(world).await.unwrap().into_inner();
    let mut count = 0;
    while let Some(feature) = stream.next().await {
        feature.unwrap();
        count += 1;
    }
    assert_eq!(count, 50_000);
}

#[tokio::test]
async fn missing_or_invalid_corners_are_rejected_by_field() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let cases = [
        (
            pb::Rectangle {
                lo: None,
                hi: Some(pb_point(1, 1)),
            },
            "lo is missing",
        ),
        (
            pb::Rectangle {
                lo: Some(pb_point(1, 1)),
                hi: None,
            },
            "hi is missing",
        ),
        (pb::Rectangle { lo: None, hi: None }, "lo is missing"),
        (
            rect(pb_point(900_000_001, 0), pb_point(0, 0)),
            "lo.latitude 900000001",
        ),
        (
            rect(pb_point(0, 0), pb_point(0, -1_800_000_001)),
            "hi.longitude -1800000001",
        ),
    ];
    for (rectangle, fragment) in cases {
        assert_status(
            collect(&mut client, rectangle).await,
            Code::InvalidArgument,
            fragment,
        );
    }
}

#[tokio::test]
async fn dropping_the_stream_midway_leaves_the_server_healthy() {
    let server = TestServer::start_with(grid_index(200_000), ServerConfig::default()).await;
    let world = rect(
        pb_point(-900_000_000, -1_800_000_000),
        pb_point(900_000_000, 1_800_000_000),
    );
    for _ in 0..20 {
        let mut client = server.client().await;
        let mut stream = client.list_features(world).await.unwrap().into_inner();
        stream.message().await.unwrap().unwrap();
        drop(stream);
    }
    let mut client = server.client().await;
    let tiny = rect(pb_point(0, 0), pb_point(0, 100));
    assert_eq!(collect(&mut client, tiny).await.unwrap().len(), 2);
}

#[tokio::test]
async fn the_feature_count_is_sent_in_the_headers_only_when_asked_for() {
    let server = TestServer::start_with(grid_index(5000), ServerConfig::default()).await;
    let mut client = server.client().await;
    // Rows 1 to 3 (latitudes 100..300) and columns 10 to 509 (longitudes 1000..50900).
    let rectangle = rect(pb_point(100, 1000), pb_point(300, 50_900));
    let mut asking = tonic::Request::new(rectangle);
    asking.metadata_mut().insert(
        routeguide::service::FEATURE_COUNT_REQUEST,
        "1".parse().unwrap(),
    );
    let response = client.list_features(asking).await.unwrap();
    let count = response
        .metadata()
        .get(routeguide::service::FEATURE_COUNT)
        .map(|v| v.to_str().unwrap().to_owned());
    // The client reads one feature and cancels; the count is the whole stream's.
    let mut stream = response.into_inner();
    assert!(stream.message().await.unwrap().is_some());
    drop(stream);
    assert_eq!(count.as_deref(), Some("1500"));
    let streamed = collect(&mut client, rectangle).await.unwrap().len();
    assert_eq!(streamed, 1500);

    let plain = client.list_features(rectangle).await.unwrap();
    assert!(
        plain
            .metadata()
            .get(routeguide::service::FEATURE_COUNT)
            .is_none()
    );
}
