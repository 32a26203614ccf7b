//! Opening lines of the forward ([`crate::port::FORWARD`]) and shell ([`crate::port::SHELL`]) streams.

use serde::{Deserialize, Serialize};

/// Transport of a forwarded port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// A TCP stream: bytes after the reply line are the connection's bytes.
    Tcp,
    /// UDP: after the reply line each datagram travels as a 2-byte big-endian length and its bytes.
    Udp,
}

/// First line on a forward stream: connect to `port` on the guest's loopback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardRequest {
    /// TCP or UDP.
    pub transport: Transport,
    /// Guest port (Docker's published host port, served by docker-proxy in the guest).
    pub port: u16,
}

/// The agent's answer to a [`ForwardRequest`]; bytes follow only when `error` is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardReply {
    /// Why the guest could not connect, if it could not.
    pub error: Option<String>,
}

/// First line on a shell stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShellRequest {
    /// Program and arguments; empty for an interactive login shell.
    #[serde(default)]
    pub command: Vec<String>,
    /// Run under a pseudo-terminal of `rows` × `cols` (interactive use); otherwise plain pipes with
    /// stdout and stderr merged.
    pub tty: bool,
    /// Terminal rows when `tty`.
    #[serde(default)]
    pub rows: u16,
    /// Terminal columns when `tty`.
    #[serde(default)]
    pub cols: u16,
}

/// The agent's answer to a [`ShellRequest`]. After it, bytes flow both ways until the program exits;
/// the agent then closes the stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShellReply {
    /// Why the program could not be started, if it could not.
    pub error: Option<String>,
}
