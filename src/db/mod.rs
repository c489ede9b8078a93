//! Loading the feature database: the built-in canonical set and JSON files.

mod json;
#[cfg(test)]
mod properties;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::index::FeatureIndex;

/// The canonical 100-feature RouteGuide database (Apache-2.0, from the gRPC examples).
pub const BUILTIN_JSON: &str = include_str!("../../data/route_guide_db.json");

/// Says why a database file could not be loaded; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The database file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid feature database.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        /// The database file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong, naming the feature index when a value is out of range.
        message: String,
    },
}

/// Returns the index of the built-in canonical database.
pub fn builtin() -> FeatureIndex {
    json::parse(serde_json::Deserializer::from_str(BUILTIN_JSON), 100)
        // The built-in file is checked by a unit test, so this cannot fail.
        .expect("built-in database is valid")
}

/// Returns the index of a JSON database held in memory (tests and small tools).
///
/// # Errors
/// The serde_json error, with line and column, when the text is not a valid database.
pub fn parse_str(text: &str) -> Result<FeatureIndex, serde_json::Error> {
    json::parse(serde_json::Deserializer::from_str(text), 0)
}

/// Size of the read buffer for database files.
const READ_BUFFER_BYTES: usize = 1 << 20;

/// The smallest plausible size of one feature in a file, used to size arrays up front.
const MIN_FEATURE_BYTES: u64 = 64;

/// The most features reserved up front; bigger files grow the arrays as they go.
const MAX_RESERVED_FEATURES: u64 = 64 << 20;

/// Returns the index of a JSON database file, read as a stream.
///
/// Peak memory is the finished index plus a 1 MiB read buffer and one name: the arrays are
/// reserved from the file size, names are copied straight into the arena, and the index is
/// sorted in place.
///
/// # Errors
/// [`LoadError::Read`] when the file cannot be opened or read, and
/// [`LoadError::Invalid`] with line and column for invalid JSON, a wrong type or an
/// out-of-range coordinate.
pub fn load_file(path: &Path) -> Result<FeatureIndex, LoadError> {
    let (reader, file_bytes) = open(path)?;
    let expected = (file_bytes / MIN_FEATURE_BYTES).min(MAX_RESERVED_FEATURES) as usize;
    load(path, reader, expected)
}

/// Returns the index of a JSON database read from `reader` as a stream, exactly as
/// [`load_file`] reads a file; `path` only names the source in errors.
///
/// # Errors
/// As [`load_file`]: [`LoadError::Read`] when `reader` fails, [`LoadError::Invalid`] with
/// line and column when its bytes are not a valid database.
pub fn load_reader(path: &Path, reader: impl Read) -> Result<FeatureIndex, LoadError> {
    load(path, reader, 0)
}

/// Parses the database in `reader`, with arrays sized up front for `expected` features.
fn load(path: &Path, reader: impl Read, expected: usize) -> Result<FeatureIndex, LoadError> {
    json::parse(serde_json::Deserializer::from_reader(reader), expected)
        .map_err(|error| load_error(path, error))
}

/// What a bare parse of a database file saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BareParse {
    /// Number of features.
    pub features: u64,
    /// Total bytes of names.
    pub name_bytes: u64,
    /// Wrapping sum of all coordinates, so the parse cannot be optimised away.
    pub coordinate_sum: i64,
}

/// Parses a database file with plain serde_json streaming and derived types, keeping
/// nothing: the baseline that [`load_file`]'s time is compared with.
///
/// It reads the file exactly as [`load_file`] does (same buffer, same deserializer), but
/// allocates a `String` per name and builds no index.
///
/// # Errors
/// The same as [`load_file`], except that coordinates are not range-checked.
pub fn bare_parse_file(path: &Path) -> Result<BareParse, LoadError> {
    let (reader, _) = open(path)?;
    json::bare_parse(serde_json::Deserializer::from_reader(reader))
        .map_err(|error| load_error(path, error))
}

/// Opens a database file for streaming and returns its size.
fn open(path: &Path) -> Result<(BufReader<File>, u64), LoadError> {
    let read_error = |source| LoadError::Read {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(read_error)?;
    let bytes = file.metadata().map_err(read_error)?.len();
    Ok((BufReader::with_capacity(READ_BUFFER_BYTES, file), bytes))
}

/// Returns the load error for a serde_json failure while reading `path`.
fn load_error(path: &Path, error: serde_json::Error) -> LoadError {
    if error.is_io() {
        LoadError::Read {
            path: path.to_owned(),
            source: std::io::Error::from(error),
        }
    } else {
        LoadError::Invalid {
            path: path.to_owned(),
            line: error.line(),
            column: error.column(),
            message: json::message_without_position(&error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_loads_as_a_file_does_and_its_errors_name_the_path() {
        let path = Path::new("db.json");
        let index = load_reader(path, BUILTIN_JSON.as_bytes()).unwrap();
        assert_eq!(index.len(), builtin().len());
        let broken = "[\n  {\"name\": 5}\n]";
        let error = load_reader(path, broken.as_bytes()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "db.json:2:13: invalid type: integer `5`, expected a string"
        );
    }

    #[test]
    fn invalid_utf8_is_an_error_but_in_a_skipped_field() {
        // serde_json checks UTF-8 in the strings it reads, not in those it skips; the
        // loader's property test found the difference.
        let path = Path::new("db.json");
        let skipped = b"[{\"tags\": \"\xff\", \"name\": \"a\"}]";
        assert_eq!(load_reader(path, &skipped[..]).unwrap().len(), 1);
        let name = b"[{\"name\": \"\xff\"}]";
        let error = load_reader(path, &name[..]).unwrap_err();
        assert!(
            matches!(error, LoadError::Invalid { line: 1, .. }),
            "{error}"
        );
    }

    #[test]
    fn builtin_database_is_the_canonical_one() {
        let index = builtin();
        assert_eq!(index.len(), 100);
        let unnamed = (0..index.len())
            .filter(|&i| index.feature_at(i).is_some_and(|f| f.name.is_empty()))
            .count();
        assert_eq!(unnamed, 36);
    }
}
