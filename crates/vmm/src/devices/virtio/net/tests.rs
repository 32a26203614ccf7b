//! virtio-net against guest memory, split queues laid out by a small test driver and a socket pair
//! standing in for passt: frames both ways, awkward stream boundaries, back-pressure, hostile chains and
//! passt going away.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use super::backend::{LEN_PREFIX, MAX_FRAME_LEN};
use super::rx::NET_HDR_LEN;
use super::test_driver::*;
use super::*;
use crate::devices::irq::CountingIrq;
use crate::virtio_mmio::registers::INT_CONFIG_CHANGE;

#[test]
fn a_tx_frame_reaches_passt_with_its_length_prefix() {
    let (mut r, mut peer) = rig(0);
    let f = frame(60, 1);
    // The header split from the frame, then a header split across buffers.
    send(&mut r, BUF, &f, NET_HDR_LEN);
    send(&mut r, BUF + 0x1000, &f, 5);
    r.dev.queue_notify(TX_QUEUE as u16);
    assert_eq!(r.tx.take_used(&r.mem), vec![(0, 0), (2, 0)]);
    assert_eq!(drain(&mut peer), framed(&[&f, &f]));
    assert!(r.irq.count() >= 1);

    // An indirect table (as Linux uses for multi-buffer TX): header and frame in two entries.
    let table = BUF + 0x3000;
    let (hdr_at, frame_at) = (BUF + 0x4000, BUF + 0x5000);
    r.mem
        .write_slice(&[0u8; NET_HDR_LEN], GuestAddress(hdr_at))
        .unwrap();
    r.mem.write_slice(&f, GuestAddress(frame_at)).unwrap();
    for (i, (addr, len, flags, next)) in [(hdr_at, NET_HDR_LEN as u32, F_NEXT, 1u16), (frame_at, 60, 0, 0)]
        .into_iter()
        .enumerate()
    {
        let at = table + 16 * i as u64;
        r.mem.write_obj(addr, GuestAddress(at)).unwrap();
        r.mem.write_obj(len, GuestAddress(at + 8)).unwrap();
        r.mem.write_obj(flags, GuestAddress(at + 12)).unwrap();
        r.mem.write_obj(next, GuestAddress(at + 14)).unwrap();
    }
    r.tx.raw(&r.mem, 4, &[(table, 32, F_INDIRECT, 0)]);
    r.dev.queue_notify(TX_QUEUE as u16);
    assert_eq!(r.tx.take_used(&r.mem), vec![(4, 0)]);
    assert_eq!(drain(&mut peer), framed(&[&f]));
}

#[test]
fn rx_frames_split_at_awkward_boundaries_arrive_whole() {
    let (mut r, mut peer) = rig(0);
    for i in 0..4u64 {
        r.rx.chain(&r.mem, &[(BUF + i * 0x1000, 2048, true)]);
    }
    r.dev.queue_notify(RX_QUEUE as u16);
    let frames = [frame(60, 1), frame(1514, 2), frame(1, 3), frame(300, 4)];
    let stream = framed(&frames.iter().map(Vec::as_slice).collect::<Vec<_>>());
    // Cut inside the first prefix, right after it, inside a frame, and between two prefixes.
    for part in [
        &stream[..2],
        &stream[2..4],
        &stream[4..100],
        &stream[100..1600],
        &stream[1600..],
    ] {
        peer.write_all(part).unwrap();
        assert!(backend_ready(&r.dev));
        r.dev.handle_backend_event();
    }
    let used = r.rx.take_used(&r.mem);
    assert_eq!(used.len(), 4);
    for (i, (head, len)) in used.into_iter().enumerate() {
        assert_eq!(head, i as u32);
        let (n, got) = received(&r.mem, BUF + i as u64 * 0x1000, len);
        assert_eq!((n, got), (1, frames[i].clone()), "frame {i}");
    }
    assert!(!backend_ready(&r.dev), "nothing left to read");
}

