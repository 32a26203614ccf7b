//! berth-vmm: Berth's embedded VMM on rust-vmm crates.
//!
//! - [`hypervisor`]: the `Hypervisor` / `Vm` / `Vcpu` traits and their backends (KVM; HVF and WHPX are
//!   compile-only skeletons).
//! - [`arch`]: booting Linux on x86_64 (layout, GDT, page tables, CPUID, MSRs, LAPIC, MP table, zero page).
//! - [`bus`]: port and MMIO dispatch of vCPU exits to devices.
//! - [`devices`]: legacy devices (serial console, i8042 reset).
//! - `virtio_mmio`: our virtio-mmio transport and the device trait virtio devices implement (not on Windows
//!   yet: virtio-queue needs vm-memory's `rawfd` feature, which does not build there).
//! - `machine` (Linux): puts them together and runs a VM until it stops.
#![deny(missing_docs)]

pub mod arch;
pub mod bus;
pub mod devices;
pub mod hypervisor;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod machine;
#[cfg(not(windows))]
pub mod virtio_mmio;
