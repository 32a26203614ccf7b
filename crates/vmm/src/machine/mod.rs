//! One VM on KVM: memory, the kernel, legacy devices and vCPU threads, run until the guest stops.
//!
//! The process is the VM: [`run`] returns the first [`StopReason`] any vCPU reports and the caller exits
//! the process with [`StopReason::exit_code`] (other vCPU threads end with the process), which is how
//! berthd learns what happened.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

use vm_memory::{GuestAddress, GuestMemoryMmap};
use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};

use crate::api::{Api, ApiServer};
use crate::arch::x86_64::{cpuid, lapic, layout, mptable, msr, regs, zero_page};
use crate::bus::{BusError, IoBuses};
use crate::devices::{Rtc, SerialConsole, I8042};
use crate::hypervisor::kvm::KvmHypervisor;
use crate::hypervisor::{Hypervisor, HypervisorError, Vcpu, VmExit};
use crate::vcpu_control::VcpuControl;

mod guest_ram;
mod virtio;
pub use crate::devices::virtio::net::{MacAddr, NetConfig, DEFAULT_MAC};
pub use virtio::{disk_name, BalloonConfig, DiskConfig, VsockConfig};

/// Smallest guest memory we boot with.
pub const MIN_MEM_MIB: u64 = 16;

/// Where the guest's serial console goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Console {
    /// This process's stdout.
    Stdout,
    /// Appended to a file (created if missing).
    File(PathBuf),
    /// Discarded.
    Null,
}

/// What to boot.
#[derive(Clone, Debug)]
pub struct MachineConfig {
    /// bzImage (or ELF vmlinux) path.
    pub kernel: PathBuf,
    /// Kernel command line.
    pub cmdline: String,
    /// Guest RAM in MiB.
    pub mem_mib: u64,
    /// vCPU count.
    pub cpus: u8,
    /// Serial console destination.
    pub console: Console,
    /// virtio-blk disks, in guest order (vda, vdb, ...).
    pub disks: Vec<DiskConfig>,
    /// The virtio-vsock device, if any.
    pub vsock: Option<VsockConfig>,
    /// The virtio-net device (passt's stream socket), if any.
    pub net: Option<NetConfig>,
    /// Whether to add a virtio-rng device (after the devices above).
    pub rng: bool,
    /// The virtio-balloon device (after rng), if any.
    pub balloon: Option<BalloonConfig>,
    /// The control socket (see [`crate::api`]), if any.
    pub api_sock: Option<PathBuf>,
}

/// Why the VM stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The guest reset the machine (i8042 or a KVM reset event): a reboot, which ends the VM.
    Reset,
    /// The guest powered off.
    PowerOff,
    /// A vCPU triple faulted; `state` is its registers for the log.
    TripleFault {
        /// vCPU id.
        cpu: u8,
        /// Register dump.
        state: String,
    },
    /// A vCPU failed or exited for a reason we do not handle.
    VcpuFailed {
        /// vCPU id.
        cpu: u8,
        /// What happened.
        reason: String,
    },
    /// The control socket asked the VMM to stop.
    Shutdown,
}

impl StopReason {
    /// The process exit code for this stop (see the binary's `--help`).
    pub fn exit_code(&self) -> i32 {
        match self {
            StopReason::Reset | StopReason::PowerOff | StopReason::Shutdown => 0,
            StopReason::TripleFault { .. } => exit_code::TRIPLE_FAULT,
            StopReason::VcpuFailed { .. } => exit_code::VCPU_FAILED,
        }
    }
}

/// Exit codes of the `berth-vmm` process.
pub mod exit_code {
    /// The VMM could not set the VM up for another reason (memory, devices, hypervisor calls).
    pub const SETUP_FAILED: i32 = 1;
    /// Invalid command-line flags (clap's code).
    pub const BAD_ARGS: i32 = 2;
    /// `/dev/kvm` does not exist.
    pub const NO_KVM: i32 = 3;
    /// `/dev/kvm` exists but we may not open it.
    pub const KVM_PERMISSION: i32 = 4;
    /// The kernel cannot be read or is not a loadable x86_64 kernel.
    pub const BAD_KERNEL: i32 = 5;
    /// A vCPU triple faulted.
    pub const TRIPLE_FAULT: i32 = 6;
    /// A vCPU failed or exited for a reason we do not handle.
    pub const VCPU_FAILED: i32 = 7;
}

