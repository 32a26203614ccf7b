//! One vsock stream between a guest socket and a host Unix stream: its state machine and its
//! credit-based flow control in both directions.
//!
//! Guest → host: the guest may have at most `buf_alloc` bytes in flight that we have not written to
//! the Unix stream (`rx_cnt - fwd_cnt`); what the Unix side does not take at once waits in `tx_buf`,
//! which is therefore bounded by `buf_alloc`. A guest that sends beyond its credit is reset.
//! Host → guest: we read the Unix stream only into guest RX buffers and never more than the guest's
//! advertised credit (`peer_buf_alloc - (tx_cnt - peer_fwd_cnt)`).

use std::io::{self, ErrorKind};
use std::num::Wrapping;
use std::os::unix::net::UnixStream;
use std::time::Instant;

use virtio_vsock::packet::VsockPacket;
use vm_memory::bitmap::BitmapSlice;
use vm_memory::{ReadVolatile, VolatileMemoryError, VolatileSlice};
use vmm_sys_util::epoll::EventSet;

use super::packet::{op, send_bytes, send_volatile, shutdown, Header, HOST_CID, MAX_PKT_DATA, TYPE_STREAM};
use super::tx_buf::TxBuf;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// Host-initiated; REQUEST queued or sent, waiting for the guest's RESPONSE until `deadline`.
    Connecting {
        /// When the host's connect attempt fails.
        deadline: Instant,
    },
    /// Bytes flow.
    Established,
    /// The guest shut down both directions; we flush `tx_buf`, then reset.
    Closing,
    /// The guest reset the stream while bytes for the host were still buffered; we flush them,
    /// then drop the connection without telling the guest anything more.
    Draining,
}

/// What the muxer must do with a connection after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Keep it.
    Keep,
    /// Remove it and send the guest a RST.
    Kill,
    /// Remove it silently (the guest already considers it gone).
    Drop,
}

/// Control packets waiting for an RX buffer.
#[derive(Debug, Default, Clone, Copy)]
struct Pending {
    request: bool,
    response: bool,
    shutdown: u32,
    credit_update: bool,
    credit_request: bool,
}

/// A vsock stream bridged to a Unix stream.
pub struct Connection {
    /// The host side.
    pub stream: UnixStream,
    /// Our (host) port.
    pub local_port: u32,
    /// The guest's port.
    pub peer_port: u32,
    /// Life cycle.
    pub state: ConnState,
    guest_cid: u64,
    // Guest -> host.
    buf_alloc: u32,
    rx_cnt: Wrapping<u32>,
    fwd_cnt: Wrapping<u32>,
    last_fwd_cnt_sent: Wrapping<u32>,
    tx_buf: TxBuf,
    // Host -> guest.
    peer_buf_alloc: u32,
    peer_fwd_cnt: Wrapping<u32>,
    tx_cnt: Wrapping<u32>,
    pending: Pending,
    credit_requested: bool,
    /// The Unix stream may have bytes (or EOF) to read.
    readable: bool,
    host_eof: bool,
    /// The host closed both directions (EPOLLHUP/ERR); the fd is no longer in the epoll set.
    pub host_hup: bool,
    shut_sent: u32,
    guest_shut: u32,
    /// The connection sits in the muxer's RX work queue.
    pub in_rx_queue: bool,
    /// Events the fd is registered for; `None` when not registered.
    pub interest: Option<EventSet>,
}

impl Connection {
    fn new(
        stream: UnixStream,
        local_port: u32,
        peer_port: u32,
        guest_cid: u64,
        buf_alloc: u32,
        state: ConnState,
    ) -> Self {
        Connection {
            stream,
            local_port,
            peer_port,
            state,
            guest_cid,
            buf_alloc,
            rx_cnt: Wrapping(0),
            fwd_cnt: Wrapping(0),
            last_fwd_cnt_sent: Wrapping(0),
            tx_buf: TxBuf::default(),
            peer_buf_alloc: 0,
            peer_fwd_cnt: Wrapping(0),
            tx_cnt: Wrapping(0),
            pending: Pending::default(),
            credit_requested: false,
            readable: false,
            host_eof: false,
            host_hup: false,
            shut_sent: 0,
            guest_shut: 0,
            in_rx_queue: false,
            interest: None,
        }
    }

