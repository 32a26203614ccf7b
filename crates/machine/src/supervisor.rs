//! The machine's life: boot the guest (vsock device, passt, hypervisor), follow the agent until Docker is
//! ready, serve docker.sock and published ports, restart a crashed guest, and shut down cleanly.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use berth_api::{Backend, BackendKind, MachineConfig, MachinePaths, MachineState};
use berth_proto::{AgentMessage, GuestConfig, GuestNet, HostMessage, Phase};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::process::Child;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::backend::{self, GuestSpec};
use crate::image::GuestImage;
use crate::shared::Shared;
use berth_api::vsock_client as guest;

use crate::{docker_bridge, passt, ports, Error, Result};

/// How long a boot may take to reach a ready Docker Engine (TCG on a busy 2-core machine is slow).
const BOOT_TIMEOUT: Duration = Duration::from_secs(300);
/// How long the guest gets to stop dockerd and power off.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(25);
/// Crashes tolerated within [`CRASH_WINDOW`] before giving up.
const MAX_CRASHES: usize = 3;
const CRASH_WINDOW: Duration = Duration::from_secs(600);

/// Requests from the control API.
#[derive(Debug)]
pub enum Command {
    /// Shut the guest down; reply when it is off.
    Stop(oneshot::Sender<()>),
    /// Shut down and boot again with the current settings.
    Restart,
}

/// Everything one machine needs.
pub struct Supervisor {
    /// Paths of the machine.
    pub paths: MachinePaths,
    /// The guest image.
    pub image: GuestImage,
    /// The backend chosen for this daemon's life.
    pub backend: Backend,
    /// Shared status.
    pub shared: Shared,
}

enum Outcome {
    Stopped(Option<oneshot::Sender<()>>),
    Restart,
    Crashed(String),
}