/// Errors setting the VM up.
#[derive(Debug, thiserror::Error)]
pub enum MachineError {
    /// Hypervisor failure (including no /dev/kvm).
    #[error(transparent)]
    Hypervisor(#[from] HypervisorError),
    /// Kernel or boot data problem.
    #[error(transparent)]
    Boot(#[from] zero_page::BootError),
    /// Boot register setup.
    #[error(transparent)]
    Regs(#[from] regs::RegsError),
    /// MP table.
    #[error(transparent)]
    Mptable(#[from] mptable::MptableError),
    /// Device wiring.
    #[error(transparent)]
    Bus(#[from] BusError),
    /// A disk image cannot be used.
    #[error(transparent)]
    Disk(#[from] crate::devices::virtio::block::DiskError),
    /// The vsock device cannot start.
    #[error("vsock device: {0}")]
    Vsock(#[from] berth_virtio::VsockError),
    /// The network device cannot reach passt.
    #[error("network device: {0}")]
    Net(#[from] crate::devices::virtio::net::NetError),
    /// vCPU pause/stop signalling cannot be set up.
    #[error(transparent)]
    VcpuControl(#[from] crate::vcpu_control::ControlError),
    /// The device event loop cannot be set up.
    #[error(transparent)]
    EventLoop(#[from] crate::event_loop::EventLoopError),
    /// Bad configuration.
    #[error("{0}")]
    Config(String),
    /// Host resources (memory mapping, eventfds, console file, threads).
    #[error("{what}: {source}")]
    Host {
        /// What we were doing.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl MachineError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            MachineError::Hypervisor(HypervisorError::Open { source, .. }) => match source.kind() {
                std::io::ErrorKind::NotFound => exit_code::NO_KVM,
                std::io::ErrorKind::PermissionDenied => exit_code::KVM_PERMISSION,
                _ => exit_code::SETUP_FAILED,
            },
            MachineError::Boot(
                zero_page::BootError::OpenKernel { .. } | zero_page::BootError::InvalidKernel { .. },
            ) => exit_code::BAD_KERNEL,
            _ => exit_code::SETUP_FAILED,
        }
    }
}

fn host(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> MachineError {
    let what = what.into();
    move |source| MachineError::Host { what, source }
}

/// Boots `config` and blocks until a vCPU reports why the VM stopped.
pub fn run(config: &MachineConfig) -> Result<StopReason, MachineError> {
    if config.mem_mib < MIN_MEM_MIB || config.mem_mib > (1 << 20) {
        return Err(MachineError::Config(format!(
            "--mem-mib {} is out of range; use {MIN_MEM_MIB} to 1048576",
            config.mem_mib
        )));
    }
    if config.cpus == 0 || config.cpus > mptable::MAX_CPUS {
        return Err(MachineError::Config(format!(
            "--cpus {} is out of range; use 1 to {}",
            config.cpus,
            mptable::MAX_CPUS
        )));
    }
    let started = std::time::Instant::now();
    let hv = KvmHypervisor::new()?;
    let mut devices = virtio::build_devices(&config.disks, config.vsock.as_ref(), config.net.as_ref())?;
    let balloon =
        virtio::add_memory_devices(&mut devices, config.rng, config.balloon.as_ref(), config.mem_mib)?;
    let control = VcpuControl::new()?;
    let mem_size = config.mem_mib << 20;
    let ranges: Vec<(GuestAddress, usize)> = layout::ram_regions(mem_size)
        .into_iter()
        .map(|(a, s)| (GuestAddress(a), s as usize))
        .collect();
    // Private anonymous mappings, 2 MiB-aligned for huge pages (guest_ram.rs): the balloon's
    // MADV_DONTNEED really gives pages back to the host.
    let mem = guest_ram::allocate(&ranges).map_err(|e| {
        MachineError::Config(format!(
            "cannot allocate {} MiB of guest memory: {e}",
            config.mem_mib
        ))
    })?;

    // The kernel is copied into guest RAM on a thread of its own while this one creates the VM, its
    // devices and vCPUs: both take a few hundred milliseconds in the nested harness, and neither needs
    // the other (the vCPUs' registers, which need the entry point, are set after the join).
    let (setup, loaded) = std::thread::scope(|s| {
        let loader = s.spawn(|| {
            let t = std::time::Instant::now();
            zero_page::load_kernel(&mem, &config.kernel).map(|k| (k, t.elapsed()))
        });
        let t = std::time::Instant::now();
        let setup = create_vm(&hv, &mem, config, devices).map(|p| (p, t.elapsed()));
        let loaded = loader.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        (setup, loaded)
    });
    let (prepared, vm_setup) = setup?;
    let (kernel, kernel_load) = loaded?;
    let cmdline_len = zero_page::write_cmdline(&mem, &prepared.cmdline)?;
    zero_page::write_zero_page(&mem, kernel.header, cmdline_len, mem_size)?;
    mptable::write(&mem, config.cpus)?;
    tracing::info!(
        entry = kernel.entry,
        mem_mib = config.mem_mib,
        cpus = config.cpus,
        setup_ms = vm_setup.as_millis() as u64,
        load_ms = kernel_load.as_millis() as u64,
        ready_ms = started.elapsed().as_millis() as u64,
        "kernel loaded"
    );

    let buses = Arc::new(prepared.buses);
    prepared
        .event_loop
        .spawn()
        .map_err(host("cannot start the device thread"))?;
    // Dropping the server (when this function returns) removes the socket.
    let _api = match &config.api_sock {
        Some(path) => {
            let api = Api::new(control.clone(), balloon, config.cpus, config.mem_mib);
            let what = format!("cannot listen on the control socket {}", path.display());
            Some(ApiServer::start(path, api).map_err(host(what))?)
        }
        None => None,
    };

    let mut handles = Vec::new();
    for (id, mut vcpu) in (0..).zip(prepared.vcpus) {
        if id == 0 {
            regs::setup_long_mode(vcpu.as_ref(), &mem, kernel.entry)?;
        }
        let (buses, tx, vm, control) = (
            buses.clone(),
            prepared.stop_tx.clone(),
            prepared.vm.clone(),
            control.clone(),
        );
        let handle = std::thread::Builder::new()
            .name(format!("vcpu{id}"))
            .spawn(move || {
                let reason = run_vcpu(id, vcpu.as_mut(), buses.as_ref(), &control);
                let _ = tx.send(reason);
                // The VM (and with it the guest memory mapping) lives as long as any vCPU runs.
                drop(vm);
            })
            .map_err(host("cannot start a vCPU thread"))?;
        handles.push(handle);
    }
    drop(prepared.stop_tx);
    let reason = prepared
        .stop_rx
        .recv()
        .map_err(|_| MachineError::Config("every vCPU thread ended without a reason".into()))?;
    // vCPU threads that are still running keep the VM alive; they end when the process exits.
    drop(handles);
    Ok(reason)
}

/// The VM with its devices and vCPUs, before the kernel is in.
struct Prepared {
    vm: Arc<dyn crate::hypervisor::Vm>,
    buses: IoBuses,
    event_loop: crate::event_loop::EventLoop,
    cmdline: String,
    vcpus: Vec<Box<dyn crate::hypervisor::Vcpu>>,
    stop_tx: Sender<StopReason>,
    stop_rx: Receiver<StopReason>,
}

/// Creates the VM, attaches guest RAM and the devices, and creates the vCPUs with their CPUID, MSRs and
/// LAPIC (their registers wait for the kernel's entry point).
fn create_vm(
    hv: &KvmHypervisor,
    mem: &GuestMemoryMmap,
    config: &MachineConfig,
    devices: Vec<Box<dyn crate::virtio_mmio::VirtioDevice>>,
) -> Result<Prepared, MachineError> {
    let vm: Arc<dyn crate::hypervisor::Vm> = Arc::from(hv.create_vm()?);
    vm.setup_irqchip()?;
    vm.set_memory(mem)?;
    let (stop_tx, stop_rx) = channel::<StopReason>();
    let mut buses = build_buses(vm.as_ref(), &config.console, stop_tx.clone())?;
    let (params, event_loop) = virtio::attach(vm.as_ref(), mem, &mut buses.mmio, devices)?;
    let cmdline = full_cmdline(&config.cmdline, &params);
    let supported = hv.supported_cpuid()?;
    let mut vcpus = Vec::new();
    for id in 0..config.cpus {
        let vcpu = vm.create_vcpu(id)?;
        let mut leaves = supported.clone();
        cpuid::normalize(&mut leaves, id, config.cpus);
        vcpu.set_cpuid(&leaves)?;
        vcpu.set_msrs(&msr::boot_msrs())?;
        lapic::setup_lint(vcpu.as_ref())?;
        vcpus.push(vcpu);
    }
    Ok(Prepared {
        vm,
        buses,
        event_loop,
        cmdline,
        vcpus,
        stop_tx,
        stop_rx,
    })
}

/// The user's command line with the virtio-mmio device parameters appended.
fn full_cmdline(user: &str, params: &[String]) -> String {
    if user
        .split_whitespace()
        .any(|w| w == "reboot=t" || w.starts_with("reboot=t"))
    {
        tracing::warn!("reboot=t makes a guest reboot a triple fault, which berth-vmm reports as a crash (exit code 6); pass reboot=k so a reboot exits 0");
    }
    let mut cmdline = user.trim().to_string();
    for p in params {
        if !cmdline.is_empty() {
            cmdline.push(' ');
        }
        cmdline.push_str(p);
    }
    cmdline
}

fn build_buses(
    vm: &dyn crate::hypervisor::Vm,
    console: &Console,
    stop: Sender<StopReason>,
) -> Result<IoBuses, MachineError> {
    let out: Box<dyn Write + Send> = match console {
        Console::Stdout => Box::new(std::io::stdout()),
        Console::Null => Box::new(std::io::sink()),
        Console::File(path) => Box::new(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(host(format!("cannot open console file {}", path.display())))?,
        ),
    };
    let serial_irq = EventFd::new(EFD_NONBLOCK).map_err(host("cannot create the serial irqfd"))?;
    vm.register_irqfd(&serial_irq, layout::SERIAL_IRQ)?;
    let serial = SerialConsole::new(Arc::new(serial_irq), out);
    let kbd_irq = EventFd::new(EFD_NONBLOCK).map_err(host("cannot create the keyboard irqfd"))?;
    vm.register_irqfd(&kbd_irq, layout::I8042_KBD_IRQ)?;
    let stop = Mutex::new(stop);
    let i8042 = I8042::new(
        Box::new(move || {
            let _ = stop
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .send(StopReason::Reset);
        }),
        Arc::new(kbd_irq),
    );
    let mut buses = IoBuses::default();
    buses.pio.insert(
        u64::from(layout::SERIAL_PORT),
        u64::from(layout::SERIAL_PORT_LEN),
        Arc::new(Mutex::new(serial)),
    )?;
    buses.pio.insert(
        u64::from(layout::I8042_PORT),
        u64::from(layout::I8042_PORT_LEN),
        Arc::new(Mutex::new(i8042)),
    )?;
    buses.pio.insert(
        u64::from(layout::RTC_PORT),
        u64::from(layout::RTC_PORT_LEN),
        Arc::new(Mutex::new(Rtc::default())),
    )?;
    Ok(buses)
}

/// Runs one vCPU until it has a reason to stop the VM; `control` pauses it between guest entries and
/// can stop it ([`StopReason::Shutdown`]).
pub fn run_vcpu(id: u8, vcpu: &mut dyn Vcpu, buses: &IoBuses, control: &VcpuControl) -> StopReason {
    let registration = control.register();
    // The first exit is logged with how long the vCPU ran before it: in a boot profile, the first entry
    // and the guest's earliest code, before it has a clock of its own.
    let mut first_run = Some(std::time::Instant::now());
    loop {
        if !control.checkpoint(&registration) {
            return StopReason::Shutdown;
        }
        let exit = vcpu.run(buses);
        if let Some(t) = first_run.take() {
            tracing::info!(
                cpu = id,
                after_ms = t.elapsed().as_millis() as u64,
                exit = ?exit,
                "vCPU: first exit"
            );
        }
        match exit {
            Ok(
                VmExit::IoOut { .. }
                | VmExit::IoIn { .. }
                | VmExit::MmioRead { .. }
                | VmExit::MmioWrite { .. },
            ) => {}
            Ok(VmExit::Hlt | VmExit::Interrupted) => {}
            Ok(VmExit::Reset) => return StopReason::Reset,
            Ok(VmExit::PowerOff) => return StopReason::PowerOff,
            Ok(VmExit::Shutdown) => {
                let state = dump_state(vcpu);
                tracing::error!(cpu = id, %state, "guest triple fault");
                return StopReason::TripleFault { cpu: id, state };
            }
            Ok(VmExit::Unknown(reason)) => {
                tracing::error!(cpu = id, %reason, state = %dump_state(vcpu), "unhandled vCPU exit");
                return StopReason::VcpuFailed { cpu: id, reason };
            }
            Err(e) => {
                return StopReason::VcpuFailed {
                    cpu: id,
                    reason: e.to_string(),
                }
            }
        }
    }
}

/// The registers worth reading after a crash, on one line.
pub fn dump_state(vcpu: &dyn Vcpu) -> String {
    match (vcpu.regs(), vcpu.sregs()) {
        (Ok(r), Ok(s)) => format!(
            "rip={:#x} rsp={:#x} rflags={:#x} rax={:#x} rbx={:#x} rcx={:#x} rdx={:#x} rsi={:#x} rdi={:#x} \
             cr0={:#x} cr2={:#x} cr3={:#x} cr4={:#x} efer={:#x} cs={:#x}/l{} idt={:#x}+{:#x}",
            r.rip,
            r.rsp,
            r.rflags,
            r.rax,
            r.rbx,
            r.rcx,
            r.rdx,
            r.rsi,
            r.rdi,
            s.cr0,
            s.cr2,
            s.cr3,
            s.cr4,
            s.efer,
            s.cs.selector,
            s.cs.l,
            s.idt.base,
            s.idt.limit
        ),
        (Err(e), _) | (_, Err(e)) => format!("(registers unavailable: {e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_error(kind: std::io::ErrorKind) -> MachineError {
        MachineError::Hypervisor(HypervisorError::Open {
            path: "/dev/kvm".into(),
            source: kind.into(),
        })
    }

    #[test]
    fn each_failure_has_its_own_exit_code() {
        assert_eq!(
            open_error(std::io::ErrorKind::NotFound).exit_code(),
            exit_code::NO_KVM
        );
        assert_eq!(
            open_error(std::io::ErrorKind::PermissionDenied).exit_code(),
            exit_code::KVM_PERMISSION
        );
        let bad = zero_page::BootError::InvalidKernel {
            path: "k".into(),
            bzimage: "x".into(),
            elf: "y".into(),
        };
        assert_eq!(MachineError::Boot(bad).exit_code(), exit_code::BAD_KERNEL);
        assert_eq!(
            MachineError::Config("x".into()).exit_code(),
            exit_code::SETUP_FAILED
        );
        assert_eq!(StopReason::Reset.exit_code(), 0);
        let disk = crate::devices::virtio::block::DiskError::TooSmall { path: "d".into() };
        assert_eq!(MachineError::Disk(disk).exit_code(), exit_code::SETUP_FAILED);
        assert_eq!(StopReason::PowerOff.exit_code(), 0);
        assert_eq!(StopReason::Shutdown.exit_code(), 0);
        assert_eq!(
            StopReason::TripleFault {
                cpu: 0,
                state: String::new()
            }
            .exit_code(),
            exit_code::TRIPLE_FAULT
        );
        assert_eq!(
            StopReason::VcpuFailed {
                cpu: 0,
                reason: String::new()
            }
            .exit_code(),
            exit_code::VCPU_FAILED
        );
    }

    #[test]
    fn device_parameters_follow_the_user_command_line() {
        let p = vec!["virtio_mmio.device=4K@0xd0000000:5".to_string()];
        assert_eq!(
            full_cmdline("console=ttyS0 reboot=k ", &p),
            "console=ttyS0 reboot=k virtio_mmio.device=4K@0xd0000000:5"
        );
        assert_eq!(full_cmdline("", &p), p[0]);
    }

    #[test]
    fn out_of_range_config_is_refused_before_touching_kvm() {
        let base = MachineConfig {
            kernel: "/nonexistent".into(),
            cmdline: String::new(),
            mem_mib: 256,
            cpus: 1,
            console: Console::Null,
            disks: Vec::new(),
            vsock: None,
            net: None,
            rng: true,
            balloon: None,
            api_sock: None,
        };
        for cfg in [
            MachineConfig {
                mem_mib: 1,
                ..base.clone()
            },
            MachineConfig {
                cpus: 0,
                ..base.clone()
            },
            MachineConfig {
                cpus: 33,
                ..base.clone()
            },
        ] {
            assert!(matches!(run(&cfg), Err(MachineError::Config(_))), "{cfg:?}");
        }
    }
}
