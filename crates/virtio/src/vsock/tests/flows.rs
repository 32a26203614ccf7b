//! Good-path flows: connects both ways, data both ways, credit, shutdown, reset.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use super::*;
use crate::vsock::packet::shutdown;

fn read_exactly(r: &mut impl Read, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    r.read_exact(&mut buf).unwrap();
    buf
}

fn is_eof(r: &mut impl Read) -> bool {
    let mut b = [0u8; 1];
    matches!(r.read(&mut b), Ok(0))
        || matches!(r.read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset)
}

#[test]
fn host_connects_to_guest_and_bytes_flow_both_ways() {
    let mut h = Harness::new();
    let (s, req) = h.host_connect(1024);
    let mut r = h.guest_accept(s, &req, 64 * 1024);
    r.get_mut().write_all(b"ping").unwrap();
    let (rw, data) = h.expect(op::RW);
    assert_eq!(
        (rw.src_port, rw.dst_port, data.as_slice()),
        (req.src_port, 1024, &b"ping"[..])
    );
    let mut pong = h.pkt(op::RW, 1024, req.src_port);
    pong.len = 4;
    h.send(pong, b"pong");
    h.pump();
    assert_eq!(read_exactly(&mut r, 4), b"pong");
    assert_eq!(h.muxer.connection_count(), 1);
}

#[test]
fn bytes_sent_right_after_the_connect_line_are_kept() {
    let mut h = Harness::new();
    let mut s = UnixStream::connect(h.uds()).unwrap();
    s.write_all(b"CONNECT 5\nearly").unwrap();
    let (req, _) = h.expect(op::REQUEST);
    let _r = h.guest_accept(s, &req, 4096);
    let (_, data) = h.expect(op::RW);
    assert_eq!(data, b"early");
}

#[test]
fn guest_refusal_closes_the_host_stream() {
    let mut h = Harness::new();
    let (mut s, req) = h.host_connect(7);
    h.send_op(op::RST, 7, req.src_port);
    h.pump();
    assert!(is_eof(&mut s));
    assert_eq!(h.muxer.connection_count(), 0);
}

#[test]
fn unanswered_host_connect_times_out() {
    let mut h = Harness::with(|c| c.connect_timeout = Duration::from_millis(300));
    let (mut s, req) = h.host_connect(9);
    let (rst, _) = h.expect(op::RST);
    assert_eq!((rst.src_port, rst.dst_port), (req.src_port, 9));
    assert!(is_eof(&mut s));
    assert_eq!(h.muxer.connection_count(), 0);
}

