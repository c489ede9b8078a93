//! A `Point` in any field layout protobuf allows means the same point to the server: its
//! one-pass read of the canonical layout (`src/codec.rs`) and the prost decoding it falls
//! back to agree, over the wire, for GetFeature and RecordRoute.

use prost::Message;
use routeguide::pb;

use super::raw_codec::RawCodec;
use super::support::{TestServer, canonical_features, pb_point};

const GET_FEATURE: &str = "/routeguide.RouteGuide/GetFeature";
const RECORD_ROUTE: &str = "/routeguide.RouteGuide/RecordRoute";

fn varint(value: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    prost::encoding::encode_varint(value, &mut bytes);
    bytes
}

/// An `int32` field's varint: negative values take ten bytes, as protobuf writes them.
fn int32(value: i32) -> Vec<u8> {
    varint(i64::from(value) as u64)
}

/// The same varint padded with redundant zero groups to ten bytes (protobuf readers must
/// accept it).
fn padded(value: i32) -> Vec<u8> {
    let mut bytes = int32(value);
    while bytes.len() < 10 {
        let last = bytes.len() - 1;
        bytes[last] |= 0x80;
        bytes.push(0);
    }
    bytes
}

/// Ways to write `point`, each of which prost decodes back to `point`.
fn layouts(point: pb::Point) -> Vec<Vec<u8>> {
    let (lat, lon) = (int32(point.latitude), int32(point.longitude));
    vec![
        // As every protobuf library writes it (a zero field omitted).
        point.encode_to_vec(),
        // Both fields explicit, longitude first.
        [&[0x10][..], &lon, &[0x08], &lat].concat(),
        // Latitude twice: the last value wins.
        [&[0x08][..], &int32(12_345), &[0x10], &lon, &[0x08], &lat].concat(),
        // Padded varints.
        [
            &[0x08][..],
            &padded(point.latitude),
            &[0x10],
            &padded(point.longitude),
        ]
        .concat(),
        // Unknown fields (a varint, then a string) that a reader must skip: the server's
        // one-pass read declines these bytes, so prost decodes them, the reference the
        // other layouts are compared with.
        [
            &[0x08][..],
            &lat,
            &[0x18, 0x07],
            &[0x22, 0x02, b'h', b'i'],
            &[0x10],
            &lon,
        ]
        .concat(),
    ]
}

fn route() -> Vec<pb::Point> {
    let mut route: Vec<pb::Point> = canonical_features()
        .into_iter()
        .take(25)
        .map(|(point, _)| point)
        .collect();
    // Misses, a zero coordinate and the extremes.
    route.extend([
        pb_point(0, 0),
        pb_point(0, -1),
        pb_point(900_000_000, 1_800_000_000),
        pb_point(-900_000_000, -1_800_000_000),
    ]);
    route
}

#[test]
fn every_layout_decodes_to_its_point_in_prost() {
    for point in route() {
        for bytes in layouts(point) {
            assert_eq!(
                pb::Point::decode(bytes.as_slice()),
                Ok(point),
                "{bytes:02x?}"
            );
        }
    }
}

async fn record_raw(server: &TestServer, messages: Vec<Vec<u8>>) -> pb::RouteSummary {
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    grpc.ready().await.unwrap();
    let path = http::uri::PathAndQuery::from_static(RECORD_ROUTE);
    let request = tonic::Request::new(futures::stream::iter(messages));
    let reply = grpc
        .client_streaming(request, path, RawCodec)
        .await
        .unwrap();
    pb::RouteSummary::decode(reply.into_inner().as_slice()).unwrap()
}

#[tokio::test]
async fn record_route_summarises_every_layout_as_the_canonical_one() {
    let server = TestServer::start().await;
    let route = route();
    let expected = server.record(&route).await;
    assert_eq!(expected.point_count, route.len() as i32);
    assert!(expected.feature_count >= 25 && expected.distance > 0);
    let layouts_per_point: Vec<Vec<Vec<u8>>> = route.iter().map(|&p| layouts(p)).collect();
    let count = layouts_per_point[0].len();
    for layout in 0..count {
        let messages = layouts_per_point
            .iter()
            .map(|l| l[layout].clone())
            .collect();
        assert_eq!(
            record_raw(&server, messages).await,
            expected,
            "layout {layout}"
        );
    }
    // Layouts mixed within one stream.
    let mixed = layouts_per_point
        .iter()
        .enumerate()
        .map(|(i, l)| l[i % count].clone())
        .collect();
    assert_eq!(record_raw(&server, mixed).await, expected, "mixed layouts");
}

#[tokio::test]
async fn get_feature_answers_every_layout_as_the_canonical_one() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    for point in route() {
        let expected = client.get_feature(point).await.unwrap().into_inner();
        for (layout, bytes) in layouts(point).into_iter().enumerate() {
            grpc.ready().await.unwrap();
            let path = http::uri::PathAndQuery::from_static(GET_FEATURE);
            let reply = grpc
                .unary(tonic::Request::new(bytes), path, RawCodec)
                .await
                .unwrap();
            let feature = pb::Feature::decode(reply.into_inner().as_slice()).unwrap();
            assert_eq!(feature.location, Some(point), "{point:?} layout {layout}");
            assert_eq!(feature, expected, "{point:?} layout {layout}");
        }
    }
}
