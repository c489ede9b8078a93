//! Reading typed `LAT,LON` pairs: degrees unless they can only be E7 integers, or `--e7`.

use routeguide::geo::GeoPoint;

/// How the numbers of a typed `LAT,LON` pair are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Units {
    /// Degrees, unless both numbers are integers and one exceeds 180 in magnitude (then E7
    /// integers, as on the wire): `40,-74` is degrees, `409146138,-746188906` is E7.
    Auto,
    /// E7 integers only (`--e7`): both numbers must be integers.
    E7,
}

impl Units {
    /// Returns `E7` when the `--e7` flag is set, `Auto` otherwise.
    pub fn from_flag(e7: bool) -> Self {
        if e7 { Units::E7 } else { Units::Auto }
    }
}

/// One typed number, kept as text for messages.
#[derive(Debug, Clone, PartialEq)]
struct Number {
    text: String,
    /// The value when the text is an integer that fits in an `i64`.
    integer: Option<i64>,
    /// The value as a finite float.
    value: f64,
}

impl Number {
    fn parse(field: &str, text: &str) -> Result<Self, String> {
        let text = text.trim();
        let value = text
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("{field} {text:?} is not a number"))?;
        let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
        let is_integer = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        let integer = if is_integer { text.parse().ok() } else { None };
        Ok(Self {
            text: text.to_owned(),
            integer,
            value,
        })
    }

    /// Returns whether this is an integer too large to be degrees (more than 180).
    fn exceeds_degrees(&self) -> bool {
        self.integer.is_some_and(|v| v.unsigned_abs() > 180)
    }
}

/// A `LAT,LON` pair as typed: two numbers whose units are decided by [`PointText::resolve`].
#[derive(Debug, Clone, PartialEq)]
pub struct PointText {
    text: String,
    latitude: Number,
    longitude: Number,
}

impl PointText {
    /// Returns the pair in `text` (`LAT,LON`, spaces around either number allowed).
    ///
    /// # Errors
    /// A message when there is no comma or a value is not a finite number.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (latitude, longitude) = text
            .split_once(',')
            .ok_or_else(|| format!("expected LAT,LON, got {text:?}"))?;
        Ok(Self {
            text: text.to_owned(),
            latitude: Number::parse("latitude", latitude)?,
            longitude: Number::parse("longitude", longitude)?,
        })
    }

    /// Returns the point, reading the pair in `units`.
    ///
    /// # Errors
    /// A message naming the field when a value is out of range, or not an integer with `E7`.
    pub fn resolve(&self, units: Units) -> Result<GeoPoint, String> {
        let as_e7 = match units {
            Units::E7 => true,
            Units::Auto => reads_as_e7(&[&self.latitude, &self.longitude]),
        };
        if as_e7 {
            from_e7(&self.latitude, &self.longitude)
        } else {
            from_degrees(&self.latitude, &self.longitude)
        }
    }

    /// Returns the pair as it was typed.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Returns the point in `text` read in `units`, for lines of route files and chat input.
///
/// # Errors
/// What [`PointText::parse`] and [`PointText::resolve`] report.
pub fn parse_point(text: &str, units: Units) -> Result<GeoPoint, String> {
    PointText::parse(text)?.resolve(units)
}

/// Returns the rectangle `LAT_LO,LON_LO,LAT_HI,LON_HI` (corners in any order). The four
/// numbers are read together: E7 integers when all are integers and one exceeds 180 in
/// magnitude, degrees otherwise.
///
/// # Errors
/// A message when there are not four numbers or a corner is out of range.
pub fn parse_bbox(text: &str) -> Result<(GeoPoint, GeoPoint), String> {
    let parts: Vec<&str> = text.split(',').collect();
    let [lat_lo, lon_lo, lat_hi, lon_hi] = parts.as_slice() else {
        return Err(format!(
            "expected LAT_LO,LON_LO,LAT_HI,LON_HI, got {text:?}"
        ));
    };
    let lo = PointText::parse(&format!("{lat_lo},{lon_lo}"))?;
    let hi = PointText::parse(&format!("{lat_hi},{lon_hi}"))?;
    let numbers = [&lo.latitude, &lo.longitude, &hi.latitude, &hi.longitude];
    if reads_as_e7(&numbers) {
        Ok((
            from_e7(&lo.latitude, &lo.longitude)?,
            from_e7(&hi.latitude, &hi.longitude)?,
        ))
    } else {
        Ok((
            from_degrees(&lo.latitude, &lo.longitude)?,
            from_degrees(&hi.latitude, &hi.longitude)?,
        ))
    }
}

/// Returns whether numbers typed without `--e7` are E7: all integers, one beyond 180.
fn reads_as_e7(numbers: &[&Number]) -> bool {
    numbers.iter().all(|n| n.integer.is_some()) && numbers.iter().any(|n| n.exceeds_degrees())
}

