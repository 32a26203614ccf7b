//! virtio-balloon (virtio 1.2 section 5.5) with free page reporting: the host sets a target, the guest
//! inflates (gives 4 KiB pages back, which we `madvise(MADV_DONTNEED)`) or deflates, reports its memory
//! statistics, and hands over free page ranges as it frees them (`VIRTIO_BALLOON_F_REPORTING`), which we
//! release the same way. `VIRTIO_BALLOON_F_DEFLATE_ON_OOM` lets the guest take pages back under memory
//! pressure. See [`pages`] for how ranges are checked before anything is released.
//!
//! Queues exist only for negotiated features and are numbered without gaps (Linux's `find_vqs` skips the
//! absent ones): inflate 0, deflate 1, then stats if `F_STATS_VQ`, then reporting if `F_REPORTING`
//! ([`queue_roles`]).
//!
//! The host side is a [`BalloonHandle`]: setting a target or asking for statistics updates shared state
//! and writes an eventfd the event loop watches (the device's backend fd); the device thread then raises
//! the configuration-change interrupt or returns the held statistics buffer.

mod chains;
pub mod pages;
pub mod stats;

#[cfg(test)]
mod tests;

use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use virtio_queue::desc::split::Descriptor;
use virtio_queue::{Queue, QueueT};
use vm_memory::GuestMemoryMmap;
use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};

pub use chains::ChainError;
pub use stats::BalloonStats;

use chains::{change_pages, pfns, read_stats, report};

use crate::virtio_mmio::{ActivateConfig, ActivateError, VirtioDevice, VirtioInterrupt};

/// Virtio device id of a memory balloon.
pub const DEVICE_TYPE_BALLOON: u32 = 5;
/// Largest queue (page reporting needs at least 32 entries).
pub const QUEUE_SIZE: u16 = 256;
/// `VIRTIO_BALLOON_F_STATS_VQ`.
pub const F_STATS_VQ: u64 = 1 << 1;
/// `VIRTIO_BALLOON_F_DEFLATE_ON_OOM`.
pub const F_DEFLATE_ON_OOM: u64 = 1 << 2;
/// `VIRTIO_BALLOON_F_REPORTING` (free page reporting).
pub const F_REPORTING: u64 = 1 << 5;
/// Most PFNs one inflate or deflate chain may carry (Linux sends up to 256).
pub const MAX_PFNS_PER_CHAIN: usize = 4096;

const CONFIG_LEN: usize = 8;
const PAGES_PER_MIB: u64 = (1 << 20) / pages::BALLOON_PAGE_SIZE;

/// What a queue is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueRole {
    /// PFNs the guest gives up.
    Inflate,
    /// PFNs the guest takes back.
    Deflate,
    /// The guest's memory statistics.
    Stats,
    /// Free page ranges the guest reports.
    Reporting,
}

/// The role of each queue index once `features` are negotiated.
pub fn queue_roles(features: u64) -> Vec<QueueRole> {
    let mut roles = vec![QueueRole::Inflate, QueueRole::Deflate];
    if features & F_STATS_VQ != 0 {
        roles.push(QueueRole::Stats);
    }
    if features & F_REPORTING != 0 {
        roles.push(QueueRole::Reporting);
    }
    roles
}

/// Errors of the host side of the balloon.
#[derive(Debug, thiserror::Error)]
pub enum BalloonError {
    /// The target is larger than guest memory.
    #[error(
        "balloon target {target_mib} MiB is larger than guest memory ({mem_mib} MiB); use 0 to {mem_mib}"
    )]
    TargetTooLarge {
        /// Requested target.
        target_mib: u64,
        /// Guest memory.
        mem_mib: u64,
    },
    /// The device thread could not be woken.
    #[error("cannot wake the balloon device: {0}")]
    Kick(#[source] std::io::Error),
}

/// Totals since the VM started.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalloonCounters {
    /// Pages (4 KiB) the guest inflated.
    pub inflated_pages: u64,
    /// Pages (4 KiB) the guest deflated.
    pub deflated_pages: u64,
    /// Bytes of free memory the guest reported.
    pub reported_bytes: u64,
    /// Bytes handed back to the host (inflated and reported).
    pub released_bytes: u64,
    /// Chains or PFNs refused as malformed or outside guest memory.
    pub refused: u64,
}

/// The balloon as the control API shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalloonStatus {
    /// MiB the host asked the guest to give up.
    pub target_mib: u64,
    /// MiB the guest says it has given up (`actual`).
    pub actual_mib: u64,
    /// The guest's last statistics, if it sent any.
    pub stats: Option<BalloonStats>,
    /// Totals since the VM started.
    pub counters: BalloonCounters,
}

