//! Streaming parser for the canonical JSON database format (one feature at a time).
//!
//! Names go straight from serde_json's scratch buffer into the index's name arena, so
//! loading allocates nothing per feature.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::geo::{GeoPoint, MAX_LATITUDE_E7, MAX_LONGITUDE_E7};
use crate::index::{FeatureIndex, FeatureIndexBuilder};

/// The keys of a feature object; unknown keys are skipped, as proto3 JSON parsers may do.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum FeatureField {
    Location,
    Name,
    #[serde(other)]
    Other,
}

/// Coordinates as written; wider than `i32` so an overflow is reported as out of range.
#[derive(Deserialize, Default)]
pub(super) struct RawPoint {
    #[serde(default)]
    pub(super) latitude: i64,
    #[serde(default)]
    pub(super) longitude: i64,
}

/// One feature as a plain derived serde type: what a bare parse of the format produces.
#[derive(Deserialize)]
pub(super) struct BareFeature {
    #[serde(default)]
    pub(super) location: RawPoint,
    #[serde(default)]
    pub(super) name: String,
}

/// Parses a whole database into nothing but counts: the baseline that loading is measured
/// against. Each feature is deserialized into a [`BareFeature`] (one `String` per name)
/// and dropped.
pub(super) fn bare_parse<'de, R: serde_json::de::Read<'de>>(
    mut deserializer: serde_json::Deserializer<R>,
) -> Result<super::BareParse, serde_json::Error> {
    struct Counter;
    impl<'de> Visitor<'de> for Counter {
        type Value = super::BareParse;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON array of features")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut summary = super::BareParse::default();
            while let Some(feature) = seq.next_element::<BareFeature>()? {
                summary.features += 1;
                summary.name_bytes += feature.name.len() as u64;
                summary.coordinate_sum = summary
                    .coordinate_sum
                    .wrapping_add(feature.location.latitude)
                    .wrapping_add(feature.location.longitude);
            }
            Ok(summary)
        }
    }
    let summary = de::Deserializer::deserialize_seq(&mut deserializer, Counter)?;
    deserializer.end()?;
    Ok(summary)
}

/// Parses a whole database from `deserializer`, never holding more than one raw feature.
///
/// `expected_features` sizes the index's arrays up front (an estimate is fine).
pub(super) fn parse<'de, R: serde_json::de::Read<'de>>(
    mut deserializer: serde_json::Deserializer<R>,
    expected_features: usize,
) -> Result<FeatureIndex, serde_json::Error> {
    let mut builder = FeatureIndexBuilder::new();
    builder.reserve(expected_features, expected_features * EXPECTED_NAME_BYTES);
    FeatureArray {
        builder: &mut builder,
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(builder.build())
}

/// Average name length assumed when reserving the arena (what `routeguide gen` writes).
const EXPECTED_NAME_BYTES: usize = 28;

/// Returns serde_json's message without its " at line L column C" suffix.
pub(super) fn message_without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}

struct FeatureArray<'b> {
    builder: &'b mut FeatureIndexBuilder,
}

impl<'de> DeserializeSeed<'de> for FeatureArray<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FeatureArray<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array of features")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        while seq
            .next_element_seed(FeatureSeed {
                builder: self.builder,
                index,
            })?
            .is_some()
        {
            index += 1;
        }
        Ok(())
    }
}

/// Parses feature number `index` and pushes it into the builder.
struct FeatureSeed<'b> {
    builder: &'b mut FeatureIndexBuilder,
    index: usize,
}

const FEATURE_FIELDS: &[&str] = &["location", "name"];

impl<'de> DeserializeSeed<'de> for FeatureSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_struct("Feature", FEATURE_FIELDS, self)
    }
}

