//! The host side of Firecracker's hybrid vsock: a process connects to the device's Unix socket and
//! writes `CONNECT <port>\n`; the device answers `OK <local port>\n` once the guest accepted.

use std::io::{ErrorKind, Read};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

/// Longest `CONNECT` line we wait for.
pub const MAX_CONNECT_LINE: usize = 32;

/// Progress of reading a `CONNECT` line.
#[derive(Debug, PartialEq, Eq)]
pub enum Handshake {
    /// The line is not complete yet.
    Incomplete,
    /// The host asked for this guest port.
    Connect(u32),
    /// Malformed, too long, or the host went away: close the stream.
    Failed,
}

/// Parses `CONNECT <port>` (without the newline; trailing `\r` and spaces tolerated).
pub fn parse_connect(line: &[u8]) -> Option<u32> {
    let line = std::str::from_utf8(line).ok()?.trim_end();
    let port = line.strip_prefix("CONNECT ")?.trim();
    port.parse().ok()
}

/// Reads the `CONNECT` line without consuming bytes that follow it: those belong to the stream.
pub fn read_connect(stream: &UnixStream) -> Handshake {
    let mut peek = [0u8; MAX_CONNECT_LINE];
    let n = match peek_bytes(stream, &mut peek) {
        Ok(0) => return Handshake::Failed,
        Ok(n) => n,
        Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
            return Handshake::Incomplete
        }
        Err(_) => return Handshake::Failed,
    };
    let Some(nl) = peek[..n].iter().position(|&b| b == b'\n') else {
        return if n == MAX_CONNECT_LINE {
            Handshake::Failed
        } else {
            Handshake::Incomplete
        };
    };
    let mut line = [0u8; MAX_CONNECT_LINE];
    // The bytes are already queued (we peeked them), so this read returns them at once.
    if (&*stream).read_exact(&mut line[..=nl]).is_err() {
        return Handshake::Failed;
    }
    match parse_connect(&line[..nl]) {
        Some(port) => Handshake::Connect(port),
        None => Handshake::Failed,
    }
}

/// `recv(MSG_PEEK)`: std's `UnixStream::peek` is not stable yet.
fn peek_bytes(stream: &UnixStream, buf: &mut [u8]) -> std::io::Result<usize> {
    // SAFETY: the fd is a valid socket owned by `stream`, and `buf` is a live, writable slice of
    // `buf.len()` bytes that `recv` fills at most.
    let n = unsafe {
        libc::recv(
            stream.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn parses_connect_lines() {
        assert_eq!(parse_connect(b"CONNECT 1024"), Some(1024));
        assert_eq!(parse_connect(b"CONNECT 52\r"), Some(52));
        assert_eq!(parse_connect(b"CONNECT "), None);
        assert_eq!(parse_connect(b"CONNECT -1"), None);
        assert_eq!(parse_connect(b"CONNECT 99999999999"), None);
        assert_eq!(parse_connect(b"HELLO 1"), None);
        assert_eq!(parse_connect(&[0xff, 0xfe]), None);
    }

    #[test]
    fn keeps_bytes_after_the_line() {
        let (mut a, b) = UnixStream::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        assert_eq!(read_connect(&b), Handshake::Incomplete);
        a.write_all(b"CONNECT 7").unwrap();
        assert_eq!(read_connect(&b), Handshake::Incomplete);
        a.write_all(b"\nhello").unwrap();
        assert_eq!(read_connect(&b), Handshake::Connect(7));
        let mut rest = [0u8; 5];
        (&b).read_exact(&mut rest).unwrap();
        assert_eq!(&rest, b"hello");
    }

    #[test]
    fn rejects_long_lines_and_eof() {
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(&[b'x'; MAX_CONNECT_LINE]).unwrap();
        assert_eq!(read_connect(&b), Handshake::Failed);
        let (a, b) = UnixStream::pair().unwrap();
        drop(a);
        assert_eq!(read_connect(&b), Handshake::Failed);
    }
}
