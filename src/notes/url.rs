//! `--notes URL`: which note store to open, picked by the URL's scheme (or its absence: a
//! plain path names an embedded store file).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use super::{
    EmbeddedNoteStore, LiveFeed, MemoryNoteStore, NoteError, NoteRetention, NoteStore,
    PostgresNoteStore, PostgresUrl,
};

/// What `--notes` accepts, for error messages.
const EXPECTED: &str = "use `memory:`, a file path such as `./notes.db`, or \
                        `postgres://USER@HOST:PORT/DATABASE`";

/// A parsed `--notes` value; its `Display` never shows a password.
#[derive(Debug, Clone)]
pub enum NoteStoreUrl {
    /// `memory:` (or `memory`): notes in process memory, lost at exit.
    Memory,
    /// A file path (or `file:PATH`): the embedded store, durable in one SQLite file on
    /// local disk, created when missing.
    File(PathBuf),
    /// `postgres://...` or `postgresql://...`: notes in PostgreSQL, shared by replicas.
    Postgres(Box<PostgresUrl>),
}

impl NoteStoreUrl {
    /// Returns the store that `text` names: `memory:`, `postgres://...`, `file:PATH`, or a
    /// plain file path (anything without a scheme; a one-letter "scheme" such as `C:` is a
    /// path, and a file whose name has a colon is written `./a:b.db`).
    ///
    /// # Errors
    /// [`NoteError::InvalidUrl`] when `text` is empty, its scheme names no backend (such as
    /// `redis://x`) or the URL is malformed; the error shows the URL with its password
    /// masked.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let invalid = |reason: String| NoteError::InvalidUrl {
            url: mask_password(text),
            reason,
        };
        if text.is_empty() {
            return Err(invalid(format!("is empty: {EXPECTED}")));
        }
        let scheme = text
            .split_once(':')
            .map(|(scheme, _)| scheme)
            .filter(|scheme| is_scheme(scheme));
        match scheme.map(str::to_ascii_lowercase).as_deref() {
            None if text.eq_ignore_ascii_case("memory") => Ok(Self::Memory),
            None => Ok(Self::File(PathBuf::from(text))),
            Some("memory") if text.len() == "memory:".len() => Ok(Self::Memory),
            Some("memory") => Err(invalid("`memory:` takes nothing after the colon".into())),
            Some("postgres" | "postgresql") => {
                PostgresUrl::parse(text).map(|url| Self::Postgres(Box::new(url)))
            }
            Some("file") => {
                let rest = &text["file:".len()..];
                let path = rest.strip_prefix("//").unwrap_or(rest);
                if path.is_empty() {
                    return Err(invalid(
                        "`file:` needs a path, e.g. `file:./notes.db`".into(),
                    ));
                }
                Ok(Self::File(PathBuf::from(path)))
            }
            Some(other) => {
                let hint = if text.contains("://") {
                    ""
                } else {
                    " (write a file whose name has a colon as `./NAME`)"
                };
                Err(invalid(format!(
                    "unsupported notes store `{other}:`: {EXPECTED}{hint}"
                )))
            }
        }
    }

    /// Opens the store with `retention` and logs which store is in use (no password); with
    /// `live`, the store publishes every note stored (by any replica) to that hub.
    ///
    /// An embedded store is opened (locked, checked and loaded) on a blocking thread.
    ///
    /// # Errors
    /// [`NoteError::Open`] when the store cannot be reached or prepared (e.g. its schema
    /// cannot be migrated); [`NoteError::InUse`] or [`NoteError::Damaged`] naming the file
    /// of an embedded store; [`NoteError::Unsupported`] when `live` is given to a backend
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
            Self::File(path) => {
                let path = path.clone();
                let opening = move || EmbeddedNoteStore::open(&path, retention, live);
                let store = tokio::task::spawn_blocking(opening)
                    .await
                    .map_err(|error| NoteError::Backend {
                        backend: "embedded",
                        message: format!("opening the store panicked: {error}"),
                    })??;
                Arc::new(store)
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
            Self::File(path) => write!(f, "file:{}", path.display()),
            Self::Postgres(url) => url.fmt(f),
        }
    }
}

/// Says whether `text` is a URL scheme (RFC 3986: a letter, then letters, digits, `+-.`);
/// one letter is not, so that `C:` stays a path.
fn is_scheme(text: &str) -> bool {
    let mut chars = text.chars();
    text.len() > 1
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
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

    /// Returns what `text` parses to, shown as it would be logged, or the error's text.
    fn parsed(text: &str) -> Result<String, String> {
        NoteStoreUrl::parse(text)
            .map(|url| url.to_string())
            .map_err(|error| error.to_string())
    }

    #[test]
    fn schemes_pick_the_store_and_anything_else_is_a_file() {
        let ok = |shown: &str| Ok(shown.to_owned());
        assert_eq!(parsed("memory:"), ok("memory:"));
        assert_eq!(parsed("MEMORY:"), ok("memory:"));
        assert_eq!(parsed("memory"), ok("memory:"));
        assert_eq!(parsed("./notes.db"), ok("file:./notes.db"));
        assert_eq!(parsed("notes.db"), ok("file:notes.db"));
        assert_eq!(
            parsed("/var/lib/routeguide/notes.db"),
            ok("file:/var/lib/routeguide/notes.db")
        );
        assert_eq!(parsed("file:./notes.db"), ok("file:./notes.db"));
        assert_eq!(parsed("file:///tmp/notes.db"), ok("file:/tmp/notes.db"));
        assert_eq!(parsed("./a:b.db"), ok("file:./a:b.db"));
        assert_eq!(parsed("C:notes.db"), ok("file:C:notes.db"));
        assert!(matches!(
            NoteStoreUrl::parse("postgresql://u:pw@localhost/db"),
            Ok(NoteStoreUrl::Postgres(_))
        ));
        assert!(matches!(
            NoteStoreUrl::parse("postgres://db/notes"),
            Ok(NoteStoreUrl::Postgres(_))
        ));
    }

    #[test]
    fn errors_name_the_flag_and_say_what_is_wrong() {
        fn error(text: &str, part: &str) {
            let error = parsed(text).unwrap_err();
            assert!(error.starts_with("--notes "), "{text}: {error}");
            assert!(error.contains(part), "{text}: {error}");
        }
        error("redis://x", "unsupported notes store `redis:`");
        error("memory2:", "unsupported notes store `memory2:`");
        error("memory:x", "takes nothing after the colon");
        error("", "is empty");
        error("file:", "needs a path");
    }

    #[test]
    fn errors_and_logs_hide_the_password() {
        let error = parsed("mysql://u:hunter2@h/db").unwrap_err();
        assert!(error.contains("mysql://u:***@h/db"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        let shown = parsed("postgres://u:hunter2@db.example:6543/notes").unwrap();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("db.example:6543/notes"), "{shown}");
    }

    #[tokio::test]
    async fn live_push_on_a_store_file_is_served_by_its_own_hub() {
        let dir = std::env::temp_dir().join(format!("rg_url_live_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let url = NoteStoreUrl::parse(&dir.join("notes.db").display().to_string()).unwrap();
        let retention = NoteRetention {
            max_per_location: 1,
            max_total: 1,
        };
        let store = url.open(retention, Some(LiveFeed::new(1))).await.unwrap();
        assert!(store.live_feed().is_some());
        store.close().await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
