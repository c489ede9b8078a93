//! Hundreds of abandoned streams: calls a client starts, then neither finishes, reads nor
//! resets, until it drops its connections.

use bytes::Bytes;
use routeguide::pb;

use super::raw_client::{connect, frame, request};
use super::target::Target;

/// Rounds of the attack: enough that keeping what each round held would exceed the memory
/// margin.
const ROUNDS: usize = 6;

/// Connections of each round, and streams on each (under the 1024 a connection may open).
const CONNECTIONS: usize = 4;
const STREAMS_PER_CONNECTION: usize = 200;

/// The end-of-call lines the server logs, one per call.
const CALL_ENDS: [&str; 4] = [
    "call ok",
    "call cancelled by client",
    "call failed",
    "call abandoned",
];

/// Returns the method and request messages of stream `i`: the four RPCs in turn.
fn call(connection: usize, i: usize) -> (&'static str, Bytes) {
    let point = pb::Point {
        latitude: 409_146_138,
        longitude: -746_188_906,
    };
    let corner = |latitude, longitude| {
        Some(pb::Point {
            latitude,
            longitude,
        })
    };
    match i % 4 {
        0 => ("GetFeature", frame(&point)),
        1 => {
            let world = pb::Rectangle {
                lo: corner(-900_000_000, -1_800_000_000),
                hi: corner(900_000_000, 1_800_000_000),
            };
            ("ListFeatures", frame(&world))
        }
        2 => (
            "RecordRoute",
            [frame(&point), frame(&point)].concat().into(),
        ),
        _ => {
            let note = pb::RouteNote {
                location: corner((connection * STREAMS_PER_CONNECTION + i) as i32, 0),
                message: "abandoned".into(),
            };
            ("RouteChat", frame(&note))
        }
    }
}

/// Each round opens 800 streams on 4 connections, 200 of each RPC, and sends each its
/// request message (GetFeature a point, ListFeatures the whole world, RecordRoute two
/// points, RouteChat a note), without half-closing, reading or resetting any; then the
/// client drops its connections.
///
/// Expected: RecordRoute and RouteChat handlers start on their first message and wait for
/// more; GetFeature and ListFeatures wait for the end of their request (tonic reads a
/// unary request to its end) without starting. Other clients are served meanwhile. When
/// the connections drop, every call ends and logs its one end-of-call line (observed:
/// hyper reads the lost connection as the end of each request body, so GetFeature and
/// RecordRoute end `call ok` with no one left to read the answer, ListFeatures and
/// RouteChat `call cancelled by client`). After six rounds resident memory is still within
/// the margin of its baseline, which keeping what each round held would exceed.
#[tokio::test]
async fn abandoned_streams_all_end_when_their_connections_drop() {
    let mut target = Target::start(&[]);
    let baseline = target.baseline().await;
    for round in 0..ROUNDS {
        let agent = format!("abandoned-r{round}-");
        let mut connections = Vec::new();
        let mut streams = Vec::new();
        for c in 0..CONNECTIONS {
            let connection = connect(&target.addr).await;
            for i in 0..STREAMS_PER_CONNECTION {
                let (method, body) = call(c, i);
                let headers = [("user-agent".to_owned(), format!("{agent}{c}-{i}"))];
                let mut opener = connection.streams.clone().ready().await.unwrap();
                let (response, mut request_body) = opener
                    .send_request(request(&target.addr, method, &headers), false)
                    .unwrap();
                request_body.send_data(body, false).unwrap();
                streams.push((response, request_body));
            }
            connections.push(connection);
        }
        let started = CONNECTIONS * STREAMS_PER_CONNECTION / 2;
        target
            .await_log_lines(&["call started", &agent], started)
            .await;
        target.probe().await;
        let held = target.memory();
        drop(streams);
        drop(connections);
        let calls = CONNECTIONS * STREAMS_PER_CONNECTION;
        let is_end = {
            let agent = agent.clone();
            move |line: &str| line.contains(&agent) && CALL_ENDS.iter().any(|e| line.contains(e))
        };
        target
            .await_log("ends of abandoned calls", calls, is_end)
            .await;
        let ends: Vec<usize> = CALL_ENDS
            .iter()
            .map(|end| target.log_lines(&[end, &agent]))
            .collect();
        assert_eq!(ends.iter().sum::<usize>(), calls, "{CALL_ENDS:?}: {ends:?}");
        println!(
            "abandoned round {round}: VmRSS {} KiB while held, ends {ends:?}",
            held.now_kib
        );
    }
    target.probe().await;
    target
        .await_memory_near("abandoned streams", baseline)
        .await;
    target.assert_alive();
}
