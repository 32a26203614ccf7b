//! passt: user-mode networking for the guest. One passt process per boot (`-1`: it quits when QEMU
//! disconnects). It maps the gateway address to the host's loopback, which is how the guest reaches
//! `host.docker.internal`.

use std::hash::{Hash, Hasher};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use berth_proto::GuestNet;
use tokio::process::{Child, Command};

use crate::{Error, Result};

/// The user passt switches to when started as root.
const NOBODY: u32 = 65534;

/// Where passt's socket can live. passt started as root runs as nobody, which must be able to reach the
/// socket's folder: when a folder above `preferred` is closed to others (e.g. a 0700 temp folder), the
/// socket moves to a folder of its own under the system temp folder.
pub fn socket_path(preferred: &Path) -> PathBuf {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let reachable = preferred
        .parent()
        .and_then(Path::parent)
        .map(|above| {
            above.ancestors().all(|a| {
                std::fs::metadata(a)
                    .map(|m| m.permissions().mode() & 0o001 != 0)
                    .unwrap_or(true)
            })
        })
        .unwrap_or(true);
    if !root || reachable {
        return preferred.to_path_buf();
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    preferred.hash(&mut h);
    std::env::temp_dir()
        .join("berth-passt")
        .join(format!("{:016x}", h.finish()))
        .join("passt.sock")
}

/// Starts passt serving `socket`, and waits until the socket exists.
pub async fn start(socket: &Path, net: &GuestNet, log: &Path) -> Result<Child> {
    let dir = socket.parent().ok_or_else(|| {
        Error::io(
            "passt socket has no folder",
            std::io::ErrorKind::InvalidInput.into(),
        )
    })?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    if let Some(base) = dir.parent() {
        if base.file_name().is_some_and(|n| n == "berth-passt") {
            let _ = std::fs::set_permissions(base, std::fs::Permissions::from_mode(0o711));
        }
    }
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
        .args([
            "-a",
            &net.address,
            "-n",
            &net.prefix.to_string(),
            "-g",
            &net.gateway,
        ])
        .args(["--dns-forward", &net.dns])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::MissingTool {
                program: "passt",
                package: "passt",
            },
            _ => Error::Spawn {
                what: "passt",
                source: e,
            },
        })?;
    for _ in 0..100 {
        if socket.exists() {
            return Ok(child);
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Error::Boot(format!(
                "passt exited ({status}); see {}",
                log.display()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(Error::Boot(format!(
        "passt did not create {} within 5s; see {}",
        socket.display(),
        log.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_behind_a_closed_folder_moves_when_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let preferred = dir.path().join("run/default/passt/passt.sock");
        let chosen = socket_path(&preferred);
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            assert!(
                chosen.starts_with(std::env::temp_dir().join("berth-passt")),
                "{}",
                chosen.display()
            );
            assert_eq!(
                chosen,
                socket_path(&preferred),
                "the same machine gets the same folder"
            );
        } else {
            assert_eq!(chosen, preferred, "passt keeps our user when we are not root");
        }
    }
}
