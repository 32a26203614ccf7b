//! The virtio-vsock wire format: header fields, operations, and parsing of guest descriptor chains
//! into packets (validated by `virtio-vsock`'s [`VsockPacket`]).

use std::io;
use std::ops::Deref;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

use virtio_queue::DescriptorChain;
use virtio_vsock::packet::VsockPacket;
pub use virtio_vsock::packet::PKT_HEADER_SIZE;
use vm_memory::bitmap::{BitmapSlice, WithBitmapSlice};
use vm_memory::{Bytes, GuestMemory, VolatileSlice};

/// Context id of the host.
pub const HOST_CID: u64 = 2;
/// The only socket type we support (`VIRTIO_VSOCK_TYPE_STREAM`).
pub const TYPE_STREAM: u16 = 1;
/// Largest payload a guest TX packet may carry (Linux' `VIRTIO_VSOCK_MAX_PKT_BUF_SIZE`).
pub const MAX_PKT_DATA: u32 = 64 * 1024;

/// Packet operations (`VIRTIO_VSOCK_OP_*`).
pub mod op {
    /// Connection request.
    pub const REQUEST: u16 = 1;
    /// Connection accepted.
    pub const RESPONSE: u16 = 2;
    /// Connection reset / refused.
    pub const RST: u16 = 3;
    /// Half or full shutdown; see [`super::shutdown`].
    pub const SHUTDOWN: u16 = 4;
    /// Payload bytes.
    pub const RW: u16 = 5;
    /// The sender's receive credit changed.
    pub const CREDIT_UPDATE: u16 = 6;
    /// The sender asks for a credit update.
    pub const CREDIT_REQUEST: u16 = 7;
}

/// Flags of a [`op::SHUTDOWN`] packet.
pub mod shutdown {
    /// The sender will receive no more data.
    pub const RCV: u32 = 1;
    /// The sender will send no more data.
    pub const SEND: u32 = 2;
    /// Both directions.
    pub const BOTH: u32 = RCV | SEND;
}

/// A copy of a packet header's fields (taken once, so a guest rewriting its memory cannot change
/// what we already validated).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Header {
    /// Source context id.
    pub src_cid: u64,
    /// Destination context id.
    pub dst_cid: u64,
    /// Source port.
    pub src_port: u32,
    /// Destination port.
    pub dst_port: u32,
    /// Payload length.
    pub len: u32,
    /// Socket type.
    pub type_: u16,
    /// Operation.
    pub op: u16,
    /// Operation flags.
    pub flags: u32,
    /// Sender's receive buffer size.
    pub buf_alloc: u32,
    /// Bytes the sender has consumed from its receive buffer.
    pub fwd_cnt: u32,
}

impl Header {
    /// Decodes a header from its little-endian wire bytes.
    pub fn from_le_bytes(b: &[u8; PKT_HEADER_SIZE]) -> Self {
        let u64_at = |o: usize| {
            u64::from_le_bytes([
                b[o],
                b[o + 1],
                b[o + 2],
                b[o + 3],
                b[o + 4],
                b[o + 5],
                b[o + 6],
                b[o + 7],
            ])
        };
        let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
        Header {
            src_cid: u64_at(0),
            dst_cid: u64_at(8),
            src_port: u32_at(16),
            dst_port: u32_at(20),
            len: u32_at(24),
            type_: u16_at(28),
            op: u16_at(30),
            flags: u32_at(32),
            buf_alloc: u32_at(36),
            fwd_cnt: u32_at(40),
        }
    }

    /// Encodes this header as little-endian wire bytes.
    pub fn to_le_bytes(&self) -> [u8; PKT_HEADER_SIZE] {
        let mut b = [0u8; PKT_HEADER_SIZE];
        b[0..8].copy_from_slice(&self.src_cid.to_le_bytes());
        b[8..16].copy_from_slice(&self.dst_cid.to_le_bytes());
        b[16..20].copy_from_slice(&self.src_port.to_le_bytes());
        b[20..24].copy_from_slice(&self.dst_port.to_le_bytes());
        b[24..28].copy_from_slice(&self.len.to_le_bytes());
        b[28..30].copy_from_slice(&self.type_.to_le_bytes());
        b[30..32].copy_from_slice(&self.op.to_le_bytes());
        b[32..36].copy_from_slice(&self.flags.to_le_bytes());
        b[36..40].copy_from_slice(&self.buf_alloc.to_le_bytes());
        b[40..44].copy_from_slice(&self.fwd_cnt.to_le_bytes());
        b
    }

