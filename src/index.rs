//! `FeatureIndex`: the immutable feature database with exact-point and rectangle queries.
//!
//! Layout (about 30 bytes per feature plus its name, no per-feature allocation):
//! - `entries`: one `(latitude, longitude, name offset)` per feature, split into latitude
//!   bands of about `8 * sqrt(n)` features and sorted by `(longitude, latitude, file order)`
//!   inside a band;
//! - `names`: one string holding every name in `entries` order, so the name of entry `i`
//!   ends where entry `i + 1`'s starts and a query's results are read sequentially;
//! - `longitude_samples`: every 16th entry's longitude (a quarter byte per feature), so
//!   a search inside a band touches a small, cache-resident array before the entries;
//! - `points`: a hash map (hashbrown) from each distinct point to the position of its first
//!   entry (about 14-28 bytes per distinct point, depending on how full the table is).
//!
//! A point lookup is one hash-map probe (plus the entry and name for `first_at`); a
//! rectangle query visits
//! only the bands its latitudes cross and, in each, only the longitude run inside it.
//! Names are read in file order and rearranged once at build time (names are the largest
//! part, and reading them next to their entries is what makes queries cheap).

mod builder;
mod shared;
#[cfg(test)]
mod tests;

pub use builder::FeatureIndexBuilder;
pub use shared::SharedIndex;

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

/// One feature's coordinates and a `u32` key: its file-order id while building, the start
/// of its name in the finished index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    location: GeoPoint,
    key: u32,
}

impl Entry {
    fn latitude(self) -> i32 {
        self.location.latitude()
    }

    fn longitude(self) -> i32 {
        self.location.longitude()
    }
}

/// Distance between two longitude samples, in entries.
const SAMPLE_STRIDE: usize = 16;
/// Returns the partition point of `pred` in `slice` (as `partition_point`), searching
/// outward from the start so that a point near the start costs few probes.
fn gallop<T>(slice: &[T], pred: impl Fn(&T) -> bool) -> usize {
    let mut bound = 1;
    while bound < slice.len() && pred(&slice[bound]) {
        bound *= 2;
    }
    // Everything before `bound / 2` satisfies `pred` (it is sorted and `bound / 2` did, or
    // is 0); `bound` does not, or is past the end.
    let low = bound / 2;
    let high = (bound + 1).min(slice.len());
    low + slice[low..high].partition_point(pred)
}

