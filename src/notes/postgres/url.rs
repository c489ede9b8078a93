//! `postgres://` URLs: libpq's connection parameters plus routeguide's `schema` and
//! `pool_size`, with defaults an operator expects (a connect timeout, an application name).

use std::fmt;
use std::time::Duration;

use tokio_postgres::config::Host;

use super::super::NoteError;
use super::super::url::mask_password;

/// How long connecting may take when the URL sets no `connect_timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections per pool when the URL sets no `pool_size`.
pub const DEFAULT_POOL_SIZE: usize = 16;
/// The schema holding the tables when the URL sets no `schema`.
pub const DEFAULT_SCHEMA: &str = "public";
/// The longest PostgreSQL identifier.
const MAX_IDENTIFIER_BYTES: usize = 63;

/// Where a PostgreSQL note store lives; `Display` and `Debug` never show the password.
///
/// The URL takes every libpq parameter that tokio-postgres knows (`connect_timeout`,
/// `sslmode=disable`, `application_name`, ...) plus `schema=NAME` (where the tables are,
/// created if missing; default `public`) and `pool_size=N` (default 16).
#[derive(Clone)]
pub struct PostgresUrl {
    pub(super) config: tokio_postgres::Config,
    pub(super) schema: String,
    pub(super) pool_size: usize,
}

impl PostgresUrl {
    /// Returns the parsed URL with defaults filled in.
    ///
    /// # Errors
    /// [`NoteError::InvalidUrl`] naming the bad parameter; the password is masked.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let invalid = |reason: String| NoteError::InvalidUrl {
            url: mask_password(text),
            reason,
        };
        let (base, query) = text.split_once('?').unwrap_or((text, ""));
        let mut schema = DEFAULT_SCHEMA.to_owned();
        let mut pool_size = DEFAULT_POOL_SIZE;
        let mut passed_on = Vec::new();
        for parameter in query.split('&').filter(|p| !p.is_empty()) {
            match parameter.split_once('=') {
                Some(("schema", value)) => schema = value.to_owned(),
                Some(("pool_size", value)) => {
                    pool_size = value.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                        invalid(format!("pool_size {value:?} is not a positive integer"))
                    })?;
                }
                _ => passed_on.push(parameter),
            }
        }
        check_identifier(&schema)
            .map_err(|reason| invalid(format!("schema {schema:?} {reason}")))?;
        let libpq = if passed_on.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", passed_on.join("&"))
        };
        let mut config: tokio_postgres::Config = libpq
            .parse()
            .map_err(|error| invalid(error_chain(&error)))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("routeguide");
        }
        Ok(Self {
            config,
            schema,
            pool_size,
        })
    }

    /// Returns the URL with its tables in `schema` instead.
    ///
    /// # Errors
    /// [`NoteError::InvalidUrl`] when `schema` is not a plain lowercase identifier.
    pub fn with_schema(mut self, schema: &str) -> Result<Self, NoteError> {
        check_identifier(schema).map_err(|reason| NoteError::InvalidUrl {
            url: self.to_string(),
            reason: format!("schema {schema:?} {reason}"),
        })?;
        self.schema = schema.to_owned();
        Ok(self)
    }

    /// Returns the schema that holds the tables.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// Returns where the server is, for errors: hosts and ports, database and user.
    pub(super) fn target(&self) -> String {
        format!(
            "{}, database {}, user {}",
            self.hosts(),
            self.config
                .get_dbname()
                .or(self.config.get_user())
                .unwrap_or("(default)"),
            self.config.get_user().unwrap_or("(default)")
        )
    }

    fn hosts(&self) -> String {
        let ports = self.config.get_ports();
        let hosts: Vec<String> = self
            .config
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(i, host)| {
                let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
                match host {
                    Host::Tcp(name) => format!("{name}:{port}"),
                    Host::Unix(path) => format!("{}/.s.PGSQL.{port}", path.display()),
                }
            })
            .collect();
        if hosts.is_empty() {
            "localhost:5432".to_owned()
        } else {
            hosts.join(",")
        }
    }
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("postgres://")?;
        if let Some(user) = self.config.get_user() {
            write!(f, "{user}@")?;
        }
        write!(f, "{}/", self.hosts())?;
        if let Some(database) = self.config.get_dbname() {
            f.write_str(database)?;
        }
        write!(f, "?schema={}", self.schema)
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgresUrl({self})")
    }
}

/// Checks that `name` is a plain lowercase identifier, safe to put in SQL unquoted.
fn check_identifier(name: &str) -> Result<(), &'static str> {
    let mut chars = name.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !starts_well || !rest_ok {
        Err("must be lowercase letters, digits and `_`, not starting with a digit")
    } else if name.len() > MAX_IDENTIFIER_BYTES {
        Err("is longer than 63 bytes")
    } else {
        Ok(())
    }
}

/// Returns an error and its sources as one line (tokio-postgres puts the detail in sources,
/// and a server error's DETAIL and HINT on lines of their own).
pub(super) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let detail = cause.to_string();
        if !text.ends_with(&detail) {
            text.push_str(": ");
            text.push_str(&detail);
        }
        source = cause.source();
    }
    text.replace('\n', "; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_routeguide_parameters_and_fills_defaults() {
        let url = PostgresUrl::parse(
            "postgres://rg:secret@db1:6000/notes?schema=chat&pool_size=4&sslmode=disable",
        )
        .unwrap();
        assert_eq!(url.schema(), "chat");
        assert_eq!(url.pool_size, 4);
        assert_eq!(
            url.config.get_connect_timeout(),
            Some(&DEFAULT_CONNECT_TIMEOUT)
        );
        assert_eq!(url.config.get_application_name(), Some("routeguide"));
        assert_eq!(url.to_string(), "postgres://rg@db1:6000/notes?schema=chat");
        assert_eq!(url.target(), "db1:6000, database notes, user rg");
        assert!(!format!("{url:?}").contains("secret"));
    }

    #[test]
    fn bad_parameters_are_named_without_the_password() {
        fn check(text: &str, expected: &str) {
            let error = PostgresUrl::parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
        check(
            "postgres://u:hunter2@h/db?schema=Bad-Name",
            "schema \"Bad-Name\"",
        );
        check("postgres://u:hunter2@h/db?pool_size=0", "pool_size \"0\"");
        check("postgres://u:hunter2@h/db?colour=blue", "colour");
        check("postgres://u:hunter2@h:notaport/db", "u:***@h:notaport/db");
    }
}
