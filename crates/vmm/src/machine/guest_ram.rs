//! Guest RAM: private anonymous mappings that start on a 2 MiB boundary, with transparent huge pages
//! asked for.
//!
//! KVM maps a guest-physical 2 MiB block with one huge page in its nested page tables only when the
//! host memory behind it is one huge page too, which needs the host address to be aligned like the guest
//! address. A plain `mmap` of the region's size comes back merely 4 KiB-aligned, so every mapping would
//! be 4 KiB and each guest TLB miss would walk two full page tables. Measured under the nested harness
//! (TESTING.md, tier 3), the guest kernel ran its CPU-bound boot steps about 1.6× slower than under
//! QEMU, which aligns its RAM this way. `MADV_HUGEPAGE` asks for huge pages where the host's
//! transparent huge pages are in `madvise` mode (Debian's default); the balloon still returns memory in
//! 4 KiB pages. A busy guest reports free memory in 2 MiB blocks (see the agent's `reclaim`), so whole
//! huge pages go back; an idle one reports any size, and the balloon takes the 2 MiB blocks around such
//! small reports off huge pages for good (`balloon::pages::no_huge_pages_around`).
//!
//! The mappings are private and anonymous, as before: the balloon's `MADV_DONTNEED` gives pages back.
//! They are never unmapped: device and vCPU threads hold the memory for as long as the VM runs, and a
//! berth-vmm process runs one VM, so the mapping ends with the process.

use std::io;
use std::ptr::null_mut;

use vm_memory::mmap::MmapRegionBuilder;
use vm_memory::{GuestAddress, GuestMemoryMmap, GuestRegionMmap};

/// Alignment of each region's host mapping: one x86_64 huge page.
pub const HUGE_PAGE: usize = 2 << 20;

/// Maps `ranges` (guest address, size) as guest memory, each host mapping aligned to [`HUGE_PAGE`].
pub fn allocate(ranges: &[(GuestAddress, usize)]) -> io::Result<GuestMemoryMmap> {
    let mut regions = Vec::with_capacity(ranges.len());
    for &(guest, size) in ranges {
        let host = map_aligned(size)?;
        let prot = libc::PROT_READ | libc::PROT_WRITE;
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
        // SAFETY: `host..host+size` is a mapping this function just created with `prot` and `flags`, and
        // nothing ever unmaps it (module docs), so it stays valid for the region's whole life.
        let region = unsafe { MmapRegionBuilder::new(size).with_raw_mmap_pointer(host) }
            .with_mmap_prot(prot)
            .with_mmap_flags(flags)
            .build()
            .map_err(io::Error::other)?;
        let region = GuestRegionMmap::new(region, guest)
            .ok_or_else(|| io::Error::other(format!("guest region at {:#x} overflows", guest.0)))?;
        regions.push(region);
    }
    GuestMemoryMmap::from_regions(regions).map_err(io::Error::other)
}

/// A private anonymous mapping of `size` bytes whose start is a multiple of [`HUGE_PAGE`]: maps
/// `size + HUGE_PAGE`, then unmaps the slack before and after the aligned part.
fn map_aligned(size: usize) -> io::Result<*mut u8> {
    let total = size
        .checked_add(HUGE_PAGE)
        .ok_or_else(|| io::Error::other("guest memory size overflows"))?;
    // SAFETY: a fresh anonymous mapping at an address of the kernel's choosing (no MAP_FIXED) cannot
    // alias any memory Rust knows about.
    let raw = unsafe {
        libc::mmap(
            null_mut(),
            total,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if raw == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    let start = raw as usize;
    let aligned = start.next_multiple_of(HUGE_PAGE);
    let head = aligned - start;
    let tail = total - head - size;
    // SAFETY: `start..aligned` and `aligned+size..start+total` are the two ends of the mapping made
    // above, outside the part we keep; unmapping them touches nothing else.
    unsafe {
        if head > 0 {
            libc::munmap(raw, head);
        }
        if tail > 0 {
            libc::munmap((aligned + size) as *mut libc::c_void, tail);
        }
    }
    // SAFETY: advice on the mapping we own. It fails harmlessly (EINVAL) where the kernel has no
    // transparent huge pages; the memory then simply stays in 4 KiB pages.
    let _ = unsafe { libc::madvise(aligned as *mut libc::c_void, size, libc::MADV_HUGEPAGE) };
    Ok(aligned as *mut u8)
}

#[cfg(test)]
mod tests {
    use vm_memory::{Bytes, GuestMemoryBackend, GuestMemoryRegion};

    use super::*;

    #[test]
    fn regions_start_on_huge_page_boundaries_and_hold_data() {
        let mem = allocate(&[(GuestAddress(0), 6 << 20), (GuestAddress(1 << 32), 3 << 20)]).unwrap();
        assert_eq!(mem.num_regions(), 2);
        for region in mem.iter() {
            let host = region
                .get_host_address(vm_memory::MemoryRegionAddress(0))
                .unwrap() as usize;
            assert_eq!(host % HUGE_PAGE, 0, "host address {host:#x} is not 2 MiB-aligned");
        }
        mem.write_obj(0xdead_beef_u32, GuestAddress((6 << 20) - 4))
            .unwrap();
        mem.write_obj(7u8, GuestAddress((1 << 32) + (3 << 20) - 1))
            .unwrap();
        assert_eq!(
            mem.read_obj::<u32>(GuestAddress((6 << 20) - 4)).unwrap(),
            0xdead_beef
        );
        assert!(
            mem.read_obj::<u8>(GuestAddress(6 << 20)).is_err(),
            "nothing past the first region"
        );
    }
}
