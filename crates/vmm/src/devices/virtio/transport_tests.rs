//! Devices behind the MMIO transport, notified through the event loop as KVM's ioeventfds would:
//! a driver written against the register file, guest memory in the test, no hypervisor.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};
use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};

use super::block::request::{S_OK, T_IN};
use super::block::{Block, Disk};
use super::vsock::Vsock;
use crate::bus::BusDevice;
use crate::devices::irq::CountingIrq;
use crate::event_loop::{EventLoop, SharedTransport};
use crate::virtio_mmio::registers::*;
use crate::virtio_mmio::{MmioTransport, VirtioDevice, VirtioInterrupt};

const QSIZE: u16 = 16;

fn memory() -> GuestMemoryMmap {
    GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 4 << 20)]).unwrap()
}

/// A split queue laid out at `base`: descriptors, then avail at +0x400, used at +0x800.
struct Ring {
    base: u64,
    posted: u16,
}

impl Ring {
    fn avail(&self) -> u64 {
        self.base + 0x400
    }
    fn used(&self) -> u64 {
        self.base + 0x800
    }

    /// Posts a chain of (addr, len, device-writable) at descriptor index `first`.
    fn post(&mut self, mem: &GuestMemoryMmap, first: u16, descs: &[(u64, u32, bool)]) {
        for (i, &(addr, len, w)) in descs.iter().enumerate() {
            let idx = first + i as u16;
            let mut flags = if w { 2u16 } else { 0 };
            if i + 1 < descs.len() {
                flags |= 1;
            }
            let at = self.base + 16 * u64::from(idx);
            mem.write_obj(addr, GuestAddress(at)).unwrap();
            mem.write_obj(len, GuestAddress(at + 8)).unwrap();
            mem.write_obj(flags, GuestAddress(at + 12)).unwrap();
            mem.write_obj(idx + 1, GuestAddress(at + 14)).unwrap();
        }
        let slot = self.avail() + 4 + 2 * u64::from(self.posted % QSIZE);
        mem.write_obj(first, GuestAddress(slot)).unwrap();
        self.posted += 1;
        mem.write_obj(self.posted, GuestAddress(self.avail() + 2))
            .unwrap();
    }

    fn used_idx(&self, mem: &GuestMemoryMmap) -> u16 {
        mem.read_obj(GuestAddress(self.used() + 2)).unwrap()
    }
}

fn write(t: &SharedTransport, off: u64, v: u32) {
    t.lock().unwrap().write(off, &v.to_le_bytes());
}

/// Brings the device up as Linux's virtio-mmio driver does, with `rings[i]` as queue i.
fn bring_up(t: &SharedTransport, features: u64, rings: &[&Ring]) {
    write(t, REG_STATUS, STATUS_ACKNOWLEDGE);
    write(t, REG_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    write(t, REG_DRIVER_FEATURES_SEL, 0);
    write(t, REG_DRIVER_FEATURES, features as u32);
    write(t, REG_DRIVER_FEATURES_SEL, 1);
    write(t, REG_DRIVER_FEATURES, (features >> 32) as u32);
    let ok = STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK;
    write(t, REG_STATUS, ok);
    for (i, r) in rings.iter().enumerate() {
        write(t, REG_QUEUE_SEL, i as u32);
        write(t, REG_QUEUE_NUM, u32::from(QSIZE));
        write(t, REG_QUEUE_DESC_LOW, r.base as u32);
        write(t, REG_QUEUE_AVAIL_LOW, r.avail() as u32);
        write(t, REG_QUEUE_USED_LOW, r.used() as u32);
        write(t, REG_QUEUE_READY, 1);
    }
    write(t, REG_STATUS, ok | STATUS_DRIVER_OK);
    assert!(t.lock().unwrap().is_activated());
}

fn transport(dev: Box<dyn VirtioDevice>, mem: &GuestMemoryMmap) -> (SharedTransport, Arc<CountingIrq>) {
    let irq = Arc::new(CountingIrq::default());
    let t = MmioTransport::new(dev, mem.clone(), Arc::new(VirtioInterrupt::new(irq.clone())));
    (Arc::new(Mutex::new(t)), irq)
}

#[test]
fn block_request_notified_through_an_eventfd_is_served_by_the_event_loop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("disk.img");
    std::fs::write(&path, [7u8; 4096]).unwrap();
    let mem = memory();
    let dev = Block::new(Disk::open(&path, true).unwrap(), "berth-vda");
    let (t, irq) = transport(Box::new(dev), &mem);
    let mut ring = Ring {
        base: 0x10000,
        posted: 0,
    };
    bring_up(&t, VIRTIO_F_VERSION_1 | (1 << 5), &[&ring]);

    let mut ev = EventLoop::new().unwrap();
    let kick = EventFd::new(EFD_NONBLOCK).unwrap();
    ev.add_queue_notify(t.clone(), 0, kick.try_clone().unwrap())
        .unwrap();
    let mut header = [0u8; 16];
    header[0..4].copy_from_slice(&T_IN.to_le_bytes());
    header[8..16].copy_from_slice(&3u64.to_le_bytes());
    mem.write_slice(&header, GuestAddress(0x20000)).unwrap();
    ring.post(
        &mem,
        0,
        &[(0x20000, 16, false), (0x21000, 512, true), (0x22000, 1, true)],
    );
    assert_eq!(ring.used_idx(&mem), 0, "nothing happens before the kick");
    kick.write(1).unwrap();
    assert_eq!(ev.run_once(5000).unwrap(), 1);
    assert_eq!(ring.used_idx(&mem), 1);
    let used_len: u32 = mem.read_obj(GuestAddress(ring.used() + 8)).unwrap();
    assert_eq!(used_len, 513);
    assert_eq!(mem.read_obj::<u8>(GuestAddress(0x22000)).unwrap(), S_OK);
    assert_eq!(mem.read_obj::<u8>(GuestAddress(0x21000 + 511)).unwrap(), 7);
    assert_eq!(irq.count(), 1);
    let mut status = [0u8; 4];
    t.lock().unwrap().read(REG_INTERRUPT_STATUS, &mut status);
    assert_eq!(u32::from_le_bytes(status), INT_USED_RING);
}

