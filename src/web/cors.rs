//! Cross-origin gRPC-Web: tower-http's CORS layer for the origins of `--cors-origin`.

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::ConfigError;
use crate::service::{FEATURE_COUNT, FEATURE_COUNT_REQUEST};

/// How long a browser may cache a preflight's answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// Request headers a gRPC-Web page may send: what gRPC-Web clients send, a bearer token,
/// and the ListFeatures count request.
const ALLOWED_HEADERS: [&str; 6] = [
    "content-type",
    "x-grpc-web",
    "x-user-agent",
    "grpc-timeout",
    "authorization",
    FEATURE_COUNT_REQUEST,
];

/// Response headers a page may read: the call's status (trailers-only responses carry it
/// in the headers) and the ListFeatures count.
const EXPOSED_HEADERS: [&str; 4] = [
    "grpc-status",
    "grpc-message",
    "grpc-status-details-bin",
    FEATURE_COUNT,
];

/// Returns the CORS layer that lets pages from `origins` make gRPC-Web calls, or `None`
/// when there are no origins: then browsers allow only same-origin calls (the map page).
///
/// A preflight from another origin is answered without `access-control-allow-origin`, so
/// the browser refuses the call.
///
/// # Errors
/// [`ConfigError::CorsOrigin`] when an origin cannot be a header value (a validated
/// [`crate::config::WebConfig`] has none).
pub fn cors_layer(origins: &[String]) -> Result<Option<CorsLayer>, ConfigError> {
    if origins.is_empty() {
        return Ok(None);
    }
    let origins = origins
        .iter()
        .map(|origin| {
            HeaderValue::from_str(origin).map_err(|_| ConfigError::CorsOrigin {
                origin: origin.clone(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::POST])
            .allow_headers(ALLOWED_HEADERS.map(HeaderName::from_static))
            .expose_headers(EXPOSED_HEADERS.map(HeaderName::from_static))
            .max_age(PREFLIGHT_MAX_AGE),
    ))
}
