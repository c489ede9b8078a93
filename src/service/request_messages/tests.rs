//! `RequestMessages` against bodies cut into frames at every place, and tonic's statuses
//! for broken framing.

use std::task::{Context, Poll};

use http_body::Frame;
use tonic::{Code, Status};

use super::RequestMessages;
use crate::test_bodies::Frames;

fn data_frames(chunks: &[&[u8]]) -> Frames {
    Frames::data(chunks.iter().copied())
}

/// Returns `message` with its gRPC header (compressed flag 0).
fn framed(message: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0];
    bytes.extend_from_slice(&(message.len() as u32).to_be_bytes());
    bytes.extend_from_slice(message);
    bytes
}

/// Reads every message of `body` as its bytes, up to and including the first error.
fn read_all(body: Frames, limit: usize) -> Vec<Result<Vec<u8>, Status>> {
    let mut messages = RequestMessages::new(body, limit);
    let waker = std::task::Waker::noop();
    let mut cx = Context::from_waker(waker);
    let mut read = Vec::new();
    loop {
        match messages.poll_next_with(&mut cx, |bytes| Ok(bytes.to_vec())) {
            Poll::Ready(Some(item)) => read.push(item),
            Poll::Ready(None) => return read,
            Poll::Pending => panic!("a body that is always ready made the reader wait"),
        }
    }
}

fn messages_of(read: Vec<Result<Vec<u8>, Status>>) -> Vec<Vec<u8>> {
    read.into_iter()
        .map(|item| item.map_err(|status| status.message().to_owned()).unwrap())
        .collect()
}

/// Messages of many lengths, including empty ones.
fn sample_messages() -> Vec<Vec<u8>> {
    (0..12u8)
        .map(|n| (0..n * 3).map(|i| i.wrapping_mul(7) ^ n).collect())
        .collect()
}

#[test]
fn messages_come_out_whole_however_the_body_is_split() {
    let messages = sample_messages();
    let stream: Vec<u8> = messages.iter().flat_map(|m| framed(m)).collect();
    // One frame; every split into two frames; every split into three.
    assert_eq!(
        messages_of(read_all(data_frames(&[&stream]), 1024)),
        messages
    );
    for cut in 0..=stream.len() {
        let (a, b) = stream.split_at(cut);
        assert_eq!(
            messages_of(read_all(data_frames(&[a, b]), 1024)),
            messages,
            "split at {cut}"
        );
    }
    for first in 0..=stream.len() {
        for second in first..=stream.len() {
            let parts = [&stream[..first], &stream[first..second], &stream[second..]];
            assert_eq!(
                messages_of(read_all(data_frames(&parts), 1024)),
                messages,
                "split at {first} and {second}"
            );
        }
    }
    // One byte per frame.
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(messages_of(read_all(data_frames(&bytes), 1024)), messages);
}

#[test]
fn an_empty_body_has_no_messages() {
    assert!(read_all(data_frames(&[]), 1024).is_empty());
    assert!(read_all(data_frames(&[b"", b""]), 1024).is_empty());
}

#[test]
fn trailers_are_skipped() {
    let mut body = data_frames(&[&framed(b"ab")]);
    body.0
        .push_back(Ok(Frame::trailers(http::HeaderMap::new())));
    assert_eq!(messages_of(read_all(body, 1024)), vec![b"ab".to_vec()]);
}

#[test]
fn trailers_after_part_of_a_message_are_an_unexpected_eof() {
    let message = framed(b"abcdef");
    let mut body = data_frames(&[&message, &message[..7]]);
    body.0
        .push_back(Ok(Frame::trailers(http::HeaderMap::new())));
    let read = read_all(body, 1024);
    assert_eq!(read.len(), 2);
    assert_eq!(read[0].as_ref().unwrap(), b"abcdef");
    let status = read[1].as_ref().unwrap_err();
    assert_eq!(status.code(), Code::Internal);
    assert_eq!(status.message(), "Unexpected EOF decoding stream.");
}

