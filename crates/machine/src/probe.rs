//! Chooses the hypervisor backend. `/dev/kvm` existing is not enough: some nested or paravirtual KVMs
//! run tiny programs but hang booting Linux. So the probe boots our own kernel under QEMU with KVM up to
//! its root mount (it panics there on purpose: no root device) and only trusts KVM if that finishes in
//! time. The verdict is cached per host boot and kernel, so it costs a few seconds once.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use berth_api::{Backend, BackendKind};
use serde::{Deserialize, Serialize};

/// How long a Linux boot under KVM may take to reach its root mount before we call KVM unusable.
const KVM_BOOT_BUDGET: Duration = Duration::from_secs(20);
/// What the kernel prints once it got as far as mounting root.
const ROOT_MARKERS: [&str; 3] = ["VFS: Unable to mount root", "VFS: Cannot open root device", "Kernel panic"];

#[derive(Debug, Serialize, Deserialize)]
struct Cached {
    key: String,
    backend: Backend,
}

/// Picks the backend for `kernel`, honouring `BERTH_BACKEND` (`qemu-kvm`, `qemu-tcg`).
pub async fn choose_backend(kernel: &Path, cache: &Path) -> Backend {
    if let Ok(forced) = std::env::var("BERTH_BACKEND") {
        let kind = match forced.as_str() {
            "qemu-kvm" => Some(BackendKind::QemuKvm),
            "qemu-tcg" => Some(BackendKind::QemuTcg),
            _ => None,
        };
        if let Some(kind) = kind {
            return Backend { kind, reason: format!("chosen by BERTH_BACKEND={forced}") };
        }
        tracing::warn!(value = %forced, "ignoring BERTH_BACKEND (use qemu-kvm or qemu-tcg)");
    }
    if let Err(why) = kvm_device_usable() {
        return tcg(format!("{why}; running the guest under QEMU emulation (slower)"));
    }
    let key = cache_key(kernel);
    if let Some(c) = std::fs::read(cache)
        .ok()
        .and_then(|b| serde_json::from_slice::<Cached>(&b).ok())
        .filter(|c| c.key == key)
    {
        return c.backend;
    }
    let backend = match boot_probe(kernel).await {
        Ok(()) => Backend {
            kind: BackendKind::QemuKvm,
            reason: "KVM booted a test kernel; using QEMU with hardware virtualization (berth-vmm is not the \
                     default yet)"
                .into(),
        },
        Err(why) => tcg(format!(
            "/dev/kvm is present but {why} (a nested or paravirtual KVM?); running the guest under QEMU \
             emulation (slower)"
        )),
    };
    let _ = std::fs::write(cache, serde_json::to_vec(&Cached { key, backend: backend.clone() }).unwrap_or_default());
    backend
}

fn tcg(reason: String) -> Backend {
    Backend { kind: BackendKind::QemuTcg, reason }
}

fn kvm_device_usable() -> Result<(), String> {
    match std::fs::OpenOptions::new().read(true).write(true).open("/dev/kvm") {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err("/dev/kvm does not exist (hardware virtualization is off in firmware or unavailable)".into())
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            Err("no permission to open /dev/kvm (add yourself to the kvm group: sudo usermod -aG kvm $USER)".into())
        }
        Err(e) => Err(format!("/dev/kvm cannot be opened ({e})")),
    }
}

fn cache_key(kernel: &Path) -> String {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let meta = std::fs::metadata(kernel).map(|m| (m.len(), m.modified().ok())).ok();
    format!("{}|{}|{:?}", boot.trim(), kernel.display(), meta)
}

async fn boot_probe(kernel: &Path) -> Result<(), String> {
    let mut cmd = tokio::process::Command::new("qemu-system-x86_64");
    cmd.args(["-M", "microvm", "-accel", "kvm", "-cpu", "host", "-m", "256", "-smp", "1"])
        .args(["-nodefaults", "-no-user-config", "-nographic", "-no-reboot", "-serial", "stdio"])
        .arg("-kernel")
        .arg(kernel)
        .args(["-append", "console=ttyS0 panic=-1 reboot=t root=/dev/nonexistent"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().map_err(|e| format!("QEMU could not start ({e})"))?;
    match tokio::time::timeout(KVM_BOOT_BUDGET, child.wait_with_output()).await {
        Err(_) => Err(format!("a Linux test boot did not finish within {}s", KVM_BOOT_BUDGET.as_secs())),
        Ok(Err(e)) => Err(format!("QEMU failed ({e})")),
        Ok(Ok(out)) => {
            let console = String::from_utf8_lossy(&out.stdout);
            if ROOT_MARKERS.iter().any(|m| console.contains(m)) {
                Ok(())
            } else {
                let err = String::from_utf8_lossy(&out.stderr);
                Err(format!("a Linux test boot failed ({})", err.lines().last().unwrap_or("no output").trim()))
            }
        }
    }
}
