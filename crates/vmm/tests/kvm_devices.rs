//! virtio-rng and virtio-balloon driven by guest code on the host's /dev/kvm: the guest programs the
//! virtio-mmio registers and notifies; its rings were laid out in guest memory by the test, as a driver
//! would. Each test skips with a printed reason when /dev/kvm cannot be opened.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use std::sync::{Arc, Mutex};

use berth_vmm::arch::x86_64::{layout, regs};
use berth_vmm::bus::IoBuses;
use berth_vmm::devices::irq::CountingIrq;
use berth_vmm::devices::virtio::balloon::{Balloon, F_REPORTING};
use berth_vmm::devices::virtio::rng::Rng;
use berth_vmm::hypervisor::kvm::KvmHypervisor;
use berth_vmm::hypervisor::{Hypervisor, VmExit};
use berth_vmm::virtio_mmio::registers::*;
use berth_vmm::virtio_mmio::{MmioTransport, VirtioDevice, VirtioInterrupt};
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

fn kvm_or_skip(test: &str) -> Option<KvmHypervisor> {
    match KvmHypervisor::new() {
        Ok(h) => Some(h),
        Err(e) => {
            eprintln!("SKIPPED {test}: {e}");
            None
        }
    }
}

/// Guest code that drives the device at the first virtio-mmio slot (rbx holds its base).
struct Asm(Vec<u8>);

impl Asm {
    fn new() -> Self {
        let mut code = vec![0x48, 0xbb]; // mov rbx, imm64
        code.extend_from_slice(&layout::VIRTIO_MMIO_START.to_le_bytes());
        Asm(code)
    }
    /// mov dword [rbx + reg], value
    fn reg(mut self, reg: u64, value: u32) -> Self {
        match u8::try_from(reg).ok().filter(|r| *r < 0x80) {
            Some(r) => self.0.extend_from_slice(&[0xc7, 0x43, r]),
            None => {
                self.0.extend_from_slice(&[0xc7, 0x83]);
                self.0.extend_from_slice(&(reg as u32).to_le_bytes());
            }
        }
        self.0.extend_from_slice(&value.to_le_bytes());
        self
    }
    /// Reads the 32-bit (or zero-extended 16-bit) value at `addr` and writes it to `port`.
    fn out_mem(mut self, addr: u32, word: bool, port: u8) -> Self {
        if word {
            self.0.extend_from_slice(&[0x0f, 0xb7, 0x04, 0x25]); // movzx eax, word [addr]
        } else {
            self.0.extend_from_slice(&[0x8b, 0x04, 0x25]); // mov eax, [addr]
        }
        self.0.extend_from_slice(&addr.to_le_bytes());
        self.0.extend_from_slice(&[0xe7, port]); // out port, eax
        self
    }
    /// Negotiates `features` (plus VERSION_1) and sets up queue i at 0x10000 + 0x4000 * i, size 8.
    fn bring_up(self, features: u32, queues: u32) -> Self {
        let mut a = self
            .reg(REG_STATUS, STATUS_ACKNOWLEDGE)
            .reg(REG_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER)
            .reg(REG_DRIVER_FEATURES_SEL, 0)
            .reg(REG_DRIVER_FEATURES, features)
            .reg(REG_DRIVER_FEATURES_SEL, 1)
            .reg(REG_DRIVER_FEATURES, 1)
            .reg(
                REG_STATUS,
                STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK,
            );
        for q in 0..queues {
            let base = 0x10000 + 0x4000 * q;
            a = a
                .reg(REG_QUEUE_SEL, q)
                .reg(REG_QUEUE_NUM, 8)
                .reg(REG_QUEUE_DESC_LOW, base)
                .reg(REG_QUEUE_AVAIL_LOW, base + 0x1000)
                .reg(REG_QUEUE_USED_LOW, base + 0x2000)
                .reg(REG_QUEUE_READY, 1);
        }
        a.reg(
            REG_STATUS,
            STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK,
        )
    }
    fn hlt(mut self) -> Vec<u8> {
        self.0.push(0xf4);
        self.0
    }
}

/// Puts one device-writable buffer on queue `q` (laid out as in [`Asm::bring_up`]) as the driver would.
fn post_writable(mem: &GuestMemoryMmap, q: u64, addr: u64, len: u32) {
    let base = 0x10000 + 0x4000 * q;
    mem.write_obj(addr, GuestAddress(base)).unwrap();
    mem.write_obj(len, GuestAddress(base + 8)).unwrap();
    mem.write_obj(2u16, GuestAddress(base + 12)).unwrap(); // VIRTQ_DESC_F_WRITE
    mem.write_obj(0u16, GuestAddress(base + 0x1000 + 4)).unwrap(); // avail ring[0] = head 0
    mem.write_obj(1u16, GuestAddress(base + 0x1000 + 2)).unwrap(); // avail idx = 1
}

