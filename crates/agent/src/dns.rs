//! A tiny DNS shim on the guest address, port 53 (UDP and TCP): A queries for the host names
//! ([`crate::etc_files::HOST_NAMES`]) are answered with the gateway; every other query is relayed
//! verbatim to the upstream resolver and its answer relayed back. Waits are bounded, in-flight relays
//! are capped, and packets are parsed defensively (they come from any container).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const HEADER: usize = 12;
const TYPE_A: u16 = 1;
const CLASS_IN: u16 = 1;
const TTL_SECS: u32 = 60;
const MAX_NAME: usize = 255;
const MAX_JUMPS: usize = 16;
const MAX_UDP_INFLIGHT: usize = 64;
const MAX_TCP_CLIENTS: usize = 32;
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);

/// The question of a standard query.
#[derive(Debug, PartialEq, Eq)]
pub struct Question {
    /// Lower-case name without the trailing dot.
    pub name: String,
    /// QTYPE.
    pub qtype: u16,
    /// QCLASS.
    pub qclass: u16,
    /// Offset just past the question in the packet.
    pub end: usize,
}

/// Parses a standard query with exactly one question.
pub fn parse_query(pkt: &[u8]) -> Result<Question, &'static str> {
    if pkt.len() < HEADER {
        return Err("shorter than a header");
    }
    if pkt[2] & 0x80 != 0 || (pkt[2] >> 3) & 0x0F != 0 {
        return Err("not a standard query");
    }
    if u16::from_be_bytes([pkt[4], pkt[5]]) != 1 {
        return Err("not exactly one question");
    }
    let (name, at) = read_name(pkt, HEADER)?;
    let fixed = pkt.get(at..at + 4).ok_or("truncated question")?;
    Ok(Question {
        name,
        qtype: u16::from_be_bytes([fixed[0], fixed[1]]),
        qclass: u16::from_be_bytes([fixed[2], fixed[3]]),
        end: at + 4,
    })
}

/// Reads a (possibly compressed) name at `at`; returns it and the offset after it in the packet.
fn read_name(pkt: &[u8], mut at: usize) -> Result<(String, usize), &'static str> {
    let mut name = String::new();
    let mut end = None;
    let mut jumps = 0;
    loop {
        let len = *pkt.get(at).ok_or("truncated name")? as usize;
        match len & 0xC0 {
            0x00 if len == 0 => {
                return Ok((name, end.unwrap_or(at + 1)));
            }
            0x00 => {
                let label = pkt.get(at + 1..at + 1 + len).ok_or("truncated label")?;
                if name.len() + len + 1 > MAX_NAME {
                    return Err("name too long");
                }
                if !name.is_empty() {
                    name.push('.');
                }
                name.extend(label.iter().map(|b| b.to_ascii_lowercase() as char));
                at += 1 + len;
            }
            0xC0 => {
                let low = *pkt.get(at + 1).ok_or("truncated pointer")? as usize;
                jumps += 1;
                if jumps > MAX_JUMPS {
                    return Err("compression loop");
                }
                end.get_or_insert(at + 2);
                at = ((len & 0x3F) << 8) | low;
            }
            _ => return Err("bad label type"),
        }
    }
}

/// The answer to `query` (whose question is `q`): an A record with `ip` for type A, no records
/// (NOERROR/NODATA) for any other type — the name exists, it just has no such record.
pub fn build_answer(query: &[u8], q: &Question, ip: Ipv4Addr) -> Vec<u8> {
    let with_record = q.qtype == TYPE_A;
    let mut out = Vec::with_capacity(q.end + 16);
    out.extend_from_slice(&query[..2]); // id
    out.push(0x80 | 0x04 | (query[2] & 0x01)); // QR, AA, RD copied (opcode 0)
    out.push(0x80); // RA, rcode 0
    out.extend_from_slice(&[0, 1, 0, with_record as u8, 0, 0, 0, 0]);
    out.extend_from_slice(&query[HEADER..q.end]);
    if with_record {
        out.extend_from_slice(&[0xC0, 0x0C]); // the name of the question
        out.extend_from_slice(&TYPE_A.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out.extend_from_slice(&TTL_SECS.to_be_bytes());
        out.extend_from_slice(&4u16.to_be_bytes());
        out.extend_from_slice(&ip.octets());
    }
    out
}

/// The shim's own answer to `pkt`, if it is about one of `names`.
pub fn local_answer(pkt: &[u8], names: &[&str], ip: Ipv4Addr) -> Option<Vec<u8>> {
    let q = parse_query(pkt).ok()?;
    let name = q.name.strip_suffix('.').unwrap_or(&q.name);
    (q.qclass == CLASS_IN && names.contains(&name)).then(|| build_answer(pkt, &q, ip))
}

struct Shim {
    names: &'static [&'static str],
    gateway: Ipv4Addr,
    upstream: SocketAddr,
}

