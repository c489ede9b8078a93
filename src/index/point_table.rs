//! `PointTable`: exact-point lookups that usually read one cache line, and batches whose
//! misses overlap.
//!
//! A read-only open-addressing table from a point to the position of the first index entry
//! at that point. Slots come in buckets of eight, one 64-byte cache line each; a point
//! lives in its home bucket unless that bucket is full, and then in the next bucket with
//! room (linear probing by bucket, at most two thirds full: about 4% of points spill, and
//! a lookup that misses reads a second line for about a fifth of home buckets, which are
//! full). A slot holds the point's 64-bit hash, which is a bijection of the point, so
//! comparing hashes compares points. A lookup compares all eight slots of a bucket without
//! branching on each; the positions live in a parallel array read only when the feature
//! itself is wanted.
//!
//! Written by hand because no hash-map crate offers what makes it worth having: a lookup
//! whose one (home) cache line is known in advance, so that its load can be requested
//! ahead of time and RecordRoute (which looks up every point of a route) overlaps the
//! misses of many points with other work.

use super::Entry;
use super::huge_pages::HugePageArray;
use crate::geo::GeoPoint;

/// Marks an empty slot: the hash of a point whose latitude is out of range, so no real
/// point hashes to it.
const EMPTY: u64 = mix(pack(i32::MAX, i32::MAX));

/// Slots per bucket: one 64-byte cache line of hashes.
const LANES: usize = 8;

/// Points looked up together by [`PointTable::contains_each`]: enough to keep the core's
/// outstanding misses busy, small enough to stay on the stack.
pub(super) const BATCH: usize = 16;

/// One cache line of slots.
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, align(64))]
struct Bucket([u64; LANES]);

impl Bucket {
    /// Returns the lane holding `hash`, if any; compares every lane.
    fn lane_of(&self, hash: u64) -> Option<usize> {
        let mut found = LANES;
        for (lane, &value) in self.0.iter().enumerate() {
            if value == hash {
                found = lane;
            }
        }
        (found < LANES).then_some(found)
    }

    /// Returns whether any lane is empty, so that no point probing here goes further.
    fn has_room(&self) -> bool {
        self.0
            .iter()
            .fold(false, |room, &value| room | (value == EMPTY))
    }
}

/// Maps every distinct point of an index to the position of its first entry.
#[derive(Debug, Clone)]
pub(super) struct PointTable {
    /// The hash of the point stored in each slot, or [`EMPTY`]; on huge pages where the
    /// kernel grants them, because lookups land on random pages.
    buckets: HugePageArray<Bucket>,
    /// The position of the first entry at the point of the same slot (`bucket * LANES + lane`).
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
        // Two thirds full at most, and never full: a point spills out of its home bucket
        // rarely, and every probe meets a bucket with room.
        let buckets = (distinct + distinct / 2) / LANES + 1;
        let mut table = Self {
            buckets: HugePageArray::filled(buckets, Bucket([EMPTY; LANES])),
            positions: vec![0; buckets * LANES],
        };
        let mut previous = None;
        for (position, entry) in entries.iter().enumerate() {
            if previous == Some(entry.location) {
                continue;
            }
            previous = Some(entry.location);
            let hash = hash(entry.location);
            let mut bucket = table.home(hash);
            loop {
                let slots = &mut table.buckets.as_mut_slice()[bucket].0;
                if let Some(lane) = slots.iter().position(|&value| value == EMPTY) {
                    slots[lane] = hash;
                    // The builder keeps positions below u32::MAX.
                    table.positions[bucket * LANES + lane] = position as u32;
                    break;
                }
                bucket = table.next(bucket);
            }
        }
        table
    }

    /// Returns the heap size of the table in bytes.
    pub(super) fn heap_bytes(&self) -> usize {
        self.buckets.reserved_bytes() + self.positions.capacity() * std::mem::size_of::<u32>()
    }

    /// Returns whether the table has `point`; reads the slots only.
    pub(super) fn contains(&self, point: GeoPoint) -> bool {
        self.slot_of(hash(point)).is_some()
    }

    /// Returns the position of the first entry at `point`, if any.
    pub(super) fn position_of(&self, point: GeoPoint) -> Option<usize> {
        self.slot_of(hash(point))
            .map(|slot| self.positions[slot] as usize)
    }

    /// Asks the CPU to start loading the home bucket of each of `points`, so that a later
    /// lookup of them finds it in cache. Only a hint: it changes no result.
    pub(super) fn prefetch(&self, points: &[GeoPoint]) {
        for point in points {
            prefetch_read(&self.buckets.as_slice()[self.home(hash(*point))]);
        }
    }

    /// Writes whether each point of `points` is in the table into `found` (same length, at
    /// most [`BATCH`]). Every point's home bucket is loaded before any is examined, so the
    /// cache misses of the batch overlap instead of queuing behind each check's branches.
    pub(super) fn contains_each(&self, points: &[GeoPoint], found: &mut [bool]) {
        debug_assert!(points.len() <= BATCH && found.len() == points.len());
        let buckets = self.buckets.as_slice();
        let mut hashes = [0u64; BATCH];
        let mut first_lanes = [EMPTY; BATCH];
        for ((point, hash), first) in points.iter().zip(&mut hashes).zip(&mut first_lanes) {
            *hash = self::hash(*point);
            *first = buckets[self.home(*hash)].0[0];
        }
        for ((hash, first), found) in hashes.into_iter().zip(first_lanes).zip(found) {
            *found = first == hash || self.slot_of(hash).is_some();
        }
    }

    /// Returns the slot (`bucket * LANES + lane`) holding `hash`, if any.
    fn slot_of(&self, hash: u64) -> Option<usize> {
        let buckets = self.buckets.as_slice();
        let mut bucket = self.home(hash);
        loop {
            let slots = &buckets[bucket];
            if let Some(lane) = slots.lane_of(hash) {
                return Some(bucket * LANES + lane);
            }
            if slots.has_room() {
                return None;
            }
            bucket = self.next(bucket);
        }
    }

    /// Returns the home bucket of `hash`: its high bits scaled to the bucket count.
    fn home(&self, hash: u64) -> usize {
        ((u128::from(hash) * self.buckets.len() as u128) >> 64) as usize
    }

    fn next(&self, bucket: usize) -> usize {
        if bucket + 1 == self.buckets.len() {
            0
        } else {
            bucket + 1
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
