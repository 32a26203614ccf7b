//! `berth logs`: berthd's log, the guest console, or the hypervisor's messages.

use std::io::{Read, Seek, SeekFrom, Write};
use std::time::Duration;

use berth_engine::Engine;

use crate::CmdResult;

#[derive(clap::Args)]
pub struct LogsArgs {
    /// The guest's serial console instead of berthd's log.
    #[arg(long, conflicts_with = "hypervisor")]
    console: bool,
    /// The hypervisor's (QEMU, passt) messages.
    #[arg(long)]
    hypervisor: bool,
    /// Keep printing new lines.
    #[arg(long, short)]
    follow: bool,
    /// Only the last N lines.
    #[arg(long, short = 'n')]
    tail: Option<usize>,
}

pub async fn run(engine: &Engine, a: LogsArgs) -> CmdResult {
    let p = engine.paths();
    let path = if a.console {
        p.console_log()
    } else if a.hypervisor {
        p.hypervisor_log()
    } else {
        p.daemon_log()
    };
    let mut f = std::fs::File::open(&path).map_err(|e| {
        format!(
            "cannot read {}: {e} (has the machine ever started?)",
            path.display()
        )
    })?;
    let mut text = String::new();
    f.read_to_string(&mut text)?;
    let lines: Vec<&str> = text.lines().collect();
    let from = a.tail.map(|n| lines.len().saturating_sub(n)).unwrap_or(0);
    let mut out = std::io::stdout().lock();
    for l in &lines[from..] {
        writeln!(out, "{l}")?;
    }
    drop(out);
    if a.follow {
        let mut pos = f.stream_position()?;
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let len = std::fs::metadata(&path)?.len();
            if len < pos {
                pos = 0;
            }
            if len > pos {
                f.seek(SeekFrom::Start(pos))?;
                let mut buf = Vec::new();
                f.read_to_end(&mut buf)?;
                pos += buf.len() as u64;
                std::io::stdout().write_all(&buf)?;
                std::io::stdout().flush()?;
            }
        }
    }
    Ok(())
}
