//! Our virtio-mmio transport (virtio 1.x, "version 2" register layout; rust-vmm's is unpublished) and the
//! [`VirtioDevice`] trait that blk, net, vsock, rng and balloon plug into.
//!
//! The transport owns everything the spec makes the transport's business — feature negotiation, queue
//! setup, the status state machine, reset, interrupt status and acknowledgement — and validates every
//! value the guest writes before a device sees it: queues are handed over only once valid in guest memory,
//! features only once accepted, and nothing after `DRIVER_OK` changes the queues under a running device.

mod device;
pub mod registers;
mod transport;

pub use device::{ActivateConfig, ActivateError, VirtioDevice, VirtioInterrupt};
pub use transport::MmioTransport;

#[cfg(test)]
mod transport_tests;
