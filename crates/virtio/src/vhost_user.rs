//! The vsock device served to QEMU as a vhost-user backend: a thin adapter from
//! `vhost-user-backend`'s vrings and event loop to the [`VsockMuxer`] core.
//!
//! QEMU attaches it with
//! `-chardev socket,id=vsock0,path=<vhost.sock> -device vhost-user-vsock-device,chardev=vsock0`
//! (guest memory must be shared: `-object memory-backend-memfd,id=mem,size=<M>,share=on
//! -machine memory-backend=mem`).

use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use vhost::vhost_user::message::{VhostUserProtocolFeatures, VhostUserVirtioFeatures};
use vhost_user_backend::{VhostUserBackendMut, VhostUserDaemon, VringRwLock, VringT};
use virtio_bindings::virtio_config::{VIRTIO_F_NOTIFY_ON_EMPTY, VIRTIO_F_VERSION_1};
use virtio_bindings::virtio_ring::{VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC};
use vm_memory::{GuestAddressSpace, GuestMemoryAtomic, GuestMemoryMmap};
use vmm_sys_util::epoll::EventSet;
use vmm_sys_util::event::{new_event_consumer_and_notifier, EventConsumer, EventFlag, EventNotifier};

use crate::vsock::{MuxerConfig, VsockMuxer, EVENT_QUEUE, NUM_QUEUES, RX_QUEUE, TX_QUEUE};
use crate::VsockError;

/// Largest virtqueue the backend accepts.
const MAX_QUEUE_SIZE: usize = 1024;
/// Event id of the muxer's epoll fd in the backend's event loop (ids up to NUM_QUEUES are taken).
const BACKEND_EVENT: u16 = NUM_QUEUES as u16 + 1;

/// Where to serve the vsock device.
#[derive(Debug, Clone)]
pub struct VsockBackendConfig {
    /// The vhost-user socket QEMU's `-chardev socket,path=` connects to.
    pub vhost_socket: PathBuf,
    /// Host side of the hybrid vsock (see [`crate::vsock`]).
    pub uds_path: PathBuf,
    /// The guest's context id (Berth uses 3).
    pub guest_cid: u64,
}

/// Serves one vhost-user frontend (QEMU) on `vhost_socket` until it disconnects. Blocking.
///
/// Binds `vhost_socket` and `uds_path` (replacing stale files) and removes both when it returns.
pub fn serve_vsock(cfg: &VsockBackendConfig) -> Result<(), VsockError> {
    let _cleanup = RemoveOnDrop(vec![cfg.vhost_socket.clone(), cfg.uds_path.clone()]);
    let muxer = VsockMuxer::new(MuxerConfig::new(cfg.guest_cid, &cfg.uds_path))?;
    let muxer_fd = muxer.as_raw_fd();
    let backend = Arc::new(RwLock::new(VsockBackend::new(muxer)));
    let mem = GuestMemoryAtomic::new(GuestMemoryMmap::new());
    let mut daemon = VhostUserDaemon::new("berth-vsock".into(), backend.clone(), mem)
        .map_err(|e| VsockError::VhostUser(e.to_string()))?;
    for handler in daemon.get_epoll_handlers() {
        handler
            .register_listener(muxer_fd, EventSet::IN, u64::from(BACKEND_EVENT))
            .map_err(VsockError::event_loop("watch host sockets"))?;
    }
    tracing::info!(socket = %cfg.vhost_socket.display(), uds = %cfg.uds_path.display(), cid = cfg.guest_cid, "vsock: waiting for the vhost-user frontend");
    let result = daemon
        .serve(&cfg.vhost_socket)
        .map_err(|e| VsockError::VhostUser(e.to_string()));
    tracing::info!("vsock: vhost-user frontend disconnected");
    if let Ok(mut b) = backend.write() {
        b.muxer.shutdown();
    }
    result
}

/// Removes socket files when the server stops, however it stops.
struct RemoveOnDrop(Vec<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        for p in &self.0 {
            remove_socket(p);
        }
    }
}

fn remove_socket(p: &Path) {
    if let Err(e) = std::fs::remove_file(p) {
        if e.kind() != io::ErrorKind::NotFound {
            tracing::warn!(path = %p.display(), error = %e, "vsock: cannot remove socket file");
        }
    }
}

/// The vhost-user vsock backend: 3 queues (rx, tx, event), config = the guest CID.
pub struct VsockBackend {
    muxer: VsockMuxer,
    mem: Option<GuestMemoryAtomic<GuestMemoryMmap>>,
    event_idx: bool,
}

impl VsockBackend {
    /// Wraps a device core.
    pub fn new(muxer: VsockMuxer) -> Self {
        VsockBackend {
            muxer,
            mem: None,
            event_idx: false,
        }
    }