/// Binds UDP (and TCP, best effort) on `listen` and serves in background threads. Returns the bound
/// address (its port matters when `listen` asks for port 0, in tests).
pub fn start(
    listen: SocketAddr,
    upstream: SocketAddr,
    gateway: Ipv4Addr,
    names: &'static [&'static str],
) -> std::io::Result<SocketAddr> {
    let udp = UdpSocket::bind(listen)?;
    let bound = udp.local_addr()?;
    let shim = Arc::new(Shim {
        names,
        gateway,
        upstream,
    });
    let s = shim.clone();
    crate::sys::spawn("dns-udp", move || serve_udp(&s, udp));
    match TcpListener::bind(bound) {
        Ok(tcp) => {
            crate::sys::spawn("dns-tcp", move || serve_tcp(&shim, tcp));
        }
        Err(e) => log!("dns: no TCP listener on {bound}: {e}"),
    }
    Ok(bound)
}

/// Decrements an in-flight counter when a relay ends, however it ends.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(counter: &Arc<AtomicUsize>, max: usize) -> Option<Slot> {
        if counter.fetch_add(1, Ordering::SeqCst) >= max {
            counter.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(Slot(counter.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn serve_udp(shim: &Arc<Shim>, sock: UdpSocket) {
    let inflight = Arc::new(AtomicUsize::new(0));
    let mut buf = vec![0u8; 65535];
    loop {
        let (n, client) = match sock.recv_from(&mut buf) {
            Ok(r) => r,
            Err(_) => continue,
        };
        let query = &buf[..n];
        if let Some(answer) = local_answer(query, shim.names, shim.gateway) {
            let _ = sock.send_to(&answer, client);
            continue;
        }
        let Some(slot) = Slot::take(&inflight, MAX_UDP_INFLIGHT) else {
            continue;
        }; // client retries
        let (Ok(reply_sock), query) = (sock.try_clone(), query.to_vec()) else {
            continue;
        };
        let upstream = shim.upstream;
        crate::sys::spawn("dns-relay", move || {
            let _slot = slot;
            if let Some(answer) = relay_udp(&query, upstream) {
                let _ = reply_sock.send_to(&answer, client);
            }
        });
    }
}

/// Sends `query` upstream and waits (bounded, one retry) for the reply with the same id.
fn relay_udp(query: &[u8], upstream: SocketAddr) -> Option<Vec<u8>> {
    let bind: SocketAddr = if upstream.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        "[::]:0".parse().ok()?
    };
    let sock = UdpSocket::bind(bind).ok()?;
    sock.connect(upstream).ok()?;
    sock.set_read_timeout(Some(UPSTREAM_TIMEOUT)).ok()?;
    let mut buf = vec![0u8; 65535];
    for _ in 0..2 {
        sock.send(query).ok()?;
        while let Ok(n) = sock.recv(&mut buf) {
            if n >= 2 && buf[..2] == query[..2] {
                return Some(buf[..n].to_vec());
            }
        }
    }
    None
}

fn serve_tcp(shim: &Arc<Shim>, listener: TcpListener) {
    let clients = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let Some(slot) = Slot::take(&clients, MAX_TCP_CLIENTS) else {
            continue;
        };
        let shim = shim.clone();
        crate::sys::spawn("dns-tcp-client", move || {
            let _slot = slot;
            serve_tcp_client(&shim, conn);
        });
    }
}

fn read_frame(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).ok()?;
    let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut msg).ok()?;
    Some(msg)
}

fn write_frame(s: &mut TcpStream, msg: &[u8]) -> Option<()> {
    let len = u16::try_from(msg.len()).ok()?;
    let mut frame = Vec::with_capacity(msg.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(msg);
    s.write_all(&frame).ok()
}

fn serve_tcp_client(shim: &Shim, mut conn: TcpStream) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = conn.set_write_timeout(Some(Duration::from_secs(10)));
    while let Some(query) = read_frame(&mut conn) {
        let answer = match local_answer(&query, shim.names, shim.gateway) {
            Some(a) => a,
            None => match relay_tcp(&query, shim.upstream) {
                Some(a) => a,
                None => return,
            },
        };
        if write_frame(&mut conn, &answer).is_none() {
            return;
        }
    }
}