impl<'de> Visitor<'de> for FeatureSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a feature object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let index = self.index;
        let mut location: Option<RawPoint> = None;
        let mut named = false;
        self.builder.clear_pending_name();
        while let Some(key) = map.next_key::<FeatureField>()? {
            match key {
                FeatureField::Location if location.is_some() => {
                    return Err(de::Error::duplicate_field("location"));
                }
                FeatureField::Location => location = Some(map.next_value()?),
                FeatureField::Name if named => return Err(de::Error::duplicate_field("name")),
                FeatureField::Name => {
                    map.next_value_seed(NameSeed {
                        builder: self.builder,
                        index,
                    })?;
                    named = true;
                }
                FeatureField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let location = validate(index, &location.unwrap_or_default()).map_err(de::Error::custom)?;
        self.builder
            .push_pending(location)
            .map_err(|e| de::Error::custom(format!("feature {index}: {e}")))
    }
}

/// Copies a name string into the builder's arena without allocating.
struct NameSeed<'b> {
    builder: &'b mut FeatureIndexBuilder,
    index: usize,
}

impl<'de> DeserializeSeed<'de> for NameSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for NameSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<(), E> {
        let index = self.index;
        self.builder
            .append_pending_name(name)
            .map_err(|e| E::custom(format!("feature {index}: {e}")))
    }
}

fn validate(index: usize, raw: &RawPoint) -> Result<GeoPoint, String> {
    let out_of_range = |field: &str, value: i64, max: i32| {
        format!("feature {index}: location.{field} {value} is out of range [-{max}, {max}]")
    };
    let latitude = i32::try_from(raw.latitude)
        .ok()
        .filter(|v| v.abs() <= MAX_LATITUDE_E7)
        .ok_or_else(|| out_of_range("latitude", raw.latitude, MAX_LATITUDE_E7))?;
    let longitude = i32::try_from(raw.longitude)
        .ok()
        .filter(|v| v.abs() <= MAX_LONGITUDE_E7)
        .ok_or_else(|| out_of_range("longitude", raw.longitude, MAX_LONGITUDE_E7))?;
    GeoPoint::new(latitude, longitude).map_err(|e| format!("feature {index}: location.{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Result<usize, &str>) {
        let got = parse(serde_json::Deserializer::from_str(text), 0)
            .map(|index| index.len())
            .map_err(|e| e.to_string());
        match expected {
            Ok(n) => assert_eq!(got.ok(), Some(n), "{text}"),
            Err(fragment) => {
                let message = got.err().unwrap_or_default();
                assert!(message.contains(fragment), "{text}: {message}");
            }
        }
    }

    #[test]
    fn names_land_in_file_order_with_escapes() {
        let text =
            r#"[{"name":"a\"b"},{"location":{"latitude":1}},{"name":"caf\u00e9","location":{}}]"#;
        let index = parse(serde_json::Deserializer::from_str(text), 1).unwrap();
        let names: Vec<_> = (0..3)
            .filter_map(|i| index.feature_at(i))
            .map(|f| f.name.to_owned())
            .collect();
        assert_eq!(names.len(), 3);
        assert!(names.contains(&"a\"b".to_owned()));
        assert!(names.contains(&"café".to_owned()));
        assert!(names.contains(&String::new()));
    }

    #[test]
    fn parses_and_rejects_precisely() {
        check("[]", Ok(0));
        check(
            r#"[{"location":{"latitude":1,"longitude":2},"name":"x"}]"#,
            Ok(1),
        );
        check(r#"[{"name":"defaults to 0,0"}, {}]"#, Ok(2));
        check(r#"[{"location":{"latitude":1}, "extra": true}]"#, Ok(1));
        check("[", Err("EOF while parsing"));
        check("{}", Err("expected a JSON array of features"));
        check(
            r#"[{"name": 5}]"#,
            Err("invalid type: integer `5`, expected a string"),
        );
        check(
            r#"[{}, {"location":{"latitude":900000001,"longitude":0}}]"#,
            Err("feature 1: location.latitude 900000001 is out of range"),
        );
        check(
            r#"[{"location":{"longitude":-99999999999}}]"#,
            Err("feature 0: location.longitude -99999999999 is out of range"),
        );
        check("[] x", Err("trailing characters"));
        check(
            r#"[{"name":"a","name":"b"}]"#,
            Err("duplicate field `name`"),
        );
        check(
            r#"[{"name":null}]"#,
            Err("invalid type: null, expected a string"),
        );
        check(r#"[[1, 2]]"#, Err("expected a feature object"));
    }
}
