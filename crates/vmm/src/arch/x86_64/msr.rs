//! Model specific registers set on every vCPU before boot.

use crate::hypervisor::MsrEntry;

/// SYSENTER code segment.
pub const MSR_IA32_SYSENTER_CS: u32 = 0x174;
/// SYSENTER stack pointer.
pub const MSR_IA32_SYSENTER_ESP: u32 = 0x175;
/// SYSENTER entry point.
pub const MSR_IA32_SYSENTER_EIP: u32 = 0x176;
/// SYSCALL segments.
pub const MSR_STAR: u32 = 0xc000_0081;
/// 64-bit SYSCALL entry.
pub const MSR_LSTAR: u32 = 0xc000_0082;
/// Compatibility-mode SYSCALL entry.
pub const MSR_CSTAR: u32 = 0xc000_0083;
/// SYSCALL flag mask.
pub const MSR_SYSCALL_MASK: u32 = 0xc000_0084;
/// SWAPGS target.
pub const MSR_KERNEL_GS_BASE: u32 = 0xc000_0102;
/// Time stamp counter.
pub const MSR_IA32_TSC: u32 = 0x10;
/// Miscellaneous features.
pub const MSR_IA32_MISC_ENABLE: u32 = 0x1a0;
/// MISC_ENABLE: fast string operations.
pub const MISC_ENABLE_FAST_STRING: u64 = 1;
/// Memory type range registers default type.
pub const MSR_MTRR_DEF_TYPE: u32 = 0x2ff;
/// MTRR_DEF_TYPE: MTRRs enabled, default write-back.
pub const MTRR_ENABLE_WB: u64 = (1 << 11) | 6;

/// The MSR values a vCPU starts with: syscall entry points cleared, TSC at 0, fast strings on and
/// MTRRs enabled with write-back default (so the kernel does not map all RAM uncached).
pub fn boot_msrs() -> Vec<MsrEntry> {
    [
        (MSR_IA32_SYSENTER_CS, 0),
        (MSR_IA32_SYSENTER_ESP, 0),
        (MSR_IA32_SYSENTER_EIP, 0),
        (MSR_STAR, 0),
        (MSR_CSTAR, 0),
        (MSR_KERNEL_GS_BASE, 0),
        (MSR_SYSCALL_MASK, 0),
        (MSR_LSTAR, 0),
        (MSR_IA32_TSC, 0),
        (MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING),
        (MSR_MTRR_DEF_TYPE, MTRR_ENABLE_WB),
    ]
    .into_iter()
    .map(|(index, data)| MsrEntry { index, data })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_msrs_are_unique_and_enable_fast_strings_and_mtrrs() {
        let msrs = boot_msrs();
        let mut idx: Vec<u32> = msrs.iter().map(|m| m.index).collect();
        idx.sort_unstable();
        idx.dedup();
        assert_eq!(idx.len(), msrs.len());
        let get = |i| msrs.iter().find(|m| m.index == i).map(|m| m.data);
        assert_eq!(get(MSR_IA32_MISC_ENABLE), Some(1));
        assert_eq!(get(MSR_MTRR_DEF_TYPE), Some(0x806));
        assert_eq!(get(MSR_LSTAR), Some(0));
    }
}
