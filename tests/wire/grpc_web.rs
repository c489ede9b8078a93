//! gRPC-Web over HTTP/1.1 on the serving port, binary and text: every RPC (the
//! client-streaming ones as one-shot calls whose whole request is one body), error
//! statuses, and native gRPC on the same port answering the same.

use std::collections::BTreeSet;

use routeguide::pb;

use super::support::{TestServer, canonical_features, pb_point};
use super::web_client::{Mode, call};

const MODES: [Mode; 2] = [Mode::Binary, Mode::Text];

fn berkshire() -> pb::Point {
    pb_point(409_146_138, -746_188_906)
}

fn tutorial_rectangle() -> pb::Rectangle {
    pb::Rectangle {
        lo: Some(pb_point(400_000_000, -750_000_000)),
        hi: Some(pb_point(420_000_000, -730_000_000)),
    }
}

fn note(point: pb::Point, message: &str) -> pb::RouteNote {
    pb::RouteNote {
        location: Some(point),
        message: message.to_owned(),
    }
}

#[tokio::test]
async fn get_feature_answers_in_both_modes() {
    let server = TestServer::start().await;
    for mode in MODES {
        let found = call(server.addr, "GetFeature", &[berkshire()], mode, &[]).await;
        assert_eq!(found.http_status, 200, "{mode:?}");
        assert_eq!(found.grpc_status(), Some(0), "{mode:?}: {found:?}");
        let features: Vec<pb::Feature> = found.decode();
        assert_eq!(features.len(), 1, "{mode:?}");
        assert_eq!(
            features[0].name,
            "Berkshire Valley Management Area Trail, Jefferson, NJ, USA"
        );
        assert_eq!(features[0].location, Some(berkshire()));

        let nothing = call(server.addr, "GetFeature", &[pb_point(0, 0)], mode, &[]).await;
        let features: Vec<pb::Feature> = nothing.decode();
        assert_eq!(features.len(), 1, "{mode:?}");
        assert_eq!(features[0].name, "", "{mode:?}");
        assert_eq!(features[0].location, Some(pb_point(0, 0)));
    }
}

#[tokio::test]
async fn list_features_streams_the_same_features_as_native_grpc() {
    let server = TestServer::start().await;
    let expected: BTreeSet<(i32, i32, String)> = canonical_features()
        .into_iter()
        .map(|(p, name)| (p.latitude, p.longitude, name))
        .collect();
    let mut native = Vec::new();
    let mut stream = server
        .client()
        .await
        .list_features(tutorial_rectangle())
        .await
        .unwrap()
        .into_inner();
    while let Some(feature) = stream.message().await.unwrap() {
        native.push(feature);
    }
    for mode in MODES {
        let listed = call(
            server.addr,
            "ListFeatures",
            &[tutorial_rectangle()],
            mode,
            &[],
        )
        .await;
        assert_eq!(listed.grpc_status(), Some(0), "{mode:?}");
        let features: Vec<pb::Feature> = listed.decode();
        assert_eq!(features, native, "{mode:?}: same features, same order");
        let got: BTreeSet<_> = features
            .into_iter()
            .map(|f| {
                let p = f.location.unwrap();
                (p.latitude, p.longitude, f.name)
            })
            .collect();
        assert_eq!(got.len(), 100, "{mode:?}");
        assert!(got.is_subset(&expected), "{mode:?}");
    }
}

#[tokio::test]
async fn record_route_takes_the_whole_route_in_one_body() {
    let server = TestServer::start().await;
    let route: Vec<pb::Point> = canonical_features()
        .into_iter()
        .take(5)
        .map(|(p, _)| p)
        .chain([pb_point(0, 0)])
        .collect();
    let native = server.record(&route).await;
    assert_eq!((native.point_count, native.feature_count), (6, 5));
    for mode in MODES {
        let recorded = call(server.addr, "RecordRoute", &route, mode, &[]).await;
        assert_eq!(recorded.grpc_status(), Some(0), "{mode:?}");
        let summaries: Vec<pb::RouteSummary> = recorded.decode();
        assert_eq!(summaries.len(), 1, "{mode:?}");
        let summary = &summaries[0];
        assert_eq!(
            (summary.point_count, summary.feature_count, summary.distance),
            (native.point_count, native.feature_count, native.distance),
            "{mode:?}"
        );
    }
}

