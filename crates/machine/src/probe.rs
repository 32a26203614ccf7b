//! Chooses the hypervisor backend. `/dev/kvm` existing is not enough: some nested or paravirtual KVMs
//! run tiny programs but hang booting Linux. So the probe boots our own kernel up to its root mount (it
//! panics there on purpose: no root device), first under berth-vmm, then under QEMU with KVM, and only
//! trusts KVM if that finishes in time. The verdict is cached per host boot and kernel, so it costs a few
//! seconds once.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use berth_api::{Backend, BackendKind};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

use crate::backend;
use crate::image::GuestImage;

/// How long a Linux boot under KVM may take to reach its root mount before we call KVM unusable.
const KVM_BOOT_BUDGET: Duration = Duration::from_secs(20);
/// A kernel on working KVM prints its banner in well under a second; silence this long means it hangs.
const FIRST_OUTPUT_BUDGET: Duration = Duration::from_secs(5);
/// How a probe that ended before the root mount is described.
const EXITED: &str = "a Linux test boot failed";
/// What the kernel prints once it got as far as mounting root.
const ROOT_MARKERS: [&str; 3] = [
    "VFS: Unable to mount root",
    "VFS: Cannot open root device",
    "Kernel panic",
];

#[derive(Debug, Serialize, Deserialize)]
struct Cached {
    key: String,
    backend: Backend,
}

/// Picks the backend for `image`'s kernel, honouring `BERTH_BACKEND` (`berth-vmm`, `qemu-kvm`, `qemu-tcg`).
pub async fn choose_backend(image: &GuestImage, cache: &Path) -> Backend {
    let kernel = image.vmm_kernel();
    let kernel = kernel.as_path();
    if let Ok(forced) = std::env::var("BERTH_BACKEND") {
        let kind = match forced.as_str() {
            "berth-vmm" => Some(BackendKind::BerthVmm),
            "qemu-kvm" => Some(BackendKind::QemuKvm),
            "qemu-tcg" => Some(BackendKind::QemuTcg),
            _ => None,
        };
        if let Some(kind) = kind {
            return Backend {
                kind,
                reason: format!("chosen by BERTH_BACKEND={forced}"),
            };
        }
        tracing::warn!(value = %forced, "ignoring BERTH_BACKEND (use berth-vmm, qemu-kvm or qemu-tcg)");
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
    let backend = probe_kvm(kernel, &image.kernel()).await;
    let _ = std::fs::write(
        cache,
        serde_json::to_vec(&Cached {
            key,
            backend: backend.clone(),
        })
        .unwrap_or_default(),
    );
    backend
}

fn tcg(reason: String) -> Backend {
    Backend {
        kind: BackendKind::QemuTcg,
        reason,
    }
}

fn kvm_device_usable() -> Result<(), String> {
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err("/dev/kvm does not exist (hardware virtualization is off in firmware or unavailable)".into())
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(
            "no permission to open /dev/kvm (add yourself to the kvm group: sudo usermod -aG kvm $USER)"
                .into(),
        ),
        Err(e) => Err(format!("/dev/kvm cannot be opened ({e})")),
    }
}

fn cache_key(kernel: &Path) -> String {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let meta = std::fs::metadata(kernel)
        .map(|m| (m.len(), m.modified().ok()))
        .ok();
    format!("{}|{}|{:?}", boot.trim(), kernel.display(), meta)
}

