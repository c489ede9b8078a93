//! Haversine distance (R = 6371000 m), as the gRPC tutorial's servers compute it.

use super::{EARTH_RADIUS_METRES, GeoPoint};

/// The factor the tutorial's `rad(x) = x * (pi / 180)` multiplies degrees by.
const RADIANS_PER_DEGREE: f64 = std::f64::consts::PI / 180.0;

/// Returns the great-circle distance in metres between two points (haversine, R = 6371000 m).
///
/// The haversine term is the Python tutorial server's, in its order of operations, on the
/// platform's libm (`sin`, `cos`, `sqrt`, `asin`), so the result equals theirs to the
/// metre: the angle is `2 asin(sqrt(a))`, which is their `2 atan2(sqrt(a), sqrt(1 - a))`
/// within a few ulps.
pub fn haversine_metres(from: GeoPoint, to: GeoPoint) -> f64 {
    Vertex::new(from).metres_to(&Vertex::new(to))
}

/// A point with the term of the formula that depends on it alone.
#[derive(Debug, Clone, Copy)]
struct Vertex {
    latitude: f64,
    longitude: f64,
    cos_latitude: f64,
}

impl Vertex {
    fn new(point: GeoPoint) -> Self {
        let latitude = point.latitude_degrees();
        Self {
            latitude,
            longitude: point.longitude_degrees(),
            cos_latitude: (latitude * RADIANS_PER_DEGREE).cos(),
        }
    }

    /// Returns the haversine distance to `to` in metres.
    fn metres_to(&self, to: &Vertex) -> f64 {
        let delta_latitude = (to.latitude - self.latitude) * RADIANS_PER_DEGREE;
        let delta_longitude = (to.longitude - self.longitude) * RADIANS_PER_DEGREE;
        let a = (delta_latitude / 2.0).sin().powi(2)
            + self.cos_latitude * to.cos_latitude * (delta_longitude / 2.0).sin().powi(2);
        // Rounding can push `a` of exact antipodes a hair above 1, outside asin's domain.
        let c = 2.0 * a.sqrt().min(1.0).asin();
        EARTH_RADIUS_METRES * c
    }
}

/// The length of a route so far: the sum, in route order and in `f64`, of the haversine
/// distances between consecutive points. Its memory does not grow with the route.
#[derive(Debug, Default, Clone)]
pub struct RouteDistance {
    last: Option<Vertex>,
    metres: f64,
}

impl RouteDistance {
    /// Returns the distance of a route without points.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `point` to the route: adds exactly `haversine_metres(last, point)`.
    pub fn push(&mut self, point: GeoPoint) {
        let vertex = Vertex::new(point);
        if let Some(last) = &self.last {
            self.metres += last.metres_to(&vertex);
        }
        self.last = Some(vertex);
    }

    /// Returns the distance so far in metres, not rounded.
    pub fn metres(&self) -> f64 {
        self.metres
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(latitude: i32, longitude: i32) -> GeoPoint {
        GeoPoint::new(latitude, longitude).unwrap()
    }

    #[test]
    fn haversine_matches_known_distances() {
        assert_eq!(haversine_metres(point(0, 0), point(0, 0)), 0.0);
        // One degree along a meridian is R * pi / 180 metres.
        let one_degree = haversine_metres(point(0, 0), point(10_000_000, 0));
        assert!(
            (one_degree - 111_194.926_644_558_7).abs() < 1e-6,
            "{one_degree}"
        );
        // Antipodes are half the circumference apart.
        let half = haversine_metres(point(0, 0), point(0, 1_800_000_000));
        assert!((half - EARTH_RADIUS_METRES * std::f64::consts::PI).abs() < 1e-3);
    }

    #[test]
    fn antipodes_whose_haversine_term_rounds_above_one_are_half_the_circumference() {
        // For these pairs sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2) can round to 1 + 2⁻⁵², and
        // √(1 − a) of that uncapped is NaN.
        for (from, to) in [
            (
                point(-834_308_498, -1_752_063_631),
                point(834_308_498, 47_936_369),
            ),
            (
                point(898_685_007, -605_023_453),
                point(-898_685_007, 1_194_976_547),
            ),
        ] {
            let half = haversine_metres(from, to);
            assert!(
                (half - EARTH_RADIUS_METRES * std::f64::consts::PI).abs() < 1e-3,
                "{from} to {to}: {half}"
            );
        }
    }

    #[test]
    fn a_route_is_its_hops_summed_in_order() {
        let route = [
            point(0, 0),
            point(10_000_000, 0),
            point(10_000_000, 10_000_000),
        ];
        let mut distance = RouteDistance::new();
        assert_eq!(distance.metres(), 0.0);
        distance.push(route[0]);
        assert_eq!(distance.metres(), 0.0);
        distance.push(route[1]);
        distance.push(route[2]);
        let expected = haversine_metres(route[0], route[1]) + haversine_metres(route[1], route[2]);
        assert_eq!(distance.metres().to_bits(), expected.to_bits());
    }

    #[test]
    fn poles_and_the_antimeridian_stay_finite() {
        for (from, to) in [
            (point(900_000_000, 0), point(900_000_000, 1_800_000_000)),
            (point(-900_000_000, 0), point(900_000_000, 0)),
            (point(0, -1_800_000_000), point(0, 1_800_000_000)),
        ] {
            let metres = haversine_metres(from, to);
            assert!(
                metres.is_finite() && metres >= 0.0,
                "{from} to {to}: {metres}"
            );
        }
        let pole_to_pole = haversine_metres(point(-900_000_000, 0), point(900_000_000, 0));
        assert!((pole_to_pole - EARTH_RADIUS_METRES * std::f64::consts::PI).abs() < 1e-3);
    }
}
