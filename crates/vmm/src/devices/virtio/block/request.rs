//! One virtio-blk request (virtio 1.2, section 5.2.6): a 16-byte header, data buffers and a status byte,
//! checked against guest memory and the disk before any byte moves.
//!
//! Every way a chain can be wrong ends in an error status for the guest (when the chain has a usable
//! status byte) or a used entry of length 0 (when it has none); nothing a guest writes can panic here.

use virtio_queue::desc::split::Descriptor;
use vm_memory::{Bytes, GuestAddress, GuestMemory, Permissions};

use super::disk::{Disk, SECTOR_SIZE};

/// Read sectors into the guest.
pub const T_IN: u32 = 0;
/// Write sectors from the guest.
pub const T_OUT: u32 = 1;
/// Make completed writes durable.
pub const T_FLUSH: u32 = 4;
/// Return the device id string.
pub const T_GET_ID: u32 = 8;
/// Give sector ranges back to the host.
pub const T_DISCARD: u32 = 11;

/// Status: success.
pub const S_OK: u8 = 0;
/// Status: the request failed or was malformed.
pub const S_IOERR: u8 = 1;
/// Status: the request type or flags are not supported.
pub const S_UNSUPP: u8 = 2;

/// Length of the GET_ID answer (`VIRTIO_BLK_ID_BYTES`).
pub const ID_BYTES: usize = 20;
/// Most segments in one DISCARD request (advertised as `max_discard_seg`).
pub const MAX_DISCARD_SEGMENTS: u32 = 32;
/// Most sectors one discard segment may cover (advertised as `max_discard_sectors`: 2 GiB).
pub const MAX_DISCARD_SECTORS: u32 = 1 << 22;

const HEADER_LEN: u32 = 16;
const DISCARD_SEGMENT_LEN: usize = 16;
/// Discard segment flag: unmap (the only one we accept; we always deallocate).
const DISCARD_F_UNMAP: u32 = 1;

/// Why a request was refused or failed. Logged; the guest sees [`RequestError::status`].
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The chain loops, is longer than the queue or points outside its descriptor table.
    #[error("descriptor chain loops, is longer than the queue or leaves its descriptor table")]
    Truncated,
    /// The last descriptor cannot take the status byte.
    #[error("the last descriptor is not a device-writable status byte inside guest memory")]
    NoStatus,
    /// The first descriptor is not a readable 16-byte header.
    #[error("the request header is missing, shorter than 16 bytes or device-writable")]
    BadHeader,
    /// A data buffer is empty or not inside guest memory.
    #[error("data buffer {addr:#x}+{len:#x} is empty or outside guest memory")]
    BadBuffer {
        /// Guest address.
        addr: u64,
        /// Length.
        len: u32,
    },
    /// A data buffer has the wrong direction (or is missing) for the request type.
    #[error("request type {0} has a data buffer with the wrong direction, or none")]
    WrongDirection(u32),
    /// The data length is not whole sectors.
    #[error("data length {0} is not a multiple of 512")]
    Unaligned(u64),
    /// The request reaches past the end of the disk.
    #[error("sectors {sector}+{count} reach past the end of the disk ({capacity} sectors)")]
    OutOfRange {
        /// First sector.
        sector: u64,
        /// Sector count.
        count: u64,
        /// Disk capacity in sectors.
        capacity: u64,
    },
    /// OUT on a read-only disk.
    #[error("write to a read-only disk")]
    ReadOnly,
    /// A request type we do not implement or did not offer.
    #[error("request type {0} is not supported by this disk")]
    Unsupported(u32),
    /// A discard flag other than unmap.
    #[error("discard segment flags {0:#x} are not supported")]
    DiscardFlags(u32),
    /// A discard payload that is not 1 to 32 whole segments.
    #[error("discard payload of {0} bytes is not 1 to 32 16-byte segments")]
    BadDiscard(u64),
    /// Guest memory could not be accessed.
    #[error("guest memory access failed: {0}")]
    Memory(#[from] vm_memory::GuestMemoryError),
    /// The host file failed.
    #[error("disk I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

impl RequestError {
    /// The status byte the guest gets.
    pub fn status(&self) -> u8 {
        match self {
            RequestError::Unsupported(_) | RequestError::DiscardFlags(_) => S_UNSUPP,
            _ => S_IOERR,
        }
    }
}

/// What the device needs to serve a request.
pub struct Context<'a> {
    /// The disk.
    pub disk: &'a Disk,
    /// The GET_ID answer.
    pub id: &'a [u8; ID_BYTES],
    /// Bounce buffer between the file and guest memory; its length is the copy chunk.
    pub scratch: &'a mut [u8],
}

