//! The vsock device core: multiplexes guest streams onto host Unix streams.
//!
//! It owns an epoll set (the Unix listener, every stream, a timer) and is driven by whoever owns the
//! virtqueues: call [`VsockMuxer::handle_host_events`] when its fd is readable, and
//! [`VsockMuxer::process`] when a queue was kicked or host events were handled. Nothing here knows
//! about vhost-user or a hypervisor.

use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

use virtio_queue::{Queue, QueueOwnedT, QueueT};
use virtio_vsock::packet::{VsockPacket, PKT_HEADER_SIZE};
use vm_memory::bitmap::BitmapSlice;
use vm_memory::GuestMemory;
use vmm_sys_util::epoll::{ControlOperation, Epoll, EpollEvent, EventSet};
use vmm_sys_util::timerfd::TimerFd;

use super::connection::{rst_for, ConnState, Connection, Verdict};
use super::handshake::{read_connect, Handshake};
use super::packet::{op, parse_tx, Header, TxPacket, HOST_CID, TYPE_STREAM};
use super::MuxerConfig;
use crate::VsockError;

/// A stream is named by (host port, guest port).
type ConnKey = (u32, u32);

const TOKEN_LISTENER: u64 = 1 << 32;
const TOKEN_TIMER: u64 = 2 << 32;
const KIND_HANDSHAKE: u64 = 3 << 32;
const KIND_CONN: u64 = 4 << 32;
const KIND_MASK: u64 = !0xffff_ffff;
/// RSTs for unknown streams we hold at most; when full we stop taking TX packets.
const MAX_RST_QUEUE: usize = 256;
const TIMER_TICK: Duration = Duration::from_millis(250);
const FIRST_LOCAL_PORT: u32 = 1 << 30;

/// What the queue owner should signal to the guest after [`VsockMuxer::process`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Notify {
    /// The RX queue has new used buffers that need an interrupt.
    pub rx: bool,
    /// The TX queue has new used buffers that need an interrupt.
    pub tx: bool,
}

/// The vsock device core (Firecracker's hybrid model). See the [module docs](self).
pub struct VsockMuxer {
    cfg: MuxerConfig,
    epoll: Epoll,
    listener: Option<UnixListener>,
    timer: TimerFd,
    timer_armed: bool,
    handshakes: HashMap<RawFd, (UnixStream, Instant)>,
    conns: HashMap<ConnKey, Connection>,
    by_fd: HashMap<RawFd, ConnKey>,
    rx_work: VecDeque<ConnKey>,
    rst_queue: VecDeque<Header>,
    next_port: u32,
}

