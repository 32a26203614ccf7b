//! Port-forward streams: a `ForwardRequest` line names a guest port; the agent connects to it on the
//! guest's loopback (where docker-proxy serves published ports), answers a `ForwardReply` line, then
//! relays. TCP is spliced byte for byte; UDP datagrams travel over the stream as a 2-byte big-endian
//! length and the bytes, through a UDP socket of this stream's own.

use std::io::{BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use berth_proto::{read_json_line, write_json_line, ForwardReply, ForwardRequest, Transport};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves one forward stream.
pub fn handle(stream: UnixStream) {
    let _ = stream.set_read_timeout(Some(REQUEST_TIMEOUT));
    let mut reader = BufReader::new(stream);
    let req: ForwardRequest = match read_json_line(&mut reader) {
        Ok(r) => r,
        Err(e) => {
            let _ = write_json_line(
                reader.get_mut(),
                &ForwardReply {
                    error: Some(format!("bad forward request: {e}")),
                },
            );
            return;
        }
    };
    let early = reader.buffer().to_vec();
    let mut stream = reader.into_inner();
    let _ = stream.set_read_timeout(None);
    let target = SocketAddr::from((Ipv4Addr::LOCALHOST, req.port));
    let opened = match req.transport {
        _ if req.port == 0 => Err("port 0 cannot be forwarded".to_string()),
        Transport::Tcp => TcpStream::connect_timeout(&target, CONNECT_TIMEOUT)
            .map(Peer::Tcp)
            .map_err(|e| format!("connect {target}: {e}")),
        Transport::Udp => udp_socket(target)
            .map(Peer::Udp)
            .map_err(|e| format!("udp {target}: {e}")),
    };
    let peer = match opened {
        Ok(p) => p,
        Err(error) => {
            let _ = write_json_line(&mut stream, &ForwardReply { error: Some(error) });
            return;
        }
    };
    if write_json_line(&mut stream, &ForwardReply { error: None }).is_err() {
        return;
    }
    match peer {
        Peer::Tcp(tcp) => {
            let _ = tcp.set_nodelay(true);
            crate::splice::splice(stream, early, tcp);
        }
        Peer::Udp(sock) => relay_udp(stream, early, sock),
    }
}

enum Peer {
    Tcp(TcpStream),
    Udp(UdpSocket),
}

fn udp_socket(target: SocketAddr) -> std::io::Result<UdpSocket> {
    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    sock.connect(target)?;
    sock.set_read_timeout(Some(Duration::from_millis(500)))?;
    Ok(sock)
}

fn relay_udp(stream: UnixStream, early: Vec<u8>, sock: UdpSocket) {
    let done = Arc::new(AtomicBool::new(false));
    let replies = match (stream.try_clone(), sock.try_clone()) {
        (Ok(mut out), Ok(sock)) => {
            let done = done.clone();
            std::thread::Builder::new()
                .name("udp-replies".into())
                .spawn(move || {
                    let mut buf = vec![0u8; 65535];
                    while !done.load(Ordering::Relaxed) {
                        let n = match sock.recv(&mut buf) {
                            Ok(n) => n,
                            Err(_) => continue, // timeout, or ICMP refused from a closed port
                        };
                        let mut frame = Vec::with_capacity(n + 2);
                        frame.extend_from_slice(&(n as u16).to_be_bytes());
                        frame.extend_from_slice(&buf[..n]);
                        if out.write_all(&frame).is_err() {
                            break;
                        }
                    }
                })
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    let Ok(replies) = replies else { return };
    let mut input = std::io::Cursor::new(early).chain(&stream);
    let mut buf = vec![0u8; 65535];
    loop {
        let mut len = [0u8; 2];
        if input.read_exact(&mut len).is_err() {
            break;
        }
        let n = u16::from_be_bytes(len) as usize;
        if input.read_exact(&mut buf[..n]).is_err() {
            break;
        }
        let _ = sock.send(&buf[..n]);
    }
    done.store(true, Ordering::Relaxed);
    let _ = replies.join();
    let _ = stream.shutdown(Shutdown::Both);
}

#[cfg(test)]
mod tests {
    use std::io::BufRead;
    use std::net::TcpListener;

    use super::*;

    fn open(req: &str) -> (UnixStream, BufReader<UnixStream>, std::thread::JoinHandle<()>) {
        let (mut host, agent) = UnixStream::pair().unwrap();
        let t = std::thread::spawn(move || handle(agent));
        host.write_all(req.as_bytes()).unwrap();
        let r = BufReader::new(host.try_clone().unwrap());
        (host, r, t)
    }

    #[test]
    fn tcp_forward_with_early_bytes() {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        let echo = std::thread::spawn(move || {
            let (mut s, _) = server.accept().unwrap();
            let mut got = Vec::new();
            s.read_to_end(&mut got).unwrap();
            s.write_all(&got).unwrap();
        });
        let (host, mut r, t) = open(&format!("{{\"transport\":\"tcp\",\"port\":{port}}}\nping"));
        let reply: ForwardReply = read_json_line(&mut r).unwrap();
        assert_eq!(reply.error, None);
        host.shutdown(Shutdown::Write).unwrap();
        let mut back = String::new();
        r.read_to_string(&mut back).unwrap();
        assert_eq!(back, "ping");
        echo.join().unwrap();
        t.join().unwrap();
    }

    #[test]
    fn refused_and_malformed_requests_get_an_error_line() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port(); // now closed
        for req in [
            format!("{{\"transport\":\"tcp\",\"port\":{port}}}\n"),
            "{\"transport\":\"tcp\",\"port\":0}\n".into(),
            "junk\n".into(),
        ] {
            let (_host, mut r, t) = open(&req);
            let reply: ForwardReply = read_json_line(&mut r).unwrap();
            assert!(reply.error.is_some(), "{req}");
            let mut rest = String::new();
            assert_eq!(r.read_line(&mut rest).unwrap(), 0);
            t.join().unwrap();
        }
    }

    #[test]
    fn udp_datagrams_are_framed() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        let echo = std::thread::spawn(move || {
            for _ in 0..2 {
                let mut buf = [0u8; 2048];
                let (n, from) = server.recv_from(&mut buf).unwrap();
                server.send_to(&buf[..n], from).unwrap();
            }
        });
        let (mut host, mut r, t) = open(&format!("{{\"transport\":\"udp\",\"port\":{port}}}\n\x00\x03abc"));
        let reply: ForwardReply = read_json_line(&mut r).unwrap();
        assert_eq!(reply.error, None);
        let mut frame = [0u8; 5];
        r.read_exact(&mut frame).unwrap();
        assert_eq!(&frame, b"\x00\x03abc");
        host.write_all(b"\x00\x00").unwrap(); // an empty datagram
        let mut empty = [0u8; 2];
        r.read_exact(&mut empty).unwrap();
        assert_eq!(empty, [0, 0]);
        host.shutdown(Shutdown::Write).unwrap();
        t.join().unwrap();
        echo.join().unwrap();
    }
}
