//! Copying bytes both ways between two sockets, one thread per direction, half-close aware: when one
//! side ends its writes, the other side's write half is shut down and the opposite direction keeps
//! flowing; an error ends both.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;

/// Buffer per direction; large enough for `docker save` streams of hundreds of MB.
pub const BUF: usize = 128 * 1024;

/// A socket: readable, writable, clonable and shut down by halves.
pub trait Duplex: Read + Write + Send + Sized + 'static {
    /// Another handle on the same socket.
    fn dup(&self) -> std::io::Result<Self>;
    /// shutdown(2).
    fn halt(&self, how: Shutdown);
}

impl Duplex for UnixStream {
    fn dup(&self) -> std::io::Result<Self> {
        self.try_clone()
    }
    fn halt(&self, how: Shutdown) {
        let _ = self.shutdown(how);
    }
}

impl Duplex for TcpStream {
    fn dup(&self) -> std::io::Result<Self> {
        self.try_clone()
    }
    fn halt(&self, how: Shutdown) {
        let _ = self.shutdown(how);
    }
}

/// Splices `a` and `b` until both directions end. `a_early` holds bytes already read from `a` (read
/// past the opening line), delivered to `b` first. Returns (bytes a→b, bytes b→a).
pub fn splice<A: Duplex, B: Duplex>(a: A, a_early: Vec<u8>, b: B) -> (u64, u64) {
    let (a2, b2) = match (a.dup(), b.dup()) {
        (Ok(a2), Ok(b2)) => (a2, b2),
        _ => {
            a.halt(Shutdown::Both);
            b.halt(Shutdown::Both);
            return (0, 0);
        }
    };
    let back = match std::thread::Builder::new()
        .name("splice".into())
        .spawn(move || pump(b2, a2, Vec::new()))
    {
        Ok(h) => h,
        Err(_) => {
            a.halt(Shutdown::Both);
            b.halt(Shutdown::Both);
            return (0, 0);
        }
    };
    let forth = pump(a, b, a_early);
    (forth, back.join().unwrap_or(0))
}

/// Copies `from` → `to` until EOF (then half-closes `to`) or an error (then closes both).
fn pump<R: Duplex, W: Duplex>(mut from: R, mut to: W, early: Vec<u8>) -> u64 {
    let mut total = 0u64;
    if !early.is_empty() {
        if to.write_all(&early).is_err() {
            from.halt(Shutdown::Both);
            to.halt(Shutdown::Both);
            return 0;
        }
        total += early.len() as u64;
    }
    let mut buf = vec![0u8; BUF];
    loop {
        match from.read(&mut buf) {
            Ok(0) => {
                to.halt(Shutdown::Write);
                return total;
            }
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
                total += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    from.halt(Shutdown::Both);
    to.halt(Shutdown::Both);
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splices_a_large_stream_with_half_close_both_ways() {
        let (mut client, a) = UnixStream::pair().unwrap();
        let (b, mut server) = UnixStream::pair().unwrap();
        let splicer = std::thread::spawn(move || splice(a, b"early:".to_vec(), b));
        let payload: Vec<u8> = (0..(3 * BUF + 17)).map(|i| (i % 251) as u8).collect();
        let sent = payload.clone();
        let writer = std::thread::spawn(move || {
            client.write_all(&sent).unwrap();
            client.shutdown(Shutdown::Write).unwrap();
            let mut answer = Vec::new();
            client.read_to_end(&mut answer).unwrap();
            answer
        });
        let mut got = Vec::new();
        server.read_to_end(&mut got).unwrap(); // ends only because the client half-closed
        assert_eq!(&got[..6], b"early:");
        assert_eq!(&got[6..], &payload[..]);
        server.write_all(b"reply after half-close").unwrap();
        drop(server);
        assert_eq!(writer.join().unwrap(), b"reply after half-close");
        let (forth, back) = splicer.join().unwrap();
        assert_eq!((forth, back), (payload.len() as u64 + 6, 22));
    }
}
