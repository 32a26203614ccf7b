//! `berth doctor`: what could stop a machine from working here, each finding with a fix.

use std::path::Path;

use berth_api::{ForwardState, MachineState};
use berth_engine::Engine;
use serde::Serialize;

use crate::{CmdResult, Failure};

#[derive(Serialize)]
struct Finding {
    check: &'static str,
    ok: bool,
    detail: String,
    fix: Option<String>,
}

fn finding(check: &'static str, ok: bool, detail: impl Into<String>, fix: Option<String>) -> Finding {
    Finding { check, ok, detail: detail.into(), fix: if ok { None } else { fix } }
}

pub async fn run(engine: &Engine, json: bool) -> CmdResult {
    let p = engine.paths();
    let mut f = vec![virtualization()];
    for (prog, pkg) in [("qemu-system-x86_64", "qemu-system-x86"), ("passt", "passt")] {
        let found = which(prog);
        f.push(finding(
            "tools",
            found.is_some(),
            match &found {
                Some(path) => format!("{prog} found at {path}"),
                None => format!("{prog} is not installed"),
            },
            Some(format!("sudo apt-get install {pkg}")),
        ));
    }
    let docker_cli = which("docker");
    f.push(finding(
        "tools",
        true,
        match docker_cli {
            Some(path) => format!("docker CLI found at {path}"),
            None => "docker CLI not found (optional: install docker-cli, or use any client with DOCKER_HOST)".into(),
        },
        None,
    ));
    let image_dir = std::env::var_os("BERTH_IMAGE_DIR").map(std::path::PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".local/share/berth/image")).unwrap_or_default()
    });
    let has_image = image_dir.join("manifest.json").is_file();
    f.push(finding(
        "image",
        has_image,
        format!("guest image at {}", image_dir.display()),
        Some("build it: vm-image/build (or scripts/run, which builds what is missing)".into()),
    ));
    let (free, total) = disk_space(if p.data_dir.exists() { &p.data_dir } else { Path::new("/") });
    f.push(finding(
        "disk",
        free > 2 << 30,
        format!("{:.1} GiB free of {:.1} GiB where the machine keeps its disk", gib(free), gib(total)),
        Some("free some space: Docker inside the machine needs room for images and containers".into()),
    ));
    let status = engine.status().await?;
    let running = status.state != MachineState::Stopped;
    let docker_sock = p.docker_socket();
    f.push(finding(
        "sockets",
        !running || status.state != MachineState::Running || docker_sock.exists(),
        if running { format!("docker socket {}", docker_sock.display()) } else { "machine stopped; no sockets expected".into() },
        Some("restart the machine: berth restart".into()),
    ));
    for port in status.ports.iter().filter(|p| p.state == ForwardState::Failed) {
        f.push(finding("ports", false, format!("port {} is not forwarded", port.port), port.error.clone()));
    }
    if status.state == MachineState::Error {
        f.push(finding("machine", false, status.error.clone().unwrap_or_default(), Some("berth logs --console; then berth stop && berth start".into())));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&f)?);
    } else {
        for x in &f {
            println!("{} {:<14} {}", if x.ok { "ok  " } else { "FAIL" }, x.check, x.detail);
            if let Some(fix) = &x.fix {
                println!("     {:<14} fix: {fix}", "");
            }
        }
    }
    let failed = f.iter().filter(|x| !x.ok).count();
    if failed > 0 {
        return Err(Failure { code: 1, message: format!("{failed} problem(s) found") });
    }
    Ok(())
}

fn virtualization() -> Finding {
    match std::fs::OpenOptions::new().read(true).write(true).open("/dev/kvm") {
        Ok(_) => finding(
            "virtualization",
            true,
            "/dev/kvm is usable; berthd still test-boots Linux on it and falls back to emulation if that fails (see `berth status`)",
            None,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => finding(
            "virtualization",
            true,
            "no /dev/kvm: the machine runs under QEMU emulation (works, slower)",
            None,
        ),
        Err(e) => finding(
            "virtualization",
            true,
            format!("/dev/kvm cannot be opened ({e}): the machine runs under emulation"),
            Some("sudo usermod -aG kvm $USER, then log in again".into()),
        ),
    }
}

fn which(prog: &str) -> Option<String> {
    std::env::var_os("PATH")?
        .to_string_lossy()
        .split(':')
        .map(|d| Path::new(d).join(prog))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}

fn disk_space(path: &Path) -> (u64, u64) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else { return (0, 0) };
    // SAFETY: statvfs fills a struct we own from a valid C string.
    unsafe {
        let mut s: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut s) != 0 {
            return (0, 0);
        }
        (s.f_bavail as u64 * s.f_frsize as u64, s.f_blocks as u64 * s.f_frsize as u64)
    }
}

fn gib(b: u64) -> f64 {
    b as f64 / (1u64 << 30) as f64
}
