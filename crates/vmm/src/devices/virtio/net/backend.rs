//! passt's stream protocol (QEMU's `stream` netdev): each Ethernet frame travels over a Unix stream
//! socket after a 4-byte big-endian length. The socket is non-blocking, so both directions keep state
//! across calls:
//!
//! - [`FrameReader`] reassembles frames from whatever the socket returns (a frame split across reads,
//!   several frames in one read) and skips frames of length 0 or over [`MAX_FRAME_LEN`] while staying
//!   in step with the stream.
//! - [`FrameWriter`] queues length-prefixed frames and writes as much as the socket takes; the rest
//!   waits for writability.
//!
//! [`PasstStream`] owns the socket and a private epoll set over it whose interest (readable, writable)
//! follows the device's needs; the epoll fd is what the VMM event loop watches.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use vmm_sys_util::epoll::{ControlOperation, Epoll, EpollEvent, EventSet};

/// Bytes of the length prefix before each frame.
pub const LEN_PREFIX: usize = 4;
/// Longest Ethernet frame either side may send (passt's largest MTU, 65520, plus the Ethernet header fits).
pub const MAX_FRAME_LEN: usize = 65535;
/// Size of the reassembly buffer: several frames, and always room for a whole largest frame.
const READ_BUF: usize = 4 * (MAX_FRAME_LEN + LEN_PREFIX);
/// Queued TX bytes above which the device stops taking frames from the guest until the socket drains.
pub const TX_HIGH_WATER: usize = 256 * 1024;

/// Errors setting up the passt connection.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The socket cannot be reached.
    #[error(
        "cannot connect to passt's socket {path}: {source}; start passt first (`passt -f -1 -s {path} ...`) \
         and pass the same path to --net-passt"
    )]
    Connect {
        /// The socket path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The socket or its epoll set cannot be set up.
    #[error("cannot set up the passt socket ({what}): {source}")]
    Setup {
        /// What failed.
        what: &'static str,
        /// The OS error.
        source: io::Error,
    },
}

/// What one read from the socket ended with.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    /// Bytes arrived.
    Data(usize),
    /// Nothing to read now.
    WouldBlock,
    /// The reassembly buffer is full of frames the guest has not taken.
    Full,
    /// passt closed the connection (or it failed; the error is logged).
    Closed,
}

/// Reassembles length-prefixed frames from a byte stream.
pub struct FrameReader {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// Bytes of a refused frame still to drop.
    skip: usize,
    dropped: u64,
}

impl Default for FrameReader {
    fn default() -> Self {
        FrameReader {
            buf: vec![0; READ_BUF].into_boxed_slice(),
            start: 0,
            end: 0,
            skip: 0,
            dropped: 0,
        }
    }
}

impl FrameReader {
    /// Frames refused so far (length 0 or over [`MAX_FRAME_LEN`]).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Bytes received but not yet consumed.
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// Length of the complete frame at the front, after skipping refused frames; `None` until one is in.
    fn front(&mut self) -> Option<usize> {
        loop {
            if self.skip > 0 {
                let n = self.skip.min(self.end - self.start);
                self.start += n;
                self.skip -= n;
                if self.skip > 0 {
                    return None;
                }
            }
            let avail = self.buf.get(self.start..self.end)?;
            let prefix: [u8; LEN_PREFIX] = avail.get(..LEN_PREFIX)?.try_into().ok()?;
            let len = usize::try_from(u32::from_be_bytes(prefix)).unwrap_or(usize::MAX);
            if len == 0 || len > MAX_FRAME_LEN {
                self.dropped += 1;
                tracing::warn!(
                    len,
                    "passt sent a frame of length 0 or over {MAX_FRAME_LEN}; dropped"
                );
                self.start += LEN_PREFIX;
                self.skip = len;
                continue;
            }
            return (avail.len() >= LEN_PREFIX + len).then_some(len);
        }
    }

    /// The next complete frame (without its prefix), if one is in.
    pub fn next_frame(&mut self) -> Option<&[u8]> {
        let len = self.front()?;
        let at = self.start + LEN_PREFIX;
        self.buf.get(at..at + len)
    }

