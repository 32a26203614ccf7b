//! The device behind the MMIO transport and the VMM's event loop, as berth-vmm runs it: the loop
//! watches the device's epoll fd, queue kicks arrive on eventfds, the driver talks to registers.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};

use vm_memory::{Bytes, GuestAddress};
use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};

use super::rx::NET_HDR_LEN;
use super::test_driver::{frame, framed, received, Ring, BUF, MEM_SIZE, QSIZE};
use super::*;
use crate::bus::BusDevice;
use crate::devices::irq::CountingIrq;
use crate::event_loop::{EventLoop, SharedTransport};
use crate::virtio_mmio::registers::*;
use crate::virtio_mmio::MmioTransport;

fn write(t: &SharedTransport, off: u64, v: u32) {
    t.lock().unwrap().write(off, &v.to_le_bytes());
}

fn read(t: &SharedTransport, off: u64) -> u32 {
    let mut b = [0u8; 4];
    t.lock().unwrap().read(off, &mut b);
    u32::from_le_bytes(b)
}

#[test]
fn frames_flow_both_ways_through_the_transport_and_the_event_loop() {
    let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), MEM_SIZE as usize)]).unwrap();
    let (ours, mut peer) = UnixStream::pair().unwrap();
    let dev = Net::from_socket(ours, DEFAULT_MAC).unwrap();
    let backend = dev.backend_fd().unwrap();
    let irq = Arc::new(CountingIrq::default());
    let t: SharedTransport = Arc::new(Mutex::new(MmioTransport::new(
        Box::new(dev),
        mem.clone(),
        Arc::new(VirtioInterrupt::new(irq.clone())),
    )));
    assert_eq!(read(&t, REG_DEVICE_ID), DEVICE_TYPE_NET);
    let offered = u64::from(read(&t, REG_DEVICE_FEATURES));
    assert_eq!(
        offered & (F_MAC | F_STATUS | F_MRG_RXBUF),
        F_MAC | F_STATUS | F_MRG_RXBUF
    );
    assert_eq!(read(&t, CONFIG_SPACE) & 0xffff, 0x5452, "the MAC starts 52:54");

    // Bring-up as Linux's virtio-mmio driver does it.
    let (mut rx, mut tx) = (Ring::new(0x1000), Ring::new(0x2000));
    let features = VIRTIO_F_VERSION_1 | F_MAC | F_STATUS | F_MRG_RXBUF;
    write(&t, REG_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    for sel in 0..2u32 {
        write(&t, REG_DRIVER_FEATURES_SEL, sel);
        write(&t, REG_DRIVER_FEATURES, (features >> (32 * sel)) as u32);
    }
    write(
        &t,
        REG_STATUS,
        STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK,
    );
    for (i, r) in [&rx, &tx].iter().enumerate() {
        write(&t, REG_QUEUE_SEL, i as u32);
        write(&t, REG_QUEUE_NUM, u32::from(QSIZE));
        write(&t, REG_QUEUE_DESC_LOW, r.base() as u32);
        write(&t, REG_QUEUE_AVAIL_LOW, r.avail() as u32);
        write(&t, REG_QUEUE_USED_LOW, r.used() as u32);
        write(&t, REG_QUEUE_READY, 1);
    }
    write(
        &t,
        REG_STATUS,
        STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK,
    );
    assert!(t.lock().unwrap().is_activated());

    let mut ev = EventLoop::new().unwrap();
    let rx_kick = EventFd::new(EFD_NONBLOCK).unwrap();
    let tx_kick = EventFd::new(EFD_NONBLOCK).unwrap();
    ev.add_queue_notify(t.clone(), RX_QUEUE as u16, rx_kick.try_clone().unwrap())
        .unwrap();
    ev.add_queue_notify(t.clone(), TX_QUEUE as u16, tx_kick.try_clone().unwrap())
        .unwrap();
    ev.add_backend(t.clone(), backend).unwrap();

    // passt → guest: the frame waits for a buffer, which a kick then fills.
    peer.write_all(&framed(&[&frame(98, 1)])).unwrap();
    for _ in 0..10 {
        if ev.run_once(0).unwrap() == 0 {
            break;
        }
    }
    assert!(rx.take_used(&mem).is_empty());
    rx.chain(&mem, &[(BUF, 4096, true)]);
    rx_kick.write(1).unwrap();
    assert_eq!(ev.run_once(5000).unwrap(), 1);
    assert_eq!(rx.take_used(&mem), vec![(0, 110)]);
    assert_eq!(received(&mem, BUF, 110), (1, frame(98, 1)));
    assert_eq!(read(&t, REG_INTERRUPT_STATUS), INT_USED_RING);

    // With a buffer posted, the next frame is delivered by the loop's backend event alone.
    rx.chain(&mem, &[(BUF + 0x1000, 4096, true)]);
    peer.write_all(&framed(&[&frame(60, 2)])).unwrap();
    assert_eq!(ev.run_once(5000).unwrap(), 1);
    assert_eq!(rx.take_used(&mem), vec![(1, 72)]);

    // guest → passt.
    let mut bytes = vec![0u8; NET_HDR_LEN];
    bytes.extend_from_slice(&frame(70, 3));
    mem.write_slice(&bytes, GuestAddress(BUF + 0x8000)).unwrap();
    tx.chain(&mem, &[(BUF + 0x8000, bytes.len() as u32, false)]);
    tx_kick.write(1).unwrap();
    assert_eq!(ev.run_once(5000).unwrap(), 1);
    assert_eq!(tx.take_used(&mem), vec![(0, 0)]);
    let mut got = vec![0u8; 74];
    peer.read_exact(&mut got).unwrap();
    assert_eq!(got, framed(&[&frame(70, 3)]));

    // passt goes away: the link-down configuration change reaches the driver.
    drop(peer);
    assert_eq!(ev.run_once(5000).unwrap(), 1);
    assert_ne!(read(&t, REG_INTERRUPT_STATUS) & INT_CONFIG_CHANGE, 0);
    assert_eq!(read(&t, REG_CONFIG_GENERATION), 1);
    assert_eq!(read(&t, CONFIG_SPACE + 4) >> 16, 0, "status: link down");
    assert_eq!(ev.run_once(0).unwrap(), 0, "the hang-up does not fire again");
}
