//! Pausing a real vCPU: a guest that counts in memory forever, without ever exiting to the VMM, run by
//! berth-vmm's vCPU loop. While paused the count stands still; after resume it moves; stop ends the loop.
//! Skips with a printed reason when /dev/kvm cannot be opened.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use std::time::Duration;

use berth_vmm::arch::x86_64::{layout, regs};
use berth_vmm::bus::IoBuses;
use berth_vmm::hypervisor::kvm::KvmHypervisor;
use berth_vmm::hypervisor::Hypervisor;
use berth_vmm::machine::{run_vcpu, StopReason};
use berth_vmm::vcpu_control::{RunState, VcpuControl};
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

const COUNTER: u64 = 0x18_0000;

fn count(mem: &GuestMemoryMmap) -> u64 {
    mem.read_obj(GuestAddress(COUNTER)).unwrap()
}

/// Polls (bounded, not timed) until `f` holds.
fn eventually(what: &str, f: impl Fn() -> bool) {
    for _ in 0..30_000 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("never happened: {what}");
}

#[test]
fn a_paused_vcpu_runs_no_guest_code_until_resumed_and_stop_ends_its_loop() {
    let h = match KvmHypervisor::new() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("SKIPPED kvm_pause: {e}");
            return;
        }
    };
    #[rustfmt::skip]
    let code = [
        0x48, 0xff, 0x04, 0x25, 0x00, 0x00, 0x18, 0x00, // 1: inc qword [0x180000]
        0xeb, 0xf6,                                     // jmp 1b
    ];
    let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 2 << 20)]).unwrap();
    let entry = layout::HIGH_MEMORY_START;
    mem.write_slice(&code, GuestAddress(entry)).unwrap();
    let vm = h.create_vm().unwrap();
    vm.set_memory(&mem).unwrap();
    let mut vcpu = vm.create_vcpu(0).unwrap();
    regs::setup_long_mode(vcpu.as_ref(), &mem, entry).unwrap();
    let control = VcpuControl::new().unwrap();
    let thread = {
        let control = control.clone();
        std::thread::spawn(move || run_vcpu(0, vcpu.as_mut(), &IoBuses::default(), &control))
    };
    eventually("the guest counts", || count(&mem) > 0);

    control.pause(Duration::from_secs(10)).unwrap();
    assert_eq!(control.state(), RunState::Paused);
    let paused_at = count(&mem);
    // Give a running vCPU every chance to count on; a paused one cannot.
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(count(&mem), paused_at, "the guest ran while paused");

    control.resume();
    eventually("the guest counts again", || count(&mem) > paused_at);

    control.stop(Duration::from_secs(10));
    assert_eq!(thread.join().unwrap(), StopReason::Shutdown);
    assert_eq!(control.registered(), 0);
}
