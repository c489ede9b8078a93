//! Parsing `LAT,LON` arguments in degrees or E7 integers.

use routeguide::geo::GeoPoint;

/// Returns the point in `LAT,LON`: two integers are E7 units, anything else is degrees.
pub fn parse_point(text: &str) -> Result<GeoPoint, String> {
    let (latitude, longitude) = text
        .split_once(',')
        .ok_or_else(|| format!("expected LAT,LON, got {text:?}"))?;
    let (latitude, longitude) = (latitude.trim(), longitude.trim());
    let is_integer = |s: &str| {
        let digits = s.strip_prefix('-').unwrap_or(s);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    let point = if is_integer(latitude) && is_integer(longitude) {
        let e7 = |field: &str, value: &str| {
            value
                .parse::<i32>()
                .map_err(|_| format!("{field} {value} does not fit in E7 (int32)"))
        };
        GeoPoint::new(e7("latitude", latitude)?, e7("longitude", longitude)?)
    } else {
        let degrees = |field: &str, value: &str| {
            value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("{field} {value:?} is not a number"))
        };
        GeoPoint::from_degrees(
            degrees("latitude", latitude)?,
            degrees("longitude", longitude)?,
        )
    };
    point.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Result<(i32, i32), &str>) {
        let got = parse_point(text).map(|p| (p.latitude(), p.longitude()));
        match expected {
            Ok(e7) => assert_eq!(got, Ok(e7), "{text}"),
            Err(fragment) => {
                let message = got.expect_err(text);
                assert!(message.contains(fragment), "{text}: {message}");
            }
        }
    }

    #[test]
    fn parses_degrees_and_e7() {
        check("40.9146138,-74.6188906", Ok((409_146_138, -746_188_906)));
        check("409146138,-746188906", Ok((409_146_138, -746_188_906)));
        check(" 0 , 0 ", Ok((0, 0)));
        check("-33.8688, 151.2093", Ok((-338_688_000, 1_512_093_000)));
        check("0.0,180", Ok((0, 1_800_000_000)));
        check("91.0,0", Err("latitude 910000000 is out of range"));
        check("900000001,0", Err("latitude 900000001 is out of range"));
        check("99999999999,0", Err("does not fit"));
        check("abc,0", Err("latitude \"abc\" is not a number"));
        check("1.5", Err("expected LAT,LON"));
        check("nan,0", Err("not a number"));
    }
}
