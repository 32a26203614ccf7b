//! Hostile guests: malformed chains and packets must be rejected without panics, without touching
//! memory outside the guest's, and without harming other streams.

use super::*;
use crate::test_driver::F_NEXT;
use virtio_queue::QueueT;

/// An established stream the hostile packets can aim at.
fn with_stream(h: &mut Harness, port: u32) -> (BufReader<UnixStream>, Header) {
    let (s, req) = h.host_connect(port);
    (h.guest_accept(s, &req, 64 * 1024), req)
}

/// Every TX chain was returned to the guest and the device still works.
fn assert_tx_consumed_and_alive(h: &mut Harness) {
    let replies = h.drain();
    assert!(replies.iter().all(|p| p.0.op == op::RST), "{replies:?}");
    assert_eq!(h.tx.next_used(), h.tx.next_avail(), "TX chains left unconsumed");
    let (s, req) = h.host_connect(999);
    drop(h.guest_accept(s, &req, 4096));
}

#[test]
fn descriptor_loop_is_dropped() {
    let mut h = Harness::new();
    let mut hdr = h.pkt(op::RW, 1, 2);
    hdr.len = 16;
    write_packet(&h.mem, TX_BASE, &hdr, &[]);
    // Two descriptors pointing at each other, and one pointing at itself.
    let a = Desc {
        addr: TX_BASE,
        len: 44,
        flags: F_NEXT,
        next: 101,
    };
    let b = Desc {
        addr: TX_BASE + 0x1000,
        len: 8,
        flags: F_NEXT,
        next: 100,
    };
    h.txq.add_raw(&h.mem, 100, &[a, b]);
    h.txq.add_raw(
        &h.mem,
        110,
        &[Desc {
            addr: TX_BASE,
            len: 44,
            flags: F_NEXT,
            next: 110,
        }],
    );
    assert_tx_consumed_and_alive(&mut h);
}

#[test]
fn addresses_outside_guest_memory_are_rejected() {
    let mut h = Harness::new();
    let end = MEM_SIZE as u64;
    for (addr, len) in [(end, 44), (end - 20, 44), (u64::MAX - 10, 44), (u64::MAX, 4096)] {
        h.txq.add_chain(&h.mem, &[Desc::ro(addr, len)]);
    }
    // A good header whose data descriptor points past the end of memory.
    let mut hdr = h.pkt(op::RW, 1, 2);
    hdr.len = 4096;
    write_packet(&h.mem, TX_BASE, &hdr, &[]);
    h.txq
        .add_chain(&h.mem, &[Desc::ro(TX_BASE, 44), Desc::ro(end - 100, 4096)]);
    assert_tx_consumed_and_alive(&mut h);
}

#[test]
fn short_and_empty_headers_are_rejected() {
    let mut h = Harness::new();
    for len in [0, 1, 20, 43] {
        h.txq.add_chain(&h.mem, &[Desc::ro(TX_BASE, len)]);
    }
    h.txq.add_chain(&h.mem, &[]);
    assert_tx_consumed_and_alive(&mut h);
}

#[test]
fn header_in_a_write_only_descriptor_is_rejected() {
    let mut h = Harness::new();
    let hdr = h.pkt(op::REQUEST, 1, 2);
    write_packet(&h.mem, TX_BASE, &hdr, &[]);
    h.txq.add_chain(&h.mem, &[Desc::wo(TX_BASE, 44)]);
    let (mut hdr, data) = (h.pkt(op::RW, 1, 2), [0u8; 8]);
    hdr.len = 8;
    write_packet(&h.mem, TX_BASE + 0x1000, &hdr, &data);
    h.txq.add_chain(
        &h.mem,
        &[Desc::ro(TX_BASE + 0x1000, 44), Desc::wo(TX_BASE + 0x1000 + 44, 8)],
    );
    assert!(h.drain().iter().all(|p| p.0.op == op::RST));
    assert_eq!(h.muxer.connection_count(), 0);
    assert_tx_consumed_and_alive(&mut h);
}

#[test]
fn huge_or_lying_len_fields_reset_the_stream() {
    for len in [u32::MAX, 64 * 1024 + 1, 100] {
        let mut h = Harness::new();
        let (mut r, req) = with_stream(&mut h, 20);
        let mut hdr = h.pkt(op::RW, 20, req.src_port);
        hdr.len = len;
        write_packet(&h.mem, TX_BASE, &hdr, &[]);
        // The data descriptor is shorter than `len` claims.
        h.txq
            .add_chain(&h.mem, &[Desc::ro(TX_BASE, 44), Desc::ro(TX_BASE + 44, 50)]);
        let (rst, _) = h.expect(op::RST);
        assert_eq!(rst.dst_port, 20);
        assert_eq!(h.muxer.connection_count(), 0);
        let mut b = [0u8; 1];
        assert_eq!(std::io::Read::read(&mut r, &mut b).unwrap(), 0);
    }
}

#[test]
fn unknown_ops_reset() {
    let mut h = Harness::new();
    let (_r, req) = with_stream(&mut h, 21);
    h.send_op(99, 21, req.src_port);
    h.expect(op::RST);
    assert_eq!(h.muxer.connection_count(), 0);
    h.send_op(0, 5, 6);
    h.expect(op::RST);
}

