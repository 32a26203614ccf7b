//! Receive: one frame from passt into the guest's RX queue, behind a `virtio_net_hdr` (12 bytes with
//! `VIRTIO_F_VERSION_1`) that is all zeros except `num_buffers`.
//!
//! Without `VIRTIO_NET_F_MRG_RXBUF` a frame takes one descriptor chain; with it, as many chains as it
//! needs (`num_buffers` says how many). Chains the guest got wrong (device-readable or out-of-range
//! buffers, loops, too small for the header) are returned with length 0 and the frame waits for the
//! next chain; nothing a guest writes can panic here.

use virtio_queue::desc::split::Descriptor;
use virtio_queue::{DescriptorChain, Queue, QueueOwnedT, QueueT};
use vm_memory::{Bytes, GuestAddress, GuestMemory, GuestMemoryMmap, Permissions};

/// Length of `struct virtio_net_hdr` with `VIRTIO_F_VERSION_1` (`num_buffers` included).
pub const NET_HDR_LEN: usize = 12;

/// What became of a frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    /// It is in the guest.
    Delivered,
    /// The guest has no (usable) buffers now; the frame should wait for the next RX notify.
    NoBuffers,
    /// It cannot ever fit the guest's buffers and was dropped.
    Dropped,
}

/// Why a chain cannot take a frame.
#[derive(Debug, thiserror::Error)]
pub enum RxChainError {
    /// The chain loops, is longer than the queue or leaves its descriptor table.
    #[error("RX descriptor chain loops, is longer than the queue or leaves its descriptor table")]
    Truncated,
    /// A buffer the device would write is device-readable.
    #[error("RX buffer {0:#x} is device-readable")]
    ReadOnly(u64),
    /// A buffer is not inside guest memory.
    #[error("RX buffer {addr:#x}+{len:#x} is outside guest memory")]
    OutOfRange {
        /// Guest address.
        addr: u64,
        /// Length.
        len: u32,
    },
    /// The chain cannot even hold the header.
    #[error("RX chain of {0} bytes cannot hold the 12-byte virtio-net header")]
    TooSmall(u64),
}

/// A checked chain: its head and its writable buffers.
struct RxChain {
    head: u16,
    bufs: Vec<(GuestAddress, usize)>,
    capacity: usize,
}

fn check_chain(
    mem: &GuestMemoryMmap,
    chain: DescriptorChain<&GuestMemoryMmap>,
) -> Result<RxChain, (u16, RxChainError)> {
    let head = chain.head_index();
    let descs: Vec<Descriptor> = chain.collect();
    let fail = |e| Err((head, e));
    match descs.last() {
        Some(last) if !last.has_next() => {}
        _ => return fail(RxChainError::Truncated),
    }
    let mut bufs = Vec::with_capacity(descs.len());
    let mut capacity = 0usize;
    for d in &descs {
        if !d.is_write_only() {
            return fail(RxChainError::ReadOnly(d.addr().0));
        }
        let len = d.len() as usize;
        if !mem.check_range(d.addr(), len, Permissions::Write) {
            return fail(RxChainError::OutOfRange {
                addr: d.addr().0,
                len: d.len(),
            });
        }
        if len > 0 {
            bufs.push((d.addr(), len));
            capacity = capacity.saturating_add(len);
        }
    }
    if capacity < NET_HDR_LEN {
        return fail(RxChainError::TooSmall(capacity as u64));
    }
    Ok(RxChain { head, bufs, capacity })
}

/// Writes `parts` one after another into `bufs`; returns the bytes written (all of them: the caller
/// checked the capacity).
fn scatter(
    mem: &GuestMemoryMmap,
    bufs: &[(GuestAddress, usize)],
    parts: &[&[u8]],
) -> Result<usize, vm_memory::GuestMemoryError> {
    let mut bufs = bufs.iter().copied();
    let mut cur: Option<(GuestAddress, usize)> = None;
    let mut written = 0;
    for part in parts {
        let mut data = *part;
        while !data.is_empty() {
            let (addr, room) = match cur.take().or_else(|| bufs.next()) {
                Some(b) => b,
                None => return Ok(written),
            };
            let n = room.min(data.len());
            mem.write_slice(&data[..n], addr)?;
            written += n;
            data = &data[n..];
            if n < room {
                // In range: the whole buffer passed check_range.
                cur = Some((GuestAddress(addr.0 + n as u64), room - n));
            }
        }
    }
    Ok(written)
}

