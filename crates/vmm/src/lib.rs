//! berth-vmm: Berth's embedded VMM on rust-vmm crates.
//!
//! - [`hypervisor`]: the `Hypervisor` / `Vm` / `Vcpu` traits and their backends (KVM; HVF and WHPX are
//!   compile-only skeletons).
//! - [`arch`]: booting Linux on x86_64 (layout, GDT, page tables, CPUID, MSRs, LAPIC, MP table, zero page).
//! - [`bus`]: port and MMIO dispatch of vCPU exits to devices.
//! - [`devices`]: legacy devices (serial console, i8042 reset) and virtio devices (blk; vsock and net on Linux).
//! - `virtio_mmio`: our virtio-mmio transport and the device trait virtio devices implement (not on Windows
//!   yet: virtio-queue needs vm-memory's `rawfd` feature, which does not build there).
//! - `event_loop` (Linux): the device thread serving queue-notify ioeventfds and device backends.
//! - `machine` (Linux): puts them together and runs a VM until it stops.
//! - `vcpu_control` (Linux): pausing, resuming and stopping vCPU threads from another thread.
//! - `api` (Linux): the control socket (`--api-sock`): status, pause, resume, balloon, shutdown.
//!
//! # Booting the Berth guest
//!
//! berthd runs the guest with the same kernel command line it gives QEMU, except `reboot=k` in place of
//! `reboot=t`: the agent ends the VM with `reboot(RB_AUTOBOOT)`, which with `reboot=k` resets through the
//! i8042 and berth-vmm exits 0; with `reboot=t` it is a triple fault, reported as a crash (exit code 6).
//! The virtio-mmio `virtio_mmio.device=` parameters are appended by berth-vmm, never passed in:
//!
//! ```text
//! berth-vmm --kernel bzImage --mem-mib 2048 --cpus 2 --console console.log \
//!   --disk rootfs.erofs,ro --disk data.img --vsock-uds vsock.sock --net-passt passt.sock \
//!   --cmdline "console=ttyS0 root=/dev/vda ro rootfstype=erofs init=/sbin/berth-agent panic=-1 reboot=k \
//!              quiet loglevel=4 8250.nr_uarts=1 random.trust_cpu=on berth.config=<base64url>"
//! ```
#![deny(missing_docs)]

#[cfg(target_os = "linux")]
pub mod api;
pub mod arch;
pub mod bus;
pub mod devices;
#[cfg(target_os = "linux")]
pub mod event_loop;
pub mod hypervisor;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod machine;
#[cfg(target_os = "linux")]
pub mod vcpu_control;
#[cfg(not(windows))]
pub mod virtio_mmio;