/// Serves one descriptor chain and returns the used length to report: bytes written into the guest,
/// the status byte included (0 when the chain has no usable status byte).
pub fn handle<M: GuestMemory>(
    mem: &M,
    chain: impl Iterator<Item = Descriptor>,
    ctx: &mut Context<'_>,
) -> u32 {
    let descs: Vec<Descriptor> = chain.collect();
    let status_desc = match status_descriptor(mem, &descs) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "virtio-blk: chain dropped without a status");
            return 0;
        }
    };
    let mut written = 0u32;
    let status = match execute(mem, &descs[..descs.len() - 1], ctx, &mut written) {
        Ok(()) => S_OK,
        Err(e) => {
            tracing::warn!(error = %e, "virtio-blk: request failed");
            e.status()
        }
    };
    if let Err(e) = mem.write_obj(status, status_desc.addr()) {
        tracing::warn!(error = %e, "virtio-blk: cannot write the status byte");
        return written;
    }
    written.saturating_add(1)
}

/// The access the device makes to a buffer.
fn access(d: &Descriptor) -> Permissions {
    if d.is_write_only() {
        Permissions::Write
    } else {
        Permissions::Read
    }
}

fn status_descriptor<M: GuestMemory>(mem: &M, descs: &[Descriptor]) -> Result<Descriptor, RequestError> {
    let last = descs.last().ok_or(RequestError::Truncated)?;
    // The chain iterator stops early (and silently) on loops, over-long chains and bad indices; the
    // last descriptor it gave then still says "next".
    if last.has_next() {
        return Err(RequestError::Truncated);
    }
    if !last.is_write_only() || last.len() == 0 || !mem.check_range(last.addr(), 1, Permissions::Write) {
        return Err(RequestError::NoStatus);
    }
    Ok(*last)
}

fn execute<M: GuestMemory>(
    mem: &M,
    descs: &[Descriptor],
    ctx: &mut Context<'_>,
    written: &mut u32,
) -> Result<(), RequestError> {
    let (header, data) = descs.split_first().ok_or(RequestError::BadHeader)?;
    if header.is_write_only() || header.len() < HEADER_LEN {
        return Err(RequestError::BadHeader);
    }
    let mut h = [0u8; HEADER_LEN as usize];
    mem.read_slice(&mut h, header.addr())?;
    let ty = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    let sector = u64::from_le_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]);
    for d in data {
        if d.len() == 0 || !mem.check_range(d.addr(), d.len() as usize, access(d)) {
            return Err(RequestError::BadBuffer {
                addr: d.addr().0,
                len: d.len(),
            });
        }
    }
    let disk = ctx.disk;
    match ty {
        T_IN => {
            let offset = io_range(disk, sector, expect(data, true, ty)?)?;
            copy_to_guest(mem, data, offset, ctx, written)
        }
        T_OUT => {
            if disk.read_only() {
                return Err(RequestError::ReadOnly);
            }
            let offset = io_range(disk, sector, expect(data, false, ty)?)?;
            copy_from_guest(mem, data, offset, ctx)
        }
        T_FLUSH => Ok(disk.flush()?),
        T_GET_ID => {
            expect(data, true, ty)?;
            let mut id: &[u8] = ctx.id;
            for d in data {
                let n = id.len().min(d.len() as usize);
                mem.write_slice(&id[..n], d.addr())?;
                *written += n as u32;
                id = &id[n..];
            }
            Ok(())
        }
        T_DISCARD if disk.supports_discard() => discard(mem, data, disk),
        other => Err(RequestError::Unsupported(other)),
    }
}

/// Checks every data buffer has the direction `writable` and there is at least one; their total length.
fn expect(data: &[Descriptor], writable: bool, ty: u32) -> Result<u64, RequestError> {
    if data.is_empty() || data.iter().any(|d| d.is_write_only() != writable) {
        return Err(RequestError::WrongDirection(ty));
    }
    Ok(data.iter().map(|d| u64::from(d.len())).sum())
}