#[test]
fn a_split_message_holds_no_more_memory_than_its_size() {
    let message = framed(&[7; 1000]);
    let mut messages = RequestMessages::new(data_frames(&[&message[..2], &message[2..600]]), 4096);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    // The body ends inside the message; before it does, the split message was held.
    let read = messages.poll_next_with(&mut cx, |bytes| Ok(bytes.len()));
    assert!(matches!(read, Poll::Ready(Some(Err(_)))));
    assert_eq!(messages.split.capacity(), message.len());
}

fn only_error(read: Vec<Result<Vec<u8>, Status>>) -> Status {
    let mut read = read.into_iter();
    let status = match read.next() {
        Some(Err(status)) => status,
        other => panic!("expected an error first, got {other:?}"),
    };
    assert!(read.next().is_none(), "the stream goes on after an error");
    status
}

#[test]
fn a_set_compressed_flag_is_internal_as_in_tonic() {
    let mut message = framed(b"ab");
    message[0] = 1;
    let status = only_error(read_all(data_frames(&[&message]), 1024));
    assert_eq!(status.code(), Code::Internal);
    assert_eq!(
        status.message(),
        "protocol error: received message with compressed-flag but no grpc-encoding was specified"
    );
    message[0] = 7;
    let status = only_error(read_all(data_frames(&[&message[..3], &message[3..]]), 1024));
    assert_eq!(status.code(), Code::Internal);
    assert_eq!(
        status.message(),
        "protocol error: received message with invalid compression flag: 7 (valid flags are 0 and 1), while sending request"
    );
}

#[test]
fn a_message_over_the_limit_is_out_of_range_before_its_bytes_arrive() {
    let mut stream = framed(b"ok");
    stream.extend_from_slice(&framed(&[1; 11])[..5]);
    let read = read_all(data_frames(&[&stream]), 10);
    assert_eq!(read.len(), 2);
    assert_eq!(read[0].as_ref().unwrap(), b"ok");
    let status = read[1].as_ref().unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange);
    assert_eq!(
        status.message(),
        "Error, decoded message length too large: found 11 bytes, the limit is: 10 bytes"
    );
    // Exactly at the limit is accepted.
    assert_eq!(
        messages_of(read_all(data_frames(&[&framed(&[1; 10])]), 10)),
        vec![vec![1; 10]]
    );
}

#[test]
fn a_body_ending_inside_a_message_is_an_unexpected_eof() {
    let stream = framed(b"abcdef");
    for cut in 1..stream.len() {
        let status = only_error(read_all(data_frames(&[&stream[..cut]]), 1024));
        assert_eq!(status.code(), Code::Internal, "cut at {cut}");
        assert_eq!(status.message(), "Unexpected EOF decoding stream.");
    }
}

#[test]
fn a_cancelled_body_ends_the_stream_and_other_errors_are_returned() {
    let mut body = data_frames(&[&framed(b"a")]);
    body.0.push_back(Err(Status::cancelled("gone")));
    assert_eq!(messages_of(read_all(body, 1024)), vec![b"a".to_vec()]);

    let mut body = data_frames(&[&framed(b"a")]);
    body.0.push_back(Err(Status::unavailable("reset")));
    let read = read_all(body, 1024);
    assert_eq!(read.len(), 2);
    assert_eq!(read[1].as_ref().unwrap_err().code(), Code::Unavailable);
}

#[test]
fn a_decode_error_ends_the_stream() {
    let stream: Vec<u8> = [framed(b"a"), framed(b"b")].concat();
    let mut messages = RequestMessages::new(data_frames(&[&stream]), 1024);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let first = messages.poll_next_with(&mut cx, |_| Err::<(), _>(Status::internal("bad")));
    assert!(matches!(first, Poll::Ready(Some(Err(_)))));
    let next = messages.poll_next_with(&mut cx, |_| Ok(()));
    assert!(matches!(next, Poll::Ready(None)));
}
