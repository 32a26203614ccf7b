//! virtio-vsock in-process: the hypervisor-independent [`VsockMuxer`] from `berth_virtio` behind our
//! transport. Its host side is the hybrid Unix socket berthd already talks to under QEMU
//! (`CONNECT <port>\n` → `OK <n>\n`); guest connects to host port P go to `<uds>_P`.
//!
//! The muxer's epoll fd joins the VMM event loop as this device's backend fd: host readiness runs
//! [`VirtioDevice::handle_backend_event`], queue notifications run [`VirtioDevice::queue_notify`].

use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;

use berth_virtio::vsock::{MuxerConfig, VsockMuxer, EVENT_QUEUE, NUM_QUEUES, RX_QUEUE, TX_QUEUE};
use berth_virtio::VsockError;
use virtio_queue::Queue;
use vm_memory::GuestMemoryMmap;

use crate::virtio_mmio::{ActivateConfig, ActivateError, VirtioDevice, VirtioInterrupt};

/// Virtio device id of a socket device.
pub const DEVICE_TYPE_VSOCK: u32 = 19;
/// Largest queue.
pub const QUEUE_SIZE: u16 = 256;

struct Active {
    mem: GuestMemoryMmap,
    rx: Queue,
    tx: Queue,
    interrupt: Arc<VirtioInterrupt>,
}

/// A virtio-vsock device.
pub struct Vsock {
    muxer: VsockMuxer,
    active: Option<Active>,
}

impl Vsock {
    /// Binds the host socket `config.uds_path` (replacing a stale one) for guest `config.guest_cid`.
    pub fn new(config: MuxerConfig) -> Result<Self, VsockError> {
        Ok(Vsock {
            muxer: VsockMuxer::new(config)?,
            active: None,
        })
    }

    /// The device core.
    pub fn muxer(&self) -> &VsockMuxer {
        &self.muxer
    }

    fn run_queues(&mut self) {
        let Some(a) = self.active.as_mut() else { return };
        match self.muxer.process(&a.mem, &mut a.rx, &mut a.tx) {
            Ok(n) if n.rx || n.tx => {
                if let Err(e) = a.interrupt.signal_used_queue() {
                    tracing::warn!(error = %e, "vsock: cannot raise the interrupt");
                }
            }
            Ok(_) => {}
            // A broken ring is the guest's problem; keep the host side alive.
            Err(e) => tracing::warn!(error = %e, "vsock: processing the virtqueues failed"),
        }
    }
}

impl VirtioDevice for Vsock {
    fn device_type(&self) -> u32 {
        DEVICE_TYPE_VSOCK
    }

    fn device_features(&self) -> u64 {
        0
    }

    fn queue_max_sizes(&self) -> &[u16] {
        &[QUEUE_SIZE; NUM_QUEUES]
    }

    fn read_config(&self, offset: u64, data: &mut [u8]) {
        let cid = self.muxer.config().guest_cid.to_le_bytes();
        for (i, b) in data.iter_mut().enumerate() {
            *b = usize::try_from(offset)
                .ok()
                .and_then(|o| o.checked_add(i))
                .and_then(|o| cid.get(o))
                .copied()
                .unwrap_or(0);
        }
    }

    fn write_config(&mut self, offset: u64, data: &[u8]) {
        tracing::debug!(offset, len = data.len(), "vsock: config write ignored");
    }

    fn activate(&mut self, config: ActivateConfig) -> Result<(), ActivateError> {
        let mut queues = config.queues;
        let (Some(Some(rx)), Some(Some(tx))) = (
            queues.get_mut(RX_QUEUE).map(Option::take),
            queues.get_mut(TX_QUEUE).map(Option::take),
        ) else {
            return Err(ActivateError(
                "vsock: the driver did not enable the rx and tx queues".into(),
            ));
        };
        self.active = Some(Active {
            mem: config.mem,
            rx,
            tx,
            interrupt: config.interrupt,
        });
        self.run_queues();
        Ok(())
    }

    fn queue_notify(&mut self, queue: u16) {
        if usize::from(queue) != EVENT_QUEUE {
            self.run_queues();
        }
    }

    fn reset(&mut self) {
        // The guest's driver went away (reset, reboot): its streams are gone with it.
        self.muxer.reset();
        self.active = None;
    }

    fn backend_fd(&self) -> Option<RawFd> {
        Some(self.muxer.as_raw_fd())
    }

    fn handle_backend_event(&mut self) {
        if let Err(e) = self.muxer.handle_host_events(0) {
            tracing::warn!(error = %e, "vsock: host socket events failed");
        }
        self.run_queues();
    }
}
