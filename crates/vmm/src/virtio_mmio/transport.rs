//! The virtio-mmio register file and its state machine.

use std::sync::Arc;

use virtio_queue::{Queue, QueueT};
use vm_memory::{GuestAddress, GuestMemoryMmap};

use super::registers::*;
use super::{ActivateConfig, VirtioDevice, VirtioInterrupt};
use crate::bus::BusDevice;

/// What the driver wrote for one queue; turned into a [`Queue`] only when valid.
#[derive(Clone, Debug, Default)]
struct QueueSetup {
    max_size: u16,
    size: u32,
    desc: u64,
    avail: u64,
    used: u64,
    /// The driver enabled the queue and it was valid then; nothing can change it until a reset.
    ready: bool,
}

impl QueueSetup {
    fn new(max_size: u16) -> Self {
        QueueSetup {
            max_size,
            size: u32::from(max_size),
            ..Default::default()
        }
    }

    /// The queue as the driver described it, if it is valid in `mem`; otherwise why not.
    fn build(&self, mem: &GuestMemoryMmap) -> Result<Queue, String> {
        let mut q = Queue::new(self.max_size).map_err(|e| format!("{e:?}"))?;
        let size = u16::try_from(self.size).map_err(|_| format!("size {} is too big", self.size))?;
        q.try_set_size(size)
            .map_err(|_| format!("size {size} is not a power of two in 1..={}", self.max_size))?;
        q.try_set_desc_table_address(GuestAddress(self.desc))
            .map_err(|_| format!("descriptor table {:#x} is misaligned", self.desc))?;
        q.try_set_avail_ring_address(GuestAddress(self.avail))
            .map_err(|_| format!("available ring {:#x} is misaligned", self.avail))?;
        q.try_set_used_ring_address(GuestAddress(self.used))
            .map_err(|_| format!("used ring {:#x} is misaligned", self.used))?;
        q.set_ready(true);
        if !q.is_valid(mem) {
            return Err(format!(
                "rings (desc {:#x}, avail {:#x}, used {:#x}, size {size}) are not inside guest memory",
                self.desc, self.avail, self.used
            ));
        }
        Ok(q)
    }
}

/// A virtio device on the MMIO bus.
pub struct MmioTransport {
    device: Box<dyn VirtioDevice>,
    mem: GuestMemoryMmap,
    interrupt: Arc<VirtioInterrupt>,
    queues: Vec<QueueSetup>,
    status: u32,
    device_features_sel: u32,
    driver_features_sel: u32,
    driver_features: u64,
    queue_sel: u32,
    activated: bool,
}

impl MmioTransport {
    /// Puts `device` behind a transport whose queues live in `mem` and whose interrupts go to `interrupt`.
    pub fn new(device: Box<dyn VirtioDevice>, mem: GuestMemoryMmap, interrupt: Arc<VirtioInterrupt>) -> Self {
        let queues = device
            .queue_max_sizes()
            .iter()
            .map(|m| QueueSetup::new(*m))
            .collect();
        MmioTransport {
            device,
            mem,
            interrupt,
            queues,
            status: 0,
            device_features_sel: 0,
            driver_features_sel: 0,
            driver_features: 0,
            queue_sel: 0,
            activated: false,
        }
    }

    /// The device status register.
    pub fn status(&self) -> u32 {
        self.status
    }

    /// Whether the device was started (`DRIVER_OK` accepted).
    pub fn is_activated(&self) -> bool {
        self.activated
    }

    /// Number of queues the device declared.
    pub fn queue_count(&self) -> usize {
        self.queues.len()
    }

    /// A queue notification that arrived through an ioeventfd instead of a `QueueNotify` write; the same
    /// checks apply (ignored before `DRIVER_OK` or for a queue the device does not have).
    pub fn notify_queue(&mut self, queue: u32) {
        self.notify(queue);
    }

    /// The device's backend fd for the event loop, if it has one.
    pub fn backend_fd(&self) -> Option<std::os::fd::RawFd> {
        self.device.backend_fd()
    }

    /// The device's backend fd is readable.
    pub fn handle_backend_event(&mut self) {
        self.device.handle_backend_event();
    }

    fn offered_features(&self) -> u64 {
        self.device.device_features() | VIRTIO_F_VERSION_1
    }

    fn has(&self, bits: u32) -> bool {
        self.status & bits == bits
    }

    fn selected_queue(&mut self) -> Option<&mut QueueSetup> {
        self.queues.get_mut(self.queue_sel as usize)
    }

