//! start, stop, restart, status, delete.

use std::io::{BufRead, IsTerminal, Write};

use berth_api::{Event, ForwardState, MachineState, Status};
use berth_engine::{DockerContext, Engine, UsageReading};

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
    let usage = match s.state {
        MachineState::Running => Some(usage(engine).await),
        _ => None,
    };
    if json {
        // The status with `usage` (a reading, or null) and, when it could not be read, `usage_error`.
        let mut v = serde_json::to_value(&s)?;
        v["usage"] = serde_json::to_value(usage.as_ref().and_then(|u| u.as_ref().ok()))?;
        if let Some(Err(e)) = &usage {
            v["usage_error"] = e.to_string().into();
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
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
    match &usage {
        Some(Ok(u)) => println!("Usage:    {}", usage_line(u)),
        Some(Err(e)) => println!("Usage:    unknown: {e}"),
        None => {}
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

/// Two snapshots a second apart, so CPU use is measured rather than guessed.
async fn usage(engine: &Engine) -> berth_engine::Result<UsageReading> {
    let first = engine.usage().await?;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let second = engine.usage().await?;
    Ok(UsageReading::new(Some(&first), &second))
}

fn usage_line(u: &UsageReading) -> String {
    let cpu = u
        .cpu_percent
        .map(|p| {
            let digits = if p < 10.0 { 1 } else { 0 };
            format!("CPU {p:.digits$}% of {}", u.cpus)
        })
        .unwrap_or_else(|| format!("CPU - of {}", u.cpus));
    let disk = match (u.disk_used_bytes, u.disk_size_bytes) {
        (Some(used), Some(size)) => format!("disk {} of {}", bytes(used), bytes(size)),
        _ => "disk unknown".into(),
    };
    let host = u
        .host_rss_bytes
        .map(|b| format!("; the VM process holds {} of this computer's memory", bytes(b)))
        .unwrap_or_default();
    format!(
        "{cpu}, memory {} of {}, {disk}{host}",
        bytes(u.memory_used_bytes),
        bytes(u.memory_total_bytes)
    )
}

/// MiB below a GiB, else GiB with one decimal.
fn bytes(b: u64) -> String {
    const MIB: f64 = (1u64 << 20) as f64;
    let mib = b as f64 / MIB;
    if mib < 1024.0 {
        format!("{mib:.0} MiB")
    } else {
        format!("{:.1} GiB", mib / 1024.0)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usage_line_says_cpu_memory_disk_and_the_host_side() {
        let u = UsageReading {
            cpu_percent: Some(12.4),
            cpus: 2,
            memory_used_bytes: 412 << 20,
            memory_total_bytes: 1986 << 20,
            disk_used_bytes: Some(1_288_490_189),
            disk_size_bytes: Some(63 << 30),
            host_rss_bytes: Some(530 << 20),
        };
        assert_eq!(
            usage_line(&u),
            "CPU 12% of 2, memory 412 MiB of 1.9 GiB, disk 1.2 GiB of 63.0 GiB; the VM process holds 530 MiB \
             of this computer's memory"
        );
        let idle = UsageReading {
            cpu_percent: Some(0.46),
            ..u
        };
        assert!(usage_line(&idle).starts_with("CPU 0.5% of 2,"));
        let unknown = UsageReading {
            cpu_percent: None,
            disk_used_bytes: None,
            host_rss_bytes: None,
            ..u
        };
        assert_eq!(
            usage_line(&unknown),
            "CPU - of 2, memory 412 MiB of 1.9 GiB, disk unknown"
        );
    }
}
