//! Unit tests of the index: the property test against a linear scan, and layout invariants.

use super::*;
use rand::{RngExt, SeedableRng, rngs::StdRng};

fn point(latitude: i32, longitude: i32) -> GeoPoint {
    GeoPoint::new(latitude, longitude).unwrap()
}

fn build(features: &[(GeoPoint, String)]) -> FeatureIndex {
    let mut builder = FeatureIndexBuilder::new();
    for (p, name) in features {
        builder.push(*p, name).unwrap();
    }
    builder.build()
}

fn linear_within(features: &[(GeoPoint, String)], rect: GeoRect) -> Vec<(GeoPoint, String)> {
    let mut found: Vec<_> = features
        .iter()
        .filter(|(p, _)| rect.contains(*p))
        .cloned()
        .collect();
    found.sort();
    found
}

fn random_database(rng: &mut StdRng, n: usize, span: i32) -> Vec<(GeoPoint, String)> {
    let mut features: Vec<(GeoPoint, String)> = Vec::with_capacity(n);
    for i in 0..n {
        let p = if i > 0 && rng.random_bool(0.2) {
            // Duplicate locations exercise "first in file order".
            features[rng.random_range(0..i)].0
        } else {
            point(
                rng.random_range(-span..=span),
                rng.random_range(-span..=span),
            )
        };
        let name = if rng.random_bool(0.1) {
            String::new()
        } else {
            format!("f{i}")
        };
        features.push((p, name));
    }
    features
}

/// Returns a feature's location half the time (when there are features), else a random
/// point within `span` of the origin on both axes.
fn pick_point(rng: &mut StdRng, features: &[(GeoPoint, String)], span: i32) -> GeoPoint {
    if !features.is_empty() && rng.random_bool(0.5) {
        features[rng.random_range(0..features.len())].0
    } else {
        point(
            rng.random_range(-span..=span),
            rng.random_range(-span..=span),
        )
    }
}

#[test]
fn empty_index_finds_nothing() {
    let index = build(&[]);
    assert!(index.first_at(point(0, 0)).is_none());
    let rect = GeoRect::from_corners(
        point(-900_000_000, -1_800_000_000),
        point(900_000_000, 1_800_000_000),
    );
    assert_eq!(index.within(rect).count(), 0);
}

#[test]
fn first_at_returns_first_in_file_order() {
    let index = build(&[
        (point(1, 1), "a".into()),
        (point(2, 2), String::new()),
        (point(1, 1), "b".into()),
    ]);
    assert_eq!(index.first_at(point(1, 1)).unwrap().name, "a");
    assert_eq!(index.first_at(point(2, 2)).unwrap().name, "");
    assert!(index.first_at(point(1, 2)).is_none());
}

#[test]
fn matches_linear_scan_on_random_databases() {
    let mut rng = StdRng::seed_from_u64(7);
    for round in 0..40 {
        let n = rng.random_range(0..3000);
        let span = if round % 2 == 0 { 50 } else { 1_000_000 };
        let features = random_database(&mut rng, n, span);
        let index = build(&features);
        for _ in 0..50 {
            let (a, b) = (
                pick_point(&mut rng, &features, span),
                pick_point(&mut rng, &features, span),
            );
            // Corners taken from features put features exactly on corners and edges;
            // equal coordinates make degenerate rectangles.
            let b = if rng.random_bool(0.1) { a } else { b };
            let rect = GeoRect::from_corners(a, b);
            let mut got: Vec<_> = index
                .within(rect)
                .map(|f| (f.location, f.name.to_owned()))
                .collect();
            got.sort();
            assert_eq!(
                got,
                linear_within(&features, rect),
                "round {round} rect {rect:?}"
            );
            assert_eq!(
                index.count_within(rect),
                got.len(),
                "count, round {round} rect {rect:?}"
            );
            let mut scan = RectQuery::linear_scan(&index, rect);
            let mut scanned: Vec<_> = std::iter::from_fn(|| scan.next_in(&index))
                .map(|f| (f.location, f.name.to_owned()))
                .collect();
            scanned.sort();
            assert_eq!(scanned, got, "linear scan, round {round} rect {rect:?}");

            let expected_first = features
                .iter()
                .find(|(p, _)| *p == a)
                .map(|(_, n)| n.as_str());
            assert_eq!(index.first_at(a).map(|f| f.name), expected_first);
        }
    }
}

#[test]
fn extent_spans_every_feature() {
    assert_eq!(build(&[]).extent(), None);
    let index = build(&[
        (point(5, -3), "a".into()),
        (point(-2, 7), String::new()),
        (point(1, 1), "c".into()),
    ]);
    assert_eq!(
        index.extent(),
        Some(GeoRect::from_corners(point(-2, -3), point(5, 7)))
    );
    let whole = GeoRect::from_corners(
        point(-900_000_000, -1_800_000_000),
        point(900_000_000, 1_800_000_000),
    );
    assert_eq!(build(&[]).count_within(whole), 0);
    assert_eq!(index.count_within(whole), 3);
}

#[test]
fn gallop_agrees_with_partition_point() {
    for len in 0..70 {
        let values: Vec<usize> = (0..len).collect();
        for split in 0..=len {
            assert_eq!(
                gallop(&values, |&v| v < split),
                split,
                "len {len} split {split}"
            );
        }
    }
}

#[test]
fn names_follow_their_entries_after_rearranging() {
    let features: Vec<_> = (0..500)
        .map(|i| {
            (
                point(i % 7, 500 - i),
                if i % 5 == 0 {
                    String::new()
                } else {
                    format!("name {i}")
                },
            )
        })
        .collect();
    let index = build(&features);
    for (p, name) in &features {
        assert!(
            index
                .within(GeoRect::from_corners(*p, *p))
                .any(|f| f.name == name)
        );
    }
}

#[test]
fn bands_never_split_a_latitude() {
    let features: Vec<_> = (0..1000)
        .map(|i| (point(i / 100, i), format!("{i}")))
        .collect();
    let index = build(&features);
    for band in 0..index.band_offsets.len() - 1 {
        let entries = &index.entries[index.band_offsets[band]..index.band_offsets[band + 1]];
        assert!(entries.iter().all(|e| index.band_of(e.latitude()) == band));
    }
}

#[test]
fn point_lookups_match_the_data() {
    let mut rng = StdRng::seed_from_u64(11);
    for n in [0, 1, 2, 15, 16, 17, 100, 2000] {
        for span in [3, 1_000_000] {
            let mut features = random_database(&mut rng, n, span);
            // The origin, the poles and the antimeridian are extremes: cover them.
            if n > 2 {
                features[0].0 = point(0, 0);
                features[1].0 = point(900_000_000, -1_800_000_000);
            }
            let index = build(&features);
            let probes: Vec<GeoPoint> = (0..rng.random_range(0..80))
                .map(|_| pick_point(&mut rng, &features, span))
                .chain([point(0, 0), point(-900_000_000, 1_800_000_000)])
                .collect();
            let expected: Vec<bool> = probes
                .iter()
                .map(|p| features.iter().any(|(q, _)| q == p))
                .collect();
            let single: Vec<bool> = probes.iter().map(|p| index.has_feature_at(*p)).collect();
            assert_eq!(single, expected, "n {n} span {span}");
        }
    }
}