    /// Drops the frame [`FrameReader::next_frame`] returned.
    pub fn consume(&mut self) {
        if let Some(len) = self.front() {
            self.start += LEN_PREFIX + len;
        }
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Reads once from `src` into the buffer's free space (moving buffered bytes to the front first
    /// when the space behind them could not hold a largest frame).
    pub fn fill(&mut self, src: &mut impl Read) -> ReadOutcome {
        if self.buf.len() - self.end < MAX_FRAME_LEN + LEN_PREFIX && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let Some(free) = self.buf.get_mut(self.end..).filter(|f| !f.is_empty()) else {
            return ReadOutcome::Full;
        };
        loop {
            return match src.read(free) {
                Ok(0) => ReadOutcome::Closed,
                Ok(n) => {
                    self.end += n;
                    ReadOutcome::Data(n)
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => ReadOutcome::WouldBlock,
                Err(e) => {
                    tracing::warn!(error = %e, "reading passt's socket failed");
                    ReadOutcome::Closed
                }
            };
        }
    }
}

/// Length-prefixed frames waiting to be written.
#[derive(Default)]
pub struct FrameWriter {
    buf: Vec<u8>,
    pos: usize,
}

impl FrameWriter {
    /// Bytes not yet written.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Appends one frame: `fill` appends the frame's bytes to the vector it is given and returns
    /// `Ok(())`, or fails and the frame is forgotten. The length prefix is written here.
    pub fn push<E>(&mut self, fill: impl FnOnce(&mut Vec<u8>) -> Result<(), E>) -> Result<usize, E> {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        let mark = self.buf.len();
        self.buf.extend_from_slice(&[0; LEN_PREFIX]);
        if let Err(e) = fill(&mut self.buf) {
            self.buf.truncate(mark);
            return Err(e);
        }
        let len = self.buf.len() - mark - LEN_PREFIX;
        let prefix = u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes();
        self.buf[mark..mark + LEN_PREFIX].copy_from_slice(&prefix);
        Ok(len)
    }

    /// Forgets everything queued (the peer is gone).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.pos = 0;
    }

    /// Writes queued bytes with `write` (a `send(2)`-like call) until done or it would block.
    /// `Ok(true)`: everything is written.
    pub fn flush(&mut self, mut write: impl FnMut(&[u8]) -> io::Result<usize>) -> io::Result<bool> {
        while self.pos < self.buf.len() {
            match write(&self.buf[self.pos..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.pos += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            return Ok(true);
        }
        // Keep the buffer from growing without bound behind a slow reader.
        if self.pos >= TX_HIGH_WATER {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        Ok(false)
    }
}

/// `send(2)` with `MSG_NOSIGNAL`: a closed peer is an `EPIPE` error, never a SIGPIPE.
fn send(fd: RawFd, data: &[u8]) -> io::Result<usize> {
    // SAFETY: `data` is a valid readable buffer of `data.len()` bytes for the duration of the call, and
    // `fd` is a socket owned by the caller.
    let n = unsafe {
        libc::send(
            fd,
            data.as_ptr().cast(),
            data.len(),
            libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    usize::try_from(n).map_err(|_| io::ErrorKind::InvalidData.into())
}

/// The connection to passt and its epoll set.
pub struct PasstStream {
    sock: UnixStream,
    epoll: Epoll,
    /// Interest registered for the socket; `None` once the socket left the set.
    interest: Option<EventSet>,
    /// Frames from passt.
    pub reader: FrameReader,
    /// Frames to passt.
    pub writer: FrameWriter,
}

impl PasstStream {
    /// Connects to passt's socket at `path`.
    pub fn connect(path: &Path) -> Result<Self, NetError> {
        let sock = UnixStream::connect(path).map_err(|source| NetError::Connect {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_stream(sock)
    }

    /// Uses an already connected socket (tests use one end of a socket pair).
    pub fn from_stream(sock: UnixStream) -> Result<Self, NetError> {
        let setup = |what| move |source| NetError::Setup { what, source };
        sock.set_nonblocking(true)
            .map_err(setup("make the socket non-blocking"))?;
        let epoll = Epoll::new().map_err(setup("create an epoll set"))?;
        epoll
            .ctl(
                ControlOperation::Add,
                sock.as_raw_fd(),
                EpollEvent::new(EventSet::empty(), 0),
            )
            .map_err(setup("watch the socket"))?;
        Ok(PasstStream {
            sock,
            epoll,
            interest: Some(EventSet::empty()),
            reader: FrameReader::default(),
            writer: FrameWriter::default(),
        })
    }

    /// The epoll set's fd: readable when the socket is ready for what [`PasstStream::watch`] asked,
    /// or hung up.
    pub fn epoll_fd(&self) -> RawFd {
        self.epoll.as_raw_fd()
    }

    /// Watches the socket for readability and/or writability (errors and hang-ups are always seen).
    pub fn watch(&mut self, read: bool, write: bool) {
        let Some(current) = self.interest else { return };
        let mut want = EventSet::empty();
        if read {
            want |= EventSet::IN;
        }
        if write {
            want |= EventSet::OUT;
        }
        if want == current {
            return;
        }
        let ev = EpollEvent::new(want, 0);
        match self
            .epoll
            .ctl(ControlOperation::Modify, self.sock.as_raw_fd(), ev)
        {
            Ok(()) => self.interest = Some(want),
            Err(e) => tracing::warn!(error = %e, "cannot change what passt's socket is watched for"),
        }
    }

    /// Stops watching the socket at all (after passt went away), so a hang-up does not fire forever.
    pub fn unwatch(&mut self) {
        if self.interest.take().is_some() {
            let ev = EpollEvent::new(EventSet::empty(), 0);
            let _ = self
                .epoll
                .ctl(ControlOperation::Delete, self.sock.as_raw_fd(), ev);
        }
    }

    /// What the socket is ready for now (without waiting).
    pub fn ready(&self) -> EventSet {
        let mut events = [EpollEvent::default(); 1];
        match self.epoll.wait(0, &mut events) {
            Ok(1) => events[0].event_set(),
            _ => EventSet::empty(),
        }
    }

    /// Reads once into the reassembly buffer.
    pub fn read(&mut self) -> ReadOutcome {
        self.reader.fill(&mut &self.sock)
    }

    /// Writes queued frames until done or the socket would block; `Ok(true)` when nothing is left.
    pub fn flush(&mut self) -> io::Result<bool> {
        let fd = self.sock.as_raw_fd();
        self.writer.flush(|data| send(fd, data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(frames: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for f in frames {
            out.extend_from_slice(&(f.len() as u32).to_be_bytes());
            out.extend_from_slice(f);
        }
        out
    }

    /// A reader that returns its chunks one per call, then would block.
    struct Chunks(Vec<Vec<u8>>);

    impl Read for Chunks {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let c = &mut self.0[0];
            let n = c.len().min(buf.len());
            buf[..n].copy_from_slice(&c[..n]);
            c.drain(..n);
            if c.is_empty() {
                self.0.remove(0);
            }
            Ok(n)
        }
    }

    fn drain(r: &mut FrameReader, src: &mut impl Read) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            while let Some(f) = r.next_frame() {
                out.push(f.to_vec());
                r.consume();
            }
            match r.fill(src) {
                ReadOutcome::Data(_) => {}
                other => {
                    assert_eq!(other, ReadOutcome::WouldBlock);
                    return out;
                }
            }
        }
    }

    #[test]
    fn frames_split_anywhere_reassemble() {
        let big = vec![0xa5u8; MAX_FRAME_LEN];
        let frames: [&[u8]; 4] = [b"first frame", b"x", &big, b"last"];
        let stream = framed(&frames);
        for cut in [1usize, 2, 3, 5, 7, 4096, 70000] {
            let chunks = stream.chunks(cut).map(<[u8]>::to_vec).collect();
            let got = drain(&mut FrameReader::default(), &mut Chunks(chunks));
            assert_eq!(got.len(), 4, "cut {cut}");
            for (g, w) in got.iter().zip(frames) {
                assert_eq!(g.as_slice(), w, "cut {cut}");
            }
        }
    }

    #[test]
    fn zero_length_and_oversized_frames_are_skipped_in_step() {
        let mut stream = framed(&[b"a"]);
        stream.extend_from_slice(&0u32.to_be_bytes());
        stream.extend_from_slice(&(MAX_FRAME_LEN as u32 + 1).to_be_bytes());
        stream.extend(std::iter::repeat_n(0xffu8, MAX_FRAME_LEN + 1));
        stream.extend(framed(&[b"b"]));
        let mut r = FrameReader::default();
        let got = drain(
            &mut r,
            &mut Chunks(stream.chunks(1000).map(<[u8]>::to_vec).collect()),
        );
        assert_eq!(got, vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(r.dropped(), 2);
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn a_full_buffer_says_so_and_a_closed_peer_is_seen() {
        let frame = vec![1u8; MAX_FRAME_LEN];
        let stream = framed(&[&frame, &frame, &frame, &frame, &frame]);
        let mut r = FrameReader::default();
        let mut src = Chunks(vec![stream]);
        while let ReadOutcome::Data(_) = r.fill(&mut src) {}
        assert_eq!(r.fill(&mut src), ReadOutcome::Full);
        assert!(r.next_frame().is_some());
        r.consume();
        assert!(matches!(r.fill(&mut src), ReadOutcome::Data(_)));
        assert_eq!(FrameReader::default().fill(&mut &[][..]), ReadOutcome::Closed);
    }

    #[test]
    fn the_writer_keeps_what_the_socket_did_not_take() {
        let mut w = FrameWriter::default();
        let hello = |b: &mut Vec<u8>| {
            b.extend_from_slice(b"hello");
            Ok::<_, &str>(())
        };
        assert_eq!(w.push(hello), Ok(5));
        assert_eq!(
            w.push(|b| {
                b.extend_from_slice(b"partial");
                Err("guest memory")
            }),
            Err("guest memory")
        );
        let mut sent = Vec::new();
        let mut budget = 3;
        let done = w
            .flush(|d| {
                if budget == 0 {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                budget -= 1;
                sent.push(d[0]);
                Ok(1)
            })
            .unwrap();
        assert!(!done);
        assert_eq!(w.pending(), 9 - 3);
        assert!(w
            .flush(|d| {
                sent.extend_from_slice(d);
                Ok(d.len())
            })
            .unwrap());
        assert_eq!(sent, [&5u32.to_be_bytes()[..], b"hello"].concat());
        assert_eq!(w.pending(), 0);
    }
}
