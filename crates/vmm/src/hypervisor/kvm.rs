//! The KVM backend (Linux), on `kvm-ioctls`.

use std::sync::{Arc, Mutex};

use kvm_bindings::{
    kvm_cpuid_entry2, kvm_dtable, kvm_msr_entry, kvm_pit_config, kvm_segment, kvm_userspace_memory_region,
    CpuId, Msrs, KVM_MAX_CPUID_ENTRIES, KVM_PIT_SPEAKER_DUMMY, KVM_SYSTEM_EVENT_RESET,
    KVM_SYSTEM_EVENT_SHUTDOWN,
};
use kvm_ioctls::{IoEventAddress, Kvm, NoDatamatch, VcpuExit, VcpuFd, VmFd};
use vm_memory::{GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion, MemoryRegionAddress};
use vmm_sys_util::eventfd::EventFd;

use super::{
    CpuIdEntry, DescriptorTable, ExitData, FpuState, Hypervisor, HypervisorError, LapicState, MsrEntry,
    Result, SegmentRegister, SpecialRegisters, StandardRegisters, Vcpu, Vm, VmExit, VmOps,
};
use crate::arch::x86_64::layout;

/// The KVM device node.
pub const KVM_PATH: &str = "/dev/kvm";

/// KVM on this host.
pub struct KvmHypervisor {
    kvm: Kvm,
}

impl KvmHypervisor {
    /// Opens `/dev/kvm` and checks the API version.
    pub fn new() -> Result<Self> {
        let kvm = Kvm::new().map_err(|e| HypervisorError::Open {
            path: KVM_PATH.to_string(),
            source: std::io::Error::from_raw_os_error(e.errno()),
        })?;
        let version = kvm.get_api_version();
        if version != 12 {
            return Err(HypervisorError::ApiVersion(version));
        }
        Ok(KvmHypervisor { kvm })
    }
}

impl Hypervisor for KvmHypervisor {
    fn create_vm(&self) -> Result<Box<dyn Vm>> {
        let fd = self
            .kvm
            .create_vm()
            .map_err(HypervisorError::call("KVM_CREATE_VM"))?;
        Ok(Box::new(KvmVm {
            fd: Arc::new(fd),
            memory: Mutex::new(Vec::new()),
        }))
    }

    fn supported_cpuid(&self) -> Result<Vec<CpuIdEntry>> {
        let cpuid = self
            .kvm
            .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
            .map_err(HypervisorError::call("KVM_GET_SUPPORTED_CPUID"))?;
        Ok(cpuid.as_slice().iter().map(cpuid_from_kvm).collect())
    }
}

/// A KVM VM.
pub struct KvmVm {
    fd: Arc<VmFd>,
    /// Memory mapped into the guest; kept alive as long as the VM.
    memory: Mutex<Vec<GuestMemoryMmap>>,
}

impl Vm for KvmVm {
    fn set_memory(&self, memory: &GuestMemoryMmap) -> Result<()> {
        let mut kept = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        let first_slot = kept.iter().map(|m| m.num_regions()).sum::<usize>();
        for (i, region) in memory.iter().enumerate() {
            let host =
                region
                    .get_host_address(MemoryRegionAddress(0))
                    .map_err(|_| HypervisorError::Call {
                        op: "KVM_SET_USER_MEMORY_REGION",
                        source: std::io::Error::other("guest memory region has no host mapping"),
                    })?;
            let mem_region = kvm_userspace_memory_region {
                slot: (first_slot + i) as u32,
                guest_phys_addr: region.start_addr().0,
                memory_size: region.len(),
                userspace_addr: host as u64,
                flags: 0,
            };
            // SAFETY: `host..host+len` is a live mapping owned by `region`; we keep a clone of `memory`
            // (which holds the region's Arc) in `self.memory` for as long as the VM exists, so the guest
            // never sees unmapped host memory.
            unsafe { self.fd.set_user_memory_region(mem_region) }
                .map_err(HypervisorError::call("KVM_SET_USER_MEMORY_REGION"))?;
        }
        kept.push(memory.clone());
        Ok(())
    }