#[derive(Default)]
struct Shared {
    target_pages: u32,
    actual_pages: u32,
    stats: Option<BalloonStats>,
    stats_wanted: bool,
    counters: BalloonCounters,
    /// The guest has reported a free block under a huge page (logged once).
    small_reports: bool,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

/// The host's side of a balloon: cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct BalloonHandle {
    shared: Arc<Mutex<Shared>>,
    kick: Arc<EventFd>,
    mem_mib: u64,
}

impl BalloonHandle {
    /// Asks the guest to give up `mib` MiB (0 deflates completely). The guest moves towards it over time;
    /// [`BalloonHandle::status`] shows how far it got.
    pub fn set_target_mib(&self, mib: u64) -> Result<(), BalloonError> {
        let too_large = BalloonError::TargetTooLarge {
            target_mib: mib,
            mem_mib: self.mem_mib,
        };
        if mib > self.mem_mib {
            return Err(too_large);
        }
        let pages = u32::try_from(mib * PAGES_PER_MIB).map_err(|_| too_large)?;
        lock(&self.shared).target_pages = pages;
        self.kick.write(1).map_err(BalloonError::Kick)
    }

    /// Target, progress and the last statistics; also asks the guest for fresh statistics, which the next
    /// call shows.
    pub fn status(&self) -> BalloonStatus {
        let status = {
            let mut s = lock(&self.shared);
            s.stats_wanted = true;
            BalloonStatus {
                target_mib: u64::from(s.target_pages) / PAGES_PER_MIB,
                actual_mib: u64::from(s.actual_pages) / PAGES_PER_MIB,
                stats: s.stats.clone(),
                counters: s.counters.clone(),
            }
        };
        if let Err(e) = self.kick.write(1) {
            tracing::warn!(error = %e, "balloon: cannot ask for statistics");
        }
        status
    }
}

struct Active {
    mem: GuestMemoryMmap,
    roles: Vec<QueueRole>,
    queues: Vec<Option<Queue>>,
    interrupt: Arc<VirtioInterrupt>,
    /// The statistics buffer the guest left with us; returning it asks for fresh statistics.
    stats_head: Option<u16>,
    /// The target the guest was last told about.
    announced_target: u32,
}

/// A virtio-balloon device.
pub struct Balloon {
    shared: Arc<Mutex<Shared>>,
    kick: Arc<EventFd>,
    mem_mib: u64,
    features: u64,
    queue_sizes: Vec<u16>,
    active: Option<Active>,
}

impl Balloon {
    /// A balloon for a guest of `mem_mib` MiB, offering statistics, deflate-on-OOM and, with
    /// `reporting`, free page reporting.
    pub fn new(mem_mib: u64, reporting: bool) -> std::io::Result<Self> {
        let mut features = F_STATS_VQ | F_DEFLATE_ON_OOM;
        if reporting {
            features |= F_REPORTING;
        }
        Ok(Balloon {
            shared: Arc::default(),
            kick: Arc::new(EventFd::new(EFD_NONBLOCK)?),
            mem_mib,
            features,
            queue_sizes: vec![QUEUE_SIZE; queue_roles(features).len()],
            active: None,
        })
    }

    /// The host's handle on this balloon.
    pub fn handle(&self) -> BalloonHandle {
        BalloonHandle {
            shared: self.shared.clone(),
            kick: self.kick.clone(),
            mem_mib: self.mem_mib,
        }
    }

    fn config_bytes(&self) -> [u8; CONFIG_LEN] {
        let s = lock(&self.shared);
        let mut c = [0u8; CONFIG_LEN];
        c[0..4].copy_from_slice(&s.target_pages.to_le_bytes());
        c[4..8].copy_from_slice(&s.actual_pages.to_le_bytes());
        c
    }

