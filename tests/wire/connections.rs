//! Connection limits: `--max-connections` closes connections beyond the limit at once,
//! `--handshake-timeout` closes connections that never finish the HTTP/2 handshake; the
//! connections already served keep being served.

use std::time::Duration;

use routeguide::config::ServerConfig;
use routeguide::pb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::logs::logs;
use super::support::{TestServer, assert_healthy, channel_over, pb_point};

type Client = pb::route_guide_client::RouteGuideClient<tonic::transport::Channel>;

/// Returns a client on a new connection of its own, and the connection's local address.
async fn connect(server: &TestServer) -> (Client, std::net::SocketAddr) {
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let local = tcp.local_addr().unwrap();
    (Client::new(channel_over(tcp).await), local)
}

/// Makes a GetFeature call on `client`, which must succeed.
async fn served(client: &mut Client) {
    let point = pb_point(409_146_138, -746_188_906);
    let feature = client.get_feature(point).await.unwrap().into_inner();
    assert_eq!(feature.location, Some(point));
}

/// Waits until the server closes `socket`, reading (and dropping) whatever it sends first.
async fn closed_by_server(mut socket: TcpStream) {
    let mut sink = [0u8; 1024];
    let closed = tokio::time::timeout(Duration::from_secs(20), async {
        while let Ok(n) = socket.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server left the connection open");
}

/// Returns the value of an unlabelled sample in the server's metrics.
async fn metric(server: &TestServer, name: &str) -> f64 {
    let text = server.scrape().await;
    let prefix = format!("{name} ");
    let line = text.lines().find(|l| l.starts_with(&prefix)).unwrap();
    line[prefix.len()..].parse().unwrap()
}

#[tokio::test]
async fn connections_beyond_the_limit_are_closed_while_the_others_are_served() {
    let config = ServerConfig {
        max_connections: 2,
        ..ServerConfig::default()
    };
    let server = TestServer::start_with(routeguide::db::builtin(), config).await;
    let (mut first, first_address) = connect(&server).await;
    let (mut second, _) = connect(&server).await;
    served(&mut first).await;
    served(&mut second).await;

    // A third connection is closed before it gets a byte of HTTP/2.
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    let mut byte = [0u8; 1];
    let answer = tokio::time::timeout(Duration::from_secs(20), third.read(&mut byte)).await;
    assert!(
        matches!(answer, Ok(Ok(0) | Err(_))),
        "the third connection was not closed at once: {answer:?}"
    );
    served(&mut first).await;
    served(&mut second).await;
    assert_eq!(metric(&server, "routeguide_connections_open").await, 2.0);
    assert_eq!(
        metric(&server, "routeguide_connections_rejected_total").await,
        1.0
    );

    // Once one closes, its place is free again.
    drop(first);
    let peer = format!("peer={first_address} ");
    logs().wait_for(&[&peer, "connection closed"]).await;
    let (mut fourth, _) = connect(&server).await;
    served(&mut fourth).await;
    served(&mut second).await;
}

#[tokio::test]
async fn connections_that_never_finish_the_handshake_are_closed() {
    // The passing of time is what is tested: keep it short.
    let config = ServerConfig {
        handshake_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    };
    let server = TestServer::start_with(routeguide::db::builtin(), config).await;
    // A client that finished its handshake first, so its deadline passes first.
    let (mut patient, _) = connect(&server).await;
    served(&mut patient).await;

    // One sends nothing, one stops halfway through the preface.
    let silent = TcpStream::connect(server.addr).await.unwrap();
    let mut trickle = TcpStream::connect(server.addr).await.unwrap();
    trickle.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    closed_by_server(silent).await;
    closed_by_server(trickle).await;
    assert_eq!(
        metric(&server, "routeguide_handshake_timeouts_total").await,
        2.0
    );

    // The connection that finished its handshake outlived the deadline, and new ones work.
    served(&mut patient).await;
    assert_healthy(&server).await;
}
