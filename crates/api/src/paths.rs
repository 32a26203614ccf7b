//! Where a machine's files live. Persistent state (settings, disks, logs) goes under the data folder;
//! sockets go under a short runtime folder because Unix socket paths are limited to ~104 bytes.
//!
//! `BERTH_HOME` (data) and `BERTH_RUNTIME_DIR` (sockets) override the defaults, which is how tests run
//! an isolated machine.

use std::path::{Path, PathBuf};

/// Name of the machine the CLI and the app use unless told otherwise.
pub const DEFAULT_MACHINE: &str = "default";

/// Every path of one machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachinePaths {
    /// Machine name.
    pub name: String,
    /// Persistent folder: settings, disks, logs.
    pub data_dir: PathBuf,
    /// Runtime folder: sockets and pid files.
    pub run_dir: PathBuf,
}

impl MachinePaths {
    /// Paths of machine `name`, honouring `BERTH_HOME` and `BERTH_RUNTIME_DIR`.
    pub fn new(name: &str) -> MachinePaths {
        let home = std::env::var_os("BERTH_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(default_home);
        let run = std::env::var_os("BERTH_RUNTIME_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(default_runtime);
        MachinePaths {
            name: name.to_string(),
            data_dir: home.join("machines").join(name),
            run_dir: run.join(name),
        }
    }

    /// Settings file (JSON).
    pub fn config_file(&self) -> PathBuf {
        self.data_dir.join("config.json")
    }
    /// The writable data disk (sparse raw image; images, containers and volumes live here).
    pub fn data_disk(&self) -> PathBuf {
        self.data_dir.join("data.img")
    }
    /// berthd's log.
    pub fn daemon_log(&self) -> PathBuf {
        self.data_dir.join("berthd.log")
    }
    /// The guest's serial console.
    pub fn console_log(&self) -> PathBuf {
        self.data_dir.join("console.log")
    }
    /// The hypervisor's own stderr.
    pub fn hypervisor_log(&self) -> PathBuf {
        self.data_dir.join("hypervisor.log")
    }
    /// Lock held by the one berthd of this machine; holds its pid.
    pub fn lock_file(&self) -> PathBuf {
        self.data_dir.join("berthd.lock")
    }
    /// The control API socket.
    pub fn control_socket(&self) -> PathBuf {
        self.run_dir.join("control.sock")
    }
    /// The Docker Engine socket users point `DOCKER_HOST` at.
    pub fn docker_socket(&self) -> PathBuf {
        self.run_dir.join("docker.sock")
    }
    /// The vsock device's hybrid socket (`CONNECT <port>\n`).
    pub fn vsock_socket(&self) -> PathBuf {
        self.run_dir.join("vsock.sock")
    }
    /// The vhost-user socket QEMU attaches the vsock device through.
    pub fn vhost_socket(&self) -> PathBuf {
        self.run_dir.join("vhost-vsock.sock")
    }
    /// berth-vmm's control socket (status, pause, resume, shutdown, balloon).
    pub fn vmm_socket(&self) -> PathBuf {
        self.run_dir.join("vmm.sock")
    }
    /// Folder of passt's socket; passt drops privileges, so the folder is made writable for it.
    pub fn passt_dir(&self) -> PathBuf {
        self.run_dir.join("passt")
    }
    /// passt's socket.
    pub fn passt_socket(&self) -> PathBuf {
        self.passt_dir().join("passt.sock")
    }
    /// `unix://` URL of the Docker socket.
    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.docker_socket().display())
    }
}

fn default_home() -> PathBuf {
    directories::ProjectDirs::from("dev", "berth", "Berth")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("berth-data"))
}

fn default_runtime() -> PathBuf {
    let from_dirs = directories::ProjectDirs::from("dev", "berth", "Berth")
        .and_then(|d| d.runtime_dir().map(Path::to_path_buf));
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc_getuid() };
    from_dirs.unwrap_or_else(|| PathBuf::from(format!("/tmp/berth-{uid}")))
}

#[cfg(unix)]
unsafe fn libc_getuid() -> u32 {
    extern "C" {
        fn getuid() -> u32;
    }
    getuid()
}

#[cfg(not(unix))]
unsafe fn libc_getuid() -> u32 {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_fit_the_unix_path_limit_by_default() {
        let p = MachinePaths {
            name: "default".into(),
            data_dir: "/d".into(),
            run_dir: default_runtime().join("default"),
        };
        assert!(
            p.vhost_socket().as_os_str().len() < 100,
            "{}",
            p.vhost_socket().display()
        );
        assert!(p.passt_socket().as_os_str().len() < 100);
    }
}
