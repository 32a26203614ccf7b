//! Hypervisor backends: berth-vmm (ours, on KVM) and QEMU (`-M microvm`, KVM or TCG), both booting the
//! same [`GuestSpec`].

pub mod qemu;
pub mod vmm;

use berth_api::BackendKind;

use std::path::PathBuf;

/// Everything a backend needs to boot the guest.
#[derive(Debug, Clone)]
pub struct GuestSpec {
    /// Kernel (bzImage).
    pub kernel: PathBuf,
    /// Read-only erofs root (first disk, `/dev/vda`).
    pub rootfs: PathBuf,
    /// Writable data disk (second disk, `/dev/vdb`).
    pub data_disk: PathBuf,
    /// Virtual CPUs.
    pub cpus: u32,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// Kernel command line.
    pub cmdline: String,
    /// Serial console output file (appended).
    pub console_log: PathBuf,
    /// vhost-user socket of the vsock device (qemu).
    pub vhost_socket: PathBuf,
    /// The guest's vsock as a hybrid Unix socket (berth-vmm serves it itself).
    pub vsock_socket: PathBuf,
    /// berth-vmm's control socket.
    pub api_socket: PathBuf,
    /// passt's socket.
    pub passt_socket: PathBuf,
}

/// The kernel command line for our guest under `kind`, `extra` appended (the encoded guest config).
///
/// The agent ends the VM with a reboot. Under QEMU (`-no-reboot`) a triple fault (`reboot=t`) ends the
/// process; berth-vmm exits cleanly on an i8042 reset (`reboot=k`) and reports a triple fault as a crash.
pub fn kernel_cmdline(kind: BackendKind, extra: &str, tsc_khz: Option<u64>) -> String {
    // berth-vmm has no ACPI tables (devices come from `virtio_mmio.device=`, which it appends itself).
    let reboot = if kind == BackendKind::BerthVmm {
        "reboot=k acpi=off"
    } else {
        "reboot=t"
    };
    let mut c = format!(
        "console=ttyS0 root=/dev/vda ro rootfstype=erofs init=/sbin/berth-agent panic=-1 {reboot} quiet loglevel=4 \
         8250.nr_uarts=1 random.trust_cpu=on",
    );
    if let Some(khz) = tsc_khz {
        // Without it, a TCG guest can hang calibrating the TSC.
        c.push_str(&format!(" tsc_early_khz={khz}"));
    }
    c.push(' ');
    c.push_str(extra);
    c
}

/// The host's TSC frequency in kHz, from `/proc/cpuinfo` (`cpu MHz` of the first CPU).
pub fn host_tsc_khz() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let mhz: f64 = info
        .lines()
        .find(|l| l.starts_with("cpu MHz"))?
        .split(':')
        .nth(1)?
        .trim()
        .parse()
        .ok()?;
    Some((mhz * 1000.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_boots_the_agent_from_erofs() {
        let c = kernel_cmdline(BackendKind::QemuTcg, "berth.config=abc", Some(2_445_000));
        assert!(c.contains("init=/sbin/berth-agent"));
        assert!(c.contains("reboot=t"));
        assert!(kernel_cmdline(BackendKind::BerthVmm, "", None).contains("reboot=k"));
        assert!(c.contains("rootfstype=erofs"));
        assert!(c.ends_with("tsc_early_khz=2445000 berth.config=abc"));
    }
}
