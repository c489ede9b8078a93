//! GetFeature, ListFeatures and RecordRoute over the wire: an uncompressed request is read
//! and answered by the server's own code (`DirectCalls`), a compressed one by tonic's
//! generated server; both must give the same answers, byte for byte, and the same statuses
//! for bad requests, however the request body is cut into DATA frames.

use std::time::Duration;

use bytes::Bytes;
use prost::Message;
use routeguide::config::ServerConfig;
use routeguide::pb;

use super::raw_h2::{CallEnd, call_raw, frame};
use super::support::{TestServer, canonical_features, grid_index, pb_point};

use tonic::Code;
use tonic::codec::CompressionEncoding;
use tonic::transport::Channel;

const RECORD_ROUTE: &str = "/routeguide.RouteGuide/RecordRoute";
const GET_FEATURE: &str = "/routeguide.RouteGuide/GetFeature";
const LIST_FEATURES: &str = "/routeguide.RouteGuide/ListFeatures";
const GIVE_UP: Duration = Duration::from_secs(10);

/// Marks a request compressed, so that tonic's reader takes it; every message below still
/// has the compressed flag 0, which a gzip request may carry.
const GZIP: &[(&str, &str)] = &[("grpc-encoding", "gzip")];
/// Names the encoding of an uncompressed request, which the server's own reader takes.
const IDENTITY: &[(&str, &str)] = &[("grpc-encoding", "identity")];

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

/// Returns the one message of a successful call's response body.
fn answer_of<M: Message + Default>(end: &CallEnd) -> M {
    assert_eq!(end.grpc_status.as_deref(), Some("0"), "{end:?}");
    assert_eq!(end.body[0], 0, "the answer's compressed flag");
    let length = u32::from_be_bytes(end.body[1..5].try_into().unwrap()) as usize;
    assert_eq!(end.body.len(), 5 + length, "one message");
    M::decode(&end.body[5..]).unwrap()
}

fn summary_of(end: &CallEnd) -> pb::RouteSummary {
    answer_of(end)
}

fn chunks(bytes: &[u8], size: usize) -> Vec<Bytes> {
    bytes.chunks(size).map(Bytes::copy_from_slice).collect()
}

/// Asserts that the uncompressed and the compressed request for `path` with `body` get
/// the same response, cut into frames of `size` bytes; returns it.
async fn same_both_ways(server: &TestServer, path: &str, body: &[u8], size: usize) -> CallEnd {
    let frames = chunks(body, size);
    let tonic = call_raw(server.addr, path, GZIP, &frames, true, GIVE_UP).await;
    for headers in [&[][..], IDENTITY] {
        let direct = call_raw(server.addr, path, headers, &frames, true, GIVE_UP).await;
        assert_eq!(direct, tonic, "{path}, frames of {size} bytes, {headers:?}");
    }
    tonic
}

#[tokio::test]
async fn a_route_cut_into_data_frames_anywhere_gets_the_same_answer_either_way() {
    let server = TestServer::start().await;
    let (route, bytes) = route_bytes();
    let expected = server.record(&route).await;
    assert_eq!(expected.point_count, route.len() as i32);
    assert_eq!(expected.feature_count, 41);
    // 17 is one point message, so 16 and 18 cut every message at a different place.
    for size in [1, 2, 3, 5, 7, 16, 17, 18, 100, bytes.len()] {
        let end = same_both_ways(&server, RECORD_ROUTE, &bytes, size).await;
        assert_eq!(summary_of(&end), expected, "frames of {size} bytes");
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
    let undecodable_point = [&point[..], &[0, 0, 0, 0, 2, 0x08, 0x80]].concat();
    let zero_length = [&point[..], &[0, 0, 0, 0, 0], &point[..]].concat();
    let cases = [
        ("unknown compressed flag", unknown_flag, "13"),
        ("message over the limit", over_limit, "11"),
        ("body ends inside a message", cut_in_message, "13"),
        ("body ends inside a header", cut_in_header, "13"),
        ("undecodable point", undecodable_point, "13"),
        ("zero-length point between two", zero_length, "0"),
    ];
    for (case, bytes, code) in cases {
        for size in [1, 4, bytes.len()] {
            let end = same_both_ways(&server, RECORD_ROUTE, &bytes, size).await;
            assert_eq!(end.grpc_status.as_deref(), Some(code), "{case}: {end:?}");
        }
    }
}

#[tokio::test]
async fn get_feature_cut_into_data_frames_anywhere_gets_the_same_answer_either_way() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let (named, name) = canonical_features().remove(0);
    for point in [named, pb_point(1, 1)] {
        let expected = client.get_feature(point).await.unwrap().into_inner();
        let bytes = frame(&point);
        // A second message is read and decoded too, and does not change the answer.
        let twice = [bytes.clone(), frame(&pb_point(2, 2))].concat();
        for body in [bytes.to_vec(), twice] {
            for size in [1, 3, 5, 6, body.len()] {
                let end = same_both_ways(&server, GET_FEATURE, &body, size).await;
                let feature: pb::Feature = answer_of(&end);
                assert_eq!(feature, expected, "frames of {size} bytes");
            }
        }
    }
    assert_eq!(
        client.get_feature(named).await.unwrap().into_inner().name,
        name
    );
}

