//! Device-core tests: the muxer against guest memory and real Unix sockets, driven by the test
//! driver in `crate::test_driver` acting as the guest.

mod flows;
mod hostile;

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use virtio_queue::Queue;
use vm_memory::{GuestAddress, GuestMemoryMmap};

use super::packet::{op, Header, HOST_CID, PKT_HEADER_SIZE, TYPE_STREAM};
use super::{MuxerConfig, VsockMuxer};
use crate::test_driver::{read_packet, write_packet, Desc, TestQueue};

const GUEST_CID: u64 = 3;
const MEM_SIZE: usize = 16 << 20;
const QSIZE: u16 = 128;
const RX_BUF: u32 = 4096;
const RX_BASE: u64 = 0x10_0000;
const TX_BASE: u64 = 0x40_0000;
const TX_AREA: u64 = 8 << 20;

/// A guest (driver + memory) attached to a muxer.
struct Harness {
    _dir: tempfile::TempDir,
    mem: GuestMemoryMmap,
    muxer: VsockMuxer,
    rxq: TestQueue,
    txq: TestQueue,
    rx: Queue,
    tx: Queue,
    rx_bufs: HashMap<u32, u64>,
    refill: bool,
    tx_next: u64,
    inbox: VecDeque<(Header, Vec<u8>)>,
}

impl Harness {
    fn new() -> Self {
        Self::with(|_| {})
    }

    fn with(f: impl FnOnce(&mut MuxerConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = MuxerConfig::new(GUEST_CID, dir.path().join("v.sock"));
        f(&mut cfg);
        let muxer = VsockMuxer::new(cfg).unwrap();
        let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), MEM_SIZE)]).unwrap();
        let rxq = TestQueue::new(&mem, 0x1000, QSIZE);
        let txq = TestQueue::new(&mem, 0x8000, QSIZE);
        let (rx, tx) = (rxq.device_queue(), txq.device_queue());
        let mut h = Harness {
            _dir: dir,
            mem,
            muxer,
            rxq,
            txq,
            rx,
            tx,
            rx_bufs: HashMap::new(),
            refill: true,
            tx_next: 0,
            inbox: VecDeque::new(),
        };
        h.post_rx(QSIZE as usize);
        h
    }

    fn uds(&self) -> PathBuf {
        self.muxer.config().uds_path.clone()
    }

    fn post_rx(&mut self, n: usize) {
        for _ in 0..n {
            let head = self.rxq.next_head();
            let addr = RX_BASE + u64::from(head) * u64::from(RX_BUF);
            self.rxq.add_chain(&self.mem, &[Desc::wo(addr, RX_BUF)]);
            self.rx_bufs.insert(u32::from(head), addr);
        }
    }

    /// Places a TX packet: header descriptor, then a data descriptor when there is data.
    fn send(&mut self, hdr: Header, data: &[u8]) {
        let size = (PKT_HEADER_SIZE + data.len()) as u64;
        if self.tx_next + size > TX_AREA {
            self.tx_next = 0;
        }
        let addr = TX_BASE + self.tx_next;
        self.tx_next += (size + 4095) & !4095;
        write_packet(&self.mem, addr, &hdr, data);
        let mut descs = vec![Desc::ro(addr, PKT_HEADER_SIZE as u32)];
        if !data.is_empty() {
            descs.push(Desc::ro(addr + PKT_HEADER_SIZE as u64, data.len() as u32));
        }
        self.txq.add_chain(&self.mem, &descs);
    }

    fn pkt(&self, op: u16, src_port: u32, dst_port: u32) -> Header {
        Header {
            src_cid: GUEST_CID,
            dst_cid: HOST_CID,
            src_port,
            dst_port,
            type_: TYPE_STREAM,
            op,
            buf_alloc: 256 * 1024,
            ..Header::default()
        }
    }

    fn send_op(&mut self, op: u16, src_port: u32, dst_port: u32) {
        let h = self.pkt(op, src_port, dst_port);
        self.send(h, &[]);
    }

    /// One round: host events (waiting up to `wait_ms`), then both queues; collects RX packets.
    fn pump_wait(&mut self, wait_ms: i32) {
        self.muxer.handle_host_events(wait_ms).unwrap();
        self.muxer.process(&self.mem, &mut self.rx, &mut self.tx).unwrap();
        self.txq.take_used(&self.mem);
        let used = self.rxq.take_used(&self.mem);
        let n = used.len();
        for (id, len) in used {
            if len > 0 {
                let addr = self.rx_bufs[&id];
                self.inbox.push_back(read_packet(&self.mem, addr, len));
            }
            self.rx_bufs.remove(&id);
        }
        if self.refill {
            self.post_rx(n);
        }
    }

    fn pump(&mut self) {
        self.pump_wait(0);
    }

    /// The next packet for the guest, pumping up to ~3 s for it.
    fn recv(&mut self) -> Option<(Header, Vec<u8>)> {
        for _ in 0..150 {
            if let Some(p) = self.inbox.pop_front() {
                return Some(p);
            }
            self.pump_wait(20);
        }
        self.inbox.pop_front()
    }

    fn expect(&mut self, op: u16) -> (Header, Vec<u8>) {
        let p = self
            .recv()
            .unwrap_or_else(|| panic!("no packet; expected op {op}"));
        assert_eq!(p.0.op, op, "unexpected packet {:?}", p.0);
        p
    }

    /// Pumps a few rounds and returns whatever arrived.
    fn drain(&mut self) -> Vec<(Header, Vec<u8>)> {
        for _ in 0..5 {
            self.pump_wait(10);
        }
        self.inbox.drain(..).collect()
    }

    /// A host process connects and asks for guest `port`; returns its stream and the REQUEST.
    fn host_connect(&mut self, port: u32) -> (UnixStream, Header) {
        let mut s = UnixStream::connect(self.uds()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        writeln!(s, "CONNECT {port}").unwrap();
        let (req, _) = self.expect(op::REQUEST);
        assert_eq!(
            (req.src_cid, req.dst_cid, req.dst_port, req.type_),
            (HOST_CID, GUEST_CID, port, TYPE_STREAM)
        );
        assert!(req.src_port >= 1 << 30);
        (s, req)
    }

    /// The guest accepts a host connect; returns the host's reader after reading `OK <port>`.
    fn guest_accept(&mut self, s: UnixStream, req: &Header, buf_alloc: u32) -> BufReader<UnixStream> {
        let mut h = self.pkt(op::RESPONSE, req.dst_port, req.src_port);
        h.buf_alloc = buf_alloc;
        self.send(h, &[]);
        self.pump();
        let mut r = BufReader::new(s);
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert_eq!(line, format!("OK {}\n", req.src_port));
        r
    }
}