fn from_e7(latitude: &Number, longitude: &Number) -> Result<GeoPoint, String> {
    let e7 = |field: &str, number: &Number| {
        let value = number
            .integer
            .ok_or_else(|| format!("{field} {} is not an E7 integer", number.text))?;
        i32::try_from(value).map_err(|_| {
            format!(
                "{field} {} is out of range for E7 (a 32-bit integer)",
                number.text
            )
        })
    };
    GeoPoint::new(e7("latitude", latitude)?, e7("longitude", longitude)?).map_err(|e| e.to_string())
}

fn from_degrees(latitude: &Number, longitude: &Number) -> Result<GeoPoint, String> {
    for (field, number, limit) in [
        ("latitude", latitude, 90.0),
        ("longitude", longitude, 180.0),
    ] {
        if number.value.abs() > limit {
            return Err(format!(
                "{field} {} is out of range [-{limit}, {limit}] degrees",
                number.text
            ));
        }
    }
    GeoPoint::from_degrees(latitude.value, longitude.value).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, units: Units, expected: Result<(i32, i32), &str>) {
        let got = parse_point(text, units).map(|p| (p.latitude(), p.longitude()));
        match expected {
            Ok(e7) => assert_eq!(got, Ok(e7), "{text} {units:?}"),
            Err(fragment) => {
                let message = got.expect_err(text);
                assert!(message.contains(fragment), "{text}: {message}");
            }
        }
    }

    #[test]
    fn pairs_are_degrees_unless_an_integer_exceeds_180() {
        let auto = Units::Auto;
        check(
            "40.9146138,-74.6188906",
            auto,
            Ok((409_146_138, -746_188_906)),
        );
        check("40,-74", auto, Ok((400_000_000, -740_000_000)));
        check(" 0 , 0 ", auto, Ok((0, 0)));
        check("0,1", auto, Ok((0, 10_000_000)));
        check("90,180", auto, Ok((900_000_000, 1_800_000_000)));
        check("-90,-180", auto, Ok((-900_000_000, -1_800_000_000)));
        check("+1,2", auto, Ok((10_000_000, 20_000_000)));
        check(
            "-33.8688, 151.2093",
            auto,
            Ok((-338_688_000, 1_512_093_000)),
        );
        check(
            "409146138,-746188906",
            auto,
            Ok((409_146_138, -746_188_906)),
        );
        check("0,181", auto, Ok((0, 181)));
        check("181,0", auto, Ok((181, 0)));
    }

    #[test]
    fn typos_are_out_of_range_errors_naming_the_field() {
        let auto = Units::Auto;
        check(
            "95,10",
            auto,
            Err("latitude 95 is out of range [-90, 90] degrees"),
        );
        check(
            "10,190.5",
            auto,
            Err("longitude 190.5 is out of range [-180, 180]"),
        );
        check("91.0,0", auto, Err("latitude 91.0 is out of range"));
        check(
            "409146138,-74.6",
            auto,
            Err("latitude 409146138 is out of range"),
        );
        check(
            "900000001,0",
            auto,
            Err("latitude 900000001 is out of range"),
        );
        check(
            "0,-1800000001",
            auto,
            Err("longitude -1800000001 is out of range"),
        );
        check("99999999999,0", auto, Err("out of range for E7"));
        check("abc,0", auto, Err("latitude \"abc\" is not a number"));
        check("0,", auto, Err("longitude \"\" is not a number"));
        check("1.5", auto, Err("expected LAT,LON"));
        check("nan,0", auto, Err("not a number"));
        check("0,inf", auto, Err("not a number"));
    }

    #[test]
    fn e7_units_take_integers_only() {
        let e7 = Units::E7;
        check("0,1", e7, Ok((0, 1)));
        check("1,0", e7, Ok((1, 0)));
        check("409146138,-746188906", e7, Ok((409_146_138, -746_188_906)));
        check("40.5,1", e7, Err("latitude 40.5 is not an E7 integer"));
        check("1,1e3", e7, Err("longitude 1e3 is not an E7 integer"));
        check("900000001,0", e7, Err("latitude 900000001 is out of range"));
        check("3000000000,0", e7, Err("out of range for E7"));
    }

    #[test]
    fn bounding_boxes_read_all_four_numbers_together() {
        let corners = |text: &str| {
            parse_bbox(text)
                .map(|(lo, hi)| [lo.latitude(), lo.longitude(), hi.latitude(), hi.longitude()])
        };
        let degrees = [400_000_000, -750_000_000, 415_000_000, -730_000_000];
        assert_eq!(corners("40.0,-75.0,41.5,-73"), Ok(degrees));
        assert_eq!(corners("40,-75,41.5,-73"), Ok(degrees));
        assert_eq!(
            corners("400000000,-750000000,415000000,-730000000"),
            Ok(degrees)
        );
        assert_eq!(corners("0,0,1,200"), Ok([0, 0, 1, 200]));
        assert!(corners("40.0,-75.0").unwrap_err().contains("expected"));
        assert!(
            corners("91.0,0.0,92.0,1.0")
                .unwrap_err()
                .contains("latitude 91.0")
        );
    }
}
