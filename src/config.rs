//! Server configuration: plain structs, defaults as named constants, and `validate()`.

use std::time::Duration;

use crate::notes::NoteRetention;
use crate::service::{RectangleSearch, RequestLimits};

/// Default longest accepted note message in bytes.
pub const DEFAULT_MAX_NOTE_BYTES: usize = 4096;
/// Default number of notes kept per location.
pub const DEFAULT_NOTES_PER_LOCATION: usize = 1000;
/// Default number of notes kept in total.
pub const DEFAULT_NOTES_TOTAL: usize = 100_000;
/// Default time in-flight calls get to finish after a shutdown signal.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);
/// Default limit of concurrent HTTP/2 streams per connection.
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 1024;
/// Default interval of HTTP/2 keepalive pings on idle connections.
pub const DEFAULT_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// Default time to wait for a keepalive ping's answer before closing the connection.
pub const DEFAULT_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default number of RouteChat replies queued per stream before the server waits.
pub const DEFAULT_CHAT_REPLY_BUFFER: usize = 64;
/// Default interval between checks of the note store, which health follows.
pub const DEFAULT_NOTES_CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// Default number of live notes (`--chat-live`) queued per stream before it counts as
/// fallen behind and ends with `RESOURCE_EXHAUSTED`.
pub const DEFAULT_CHAT_LIVE_BUFFER: usize = 256;
/// Default limit of client connections open at once; keep it under the process's open
/// file limit (`ulimit -n`, often 1024).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1000;
/// Default time a new connection has to finish the HTTP/2 handshake.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a call's open request stream may go without traffic either way (Envoy's
/// stream idle timeout).
pub const DEFAULT_STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Default number of one RouteChat stream's notes that may wait for a durable commit
/// (more than a typical call's notes, so that a call's notes share one commit).
pub const DEFAULT_CHAT_NOTES_IN_FLIGHT: usize = 256;
/// Default number of replayed notes one RouteChat stream may hold while its notes wait
/// for their commit (bounds the stream's memory: about 24 bytes each, texts shared).
pub const DEFAULT_CHAT_WAITING_REPLAYS: usize = 16_384;
/// Default largest accepted request message in bytes.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// A call budget per client IP address: `burst` calls at once, then one more every
/// `period` (GCRA, so unused calls accumulate up to `burst`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// The time it takes to earn one more call.
    pub period: Duration,
    /// How many calls a client may make at once.
    pub burst: u32,
}

/// Says which setting is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A limit that must be positive is zero.
    #[error("{setting} must be greater than zero")]
    Zero {
        /// The setting's flag name.
        setting: &'static str,
    },
    /// A `--cors-origin` is not `http://HOST[:PORT]` or `https://HOST[:PORT]`.
    #[error(
        "--cors-origin {origin:?} is not an origin: expected http://HOST[:PORT] or https://HOST[:PORT], without a path"
    )]
    CorsOrigin {
        /// The origin as given.
        origin: String,
    },
    /// The `--map-tiles` template is not an `http(s)://` URL with `{z}`, `{x}` and `{y}`.
    #[error(
        "--map-tiles {template:?} is not a tile URL template: expected http:// or https:// and {{z}}, {{x}} and {{y}}"
    )]
    MapTiles {
        /// The template as given.
        template: String,
    },
}

/// What the server offers browsers beyond gRPC-Web itself: cross-origin calls and the map
/// page's tile layer. Both are off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebConfig {
    /// Origins (`http://HOST[:PORT]`, `https://HOST[:PORT]`) whose pages may call the
    /// server (CORS); none by default, so only pages this server serves can.
    pub cors_origins: Vec<String>,
    /// The tile layer the map page draws under the features, if any.
    pub map_tiles: Option<MapTiles>,
}

/// A tile layer for the map page: Leaflet's URL template and the attribution to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapTiles {
    /// The URL template, e.g. `https://tile.openstreetmap.org/{z}/{x}/{y}.png`.
    pub url_template: String,
    /// The attribution the tiles' licence asks for, shown as plain text on the map.
    pub attribution: String,
}

