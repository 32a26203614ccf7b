//! Giving guest pages back to the host: every range is checked to lie entirely inside guest memory
//! (possibly over several regions) before the first `madvise(MADV_DONTNEED)`, and only whole host pages
//! inside it are released. Guest memory is a private anonymous mapping, so a released page costs the host
//! nothing until the guest touches it again, and then reads as zeros.

use vm_memory::{GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion};

/// Size of a balloon page: PFNs in the inflate and deflate queues count 4 KiB pages.
pub const BALLOON_PAGE_SIZE: u64 = 1 << PFN_SHIFT;
/// `VIRTIO_BALLOON_PFN_SHIFT`.
pub const PFN_SHIFT: u32 = 12;

/// One x86_64 transparent huge page. Free page reports of whole ones free them outright; a smaller one
/// splits the huge page it lies in.
pub const HUGE_PAGE: u64 = 2 << 20;

/// A range the guest asked us to release that we refused.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// Not a whole number of 4 KiB pages at a 4 KiB boundary.
    #[error("range {addr:#x}+{len:#x} is empty or not whole 4 KiB pages")]
    Unaligned {
        /// Guest address.
        addr: u64,
        /// Length.
        len: u64,
    },
    /// Some byte of the range is not guest RAM.
    #[error("range {addr:#x}+{len:#x} is not entirely inside guest memory")]
    OutOfRange {
        /// Guest address.
        addr: u64,
        /// Length.
        len: u64,
    },
    /// The host refused the madvise.
    #[error("madvise(MADV_DONTNEED) failed: {0}")]
    Madvise(#[source] std::io::Error),
}

/// The host's page size.
pub fn host_page_size() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(n)
        .ok()
        .filter(|n| n.is_power_of_two())
        .unwrap_or(4096)
}

/// The host pieces of `addr..addr+len`, one per guest memory region it crosses, or an error if any byte
/// is outside guest memory. `(host pointer, length)`.
fn host_pieces(mem: &GuestMemoryMmap, addr: u64, len: u64) -> Result<Vec<(*mut u8, u64)>, ReleaseError> {
    let out_of_range = || ReleaseError::OutOfRange { addr, len };
    let end = addr.checked_add(len).ok_or_else(out_of_range)?;
    let mut pieces = Vec::new();
    let mut at = addr;
    while at < end {
        let (region, offset) = mem.to_region_addr(GuestAddress(at)).ok_or_else(out_of_range)?;
        let n = (region.len() - offset.0).min(end - at);
        let host = region.get_host_address(offset).map_err(|_| out_of_range())?;
        pieces.push((host, n));
        at += n;
    }
    Ok(pieces)
}

/// Checks `addr..addr+len` is whole 4 KiB pages of guest memory; returns its host pieces.
pub fn check(mem: &GuestMemoryMmap, addr: u64, len: u64) -> Result<Vec<(*mut u8, u64)>, ReleaseError> {
    if len == 0 || !addr.is_multiple_of(BALLOON_PAGE_SIZE) || !len.is_multiple_of(BALLOON_PAGE_SIZE) {
        return Err(ReleaseError::Unaligned { addr, len });
    }
    host_pieces(mem, addr, len)
}

/// Releases the guest range `addr..addr+len` (whole 4 KiB pages) to the host. Nothing is released unless
/// the whole range is guest memory. Host pages only partly inside the range are kept (hosts with pages
/// over 4 KiB release less).
pub fn release(mem: &GuestMemoryMmap, addr: u64, len: u64) -> Result<u64, ReleaseError> {
    let pieces = check(mem, addr, len)?;
    let page = host_page_size();
    let mut released = 0;
    for (host, n) in pieces {
        let start = host as u64;
        let first = start.next_multiple_of(page);
        let last = (start + n) / page * page;
        if first >= last {
            continue;
        }
        // SAFETY: `first..last` lies inside `host..host+n`, which `host_pieces` took from one region of
        // `mem` (a live mapping we own for the life of the VM); MADV_DONTNEED on a private anonymous
        // mapping only drops its contents, which the guest asked for, and never unmaps it.
        let rc = unsafe {
            libc::madvise(
                first as *mut libc::c_void,
                (last - first) as usize,
                libc::MADV_DONTNEED,
            )
        };
        if rc != 0 {
            return Err(ReleaseError::Madvise(std::io::Error::last_os_error()));
        }
        released += last - first;
    }
    Ok(released)
}

