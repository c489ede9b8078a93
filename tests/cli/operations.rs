//! `serve`'s operator flags on a real process: `--metrics-addr`, `--access-log`,
//! `--log-format json` and the rate limit's flags.

use std::io::{Read, Write};
use std::time::Duration;

use super::process::{ServerProcess, run, stderr};

/// Returns the `host:port` a server logged for its metrics endpoint.
pub fn metrics_addr(server: &ServerProcess) -> String {
    let log = server.log();
    let rest = log
        .split("serving metrics at http://")
        .nth(1)
        .unwrap_or_else(|| panic!("no metrics line in {log}"));
    rest.split("/metrics").next().unwrap_or_default().to_owned()
}

/// Returns the status line and body `GET path` answers at `addr` over HTTP/1.1.
pub fn http_get(addr: &str, path: &str) -> (String, String) {
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

#[test]
fn json_access_log_has_one_object_per_call_with_its_outcome() {
    let server = ServerProcess::start(&["--access-log", "--log-format", "json"]);
    let hit = run(
        &["get", "40.9146138,-74.6188906", "--addr", &server.addr],
        "",
    );
    assert!(hit.status.success(), "{}", stderr(&hit));
    let line = server.wait_for_line("routeguide::access", Duration::from_secs(20));
    let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(entry["level"], "INFO", "{line}");
    assert_eq!(entry["target"], "routeguide::access", "{line}");
    assert_eq!(
        entry["method"], "/routeguide.RouteGuide/GetFeature",
        "{line}"
    );
    assert_eq!(entry["code"], "OK", "{line}");
    assert_eq!(entry["messages_in"], 1, "{line}");
    assert_eq!(entry["messages_out"], 1, "{line}");
    assert!(entry["duration_ms"].as_f64().unwrap() >= 0.0, "{line}");
    let peer = entry["peer"].as_str().unwrap();
    assert!(peer.starts_with("127.0.0.1:"), "{line}");
    // Every other line is JSON too.
    for line in server.log().lines() {
        let parsed: Result<serde_json::Value, _> = serde_json::from_str(line);
        assert!(parsed.is_ok(), "not JSON: {line}");
    }
}

#[test]
fn access_log_is_off_unless_asked_for() {
    let server = ServerProcess::start(&[]);
    let hit = run(
        &["get", "40.9146138,-74.6188906", "--addr", &server.addr],
        "",
    );
    assert!(hit.status.success(), "{}", stderr(&hit));
    // Stop the server: its stderr then holds every line it wrote.
    let mut server = server;
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(30)), Some(0));
    assert!(
        !server.log().contains("routeguide::access"),
        "{}",
        server.log()
    );
}

#[test]
fn rate_limit_burst_needs_a_rate_limit() {
    let output = run(&["serve", "--rate-limit-burst", "5"], "");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("--rate-limit"),
        "{}",
        stderr(&output)
    );
}
