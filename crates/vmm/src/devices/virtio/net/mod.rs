//! virtio-net over passt's stream socket: plain Ethernet frames, no offloads (passt needs none), a MAC
//! in the configuration space, the link status, and mergeable RX buffers.
//!
//! - [`config`]: `--net-passt` / `--net-mac` and the configuration space.
//! - [`backend`]: the socket, its 4-byte big-endian length framing and partial reads and writes.
//! - [`rx`] / [`tx`]: frames into and out of guest descriptor chains.
//!
//! Flow control both ways: when the guest has no RX buffers the frame waits in the reassembly buffer
//! and the socket is no longer watched for reading (passt then waits too) until the driver notifies
//! the RX queue; when passt does not take TX bytes fast enough, guest chains stay in the TX queue until
//! the socket is writable again. If passt closes the socket the link goes down (a configuration change
//! interrupt) and TX frames are dropped; the VM keeps running.

pub mod backend;
pub mod config;
pub mod rx;
pub mod tx;

#[cfg(test)]
mod test_driver;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_passt;
#[cfg(test)]
mod tests_transport;

use std::os::fd::RawFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use virtio_queue::{Queue, QueueT};
use vm_memory::GuestMemoryMmap;
use vmm_sys_util::epoll::EventSet;

pub use backend::NetError;
use backend::{PasstStream, ReadOutcome, TX_HIGH_WATER};
pub use config::{MacAddr, NetConfig, DEFAULT_MAC};
use rx::Delivery;

use crate::virtio_mmio::{ActivateConfig, ActivateError, VirtioDevice, VirtioInterrupt};

/// Virtio device id of a network card.
pub const DEVICE_TYPE_NET: u32 = 1;
/// Largest queue.
pub const QUEUE_SIZE: u16 = 256;
/// Index of the receive queue.
pub const RX_QUEUE: usize = 0;
/// Index of the transmit queue.
pub const TX_QUEUE: usize = 1;

/// `VIRTIO_NET_F_MAC`: the configuration space holds the MAC address.
pub const F_MAC: u64 = 1 << 5;
/// `VIRTIO_NET_F_MRG_RXBUF`: a received frame may span several RX chains.
pub const F_MRG_RXBUF: u64 = 1 << 15;
/// `VIRTIO_NET_F_STATUS`: the configuration space holds the link status.
pub const F_STATUS: u64 = 1 << 16;
/// `VIRTIO_RING_F_INDIRECT_DESC`.
pub const F_RING_INDIRECT_DESC: u64 = 1 << 28;

struct Active {
    mem: GuestMemoryMmap,
    rx: Queue,
    tx: Queue,
    interrupt: Arc<VirtioInterrupt>,
    mergeable: bool,
}

/// A virtio-net device whose host side is passt.
pub struct Net {
    mac: MacAddr,
    stream: PasstStream,
    /// passt closed the socket (or it failed): the link is down for good.
    closed: bool,
    /// A received frame waits for the guest to post RX buffers.
    rx_blocked: bool,
    active: Option<Active>,
}

impl Net {
    /// Connects to passt's socket.
    pub fn new(config: &NetConfig) -> Result<Self, NetError> {
        Ok(Self::with_stream(
            PasstStream::connect(&config.passt_socket)?,
            config.mac,
        ))
    }

    /// A device on an already connected socket (tests use one end of a socket pair).
    pub fn from_socket(sock: UnixStream, mac: MacAddr) -> Result<Self, NetError> {
        Ok(Self::with_stream(PasstStream::from_stream(sock)?, mac))
    }

    fn with_stream(stream: PasstStream, mac: MacAddr) -> Self {
        let mut net = Net {
            mac,
            stream,
            closed: false,
            rx_blocked: false,
            active: None,
        };
        net.update_watch();
        net
    }

    /// Whether the link is up (passt is connected).
    pub fn link_up(&self) -> bool {
        !self.closed
    }

    /// Frames passt sent that were refused (length 0 or too long).
    pub fn dropped_from_host(&self) -> u64 {
        self.stream.reader.dropped()
    }

    /// Watch the socket for what the device can do now.
    fn update_watch(&mut self) {
        if self.closed {
            return;
        }
        let read = self.active.is_some() && !self.rx_blocked;
        let write = self.stream.writer.pending() > 0;
        self.stream.watch(read, write);
    }

    fn disconnect(&mut self, why: &str) {
        if self.closed {
            return;
        }
        self.closed = true;
        tracing::warn!(
            reason = why,
            "virtio-net: passt's socket closed; the guest's link is down until the VM restarts"
        );
        self.stream.unwatch();
        self.stream.writer.clear();
        if let Some(a) = &self.active {
            if let Err(e) = a.interrupt.signal_config_change() {
                tracing::warn!(error = %e, "virtio-net: cannot raise the configuration interrupt");
            }
        }
    }

    /// Writes queued TX bytes; `true` when none are left.
    fn flush(&mut self) -> bool {
        if self.closed {
            return true;
        }
        match self.stream.flush() {
            Ok(done) => done,
            Err(e) => {
                self.disconnect(&format!("write failed: {e}"));
                true
            }
        }
    }

