//! A machine's files as a user meets them: the tail of its logs (berthd, the guest console, the agent's
//! lines in it, the hypervisor), how much its data disk holds, and resetting it (deleting the data but
//! keeping the settings).

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use berth_api::Status;
use serde::{Deserialize, Serialize};

use crate::{host, Engine, Error, Result};

/// Which log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MachineLog {
    /// berthd's own log (`berthd.log`): starts, stops, backend choice, forwards, crashes.
    Daemon,
    /// The guest's serial console (`console.log`): kernel and agent.
    Console,
    /// Only berth-agent's lines of the console.
    Agent,
    /// QEMU's and passt's messages (`hypervisor.log`).
    Hypervisor,
}

/// The end of a log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogTail {
    /// Which log.
    pub kind: MachineLog,
    /// The file it comes from.
    pub path: PathBuf,
    /// Whether the file exists (it does once the machine has started).
    pub exists: bool,
    /// The last lines, oldest first, without terminal escapes.
    pub lines: Vec<String>,
    /// Whether earlier lines were left out.
    pub truncated: bool,
}

/// How far back a tail reads: enough for thousands of lines without reading a huge console log whole.
const TAIL_BYTES: u64 = 2 << 20;

impl Engine {
    /// The file a log lives in.
    pub fn log_path(&self, kind: MachineLog) -> PathBuf {
        match kind {
            MachineLog::Daemon => self.paths().daemon_log(),
            MachineLog::Console | MachineLog::Agent => self.paths().console_log(),
            MachineLog::Hypervisor => self.paths().hypervisor_log(),
        }
    }

    /// The last `max_lines` lines of a log; a log that does not exist yet is empty, not an error.
    pub fn log_tail(&self, kind: MachineLog, max_lines: usize) -> Result<LogTail> {
        let path = self.log_path(kind);
        let mut file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(LogTail {
                    kind,
                    path,
                    exists: false,
                    lines: vec![],
                    truncated: false,
                })
            }
            Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
        };
        let read_error = |e| Error::io(format!("cannot read {}", path.display()), e);
        let len = file.metadata().map_err(read_error)?.len();
        let from = len.saturating_sub(TAIL_BYTES);
        file.seek(SeekFrom::Start(from)).map_err(read_error)?;
        let mut bytes = Vec::with_capacity((len - from) as usize);
        file.read_to_end(&mut bytes).map_err(read_error)?;
        let text = String::from_utf8_lossy(&bytes);
        let mut all: Vec<&str> = text.lines().collect();
        if from > 0 && !all.is_empty() {
            // The first line was cut by where we started reading.
            all.remove(0);
        }
        if kind == MachineLog::Agent {
            all.retain(|l| l.contains("berth-agent:"));
        }
        let skip = all.len().saturating_sub(max_lines);
        let lines = all[skip..].iter().map(|l| plain(l)).collect();
        Ok(LogTail {
            kind,
            path,
            exists: true,
            lines,
            truncated: skip > 0 || from > 0,
        })
    }

    /// Bytes the data disk (images, containers, volumes) takes on the host's drive.
    pub fn data_disk_used(&self) -> u64 {
        host::allocated(&self.paths().data_disk())
    }

    /// Stops the machine and deletes its data disk (every image, container and volume), its logs and its
    /// runtime files, keeping its settings (and which docker context to switch back to). The next start
    /// makes a fresh, empty disk.
    pub async fn reset(&self) -> Result<Status> {
        let cfg = self.settings().await?;
        let previous_context = std::fs::read(self.previous_context_file()).ok();
        self.stop().await?;
        self.delete().await?;
        self.set_settings(&cfg).await?;
        if let Some(p) = previous_context {
            std::fs::write(self.previous_context_file(), p)
                .map_err(|e| Error::io("cannot remember the docker context to switch back to", e))?;
        }
        self.status().await
    }
}

/// A log line as text: carriage returns and terminal escape sequences (colours, cursor moves) removed.
fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI: ESC [ parameters… final byte in @..~ ; other escapes: ESC + one char.
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use berth_api::{MachineConfig, MachinePaths};

    use super::*;

    fn engine(dir: &std::path::Path) -> Engine {
        Engine::with_paths(MachinePaths {
            name: "t".into(),
            data_dir: dir.join("data"),
            run_dir: dir.join("run"),
        })
    }

    #[test]
    fn a_missing_log_is_empty_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let t = engine(dir.path()).log_tail(MachineLog::Daemon, 100).unwrap();
        assert!(!t.exists && t.lines.is_empty());
        assert!(t.path.ends_with("berthd.log"));
    }

    #[test]
    fn tails_keep_the_last_lines_and_the_agent_log_is_the_agents_console_lines() {
        let dir = tempfile::tempdir().unwrap();
        let e = engine(dir.path());
        std::fs::create_dir_all(&e.paths().data_dir).unwrap();
        let mut f = std::fs::File::create(e.paths().console_log()).unwrap();
        for i in 0..50 {
            writeln!(f, "[    {i}.000] kernel line {i}\r").unwrap();
            writeln!(
                f,
                "[    {i}.500] berth-agent: \u{1b}[32mdocker\u{1b}[0m: step {i}"
            )
            .unwrap();
        }
        let t = e.log_tail(MachineLog::Console, 3).unwrap();
        assert!(t.exists && t.truncated);
        assert_eq!(
            t.lines,
            [
                "[    48.500] berth-agent: docker: step 48",
                "[    49.000] kernel line 49",
                "[    49.500] berth-agent: docker: step 49"
            ]
        );
        let a = e.log_tail(MachineLog::Agent, 1000).unwrap();
        assert_eq!(a.lines.len(), 50);
        assert!(a.lines.iter().all(|l| l.contains("berth-agent:")));
        assert!(!a.truncated);
    }

    #[test]
    fn a_huge_log_is_read_from_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let e = engine(dir.path());
        std::fs::create_dir_all(&e.paths().data_dir).unwrap();
        let line = "x".repeat(99) + "\n";
        std::fs::write(e.paths().daemon_log(), line.repeat(40_000) + "the end\n").unwrap();
        let t = e.log_tail(MachineLog::Daemon, 2).unwrap();
        assert_eq!(t.lines, [&line[..99], "the end"]);
        assert!(t.truncated);
    }

    #[tokio::test]
    async fn reset_deletes_the_data_and_keeps_the_settings() {
        let dir = tempfile::tempdir().unwrap();
        let e = engine(dir.path());
        let cfg = MachineConfig {
            cpus: 3,
            insecure_registries: vec!["10.0.2.2:5000".into()],
            ..Default::default()
        };
        e.set_settings(&cfg).await.unwrap();
        std::fs::File::create(e.paths().data_disk())
            .unwrap()
            .set_len(1 << 20)
            .unwrap();
        std::fs::write(e.paths().daemon_log(), "old\n").unwrap();
        std::fs::write(e.previous_context_file(), "work").unwrap();
        let s = e.reset().await.unwrap();
        assert_eq!(
            std::fs::read_to_string(e.previous_context_file()).unwrap(),
            "work",
            "switching back still works"
        );
        assert!(!e.paths().data_disk().exists() && !e.paths().daemon_log().exists());
        assert_eq!(e.settings().await.unwrap(), cfg);
        assert_eq!(s.cpus, 3);
        assert_eq!(e.data_disk_used(), 0);
    }
}