#[test]
fn bad_connect_lines_are_closed() {
    let mut h = Harness::new();
    let mut s = UnixStream::connect(h.uds()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    s.write_all(b"HELLO there\n").unwrap();
    assert!(h.drain().is_empty());
    assert!(is_eof(&mut s));
}

#[test]
fn guest_connects_to_a_host_listener() {
    let mut h = Harness::new();
    let listener = UnixListener::bind(format!("{}_52", h.uds().display())).unwrap();
    h.send_op(op::REQUEST, 40000, 52);
    let (resp, _) = h.expect(op::RESPONSE);
    assert_eq!(
        (resp.src_cid, resp.dst_cid, resp.src_port, resp.dst_port),
        (HOST_CID, GUEST_CID, 52, 40000)
    );
    let (mut host, _) = listener.accept().unwrap();
    host.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut hello = h.pkt(op::RW, 40000, 52);
    hello.len = 5;
    h.send(hello, b"hello");
    h.pump();
    assert_eq!(read_exactly(&mut host, 5), b"hello");
    host.write_all(b"world").unwrap();
    let (_, data) = h.expect(op::RW);
    assert_eq!(data, b"world");
}

#[test]
fn guest_connect_without_host_listener_is_reset() {
    let mut h = Harness::new();
    h.send_op(op::REQUEST, 40001, 53);
    let (rst, _) = h.expect(op::RST);
    assert_eq!((rst.src_port, rst.dst_port, rst.dst_cid), (53, 40001, GUEST_CID));
}

#[test]
fn never_sends_the_guest_more_than_its_credit() {
    let mut h = Harness::new();
    let (s, req) = h.host_connect(1);
    let mut r = h.guest_accept(s, &req, 100);
    r.get_mut().write_all(&[7u8; 1000]).unwrap();
    let mut got = 0;
    for (hdr, data) in h.drain() {
        match hdr.op {
            op::RW => got += data.len(),
            op::CREDIT_REQUEST => {}
            other => panic!("unexpected op {other}"),
        }
    }
    assert_eq!(got, 100);
    // The guest consumed 100 bytes: exactly 100 more may come.
    let mut upd = h.pkt(op::CREDIT_UPDATE, 1, req.src_port);
    upd.buf_alloc = 100;
    upd.fwd_cnt = 100;
    h.send(upd, &[]);
    let got: usize = h
        .drain()
        .iter()
        .filter(|p| p.0.op == op::RW)
        .map(|p| p.1.len())
        .sum();
    assert_eq!(got, 100);
}

#[test]
fn withholds_credit_while_the_host_does_not_read_then_releases_it() {
    let mut h = Harness::with(|c| c.buf_alloc = 1 << 20);
    let (s, req) = h.host_connect(2);
    let mut r = h.guest_accept(s, &req, 64 * 1024);
    // The guest sends honouring our credit (1 MiB); the Unix socket buffer fills, then ours does.
    let chunk = vec![0xabu8; 32 * 1024];
    let mut sent = 0usize;
    while sent + chunk.len() <= 1 << 20 {
        let mut p = h.pkt(op::RW, 2, req.src_port);
        p.len = chunk.len() as u32;
        h.send(p, &chunk);
        h.pump();
        sent += chunk.len();
    }
    let pkts = h.drain();
    let fwd_seen = pkts.iter().map(|p| p.0.fwd_cnt).max().unwrap_or(0) as usize;
    assert!(
        fwd_seen < sent,
        "the host read nothing, yet all bytes were acknowledged"
    );
    assert_eq!(h.muxer.connection_count(), 1);
    // The host reads everything: the device hands the guest its credit back.
    let mut total = 0;
    let mut buf = vec![0u8; 256 * 1024];
    while total < sent {
        total += r.read(&mut buf).unwrap();
        h.pump_wait(5);
    }
    let upd = h.drain();
    let fwd = upd.iter().map(|p| p.0.fwd_cnt).max().unwrap_or(0);
    assert!(
        upd.iter().any(|p| p.0.op == op::CREDIT_UPDATE) && fwd as usize == sent,
        "{upd:?}"
    );
}

#[test]
fn guest_beyond_credit_is_reset() {
    let mut h = Harness::with(|c| c.buf_alloc = 64 * 1024);
    let (s, req) = h.host_connect(3);
    let _r = h.guest_accept(s, &req, 64 * 1024);
    let chunk = vec![1u8; 64 * 1024];
    for _ in 0..64 {
        let mut p = h.pkt(op::RW, 3, req.src_port);
        p.len = chunk.len() as u32;
        h.send(p, &chunk);
        h.pump();
        if h.muxer.connection_count() == 0 {
            break;
        }
    }
    assert_eq!(h.muxer.connection_count(), 0);
    assert!(h.drain().iter().any(|p| p.0.op == op::RST));
}

#[test]
fn half_close_both_ways_then_reset() {
    let mut h = Harness::new();
    let (s, req) = h.host_connect(4);
    let mut r = h.guest_accept(s, &req, 64 * 1024);
    // Guest is done sending: the host reads EOF but can still write.
    let mut sd = h.pkt(op::SHUTDOWN, 4, req.src_port);
    sd.flags = shutdown::SEND;
    h.send(sd, &[]);
    h.pump();
    assert!(is_eof(&mut r));
    r.get_mut().write_all(b"late").unwrap();
    assert_eq!(h.expect(op::RW).1, b"late");
    // Host is done too: the guest gets SHUTDOWN(SEND), then the finished stream is reset.
    r.get_mut().shutdown(std::net::Shutdown::Write).unwrap();
    let (sd, _) = h.expect(op::SHUTDOWN);
    // SEND, or BOTH: with the guest's half already closed the host socket is fully shut.
    assert_ne!(sd.flags & shutdown::SEND, 0);
    h.expect(op::RST);
    assert_eq!(h.muxer.connection_count(), 0);
}

#[test]
fn host_close_sends_data_then_full_shutdown() {
    let mut h = Harness::new();
    let (s, req) = h.host_connect(5);
    let mut r = h.guest_accept(s, &req, 64 * 1024);
    r.get_mut().write_all(b"bye").unwrap();
    drop(r);
    assert_eq!(h.expect(op::RW).1, b"bye");
    let (sd, _) = h.expect(op::SHUTDOWN);
    assert_eq!(sd.flags, shutdown::BOTH);
    h.send_op(op::RST, 5, req.src_port);
    h.pump();
    assert_eq!(h.muxer.connection_count(), 0);
}

#[test]
fn guest_full_shutdown_flushes_then_resets() {
    let mut h = Harness::new();
    let (s, req) = h.host_connect(6);
    let mut r = h.guest_accept(s, &req, 64 * 1024);
    let mut d = h.pkt(op::RW, 6, req.src_port);
    d.len = 3;
    h.send(d, b"end");
    let mut sd = h.pkt(op::SHUTDOWN, 6, req.src_port);
    sd.flags = shutdown::BOTH;
    h.send(sd, &[]);
    h.expect(op::RST);
    assert_eq!(read_exactly(&mut r, 3), b"end");
    assert!(is_eof(&mut r));
}

#[test]
fn credit_request_gets_an_update() {
    let mut h = Harness::new();
    let (s, req) = h.host_connect(8);
    let _r = h.guest_accept(s, &req, 4096);
    h.send_op(op::CREDIT_REQUEST, 8, req.src_port);
    let (upd, _) = h.expect(op::CREDIT_UPDATE);
    assert_eq!(upd.buf_alloc, h.muxer.config().buf_alloc);
}

#[test]
fn many_concurrent_streams() {
    let mut h = Harness::new();
    let mut streams = Vec::new();
    for i in 0..40 {
        let (s, req) = h.host_connect(2375);
        let r = h.guest_accept(s, &req, 64 * 1024);
        streams.push((i, r, req));
    }
    for (i, r, _) in &mut streams {
        write!(r.get_mut(), "stream {i}").unwrap();
    }
    let mut seen = std::collections::HashMap::new();
    while seen.len() < streams.len() {
        let (hdr, data) = h.expect(op::RW);
        seen.entry(hdr.src_port).or_insert_with(Vec::new).extend(data);
    }
    for (i, _, req) in &streams {
        assert_eq!(seen[&req.src_port], format!("stream {i}").into_bytes());
    }
    for (i, r, req) in &mut streams {
        let msg = format!("reply {i}");
        let mut p = h.pkt(op::RW, 2375, req.src_port);
        p.len = msg.len() as u32;
        h.send(p, msg.as_bytes());
        h.pump();
        assert_eq!(read_exactly(r, msg.len()), msg.as_bytes());
    }
    assert_eq!(h.muxer.connection_count(), 40);
}

#[test]
fn reset_closes_every_stream() {
    let mut h = Harness::new();
    let (s1, req) = h.host_connect(10);
    let mut r = h.guest_accept(s1, &req, 4096);
    let (mut s2, _) = h.host_connect(11);
    h.muxer.reset();
    assert_eq!(h.muxer.connection_count(), 0);
    assert!(is_eof(&mut r));
    assert!(is_eof(&mut s2));
}

#[test]
fn large_transfer_both_ways() {
    let mut h = Harness::new();
    let (s, req) = h.host_connect(12);
    let mut r = h.guest_accept(s, &req, 256 * 1024);
    let mut w = r.get_ref().try_clone().unwrap();
    let payload: Vec<u8> = (0..4u32 << 20).map(|i| (i * 7 + i / 4096) as u8).collect();
    let expect = payload.clone();
    let writer = std::thread::spawn(move || w.write_all(&payload).unwrap());
    let mut got = Vec::new();
    let (mut fwd, mut told) = (0u32, 0u32);
    while got.len() < expect.len() {
        let (hdr, data) = h.recv().expect("data stalled");
        if hdr.op == op::RW {
            got.extend_from_slice(&data);
            fwd = fwd.wrapping_add(data.len() as u32);
            // Give credit back every 64 KiB consumed, however the device happened to size its packets.
            if fwd.wrapping_sub(told) >= 64 * 1024 {
                told = fwd;
                let mut upd = h.pkt(op::CREDIT_UPDATE, 12, req.src_port);
                upd.fwd_cnt = fwd;
                h.send(upd, &[]);
            }
        }
    }
    writer.join().unwrap();
    assert!(got == expect, "host -> guest bytes differ");
    // Guest -> host, honouring the 256 KiB credit as acknowledged by the device.
    let reader = std::thread::spawn(move || read_exactly(&mut r, 4 << 20));
    let (mut sent, mut acked) = (0usize, 0u32);
    while sent < expect.len() {
        if sent - acked as usize + 64 * 1024 > 256 * 1024 {
            h.pump_wait(5);
            for (hdr, _) in h.inbox.drain(..) {
                acked = acked.max(hdr.fwd_cnt);
            }
            continue;
        }
        let chunk = &expect[sent..sent + 64 * 1024];
        let mut p = h.pkt(op::RW, 12, req.src_port);
        p.len = chunk.len() as u32;
        h.send(p, chunk);
        h.pump();
        sent += chunk.len();
    }
    // Keep the device running until the host has read everything it still buffers.
    while !reader.is_finished() {
        h.pump_wait(5);
    }
    assert!(reader.join().unwrap() == expect, "guest -> host bytes differ");
}
