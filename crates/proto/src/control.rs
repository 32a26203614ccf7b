//! Messages of the control channel ([`crate::port::CONTROL`]). The host opens it once per boot and sends
//! `Hello`; the agent answers `Hello` and then pushes `Status` as it brings services up, `Ready` once
//! dockerd answers, and `ServiceExited` when a supervised service dies. `Ping` and `Usage` are answered
//! on any connection, with or without `Hello` (berthd asks for usage on a connection of its own).

use serde::{Deserialize, Serialize};

/// Host → agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HostMessage {
    /// First message on a control connection.
    Hello {
        /// The host's [`crate::PROTOCOL_VERSION`].
        protocol: u32,
    },
    /// Set the guest's wall clock (ms since the Unix epoch).
    SetClock {
        /// Host time in ms since the Unix epoch.
        unix_ms: u64,
    },
    /// Stop dockerd and containerd gracefully, sync, unmount and power off within `deadline_ms`.
    Shutdown {
        /// Time the guest has before it powers off regardless.
        deadline_ms: u64,
    },
    /// Liveness probe; the agent answers `Pong`.
    Ping,
    /// The agent answers `Usage` with a [`GuestUsage`] snapshot.
    Usage,
}

/// Cumulative CPU time of the whole guest since boot (`/proc/stat`'s `cpu` line), in clock ticks.
/// CPU use between two snapshots is `Δbusy / Δtotal` (of all CPUs together).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuTimes {
    /// Ticks spent neither idle nor waiting for I/O.
    pub busy_jiffies: u64,
    /// All ticks (user, nice, system, idle, iowait, irq, softirq, steal).
    pub total_jiffies: u64,
    /// Online CPUs (`cpuN` lines).
    pub cpus: u32,
}

/// The guest's memory (`/proc/meminfo`); in use = total − available.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryUsage {
    /// `MemTotal`, bytes.
    pub total_bytes: u64,
    /// `MemAvailable`, bytes: what could be given to programs without swapping (free + reclaimable cache).
    pub available_bytes: u64,
}

/// The filesystem holding Docker's data (`statvfs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskUsage {
    /// The path measured (`/var/lib/docker`).
    pub path: String,
    /// Filesystem size, bytes.
    pub size_bytes: u64,
    /// Bytes in use (size − free blocks).
    pub used_bytes: u64,
    /// Bytes still available to programs (without the blocks reserved for root).
    pub free_bytes: u64,
}

/// The guest's resource use at one moment: the answer to [`HostMessage::Usage`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestUsage {
    /// Cumulative CPU time.
    pub cpu: CpuTimes,
    /// Memory.
    pub memory: MemoryUsage,
    /// The data disk; `None` when it could not be measured.
    pub disk: Option<DiskUsage>,
}

/// Where the guest is on its way to a ready Docker Engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Mounting filesystems and configuring the network.
    Booting,
    /// Checking, formatting or mounting the data disk.
    DataDisk,
    /// containerd is starting.
    Containerd,
    /// dockerd is starting.
    Dockerd,
    /// dockerd answers on its socket.
    Ready,
    /// Shutting down.
    Stopping,
    /// Something the guest cannot recover from; `message` says what.
    Failed,
}

/// Agent → host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentMessage {
    /// Answer to the host's `Hello`.
    Hello {
        /// The agent's [`crate::PROTOCOL_VERSION`].
        protocol: u32,
        /// The agent's crate version.
        agent_version: String,
        /// `uname -r` of the guest kernel.
        kernel: String,
        /// The phase the guest is in right now.
        phase: Phase,
    },
    /// Progress or trouble on the way up.
    Status {
        /// The phase entered.
        phase: Phase,
        /// What is happening, for logs and the UI.
        message: String,
    },
    /// dockerd answers on its socket.
    Ready {
        /// The engine's version (`/version` → `Version`).
        docker_version: String,
    },
    /// A supervised service exited and will be restarted after `restart_in_ms`.
    ServiceExited {
        /// `containerd` or `dockerd`.
        name: String,
        /// Exit status as the agent saw it (e.g. `exit 1`, `signal 9`).
        status: String,
        /// Backoff before the restart.
        restart_in_ms: u64,
    },
    /// Answer to `Ping`.
    Pong,
    /// Answer to `Usage`.
    Usage(GuestUsage),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_json_objects() {
        let m = HostMessage::Shutdown { deadline_ms: 10_000 };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"type":"shutdown","deadline_ms":10000}"#
        );
        let a: AgentMessage =
            serde_json::from_str(r#"{"type":"status","phase":"data_disk","message":"formatting"}"#).unwrap();
        assert_eq!(
            a,
            AgentMessage::Status {
                phase: Phase::DataDisk,
                message: "formatting".into()
            }
        );
    }

    #[test]
    fn usage_request_and_answer_round_trip() {
        let req = serde_json::to_string(&HostMessage::Usage).unwrap();
        assert_eq!(req, r#"{"type":"usage"}"#);
        assert_eq!(
            serde_json::from_str::<HostMessage>(&req).unwrap(),
            HostMessage::Usage
        );
        let answer = AgentMessage::Usage(GuestUsage {
            cpu: CpuTimes {
                busy_jiffies: 1_234,
                total_jiffies: 98_765,
                cpus: 2,
            },
            memory: MemoryUsage {
                total_bytes: 2 << 30,
                available_bytes: 1 << 30,
            },
            disk: Some(DiskUsage {
                path: "/var/lib/docker".into(),
                size_bytes: 64 << 30,
                used_bytes: 3 << 30,
                free_bytes: 58 << 30,
            }),
        });
        let json = serde_json::to_string(&answer).unwrap();
        assert!(
            json.starts_with(r#"{"type":"usage","cpu":{"busy_jiffies":1234,"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<AgentMessage>(&json).unwrap(), answer);
        let no_disk = AgentMessage::Usage(GuestUsage::default());
        let json = serde_json::to_string(&no_disk).unwrap();
        assert!(json.contains(r#""disk":null"#), "{json}");
        assert_eq!(serde_json::from_str::<AgentMessage>(&json).unwrap(), no_disk);
    }

    #[test]
    fn unknown_message_types_are_errors_not_panics() {
        assert!(serde_json::from_str::<HostMessage>(r#"{"type":"format_disk"}"#).is_err());
        assert!(serde_json::from_str::<AgentMessage>("[]").is_err());
    }
}