/// Test-boots `kernel` under berth-vmm, then `bzimage` (the same kernel, as QEMU loads it) under QEMU
/// with KVM; the first that reaches the root mount wins, else TCG.
async fn probe_kvm(kernel: &Path, bzimage: &Path) -> Backend {
    let mut attempt = boot_probe(backend::vmm::probe_command(kernel), "berth-vmm").await;
    if let Err(why) = &attempt {
        if why.starts_with(EXITED) {
            // A KVM that hangs is not worth a second wait, but a boot that ended early might be a fluke.
            tracing::info!(why = %why, "berth-vmm probe failed; trying once more");
            attempt = boot_probe(backend::vmm::probe_command(kernel), "berth-vmm").await;
        }
    }
    let vmm_failed = match attempt {
        Ok(()) => {
            return Backend {
                kind: BackendKind::BerthVmm,
                reason: "KVM booted a test kernel under berth-vmm".into(),
            }
        }
        Err(why) => why,
    };
    tracing::info!(why = %vmm_failed, "berth-vmm probe failed; trying QEMU with KVM");
    match boot_probe(qemu_probe_command(bzimage), "QEMU").await {
        Ok(()) => Backend {
            kind: BackendKind::QemuKvm,
            reason: format!("berth-vmm could not boot a test kernel ({vmm_failed}); using QEMU with KVM"),
        },
        Err(why) => tcg(format!(
            "/dev/kvm is present but cannot boot Linux (berth-vmm: {vmm_failed}; QEMU: {why}; a nested or \
             paravirtual KVM?); running the guest under QEMU emulation (slower)"
        )),
    }
}

fn qemu_probe_command(kernel: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new("qemu-system-x86_64");
    cmd.args([
        "-M", "microvm", "-accel", "kvm", "-cpu", "host", "-m", "256", "-smp", "1",
    ])
    .args([
        "-nodefaults",
        "-no-user-config",
        "-nographic",
        "-no-reboot",
        "-serial",
        "stdio",
    ])
    .arg("-kernel")
    .arg(kernel)
    .args(["-append", "console=ttyS0 panic=-1 reboot=t root=/dev/nonexistent"]);
    cmd
}

/// Runs a probe boot; Ok once the console shows the kernel reached its root mount.
async fn boot_probe(mut cmd: tokio::process::Command, name: &str) -> Result<(), String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| format!("{name} could not start ({e})"))?;
    let mut stdout = child.stdout.take().ok_or("no console pipe")?;
    let mut stderr = child.stderr.take().ok_or("no stderr pipe")?;
    let err_task = tokio::spawn(async move {
        let mut e = Vec::new();
        let _ = stderr.read_to_end(&mut e).await;
        String::from_utf8_lossy(&e).into_owned()
    });
    let started = tokio::time::Instant::now();
    let mut console = Vec::new();
    let mut buf = [0u8; 4096];
    let verdict = loop {
        let budget = if console.is_empty() {
            FIRST_OUTPUT_BUDGET
        } else {
            KVM_BOOT_BUDGET
        };
        let left = budget.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, stdout.read(&mut buf)).await {
            Err(_) if console.is_empty() => {
                break Err(format!(
                    "a Linux test boot printed nothing within {}s",
                    budget.as_secs()
                ))
            }
            Err(_) => {
                break Err(format!(
                    "a Linux test boot did not finish within {}s",
                    budget.as_secs()
                ))
            }
            Ok(Ok(0)) | Ok(Err(_)) => break Err(String::new()),
            Ok(Ok(n)) => {
                console.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&console);
                if ROOT_MARKERS.iter().any(|m| text.contains(m)) {
                    break Ok(());
                }
            }
        }
    };
    let _ = child.kill().await;
    match verdict {
        Ok(()) => Ok(()),
        Err(why) if !why.is_empty() => Err(why),
        Err(_) => {
            let err = err_task.await.unwrap_or_default();
            Err(format!(
                "{EXITED} ({})",
                err.lines().last().unwrap_or("no output").trim()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> tokio::process::Command {
        let mut c = tokio::process::Command::new("sh");
        c.args(["-c", script]);
        c
    }

    #[tokio::test]
    async fn a_boot_that_reaches_the_root_mount_passes_without_waiting_for_exit() {
        let r = boot_probe(
            sh("echo 'Linux version 6.1'; echo 'VFS: Unable to mount root fs'; sleep 30"),
            "t",
        )
        .await;
        assert_eq!(r, Ok(()));
    }

    #[tokio::test]
    async fn a_hypervisor_that_fails_says_why() {
        let r = boot_probe(sh("echo 'KVM: entry failed' >&2; exit 1"), "t").await;
        assert_eq!(r, Err("a Linux test boot failed (KVM: entry failed)".into()));
        let r = boot_probe(
            tokio::process::Command::new("/nonexistent/berth-vmm"),
            "berth-vmm",
        )
        .await;
        assert!(r.unwrap_err().starts_with("berth-vmm could not start"));
    }
}
