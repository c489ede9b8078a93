//! The gRPC codec of the generated RouteGuide client and server: prost's encoding, and a
//! decoder that reads a `Point` message in one pass.
//!
//! Every message is encoded by prost, and every message but `Point` is decoded by prost
//! (so are the `Point`s nested in other messages). A `Point` message (the request of
//! GetFeature, and every message of a RecordRoute stream) is read straight from its bytes
//! when they hold nothing but field 1 and field 2 as varints with one-byte keys, in any
//! order and any number of times (the last value wins, as in prost): the layout every
//! protobuf library writes. Anything else (unknown fields, other wire types, malformed
//! bytes) goes to prost, so the decoded values and the errors are prost's for every input.
//!
//! Why by hand: in a RecordRoute stream a point is one 17-byte message, and prost's
//! general decoder, called through tonic's `DecodeBuf`, advanced the buffer once per key
//! and per value: about 70 ns per point, as much as the route's own distance and feature
//! work. The one-pass read advances once per message.

use std::marker::PhantomData;

use prost::Message;
use prost::bytes::Buf;
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder};
use tonic_prost::ProstEncoder;

use crate::pb;

/// The codec named by `build.rs` for the generated RouteGuide code: encodes `T` and
/// decodes `U` with the same bytes and the same errors as `tonic_prost::ProstCodec`.
#[derive(Debug, Clone, Copy)]
pub struct RouteGuideCodec<T, U> {
    messages: PhantomData<fn(T) -> U>,
}

impl<T, U> Default for RouteGuideCodec<T, U> {
    fn default() -> Self {
        Self {
            messages: PhantomData,
        }
    }
}

impl<T, U> Codec for RouteGuideCodec<T, U>
where
    T: Message + Send + 'static,
    U: WireDecode + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = MessageDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        MessageDecoder {
            message: PhantomData,
        }
    }
}

/// Decodes one `U` per gRPC message, as [`WireDecode::decode_message`] does.
#[derive(Debug, Clone, Copy)]
pub struct MessageDecoder<U> {
    message: PhantomData<fn() -> U>,
}

impl<U: WireDecode> Decoder for MessageDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        U::decode_message(buf).map(Some).map_err(decode_status)
    }
}

/// The status of a message that does not decode: INTERNAL with prost's message, as
/// tonic-prost's decoder says it.
fn decode_status(error: prost::DecodeError) -> Status {
    Status::internal(error.to_string())
}

/// A message the RouteGuide codec can decode: by default exactly as prost does.
pub trait WireDecode: Message + Default {
    /// Decodes the whole of `buf` as one message, as prost's `Message::decode` does.
    ///
    /// The server's decoder passes tonic's `DecodeBuf`; the fuzz targets pass bytes.
    ///
    /// # Errors
    ///
    /// prost's `DecodeError` for the same bytes, where prost rejects them.
    fn decode_message(buf: &mut impl Buf) -> Result<Self, prost::DecodeError> {
        Self::decode(buf)
    }
}

impl WireDecode for pb::Feature {}
impl WireDecode for pb::Rectangle {}
impl WireDecode for pb::RouteNote {}
impl WireDecode for pb::RouteSummary {}

impl WireDecode for pb::Point {
    fn decode_message(buf: &mut impl Buf) -> Result<Self, prost::DecodeError> {
        decode_point(buf)
    }
}

/// Decodes all of `buf` as one `Point`: in one pass when its bytes are contiguous and in
/// the layout [`canonical_point`] reads, by prost otherwise; the same value or error as
/// prost either way.
fn decode_point(buf: &mut impl Buf) -> Result<pb::Point, prost::DecodeError> {
    let bytes = buf.chunk();
    if bytes.len() == buf.remaining()
        && let Some(point) = canonical_point(bytes)
    {
        let len = bytes.len();
        buf.advance(len);
        return Ok(point);
    }
    pb::Point::decode(buf)
}

/// Protobuf keys of `Point`'s fields as varints: (field number << 3) | wire type 0.
const LATITUDE_KEY: u8 = 1 << 3;
const LONGITUDE_KEY: u8 = 2 << 3;

/// Reads `bytes` as a `Point` whose every field is field 1 or 2 as a varint (a repeated
/// field's last value wins, as in prost), or returns `None` for anything else, which
/// prost then decodes.
fn canonical_point(mut bytes: &[u8]) -> Option<pb::Point> {
    let mut point = pb::Point::default();
    while let Some((&key, rest)) = bytes.split_first() {
        let field = match key {
            LATITUDE_KEY => &mut point.latitude,
            LONGITUDE_KEY => &mut point.longitude,
            _ => return None,
        };
        bytes = rest;
        // prost's own varint reader (the one its generated code calls); an `int32` is the
        // varint's low 32 bits, as in prost.
        *field = prost::encoding::decode_varint(&mut bytes).ok()? as i32;
    }
    Some(point)
}

#[cfg(test)]
mod tests;
