//! `--notes URL`: which note store to open, picked by the URL's scheme.

use std::fmt;
use std::sync::Arc;

use super::{
    LiveFeed, MemoryNoteStore, NoteError, NoteRetention, NoteStore, PostgresNoteStore, PostgresUrl,
};

/// A parsed `--notes` value; its `Display` never shows a password.
#[derive(Debug, Clone)]
pub enum NoteStoreUrl {
    /// `memory:` (or `memory`): notes in process memory, lost at exit.
    Memory,
    /// `postgres://...` or `postgresql://...`: notes in PostgreSQL, shared by replicas.
    Postgres(Box<PostgresUrl>),
}

impl NoteStoreUrl {
    /// Returns the store that `text` names.
    ///
    /// # Errors
    /// [`NoteError::InvalidUrl`] when the scheme is unknown or the URL is malformed; the
    /// error shows the URL with its password masked.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        match text {
            "memory:" | "memory" => Ok(Self::Memory),
            _ if text.starts_with("postgres://") || text.starts_with("postgresql://") => {
                PostgresUrl::parse(text).map(|url| Self::Postgres(Box::new(url)))
            }
            _ => Err(NoteError::InvalidUrl {
                url: mask_password(text),
                reason: "expected `memory:` or `postgres://USER@HOST:PORT/DATABASE`".to_owned(),
            }),
        }
    }

    /// Opens the store with `retention` and logs which store is in use (no password); with
    /// `live`, the store publishes every note stored (by any replica) to that hub.
    ///
    /// # Errors
    /// [`NoteError::Open`] when the store cannot be reached or prepared (e.g. its schema
    /// cannot be migrated); [`NoteError::Unsupported`] when `live` is given to a backend
    /// without live push.
    pub async fn open(
        &self,
        retention: NoteRetention,
        live: Option<LiveFeed>,
    ) -> Result<Arc<dyn NoteStore>, NoteError> {
        let live_push = live.is_some();
        let store: Arc<dyn NoteStore> = match self {
            Self::Memory => {
                let store = MemoryNoteStore::new(retention);
                Arc::new(match live {
                    Some(feed) => store.with_live_feed(feed),
                    None => store,
                })
            }
            Self::Postgres(url) => Arc::new(PostgresNoteStore::open(url, retention, live).await?),
        };
        // A backend that ignored the hub would silently serve without live push.
        if live_push && store.live_feed().is_none() {
            return Err(NoteError::Unsupported {
                feature: "live push (--chat-live)",
            });
        }
        tracing::info!(
            store = %self,
            live_push,
            per_location = retention.max_per_location,
            total = retention.max_total,
            "note store ready"
        );
        Ok(store)
    }
}

impl fmt::Display for NoteStoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory => f.write_str("memory:"),
            Self::Postgres(url) => url.fmt(f),
        }
    }
}

/// Returns `text` with the password of a `scheme://user:password@host` URL, and the value
/// of a `password=` query parameter, replaced by `***`, so that a mistyped URL can be shown
/// in an error.
pub(crate) fn mask_password(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_owned();
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let authority_end = before_query.find('/').unwrap_or(before_query.len());
    let mut masked = match before_query[..authority_end].rfind('@') {
        Some(at) => match before_query[..at].split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***{}", &before_query[at..]),
            None => format!("{scheme}://{before_query}"),
        },
        None => format!("{scheme}://{before_query}"),
    };
    if let Some(query) = query {
        let parameters: Vec<String> = query
            .split('&')
            .map(|parameter| match parameter.split_once('=') {
                Some(("password", _)) => "password=***".to_owned(),
                _ => parameter.to_owned(),
            })
            .collect();
        masked.push('?');
        masked.push_str(&parameters.join("&"));
    }
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        fn check(text: &str, expected: &str) {
            assert_eq!(mask_password(text), expected, "{text}");
        }
        check("postgres://u:pw@h/db", "postgres://u:***@h/db");
        check(
            "postgres://u:p@ss@h:5/db?x=1",
            "postgres://u:***@h:5/db?x=1",
        );
        check("postgres://u@h/db", "postgres://u@h/db");
        check(
            "postgres://h/db?sslmode=disable&password=x&a=b",
            "postgres://h/db?sslmode=disable&password=***&a=b",
        );
        check("./notes.db", "./notes.db");
    }

    #[test]
    fn schemes_pick_the_store_and_errors_hide_the_password() {
        assert!(matches!(
            NoteStoreUrl::parse("memory:"),
            Ok(NoteStoreUrl::Memory)
        ));
        assert!(matches!(
            NoteStoreUrl::parse("postgresql://u:pw@localhost/db"),
            Ok(NoteStoreUrl::Postgres(_))
        ));
        let error = NoteStoreUrl::parse("mysql://u:hunter2@h/db")
            .unwrap_err()
            .to_string();
        assert!(error.contains("mysql://u:***@h/db"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        let shown = NoteStoreUrl::parse("postgres://u:hunter2@db.example:6543/notes")
            .unwrap()
            .to_string();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("db.example:6543/notes"), "{shown}");
    }
}
