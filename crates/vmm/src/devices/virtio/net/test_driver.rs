//! The driver side of the net device tests: split queues laid out in guest memory, an activated device
//! on one end of a socket pair, and helpers to frame, post and read back frames.

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use virtio_queue::Queue;
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};
use vmm_sys_util::epoll::{ControlOperation, Epoll, EpollEvent, EventSet};

use super::rx::NET_HDR_LEN;
use super::*;
use crate::devices::irq::CountingIrq;

pub(super) const F_NEXT: u16 = 1;
pub(super) const F_WRITE: u16 = 2;
pub(super) const F_INDIRECT: u16 = 4;
pub(super) const QSIZE: u16 = 16;
pub(super) const MEM_SIZE: u64 = 16 << 20;
/// Guest buffers live from here on.
pub(super) const BUF: u64 = 0x10_0000;

/// The driver side of one split queue: descriptors at `base`, then the available and used rings.
pub(super) struct Ring {
    base: u64,
    pub(super) next_desc: u16,
    avail_idx: u16,
    used_seen: u16,
}

impl Ring {
    pub(super) fn new(base: u64) -> Self {
        Ring {
            base,
            next_desc: 0,
            avail_idx: 0,
            used_seen: 0,
        }
    }
    pub(super) fn base(&self) -> u64 {
        self.base
    }
    pub(super) fn avail(&self) -> u64 {
        self.base + 16 * u64::from(QSIZE)
    }
    pub(super) fn used(&self) -> u64 {
        (self.avail() + 6 + 2 * u64::from(QSIZE) + 3) & !3
    }

    pub(super) fn queue(&self) -> Queue {
        let mut q = Queue::new(QSIZE).unwrap();
        q.set_size(QSIZE);
        q.set_desc_table_address(Some(self.base as u32), Some(0));
        q.set_avail_ring_address(Some(self.avail() as u32), Some(0));
        q.set_used_ring_address(Some(self.used() as u32), Some(0));
        q.set_ready(true);
        q
    }

    /// Writes raw descriptors (addr, len, flags, next) at `first..` and publishes `first`.
    pub(super) fn raw(&mut self, mem: &GuestMemoryMmap, first: u16, descs: &[(u64, u32, u16, u16)]) {
        for (i, &(addr, len, flags, next)) in descs.iter().enumerate() {
            let at = self.base + 16 * u64::from((first + i as u16) % QSIZE);
            mem.write_obj(addr, GuestAddress(at)).unwrap();
            mem.write_obj(len, GuestAddress(at + 8)).unwrap();
            mem.write_obj(flags, GuestAddress(at + 12)).unwrap();
            mem.write_obj(next, GuestAddress(at + 14)).unwrap();
        }
        let slot = self.avail() + 4 + 2 * u64::from(self.avail_idx % QSIZE);
        mem.write_obj(first, GuestAddress(slot)).unwrap();
        self.avail_idx = self.avail_idx.wrapping_add(1);
        mem.write_obj(self.avail_idx, GuestAddress(self.avail() + 2))
            .unwrap();
    }

    /// Posts a well-linked chain of (addr, len, device-writable); returns its head.
    pub(super) fn chain(&mut self, mem: &GuestMemoryMmap, descs: &[(u64, u32, bool)]) -> u16 {
        let head = self.next_desc;
        let raw: Vec<_> = descs
            .iter()
            .enumerate()
            .map(|(i, &(a, l, w))| {
                let next = (head + i as u16 + 1) % QSIZE;
                let mut f = if w { F_WRITE } else { 0 };
                if i + 1 < descs.len() {
                    f |= F_NEXT;
                }
                (a, l, f, next)
            })
            .collect();
        self.raw(mem, head, &raw);
        self.next_desc = (head + descs.len() as u16) % QSIZE;
        head
    }