#[test]
fn kicks_before_driver_ok_or_for_missing_queues_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("disk.img");
    std::fs::write(&path, [0u8; 512]).unwrap();
    let mem = memory();
    let (t, irq) = transport(Box::new(Block::new(Disk::open(&path, false).unwrap(), "x")), &mem);
    let mut ev = EventLoop::new().unwrap();
    let kick = EventFd::new(EFD_NONBLOCK).unwrap();
    ev.add_queue_notify(t.clone(), 0, kick.try_clone().unwrap())
        .unwrap();
    kick.write(1).unwrap();
    assert_eq!(ev.run_once(5000).unwrap(), 1);
    t.lock().unwrap().notify_queue(7);
    assert_eq!(irq.count(), 0);
    assert!(!t.lock().unwrap().is_activated());
}

#[test]
fn a_host_connect_on_the_vsock_socket_reaches_the_guest_rx_queue() {
    let dir = tempfile::tempdir().unwrap();
    let uds = dir.path().join("vsock.sock");
    let mem = memory();
    let dev = Vsock::new(berth_virtio::vsock::MuxerConfig::new(3, &uds)).unwrap();
    let backend = dev.backend_fd().unwrap();
    let (t, irq) = transport(Box::new(dev), &mem);
    let mut cid = [0u8; 8];
    t.lock().unwrap().read(CONFIG_SPACE, &mut cid);
    assert_eq!(u64::from_le_bytes(cid), 3);
    let mut rx = Ring {
        base: 0x10000,
        posted: 0,
    };
    let (tx, event) = (
        Ring {
            base: 0x11000,
            posted: 0,
        },
        Ring {
            base: 0x12000,
            posted: 0,
        },
    );
    bring_up(&t, VIRTIO_F_VERSION_1, &[&rx, &tx, &event]);
    rx.post(&mem, 0, &[(0x30000, 4096, true)]);

    let mut ev = EventLoop::new().unwrap();
    ev.add_backend(t.clone(), backend).unwrap();
    let mut host = UnixStream::connect(&uds).unwrap();
    host.write_all(b"CONNECT 1024\n").unwrap();
    // Accept, then read the CONNECT line: a few rounds of host events (bounded, not timed).
    for _ in 0..20 {
        if rx.used_idx(&mem) == 1 {
            break;
        }
        ev.run_once(500).unwrap();
    }
    assert_eq!(rx.used_idx(&mem), 1, "the guest got a packet");
    let src_cid: u64 = mem.read_obj(GuestAddress(0x30000)).unwrap();
    let dst_cid: u64 = mem.read_obj(GuestAddress(0x30008)).unwrap();
    let dst_port: u32 = mem.read_obj(GuestAddress(0x30014)).unwrap();
    let op: u16 = mem.read_obj(GuestAddress(0x3001e)).unwrap();
    assert_eq!(
        (src_cid, dst_cid, dst_port, op),
        (2, 3, 1024, 1),
        "a REQUEST to guest port 1024"
    );
    assert!(irq.count() >= 1);
}
