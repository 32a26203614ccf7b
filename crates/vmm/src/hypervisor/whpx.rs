//! Windows Hypervisor Platform (WHPX) backend — a compile-only skeleton.
//!
//! **Not implemented yet.** Every operation returns [`HypervisorError::NotSupported`] so a caller gets a
//! clear error instead of a crash, and berthd falls back to QEMU. This module exists so the trait surface is
//! checked for `x86_64-pc-windows-gnu` (`cargo check -p berth-vmm --target x86_64-pc-windows-gnu`) while the backend is
//! written. Untested: everything (no whpx host is available to CI yet).

use super::{CpuIdEntry, Hypervisor, HypervisorError, Result, Vm};

/// The whpx hypervisor handle (skeleton).
#[derive(Debug, Default)]
pub struct WhpxHypervisor;

impl WhpxHypervisor {
    /// Would open the platform hypervisor; returns [`HypervisorError::NotSupported`] for now.
    pub fn new() -> Result<Self> {
        Err(HypervisorError::NotSupported { backend: "whpx" })
    }
}

impl Hypervisor for WhpxHypervisor {
    fn create_vm(&self) -> Result<Box<dyn Vm>> {
        Err(HypervisorError::NotSupported { backend: "whpx" })
    }

    fn supported_cpuid(&self) -> Result<Vec<CpuIdEntry>> {
        Err(HypervisorError::NotSupported { backend: "whpx" })
    }
}
