//! The `berth-vmm` control socket end to end: a tiny guest that spins without ever exiting to the VMM,
//! paused (which needs the vCPU kicked out of KVM_RUN), resumed, ballooned and shut down (exit 0).
//! Skips with a printed reason when /dev/kvm cannot be opened.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod common;
use common::{kvm_usable, tiny_elf};

const BIN: &str = env!("CARGO_BIN_EXE_berth-vmm");

/// Kills the VMM by pid if a test fails while it runs.
struct Vmm(Option<Child>);

impl Drop for Vmm {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn call(path: &Path, request: Value) -> Value {
    let mut s = UnixStream::connect(path).unwrap();
    let mut line = request.to_string();
    line.push('\n');
    s.write_all(line.as_bytes()).unwrap();
    let mut answer = String::new();
    BufReader::new(s).read_line(&mut answer).unwrap();
    serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer:?}"))
}

#[test]
fn the_control_socket_pauses_resumes_balloons_and_shuts_down_with_exit_0() {
    if !kvm_usable("api_socket") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("spin.elf");
    std::fs::write(&kernel, tiny_elf(&[0xeb, 0xfe])).unwrap(); // 1: jmp 1b
    let sock = dir.path().join("api.sock");
    let child = Command::new(BIN)
        .arg("--kernel")
        .arg(&kernel)
        .arg("--console")
        .arg(dir.path().join("console.log"))
        .args(["--mem-mib", "64", "--cpus", "2", "--balloon", "--api-sock"])
        .arg(&sock)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut vmm = Vmm(Some(child));
    let start = Instant::now();
    while !sock.exists() {
        let c = vmm.0.as_mut().unwrap();
        assert!(
            c.try_wait().unwrap().is_none(),
            "berth-vmm exited before listening"
        );
        assert!(start.elapsed() < Duration::from_secs(60), "no control socket");
        std::thread::sleep(Duration::from_millis(10));
    }

    let s = call(&sock, json!({"op": "status"}));
    assert_eq!(s["ok"], true, "{s}");
    assert_eq!(
        (&s["state"], &s["vcpus"], &s["mem_mib"]),
        (&json!("running"), &json!(2), &json!(64))
    );
    assert_eq!(s["balloon"]["target_mib"], 0, "{s}");
    assert!(s["uptime_ms"].is_u64(), "{s}");

    // The boot vCPU spins in the guest and the other waits in KVM for a SIPI: both must be kicked out.
    let p = call(&sock, json!({"op": "pause"}));
    assert_eq!((&p["ok"], &p["state"]), (&json!(true), &json!("paused")), "{p}");
    assert_eq!(call(&sock, json!({"op": "status"}))["state"], "paused");
    let r = call(&sock, json!({"op": "resume"}));
    assert_eq!(r["state"], "running", "{r}");

    let b = call(&sock, json!({"op": "balloon", "target_mib": 8}));
    assert_eq!(
        (&b["ok"], &b["balloon"]["target_mib"]),
        (&json!(true), &json!(8)),
        "{b}"
    );
    let b = call(&sock, json!({"op": "balloon", "target_mib": 65}));
    assert_eq!(b["ok"], false, "{b}");
    assert!(b["error"].as_str().unwrap_or("").contains("use 0 to 64"), "{b}");

    let d = call(&sock, json!({"op": "shutdown"}));
    assert_eq!((&d["ok"], &d["state"]), (&json!(true), &json!("stopping")), "{d}");
    let mut child = vmm.0.take().unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("berth-vmm did not stop after shutdown");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!sock.exists(), "the control socket is removed");
}
