//! Virtio devices behind our virtio-mmio transport. Each is a state machine over guest memory and
//! virtio-queue queues handed to it at activation, so it is tested without a hypervisor.
//!
//! - [`block`]: virtio-blk on a raw image file (read-only root, read-write data with DISCARD).
//! - `vsock` (Linux): the `berth_virtio` vsock core (hybrid Unix socket) in-process.

pub mod block;
#[cfg(target_os = "linux")]
pub mod vsock;

#[cfg(all(test, target_os = "linux"))]
mod transport_tests;
