//! The request path's decoding and validation, public (and hidden from the docs) only for
//! the fuzz targets in `fuzz/`: each function is the one the server calls, not a copy.

use prost::bytes::Buf;
use tonic::Status;

use crate::codec::WireDecode;
use crate::geo::{GeoPoint, GeoRect};
use crate::notes::Note;
use crate::pb;

/// Decodes `buf` as the server's codec decodes a GetFeature request or a RecordRoute
/// message (in one pass when it can, by prost otherwise).
///
/// # Errors
/// prost's `DecodeError` for bytes prost rejects.
pub fn decode_point(mut buf: impl Buf) -> Result<pb::Point, prost::DecodeError> {
    pb::Point::decode_message(&mut buf)
}

/// Decodes `buf` as the server's codec decodes a ListFeatures request.
///
/// # Errors
/// prost's `DecodeError` for bytes prost rejects.
pub fn decode_rectangle(mut buf: impl Buf) -> Result<pb::Rectangle, prost::DecodeError> {
    pb::Rectangle::decode_message(&mut buf)
}

/// Decodes `buf` as the server's codec decodes a RouteChat message.
///
/// # Errors
/// prost's `DecodeError` for bytes prost rejects.
pub fn decode_route_note(mut buf: impl Buf) -> Result<pb::RouteNote, prost::DecodeError> {
    pb::RouteNote::decode_message(&mut buf)
}

/// Returns the point GetFeature looks up.
///
/// # Errors
/// `INVALID_ARGUMENT` naming the coordinate out of range, as GetFeature answers.
pub fn validate_point(point: &pb::Point) -> Result<GeoPoint, Status> {
    super::convert::point_from_pb(point, "")
}

/// Returns the points RecordRoute records for `route`.
///
/// # Errors
/// `INVALID_ARGUMENT` naming the first invalid point by its index, as RecordRoute answers.
pub fn validate_route(route: &[pb::Point]) -> Result<Vec<GeoPoint>, Status> {
    let mut points = Vec::with_capacity(route.len());
    super::record_route::validate(route, 0, &mut points)?;
    Ok(points)
}

/// Returns the rectangle ListFeatures searches.
///
/// # Errors
/// `INVALID_ARGUMENT` naming the missing or invalid corner, as ListFeatures answers.
pub fn validate_rectangle(rectangle: &pb::Rectangle) -> Result<GeoRect, Status> {
    super::convert::rect_from_pb(rectangle)
}

/// Returns the note RouteChat stores for `note`, the note at `index` of its stream, with
/// `--max-note-bytes` at `max_note_bytes`.
///
/// # Errors
/// `INVALID_ARGUMENT` naming the note's index and the field, as RouteChat answers.
pub fn validate_note(
    note: pb::RouteNote,
    index: u64,
    max_note_bytes: usize,
) -> Result<Note, Status> {
    super::route_chat::note_from_pb(note, index, max_note_bytes)
}
