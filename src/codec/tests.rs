//! The one-pass `Point` read against prost on canonical, unusual and random bytes, and
//! property tests over any bytes.

use prost::Message;
use prost::bytes::Buf;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::{canonical_point, decode_point};
use crate::pb;

fn varint(value: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    prost::encoding::encode_varint(value, &mut bytes);
    bytes
}

#[test]
fn reads_what_prost_writes() {
    let mut rng = StdRng::seed_from_u64(7);
    let edges = [0, 1, -1, i32::MIN, i32::MAX, 900_000_000, -1_800_000_000];
    for round in 0..20_000 {
        let (latitude, longitude) = if round < edges.len() * edges.len() {
            (edges[round / edges.len()], edges[round % edges.len()])
        } else {
            (rng.random(), rng.random())
        };
        let point = pb::Point {
            latitude,
            longitude,
        };
        let bytes = point.encode_to_vec();
        assert_eq!(canonical_point(&bytes), Some(point), "{bytes:02x?}");
    }
}

#[test]
fn other_orders_and_repeats_read_as_prost_reads_them() {
    let latitude = varint(-740_000_000_i64 as u64);
    let longitude = varint(409_146_138);
    let cases: Vec<Vec<u8>> = vec![
        // Longitude first.
        [&[0x10][..], &longitude, &[0x08], &latitude].concat(),
        // Latitude twice: the last wins.
        [&[0x08][..], &longitude, &[0x08], &latitude].concat(),
        // Only one field; none at all.
        [&[0x10][..], &latitude].concat(),
        Vec::new(),
        // A non-minimal varint (zero in three bytes).
        vec![0x08, 0x80, 0x80, 0x00],
        // An int32 written as a 64-bit value: its low 32 bits count.
        [&[0x08][..], &varint(0x1_2345_6789)].concat(),
    ];
    for bytes in cases {
        let expected = pb::Point::decode(bytes.as_slice()).expect("valid Point bytes");
        assert_eq!(canonical_point(&bytes), Some(expected), "{bytes:02x?}");
    }
}

#[test]
fn declines_what_it_does_not_read() {
    let cases: Vec<Vec<u8>> = vec![
        // An unknown varint field, which prost skips.
        vec![0x08, 0x01, 0x18, 0x05],
        // Field 1 as fixed32 instead of a varint (a decode error in prost).
        vec![0x0d, 0, 0, 0, 0],
        // A varint cut short; an overlong one.
        vec![0x08, 0x80],
        vec![
            0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ],
        // A key in two bytes (field 1 written as a padded varint key).
        vec![0x88, 0x00, 0x01],
        // A tenth varint byte above 1, which prost rejects.
        [&[0x08][..], &[0xff; 9], &[0x02]].concat(),
        // Key 0 (field number 0), and field 1 as a packed (length-delimited) field.
        vec![0x00, 0x01],
        vec![0x0a, 0x01, 0x05],
    ];
    for bytes in cases {
        assert_eq!(canonical_point(&bytes), None, "{bytes:02x?}");
    }
}

/// Random bytes built from Point-like pieces.
fn point_like_bytes(rng: &mut StdRng) -> Vec<u8> {
    let mut bytes = Vec::new();
    for _ in 0..rng.random_range(0..4) {
        bytes.push(match rng.random_range(0..10) {
            0..=3 => 0x08,
            4..=7 => 0x10,
            _ => rng.random(),
        });
        if rng.random_bool(0.8) {
            let value: u64 = match rng.random_range(0..3) {
                0 => rng.random::<i32>() as i64 as u64,
                1 => rng.random::<u32>().into(),
                _ => rng.random(),
            };
            bytes.extend(varint(value));
        } else {
            let garbage = rng.random_range(0..12);
            bytes.extend((0..garbage).map(|_| rng.random::<u8>()));
        }
    }
    bytes
}