impl WebConfig {
    /// Checks that every origin is an origin and that the tile template is a template.
    ///
    /// # Errors
    /// [`ConfigError::CorsOrigin`] or [`ConfigError::MapTiles`] naming the value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(origin) = self.cors_origins.iter().find(|o| !is_origin(o)) {
            return Err(ConfigError::CorsOrigin {
                origin: origin.clone(),
            });
        }
        match &self.map_tiles {
            Some(tiles) if !is_tile_template(&tiles.url_template) => Err(ConfigError::MapTiles {
                template: tiles.url_template.clone(),
            }),
            _ => Ok(()),
        }
    }
}

/// Says whether `text` is a serialised origin as browsers send it: `http` or `https`, a
/// host name, IPv4 or bracketed IPv6 address, an optional port, and nothing else.
fn is_origin(text: &str) -> bool {
    let Some((scheme, authority)) = text.split_once("://") else {
        return false;
    };
    let (host_ok, port) = match authority.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once(']') {
            Some((ip, "")) => (ip.parse::<std::net::Ipv6Addr>().is_ok(), None),
            Some((ip, rest)) => match rest.strip_prefix(':') {
                Some(port) => (ip.parse::<std::net::Ipv6Addr>().is_ok(), Some(port)),
                None => (false, None),
            },
            None => (false, None),
        },
        None => {
            let (host, port) = match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            };
            let name = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
            (!host.is_empty() && host.chars().all(name), port)
        }
    };
    matches!(scheme, "http" | "https")
        && host_ok
        && port.is_none_or(|p| p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok())
}

/// Says whether `text` is an `http(s)://` URL template with the tile coordinates in it.
fn is_tile_template(text: &str) -> bool {
    (text.starts_with("https://") || text.starts_with("http://"))
        && ["{z}", "{x}", "{y}"].iter().all(|p| text.contains(p))
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Everything `server::serve` needs besides the listener, the data and the shutdown signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// How long in-flight calls may run after shutdown begins before streams are ended.
    pub grace: Duration,
    /// Limits on what one request may carry.
    pub requests: RequestLimits,
    /// How many RouteChat notes are kept.
    pub retention: NoteRetention,
    /// Concurrent HTTP/2 streams allowed per connection.
    pub max_concurrent_streams: u32,
    /// Largest accepted request message in bytes.
    pub max_message_bytes: usize,
    /// Interval of HTTP/2 keepalive pings.
    pub keepalive_interval: Duration,
    /// How long a keepalive ping may go unanswered.
    pub keepalive_timeout: Duration,
    /// How ListFeatures searches (the linear scan exists only as a benchmark baseline).
    pub rectangle_search: RectangleSearch,
    /// How often the note store is checked; health is `NOT_SERVING` while checks fail.
    pub notes_check_interval: Duration,
    /// Whether server reflection (v1 and v1alpha) is served; `--no-reflection` removes it.
    pub reflection: bool,
    /// Where Prometheus metrics are served at `/metrics` (`HOST:PORT`); `None`: nowhere.
    pub metrics_addr: Option<String>,
    /// Whether each call logs an access line at info under the target `routeguide::access`.
    pub access_log: bool,
    /// Client connections open at once; a further one is closed at once.
    pub max_connections: usize,
    /// How long a new connection may take to finish its TLS handshake (when TLS is on),
    /// and then to send the HTTP/2 preface and settings.
    pub handshake_timeout: Duration,
    /// How long a call's open request stream may go without a message either way before
    /// the call ends with `DEADLINE_EXCEEDED`.
    pub stream_idle_timeout: Duration,
    /// The call budget of each client IP address (health checks are exempt); `None`: no
    /// limit.
    pub rate_limit: Option<RateLimit>,
    /// Cross-origin calls and the map page's tiles.
    pub web: WebConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            grace: DEFAULT_GRACE,
            requests: RequestLimits {
                max_note_bytes: DEFAULT_MAX_NOTE_BYTES,
                chat_reply_buffer: DEFAULT_CHAT_REPLY_BUFFER,
                chat_notes_in_flight: DEFAULT_CHAT_NOTES_IN_FLIGHT,
                chat_waiting_replays: DEFAULT_CHAT_WAITING_REPLAYS,
            },
            retention: NoteRetention {
                max_per_location: DEFAULT_NOTES_PER_LOCATION,
                max_total: DEFAULT_NOTES_TOTAL,
            },
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            keepalive_interval: DEFAULT_KEEPALIVE_INTERVAL,
            keepalive_timeout: DEFAULT_KEEPALIVE_TIMEOUT,
            rectangle_search: RectangleSearch::Index,
            notes_check_interval: DEFAULT_NOTES_CHECK_INTERVAL,
            reflection: true,
            metrics_addr: None,
            access_log: false,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            stream_idle_timeout: DEFAULT_STREAM_IDLE_TIMEOUT,
            rate_limit: None,
            web: WebConfig::default(),
        }
    }
}