    /// A host process asked (`CONNECT <peer_port>`) for a stream to the guest; REQUEST is queued.
    pub fn host_initiated(
        stream: UnixStream,
        local_port: u32,
        peer_port: u32,
        guest_cid: u64,
        buf_alloc: u32,
        deadline: Instant,
    ) -> Self {
        let mut c = Self::new(
            stream,
            local_port,
            peer_port,
            guest_cid,
            buf_alloc,
            ConnState::Connecting { deadline },
        );
        c.pending.request = true;
        c
    }

    /// The guest's REQUEST reached a host listener; RESPONSE is queued.
    pub fn guest_initiated(stream: UnixStream, req: &Header, guest_cid: u64, buf_alloc: u32) -> Self {
        let mut c = Self::new(
            stream,
            req.dst_port,
            req.src_port,
            guest_cid,
            buf_alloc,
            ConnState::Established,
        );
        c.peer_buf_alloc = req.buf_alloc;
        c.peer_fwd_cnt = Wrapping(req.fwd_cnt);
        c.pending.response = true;
        c
    }

    /// Bytes the guest can still take.
    fn peer_credit(&self) -> u32 {
        let in_flight = (self.tx_cnt - self.peer_fwd_cnt).0;
        self.peer_buf_alloc.saturating_sub(in_flight)
    }

    fn can_send_data(&self) -> bool {
        self.state == ConnState::Established
            && self.readable
            && !self.host_eof
            && self.guest_shut & shutdown::RCV == 0
            && self.peer_credit() > 0
    }

    /// Whether this connection has a packet for the guest.
    pub fn has_rx_work(&self) -> bool {
        if self.state == ConnState::Draining {
            return false;
        }
        let p = &self.pending;
        p.request
            || p.response
            || p.shutdown != 0
            || p.credit_update
            || p.credit_request
            || self.can_send_data()
    }

    /// Events the Unix stream should be watched for (the muxer deregisters it after a hang-up).
    pub fn desired_interest(&self) -> EventSet {
        let mut ev = EventSet::empty();
        if !self.readable && !self.host_eof && self.state != ConnState::Draining {
            ev |= EventSet::IN;
        }
        if !self.tx_buf.is_empty() {
            ev |= EventSet::OUT;
        }
        ev
    }

    /// Deadline of a pending host connect.
    pub fn deadline(&self) -> Option<Instant> {
        match self.state {
            ConnState::Connecting { deadline } => Some(deadline),
            _ => None,
        }
    }

    /// Handles the Unix stream's readiness.
    pub fn on_host_event(&mut self, ev: EventSet) -> Verdict {
        if ev.intersects(EventSet::HANG_UP | EventSet::ERROR) {
            self.host_hup = true;
            self.readable = true;
        }
        if ev.contains(EventSet::IN) {
            self.readable = true;
        }
        if ev.contains(EventSet::OUT) || self.host_hup {
            return self.flush();
        }
        self.settle()
    }

    /// Writes buffered guest bytes to the Unix stream.
    pub fn flush(&mut self) -> Verdict {
        let had_backlog = !self.tx_buf.is_empty();
        while !self.tx_buf.is_empty() {
            match send_bytes(&self.stream, self.tx_buf.as_slice()) {
                Ok(n) => {
                    self.tx_buf.consume(n);
                    self.fwd_cnt += n as u32;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::debug!(port = self.local_port, error = %e, "host side of vsock stream failed on write");
                    return if self.state == ConnState::Draining {
                        Verdict::Drop
                    } else {
                        Verdict::Kill
                    };
                }
            }
        }
        if had_backlog && self.tx_buf.is_empty() && self.fwd_cnt != self.last_fwd_cnt_sent {
            // We held the guest back; tell it at once that it may send again.
            self.pending.credit_update = true;
        }
        self.settle()
    }