#[test]
fn packets_for_unknown_streams_get_rst_and_rst_gets_nothing() {
    let mut h = Harness::new();
    let mut p = h.pkt(op::RW, 30, 31);
    p.len = 3;
    h.send(p, b"abc");
    let (rst, _) = h.expect(op::RST);
    assert_eq!((rst.src_port, rst.dst_port), (31, 30));
    for o in [op::RESPONSE, op::SHUTDOWN, op::CREDIT_UPDATE, op::CREDIT_REQUEST] {
        h.send_op(o, 30, 31);
        h.expect(op::RST);
    }
    h.send_op(op::RST, 30, 31);
    assert!(h.drain().is_empty());
}

#[test]
fn wrong_cids_and_types_are_refused() {
    let mut h = Harness::new();
    let (_r, req) = with_stream(&mut h, 22);
    // Wrong destination CID: refused, and the existing stream with the same ports is untouched.
    let mut p = h.pkt(op::REQUEST, 22, req.src_port);
    p.dst_cid = 7;
    h.send(p, &[]);
    let (rst, _) = h.expect(op::RST);
    assert_eq!(rst.src_cid, 7);
    // A source CID that is not the guest's: dropped silently.
    let mut p = h.pkt(op::RST, 22, req.src_port);
    p.src_cid = 2;
    h.send(p, &[]);
    // Seqpacket: refused.
    let mut p = h.pkt(op::REQUEST, 23, 24);
    p.type_ = 2;
    h.send(p, &[]);
    let pkts = h.drain();
    assert_eq!(pkts.len(), 1);
    assert_eq!(pkts[0].0.op, op::RST);
    assert_eq!(h.muxer.connection_count(), 1);
}

#[test]
fn a_second_request_on_a_live_stream_resets_it() {
    let mut h = Harness::new();
    let (_r, req) = with_stream(&mut h, 25);
    h.send_op(op::REQUEST, 25, req.src_port);
    h.expect(op::RST);
    assert_eq!(h.muxer.connection_count(), 0);
}

#[test]
fn response_to_a_guest_initiated_stream_resets_it() {
    let mut h = Harness::new();
    let _l = std::os::unix::net::UnixListener::bind(format!("{}_60", h.uds().display())).unwrap();
    h.send_op(op::REQUEST, 600, 60);
    h.expect(op::RESPONSE);
    h.send_op(op::RESPONSE, 600, 60);
    h.expect(op::RST);
    assert_eq!(h.muxer.connection_count(), 0);
}

#[test]
fn garbage_avail_ring_does_not_panic() {
    let mut h = Harness::new();
    // Head index beyond the queue size.
    h.txq.publish(&h.mem, 5000);
    h.pump();
    // An available index far ahead of what the ring can hold.
    h.txq.set_avail_idx(&h.mem, h.tx.next_avail().wrapping_add(1000));
    h.pump();
    // Broken rings again on RX: a host connect has a REQUEST to deliver.
    h.rxq.set_avail_idx(&h.mem, 40000);
    let mut s = UnixStream::connect(h.uds()).unwrap();
    s.write_all(b"CONNECT 1\n").unwrap();
    for _ in 0..5 {
        h.pump_wait(10);
    }
}

#[test]
fn bad_indirect_tables_are_rejected() {
    let mut h = Harness::new();
    // Indirect table whose length is not a multiple of 16, and one outside memory.
    h.txq.add_chain(
        &h.mem,
        &[Desc {
            addr: TX_BASE,
            len: 17,
            flags: crate::test_driver::F_INDIRECT,
            next: 0,
        }],
    );
    h.txq.add_chain(
        &h.mem,
        &[Desc {
            addr: MEM_SIZE as u64,
            len: 32,
            flags: crate::test_driver::F_INDIRECT,
            next: 0,
        }],
    );
    assert_tx_consumed_and_alive(&mut h);
}

#[test]
fn bad_rx_buffers_are_skipped() {
    let mut h = Harness::new();
    h.refill = false;
    // Replace the posted RX buffers by hostile ones: read-only, too short, outside memory.
    let mut rxq = TestQueue::new(&h.mem, 0xc000, QSIZE);
    for d in [
        Desc::ro(RX_BASE, RX_BUF),
        Desc::wo(RX_BASE, 10),
        Desc::wo(MEM_SIZE as u64, RX_BUF),
        Desc::wo(RX_BASE, RX_BUF),
    ] {
        rxq.add_chain(&h.mem, &[d]);
    }
    h.rx = rxq.device_queue();
    let mut s = UnixStream::connect(h.uds()).unwrap();
    s.write_all(b"CONNECT 1\n").unwrap();
    for _ in 0..5 {
        h.pump_wait(10);
    }
    let used = rxq.take_used(&h.mem);
    assert_eq!(
        used.iter().map(|u| u.1).collect::<Vec<_>>(),
        vec![0, 0, 0, PKT_HEADER_SIZE as u32]
    );
    let (req, _) = read_packet(&h.mem, RX_BASE, PKT_HEADER_SIZE as u32);
    assert_eq!(req.op, op::REQUEST);
}

#[test]
fn rst_flood_stalls_tx_instead_of_growing() {
    let mut h = Harness::new();
    h.refill = false;
    h.rx = TestQueue::new(&h.mem, 0xc000, QSIZE).device_queue();
    // 300 packets to unknown ports with no RX buffers: the device must stop taking TX packets
    // once its bounded RST backlog (256) is full.
    for round in 0..3 {
        for i in 0..100 {
            h.send_op(op::RW, 1000 + round * 100 + i, 1);
        }
        h.pump();
    }
    assert_eq!(
        h.tx.next_used(),
        256,
        "TX intake should stop at the RST backlog limit"
    );
}