    fn read_register(&self, offset: u64) -> u32 {
        let queue = self.queues.get(self.queue_sel as usize);
        match offset {
            REG_MAGIC => MAGIC_VALUE,
            REG_VERSION => VERSION,
            REG_DEVICE_ID => self.device.device_type(),
            REG_VENDOR_ID => VENDOR_ID,
            REG_DEVICE_FEATURES => match self.device_features_sel {
                0 => self.offered_features() as u32,
                1 => (self.offered_features() >> 32) as u32,
                _ => 0,
            },
            REG_QUEUE_NUM_MAX => queue.map_or(0, |q| u32::from(q.max_size)),
            REG_QUEUE_READY => queue.map_or(0, |q| u32::from(q.ready)),
            REG_INTERRUPT_STATUS => self.interrupt.status(),
            REG_STATUS => self.status,
            REG_CONFIG_GENERATION => self.interrupt.config_generation(),
            _ => {
                tracing::debug!(offset, "virtio-mmio read of a write-only or unknown register");
                0
            }
        }
    }

    fn write_register(&mut self, offset: u64, value: u32) {
        match offset {
            REG_DEVICE_FEATURES_SEL => self.device_features_sel = value,
            REG_DRIVER_FEATURES_SEL => self.driver_features_sel = value,
            REG_QUEUE_SEL => self.queue_sel = value,
            REG_DRIVER_FEATURES => self.write_driver_features(value),
            REG_QUEUE_NUM | REG_QUEUE_DESC_LOW | REG_QUEUE_DESC_HIGH | REG_QUEUE_AVAIL_LOW
            | REG_QUEUE_AVAIL_HIGH | REG_QUEUE_USED_LOW | REG_QUEUE_USED_HIGH => {
                self.write_queue_setup(offset, value)
            }
            REG_QUEUE_READY => self.write_queue_ready(value),
            REG_QUEUE_NOTIFY => self.notify(value),
            REG_INTERRUPT_ACK => self.interrupt.ack(value),
            REG_STATUS => self.write_status(value),
            _ => tracing::warn!(
                offset,
                value,
                "virtio-mmio write to a read-only or unknown register ignored"
            ),
        }
    }

    fn write_driver_features(&mut self, value: u32) {
        if !self.has(STATUS_DRIVER) || self.has(STATUS_FEATURES_OK) {
            tracing::warn!(
                status = self.status,
                "driver features written outside negotiation; ignored"
            );
            return;
        }
        match self.driver_features_sel {
            0 => self.driver_features = (self.driver_features & !0xffff_ffff) | u64::from(value),
            1 => self.driver_features = (self.driver_features & 0xffff_ffff) | (u64::from(value) << 32),
            sel => tracing::warn!(sel, value, "driver features for a page beyond 64 bits ignored"),
        }
    }

    fn write_queue_setup(&mut self, offset: u64, value: u32) {
        let (status, sel) = (self.status, self.queue_sel);
        if !self.has(STATUS_FEATURES_OK) || self.has(STATUS_DRIVER_OK) {
            tracing::warn!(
                status,
                offset,
                "queue setup outside FEATURES_OK..DRIVER_OK; ignored"
            );
            return;
        }
        let Some(q) = self.selected_queue() else {
            tracing::warn!(queue = sel, "setup of a queue the device does not have; ignored");
            return;
        };
        if q.ready {
            tracing::warn!(queue = sel, "setup of an enabled queue; ignored");
            return;
        }
        let set_low = |a: &mut u64| *a = (*a & !0xffff_ffff) | u64::from(value);
        let set_high = |a: &mut u64| *a = (*a & 0xffff_ffff) | (u64::from(value) << 32);
        match offset {
            REG_QUEUE_NUM => q.size = value,
            REG_QUEUE_DESC_LOW => set_low(&mut q.desc),
            REG_QUEUE_DESC_HIGH => set_high(&mut q.desc),
            REG_QUEUE_AVAIL_LOW => set_low(&mut q.avail),
            REG_QUEUE_AVAIL_HIGH => set_high(&mut q.avail),
            REG_QUEUE_USED_LOW => set_low(&mut q.used),
            _ => set_high(&mut q.used),
        }
    }

    fn write_queue_ready(&mut self, value: u32) {
        let (status, sel) = (self.status, self.queue_sel);
        if !self.has(STATUS_FEATURES_OK) || self.has(STATUS_DRIVER_OK) {
            tracing::warn!(
                status,
                "QueueReady written outside FEATURES_OK..DRIVER_OK; ignored"
            );
            return;
        }
        let mem = self.mem.clone();
        let Some(q) = self.selected_queue() else {
            tracing::warn!(
                queue = sel,
                "QueueReady for a queue the device does not have; ignored"
            );
            return;
        };
        if value == 0 {
            q.ready = false;
            return;
        }
        match q.build(&mem) {
            Ok(_) => q.ready = true,
            Err(why) => tracing::warn!(queue = sel, "queue not enabled: {why}"),
        }
    }

