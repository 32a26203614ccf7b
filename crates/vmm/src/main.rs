//! `berth-vmm`: boots one Linux VM on KVM; flags in, exit code out.

use std::path::PathBuf;
use std::process::exit;

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
use berth_vmm::machine::{self, exit_code, Console, MachineConfig};
use clap::Parser;

/// Boots a Linux kernel in a KVM virtual machine and exits when the guest stops.
///
/// Virtio devices are virtio-mmio in this order: the disks (vda, vdb, ...), vsock, net, rng (unless
/// --no-rng), then the balloon (--balloon); each is declared to
/// the kernel by a `virtio_mmio.device=4K@<addr>:<irq>` parameter appended to --cmdline. Use `reboot=k` on
/// the command line: a guest reboot then resets through the i8042 and exits 0 (with `reboot=t` it is a
/// triple fault, exit 6).
///
/// Control socket (--api-sock): connect, send one JSON line, read one JSON line back; the connection then
/// closes. Requests: {"op":"status"} (state running/paused, vcpus, mem_mib, uptime_ms, and the balloon's
/// target, actual and stats), {"op":"pause"} (answers once every vCPU is out of the guest), {"op":"resume"},
/// {"op":"balloon","target_mib":N} (MiB the guest should give up; needs --balloon) and {"op":"shutdown"}
/// (answers, stops the vCPUs and exits 0 without asking the guest to power off). Failures answer
/// {"ok":false,"error":"..."}.
///
/// Exit codes: 0 guest reset or power-off, or shutdown through the control socket; 1 setup failed; 2 bad flags; 3 /dev/kvm missing;
/// 4 no permission on /dev/kvm; 5 unreadable or invalid kernel; 6 guest triple fault (vCPU state
/// logged); 7 vCPU failure or unhandled exit.
#[derive(Parser, Debug)]
#[command(name = "berth-vmm", version)]
struct Args {
    /// Kernel to boot: an x86_64 bzImage (or ELF vmlinux).
    #[arg(long)]
    kernel: PathBuf,
    /// Kernel command line.
    #[arg(long, default_value = "console=ttyS0 reboot=k panic=1")]
    cmdline: String,
    /// Guest memory in MiB.
    #[arg(long, default_value_t = 512)]
    mem_mib: u64,
    /// Number of vCPUs (1-32).
    #[arg(long, default_value_t = 1)]
    cpus: u8,
    /// Serial console: a file to append to, `stdout`, or `none`.
    #[arg(long, default_value = "stdout")]
    console: String,
    /// A raw disk image, `<path>` or `<path>,ro` (read-only). Repeat for more disks: vda, vdb, ... in order.
    #[arg(long = "disk", value_name = "PATH[,ro]")]
    disks: Vec<String>,
    /// Adds a virtio-vsock device whose host side is this Unix socket (`CONNECT <port>\n` → `OK <n>\n`);
    /// guest connects to host port P go to `<path>_P`. Removed when the VM stops.
    #[arg(long, value_name = "PATH")]
    vsock_uds: Option<PathBuf>,
    /// The guest's vsock context id.
    #[arg(long, default_value_t = 3)]
    vsock_cid: u64,
    /// Adds a virtio-net device whose host side is passt's stream socket at this path (`passt -f -1 -s
    /// <path> ...` must be listening). Frames carry passt's 4-byte big-endian length prefix.
    #[arg(long, value_name = "PATH")]
    net_passt: Option<PathBuf>,
    /// The guest's MAC address on the --net-passt device.
    #[arg(long, value_name = "MAC", default_value = "52:54:00:12:34:56")]
    net_mac: String,
    /// Leaves out the virtio-rng device (otherwise always added; it feeds the guest's entropy pool from
    /// the host's getrandom).
    #[arg(long)]
    no_rng: bool,
    /// Adds a virtio-balloon device with statistics, deflate-on-OOM and free page reporting: memory the
    /// guest frees or gives up goes back to the host. Set its target through --api-sock.
    #[arg(long)]
    balloon: bool,
    /// Serves the control socket (status, pause, resume, balloon, shutdown; see above) at this path.
    /// Removed when the VM stops.
    #[arg(long, value_name = "PATH")]
    api_sock: Option<PathBuf>,
}

fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    exit(run(args));
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn run(args: Args) -> i32 {
    let console = match args.console.as_str() {
        "stdout" => Console::Stdout,
        "none" => Console::Null,
        path => Console::File(PathBuf::from(path)),
    };
    let mut disks = Vec::new();
    for d in &args.disks {
        match d.parse::<machine::DiskConfig>() {
            Ok(d) => disks.push(d),
            Err(e) => {
                eprintln!("berth-vmm: --disk {d}: {e}");
                return exit_code::BAD_ARGS;
            }
        }
    }
    let vsock = args.vsock_uds.clone().map(|uds| machine::VsockConfig {
        uds,
        cid: args.vsock_cid,
    });
    let mut net = None;
    if let Some(passt_socket) = args.net_passt.clone() {
        match args.net_mac.parse::<machine::MacAddr>() {
            Ok(mac) => net = Some(machine::NetConfig { passt_socket, mac }),
            Err(e) => {
                eprintln!("berth-vmm: --net-mac: {e}");
                return exit_code::BAD_ARGS;
            }
        }
    }
    let config = MachineConfig {
        kernel: args.kernel,
        cmdline: args.cmdline,
        mem_mib: args.mem_mib,
        cpus: args.cpus,
        console,
        disks,
        vsock,
        net,
        rng: !args.no_rng,
        balloon: args.balloon.then_some(machine::BalloonConfig {
            free_page_reporting: true,
        }),
        api_sock: args.api_sock,
    };
    let code = run_machine(&config);
    if let Some(v) = &config.vsock {
        // The socket path belongs to this VM (a stale one is replaced at start); leave no file behind.
        if std::fs::symlink_metadata(&v.uds)
            .is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()))
        {
            let _ = std::fs::remove_file(&v.uds);
        }
    }
    code
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn run_machine(config: &MachineConfig) -> i32 {
    match machine::run(config) {
        Ok(reason) => {
            let code = reason.exit_code();
            match &reason {
                machine::StopReason::Reset | machine::StopReason::PowerOff => {
                    tracing::info!(?reason, "guest stopped")
                }
                machine::StopReason::Shutdown => tracing::info!("stopped through the control socket"),
                other => eprintln!("berth-vmm: guest stopped abnormally: {other:?}"),
            }
            code
        }
        Err(e) => {
            eprintln!("berth-vmm: {e}");
            let code = e.exit_code();
            debug_assert_ne!(code, exit_code::BAD_ARGS);
            code
        }
    }
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
fn run(args: Args) -> i32 {
    let _ = (args.kernel, args.cmdline, args.mem_mib, args.cpus, args.console);
    let _ = (args.disks, args.vsock_uds, args.vsock_cid);
    let _ = (args.net_passt, args.net_mac);
    let _ = (args.no_rng, args.balloon, args.api_sock);
    eprintln!("berth-vmm: this platform's hypervisor backend is not supported yet; berthd uses qemu here");
    1
}
