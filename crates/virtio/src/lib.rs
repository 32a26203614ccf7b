//! Berth's virtio devices, built on rust-vmm's `virtio-queue` and `vm-memory`.
//!
//! The devices are independent of any hypervisor: a device core works on a [`vm_memory::GuestMemory`]
//! and [`virtio_queue::QueueT`] queues handed to it, so our own VMM can drive it in-process, and
//! [`vhost_user`] serves the same core to QEMU as a vhost-user backend.
//!
//! Devices so far:
//! - [`vsock`]: virtio-vsock with Firecracker's hybrid Unix-socket model on the host side.
#![deny(missing_docs)]

mod error;
pub mod vhost_user;
pub mod vsock;

pub use error::VsockError;
pub use vhost_user::{serve_vsock, VsockBackendConfig};

#[cfg(test)]
mod test_driver;
