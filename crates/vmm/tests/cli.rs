//! The `berth-vmm` binary end to end with tiny ELF "kernels": flags in, console out, exit code out.
//! Tests needing KVM skip with a printed reason when /dev/kvm cannot be opened.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{kvm_usable, tiny_elf};

const BIN: &str = env!("CARGO_BIN_EXE_berth-vmm");

/// Waits for the VMM; kills it (by pid) and fails if it has not stopped within a generous bound.
fn wait(mut child: Child) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!("berth-vmm did not stop: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn vmm(kernel: &Path, console: &Path, extra: &[&str]) -> Output {
    let child = Command::new(BIN)
        .arg("--kernel")
        .arg(kernel)
        .arg("--console")
        .arg(console)
        .args(["--mem-mib", "64"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait(child)
}

#[test]
fn guest_prints_on_the_serial_console_and_resets_through_the_i8042_with_exit_0() {
    if !kvm_usable("serial_and_reset") {
        return;
    }
    #[rustfmt::skip]
    let code = [
        0x66, 0xba, 0xf8, 0x03, // mov dx, 0x3f8
        0xb0, b'O', 0xee,       // mov al, 'O'; out dx, al
        0xb0, b'K', 0xee,       // mov al, 'K'; out dx, al
        0xb0, b'\n', 0xee,      // mov al, '\n'; out dx, al
        0xb0, 0xfe, 0xe6, 0x64, // mov al, 0xfe; out 0x64, al (i8042 reset)
        0xf4, 0xeb, 0xfd,       // 1: hlt; jmp 1b
    ];
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("tiny.elf");
    std::fs::write(&kernel, tiny_elf(&code)).unwrap();
    let console = dir.path().join("console.log");
    // Two vCPUs: the second waits for a SIPI that never comes; the boot vCPU's reset ends the VM.
    let out = vmm(&kernel, &console, &["--cpus", "2"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(std::fs::read_to_string(&console).unwrap(), "OK\n");
}

#[test]
fn guest_triple_fault_exits_6_with_vcpu_state_logged() {
    if !kvm_usable("triple_fault") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("ud2.elf");
    std::fs::write(&kernel, tiny_elf(&[0x0f, 0x0b])).unwrap();
    let out = vmm(&kernel, &dir.path().join("console.log"), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains("triple fault") && stderr.contains("rip=0x100000"),
        "{stderr}"
    );
}

#[test]
fn unreadable_or_invalid_kernels_exit_5_with_a_message() {
    if !kvm_usable("bad_kernel") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk");
    std::fs::write(&junk, b"not a kernel at all").unwrap();
    let console = dir.path().join("console.log");
    let out = vmm(&junk, &console, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("is not a loadable x86_64 kernel"), "{stderr}");
    let out = vmm(&dir.path().join("missing"), &console, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("cannot open kernel"), "{stderr}");
}

#[test]
fn bad_flags_exit_2_and_out_of_range_values_exit_1_with_the_range() {
    let out = Command::new(BIN).arg("--kernel").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(BIN)
        .args(["--kernel", "/nonexistent", "--cpus", "0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("use 1 to 32"), "{stderr}");
}

#[test]
fn disks_and_vsock_get_mmio_slots_declared_on_the_kernel_command_line() {
    if !kvm_usable("virtio_slots") {
        return;
    }
    #[rustfmt::skip]
    let code = [
        0x66, 0xba, 0xf8, 0x03,             // mov dx, 0x3f8
        0xbe, 0x00, 0x00, 0x02, 0x00,       // mov esi, 0x20000 (command line)
        0x8a, 0x06,                         // 1: mov al, [rsi]
        0x84, 0xc0,                         // test al, al
        0x74, 0x06,                         // jz 2f
        0xee,                               // out dx, al
        0x48, 0xff, 0xc6,                   // inc rsi
        0xeb, 0xf4,                         // jmp 1b
        0xb0, b'\n', 0xee,                  // 2: newline
        0xbb, 0x08, 0x00, 0x00, 0xd0,       // mov ebx, 0xd000_0008 (slot 0 DeviceID)
        0x8b, 0x03, 0x04, b'A', 0xee,       // mov eax, [rbx]; add al, 'A'; out dx, al
        0x8b, 0x83, 0x00, 0x10, 0, 0,       // mov eax, [rbx + 0x1000] (slot 1)
        0x04, b'A', 0xee,
        0x8b, 0x83, 0x00, 0x20, 0, 0,       // slot 2
        0x04, b'A', 0xee,
        0x8b, 0x83, 0x00, 0x30, 0, 0,       // slot 3
        0x04, b'A', 0xee,
        0x8b, 0x83, 0x00, 0x40, 0, 0,       // slot 4
        0x04, b'A', 0xee,
        0xb0, b'\n', 0xee,
        0xb0, 0xfe, 0xe6, 0x64,             // i8042 reset
        0xf4, 0xeb, 0xfd,
    ];
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("tiny.elf");
    std::fs::write(&kernel, tiny_elf(&code)).unwrap();
    let (root, data) = (dir.path().join("root.img"), dir.path().join("data.img"));
    std::fs::write(&root, vec![0u8; 4096]).unwrap();
    std::fs::write(&data, vec![0u8; 8192]).unwrap();
    let uds = dir.path().join("vsock.sock");
    let console = dir.path().join("console.log");
    let root_flag = format!("{},ro", root.display());
    let out = vmm(
        &kernel,
        &console,
        &[
            "--cmdline",
            "console=ttyS0 reboot=k",
            "--disk",
            &root_flag,
            "--disk",
            data.to_str().unwrap(),
            "--vsock-uds",
            uds.to_str().unwrap(),
            "--balloon",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // Device ids 2 (blk), 2, 19 (vsock), 4 (rng, always there), 5 (balloon) printed as 'A' + id; IRQ 8 is the RTC's.
    assert_eq!(
        std::fs::read_to_string(&console).unwrap(),
        "console=ttyS0 reboot=k virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6 \
         virtio_mmio.device=4K@0xd0002000:7 virtio_mmio.device=4K@0xd0003000:9 \
         virtio_mmio.device=4K@0xd0004000:10\nCCTEF\n"
    );
    assert!(!uds.exists(), "the vsock socket is removed when the VM stops");
}

#[test]
fn unusable_disks_exit_1_with_what_to_fix() {
    if !kvm_usable("bad_disk") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("tiny.elf");
    std::fs::write(&kernel, tiny_elf(&[0xf4])).unwrap();
    let missing = dir.path().join("missing.img");
    let out = vmm(
        &kernel,
        &dir.path().join("console.log"),
        &["--disk", &format!("{},ro", missing.display())],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot open disk image") && stderr.contains("missing.img"),
        "{stderr}"
    );
}

#[test]
fn a_bad_net_mac_exits_2_and_an_unreachable_passt_exits_1_with_what_to_fix() {
    let out = Command::new(BIN)
        .args([
            "--kernel",
            "/nonexistent",
            "--net-passt",
            "/nonexistent.sock",
            "--net-mac",
            "01:02:03:04:05:06",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--net-mac") && stderr.contains("multicast"),
        "{stderr}"
    );
    if !kvm_usable("net_passt_missing") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let kernel = dir.path().join("tiny.elf");
    std::fs::write(&kernel, tiny_elf(&[0xf4])).unwrap();
    let sock = dir.path().join("passt.sock");
    let out = vmm(
        &kernel,
        &dir.path().join("console.log"),
        &["--net-passt", sock.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot connect to passt's socket") && stderr.contains("passt.sock"),
        "{stderr}"
    );
}
