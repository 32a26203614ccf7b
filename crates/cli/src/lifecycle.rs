//! start, stop, restart, status, delete.

use std::io::{BufRead, IsTerminal, Write};

use berth_api::{Event, ForwardState, MachineState, Status};
use berth_engine::{DockerContext, Engine};

use crate::{CmdResult, Failure};

/// Settings `berth start` may change before starting.
#[derive(clap::Args)]
pub struct StartArgs {
    /// Virtual CPUs.
    #[arg(long)]
    cpus: Option<u32>,
    /// Memory in MiB.
    #[arg(long)]
    memory: Option<u64>,
    /// Data disk size in GiB (grows only).
    #[arg(long)]
    disk: Option<u64>,
    /// A registry dockerd may reach over plain HTTP (host:port); repeat for more. Replaces the saved list.
    #[arg(long = "insecure-registry")]
    insecure_registries: Vec<String>,
}

pub async fn start(engine: &Engine, a: StartArgs) -> CmdResult {
    let mut cfg = engine.settings().await?;
    let before = cfg.clone();
    cfg.cpus = a.cpus.unwrap_or(cfg.cpus);
    cfg.memory_mib = a.memory.unwrap_or(cfg.memory_mib);
    cfg.disk_gib = a.disk.unwrap_or(cfg.disk_gib);
    if !a.insecure_registries.is_empty() {
        cfg.insecure_registries = a.insecure_registries;
    }
    let running = engine.is_running().await;
    if cfg != before {
        engine.set_settings(&cfg).await?;
        if running {
            eprintln!("Settings saved; run `berth restart` to apply them.");
        }
    }
    if running {
        let s = engine.status().await?;
        println!(
            "Machine {:?} is already {} (berthd pid {}).",
            s.name,
            state_word(s.state),
            s.pid.unwrap_or(0)
        );
        match s.state {
            MachineState::Running => print_ready(&s),
            MachineState::Starting => {
                // Wait for the start under way, as a fresh start would.
                let s = engine.start(show_progress).await?;
                print_ready(&s);
            }
            MachineState::Error => {
                return Err(Failure {
                    code: 1,
                    message: format!(
                        "{} (stop it with `berth stop`, then start again)",
                        s.error.unwrap_or_default()
                    ),
                })
            }
            _ => {}
        }
        return Ok(());
    }
    eprintln!("Starting machine {:?}…", engine.paths().name);
    let s = engine.start(show_progress).await?;
    print_ready(&s);
    Ok(())
}

fn show_progress(ev: &Event) {
    match ev {
        Event::Log { message } => eprintln!("  {message}"),
        Event::Status { status } => {
            if let (Some(b), MachineState::Starting) = (&status.backend, status.state) {
                static ONCE: std::sync::Once = std::sync::Once::new();
                ONCE.call_once(|| eprintln!("  backend: {} — {}", backend_word(b.kind), b.reason));
            }
        }
    }
}

fn print_ready(s: &Status) {
    println!(
        "Docker Engine {} is ready.",
        s.versions.docker.as_deref().unwrap_or("?")
    );
    println!("  DOCKER_HOST={}", s.docker_host);
    match berth_engine::ensure_docker_context(&s.docker_host) {
        DockerContext::Created | DockerContext::Updated => {
            println!(
                "  docker context \"berth\" points here: `docker context use berth` to make it the default"
            )
        }
        DockerContext::NoDockerCli => {
            println!("  (the docker CLI is not installed; any Docker client can use the socket)")
        }
        DockerContext::Failed(e) => eprintln!("  note: could not set up the docker context: {e}"),
    }
}

pub async fn stop(engine: &Engine) -> CmdResult {
    if !engine.is_running().await {
        println!("Machine {:?} is not running.", engine.paths().name);
        return Ok(());
    }
    eprintln!("Stopping machine {:?}…", engine.paths().name);
    let s = engine.stop().await?;
    if s.state != MachineState::Stopped {
        return Err(Failure {
            code: 1,
            message: format!("the machine is still {}", state_word(s.state)),
        });
    }
    println!("Stopped.");
    Ok(())
}

pub async fn restart(engine: &Engine) -> CmdResult {
    eprintln!("Restarting machine {:?}…", engine.paths().name);
    let s = engine.restart(show_progress).await?;
    print_ready(&s);
    Ok(())
}

pub async fn status(engine: &Engine, json: bool) -> CmdResult {
    let s = engine.status().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(());
    }
    println!("Machine:  {} — {}", s.name, state_word(s.state));
    if let Some(d) = &s.detail {
        println!("Detail:   {d}");
    }
    if let Some(e) = &s.error {
        println!("Error:    {e}");
    }
    if let Some(b) = &s.backend {
        println!("Backend:  {} — {}", backend_word(b.kind), b.reason);
    }
    println!("Docker:   {}", s.docker_host);
    println!(
        "Size:     {} CPUs, {} MiB memory, {} GiB disk",
        s.cpus, s.memory_mib, s.disk_gib
    );
    let v = &s.versions;
    println!(
        "Versions: berth {}, engine {}, kernel {}, agent {}",
        v.berth,
        v.docker.as_deref().unwrap_or("-"),
        v.kernel.as_deref().unwrap_or("-"),
        v.agent.as_deref().unwrap_or("-")
    );
    if let Some(u) = s.uptime_s {
        println!(
            "Uptime:   {}m {}s{}",
            u / 60,
            u % 60,
            if s.restarts > 0 {
                format!(" ({} crash restarts)", s.restarts)
            } else {
                String::new()
            }
        );
    }
    for p in &s.ports {
        match p.state {
            ForwardState::Forwarding => println!(
                "Port:     127.0.0.1:{}/{} → {}",
                p.port,
                p.transport,
                p.containers.join(", ")
            ),
            ForwardState::Failed => println!(
                "Port:     {}/{} FAILED: {}",
                p.port,
                p.transport,
                p.error.as_deref().unwrap_or("")
            ),
        }
    }
    if s.state == MachineState::Stopped {
        return Err(Failure {
            code: 3,
            message: "not running; start it with `berth start`".into(),
        });
    }
    Ok(())
}

pub async fn delete(engine: &Engine, yes: bool) -> CmdResult {
    let name = engine.paths().name.clone();
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Failure {
                code: 2,
                message: "refusing to delete without --yes when not asked at a terminal".into(),
            });
        }
        eprint!("Delete machine {name:?} with all its images, containers and volumes? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("Nothing deleted.");
            return Ok(());
        }
    }
    if engine.is_running().await {
        eprintln!("Stopping machine {name:?}…");
        engine.stop().await?;
    }
    engine.delete().await?;
    println!("Deleted machine {name:?}.");
    Ok(())
}

fn state_word(s: MachineState) -> &'static str {
    match s {
        MachineState::Stopped => "stopped",
        MachineState::Starting => "starting",
        MachineState::Running => "running",
        MachineState::Stopping => "stopping",
        MachineState::Error => "in error",
    }
}

fn backend_word(k: berth_api::BackendKind) -> &'static str {
    match k {
        berth_api::BackendKind::QemuKvm => "QEMU + KVM",
        berth_api::BackendKind::QemuTcg => "QEMU emulation (TCG)",
        berth_api::BackendKind::BerthVmm => "berth-vmm",
    }
}