    fn process_queue(&mut self, index: usize) {
        let Some(active) = self.active.as_mut() else {
            return;
        };
        let (Some(&role), Some(Some(queue))) = (active.roles.get(index), active.queues.get_mut(index)) else {
            return;
        };
        let mem = &active.mem;
        let mut used_any = false;
        while let Some(chain) = queue.pop_descriptor_chain(mem) {
            let head = chain.head_index();
            let descs: Vec<Descriptor> = chain.collect();
            let result = match role {
                QueueRole::Inflate | QueueRole::Deflate => pfns(mem, &descs, role).map(|pfns| {
                    change_pages(mem, &self.shared, role, &pfns);
                }),
                QueueRole::Reporting => report(mem, &descs, &self.shared),
                QueueRole::Stats => match read_stats(mem, &descs) {
                    Ok(stats) => {
                        lock(&self.shared).stats = Some(stats);
                        // Keep the buffer: returning it is how we ask for the next statistics. A
                        // second buffer while one is held: the older one goes back.
                        if let Some(old) = active.stats_head.replace(head) {
                            used_any |= queue.add_used(mem, old, 0).is_ok();
                        }
                        continue;
                    }
                    Err(e) => Err(e),
                },
            };
            if let Err(e) = result {
                lock(&self.shared).counters.refused += 1;
                tracing::warn!(error = %e, queue = ?role, "balloon: chain refused");
            }
            if let Err(e) = queue.add_used(mem, head, 0) {
                tracing::warn!(error = ?e, "balloon: cannot return a chain to the used ring");
                break;
            }
            used_any = true;
        }
        if used_any && queue.needs_notification(mem).unwrap_or(true) {
            if let Err(e) = active.interrupt.signal_used_queue() {
                tracing::warn!(error = %e, "balloon: cannot raise the interrupt");
            }
        }
    }

    /// Tells the guest about a new target and returns the statistics buffer when the host asked.
    fn host_requests(&mut self) {
        let Some(active) = self.active.as_mut() else {
            return;
        };
        let (target, stats_wanted) = {
            let mut s = lock(&self.shared);
            (s.target_pages, std::mem::take(&mut s.stats_wanted))
        };
        if target != active.announced_target {
            active.announced_target = target;
            if let Err(e) = active.interrupt.signal_config_change() {
                tracing::warn!(error = %e, "balloon: cannot raise the configuration interrupt");
            }
        }
        if !stats_wanted {
            return;
        }
        let Some(index) = active.roles.iter().position(|r| *r == QueueRole::Stats) else {
            return;
        };
        let (Some(Some(queue)), Some(head)) = (active.queues.get_mut(index), active.stats_head.take()) else {
            return;
        };
        if let Err(e) = queue.add_used(&active.mem, head, 0) {
            tracing::warn!(error = ?e, "balloon: cannot return the statistics buffer");
            return;
        }
        if let Err(e) = active.interrupt.signal_used_queue() {
            tracing::warn!(error = %e, "balloon: cannot raise the interrupt");
        }
    }
}

impl VirtioDevice for Balloon {
    fn device_type(&self) -> u32 {
        DEVICE_TYPE_BALLOON
    }

    fn device_features(&self) -> u64 {
        self.features
    }

    fn queue_max_sizes(&self) -> &[u16] {
        &self.queue_sizes
    }

    fn read_config(&self, offset: u64, data: &mut [u8]) {
        let config = self.config_bytes();
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
        // Only `actual` (bytes 4..8) is the driver's to write.
        let mut config = self.config_bytes();
        for (i, b) in data.iter().enumerate() {
            match usize::try_from(offset).ok().and_then(|o| o.checked_add(i)) {
                Some(o @ 4..=7) => config[o] = *b,
                _ => tracing::debug!(
                    offset,
                    len = data.len(),
                    "balloon: config write outside `actual` ignored"
                ),
            }
        }
        lock(&self.shared).actual_pages = u32::from_le_bytes([config[4], config[5], config[6], config[7]]);
    }

    fn activate(&mut self, config: ActivateConfig) -> Result<(), ActivateError> {
        let roles = queue_roles(config.features);
        let mut queues = config.queues;
        queues.truncate(roles.len());
        if queues.len() < 2 || queues[0].is_none() || queues[1].is_none() {
            return Err(ActivateError(
                "balloon: the driver did not enable the inflate and deflate queues".into(),
            ));
        }
        let announced_target = lock(&self.shared).target_pages;
        self.active = Some(Active {
            mem: config.mem,
            roles,
            queues,
            interrupt: config.interrupt,
            stats_head: None,
            announced_target,
        });
        // Buffers posted before DRIVER_OK (Linux posts its first statistics then) are served now.
        for index in 0..self.queue_sizes.len() {
            self.process_queue(index);
        }
        Ok(())
    }

    fn queue_notify(&mut self, queue: u16) {
        self.process_queue(usize::from(queue));
    }

    fn reset(&mut self) {
        self.active = None;
        // The guest's balloon is gone with its driver: it owns all its memory again.
        lock(&self.shared).actual_pages = 0;
    }

    fn backend_fd(&self) -> Option<RawFd> {
        Some(self.kick.as_raw_fd())
    }

    fn handle_backend_event(&mut self) {
        if let Err(e) = self.kick.read() {
            if e.kind() != std::io::ErrorKind::WouldBlock {
                tracing::warn!(error = %e, "balloon: cannot read the host request eventfd");
            }
        }
        self.host_requests();
    }
}
