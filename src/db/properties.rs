//! Property tests of the loader: random valid databases, written as JSON in several
//! layouts, load as the same features in the same order; random corruptions of them never
//! panic, and either load exactly as a plain derived-serde parse reads them, or fail
//! (exactly when that parse fails or a coordinate is out of range) naming a line and a
//! column inside the file.

use std::collections::HashMap;
use std::path::Path;

use proptest::prelude::*;
use proptest::sample::Index;
use serde::de::IgnoredAny;

use super::json::BareFeature;
use super::{LoadError, load_reader};
use crate::geo::{GeoPoint, MAX_LATITUDE_E7, MAX_LONGITUDE_E7};
use crate::index::{FeatureIndex, FeatureIndexBuilder};

/// A feature as the test writes it.
#[derive(Debug, Clone)]
struct Feature {
    latitude: i32,
    longitude: i32,
    name: String,
}

/// How a database is written.
#[derive(Debug, Clone, Copy)]
struct Layout {
    pretty: bool,
    name_first: bool,
    /// Leaves out an empty name and a 0,0 location (proto3 defaults).
    omit_defaults: bool,
    /// Adds a field the loader ignores.
    unknown_field: bool,
}

/// Returns coordinates in range, often at the bounds or from a small set, so that
/// several features share a point.
fn coordinate(max: i32) -> impl Strategy<Value = i32> {
    prop_oneof![-max..=max, prop::sample::select(vec![-max, -1, 0, 1, max]),]
}

fn feature() -> impl Strategy<Value = Feature> {
    let name = prop_oneof![Just(String::new()), "[a-z \"\\\\/]{0,8}", any::<String>(),];
    (
        coordinate(MAX_LATITUDE_E7),
        coordinate(MAX_LONGITUDE_E7),
        name,
    )
        .prop_map(|(latitude, longitude, name)| Feature {
            latitude,
            longitude,
            name,
        })
}

fn layout() -> impl Strategy<Value = Layout> {
    any::<(bool, bool, bool, bool)>().prop_map(
        |(pretty, name_first, omit_defaults, unknown_field)| Layout {
            pretty,
            name_first,
            omit_defaults,
            unknown_field,
        },
    )
}