#[tokio::test]
async fn get_feature_request_errors_are_the_same_as_from_tonic() {
    let config = ServerConfig {
        max_message_bytes: 64,
        ..ServerConfig::default()
    };
    let server = TestServer::start_with(routeguide::db::builtin(), config).await;
    let point = frame(&pb_point(409_146_138, -746_188_906)).to_vec();
    let undecodable = [0u8, 0, 0, 0, 2, 0x08, 0x80];
    let cases = [
        ("no message", Vec::new(), "13"),
        ("undecodable message", undecodable.to_vec(), "13"),
        (
            "undecodable second message",
            [&point[..], &undecodable].concat(),
            "13",
        ),
        (
            "out-of-range latitude",
            frame(&pb_point(900_000_001, 0)).to_vec(),
            "3",
        ),
        (
            "message over the limit",
            [&[0u8, 0, 0, 0, 65][..], &[0x08; 65]].concat(),
            "11",
        ),
        ("body ends inside a message", point[..9].to_vec(), "13"),
    ];
    for (case, bytes, code) in cases {
        let end = same_both_ways(&server, GET_FEATURE, &bytes, 4).await;
        assert_eq!(end.grpc_status.as_deref(), Some(code), "{case}: {end:?}");
    }
}

fn rectangle(lo: (i32, i32), hi: (i32, i32)) -> pb::Rectangle {
    pb::Rectangle {
        lo: Some(pb_point(lo.0, lo.1)),
        hi: Some(pb_point(hi.0, hi.1)),
    }
}

/// Splits a successful streaming response body into its messages.
fn messages_of<M: Message + Default>(end: &CallEnd) -> Vec<M> {
    assert_eq!(end.grpc_status.as_deref(), Some("0"), "{end:?}");
    let mut rest = &end.body[..];
    let mut messages = Vec::new();
    while !rest.is_empty() {
        assert_eq!(rest[0], 0, "uncompressed");
        let length = u32::from_be_bytes(rest[1..5].try_into().unwrap()) as usize;
        messages.push(M::decode(&rest[5..5 + length]).unwrap());
        rest = &rest[5 + length..];
    }
    messages
}

#[tokio::test]
async fn list_features_streams_the_same_bytes_either_way() {
    let server = TestServer::start().await;
    let world = rectangle((-900_000_000, -1_800_000_000), (900_000_000, 1_800_000_000));
    let cases = [
        world,
        // Corners swapped, and a rectangle around one feature.
        rectangle((410_000_000, -740_000_000), (400_000_000, -750_000_000)),
        rectangle((409_146_138, -746_188_906), (409_146_138, -746_188_906)),
        rectangle((0, 0), (1, 1)),
    ];
    let features = canonical_features();
    let inside = |rect: &pb::Rectangle| {
        let (lo, hi) = (rect.lo.unwrap(), rect.hi.unwrap());
        let between = |v: i32, a: i32, b: i32| a.min(b) <= v && v <= a.max(b);
        features
            .iter()
            .filter(|(p, _)| {
                between(p.latitude, lo.latitude, hi.latitude)
                    && between(p.longitude, lo.longitude, hi.longitude)
            })
            .count()
    };
    for rect in cases {
        let count = inside(&rect);
        assert!(count > 0 || rect.hi.unwrap().latitude == 1);
        let body = frame(&rect);
        for size in [1, 5, body.len()] {
            let end = same_both_ways(&server, LIST_FEATURES, &body, size).await;
            assert_eq!(messages_of::<pb::Feature>(&end).len(), count, "{rect:?}");
        }
    }
}

#[tokio::test]
async fn a_long_list_features_stream_is_the_same_either_way() {
    let server = TestServer::start_with(grid_index(20_000), ServerConfig::default()).await;
    let world = rectangle((-900_000_000, -1_800_000_000), (900_000_000, 1_800_000_000));
    let end = same_both_ways(&server, LIST_FEATURES, &frame(&world), 1000).await;
    let features: Vec<pb::Feature> = messages_of(&end);
    assert_eq!(features.len(), 20_000);
    assert!(
        features
            .iter()
            .all(|f| f.name.starts_with("feature number "))
    );
}

