//! `FeatureIndex`: the immutable feature database with exact-point and rectangle queries.
//!
//! Layout: features live in flat arrays with no per-feature allocation. Names sit in one
//! arena in file order. Coordinates sit in `entries`, split into latitude bands holding
//! about `sqrt(n)` features each and sorted by `(longitude, latitude, id)` inside a band.
//! A point lookup is one band pick plus one binary search; a rectangle query visits only
//! the bands its latitudes cross and, in each, only the longitude run inside it.

use crate::geo::{GeoPoint, GeoRect};

/// Says why a database cannot be indexed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    /// More features than ids can name (`u32`).
    #[error("too many features: the limit is {limit}")]
    TooManyFeatures {
        /// The maximum number of features.
        limit: u64,
    },
    /// The names together exceed the arena's 4 GiB addressable size.
    #[error("feature names take more than {limit} bytes")]
    NamesTooLarge {
        /// The maximum total size of names in bytes.
        limit: u64,
    },
}

/// A feature borrowed from the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureRef<'a> {
    /// Where the feature is.
    pub location: GeoPoint,
    /// The feature's name; may be empty.
    pub name: &'a str,
}

/// One indexed feature: its coordinates and its position in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    location: GeoPoint,
    id: u32,
}

impl Entry {
    fn latitude(self) -> i32 {
        self.location.latitude()
    }

    fn longitude(self) -> i32 {
        self.location.longitude()
    }
}

/// All feature names, concatenated in file order; `ends[id]` is where name `id` stops.
#[derive(Debug, Default, Clone)]
struct NameArena {
    bytes: String,
    ends: Vec<u32>,
}

impl NameArena {
    fn push(&mut self, name: &str) -> Result<(), IndexError> {
        let end = self.bytes.len() + name.len();
        let end = u32::try_from(end).map_err(|_| IndexError::NamesTooLarge {
            limit: u64::from(u32::MAX),
        })?;
        self.bytes.push_str(name);
        self.ends.push(end);
        Ok(())
    }

    fn get(&self, id: u32) -> &str {
        let id = id as usize;
        let start = if id == 0 {
            0
        } else {
            self.ends[id - 1] as usize
        };
        let end = self.ends[id] as usize;
        // Every boundary was recorded after pushing a whole `&str`, so both are char boundaries.
        self.bytes.get(start..end).unwrap_or("")
    }

    fn shrink_to_fit(&mut self) {
        self.bytes.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

/// Collects features in file order, then builds a [`FeatureIndex`].
#[derive(Debug, Default)]
pub struct FeatureIndexBuilder {
    entries: Vec<Entry>,
    names: NameArena,
}

impl FeatureIndexBuilder {
    /// Returns an empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns how many features were pushed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Returns whether no feature was pushed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends a feature; features pushed earlier come first in file order.
    ///
    /// # Errors
    /// [`IndexError`] when the feature count or total name size exceeds the index's capacity.
    pub fn push(&mut self, location: GeoPoint, name: &str) -> Result<(), IndexError> {
        let id = u32::try_from(self.entries.len()).map_err(|_| IndexError::TooManyFeatures {
            limit: u64::from(u32::MAX),
        })?;
        self.names.push(name)?;
        self.entries.push(Entry { location, id });
        Ok(())
    }

    /// Returns the finished, immutable index.
    pub fn build(self) -> FeatureIndex {
        let Self {
            mut entries,
            mut names,
        } = self;
        names.shrink_to_fit();
        entries.shrink_to_fit();
        entries.sort_unstable_by_key(|e| (e.latitude(), e.longitude(), e.id));
        let (band_latitudes, band_offsets) = split_into_bands(&entries);
        for band in band_offsets.windows(2) {
            entries[band[0]..band[1]].sort_unstable_by_key(|e| (e.longitude(), e.latitude(), e.id));
        }
        FeatureIndex {
            entries,
            band_latitudes,
            band_offsets,
            names,
        }
    }
}

/// Cuts latitude-sorted entries into bands of about `sqrt(n)` entries that never split a latitude.
///
/// Returns each band's lowest latitude (the first is `i32::MIN`) and the entry offsets
/// (`bands + 1` values, starting at 0 and ending at `entries.len()`).
fn split_into_bands(sorted: &[Entry]) -> (Vec<i32>, Vec<usize>) {
    let n = sorted.len();
    let band_size = ((n as f64).sqrt().ceil() as usize).max(1);
    let mut latitudes = vec![i32::MIN];
    let mut offsets = vec![0];
    let mut next = band_size;
    while next < n {
        let latitude = sorted[next].latitude();
        let mut start = sorted.partition_point(|e| e.latitude() < latitude);
        if start <= offsets[offsets.len() - 1] {
            // The band so far is one latitude: close it after that latitude instead.
            start = sorted.partition_point(|e| e.latitude() <= latitude);
        }
        if start >= n {
            break;
        }
        latitudes.push(sorted[start].latitude());
        offsets.push(start);
        next = start + band_size;
    }
    offsets.push(n);
    (latitudes, offsets)
}

/// The immutable feature database; share it as `Arc<FeatureIndex>` without locks.
///
/// Guarantees: `first_at` returns the feature that came first in file order among those
/// at a point; a rectangle query yields every feature inside (bounds inclusive) exactly
/// once, in an order fixed by the database and rectangle.
#[derive(Debug, Clone)]
pub struct FeatureIndex {
    entries: Vec<Entry>,
    band_latitudes: Vec<i32>,
    band_offsets: Vec<usize>,
    names: NameArena,
}

impl FeatureIndex {
    /// Returns the number of features.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Returns whether the database has no feature.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Returns the approximate heap size of the index in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Entry>()
            + self.names.bytes.capacity()
            + self.names.ends.capacity() * 4
            + self.band_latitudes.capacity() * 4
            + self.band_offsets.capacity() * std::mem::size_of::<usize>()
    }

    /// Returns the feature at `position` in the index's own order (`0..len()`), if any.
    pub fn feature_at(&self, position: usize) -> Option<FeatureRef<'_>> {
        self.entries.get(position).map(|e| self.feature(*e))
    }