#[test]
fn several_frames_in_one_read_and_waiting_for_rx_buffers() {
    let (mut r, mut peer) = rig(0);
    let frames = [frame(100, 1), frame(200, 2), frame(300, 3)];
    peer.write_all(&framed(&[&frames[0], &frames[1], &frames[2]]))
        .unwrap();
    // No RX buffers: the first frame waits and the socket is no longer watched for reading.
    r.dev.handle_backend_event();
    assert!(r.rx.take_used(&r.mem).is_empty());
    assert!(
        !backend_ready(&r.dev),
        "not watched while the guest has no buffers"
    );
    r.rx.chain(&r.mem, &[(BUF, 2048, true)]);
    r.dev.queue_notify(RX_QUEUE as u16);
    assert_eq!(r.rx.take_used(&r.mem).len(), 1);
    assert_eq!(received(&r.mem, BUF, 112).1, frames[0]);
    r.rx.chain(&r.mem, &[(BUF + 0x1000, 2048, true)]);
    r.rx.chain(&r.mem, &[(BUF + 0x2000, 2048, true)]);
    r.dev.queue_notify(RX_QUEUE as u16);
    let used = r.rx.take_used(&r.mem);
    assert_eq!(used, vec![(1, 212), (2, 312)]);
    assert_eq!(received(&r.mem, BUF + 0x2000, 312).1, frames[2]);
    assert!(
        !backend_ready(&r.dev),
        "socket drained, watched again, nothing to read"
    );
    peer.write_all(&framed(&[&frames[0]])).unwrap();
    assert!(backend_ready(&r.dev));
}

#[test]
fn mergeable_buffers_carry_a_large_frame_across_chains() {
    let (mut r, mut peer) = rig(F_MRG_RXBUF);
    for i in 0..4u64 {
        r.rx.chain(&r.mem, &[(BUF + i * 0x1000, 1500, true)]);
    }
    let big = frame(3000, 9);
    peer.write_all(&framed(&[&big])).unwrap();
    r.dev.handle_backend_event();
    let used = r.rx.take_used(&r.mem);
    assert_eq!(used, vec![(0, 1500), (1, 1500), (2, 12)]);
    let (n, mut got) = received(&r.mem, BUF, 1500);
    assert_eq!(n, 3);
    let mut rest = vec![0u8; 1512];
    r.mem
        .read_slice(&mut rest[..1500], GuestAddress(BUF + 0x1000))
        .unwrap();
    r.mem
        .read_slice(&mut rest[1500..], GuestAddress(BUF + 0x2000))
        .unwrap();
    got.extend_from_slice(&rest);
    assert_eq!(got, big);

    // Not enough buffers yet: nothing is used until more arrive.
    peer.write_all(&framed(&[&big])).unwrap();
    r.dev.handle_backend_event();
    assert!(r.rx.take_used(&r.mem).is_empty());
    r.rx.chain(&r.mem, &[(BUF + 0x4000, 1500, true)]);
    r.rx.chain(&r.mem, &[(BUF + 0x5000, 1500, true)]);
    r.dev.queue_notify(RX_QUEUE as u16);
    assert_eq!(r.rx.take_used(&r.mem), vec![(3, 1500), (4, 1500), (5, 12)]);
}

#[test]
fn a_frame_too_big_for_a_plain_rx_chain_is_dropped_and_the_next_one_arrives() {
    let (mut r, mut peer) = rig(0);
    r.rx.chain(&r.mem, &[(BUF, 1526, true)]);
    r.rx.chain(&r.mem, &[(BUF + 0x1000, 1526, true)]);
    peer.write_all(&framed(&[&frame(4000, 1), &frame(1514, 2)]))
        .unwrap();
    r.dev.handle_backend_event();
    assert_eq!(r.rx.take_used(&r.mem), vec![(0, 0), (1, 1526)]);
    assert_eq!(received(&r.mem, BUF + 0x1000, 1526).1, frame(1514, 2));
}

#[test]
fn zero_length_and_oversized_frames_from_passt_are_skipped() {
    let (mut r, mut peer) = rig(0);
    r.rx.chain(&r.mem, &[(BUF, 2048, true)]);
    let mut stream = 0u32.to_be_bytes().to_vec();
    stream.extend_from_slice(&(MAX_FRAME_LEN as u32 + 1).to_be_bytes());
    stream.extend(vec![0xee; MAX_FRAME_LEN + 1]);
    stream.extend(framed(&[&frame(64, 5)]));
    peer.write_all(&stream).unwrap();
    while backend_ready(&r.dev) {
        r.dev.handle_backend_event();
    }
    assert_eq!(r.rx.take_used(&r.mem), vec![(0, 76)]);
    assert_eq!(received(&r.mem, BUF, 76).1, frame(64, 5));
    assert_eq!(r.dev.dropped_from_host(), 2);
}