/// Returns `features` as a JSON database in `layout`.
fn write(features: &[Feature], layout: Layout) -> String {
    let (newline, indent) = if layout.pretty {
        ("\n", "  ")
    } else {
        ("", "")
    };
    let objects: Vec<String> = features
        .iter()
        .map(|f| {
            let mut fields = Vec::new();
            if !(layout.omit_defaults && f.latitude == 0 && f.longitude == 0) {
                let (latitude, longitude) = (f.latitude, f.longitude);
                fields.push(format!(
                    r#""location": {{"latitude": {latitude}, "longitude": {longitude}}}"#
                ));
            }
            if !(layout.omit_defaults && f.name.is_empty()) {
                let name = serde_json::to_string(&f.name).unwrap_or_default();
                let at = if layout.name_first { 0 } else { fields.len() };
                fields.insert(at, format!(r#""name": {name}"#));
            }
            if layout.unknown_field {
                fields.push(r#""tags": [1, {"x": null}]"#.to_owned());
            }
            format!("{indent}{{{}}}", fields.join(", "))
        })
        .collect();
    format!(
        "[{newline}{}{newline}]{newline}",
        objects.join(&format!(",{newline}"))
    )
}

/// Returns the index built by pushing `features` in order: the file order to compare with.
fn reference(features: impl IntoIterator<Item = (i32, i32, String)>) -> Option<FeatureIndex> {
    let mut builder = FeatureIndexBuilder::new();
    for (latitude, longitude, name) in features {
        builder
            .push(GeoPoint::new(latitude, longitude).ok()?, &name)
            .ok()?;
    }
    Some(builder.build())
}

/// Asserts that `loaded` holds exactly the features of `expected`, in the same order.
fn assert_same(loaded: &FeatureIndex, expected: &FeatureIndex) -> Result<(), TestCaseError> {
    prop_assert_eq!(loaded.len(), expected.len());
    for position in 0..expected.len() {
        prop_assert_eq!(loaded.feature_at(position), expected.feature_at(position));
    }
    Ok(())
}

/// Returns the features a plain derived-serde parse reads from `bytes` (the types of the
/// bare-parse baseline, with proto3 defaults and unknown fields skipped), or `None` when
/// it rejects them, a feature is not a JSON object (derived structs also read arrays) or
/// a coordinate does not fit an `i32`.
///
/// It is independent of the loader's hand-written visitors but skips unknown fields the
/// same way: serde_json checks neither the UTF-8 of strings nor the range of numbers it
/// skips, which a `serde_json::Value` would.
fn read_by_derived_serde(bytes: &[u8]) -> Option<Vec<(i32, i32, String)>> {
    serde_json::from_slice::<Vec<HashMap<String, IgnoredAny>>>(bytes).ok()?;
    let features: Vec<BareFeature> = serde_json::from_slice(bytes).ok()?;
    features
        .into_iter()
        .map(|f| {
            let latitude = i32::try_from(f.location.latitude).ok()?;
            let longitude = i32::try_from(f.location.longitude).ok()?;
            Some((latitude, longitude, f.name))
        })
        .collect()
}

/// One random change to a file's bytes; positions are scaled to the file's length.
#[derive(Debug, Clone)]
enum Corruption {
    Delete(Index, usize),
    Insert(Index, Vec<u8>),
    Replace(Index, u8),
    Truncate(Index),
    Duplicate(Index, usize),
}

fn corruption() -> impl Strategy<Value = Corruption> {
    let structural = prop::sample::select(b"[]{}:,\"\\-0123456789.eE \n".to_vec());
    prop_oneof![
        (any::<Index>(), 1usize..8).prop_map(|(at, len)| Corruption::Delete(at, len)),
        (any::<Index>(), prop::collection::vec(any::<u8>(), 1..4))
            .prop_map(|(at, bytes)| Corruption::Insert(at, bytes)),
        (any::<Index>(), structural).prop_map(|(at, byte)| Corruption::Replace(at, byte)),
        (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Corruption::Replace(at, byte)),
        any::<Index>().prop_map(Corruption::Truncate),
        (any::<Index>(), 1usize..16).prop_map(|(at, len)| Corruption::Duplicate(at, len)),
    ]
}

fn corrupt(bytes: &mut Vec<u8>, corruption: &Corruption) {
    let at = |index: &Index, bytes: &Vec<u8>| index.index(bytes.len() + 1);
    match corruption {
        Corruption::Delete(index, len) => {
            let start = at(index, bytes);
            bytes.drain(start..(start + len).min(bytes.len()));
        }
        Corruption::Insert(index, inserted) => {
            let start = at(index, bytes);
            bytes.splice(start..start, inserted.iter().copied());
        }
        Corruption::Replace(index, byte) => {
            if !bytes.is_empty() {
                let position = index.index(bytes.len());
                bytes[position] = *byte;
            }
        }
        Corruption::Truncate(index) => bytes.truncate(at(index, bytes)),
        Corruption::Duplicate(index, len) => {
            let start = at(index, bytes);
            let copy = bytes[start..(start + len).min(bytes.len())].to_vec();
            bytes.splice(start..start, copy);
        }
    }
}

/// Returns the length in bytes of each line of `bytes`.
fn line_lengths(bytes: &[u8]) -> Vec<usize> {
    bytes.split(|&b| b == b'\n').map(<[u8]>::len).collect()
}

proptest! {
    #[test]
    fn a_valid_database_loads_as_written(
        features in prop::collection::vec(feature(), 0..40),
        layout in layout(),
    ) {
        let text = write(&features, layout);
        let loaded = load_reader(Path::new("db.json"), text.as_bytes());
        let loaded = loaded.map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let in_order = features.iter().map(|f| (f.latitude, f.longitude, f.name.clone()));
        let expected = reference(in_order).ok_or_else(|| TestCaseError::fail("bad input"))?;
        assert_same(&loaded, &expected)?;
        // The first feature in file order at each point is the one GetFeature returns.
        for feature in &features {
            let point = GeoPoint::new(feature.latitude, feature.longitude).ok();
            let first = features
                .iter()
                .find(|f| (f.latitude, f.longitude) == (feature.latitude, feature.longitude));
            let found = point.and_then(|p| loaded.first_at(p)).map(|f| f.name);
            prop_assert_eq!(found, first.map(|f| f.name.as_str()));
        }
    }

    #[test]
    fn a_corrupted_database_loads_as_serde_reads_it_or_names_a_position(
        features in prop::collection::vec(feature(), 0..6),
        layout in layout(),
        corruptions in prop::collection::vec(corruption(), 1..4),
    ) {
        let mut bytes = write(&features, layout).into_bytes();
        for corruption in &corruptions {
            corrupt(&mut bytes, corruption);
        }
        let shown = String::from_utf8_lossy(&bytes).into_owned();
        // `reference` also rejects coordinates out of range, as the loader does.
        let expected = read_by_derived_serde(&bytes).and_then(reference);
        match load_reader(Path::new("db.json"), bytes.as_slice()) {
            Ok(loaded) => {
                let expected = expected.ok_or_else(|| {
                    TestCaseError::fail(format!("loaded what serde rejects: {shown}"))
                })?;
                assert_same(&loaded, &expected)?;
            }
            Err(LoadError::Invalid { path, line, column, message }) => {
                prop_assert!(expected.is_none(), "rejected what serde reads: {}", shown);
                let lines = line_lengths(&bytes);
                prop_assert!(line >= 1 && line <= lines.len(), "line {}: {}", line, shown);
                prop_assert!(column <= lines[line - 1] + 1, "{}:{}: {}", line, column, shown);
                prop_assert!(!message.is_empty());
                prop_assert_eq!(path, Path::new("db.json"));
            }
            Err(error @ LoadError::Read { .. }) => {
                return Err(TestCaseError::fail(format!("{error} reading memory: {shown}")));
            }
        }
    }
}
