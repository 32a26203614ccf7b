//! What could stop a machine from working here, each finding with a fix. `berth doctor` prints these and
//! the app's Troubleshoot screen shows them; Home's first-run card shows the virtualization and disk
//! findings. The checks themselves are pure functions of what was measured, so they are tested directly.

use std::path::Path;

use berth_api::{Backend, BackendKind, ForwardState, MachineState, Status};
use serde::{Deserialize, Serialize};

use crate::host::{self, gib, Kvm, Space};
use crate::{Engine, Result};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Fine.
    Ok,
    /// Works, but worse than it could (slower, optional tool missing, little room).
    Warn,
    /// Stops the machine from working until fixed.
    Fail,
}

/// One thing checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable id, e.g. `tools.passt` or `ports.8080/tcp`.
    pub id: String,
    /// The group it belongs to: virtualization, tools, image, disk, sockets, ports, machine.
    pub check: String,
    /// Ok, warn or fail.
    pub level: Level,
    /// What was found, in words.
    pub message: String,
    /// What to do about it (set for warnings and failures).
    pub fix: Option<String>,
}

impl Finding {
    fn new(
        id: impl Into<String>,
        check: &str,
        level: Level,
        message: impl Into<String>,
        fix: Option<String>,
    ) -> Finding {
        let fix = if level == Level::Ok { None } else { fix };
        Finding {
            id: id.into(),
            check: check.to_string(),
            level,
            message: message.into(),
            fix,
        }
    }

    /// Whether it does not stop the machine (ok or a warning).
    pub fn ok(&self) -> bool {
        self.level != Level::Fail
    }
}

/// The virtualization finding: the backend berthd chose and why when the machine has run, else what
/// opening `/dev/kvm` says.
pub fn virtualization(backend: Option<&Backend>, kvm: &Kvm) -> Finding {
    const ID: &str = "virtualization";
    let kvm_fix = match kvm {
        Kvm::Missing => {
            "enable hardware virtualization (VT-x / AMD-V) in the firmware settings; in a VM, enable nested \
                         virtualization. Emulation keeps working meanwhile"
                .to_string()
        }
        Kvm::Denied(_) => "sudo usermod -aG kvm $USER, log in again, then restart the machine".to_string(),
        Kvm::Usable => {
            "none needed: this host's KVM cannot boot Linux (common under nested virtualization); \
                        BERTH_BACKEND=qemu-kvm forces KVM if you know it works"
                .to_string()
        }
    };
    match backend {
        Some(b) if b.kind == BackendKind::QemuTcg => Finding::new(
            ID,
            ID,
            Level::Warn,
            format!("emulating the CPU (QEMU TCG: works, slower): {}", b.reason),
            Some(kvm_fix),
        ),
        Some(b) => {
            let what = if b.kind == BackendKind::BerthVmm { "Berth VMM" } else { "QEMU" };
            Finding::new(ID, ID, Level::Ok, format!("hardware virtualization (KVM, {what}): {}", b.reason), None)
        }
        None => match kvm {
            Kvm::Usable => Finding::new(
                ID,
                ID,
                Level::Ok,
                "/dev/kvm is usable; berthd test-boots Linux on it when the machine starts and falls back to emulation \
                 if that fails (see `berth status`)",
                None,
            ),
            Kvm::Missing => Finding::new(
                ID,
                ID,
                Level::Warn,
                "no /dev/kvm: the machine will run under QEMU emulation (works, slower)",
                Some(kvm_fix),
            ),
            Kvm::Denied(e) => Finding::new(
                ID,
                ID,
                Level::Warn,
                format!("/dev/kvm cannot be opened ({e}): the machine will run under emulation (slower)"),
                Some(kvm_fix),
            ),
        },
    }
}

/// The disk finding: free space where the machine keeps its data disk, against how far that sparse disk
/// may still grow (`disk_gib` configured, `used` bytes already taken).
pub fn disk(folder: &Path, space: Option<Space>, disk_gib: u64, used: u64) -> Finding {
    const ID: &str = "disk";
    let Some(Space { free, total }) = space else {
        return Finding::new(
            ID,
            ID,
            Level::Warn,
            format!("cannot measure the free space at {}", folder.display()),
            Some("check that the folder's drive is mounted and readable".into()),
        );
    };
    let max = disk_gib << 30;
    let may_grow = max.saturating_sub(used);
    let about = format!(
        "{} free of {} at {}; the machine's disk can grow to {disk_gib} GiB ({} used)",
        gib(free),
        gib(total),
        folder.display(),
        gib(used)
    );
    if free < 2 << 30 {
        Finding::new(
            ID,
            ID,
            Level::Fail,
            about,
            Some("free some space on that drive: Docker inside the machine needs room for images and containers".into()),
        )
    } else if free < may_grow {
        Finding::new(
            ID,
            ID,
            Level::Warn,
            about,
            Some(format!(
                "the disk only takes what images and containers use, but it stops when the drive is full: keep about {} \
                 free, or remove unused images",
                gib(may_grow)
            )),
        )
    } else {
        Finding::new(ID, ID, Level::Ok, about, None)
    }
}

