//! The device side of the transport: what a virtio device implements, and how it raises interrupts.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use virtio_queue::Queue;
use vm_memory::GuestMemoryMmap;

use super::registers::{INT_CONFIG_CHANGE, INT_USED_RING};
use crate::devices::IrqLine;

/// A device could not start with what the driver set up.
#[derive(Debug, thiserror::Error)]
#[error("virtio device activation failed: {0}")]
pub struct ActivateError(pub String);

/// Everything a device needs once the driver sets `DRIVER_OK`.
pub struct ActivateConfig {
    /// Guest memory the queues live in.
    pub mem: GuestMemoryMmap,
    /// One entry per queue the device declared; `None` where the driver did not enable that queue.
    /// Enabled queues were checked to lie inside guest memory with a valid size.
    pub queues: Vec<Option<Queue>>,
    /// The features the driver accepted (a subset of the device's, with `VIRTIO_F_VERSION_1`).
    pub features: u64,
    /// How to tell the driver about used buffers or configuration changes.
    pub interrupt: Arc<VirtioInterrupt>,
}

/// A virtio device behind the transport. The transport validates guest input first; a device still
/// validates descriptor chains itself.
pub trait VirtioDevice: Send {
    /// The virtio device id (1 net, 2 block, 4 rng, 19 vsock, ...).
    fn device_type(&self) -> u32;
    /// Features the device offers. The transport adds `VIRTIO_F_VERSION_1`.
    fn device_features(&self) -> u64;
    /// Maximum size of each queue; the length is the number of queues.
    fn queue_max_sizes(&self) -> &[u16];
    /// Reads configuration space at `offset`; out-of-range bytes read as zero.
    fn read_config(&self, offset: u64, data: &mut [u8]);
    /// Writes configuration space at `offset`; out-of-range writes are ignored.
    fn write_config(&mut self, offset: u64, data: &[u8]);
    /// Starts the device.
    fn activate(&mut self, config: ActivateConfig) -> Result<(), ActivateError>;
    /// The driver notified queue `queue` (an index the device declared).
    fn queue_notify(&mut self, queue: u16);
    /// Stops the device and drops its queues (the driver wrote status 0).
    fn reset(&mut self);
    /// A host fd the event loop watches for this device (a backend's socket or epoll set); when it is
    /// readable the loop calls [`VirtioDevice::handle_backend_event`], whether or not the device runs.
    fn backend_fd(&self) -> Option<RawFd> {
        None
    }
    /// The fd from [`VirtioDevice::backend_fd`] is readable.
    fn handle_backend_event(&mut self) {}
}

/// Interrupt status register plus the line that raises it.
pub struct VirtioInterrupt {
    status: AtomicU32,
    config_generation: AtomicU32,
    line: Arc<dyn IrqLine>,
}

impl VirtioInterrupt {
    /// Interrupts raised through `line`.
    pub fn new(line: Arc<dyn IrqLine>) -> Self {
        VirtioInterrupt {
            status: AtomicU32::new(0),
            config_generation: AtomicU32::new(0),
            line,
        }
    }

    /// Tells the driver a queue has used buffers.
    pub fn signal_used_queue(&self) -> std::io::Result<()> {
        self.status.fetch_or(INT_USED_RING, Ordering::SeqCst);
        self.line.trigger()
    }

    /// Tells the driver the configuration space changed (also bumps the configuration generation).
    pub fn signal_config_change(&self) -> std::io::Result<()> {
        self.config_generation.fetch_add(1, Ordering::SeqCst);
        self.status.fetch_or(INT_CONFIG_CHANGE, Ordering::SeqCst);
        self.line.trigger()
    }

    /// The interrupt status register.
    pub fn status(&self) -> u32 {
        self.status.load(Ordering::SeqCst)
    }

    /// The configuration generation register.
    pub fn config_generation(&self) -> u32 {
        self.config_generation.load(Ordering::SeqCst)
    }

    /// Clears acknowledged bits.
    pub fn ack(&self, bits: u32) {
        self.status.fetch_and(!bits, Ordering::SeqCst);
    }

    pub(super) fn clear(&self) {
        self.status.store(0, Ordering::SeqCst);
    }
}