    /// The device core.
    pub fn muxer(&self) -> &VsockMuxer {
        &self.muxer
    }

    fn run_queues(&mut self, vrings: &[VringRwLock]) -> io::Result<()> {
        let (Some(mem), Some(rx), Some(tx)) = (self.mem.as_ref(), vrings.get(RX_QUEUE), vrings.get(TX_QUEUE))
        else {
            return Ok(());
        };
        let mem = mem.memory();
        let mut rx = rx.get_mut();
        let mut tx = tx.get_mut();
        let result = match (rx.is_enabled(), tx.is_enabled()) {
            (true, true) => self.muxer.process(&*mem, rx.get_queue_mut(), tx.get_queue_mut()),
            (false, true) => self
                .muxer
                .process_tx(&*mem, tx.get_queue_mut())
                .map(|t| crate::vsock::Notify { rx: false, tx: t }),
            (true, false) => self
                .muxer
                .process_rx(&*mem, rx.get_queue_mut())
                .map(|r| crate::vsock::Notify { rx: r, tx: false }),
            (false, false) => Ok(Default::default()),
        };
        match result {
            Ok(notify) => {
                if notify.rx {
                    rx.signal_used_queue()?;
                }
                if notify.tx {
                    tx.signal_used_queue()?;
                }
            }
            // A broken ring is the guest's problem; keep the event loop (and the host side) alive.
            Err(e) => tracing::warn!(error = %e, "vsock: processing the virtqueues failed"),
        }
        Ok(())
    }
}

impl VhostUserBackendMut for VsockBackend {
    type Bitmap = ();
    type Vring = VringRwLock;

    fn num_queues(&self) -> usize {
        NUM_QUEUES
    }

    fn max_queue_size(&self) -> usize {
        MAX_QUEUE_SIZE
    }

    fn features(&self) -> u64 {
        (1 << VIRTIO_F_VERSION_1)
            | (1 << VIRTIO_F_NOTIFY_ON_EMPTY)
            | (1 << VIRTIO_RING_F_EVENT_IDX)
            | (1 << VIRTIO_RING_F_INDIRECT_DESC)
            | VhostUserVirtioFeatures::PROTOCOL_FEATURES.bits()
    }

    fn protocol_features(&self) -> VhostUserProtocolFeatures {
        VhostUserProtocolFeatures::CONFIG | VhostUserProtocolFeatures::MQ
    }

    fn reset_device(&mut self) {
        self.muxer.reset();
    }

    fn set_event_idx(&mut self, enabled: bool) {
        self.event_idx = enabled;
    }

    fn get_config(&self, offset: u32, size: u32) -> Vec<u8> {
        config_bytes(self.muxer.config().guest_cid, offset, size)
    }

    fn update_memory(&mut self, mem: GuestMemoryAtomic<GuestMemoryMmap>) -> io::Result<()> {
        self.mem = Some(mem);
        Ok(())
    }

    fn exit_event(&self, _thread_index: usize) -> Option<(EventConsumer, EventNotifier)> {
        new_event_consumer_and_notifier(EventFlag::NONBLOCK | EventFlag::CLOEXEC).ok()
    }

    fn stop_vring(&mut self, queue_index: u32) -> io::Result<()> {
        // The guest's driver is going away (reset, reboot): its sockets are gone with it.
        if queue_index as usize == RX_QUEUE {
            self.muxer.reset();
        }
        Ok(())
    }

    fn handle_event(
        &mut self,
        device_event: u16,
        evset: EventSet,
        vrings: &[VringRwLock],
        _thread_id: usize,
    ) -> io::Result<()> {
        if !evset.contains(EventSet::IN) {
            tracing::debug!(device_event, "vsock: unexpected event set {evset:?}");
        }
        match device_event {
            d if d == BACKEND_EVENT => {
                if let Err(e) = self.muxer.handle_host_events(0) {
                    tracing::warn!(error = %e, "vsock: host socket events failed");
                }
            }
            d if d as usize == RX_QUEUE || d as usize == TX_QUEUE => {}
            d if d as usize == EVENT_QUEUE => return Ok(()),
            other => {
                tracing::debug!(event = other, "vsock: unknown backend event");
                return Ok(());
            }
        }
        self.run_queues(vrings)
    }
}

/// The device config space (`struct virtio_vsock_config`: a little-endian u64 guest CID), sliced
/// as the frontend asked; out-of-range requests get what overlaps.
fn config_bytes(guest_cid: u64, offset: u32, size: u32) -> Vec<u8> {
    let cfg = guest_cid.to_le_bytes();
    let start = (offset as usize).min(cfg.len());
    let end = start.saturating_add(size as usize).min(cfg.len());
    cfg[start..end].to_vec()
}

#[cfg(test)]
#[path = "vhost_user_tests.rs"]
mod tests;
