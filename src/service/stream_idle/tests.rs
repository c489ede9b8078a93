//! The idle deadline on tokio's paused clock: request data and response data both defer it.

use std::task::Poll;

use http_body_util::{BodyExt, StreamBody};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

use super::*;

const TIMEOUT: Duration = Duration::from_millis(300);

/// Polls `body` once for its next frame; `None` while it waits.
async fn next(body: &mut IdleRequest) -> Option<Option<Result<Frame<Bytes>, Status>>> {
    match futures::poll!(body.frame()) {
        Poll::Ready(frame) => Some(frame),
        Poll::Pending => None,
    }
}

async fn advance(millis: u64) {
    tokio::time::advance(Duration::from_millis(millis)).await;
}

#[tokio::test(start_paused = true)]
async fn traffic_either_way_defers_the_idle_deadline() {
    let (frames, receiver) = mpsc::channel::<Result<Frame<Bytes>, Status>>(4);
    let responses = Arc::new(Activity::new(Instant::now()));
    let metrics = Metrics::new();
    let mut body = IdleRequest {
        inner: Body::new(StreamBody::new(ReceiverStream::new(receiver))),
        timeout: TIMEOUT,
        deadline: Instant::now() + TIMEOUT,
        sleep: None,
        responses: Arc::clone(&responses),
        metrics: metrics.clone(),
        timed_out: false,
    };
    advance(200).await;
    assert!(next(&mut body).await.is_none(), "idle at 200 ms");
    // A request message at 200 ms: idle from 500 ms.
    frames
        .send(Ok(Frame::data(Bytes::from_static(b"note"))))
        .await
        .expect("the body is open");
    assert!(matches!(next(&mut body).await, Some(Some(Ok(_)))));
    advance(250).await;
    assert!(next(&mut body).await.is_none(), "idle at 450 ms");
    // A response message at 450 ms: idle from 750 ms.
    responses.record();
    advance(100).await;
    assert!(next(&mut body).await.is_none(), "idle at 550 ms");
    advance(199).await;
    assert!(next(&mut body).await.is_none(), "idle at 749 ms");
    advance(1).await;
    let Some(Some(Err(status))) = next(&mut body).await else {
        panic!("not ended at 750 ms");
    };
    assert_eq!(status.code(), Code::DeadlineExceeded);
    assert_eq!(
        status.message(),
        "stream idle: no message for 300ms (--stream-idle-timeout)"
    );
    assert!(
        matches!(next(&mut body).await, Some(None)),
        "ends after the status"
    );
    assert!(
        metrics
            .render()
            .contains("routeguide_stream_idle_timeouts_total 1\n")
    );
}

#[tokio::test(start_paused = true)]
async fn a_half_closed_request_is_never_idle() {
    let (frames, receiver) = mpsc::channel::<Result<Frame<Bytes>, Status>>(4);
    let mut body = IdleRequest {
        inner: Body::new(StreamBody::new(ReceiverStream::new(receiver))),
        timeout: TIMEOUT,
        deadline: Instant::now() + TIMEOUT,
        sleep: None,
        responses: Arc::new(Activity::new(Instant::now())),
        metrics: Metrics::new(),
        timed_out: false,
    };
    drop(frames);
    advance(1000).await;
    assert!(matches!(next(&mut body).await, Some(None)));
}
