//! Building a [`FeatureIndex`]: names in file order, then sorting, banding and rearranging.

use super::{Entry, FeatureIndex, IndexError, SAMPLE_STRIDE};
use crate::geo::{GeoPoint, GeoRect};

/// All feature names in file order while building; `ends[id]` is where name `id` stops.
#[derive(Debug, Default, Clone)]
struct NameArena {
    bytes: String,
    ends: Vec<u32>,
}

impl NameArena {
    /// Appends `part` to the pending name (the bytes after the last recorded end).
    fn append(&mut self, part: &str) -> Result<(), IndexError> {
        if self.bytes.len() + part.len() > u32::MAX as usize {
            return Err(IndexError::NamesTooLarge {
                limit: u64::from(u32::MAX),
            });
        }
        self.bytes.push_str(part);
        Ok(())
    }

    /// Drops the pending name.
    fn clear_pending(&mut self) {
        let start = self.ends.last().map_or(0, |&end| end as usize);
        self.bytes.truncate(start);
    }

    /// Records the pending name as the next id's name. `append` keeps the length in `u32`.
    fn finish(&mut self) {
        self.ends.push(self.bytes.len() as u32);
    }

    fn get(&self, id: u32) -> &str {
        let id = id as usize;
        let start = match id.checked_sub(1) {
            Some(previous) => self.ends.get(previous).map_or(0, |&e| e as usize),
            None => 0,
        };
        let end = self.ends.get(id).map_or(start, |&e| e as usize);
        // Every boundary was recorded after appending whole `&str`s, so both are char boundaries.
        self.bytes.get(start..end).unwrap_or("")
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

    /// Reserves room for `features` more features with `name_bytes` more bytes of names, so
    /// that a loader that can estimate its size does not grow the arrays by doubling.
    pub fn reserve(&mut self, features: usize, name_bytes: usize) {
        self.entries.reserve_exact(features);
        self.names.ends.reserve_exact(features);
        self.names.bytes.reserve_exact(name_bytes);
    }

    /// Appends a feature; features pushed earlier come first in file order.
    ///
    /// # Errors
    /// [`IndexError`] when the feature count or total name size exceeds the index's capacity.
    pub fn push(&mut self, location: GeoPoint, name: &str) -> Result<(), IndexError> {
        self.names.clear_pending();
        self.names.append(name)?;
        self.push_pending(location)
    }

    /// Appends `part` to the name of the next feature, which [`Self::push_pending`] completes.
    ///
    /// This lets a parser copy a name straight from its buffer into the arena, with no
    /// allocation per feature.
    ///
    /// # Errors
    /// [`IndexError::NamesTooLarge`] when the names no longer fit in the arena.
    pub fn append_pending_name(&mut self, part: &str) -> Result<(), IndexError> {
        self.names.append(part)
    }

    /// Forgets whatever was appended with [`Self::append_pending_name`] since the last feature.
    pub fn clear_pending_name(&mut self) {
        self.names.clear_pending();
    }

    /// Appends a feature at `location` whose name is everything appended with
    /// [`Self::append_pending_name`] since the previous feature (empty if nothing was).
    ///
    /// # Errors
    /// [`IndexError::TooManyFeatures`] when the feature count exceeds the index's capacity.
    pub fn push_pending(&mut self, location: GeoPoint) -> Result<(), IndexError> {
        // Ids stay below u32::MAX: every position fits the point table's `u32`s, and the
        // limit in the error is exactly the number of features accepted.
        let id = u32::try_from(self.entries.len())
            .ok()
            .filter(|&id| id < u32::MAX)
            .ok_or(IndexError::TooManyFeatures {
                limit: u64::from(u32::MAX),
            })?;
        self.names.finish();
        self.entries.push(Entry { location, key: id });
        Ok(())
    }

    /// Returns the finished, immutable index.
    ///
    /// Sorting happens in place; rearranging the names needs one more copy of the names
    /// for a moment, which is the peak of memory use while loading.
    pub fn build(self) -> FeatureIndex {
        let Self {
            mut entries,
            names: file_order,
        } = self;
        entries.shrink_to_fit();
        entries.sort_unstable_by_key(|e| (e.latitude(), e.longitude(), e.key));
        let (band_latitudes, band_offsets) = split_into_bands(&entries);
        for band in band_offsets.windows(2) {
            entries[band[0]..band[1]]
                .sort_unstable_by_key(|e| (e.longitude(), e.latitude(), e.key));
        }
        let mut names = String::with_capacity(file_order.bytes.len());
        for entry in &mut entries {
            let name = file_order.get(entry.key);
            // The total fits in u32: the arena checked it while the names came in.
            entry.key = names.len() as u32;
            names.push_str(name);
        }
        drop(file_order);
        let longitude_samples = entries
            .iter()
            .step_by(SAMPLE_STRIDE)
            .map(|e| e.longitude())
            .collect();
        // Built after the file-order names are gone: with names of typical length (tens of
        // bytes) the peak stays the moment above, when the names exist twice.
        let points = first_positions(&entries);
        let extent = extent_of(&entries);
        FeatureIndex {
            extent,
            points,
            entries,
            names,
            longitude_samples,
            band_latitudes,
            band_offsets,
        }
    }
}

/// Returns the smallest rectangle holding every entry, if there is one.
fn extent_of(entries: &[Entry]) -> Option<GeoRect> {
    let first = entries.first()?.location;
    let (low, high) = entries.iter().fold((first, first), |(low, high), e| {
        (
            GeoPoint::saturating(
                low.latitude().min(e.latitude()),
                low.longitude().min(e.longitude()),
            ),
            GeoPoint::saturating(
                high.latitude().max(e.latitude()),
                high.longitude().max(e.longitude()),
            ),
        )
    });
    Some(GeoRect::from_corners(low, high))
}

/// Returns the position of the first entry at each distinct point of `entries`, in which
/// entries at one point are adjacent and in file order.
fn first_positions(entries: &[Entry]) -> hashbrown::HashMap<GeoPoint, u32> {
    let distinct = entries
        .windows(2)
        .filter(|pair| pair[0].location != pair[1].location)
        .count()
        + usize::from(!entries.is_empty());
    let mut points = hashbrown::HashMap::with_capacity(distinct);
    for (position, entry) in entries.iter().enumerate() {
        // Positions fit in u32: `push_pending` keeps the feature count below u32::MAX.
        points.entry(entry.location).or_insert(position as u32);
    }
    points
}

/// Bands hold about `BAND_WIDENING * sqrt(n)` entries. Wider bands mean fewer band seeks
/// (each a few cache misses) per rectangle and longer sequential runs; measured with
/// `cargo bench --bench index` on 1M features: a 0.01° square takes ~4.8 µs at 1, ~2.5 µs
/// at 8, ~2.3 µs at 16 and ~3.4 µs at 32, while a 0.001° square stays at ~0.8 µs.
const BAND_WIDENING: usize = 8;

/// Cuts latitude-sorted entries into bands of about `BAND_WIDENING * sqrt(n)` entries that never split a latitude.
///
/// Returns each band's lowest latitude (the first is `i32::MIN`) and the entry offsets
/// (`bands + 1` values, starting at 0 and ending at `entries.len()`).
fn split_into_bands(sorted: &[Entry]) -> (Vec<i32>, Vec<usize>) {
    let n = sorted.len();
    let band_size = ((n as f64).sqrt().ceil() as usize * BAND_WIDENING).max(1);
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
