//! Every guest physical address berth-vmm uses on x86_64, in one place.
//!
//! ```text
//! 0x0000_0500  GDT            0x0000_0520  IDT (empty)
//! 0x0000_7000  zero page      0x0000_8ff0  boot stack top
//! 0x0000_9000  PML4           0x0000_a000  PDPT   0x0000_b000..0x0000_f000  4 PDs (identity map 4 GiB)
//! 0x0002_0000  command line   0x0009_fc00  EBDA: MP table
//! 0x0010_0000  kernel (64-bit entry at load address + 0x200)
//! 0xc000_0000..4 GiB  MMIO gap: virtio-mmio 0xd000_0000.., IOAPIC 0xfec0_0000, LAPIC 0xfee0_0000,
//!                     KVM's TSS 0xfffb_d000
//! 4 GiB..      the rest of RAM
//! ```

/// Global descriptor table.
pub const GDT_START: u64 = 0x500;
/// Interrupt descriptor table (empty; the kernel installs its own).
pub const IDT_START: u64 = 0x520;
/// The Linux zero page (`struct boot_params`), passed in `rsi`.
pub const ZERO_PAGE_START: u64 = 0x7000;
/// Initial stack pointer of the boot vCPU.
pub const BOOT_STACK_POINTER: u64 = 0x8ff0;
/// Page map level 4.
pub const PML4_START: u64 = 0x9000;
/// Page directory pointer table.
pub const PDPTE_START: u64 = 0xa000;
/// First of [`PDE_COUNT`] page directories.
pub const PDE_START: u64 = 0xb000;
/// Page directories, one per GiB identity mapped.
pub const PDE_COUNT: u64 = 4;
/// Kernel command line.
pub const CMDLINE_START: u64 = 0x20000;
/// Largest command line, including the terminating NUL (the x86 `COMMAND_LINE_SIZE`).
pub const CMDLINE_MAX_SIZE: usize = 2048;
/// Start of the extended BIOS data area; RAM below it is usable, the MP table lives in it.
pub const EBDA_START: u64 = 0x9fc00;
/// MP floating pointer and configuration table.
pub const MPTABLE_START: u64 = EBDA_START;
/// First byte above the legacy hole (video RAM and BIOS); the kernel is loaded here.
pub const HIGH_MEMORY_START: u64 = 0x10_0000;
/// Start of the 32-bit MMIO gap; RAM above this goes above 4 GiB.
pub const MMIO_GAP_START: u64 = 0xc000_0000;
/// End of the 32-bit MMIO gap.
pub const MMIO_GAP_END: u64 = 1 << 32;
/// First virtio-mmio device window.
pub const VIRTIO_MMIO_START: u64 = 0xd000_0000;
/// Size of one virtio-mmio device window.
pub const VIRTIO_MMIO_SIZE: u64 = 0x1000;
/// IRQ of the first virtio-mmio device; later devices count up.
pub const VIRTIO_MMIO_FIRST_IRQ: u32 = 5;
/// IOAPIC registers.
pub const IOAPIC_START: u64 = 0xfec0_0000;
/// Local APIC registers.
pub const APIC_START: u64 = 0xfee0_0000;
/// Three pages KVM needs for the real-mode TSS on Intel (`KVM_SET_TSS_ADDR`).
pub const KVM_TSS_START: u64 = 0xfffb_d000;
/// Number of IOAPIC pins (IRQs 0..=23).
pub const IOAPIC_PINS: u32 = 24;
/// COM1 port base.
pub const SERIAL_PORT: u16 = 0x3f8;
/// COM1 port count.
pub const SERIAL_PORT_LEN: u16 = 8;
/// COM1 IRQ.
pub const SERIAL_IRQ: u32 = 4;
/// i8042 keyboard controller ports 0x60..=0x64 (reset is 0xfe written to 0x64).
pub const I8042_PORT: u16 = 0x60;
/// i8042 port count.
pub const I8042_PORT_LEN: u16 = 5;
/// i8042 keyboard IRQ.
pub const I8042_KBD_IRQ: u32 = 1;
/// The CMOS RTC's IRQ: Linux's rtc_cmos claims it even though our RTC raises no interrupts, so no virtio
/// device may share it (the guest then has no /dev/rtc0: "genirq: Flags mismatch irq 8").
pub const RTC_IRQ: u32 = 8;
/// CMOS RTC ports: 0x70 index, 0x71 data.
pub const RTC_PORT: u16 = 0x70;
/// CMOS RTC port count.
pub const RTC_PORT_LEN: u16 = 2;

/// The RAM regions for `mem_size` bytes of guest memory: below the MMIO gap, and the rest above 4 GiB.
pub fn ram_regions(mem_size: u64) -> Vec<(u64, u64)> {
    if mem_size <= MMIO_GAP_START {
        vec![(0, mem_size)]
    } else {
        vec![(0, MMIO_GAP_START), (MMIO_GAP_END, mem_size - MMIO_GAP_START)]
    }
}

/// The virtio-mmio window of device `index`: (base address, IRQ). IRQs count up from
/// [`VIRTIO_MMIO_FIRST_IRQ`], stepping over [`RTC_IRQ`].
pub fn virtio_mmio_slot(index: u32) -> (u64, u32) {
    let irq = VIRTIO_MMIO_FIRST_IRQ + index;
    (
        VIRTIO_MMIO_START + u64::from(index) * VIRTIO_MMIO_SIZE,
        if irq >= RTC_IRQ { irq + 1 } else { irq },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_structures_do_not_overlap() {
        let areas = [
            (GDT_START, 4 * 8),
            (IDT_START, 8),
            (ZERO_PAGE_START, 0x1000),
            (BOOT_STACK_POINTER - 0xff0, 0xff0), // the stack grows down to the zero page
            (PML4_START, 0x1000),
            (PDPTE_START, 0x1000),
            (PDE_START, PDE_COUNT * 0x1000),
            (CMDLINE_START, CMDLINE_MAX_SIZE as u64),
            (MPTABLE_START, 0x400),
        ];
        for (i, a) in areas.iter().enumerate() {
            assert!(a.0 + a.1 <= HIGH_MEMORY_START, "{a:x?} reaches the kernel");
            for b in &areas[i + 1..] {
                assert!(a.0 + a.1 <= b.0 || b.0 + b.1 <= a.0, "{a:x?} overlaps {b:x?}");
            }
        }
    }

    #[test]
    fn ram_skips_the_mmio_gap() {
        assert_eq!(ram_regions(512 << 20), vec![(0, 512 << 20)]);
        assert_eq!(ram_regions(MMIO_GAP_START), vec![(0, MMIO_GAP_START)]);
        assert_eq!(
            ram_regions(4 << 30),
            vec![(0, MMIO_GAP_START), (1 << 32, 1 << 30)]
        );
    }

    #[test]
    fn devices_sit_in_the_gap_and_below_the_ioapic() {
        let (base, irq) = virtio_mmio_slot(7);
        assert!(base >= MMIO_GAP_START && base + VIRTIO_MMIO_SIZE <= IOAPIC_START);
        assert_eq!(irq, 13);
        let irqs: Vec<u32> = (0..5).map(|i| virtio_mmio_slot(i).1).collect();
        assert_eq!(irqs, [5, 6, 7, 9, 10], "the RTC keeps IRQ 8");
        const { assert!(KVM_TSS_START > APIC_START && KVM_TSS_START + 3 * 0x1000 <= MMIO_GAP_END) };
    }
}