    fn setup_irqchip(&self) -> Result<()> {
        self.fd
            .set_tss_address(layout::KVM_TSS_START as usize)
            .map_err(HypervisorError::call("KVM_SET_TSS_ADDR"))?;
        self.fd
            .create_irq_chip()
            .map_err(HypervisorError::call("KVM_CREATE_IRQCHIP"))?;
        let pit = kvm_pit_config {
            flags: KVM_PIT_SPEAKER_DUMMY,
            ..Default::default()
        };
        self.fd
            .create_pit2(pit)
            .map_err(HypervisorError::call("KVM_CREATE_PIT2"))?;
        Ok(())
    }

    fn create_vcpu(&self, id: u8) -> Result<Box<dyn Vcpu>> {
        let fd = self
            .fd
            .create_vcpu(u64::from(id))
            .map_err(HypervisorError::call("KVM_CREATE_VCPU"))?;
        Ok(Box::new(KvmVcpu { fd }))
    }

    fn register_irqfd(&self, fd: &EventFd, gsi: u32) -> Result<()> {
        self.fd
            .register_irqfd(fd, gsi)
            .map_err(HypervisorError::call("KVM_IRQFD"))
    }

    fn register_ioeventfd(&self, fd: &EventFd, addr: u64, datamatch: Option<u32>) -> Result<()> {
        let addr = IoEventAddress::Mmio(addr);
        match datamatch {
            Some(v) => self.fd.register_ioevent(fd, &addr, v),
            None => self.fd.register_ioevent(fd, &addr, NoDatamatch),
        }
        .map_err(HypervisorError::call("KVM_IOEVENTFD"))
    }
}

/// A KVM vCPU.
pub struct KvmVcpu {
    fd: VcpuFd,
}

impl Vcpu for KvmVcpu {
    fn regs(&self) -> Result<StandardRegisters> {
        let r = self
            .fd
            .get_regs()
            .map_err(HypervisorError::call("KVM_GET_REGS"))?;
        Ok(StandardRegisters {
            rax: r.rax,
            rbx: r.rbx,
            rcx: r.rcx,
            rdx: r.rdx,
            rsi: r.rsi,
            rdi: r.rdi,
            rsp: r.rsp,
            rbp: r.rbp,
            r8: r.r8,
            r9: r.r9,
            r10: r.r10,
            r11: r.r11,
            r12: r.r12,
            r13: r.r13,
            r14: r.r14,
            r15: r.r15,
            rip: r.rip,
            rflags: r.rflags,
        })
    }

    fn set_regs(&self, r: &StandardRegisters) -> Result<()> {
        let k = kvm_bindings::kvm_regs {
            rax: r.rax,
            rbx: r.rbx,
            rcx: r.rcx,
            rdx: r.rdx,
            rsi: r.rsi,
            rdi: r.rdi,
            rsp: r.rsp,
            rbp: r.rbp,
            r8: r.r8,
            r9: r.r9,
            r10: r.r10,
            r11: r.r11,
            r12: r.r12,
            r13: r.r13,
            r14: r.r14,
            r15: r.r15,
            rip: r.rip,
            rflags: r.rflags,
        };
        self.fd
            .set_regs(&k)
            .map_err(HypervisorError::call("KVM_SET_REGS"))
    }

    fn sregs(&self) -> Result<SpecialRegisters> {
        let s = self
            .fd
            .get_sregs()
            .map_err(HypervisorError::call("KVM_GET_SREGS"))?;
        Ok(SpecialRegisters {
            cs: seg_from_kvm(&s.cs),
            ds: seg_from_kvm(&s.ds),
            es: seg_from_kvm(&s.es),
            fs: seg_from_kvm(&s.fs),
            gs: seg_from_kvm(&s.gs),
            ss: seg_from_kvm(&s.ss),
            tr: seg_from_kvm(&s.tr),
            ldt: seg_from_kvm(&s.ldt),
            gdt: DescriptorTable {
                base: s.gdt.base,
                limit: s.gdt.limit,
            },
            idt: DescriptorTable {
                base: s.idt.base,
                limit: s.idt.limit,
            },
            cr0: s.cr0,
            cr2: s.cr2,
            cr3: s.cr3,
            cr4: s.cr4,
            cr8: s.cr8,
            efer: s.efer,
            apic_base: s.apic_base,
        })
    }

