//! TLS and mutual TLS over the wire with certificates made at run time: all four RPCs
//! over a good certificate, and refusals of a wrong CA, an expired certificate, a wrong
//! host name (which `domain` fixes) and a missing, foreign or expired client certificate.

use std::path::Path;
use std::time::Duration;

use routeguide::auth::{Authenticator, Secret, TokenSet};
use routeguide::client::{ClientError, ConnectOptions, RouteGuideClient};
use routeguide::config::ServerConfig;
use routeguide::geo::GeoRect;
use routeguide::loadgen::{self, LoadConfig, RectShape, Rpc, Workload};
use routeguide::pb;
use routeguide::server::Security;
use routeguide::tls::{ClientTls, ClientTlsFiles, ServerTls, ServerTlsFiles, TlsAcceptor};
use tokio::io::AsyncReadExt;

use super::logs::logs;
use super::pki::{Leaf, Pki};
use super::support::{TestServer, pb_point, point};

/// The names a good server certificate carries.
const SERVER_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// Returns the server TLS of `leaf`, verifying clients against `client_ca` when given.
pub fn server_tls(leaf: &Leaf, client_ca: Option<&Path>) -> ServerTls {
    let files = ServerTlsFiles {
        cert: leaf.cert.clone(),
        key: leaf.key.clone(),
        client_ca: client_ca.map(Path::to_owned),
    };
    ServerTls::load(&files).unwrap()
}

/// Starts a server on the built-in database serving `tls`.
pub async fn tls_server(tls: ServerTls) -> (TestServer, TlsAcceptor) {
    let acceptor = TlsAcceptor::new(tls);
    let security = Security {
        tls: Some(acceptor.clone()),
        ..Security::default()
    };
    let server = TestServer::start_secured(ServerConfig::default(), security).await;
    (server, acceptor)
}

/// Returns the client TLS that trusts `ca`, presents `identity`, and checks `domain`.
pub fn client_tls(ca: &Path, identity: Option<&Leaf>, domain: Option<&str>) -> ClientTls {
    ClientTls::load(&ClientTlsFiles {
        ca: Some(ca.to_owned()),
        cert: identity.map(|leaf| leaf.cert.clone()),
        key: identity.map(|leaf| leaf.key.clone()),
        domain: domain.map(str::to_owned),
    })
    .unwrap()
}

/// Connects to `https://HOST:PORT` of `server` with `tls`.
async fn connect(
    server: &TestServer,
    host: &str,
    tls: ClientTls,
) -> Result<RouteGuideClient, ClientError> {
    let options = ConnectOptions {
        timeout: Some(Duration::from_secs(20)),
        tls: Some(tls),
        token: None,
    };
    let address = format!("https://{host}:{}", server.addr.port());
    RouteGuideClient::connect_with(&address, &options).await
}

/// Makes one call of each RPC and checks its answer.
async fn all_four_rpcs(client: &mut RouteGuideClient) -> Result<(), ClientError> {
    let berkshire = point(409_146_138, -746_188_906);
    let feature = client.get_feature(berkshire).await?;
    assert_eq!(
        feature.name,
        "Berkshire Valley Management Area Trail, Jefferson, NJ, USA"
    );
    let rect = GeoRect::from_corners(
        point(400_000_000, -750_000_000),
        point(420_000_000, -730_000_000),
    );
    let mut features = client.list_features(rect).await?;
    let mut count = 0;
    while features.message().await?.is_some() {
        count += 1;
    }
    assert_eq!(count, 100);
    let route = futures::stream::iter(vec![pb_point(0, 0), pb::Point::from(berkshire)]);
    assert_eq!(client.record_route(route).await?.point_count, 2);
    let note = pb::RouteNote {
        location: Some(pb_point(7, 7)),
        message: "over tls".into(),
    };
    let mut replies = client.route_chat(futures::stream::iter(vec![note])).await?;
    while replies.message().await?.is_some() {}
    Ok(())
}

/// Asserts that connecting or the first call failed with `UNAVAILABLE`, with `fragment`
/// in the message.
async fn assert_refused(connected: Result<RouteGuideClient, ClientError>, fragment: &str) {
    let message = refusal(connected).await;
    assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
}