/// The QEMU binary for this host's architecture and the Debian package that has it.
fn qemu_program() -> (&'static str, &'static str) {
    if cfg!(target_arch = "aarch64") {
        ("qemu-system-aarch64", "qemu-system-arm")
    } else {
        ("qemu-system-x86_64", "qemu-system-x86")
    }
}

/// Findings about the running (or stopped) machine: its sockets, failed port forwards and error.
pub fn machine(status: &Status, docker_socket: &Path) -> Vec<Finding> {
    let mut f = vec![];
    let running = status.state == MachineState::Running;
    let ok = !running || docker_socket.exists();
    f.push(Finding::new(
        "sockets.docker",
        "sockets",
        if ok { Level::Ok } else { Level::Fail },
        match status.state {
            MachineState::Stopped => "machine stopped; no sockets expected".to_string(),
            _ if ok => format!("docker socket {}", docker_socket.display()),
            _ => format!("the machine runs but {} is missing", docker_socket.display()),
        },
        Some("restart the machine (`berth restart`, or Restart in the app)".into()),
    ));
    for p in status.ports.iter().filter(|p| p.state == ForwardState::Failed) {
        f.push(Finding::new(
            format!("ports.{}/{}", p.port, p.transport),
            "ports",
            Level::Fail,
            format!("port {}/{} is not forwarded: {}", p.port, p.transport, p.error.as_deref().unwrap_or("unknown reason")),
            Some(format!(
                "stop the program on this computer that uses port {}, or publish the container on another port",
                p.port
            )),
        ));
    }
    if status.state == MachineState::Error {
        f.push(Finding::new(
            "machine",
            "machine",
            Level::Fail,
            status
                .error
                .clone()
                .unwrap_or_else(|| "the machine failed without saying why".into()),
            Some("read the console log (`berth logs --console`), then stop and start the machine".into()),
        ));
    }
    f
}

/// `finding` without the backend's reason (the status beside it shows that), with a pointer to it.
fn without_reason(mut finding: Finding, backend: Option<&Backend>) -> Finding {
    if let Some(b) = backend {
        let reason = format!(": {}", b.reason);
        if finding.message.contains(&reason) {
            finding.message = finding.message.replacen(&reason, " (why: see Backend)", 1);
        }
    }
    finding
}

impl Engine {
    /// The virtualization and disk findings: what a first run needs to know. Shown beside the machine's
    /// status, which already gives the backend's reason, so the virtualization finding leaves it out.
    pub async fn first_run_checks(&self) -> Result<Vec<Finding>> {
        let status = self.status().await?;
        Ok(vec![
            without_reason(
                virtualization(status.backend.as_ref(), &host::kvm()),
                status.backend.as_ref(),
            ),
            self.disk_finding(status.disk_gib),
        ])
    }

    /// Every check `berth doctor` runs.
    pub async fn doctor(&self) -> Result<Vec<Finding>> {
        let status = self.status().await?;
        let mut f = vec![virtualization(status.backend.as_ref(), &host::kvm())];
        let (qemu, qemu_pkg) = qemu_program();
        for (id, prog, pkg) in [("tools.qemu", qemu, qemu_pkg), ("tools.passt", "passt", "passt")] {
            f.push(match host::which(prog) {
                Some(path) => Finding::new(
                    id,
                    "tools",
                    Level::Ok,
                    format!("{prog} found at {}", path.display()),
                    None,
                ),
                None => Finding::new(
                    id,
                    "tools",
                    Level::Fail,
                    format!("{prog} is not installed"),
                    Some(format!("sudo apt-get install {pkg}")),
                ),
            });
        }
        f.push(match host::which("docker") {
            Some(path) => Finding::new(
                "tools.docker-cli",
                "tools",
                Level::Ok,
                format!("docker CLI found at {}", path.display()),
                None,
            ),
            None => Finding::new(
                "tools.docker-cli",
                "tools",
                Level::Warn,
                "docker CLI not found (optional)",
                Some("install docker-cli, or point any Docker client at DOCKER_HOST".into()),
            ),
        });
        let image_dir = host::guest_image_dir();
        let has_image = image_dir.join("manifest.json").is_file();
        f.push(Finding::new(
            "image",
            "image",
            if has_image { Level::Ok } else { Level::Fail },
            if has_image {
                format!("guest image at {}", image_dir.display())
            } else {
                format!("no guest image at {}", image_dir.display())
            },
            Some("build it: vm-image/build (or scripts/run, which builds what is missing)".into()),
        ));
        f.push(self.disk_finding(status.disk_gib));
        f.extend(machine(&status, &self.paths().docker_socket()));
        Ok(f)
    }

    fn disk_finding(&self, disk_gib: u64) -> Finding {
        let folder = &self.paths().data_dir;
        disk(
            folder,
            host::space(folder),
            disk_gib,
            host::allocated(&self.paths().data_disk()),
        )
    }
}

#[cfg(test)]
mod tests {
    use berth_api::{ForwardedPort, MachineConfig, MachinePaths};

    use super::*;

