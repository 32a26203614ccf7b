//! The MP table (Intel MultiProcessor Specification 1.4) that tells the kernel how many CPUs there are
//! and how ISA IRQs reach the IOAPIC, written into the EBDA where the kernel scans for it.

use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use super::layout::{APIC_START, EBDA_START, HIGH_MEMORY_START, IOAPIC_PINS, IOAPIC_START, MPTABLE_START};

/// Most vCPUs the table (in the 1 KiB EBDA) describes.
pub const MAX_CPUS: u8 = 32;
const APIC_VERSION: u8 = 0x14;
const IOAPIC_VERSION: u8 = 0x11;
const CPU_ENABLED: u8 = 1;
const CPU_BOOTSTRAP: u8 = 2;
const IRQ_INT: u8 = 0;
const IRQ_NMI: u8 = 1;
const IRQ_EXTINT: u8 = 3;
const ALL_APICS: u8 = 0xff;

/// Errors writing the MP table.
#[derive(Debug, thiserror::Error)]
pub enum MptableError {
    /// Too many or zero vCPUs.
    #[error("{0} vCPUs cannot be described; use 1 to {MAX_CPUS}")]
    CpuCount(u8),
    /// Guest memory does not reach the EBDA.
    #[error("guest memory is too small for the MP table ({0}); give the VM at least 1 MiB")]
    Memory(#[from] vm_memory::GuestMemoryError),
}

/// The IOAPIC's id in the table (one above the last CPU's APIC id).
pub fn ioapic_id(cpus: u8) -> u8 {
    cpus
}

/// Builds the floating pointer and configuration table for `cpus` vCPUs, as placed at `base`.
pub fn build(cpus: u8, base: u64) -> Result<Vec<u8>, MptableError> {
    if cpus == 0 || cpus > MAX_CPUS {
        return Err(MptableError::CpuCount(cpus));
    }
    let table_addr = base + 16;
    let mut entries = Vec::new();
    let mut count = 0u16;
    for id in 0..cpus {
        let flags = CPU_ENABLED | if id == 0 { CPU_BOOTSTRAP } else { 0 };
        entries.extend_from_slice(&[0, id, APIC_VERSION, flags]);
        entries.extend_from_slice(&0x600u32.to_le_bytes()); // family 6 signature
        entries.extend_from_slice(&0x201u32.to_le_bytes()); // FPU | APIC
        entries.extend_from_slice(&[0; 8]);
        count += 1;
    }
    entries.extend_from_slice(&[1, 0]);
    entries.extend_from_slice(b"ISA   ");
    count += 1;
    entries.extend_from_slice(&[2, ioapic_id(cpus), IOAPIC_VERSION, 1]);
    entries.extend_from_slice(&(IOAPIC_START as u32).to_le_bytes());
    count += 1;
    for irq in 0..IOAPIC_PINS as u8 {
        entries.extend_from_slice(&[3, IRQ_INT, 0, 0, 0, irq, ioapic_id(cpus), irq]);
        count += 1;
    }
    entries.extend_from_slice(&[4, IRQ_EXTINT, 0, 0, 0, 0, 0, 0]);
    entries.extend_from_slice(&[4, IRQ_NMI, 0, 0, 0, 0, ALL_APICS, 1]);
    count += 2;

    let mut table = Vec::with_capacity(44 + entries.len());
    table.extend_from_slice(b"PCMP");
    table.extend_from_slice(&((44 + entries.len()) as u16).to_le_bytes());
    table.extend_from_slice(&[4, 0]); // spec 1.4, checksum below
    table.extend_from_slice(b"BERTH   ");
    table.extend_from_slice(b"BERTH-VMM   ");
    table.extend_from_slice(&[0; 6]); // no OEM table
    table.extend_from_slice(&count.to_le_bytes());
    table.extend_from_slice(&(APIC_START as u32).to_le_bytes());
    table.extend_from_slice(&[0; 4]); // no extended entries
    table.extend_from_slice(&entries);
    table[7] = checksum_byte(&table);

    let mut out = Vec::with_capacity(16 + table.len());
    out.extend_from_slice(b"_MP_");
    out.extend_from_slice(&(table_addr as u32).to_le_bytes());
    out.extend_from_slice(&[1, 4, 0, 0, 0, 0, 0, 0]); // 1 paragraph, spec 1.4, checksum, no default config
    out[10] = checksum_byte(&out);
    out.extend_from_slice(&table);
    Ok(out)
}

/// Writes the MP table for `cpus` vCPUs at [`MPTABLE_START`].
pub fn write(mem: &GuestMemoryMmap, cpus: u8) -> Result<(), MptableError> {
    let bytes = build(cpus, MPTABLE_START)?;
    debug_assert!(MPTABLE_START + bytes.len() as u64 <= HIGH_MEMORY_START.min(EBDA_START + 0x400));
    mem.write_slice(&bytes, GuestAddress(MPTABLE_START))?;
    Ok(())
}

/// The byte that makes `bytes` sum to zero (mod 256), given its slot holds 0.
fn checksum_byte(bytes: &[u8]) -> u8 {
    0u8.wrapping_sub(bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(b: &[u8]) -> u8 {
        b.iter().fold(0u8, |a, x| a.wrapping_add(*x))
    }

    #[test]
    fn checksums_and_pointers_are_valid() {
        let b = build(4, MPTABLE_START).unwrap();
        assert_eq!(&b[..4], b"_MP_");
        assert_eq!(sum(&b[..16]), 0);
        assert_eq!(
            u32::from_le_bytes(b[4..8].try_into().unwrap()) as u64,
            MPTABLE_START + 16
        );
        let len = u16::from_le_bytes([b[20], b[21]]) as usize;
        assert_eq!(&b[16..20], b"PCMP");
        assert_eq!(16 + len, b.len());
        assert_eq!(sum(&b[16..]), 0);
    }

    #[test]
    fn one_processor_entry_per_cpu_first_is_bootstrap() {
        let b = build(3, MPTABLE_START).unwrap();
        let entry_count = u16::from_le_bytes([b[16 + 34], b[16 + 35]]);
        assert_eq!(entry_count, 3 + 1 + 1 + 24 + 2);
        let first = 16 + 44;
        assert_eq!(
            &b[first..first + 4],
            &[0, 0, APIC_VERSION, CPU_ENABLED | CPU_BOOTSTRAP]
        );
        assert_eq!(&b[first + 20..first + 24], &[0, 1, APIC_VERSION, CPU_ENABLED]);
    }

    #[test]
    fn largest_table_fits_in_the_ebda_and_bad_counts_are_refused() {
        assert!(build(MAX_CPUS, MPTABLE_START).unwrap().len() <= 0x400);
        assert!(matches!(build(0, MPTABLE_START), Err(MptableError::CpuCount(0))));
        assert!(matches!(
            build(33, MPTABLE_START),
            Err(MptableError::CpuCount(33))
        ));
    }

    #[test]
    fn written_into_guest_memory_or_refused_when_too_small() {
        let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x10_0000)]).unwrap();
        write(&mem, 2).unwrap();
        let mut sig = [0u8; 4];
        mem.read_slice(&mut sig, GuestAddress(MPTABLE_START)).unwrap();
        assert_eq!(&sig, b"_MP_");
        let small = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x1000)]).unwrap();
        assert!(matches!(write(&small, 1), Err(MptableError::Memory(_))));
    }
}
