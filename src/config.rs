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
/// Default number of one RouteChat stream's notes that may wait for a durable commit
/// (more than a typical call's notes, so that a call's notes share one commit).
pub const DEFAULT_CHAT_NOTES_IN_FLIGHT: usize = 256;
/// Default number of replayed notes one RouteChat stream may hold while its notes wait
/// for their commit (bounds the stream's memory: about 24 bytes each, texts shared).
pub const DEFAULT_CHAT_WAITING_REPLAYS: usize = 16_384;
/// Default largest accepted request message in bytes.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// Says which setting is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A limit that must be positive is zero.
    #[error("{setting} must be greater than zero")]
    Zero {
        /// The setting's flag name.
        setting: &'static str,
    },
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
        }
    }
}

impl ServerConfig {
    /// Checks that every limit is usable.
    ///
    /// # Errors
    /// [`ConfigError::Zero`] naming the first limit that is zero.
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
        ];
        match positive.iter().find(|(_, value)| *value == 0) {
            Some((setting, _)) => Err(ConfigError::Zero { setting }),
            None => Ok(()),
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
    }
}