    /// Returns the first feature in file order at exactly `point`, if any.
    pub fn first_at(&self, point: GeoPoint) -> Option<FeatureRef<'_>> {
        let band = self.band_entries(self.band_of(point.latitude()));
        let key = (point.longitude(), point.latitude());
        let pos = band.partition_point(|e| (e.longitude(), e.latitude()) < key);
        band.get(pos)
            .filter(|e| (e.longitude(), e.latitude()) == key)
            .map(|e| self.feature(*e))
    }

    /// Returns whether at least one feature is at exactly `point`.
    pub fn has_feature_at(&self, point: GeoPoint) -> bool {
        self.first_at(point).is_some()
    }

    /// Returns every feature inside `rect`, borrowing the index.
    pub fn within(&self, rect: GeoRect) -> impl Iterator<Item = FeatureRef<'_>> + '_ {
        let mut query = RectQuery::new(self, rect);
        std::iter::from_fn(move || query.next_in(self))
    }

    fn feature(&self, entry: Entry) -> FeatureRef<'_> {
        FeatureRef {
            location: entry.location,
            name: self.names.get(entry.id),
        }
    }

    fn band_of(&self, latitude: i32) -> usize {
        // band_latitudes[0] is i32::MIN, so the partition point is at least 1.
        self.band_latitudes.partition_point(|&l| l <= latitude) - 1
    }

    fn band_entries(&self, band: usize) -> &[Entry] {
        &self.entries[self.band_offsets[band]..self.band_offsets[band + 1]]
    }
}

/// A resumable rectangle query that owns no borrow, so a stream can hold it next to an `Arc`.
///
/// Call [`RectQuery::next_in`] with the same index it was created for.
#[derive(Debug, Clone)]
pub struct RectQuery {
    rect: GeoRect,
    band: usize,
    last_band: usize,
    position: usize,
    end: usize,
}

impl RectQuery {
    /// Returns a query positioned before the first feature of `rect` in `index`.
    pub fn new(index: &FeatureIndex, rect: GeoRect) -> Self {
        let band = index.band_of(rect.min().latitude());
        let last_band = index.band_of(rect.max().latitude());
        let mut query = Self {
            rect,
            band,
            last_band,
            position: 0,
            end: 0,
        };
        query.enter_band(index);
        query
    }

    fn enter_band(&mut self, index: &FeatureIndex) {
        let offset = index.band_offsets[self.band];
        let band = index.band_entries(self.band);
        let (lo, hi) = (self.rect.min().longitude(), self.rect.max().longitude());
        self.position = offset + band.partition_point(|e| e.longitude() < lo);
        self.end = offset + band.partition_point(|e| e.longitude() <= hi);
    }

    /// Returns the next feature inside the rectangle, or `None` once all were returned.
    pub fn next_in<'a>(&mut self, index: &'a FeatureIndex) -> Option<FeatureRef<'a>> {
        let (lat_lo, lat_hi) = (self.rect.min().latitude(), self.rect.max().latitude());
        loop {
            while self.position < self.end {
                let entry = index.entries[self.position];
                self.position += 1;
                if (lat_lo..=lat_hi).contains(&entry.latitude()) {
                    return Some(index.feature(entry));
                }
            }
            if self.band >= self.last_band {
                return None;
            }
            self.band += 1;
            self.enter_band(index);
        }
    }
}

#[cfg(test)]
mod tests {
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
                let pick = |rng: &mut StdRng| {
                    if !features.is_empty() && rng.random_bool(0.5) {
                        features[rng.random_range(0..features.len())].0
                    } else {
                        point(
                            rng.random_range(-span..=span),
                            rng.random_range(-span..=span),
                        )
                    }
                };
                let (a, b) = (pick(&mut rng), pick(&mut rng));
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

                let expected_first = features
                    .iter()
                    .find(|(p, _)| *p == a)
                    .map(|(_, n)| n.as_str());
                assert_eq!(index.first_at(a).map(|f| f.name), expected_first);
            }
        }
    }

    #[test]
    fn bands_never_split_a_latitude() {
        let features: Vec<_> = (0..1000)
            .map(|i| (point(i / 100, i), format!("{i}")))
            .collect();
        let index = build(&features);
        for band in 0..index.band_offsets.len() - 1 {
            let entries = index.band_entries(band);
            assert!(entries.iter().all(|e| index.band_of(e.latitude()) == band));
        }
    }
}