#[tokio::test]
async fn route_chat_replays_earlier_notes_to_a_one_shot_call() {
    let server = TestServer::start().await;
    for (i, mode) in MODES.into_iter().enumerate() {
        let here = pb_point(100 + i as i32, 200);
        // Both notes in one body: the second one's replay is the first.
        let first = call(
            server.addr,
            "RouteChat",
            &[note(here, "first"), note(here, "second")],
            mode,
            &[],
        )
        .await;
        assert_eq!(first.grpc_status(), Some(0), "{mode:?}: {first:?}");
        assert_eq!(
            first.decode::<pb::RouteNote>(),
            vec![note(here, "first")],
            "{mode:?}"
        );
        let later = call(server.addr, "RouteChat", &[note(here, "third")], mode, &[]).await;
        assert_eq!(
            later.decode::<pb::RouteNote>(),
            vec![note(here, "first"), note(here, "second")],
            "{mode:?}"
        );
    }
    // Native clients see the notes browsers left, and the other way round.
    let mut client = server.client().await;
    let mut replies = client
        .route_chat(futures::stream::iter(vec![note(
            pb_point(100, 200),
            "native",
        )]))
        .await
        .unwrap()
        .into_inner();
    let mut replayed = Vec::new();
    while let Some(reply) = replies.message().await.unwrap() {
        replayed.push(reply.message);
    }
    assert_eq!(replayed, ["first", "second", "third"]);
}

#[tokio::test]
async fn errors_carry_their_grpc_status_and_message() {
    let server = TestServer::start().await;
    for mode in MODES {
        let bad_point = call(
            server.addr,
            "GetFeature",
            &[pb_point(950_000_000, 0)],
            mode,
            &[],
        )
        .await;
        assert_eq!(bad_point.http_status, 200, "{mode:?}");
        assert_eq!(bad_point.grpc_status(), Some(3), "{mode:?}: {bad_point:?}");
        assert!(bad_point.messages.is_empty(), "{mode:?}");
        assert!(
            bad_point
                .grpc_message()
                .contains("latitude 950000000 is out of range"),
            "{mode:?}: {:?}",
            bad_point.grpc_message()
        );

        let route = [pb_point(1, 1), pb_point(2, 2), pb_point(0, 1_800_000_001)];
        let bad_route = call(server.addr, "RecordRoute", &route, mode, &[]).await;
        assert_eq!(bad_route.grpc_status(), Some(3), "{mode:?}");
        assert!(
            bad_route.grpc_message().contains("point 2"),
            "{mode:?}: {:?}",
            bad_route.grpc_message()
        );

        let unknown = call(server.addr, "NoSuchMethod", &[pb_point(1, 1)], mode, &[]).await;
        assert_eq!(unknown.grpc_status(), Some(12), "{mode:?}: UNIMPLEMENTED");
    }
}

#[tokio::test]
async fn a_bearer_token_guards_grpc_web_calls_as_native_ones() {
    use routeguide::auth::{Authenticator, TokenSet};
    use routeguide::config::ServerConfig;
    use routeguide::server::Security;

    let tokens = TokenSet::parse(std::path::Path::new("tokens.txt"), "web-token\n").unwrap();
    let security = Security {
        tokens: Some(Authenticator::new(tokens)),
        ..Security::default()
    };
    let server = TestServer::start_secured(ServerConfig::default(), security).await;
    for mode in MODES {
        let refused = call(server.addr, "GetFeature", &[berkshire()], mode, &[]).await;
        assert_eq!(refused.grpc_status(), Some(16), "{mode:?}: {refused:?}");
        assert!(
            refused.grpc_message().contains("missing bearer token"),
            "{mode:?}: {refused:?}"
        );
        let headers = [("authorization", "Bearer web-token")];
        let notes = [note(pb_point(5, 5), "with a token")];
        let accepted = call(server.addr, "RouteChat", &notes, mode, &headers).await;
        assert_eq!(accepted.grpc_status(), Some(0), "{mode:?}: {accepted:?}");
        let found = call(server.addr, "GetFeature", &[berkshire()], mode, &headers).await;
        assert_eq!(found.grpc_status(), Some(0), "{mode:?}: {found:?}");
    }
}