/// The immutable feature database; share it as `Arc<FeatureIndex>` without locks.
///
/// Guarantees: `first_at` returns the feature that came first in file order among those
/// at a point; a rectangle query yields every feature inside (bounds inclusive) exactly
/// once, in an order fixed by the database and rectangle.
#[derive(Debug, Clone)]
pub struct FeatureIndex {
    entries: Vec<Entry>,
    names: String,
    longitude_samples: Vec<i32>,
    band_latitudes: Vec<i32>,
    band_offsets: Vec<usize>,
    /// The smallest rectangle holding every feature, computed once when built.
    extent: Option<GeoRect>,
    /// Each distinct point's first entry: its position in `entries`.
    points: hashbrown::HashMap<GeoPoint, u32>,
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
            + self.names.capacity()
            + self.longitude_samples.capacity() * 4
            + self.band_latitudes.capacity() * 4
            + self.band_offsets.capacity() * std::mem::size_of::<usize>()
            + self.points.allocation_size()
    }

    /// Returns the feature at `position` in the index's own order (`0..len()`), if any.
    pub fn feature_at(&self, position: usize) -> Option<FeatureRef<'_>> {
        self.entries
            .get(position)
            .map(|e| self.feature(position, *e))
    }

    /// Returns the first feature in file order at exactly `point`, if any.
    pub fn first_at(&self, point: GeoPoint) -> Option<FeatureRef<'_>> {
        let position = *self.points.get(&point)? as usize;
        self.entries
            .get(position)
            .map(|&entry| self.feature(position, entry))
    }

    /// Returns whether at least one feature is at exactly `point` (without reading names).
    pub fn has_feature_at(&self, point: GeoPoint) -> bool {
        self.points.contains_key(&point)
    }

    /// Returns every feature inside `rect`, borrowing the index.
    pub fn within(&self, rect: GeoRect) -> impl Iterator<Item = FeatureRef<'_>> + '_ {
        let mut query = RectQuery::new(self, rect);
        std::iter::from_fn(move || query.next_in(self))
    }

    /// Returns how many features lie inside `rect` (bounds inclusive), without reading names.
    ///
    /// Equals `within(rect).count()`, but costs two band searches per latitude band the
    /// rectangle crosses plus a scan of the longitude run of its first and last band only:
    /// every band in between lies wholly inside the rectangle's latitudes, so its run is
    /// counted by its ends (about `sqrt(n) / 8` bands and `16 * sqrt(n)` entries at most).
    pub fn count_within(&self, rect: GeoRect) -> usize {
        if self.entries.is_empty() {
            return 0;
        }
        let (west, east) = (rect.min().longitude(), rect.max().longitude());
        let first = self.band_of(rect.min().latitude());
        let last = self.band_of(rect.max().latitude());
        (first..=last)
            .map(|band| {
                let start = self.seek(band, west, |e| e.longitude() < west);
                let end = self.seek(band, east, |e| e.longitude() <= east);
                let run = self.entries.get(start..end).unwrap_or(&[]);
                if band == first || band == last {
                    run.iter().filter(|e| rect.contains(e.location)).count()
                } else {
                    run.len()
                }
            })
            .sum()
    }

    /// Returns the smallest rectangle holding every feature, or `None` when there is none.
    pub fn extent(&self) -> Option<GeoRect> {
        self.extent
    }

    /// Returns the feature of `entry`, which sits at `position`.
    fn feature(&self, position: usize, entry: Entry) -> FeatureRef<'_> {
        let start = entry.key as usize;
        let end = self
            .entries
            .get(position + 1)
            .map_or(self.names.len(), |next| next.key as usize);
        FeatureRef {
            location: entry.location,
            // Offsets were taken between whole names, so both are char boundaries.
            name: self.names.get(start..end).unwrap_or(""),
        }
    }

    fn band_of(&self, latitude: i32) -> usize {
        // band_latitudes[0] is i32::MIN, so the partition point is at least 1.
        self.band_latitudes.partition_point(|&l| l <= latitude) - 1
    }

    /// Returns the position of the first entry of `band` for which `before` is false.
    ///
    /// `before` must hold exactly for a prefix of the band, and only for entries whose
    /// longitude is at most `longitude` (so the samples can skip everything west of it).
    fn seek(&self, band: usize, longitude: i32, before: impl Fn(&Entry) -> bool) -> usize {
        let (start, end) = (self.band_offsets[band], self.band_offsets[band + 1]);
        // Samples k with k * SAMPLE_STRIDE in [start, end) belong to this band.
        let first_sample = start.div_ceil(SAMPLE_STRIDE);
        let last_sample = end.div_ceil(SAMPLE_STRIDE);
        let samples = self
            .longitude_samples
            .get(first_sample..last_sample)
            .unwrap_or(&[]);
        let west = samples.partition_point(|&l| l < longitude);
        // Every entry before the sample preceding `west` lies west of `longitude`.
        let from = match west.checked_sub(1) {
            Some(sample) => (first_sample + sample) * SAMPLE_STRIDE,
            None => start,
        };
        from + gallop(&self.entries[from..end], before)
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
    /// Whether the run in a band ends at the first longitude past the rectangle; false for
    /// the linear scan, which visits everything.
    stop_east: bool,
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
            stop_east: true,
        };
        query.enter_band(index);
        query
    }

    /// Returns a query that visits every feature of `index` and keeps those inside `rect`:
    /// the linear-scan baseline the index is benchmarked against. Same results, same order
    /// as [`RectQuery::new`].
    pub fn linear_scan(index: &FeatureIndex, rect: GeoRect) -> Self {
        let last_band = index.band_offsets.len().saturating_sub(2);
        Self {
            rect,
            band: last_band,
            last_band,
            position: 0,
            end: index.entries.len(),
            stop_east: false,
        }
    }

    fn enter_band(&mut self, index: &FeatureIndex) {
        let west = self.rect.min().longitude();
        self.position = index.seek(self.band, west, |e| e.longitude() < west);
        self.end = index.band_offsets[self.band + 1];
    }

    /// Returns the next feature inside the rectangle, or `None` once all were returned.
    pub fn next_in<'a>(&mut self, index: &'a FeatureIndex) -> Option<FeatureRef<'a>> {
        let east = self.rect.max().longitude();
        loop {
            while let Some(&entry) = index
                .entries
                .get(self.position)
                .filter(|_| self.position < self.end)
            {
                let position = self.position;
                if self.stop_east && entry.longitude() > east {
                    break;
                }
                self.position += 1;
                if self.rect.contains(entry.location) {
                    return Some(index.feature(position, entry));
                }
            }
            if self.band >= self.last_band {
                self.position = self.end;
                return None;
            }
            self.band += 1;
            self.enter_band(index);
        }
    }
}
