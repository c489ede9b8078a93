//! `serve`'s operator flags on a real process: `--metrics-addr`.

use std::io::{Read, Write};

use super::process::{ServerProcess, run, stderr};

/// Returns the `host:port` a server logged for its metrics endpoint.
fn metrics_addr(server: &ServerProcess) -> String {
    let log = server.log();
    let rest = log
        .split("serving metrics at http://")
        .nth(1)
        .unwrap_or_else(|| panic!("no metrics line in {log}"));
    rest.split("/metrics").next().unwrap_or_default().to_owned()
}

/// Returns the status line and body `GET path` answers at `addr` over HTTP/1.1.
fn http_get(addr: &str, path: &str) -> (String, String) {
    let mut socket = std::net::TcpStream::connect(addr).unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    socket.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    )
}

#[test]
fn metrics_addr_serves_prometheus_metrics_of_the_process() {
    let server = ServerProcess::start(&["--metrics-addr", "127.0.0.1:0"]);
    let metrics = metrics_addr(&server);
    let hit = run(
        &["get", "40.9146138,-74.6188906", "--addr", &server.addr],
        "",
    );
    assert!(hit.status.success(), "{}", stderr(&hit));
    let (status, body) = http_get(&metrics, "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK");
    let version = env!("CARGO_PKG_VERSION");
    for line in [
        format!("routeguide_build_info{{version=\"{version}\"}} 1"),
        "routeguide_features_loaded 100".to_owned(),
        "routeguide_calls_total{service=\"routeguide.RouteGuide\",method=\"GetFeature\",code=\"OK\"} 1"
            .to_owned(),
    ] {
        assert!(body.lines().any(|l| l == line), "no {line:?} in\n{body}");
    }
    let load = body
        .lines()
        .find_map(|line| line.strip_prefix("routeguide_features_load_seconds "))
        .unwrap_or_else(|| panic!("no load time in\n{body}"));
    assert!(load.parse::<f64>().unwrap() > 0.0, "{load}");
    assert_eq!(http_get(&metrics, "/").0, "HTTP/1.1 404 Not Found");
}

#[test]
fn without_metrics_addr_no_endpoint_is_served() {
    let server = ServerProcess::start(&[]);
    assert!(
        !server.log().contains("serving metrics"),
        "{}",
        server.log()
    );
}