    /// Decides what follows from the current flags: half-close the Unix side, finish a close, or
    /// ask for a credit update.
    fn settle(&mut self) -> Verdict {
        let flushed = self.tx_buf.is_empty();
        match self.state {
            ConnState::Draining if flushed => return Verdict::Drop,
            ConnState::Draining => return Verdict::Keep,
            ConnState::Closing if flushed => return Verdict::Kill,
            _ => {}
        }
        if flushed && self.guest_shut & shutdown::SEND != 0 {
            let _ = self.stream.shutdown(std::net::Shutdown::Write);
            if self.shut_sent & shutdown::SEND != 0 {
                // Both directions are finished: the stream is done.
                return Verdict::Kill;
            }
        }
        if (self.fwd_cnt - self.last_fwd_cnt_sent).0 >= self.buf_alloc / 4 {
            self.pending.credit_update = true;
        }
        if self.readable && !self.host_eof && self.peer_credit() == 0 && !self.credit_requested {
            self.pending.credit_request = true;
        }
        Verdict::Keep
    }

    /// Handles a packet the guest sent on this stream.
    pub fn on_guest_packet<B: BitmapSlice>(
        &mut self,
        hdr: &Header,
        data: Option<&VolatileSlice<'_, B>>,
    ) -> Verdict {
        if self.state == ConnState::Draining {
            return if hdr.op == op::REQUEST {
                Verdict::Drop
            } else {
                Verdict::Keep
            };
        }
        self.peer_buf_alloc = hdr.buf_alloc;
        self.peer_fwd_cnt = Wrapping(hdr.fwd_cnt);
        if self.peer_credit() > 0 {
            self.credit_requested = false;
        }
        match hdr.op {
            op::RESPONSE => self.on_response(),
            op::RW => self.on_data(hdr, data),
            op::SHUTDOWN => {
                self.guest_shut |= hdr.flags & shutdown::BOTH;
                if self.guest_shut == shutdown::BOTH {
                    self.state = ConnState::Closing;
                }
                self.settle()
            }
            op::RST => {
                if self.tx_buf.is_empty() {
                    Verdict::Drop
                } else {
                    self.state = ConnState::Draining;
                    Verdict::Keep
                }
            }
            op::CREDIT_UPDATE => self.settle(),
            op::CREDIT_REQUEST => {
                self.pending.credit_update = true;
                self.settle()
            }
            other => {
                tracing::debug!(
                    op = other,
                    port = self.local_port,
                    "unexpected vsock op on a connection; resetting it"
                );
                Verdict::Kill
            }
        }
    }

    fn on_response(&mut self) -> Verdict {
        if !matches!(self.state, ConnState::Connecting { .. }) {
            return Verdict::Kill;
        }
        let line = format!("OK {}\n", self.local_port);
        match send_bytes(&self.stream, line.as_bytes()) {
            Ok(n) if n == line.len() => {
                self.state = ConnState::Established;
                self.settle()
            }
            _ => Verdict::Kill,
        }
    }

    fn on_data<B: BitmapSlice>(&mut self, hdr: &Header, data: Option<&VolatileSlice<'_, B>>) -> Verdict {
        if self.state != ConnState::Established || self.guest_shut & shutdown::SEND != 0 {
            return Verdict::Kill;
        }
        let Some(data) = data else { return self.settle() };
        let buffered = (self.rx_cnt - self.fwd_cnt).0;
        if u64::from(buffered) + u64::from(hdr.len) > u64::from(self.buf_alloc) {
            tracing::warn!(
                port = self.local_port,
                "guest sent beyond its vsock credit; resetting the stream"
            );
            return Verdict::Kill;
        }
        self.rx_cnt += hdr.len;
        let mut written = 0;
        if self.tx_buf.is_empty() {
            loop {
                match send_volatile(&self.stream, data) {
                    Ok(n) => written = n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => {
                        tracing::debug!(port = self.local_port, error = %e, "host side of vsock stream failed on write");
                        return Verdict::Kill;
                    }
                }
                break;
            }
            self.fwd_cnt += written as u32;
        }
        if written < data.len() {
            // `written <= data.len()`, so the offset is in range.
            if let Ok(rest) = data.offset(written) {
                self.tx_buf.push_volatile(&rest);
            }
        }
        self.settle()
    }

