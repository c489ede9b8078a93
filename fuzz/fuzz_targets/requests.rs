//! Fuzz target: any bytes as each request message (the `Point` of GetFeature and
//! RecordRoute, the `Rectangle` of ListFeatures, the `RouteNote` of RouteChat), through
//! the server's codec and then its validation.
//!
//! Decoding must give prost's value or prost's error, whole or split in two chunks (the
//! `Point` codec has its own one-pass read); validation must accept exactly the messages
//! in range and complete, and reject the others with `INVALID_ARGUMENT` naming the field.

#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use prost::bytes::Buf;
use routeguide::geo::{MAX_LATITUDE_E7, MAX_LONGITUDE_E7};
use routeguide::pb;
use routeguide::service::fuzzing;
use tonic::{Code, Status};

/// The default `--max-note-bytes`.
const MAX_NOTE_BYTES: usize = 4096;

/// Says whether both coordinates of `point` are in range.
fn in_range(point: &pb::Point) -> bool {
    point.latitude.unsigned_abs() <= MAX_LATITUDE_E7.unsigned_abs()
        && point.longitude.unsigned_abs() <= MAX_LONGITUDE_E7.unsigned_abs()
}

/// Asserts that `result` is accepted exactly when `valid`, and is otherwise
/// `INVALID_ARGUMENT` with a message that starts with one of `fields`.
fn check<T>(result: Result<T, Status>, valid: bool, fields: &[&str]) {
    match result {
        Ok(_) => assert!(valid, "accepted an invalid message"),
        Err(status) => {
            assert!(!valid, "rejected a valid message: {status:?}");
            assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
            let message = status.message();
            assert!(fields.iter().any(|f| message.starts_with(f)), "{message}");
        }
    }
}

/// Returns `data` split in two chunks at a point its first byte picks.
fn split(data: &[u8]) -> impl Buf + '_ {
    let at = data
        .first()
        .map_or(0, |&b| usize::from(b) % (data.len() + 1));
    (&data[..at]).chain(&data[at..])
}

fn same<T: PartialEq + std::fmt::Debug>(
    ours: Result<T, prost::DecodeError>,
    prost: &Result<T, prost::DecodeError>,
) {
    let text = |r: &Result<T, prost::DecodeError>| r.as_ref().map_err(|e| e.to_string()).err();
    assert_eq!(ours.as_ref().ok(), prost.as_ref().ok());
    assert_eq!(text(&ours), text(prost));
}

fuzz_target!(|data: &[u8]| {
    let point = pb::Point::decode(data);
    same(fuzzing::decode_point(data), &point);
    same(fuzzing::decode_point(split(data)), &point);
    if let Ok(point) = point {
        check(
            fuzzing::validate_point(&point),
            in_range(&point),
            &["latitude", "longitude"],
        );
        let route = [pb::Point::default(), point];
        check(
            fuzzing::validate_route(&route),
            in_range(&point),
            &["point 1: "],
        );
    }

    let rectangle = pb::Rectangle::decode(data);
    same(fuzzing::decode_rectangle(data), &rectangle);
    same(fuzzing::decode_rectangle(split(data)), &rectangle);
    if let Ok(rectangle) = rectangle {
        let valid = [rectangle.lo, rectangle.hi]
            .iter()
            .all(|c| c.as_ref().is_some_and(in_range));
        check(
            fuzzing::validate_rectangle(&rectangle),
            valid,
            &["lo", "hi"],
        );
    }

    let note = pb::RouteNote::decode(data);
    same(fuzzing::decode_route_note(data), &note);
    same(fuzzing::decode_route_note(split(data)), &note);
    if let Ok(note) = note {
        let valid =
            note.location.as_ref().is_some_and(in_range) && note.message.len() <= MAX_NOTE_BYTES;
        let fields = ["note 7: location", "note 7: message"];
        check(
            fuzzing::validate_note(note, 7, MAX_NOTE_BYTES),
            valid,
            &fields,
        );
    }
});
