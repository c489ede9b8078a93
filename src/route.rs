//! Running summary of a recorded route in constant memory.

use std::time::Duration;

use crate::geo::{GeoPoint, RouteDistance};

/// The summary of a finished route, saturated to the wire's `int32` range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSummary {
    /// Number of points received.
    pub point_count: i32,
    /// Number of received points at which the database has at least one feature.
    pub feature_count: i32,
    /// Sum of haversine distances between consecutive points, in whole metres.
    pub distance_metres: i32,
    /// Whole seconds from the start of the call to the end of the route.
    pub elapsed_seconds: i32,
}

/// Accumulates a route point by point; memory use does not grow with the route.
#[derive(Debug, Default, Clone)]
pub struct RouteRecorder {
    point_count: u64,
    feature_count: u64,
    distance: RouteDistance,
}

impl RouteRecorder {
    /// Returns an empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next point of the route; `has_feature` says whether the database has a feature there.
    pub fn add(&mut self, point: GeoPoint, has_feature: bool) {
        self.point_count += 1;
        self.feature_count += u64::from(has_feature);
        self.distance.push(point);
    }

    /// Adds the next points of the route, of which `with_feature` have a feature in the
    /// database: the same as [`Self::add`] for each.
    pub fn add_all(&mut self, points: &[GeoPoint], with_feature: usize) {
        self.point_count += points.len() as u64;
        self.feature_count += with_feature as u64;
        for &point in points {
            self.distance.push(point);
        }
    }

    /// Returns how many points were added so far.
    pub fn point_count(&self) -> u64 {
        self.point_count
    }

    /// Returns the summary; the distance is truncated once here and every count saturates.
    pub fn finish(&self, elapsed: Duration) -> RouteSummary {
        RouteSummary {
            point_count: saturate(self.point_count),
            feature_count: saturate(self.feature_count),
            // Float-to-int `as` truncates toward zero and saturates at i32::MAX.
            distance_metres: self.distance.metres() as i32,
            elapsed_seconds: saturate(elapsed.as_secs()),
        }
    }
}

fn saturate(value: u64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(latitude: i32, longitude: i32) -> GeoPoint {
        GeoPoint::new(latitude, longitude).unwrap()
    }

    #[test]
    fn empty_route_is_all_zero() {
        let summary = RouteRecorder::new().finish(Duration::from_millis(999));
        assert_eq!(
            summary,
            RouteSummary {
                point_count: 0,
                feature_count: 0,
                distance_metres: 0,
                elapsed_seconds: 0
            }
        );
    }

    #[test]
    fn sums_in_f64_and_truncates_once() {
        // Ten hops of 0.6 m each: truncating per hop would give 0, once gives 6.
        let mut recorder = RouteRecorder::new();
        let hop = 54; // 54e-7 degrees of latitude is about 0.6004 m.
        for i in 0..11 {
            recorder.add(point(i * hop, 0), i % 2 == 0);
        }
        let summary = recorder.finish(Duration::from_secs(3));
        assert_eq!(summary.point_count, 11);
        assert_eq!(summary.feature_count, 6);
        assert_eq!(summary.distance_metres, 6);
        assert_eq!(summary.elapsed_seconds, 3);
    }

    #[test]
    fn distance_saturates() {
        let mut recorder = RouteRecorder::new();
        // Each antipodal hop is about 20,015 km; 200 of them exceed i32::MAX metres.
        for i in 0..201 {
            let lon = if i % 2 == 0 { 0 } else { 1_800_000_000 };
            recorder.add(point(0, lon), false);
        }
        assert_eq!(recorder.finish(Duration::ZERO).distance_metres, i32::MAX);
    }
}
