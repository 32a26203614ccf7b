//! `GET /v1/usage`: the guest's CPU, memory and data-disk use, asked of the agent over a control
//! connection of its own (no `Hello`, so the agent pushes nothing on it: every line is an answer), plus
//! the hypervisor process's resident memory read on the host.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use berth_api::vsock_client as guest;
use berth_proto::{AgentMessage, GuestUsage, HostMessage};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Mutex;

/// How long the agent may take to answer (it reads two small files and calls statvfs).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// Why usage could not be read.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// The control port could not be reached or the connection broke.
    #[error("cannot ask the guest for its usage: {0}")]
    Unreachable(String),
    /// The agent did not answer in time.
    #[error(
        "the guest's agent did not answer a usage request within {}s (a guest image older than this berthd? \
         rebuild it with `vm-image/build`)",
        ANSWER_TIMEOUT.as_secs()
    )]
    NoAnswer,
}

struct Connection {
    lines: tokio::io::Lines<BufReader<OwnedReadHalf>>,
    writer: OwnedWriteHalf,
}

/// Asks the agent for usage over one reused connection; requests go one at a time.
#[derive(Clone, Default)]
pub struct UsageProbe {
    conn: Arc<Mutex<Option<Connection>>>,
}

impl UsageProbe {
    /// The guest's usage now. A broken connection (the guest restarted) is reopened once.
    pub async fn guest(&self, vsock_socket: &Path) -> Result<GuestUsage, UsageError> {
        let mut conn = self.conn.lock().await;
        for attempt in 0..2 {
            if conn.is_none() {
                let s = guest::connect(vsock_socket, berth_proto::port::CONTROL)
                    .await
                    .map_err(|e| UsageError::Unreachable(e.to_string()))?;
                let (r, writer) = s.into_split();
                *conn = Some(Connection {
                    lines: BufReader::new(r).lines(),
                    writer,
                });
            }
            let Some(c) = conn.as_mut() else { continue };
            match tokio::time::timeout(ANSWER_TIMEOUT, ask(c)).await {
                Ok(Ok(u)) => return Ok(u),
                Ok(Err(e)) => {
                    *conn = None;
                    if attempt == 1 {
                        return Err(e);
                    }
                    tracing::debug!(error = %e, "usage connection broke; reconnecting");
                }
                Err(_) => {
                    *conn = None;
                    return Err(UsageError::NoAnswer);
                }
            }
        }
        Err(UsageError::Unreachable("the connection broke twice".into()))
    }

    /// Forgets the connection (the guest is going down).
    pub async fn reset(&self) {
        *self.conn.lock().await = None;
    }
}

async fn ask(c: &mut Connection) -> Result<GuestUsage, UsageError> {
    let broken = |e: String| UsageError::Unreachable(e);
    let mut line = serde_json::to_vec(&HostMessage::Usage).map_err(|e| broken(e.to_string()))?;
    line.push(b'\n');
    c.writer
        .write_all(&line)
        .await
        .map_err(|e| broken(e.to_string()))?;
    loop {
        let Some(l) = c.lines.next_line().await.map_err(|e| broken(e.to_string()))? else {
            return Err(broken("the guest closed the connection".into()));
        };
        match serde_json::from_str::<AgentMessage>(&l) {
            Ok(AgentMessage::Usage(u)) => return Ok(u),
            Ok(other) => tracing::debug!(?other, "ignoring a message on the usage connection"),
            Err(e) => tracing::warn!(error = %e, line = %l, "unreadable agent message"),
        }
    }
}

/// The API's answer from the agent's snapshot and the host's view of the hypervisor.
pub fn to_api(g: &GuestUsage, host_rss_bytes: Option<u64>) -> berth_api::Usage {
    berth_api::Usage {
        cpu: berth_api::CpuTimes {
            busy_jiffies: g.cpu.busy_jiffies,
            total_jiffies: g.cpu.total_jiffies,
            cpus: g.cpu.cpus,
        },
        memory: berth_api::MemoryUsage {
            total_bytes: g.memory.total_bytes,
            used_bytes: g.memory.total_bytes.saturating_sub(g.memory.available_bytes),
            available_bytes: g.memory.available_bytes,
        },
        disk: g.disk.as_ref().map(|d| berth_api::DiskUsage {
            size_bytes: d.size_bytes,
            used_bytes: d.used_bytes,
            free_bytes: d.free_bytes,
        }),
        host_rss_bytes,
    }
}