impl Supervisor {
    /// Runs the machine until a Stop command; returns the reply channel to answer once all is down.
    pub async fn run(self, mut cmds: mpsc::Receiver<Command>) -> Option<oneshot::Sender<()>> {
        let mut crashes: Vec<Instant> = Vec::new();
        loop {
            let cfg = load_config(&self.paths);
            self.shared.update(|s| {
                s.state = MachineState::Starting;
                s.error = None;
                s.detail = Some("booting the guest".into());
                s.cpus = cfg.cpus;
                s.memory_mib = cfg.memory_mib;
                s.disk_gib = cfg.disk_gib;
            });
            let outcome = match self.boot(&cfg).await {
                Ok(guest) => self.live(guest, &mut cmds).await,
                Err(e) => Outcome::Crashed(e.to_string()),
            };
            self.shared.set_booted(None);
            self.shared.set_hypervisor_pid(None);
            match outcome {
                Outcome::Stopped(reply) => return reply,
                Outcome::Restart => continue,
                Outcome::Crashed(why) => {
                    crashes.retain(|t| t.elapsed() < CRASH_WINDOW);
                    crashes.push(Instant::now());
                    if crashes.len() > MAX_CRASHES {
                        let msg = format!(
                            "{why}. The guest failed {} times in {} minutes; see `berth logs --console` and run \
                             `berth doctor`. Your data disk is untouched.",
                            crashes.len(),
                            CRASH_WINDOW.as_secs() / 60
                        );
                        self.shared.update(|s| {
                            s.state = MachineState::Error;
                            s.error = Some(msg);
                            s.detail = None;
                        });
                        return wait_for_stop(&mut cmds, &self.shared).await;
                    }
                    self.shared.update(|s| {
                        s.state = MachineState::Starting;
                        s.detail = Some("restarting after a crash".into());
                        s.ports.clear();
                        s.restarts += 1;
                        s.last_crash = Some(why.clone());
                    });
                    self.shared
                        .log(format!("the guest stopped unexpectedly ({why}); restarting it"));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    async fn boot(&self, cfg: &MachineConfig) -> Result<Guest> {
        let p = &self.paths;
        crate::disk::prepare_data_disk(&p.data_disk(), cfg.disk_gib)?;
        let kind = self.backend.kind;
        // berth-vmm serves the vsock device itself; QEMU gets ours as a vhost-user backend.
        let vsock = if kind == BackendKind::BerthVmm {
            None
        } else {
            Some(self.start_vhost_vsock().await?)
        };

        let net = GuestNet::default();
        let passt_socket = passt::socket_path(&p.passt_socket());
        let passt = passt::start(&passt_socket, &net, &p.hypervisor_log()).await?;

        let guest_cfg = GuestConfig {
            hostname: "berth".into(),
            net,
            data_device: "/dev/vdb".into(),
            insecure_registries: cfg.insecure_registries.clone(),
            registry_mirrors: cfg.registry_mirrors.clone(),
            host_time_ms: now_ms(),
        };
        let tcg = kind == BackendKind::QemuTcg;
        let spec = GuestSpec {
            kernel: if kind == BackendKind::BerthVmm {
                self.image.vmm_kernel()
            } else {
                self.image.kernel()
            },
            rootfs: self.image.rootfs(),
            data_disk: p.data_disk(),
            cpus: cfg.cpus,
            memory_mib: cfg.memory_mib,
            cmdline: backend::kernel_cmdline(
                kind,
                &guest_cfg.to_cmdline_arg(),
                tcg.then(backend::host_tsc_khz).flatten(),
            ),
            console_log: p.console_log(),
            vhost_socket: p.vhost_socket(),
            vsock_socket: p.vsock_socket(),
            api_socket: p.vmm_socket(),
            passt_socket,
        };
        let hv_log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p.hypervisor_log())
            .map_err(|e| Error::io("cannot open the hypervisor log", e))?;
        let (mut cmd, program, package) = match kind {
            BackendKind::BerthVmm => (
                backend::vmm::command(&spec),
                "berth-vmm",
                "berth (cargo build --release)",
            ),
            _ => (
                backend::qemu::command(kind, &spec),
                "qemu-system-x86_64",
                "qemu-system-x86",
            ),
        };
        let hypervisor = cmd.stderr(hv_log).spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::MissingTool { program, package },
            _ => Error::Spawn {
                what: "the hypervisor",
                source: e,
            },
        })?;
        self.shared.set_booted(Some(Instant::now()));
        self.shared.set_hypervisor_pid(hypervisor.id());
        self.shared.log(format!("guest booting with {kind:?}"));
        Ok(Guest {
            hypervisor,
            kind,
            passt,
            _vsock: vsock,
            control: None,
            bridge: None,
            ports: None,
        })
    }

    /// Starts our vsock device as a vhost-user backend for QEMU and waits for its socket.
    async fn start_vhost_vsock(&self) -> Result<std::thread::JoinHandle<()>> {
        let p = &self.paths;
        let vsock_cfg = berth_virtio::vhost_user::VsockBackendConfig {
            vhost_socket: p.vhost_socket(),
            uds_path: p.vsock_socket(),
            guest_cid: berth_proto::GUEST_CID as u64,
        };
        let _ = std::fs::remove_file(&vsock_cfg.vhost_socket);
        let vsock = std::thread::Builder::new()
            .name("vsock".into())
            .spawn(move || {
                if let Err(e) = berth_virtio::vhost_user::serve_vsock(&vsock_cfg) {
                    tracing::error!(error = %e, "vsock device stopped");
                }
            })
            .map_err(|e| Error::Spawn {
                what: "the vsock device",
                source: e,
            })?;
        wait_for_file(&p.vhost_socket(), Duration::from_secs(5)).await?;
        Ok(vsock)
    }

    async fn live(&self, mut g: Guest, cmds: &mut mpsc::Receiver<Command>) -> Outcome {
        let (msg_tx, mut msgs) = mpsc::channel::<AgentMessage>(64);
        let deadline = tokio::time::Instant::now() + BOOT_TIMEOUT;
        let mut connecting = true;
        let mut ready = false;
        loop {
            if connecting {
                match self.try_control(&msg_tx).await {
                    Ok(w) => {
                        g.control = Some(w);
                        connecting = false;
                    }
                    Err(e) => tracing::debug!(error = %e, "agent not reachable yet"),
                }
            }
            let tick = tokio::time::sleep(Duration::from_millis(if connecting { 500 } else { 60_000 }));
            tokio::select! {
                status = g.hypervisor.wait() => {
                    let why = describe_exit(g.kind, status, &self.paths.console_log());
                    g.teardown().await;
                    return Outcome::Crashed(why);
                }
                Some(cmd) = cmds.recv() => {
                    let reply = match cmd { Command::Stop(r) => Some(r), Command::Restart => None };
                    let restart = reply.is_none();
                    self.shutdown(&mut g).await;
                    return if restart { Outcome::Restart } else { Outcome::Stopped(reply) };
                }
                Some(m) = msgs.recv() => {
                    if let Some(r) = self.on_agent(m, &mut g) { ready = ready || r; }
                }
                _ = tick => {}
            }
            if !ready && tokio::time::Instant::now() > deadline {
                g.teardown().await;
                return Outcome::Crashed(format!(
                    "Docker Engine was not ready after {}s; see {}",
                    BOOT_TIMEOUT.as_secs(),
                    self.paths.console_log().display()
                ));
            }
        }
    }

    /// Handles one agent message; returns Some(true) once Docker became ready.
    fn on_agent(&self, m: AgentMessage, g: &mut Guest) -> Option<bool> {
        match m {
            AgentMessage::Hello {
                agent_version,
                kernel,
                ..
            } => {
                self.shared.update(|s| {
                    s.versions.agent = Some(agent_version);
                    s.versions.kernel = Some(kernel);
                });
                None
            }
            AgentMessage::Status { phase, message } => {
                self.shared.log(format!("guest: {message}"));
                self.shared.update(|s| {
                    if phase == Phase::Failed {
                        s.state = MachineState::Error;
                        s.error = Some(format!("the guest reports: {message}"));
                    }
                    s.detail = Some(message);
                });
                None
            }
            AgentMessage::Ready { docker_version } => {
                if g.bridge.is_none() {
                    match docker_bridge::serve(&self.paths.docker_socket(), self.paths.vsock_socket()) {
                        Ok(t) => g.bridge = Some(t),
                        Err(e) => {
                            self.shared.update(|s| {
                                s.state = MachineState::Error;
                                s.error = Some(e.to_string());
                            });
                            return None;
                        }
                    }
                    g.ports = Some(ports::watch(
                        self.paths.docker_socket(),
                        self.paths.vsock_socket(),
                        self.shared.clone(),
                    ));
                }
                self.shared
                    .log(format!("Docker Engine {docker_version} is ready"));
                self.shared.update(|s| {
                    s.state = MachineState::Running;
                    s.detail = None;
                    s.error = None;
                    s.versions.docker = Some(docker_version);
                });
                Some(true)
            }
            AgentMessage::ServiceExited {
                name,
                status,
                restart_in_ms,
            } => {
                self.shared.log(format!(
                    "guest: {name} exited ({status}); restarting in {restart_in_ms} ms"
                ));
                None
            }
            AgentMessage::Pong | AgentMessage::Usage(_) => None,
        }
    }

    async fn try_control(&self, tx: &mpsc::Sender<AgentMessage>) -> Result<OwnedWriteHalf> {
        let s = guest::connect(&self.paths.vsock_socket(), berth_proto::port::CONTROL).await?;
        let (r, mut w) = s.into_split();
        for m in [
            HostMessage::Hello {
                protocol: berth_proto::PROTOCOL_VERSION,
            },
            HostMessage::SetClock { unix_ms: now_ms() },
        ] {
            send(&mut w, &m).await?;
        }
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(r).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                match serde_json::from_str::<AgentMessage>(&line) {
                    Ok(m) => {
                        if tx.send(m).await.is_err() {
                            break;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, line = %line, "unreadable agent message"),
                }
            }
        });
        Ok(w)
    }

    async fn shutdown(&self, g: &mut Guest) {
        self.shared.update(|s| {
            s.state = MachineState::Stopping;
            s.detail = Some("stopping Docker Engine and the guest".into());
        });
        let asked = match g.control.as_mut() {
            Some(w) => send(
                w,
                &HostMessage::Shutdown {
                    deadline_ms: SHUTDOWN_DEADLINE.as_millis() as u64,
                },
            )
            .await
            .is_ok(),
            None => false,
        };
        let clean = asked
            && tokio::time::timeout(SHUTDOWN_DEADLINE + Duration::from_secs(5), g.hypervisor.wait())
                .await
                .is_ok();
        if !clean {
            self.shared
                .log("the guest did not power off in time; stopping it forcibly");
        }
        g.teardown().await;
        let _ = std::fs::remove_file(self.paths.docker_socket());
    }
}

