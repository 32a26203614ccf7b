//! What berthd reports: the machine's state, the backend it chose and why, versions and forwarded
//! ports, and the events it streams.

use serde::{Deserialize, Serialize};

/// Lifecycle of a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MachineState {
    /// Not running (no daemon).
    Stopped,
    /// Booting the guest or waiting for Docker Engine.
    Starting,
    /// Docker Engine answers on the host socket.
    Running,
    /// Shutting down.
    Stopping,
    /// Could not start or crashed too often; `Status::error` says why and what to do.
    Error,
}

/// Which hypervisor runs the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// QEMU with hardware virtualization (KVM).
    QemuKvm,
    /// QEMU emulating the CPU in software (TCG): works everywhere, slower.
    QemuTcg,
    /// Berth's own VMM.
    BerthVmm,
}

/// The backend in use and why it was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backend {
    /// Which one.
    pub kind: BackendKind,
    /// Why, in words a user can act on.
    pub reason: String,
}

/// Versions of the pieces of a running machine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versions {
    /// berthd's version.
    pub berth: String,
    /// berth-agent's version in the guest.
    pub agent: Option<String>,
    /// Guest kernel release.
    pub kernel: Option<String>,
    /// Docker Engine version in the guest.
    pub docker: Option<String>,
    /// Guest image id (hash of its inputs).
    pub image: Option<String>,
}

/// Whether a published port reaches the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForwardState {
    /// Listening on 127.0.0.1.
    Forwarding,
    /// The host port could not be opened; `error` says why.
    Failed,
}

/// A container port published on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardedPort {
    /// `tcp` or `udp`.
    pub transport: String,
    /// Host port (127.0.0.1).
    pub port: u16,
    /// Container names that publish it.
    pub containers: Vec<String>,
    /// Forwarding or failed.
    pub state: ForwardState,
    /// Why it failed.
    pub error: Option<String>,
}

/// Everything `berth status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Machine name.
    pub name: String,
    /// Lifecycle state.
    pub state: MachineState,
    /// What is happening now (boot phase, shutdown step).
    pub detail: Option<String>,
    /// When `state` is `error`: what happened and what to do.
    pub error: Option<String>,
    /// The backend, once chosen.
    pub backend: Option<Backend>,
    /// `unix://...` of the Docker socket.
    pub docker_host: String,
    /// Versions of the running pieces.
    pub versions: Versions,
    /// Virtual CPUs.
    pub cpus: u32,
    /// Guest memory in MiB.
    pub memory_mib: u64,
    /// Data disk size in GiB.
    pub disk_gib: u64,
    /// Seconds since the guest was started.
    pub uptime_s: Option<u64>,
    /// berthd's pid.
    pub pid: Option<u32>,
    /// Times the guest crashed and was restarted since berthd started.
    pub restarts: u32,
    /// The last crash, described.
    pub last_crash: Option<String>,
    /// Published container ports and their forwards.
    pub ports: Vec<ForwardedPort>,
}

impl Status {
    /// The status of a machine with no daemon.
    pub fn stopped(name: &str, docker_host: String, cfg: &crate::MachineConfig) -> Status {
        Status {
            name: name.to_string(),
            state: MachineState::Stopped,
            detail: None,
            error: None,
            backend: None,
            docker_host,
            versions: Versions {
                berth: env!("CARGO_PKG_VERSION").to_string(),
                ..Default::default()
            },
            cpus: cfg.cpus,
            memory_mib: cfg.memory_mib,
            disk_gib: cfg.disk_gib,
            uptime_s: None,
            pid: None,
            restarts: 0,
            last_crash: None,
            ports: vec![],
        }
    }
}

/// An event on `/v1/events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The status changed (the first event of every stream is the current status).
    Status {
        /// The new status.
        status: Box<Status>,
    },
    /// A line of progress worth showing (boot phases, crashes, forwards).
    Log {
        /// The message.
        message: String,
    },
}

/// Body of an error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// What went wrong and what to do.
    pub error: String,
}
