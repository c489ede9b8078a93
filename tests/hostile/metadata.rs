//! Oversized and numerous metadata: huge header values and thousands of headers.
//!
//! The server advertises hyper's 16 KiB `SETTINGS_MAX_HEADER_LIST_SIZE` (tonic leaves it
//! at hyper's default); h2 decodes a header block up to four times that before it gives up
//! on the whole connection. Sizes below are HPACK's: name, value and 32 bytes per header.

use routeguide::pb;

use super::raw_client::{Answer, Connection, connect, unary};
use super::target::Target;

/// Parallel connections of each attack.
const ATTACKERS: usize = 32;

/// The point of every GetFeature here: a feature of the built-in database.
const POINT: pb::Point = pb::Point {
    latitude: 409_146_138,
    longitude: -746_188_906,
};

/// Returns `count` headers `x-hostile-N` whose values are `value_bytes` long.
fn headers(count: usize, value_bytes: usize) -> Vec<(String, String)> {
    (0..count)
        .map(|i| (format!("x-hostile-{i}"), "v".repeat(value_bytes)))
        .collect()
}

/// The answer of a plain GetFeature: HTTP 200 and grpc-status 0.
fn served() -> Answer {
    Answer {
        http_status: 200,
        grpc_status: Some("0".into()),
    }
}

/// Runs `attack` on [`ATTACKERS`] connections at once while probing the server, and
/// returns each connection's result.
async fn on_many_connections<F, T>(target: &Target, attack: impl Fn(Connection) -> F) -> Vec<T>
where
    F: Future<Output = T>,
{
    let mut attacks = Vec::new();
    for _ in 0..ATTACKERS {
        attacks.push(attack(connect(&target.addr).await));
    }
    let (results, ()) = tokio::join!(futures::future::join_all(attacks), target.probe());
    results
}

/// 100 headers of 100 bytes (about 13 KiB): big, but within the advertised limit.
///
/// Expected: the call is served like any other (HTTP 200, grpc-status 0).
#[tokio::test]
async fn metadata_within_the_limit_is_served() {
    let mut target = Target::start(&[]);
    let baseline = target.baseline().await;
    let big = headers(100, 100);
    let answers = on_many_connections(&target, |connection| {
        let (addr, big) = (target.addr.clone(), big.clone());
        async move { unary(&connection, &addr, "GetFeature", &big, &POINT).await }
    })
    .await;
    for answer in answers {
        assert_eq!(answer.unwrap(), served());
    }
    target.probe().await;
    target
        .await_memory_near("metadata within the limit", baseline)
        .await;
    target.assert_alive();
}

/// Header blocks over the 16 KiB limit but under four times it: one 32 KiB value, and 1000
/// headers of one byte (about 43 KiB).
///
/// Expected: the server refuses the stream without running the call (h2 answers HTTP 431
/// Request Header Fields Too Large, then resets the stream with REFUSED_STREAM), and the
/// connection stays usable: the next call on it is served.
#[tokio::test]
async fn metadata_over_the_limit_is_refused_and_the_connection_survives() {
    let mut target = Target::start(&[]);
    let baseline = target.baseline().await;
    for oversized in [headers(1, 32 * 1024), headers(1000, 1)] {
        let results = on_many_connections(&target, |connection| {
            let (addr, oversized) = (target.addr.clone(), oversized.clone());
            async move {
                let refused = unary(&connection, &addr, "GetFeature", &oversized, &POINT).await;
                let next = unary(&connection, &addr, "GetFeature", &[], &POINT).await;
                (refused, next)
            }
        })
        .await;
        for (refused, next) in results {
            let refused = refused.unwrap();
            assert_eq!(refused.http_status, 431, "{refused:?}");
            assert_eq!(next.unwrap(), served());
        }
    }
    target.probe().await;
    target
        .await_memory_near("metadata over the limit", baseline)
        .await;
    target.assert_alive();
}

/// Header blocks far over the limit: one 1 MiB value, and 20,000 headers of one byte (about
/// 900 KiB; the `http` crate's header map holds at most 24,576).
///
/// Expected: the server ends the whole connection without reading the block into memory.
/// It sends GOAWAY with ENHANCE_YOUR_CALM and "too_many_continuations" (more CONTINUATION
/// frames than a 16 KiB block needs) or with COMPRESSION_ERROR (the block it buffers to
/// decode passed 16 KiB), whichever h2 notices first, and closes; a client still writing
/// the block may see only the close (sent as a reset, since data is left unread, which
/// can overtake the GOAWAY).
#[tokio::test]
async fn metadata_far_over_the_limit_closes_the_connection() {
    let mut target = Target::start(&[]);
    let baseline = target.baseline().await;
    for oversized in [headers(1, 1024 * 1024), headers(20_000, 1)] {
        let results = on_many_connections(&target, |connection| {
            let (addr, oversized) = (target.addr.clone(), oversized.clone());
            async move {
                let call = unary(&connection, &addr, "GetFeature", &oversized, &POINT).await;
                (call, connection.closed_by_server().await)
            }
        })
        .await;
        for (call, ended) in results {
            assert!(call.is_err(), "{call:?}");
            assert_closed_by_the_server(ended);
        }
    }
    target.probe().await;
    target
        .await_memory_near("metadata far over the limit", baseline)
        .await;
    target.assert_alive();
}

/// Asserts that the server ended the connection: with GOAWAY(ENHANCE_YOUR_CALM,
/// "too_many_continuations") or GOAWAY(COMPRESSION_ERROR), or a close the client saw as
/// an I/O error.
fn assert_closed_by_the_server(ended: Result<(), h2::Error>) {
    let error = ended.expect_err("the server closes the connection");
    if error.is_go_away() {
        assert!(error.is_remote(), "{error:?}");
        let calm = error.reason() == Some(h2::Reason::ENHANCE_YOUR_CALM)
            && format!("{error:?}").contains("too_many_continuations");
        let compression = error.reason() == Some(h2::Reason::COMPRESSION_ERROR);
        assert!(calm || compression, "{error:?}");
    } else {
        assert!(error.is_io(), "{error:?}");
    }
}