#[test]
fn hostile_rx_chains_are_returned_empty_and_the_frame_waits_for_a_good_one() {
    let (mut r, mut peer) = rig(0);
    let far = 1u64 << 40;
    r.rx.chain(&r.mem, &[(BUF, 2048, false)]); // device-readable
    r.rx.chain(&r.mem, &[(far, 2048, true)]); // outside memory
    r.rx.chain(&r.mem, &[(MEM_SIZE - 100, 2048, true)]); // straddles the end
    r.rx.chain(&r.mem, &[(BUF, 8, true)]); // smaller than the header
    r.rx.raw(
        &r.mem,
        4,
        &[(BUF, 64, F_WRITE | F_NEXT, 5), (BUF, 64, F_WRITE | F_NEXT, 4)],
    ); // a loop
    r.rx.raw(&r.mem, 6, &[(BUF, 64, F_WRITE | F_NEXT, 200)]); // next outside the table
    r.rx.raw(&r.mem, 7, &[(BUF + 0x1000, 2048, F_WRITE, 0)]);
    peer.write_all(&framed(&[&frame(90, 7)])).unwrap();
    r.dev.handle_backend_event();
    let used = r.rx.take_used(&r.mem);
    assert_eq!(used.len(), 7);
    assert!(used[..6].iter().all(|(_, len)| *len == 0), "{used:?}");
    assert_eq!(used[6], (7, 102));
    assert_eq!(received(&r.mem, BUF + 0x1000, 102).1, frame(90, 7));
    // An available index far ahead of the ring is refused without panic.
    let avail = r.rx.avail();
    r.mem.write_obj(1000u16, GuestAddress(avail + 2)).unwrap();
    peer.write_all(&framed(&[&frame(90, 8)])).unwrap();
    r.dev.handle_backend_event();
    r.dev.queue_notify(RX_QUEUE as u16);
}

#[test]
fn hostile_tx_chains_send_nothing_and_the_queue_keeps_working() {
    let (mut r, mut peer) = rig(0);
    let far = 1u64 << 40;
    let big = (NET_HDR_LEN + MAX_FRAME_LEN + 1) as u32;
    r.tx.chain(&r.mem, &[(BUF, 100, true)]); // device-writable
    r.tx.chain(&r.mem, &[(far, 100, false)]); // outside memory
    r.tx.chain(&r.mem, &[(BUF, big, false)]); // longer than any frame
    r.tx.chain(&r.mem, &[(BUF, 12, false)]); // a header and no frame
    r.tx.chain(&r.mem, &[(BUF, 0, false)]); // nothing at all
    r.tx.raw(&r.mem, 5, &[(BUF, 64, F_NEXT, 6), (BUF, 64, F_NEXT, 5)]); // a loop
    r.tx.raw(&r.mem, 7, &[(BUF, 64, F_NEXT, 300)]); // next outside the table
    r.tx.raw(&r.mem, 8, &[(BUF, u32::MAX, F_NEXT, 9), (BUF, u32::MAX, 0, 0)]); // lengths that overflow
    r.dev.queue_notify(TX_QUEUE as u16);
    assert_eq!(r.tx.take_used(&r.mem).len(), 8);
    assert!(drain(&mut peer).is_empty());
    r.tx.next_desc = 10;
    let f = frame(42, 3);
    send(&mut r, BUF + 0x1000, &f, 20);
    r.dev.queue_notify(TX_QUEUE as u16);
    assert_eq!(r.tx.take_used(&r.mem), vec![(10, 0)]);
    assert_eq!(drain(&mut peer), framed(&[&f]));
}

#[test]
fn a_slow_passt_holds_tx_chains_back_until_the_socket_drains() {
    let (mut r, mut peer) = rig(0);
    let frames: Vec<Vec<u8>> = (0..QSIZE).map(|i| frame(MAX_FRAME_LEN, i as u8)).collect();
    for (i, f) in frames.iter().enumerate() {
        // One buffer per chain, so all sixteen fit the descriptor table.
        let at = BUF + i as u64 * 0x20000;
        r.mem
            .write_slice(f, GuestAddress(at + NET_HDR_LEN as u64))
            .unwrap();
        r.tx.chain(&r.mem, &[(at, (NET_HDR_LEN + f.len()) as u32, false)]);
    }
    r.dev.queue_notify(TX_QUEUE as u16);
    let first = r.tx.take_used(&r.mem).len();
    assert!(
        first < frames.len(),
        "some chains wait for the socket ({first} taken)"
    );
    assert!(!backend_ready(&r.dev), "the socket is full");
    let mut got = drain(&mut peer);
    assert!(
        backend_ready(&r.dev),
        "watched for writability: ready once passt reads"
    );
    let mut taken = first;
    for _ in 0..100 {
        got.extend(drain(&mut peer));
        r.dev.handle_backend_event();
        taken += r.tx.take_used(&r.mem).len();
        if taken == frames.len() && r.dev.stream.writer.pending() == 0 {
            break;
        }
    }
    got.extend(drain(&mut peer));
    assert_eq!(taken, frames.len());
    assert!(!backend_ready(&r.dev), "no longer watched for writability");
    let want = framed(&frames.iter().map(Vec::as_slice).collect::<Vec<_>>());
    assert_eq!(got.len(), want.len());
    assert!(got == want, "frames arrive whole and in order");
    assert_eq!(want.len(), frames.len() * (LEN_PREFIX + MAX_FRAME_LEN));
}

