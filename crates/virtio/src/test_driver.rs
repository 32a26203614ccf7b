//! A tiny virtio "guest driver" for tests: lays out split virtqueues in guest memory, posts
//! descriptor chains (good and hostile ones) and reads the used ring back.

use std::sync::atomic::{fence, Ordering};

use virtio_queue::{Queue, QueueT};
use vm_memory::{Address, Bytes, GuestAddress, GuestMemory};

use crate::vsock::packet::{Header, PKT_HEADER_SIZE};

/// `VRING_DESC_F_NEXT`.
pub const F_NEXT: u16 = 1;
/// `VRING_DESC_F_WRITE`.
pub const F_WRITE: u16 = 2;
/// `VRING_DESC_F_INDIRECT`.
pub const F_INDIRECT: u16 = 4;

/// One descriptor as the driver writes it.
#[derive(Debug, Clone, Copy)]
pub struct Desc {
    /// Guest physical address of the buffer.
    pub addr: u64,
    /// Buffer length.
    pub len: u32,
    /// Flags (`F_NEXT` is managed by [`TestQueue::add_chain`]).
    pub flags: u16,
    /// Next index (only used by [`TestQueue::add_raw`]).
    pub next: u16,
}

impl Desc {
    /// A device-readable buffer.
    pub fn ro(addr: u64, len: u32) -> Self {
        Desc {
            addr,
            len,
            flags: 0,
            next: 0,
        }
    }
    /// A device-writable buffer.
    pub fn wo(addr: u64, len: u32) -> Self {
        Desc {
            addr,
            len,
            flags: F_WRITE,
            next: 0,
        }
    }
}

/// The driver side of one split virtqueue.
pub struct TestQueue {
    /// Descriptor table address.
    pub desc: GuestAddress,
    /// Available ring address.
    pub avail: GuestAddress,
    /// Used ring address.
    pub used: GuestAddress,
    /// Queue size.
    pub size: u16,
    next_desc: u16,
    avail_idx: u16,
    used_seen: u16,
}

impl TestQueue {
    /// Lays out a queue of `size` entries at `base` (needs `16*size + 6+2*size + 6+8*size` bytes).
    pub fn new<M: GuestMemory>(mem: &M, base: u64, size: u16) -> Self {
        let desc = base;
        let avail = desc + 16 * u64::from(size);
        let used = (avail + 6 + 2 * u64::from(size) + 3) & !3;
        let q = TestQueue {
            desc: GuestAddress(desc),
            avail: GuestAddress(avail),
            used: GuestAddress(used),
            size,
            next_desc: 0,
            avail_idx: 0,
            used_seen: 0,
        };
        let zeros = vec![0u8; (used + 6 + 8 * u64::from(size) - desc) as usize];
        mem.write_slice(&zeros, q.desc).unwrap();
        q
    }

    /// A device-side `Queue` configured for this layout (for in-process device tests).
    pub fn device_queue(&self) -> Queue {
        let mut q = Queue::new(self.size).unwrap();
        q.set_size(self.size);
        q.set_desc_table_address(Some(self.desc.0 as u32), Some((self.desc.0 >> 32) as u32));
        q.set_avail_ring_address(Some(self.avail.0 as u32), Some((self.avail.0 >> 32) as u32));
        q.set_used_ring_address(Some(self.used.0 as u32), Some((self.used.0 >> 32) as u32));
        q.set_ready(true);
        q
    }

    fn write_desc<M: GuestMemory>(&self, mem: &M, idx: u16, d: Desc) {
        let at = self.desc.0 + 16 * u64::from(idx % self.size);
        let mut raw = [0u8; 16];
        raw[0..8].copy_from_slice(&d.addr.to_le_bytes());
        raw[8..12].copy_from_slice(&d.len.to_le_bytes());
        raw[12..14].copy_from_slice(&d.flags.to_le_bytes());
        raw[14..16].copy_from_slice(&d.next.to_le_bytes());
        mem.write_slice(&raw, GuestAddress(at)).unwrap();
    }