impl ServerConfig {
    /// Checks that every limit and web setting is usable.
    ///
    /// # Errors
    /// [`ConfigError::Zero`] naming the first limit (count, then duration) that is zero, or
    /// the error of [`WebConfig::validate`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("--max-note-bytes", self.requests.max_note_bytes),
            ("--notes-per-location", self.retention.max_per_location),
            ("--notes-total", self.retention.max_total),
            (
                "--max-concurrent-streams",
                self.max_concurrent_streams as usize,
            ),
            ("--max-message-bytes", self.max_message_bytes),
            ("--max-connections", self.max_connections),
            (
                "--rate-limit-burst",
                self.rate_limit.map_or(1, |limit| limit.burst as usize),
            ),
        ];
        let durations = [
            ("--handshake-timeout", self.handshake_timeout),
            ("--stream-idle-timeout", self.stream_idle_timeout),
            (
                "--rate-limit",
                self.rate_limit.map_or(Duration::MAX, |limit| limit.period),
            ),
        ];
        let zero_count = positive.iter().find(|(_, value)| *value == 0);
        let zero_duration = durations.iter().find(|(_, value)| value.is_zero());
        match zero_count
            .map(|(setting, _)| setting)
            .or(zero_duration.map(|(setting, _)| setting))
        {
            Some(setting) => Err(ConfigError::Zero { setting }),
            None => self.web.validate(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_zero_limits_are_named() {
        assert_eq!(ServerConfig::default().validate(), Ok(()));
        let mut config = ServerConfig::default();
        config.retention.max_total = 0;
        assert_eq!(
            config.validate(),
            Err(ConfigError::Zero {
                setting: "--notes-total"
            })
        );
        let config = ServerConfig {
            handshake_timeout: Duration::ZERO,
            ..ServerConfig::default()
        };
        assert_eq!(
            config.validate(),
            Err(ConfigError::Zero {
                setting: "--handshake-timeout"
            })
        );
    }

    #[test]
    fn origins_and_tile_templates_are_checked() {
        fn origin_ok(origin: &str) -> bool {
            let web = WebConfig {
                cors_origins: vec!["http://localhost:8080".into(), origin.into()],
                map_tiles: None,
            };
            web.validate().is_ok()
        }
        for good in [
            "http://localhost:3000",
            "https://maps.example.com",
            "http://127.0.0.1:8080",
            "http://[::1]:5173",
            "http://[::1]",
        ] {
            assert!(origin_ok(good), "{good}");
        }
        for bad in [
            "",
            "*",
            "localhost:3000",
            "ftp://example.com",
            "https://example.com/",
            "https://example.com/app",
            "https://user@example.com",
            "https://",
            "http://example.com:",
            "http://example.com:99999",
            "http://example.com:+80",
            "http://[::1",
            "http://[::1]x",
            "http://[nope]:80",
            "http://exa mple.com",
        ] {
            assert!(!origin_ok(bad), "{bad:?}");
        }
        let tiles = |template: &str| WebConfig {
            cors_origins: Vec::new(),
            map_tiles: Some(MapTiles {
                url_template: template.into(),
                attribution: String::new(),
            }),
        };
        let osm = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
        assert_eq!(tiles(osm).validate(), Ok(()));
        for bad in [
            "tile.openstreetmap.org/{z}/{x}/{y}.png",
            "https://t.org/{z}/{x}.png",
        ] {
            assert_eq!(
                tiles(bad).validate(),
                Err(ConfigError::MapTiles {
                    template: bad.into()
                })
            );
        }
    }
}