    fn set_sregs(&self, r: &SpecialRegisters) -> Result<()> {
        // Start from KVM's view so fields we do not model (the pending-interrupt bitmap) survive.
        let mut s = self
            .fd
            .get_sregs()
            .map_err(HypervisorError::call("KVM_GET_SREGS"))?;
        s.cs = seg_to_kvm(&r.cs);
        s.ds = seg_to_kvm(&r.ds);
        s.es = seg_to_kvm(&r.es);
        s.fs = seg_to_kvm(&r.fs);
        s.gs = seg_to_kvm(&r.gs);
        s.ss = seg_to_kvm(&r.ss);
        s.tr = seg_to_kvm(&r.tr);
        s.ldt = seg_to_kvm(&r.ldt);
        s.gdt = kvm_dtable {
            base: r.gdt.base,
            limit: r.gdt.limit,
            ..Default::default()
        };
        s.idt = kvm_dtable {
            base: r.idt.base,
            limit: r.idt.limit,
            ..Default::default()
        };
        s.cr0 = r.cr0;
        s.cr2 = r.cr2;
        s.cr3 = r.cr3;
        s.cr4 = r.cr4;
        s.cr8 = r.cr8;
        s.efer = r.efer;
        s.apic_base = r.apic_base;
        self.fd
            .set_sregs(&s)
            .map_err(HypervisorError::call("KVM_SET_SREGS"))
    }

    fn set_fpu(&self, fpu: &FpuState) -> Result<()> {
        let k = kvm_bindings::kvm_fpu {
            fcw: fpu.fcw,
            mxcsr: fpu.mxcsr,
            ..Default::default()
        };
        self.fd.set_fpu(&k).map_err(HypervisorError::call("KVM_SET_FPU"))
    }

    fn set_cpuid(&self, entries: &[CpuIdEntry]) -> Result<()> {
        let kvm_entries: Vec<kvm_cpuid_entry2> = entries.iter().map(cpuid_to_kvm).collect();
        let cpuid = CpuId::from_entries(&kvm_entries).map_err(|_| HypervisorError::TooMany {
            op: "KVM_SET_CPUID2",
            given: entries.len(),
            limit: KVM_MAX_CPUID_ENTRIES,
        })?;
        self.fd
            .set_cpuid2(&cpuid)
            .map_err(HypervisorError::call("KVM_SET_CPUID2"))
    }

    fn set_msrs(&self, msrs: &[MsrEntry]) -> Result<()> {
        let entries: Vec<kvm_msr_entry> = msrs
            .iter()
            .map(|m| kvm_msr_entry {
                index: m.index,
                data: m.data,
                ..Default::default()
            })
            .collect();
        let kvm_msrs = Msrs::from_entries(&entries).map_err(|_| HypervisorError::TooMany {
            op: "KVM_SET_MSRS",
            given: msrs.len(),
            limit: kvm_bindings::KVM_MAX_MSR_ENTRIES,
        })?;
        let accepted = self
            .fd
            .set_msrs(&kvm_msrs)
            .map_err(HypervisorError::call("KVM_SET_MSRS"))?;
        if accepted != msrs.len() {
            return Err(HypervisorError::Partial {
                op: "KVM_SET_MSRS",
                accepted,
                given: msrs.len(),
            });
        }
        Ok(())
    }

    fn lapic(&self) -> Result<LapicState> {
        let k = self
            .fd
            .get_lapic()
            .map_err(HypervisorError::call("KVM_GET_LAPIC"))?;
        let mut state = LapicState::default();
        for (dst, src) in state.regs.iter_mut().zip(k.regs.iter()) {
            *dst = *src as u8;
        }
        Ok(state)
    }