/// Runs `code` at 1 MiB in 64-bit mode with `device` at the first virtio-mmio slot; returns the port
/// writes (port, value) up to `hlt`.
fn run_guest(
    h: &KvmHypervisor,
    mem: &GuestMemoryMmap,
    code: &[u8],
    device: Box<dyn VirtioDevice>,
) -> Vec<(u16, u64)> {
    let entry = layout::HIGH_MEMORY_START;
    mem.write_slice(code, GuestAddress(entry)).unwrap();
    let vm = h.create_vm().unwrap();
    vm.set_memory(mem).unwrap();
    let mut vcpu = vm.create_vcpu(0).unwrap();
    regs::setup_long_mode(vcpu.as_ref(), mem, entry).unwrap();
    let interrupt = Arc::new(VirtioInterrupt::new(Arc::new(CountingIrq::default())));
    let transport = MmioTransport::new(device, mem.clone(), interrupt);
    let mut buses = IoBuses::default();
    let t = Arc::new(Mutex::new(transport));
    buses
        .mmio
        .insert(layout::VIRTIO_MMIO_START, layout::VIRTIO_MMIO_SIZE, t)
        .unwrap();
    let mut outs = Vec::new();
    for _ in 0..256 {
        match vcpu.run(&buses).unwrap() {
            VmExit::IoOut { port, data } => outs.push((port, data.value())),
            VmExit::Hlt => return outs,
            VmExit::MmioRead { .. } | VmExit::MmioWrite { .. } => {}
            other => panic!("unexpected exit {other:?} after {outs:?}"),
        }
    }
    panic!("guest did not halt: {outs:?}");
}

fn memory() -> GuestMemoryMmap {
    GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 4 << 20)]).unwrap()
}

#[test]
fn guest_code_gets_random_bytes_from_virtio_rng() {
    let Some(h) = kvm_or_skip("virtio_rng_guest") else {
        return;
    };
    let mem = memory();
    post_writable(&mem, 0, 0x30000, 64);
    let code = Asm::new()
        .bring_up(0, 1)
        .reg(REG_QUEUE_NOTIFY, 0)
        .out_mem(0x12002, true, 0x10) // used idx
        .out_mem(0x12008, false, 0x11) // used[0].len
        .out_mem(0x30000, false, 0x12) // the first random bytes, read by the guest
        .hlt();
    let outs = run_guest(&h, &mem, &code, Box::new(Rng::new()));
    let host_view: u32 = mem.read_obj(GuestAddress(0x30000)).unwrap();
    assert_eq!(outs, vec![(0x10, 1), (0x11, 64), (0x12, u64::from(host_view))]);
    let mut bytes = [0u8; 64];
    mem.read_slice(&mut bytes, GuestAddress(0x30000)).unwrap();
    assert!(bytes.iter().any(|b| *b != 0), "64 zero bytes from getrandom");
}

#[test]
fn a_free_page_report_from_guest_code_gives_memory_back_and_the_guest_then_reads_zeros() {
    let Some(h) = kvm_or_skip("virtio_balloon_guest") else {
        return;
    };
    let mem = memory();
    let (report, len) = (0x200000u64, 0x10000u32);
    mem.write_slice(&vec![0x5a; len as usize], GuestAddress(report))
        .unwrap();
    // Without the stats queue the reporting queue is queue 2.
    post_writable(&mem, 2, report, len);
    let balloon = Balloon::new(4, true).unwrap();
    let handle = balloon.handle();
    let code = Asm::new()
        .out_mem(report as u32 + 0x8000, false, 0x10) // the guest sees the data before
        .bring_up(F_REPORTING as u32, 3)
        .reg(REG_QUEUE_NOTIFY, 2)
        .out_mem(0x1a002, true, 0x11) // reporting queue's used idx
        .out_mem(report as u32 + 0x8000, false, 0x12) // and zeros after
        .hlt();
    let outs = run_guest(&h, &mem, &code, Box::new(balloon));
    assert_eq!(outs, vec![(0x10, 0x5a5a_5a5a), (0x11, 1), (0x12, 0)]);
    let counters = handle.status().counters;
    assert_eq!(
        (counters.reported_bytes, counters.released_bytes),
        (u64::from(len), u64::from(len))
    );
    assert_eq!(
        mem.read_obj::<u8>(GuestAddress(report + u64::from(len) - 1))
            .unwrap(),
        0
    );
}
