//! `MapPageLayer`: answers browsers' `GET` and `HEAD` requests with the embedded map page,
//! its assets and its `config.json`; every other request goes on to gRPC-Web and gRPC.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::{Either, Ready, ready};
use http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Bytes;
use tonic::body::Body;
use tower::{Layer, Service};

use crate::config::MapTiles;
use crate::index::SharedIndex;

/// One embedded file of `web/dist`, and the path it is served at.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

/// The built page (`npm run build` in `web/`), served as it is.
const ASSETS: [Asset; 5] = [
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../../web/dist/index.html"),
    },
    Asset {
        path: "/index.html",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../../web/dist/index.html"),
    },
    Asset {
        path: "/map.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../web/dist/map.js"),
    },
    Asset {
        path: "/map.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../web/dist/map.css"),
    },
    Asset {
        path: "/THIRD_PARTY_LICENSES.txt",
        content_type: "text/plain; charset=utf-8",
        body: include_bytes!("../../web/dist/THIRD_PARTY_LICENSES.txt"),
    },
];

/// The path of the page's configuration: the database's size and extent, and the tiles.
pub const CONFIG_PATH: &str = "/config.json";

/// What the page needs from this server: `config.json` (from the index served when it is
/// asked for, so a reloaded database shows) and the content security policy of the HTML.
#[derive(Debug)]
pub struct MapPage {
    index: SharedIndex,
    tiles: serde_json::Value,
    security_policy: HeaderValue,
}

impl MapPage {
    /// Returns the page for `index` (its size and extent go into `config.json`) drawing
    /// `tiles_opt` under the features.
    pub fn new(index: SharedIndex, tiles_opt: Option<&MapTiles>) -> Self {
        let tiles = tiles_opt.map(|tiles| {
            serde_json::json!({ "urlTemplate": tiles.url_template, "attribution": tiles.attribution })
        });
        let mut images = "'self' data:".to_owned();
        if let Some(tiles) = tiles_opt {
            images.push(' ');
            images.push_str(&tile_source(&tiles.url_template));
        }
        let policy = format!(
            "default-src 'self'; img-src {images}; style-src 'self' 'unsafe-inline'; \
             object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        );
        Self {
            index,
            tiles: tiles.unwrap_or(serde_json::Value::Null),
            // A template with bytes a header cannot hold was refused by validation; without
            // one the page only loses its tiles.
            security_policy: HeaderValue::from_str(&policy).unwrap_or_else(|_| {
                debug_assert!(false, "unusable policy {policy:?}");
                HeaderValue::from_static("default-src 'self'")
            }),
        }
    }

    /// Returns `config.json` for the index served now: its size, extent and the tiles.
    fn config_json(&self) -> Bytes {
        let point = |p: crate::geo::GeoPoint| serde_json::json!({ "latitude": p.latitude(), "longitude": p.longitude() });
        let (features, extent) = self.index.read(|index| (index.len(), index.extent()));
        let extent = extent
            .map(|rect| serde_json::json!({ "lo": point(rect.min()), "hi": point(rect.max()) }));
        let config = serde_json::json!({
            "features": features,
            "extent": extent,
            "tiles": self.tiles,
        });
        Bytes::from(config.to_string())
    }

    /// Returns the answer to a `GET` (or, without its body, `HEAD`) of `path`: the asset or
    /// `config.json` there, else 404.
    fn answer(&self, path: &str, head: bool) -> Response<Body> {
        let (status, content_type, body) = if path == CONFIG_PATH {
            let json = "application/json";
            (StatusCode::OK, json, self.config_json())
        } else if let Some(asset) = ASSETS.iter().find(|a| a.path == path) {
            let body = Bytes::from_static(asset.body);
            (StatusCode::OK, asset.content_type, body)
        } else {
            let text = "text/plain; charset=utf-8";
            (
                StatusCode::NOT_FOUND,
                text,
                Bytes::from_static(b"not found\n"),
            )
        };
        let length = HeaderValue::from(body.len());
        let mut response = Response::new(if head {
            Body::empty()
        } else {
            Body::new(http_body_util::Full::new(body))
        });
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(CONTENT_LENGTH, length);
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
        if content_type.starts_with("text/html") {
            headers.insert("content-security-policy", self.security_policy.clone());
        }
        response
    }
}

/// Returns the content-security-policy source that admits the template's tiles: its
/// origin, `{s}` subdomains as a wildcard, or the whole scheme when the host is templated
/// some other way.
fn tile_source(template: &str) -> String {
    let (scheme, rest) = template.split_once("://").unwrap_or(("https", template));
    let host = rest.split('/').next().unwrap_or_default();
    match host.strip_prefix("{s}.") {
        _ if !host.contains('{') => format!("{scheme}://{host}"),
        Some(domain) if !domain.contains('{') => format!("{scheme}://*.{domain}"),
        _ => format!("{scheme}:"),
    }
}

/// The layer that puts [`MapPageService`] in front of the gRPC stack; cheap to clone.
#[derive(Debug, Clone)]
pub struct MapPageLayer {
    page: Arc<MapPage>,
}

impl MapPageLayer {
    /// Returns the layer serving `page`.
    pub fn new(page: MapPage) -> Self {
        Self {
            page: Arc::new(page),
        }
    }
}

impl<S> Layer<S> for MapPageLayer {
    type Service = MapPageService<S>;

    fn layer(&self, inner: S) -> MapPageService<S> {
        MapPageService {
            inner,
            page: Arc::clone(&self.page),
        }
    }
}

/// Answers `GET` and `HEAD` itself (no gRPC call uses them) and passes every other
/// request to `inner`.
#[derive(Debug, Clone)]
pub struct MapPageService<S> {
    inner: S,
    page: Arc<MapPage>,
}

impl<S, B> Service<Request<B>> for MapPageService<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Either<Ready<Result<Response<Body>, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let method = request.method();
        if method == Method::GET || method == Method::HEAD {
            let head = method == Method::HEAD;
            let answer = self.page.answer(request.uri().path(), head);
            return Either::Left(ready(Ok(answer)));
        }
        Either::Right(self.inner.call(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_sources_admit_the_tile_hosts_only() {
        fn check(template: &str, expected: &str) {
            assert_eq!(tile_source(template), expected, "{template}");
        }
        check(
            "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            "https://tile.openstreetmap.org",
        );
        check(
            "https://{s}.tile.example.org/{z}/{x}/{y}.png",
            "https://*.tile.example.org",
        );
        check(
            "http://127.0.0.1:8081/{z}/{x}/{y}.png",
            "http://127.0.0.1:8081",
        );
        check("https://{s}.t{r}.example/{z}/{x}/{y}", "https:");
    }
}
