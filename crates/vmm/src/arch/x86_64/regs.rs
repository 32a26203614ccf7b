//! Register state for entering a kernel in 64-bit long mode (Linux's 64-bit boot protocol): flat
//! segments from our GDT, paging on with our identity tables, `rsi` pointing at the zero page.

use vm_memory::GuestMemoryMmap;

use super::gdt::{self, segment_from_entry, BOOT_GDT, CODE_INDEX, DATA_INDEX, TSS_INDEX};
use super::layout::{BOOT_STACK_POINTER, GDT_START, IDT_START, ZERO_PAGE_START};
use super::paging;
use crate::hypervisor::{FpuState, SpecialRegisters, StandardRegisters, Vcpu};

/// CR0: protection enable.
pub const CR0_PE: u64 = 1;
/// CR0: extension type (387 present).
pub const CR0_ET: u64 = 1 << 4;
/// CR0: paging.
pub const CR0_PG: u64 = 1 << 31;
/// CR4: physical address extension.
pub const CR4_PAE: u64 = 1 << 5;
/// EFER: long mode enable.
pub const EFER_LME: u64 = 1 << 8;
/// EFER: long mode active.
pub const EFER_LMA: u64 = 1 << 10;

/// Errors setting up boot registers.
#[derive(Debug, thiserror::Error)]
pub enum RegsError {
    /// Guest memory is too small for the boot tables.
    #[error("cannot write the boot GDT/page tables into guest memory ({0}); give the VM at least 1 MiB")]
    Memory(#[from] vm_memory::GuestMemoryError),
    /// The hypervisor refused the state.
    #[error("cannot set boot registers: {0}")]
    Hypervisor(#[from] crate::hypervisor::HypervisorError),
}

/// General registers at the 64-bit entry point `entry`.
pub fn boot_regs(entry: u64) -> StandardRegisters {
    StandardRegisters {
        rip: entry,
        rsp: BOOT_STACK_POINTER,
        rbp: BOOT_STACK_POINTER,
        rsi: ZERO_PAGE_START,
        rflags: 0x2, // bit 1 is reserved and always set
        ..Default::default()
    }
}

/// `sregs` turned into 64-bit long mode with our GDT and page tables at `cr3`; other fields (APIC base)
/// are kept.
pub fn long_mode_sregs(mut sregs: SpecialRegisters, cr3: u64) -> SpecialRegisters {
    let code = segment_from_entry(BOOT_GDT[CODE_INDEX], CODE_INDEX);
    let data = segment_from_entry(BOOT_GDT[DATA_INDEX], DATA_INDEX);
    let tss = segment_from_entry(BOOT_GDT[TSS_INDEX], TSS_INDEX);
    sregs.gdt.base = GDT_START;
    sregs.gdt.limit = (BOOT_GDT.len() * 8 - 1) as u16;
    sregs.idt.base = IDT_START;
    sregs.idt.limit = 7;
    sregs.cs = code;
    sregs.ds = data;
    sregs.es = data;
    sregs.fs = data;
    sregs.gs = data;
    sregs.ss = data;
    sregs.tr = tss;
    sregs.cr0 |= CR0_PE | CR0_ET | CR0_PG;
    sregs.cr3 = cr3;
    sregs.cr4 |= CR4_PAE;
    sregs.efer |= EFER_LME | EFER_LMA;
    sregs
}

/// The FPU control state Linux expects at entry (x87 default control word, SSE exceptions masked).
pub fn boot_fpu() -> FpuState {
    FpuState {
        fcw: 0x37f,
        mxcsr: 0x1f80,
    }
}

/// Writes the GDT, IDT and page tables into `mem` and puts `vcpu` in long mode at `entry` with the FPU
/// initialised. Used for the boot vCPU; application processors start through INIT/SIPI.
pub fn setup_long_mode(vcpu: &dyn Vcpu, mem: &GuestMemoryMmap, entry: u64) -> Result<(), RegsError> {
    gdt::write_boot_tables(mem)?;
    let cr3 = paging::write_identity_tables(mem)?;
    vcpu.set_sregs(&long_mode_sregs(vcpu.sregs()?, cr3))?;
    vcpu.set_fpu(&boot_fpu())?;
    vcpu.set_regs(&boot_regs(entry))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_registers_follow_the_boot_protocol() {
        let r = boot_regs(0x100200);
        assert_eq!(
            (r.rip, r.rsi, r.rsp, r.rflags),
            (0x100200, ZERO_PAGE_START, BOOT_STACK_POINTER, 2)
        );
    }

    #[test]
    fn long_mode_bits_and_flat_segments() {
        let base = SpecialRegisters {
            apic_base: 0xfee0_0900,
            cr0: 0x60000010,
            ..Default::default()
        };
        let s = long_mode_sregs(base, 0x9000);
        assert_eq!(s.cr0 & (CR0_PE | CR0_PG), CR0_PE | CR0_PG);
        assert_eq!(s.cr4 & CR4_PAE, CR4_PAE);
        assert_eq!(s.efer & (EFER_LME | EFER_LMA), EFER_LME | EFER_LMA);
        assert_eq!((s.cr3, s.apic_base), (0x9000, 0xfee0_0900));
        assert_eq!(
            (s.cs.selector, s.cs.l, s.ds.selector, s.ss.selector, s.tr.selector),
            (8, 1, 0x10, 0x10, 0x18)
        );
        assert_eq!((s.gdt.base, s.gdt.limit, s.idt.base), (GDT_START, 31, IDT_START));
    }

    #[test]
    fn fpu_defaults() {
        assert_eq!(
            boot_fpu(),
            FpuState {
                fcw: 0x37f,
                mxcsr: 0x1f80
            }
        );
    }
}
