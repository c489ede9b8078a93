//! Haversine distance (R = 6371000 m), computed for four hops at once.
//!
//! Every distance in the crate, a single hop or a whole route, goes through the same lane
//! arithmetic, so a route's distance is bit for bit the sum, in route order, of its hops'
//! [`haversine_metres`], however its points are split into calls.
//!
//! The trigonometry is [`super::trig`]'s, for four hops at a time: routes are the hot path
//! of RecordRoute, and libm's scalar calls were most of its own cost.

use wide::f64x4;

use super::{EARTH_RADIUS_METRES, GeoPoint, trig};

/// Hops computed together: one `f64x4`.
const LANES: usize = 4;

/// The factor `f64::to_radians` multiplies by.
const RADIANS_PER_DEGREE: f64 = std::f64::consts::PI / 180.0;

/// Returns the great-circle distance in metres between two points (haversine, R = 6371000 m).
pub fn haversine_metres(from: GeoPoint, to: GeoPoint) -> f64 {
    let mut distance = RouteDistance::new();
    distance.extend(&[from, to]);
    distance.metres()
}

/// The length of a route so far: the sum, in route order and in `f64`, of the haversine
/// distances between consecutive points. Its memory does not grow with the route.
#[derive(Debug, Default, Clone)]
pub struct RouteDistance {
    last: Option<Vertex>,
    metres: f64,
}

/// A point with the terms of the formula that depend on it alone.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Vertex {
    latitude_radians: f64,
    longitude_degrees: f64,
    cos_latitude: f64,
}

/// The same terms for the ends of four hops, one hop per lane.
struct Ends {
    latitude_radians: f64x4,
    longitude_degrees: f64x4,
    cos_latitude: f64x4,
}

impl RouteDistance {
    /// Returns the distance of a route without points.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `points` to the route; the result does not depend on how a route is split
    /// into calls.
    pub fn extend(&mut self, points: &[GeoPoint]) {
        for group in points.chunks(LANES) {
            self.extend_by_group(group);
        }
    }

    /// Returns the distance so far in metres, not rounded.
    pub fn metres(&self) -> f64 {
        self.metres
    }

    /// Appends one to [`LANES`] points.
    fn extend_by_group(&mut self, group: &[GeoPoint]) {
        let Some(last) = group.len().checked_sub(1) else {
            return;
        };
        // Lanes past the group repeat its last point; their hops are not added.
        let lane_point = |lane: usize| group[lane.min(last)];
        let latitude_radians: [f64; LANES] =
            std::array::from_fn(|lane| lane_point(lane).latitude_degrees() * RADIANS_PER_DEGREE);
        let longitude_degrees: [f64; LANES] =
            std::array::from_fn(|lane| lane_point(lane).longitude_degrees());
        let cos_latitude = trig::cos(f64x4::from(latitude_radians)).to_array();
        let vertex = |lane: usize| Vertex {
            latitude_radians: latitude_radians[lane],
            longitude_degrees: longitude_degrees[lane],
            cos_latitude: cos_latitude[lane],
        };
        // Without a previous point the first lane's hop is the first point to itself,
        // and it is skipped below.
        let previous = self.last.unwrap_or_else(|| vertex(0));
        let from_lane = |lane: usize| {
            if lane == 0 {
                previous
            } else {
                vertex(lane - 1)
            }
        };
        let from = Ends {
            latitude_radians: std::array::from_fn(|lane| from_lane(lane).latitude_radians).into(),
            longitude_degrees: std::array::from_fn(|lane| from_lane(lane).longitude_degrees).into(),
            cos_latitude: std::array::from_fn(|lane| from_lane(lane).cos_latitude).into(),
        };
        let to = Ends {
            latitude_radians: latitude_radians.into(),
            longitude_degrees: longitude_degrees.into(),
            cos_latitude: cos_latitude.into(),
        };
        let hops = hop_metres(&from, &to).to_array();
        let first = usize::from(self.last.is_none());
        for hop in &hops[first..=last] {
            self.metres += hop;
        }
        self.last = Some(vertex(last));
    }
}

