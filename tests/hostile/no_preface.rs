//! Clients that connect and never send the HTTP/2 preface, or stop in the middle of it.

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::frames::{PREFACE, read_until_closed};
use super::target::Target;

/// Silent connections held at once: well under the usual 1024 open files of the test.
const CONNECTIONS: usize = 500;

/// [`CONNECTIONS`] connections: half send nothing, half the first 16 bytes of the preface.
///
/// Expected: the server (which speaks HTTP/1.1 too) sends nothing until a client's first
/// bytes show its protocol, and closes each connection once `--handshake-timeout` (1 s
/// here) passes without a finished handshake. Other clients are served meanwhile, and the
/// held connections' memory is given back.
#[tokio::test]
async fn connections_without_the_preface_are_closed_at_the_handshake_timeout() {
    let mut target = Target::start(&["--handshake-timeout", "1s"]);
    let baseline = target.baseline().await;
    let mut silent = Vec::new();
    for i in 0..CONNECTIONS {
        let mut socket = TcpStream::connect(&target.addr).await.unwrap();
        if i % 2 == 1 {
            socket.write_all(&PREFACE[..16]).await.unwrap();
        }
        silent.push(socket);
    }
    target.probe().await;
    let held = target.memory();
    for socket in &mut silent {
        let received = read_until_closed(socket).await;
        assert_eq!(received.kinds(), Vec::<u8>::new(), "{received:?}");
    }
    println!(
        "no preface: {CONNECTIONS} silent connections held at VmRSS {} KiB, then closed",
        held.now_kib
    );
    drop(silent);
    target.probe().await;
    target.await_memory_near("no preface", baseline).await;
    target.assert_alive();
}
