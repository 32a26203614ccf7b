//! Tier-1 KVM plumbing: tiny hand-assembled guests on the host's /dev/kvm. Each test skips with a printed
//! reason when /dev/kvm cannot be opened; it never passes without running a guest.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use berth_vmm::arch::x86_64::{layout, regs};
use berth_vmm::bus::{BusDevice, IoBuses};
use berth_vmm::devices::irq::CountingIrq;
use berth_vmm::devices::I8042;
use berth_vmm::hypervisor::kvm::KvmHypervisor;
use berth_vmm::hypervisor::{ExitData, Hypervisor, Vcpu, Vm, VmExit};
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

/// Opens KVM, or prints why the test is skipped.
fn kvm_or_skip(test: &str) -> Option<KvmHypervisor> {
    match KvmHypervisor::new() {
        Ok(h) => Some(h),
        Err(e) => {
            eprintln!("SKIPPED {test}: {e}");
            None
        }
    }
}

/// A VM with 2 MiB of RAM holding `code` at `at`, and one vCPU.
fn vm_with_code(h: &KvmHypervisor, code: &[u8], at: u64) -> (Box<dyn Vm>, Box<dyn Vcpu>, GuestMemoryMmap) {
    let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 2 << 20)]).unwrap();
    mem.write_slice(code, GuestAddress(at)).unwrap();
    let vm = h.create_vm().unwrap();
    vm.set_memory(&mem).unwrap();
    let vcpu = vm.create_vcpu(0).unwrap();
    (vm, vcpu, mem)
}

/// Runs until `hlt`/shutdown (inclusive), returning every exit; fails after 64 exits.
fn run_to_stop(vcpu: &mut dyn Vcpu, ops: &IoBuses) -> Vec<VmExit> {
    let mut exits = Vec::new();
    for _ in 0..64 {
        let exit = vcpu.run(ops).unwrap();
        let stop = matches!(exit, VmExit::Hlt | VmExit::Shutdown | VmExit::Unknown(_));
        exits.push(exit);
        if stop {
            return exits;
        }
    }
    panic!("guest did not stop: {exits:?}");
}

fn real_mode(vcpu: &dyn Vcpu, rip: u64) {
    let mut s = vcpu.sregs().unwrap();
    s.cs.base = 0;
    s.cs.selector = 0;
    vcpu.set_sregs(&s).unwrap();
    vcpu.set_regs(&berth_vmm::hypervisor::StandardRegisters {
        rip,
        rflags: 2,
        ..Default::default()
    })
    .unwrap();
}

fn long_mode(vcpu: &dyn Vcpu, mem: &GuestMemoryMmap, rip: u64) {
    regs::setup_long_mode(vcpu, mem, rip).unwrap();
}

#[test]
fn real_mode_guest_adds_and_writes_the_sum_to_a_port() {
    let Some(h) = kvm_or_skip("real_mode_guest") else {
        return;
    };
    let code = [
        0xb0, 0x02, // mov al, 2
        0xb3, 0x03, // mov bl, 3
        0x00, 0xd8, // add al, bl
        0xe6, 0x10, // out 0x10, al
        0xf4, // hlt
    ];
    let (_vm, mut vcpu, _mem) = vm_with_code(&h, &code, 0x1000);
    real_mode(vcpu.as_ref(), 0x1000);
    let exits = run_to_stop(vcpu.as_mut(), &IoBuses::default());
    assert_eq!(
        exits,
        vec![
            VmExit::IoOut {
                port: 0x10,
                data: ExitData::new(&[5])
            },
            VmExit::Hlt
        ]
    );
    assert_eq!(vcpu.regs().unwrap().rip, 0x1000 + code.len() as u64);
}