#[tokio::test]
async fn list_features_request_errors_are_the_same_either_way() {
    let config = ServerConfig {
        max_message_bytes: 64,
        ..ServerConfig::default()
    };
    let server = TestServer::start_with(routeguide::db::builtin(), config).await;
    let valid = frame(&rectangle((0, 0), (1, 1))).to_vec();
    let no_lo = pb::Rectangle {
        lo: None,
        hi: Some(pb_point(1, 1)),
    };
    let cases = [
        ("no message", Vec::new(), "13"),
        ("undecodable message", vec![0, 0, 0, 0, 2, 0x0a, 0x80], "13"),
        ("missing corner", frame(&no_lo).to_vec(), "3"),
        (
            "out-of-range corner",
            frame(&rectangle((0, 0), (0, 1_800_000_001))).to_vec(),
            "3",
        ),
        (
            "undecodable second message",
            [&valid[..], &[0, 0, 0, 0, 1, 0xff]].concat(),
            "13",
        ),
        (
            "message over the limit",
            [&[0u8, 0, 0, 0, 65][..], &[0x08; 65]].concat(),
            "11",
        ),
        ("body ends inside a message", valid[..7].to_vec(), "13"),
    ];
    for (case, bytes, code) in cases {
        let end = same_both_ways(&server, LIST_FEATURES, &bytes, 4).await;
        assert_eq!(end.grpc_status.as_deref(), Some(code), "{case}: {end:?}");
    }
}

#[tokio::test]
async fn a_compressed_flag_without_grpc_encoding_is_internal() {
    let server = TestServer::start().await;
    let mut bytes = frame(&pb_point(1, 1)).to_vec();
    bytes[0] = 1;
    for path in [RECORD_ROUTE, GET_FEATURE, LIST_FEATURES] {
        let end = call_raw(
            server.addr,
            path,
            &[],
            &[Bytes::from(bytes.clone())],
            true,
            GIVE_UP,
        )
        .await;
        assert_eq!(end.grpc_status.as_deref(), Some("13"), "{path}");
        assert_eq!(
            end.grpc_message.as_deref(),
            Some(
                "protocol%20error:%20received%20message%20with%20compressed-flag%20but%20no%20grpc-encoding%20was%20specified"
            ),
            "{path}"
        );
    }
}

/// Through tonic these answers would come back gzip-compressed; `answer_of` checks the flag.
#[tokio::test]
async fn answers_come_back_uncompressed_even_to_a_client_accepting_gzip() {
    let server = TestServer::start().await;
    let (_, bytes) = route_bytes();
    let accepts = [("grpc-accept-encoding", "gzip")];
    let end = call_raw(
        server.addr,
        RECORD_ROUTE,
        &accepts,
        &[Bytes::from(bytes)],
        true,
        GIVE_UP,
    )
    .await;
    assert_eq!(summary_of(&end).point_count, 43);
    let (point, name) = canonical_features().remove(0);
    let end = call_raw(
        server.addr,
        GET_FEATURE,
        &accepts,
        &[frame(&point)],
        true,
        GIVE_UP,
    )
    .await;
    assert_eq!(answer_of::<pb::Feature>(&end).name, name);
    let around = rectangle(
        (point.latitude, point.longitude),
        (point.latitude, point.longitude),
    );
    let end = call_raw(
        server.addr,
        LIST_FEATURES,
        &accepts,
        &[frame(&around)],
        true,
        GIVE_UP,
    )
    .await;
    assert_eq!(messages_of::<pb::Feature>(&end)[0].name, name);
}

/// Returns a client whose requests take the direct path, or tonic's when `compressed`.
async fn client(
    server: &TestServer,
    compressed: bool,
) -> pb::route_guide_client::RouteGuideClient<Channel> {
    let client = server.client().await;
    if compressed {
        client.send_compressed(CompressionEncoding::Gzip)
    } else {
        client
    }
}

/// Reads `stream` until it fails; returns how many features came first, and the status.
async fn read_until_error(stream: &mut tonic::Streaming<pb::Feature>) -> (usize, tonic::Status) {
    let mut received = 0;
    loop {
        match stream.message().await {
            Ok(Some(_)) => received += 1,
            Ok(None) => panic!("stream ended OK after {received} features"),
            Err(status) => return (received, status),
        }
    }
}

fn world() -> pb::Rectangle {
    rectangle((-900_000_000, -1_800_000_000), (900_000_000, 1_800_000_000))
}

#[tokio::test]
async fn a_stream_read_too_slowly_ends_at_its_deadline_either_way() {
    let server = TestServer::start_with(grid_index(300_000), ServerConfig::default()).await;
    for compressed in [false, true] {
        let mut request = tonic::Request::new(world());
        // Long enough for the first message to arrive on a loaded machine (CI builds and
        // tests in parallel); the reader then sleeps past it.
        request.set_timeout(Duration::from_millis(1000));
        let mut stream = client(&server, compressed)
            .await
            .list_features(request)
            .await
            .unwrap()
            .into_inner();
        stream.message().await.unwrap().unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let (received, status) = read_until_error(&mut stream).await;
        assert_eq!(
            status.code(),
            Code::DeadlineExceeded,
            "compressed: {compressed}"
        );
        assert!(received < 300_000, "compressed: {compressed}");
    }
}

