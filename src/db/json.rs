//! Streaming parser for the canonical JSON database format (one feature at a time).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, SeqAccess, Visitor};

use crate::geo::{GeoPoint, MAX_LATITUDE_E7, MAX_LONGITUDE_E7};
use crate::index::{FeatureIndex, FeatureIndexBuilder};

/// One feature as written in the file; missing fields take proto3 defaults.
#[derive(Deserialize)]
struct RawFeature {
    #[serde(default)]
    location: RawPoint,
    #[serde(default)]
    name: String,
}

/// Coordinates as written; wider than `i32` so an overflow is reported as out of range.
#[derive(Deserialize, Default)]
struct RawPoint {
    #[serde(default)]
    latitude: i64,
    #[serde(default)]
    longitude: i64,
}

/// Parses a whole database from `deserializer`, never holding more than one raw feature.
pub(super) fn parse<'de, R: serde_json::de::Read<'de>>(
    mut deserializer: serde_json::Deserializer<R>,
) -> Result<FeatureIndex, serde_json::Error> {
    let mut builder = FeatureIndexBuilder::new();
    FeatureArray {
        builder: &mut builder,
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(builder.build())
}

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
        while let Some(raw) = seq.next_element::<RawFeature>()? {
            let location = validate(index, &raw.location).map_err(de::Error::custom)?;
            self.builder
                .push(location, &raw.name)
                .map_err(|e| de::Error::custom(format!("feature {index}: {e}")))?;
            index += 1;
        }
        Ok(())
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
        let got = parse(serde_json::Deserializer::from_str(text))
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
    }
}
