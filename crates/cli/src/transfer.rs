//! `berth tag`, `berth push` and `berth quickrun`: images between the machine and registries, with the
//! credentials `berth login` stored, and one-click runs.
//!
//! Why `quickrun` and not `run-hub`: it runs an image from any registry, not only Docker Hub, and it does
//! more than `docker run` (ports chosen for you, an architecture check, the URLs to open), so it should
//! not look like a `docker run` clone either.

use std::collections::HashMap;
use std::time::Duration;

use berth_engine::{Engine, Error, PullProgress, QuickRunEvent, QuickRunOptions};
use futures_util::StreamExt;

use crate::table::bytes;
use crate::{CmdResult, Failure};

#[derive(clap::Args)]
pub struct TagArgs {
    /// The image to name (id or reference).
    source: String,
    /// The new name (`127.0.0.1:5000/app:1`).
    target: String,
}

#[derive(clap::Args)]
pub struct PushArgs {
    /// The image (`127.0.0.1:5000/app:1`); name a local image so first with `berth tag`.
    image: String,
    /// Print the result as JSON (progress still goes to stderr).
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct QuickRunArgs {
    /// The image (`nginx:1.27`, `127.0.0.1:5000/app:1`).
    image: String,
    /// Run it even when it is built for another architecture than the machine's (emulated: slow, and
    /// only where the machine has an emulator).
    #[arg(long)]
    allow_emulated: bool,
    /// Container name.
    #[arg(long)]
    name: Option<String>,
    /// How many of its first log lines to show.
    #[arg(long, default_value_t = 10)]
    logs: usize,
    /// Print the result as JSON (progress still goes to stderr).
    #[arg(long)]
    json: bool,
}

fn docker(engine: &Engine) -> Result<berth_engine::DockerApi, Failure> {
    engine.docker_api().map_err(not_running)
}

fn not_running(e: Error) -> Failure {
    match e {
        Error::NotRunning => Failure {
            code: 3,
            message: "the machine is not running; start it with `berth start`".into(),
        },
        other => other.into(),
    }
}

pub async fn tag(engine: &Engine, a: TagArgs) -> CmdResult {
    docker(engine)?
        .tag(&a.source, &a.target)
        .await
        .map_err(not_running)?;
    println!("Tagged {} as {}.", a.source, a.target);
    Ok(())
}

pub async fn push(engine: &Engine, a: PushArgs) -> CmdResult {
    let api = docker(engine)?;
    let mut shown = Progress::default();
    let report = api.push(&a.image, |p| shown.line(p)).await.map_err(not_running)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        match &report.digest {
            Some(d) => println!("Pushed {} ({d}).", report.reference),
            None => println!("Pushed {}.", report.reference),
        }
    }
    Ok(())
}

pub async fn quickrun(engine: &Engine, a: QuickRunArgs) -> CmdResult {
    let opts = QuickRunOptions {
        allow_emulated: a.allow_emulated,
        name: a.name.clone(),
    };
    let mut shown = Progress::default();
    let run = engine
        .run_from_registry(&a.image, &opts, |ev| match ev {
            QuickRunEvent::Checked {
                machine, emulated, ..
            } if *emulated => eprintln!("{} runs emulated on this {machine} machine.", a.image),
            QuickRunEvent::Checked { .. } => {}
            QuickRunEvent::Pull(p) => shown.line(p),
            QuickRunEvent::Starting { ports } => {
                let list: Vec<String> = ports
                    .iter()
                    .map(|p| format!("{}→{}/{}", p.host_port, p.container_port, p.protocol))
                    .collect();
                if list.is_empty() {
                    eprintln!("Starting (the image exposes no ports).");
                } else {
                    eprintln!("Starting with ports {}.", list.join(", "));
                }
            }
        })
        .await
        .map_err(|e| match e {
            Error::NeedsEmulation { .. } => Failure {
                code: 1,
                message: format!("{e}: pass --allow-emulated"),
            },
            other => not_running(other),
        })?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&run)?);
        return Ok(());
    }
    println!(
        "Started {} ({}) from {}.",
        run.name,
        &run.id[..12.min(run.id.len())],
        run.image
    );
    for url in &run.urls {
        println!("Open {url}");
    }
    if run.emulated {
        println!("It runs emulated (label dev.berth.emulated=true).");
    }
    if a.logs > 0 {
        // Give it a moment to say something.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let api = docker(engine)?;
        let mut logs = Box::pin(api.logs(&run.id, a.logs, false));
        let mut first = true;
        while let Some(Ok(line)) = logs.next().await {
            if first {
                println!(
                    "--- first log lines (follow them with `docker logs -f {}`)",
                    run.name
                );
                first = false;
            }
            println!("{}", line.text);
        }
    }
    Ok(())
}

/// Prints progress lines: one line per change of a layer's state, with sizes while moving.
#[derive(Default)]
struct Progress {
    last: HashMap<String, String>,
}

impl Progress {
    fn line(&mut self, p: &PullProgress) {
        let key = p.layer.clone().unwrap_or_default();
        let moving = matches!(p.status.as_str(), "Downloading" | "Pushing" | "Extracting");
        if moving && self.last.get(&key).is_some_and(|s| s == &p.status) {
            return;
        }
        self.last.insert(key, p.status.clone());
        let size = match (p.current, p.total) {
            (_, Some(t)) if moving => format!(" ({})", bytes(t.max(0) as u64)),
            _ => String::new(),
        };
        match &p.layer {
            Some(l) => eprintln!("{l}: {}{size}", p.status),
            None => eprintln!("{}", p.status),
        }
    }
}
