//! SIGHUP reloads the feature database, the token file and the TLS certificate of a real
//! process without dropping connections or calls in flight.

use std::time::Duration;

use routeguide::pb;
use tokio_stream::StreamExt;

use super::operations::{http_get, metrics_addr};
use super::process::ServerProcess;

/// How long a reload may take before the test fails; only bounds a failure.
const LIMIT: Duration = Duration::from_secs(30);

/// Features in each database: at latitude 1 (E7), longitudes 1 to this, all one name.
/// Streamed, they are far more than the flow-control window of [`small_window_client`],
/// so a stream of them is still being produced when a reload swaps the database.
const FEATURES: i32 = 100_000;

/// Writes a database of [`FEATURES`] features named `name`.
fn write_database(path: &std::path::Path, name: &str) {
    let features: Vec<String> = (1..=FEATURES)
        .map(|longitude| {
            format!(
                r#"{{"location": {{"latitude": 1, "longitude": {longitude}}}, "name": "{name}"}}"#
            )
        })
        .collect();
    std::fs::write(path, format!("[\n{}\n]", features.join(",\n"))).unwrap();
}

type Client = pb::route_guide_client::RouteGuideClient<tonic::transport::Channel>;

async fn name_at_1_1(client: &mut Client) -> String {
    let point = pb::Point {
        latitude: 1,
        longitude: 1,
    };
    client.get_feature(point).await.unwrap().into_inner().name
}

/// Returns a client whose connection and streams take at most 64 KiB unread.
async fn small_window_client(addr: &str) -> Client {
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .initial_stream_window_size(65_535)
        .initial_connection_window_size(65_535)
        .connect()
        .await
        .unwrap();
    pb::route_guide_client::RouteGuideClient::new(channel)
}

/// The rectangle holding every feature of [`write_database`].
fn every_feature() -> pb::Rectangle {
    let point = |longitude| pb::Point {
        latitude: 1,
        longitude,
    };
    pb::Rectangle {
        lo: Some(point(1)),
        hi: Some(point(FEATURES)),
    }
}

