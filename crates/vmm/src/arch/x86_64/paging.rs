//! Identity page tables for the boot vCPU: the first [`PDE_COUNT`] GiB mapped with 2 MiB pages, which
//! covers the kernel, the zero page, the command line and the MMIO gap (so tiny test guests reach the
//! devices). Linux replaces them early in boot.

use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use super::layout::{PDE_COUNT, PDE_START, PDPTE_START, PML4_START};

/// Present + writable.
const PRESENT_RW: u64 = 0x3;
/// Present + writable + 2 MiB page.
const PRESENT_RW_HUGE: u64 = 0x83;

/// Writes the PML4, PDPT and page directories; returns the value for CR3.
pub fn write_identity_tables(mem: &GuestMemoryMmap) -> Result<u64, vm_memory::GuestMemoryError> {
    mem.write_obj(PDPTE_START | PRESENT_RW, GuestAddress(PML4_START))?;
    for gib in 0..PDE_COUNT {
        let pd = PDE_START + gib * 0x1000;
        mem.write_obj(pd | PRESENT_RW, GuestAddress(PDPTE_START + gib * 8))?;
        for i in 0..512u64 {
            let phys = (gib << 30) | (i << 21);
            mem.write_obj(phys | PRESENT_RW_HUGE, GuestAddress(pd + i * 8))?;
        }
    }
    Ok(PML4_START)
}

/// Walks the tables like the MMU would for `virt` (4-level, 2 MiB leaves); `None` if not mapped.
pub fn translate(mem: &GuestMemoryMmap, cr3: u64, virt: u64) -> Option<u64> {
    let mask = 0x000f_ffff_ffff_f000u64;
    let pml4e: u64 = mem
        .read_obj(GuestAddress((cr3 & mask) + ((virt >> 39) & 0x1ff) * 8))
        .ok()?;
    if pml4e & 1 == 0 {
        return None;
    }
    let pdpte: u64 = mem
        .read_obj(GuestAddress((pml4e & mask) + ((virt >> 30) & 0x1ff) * 8))
        .ok()?;
    if pdpte & 1 == 0 {
        return None;
    }
    let pde: u64 = mem
        .read_obj(GuestAddress((pdpte & mask) + ((virt >> 21) & 0x1ff) * 8))
        .ok()?;
    if pde & 1 == 0 || pde & 0x80 == 0 {
        return None;
    }
    Some((pde & 0x000f_ffff_ffe0_0000) | (virt & 0x1f_ffff))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_maps_four_gib_and_nothing_above() {
        let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x10_0000)]).unwrap();
        let cr3 = write_identity_tables(&mem).unwrap();
        assert_eq!(cr3, PML4_START);
        for addr in [
            0u64,
            0x7000,
            0x10_0200,
            0x3fff_ffff,
            0xd000_0000,
            0xfee0_0010,
            0xffff_ffff,
        ] {
            assert_eq!(translate(&mem, cr3, addr), Some(addr), "{addr:#x}");
        }
        assert_eq!(translate(&mem, cr3, 1 << 32), None);
    }
}
