//! One chain of each queue: checked against guest memory before anything is read or released.

use std::sync::Mutex;

use virtio_queue::desc::split::Descriptor;
use vm_memory::{Bytes, GuestMemory, GuestMemoryMmap, Permissions};

use super::{lock, pages, stats, BalloonStats, QueueRole, Shared, MAX_PFNS_PER_CHAIN};

/// Why a chain was refused. Logged; the chain is returned with length 0.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The chain loops, is longer than the queue or leaves its descriptor table.
    #[error("descriptor chain loops, is longer than the queue or leaves its descriptor table")]
    Truncated,
    /// A buffer with the wrong direction for its queue.
    #[error("buffer {addr:#x}+{len:#x} has the wrong direction for the {queue:?} queue")]
    WrongDirection {
        /// Queue role.
        queue: QueueRole,
        /// Guest address.
        addr: u64,
        /// Length.
        len: u32,
    },
    /// A buffer not inside guest memory.
    #[error("buffer {addr:#x}+{len:#x} is not inside guest memory")]
    OutOfRange {
        /// Guest address.
        addr: u64,
        /// Length.
        len: u32,
    },
    /// A PFN array that is not whole 32-bit entries, or longer than [`MAX_PFNS_PER_CHAIN`].
    #[error("PFN array of {0} bytes is not 4-byte entries or holds more than 4096 of them")]
    BadPfnArray(u64),
    /// A reported range we may not release.
    #[error(transparent)]
    Release(#[from] pages::ReleaseError),
    /// Guest memory could not be read.
    #[error("guest memory access failed: {0}")]
    Memory(#[from] vm_memory::GuestMemoryError),
}

/// Checks the chain ended where the driver meant it to.
pub(super) fn complete(descs: &[Descriptor]) -> Result<(), ChainError> {
    if descs.last().is_none_or(|d| d.has_next()) {
        return Err(ChainError::Truncated);
    }
    Ok(())
}

/// Reads a driver-readable chain into one buffer of at most `max` bytes.
pub(super) fn read_chain<M: GuestMemory>(
    mem: &M,
    descs: &[Descriptor],
    role: QueueRole,
    max: u64,
) -> Result<Vec<u8>, ChainError> {
    complete(descs)?;
    let mut total = 0u64;
    for d in descs {
        let (addr, len) = (d.addr().0, d.len());
        if d.is_write_only() {
            return Err(ChainError::WrongDirection {
                queue: role,
                addr,
                len,
            });
        }
        if !mem.check_range(d.addr(), len as usize, Permissions::Read) {
            return Err(ChainError::OutOfRange { addr, len });
        }
        total += u64::from(len);
    }
    if total > max {
        return Err(ChainError::BadPfnArray(total));
    }
    let mut bytes = Vec::with_capacity(total as usize);
    for d in descs {
        let start = bytes.len();
        bytes.resize(start + d.len() as usize, 0);
        mem.read_slice(&mut bytes[start..], d.addr())?;
    }
    Ok(bytes)
}

/// The PFN array of an inflate or deflate chain.
pub(super) fn pfns<M: GuestMemory>(
    mem: &M,
    descs: &[Descriptor],
    role: QueueRole,
) -> Result<Vec<u32>, ChainError> {
    let bytes = read_chain(mem, descs, role, (MAX_PFNS_PER_CHAIN * 4) as u64)?;
    if bytes.len() % 4 != 0 {
        return Err(ChainError::BadPfnArray(bytes.len() as u64));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// Releases inflated pages (deflated ones need nothing: the guest's next touch faults in a zero page).
pub(super) fn change_pages(mem: &GuestMemoryMmap, shared: &Mutex<Shared>, role: QueueRole, pfns: &[u32]) {
    let (mut released, mut refused) = (0u64, 0u64);
    if role == QueueRole::Inflate {
        for (addr, len) in pages::pfn_ranges(pfns) {
            match pages::release(mem, addr, len) {
                Ok(n) => released += n,
                Err(e) => {
                    if refused == 0 {
                        tracing::warn!(error = %e, "balloon: inflated page refused");
                    }
                    refused += len / pages::BALLOON_PAGE_SIZE;
                }
            }
        }
    }
    let mut s = lock(shared);
    let c = &mut s.counters;
    match role {
        QueueRole::Inflate => c.inflated_pages += pfns.len() as u64,
        _ => c.deflated_pages += pfns.len() as u64,
    }
    c.released_bytes += released;
    c.refused += refused;
}

/// Releases the free page ranges of a reporting chain, once every one of them is known to be good.
pub(super) fn report(
    mem: &GuestMemoryMmap,
    descs: &[Descriptor],
    shared: &Mutex<Shared>,
) -> Result<(), ChainError> {
    complete(descs)?;
    for d in descs {
        if !d.is_write_only() {
            return Err(ChainError::WrongDirection {
                queue: QueueRole::Reporting,
                addr: d.addr().0,
                len: d.len(),
            });
        }
        pages::check(mem, d.addr().0, u64::from(d.len()))?;
    }
    let mut small = false;
    for d in descs.iter().filter(|d| u64::from(d.len()) < pages::HUGE_PAGE) {
        pages::no_huge_pages_around(mem, d.addr().0, u64::from(d.len()));
        small = true;
    }
    if small && !std::mem::replace(&mut lock(shared).small_reports, true) {
        tracing::info!(
            "balloon: the guest reports free blocks under 2 MiB; the huge pages around them are split for good so they go back"
        );
    }
    let mut released = 0;
    let mut reported = 0;
    for d in descs {
        released += pages::release(mem, d.addr().0, u64::from(d.len()))?;
        reported += u64::from(d.len());
    }
    let mut s = lock(shared);
    s.counters.reported_bytes += reported;
    s.counters.released_bytes += released;
    Ok(())
}

pub(super) fn read_stats<M: GuestMemory>(mem: &M, descs: &[Descriptor]) -> Result<BalloonStats, ChainError> {
    // A longer buffer is refused rather than read: Linux sends at most 16 entries.
    let max = (stats::MAX_STATS * stats::STAT_LEN) as u64;
    let bytes = read_chain(mem, descs, QueueRole::Stats, max)?;
    let (stats, unknown) = BalloonStats::parse(&bytes);
    if unknown > 0 {
        tracing::debug!(unknown, "balloon: statistics with unknown tags ignored");
    }
    Ok(stats)
}