/// Returns the message of the `UNAVAILABLE` failure of connecting or of the first call.
async fn refusal(connected: Result<RouteGuideClient, ClientError>) -> String {
    let error = match connected {
        Err(error) => error,
        Ok(mut client) => all_four_rpcs(&mut client).await.unwrap_err(),
    };
    assert_eq!(error.code(), Some(tonic::Code::Unavailable), "{error}");
    error.to_string()
}

/// Asserts that the server refused a client certificate during the handshake, logging
/// `reason`, and the client's call failed with `UNAVAILABLE`.
///
/// The server decides after the client has finished its TLS 1.3 handshake, so the client
/// sees the server's alert, or a connection closed under its first call: its message
/// varies, the server's log line does not.
async fn assert_client_refused(connected: Result<RouteGuideClient, ClientError>, reason: &str) {
    refusal(connected).await;
    logs().wait_for(&["tls handshake failed", reason]).await;
}

#[tokio::test]
async fn a_good_certificate_serves_all_four_rpcs_with_and_without_client_certificates() {
    let pki = Pki::new("wire-good");
    let ca = pki.ca("ca");
    let server_leaf = pki.leaf(&ca, "server", &SERVER_NAMES);
    let client_leaf = pki.leaf(&ca, "client", &["client.test"]);
    let (server, _) = tls_server(server_tls(&server_leaf, None)).await;
    for host in SERVER_NAMES {
        let mut client = connect(&server, host, client_tls(&ca.cert, None, None)).await;
        all_four_rpcs(client.as_mut().unwrap()).await.unwrap();
    }
    let (mutual, _) = tls_server(server_tls(&server_leaf, Some(&ca.cert))).await;
    let tls = client_tls(&ca.cert, Some(&client_leaf), None);
    let mut client = connect(&mutual, "localhost", tls).await.unwrap();
    all_four_rpcs(&mut client).await.unwrap();
}

#[tokio::test]
async fn a_wrong_ca_an_expired_certificate_and_a_wrong_name_are_refused() {
    let pki = Pki::new("wire-refused");
    let ca = pki.ca("ca");
    let other_ca = pki.ca("other-ca");
    let good = pki.leaf(&ca, "server", &SERVER_NAMES);
    let expired = pki.expired_leaf(&ca, "expired", &SERVER_NAMES);
    let elsewhere = pki.leaf(&ca, "elsewhere", &["other.example"]);

    let (server, _) = tls_server(server_tls(&good, None)).await;
    let wrong_ca = connect(&server, "localhost", client_tls(&other_ca.cert, None, None));
    assert_refused(wrong_ca.await, "UnknownIssuer").await;

    let (server, _) = tls_server(server_tls(&expired, None)).await;
    let tls = client_tls(&ca.cert, None, None);
    assert_refused(
        connect(&server, "localhost", tls).await,
        "certificate expired",
    )
    .await;

    let (server, _) = tls_server(server_tls(&elsewhere, None)).await;
    let tls = client_tls(&ca.cert, None, None);
    let wrong_name = connect(&server, "127.0.0.1", tls).await;
    assert_refused(wrong_name, "not valid for name").await;
    // The name override checks the name the certificate carries instead of the host.
    let tls = client_tls(&ca.cert, None, Some("other.example"));
    let mut client = connect(&server, "127.0.0.1", tls).await.unwrap();
    all_four_rpcs(&mut client).await.unwrap();
}

#[tokio::test]
async fn mutual_tls_refuses_clients_without_a_certificate_of_its_ca() {
    let pki = Pki::new("wire-mutual");
    let ca = pki.ca("ca");
    let client_ca = pki.ca("client-ca");
    let server_leaf = pki.leaf(&ca, "server", &SERVER_NAMES);
    let foreign = pki.leaf(&ca, "foreign-client", &["client.test"]);
    let trusted = pki.leaf(&client_ca, "client", &["client.test"]);
    let (server, _) = tls_server(server_tls(&server_leaf, Some(&client_ca.cert))).await;

    let without = connect(&server, "localhost", client_tls(&ca.cert, None, None));
    assert_client_refused(without.await, "peer sent no certificates").await;
    let tls = client_tls(&ca.cert, Some(&foreign), None);
    let foreign = connect(&server, "localhost", tls).await;
    assert_client_refused(foreign, "invalid peer certificate: UnknownIssuer").await;
    let expired = pki.expired_leaf(&client_ca, "expired-client", &["client.test"]);
    let tls = client_tls(&ca.cert, Some(&expired), None);
    let expired = connect(&server, "localhost", tls).await;
    assert_client_refused(expired, "certificate expired").await;
    // The server still serves clients whose certificate its client CA signed.
    let tls = client_tls(&ca.cert, Some(&trusted), None);
    let mut client = connect(&server, "localhost", tls).await.unwrap();
    all_four_rpcs(&mut client).await.unwrap();
}