    /// Publishes `head` in the available ring.
    pub fn publish<M: GuestMemory>(&mut self, mem: &M, head: u16) {
        let slot = self.avail.0 + 4 + 2 * u64::from(self.avail_idx % self.size);
        mem.write_obj(head.to_le(), GuestAddress(slot)).unwrap();
        fence(Ordering::SeqCst);
        self.avail_idx = self.avail_idx.wrapping_add(1);
        mem.write_obj(self.avail_idx.to_le(), self.avail.unchecked_add(2))
            .unwrap();
        fence(Ordering::SeqCst);
    }

    /// The descriptor slot the next [`TestQueue::add_chain`] starts at.
    pub fn next_head(&self) -> u16 {
        self.next_desc % self.size
    }

    /// Writes a linked chain into free descriptor slots and publishes it. Returns the head.
    pub fn add_chain<M: GuestMemory>(&mut self, mem: &M, descs: &[Desc]) -> u16 {
        let head = self.next_desc % self.size;
        for (i, d) in descs.iter().enumerate() {
            let idx = (self.next_desc + i as u16) % self.size;
            let mut d = *d;
            if i + 1 < descs.len() {
                d.flags |= F_NEXT;
                d.next = (idx + 1) % self.size;
            }
            self.write_desc(mem, idx, d);
        }
        self.next_desc = self.next_desc.wrapping_add(descs.len() as u16) % self.size;
        self.publish(mem, head);
        head
    }

    /// Writes descriptors verbatim at slots `first..` (hostile tables) and publishes `first`.
    pub fn add_raw<M: GuestMemory>(&mut self, mem: &M, first: u16, descs: &[Desc]) {
        for (i, d) in descs.iter().enumerate() {
            self.write_desc(mem, first + i as u16, *d);
        }
        self.publish(mem, first);
    }

    /// Overwrites the available index (hostile drivers).
    pub fn set_avail_idx<M: GuestMemory>(&mut self, mem: &M, idx: u16) {
        self.avail_idx = idx;
        mem.write_obj(idx.to_le(), self.avail.unchecked_add(2)).unwrap();
    }

    /// New used entries since the last call: (descriptor id, length).
    pub fn take_used<M: GuestMemory>(&mut self, mem: &M) -> Vec<(u32, u32)> {
        fence(Ordering::SeqCst);
        let idx = u16::from_le(mem.read_obj::<u16>(self.used.unchecked_add(2)).unwrap());
        let mut out = Vec::new();
        while self.used_seen != idx {
            let at = self.used.0 + 4 + 8 * u64::from(self.used_seen % self.size);
            let id = u32::from_le(mem.read_obj(GuestAddress(at)).unwrap());
            let len = u32::from_le(mem.read_obj(GuestAddress(at + 4)).unwrap());
            out.push((id, len));
            self.used_seen = self.used_seen.wrapping_add(1);
        }
        out
    }
}

/// Writes a packet (header, then data right after it) at `addr`; returns its total length.
pub fn write_packet<M: GuestMemory>(mem: &M, addr: u64, hdr: &Header, data: &[u8]) -> u32 {
    mem.write_slice(&hdr.to_le_bytes(), GuestAddress(addr)).unwrap();
    mem.write_slice(data, GuestAddress(addr + PKT_HEADER_SIZE as u64))
        .unwrap();
    (PKT_HEADER_SIZE + data.len()) as u32
}

/// Reads a packet the device wrote into a one-descriptor RX buffer at `addr` (used length `len`).
pub fn read_packet<M: GuestMemory>(mem: &M, addr: u64, len: u32) -> (Header, Vec<u8>) {
    let mut raw = [0u8; PKT_HEADER_SIZE];
    mem.read_slice(&mut raw, GuestAddress(addr)).unwrap();
    let hdr = Header::from_le_bytes(&raw);
    let n = (len as usize)
        .saturating_sub(PKT_HEADER_SIZE)
        .min(hdr.len as usize);
    let mut data = vec![0u8; n];
    mem.read_slice(&mut data, GuestAddress(addr + PKT_HEADER_SIZE as u64))
        .unwrap();
    (hdr, data)
}
