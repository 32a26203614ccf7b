//! The boot sequence after the early mounts: configuration, clock, hostname, vsock services, network,
//! /run/berth files, DNS shim, data disk, then containerd and dockerd under supervision. Anything fatal
//! before the services start leaves the guest up in phase `Failed`, with the shell still served.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use berth_proto::{port, GuestConfig, GuestNet, Phase};

use crate::control::{Actions, Hub};
use crate::services::Service;
use crate::{clock, disk, docker_api, etc_files, mounts, net, vsock};

const CONTAINERD_SOCKET: &str = "/run/containerd/containerd.sock";

/// The running agent: state hub and supervised services.
pub struct Agent {
    /// Phase and control clients.
    pub hub: Arc<Hub>,
    /// Services in start order (containerd, dockerd).
    pub services: Mutex<Vec<Arc<Service>>>,
}

static AGENT: OnceLock<Arc<Agent>> = OnceLock::new();

/// The agent, once boot has created it.
pub fn agent() -> Option<&'static Arc<Agent>> {
    AGENT.get()
}

struct ControlActions;

impl Actions for ControlActions {
    fn set_clock(&self, unix_ms: u64) {
        clock::set(unix_ms);
    }
    fn shutdown(&self, deadline_ms: u64) {
        crate::shutdown::begin(
            Duration::from_millis(deadline_ms.clamp(1_000, 600_000)),
            "the host asked",
        );
    }
    fn usage(&self) -> berth_proto::GuestUsage {
        crate::usage::snapshot()
    }
}

/// Used when the kernel command line has no valid `berth.config`.
pub fn default_config() -> GuestConfig {
    GuestConfig {
        hostname: "berth".into(),
        net: GuestNet::default(),
        data_device: "/dev/vdb".into(),
        insecure_registries: Vec::new(),
        registry_mirrors: Vec::new(),
        host_time_ms: 0,
    }
}

fn read_config() -> GuestConfig {
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    match GuestConfig::from_cmdline(&cmdline) {
        Ok(cfg) => cfg,
        Err(e) => {
            log!("config: !!! {e} — USING DEFAULTS (10.0.2.15/24, /dev/vdb) !!!");
            default_config()
        }
    }
}

/// Runs the boot sequence (on its own thread; the main thread takes signals).
pub fn run(early_failures: Vec<String>) {
    let started = Instant::now();
    mounts::enable_cgroup_controllers();
    mounts::raise_nofile_limit();
    let cfg = read_config();
    log!(
        "config: hostname {} address {}/{} gateway {} dns {} data {}",
        cfg.hostname,
        cfg.net.address,
        cfg.net.prefix,
        cfg.net.gateway,
        cfg.net.dns,
        cfg.data_device
    );
    clock::set_at_boot(cfg.host_time_ms);
    mounts::set_hostname(&cfg.hostname);
    crate::binfmt::register_all();

    let agent = Arc::new(Agent {
        hub: Arc::new(Hub::default()),
        services: Mutex::new(Vec::new()),
    });
    let _ = AGENT.set(agent.clone());
    let hub = agent.hub.clone();
    start_vsock_services(&hub);

    net::loopback_up();
    if let Err(e) = net::configure(&cfg.net) {
        log!("net: {e}");
        hub.status(format!("network not configured: {e}"));
    }
    net::sysctl("net.ipv4.ip_forward", "1");
    if let Err(e) = etc_files::write_all(Path::new("/run/berth"), &cfg) {
        log!("etc: {e}");
    }
    start_dns(&cfg.net);

    if !early_failures.is_empty() {
        return hub.set_phase(
            Phase::Failed,
            format!("early mounts failed: {}", early_failures.join("; ")),
        );
    }
    hub.set_phase(
        Phase::DataDisk,
        format!("preparing data disk {}", cfg.data_device),
    );
    if let Err(e) = disk::prepare(&cfg.data_device, &|m| hub.status(m)) {
        return hub.set_phase(Phase::Failed, e);
    }
    start_services(&agent);
    crate::reclaim::start(hub.clone());
    log!(
        "boot: services started {:.1} s after the agent",
        started.elapsed().as_secs_f32()
    );
}