#[tokio::test]
async fn sighup_swaps_in_a_new_database_and_keeps_the_old_one_when_the_new_file_is_broken() {
    let dir = std::env::temp_dir().join(format!("routeguide-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("db.json");
    write_database(&db, "first");
    let server = ServerProcess::start(&[
        "--db",
        db.to_str().unwrap(),
        "--metrics-addr",
        "127.0.0.1:0",
    ]);
    // One connection for the whole test: a reload must not drop it.
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = pb::route_guide_client::RouteGuideClient::new(channel);
    assert_eq!(name_at_1_1(&mut client).await, "first");
    // A call in flight across the reload: its first feature read, the rest held back by
    // flow control while the database is swapped.
    let mut in_flight = small_window_client(&server.addr)
        .await
        .list_features(every_feature())
        .await
        .unwrap()
        .into_inner();
    let first = in_flight.next().await.unwrap().unwrap();
    assert_eq!(first.name, "first");

    write_database(&db, "second");
    server.signal("HUP");
    server.wait_for_log("database reloaded", 1, LIMIT);
    assert_eq!(name_at_1_1(&mut client).await, "second");
    // The call in flight finishes on the database it started with, whole.
    let mut streamed = 1;
    while let Some(feature) = in_flight.next().await {
        let feature = feature.unwrap();
        assert_eq!(
            feature.name, "first",
            "feature {streamed} of the call in flight"
        );
        streamed += 1;
    }
    assert_eq!(streamed, FEATURES);

    // A broken file: logged with its line and column, and the previous data keeps serving.
    std::fs::write(&db, "[\n  {\"name\": }\n]").unwrap();
    server.signal("HUP");
    let log = server.wait_for_log("database reload failed", 1, LIMIT);
    let failure = log
        .lines()
        .find(|line| line.contains("database reload failed"))
        .unwrap();
    assert!(failure.contains("db.json:2:12"), "{failure}");
    assert_eq!(name_at_1_1(&mut client).await, "second");

    write_database(&db, "third");
    server.signal("HUP");
    server.wait_for_log("database reloaded", 2, LIMIT);
    assert_eq!(name_at_1_1(&mut client).await, "third");
    // Each reload is counted, and the served database's size follows the reloads.
    assert_metrics(
        &server,
        &[
            "routeguide_reloads_total{part=\"database\",result=\"ok\"} 2",
            "routeguide_reloads_total{part=\"database\",result=\"failed\"} 1",
            &format!("routeguide_features_loaded {FEATURES}"),
        ],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Checks that the server's `/metrics` has each of `lines`, exactly.
fn assert_metrics(server: &ServerProcess, lines: &[&str]) {
    let (_, metrics) = http_get(&metrics_addr(server), "/metrics");
    for line in lines {
        assert!(
            metrics.lines().any(|l| l == *line),
            "no {line:?} in {metrics}"
        );
    }
}

/// Returns a client of `addr` over TLS trusting `ca` (a PEM file) for the name localhost.
async fn tls_client(
    addr: &str,
    ca: &std::path::Path,
) -> Result<pb::route_guide_client::RouteGuideClient<tonic::transport::Channel>, String> {
    let ca = tonic::transport::Certificate::from_pem(std::fs::read(ca).unwrap());
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(ca)
        .domain_name("localhost");
    let channel = tonic::transport::Channel::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .map_err(|error| format!("{error:?}"))?;
    Ok(pb::route_guide_client::RouteGuideClient::new(channel))
}

/// Returns the status code of a GetFeature sent with `token`.
async fn get_with_token(
    client: &mut pb::route_guide_client::RouteGuideClient<tonic::transport::Channel>,
    token: &str,
) -> tonic::Code {
    let mut request = tonic::Request::new(pb::Point {
        latitude: 0,
        longitude: 0,
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    match client.get_feature(request).await {
        Ok(_) => tonic::Code::Ok,
        Err(status) => status.code(),
    }
}

#[tokio::test]
async fn sighup_reloads_tokens_and_the_tls_certificate_and_keeps_open_connections() {
    use super::pki::Pki;
    use tonic::Code;

    let pki = Pki::new("reload");
    let (old_ca, new_ca) = (pki.ca("old-ca"), pki.ca("new-ca"));
    let old = pki.leaf(&old_ca, "old", &["localhost"]);
    let new = pki.leaf(&new_ca, "new", &["localhost"]);
    let copy = |from: &std::path::Path, to: &str| {
        std::fs::write(pki.path(to), std::fs::read(from).unwrap()).unwrap();
        pki.path(to)
    };
    let cert = copy(&old.cert, "serving.pem");
    let key = copy(&old.key, "serving.key");
    let tokens = pki.write("tokens.txt", "alpha\n");
    let server = ServerProcess::start(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--auth-token-file",
        tokens.to_str().unwrap(),
        "--metrics-addr",
        "127.0.0.1:0",
    ]);
    let mut open = tls_client(&server.addr, &old_ca.cert).await.unwrap();
    assert_eq!(get_with_token(&mut open, "alpha").await, Code::Ok);
    assert_eq!(
        get_with_token(&mut open, "beta").await,
        Code::Unauthenticated
    );

    copy(&new.cert, "serving.pem");
    copy(&new.key, "serving.key");
    pki.write("tokens.txt", "# rotated\nbeta\n");
    server.signal("HUP");
    server.wait_for_log("tokens reloaded", 1, LIMIT);
    server.wait_for_log("tls certificate reloaded", 1, LIMIT);

    // The open connection stays, and its calls meet the new tokens.
    assert_eq!(get_with_token(&mut open, "beta").await, Code::Ok);
    assert_eq!(
        get_with_token(&mut open, "alpha").await,
        Code::Unauthenticated
    );
    // New connections get the new certificate.
    let mut fresh = tls_client(&server.addr, &new_ca.cert).await.unwrap();
    assert_eq!(get_with_token(&mut fresh, "beta").await, Code::Ok);
    let refused = match tls_client(&server.addr, &old_ca.cert).await {
        Ok(mut client) => get_with_token(&mut client, "beta").await,
        Err(_) => Code::Unavailable,
    };
    assert_eq!(refused, Code::Unavailable, "the old CA still verified");

    // A token file without tokens is refused; the previous tokens stay.
    pki.write("tokens.txt", "# nothing\n");
    server.signal("HUP");
    let log = server.wait_for_log("token reload failed", 1, LIMIT);
    server.wait_for_log("tls certificate reloaded", 2, LIMIT);
    assert!(!log.contains("beta"), "a token in the log: {log}");
    assert_eq!(get_with_token(&mut open, "beta").await, Code::Ok);

    // A broken certificate file is refused; new connections still get the previous one.
    pki.write("tokens.txt", "beta\n");
    pki.write("serving.pem", "not a certificate\n");
    server.signal("HUP");
    let log = server.wait_for_log("tls reload failed", 1, LIMIT);
    server.wait_for_log("tokens reloaded", 2, LIMIT);
    let failure = log
        .lines()
        .find(|line| line.contains("tls reload failed"))
        .unwrap();
    assert!(failure.contains("serving.pem"), "{failure}");
    let mut fresh = tls_client(&server.addr, &new_ca.cert).await.unwrap();
    assert_eq!(get_with_token(&mut fresh, "beta").await, Code::Ok);
    assert_eq!(get_with_token(&mut open, "beta").await, Code::Ok);

    // Every reload of every part is counted.
    assert_metrics(
        &server,
        &[
            "routeguide_reloads_total{part=\"tokens\",result=\"ok\"} 2",
            "routeguide_reloads_total{part=\"tokens\",result=\"failed\"} 1",
            "routeguide_reloads_total{part=\"tls\",result=\"ok\"} 2",
            "routeguide_reloads_total{part=\"tls\",result=\"failed\"} 1",
        ],
    );
}
