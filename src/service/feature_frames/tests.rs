//! `FeatureFrames` against prost's encoding, and its endings: all sent, deadline, drain,
//! dropped.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body::Body;
use prost::Message;
use prost::bytes::{Bytes, BytesMut};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tonic::Status;

use super::{FRAME_BYTES, FeatureFrames, encode_feature};
use crate::geo::{GeoPoint, GeoRect};
use crate::index::{FeatureIndex, FeatureIndexBuilder, FeatureRef, RectQuery};
use crate::pb;

fn prost_framed(feature: FeatureRef<'_>) -> Vec<u8> {
    let message = pb::Feature {
        name: feature.name.to_owned(),
        location: Some(feature.location.into()),
    }
    .encode_to_vec();
    let mut framed = vec![0];
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(&message);
    framed
}

#[test]
fn features_are_encoded_as_prost_encodes_them() {
    let names = [
        String::new(),
        "a".to_owned(),
        "Berkshire Valley Management Area Trail, Jefferson, NJ, USA".to_owned(),
        "é".repeat(63),
        "x".repeat(127),
        "x".repeat(128),
        "x".repeat(300),
        "y".repeat(20_000),
    ];
    let points = [
        (0, 0),
        (0, -1),
        (1, 0),
        (-900_000_000, -1_800_000_000),
        (900_000_000, 1_800_000_000),
        (409_146_138, -746_188_906),
        (-3, 127),
    ];
    for name in &names {
        for &(latitude, longitude) in &points {
            let feature = FeatureRef {
                location: GeoPoint::new(latitude, longitude).unwrap(),
                name,
            };
            let mut buffer = BytesMut::new();
            encode_feature(feature, &mut buffer).unwrap();
            assert_eq!(
                buffer.as_ref(),
                prost_framed(feature).as_slice(),
                "{latitude},{longitude} {}",
                name.len()
            );
        }
    }
}

/// Every feature of `index` inside the whole world, in query order.
fn whole_world(index: &Arc<FeatureIndex>) -> RectQuery {
    let rect = GeoRect::from_corners(
        GeoPoint::new(-900_000_000, -1_800_000_000).unwrap(),
        GeoPoint::new(900_000_000, 1_800_000_000).unwrap(),
    );
    RectQuery::new(index, rect)
}

fn grid(n: i32) -> Arc<FeatureIndex> {
    let mut builder = FeatureIndexBuilder::new();
    for i in 0..n {
        for j in 0..n {
            let point = GeoPoint::new(i * 1000, j * 1000).unwrap();
            builder.push(point, &format!("feature {i} {j}")).unwrap();
        }
    }
    Arc::new(builder.build())
}

type Ends = Arc<Mutex<Vec<(u64, Option<tonic::Code>)>>>;

fn frames(
    index: &Arc<FeatureIndex>,
    deadline: Option<Instant>,
    drain: CancellationToken,
) -> (FeatureFrames, Ends) {
    let ends: Ends = Arc::default();
    let log = Arc::clone(&ends);
    let body = FeatureFrames::new(
        Arc::clone(index),
        whole_world(index),
        deadline,
        drain,
        move |sent, error: Option<&Status>| {
            log.lock().unwrap().push((sent, error.map(Status::code)));
        },
    );
    (body, ends)
}

/// Polls `body` to its end: its data frames, then its trailers.
fn collect(mut body: FeatureFrames) -> (Vec<Bytes>, http::HeaderMap) {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let mut data = Vec::new();
    loop {
        match std::pin::Pin::new(&mut body).poll_frame(&mut cx) {
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(bytes) => data.push(bytes),
                Err(frame) => {
                    let trailers = frame.into_trailers().unwrap();
                    assert!(body.is_end_stream());
                    let end = std::pin::Pin::new(&mut body).poll_frame(&mut cx);
                    assert!(matches!(end, Poll::Ready(None)));
                    return (data, trailers);
                }
            },
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn every_feature_is_sent_in_frames_of_about_32_kib_then_ok() {
    let index = grid(60);
    let (body, ends) = frames(&index, None, CancellationToken::new());
    let (data, trailers) = collect(body);
    let expected: Vec<u8> = {
        let mut query = whole_world(&index);
        std::iter::from_fn(|| query.next_in(&index))
            .flat_map(prost_framed)
            .collect()
    };
    assert!(data.len() > 1, "3,600 features take several frames");
    for frame in &data[..data.len() - 1] {
        assert!(frame.len() >= FRAME_BYTES && frame.len() < FRAME_BYTES + 100);
    }
    assert_eq!(data.concat(), expected);
    assert_eq!(trailers["grpc-status"], "0");
    assert!(trailers.get("grpc-message").is_none());
    assert_eq!(*ends.lock().unwrap(), vec![(3600, None)]);
}

#[test]
fn a_passed_deadline_ends_with_deadline_exceeded() {
    let index = grid(10);
    let past = Instant::now() - Duration::from_millis(1);
    let (body, ends) = frames(&index, Some(past), CancellationToken::new());
    let (data, trailers) = collect(body);
    assert!(data.is_empty());
    assert_eq!(trailers["grpc-status"], "4");
    assert_eq!(
        *ends.lock().unwrap(),
        vec![(0, Some(tonic::Code::DeadlineExceeded))]
    );
}

#[test]
fn draining_ends_with_unavailable_after_the_frame_being_sent() {
    let index = grid(60);
    let drain = CancellationToken::new();
    let (mut body, ends) = frames(&index, None, drain.clone());
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let first = std::pin::Pin::new(&mut body).poll_frame(&mut cx);
    assert!(matches!(first, Poll::Ready(Some(Ok(ref frame))) if frame.is_data()));
    drain.cancel();
    let (data, trailers) = collect(body);
    assert!(data.is_empty());
    assert_eq!(trailers["grpc-status"], "14");
    let ends = ends.lock().unwrap();
    assert_eq!(ends.len(), 1);
    assert_eq!(ends[0].1, Some(tonic::Code::Unavailable));
    assert!(ends[0].0 > 0 && ends[0].0 < 3600);
}

#[test]
fn a_dropped_body_is_logged_once_as_cancelled() {
    let index = grid(60);
    let (mut body, ends) = frames(&index, None, CancellationToken::new());
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let _ = std::pin::Pin::new(&mut body).poll_frame(&mut cx);
    drop(body);
    let ends = ends.lock().unwrap();
    assert_eq!(ends.len(), 1);
    assert_eq!(ends[0].1, Some(tonic::Code::Cancelled));
    let (finished, finished_ends) = frames(&index, None, CancellationToken::new());
    drop(collect(finished));
    assert_eq!(
        finished_ends.lock().unwrap().len(),
        1,
        "logged at the end, not again on drop"
    );
}
