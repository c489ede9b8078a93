//! Request and response bodies for unit tests: a body that yields given frames, always ready.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame};
use prost::bytes::Bytes;
use tonic::Status;

/// A body that yields its frames (or errors) in order, each at once, then ends.
pub(crate) struct Frames(pub(crate) VecDeque<Result<Frame<Bytes>, Status>>);

impl Frames {
    /// Returns a body of one DATA frame per chunk.
    pub(crate) fn data<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Self {
        Self(
            chunks
                .into_iter()
                .map(|chunk| Ok(Frame::data(Bytes::copy_from_slice(chunk))))
                .collect(),
        )
    }
}

impl Body for Frames {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        Poll::Ready(self.0.pop_front())
    }
}