#[test]
fn long_mode_guest_runs_64_bit_code_with_boot_registers() {
    let Some(h) = kvm_or_skip("long_mode_guest") else {
        return;
    };
    let code = [
        0x48, 0xb8, 0x02, 0, 0, 0, 0x01, 0, 0, 0, // mov rax, 0x1_0000_0002 (needs 64-bit mode)
        0x48, 0x83, 0xc0, 0x03, // add rax, 3
        0xe6, 0x10, // out 0x10, al       -> 5
        0x48, 0xc1, 0xe8, 0x20, // shr rax, 32
        0xe6, 0x11, // out 0x11, al       -> 1
        0x89, 0xf0, // mov eax, esi       (zero page pointer from the boot protocol)
        0xe7, 0x12, // out 0x12, eax
        0x48, 0x89, 0xe0, // mov rax, rsp
        0xe7, 0x13, // out 0x13, eax
        0xf4, // hlt
    ];
    let entry = layout::HIGH_MEMORY_START;
    let (_vm, mut vcpu, mem) = vm_with_code(&h, &code, entry);
    long_mode(vcpu.as_ref(), &mem, entry);
    let exits = run_to_stop(vcpu.as_mut(), &IoBuses::default());
    let zp = (layout::ZERO_PAGE_START as u32).to_le_bytes();
    let sp = (layout::BOOT_STACK_POINTER as u32).to_le_bytes();
    assert_eq!(
        exits,
        vec![
            VmExit::IoOut {
                port: 0x10,
                data: ExitData::new(&[5])
            },
            VmExit::IoOut {
                port: 0x11,
                data: ExitData::new(&[1])
            },
            VmExit::IoOut {
                port: 0x12,
                data: ExitData::new(&zp)
            },
            VmExit::IoOut {
                port: 0x13,
                data: ExitData::new(&sp)
            },
            VmExit::Hlt,
        ]
    );
    let s = vcpu.sregs().unwrap();
    assert_eq!(s.efer & regs::EFER_LMA, regs::EFER_LMA, "long mode active");
    assert_eq!(s.cs.l, 1);
}

/// Records MMIO writes and answers reads with a fixed value.
struct Register {
    writes: Vec<(u64, Vec<u8>)>,
}

impl BusDevice for Register {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        let v = 0xcafe_0000u32 | offset as u32;
        data.copy_from_slice(&v.to_le_bytes()[..data.len()]);
    }
    fn write(&mut self, offset: u64, data: &[u8]) {
        self.writes.push((offset, data.to_vec()));
    }
}

#[test]
fn mmio_writes_and_reads_outside_ram_reach_the_bus() {
    let Some(h) = kvm_or_skip("mmio_guest") else {
        return;
    };
    let code = [
        0x48, 0xbb, 0x00, 0x00, 0x00, 0xd0, 0, 0, 0, 0, // mov rbx, 0xd000_0000
        0xc7, 0x03, 0x34, 0x12, 0x00, 0x00, // mov dword [rbx], 0x1234
        0x8b, 0x43, 0x04, // mov eax, [rbx + 4]
        0xe7, 0x10, // out 0x10, eax
        0xf4, // hlt
    ];
    let entry = layout::HIGH_MEMORY_START;
    let (_vm, mut vcpu, mem) = vm_with_code(&h, &code, entry);
    long_mode(vcpu.as_ref(), &mem, entry);
    let dev = Arc::new(Mutex::new(Register { writes: Vec::new() }));
    let mut buses = IoBuses::default();
    buses
        .mmio
        .insert(layout::VIRTIO_MMIO_START, 0x1000, dev.clone())
        .unwrap();
    let exits = run_to_stop(vcpu.as_mut(), &buses);
    assert_eq!(
        exits,
        vec![
            VmExit::MmioWrite {
                addr: 0xd000_0000,
                data: ExitData::new(&0x1234u32.to_le_bytes())
            },
            VmExit::MmioRead {
                addr: 0xd000_0004,
                len: 4
            },
            VmExit::IoOut {
                port: 0x10,
                data: ExitData::new(&0xcafe_0004u32.to_le_bytes())
            },
            VmExit::Hlt,
        ]
    );
    assert_eq!(
        dev.lock().unwrap().writes,
        vec![(0, 0x1234u32.to_le_bytes().to_vec())]
    );
}

#[test]
fn i8042_reset_from_guest_code_reaches_the_device() {
    let Some(h) = kvm_or_skip("i8042_guest") else {
        return;
    };
    let code = [
        0xb0, 0xfe, // mov al, 0xfe
        0xe6, 0x64, // out 0x64, al
        0xf4, // hlt
    ];
    let (_vm, mut vcpu, _mem) = vm_with_code(&h, &code, 0x1000);
    real_mode(vcpu.as_ref(), 0x1000);
    let resets = Arc::new(AtomicU32::new(0));
    let r = resets.clone();
    let mut buses = IoBuses::default();
    let i8042 = I8042::new(
        Box::new(move || {
            r.fetch_add(1, Ordering::SeqCst);
        }),
        Arc::new(CountingIrq::default()),
    );
    buses
        .pio
        .insert(
            u64::from(layout::I8042_PORT),
            u64::from(layout::I8042_PORT_LEN),
            Arc::new(Mutex::new(i8042)),
        )
        .unwrap();
    run_to_stop(vcpu.as_mut(), &buses);
    assert_eq!(resets.load(Ordering::SeqCst), 1);
}