/// Stops backing the 2 MiB blocks of guest RAM around `addr..addr+len` with transparent huge pages
/// (`MADV_NOHUGEPAGE`), for good. The guest reports free blocks under 2 MiB only when it is idle and wants
/// its scattered free pages back (the agent's reclaim): released, each splits the huge page it lies in,
/// and khugepaged would in time collapse the rest of that page back into a whole one, taking the memory
/// again. Only the blocks around such reports change: the rest of guest RAM keeps its huge pages, so
/// memory the guest fills and frees in bulk later still goes back (and comes back) a huge page at a time.
/// `addr..addr+len` must lie in guest memory ([`check`]).
pub fn no_huge_pages_around(mem: &GuestMemoryMmap, addr: u64, len: u64) {
    let mut at = addr;
    let end = addr.saturating_add(len);
    while at < end {
        let Some((region, offset)) = mem.to_region_addr(GuestAddress(at)) else {
            return;
        };
        let Ok(base) = region.get_host_address(vm_memory::MemoryRegionAddress(0)) else {
            return;
        };
        let (base, size) = (base as u64, region.len());
        let n = (size - offset.0).min(end - at);
        let lo = (base + offset.0) / HUGE_PAGE * HUGE_PAGE;
        let hi = (base + offset.0 + n).next_multiple_of(HUGE_PAGE);
        let (lo, hi) = (lo.max(base), hi.min(base + size));
        // SAFETY: advice on part of one region of guest memory, a live mapping we own for the life of the
        // VM; it changes how the kernel backs the pages, never their contents. It fails harmlessly
        // (EINVAL) on a kernel without transparent huge pages.
        let _ = unsafe { libc::madvise(lo as *mut libc::c_void, (hi - lo) as usize, libc::MADV_NOHUGEPAGE) };
        at += n;
    }
}

/// Contiguous runs of PFNs as guest byte ranges `(address, length)`, in the order given.
pub fn pfn_ranges(pfns: &[u32]) -> Vec<(u64, u64)> {
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for &pfn in pfns {
        let addr = u64::from(pfn) << PFN_SHIFT;
        match ranges.last_mut() {
            Some((start, len)) if *start + *len == addr => *len += BALLOON_PAGE_SIZE,
            _ => ranges.push((addr, BALLOON_PAGE_SIZE)),
        }
    }
    ranges
}

#[cfg(test)]
mod tests {
    use vm_memory::Bytes;

    use super::*;

    /// Whether the host page behind guest `addr` is resident (mincore).
    fn resident(mem: &GuestMemoryMmap, addr: u64) -> bool {
        let host = mem.get_host_address(GuestAddress(addr)).unwrap() as usize;
        let page = host_page_size() as usize;
        let mut vec = 0u8;
        // SAFETY: one page at a page boundary inside guest memory; `vec` receives one byte.
        let rc = unsafe { libc::mincore((host / page * page) as *mut libc::c_void, page, &mut vec) };
        assert_eq!(rc, 0);
        vec & 1 == 1
    }

    #[test]
    fn released_pages_read_back_zero_and_leave_memory_resident_set() {
        let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 1 << 20)]).unwrap();
        mem.write_slice(&[0xab; 3 * 4096], GuestAddress(0x4000)).unwrap();
        assert!(resident(&mem, 0x5000));
        assert_eq!(release(&mem, 0x5000, 4096).unwrap(), 4096);
        assert!(!resident(&mem, 0x5000), "the page left the host's memory");
        assert_eq!(mem.read_obj::<u64>(GuestAddress(0x5000)).unwrap(), 0);
        assert_eq!(mem.read_obj::<u8>(GuestAddress(0x4fff)).unwrap(), 0xab);
        assert_eq!(mem.read_obj::<u8>(GuestAddress(0x6000)).unwrap(), 0xab);
    }

    #[test]
    fn ranges_over_two_regions_are_released_but_not_across_a_hole() {
        let mem = GuestMemoryMmap::<()>::from_ranges(&[
            (GuestAddress(0), 0x10000),
            (GuestAddress(0x10000), 0x10000),
            (GuestAddress(0x40000), 0x10000),
        ])
        .unwrap();
        mem.write_slice(&[1; 0x2000], GuestAddress(0xf000)).unwrap();
        assert_eq!(release(&mem, 0xf000, 0x2000).unwrap(), 0x2000);
        assert_eq!(mem.read_obj::<u8>(GuestAddress(0x10000)).unwrap(), 0);
        mem.write_slice(&[1; 0x1000], GuestAddress(0x1f000)).unwrap();
        assert!(matches!(
            release(&mem, 0x1f000, 0x2000),
            Err(ReleaseError::OutOfRange { .. })
        ));
        assert_eq!(
            mem.read_obj::<u8>(GuestAddress(0x1f000)).unwrap(),
            1,
            "nothing released"
        );
        for (a, l) in [(0x50000, 0x1000), (u64::MAX - 0xfff, 0x1000), (1 << 40, 0x1000)] {
            assert!(
                matches!(release(&mem, a, l), Err(ReleaseError::OutOfRange { .. })),
                "{a:#x}"
            );
        }
        for (a, l) in [(0x1000, 0), (0x1001, 0x1000), (0x1000, 0x800)] {
            assert!(
                matches!(release(&mem, a, l), Err(ReleaseError::Unaligned { .. })),
                "{a:#x}+{l:#x}"
            );
        }
    }

    #[test]
    fn consecutive_pfns_coalesce() {
        assert_eq!(
            pfn_ranges(&[5, 6, 7, 9, 3, 4]),
            vec![(0x5000, 0x3000), (0x9000, 0x1000), (0x3000, 0x2000)]
        );
        assert!(pfn_ranges(&[]).is_empty());
        assert_eq!(pfn_ranges(&[u32::MAX]), vec![(u64::from(u32::MAX) << 12, 0x1000)]);
    }
}