    fn of<B: BitmapSlice>(pkt: &VsockPacket<'_, B>) -> Self {
        Header {
            src_cid: pkt.src_cid(),
            dst_cid: pkt.dst_cid(),
            src_port: pkt.src_port(),
            dst_port: pkt.dst_port(),
            len: pkt.len(),
            type_: pkt.type_(),
            op: pkt.op(),
            flags: pkt.flags(),
            buf_alloc: pkt.buf_alloc(),
            fwd_cnt: pkt.fwd_cnt(),
        }
    }

    /// Writes this header into an RX packet (the whole header, so no stale guest bytes remain).
    pub fn write_to<B: BitmapSlice>(
        &self,
        pkt: &mut VsockPacket<'_, B>,
    ) -> Result<(), virtio_vsock::packet::Error> {
        pkt.set_header_from_raw(&self.to_le_bytes())
    }
}

/// A TX packet the guest sent: its header and, for RW, its payload in guest memory.
pub struct TxPacket<'a, B: BitmapSlice> {
    /// The header.
    pub hdr: Header,
    /// The payload (`hdr.len` bytes), if any.
    pub data: Option<VolatileSlice<'a, B>>,
}

/// Why a TX chain was rejected; `hdr` is set when the header itself was readable.
#[derive(Debug)]
pub struct TxReject {
    /// The header, if it could be read from a device-readable head descriptor.
    pub hdr: Option<Header>,
    /// What was wrong.
    pub error: virtio_vsock::packet::Error,
}

/// Parses a TX chain. All checks (directions, lengths, bounds, fragmentation) are `virtio-vsock`'s;
/// a packet whose `len` exceeds [`MAX_PKT_DATA`] or its descriptors is rejected.
pub fn parse_tx<'a, M, T>(
    mem: &'a M,
    chain: &mut DescriptorChain<T>,
) -> Result<TxPacket<'a, <M::Bitmap as WithBitmapSlice<'a>>::S>, TxReject>
where
    M: GuestMemory,
    T: Deref + Clone,
    T::Target: GuestMemory,
{
    let peek = chain.clone();
    match VsockPacket::from_tx_virtq_chain(mem, chain, MAX_PKT_DATA) {
        Ok(pkt) => Ok(TxPacket {
            hdr: Header::of(&pkt),
            data: pkt.data_slice().cloned(),
        }),
        Err(error) => Err(TxReject {
            hdr: peek_header(mem, peek),
            error,
        }),
    }
}

/// Reads the header of a chain whose payload was invalid, so the connection can be reset.
fn peek_header<M, T>(mem: &M, mut chain: DescriptorChain<T>) -> Option<Header>
where
    M: GuestMemory,
    T: Deref,
    T::Target: GuestMemory,
{
    let head = chain.next()?;
    if head.is_write_only() || (head.len() as usize) < PKT_HEADER_SIZE {
        return None;
    }
    let mut raw = [0u8; PKT_HEADER_SIZE];
    mem.read_slice(&mut raw, head.addr()).ok()?;
    Some(Header::from_le_bytes(&raw))
}

/// Sends bytes from guest memory on a Unix stream without raising `SIGPIPE` when the peer is gone.
pub fn send_volatile<B: BitmapSlice>(stream: &UnixStream, buf: &VolatileSlice<'_, B>) -> io::Result<usize> {
    let guard = buf.ptr_guard();
    // SAFETY: the fd is a valid open socket owned by `stream`; `guard` keeps `buf.len()` bytes of
    // mapped guest memory readable for the duration of the call, and `send` only reads them.
    let n = unsafe {
        libc::send(
            stream.as_raw_fd(),
            guard.as_ptr().cast(),
            buf.len(),
            libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Sends host bytes on a Unix stream without raising `SIGPIPE` when the peer is gone.
pub fn send_bytes(stream: &UnixStream, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: the fd is a valid open socket owned by `stream`; `buf` is a live slice that `send`
    // only reads.
    let n = unsafe {
        libc::send(
            stream.as_raw_fd(),
            buf.as_ptr().cast(),
            buf.len(),
            libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}
