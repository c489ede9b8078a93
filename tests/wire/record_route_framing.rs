//! RecordRoute's request framing over the wire: an uncompressed request is read by the
//! server's own reader, a compressed one by tonic's; both must give the same summaries and
//! the same statuses for broken framing, however the body is cut into DATA frames.

use std::time::Duration;

use bytes::Bytes;
use prost::Message;
use routeguide::config::ServerConfig;
use routeguide::pb;

use super::raw_h2::{CallEnd, call_raw, frame};
use super::support::{TestServer, canonical_features, pb_point};

const PATH: &str = "/routeguide.RouteGuide/RecordRoute";
const GIVE_UP: Duration = Duration::from_secs(10);

/// Marks a request compressed, so that tonic's reader takes it; every message below still
/// has the compressed flag 0, which a gzip request may carry.
const GZIP: &[(&str, &str)] = &[("grpc-encoding", "gzip")];

/// A route over features and misses, framed as one byte string.
fn route_bytes() -> (Vec<pb::Point>, Vec<u8>) {
    let mut route: Vec<pb::Point> = canonical_features()
        .iter()
        .take(40)
        .map(|(p, _)| *p)
        .collect();
    route.extend([pb_point(0, 0), pb_point(-900_000_000, 1_800_000_000)]);
    route.push(route[3]);
    let bytes = route.iter().flat_map(|p| frame(p).to_vec()).collect();
    (route, bytes)
}

/// Returns the summary in a successful call's response body.
fn summary_of(end: &CallEnd) -> pb::RouteSummary {
    assert_eq!(end.grpc_status.as_deref(), Some("0"), "{end:?}");
    let length = u32::from_be_bytes(end.body[1..5].try_into().unwrap()) as usize;
    assert_eq!(end.body.len(), 5 + length, "one message");
    pb::RouteSummary::decode(&end.body[5..]).unwrap()
}

fn chunks(bytes: &[u8], size: usize) -> Vec<Bytes> {
    bytes.chunks(size).map(Bytes::copy_from_slice).collect()
}

#[tokio::test]
async fn a_route_cut_into_data_frames_anywhere_gets_the_same_summary_either_way() {
    let server = TestServer::start().await;
    let (route, bytes) = route_bytes();
    let expected = server
        .client()
        .await
        .record_route(futures::stream::iter(route.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(expected.point_count, route.len() as i32);
    assert_eq!(expected.feature_count, 41);
    // 17 is one point message, so 16 and 18 cut every message at a different place.
    for size in [1, 2, 3, 5, 7, 16, 17, 18, 100, bytes.len()] {
        for headers in [&[][..], GZIP] {
            let end = call_raw(
                server.addr,
                PATH,
                headers,
                &chunks(&bytes, size),
                true,
                GIVE_UP,
            )
            .await;
            assert_eq!(
                summary_of(&end),
                expected,
                "frames of {size} bytes, {headers:?}"
            );
        }
    }
}

#[tokio::test]
async fn broken_framing_gets_the_same_status_as_from_tonics_reader() {
    let config = ServerConfig {
        max_message_bytes: 64,
        ..ServerConfig::default()
    };
    let server = TestServer::start_with(routeguide::db::builtin(), config).await;
    let point = frame(&pb_point(409_146_138, -746_188_906)).to_vec();
    let unknown_flag = [&[2u8][..], &point[1..]].concat();
    let over_limit = [&[0u8, 0, 0, 0, 65][..], &[0x08; 65]].concat();
    let cut_in_message = [&point[..], &point[..10]].concat();
    let cut_in_header = [&point[..], &point[..3]].concat();
    let cases = [
        ("unknown compressed flag", unknown_flag, "13"),
        ("message over the limit", over_limit, "11"),
        ("body ends inside a message", cut_in_message, "13"),
        ("body ends inside a header", cut_in_header, "13"),
    ];
    for (case, bytes, code) in cases {
        for size in [1, 4, bytes.len()] {
            let plain =
                call_raw(server.addr, PATH, &[], &chunks(&bytes, size), true, GIVE_UP).await;
            let tonic = call_raw(
                server.addr,
                PATH,
                GZIP,
                &chunks(&bytes, size),
                true,
                GIVE_UP,
            )
            .await;
            assert_eq!(
                plain.grpc_status.as_deref(),
                Some(code),
                "{case}: {plain:?}"
            );
            assert_eq!(plain, tonic, "{case}, frames of {size} bytes");
        }
    }
}

#[tokio::test]
async fn a_compressed_flag_without_grpc_encoding_is_internal() {
    let server = TestServer::start().await;
    let mut bytes = frame(&pb_point(1, 1)).to_vec();
    bytes[0] = 1;
    let end = call_raw(server.addr, PATH, &[], &[Bytes::from(bytes)], true, GIVE_UP).await;
    assert_eq!(end.grpc_status.as_deref(), Some("13"));
    assert_eq!(
        end.grpc_message.as_deref(),
        Some(
            "protocol%20error:%20received%20message%20with%20compressed-flag%20but%20no%20grpc-encoding%20was%20specified"
        )
    );
}

#[tokio::test]
async fn the_summary_comes_back_uncompressed_even_to_a_client_accepting_gzip() {
    let server = TestServer::start().await;
    let (_, bytes) = route_bytes();
    let accepts = [("grpc-accept-encoding", "gzip")];
    let end = call_raw(
        server.addr,
        PATH,
        &accepts,
        &[Bytes::from(bytes)],
        true,
        GIVE_UP,
    )
    .await;
    assert_eq!(end.body[0], 0, "the summary's compressed flag");
    assert_eq!(summary_of(&end).point_count, 43);
}