    /// Moves guest TX chains to passt until the queue is empty or the socket is backed up.
    fn process_tx(&mut self) {
        let mut used = false;
        loop {
            if self.stream.writer.pending() >= TX_HIGH_WATER {
                self.flush();
                if self.stream.writer.pending() >= TX_HIGH_WATER {
                    break;
                }
            }
            let Some(a) = self.active.as_mut() else { break };
            let Some(chain) = a.tx.pop_descriptor_chain(&a.mem) else {
                break;
            };
            let head = chain.head_index();
            let mem = &a.mem;
            if self.closed {
                // Nobody to send to: the frame is dropped, the guest gets its buffer back.
            } else if let Err(e) = self
                .stream
                .writer
                .push(|out| tx::read_frame(mem, chain, out).map(|_| ()))
            {
                tracing::warn!(error = %e, "virtio-net: TX frame dropped");
            }
            if let Err(e) = a.tx.add_used(mem, head, 0) {
                tracing::warn!(error = ?e, "virtio-net: cannot return a TX buffer to the used ring");
                break;
            }
            used = true;
        }
        self.flush();
        if let Some(a) = self.active.as_mut() {
            if used && a.tx.needs_notification(&a.mem).unwrap_or(true) {
                if let Err(e) = a.interrupt.signal_used_queue() {
                    tracing::warn!(error = %e, "virtio-net: cannot raise the interrupt");
                }
            }
        }
        self.update_watch();
    }

    /// Moves frames from passt into guest RX buffers until either runs out.
    fn process_rx(&mut self) {
        let Some(a) = self.active.as_mut() else { return };
        self.rx_blocked = false;
        let mut used = false;
        let mut eof = false;
        loop {
            if let Some(frame) = self.stream.reader.next_frame() {
                match rx::deliver(&a.mem, &mut a.rx, frame, a.mergeable, &mut used) {
                    Delivery::Delivered | Delivery::Dropped => self.stream.reader.consume(),
                    Delivery::NoBuffers => {
                        self.rx_blocked = true;
                        break;
                    }
                }
                continue;
            }
            if self.closed {
                break;
            }
            match self.stream.read() {
                ReadOutcome::Data(_) => {}
                ReadOutcome::WouldBlock | ReadOutcome::Full => break,
                ReadOutcome::Closed => {
                    eof = true;
                    break;
                }
            }
        }
        if eof {
            self.disconnect("end of stream");
        }
        if let Some(a) = self.active.as_mut() {
            if used && a.rx.needs_notification(&a.mem).unwrap_or(true) {
                if let Err(e) = a.interrupt.signal_used_queue() {
                    tracing::warn!(error = %e, "virtio-net: cannot raise the interrupt");
                }
            }
        }
        self.update_watch();
    }
}

impl VirtioDevice for Net {
    fn device_type(&self) -> u32 {
        DEVICE_TYPE_NET
    }

    fn device_features(&self) -> u64 {
        F_MAC | F_STATUS | F_MRG_RXBUF | F_RING_INDIRECT_DESC
    }

    fn queue_max_sizes(&self) -> &[u16] {
        &[QUEUE_SIZE; 2]
    }

    fn read_config(&self, offset: u64, data: &mut [u8]) {
        let config = config::config_space(self.mac, self.link_up());
        for (i, b) in data.iter_mut().enumerate() {
            *b = usize::try_from(offset)
                .ok()
                .and_then(|o| o.checked_add(i))
                .and_then(|o| config.get(o))
                .copied()
                .unwrap_or(0);
        }
    }

    fn write_config(&mut self, offset: u64, data: &[u8]) {
        // The MAC is writable only for legacy drivers without VIRTIO_NET_F_MAC; nothing else is.
        tracing::debug!(offset, len = data.len(), "virtio-net: config write ignored");
    }

    fn activate(&mut self, config: ActivateConfig) -> Result<(), ActivateError> {
        let mut queues = config.queues;
        let (Some(Some(rx)), Some(Some(tx))) = (
            queues.get_mut(RX_QUEUE).map(Option::take),
            queues.get_mut(TX_QUEUE).map(Option::take),
        ) else {
            return Err(ActivateError(
                "virtio-net: the driver did not enable the receive and transmit queues".into(),
            ));
        };
        self.active = Some(Active {
            mem: config.mem,
            rx,
            tx,
            interrupt: config.interrupt,
            mergeable: config.features & F_MRG_RXBUF != 0,
        });
        self.rx_blocked = false;
        // Frames posted before DRIVER_OK go out now; passt's frames come in as buffers allow.
        self.process_tx();
        self.process_rx();
        Ok(())
    }

    fn queue_notify(&mut self, queue: u16) {
        match usize::from(queue) {
            RX_QUEUE => self.process_rx(),
            TX_QUEUE => self.process_tx(),
            _ => {}
        }
    }

    fn reset(&mut self) {
        // The stream to passt stays in step: queued TX bytes still go out, received bytes stay buffered
        // for the next driver.
        self.active = None;
        self.rx_blocked = false;
        self.update_watch();
    }

    fn backend_fd(&self) -> Option<RawFd> {
        Some(self.stream.epoll_fd())
    }

    fn handle_backend_event(&mut self) {
        if self.closed {
            return;
        }
        let ready = self.stream.ready();
        if ready.contains(EventSet::OUT) || self.stream.writer.pending() > 0 {
            self.flush();
            // Chains held back while the socket was full can go now.
            self.process_tx();
        }
        if ready.contains(EventSet::IN) {
            self.process_rx();
        }
        if !self.closed && ready.intersects(EventSet::HANG_UP | EventSet::ERROR) {
            // Read what passt sent before it went, if the guest has room; then the link is down.
            self.process_rx();
            self.disconnect("hang-up");
        }
        self.update_watch();
    }
}
