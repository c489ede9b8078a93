//! Fuzz target: any bytes as a feature database file, loaded as `serve --db` loads one.
//!
//! The loader must never panic, and must agree with a plain derived-serde parse of the
//! same bytes (the format as the README states it: an array of objects with an optional
//! `location` of integer `latitude` and `longitude`, an optional string `name`, unknown
//! fields skipped): it loads the same features in the same order when that parse succeeds
//! with every coordinate in range, and otherwise fails naming a line.

#![no_main]

use std::collections::HashMap;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use routeguide::db::{LoadError, load_reader};
use routeguide::geo::GeoPoint;
use routeguide::index::{FeatureIndex, FeatureIndexBuilder};
use serde::Deserialize;
use serde::de::IgnoredAny;

#[derive(Deserialize)]
struct Feature {
    #[serde(default)]
    location: Location,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize, Default)]
struct Location {
    #[serde(default)]
    latitude: i64,
    #[serde(default)]
    longitude: i64,
}

/// Returns the index of what the derived parse reads from `data`, built in file order, or
/// `None` when it fails, a feature is not a JSON object (derived structs also read
/// arrays) or a coordinate is out of range.
fn expected(data: &[u8]) -> Option<FeatureIndex> {
    serde_json::from_slice::<Vec<HashMap<String, IgnoredAny>>>(data).ok()?;
    let features: Vec<Feature> = serde_json::from_slice(data).ok()?;
    let mut builder = FeatureIndexBuilder::new();
    for feature in features {
        let latitude = i32::try_from(feature.location.latitude).ok()?;
        let longitude = i32::try_from(feature.location.longitude).ok()?;
        let location = GeoPoint::new(latitude, longitude).ok()?;
        builder.push(location, &feature.name).ok()?;
    }
    Some(builder.build())
}

fuzz_target!(|data: &[u8]| {
    let expected = expected(data);
    match load_reader(Path::new("fuzz.json"), data) {
        Ok(index) => {
            let expected = expected.expect("loaded only what the derived parse reads");
            assert_eq!(index.len(), expected.len());
            for position in 0..index.len() {
                assert_eq!(index.feature_at(position), expected.feature_at(position));
            }
        }
        Err(LoadError::Invalid { line, message, .. }) => {
            assert!(expected.is_none(), "rejected a valid database: {message}");
            assert!(line >= 1, "line {line}: {message}");
            assert!(!message.is_empty());
        }
        Err(error @ LoadError::Read { .. }) => panic!("reading memory failed: {error}"),
    }
});
