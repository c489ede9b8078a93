//! Deterministic synthetic feature databases in the canonical JSON format, written as a stream.
//!
//! The same [`SyntheticSpec`] always produces the same bytes. Locations are uniform over the
//! bounding box, so the expected number of features in a rectangle is
//! `count * rect_area / bbox_area`; names look like street addresses and average about 28
//! bytes; about 5% of features are unnamed; a chosen fraction reuses the location of a
//! recently written feature, which exercises "first feature at a location".
//!
//! The output has one feature per line between `[` and `]`, so feature `i` is on line
//! `i + 2` and load errors are easy to find.

use std::io::Write;

use rand::{RngExt, SeedableRng, rngs::StdRng};

use crate::geo::{GeoPoint, GeoRect};

/// The default bounding box: latitude 40.0..41.22, longitude -74.61..-73.39 (the tutorial's
/// New Jersey / New York area).
///
/// It spans 1.22° × 1.22° ≈ 1.49 square degrees, so one million features put about
/// 67 features in a 0.01° × 0.01° rectangle and about 0.67 in a 0.001° × 0.001° one.
pub fn default_bbox() -> GeoRect {
    GeoRect::from_corners(
        GeoPoint::saturating(400_000_000, -746_100_000),
        GeoPoint::saturating(412_200_000, -733_900_000),
    )
}

/// Fraction of features written without a name.
pub const UNNAMED_FRACTION: f64 = 0.05;

/// How many recent distinct locations a duplicate may copy from; bounded so that
/// generation runs in constant memory at any size.
const RECENT_LOCATIONS: usize = 4096;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyntheticSpec {
    /// Number of features.
    pub count: u64,
    /// Seed of the generator; equal seeds give equal files.
    pub seed: u64,
    /// Where the locations fall (inclusive).
    pub bbox: GeoRect,
    /// Fraction of features, in `[0, 1]`, that reuse an earlier feature's location.
    pub duplicates: f64,
}

/// Says why a synthetic database could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SyntheticError {
    /// The duplicate fraction is not in `[0, 1]`.
    #[error("duplicates fraction {0} is not between 0 and 1")]
    DuplicatesOutOfRange(f64),
    /// Writing the output failed.
    #[error("cannot write: {0}")]
    Write(#[from] std::io::Error),
}

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyntheticSummary {
    /// Number of features written.
    pub features: u64,
    /// Features with an empty name.
    pub unnamed: u64,
    /// Features that reuse an earlier feature's location.
    pub duplicates: u64,
    /// Total bytes of all names.
    pub name_bytes: u64,
}

/// Writes the database described by `spec` to `out`, calling `progress` with the number of
/// features written so far every 65536 features and once at the end.
///
/// Memory use is constant in `spec.count`. `out` is flushed before returning.
///
/// # Errors
/// [`SyntheticError::DuplicatesOutOfRange`] before anything is written, and
/// [`SyntheticError::Write`] when `out` fails.
pub fn write_database(
    spec: &SyntheticSpec,
    mut out: impl Write,
    mut progress: impl FnMut(u64),
) -> Result<SyntheticSummary, SyntheticError> {
    if !(0.0..=1.0).contains(&spec.duplicates) {
        return Err(SyntheticError::DuplicatesOutOfRange(spec.duplicates));
    }
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let mut recent: Vec<GeoPoint> = Vec::with_capacity(RECENT_LOCATIONS);
    let mut summary = SyntheticSummary::default();
    let mut name = String::with_capacity(64);
    out.write_all(b"[")?;
    for i in 0..spec.count {
        let location = if !recent.is_empty() && rng.random_bool(spec.duplicates) {
            summary.duplicates += 1;
            recent[rng.random_range(0..recent.len())]
        } else {
            let fresh = random_point(&mut rng, spec.bbox);
            if recent.len() < RECENT_LOCATIONS {
                recent.push(fresh);
            } else {
                recent[(i as usize) % RECENT_LOCATIONS] = fresh;
            }
            fresh
        };
        name.clear();
        if rng.random_bool(UNNAMED_FRACTION) {
            summary.unnamed += 1;
        } else {
            write_address(&mut rng, &mut name);
        }
        summary.name_bytes += name.len() as u64;
        let separator = if i == 0 { "\n" } else { ",\n" };
        // Names use only letters, digits, spaces and commas, so they need no JSON escaping.
        write!(
            out,
            "{separator}{{\"location\":{{\"latitude\":{},\"longitude\":{}}},\"name\":\"{name}\"}}",
            location.latitude(),
            location.longitude(),
        )?;
        summary.features += 1;
        if summary.features.is_multiple_of(65536) {
            progress(summary.features);
        }
    }
    out.write_all(b"\n]\n")?;
    out.flush()?;
    progress(summary.features);
    Ok(summary)
}

fn random_point(rng: &mut StdRng, bbox: GeoRect) -> GeoPoint {
    let (min, max) = (bbox.min(), bbox.max());
    let latitude = rng.random_range(min.latitude()..=max.latitude());
    let longitude = rng.random_range(min.longitude()..=max.longitude());
    // Both coordinates lie between two valid corners, so nothing is clamped.
    GeoPoint::saturating(latitude, longitude)
}

