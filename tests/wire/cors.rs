//! Cross-origin gRPC-Web: off by default; `--cors-origin` lets exactly the listed origins'
//! pages call (preflight answered, status headers exposed) and no other.

use http_body_util::Full;
use routeguide::config::ServerConfig;
use routeguide::pb;

use super::support::{TestServer, pb_point};
use super::web_client::{Mode, call, request, send};

const ALLOWED: &str = "http://maps.example.test:8080";
const REFUSED: &str = "http://elsewhere.example.test";

async fn server_allowing(origins: &[&str]) -> TestServer {
    let mut config = ServerConfig::default();
    config.web.cors_origins = origins.iter().map(|o| o.to_string()).collect();
    TestServer::start_with(routeguide::db::builtin(), config).await
}

/// Sends the preflight a browser sends before a gRPC-Web GetFeature from `origin`.
async fn preflight(server: &TestServer, origin: &str) -> http::Response<bytes::Bytes> {
    let preflight = request(server.addr, "OPTIONS", "/routeguide.RouteGuide/GetFeature")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-grpc-web,x-user-agent,grpc-timeout,routeguide-want-count",
        )
        .body(Full::default())
        .unwrap();
    send(server.addr, preflight).await
}

fn header(response: &http::HeaderMap, name: &str) -> Option<String> {
    response
        .get(name)
        .map(|v| v.to_str().unwrap().to_ascii_lowercase())
}

#[tokio::test]
async fn a_listed_origin_passes_the_preflight_and_reads_the_status() {
    let server = server_allowing(&["http://other.example.test", ALLOWED]).await;
    let answer = preflight(&server, ALLOWED).await;
    assert!(answer.status().is_success(), "{answer:?}");
    let headers = answer.headers();
    assert_eq!(
        header(headers, "access-control-allow-origin").as_deref(),
        Some(ALLOWED)
    );
    let methods = header(headers, "access-control-allow-methods").unwrap();
    assert!(methods.contains("post"), "{methods}");
    let allowed = header(headers, "access-control-allow-headers").unwrap();
    for name in [
        "content-type",
        "x-grpc-web",
        "grpc-timeout",
        "routeguide-want-count",
    ] {
        assert!(allowed.contains(name), "{name} in {allowed}");
    }

    let point = pb_point(409_146_138, -746_188_906);
    let origin = [("origin", ALLOWED)];
    let answer = call(server.addr, "GetFeature", &[point], Mode::Binary, &origin).await;
    assert_eq!(answer.grpc_status(), Some(0));
    assert_eq!(answer.decode::<pb::Feature>().len(), 1);
    assert_eq!(
        header(&answer.headers, "access-control-allow-origin").as_deref(),
        Some(ALLOWED)
    );
    let exposed = header(&answer.headers, "access-control-expose-headers").unwrap();
    for name in [
        "grpc-status",
        "grpc-message",
        "grpc-status-details-bin",
        "routeguide-feature-count",
    ] {
        assert!(exposed.contains(name), "{name} in {exposed}");
    }
}

#[tokio::test]
async fn another_origin_gets_no_permission() {
    let server = server_allowing(&[ALLOWED]).await;
    let answer = preflight(&server, REFUSED).await;
    assert_eq!(
        header(answer.headers(), "access-control-allow-origin"),
        None
    );
    // The server still answers a POST (CORS is for browsers to enforce) but grants the
    // page no right to read it.
    let point = pb_point(1, 1);
    let origin = [("origin", REFUSED)];
    let answer = call(server.addr, "GetFeature", &[point], Mode::Text, &origin).await;
    assert_eq!(header(&answer.headers, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn cross_origin_calls_are_off_by_default() {
    let server = TestServer::start().await;
    for origin in [ALLOWED, REFUSED] {
        let answer = preflight(&server, origin).await;
        assert_eq!(
            header(answer.headers(), "access-control-allow-origin"),
            None,
            "{origin}"
        );
        let point = pb_point(1, 1);
        let headers = [("origin", origin)];
        let answer = call(server.addr, "GetFeature", &[point], Mode::Binary, &headers).await;
        assert_eq!(answer.grpc_status(), Some(0));
        assert_eq!(header(&answer.headers, "access-control-allow-origin"), None);
    }
}