/// What the codec decodes from `buf`: the same value, or the same error, as prost from
/// the same bytes, and all of `buf` consumed on success.
fn assert_decodes_as_prost(mut buf: impl Buf, bytes: &[u8]) {
    let ours = decode_point(&mut buf).map_err(|error| error.to_string());
    let theirs = pb::Point::decode(bytes).map_err(|error| error.to_string());
    assert_eq!(ours, theirs, "{bytes:02x?}");
    if ours.is_ok() {
        assert_eq!(buf.remaining(), 0, "{bytes:02x?}");
    }
}

/// Whole and split across two chunks (which always goes to prost), the codec's `Point`
/// decoding gives prost's value or prost's error for random Point-like bytes; and
/// whatever the one-pass read accepts, prost decodes to the same point.
#[test]
fn decodes_random_bytes_as_prost_whole_or_split() {
    let mut rng = StdRng::seed_from_u64(17);
    let rounds = 100_000;
    let (mut ok, mut failed, mut one_pass) = (0, 0, 0);
    for _ in 0..rounds {
        let bytes = point_like_bytes(&mut rng);
        assert_decodes_as_prost(bytes.as_slice(), &bytes);
        let split = rng.random_range(0..=bytes.len());
        assert_decodes_as_prost((&bytes[..split]).chain(&bytes[split..]), &bytes);
        let prost = pb::Point::decode(bytes.as_slice()).ok();
        if let Some(point) = canonical_point(&bytes) {
            one_pass += 1;
            assert_eq!(prost, Some(point), "{bytes:02x?}");
        }
        if prost.is_some() {
            ok += 1;
        } else {
            failed += 1;
        }
    }
    // Both outcomes are common, so both are compared; the one-pass read takes many of
    // the inputs, and declines many.
    assert!(
        ok > 10_000 && failed > 10_000,
        "{ok} decoded, {failed} failed"
    );
    assert!(
        one_pass > rounds / 4 && one_pass < ok,
        "{one_pass} read in one pass of {ok} decoded"
    );
}

/// Keys one byte away from `Point`'s: field 3 as a varint, fields 1 and 2 as fixed32,
/// fixed64 and length-delimited, field 0, and the first byte of a two-byte key.
const NEAR_MISS_KEYS: [u8; 9] = [0x18, 0x0d, 0x09, 0x0a, 0x15, 0x11, 0x12, 0x00, 0x88];

/// Returns a strategy for one Point-like field: a key that is mostly field 1 or 2 as a
/// varint, else a near miss or any byte, then mostly a varint of any width, sometimes
/// raw bytes.
fn point_like_field() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let key = prop_oneof![
        3 => Just(0x08u8),
        3 => Just(0x10u8),
        2 => prop::sample::select(NEAR_MISS_KEYS.to_vec()),
        2 => any::<u8>(),
    ];
    let value = prop_oneof![
        8 => any::<u64>().prop_map(varint),
        1 => any::<i32>().prop_map(|v| varint(v as i64 as u64)),
        1 => prop::collection::vec(any::<u8>(), 0..12),
    ];
    (key, value).prop_map(|(key, value)| [vec![key], value].concat())
}

proptest::proptest! {
    /// Any bytes, whole or split at any point: the codec's `Point` is prost's value or
    /// prost's error.
    #[test]
    fn any_bytes_decode_as_prost_decodes_them(
        bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
        split in proptest::num::usize::ANY,
    ) {
        assert_decodes_as_prost(bytes.as_slice(), &bytes);
        let split = split % (bytes.len() + 1);
        assert_decodes_as_prost((&bytes[..split]).chain(&bytes[split..]), &bytes);
    }

    /// Point-like bytes (the layouts the one-pass read takes, and near misses), whole or
    /// split: the codec's `Point` is prost's value or prost's error.
    #[test]
    fn point_like_bytes_decode_as_prost_decodes_them(
        fields in proptest::collection::vec(point_like_field(), 0..5),
        split in proptest::num::usize::ANY,
    ) {
        let bytes = fields.concat();
        assert_decodes_as_prost(bytes.as_slice(), &bytes);
        let split = split % (bytes.len() + 1);
        assert_decodes_as_prost((&bytes[..split]).chain(&bytes[split..]), &bytes);
    }
}
