//! virtio-blk on a raw image file: IN, OUT, FLUSH (fsync), GET_ID and, on writable disks, DISCARD
//! (punches holes so freed blocks return to the host). One request queue, served when the driver
//! notifies it; see [`request`] for how each chain is checked.

pub mod disk;
pub mod request;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use virtio_queue::{Queue, QueueT};
use vm_memory::GuestMemoryMmap;

pub use disk::{Disk, DiskError};
use request::{Context, ID_BYTES, MAX_DISCARD_SECTORS, MAX_DISCARD_SEGMENTS};

use crate::virtio_mmio::{ActivateConfig, ActivateError, VirtioDevice, VirtioInterrupt};

/// Virtio device id of a block device.
pub const DEVICE_TYPE_BLOCK: u32 = 2;
/// Largest request queue.
pub const QUEUE_SIZE: u16 = 256;
/// Most data segments per request we advertise (`seg_max`).
pub const SEG_MAX: u32 = 128;
/// Bytes copied between the file and guest memory at a time.
const CHUNK: usize = 128 * 1024;

const F_SEG_MAX: u64 = 1 << 2;
const F_RO: u64 = 1 << 5;
const F_FLUSH: u64 = 1 << 9;
const F_DISCARD: u64 = 1 << 13;
const F_RING_INDIRECT_DESC: u64 = 1 << 28;

/// Length of the configuration space we expose (`struct virtio_blk_config` up to the write-zeroes fields).
const CONFIG_LEN: usize = 60;

struct Active {
    mem: GuestMemoryMmap,
    queue: Queue,
    interrupt: Arc<VirtioInterrupt>,
}

/// A virtio-blk device.
pub struct Block {
    disk: Disk,
    id: [u8; ID_BYTES],
    config: [u8; CONFIG_LEN],
    scratch: Vec<u8>,
    active: Option<Active>,
}

impl Block {
    /// A device serving `disk`; `id` (truncated to 20 bytes) is what GET_ID returns, the guest's
    /// `/sys/block/vdX/serial`.
    pub fn new(disk: Disk, id: &str) -> Self {
        let mut id_bytes = [0u8; ID_BYTES];
        let n = id.len().min(ID_BYTES);
        id_bytes[..n].copy_from_slice(&id.as_bytes()[..n]);
        let mut config = [0u8; CONFIG_LEN];
        config[0..8].copy_from_slice(&disk.sectors().to_le_bytes());
        config[12..16].copy_from_slice(&SEG_MAX.to_le_bytes());
        if disk.supports_discard() {
            config[36..40].copy_from_slice(&MAX_DISCARD_SECTORS.to_le_bytes());
            config[40..44].copy_from_slice(&MAX_DISCARD_SEGMENTS.to_le_bytes());
            // Discard in 4 KiB units: the host file system's block size.
            config[44..48].copy_from_slice(&8u32.to_le_bytes());
        }
        Block {
            disk,
            id: id_bytes,
            config,
            scratch: vec![0; CHUNK],
            active: None,
        }
    }

    /// The disk behind the device.
    pub fn disk(&self) -> &Disk {
        &self.disk
    }

    /// Serves every available request and interrupts the driver if it wants to know.
    fn process_queue(&mut self) {
        let Some(active) = self.active.as_mut() else {
            return;
        };
        let mut ctx = Context {
            disk: &self.disk,
            id: &self.id,
            scratch: &mut self.scratch,
        };
        let mem = &active.mem;
        let mut used_any = false;
        while let Some(chain) = active.queue.pop_descriptor_chain(mem) {
            let head = chain.head_index();
            let len = request::handle(mem, chain, &mut ctx);
            if let Err(e) = active.queue.add_used(mem, head, len) {
                tracing::warn!(error = ?e, "virtio-blk: cannot return a request to the used ring");
                break;
            }
            used_any = true;
        }
        if used_any && active.queue.needs_notification(mem).unwrap_or(true) {
            if let Err(e) = active.interrupt.signal_used_queue() {
                tracing::warn!(error = %e, "virtio-blk: cannot raise the interrupt");
            }
        }
    }
}

impl VirtioDevice for Block {
    fn device_type(&self) -> u32 {
        DEVICE_TYPE_BLOCK
    }

    fn device_features(&self) -> u64 {
        let mut f = F_SEG_MAX | F_FLUSH | F_RING_INDIRECT_DESC;
        if self.disk.read_only() {
            f |= F_RO;
        }
        if self.disk.supports_discard() {
            f |= F_DISCARD;
        }
        f
    }

    fn queue_max_sizes(&self) -> &[u16] {
        &[QUEUE_SIZE]
    }

    fn read_config(&self, offset: u64, data: &mut [u8]) {
        for (i, b) in data.iter_mut().enumerate() {
            *b = usize::try_from(offset)
                .ok()
                .and_then(|o| o.checked_add(i))
                .and_then(|o| self.config.get(o))
                .copied()
                .unwrap_or(0);
        }
    }

    fn write_config(&mut self, offset: u64, data: &[u8]) {
        // The writeback toggle is the only writable field and we do not offer it.
        tracing::debug!(offset, len = data.len(), "virtio-blk: config write ignored");
    }

    fn activate(&mut self, config: ActivateConfig) -> Result<(), ActivateError> {
        let Some(Some(queue)) = config.queues.into_iter().next() else {
            return Err(ActivateError(
                "virtio-blk: the driver did not enable the request queue".into(),
            ));
        };
        self.active = Some(Active {
            mem: config.mem,
            queue,
            interrupt: config.interrupt,
        });
        // Requests posted before DRIVER_OK are served now.
        self.process_queue();
        Ok(())
    }

    fn queue_notify(&mut self, queue: u16) {
        if queue == 0 {
            self.process_queue();
        }
    }

    fn reset(&mut self) {
        self.active = None;
    }
}
