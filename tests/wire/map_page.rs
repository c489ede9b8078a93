//! The map page over HTTP/1.1 on the serving port: the embedded `web/dist` files exactly,
//! `config.json` with the database's size and extent, 404 elsewhere, and the content
//! security policy that keeps the page on this server unless tiles are configured.

use http_body_util::Full;
use routeguide::config::{MapTiles, ServerConfig};

use super::support::{TestServer, canonical_features};
use super::web_client::{request, send};

async fn get(server: &TestServer, method: &str, path: &str) -> http::Response<bytes::Bytes> {
    let get = request(server.addr, method, path)
        .body(Full::default())
        .unwrap();
    send(server.addr, get).await
}

fn dist(name: &str) -> Vec<u8> {
    let path = format!("{}/web/dist/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn header<'a>(response: &'a http::Response<bytes::Bytes>, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map_or("", |v| v.to_str().unwrap())
}

#[tokio::test]
async fn the_page_and_its_assets_are_the_built_files() {
    let server = TestServer::start().await;
    for (path, file, content_type) in [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/index.html", "index.html", "text/html; charset=utf-8"),
        ("/map.js", "map.js", "text/javascript; charset=utf-8"),
        ("/map.css", "map.css", "text/css; charset=utf-8"),
        (
            "/THIRD_PARTY_LICENSES.txt",
            "THIRD_PARTY_LICENSES.txt",
            "text/plain; charset=utf-8",
        ),
    ] {
        let answer = get(&server, "GET", path).await;
        assert_eq!(answer.status(), 200, "{path}");
        assert_eq!(header(&answer, "content-type"), content_type, "{path}");
        assert_eq!(header(&answer, "x-content-type-options"), "nosniff");
        assert!(
            answer.body()[..] == dist(file)[..],
            "{path} is web/dist/{file}"
        );
        let head = get(&server, "HEAD", path).await;
        assert_eq!(head.status(), 200, "HEAD {path}");
        assert!(head.body().is_empty(), "HEAD {path}");
        let length = dist(file).len().to_string();
        assert_eq!(header(&head, "content-length"), length, "HEAD {path}");
    }
    let missing = get(&server, "GET", "/favicon.ico").await;
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn the_page_may_load_nothing_from_other_hosts() {
    let server = TestServer::start().await;
    let page = get(&server, "GET", "/").await;
    let policy = header(&page, "content-security-policy");
    assert!(policy.starts_with("default-src 'self';"), "{policy}");
    assert!(policy.contains("img-src 'self' data:;"), "{policy}");
    let html = String::from_utf8(page.body().to_vec()).unwrap();
    assert!(
        !html.contains("://"),
        "the page names no other host: {html}"
    );
}

#[tokio::test]
async fn the_licences_of_every_bundled_package_ship_with_the_page() {
    let server = TestServer::start().await;
    let licences = get(&server, "GET", "/THIRD_PARTY_LICENSES.txt").await;
    let licences = String::from_utf8(licences.body().to_vec()).unwrap();
    let manifest =
        std::fs::read_to_string(format!("{}/web/package.json", env!("CARGO_MANIFEST_DIR")))
            .unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let dependencies = manifest["dependencies"].as_object().unwrap();
    assert!(dependencies.len() >= 5, "{dependencies:?}");
    for name in dependencies.keys() {
        assert!(
            licences.contains(&format!("\n{name} ")),
            "{name} has no licence section"
        );
    }
    assert!(licences.contains("Apache License"), "Apache-2.0 text");
}

#[tokio::test]
async fn config_tells_the_page_the_database_extent_and_size() {
    let server = TestServer::start().await;
    let answer = get(&server, "GET", "/config.json").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(header(&answer, "content-type"), "application/json");
    let config: serde_json::Value = serde_json::from_slice(answer.body()).unwrap();
    let features = canonical_features();
    let latitudes = features.iter().map(|(p, _)| p.latitude);
    let longitudes = features.iter().map(|(p, _)| p.longitude);
    let expected = serde_json::json!({
        "features": 100,
        "extent": {
            "lo": {
                "latitude": latitudes.clone().min().unwrap(),
                "longitude": longitudes.clone().min().unwrap(),
            },
            "hi": { "latitude": latitudes.max().unwrap(), "longitude": longitudes.max().unwrap() },
        },
        "tiles": null,
    });
    assert_eq!(config, expected);

    let empty = TestServer::start_with(super::support::index_of(&[]), ServerConfig::default());
    let answer = get(&empty.await, "GET", "/config.json").await;
    let config: serde_json::Value = serde_json::from_slice(answer.body()).unwrap();
    assert_eq!(config["features"], 0);
    assert_eq!(config["extent"], serde_json::Value::Null);
}

#[tokio::test]
async fn tiles_are_offered_and_admitted_only_when_configured() {
    let mut config = ServerConfig::default();
    config.web.map_tiles = Some(MapTiles {
        url_template: "https://{s}.tiles.example.test/{z}/{x}/{y}.png".into(),
        attribution: "© Example <contributors>".into(),
    });
    let server = TestServer::start_with(routeguide::db::builtin(), config).await;
    let answer = get(&server, "GET", "/config.json").await;
    let config: serde_json::Value = serde_json::from_slice(answer.body()).unwrap();
    assert_eq!(
        config["tiles"],
        serde_json::json!({
            "urlTemplate": "https://{s}.tiles.example.test/{z}/{x}/{y}.png",
            "attribution": "© Example <contributors>",
        })
    );
    let page = get(&server, "GET", "/").await;
    let policy = header(&page, "content-security-policy");
    assert!(
        policy.contains("img-src 'self' data: https://*.tiles.example.test;"),
        "{policy}"
    );
}
