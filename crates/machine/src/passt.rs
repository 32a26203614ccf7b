//! passt: user-mode networking for the guest. One passt process per boot (`-1`: it quits when QEMU
//! disconnects). It maps the gateway address to the host's loopback, which is how the guest reaches
//! `host.docker.internal`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use berth_proto::GuestNet;
use tokio::process::{Child, Command};

use crate::{Error, Result};

/// The user passt switches to when started as root.
const NOBODY: u32 = 65534;

/// Starts passt serving `socket`, and waits until the socket exists.
pub async fn start(socket: &Path, net: &GuestNet, log: &Path) -> Result<Child> {
    let dir = socket.parent().ok_or_else(|| Error::io("passt socket has no folder", std::io::ErrorKind::InvalidInput.into()))?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    // passt drops privileges (to nobody when started as root) before it creates its socket, so the
    // folder must be its own; the folders above it need only be traversable (0711).
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(dir, Some(NOBODY), Some(NOBODY))
            .map_err(|e| Error::io(format!("cannot hand {} to passt's user", dir.display()), e))?;
    }
    let _ = std::fs::remove_file(socket);
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| Error::io(format!("cannot open {}", log.display()), e))?;
    let mut child = Command::new("passt")
        .args(["-f", "-1", "-q", "-4", "-s"])
        .arg(socket)
        .args(["-a", &net.address, "-n", &net.prefix.to_string(), "-g", &net.gateway])
        .args(["--dns-forward", &net.dns])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::MissingTool { program: "passt", package: "passt" },
            _ => Error::Spawn { what: "passt", source: e },
        })?;
    for _ in 0..100 {
        if socket.exists() {
            return Ok(child);
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Error::Boot(format!("passt exited ({status}); see {}", log.display())));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(Error::Boot(format!("passt did not create {} within 5s; see {}", socket.display(), log.display())))
}
