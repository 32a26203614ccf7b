//! berth-vmm: our own VMM, the default wherever KVM can run a Linux guest. It serves the vsock device
//! in-process and exposes the guest's vsock as the same hybrid Unix socket the qemu backend's vhost-user
//! device does, so nothing above this module knows which hypervisor runs.

use std::path::PathBuf;
use std::process::Stdio;

use tokio::process::Command;

use super::GuestSpec;

/// Where berth-vmm is: `BERTH_VMM`, beside the running program (berthd), or on `PATH`.
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("BERTH_VMM") {
        return PathBuf::from(p);
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.to_path_buf()))
    {
        let candidate = dir.join("berth-vmm");
        if candidate.is_file() {
            return candidate;
        }
    }
    PathBuf::from("berth-vmm")
}

/// The berth-vmm command that boots `spec`.
pub fn command(spec: &GuestSpec) -> Command {
    let mut cmd = Command::new(binary());
    cmd.args(args(spec))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// berth-vmm's flags for `spec`. Device order (and so guest names) matches the qemu backend: the
/// read-only root is `/dev/vda`, the data disk `/dev/vdb`.
pub fn args(spec: &GuestSpec) -> Vec<String> {
    let mut a: Vec<String> = Vec::new();
    let mut push = |items: &[&str]| a.extend(items.iter().map(|s| s.to_string()));
    push(&["--kernel", &spec.kernel.display().to_string()]);
    push(&["--cmdline", &spec.cmdline]);
    push(&[
        "--mem-mib",
        &spec.memory_mib.to_string(),
        "--cpus",
        &spec.cpus.to_string(),
    ]);
    push(&["--console", &spec.console_log.display().to_string()]);
    push(&["--disk", &format!("{},ro", spec.rootfs.display())]);
    push(&["--disk", &spec.data_disk.display().to_string()]);
    push(&["--vsock-uds", &spec.vsock_socket.display().to_string()]);
    push(&["--vsock-cid", &berth_proto::GUEST_CID.to_string()]);
    push(&["--net-passt", &spec.passt_socket.display().to_string()]);
    push(&["--balloon"]);
    push(&["--api-sock", &spec.api_socket.display().to_string()]);
    a
}

/// The probe's command: our kernel with no root device, so a working KVM panics at the root mount in
/// well under a second and berth-vmm exits (reboot=k turns the panic reboot into an i8042 reset).
pub fn probe_command(kernel: &std::path::Path) -> Command {
    let mut cmd = Command::new(binary());
    cmd.arg("--kernel")
        .arg(kernel)
        // loglevel=6: the banner and the panic, not every boot line (a quiet console also keeps nested
        // KVM, where each serial byte is an exit, reliable).
        .args([
            "--cmdline",
            "console=ttyS0 loglevel=6 panic=-1 reboot=k acpi=off root=/dev/nonexistent",
        ])
        .args(["--mem-mib", "256", "--console", "stdout", "--no-rng"]);
    cmd
}

/// What berth-vmm's exit code says (its `--help` lists them).
pub fn exit_meaning(code: i32) -> Option<&'static str> {
    Some(match code {
        0 => "the guest reset or powered off",
        1 => "VM setup failed (see hypervisor.log)",
        2 => "berthd passed flags berth-vmm does not accept (a version mismatch?)",
        3 => "/dev/kvm is missing",
        4 => "no permission to open /dev/kvm",
        5 => "the guest kernel is unreadable or invalid",
        6 => "the guest triple-faulted (vCPU state in hypervisor.log)",
        7 => "a vCPU failed (see hypervisor.log)",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> GuestSpec {
        GuestSpec {
            kernel: "/img/bzImage".into(),
            rootfs: "/img/rootfs.erofs".into(),
            data_disk: "/m/data.img".into(),
            cpus: 2,
            memory_mib: 2048,
            cmdline: "console=ttyS0 reboot=k".into(),
            console_log: "/m/console.log".into(),
            vhost_socket: "/r/vhost.sock".into(),
            vsock_socket: "/r/vsock.sock".into(),
            passt_socket: "/r/passt/passt.sock".into(),
            api_socket: "/r/vmm.sock".into(),
        }
    }

    #[test]
    fn root_is_the_first_disk_and_read_only() {
        let a = args(&spec()).join(" ");
        let root = a.find("--disk /img/rootfs.erofs,ro").unwrap();
        let data = a.find("--disk /m/data.img").unwrap();
        assert!(root < data, "rootfs must be /dev/vda");
        assert!(a.contains("--vsock-uds /r/vsock.sock --vsock-cid 3"));
        assert!(a.contains("--net-passt /r/passt/passt.sock"));
        assert!(a.contains("--mem-mib 2048 --cpus 2"));
    }
}
