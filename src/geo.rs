//! Geometry on E7 coordinates: validated points, normalised rectangles and haversine distance.

use std::fmt;

mod haversine;

pub use haversine::{RouteDistance, haversine_metres};

/// Largest valid absolute latitude in E7 (90 degrees).
pub const MAX_LATITUDE_E7: i32 = 900_000_000;

/// Largest valid absolute longitude in E7 (180 degrees).
pub const MAX_LONGITUDE_E7: i32 = 1_800_000_000;

/// Mean Earth radius in metres used for every distance (the tutorial's value).
pub const EARTH_RADIUS_METRES: f64 = 6_371_000.0;

/// Number of E7 units in one degree.
pub const E7_PER_DEGREE: f64 = 10_000_000.0;

/// Says which coordinate of a point is out of range, and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CoordinateError {
    /// The latitude is outside `[-900000000, 900000000]`.
    #[error("latitude {0} is out of range [-900000000, 900000000]")]
    Latitude(i32),
    /// The longitude is outside `[-1800000000, 1800000000]`.
    #[error("longitude {0} is out of range [-1800000000, 1800000000]")]
    Longitude(i32),
}

impl CoordinateError {
    /// Returns the name of the offending field as it is spelled in the proto.
    pub fn field(&self) -> &'static str {
        match self {
            CoordinateError::Latitude(_) => "latitude",
            CoordinateError::Longitude(_) => "longitude",
        }
    }
}

/// A point on Earth in E7 units whose coordinates are always in range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GeoPoint {
    latitude: i32,
    longitude: i32,
}

impl GeoPoint {
    /// Returns the point, or which coordinate is out of range.
    ///
    /// # Errors
    /// [`CoordinateError`] when `|latitude| > 900000000` or `|longitude| > 1800000000`.
    pub fn new(latitude: i32, longitude: i32) -> Result<Self, CoordinateError> {
        if !(-MAX_LATITUDE_E7..=MAX_LATITUDE_E7).contains(&latitude) {
            return Err(CoordinateError::Latitude(latitude));
        }
        if !(-MAX_LONGITUDE_E7..=MAX_LONGITUDE_E7).contains(&longitude) {
            return Err(CoordinateError::Longitude(longitude));
        }
        Ok(Self {
            latitude,
            longitude,
        })
    }

    /// Returns the point with each coordinate clamped into its valid range; never fails.
    pub const fn saturating(latitude: i32, longitude: i32) -> Self {
        Self {
            latitude: clamp(latitude, MAX_LATITUDE_E7),
            longitude: clamp(longitude, MAX_LONGITUDE_E7),
        }
    }

    /// Returns the point at the given degrees, rounded to the nearest E7 unit.
    ///
    /// # Errors
    /// [`CoordinateError`] when a coordinate is out of range or not finite.
    pub fn from_degrees(latitude: f64, longitude: f64) -> Result<Self, CoordinateError> {
        let latitude_e7 = degrees_to_e7(latitude);
        let longitude_e7 = degrees_to_e7(longitude);
        Self::new(latitude_e7, longitude_e7)
    }

    /// Returns the latitude in E7 units.
    pub fn latitude(self) -> i32 {
        self.latitude
    }

    /// Returns the longitude in E7 units.
    pub fn longitude(self) -> i32 {
        self.longitude
    }

    /// Returns the latitude in degrees.
    pub fn latitude_degrees(self) -> f64 {
        f64::from(self.latitude) / E7_PER_DEGREE
    }

    /// Returns the longitude in degrees.
    pub fn longitude_degrees(self) -> f64 {
        f64::from(self.longitude) / E7_PER_DEGREE
    }
}

impl fmt::Display for GeoPoint {
    /// Writes the point as `LAT,LON` in degrees with seven decimals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.7},{:.7}",
            self.latitude_degrees(),
            self.longitude_degrees()
        )
    }
}

/// Returns `value` clamped to `[-max, max]`; `const` because `Ord::clamp` is not.
const fn clamp(value: i32, max: i32) -> i32 {
    if value < -max {
        -max
    } else if value > max {
        max
    } else {
        value
    }
}

/// Converts degrees to E7, saturating at the `i32` range so that range checks still fail.
fn degrees_to_e7(degrees: f64) -> i32 {
    if degrees.is_nan() {
        // NaN is no coordinate at all; map it out of range so validation names it.
        return i32::MAX;
    }
    // `as` saturates for floats out of the `i32` range, which keeps them invalid.
    (degrees * E7_PER_DEGREE).round() as i32
}

/// An axis-aligned rectangle with inclusive bounds; `min <= max` on both axes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeoRect {
    min: GeoPoint,
    max: GeoPoint,
}

impl GeoRect {
    /// Returns the rectangle spanned by two opposite corners given in any order.
    pub fn from_corners(a: GeoPoint, b: GeoPoint) -> Self {
        Self {
            min: GeoPoint {
                latitude: a.latitude.min(b.latitude),
                longitude: a.longitude.min(b.longitude),
            },
            max: GeoPoint {
                latitude: a.latitude.max(b.latitude),
                longitude: a.longitude.max(b.longitude),
            },
        }
    }

    /// Returns the corner with the smallest latitude and longitude.
    pub fn min(self) -> GeoPoint {
        self.min
    }

    /// Returns the corner with the largest latitude and longitude.
    pub fn max(self) -> GeoPoint {
        self.max
    }

    /// Returns whether the point lies inside or on the border of the rectangle.
    pub fn contains(self, point: GeoPoint) -> bool {
        (self.min.latitude..=self.max.latitude).contains(&point.latitude)
            && (self.min.longitude..=self.max.longitude).contains(&point.longitude)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(latitude: i32, longitude: i32) -> GeoPoint {
        GeoPoint::new(latitude, longitude).unwrap()
    }

    #[test]
    fn validates_inclusive_ranges() {
        let check = |lat, lon, expected: Result<(), CoordinateError>| {
            assert_eq!(
                GeoPoint::new(lat, lon).map(|_| ()),
                expected,
                "({lat},{lon})"
            );
        };
        check(900_000_000, 1_800_000_000, Ok(()));
        check(-900_000_000, -1_800_000_000, Ok(()));
        check(900_000_001, 0, Err(CoordinateError::Latitude(900_000_001)));
        check(
            0,
            -1_800_000_001,
            Err(CoordinateError::Longitude(-1_800_000_001)),
        );
        check(i32::MIN, i32::MIN, Err(CoordinateError::Latitude(i32::MIN)));
    }

    #[test]
    fn converts_degrees_with_rounding() {
        let p = GeoPoint::from_degrees(40.9146138, -74.6188906).unwrap();
        assert_eq!((p.latitude(), p.longitude()), (409_146_138, -746_188_906));
        assert!(GeoPoint::from_degrees(f64::NAN, 0.0).is_err());
        assert!(GeoPoint::from_degrees(91.0, 0.0).is_err());
        assert!(GeoPoint::from_degrees(0.0, 1e300).is_err());
    }

    #[test]
    fn rectangle_normalises_and_includes_borders() {
        let rect = GeoRect::from_corners(point(10, -5), point(-10, 5));
        assert_eq!(rect.min(), point(-10, -5));
        assert_eq!(rect.max(), point(10, 5));
        for inside in [
            point(10, 5),
            point(-10, -5),
            point(10, 0),
            point(0, -5),
            point(0, 0),
        ] {
            assert!(rect.contains(inside), "{inside:?}");
        }
        for outside in [point(11, 0), point(0, 6), point(-11, -6)] {
            assert!(!rect.contains(outside), "{outside:?}");
        }
    }
}
