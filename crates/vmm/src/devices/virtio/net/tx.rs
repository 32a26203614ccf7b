//! Transmit: one guest TX chain (a `virtio_net_hdr`, then the frame, over any number of device-readable
//! buffers) appended to passt's stream without its header. We offer no offloads, so the header carries
//! nothing we need and is skipped unread.

use virtio_queue::desc::split::Descriptor;
use vm_memory::{Bytes, GuestAddress, GuestMemory, GuestMemoryMmap, Permissions};

use super::backend::MAX_FRAME_LEN;
use super::rx::NET_HDR_LEN;

/// Why a TX chain was dropped.
#[derive(Debug, thiserror::Error)]
pub enum TxError {
    /// The chain loops, is longer than the queue or leaves its descriptor table.
    #[error("TX descriptor chain loops, is longer than the queue or leaves its descriptor table")]
    Truncated,
    /// A buffer the device would read is device-writable.
    #[error("TX buffer {0:#x} is device-writable")]
    WrongDirection(u64),
    /// A buffer is not inside guest memory.
    #[error("TX buffer {addr:#x}+{len:#x} is outside guest memory")]
    OutOfRange {
        /// Guest address.
        addr: u64,
        /// Length.
        len: u32,
    },
    /// Header and frame are longer than the largest frame allows.
    #[error("TX chain is longer than the header plus a {MAX_FRAME_LEN}-byte frame")]
    TooLong,
    /// Nothing follows the header.
    #[error("TX chain of {0} bytes has no frame after the 12-byte header")]
    Empty(u64),
    /// Guest memory could not be read.
    #[error("guest memory access failed: {0}")]
    Memory(#[from] vm_memory::GuestMemoryError),
}

/// Checks `descs` and appends the frame they carry (after the header) to `out`; its length.
pub fn read_frame(
    mem: &GuestMemoryMmap,
    descs: impl Iterator<Item = Descriptor>,
    out: &mut Vec<u8>,
) -> Result<usize, TxError> {
    let mut bufs: Vec<(GuestAddress, usize)> = Vec::new();
    let mut total = 0usize;
    let mut last_has_next = true;
    for d in descs {
        last_has_next = d.has_next();
        if d.is_write_only() {
            return Err(TxError::WrongDirection(d.addr().0));
        }
        let len = d.len() as usize;
        total = total.saturating_add(len);
        if total > NET_HDR_LEN + MAX_FRAME_LEN {
            return Err(TxError::TooLong);
        }
        if !mem.check_range(d.addr(), len, Permissions::Read) {
            return Err(TxError::OutOfRange {
                addr: d.addr().0,
                len: d.len(),
            });
        }
        if len > 0 {
            bufs.push((d.addr(), len));
        }
    }
    // The chain iterator stops early (and silently) on loops and bad indices; the last descriptor it
    // gave then still says "next".
    if last_has_next {
        return Err(TxError::Truncated);
    }
    if total <= NET_HDR_LEN {
        return Err(TxError::Empty(total as u64));
    }
    let mut skip = NET_HDR_LEN;
    for (addr, len) in bufs {
        if skip >= len {
            skip -= len;
            continue;
        }
        // In range: the whole buffer passed check_range.
        let from = GuestAddress(addr.0 + skip as u64);
        let n = len - skip;
        skip = 0;
        let at = out.len();
        out.resize(at + n, 0);
        mem.read_slice(&mut out[at..], from)?;
    }
    Ok(total - NET_HDR_LEN)
}