/// Resident memory of process `pid` (`VmRSS` in `/proc/<pid>/status`); `None` off Linux or when the
/// process is gone.
pub fn host_rss(pid: u32) -> Option<u64> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    parse_vm_rss(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// `VmRSS:   123456 kB` → bytes.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    let rest = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let mut f = rest.split_ascii_whitespace();
    let kib: u64 = f.next()?.parse().ok()?;
    (f.next() == Some("kB")).then(|| kib.saturating_mul(1024))
}

#[cfg(test)]
mod tests {
    use berth_proto::{read_json_line, write_json_line, CpuTimes, DiskUsage, MemoryUsage};
    use std::io::BufReader as StdBufReader;

    use super::*;

    #[test]
    fn vm_rss_is_read_in_bytes() {
        let status = "Name:\tqemu-system-x86\nVmPeak:\t 2000000 kB\nVmRSS:\t  345678 kB\nRssAnon:\t 1 kB\n";
        assert_eq!(parse_vm_rss(status), Some(345_678 * 1024));
        assert_eq!(
            parse_vm_rss("Name:\tkthreadd\n"),
            None,
            "kernel threads have no VmRSS"
        );
        assert_eq!(parse_vm_rss("VmRSS:\tlots kB\n"), None);
        let me = host_rss(std::process::id()).expect("this test's own RSS");
        assert!(me > 1 << 20, "{me}");
        assert_eq!(host_rss(u32::MAX), None);
    }

    #[test]
    fn used_memory_is_total_minus_available() {
        let g = GuestUsage {
            cpu: CpuTimes {
                busy_jiffies: 1,
                total_jiffies: 2,
                cpus: 2,
            },
            memory: MemoryUsage {
                total_bytes: 2000,
                available_bytes: 1500,
            },
            disk: Some(DiskUsage {
                path: "/var/lib/docker".into(),
                size_bytes: 10,
                used_bytes: 4,
                free_bytes: 5,
            }),
        };
        let u = to_api(&g, Some(7));
        assert_eq!((u.memory.used_bytes, u.memory.total_bytes), (500, 2000));
        assert_eq!(u.disk.map(|d| d.size_bytes), Some(10));
        assert_eq!((u.cpu.cpus, u.host_rss_bytes), (2, Some(7)));
    }

    /// A fake vsock device socket: each connection gets `OK`, then a pretend agent that answers
    /// `Usage` after first pushing an unrelated line; the first connection is closed after one answer.
    fn fake_device(dir: &Path) -> std::path::PathBuf {
        use std::io::Write;
        let path = dir.join("vsock.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        std::thread::spawn(move || {
            for (n, s) in listener.incoming().enumerate() {
                let Ok(s) = s else { return };
                std::thread::spawn(move || {
                    let mut w = s.try_clone().unwrap();
                    let mut r = StdBufReader::new(s);
                    let mut connect = String::new();
                    std::io::BufRead::read_line(&mut r, &mut connect).unwrap();
                    assert_eq!(connect, "CONNECT 1024\n");
                    w.write_all(b"OK 1\n").unwrap();
                    let mut answered = 0u64;
                    while let Ok(HostMessage::Usage) = read_json_line::<HostMessage, _>(&mut r) {
                        answered += 1;
                        write_json_line(&mut w, &AgentMessage::Pong).unwrap();
                        let mut g = GuestUsage::default();
                        g.cpu.busy_jiffies = n as u64 * 100 + answered;
                        write_json_line(&mut w, &AgentMessage::Usage(g)).unwrap();
                        if n == 0 {
                            break; // the guest "restarted"
                        }
                    }
                });
            }
        });
        path
    }

    #[tokio::test]
    async fn asks_over_one_connection_and_reconnects_once_it_broke() {
        let dir = tempfile::tempdir().unwrap();
        let sock = fake_device(dir.path());
        let probe = UsageProbe::default();
        assert_eq!(probe.guest(&sock).await.unwrap().cpu.busy_jiffies, 1);
        // The first connection is gone: the next request reconnects and gets the second's answers.
        assert_eq!(probe.guest(&sock).await.unwrap().cpu.busy_jiffies, 101);
        assert_eq!(probe.guest(&sock).await.unwrap().cpu.busy_jiffies, 102, "reused");
        probe.reset().await;
        assert!(matches!(
            probe.guest(&dir.path().join("none.sock")).await,
            Err(UsageError::Unreachable(_))
        ));
        assert_eq!(
            probe.guest(&sock).await.unwrap().cpu.busy_jiffies,
            201,
            "a new connection"
        );
    }
}
