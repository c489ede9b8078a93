//! `PointTable`: exact-point lookups that cost one cache miss, and batches whose misses overlap.
//!
//! A read-only open-addressing table (linear probing) from a point to the position of the
//! first index entry at that point. A slot holds the point's 64-bit hash, which is a
//! bijection of the point, so comparing hashes compares points and a membership test
//! reads one slot (usually one cache line) and nothing else; the positions live in a
//! parallel array read only when the feature itself is wanted.
//!
//! Written by hand because no hash-map crate offers what makes it worth having: a batch
//! lookup that loads the slots of many points before examining any of them, so that their
//! cache misses overlap instead of queuing (RecordRoute looks up every point of a route).

use super::Entry;
use crate::geo::GeoPoint;

/// Marks an empty slot: the hash of a point whose latitude is out of range, so no real
/// point hashes to it.
const EMPTY: u64 = mix(pack(i32::MAX, i32::MAX));

/// Points looked up together by [`PointTable::contains_each`]: enough to keep the core's
/// outstanding misses busy, small enough to stay on the stack.
pub(super) const BATCH: usize = 16;

/// Maps every distinct point of an index to the position of its first entry.
#[derive(Debug, Clone)]
pub(super) struct PointTable {
    /// The hash of the point stored in each slot, or [`EMPTY`].
    hashes: Vec<u64>,
    /// The position of the first entry at the point of the same slot.
    positions: Vec<u32>,
}

impl PointTable {
    /// Returns the table of `entries`, in which entries at one point are adjacent and the
    /// first of them is the one to find.
    pub(super) fn build(entries: &[Entry]) -> Self {
        let distinct = entries
            .iter()
            .zip(entries.iter().skip(1))
            .filter(|(a, b)| a.location != b.location)
            .count()
            + usize::from(!entries.is_empty());
        // Two thirds full at most, and never full: a probe stays within a cache line or
        // two and always meets an empty slot.
        let capacity = distinct + distinct / 2 + 1;
        let mut table = Self {
            hashes: vec![EMPTY; capacity],
            positions: vec![0; capacity],
        };
        let mut previous = None;
        for (position, entry) in entries.iter().enumerate() {
            if previous == Some(entry.location) {
                continue;
            }
            previous = Some(entry.location);
            let hash = hash(entry.location);
            let mut slot = table.home(hash);
            while table.hashes[slot] != EMPTY {
                slot = table.next(slot);
            }
            table.hashes[slot] = hash;
            // The builder keeps positions below u32::MAX.
            table.positions[slot] = position as u32;
        }
        table
    }

    /// Returns the heap size of the table in bytes.
    pub(super) fn heap_bytes(&self) -> usize {
        self.hashes.capacity() * std::mem::size_of::<u64>()
            + self.positions.capacity() * std::mem::size_of::<u32>()
    }

    /// Returns whether the table has `point`; reads the slots only.
    pub(super) fn contains(&self, point: GeoPoint) -> bool {
        let hash = hash(point);
        let slot = self.home(hash);
        self.probe(hash, slot, self.hashes[slot]).is_some()
    }

    /// Returns the position of the first entry at `point`, if any.
    pub(super) fn position_of(&self, point: GeoPoint) -> Option<usize> {
        let hash = hash(point);
        let slot = self.home(hash);
        self.probe(hash, slot, self.hashes[slot])
            .map(|slot| self.positions[slot] as usize)
    }

    /// Asks the CPU to start loading the first slot of each of `points`, so that a later
    /// lookup of them finds it in cache. Only a hint: it changes no result.
    pub(super) fn prefetch(&self, points: &[GeoPoint]) {
        for point in points {
            prefetch_read(&self.hashes[self.home(hash(*point))]);
        }
    }

    /// Writes whether each point of `points` is in the table into `found` (same length, at
    /// most [`BATCH`]). Every point's first slot is loaded before any is examined.
    pub(super) fn contains_each(&self, points: &[GeoPoint], found: &mut [bool]) {
        let mut hashes = [0u64; BATCH];
        let mut first = [EMPTY; BATCH];
        for ((point, hash), first) in points.iter().zip(&mut hashes).zip(&mut first) {
            *hash = self::hash(*point);
            *first = self.hashes[self.home(*hash)];
        }
        for ((hash, first), found) in hashes.into_iter().zip(first).zip(found) {
            *found = self.probe(hash, self.home(hash), first).is_some();
        }
    }

    /// Returns the slot holding `hash`, probing from `slot` whose content `value` was
    /// already loaded.
    fn probe(&self, hash: u64, mut slot: usize, mut value: u64) -> Option<usize> {
        while value != EMPTY {
            if value == hash {
                return Some(slot);
            }
            slot = self.next(slot);
            value = self.hashes[slot];
        }
        None
    }

    /// Returns the first slot to probe for `hash`: its high bits scaled to the capacity.
    fn home(&self, hash: u64) -> usize {
        ((u128::from(hash) * self.hashes.len() as u128) >> 64) as usize
    }

    fn next(&self, slot: usize) -> usize {
        if slot + 1 == self.hashes.len() {
            0
        } else {
            slot + 1
        }
    }
}

/// Hints the CPU to load the cache line of `value`; no effect on any result.
#[inline]
fn prefetch_read<T>(value: &T) {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse"))]
    // SAFETY: PREFETCHT0 only hints the cache: it never faults, reads nothing into a
    // register and writes nothing. The pointer comes from a live reference, and SSE, the
    // intrinsic's target feature, is enabled (checked by the `cfg`).
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(value).cast());
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse")))]
    let _ = value;
}

/// Packs a point's coordinates into 64 bits, latitude high.
const fn pack(latitude: i32, longitude: i32) -> u64 {
    ((latitude as u32 as u64) << 32) | (longitude as u32 as u64)
}

fn hash(point: GeoPoint) -> u64 {
    mix(pack(point.latitude(), point.longitude()))
}

/// The splitmix64 finaliser: a bijection on `u64` that spreads nearby points apart.
const fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