#[tokio::test]
async fn a_replaced_certificate_applies_to_new_connections_only() {
    let pki = Pki::new("wire-replace");
    let (old_ca, new_ca) = (pki.ca("old-ca"), pki.ca("new-ca"));
    let old = pki.leaf(&old_ca, "old", &SERVER_NAMES);
    let new = pki.leaf(&new_ca, "new", &SERVER_NAMES);
    let (server, acceptor) = tls_server(server_tls(&old, None)).await;
    let mut open = connect(&server, "localhost", client_tls(&old_ca.cert, None, None))
        .await
        .unwrap();
    all_four_rpcs(&mut open).await.unwrap();

    acceptor.replace(server_tls(&new, None));
    all_four_rpcs(&mut open).await.unwrap();
    let trusting_old = connect(&server, "localhost", client_tls(&old_ca.cert, None, None));
    assert_refused(trusting_old.await, "UnknownIssuer").await;
    let tls = client_tls(&new_ca.cert, None, None);
    let mut fresh = connect(&server, "localhost", tls).await.unwrap();
    all_four_rpcs(&mut fresh).await.unwrap();
}

#[tokio::test]
async fn a_silent_connection_holds_up_no_handshake_and_is_closed_at_the_time_limit() {
    let pki = Pki::new("wire-silent");
    let ca = pki.ca("ca");
    let leaf = pki.leaf(&ca, "server", &SERVER_NAMES);
    let config = ServerConfig {
        handshake_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    };
    let security = Security {
        tls: Some(TlsAcceptor::new(server_tls(&leaf, None))),
        ..Security::default()
    };
    let server = TestServer::start_secured(config, security).await;
    let mut silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut client = connect(&server, "localhost", client_tls(&ca.cert, None, None))
        .await
        .unwrap();
    all_four_rpcs(&mut client).await.unwrap();
    // The server closes the silent connection once its handshake time is up.
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(20), silent.read(&mut byte)).await;
    assert!(
        matches!(read, Ok(Ok(0) | Err(_))),
        "the silent connection was not closed: {read:?}"
    );
}

#[tokio::test]
async fn the_load_generator_drives_a_tls_server_with_a_token() {
    let pki = Pki::new("wire-bench");
    let ca = pki.ca("ca");
    let leaf = pki.leaf(&ca, "server", &SERVER_NAMES);
    let tokens = TokenSet::parse(Path::new("tokens"), "bench-token\n").unwrap();
    let security = Security {
        tls: Some(TlsAcceptor::new(server_tls(&leaf, None))),
        tokens: Some(Authenticator::new(tokens)),
    };
    let server = TestServer::start_secured(ServerConfig::default(), security).await;
    let index = routeguide::db::builtin();
    for (rpc, token, fails) in [
        (Rpc::GetFeature, "bench-token", None),
        (Rpc::RouteChat, "bench-token", None),
        (Rpc::GetFeature, "wrong-token", Some("Unauthenticated")),
    ] {
        let square = RectShape::Square(0.01);
        let timeout = Duration::from_secs(10);
        let workload = Workload::new(rpc, &index, 64, 1, square, 5, timeout);
        let config = LoadConfig {
            address: format!("https://localhost:{}", server.addr.port()),
            concurrency: 2,
            connections: 1,
            duration: Duration::from_millis(300),
            warmup: Duration::ZERO,
            seed: 1,
            server_pid: None,
            tls: Some(client_tls(&ca.cert, None, None)),
            token: Some(Secret::new(token)),
        };
        let progress = std::sync::Arc::default();
        let report = loadgen::run(&config, std::sync::Arc::new(workload), progress)
            .await
            .unwrap();
        let errors: Vec<&String> = report.throughput.errors.keys().collect();
        match fails {
            None => {
                assert!(report.throughput.calls > 0, "{rpc:?}");
                assert!(errors.is_empty(), "{rpc:?}: {errors:?}");
            }
            Some(code) => {
                assert_eq!(report.throughput.calls, 0, "{rpc:?}");
                assert_eq!(errors, [code], "{rpc:?}");
            }
        }
    }
}