#[test]
fn passt_going_away_takes_the_link_down_without_stopping_the_device() {
    let (mut r, peer) = rig(0);
    let mut status = [0u8; 2];
    r.dev.read_config(6, &mut status);
    assert_eq!(u16::from_le_bytes(status), config::S_LINK_UP);
    let mut mac = [0u8; 6];
    r.dev.read_config(0, &mut mac);
    assert_eq!(mac, DEFAULT_MAC.0);
    r.rx.chain(&r.mem, &[(BUF, 2048, true)]);
    let mut p = peer;
    p.write_all(&framed(&[&frame(70, 1)])).unwrap();
    drop(p);
    assert!(backend_ready(&r.dev));
    r.dev.handle_backend_event();
    assert_eq!(
        r.rx.take_used(&r.mem),
        vec![(0, 82)],
        "what passt sent before it went arrives"
    );
    assert!(!r.dev.link_up());
    r.dev.read_config(6, &mut status);
    assert_eq!(status, [0, 0]);
    assert_ne!(r.interrupt.status() & INT_CONFIG_CHANGE, 0);
    assert_eq!(r.interrupt.config_generation(), 1);
    assert!(!backend_ready(&r.dev), "a hang-up does not fire forever");
    send(&mut r, BUF + 0x1000, &frame(60, 2), NET_HDR_LEN);
    r.dev.queue_notify(TX_QUEUE as u16);
    assert_eq!(r.tx.take_used(&r.mem).len(), 1, "TX chains come back");
    r.dev.handle_backend_event();
    r.dev.reset();
}

#[test]
fn activation_needs_both_queues_and_reset_keeps_the_stream_in_step() {
    let (ours, mut peer) = UnixStream::pair().unwrap();
    peer.set_nonblocking(true).unwrap();
    let mut dev = Net::from_socket(ours, DEFAULT_MAC).unwrap();
    assert_eq!(dev.device_type(), DEVICE_TYPE_NET);
    assert_eq!(dev.device_features() & (F_MAC | F_STATUS), F_MAC | F_STATUS);
    let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 1 << 20)]).unwrap();
    let err = dev
        .activate(ActivateConfig {
            mem,
            queues: vec![Some(Ring::new(0x1000).queue()), None],
            features: 0,
            interrupt: Arc::new(VirtioInterrupt::new(Arc::new(CountingIrq::default()))),
        })
        .unwrap_err();
    assert!(err.to_string().contains("receive and transmit"), "{err}");
    // Not active: frames from passt wait in the socket.
    peer.write_all(&framed(&[&frame(50, 1)])).unwrap();
    assert!(!backend_ready(&dev));
    let mut r = activate(dev, 0);
    r.rx.chain(&r.mem, &[(BUF, 2048, true)]);
    r.dev.queue_notify(RX_QUEUE as u16);
    assert_eq!(r.rx.take_used(&r.mem), vec![(0, 62)]);
    peer.write_all(&framed(&[&frame(50, 2)])[..20]).unwrap();
    r.dev.handle_backend_event();
    r.dev.reset();
    peer.write_all(&framed(&[&frame(50, 2)])[20..]).unwrap();
    let mut r = activate(r.dev, 0);
    r.rx.chain(&r.mem, &[(BUF, 2048, true)]);
    r.dev.queue_notify(RX_QUEUE as u16);
    assert_eq!(r.rx.take_used(&r.mem), vec![(0, 62)]);
    assert_eq!(received(&r.mem, BUF, 62).1, frame(50, 2));
}
