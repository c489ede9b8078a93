//! `HugePageArray`: a fixed-length array that the kernel may back with 2 MiB pages.
//!
//! A table read at random, like the point table, touches a different 4 KiB page on
//! nearly every lookup; once it spans more pages than the TLB holds, each lookup also
//! pays a page-table walk, which under virtualisation costs as much as the cache miss.
//! Backed by 2 MiB pages, the same table needs a few TLB entries.
//!
//! Linux's transparent huge pages are often enabled only for memory that asks for them
//! (`madvise` mode), so the array lives in an anonymous mapping of its own, aligned to
//! 2 MiB and advised `MADV_HUGEPAGE` before anything touches it. Where the kernel
//! declines, or off Linux, it is ordinary memory: the contents, and so every result, are
//! the same; only the speed differs.

use std::fmt;
use std::io;
use std::marker::PhantomData;

use bytemuck::Pod;
use memmap2::{MmapMut, MmapOptions};

/// The size and alignment of a transparent huge page on x86-64 and most 64-bit Arm kernels.
const HUGE_PAGE: usize = 2 << 20;

/// A fixed-length array of `T`: in an anonymous mapping of its own when it spans a huge
/// page or more, on the heap otherwise (or if the mapping fails).
pub(super) struct HugePageArray<T> {
    storage: Storage<T>,
}

enum Storage<T> {
    Mapped {
        map: MmapMut,
        /// Where the array starts in `map`: the first 2 MiB boundary.
        offset: usize,
        len: usize,
        element: PhantomData<T>,
    },
    Heap(Vec<T>),
}

impl<T: Pod> HugePageArray<T> {
    /// Returns an array of `len` copies of `value`, on huge pages if it spans at least one
    /// and the kernel grants them.
    pub(super) fn filled(len: usize, value: T) -> Self {
        let storage = len
            .checked_mul(size_of::<T>())
            .filter(|&bytes| bytes >= HUGE_PAGE)
            .and_then(|bytes| Self::map(len, bytes).ok())
            .unwrap_or_else(|| Storage::Heap(vec![T::zeroed(); len]));
        let mut array = Self { storage };
        array.as_mut_slice().fill(value);
        array
    }

    /// Returns `len` zeroed elements (`bytes` in all) at a 2 MiB boundary of a new
    /// mapping, which was advised to use huge pages before anything touched it.
    fn map(len: usize, bytes: usize) -> io::Result<Storage<T>> {
        // Whole huge pages, so that the array's tail gets one too, and room to start at a
        // 2 MiB boundary: the mapping itself is only page-aligned.
        let too_large = || io::Error::new(io::ErrorKind::OutOfMemory, "array too large to map");
        let pages = bytes
            .div_ceil(HUGE_PAGE)
            .checked_mul(HUGE_PAGE)
            .ok_or_else(too_large)?;
        let mapped = pages.checked_add(HUGE_PAGE).ok_or_else(too_large)?;
        let map = MmapOptions::new().len(mapped).map_anon()?;
        let address = map.as_ptr() as usize;
        let offset = (HUGE_PAGE - address % HUGE_PAGE) % HUGE_PAGE;
        #[cfg(target_os = "linux")]
        {
            // Only a hint: without huge pages the array works the same.
            let _ = map.advise_range(memmap2::Advice::HugePage, offset, pages);
        }
        Ok(Storage::Mapped {
            map,
            offset,
            len,
            element: PhantomData,
        })
    }

    /// Returns the elements.
    pub(super) fn as_slice(&self) -> &[T] {
        match &self.storage {
            // Cannot panic: the mapping is page-aligned and `address + offset` a multiple
            // of 2 MiB, so the range is aligned for `T` (at most a page), and it holds
            // exactly `len` elements inside the mapping (`offset + pages <= map.len()`).
            Storage::Mapped {
                map, offset, len, ..
            } => bytemuck::cast_slice(&map[*offset..*offset + *len * size_of::<T>()]),
            Storage::Heap(vec) => vec,
        }
    }

    /// Returns the elements for writing.
    pub(super) fn as_mut_slice(&mut self) -> &mut [T] {
        match &mut self.storage {
            Storage::Mapped {
                map, offset, len, ..
            } => bytemuck::cast_slice_mut(&mut map[*offset..*offset + *len * size_of::<T>()]),
            Storage::Heap(vec) => vec,
        }
    }

    /// Returns the number of elements.
    pub(super) fn len(&self) -> usize {
        match &self.storage {
            Storage::Mapped { len, .. } => *len,
            Storage::Heap(vec) => vec.len(),
        }
    }

    /// Returns how many bytes the array reserves: its mapping (resident or not) or its
    /// heap allocation.
    pub(super) fn reserved_bytes(&self) -> usize {
        match &self.storage {
            Storage::Mapped { map, .. } => map.len(),
            Storage::Heap(vec) => vec.capacity() * size_of::<T>(),
        }
    }

    /// Returns whether the array lives in a mapping of its own (and so may be on huge pages).
    #[cfg(test)]
    fn is_mapped(&self) -> bool {
        matches!(self.storage, Storage::Mapped { .. })
    }
}

impl<T: Pod> Clone for HugePageArray<T> {
    /// Returns a copy in storage of its own, chosen as [`HugePageArray::filled`] chooses.
    fn clone(&self) -> Self {
        let mut copy = Self::filled(self.len(), T::zeroed());
        copy.as_mut_slice().copy_from_slice(self.as_slice());
        copy
    }
}

impl<T> fmt::Debug for HugePageArray<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, len) = match &self.storage {
            Storage::Mapped { len, .. } => ("mapped", *len),
            Storage::Heap(vec) => ("heap", vec.len()),
        };
        f.debug_struct("HugePageArray")
            .field("storage", &kind)
            .field("len", &len)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_what_was_written_at_any_size() {
        for len in [0, 1, 7, 262_144, 262_145, 600_000] {
            let mut array = HugePageArray::<u64>::filled(len, 7);
            assert_eq!(array.as_slice().len(), len);
            assert!(array.as_slice().iter().all(|&v| v == 7));
            if let Some(last) = array.as_mut_slice().last_mut() {
                *last = 9;
            }
            assert_eq!(array.as_slice().last().copied(), (len > 0).then_some(9));
            assert_eq!(array.clone().as_slice(), array.as_slice());
            assert!(array.reserved_bytes() >= len * 8);
            assert_eq!(array.len(), len);
            assert_eq!(array.is_mapped(), len * 8 >= HUGE_PAGE);
        }
    }

    #[test]
    fn arrays_of_a_huge_page_or_more_start_on_a_huge_page_boundary() {
        let array = HugePageArray::<u64>::filled(HUGE_PAGE / 8 + 3, 1);
        assert!(array.is_mapped());
        assert_eq!(array.as_slice().as_ptr() as usize % HUGE_PAGE, 0);
    }
}