#[test]
fn triple_fault_is_reported_as_shutdown() {
    let Some(h) = kvm_or_skip("triple_fault_guest") else {
        return;
    };
    // ud2 with an empty IDT: #UD -> #GP (no gate) -> #DF -> triple fault.
    let code = [0x0f, 0x0b];
    let entry = layout::HIGH_MEMORY_START;
    let (_vm, mut vcpu, mem) = vm_with_code(&h, &code, entry);
    long_mode(vcpu.as_ref(), &mem, entry);
    let exits = run_to_stop(vcpu.as_mut(), &IoBuses::default());
    assert_eq!(exits.last(), Some(&VmExit::Shutdown), "{exits:?}");
}

mod virtio_guest {
    use super::*;
    use berth_vmm::devices::irq::CountingIrq;
    use berth_vmm::virtio_mmio::{
        ActivateConfig, ActivateError, MmioTransport, VirtioDevice, VirtioInterrupt,
    };
    use virtio_queue::QueueT;

    /// (features, per queue: (size, desc, avail, used) if enabled).
    type Activation = (u64, Vec<Option<(u16, u64, u64, u64)>>);

    #[derive(Default)]
    struct Seen {
        activated: Option<Activation>,
        notified: Vec<u16>,
    }

    /// A device that records what the transport hands it and answers a notification with a used-buffer
    /// interrupt.
    struct Probe {
        seen: Arc<Mutex<Seen>>,
        interrupt: Option<Arc<VirtioInterrupt>>,
    }

    impl VirtioDevice for Probe {
        fn device_type(&self) -> u32 {
            4
        }
        fn device_features(&self) -> u64 {
            0
        }
        fn queue_max_sizes(&self) -> &[u16] {
            &[64]
        }
        fn read_config(&self, _offset: u64, data: &mut [u8]) {
            data.fill(0);
        }
        fn write_config(&mut self, _offset: u64, _data: &[u8]) {}
        fn activate(&mut self, c: ActivateConfig) -> Result<(), ActivateError> {
            let queues = c
                .queues
                .iter()
                .map(|q| {
                    q.as_ref()
                        .map(|q| (q.size(), q.desc_table(), q.avail_ring(), q.used_ring()))
                })
                .collect();
            self.seen.lock().unwrap().activated = Some((c.features, queues));
            self.interrupt = Some(c.interrupt);
            Ok(())
        }
        fn queue_notify(&mut self, queue: u16) {
            self.seen.lock().unwrap().notified.push(queue);
            if let Some(i) = &self.interrupt {
                i.signal_used_queue().unwrap();
            }
        }
        fn reset(&mut self) {}
    }