/// Returns the haversine distance in metres of each lane's hop.
#[inline]
fn hop_metres(from: &Ends, to: &Ends) -> f64x4 {
    let half = f64x4::splat(0.5);
    let delta_latitude = to.latitude_radians - from.latitude_radians;
    let delta_longitude =
        (to.longitude_degrees - from.longitude_degrees) * f64x4::splat(RADIANS_PER_DEGREE);
    let a = trig::sin_squared(delta_latitude * half)
        + from.cos_latitude * to.cos_latitude * trig::sin_squared(delta_longitude * half);
    // Rounding can push `a` of exact antipodes a hair above 1.
    let a = a.min(f64x4::ONE);
    f64x4::splat(2.0 * EARTH_RADIUS_METRES) * trig::half_angle(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::E7_PER_DEGREE;

    fn point(latitude: i32, longitude: i32) -> GeoPoint {
        GeoPoint::new(latitude, longitude).unwrap()
    }

    /// The haversine formula with libm's scalar functions.
    fn libm_metres(from: GeoPoint, to: GeoPoint) -> f64 {
        let (lat1, lat2) = (
            from.latitude_degrees().to_radians(),
            to.latitude_degrees().to_radians(),
        );
        let delta_lon = (to.longitude_degrees() - from.longitude_degrees()).to_radians();
        let a = ((lat2 - lat1) / 2.0).sin().powi(2)
            + lat1.cos() * lat2.cos() * (delta_lon / 2.0).sin().powi(2);
        let a = a.clamp(0.0, 1.0);
        2.0 * EARTH_RADIUS_METRES * a.sqrt().atan2((1.0 - a).sqrt())
    }

    /// A deterministic spread of valid points: xorshift64 over the whole globe.
    fn spread(count: usize, mut state: u64) -> Vec<GeoPoint> {
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..count)
            .map(|_| {
                let latitude = (next() % 1_800_000_001) as i64 - 900_000_000;
                let longitude = (next() % 3_600_000_001) as i64 - 1_800_000_000;
                point(latitude as i32, longitude as i32)
            })
            .collect()
    }

    #[test]
    fn haversine_matches_known_distances() {
        assert_eq!(haversine_metres(point(0, 0), point(0, 0)), 0.0);
        // One degree of latitude is R * pi / 180 metres.
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
    fn the_angle_is_continuous_where_its_formula_changes() {
        // Along the equator the distance is exactly R·Δλ. The half angle changes formula
        // at a = ¼ and a = ¾ (60° and 120° apart); 90° is the middle formula's centre.
        for centre in [600_000_000, 900_000_000, 1_200_000_000] {
            let mut previous = 0.0;
            for longitude in (centre - 100_000..=centre + 100_000).step_by(1_000) {
                let metres = haversine_metres(point(0, 0), point(0, longitude));
                let exact =
                    EARTH_RADIUS_METRES * (f64::from(longitude) / E7_PER_DEGREE).to_radians();
                assert!(
                    (metres - exact).abs() < 1e-6,
                    "{longitude}: {metres} vs {exact}"
                );
                assert!(metres > previous, "{longitude}: not increasing");
                previous = metres;
            }
        }
    }

    #[test]
    fn antipodes_whose_haversine_term_rounds_above_one_are_half_the_circumference() {
        // For these pairs sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2) rounds to 1 + 2⁻⁵², and
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
    fn agrees_with_libm_to_within_1e_13_relative() {
        let points = spread(20_000, 0x9e37_79b9_7f4a_7c15);
        // Long hops between random points, and short ones to a point nearby.
        let long = points.windows(2).map(|w| (w[0], w[1]));
        let short = points.iter().enumerate().map(|(i, &p)| {
            // 1 to 2,000 E7 units (1 cm to 220 m) in each coordinate.
            let step = 1 + (i as i32 % 2_000);
            let latitude = (p.latitude() + step).min(900_000_000);
            let longitude = (p.longitude() + step).min(1_800_000_000);
            (p, point(latitude, longitude))
        });
        let mut worst = 0.0f64;
        for (from, to) in long.chain(short) {
            let (ours, libm) = (haversine_metres(from, to), libm_metres(from, to));
            let relative = (ours - libm).abs() / libm.max(1e-3);
            worst = worst.max(relative);
            assert!(relative < 1e-13, "{from} to {to}: {ours} vs libm {libm}");
        }
        // A real difference exists: the test compares two implementations.
        assert!(worst > 0.0);
    }

    #[test]
    fn a_route_is_its_hops_summed_in_order_however_it_is_split() {
        let route = spread(61, 7);
        let expected = route
            .windows(2)
            .fold(0.0, |sum, w| sum + haversine_metres(w[0], w[1]));
        for split in [1, 2, 3, 4, 5, 7, 16, 61] {
            let mut distance = RouteDistance::new();
            for part in route.chunks(split) {
                distance.extend(part);
            }
            distance.extend(&[]);
            assert_eq!(
                distance.metres().to_bits(),
                expected.to_bits(),
                "split {split}"
            );
        }
        assert_eq!(RouteDistance::new().metres(), 0.0);
        let mut one_point = RouteDistance::new();
        one_point.extend(&route[..1]);
        assert_eq!(one_point.metres(), 0.0);
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