fn header(num_buffers: u16) -> [u8; NET_HDR_LEN] {
    let mut h = [0u8; NET_HDR_LEN];
    h[10..12].copy_from_slice(&num_buffers.to_le_bytes());
    h
}

fn give_back(mem: &GuestMemoryMmap, queue: &mut Queue, head: u16, len: u32, used: &mut bool) {
    if let Err(e) = queue.add_used(mem, head, len) {
        tracing::warn!(error = ?e, "virtio-net: cannot return an RX buffer to the used ring");
    }
    *used = true;
}

/// Puts `frame` into the guest's RX queue; sets `used` when any chain went to the used ring.
pub fn deliver(
    mem: &GuestMemoryMmap,
    queue: &mut Queue,
    frame: &[u8],
    mergeable: bool,
    used: &mut bool,
) -> Delivery {
    let need = NET_HDR_LEN + frame.len();
    // Bad chains this call may return before giving up until the next notify.
    let mut bad_budget = queue.size();
    let mut gathered: Vec<RxChain> = Vec::new();
    let mut capacity = 0usize;
    while capacity < need {
        if gathered.len() >= usize::from(queue.size()) {
            // Every buffer the ring can hold is not enough: this frame can never be delivered.
            tracing::warn!(
                len = frame.len(),
                "virtio-net: RX buffers too small for a frame; dropped"
            );
            for c in gathered {
                give_back(mem, queue, c.head, 0, used);
            }
            return Delivery::Dropped;
        }
        let Some(chain) = queue.pop_descriptor_chain(mem) else {
            // Put the chains back; they will be used when more arrive.
            for _ in &gathered {
                queue.go_to_previous_position();
            }
            return Delivery::NoBuffers;
        };
        match check_chain(mem, chain) {
            Ok(c) if !mergeable && c.capacity < need => {
                tracing::debug!(
                    len = frame.len(),
                    capacity = c.capacity,
                    "virtio-net: RX chain too small for a frame; dropped"
                );
                give_back(mem, queue, c.head, 0, used);
                return Delivery::Dropped;
            }
            Ok(c) => {
                capacity = capacity.saturating_add(c.capacity);
                gathered.push(c);
            }
            Err((head, e)) => {
                tracing::warn!(error = %e, "virtio-net: RX chain returned unused");
                // Chains gathered so far come before this one in the ring: return them too.
                for c in gathered.drain(..) {
                    give_back(mem, queue, c.head, 0, used);
                }
                capacity = 0;
                give_back(mem, queue, head, 0, used);
                bad_budget = bad_budget.saturating_sub(1);
                if bad_budget == 0 {
                    return Delivery::NoBuffers;
                }
            }
        }
    }
    let num_buffers = u16::try_from(gathered.len()).unwrap_or(u16::MAX);
    let hdr = header(num_buffers);
    let mut rest = frame;
    for (i, c) in gathered.iter().enumerate() {
        let result = if i == 0 {
            let n = (c.capacity - NET_HDR_LEN).min(rest.len());
            let r = scatter(mem, &c.bufs, &[&hdr, &rest[..n]]);
            rest = &rest[n..];
            r
        } else {
            let n = c.capacity.min(rest.len());
            let r = scatter(mem, &c.bufs, &[&rest[..n]]);
            rest = &rest[n..];
            r
        };
        let len = match result {
            Ok(n) => u32::try_from(n).unwrap_or(u32::MAX),
            Err(e) => {
                tracing::warn!(error = %e, "virtio-net: cannot write a frame into guest memory");
                0
            }
        };
        give_back(mem, queue, c.head, len, used);
    }
    Delivery::Delivered
}
