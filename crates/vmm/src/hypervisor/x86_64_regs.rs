//! x86_64 vCPU state in backend-neutral form. The boot code builds these; each backend converts them
//! to its own structures (KVM's `kvm_regs`, WHPX's register arrays).

/// General purpose registers, instruction pointer and flags.
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StandardRegisters {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rsp: u64,
    pub rbp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub rflags: u64,
}

/// A segment register in its hidden, descriptor-cache form.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SegmentRegister {
    /// Linear base address.
    pub base: u64,
    /// Limit in bytes (already scaled by the granularity bit).
    pub limit: u32,
    /// Selector value.
    pub selector: u16,
    /// Descriptor type (4 bits).
    pub type_: u8,
    /// Present bit.
    pub present: u8,
    /// Descriptor privilege level.
    pub dpl: u8,
    /// Default operand size (32-bit) bit.
    pub db: u8,
    /// Code/data (1) or system (0) descriptor.
    pub s: u8,
    /// 64-bit code segment bit.
    pub l: u8,
    /// Granularity (4 KiB) bit.
    pub g: u8,
    /// Available-for-software bit.
    pub avl: u8,
    /// Segment unusable (a null selector loaded).
    pub unusable: u8,
}

/// GDTR or IDTR.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DescriptorTable {
    /// Linear base address.
    pub base: u64,
    /// Limit (size - 1).
    pub limit: u16,
}

/// Segment, descriptor table and control registers.
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpecialRegisters {
    pub cs: SegmentRegister,
    pub ds: SegmentRegister,
    pub es: SegmentRegister,
    pub fs: SegmentRegister,
    pub gs: SegmentRegister,
    pub ss: SegmentRegister,
    pub tr: SegmentRegister,
    pub ldt: SegmentRegister,
    pub gdt: DescriptorTable,
    pub idt: DescriptorTable,
    pub cr0: u64,
    pub cr2: u64,
    pub cr3: u64,
    pub cr4: u64,
    pub cr8: u64,
    pub efer: u64,
    pub apic_base: u64,
}

/// The FPU/SSE control words a booting kernel expects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FpuState {
    /// x87 control word.
    pub fcw: u16,
    /// SSE control/status register.
    pub mxcsr: u32,
}

/// One CPUID leaf/subleaf as the guest will see it.
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuIdEntry {
    pub function: u32,
    pub index: u32,
    /// Backend flags (KVM: `KVM_CPUID_FLAG_SIGNIFCANT_INDEX` when `index` matters).
    pub flags: u32,
    pub eax: u32,
    pub ebx: u32,
    pub ecx: u32,
    pub edx: u32,
}

/// One model specific register value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MsrEntry {
    /// MSR index.
    pub index: u32,
    /// Value.
    pub data: u64,
}

/// The local APIC's 1 KiB register page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LapicState {
    /// Raw registers, each 32-bit register at its architectural offset.
    pub regs: [u8; 1024],
}

impl Default for LapicState {
    fn default() -> Self {
        LapicState { regs: [0; 1024] }
    }
}

impl LapicState {
    /// Reads the 32-bit register at `offset` (e.g. 0x350 for LVT LINT0). Offsets past the page read 0.
    pub fn reg(&self, offset: usize) -> u32 {
        match self.regs.get(offset..offset + 4) {
            Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            None => 0,
        }
    }

    /// Writes the 32-bit register at `offset`; offsets past the page are ignored.
    pub fn set_reg(&mut self, offset: usize, value: u32) {
        if let Some(b) = self.regs.get_mut(offset..offset + 4) {
            b.copy_from_slice(&value.to_le_bytes());
        }
    }
}