const STREETS: &[&str] = &[
    "Maple",
    "Oak",
    "Pine",
    "Cedar",
    "Elm",
    "Washington",
    "Lake",
    "Hill",
    "Main",
    "Park",
    "Church",
    "Mill",
    "Spring",
    "River",
    "Ridge",
    "Highland",
    "Valley",
    "Forest",
    "Sunset",
    "Franklin",
    "Jefferson",
    "Madison",
    "Lincoln",
    "Chestnut",
    "Walnut",
    "Willow",
    "Meadow",
    "Orchard",
    "Grove",
    "Prospect",
    "Union",
    "Broad",
    "Center",
    "Summit",
    "Academy",
    "Bridge",
    "Mountain",
    "Liberty",
    "Market",
    "School",
];

const SUFFIXES: &[&str] = &[
    "St", "Ave", "Rd", "Ln", "Dr", "Ct", "Pl", "Way", "Road", "Street", "Avenue", "Terrace",
];

const TOWNS: &[&str] = &[
    "Newark",
    "Dover",
    "Morristown",
    "Mendham",
    "Kingston",
    "Hoboken",
    "Paterson",
    "Clifton",
    "Nyack",
    "Yonkers",
    "Milford",
    "Sparta",
    "Newton",
    "Butler",
    "Wayne",
    "Summit",
    "Chester",
    "Hackettstown",
    "Warwick",
    "Goshen",
    "Suffern",
    "Ramsey",
    "Mahwah",
    "Boonton",
    "Denville",
    "Madison",
    "Chatham",
    "Edison",
    "Rahway",
    "Linden",
    "Bayonne",
    "Tenafly",
    "Fort Lee",
    "Englewood",
    "Ossining",
    "Peekskill",
    "Carmel",
    "Brewster",
    "Oakland",
    "Verona",
];

const STATES: &[&str] = &["NJ", "NY", "PA", "CT"];

/// Appends an address such as `"27 Maple Ave, Dover, NJ"` (one in eight has no number).
fn write_address(rng: &mut StdRng, name: &mut String) {
    use std::fmt::Write as _;
    let pick = |rng: &mut StdRng, list: &[&'static str]| list[rng.random_range(0..list.len())];
    if rng.random_range(0..8) != 0 {
        // Writing to a String cannot fail.
        let _ = write!(name, "{} ", rng.random_range(1..10_000u32));
    }
    let street = pick(rng, STREETS);
    let suffix = pick(rng, SUFFIXES);
    let town = pick(rng, TOWNS);
    let state = pick(rng, STATES);
    let _ = write!(name, "{street} {suffix}, {town}, {state}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate(spec: &SyntheticSpec) -> (Vec<u8>, SyntheticSummary) {
        let mut bytes = Vec::new();
        let summary = write_database(spec, &mut bytes, |_| {}).unwrap();
        (bytes, summary)
    }

    fn spec(count: u64, seed: u64, duplicates: f64) -> SyntheticSpec {
        SyntheticSpec {
            count,
            seed,
            bbox: default_bbox(),
            duplicates,
        }
    }

    #[test]
    fn output_is_deterministic_and_loads() {
        let (a, summary) = generate(&spec(5000, 42, 0.1));
        let (b, _) = generate(&spec(5000, 42, 0.1));
        let (c, _) = generate(&spec(5000, 43, 0.1));
        assert_eq!(a, b);
        assert_ne!(a, c);
        let text = std::str::from_utf8(&a).unwrap();
        let index = crate::db::parse_str(text).unwrap();
        assert_eq!(index.len(), 5000);
        assert_eq!(summary.features, 5000);
        let bbox = default_bbox();
        assert!((0..index.len()).all(|i| {
            index
                .feature_at(i)
                .is_some_and(|f| bbox.contains(f.location))
        }));
    }

    #[test]
    fn names_and_duplicates_have_the_advertised_shape() {
        let (_, summary) = generate(&spec(20_000, 1, 0.1));
        let unnamed = summary.unnamed as f64 / summary.features as f64;
        assert!((0.04..0.06).contains(&unnamed), "unnamed {unnamed}");
        let named = summary.features - summary.unnamed;
        let average = summary.name_bytes as f64 / named as f64;
        assert!((26.0..30.0).contains(&average), "average name {average}");
        let duplicates = summary.duplicates as f64 / summary.features as f64;
        assert!(
            (0.08..0.12).contains(&duplicates),
            "duplicates {duplicates}"
        );
        let (_, none) = generate(&spec(1000, 1, 0.0));
        assert_eq!(none.duplicates, 0);
    }

    #[test]
    fn empty_database_and_bad_fraction() {
        let (bytes, _) = generate(&spec(0, 1, 0.0));
        assert_eq!(
            crate::db::parse_str(std::str::from_utf8(&bytes).unwrap())
                .unwrap()
                .len(),
            0
        );
        assert!(matches!(
            write_database(&spec(1, 1, 1.5), Vec::new(), |_| {}),
            Err(SyntheticError::DuplicatesOutOfRange(_))
        ));
    }
}
