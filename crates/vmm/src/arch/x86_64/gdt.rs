//! The boot GDT: null, 64-bit code, data and TSS descriptors, and their hidden-register form.

use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use super::layout::{GDT_START, IDT_START};
use crate::hypervisor::SegmentRegister;

/// Flags word (access byte + flags nibble) of a 64-bit, present, readable code segment.
pub const CODE64_FLAGS: u16 = 0xa09b;
/// Flags word of a present, writable, 4 KiB-granular data segment.
pub const DATA_FLAGS: u16 = 0xc093;
/// Flags word of a present, busy 32/64-bit TSS.
pub const TSS_FLAGS: u16 = 0x808b;

/// The boot GDT: index 0 null, 1 code, 2 data, 3 TSS (selectors 0x08, 0x10, 0x18).
pub const BOOT_GDT: [u64; 4] = [
    0,
    gdt_entry(CODE64_FLAGS, 0, 0xfffff),
    gdt_entry(DATA_FLAGS, 0, 0xfffff),
    gdt_entry(TSS_FLAGS, 0, 0xfffff),
];

/// Index of the code descriptor in [`BOOT_GDT`].
pub const CODE_INDEX: usize = 1;
/// Index of the data descriptor.
pub const DATA_INDEX: usize = 2;
/// Index of the TSS descriptor.
pub const TSS_INDEX: usize = 3;

/// Packs a segment descriptor from its flags word (access byte in bits 0-7, flags in bits 12-15), a
/// 32-bit base and a 20-bit limit.
pub const fn gdt_entry(flags: u16, base: u32, limit: u32) -> u64 {
    let (flags, base, limit) = (flags as u64, base as u64, limit as u64);
    ((base & 0xff00_0000) << 32)
        | ((flags & 0xf0ff) << 40)
        | ((limit & 0x000f_0000) << 32)
        | ((base & 0x00ff_ffff) << 16)
        | (limit & 0xffff)
}

/// The hidden-register form a CPU loads from descriptor `entry` at GDT `index`.
pub fn segment_from_entry(entry: u64, index: usize) -> SegmentRegister {
    let bit = |n: u32| ((entry >> n) & 1) as u8;
    let base = ((entry >> 16) & 0x00ff_ffff) | (((entry >> 56) & 0xff) << 24);
    let raw_limit = ((entry & 0xffff) | (((entry >> 48) & 0xf) << 16)) as u32;
    let g = bit(55);
    let limit = if g == 1 {
        (raw_limit << 12) | 0xfff
    } else {
        raw_limit
    };
    let present = bit(47);
    SegmentRegister {
        base,
        limit,
        selector: (index * 8) as u16,
        type_: ((entry >> 40) & 0xf) as u8,
        present,
        dpl: ((entry >> 45) & 3) as u8,
        db: bit(54),
        s: bit(44),
        l: bit(53),
        g,
        avl: bit(52),
        unusable: u8::from(present == 0),
    }
}

/// Writes [`BOOT_GDT`] at [`GDT_START`] and an empty IDT at [`IDT_START`].
pub fn write_boot_tables(mem: &GuestMemoryMmap) -> Result<(), vm_memory::GuestMemoryError> {
    for (i, entry) in BOOT_GDT.iter().enumerate() {
        mem.write_obj(*entry, GuestAddress(GDT_START + (i as u64) * 8))?;
    }
    mem.write_obj(0u64, GuestAddress(IDT_START))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_segment_is_64_bit_present_ring0() {
        let cs = segment_from_entry(BOOT_GDT[CODE_INDEX], CODE_INDEX);
        assert_eq!(
            (cs.selector, cs.type_, cs.present, cs.dpl, cs.l, cs.db, cs.s),
            (8, 0xb, 1, 0, 1, 0, 1)
        );
        assert_eq!((cs.base, cs.limit, cs.g), (0, 0xffff_ffff, 1));
    }

    #[test]
    fn data_and_tss_segments() {
        let ds = segment_from_entry(BOOT_GDT[DATA_INDEX], DATA_INDEX);
        assert_eq!(
            (ds.selector, ds.type_, ds.db, ds.l, ds.unusable),
            (0x10, 3, 1, 0, 0)
        );
        let tr = segment_from_entry(BOOT_GDT[TSS_INDEX], TSS_INDEX);
        assert_eq!(
            (tr.selector, tr.type_, tr.s, tr.g, tr.limit),
            (0x18, 0xb, 0, 1, 0xffff_ffff)
        );
    }

    #[test]
    fn base_and_limit_round_trip() {
        let e = gdt_entry(DATA_FLAGS & !0x8000, 0x1234_5678, 0xabcde);
        let s = segment_from_entry(e, 5);
        assert_eq!((s.base, s.limit, s.g, s.selector), (0x1234_5678, 0xabcde, 0, 40));
        let null = segment_from_entry(0, 0);
        assert_eq!((null.present, null.unusable), (0, 1));
    }

    #[test]
    fn tables_land_in_guest_memory() {
        let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x1000)]).unwrap();
        write_boot_tables(&mem).unwrap();
        let code: u64 = mem.read_obj(GuestAddress(GDT_START + 8)).unwrap();
        assert_eq!(code, BOOT_GDT[CODE_INDEX]);
        assert_eq!(code, 0x00af_9b00_0000_ffff);
    }
}
