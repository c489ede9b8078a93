//! Rapid reset (CVE-2023-44487): streams opened and reset at once, as fast as the client
//! can, on many connections, with the `h2` crate as a raw client.

use super::raw_client::{Connection, connect, request};
use super::target::Target;

/// Attacking connections, all at once.
const ATTACKERS: usize = 16;

/// Streams each connection opens and resets at most; the server stops it long before.
const STREAMS_PER_CONNECTION: usize = 20_000;

/// How one attacking connection went.
struct Attack {
    /// Streams opened (and reset) before the connection failed.
    opened: usize,
    /// The errors the client saw: on opening a stream, then when the connection ended.
    errors: Vec<h2::Error>,
}

/// Opens and resets up to [`STREAMS_PER_CONNECTION`] GetFeature streams on `connection`,
/// each HEADERS frame followed at once by RST_STREAM(CANCEL).
async fn open_and_reset(connection: Connection, addr: String) -> Attack {
    let mut streams = connection.streams.clone();
    let mut attack = Attack {
        opened: 0,
        errors: Vec::new(),
    };
    while attack.opened < STREAMS_PER_CONNECTION {
        streams = match streams.ready().await {
            Ok(ready) => ready,
            Err(error) => {
                attack.errors.push(error);
                break;
            }
        };
        match streams.send_request(request(&addr, "GetFeature", &[]), false) {
            Ok((_response, mut body)) => body.send_reset(h2::Reason::CANCEL),
            Err(error) => {
                attack.errors.push(error);
                break;
            }
        }
        attack.opened += 1;
        if attack.opened.is_multiple_of(16) {
            // Let the connection task write the frames queued so far.
            tokio::task::yield_now().await;
        }
    }
    if let Err(error) = connection.closed_by_server().await {
        attack.errors.push(error);
    }
    attack
}

/// Says whether `error` is the server's GOAWAY(ENHANCE_YOUR_CALM, "too_many_resets").
fn is_too_many_resets(error: &h2::Error) -> bool {
    error.is_go_away()
        && error.is_remote()
        && error.reason() == Some(h2::Reason::ENHANCE_YOUR_CALM)
        && format!("{error:?}").contains("too_many_resets")
}

/// [`ATTACKERS`] connections open streams and reset each at once.
///
/// Expected: the server ends each connection with GOAWAY(ENHANCE_YOUR_CALM,
/// "too_many_resets") once more than 20 of its streams were reset before the server
/// accepted them (h2's `max_pending_accept_reset_streams`, which tonic leaves at its
/// default of 20); a client still writing may see only the close (sent as a reset, since
/// frames are left unread, which can overtake the GOAWAY). Other clients are served
/// meanwhile.
#[tokio::test]
async fn rapid_reset_flood_gets_goaway_enhance_your_calm() {
    let mut target = Target::start(&[]);
    let baseline = target.baseline().await;
    let mut attacks = Vec::new();
    for _ in 0..ATTACKERS {
        attacks.push(open_and_reset(
            connect(&target.addr).await,
            target.addr.clone(),
        ));
    }
    let (results, ()) = tokio::join!(futures::future::join_all(attacks), target.probe());
    let opened: Vec<usize> = results.iter().map(|attack| attack.opened).collect();
    let mut goaways = 0;
    for attack in &results {
        let errors = &attack.errors;
        assert!(
            !errors.is_empty(),
            "the server kept the connection: {opened:?}"
        );
        if errors.iter().any(is_too_many_resets) {
            goaways += 1;
        } else {
            // The server closed with frames left unread, which the kernel turns into a
            // reset that can overtake the GOAWAY.
            assert!(errors.iter().all(h2::Error::is_io), "{errors:?}");
        }
    }
    println!("rapid reset: {goaways} GOAWAYs seen, streams opened per connection: {opened:?}");
    target.probe().await;
    target.await_memory_near("rapid reset", baseline).await;
    target.assert_alive();
}