/// The byte offset of `sector` once `len` bytes from it are known to be whole sectors on the disk.
fn io_range(disk: &Disk, sector: u64, len: u64) -> Result<u64, RequestError> {
    if !len.is_multiple_of(SECTOR_SIZE) {
        return Err(RequestError::Unaligned(len));
    }
    check_sectors(disk, sector, len / SECTOR_SIZE)?;
    Ok(sector * SECTOR_SIZE)
}

fn check_sectors(disk: &Disk, sector: u64, count: u64) -> Result<(), RequestError> {
    match sector.checked_add(count) {
        Some(end) if end <= disk.sectors() => Ok(()),
        _ => Err(RequestError::OutOfRange {
            sector,
            count,
            capacity: disk.sectors(),
        }),
    }
}

/// Chunks of `d`: (guest address, length, offset into the buffer).
fn chunks(d: &Descriptor, chunk: usize) -> impl Iterator<Item = (GuestAddress, usize, u64)> + '_ {
    let len = u64::from(d.len());
    (0..len).step_by(chunk).map(move |done| {
        let n = (len - done).min(chunk as u64) as usize;
        // In range: the whole buffer passed check_range.
        (GuestAddress(d.addr().0 + done), n, done)
    })
}

fn copy_to_guest<M: GuestMemory>(
    mem: &M,
    data: &[Descriptor],
    mut offset: u64,
    ctx: &mut Context<'_>,
    written: &mut u32,
) -> Result<(), RequestError> {
    for d in data {
        for (addr, n, _) in chunks(d, ctx.scratch.len()) {
            let buf = &mut ctx.scratch[..n];
            ctx.disk.read_at(buf, offset)?;
            mem.write_slice(buf, addr)?;
            offset += n as u64;
            *written = written.saturating_add(n as u32);
        }
    }
    Ok(())
}

fn copy_from_guest<M: GuestMemory>(
    mem: &M,
    data: &[Descriptor],
    mut offset: u64,
    ctx: &mut Context<'_>,
) -> Result<(), RequestError> {
    for d in data {
        for (addr, n, _) in chunks(d, ctx.scratch.len()) {
            let buf = &mut ctx.scratch[..n];
            mem.read_slice(buf, addr)?;
            ctx.disk.write_at(buf, offset)?;
            offset += n as u64;
        }
    }
    Ok(())
}

fn discard<M: GuestMemory>(mem: &M, data: &[Descriptor], disk: &Disk) -> Result<(), RequestError> {
    let total = expect(data, false, T_DISCARD)?;
    let max = u64::from(MAX_DISCARD_SEGMENTS) * DISCARD_SEGMENT_LEN as u64;
    if total == 0 || total > max || !total.is_multiple_of(DISCARD_SEGMENT_LEN as u64) {
        return Err(RequestError::BadDiscard(total));
    }
    let mut payload = Vec::with_capacity(total as usize);
    for d in data {
        let mut part = vec![0u8; d.len() as usize];
        mem.read_slice(&mut part, d.addr())?;
        payload.extend_from_slice(&part);
    }
    let mut ranges = Vec::new();
    for seg in payload.chunks_exact(DISCARD_SEGMENT_LEN) {
        let sector = u64::from_le_bytes(seg[0..8].try_into().unwrap_or_default());
        let count = u32::from_le_bytes(seg[8..12].try_into().unwrap_or_default());
        let flags = u32::from_le_bytes(seg[12..16].try_into().unwrap_or_default());
        if flags & !DISCARD_F_UNMAP != 0 {
            return Err(RequestError::DiscardFlags(flags));
        }
        if count > MAX_DISCARD_SECTORS {
            return Err(RequestError::BadDiscard(u64::from(count) * SECTOR_SIZE));
        }
        check_sectors(disk, sector, u64::from(count))?;
        ranges.push((sector * SECTOR_SIZE, u64::from(count) * SECTOR_SIZE));
    }
    // Every segment was checked before the first hole is punched: a bad request changes nothing.
    for (offset, len) in ranges.into_iter().filter(|r| r.1 > 0) {
        disk.punch_hole(offset, len)?;
    }
    Ok(())
}
