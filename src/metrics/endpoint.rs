//! The `/metrics` endpoint: the registry in the OpenMetrics text format over HTTP/1.1.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use super::Metrics;

/// The content type of the OpenMetrics text format, which Prometheus asks for and reads.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The most scrapes served at once; a further connection is closed at once.
const MAX_CONNECTIONS: usize = 64;

/// How long a client may take to send its request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `metrics` at `GET /metrics` on `listener` until `shutdown` resolves, then closes
/// the listener and every scrape connection.
///
/// Other paths answer 404 and other methods 405.
/// At most [`MAX_CONNECTIONS`] connections are served at once, and a client that has not
/// sent its request headers after [`HEADER_READ_TIMEOUT`] is disconnected, so a stuck
/// scraper cannot pile up connections. Failed accepts are logged and skipped.
pub async fn serve_metrics(
    listener: TcpListener,
    metrics: Metrics,
    shutdown: impl Future<Output = ()>,
) {
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::debug!(%error, "metrics endpoint cannot accept");
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        if connections.len() >= MAX_CONNECTIONS {
            tracing::debug!("metrics endpoint busy, closing a connection");
            continue;
        }
        let metrics = metrics.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let response = respond(&metrics, &request);
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(error) = connection.await {
                tracing::debug!(%error, "metrics connection failed");
            }
        });
    }
    // Dropping the set aborts the connections still open.
    drop(connections);
}

/// Returns the answer to one request of the endpoint.
fn respond<B>(metrics: &Metrics, request: &http::Request<B>) -> http::Response<Full<Bytes>> {
    let plain = |status: http::StatusCode, text: &'static str| {
        let mut response = http::Response::new(Full::new(Bytes::from_static(text.as_bytes())));
        *response.status_mut() = status;
        response
    };
    if request.uri().path() != "/metrics" {
        return plain(
            http::StatusCode::NOT_FOUND,
            "not found: metrics are at /metrics\n",
        );
    }
    if request.method() != http::Method::GET && request.method() != http::Method::HEAD {
        return plain(
            http::StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed: use GET\n",
        );
    }
    let mut response = http::Response::new(Full::new(Bytes::from(metrics.render())));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(CONTENT_TYPE),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(method: http::Method, path: &str, expected: http::StatusCode) {
        let request = http::Request::builder()
            .method(method)
            .uri(path)
            .body(())
            .expect("a valid request");
        let response = respond(&Metrics::new(), &request);
        assert_eq!(response.status(), expected, "{path}");
    }

    #[test]
    fn only_get_of_metrics_is_served() {
        check(http::Method::GET, "/metrics", http::StatusCode::OK);
        check(http::Method::HEAD, "/metrics", http::StatusCode::OK);
        check(http::Method::GET, "/", http::StatusCode::NOT_FOUND);
        check(http::Method::GET, "/metrics/x", http::StatusCode::NOT_FOUND);
        check(
            http::Method::POST,
            "/metrics",
            http::StatusCode::METHOD_NOT_ALLOWED,
        );
    }
}