    /// New used entries: (head, length).
    pub(super) fn take_used(&mut self, mem: &GuestMemoryMmap) -> Vec<(u32, u32)> {
        let idx: u16 = mem.read_obj(GuestAddress(self.used() + 2)).unwrap();
        let mut out = Vec::new();
        while self.used_seen != idx {
            let at = self.used() + 4 + 8 * u64::from(self.used_seen % QSIZE);
            out.push((
                mem.read_obj(GuestAddress(at)).unwrap(),
                mem.read_obj(GuestAddress(at + 4)).unwrap(),
            ));
            self.used_seen = self.used_seen.wrapping_add(1);
        }
        out
    }
}

pub(super) struct Rig {
    pub mem: GuestMemoryMmap,
    pub rx: Ring,
    pub tx: Ring,
    pub dev: Net,
    pub irq: Arc<CountingIrq>,
    pub interrupt: Arc<VirtioInterrupt>,
}

/// Activates `dev` with fresh guest memory and an RX and a TX queue.
pub(super) fn activate(mut dev: Net, features: u64) -> Rig {
    let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), MEM_SIZE as usize)]).unwrap();
    let (rx, tx) = (Ring::new(0x1000), Ring::new(0x2000));
    let irq = Arc::new(CountingIrq::default());
    let interrupt = Arc::new(VirtioInterrupt::new(irq.clone()));
    dev.activate(ActivateConfig {
        mem: mem.clone(),
        queues: vec![Some(rx.queue()), Some(tx.queue())],
        features,
        interrupt: interrupt.clone(),
    })
    .unwrap();
    Rig {
        mem,
        rx,
        tx,
        dev,
        irq,
        interrupt,
    }
}

pub(super) fn rig(features: u64) -> (Rig, UnixStream) {
    let (ours, peer) = UnixStream::pair().unwrap();
    peer.set_nonblocking(true).unwrap();
    (
        activate(Net::from_socket(ours, DEFAULT_MAC).unwrap(), features),
        peer,
    )
}

pub(super) fn frame(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect()
}

pub(super) fn framed(frames: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in frames {
        out.extend_from_slice(&(f.len() as u32).to_be_bytes());
        out.extend_from_slice(f);
    }
    out
}

/// Everything the peer can read now.
pub(super) fn drain(peer: &mut UnixStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match peer.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return out,
            Err(e) => panic!("{e}"),
        }
    }
}

/// Whether the device's backend fd is readable now (what the event loop would see).
pub(super) fn backend_ready(dev: &Net) -> bool {
    let ep = Epoll::new().unwrap();
    let fd = dev.backend_fd().unwrap();
    ep.ctl(ControlOperation::Add, fd, EpollEvent::new(EventSet::IN, 0))
        .unwrap();
    let mut ev = [EpollEvent::default(); 1];
    ep.wait(0, &mut ev).unwrap() == 1
}

/// Posts a TX chain carrying a zero header and `f`, split into two buffers after `cut` bytes.
pub(super) fn send(r: &mut Rig, at: u64, f: &[u8], cut: usize) -> u16 {
    let mut bytes = vec![0u8; NET_HDR_LEN];
    bytes.extend_from_slice(f);
    r.mem.write_slice(&bytes, GuestAddress(at)).unwrap();
    let cut = cut.min(bytes.len());
    let (a, b) = (cut as u32, (bytes.len() - cut) as u32);
    r.tx.chain(&r.mem, &[(at, a, false), (at + u64::from(a), b, false)])
}

/// Reads an RX buffer the device filled: (num_buffers, frame bytes).
pub(super) fn received(mem: &GuestMemoryMmap, at: u64, len: u32) -> (u16, Vec<u8>) {
    let mut bytes = vec![0u8; len as usize];
    mem.read_slice(&mut bytes, GuestAddress(at)).unwrap();
    assert!(
        bytes[..10].iter().all(|b| *b == 0),
        "header flags, gso and csum fields are zero"
    );
    (
        u16::from_le_bytes([bytes[10], bytes[11]]),
        bytes[NET_HDR_LEN..].to_vec(),
    )
}