fn start_vsock_services(hub: &Arc<Hub>) {
    let h = hub.clone();
    vsock::serve("control", port::CONTROL, move |s| h.serve(s, &ControlActions));
    vsock::serve("forward", port::FORWARD, crate::forward::handle);
    vsock::serve("shell", port::SHELL, crate::shell::handle);
    vsock::serve("docker", port::DOCKER, crate::docker_bridge::handle);
}

fn start_dns(net: &GuestNet) {
    let (Ok(addr), Ok(gateway), Ok(dns)) = (
        net.address.parse::<Ipv4Addr>(),
        net.gateway.parse::<Ipv4Addr>(),
        net.dns.parse::<Ipv4Addr>(),
    ) else {
        return log!("dns: bad addresses in the config; no DNS shim");
    };
    let upstream = SocketAddr::from((dns, 53));
    let started = crate::dns::start(
        SocketAddr::from((addr, 53)),
        upstream,
        gateway,
        etc_files::HOST_NAMES,
    )
    .or_else(|e| {
        log!("dns: cannot listen on {addr}:53 ({e}); trying 0.0.0.0:53");
        crate::dns::start(
            SocketAddr::from((Ipv4Addr::UNSPECIFIED, 53)),
            upstream,
            gateway,
            etc_files::HOST_NAMES,
        )
    });
    match started {
        Ok(at) => log!("dns: shim on {at}, upstream {upstream}"),
        Err(e) => log!("dns: no shim: {e}"),
    }
}

fn start_services(agent: &Arc<Agent>) {
    let hub = agent.hub.clone();
    if hub.phase() == Phase::Stopping {
        return;
    }
    hub.set_phase(Phase::Containerd, "starting containerd");
    let containerd = Service::new("containerd", &["/usr/bin/containerd"], "/var/log/containerd.log");
    crate::sys::lock(&agent.services).push(containerd.clone());
    containerd.supervise(hub.clone(), |_| {});
    if !wait_for_path(CONTAINERD_SOCKET, Duration::from_secs(60)) {
        log!("containerd: no socket at {CONTAINERD_SOCKET} after 60 s; starting dockerd anyway");
    }

    if hub.phase() == Phase::Stopping {
        return;
    }
    hub.set_phase(Phase::Dockerd, "starting dockerd");
    let containerd_flag = format!("--containerd={CONTAINERD_SOCKET}");
    let dockerd = Service::with_down_phase(
        "dockerd",
        &["/usr/sbin/dockerd", &containerd_flag],
        "/var/log/dockerd.log",
        Phase::Dockerd,
    );
    crate::sys::lock(&agent.services).push(dockerd.clone());
    let (h, d) = (hub.clone(), Arc::downgrade(&dockerd));
    dockerd.supervise(hub, move |generation| {
        let (h, d) = (h.clone(), d.clone());
        crate::sys::spawn("dockerd-ready", move || watch_ready(&h, &d, generation));
    });
}

fn wait_for_path(path: &str, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if Path::new(path).exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Polls dockerd's socket until it answers (→ `Ready`) or this run of dockerd is over.
fn watch_ready(hub: &Hub, dockerd: &std::sync::Weak<Service>, generation: u64) {
    let start = Instant::now();
    let mut next_report = Duration::from_secs(30);
    loop {
        match dockerd.upgrade() {
            Some(d) if d.is_current(generation) => {}
            _ => return,
        }
        match docker_api::probe_ready(Path::new(etc_files::DOCKER_SOCKET)) {
            Ok(version) => {
                log!(
                    "dockerd: ready ({version}) after {:.1} s",
                    start.elapsed().as_secs_f32()
                );
                return hub.ready(version);
            }
            Err(e) if start.elapsed() >= next_report => {
                log!("dockerd: not ready after {} s: {e}", next_report.as_secs());
                next_report *= 2;
            }
            Err(_) => {}
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
