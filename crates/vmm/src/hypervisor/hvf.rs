//! Hypervisor.framework (macOS, Apple silicon) backend — a compile-only skeleton.
//!
//! **Not implemented yet.** Every operation returns [`HypervisorError::NotSupported`] so a caller gets a
//! clear error instead of a crash, and berthd falls back to QEMU. This module exists so the trait surface is
//! checked for `aarch64-apple-darwin` (`cargo check -p berth-vmm --target aarch64-apple-darwin`) while the backend is
//! written. Untested: everything (no hvf host is available to CI yet).

use super::{CpuIdEntry, Hypervisor, HypervisorError, Result, Vm};

/// The hvf hypervisor handle (skeleton).
#[derive(Debug, Default)]
pub struct HvfHypervisor;

impl HvfHypervisor {
    /// Would open the platform hypervisor; returns [`HypervisorError::NotSupported`] for now.
    pub fn new() -> Result<Self> {
        Err(HypervisorError::NotSupported { backend: "hvf" })
    }
}

impl Hypervisor for HvfHypervisor {
    fn create_vm(&self) -> Result<Box<dyn Vm>> {
        Err(HypervisorError::NotSupported { backend: "hvf" })
    }

    fn supported_cpuid(&self) -> Result<Vec<CpuIdEntry>> {
        Err(HypervisorError::NotSupported { backend: "hvf" })
    }
}
