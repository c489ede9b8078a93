//! Loading the feature database: the built-in canonical set and JSON files.

mod json;

use std::fs::File;
use std::io::BufReader;
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
    json::parse(serde_json::Deserializer::from_str(BUILTIN_JSON))
        // The built-in file is checked by a unit test, so this cannot fail.
        .expect("built-in database is valid")
}

/// Returns the index of a JSON database file, read as a stream.
///
/// # Errors
/// [`LoadError::Read`] when the file cannot be opened or read, and
/// [`LoadError::Invalid`] with line and column for invalid JSON, a wrong type or an
/// out-of-range coordinate.
pub fn load_file(path: &Path) -> Result<FeatureIndex, LoadError> {
    let read_error = |source| LoadError::Read {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(read_error)?;
    let reader = BufReader::with_capacity(1 << 20, file);
    json::parse(serde_json::Deserializer::from_reader(reader)).map_err(|error| {
        if error.is_io() {
            read_error(std::io::Error::from(error))
        } else {
            LoadError::Invalid {
                path: path.to_owned(),
                line: error.line(),
                column: error.column(),
                message: json::message_without_position(&error),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
