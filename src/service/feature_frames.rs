//! `FeatureFrames`: a ListFeatures answer as an HTTP/2 response body, encoded straight from
//! the index.
//!
//! Through tonic, every feature of a stream became a `pb::Feature` (its name copied into a
//! new `String`), was polled out of a boxed stream and encoded by a boxed encoder. Here
//! each feature is written from the index's own name bytes and location as one gRPC
//! message, with the same bytes prost writes, into one buffer that is sent as a DATA frame
//! once it holds 32 KiB or the features run out: the same batching as tonic's, without the
//! per-feature copies and calls.
//!
//! The body is pulled: hyper asks for the next frame once h2 has sent or queued the
//! previous one, and h2 queues no more than the stream's flow-control window allows (at
//! most ~400 KiB), so a slow reader costs that, one frame and the query position, as on
//! tonic's path; a cancelled call drops the body and with it the work. Like the streams of
//! tonic's path, it ends with `DEADLINE_EXCEEDED` once the client's deadline has passed and
//! with `UNAVAILABLE` once the server drains, checked before each frame: so while the
//! client reads, not while a stalled reader leaves the body unpolled.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::HeaderMap;
use http_body::{Body, Frame};
use prost::Message;
use prost::bytes::{BufMut, Bytes, BytesMut};
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tonic::Status;

use super::convert::{deadline_exceeded, shutting_down};
use crate::index::{FeatureIndex, FeatureRef, RectQuery};
use crate::pb;

/// A frame is sent once the buffer holds this much: tonic's default yield threshold.
const FRAME_BYTES: usize = 32 * 1024;

/// The buffer's first capacity: tonic's default buffer size.
const FIRST_CAPACITY: usize = 8 * 1024;

/// Called once when the stream ends, with the number of features sent and the final error.
type OnEnd = Box<dyn FnOnce(u64, Option<&Status>) + Send>;

/// The response body of one ListFeatures call: its features as gRPC messages, then the
/// trailers with the call's status.
pub(super) struct FeatureFrames {
    index: Arc<FeatureIndex>,
    query: RectQuery,
    deadline: Option<Instant>,
    drain: CancellationToken,
    buffer: BytesMut,
    /// The trailers still to send, once the stream has ended; `None` before that and
    /// after they were sent.
    trailers: Option<HeaderMap>,
    ended: bool,
    sent: u64,
    on_end: Option<OnEnd>,
}

impl FeatureFrames {
    /// Returns the body that streams `query`'s features from `index` until the `deadline`
    /// passes or `drain` is cancelled; `on_end` runs once when it ends or is dropped.
    pub(super) fn new(
        index: Arc<FeatureIndex>,
        query: RectQuery,
        deadline: Option<Instant>,
        drain: CancellationToken,
        on_end: impl FnOnce(u64, Option<&Status>) + Send + 'static,
    ) -> Self {
        Self {
            index,
            query,
            deadline,
            drain,
            buffer: BytesMut::new(),
            trailers: None,
            ended: false,
            sent: 0,
            on_end: Some(Box::new(on_end)),
        }
    }

    /// Ends the stream with `error` (or OK): logs it and queues its trailers.
    fn end(&mut self, error: Option<Status>) {
        self.ended = true;
        if let Some(on_end) = self.on_end.take() {
            on_end(self.sent, error.as_ref());
        }
        let status = error.unwrap_or_else(|| Status::ok(""));
        let mut trailers = HeaderMap::with_capacity(2);
        // `grpc-status` goes in first; only a message that cannot be a header value fails,
        // and the statuses here have fixed ASCII messages.
        let _ = status.add_header(&mut trailers);
        self.trailers = Some(trailers);
    }

    /// Returns the status to end with if the deadline passed or the server drains.
    fn stopped(&self) -> Option<Status> {
        if self.deadline.is_some_and(|at| at <= Instant::now()) {
            Some(deadline_exceeded())
        } else if self.drain.is_cancelled() {
            Some(shutting_down())
        } else {
            None
        }
    }

    /// Encodes features into the buffer until it holds a frame's worth or they run out.
    fn fill(&mut self) -> Result<(), Status> {
        if self.buffer.capacity() == 0 {
            self.buffer.reserve(FIRST_CAPACITY);
        }
        while self.buffer.len() < FRAME_BYTES {
            let Some(feature) = self.query.next_in(&self.index) else {
                self.end(None);
                return Ok(());
            };
            encode_feature(feature, &mut self.buffer)?;
            self.sent += 1;
        }
        Ok(())
    }
}

impl Body for FeatureFrames {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = &mut *self;
        if !this.ended {
            match this.stopped() {
                Some(status) => this.end(Some(status)),
                None => {
                    if let Err(status) = this.fill() {
                        this.end(Some(status));
                    }
                }
            }
            if !this.buffer.is_empty() {
                return Poll::Ready(Some(Ok(Frame::data(this.buffer.split().freeze()))));
            }
        }
        Poll::Ready(
            this.trailers
                .take()
                .map(|trailers| Ok(Frame::trailers(trailers))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.trailers.is_none() && self.buffer.is_empty()
    }
}

impl Drop for FeatureFrames {
    fn drop(&mut self) {
        if let Some(on_end) = self.on_end.take() {
            on_end(self.sent, Some(&Status::cancelled("client went away")));
        }
    }
}

/// Appends `feature` to `buffer` as one gRPC message holding the bytes prost writes for
/// the same `pb::Feature`: the name (field 1) unless empty, then the location (field 2).
///
/// # Errors
///
/// `INTERNAL` for a message over 4 GiB, which gRPC framing cannot carry.
fn encode_feature(feature: FeatureRef<'_>, buffer: &mut BytesMut) -> Result<(), Status> {
    let name = feature.name.as_bytes();
    let location = pb::Point::from(feature.location);
    let location_len = location.encoded_len();
    let name_field_len = if name.is_empty() {
        0
    } else {
        1 + encoded_len_varint(name.len() as u64) + name.len()
    };
    let length = name_field_len + 1 + encoded_len_varint(location_len as u64) + location_len;
    let length = u32::try_from(length)
        .map_err(|_| Status::internal(format!("a feature of {length} bytes is too large")))?;
    buffer.reserve(5 + length as usize);
    buffer.put_u8(0);
    buffer.put_u32(length);
    if !name.is_empty() {
        encode_key(1, WireType::LengthDelimited, buffer);
        encode_varint(name.len() as u64, buffer);
        buffer.put_slice(name);
    }
    prost::encoding::message::encode(2, &location, buffer);
    Ok(())
}

#[cfg(test)]
mod tests;
