//! The vhost-user adapter end to end: `serve_vsock` driven by `vhost`'s own frontend (what QEMU
//! does), over file-backed shared guest memory, with the test acting as the guest driver.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use vhost::vhost_user::message::VhostUserConfigFlags;
use vhost::vhost_user::{Frontend, VhostUserFrontend};
use vhost::{VhostBackend, VhostUserMemoryRegionInfo, VringConfigData};
use vm_memory::{FileOffset, GuestAddress, GuestMemoryBackend, GuestMemoryMmap};
use vmm_sys_util::eventfd::EventFd;

use super::*;
use crate::test_driver::{read_packet, write_packet, Desc, TestQueue};
use crate::vsock::packet::{op, Header, HOST_CID, TYPE_STREAM};

#[test]
fn config_space_is_the_little_endian_cid() {
    assert_eq!(config_bytes(3, 0, 8), vec![3, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(config_bytes(0x0102, 1, 2), vec![1, 0]);
    assert_eq!(config_bytes(3, 6, 100), vec![0, 0]);
    assert!(config_bytes(3, u32::MAX, u32::MAX).is_empty());
}

const MEM: usize = 4 << 20;
const QSIZE: u16 = 64;
const RX_BASE: u64 = 0x10_0000;
const TX_BASE: u64 = 0x20_0000;

/// The guest side: shared memory, two queues and their eventfds.
struct Guest {
    mem: GuestMemoryMmap,
    rxq: TestQueue,
    txq: TestQueue,
    kicks: [EventFd; 2],
    calls: [EventFd; 2],
    tx_next: u64,
}

impl Guest {
    fn post_rx(&mut self, n: u16) {
        for _ in 0..n {
            let head = self.rxq.next_head();
            self.rxq
                .add_chain(&self.mem, &[Desc::wo(RX_BASE + u64::from(head) * 4096, 4096)]);
        }
        self.kicks[0].write(1).unwrap();
    }

    fn send(&mut self, hdr: Header, data: &[u8]) {
        let addr = TX_BASE + (self.tx_next % 64) * 0x1_0000;
        self.tx_next += 1;
        let len = write_packet(&self.mem, addr, &hdr, data);
        self.txq.add_chain(&self.mem, &[Desc::ro(addr, len)]);
        self.kicks[1].write(1).unwrap();
    }

    /// Waits (up to 5 s) for the next packet on RX; re-posts the buffer.
    fn recv(&mut self) -> (Header, Vec<u8>) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(&(id, len)) = self.rxq.take_used(&self.mem).first() {
                let p = read_packet(&self.mem, RX_BASE + u64::from(id) * 4096, len);
                self.post_rx(1);
                return p;
            }
            assert!(Instant::now() < deadline, "no RX packet from the backend");
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

fn hdr(op: u16, src_port: u32, dst_port: u32, len: u32) -> Header {
    Header {
        src_cid: 3,
        dst_cid: HOST_CID,
        src_port,
        dst_port,
        len,
        type_: TYPE_STREAM,
        op,
        buf_alloc: 1 << 20,
        ..Default::default()
    }
}

/// Negotiates like QEMU's vhost-user-vsock and starts the rx/tx rings.
fn attach(frontend: &mut Frontend, mem: &GuestMemoryMmap) -> Guest {
    frontend.set_owner().unwrap();
    let features = frontend.get_features().unwrap();
    assert_ne!(features & VhostUserVirtioFeatures::PROTOCOL_FEATURES.bits(), 0);
    frontend.set_features(features).unwrap();
    let proto = frontend.get_protocol_features().unwrap();
    assert!(proto.contains(VhostUserProtocolFeatures::CONFIG));
    frontend
        .set_protocol_features(proto & (VhostUserProtocolFeatures::CONFIG | VhostUserProtocolFeatures::MQ))
        .unwrap();
    let (_, cfg) = frontend
        .get_config(0, 8, VhostUserConfigFlags::WRITABLE, &[0u8; 8])
        .unwrap();
    assert_eq!(cfg, 3u64.to_le_bytes().to_vec());

    let region = mem.iter().next().unwrap();
    frontend
        .set_mem_table(&[VhostUserMemoryRegionInfo::from_guest_region(region).unwrap()])
        .unwrap();
    let uva = region.as_ptr() as u64;
    let rxq = TestQueue::new(mem, 0x1000, QSIZE);
    let txq = TestQueue::new(mem, 0x4000, QSIZE);
    let kicks = [EventFd::new(0).unwrap(), EventFd::new(0).unwrap()];
    let calls = [EventFd::new(0).unwrap(), EventFd::new(0).unwrap()];
    for (i, q) in [&rxq, &txq].into_iter().enumerate() {
        frontend.set_vring_num(i, QSIZE).unwrap();
        let addrs = VringConfigData {
            queue_max_size: QSIZE,
            queue_size: QSIZE,
            flags: 0,
            desc_table_addr: uva + q.desc.0,
            used_ring_addr: uva + q.used.0,
            avail_ring_addr: uva + q.avail.0,
            log_addr: None,
        };
        frontend.set_vring_addr(i, &addrs).unwrap();
        frontend.set_vring_base(i, 0).unwrap();
        frontend.set_vring_call(i, &calls[i]).unwrap();
        frontend.set_vring_kick(i, &kicks[i]).unwrap();
        frontend.set_vring_enable(i, true).unwrap();
    }
    Guest {
        mem: mem.clone(),
        rxq,
        txq,
        kicks,
        calls,
        tx_next: 0,
    }
}

#[test]
fn serves_a_vhost_user_frontend_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = VsockBackendConfig {
        vhost_socket: dir.path().join("vhost.sock"),
        uds_path: dir.path().join("v.sock"),
        guest_cid: 3,
    };
    // A stale file where the sockets go must not stop the server.
    std::fs::write(&cfg.uds_path, b"stale").unwrap();
    let server = {
        let cfg = cfg.clone();
        std::thread::spawn(move || serve_vsock(&cfg))
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut frontend = loop {
        match Frontend::connect(&cfg.vhost_socket, NUM_QUEUES as u64) {
            Ok(f) => break f,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("cannot connect to the backend: {e}"),
        }
    };
    let file = tempfile::tempfile().unwrap();
    file.set_len(MEM as u64).unwrap();
    let mem = GuestMemoryMmap::<()>::from_ranges_with_files([(
        GuestAddress(0),
        MEM,
        Some(FileOffset::new(file, 0)),
    )])
    .unwrap();
    let mut g = attach(&mut frontend, &mem);
    g.post_rx(QSIZE);

    // Host -> guest connect, data both ways.
    let mut s = UnixStream::connect(&cfg.uds_path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"CONNECT 1024\n").unwrap();
    let (req, _) = g.recv();
    assert_eq!((req.op, req.dst_port, req.dst_cid), (op::REQUEST, 1024, 3));
    g.send(hdr(op::RESPONSE, 1024, req.src_port, 0), &[]);
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert_eq!(line, format!("OK {}\n", req.src_port));
    assert!(g.calls[0].read().unwrap() > 0, "the guest was never interrupted");
    s.write_all(b"from host").unwrap();
    let (rw, data) = g.recv();
    assert_eq!((rw.op, data.as_slice()), (op::RW, &b"from host"[..]));
    g.send(hdr(op::RW, 1024, req.src_port, 10), b"from guest");
    let mut buf = [0u8; 10];
    r.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"from guest");
    assert_eq!(g.rxq.take_used(&g.mem).len(), 0);

    // QEMU goes away: the server returns, closes the streams and removes its sockets.
    drop(frontend);
    server.join().unwrap().unwrap();
    let mut b = [0u8; 1];
    assert_eq!(r.read(&mut b).unwrap(), 0);
    assert!(!cfg.uds_path.exists() && !cfg.vhost_socket.exists());
}
