//! virtio-vsock with Firecracker's hybrid host model.
//!
//! Host → guest: a host process connects to the Unix socket `uds_path`, writes `CONNECT <port>\n`,
//! and once the guest accepts reads `OK <host port>\n`; then the socket carries the stream's bytes.
//! If the guest refuses or does not answer within `connect_timeout`, the socket is closed.
//! Guest → host: a guest connect to host CID 2, port P is bridged to the Unix socket `<uds_path>_P`,
//! or refused with RST when nothing listens there.
//!
//! [`VsockMuxer`] is the device core; it works on any [`vm_memory::GuestMemory`] and
//! [`virtio_queue::QueueT`], so an in-process VMM and the vhost-user backend share it.

mod connection;
mod handshake;
mod muxer;
pub mod packet;
mod tx_buf;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::time::Duration;

pub use handshake::parse_connect;
pub use muxer::{Notify, VsockMuxer};

/// Index of the RX queue (device → guest).
pub const RX_QUEUE: usize = 0;
/// Index of the TX queue (guest → device).
pub const TX_QUEUE: usize = 1;
/// Index of the event queue (unused: we never send transport events).
pub const EVENT_QUEUE: usize = 2;
/// Number of virtqueues of a vsock device.
pub const NUM_QUEUES: usize = 3;

/// Settings of the vsock device core.
#[derive(Debug, Clone)]
pub struct MuxerConfig {
    /// The guest's context id.
    pub guest_cid: u64,
    /// The host Unix socket the device listens on; guest connects to port P go to `<uds_path>_P`.
    pub uds_path: PathBuf,
    /// How long a host connect waits for the `CONNECT` line and for the guest to answer.
    pub connect_timeout: Duration,
    /// Receive buffer we advertise to the guest per stream: the most guest bytes we ever hold for a
    /// host stream that is not reading.
    pub buf_alloc: u32,
    /// Most streams at once (host and guest initiated); beyond it connects are refused.
    pub max_connections: usize,
}

impl MuxerConfig {
    /// Defaults: 5 s connect timeout, 256 KiB per-stream buffer, 1024 streams.
    pub fn new(guest_cid: u64, uds_path: impl Into<PathBuf>) -> Self {
        MuxerConfig {
            guest_cid,
            uds_path: uds_path.into(),
            connect_timeout: Duration::from_secs(5),
            buf_alloc: 256 * 1024,
            max_connections: 1024,
        }
    }
}
