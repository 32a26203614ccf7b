//! The device against a real passt (Debian's `passt` package): an ARP request for the gateway goes
//! out through the TX queue and passt's reply arrives in an RX buffer. Only the socket in a temporary
//! folder is used; nothing leaves the machine. Skipped, with the reason printed, when passt is missing.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use vm_memory::{Bytes, GuestAddress};
use vmm_sys_util::epoll::{ControlOperation, Epoll, EpollEvent, EventSet};

use super::rx::NET_HDR_LEN;
use super::test_driver::{activate, received, BUF};
use super::*;

const GUEST_IP: [u8; 4] = [10, 0, 2, 15];
const GATEWAY_IP: [u8; 4] = [10, 0, 2, 2];

/// Stops passt by pid when the test ends, however it ends.
struct Passt(Child);

impl Drop for Passt {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn passt_installed() -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("passt").is_file()))
        .unwrap_or(false)
}

fn start_passt(dir: &Path, sock: &Path) -> Passt {
    // passt started as root switches to nobody before it creates its socket: the folder must be its.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(dir, Some(65534), Some(65534)).unwrap();
    }
    let child = Command::new("passt")
        .args(["-f", "-1", "-q", "-4", "-s"])
        .arg(sock)
        .args(["-a", "10.0.2.15", "-n", "24", "-g", "10.0.2.2"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut passt = Passt(child);
    for _ in 0..200 {
        if sock.exists() {
            return passt;
        }
        if let Ok(Some(status)) = passt.0.try_wait() {
            panic!("passt exited ({status}) before creating {}", sock.display());
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("passt did not create {}", sock.display());
}

fn arp_request(mac: MacAddr) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&mac.0);
    f.extend_from_slice(&[0x08, 0x06]); // ARP
    f.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]); // Ethernet/IPv4, request
    f.extend_from_slice(&mac.0);
    f.extend_from_slice(&GUEST_IP);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&GATEWAY_IP);
    f
}

fn is_arp_reply_for(frame: &[u8], mac: MacAddr) -> bool {
    frame.len() >= 42
        && frame[0..6] == mac.0
        && frame[12..14] == [0x08, 0x06]
        && frame[20..22] == [0, 2]
        && frame[28..32] == GATEWAY_IP
        && frame[32..38] == mac.0
        && frame[38..42] == GUEST_IP
}

#[test]
fn a_real_passt_answers_an_arp_request_for_the_gateway() {
    if !passt_installed() {
        eprintln!("skipped: passt is not installed (Debian package `passt`)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("passt.sock");
    let _passt = start_passt(dir.path(), &sock);
    let dev = Net::new(&NetConfig {
        passt_socket: sock.clone(),
        mac: DEFAULT_MAC,
    })
    .unwrap();
    let mut r = activate(dev, F_MRG_RXBUF);
    let mut addr_of = HashMap::new();
    for i in 0..8u64 {
        let head = r.rx.chain(&r.mem, &[(BUF + i * 0x1000, 4096, true)]);
        addr_of.insert(u32::from(head), BUF + i * 0x1000);
    }
    r.dev.queue_notify(RX_QUEUE as u16);

    let mut bytes = vec![0u8; NET_HDR_LEN];
    bytes.extend_from_slice(&arp_request(DEFAULT_MAC));
    let at = BUF + 0x10_0000;
    r.mem.write_slice(&bytes, GuestAddress(at)).unwrap();
    r.tx.chain(&r.mem, &[(at, bytes.len() as u32, false)]);
    r.dev.queue_notify(TX_QUEUE as u16);
    assert_eq!(r.tx.take_used(&r.mem).len(), 1);

    let ep = Epoll::new().unwrap();
    let fd = r.dev.backend_fd().unwrap();
    ep.ctl(ControlOperation::Add, fd, EpollEvent::new(EventSet::IN, 0))
        .unwrap();
    let mut frames = Vec::new();
    let mut answered = false;
    // Bounded rounds of "wait for the socket, then serve it"; not a timing assertion.
    for _ in 0..50 {
        let mut ev = [EpollEvent::default(); 1];
        if ep.wait(200, &mut ev).unwrap() == 1 {
            r.dev.handle_backend_event();
        }
        for (head, len) in r.rx.take_used(&r.mem) {
            let at = addr_of[&head];
            let (n, frame) = received(&r.mem, at, len);
            assert_eq!(n, 1, "a small frame takes one buffer");
            answered |= is_arp_reply_for(&frame, DEFAULT_MAC);
            frames.push(frame);
            let head = r.rx.chain(&r.mem, &[(at, 4096, true)]);
            addr_of.insert(u32::from(head), at);
        }
        r.dev.queue_notify(RX_QUEUE as u16);
        if answered {
            break;
        }
    }
    assert!(
        answered,
        "no ARP reply from passt among {} frames: {frames:02x?}",
        frames.len()
    );
    assert!(r.dev.link_up());
}
