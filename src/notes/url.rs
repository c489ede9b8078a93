//! `NoteStoreUrl`: what `--notes` names, and opening the store it names.

use std::path::PathBuf;
use std::sync::Arc;

use super::{EmbeddedNoteStore, MemoryNoteStore, NoteError, NoteRetention, NoteStore};

/// Where RouteChat notes live, as given to `serve --notes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoteStoreUrl {
    /// `memory:` (the default): in process memory, lost at exit.
    Memory,
    /// A file path (or `file:PATH`): an embedded store on local disk, durable.
    File(PathBuf),
    /// `postgres://...` or `postgresql://...`: a PostgreSQL database shared by replicas.
    Postgres(String),
}

impl NoteStoreUrl {
    /// Returns the store that `text` names: `memory:`, `postgres://...`, `file:PATH`, or a
    /// plain file path.
    ///
    /// # Errors
    /// A message (for the command line) when `text` is empty or starts with a scheme that
    /// names no backend, such as `redis://x`.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("is empty: use `memory:`, a file path or `postgres://...`".into());
        }
        let scheme = text
            .split_once(':')
            .map(|(scheme, _)| scheme)
            .filter(|scheme| is_scheme(scheme));
        match scheme.map(str::to_ascii_lowercase).as_deref() {
            None => Ok(Self::File(PathBuf::from(text))),
            Some("memory") => Ok(Self::Memory),
            Some("postgres" | "postgresql") => Ok(Self::Postgres(text.to_owned())),
            Some("file") => {
                let path = text["file:".len()..]
                    .strip_prefix("//")
                    .unwrap_or(&text["file:".len()..]);
                if path.is_empty() {
                    return Err("`file:` needs a path, e.g. `file:./notes.db`".into());
                }
                Ok(Self::File(PathBuf::from(path)))
            }
            Some(other) => {
                let hint = if text.contains("://") {
                    String::new()
                } else {
                    format!(" (write a file whose name has a colon as `./{text}`)")
                };
                Err(format!(
                    "unsupported notes store `{other}:`: use `memory:`, a file path or \
                     `postgres://...`{hint}"
                ))
            }
        }
    }

    /// Returns a description for logs; never the password of a URL.
    pub fn describe(&self) -> String {
        match self {
            Self::Memory => "memory".to_owned(),
            Self::File(path) => format!("embedded {}", path.display()),
            Self::Postgres(_) => "postgres".to_owned(),
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

/// Opens the store that `url` names, keeping at most what `retention` allows.
///
/// An embedded store is opened (locked, checked and loaded) on a blocking thread.
///
/// # Errors
/// [`NoteError`] naming the file when an embedded store is in use, damaged or unreadable;
/// [`NoteError::Unsupported`] for PostgreSQL, which this build does not have yet.
pub async fn open(
    url: &NoteStoreUrl,
    retention: NoteRetention,
) -> Result<Arc<dyn NoteStore>, NoteError> {
    match url {
        NoteStoreUrl::Memory => Ok(Arc::new(MemoryNoteStore::new(retention))),
        NoteStoreUrl::File(path) => {
            let path = path.clone();
            let store =
                tokio::task::spawn_blocking(move || EmbeddedNoteStore::open(&path, retention))
                    .await
                    .map_err(|error| NoteError::Backend {
                        backend: "embedded",
                        message: format!("opening the store panicked: {error}"),
                    })??;
            Ok(Arc::new(store))
        }
        NoteStoreUrl::Postgres(_) => Err(NoteError::Unsupported("postgres")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Result<NoteStoreUrl, &str>) {
        match (NoteStoreUrl::parse(text), expected) {
            (Ok(url), Ok(expected)) => assert_eq!(url, expected, "{text}"),
            (Err(message), Err(part)) => assert!(message.contains(part), "{text}: {message}"),
            (got, expected) => panic!("{text}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn names_the_backend_or_says_what_is_wrong() {
        let file = |p: &str| Ok(NoteStoreUrl::File(PathBuf::from(p)));
        check("memory:", Ok(NoteStoreUrl::Memory));
        check("MEMORY:", Ok(NoteStoreUrl::Memory));
        check("./notes.db", file("./notes.db"));
        check("notes.db", file("notes.db"));
        check(
            "/var/lib/routeguide/notes.db",
            file("/var/lib/routeguide/notes.db"),
        );
        check("file:./notes.db", file("./notes.db"));
        check("file:///tmp/notes.db", file("/tmp/notes.db"));
        check("./a:b.db", file("./a:b.db"));
        check("C:notes.db", file("C:notes.db"));
        check(
            "postgres://u:p@db/notes",
            Ok(NoteStoreUrl::Postgres("postgres://u:p@db/notes".into())),
        );
        check(
            "postgresql://db/notes",
            Ok(NoteStoreUrl::Postgres("postgresql://db/notes".into())),
        );
        check("redis://x", Err("unsupported notes store `redis:`"));
        check("memory2:", Err("unsupported notes store `memory2:`"));
        check("", Err("is empty"));
        check("file:", Err("needs a path"));
    }

    #[test]
    fn descriptions_hold_no_password() {
        let url = NoteStoreUrl::parse("postgres://user:secret@db/notes").unwrap();
        assert!(!url.describe().contains("secret"));
    }

    #[tokio::test]
    async fn postgres_is_not_supported_yet() {
        let url = NoteStoreUrl::parse("postgres://db/notes").unwrap();
        let retention = NoteRetention {
            max_per_location: 1,
            max_total: 1,
        };
        let error = open(&url, retention).await.err().unwrap();
        assert_eq!(error.to_string(), "postgres notes are not supported yet");
    }
}
