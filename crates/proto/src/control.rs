//! Messages of the control channel ([`crate::port::CONTROL`]). The host opens it once per boot and sends
//! `Hello`; the agent answers `Hello` and then pushes `Status` as it brings services up, `Ready` once
//! dockerd answers, and `ServiceExited` when a supervised service dies.

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
    fn unknown_message_types_are_errors_not_panics() {
        assert!(serde_json::from_str::<HostMessage>(r#"{"type":"format_disk"}"#).is_err());
        assert!(serde_json::from_str::<AgentMessage>("[]").is_err());
    }
}