fn relay_tcp(query: &[u8], upstream: SocketAddr) -> Option<Vec<u8>> {
    let mut up = TcpStream::connect_timeout(&upstream, UPSTREAM_TIMEOUT).ok()?;
    up.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    up.set_write_timeout(Some(Duration::from_secs(5))).ok()?;
    write_frame(&mut up, query)?;
    read_frame(&mut up)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: &[&str] = &["host.docker.internal", "host.berth.internal"];
    const GW: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);

    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut q = vec![0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in name.split('.') {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.push(0);
        q.extend_from_slice(&qtype.to_be_bytes());
        q.extend_from_slice(&CLASS_IN.to_be_bytes());
        q
    }

    #[test]
    fn answers_host_names_with_the_gateway() {
        let q = query("Host.Docker.Internal", TYPE_A);
        let a = local_answer(&q, NAMES, GW).unwrap();
        assert_eq!(&a[..2], &[0xAB, 0xCD]);
        assert_eq!(a[2], 0x85); // QR AA RD
        assert_eq!(&a[4..8], &[0, 1, 0, 1]);
        assert_eq!(&a[12..q.len()], &q[12..]);
        assert_eq!(&a[a.len() - 4..], &[10, 0, 2, 2]);
        assert_eq!(a.len(), q.len() + 16);
        let aaaa = local_answer(&query("host.berth.internal", 28), NAMES, GW).unwrap();
        assert_eq!(&aaaa[6..8], &[0, 0]); // NODATA
        assert!(local_answer(&query("example.com", TYPE_A), NAMES, GW).is_none());
    }

    #[test]
    fn hostile_packets_are_rejected_without_panics() {
        let q = query("host.docker.internal", TYPE_A);
        for n in 0..q.len() {
            assert!(local_answer(&q[..n], NAMES, GW).is_none(), "prefix {n}");
        }
        let mut looped = q[..12].to_vec();
        looped.extend_from_slice(&[0xC0, 0x0C, 0, 1, 0, 1]);
        assert_eq!(parse_query(&looped), Err("compression loop"));
        let mut many = q.clone();
        many[4] = 0xFF;
        many[5] = 0xFF;
        assert!(parse_query(&many).is_err());
        let mut long = q[..12].to_vec();
        for _ in 0..10 {
            long.push(63);
            long.extend_from_slice(&[b'a'; 63]);
        }
        long.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert_eq!(parse_query(&long), Err("name too long"));
        let mut answer = q.clone();
        answer[2] |= 0x80;
        assert!(parse_query(&answer).is_err());
        let mut pointer_out = q[..12].to_vec();
        pointer_out.extend_from_slice(&[0xFF, 0xFF, 0, 1, 0, 1]);
        assert!(parse_query(&pointer_out).is_err());
        // Pseudo-random junk.
        let mut x = 0x2545F4914F6CDD1Du64;
        for _ in 0..20_000 {
            let len = (x % 80) as usize;
            let pkt: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if x & 7 == 0 {
                        0xC0
                    } else {
                        x as u8
                    }
                })
                .collect();
            let _ = local_answer(&pkt, NAMES, GW);
        }
    }

    #[test]
    fn relays_other_names_over_udp_and_tcp() {
        let upstream = UdpSocket::bind("127.0.0.1:0").unwrap();
        let up_addr = upstream.local_addr().unwrap();
        let up_tcp = TcpListener::bind(up_addr).unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            let (n, from) = upstream.recv_from(&mut buf).unwrap();
            let mut reply = buf[..n].to_vec();
            reply[2] |= 0x80;
            upstream.send_to(&reply, from).unwrap();
        });
        std::thread::spawn(move || {
            let (mut s, _) = up_tcp.accept().unwrap();
            let mut q = read_frame(&mut s).unwrap();
            q[2] |= 0x80;
            write_frame(&mut s, &q).unwrap();
        });
        let shim = start("127.0.0.1:0".parse().unwrap(), up_addr, GW, NAMES).unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let q = query("example.com", TYPE_A);
        client.send_to(&q, shim).unwrap();
        let mut buf = [0u8; 512];
        let n = client.recv(&mut buf).unwrap();
        assert_eq!(&buf[..2], &q[..2]);
        assert_eq!(buf[2] & 0x80, 0x80);
        assert_eq!(n, q.len());
        client
            .send_to(&query("host.docker.internal", TYPE_A), shim)
            .unwrap();
        let n = client.recv(&mut buf).unwrap();
        assert_eq!(&buf[n - 4..n], &[10, 0, 2, 2]);
        let mut tcp = TcpStream::connect(shim).unwrap();
        write_frame(&mut tcp, &q).unwrap();
        let reply = read_frame(&mut tcp).unwrap();
        assert_eq!(reply[2] & 0x80, 0x80);
    }
}