    fn set_lapic(&self, lapic: &LapicState) -> Result<()> {
        let mut k = kvm_bindings::kvm_lapic_state::default();
        for (dst, src) in k.regs.iter_mut().zip(lapic.regs.iter()) {
            *dst = *src as std::os::raw::c_char;
        }
        self.fd
            .set_lapic(&k)
            .map_err(HypervisorError::call("KVM_SET_LAPIC"))
    }

    fn run(&mut self, ops: &dyn VmOps) -> Result<VmExit> {
        match self.fd.run() {
            Ok(exit) => Ok(match exit {
                VcpuExit::IoOut(port, data) => {
                    ops.pio_write(port, data);
                    VmExit::IoOut {
                        port,
                        data: ExitData::new(data),
                    }
                }
                VcpuExit::IoIn(port, data) => {
                    ops.pio_read(port, data);
                    VmExit::IoIn {
                        port,
                        len: data.len(),
                    }
                }
                VcpuExit::MmioWrite(addr, data) => {
                    ops.mmio_write(addr, data);
                    VmExit::MmioWrite {
                        addr,
                        data: ExitData::new(data),
                    }
                }
                VcpuExit::MmioRead(addr, data) => {
                    ops.mmio_read(addr, data);
                    VmExit::MmioRead {
                        addr,
                        len: data.len(),
                    }
                }
                VcpuExit::Hlt => VmExit::Hlt,
                VcpuExit::Shutdown => VmExit::Shutdown,
                VcpuExit::SystemEvent(KVM_SYSTEM_EVENT_RESET, _) => VmExit::Reset,
                VcpuExit::SystemEvent(KVM_SYSTEM_EVENT_SHUTDOWN, _) => VmExit::PowerOff,
                VcpuExit::Intr => VmExit::Interrupted,
                VcpuExit::FailEntry(reason, cpu) => VmExit::Unknown(format!(
                    "KVM_EXIT_FAIL_ENTRY: hardware entry failure reason {reason:#x} on cpu {cpu}"
                )),
                VcpuExit::InternalError => {
                    let run = self.fd.get_kvm_run();
                    // SAFETY: KVM filled the `internal` member of the exit union for this exit reason.
                    let suberror = unsafe { run.__bindgen_anon_1.internal.suberror };
                    VmExit::Unknown(format!("KVM_EXIT_INTERNAL_ERROR suberror {suberror}"))
                }
                other => VmExit::Unknown(format!("{other:?}")),
            }),
            Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => Ok(VmExit::Interrupted),
            Err(e) => Err(HypervisorError::Call {
                op: "KVM_RUN",
                source: std::io::Error::from_raw_os_error(e.errno()),
            }),
        }
    }
}

fn seg_from_kvm(s: &kvm_segment) -> SegmentRegister {
    SegmentRegister {
        base: s.base,
        limit: s.limit,
        selector: s.selector,
        type_: s.type_,
        present: s.present,
        dpl: s.dpl,
        db: s.db,
        s: s.s,
        l: s.l,
        g: s.g,
        avl: s.avl,
        unusable: s.unusable,
    }
}

fn seg_to_kvm(s: &SegmentRegister) -> kvm_segment {
    kvm_segment {
        base: s.base,
        limit: s.limit,
        selector: s.selector,
        type_: s.type_,
        present: s.present,
        dpl: s.dpl,
        db: s.db,
        s: s.s,
        l: s.l,
        g: s.g,
        avl: s.avl,
        unusable: s.unusable,
        padding: 0,
    }
}

fn cpuid_from_kvm(e: &kvm_cpuid_entry2) -> CpuIdEntry {
    CpuIdEntry {
        function: e.function,
        index: e.index,
        flags: e.flags,
        eax: e.eax,
        ebx: e.ebx,
        ecx: e.ecx,
        edx: e.edx,
    }
}

fn cpuid_to_kvm(e: &CpuIdEntry) -> kvm_cpuid_entry2 {
    kvm_cpuid_entry2 {
        function: e.function,
        index: e.index,
        flags: e.flags,
        eax: e.eax,
        ebx: e.ebx,
        ecx: e.ecx,
        edx: e.edx,
        ..Default::default()
    }
}