struct Guest {
    hypervisor: Child,
    kind: BackendKind,
    passt: Child,
    _vsock: Option<std::thread::JoinHandle<()>>,
    control: Option<OwnedWriteHalf>,
    bridge: Option<JoinHandle<()>>,
    ports: Option<JoinHandle<()>>,
}

impl Guest {
    async fn teardown(&mut self) {
        for t in [self.bridge.take(), self.ports.take()].into_iter().flatten() {
            t.abort();
        }
        let _ = self.hypervisor.kill().await;
        let _ = self.passt.kill().await;
        self.control = None;
    }
}

async fn send(w: &mut OwnedWriteHalf, m: &HostMessage) -> Result<()> {
    let mut line = serde_json::to_vec(m).map_err(|e| Error::Boot(e.to_string()))?;
    line.push(b'\n');
    w.write_all(&line).await.map_err(|e| {
        Error::Vsock(guest::VsockError {
            port: berth_proto::port::CONTROL,
            reason: e.to_string(),
        })
    })
}

async fn wait_for_stop(cmds: &mut mpsc::Receiver<Command>, shared: &Shared) -> Option<oneshot::Sender<()>> {
    while let Some(cmd) = cmds.recv().await {
        match cmd {
            Command::Stop(r) => return Some(r),
            Command::Restart => shared.log("fix the error above, then stop and start the machine"),
        }
    }
    None
}

