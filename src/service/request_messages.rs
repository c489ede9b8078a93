//! `RequestMessages`: the uncompressed gRPC messages of a request body, read in place.
//!
//! gRPC frames every message as a 1-byte compressed flag, a 4-byte big-endian length and
//! the message's bytes. tonic's `Streaming` copies every DATA frame into one buffer and
//! hands each message to a boxed decoder through a `DecodeBuf`: for RecordRoute, whose
//! messages are 17-byte points, that framing cost about as much per point as the route's
//! own work. Here a message that lies whole inside one DATA frame is decoded where it
//! lies; only a message split across frames is copied, and only its own bytes.
//!
//! Only for requests without `grpc-encoding` (or with `identity`); a compressed request
//! goes through tonic. The statuses are tonic's, word for word: a set compressed flag is
//! `INTERNAL`, a message longer than the limit is `OUT_OF_RANGE`, a body that ends inside
//! a message is `INTERNAL "Unexpected EOF decoding stream."`, a body error is its status,
//! except that `CANCELLED` ends the stream as tonic's request streams do. Two differences
//! are deliberate, both where tonic drops a message silently and answers as if the request
//! had ended before it: a body that ends right after a message's header, and a request
//! that sends trailers after part of a message. Both get the
//! `INTERNAL "Unexpected EOF decoding stream."` that tonic gives a body ending inside a
//! message.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http_body::Body;
use prost::bytes::{Buf, Bytes, BytesMut};
use tonic::{Code, Status};

/// The length of a gRPC message header: the compressed flag and the big-endian length.
const HEADER: usize = 5;

/// Reads the messages of a request body `B`, one at a time, each decoded by the caller.
pub(super) struct RequestMessages<B> {
    body: B,
    /// The unread rest of the latest DATA frame.
    frame: Bytes,
    /// The beginning of a message that continues in the next frame (header included);
    /// empty between messages.
    split: BytesMut,
    /// The longest message accepted, in bytes.
    max_message_bytes: usize,
    /// Whether the stream has ended (after its last message, or an error).
    ended: bool,
}

impl<B> RequestMessages<B>
where
    B: Body<Data = Bytes, Error = Status> + Unpin,
{
    /// Returns the reader of `body`'s messages, which may each be at most
    /// `max_message_bytes` long.
    pub(super) fn new(body: B, max_message_bytes: usize) -> Self {
        Self {
            body,
            frame: Bytes::new(),
            split: BytesMut::new(),
            max_message_bytes,
            ended: false,
        }
    }

    /// Polls for the next message and returns `decode` of its bytes; `None` once the body
    /// has ended after a whole message, and after any error.
    pub(super) fn poll_next_with<T>(
        &mut self,
        cx: &mut Context<'_>,
        decode: impl FnOnce(&[u8]) -> Result<T, Status>,
    ) -> Poll<Option<Result<T, Status>>> {
        match self.poll_message(cx, decode) {
            Poll::Ready(Some(Err(status))) => {
                self.ended = true;
                Poll::Ready(Some(Err(status)))
            }
            other => other,
        }
    }

    /// Waits for the next message and returns `decode` of its bytes, as
    /// [`poll_next_with`](Self::poll_next_with) does.
    pub(super) async fn next_with<T>(
        &mut self,
        decode: impl Fn(&[u8]) -> Result<T, Status>,
    ) -> Option<Result<T, Status>> {
        std::future::poll_fn(|cx| self.poll_next_with(cx, &decode)).await
    }

    fn poll_message<T>(
        &mut self,
        cx: &mut Context<'_>,
        decode: impl FnOnce(&[u8]) -> Result<T, Status>,
    ) -> Poll<Option<Result<T, Status>>> {
        loop {
            if self.ended {
                return Poll::Ready(None);
            }
            if self.split.is_empty() {
                // The usual case: the whole message is in the frame.
                let length = self.message_length(&self.frame)?;
                if let Some(end) = length.map(|length| HEADER + length)
                    && self.frame.len() >= end
                {
                    let decoded = decode(&self.frame[HEADER..end]);
                    self.frame.advance(end);
                    return Poll::Ready(Some(decoded));
                }
                // Too short for its header or its message: it continues in the next frame.
                if !self.frame.is_empty() {
                    self.hold(HEADER + length.unwrap_or(0));
                    self.split.extend_from_slice(&self.frame);
                    self.frame.clear();
                }
            } else {
                // Complete the header, then the message, from the frame's first bytes.
                let length = self.message_length(&self.split)?;
                let wanted = HEADER + length.unwrap_or(0);
                self.hold(wanted);
                let taken = (wanted - self.split.len()).min(self.frame.len());
                self.split.extend_from_slice(&self.frame[..taken]);
                self.frame.advance(taken);
                if self.split.len() == wanted {
                    if length.is_none() {
                        // The header is complete now: read its length on the next turn.
                        continue;
                    }
                    let decoded = decode(&self.split[HEADER..]);
                    self.split.clear();
                    return Poll::Ready(Some(decoded));
                }
            }
            if let Some(done) = ready!(self.poll_frame(cx)) {
                return Poll::Ready(done);
            }
        }
    }

    /// Makes room in `split` for a message of `wanted` bytes (header included), allocating
    /// exactly that much if it has less, so a split message never holds more memory than
    /// its own size.
    fn hold(&mut self, wanted: usize) {
        if self.split.capacity() < wanted {
            let mut split = BytesMut::with_capacity(wanted);
            split.extend_from_slice(&self.split);
            self.split = split;
        }
    }

    /// Returns the length of the message whose header starts `bytes`, or `None` if the
    /// header is not all there yet.
    ///
    /// # Errors
    ///
    /// tonic's statuses for a set or unknown compressed flag and for a message over the limit.
    fn message_length(&self, bytes: &[u8]) -> Result<Option<usize>, Status> {
        let Some(header) = bytes.get(..HEADER) else {
            return Ok(None);
        };
        match header[0] {
            0 => {}
            1 => {
                return Err(Status::internal(
                    "protocol error: received message with compressed-flag but no grpc-encoding was specified",
                ));
            }
            flag => {
                return Err(Status::internal(format!(
                    "protocol error: received message with invalid compression flag: {flag} (valid flags are 0 and 1), while sending request"
                )));
            }
        }
        let length = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
        if length > self.max_message_bytes {
            return Err(Status::out_of_range(format!(
                "Error, decoded message length too large: found {length} bytes, the limit is: {} bytes",
                self.max_message_bytes
            )));
        }
        Ok(Some(length))
    }

    /// Polls the body for its next DATA frame into `frame`; returns `Some` with what the
    /// stream yields instead when the body has ended or failed.
    fn poll_frame<T>(&mut self, cx: &mut Context<'_>) -> Poll<Option<Option<Result<T, Status>>>> {
        match ready!(Pin::new(&mut self.body).poll_frame(cx)) {
            Some(Ok(frame)) => {
                // Trailers carry nothing a request stream needs; other frames are skipped.
                if let Ok(data) = frame.into_data() {
                    self.frame = data;
                }
                Poll::Ready(None)
            }
            Some(Err(status)) if status.code() == Code::Cancelled => {
                self.ended = true;
                Poll::Ready(Some(None))
            }
            Some(Err(status)) => Poll::Ready(Some(Some(Err(status)))),
            None => {
                self.ended = true;
                if self.split.is_empty() && self.frame.is_empty() {
                    Poll::Ready(Some(None))
                } else {
                    Poll::Ready(Some(Some(Err(Status::internal(
                        "Unexpected EOF decoding stream.",
                    )))))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