    #[test]
    fn guest_code_negotiates_sets_up_a_queue_and_notifies_through_the_transport() {
        let Some(h) = kvm_or_skip("virtio_mmio_guest") else {
            return;
        };
        #[rustfmt::skip]
        let code: Vec<u8> = vec![
            0x48, 0xbb, 0x00, 0x00, 0x00, 0xd0, 0, 0, 0, 0,   // mov rbx, 0xd000_0000
            0x8b, 0x03, 0xe7, 0x10,                           // mov eax, [rbx] (magic); out 0x10, eax
            0x8b, 0x43, 0x08, 0xe7, 0x11,                     // mov eax, [rbx+8] (device id); out 0x11, eax
            0xc7, 0x43, 0x70, 0x01, 0, 0, 0,                  // status = ACKNOWLEDGE
            0xc7, 0x43, 0x70, 0x03, 0, 0, 0,                  // status |= DRIVER
            0xc7, 0x43, 0x24, 0x01, 0, 0, 0,                  // DriverFeaturesSel = 1
            0xc7, 0x43, 0x20, 0x01, 0, 0, 0,                  // DriverFeatures = VERSION_1 (bit 32)
            0xc7, 0x43, 0x70, 0x0b, 0, 0, 0,                  // status |= FEATURES_OK
            0x8b, 0x43, 0x70, 0xe7, 0x12,                     // out 0x12, status
            0xc7, 0x43, 0x30, 0x00, 0, 0, 0,                  // QueueSel = 0
            0xc7, 0x43, 0x38, 0x08, 0, 0, 0,                  // QueueNum = 8
            0xc7, 0x83, 0x80, 0, 0, 0, 0x00, 0x00, 0x01, 0x00, // QueueDescLow = 0x10000
            0xc7, 0x83, 0x90, 0, 0, 0, 0x00, 0x10, 0x01, 0x00, // QueueDriverLow = 0x11000
            0xc7, 0x83, 0xa0, 0, 0, 0, 0x00, 0x20, 0x01, 0x00, // QueueDeviceLow = 0x12000
            0xc7, 0x43, 0x44, 0x01, 0, 0, 0,                  // QueueReady = 1
            0x8b, 0x43, 0x44, 0xe7, 0x13,                     // out 0x13, QueueReady
            0xc7, 0x43, 0x70, 0x0f, 0, 0, 0,                  // status |= DRIVER_OK
            0xc7, 0x43, 0x50, 0x00, 0, 0, 0,                  // QueueNotify = 0
            0x8b, 0x43, 0x60, 0xe7, 0x14,                     // out 0x14, InterruptStatus
            0xf4,                                             // hlt
        ];
        let entry = layout::HIGH_MEMORY_START;
        let (_vm, mut vcpu, mem) = vm_with_code(&h, &code, entry);
        long_mode(vcpu.as_ref(), &mem, entry);
        let seen = Arc::new(Mutex::new(Seen::default()));
        let irq = Arc::new(CountingIrq::default());
        let probe = Probe {
            seen: seen.clone(),
            interrupt: None,
        };
        let transport = MmioTransport::new(
            Box::new(probe),
            mem.clone(),
            Arc::new(VirtioInterrupt::new(irq.clone())),
        );
        let mut buses = IoBuses::default();
        buses
            .mmio
            .insert(
                layout::VIRTIO_MMIO_START,
                layout::VIRTIO_MMIO_SIZE,
                Arc::new(Mutex::new(transport)),
            )
            .unwrap();

        let outs: Vec<(u16, u64)> = run_to_stop(vcpu.as_mut(), &buses)
            .into_iter()
            .filter_map(|e| match e {
                VmExit::IoOut { port, data } => Some((port, data.value())),
                _ => None,
            })
            .collect();
        assert_eq!(
            outs,
            vec![(0x10, 0x7472_6976), (0x11, 4), (0x12, 0xb), (0x13, 1), (0x14, 1)]
        );
        let seen = seen.lock().unwrap();
        assert_eq!(
            seen.activated,
            Some((1 << 32, vec![Some((8, 0x10000, 0x11000, 0x12000))]))
        );
        assert_eq!(seen.notified, vec![0]);
        assert_eq!(irq.count(), 1);
    }
}

#[test]
fn queue_notify_writes_hit_the_ioeventfd_without_an_exit() {
    let Some(h) = kvm_or_skip("ioeventfd_notify") else {
        return;
    };
    #[rustfmt::skip]
    let code: Vec<u8> = vec![
        0x48, 0xbb, 0x00, 0x00, 0x00, 0xd0, 0, 0, 0, 0,   // mov rbx, 0xd000_0000
        0xc7, 0x43, 0x50, 0x01, 0, 0, 0,                  // QueueNotify = 1 (the registered queue)
        0xc7, 0x43, 0x50, 0x02, 0, 0, 0,                  // QueueNotify = 2 (no ioeventfd: an MMIO exit)
        0xf4,                                             // hlt
    ];
    let entry = layout::HIGH_MEMORY_START;
    let (vm, mut vcpu, mem) = vm_with_code(&h, &code, entry);
    long_mode(vcpu.as_ref(), &mem, entry);
    let fd = vmm_sys_util::eventfd::EventFd::new(vmm_sys_util::eventfd::EFD_NONBLOCK).unwrap();
    let notify = layout::VIRTIO_MMIO_START + berth_vmm::virtio_mmio::registers::REG_QUEUE_NOTIFY;
    vm.register_ioeventfd(&fd, notify, Some(1)).unwrap();
    let exits = run_to_stop(vcpu.as_mut(), &IoBuses::default());
    assert_eq!(
        exits,
        vec![
            VmExit::MmioWrite {
                addr: notify,
                data: ExitData::new(&[2, 0, 0, 0])
            },
            VmExit::Hlt
        ]
    );
    assert_eq!(fd.read().unwrap(), 1, "queue 1's kick went to its eventfd");
}