async fn wait_for_file(path: &std::path::Path, limit: Duration) -> Result<()> {
    let until = Instant::now() + limit;
    while !path.exists() {
        if Instant::now() > until {
            return Err(Error::Boot(format!("{} did not appear", path.display())));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

fn describe_exit(
    kind: BackendKind,
    status: std::io::Result<std::process::ExitStatus>,
    console: &std::path::Path,
) -> String {
    let how = match status {
        Ok(s) => match (kind, s.code().and_then(backend::vmm::exit_meaning)) {
            (BackendKind::BerthVmm, Some(meaning)) => format!("berth-vmm exited with {s}: {meaning}"),
            _ => format!("hypervisor exited with {s}"),
        },
        Err(e) => format!("hypervisor could not be waited for: {e}"),
    };
    let tail = std::fs::read_to_string(console).unwrap_or_default();
    let last = tail
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string();
    if last.is_empty() {
        how
    } else {
        format!("{how}; last console line: {last}")
    }
}

/// The machine's settings from its config file, or the defaults.
pub fn load_config(paths: &MachinePaths) -> MachineConfig {
    std::fs::read(paths.config_file())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Writes settings after validating them.
pub fn save_config(paths: &MachinePaths, cfg: &MachineConfig) -> Result<()> {
    cfg.validate()?;
    let disk_now = std::fs::metadata(paths.data_disk())
        .map(|m| m.len() >> 30)
        .unwrap_or(0);
    if cfg.disk_gib < disk_now {
        return Err(berth_api::ConfigError::DiskShrink {
            current: disk_now,
            wanted: cfg.disk_gib,
        }
        .into());
    }
    let path: PathBuf = paths.config_file();
    let json = serde_json::to_vec_pretty(cfg).map_err(|e| Error::Boot(e.to_string()))?;
    std::fs::write(&path, json).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