    fn tcg() -> Backend {
        Backend {
            kind: BackendKind::QemuTcg,
            reason: "/dev/kvm cannot boot Linux here".into(),
        }
    }

    #[test]
    fn virtualization_says_which_backend_runs_and_why() {
        let kvm = Backend {
            kind: BackendKind::QemuKvm,
            reason: "KVM booted our kernel".into(),
        };
        let f = virtualization(Some(&kvm), &Kvm::Usable);
        assert_eq!(f.level, Level::Ok);
        assert!(
            f.message.contains("hardware virtualization") && f.message.contains("KVM booted our kernel"),
            "{f:?}"
        );
        let f = virtualization(Some(&tcg()), &Kvm::Usable);
        assert_eq!(f.level, Level::Warn);
        assert!(f.message.contains("emulating") && f.message.contains("cannot boot Linux here"));
        assert!(f.fix.is_some(), "a warning says what to do");
    }

    #[test]
    fn the_first_run_card_leaves_the_reason_to_the_status_beside_it() {
        let f = without_reason(virtualization(Some(&tcg()), &Kvm::Usable), Some(&tcg()));
        assert_eq!(
            f.message,
            "emulating the CPU (QEMU TCG: works, slower) (why: see Backend)"
        );
        assert!(f.fix.is_some());
        let before_start = virtualization(None, &Kvm::Missing);
        assert_eq!(without_reason(before_start.clone(), None), before_start);
    }

    #[test]
    fn virtualization_before_the_first_start_probes_dev_kvm() {
        assert_eq!(virtualization(None, &Kvm::Usable).level, Level::Ok);
        let f = virtualization(None, &Kvm::Missing);
        assert_eq!(f.level, Level::Warn);
        assert!(f.fix.unwrap().contains("firmware"));
        let f = virtualization(None, &Kvm::Denied("Permission denied".into()));
        assert!(f.message.contains("Permission denied"));
        assert!(f.fix.unwrap().contains("usermod -aG kvm"));
    }

    #[test]
    fn disk_compares_free_space_with_how_far_the_disk_can_grow() {
        let p = Path::new("/m");
        let space = |free_gib: u64| {
            Some(Space {
                free: free_gib << 30,
                total: 500 << 30,
            })
        };
        let f = disk(p, space(100), 64, 1 << 30);
        assert_eq!(f.level, Level::Ok);
        assert!(
            f.message.contains("100.0 GiB free") && f.message.contains("grow to 64 GiB"),
            "{}",
            f.message
        );
        assert!(f.fix.is_none());
        let f = disk(p, space(40), 64, 1 << 30);
        assert_eq!(f.level, Level::Warn, "40 GiB free but the disk may grow by 63");
        assert!(f.fix.unwrap().contains("63.0 GiB"));
        assert_eq!(
            disk(p, space(40), 64, 30 << 30).level,
            Level::Ok,
            "what is used already counts"
        );
        assert_eq!(disk(p, space(1), 64, 0).level, Level::Fail);
        assert_eq!(disk(p, None, 64, 0).level, Level::Warn);
    }

    #[test]
    fn machine_findings_name_failed_ports_and_errors() {
        let mut s = Status::stopped("t", "unix:///x".into(), &MachineConfig::default());
        let f = machine(&s, Path::new("/nonexistent/docker.sock"));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].level, Level::Ok, "a stopped machine has no sockets to miss");
        s.state = MachineState::Running;
        s.ports.push(ForwardedPort {
            transport: "tcp".into(),
            port: 8080,
            containers: vec!["web".into()],
            state: ForwardState::Failed,
            error: Some("host port 8080 is already in use".into()),
        });
        let f = machine(&s, Path::new("/nonexistent/docker.sock"));
        assert_eq!(f[0].level, Level::Fail, "running without a docker socket");
        assert_eq!(f[1].id, "ports.8080/tcp");
        assert!(f[1].message.contains("already in use") && f[1].fix.is_some());
        s.state = MachineState::Error;
        s.error = Some("the guest crashed 3 times in 10 minutes".into());
        let f = machine(&s, Path::new("/nonexistent/docker.sock"));
        assert!(f
            .iter()
            .any(|x| x.id == "machine" && x.message.contains("crashed 3 times")));
    }

    #[tokio::test]
    async fn doctor_covers_every_check_and_each_failure_has_a_fix() {
        let dir = tempfile::tempdir().unwrap();
        let e = Engine::with_paths(MachinePaths {
            name: "t".into(),
            data_dir: dir.path().join("d"),
            run_dir: dir.path().join("r"),
        });
        let f = e.doctor().await.unwrap();
        for check in ["virtualization", "tools", "image", "disk", "sockets"] {
            assert!(f.iter().any(|x| x.check == check), "checks {check}: {f:?}");
        }
        for x in f.iter().filter(|x| x.level != Level::Ok) {
            assert!(
                x.fix.as_deref().is_some_and(|s| !s.is_empty()),
                "{x:?} says how to fix it"
            );
        }
        let first = e.first_run_checks().await.unwrap();
        assert_eq!(
            first.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(),
            ["virtualization", "disk"]
        );
    }
}