    fn notify(&mut self, value: u32) {
        if !self.activated {
            tracing::debug!(queue = value, "notification before DRIVER_OK ignored");
            return;
        }
        match u16::try_from(value)
            .ok()
            .filter(|q| usize::from(*q) < self.queues.len())
        {
            Some(q) => self.device.queue_notify(q),
            None => tracing::warn!(queue = value, "notification for a queue the device does not have"),
        }
    }

    fn write_status(&mut self, value: u32) {
        if value == 0 {
            self.reset();
            return;
        }
        if value & self.status != self.status {
            tracing::warn!(
                from = self.status,
                to = value,
                "status write clears bits without a reset; ignored"
            );
            return;
        }
        let new = value & !self.status;
        let order_ok = (new & STATUS_DRIVER == 0 || value & STATUS_ACKNOWLEDGE != 0)
            && (new & STATUS_FEATURES_OK == 0 || value & STATUS_DRIVER != 0)
            // FEATURES_OK must have been accepted (and re-read by the driver) before DRIVER_OK.
            && (new & STATUS_DRIVER_OK == 0 || self.status & STATUS_FEATURES_OK != 0)
            && new & STATUS_DEVICE_NEEDS_RESET == 0;
        if !order_ok {
            tracing::warn!(
                from = self.status,
                to = value,
                "status bits set out of order; ignored"
            );
            return;
        }
        let mut value = value;
        if new & STATUS_FEATURES_OK != 0 && !self.features_acceptable() {
            tracing::warn!(
                driver = self.driver_features,
                offered = self.offered_features(),
                "driver accepted features the device does not offer, or not VIRTIO_F_VERSION_1; FEATURES_OK refused"
            );
            value &= !STATUS_FEATURES_OK;
        }
        self.status = value;
        if new & STATUS_DRIVER_OK != 0 && value & STATUS_FAILED == 0 {
            self.activate();
        }
    }

    fn features_acceptable(&self) -> bool {
        self.driver_features & !self.offered_features() == 0 && self.driver_features & VIRTIO_F_VERSION_1 != 0
    }

    fn activate(&mut self) {
        let config = ActivateConfig {
            mem: self.mem.clone(),
            // Enabled queues were validated when enabled and cannot change since; build them afresh.
            queues: self
                .queues
                .iter()
                .map(|q| q.ready.then(|| q.build(&self.mem).ok()).flatten())
                .collect(),
            features: self.driver_features,
            interrupt: self.interrupt.clone(),
        };
        match self.device.activate(config) {
            Ok(()) => self.activated = true,
            Err(e) => {
                tracing::error!("{e}; the driver must reset the device");
                self.status |= STATUS_DEVICE_NEEDS_RESET;
                if let Err(e) = self.interrupt.signal_config_change() {
                    tracing::warn!(error = %e, "cannot raise the device-needs-reset interrupt");
                }
            }
        }
    }

    fn reset(&mut self) {
        if self.activated {
            self.device.reset();
        }
        self.activated = false;
        self.status = 0;
        self.driver_features = 0;
        self.device_features_sel = 0;
        self.driver_features_sel = 0;
        self.queue_sel = 0;
        for q in &mut self.queues {
            *q = QueueSetup::new(q.max_size);
        }
        self.interrupt.clear();
    }
}

impl BusDevice for MmioTransport {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        if offset >= CONFIG_SPACE {
            self.device.read_config(offset - CONFIG_SPACE, data);
        } else if data.len() == 4 && offset & 3 == 0 {
            data.copy_from_slice(&self.read_register(offset).to_le_bytes());
        } else {
            tracing::warn!(
                offset,
                len = data.len(),
                "virtio-mmio register read must be 32-bit aligned"
            );
            data.fill(0);
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        if offset >= CONFIG_SPACE {
            self.device.write_config(offset - CONFIG_SPACE, data);
        } else if let (Ok(bytes), 0) = (<[u8; 4]>::try_from(data), offset & 3) {
            self.write_register(offset, u32::from_le_bytes(bytes));
        } else {
            tracing::warn!(
                offset,
                len = data.len(),
                "virtio-mmio register write must be 32-bit aligned; ignored"
            );
        }
    }
}
