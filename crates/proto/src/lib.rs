//! Host <-> guest contract of Berth: vsock port numbers, the guest configuration handed to the agent on
//! the kernel command line, and the JSON-lines messages of the control, forward and shell channels.
//!
//! Every channel is a vsock stream that the host opens to the guest (CID [`GUEST_CID`]) through the
//! hybrid Unix socket (`CONNECT <port>\n` → `OK <n>\n`). Framing: one JSON object per line (`\n`), then —
//! for forward and shell streams — raw bytes after the first reply line.
#![deny(missing_docs)]

mod config;
mod control;
mod framing;
mod stream;

pub use config::{GuestConfig, GuestNet, CMDLINE_KEY};
pub use control::{AgentMessage, CpuTimes, DiskUsage, GuestUsage, HostMessage, MemoryUsage, Phase};
pub use framing::{read_json_line, write_json_line, FramingError, MAX_LINE};
pub use stream::{ForwardReply, ForwardRequest, ShellReply, ShellRequest, Transport};

/// Version of this protocol. The agent reports its own in `Hello`; the host refuses a different major.
pub const PROTOCOL_VERSION: u32 = 1;

/// Context id the guest's vsock device is given.
pub const GUEST_CID: u32 = 3;

/// vsock ports the agent listens on in the guest.
pub mod port {
    /// Control channel: hello, status, ready, shutdown, clock (JSON lines both ways).
    pub const CONTROL: u32 = 1024;
    /// Port-forward streams: a [`crate::ForwardRequest`] line, a [`crate::ForwardReply`] line, then bytes.
    pub const FORWARD: u32 = 1025;
    /// Shell streams for `berth shell`: a [`crate::ShellRequest`] line, a [`crate::ShellReply`], then bytes.
    pub const SHELL: u32 = 1026;
    /// Docker Engine API: raw bytes spliced to the guest's `/run/docker.sock`.
    pub const DOCKER: u32 = 2375;
}
