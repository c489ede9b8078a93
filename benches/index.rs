//! `cargo bench --bench index`: rectangle and point queries, spatial index against a linear scan.
//!
//! The database is the 1,000,000-feature `routeguide gen --seed 1` one over the default
//! bounding box, built in memory, so a 0.01° square holds ~67 features and a 0.001° one ~0.7.

use std::sync::LazyLock;

use rand::{RngExt, SeedableRng, rngs::StdRng};
use routeguide::geo::{GeoPoint, GeoRect};
use routeguide::index::{FeatureIndex, RectQuery};
use routeguide::synthetic::{SyntheticSpec, default_bbox, write_database};

fn main() {
    divan::main();
}

const FEATURES: u64 = 1_000_000;

static INDEX: LazyLock<FeatureIndex> = LazyLock::new(|| {
    let spec = SyntheticSpec {
        count: FEATURES,
        seed: 1,
        bbox: default_bbox(),
        duplicates: 0.0,
    };
    let mut json = Vec::new();
    write_database(&spec, &mut json, |_| {}).expect("writing to memory cannot fail");
    let text = String::from_utf8(json).expect("generated JSON is UTF-8");
    routeguide::db::parse_str(&text).expect("generated JSON is a valid database")
});

/// Squares of `degrees` around random real features, repeatable across runs.
fn squares(degrees: f64) -> Vec<GeoRect> {
    let index = &*INDEX;
    let mut rng = StdRng::seed_from_u64(7);
    let half = (degrees * 1e7 / 2.0) as i32;
    (0..1024)
        .filter_map(|_| index.feature_at(rng.random_range(0..index.len())))
        .map(|f| {
            let (lat, lon) = (f.location.latitude(), f.location.longitude());
            GeoRect::from_corners(
                GeoPoint::saturating(lat - half, lon - half),
                GeoPoint::saturating(lat + half, lon + half),
            )
        })
        .collect()
}

fn count(query: &mut RectQuery) -> usize {
    let index = &*INDEX;
    let mut n = 0;
    while query.next_in(index).is_some() {
        n += 1;
    }
    n
}

#[divan::bench(args = [0.001, 0.01, 0.1])]
fn index_rectangle(bencher: divan::Bencher, degrees: f64) {
    let rects = squares(degrees);
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % rects.len();
        count(&mut RectQuery::new(&INDEX, rects[i]))
    });
}

#[divan::bench(args = [0.001, 0.01])]
fn linear_scan_rectangle(bencher: divan::Bencher, degrees: f64) {
    let rects = squares(degrees);
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % rects.len();
        count(&mut RectQuery::linear_scan(&INDEX, rects[i]))
    });
}

#[divan::bench]
fn index_first_at(bencher: divan::Bencher) {
    let points: Vec<GeoPoint> = squares(0.0).iter().map(|r| r.min()).collect();
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % points.len();
        INDEX.first_at(points[i]).is_some()
    });
}

/// Route points as the load generator picks them: 65,536 real feature locations, every
/// other one moved by one E7 unit so that about half the lookups miss, as on a real route.
fn route_points() -> Vec<GeoPoint> {
    let index = &*INDEX;
    let mut rng = StdRng::seed_from_u64(9);
    (0..65_536)
        .filter_map(|i| {
            let f = index.feature_at(rng.random_range(0..index.len()))?;
            let (lat, lon) = (f.location.latitude(), f.location.longitude());
            Some(GeoPoint::saturating(lat, lon + i % 2))
        })
        .collect()
}

/// RecordRoute's lookup: 64 consecutive route points.
#[divan::bench]
fn route_chunk_lookups(bencher: divan::Bencher) {
    let points = route_points();
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 64) % (points.len() - 64);
        points[i..i + 64]
            .iter()
            .filter(|p| INDEX.has_feature_at(**p))
            .count()
    });
}
