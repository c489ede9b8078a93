//! Random bytes on the port: instead of the HTTP/2 preface, after it, and as frames.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::frames::{GOAWAY, HEADERS, PREFACE, Received, SETTINGS, read_until_closed};
use super::target::Target;

/// Connections of each case, all at once.
const CONNECTIONS: u64 = 64;

/// The largest frame payload the server accepts (hyper's `SETTINGS_MAX_FRAME_SIZE`).
const MAX_FRAME_SIZE: usize = 16 * 1024;

/// HTTP/2 error code NO_ERROR, of a graceful GOAWAY.
const NO_ERROR: u32 = 0x0;

/// HTTP/2 error code FRAME_SIZE_ERROR.
const FRAME_SIZE_ERROR: u32 = 0x6;

/// HTTP/2 frame type WINDOW_UPDATE, which the server sends to open its 1 MiB window.
const WINDOW_UPDATE: u8 = 0x8;

/// Returns `len` random bytes from a generator seeded with `seed`.
fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    StdRng::seed_from_u64(seed).fill(&mut bytes[..]);
    bytes
}

/// Returns random frames from a generator seeded with `seed`: each with a payload the
/// server's frame size allows (up to 64 bytes), a known frame type, random flags and a
/// random stream.
fn random_frames(seed: u64, count: usize) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut bytes = Vec::new();
    for _ in 0..count {
        let length: usize = rng.random_range(0..=64);
        bytes.extend_from_slice(&(length as u32).to_be_bytes()[1..]);
        bytes.push(rng.random_range(0..=9));
        bytes.push(rng.random());
        bytes.extend_from_slice(&rng.random_range(0..8u32).to_be_bytes());
        bytes.extend((0..length).map(|_| rng.random::<u8>()));
    }
    bytes
}

/// Connects, writes `bytes`, half-closes and returns what the server sent until it
/// closed the connection. A failed write means the server closed first.
async fn send_and_read(addr: &str, bytes: &[u8]) -> Received {
    let mut socket = TcpStream::connect(addr).await.unwrap();
    let _ = socket.write_all(bytes).await;
    let _ = socket.shutdown().await;
    read_until_closed(&mut socket).await
}

/// Sends every `(seed, bytes)` on its own connection at once while probing the server, and
/// returns what each connection received.
async fn attack(target: &Target, inputs: Vec<(u64, Vec<u8>)>) -> Vec<(u64, Received)> {
    let connections = inputs
        .into_iter()
        .map(|(seed, bytes)| async move { (seed, send_and_read(&target.addr, &bytes).await) });
    let (received, ()) = tokio::join!(futures::future::join_all(connections), target.probe());
    received
}

/// 64 connections that send 16 KiB of random bytes instead of the preface.
///
/// Expected: the server, which speaks HTTP/1.1 too, reads the bytes as neither protocol's
/// start and closes the connection without an HTTP/2 frame (at most an HTTP/1.1 error
/// line).
#[tokio::test]
async fn random_bytes_instead_of_the_preface_close_the_connection() {
    let mut target = Target::start(&[]);
    let baseline = target.baseline().await;
    let inputs = (0..CONNECTIONS).map(|seed| (seed, random_bytes(seed, 16 * 1024)));
    for (seed, received) in attack(&target, inputs.collect()).await {
        assert_eq!(
            received.kinds(),
            Vec::<u8>::new(),
            "seed {seed}: {received:?}"
        );
    }
    target.probe().await;
    target.await_memory_near("random bytes", baseline).await;
    target.assert_alive();
}

/// 64 connections that send the preface, then 16 KiB of random bytes.
///
/// Expected: the server sends SETTINGS and usually a WINDOW_UPDATE (it opens a 1 MiB
/// connection window), reads the random bytes as a frame header that claims a payload over its 16 KiB
/// frame size (as a random length does 1023 times in 1024), answers GOAWAY with
/// FRAME_SIZE_ERROR and closes the connection.
#[tokio::test]
async fn random_bytes_after_the_preface_get_goaway_frame_size_error() {
    let mut target = Target::start(&[]);
    let baseline = target.baseline().await;
    let inputs = (0..CONNECTIONS)
        .map(|seed| (seed, [PREFACE, &random_bytes(seed, 16 * 1024)].concat()))
        .filter(|(_, bytes)| {
            let length = &bytes[PREFACE.len()..PREFACE.len() + 3];
            u32::from_be_bytes([0, length[0], length[1], length[2]]) as usize > MAX_FRAME_SIZE
        });
    for (seed, received) in attack(&target, inputs.collect()).await {
        let kinds = received.kinds();
        let window_update = kinds.contains(&WINDOW_UPDATE);
        let expected = [
            &[SETTINGS][..],
            &[WINDOW_UPDATE][..usize::from(window_update)],
            &[GOAWAY],
        ];
        assert_eq!(kinds, expected.concat(), "seed {seed}: {received:?}");
        assert_eq!(received.goaway(), Some(FRAME_SIZE_ERROR), "seed {seed}");
    }
    target.probe().await;
    target
        .await_memory_near("random bytes after the preface", baseline)
        .await;
    target.assert_alive();
}

/// 64 connections that send the preface and an empty SETTINGS frame, then 1000 random
/// frames of sizes the server accepts, of known types, on random streams.
///
/// Expected: the server acknowledges the SETTINGS, then closes each connection after a
/// GOAWAY naming the first protocol error it found (with these seeds, PROTOCOL_ERROR
/// within the first few frames), or without one if the client's end of input came first;
/// it never answers with HEADERS, as no random frame is a valid request.
#[tokio::test]
async fn random_frames_after_the_preface_end_the_connection() {
    let mut target = Target::start(&[]);
    let baseline = target.baseline().await;
    let empty_settings = [0, 0, 0, SETTINGS, 0, 0, 0, 0, 0];
    let inputs = (0..CONNECTIONS).map(|seed| {
        (
            seed,
            [PREFACE, &empty_settings, &random_frames(seed, 1000)].concat(),
        )
    });
    let mut codes = Vec::new();
    for (seed, received) in attack(&target, inputs.collect()).await {
        let kinds = received.kinds();
        assert_eq!(kinds.first(), Some(&SETTINGS), "seed {seed}: {received:?}");
        assert!(!kinds.contains(&HEADERS), "seed {seed}: {received:?}");
        assert_ne!(
            received.goaway(),
            Some(NO_ERROR),
            "seed {seed}: {received:?}"
        );
        codes.push(received.goaway());
    }
    codes.sort();
    codes.dedup();
    println!("random frames: GOAWAY codes seen {codes:?}");
    target.probe().await;
    target.await_memory_near("random frames", baseline).await;
    target.assert_alive();
}