#[tokio::test]
async fn a_stream_ends_unavailable_when_the_server_drains_either_way() {
    for compressed in [false, true] {
        let config = ServerConfig {
            grace: Duration::from_millis(300),
            ..ServerConfig::default()
        };
        let mut server = TestServer::start_with(grid_index(300_000), config).await;
        let mut stream = client(&server, compressed)
            .await
            .list_features(world())
            .await
            .unwrap()
            .into_inner();
        stream.message().await.unwrap().unwrap();
        let serving = server.shutdown();
        tokio::time::sleep(Duration::from_millis(600)).await;
        let (received, status) = read_until_error(&mut stream).await;
        assert_eq!(status.code(), Code::Unavailable, "compressed: {compressed}");
        assert!(received < 300_000, "compressed: {compressed}");
        drop(stream);
        serving.await.unwrap().unwrap();
    }
}

/// A deterministic xorshift64 stream, so a failure names a reproducible case.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A coordinate, now and then out of range or zero.
    fn coordinate(&mut self, limit: i32) -> i32 {
        match self.below(8) {
            0 => 0,
            1 => limit + 1 + self.below(1000) as i32,
            _ => (self.below(2 * limit as u64 + 1) as i64 - limit as i64) as i32,
        }
    }

    fn point(&mut self) -> pb::Point {
        pb_point(self.coordinate(900_000_000), self.coordinate(1_800_000_000))
    }
}

/// One message for `path`: usually a valid encoding, sometimes random bytes.
fn random_message(random: &mut Random, path: &str) -> Vec<u8> {
    if random.below(5) == 0 {
        let length = random.below(12);
        return (0..length).map(|_| random.next() as u8).collect();
    }
    if path == LIST_FEATURES {
        let lo = (random.below(6) != 0).then(|| random.point());
        let hi = Some(random.point());
        pb::Rectangle { lo, hi }.encode_to_vec()
    } else {
        random.point().encode_to_vec()
    }
}

#[tokio::test]
async fn random_requests_get_the_same_responses_either_way() {
    let server = TestServer::start().await;
    let mut random = Random(0x5eed_1234_abcd_0042);
    for case in 0..300 {
        let path = [GET_FEATURE, LIST_FEATURES, RECORD_ROUTE][random.below(3) as usize];
        let mut body = Vec::new();
        // Where each non-empty message's bytes start.
        let mut message_starts = Vec::new();
        for _ in 0..random.below(5) {
            let message = random_message(&mut random, path);
            // Now and then an unknown compressed flag.
            body.push(if random.below(40) == 0 { 2 } else { 0 });
            body.extend_from_slice(&(message.len() as u32).to_be_bytes());
            if !message.is_empty() {
                message_starts.push(body.len());
            }
            body.extend_from_slice(&message);
        }
        if random.below(10) == 0 && !body.is_empty() {
            // Cut short, inside a header or a message; not right after a header, where the
            // two paths differ on purpose (`a_body_ending_right_after_a_header_is_an_unexpected_eof`).
            let mut keep = random.below(body.len() as u64) as usize;
            if message_starts.contains(&keep) {
                keep -= 1;
            }
            body.truncate(keep);
        }
        let size = 1 + random.below(body.len() as u64 + 1) as usize;
        let frames = chunks(&body, size);
        let tonic = call_raw(server.addr, path, GZIP, &frames, true, GIVE_UP).await;
        let direct = call_raw(server.addr, path, &[], &frames, true, GIVE_UP).await;
        assert_eq!(
            direct, tonic,
            "case {case}: {path}, body {body:02x?}, frames of {size}"
        );
    }
}

/// tonic's reader ends a request quietly when the body ends right after a message's header,
/// dropping that message; the server's own reader says the stream ended unexpectedly.
#[tokio::test]
async fn a_body_ending_right_after_a_header_is_an_unexpected_eof() {
    let server = TestServer::start().await;
    let point = frame(&pb_point(409_146_138, -746_188_906)).to_vec();
    for path in [GET_FEATURE, RECORD_ROUTE] {
        let body = [&point[..], &point[..5]].concat();
        let end = call_raw(server.addr, path, &[], &[Bytes::from(body)], true, GIVE_UP).await;
        assert_eq!(end.grpc_status.as_deref(), Some("13"), "{path}");
        assert_eq!(
            end.grpc_message.as_deref(),
            Some("Unexpected%20EOF%20decoding%20stream."),
            "{path}"
        );
    }
}