    /// Fills an RX packet with the next thing this connection has for the guest: a control packet
    /// or bytes read straight from the Unix stream into guest memory. Returns the used length.
    pub fn fill_rx<B: BitmapSlice>(&mut self, pkt: &mut VsockPacket<'_, B>) -> (Option<u32>, Verdict) {
        let mut hdr = Header {
            src_cid: HOST_CID,
            dst_cid: self.guest_cid,
            src_port: self.local_port,
            dst_port: self.peer_port,
            type_: TYPE_STREAM,
            buf_alloc: self.buf_alloc,
            fwd_cnt: self.fwd_cnt.0,
            ..Header::default()
        };
        let mut verdict = Verdict::Keep;
        if self.pending.request {
            self.pending.request = false;
            hdr.op = op::REQUEST;
        } else if self.pending.response {
            self.pending.response = false;
            hdr.op = op::RESPONSE;
        } else if self.can_send_data() && pkt.data_slice().is_some() {
            match self.read_host(pkt) {
                Ok(0) => {
                    self.host_eof = true;
                    self.readable = false;
                    self.pending.shutdown |= if self.host_hup {
                        shutdown::BOTH
                    } else {
                        shutdown::SEND
                    };
                }
                Ok(n) => {
                    hdr.op = op::RW;
                    hdr.len = n;
                    self.tx_cnt += n;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => self.readable = false,
                Err(e) => {
                    tracing::debug!(port = self.local_port, error = %e, "host side of vsock stream failed on read");
                    return (None, Verdict::Kill);
                }
            }
        }
        if hdr.op == 0 {
            if self.pending.shutdown != 0 {
                hdr.op = op::SHUTDOWN;
                hdr.flags = self.pending.shutdown;
                self.shut_sent |= self.pending.shutdown;
                self.pending.shutdown = 0;
                verdict = self.settle();
            } else if self.pending.credit_update {
                hdr.op = op::CREDIT_UPDATE;
            } else if self.pending.credit_request {
                hdr.op = op::CREDIT_REQUEST;
                self.pending.credit_request = false;
                self.credit_requested = true;
            } else {
                return (None, Verdict::Keep);
            }
        }
        if hdr.write_to(pkt).is_err() {
            return (None, Verdict::Kill);
        }
        self.pending.credit_update = false;
        self.last_fwd_cnt_sent = self.fwd_cnt;
        if verdict == Verdict::Keep && hdr.op == op::RW {
            verdict = self.settle();
        }
        (
            Some(virtio_vsock::packet::PKT_HEADER_SIZE as u32 + hdr.len),
            verdict,
        )
    }

    /// Reads at most the guest's credit from the Unix stream into the packet's data buffer.
    fn read_host<B: BitmapSlice>(&mut self, pkt: &VsockPacket<'_, B>) -> io::Result<u32> {
        let Some(data) = pkt.data_slice() else {
            return Ok(0);
        };
        let max = data
            .len()
            .min(self.peer_credit() as usize)
            .min(MAX_PKT_DATA as usize);
        let mut buf = data.subslice(0, max).map_err(io::Error::other)?;
        loop {
            match (&self.stream).read_volatile(&mut buf) {
                Ok(n) => return Ok(n as u32),
                Err(VolatileMemoryError::IOError(e)) if e.kind() == ErrorKind::Interrupted => continue,
                Err(VolatileMemoryError::IOError(e)) => return Err(e),
                Err(e) => return Err(io::Error::other(e)),
            }
        }
    }

    /// Header of a RST for this connection.
    pub fn rst_header(&self) -> Header {
        rst_for(self.guest_cid, HOST_CID, self.local_port, self.peer_port)
    }
}

/// A RST from `src_cid:src_port` to the guest's `dst_port`.
pub fn rst_for(guest_cid: u64, src_cid: u64, src_port: u32, dst_port: u32) -> Header {
    Header {
        src_cid,
        dst_cid: guest_cid,
        src_port,
        dst_port,
        type_: TYPE_STREAM,
        op: op::RST,
        ..Header::default()
    }
}
