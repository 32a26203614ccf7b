//! The hypervisor behind three small traits: [`Hypervisor`] makes a [`Vm`], a [`Vm`] owns guest memory
//! mappings, interrupt wiring and makes [`Vcpu`]s, and a [`Vcpu`] runs until a [`VmExit`].
//!
//! Port and MMIO accesses are handed to a [`VmOps`] callback from inside [`Vcpu::run`], so a backend only
//! translates its exit structure; every device lives behind the callback and is shared by all backends.
//!
//! Backends: [`kvm`] (Linux), `hvf` (macOS, skeleton), `whpx` (Windows, skeleton).

mod error;
mod exit;
pub mod x86_64_regs;

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod kvm;

#[cfg(target_os = "macos")]
pub mod hvf;

#[cfg(target_os = "windows")]
pub mod whpx;

pub use error::{HypervisorError, Result};
pub use exit::{ExitData, VmExit};
pub use x86_64_regs::{
    CpuIdEntry, DescriptorTable, FpuState, LapicState, MsrEntry, SegmentRegister, SpecialRegisters,
    StandardRegisters,
};

use vm_memory::GuestMemoryMmap;

/// Receives the port and MMIO accesses a vCPU makes, from inside [`Vcpu::run`].
///
/// Reads fill `data` (its length is the access width); accesses nothing claims are the bus's business
/// (reads of nothing return all ones, like real hardware).
pub trait VmOps: Send + Sync {
    /// A port read of `data.len()` bytes.
    fn pio_read(&self, port: u16, data: &mut [u8]);
    /// A port write.
    fn pio_write(&self, port: u16, data: &[u8]);
    /// An MMIO read of `data.len()` bytes at guest physical `addr`.
    fn mmio_read(&self, addr: u64, data: &mut [u8]);
    /// An MMIO write at guest physical `addr`.
    fn mmio_write(&self, addr: u64, data: &[u8]);
}

/// A hardware virtualization interface on this host (KVM, Hypervisor.framework, WHPX).
pub trait Hypervisor: Send + Sync {
    /// Creates an empty VM: no memory, no vCPUs.
    fn create_vm(&self) -> Result<Box<dyn Vm>>;
    /// The CPUID leaves this hypervisor can expose to a guest, before [`crate::arch::x86_64::cpuid`]
    /// normalises them per vCPU.
    fn supported_cpuid(&self) -> Result<Vec<CpuIdEntry>>;
}

/// One virtual machine.
pub trait Vm: Send + Sync {
    /// Maps every region of `memory` into the guest's physical address space. The VM keeps a clone of
    /// `memory` (its regions are reference counted), so the host mappings outlive the guest's view.
    fn set_memory(&self, memory: &GuestMemoryMmap) -> Result<()>;
    /// Creates the in-kernel interrupt controllers (PIC, IOAPIC, LAPICs) and the PIT. Call before creating
    /// vCPUs. Without it, `hlt` exits to the VMM (the tiny test guests rely on that).
    fn setup_irqchip(&self) -> Result<()>;
    /// Creates vCPU `id` (also its APIC id).
    fn create_vcpu(&self, id: u8) -> Result<Box<dyn Vcpu>>;
    /// Makes a write to `fd` raise interrupt line `gsi` (needs [`Vm::setup_irqchip`]).
    #[cfg(target_os = "linux")]
    fn register_irqfd(&self, fd: &vmm_sys_util::eventfd::EventFd, gsi: u32) -> Result<()>;
    /// Makes a guest MMIO write to `addr` signal `fd` in the kernel instead of exiting, optionally only
    /// when the written 32-bit value is `datamatch` (virtio queue notifications).
    #[cfg(target_os = "linux")]
    fn register_ioeventfd(
        &self,
        fd: &vmm_sys_util::eventfd::EventFd,
        addr: u64,
        datamatch: Option<u32>,
    ) -> Result<()>;
}

/// One virtual CPU. Setters take the whole state; [`crate::arch::x86_64`] builds it.
pub trait Vcpu: Send {
    /// General purpose registers.
    fn regs(&self) -> Result<StandardRegisters>;
    /// Sets general purpose registers.
    fn set_regs(&self, regs: &StandardRegisters) -> Result<()>;
    /// Segment, control and descriptor-table registers.
    fn sregs(&self) -> Result<SpecialRegisters>;
    /// Sets segment, control and descriptor-table registers.
    fn set_sregs(&self, sregs: &SpecialRegisters) -> Result<()>;
    /// Sets the FPU/SSE control state.
    fn set_fpu(&self, fpu: &FpuState) -> Result<()>;
    /// Sets the CPUID leaves the guest sees.
    fn set_cpuid(&self, entries: &[CpuIdEntry]) -> Result<()>;
    /// Writes model specific registers; all or an error.
    fn set_msrs(&self, msrs: &[MsrEntry]) -> Result<()>;
    /// The local APIC register page (needs [`Vm::setup_irqchip`]).
    fn lapic(&self) -> Result<LapicState>;
    /// Sets the local APIC register page.
    fn set_lapic(&self, lapic: &LapicState) -> Result<()>;
    /// Runs the guest until an exit that the VMM must see; port and MMIO accesses are completed through
    /// `ops` before this returns.
    fn run(&mut self, ops: &dyn VmOps) -> Result<VmExit>;
}
