//! `CountingCodec`: requests encoded by prost, response messages taken whole without being
//! decoded.
//!
//! The load generator counts response messages; decoding each streamed `Feature` (a new
//! `String` for its name, prost's field-by-field read) cost it more CPU per feature than
//! the server spends producing it, which made the load generator the bottleneck of the
//! whole-database stream. tonic still reads the gRPC framing (each message's compressed
//! flag and length, and the size limit), so every message is still counted exactly once
//! and a broken frame is still an error; only the message's contents go unread.

use std::marker::PhantomData;

use prost::Message;
use prost::bytes::Buf;
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder};
use tonic_prost::ProstEncoder;

/// Encodes `T` as prost does and decodes every response message as `()`.
#[derive(Debug, Clone, Copy)]
pub(super) struct CountingCodec<T> {
    request: PhantomData<fn(T)>,
}

impl<T> Default for CountingCodec<T> {
    fn default() -> Self {
        Self {
            request: PhantomData,
        }
    }
}

impl<T: Message + Send + 'static> Codec for CountingCodec<T> {
    type Encode = T;
    type Decode = ();
    type Encoder = ProstEncoder<T>;
    type Decoder = SkipMessage;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        SkipMessage
    }
}

/// Takes one whole response message and yields `()` for it.
#[derive(Debug, Clone, Copy)]
pub(super) struct SkipMessage;

impl Decoder for SkipMessage {
    type Item = ();
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<()>, Status> {
        let length = buf.remaining();
        buf.advance(length);
        Ok(Some(()))
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;
    use tonic::codec::Streaming;

    use super::*;
    use crate::pb;
    use crate::test_bodies::Frames;

    fn framed(flag: u8, message: &[u8]) -> Vec<u8> {
        let mut bytes = vec![flag];
        bytes.extend_from_slice(&(message.len() as u32).to_be_bytes());
        bytes.extend_from_slice(message);
        bytes
    }

    /// Reads `stream` through tonic with `SkipMessage`, cut into frames of `size` bytes,
    /// up to and including the first error (after which tonic's stream is not to be read,
    /// as the load generator's `drain` does not).
    fn count(stream: &[u8], size: usize) -> Vec<Result<(), tonic::Code>> {
        let frames = Frames::data(stream.chunks(size));
        let mut messages = Streaming::new_request(SkipMessage, frames, None, None);
        futures::executor::block_on(async {
            let mut read = Vec::new();
            while let Some(item) = messages.next().await {
                let failed = item.is_err();
                read.push(item.map_err(|status| status.code()));
                if failed {
                    break;
                }
            }
            read
        })
    }

    #[test]
    fn every_message_is_counted_once_however_it_is_framed() {
        let feature = pb::Feature {
            name: "Berkshire Valley Management Area Trail".to_owned(),
            location: Some(pb::Point {
                latitude: 409_146_138,
                longitude: -746_188_906,
            }),
        }
        .encode_to_vec();
        let stream: Vec<u8> = [framed(0, &feature), framed(0, &[]), framed(0, &feature)].concat();
        for size in [1, 3, 5, 7, stream.len()] {
            assert_eq!(count(&stream, size), vec![Ok(()); 3], "frames of {size}");
        }
    }

    #[test]
    fn broken_framing_is_still_an_error() {
        let stream = [framed(0, b"ok"), framed(7, b"bad")].concat();
        assert_eq!(count(&stream, 4), vec![Ok(()), Err(tonic::Code::Internal)]);
        let cut = framed(0, b"cut short");
        assert_eq!(count(&cut[..8], 8), vec![Err(tonic::Code::Internal)]);
    }
}
