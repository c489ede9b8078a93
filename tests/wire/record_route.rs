//! RecordRoute over the wire: counts, haversine distance, elapsed time, validation.

use std::time::{Duration, Instant};

use routeguide::pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

use super::support::{TestServer, assert_status, canonical_features, pb_point};

// Every expected distance below is a literal printed by `python3 tests/wire/distances.py`,
// which applies the spec's formula (§3) with Python's `math` module to the same routes, so
// that no wire test checks the crate's distance against the crate's own code.

/// Returns the canonical database's locations in file order.
fn canonical_points() -> Vec<pb::Point> {
    canonical_features().iter().map(|(p, _)| *p).collect()
}

#[tokio::test]
async fn summary_counts_points_features_and_distance() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let features = canonical_points();
    // Features (named or not), a repeat, and two misses.
    let mut route = features[..10].to_vec();
    route.extend([features[0], pb_point(0, 0), pb_point(1, 1)]);
    let summary = client
        .record_route(futures::stream::iter(route))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary.point_count, 13);
    assert_eq!(summary.feature_count, 11);
    // distances.py: "first 10 features, the first again, 0,0 and 1,1".
    assert_eq!(summary.distance, 9_445_614);
    assert_eq!(summary.elapsed_time, 0);
}

#[tokio::test]
async fn distance_is_the_spec_formula_summed_and_truncated_once() {
    let server = TestServer::start().await;
    let check = |route: Vec<pb::Point>, expected: i32, name: &'static str| {
        let server = &server;
        async move {
            let summary = server.record(&route).await;
            assert_eq!(summary.distance, expected, "{name}");
        }
    };
    // Each name is the route's line in the output of distances.py.
    check(
        canonical_points()[..25].to_vec(),
        1_763_885,
        "first 25 features",
    )
    .await;
    let antimeridian = vec![
        pb_point(100_000_000, 1_795_000_000),
        pb_point(105_000_000, -1_795_000_000),
        pb_point(-50_000_000, 1_799_000_000),
        pb_point(0, -1_800_000_000),
        pb_point(0, 1_800_000_000),
    ];
    check(antimeridian, 2_403_621, "across the antimeridian and back").await;
    let near_antipodes = vec![
        pb_point(123_456_789, 456_789_012),
        pb_point(-123_400_000, -1_343_200_000),
    ];
    check(near_antipodes, 20_014_444, "a near-antipodal hop").await;
}

#[tokio::test]
async fn antipodes_where_rounding_exceeds_the_formula_domain_are_half_the_circumference() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    // The haversine term of this pair rounds to just above 1; uncapped, √(1 − a) is NaN
    // and so was the whole route's distance (0 on the wire).
    let route = vec![
        pb_point(-834_308_498, -1_752_063_631),
        pb_point(834_308_498, 47_936_369),
    ];
    let summary = client
        .record_route(futures::stream::iter(route))
        .await
        .unwrap()
        .into_inner();
    // R·π = 20,015,086.796... metres: `python3 -c 'import math; print(int(6371000 * math.pi))'`
    // (also the last line of distances.py; the spec's formula itself fails there on √(1 − a)).
    assert_eq!(summary.distance, 20_015_086);
}

#[tokio::test]
async fn empty_route_gives_zero_summary() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let summary = client
        .record_route(futures::stream::iter(Vec::<pb::Point>::new()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary, pb::RouteSummary::default());
}

#[tokio::test]
async fn elapsed_time_is_whole_seconds_until_half_close() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let (points, receiver) = mpsc::channel(4);
    let started = Instant::now();
    let call =
        tokio::spawn(async move { client.record_route(ReceiverStream::new(receiver)).await });
    points.send(pb_point(0, 0)).await.unwrap();
    // Real time must pass for elapsed_time to count it: the behaviour under test, not a wait.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    points.send(pb_point(10, 10)).await.unwrap();
    drop(points);
    let summary = call.await.unwrap().unwrap().into_inner();
    let upper = started.elapsed().as_secs() as i32;
    assert!(
        summary.elapsed_time >= 1 && summary.elapsed_time <= upper,
        "{summary:?}"
    );
    assert_eq!(summary.point_count, 2);
}

#[tokio::test]
async fn invalid_point_names_its_index() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let route = vec![pb_point(0, 0), pb_point(1, 1), pb_point(0, 1_800_000_001)];
    assert_status(
        client.record_route(futures::stream::iter(route)).await,
        Code::InvalidArgument,
        "point 2: longitude 1800000001",
    );
}

#[tokio::test]
async fn long_route_saturates_distance() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    // 250 antipodal hops of ~20,015 km exceed i32::MAX metres (distances.py: "251 points
    // between 0,0 and 0,1800000000", whose float sum is 5,003,771,699.0 m).
    let route: Vec<_> = (0..251)
        .map(|i| pb_point(0, if i % 2 == 0 { 0 } else { 1_800_000_000 }))
        .collect();
    let summary = client
        .record_route(futures::stream::iter(route))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary.distance, i32::MAX);
    assert_eq!(summary.point_count, 251);
}

/// Long routes arrive many points per read, so the server handles them in chunks: the
/// counts and distance must still be exactly those of the points one by one.
#[tokio::test]
async fn long_route_counts_every_point_once() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let features = canonical_points();
    // Every third point is one E7 unit north of a feature: a miss, as far as hops go.
    let route: Vec<pb::Point> = (0..5_000)
        .map(|i| {
            let feature = features[i % 100];
            pb_point(feature.latitude + i32::from(i % 3 == 0), feature.longitude)
        })
        .collect();
    let with_feature = route.iter().filter(|p| features.contains(p)).count();
    let summary = client
        .record_route(futures::stream::iter(route.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary.point_count, 5_000);
    assert_eq!(summary.feature_count as usize, with_feature);
    // distances.py: "5000 points: feature i % 100, one E7 unit north of it when i % 3 == 0".
    assert_eq!(summary.distance, 376_093_751);
}

#[tokio::test]
async fn invalid_point_deep_in_a_long_route_names_its_index() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let mut route: Vec<_> = (0..3_000).map(|i| pb_point(i, i)).collect();
    route[2_345] = pb_point(-900_000_001, 0);
    assert_status(
        client.record_route(futures::stream::iter(route)).await,
        Code::InvalidArgument,
        "point 2345: latitude -900000001",
    );
}

/// Several calls in flight on a multi-threaded runtime, each short enough that its points
/// arrive together: none may lose or repeat a point, nor hang (a lost wake-up).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_short_routes_each_count_all_their_points() {
    let server = TestServer::start().await;
    let route = canonical_points()[..10].to_vec();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let mut client = server.client().await;
        let route = route.clone();
        tasks.push(tokio::spawn(async move {
            for call in 0..500 {
                let summary = client
                    .record_route(futures::stream::iter(route.clone()))
                    .await
                    .unwrap()
                    .into_inner();
                assert_eq!(summary.point_count, 10, "call {call}");
            }
        }));
    }
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("no call hangs")
            .unwrap();
    }
}
