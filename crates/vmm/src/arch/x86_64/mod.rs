//! Booting a Linux bzImage on an x86_64 vCPU in 64-bit mode (the Linux 64-bit boot protocol): memory
//! layout, GDT, identity page tables, registers, CPUID, MSRs, LAPIC, MP table and the zero page.

pub mod cpuid;
pub mod gdt;
pub mod lapic;
pub mod layout;
pub mod mptable;
pub mod msr;
pub mod paging;
pub mod regs;
#[cfg(target_os = "linux")]
pub mod zero_page;