impl VsockMuxer {
    /// Binds `cfg.uds_path` (replacing a stale socket file) and sets up the event loop.
    pub fn new(cfg: MuxerConfig) -> Result<Self, VsockError> {
        let bind_err = |source| VsockError::Bind {
            path: cfg.uds_path.clone(),
            source,
        };
        match std::fs::remove_file(&cfg.uds_path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(bind_err(e)),
            _ => {}
        }
        let listener = UnixListener::bind(&cfg.uds_path).map_err(bind_err)?;
        listener.set_nonblocking(true).map_err(bind_err)?;
        let epoll = Epoll::new().map_err(VsockError::event_loop("create epoll"))?;
        let timer = TimerFd::new().map_err(|e| VsockError::EventLoop {
            what: "create timer",
            source: e.into(),
        })?;
        epoll
            .ctl(
                ControlOperation::Add,
                listener.as_raw_fd(),
                EpollEvent::new(EventSet::IN, TOKEN_LISTENER),
            )
            .map_err(VsockError::event_loop("watch listener"))?;
        epoll
            .ctl(
                ControlOperation::Add,
                timer.as_raw_fd(),
                EpollEvent::new(EventSet::IN, TOKEN_TIMER),
            )
            .map_err(VsockError::event_loop("watch timer"))?;
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Ok(VsockMuxer {
            cfg,
            epoll,
            listener: Some(listener),
            timer,
            timer_armed: false,
            handshakes: HashMap::new(),
            conns: HashMap::new(),
            by_fd: HashMap::new(),
            rx_work: VecDeque::new(),
            rst_queue: VecDeque::new(),
            next_port: FIRST_LOCAL_PORT | (seed & 0x0fff_ffff),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &MuxerConfig {
        &self.cfg
    }

    /// Number of live streams.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Drops every stream and pending host connect (device reset, driver gone). The listener stays.
    pub fn reset(&mut self) {
        if !self.conns.is_empty() {
            tracing::info!(
                streams = self.conns.len(),
                "vsock device reset: closing all streams"
            );
        }
        for (_, c) in self.conns.drain() {
            if c.interest.is_some() {
                let _ = self.epoll.ctl(
                    ControlOperation::Delete,
                    c.stream.as_raw_fd(),
                    EpollEvent::default(),
                );
            }
        }
        for (fd, _) in self.handshakes.drain() {
            let _ = self
                .epoll
                .ctl(ControlOperation::Delete, fd, EpollEvent::default());
        }
        self.by_fd.clear();
        self.rx_work.clear();
        self.rst_queue.clear();
    }

    /// Stops accepting host connections and drops every stream.
    pub fn shutdown(&mut self) {
        self.reset();
        if let Some(l) = self.listener.take() {
            let _ = self
                .epoll
                .ctl(ControlOperation::Delete, l.as_raw_fd(), EpollEvent::default());
        }
    }

    /// Handles host-side readiness (new connections, `CONNECT` lines, stream I/O, timeouts), waiting
    /// up to `timeout_ms` (0: don't wait, -1: forever) for the first event.
    pub fn handle_host_events(&mut self, timeout_ms: i32) -> Result<(), VsockError> {
        let mut events = [EpollEvent::default(); 64];
        let mut timeout = timeout_ms;
        loop {
            let n = match self.epoll.wait(timeout, &mut events) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(VsockError::EventLoop {
                        what: "wait for host events",
                        source: e,
                    })
                }
            };
            for ev in &events[..n] {
                let set = EventSet::from_bits_truncate(ev.events());
                match ev.data() {
                    TOKEN_LISTENER => self.accept_all(),
                    TOKEN_TIMER => self.on_timer(),
                    d if d & KIND_MASK == KIND_HANDSHAKE => self.on_handshake(d as u32 as RawFd),
                    d if d & KIND_MASK == KIND_CONN => self.on_stream(d as u32 as RawFd, set),
                    _ => {}
                }
            }
            if n < events.len() {
                return Ok(());
            }
            timeout = 0;
        }
    }

    fn accept_all(&mut self) {
        loop {
            let Some(listener) = &self.listener else { return };
            let stream = match listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "vsock: accepting a host connection failed");
                    return;
                }
            };
            if self.conns.len() + self.handshakes.len() >= self.cfg.max_connections {
                tracing::warn!(
                    max = self.cfg.max_connections,
                    "vsock: too many streams; refusing a host connection"
                );
                continue;
            }
            let fd = stream.as_raw_fd();
            let ok = stream.set_nonblocking(true).is_ok()
                && self
                    .epoll
                    .ctl(
                        ControlOperation::Add,
                        fd,
                        EpollEvent::new(EventSet::IN, KIND_HANDSHAKE | fd as u64),
                    )
                    .is_ok();
            if ok {
                self.handshakes
                    .insert(fd, (stream, Instant::now() + self.cfg.connect_timeout));
                self.arm_timer();
            }
        }
    }

    fn on_handshake(&mut self, fd: RawFd) {
        let Some((stream, _)) = self.handshakes.get(&fd) else {
            return;
        };
        let port = match read_connect(stream) {
            Handshake::Incomplete => return,
            Handshake::Failed => {
                tracing::debug!("vsock: host sent no valid CONNECT line; closing it");
                self.drop_handshake(fd);
                return;
            }
            Handshake::Connect(port) => port,
        };
        let _ = self
            .epoll
            .ctl(ControlOperation::Delete, fd, EpollEvent::default());
        let Some((stream, _)) = self.handshakes.remove(&fd) else {
            return;
        };
        let local = self.alloc_port(port);
        tracing::debug!(
            guest_port = port,
            local_port = local,
            "vsock: host connects to guest"
        );
        let deadline = Instant::now() + self.cfg.connect_timeout;
        let conn = Connection::host_initiated(
            stream,
            local,
            port,
            self.cfg.guest_cid,
            self.cfg.buf_alloc,
            deadline,
        );
        self.insert(conn);
    }

    fn drop_handshake(&mut self, fd: RawFd) {
        let _ = self
            .epoll
            .ctl(ControlOperation::Delete, fd, EpollEvent::default());
        self.handshakes.remove(&fd);
    }

    fn alloc_port(&mut self, peer: u32) -> u32 {
        loop {
            let p = self.next_port;
            self.next_port = self.next_port.wrapping_add(1).max(FIRST_LOCAL_PORT);
            if !self.conns.contains_key(&(p, peer)) {
                return p;
            }
        }
    }

    fn insert(&mut self, conn: Connection) {
        let key = (conn.local_port, conn.peer_port);
        self.by_fd.insert(conn.stream.as_raw_fd(), key);
        self.conns.insert(key, conn);
        self.apply(key, Verdict::Keep);
        self.arm_timer();
    }

    fn on_stream(&mut self, fd: RawFd, set: EventSet) {
        let Some(&key) = self.by_fd.get(&fd) else { return };
        let Some(conn) = self.conns.get_mut(&key) else {
            return;
        };
        let verdict = conn.on_host_event(set);
        self.apply(key, verdict);
    }

    /// Carries out a connection's verdict and brings its epoll interest and RX work up to date.
    fn apply(&mut self, key: ConnKey, verdict: Verdict) {
        match verdict {
            Verdict::Keep => {}
            Verdict::Kill => return self.remove(key, true),
            Verdict::Drop => return self.remove(key, false),
        }
        let Some(conn) = self.conns.get_mut(&key) else {
            return;
        };
        let fd = conn.stream.as_raw_fd();
        let res = if conn.host_hup {
            match conn.interest.take() {
                Some(_) => self
                    .epoll
                    .ctl(ControlOperation::Delete, fd, EpollEvent::default()),
                None => Ok(()),
            }
        } else {
            let want = conn.desired_interest();
            let ev = EpollEvent::new(want, KIND_CONN | fd as u64);
            let res = match conn.interest {
                Some(cur) if cur == want => Ok(()),
                Some(_) => self.epoll.ctl(ControlOperation::Modify, fd, ev),
                None => self.epoll.ctl(ControlOperation::Add, fd, ev),
            };
            conn.interest = Some(want);
            res
        };
        if let Err(e) = res {
            tracing::warn!(error = %e, "vsock: cannot watch a host stream; resetting it");
            return self.remove(key, true);
        }
        if conn.has_rx_work() && !conn.in_rx_queue {
            conn.in_rx_queue = true;
            self.rx_work.push_back(key);
        }
    }

    fn remove(&mut self, key: ConnKey, rst: bool) {
        let Some(conn) = self.conns.remove(&key) else {
            return;
        };
        let fd = conn.stream.as_raw_fd();
        self.by_fd.remove(&fd);
        if conn.interest.is_some() {
            let _ = self
                .epoll
                .ctl(ControlOperation::Delete, fd, EpollEvent::default());
        }
        // A host connect whose REQUEST never reached the guest needs no RST.
        let never_sent = matches!(conn.state, ConnState::Connecting { .. }) && conn.has_rx_work();
        if rst && !never_sent {
            self.queue_rst(conn.rst_header());
        }
        tracing::debug!(
            local_port = key.0,
            guest_port = key.1,
            rst,
            "vsock: stream closed"
        );
    }

    fn queue_rst(&mut self, hdr: Header) {
        if self.rst_queue.len() >= MAX_RST_QUEUE {
            self.rst_queue.pop_front();
        }
        self.rst_queue.push_back(hdr);
    }

    fn arm_timer(&mut self) {
        if !self.timer_armed {
            self.timer_armed = self.timer.reset(TIMER_TICK, Some(TIMER_TICK)).is_ok();
        }
    }

    fn on_timer(&mut self) {
        let _ = self.timer.wait();
        let now = Instant::now();
        let late: Vec<RawFd> = self
            .handshakes
            .iter()
            .filter(|(_, (_, d))| *d <= now)
            .map(|(fd, _)| *fd)
            .collect();
        for fd in late {
            tracing::debug!("vsock: host sent no CONNECT line in time; closing it");
            self.drop_handshake(fd);
        }
        let late: Vec<ConnKey> = self
            .conns
            .iter()
            .filter(|(_, c)| c.deadline().is_some_and(|d| d <= now))
            .map(|(k, _)| *k)
            .collect();
        for key in late {
            tracing::info!(
                guest_port = key.1,
                "vsock: guest did not answer a host connect in time"
            );
            self.remove(key, true);
        }
        let waiting = !self.handshakes.is_empty() || self.conns.values().any(|c| c.deadline().is_some());
        if !waiting && self.timer_armed {
            self.timer_armed = self.timer.clear().is_err();
        }
    }

    /// Runs the TX and RX queues until neither can make progress.
    pub fn process<M: GuestMemory>(
        &mut self,
        mem: &M,
        rx: &mut Queue,
        tx: &mut Queue,
    ) -> Result<Notify, VsockError> {
        let mut notify = Notify::default();
        loop {
            notify.tx |= self.process_tx(mem, tx)?;
            let stalled = self.rst_queue.len() >= MAX_RST_QUEUE;
            let rx_done = self.process_rx(mem, rx)?;
            notify.rx |= rx_done;
            if !(stalled && rx_done && self.rst_queue.len() < MAX_RST_QUEUE) {
                return Ok(notify);
            }
        }
    }

    /// Takes the guest's TX packets. Returns whether the guest needs an interrupt.
    pub fn process_tx<M: GuestMemory>(&mut self, mem: &M, q: &mut Queue) -> Result<bool, VsockError> {
        if !q.ready() {
            return Ok(false);
        }
        let mut used = false;
        loop {
            q.disable_notification(mem)?;
            let mut popped = false;
            while self.rst_queue.len() < MAX_RST_QUEUE {
                let Some(mut chain) = q.pop_descriptor_chain(mem) else {
                    break;
                };
                popped = true;
                let head = chain.head_index();
                match parse_tx(mem, &mut chain) {
                    Ok(pkt) => self.on_tx_packet(pkt),
                    Err(rej) => {
                        tracing::debug!(error = %rej.error, "vsock: dropping a malformed TX packet");
                        if let Some(hdr) = rej.hdr.filter(|h| h.src_cid == self.cfg.guest_cid) {
                            self.reset_stream_of(&hdr);
                        }
                    }
                }
                used |= add_used(q, mem, head, 0);
            }
            // No progress although the ring claims more: a broken available ring; stop here.
            if !q.enable_notification(mem)? || self.rst_queue.len() >= MAX_RST_QUEUE || !popped {
                break;
            }
        }
        Ok(used && q.needs_notification(mem)?)
    }

    /// Resets the stream a malformed packet claimed to belong to (or answers RST if unknown).
    fn reset_stream_of(&mut self, hdr: &Header) {
        let key = (hdr.dst_port, hdr.src_port);
        if self.conns.contains_key(&key) {
            self.remove(key, true);
        } else {
            self.reply_rst(hdr);
        }
    }

    fn reply_rst(&mut self, hdr: &Header) {
        if hdr.op != op::RST {
            self.queue_rst(rst_for(
                self.cfg.guest_cid,
                hdr.dst_cid,
                hdr.dst_port,
                hdr.src_port,
            ));
        }
    }

    fn on_tx_packet<B: BitmapSlice>(&mut self, pkt: TxPacket<'_, B>) {
        let hdr = pkt.hdr;
        if hdr.src_cid != self.cfg.guest_cid {
            tracing::debug!(
                src_cid = hdr.src_cid,
                "vsock: dropping a packet with a foreign source CID"
            );
            return;
        }
        if hdr.dst_cid != HOST_CID || hdr.type_ != TYPE_STREAM {
            tracing::debug!(
                dst_cid = hdr.dst_cid,
                type_ = hdr.type_,
                "vsock: refusing a packet not for a host stream"
            );
            return self.reply_rst(&hdr);
        }
        let key = (hdr.dst_port, hdr.src_port);
        if let Some(conn) = self.conns.get_mut(&key) {
            if hdr.op == op::REQUEST && conn.state == ConnState::Draining {
                self.remove(key, false);
            } else {
                let verdict = conn.on_guest_packet(&hdr, pkt.data.as_ref());
                return self.apply(key, verdict);
            }
        }
        match hdr.op {
            op::REQUEST => self.guest_connect(&hdr),
            op::RST => {}
            _ => self.reply_rst(&hdr),
        }
    }

    /// The guest connects to host port P: bridge to the Unix socket `<uds_path>_P`.
    fn guest_connect(&mut self, hdr: &Header) {
        if self.conns.len() + self.handshakes.len() >= self.cfg.max_connections {
            tracing::warn!(
                max = self.cfg.max_connections,
                "vsock: too many streams; refusing a guest connection"
            );
            return self.reply_rst(hdr);
        }
        let mut path = self.cfg.uds_path.clone().into_os_string();
        path.push(format!("_{}", hdr.dst_port));
        let stream = match UnixStream::connect(&path) {
            Ok(s) if s.set_nonblocking(true).is_ok() => s,
            Ok(_) => return self.reply_rst(hdr),
            Err(e) => {
                tracing::debug!(path = ?path, error = %e, "vsock: guest connect refused: no host listener");
                return self.reply_rst(hdr);
            }
        };
        tracing::debug!(
            host_port = hdr.dst_port,
            guest_port = hdr.src_port,
            "vsock: guest connected to host"
        );
        self.insert(Connection::guest_initiated(
            stream,
            hdr,
            self.cfg.guest_cid,
            self.cfg.buf_alloc,
        ));
    }

    /// Fills the guest's RX buffers with what the streams have for it. Returns whether the guest
    /// needs an interrupt.
    pub fn process_rx<M: GuestMemory>(&mut self, mem: &M, q: &mut Queue) -> Result<bool, VsockError> {
        if !q.ready() || !self.has_rx_work() {
            return Ok(false);
        }
        let mut used = false;
        loop {
            q.disable_notification(mem)?;
            let mut popped = false;
            while self.has_rx_work() {
                let Some(mut chain) = q.pop_descriptor_chain(mem) else {
                    break;
                };
                popped = true;
                let head = chain.head_index();
                let len = match VsockPacket::from_rx_virtq_chain(mem, &mut chain, u32::MAX) {
                    Ok(mut pkt) => match self.fill_one(&mut pkt) {
                        Some(len) => len,
                        None => {
                            q.go_to_previous_position();
                            break;
                        }
                    },
                    Err(e) => {
                        tracing::debug!(error = %e, "vsock: skipping a malformed RX buffer");
                        0
                    }
                };
                used |= add_used(q, mem, head, len);
            }
            if !q.enable_notification(mem)? || !self.has_rx_work() || !popped {
                break;
            }
        }
        Ok(used && q.needs_notification(mem)?)
    }

    fn has_rx_work(&self) -> bool {
        !self.rst_queue.is_empty() || !self.rx_work.is_empty()
    }

    /// Writes the next packet for the guest into `pkt`; `None` when nobody had one after all.
    fn fill_one<B: BitmapSlice>(&mut self, pkt: &mut VsockPacket<'_, B>) -> Option<u32> {
        if let Some(hdr) = self.rst_queue.pop_front() {
            return Some(if hdr.write_to(pkt).is_ok() {
                PKT_HEADER_SIZE as u32
            } else {
                0
            });
        }
        while let Some(key) = self.rx_work.pop_front() {
            let Some(conn) = self.conns.get_mut(&key) else {
                continue;
            };
            conn.in_rx_queue = false;
            let (len, verdict) = conn.fill_rx(pkt);
            self.apply(key, verdict);
            if len.is_some() {
                return len;
            }
        }
        None
    }
}

/// Returns a chain to the guest; a head index the guest made up is logged and skipped.
fn add_used<M: GuestMemory>(q: &mut Queue, mem: &M, head: u16, len: u32) -> bool {
    match q.add_used(mem, head, len) {
        Ok(()) => true,
        Err(e) => {
            tracing::debug!(head, error = %e, "vsock: cannot return a descriptor chain");
            false
        }
    }
}

impl AsRawFd for VsockMuxer {
    /// The epoll fd: readable when [`VsockMuxer::handle_host_events`] has work.
    fn as_raw_fd(&self) -> RawFd {
        self.epoll.as_raw_fd()
    }
}

impl Drop for VsockMuxer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
