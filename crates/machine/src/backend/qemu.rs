//! QEMU `-M microvm`: the fallback hypervisor and the benchmark baseline. The vsock device is ours,
//! attached as a vhost-user backend, so the host side is the same as with berth-vmm.

use std::process::Stdio;

use berth_api::BackendKind;
use tokio::process::Command;

use super::GuestSpec;

/// The QEMU command that boots `spec` with accelerator `kind`.
pub fn command(kind: BackendKind, spec: &GuestSpec) -> Command {
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args(args(kind, spec))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// QEMU's arguments (separate for tests and for `berth doctor`).
pub fn args(kind: BackendKind, spec: &GuestSpec) -> Vec<String> {
    let mem = spec.memory_mib;
    let mut a: Vec<String> = Vec::new();
    let mut push = |items: &[&str]| a.extend(items.iter().map(|s| s.to_string()));
    push(&["-M", "microvm,memory-backend=mem,acpi=off,pit=on,pic=on,rtc=on"]);
    match kind {
        BackendKind::QemuKvm => push(&["-accel", "kvm", "-cpu", "host"]),
        _ => push(&["-accel", "tcg,thread=multi", "-cpu", "max"]),
    }
    push(&["-m", &format!("{mem}M"), "-smp", &spec.cpus.to_string()]);
    push(&[
        "-object",
        &format!("memory-backend-memfd,id=mem,size={mem}M,share=on"),
    ]);
    push(&["-nodefaults", "-no-user-config", "-nographic", "-no-reboot"]);
    push(&[
        "-chardev",
        &format!("file,id=console,path={},append=on", spec.console_log.display()),
    ]);
    push(&["-serial", "chardev:console"]);
    push(&[
        "-kernel",
        &spec.kernel.display().to_string(),
        "-append",
        &spec.cmdline,
    ]);
    push(&[
        "-drive",
        &format!(
            "id=root,file={},format=raw,if=none,readonly=on",
            spec.rootfs.display()
        ),
    ]);
    push(&["-device", "virtio-blk-device,drive=root"]);
    push(&[
        "-drive",
        &format!(
            "id=data,file={},format=raw,if=none,discard=unmap,detect-zeroes=unmap",
            spec.data_disk.display()
        ),
    ]);
    push(&["-device", "virtio-blk-device,drive=data"]);
    push(&[
        "-netdev",
        &format!(
            "stream,id=net0,server=off,addr.type=unix,addr.path={}",
            spec.passt_socket.display()
        ),
    ]);
    push(&["-device", "virtio-net-device,netdev=net0"]);
    push(&[
        "-chardev",
        &format!("socket,id=vsock0,path={}", spec.vhost_socket.display()),
    ]);
    push(&["-device", "vhost-user-vsock-device,chardev=vsock0"]);
    push(&["-device", "virtio-rng-device"]);
    a
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
            cmdline: "console=ttyS0".into(),
            console_log: "/m/console.log".into(),
            vhost_socket: "/r/vhost.sock".into(),
            vsock_socket: "/r/vsock.sock".into(),
            api_socket: "/r/vmm.sock".into(),
            passt_socket: "/r/passt/passt.sock".into(),
        }
    }

    #[test]
    fn root_disk_comes_first_and_read_only() {
        let a = args(BackendKind::QemuTcg, &spec()).join(" ");
        let root = a
            .find("file=/img/rootfs.erofs,format=raw,if=none,readonly=on")
            .unwrap();
        let data = a.find("file=/m/data.img").unwrap();
        assert!(root < data, "rootfs must be /dev/vda");
        assert!(a.contains("-accel tcg,thread=multi"));
        assert!(
            a.contains("memory-backend-memfd,id=mem,size=2048M,share=on"),
            "vhost-user needs shared memory"
        );
    }

    #[test]
    fn kvm_uses_the_host_cpu() {
        let a = args(BackendKind::QemuKvm, &spec()).join(" ");
        assert!(a.contains("-accel kvm -cpu host"));
    }
}
