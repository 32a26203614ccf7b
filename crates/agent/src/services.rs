//! Supervised services (containerd, dockerd): started with stdout and stderr in /var/log/<name>.log
//! (rotated at 8 MiB) and the last lines kept for error reports; restarted on exit with exponential
//! backoff (1 s doubling to a 30 s cap, reset after a minute of uptime), each exit pushed to the host.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use berth_proto::{AgentMessage, Phase};

use crate::control::Hub;
use crate::reaper;
use crate::sys::lock;

const TAIL_LINES: usize = 30;
const LOG_ROTATE_BYTES: u64 = 8 << 20;
const MAX_LINE: u64 = 16 * 1024;
/// A run this long counts as healthy: the next failure starts the backoff again from 1 s.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// Delay before restart number `attempt` (0-based): 1 s, 2 s, 4 s, … capped at 30 s.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(1000u64.saturating_mul(1u64 << attempt.min(16)).min(30_000))
}

#[derive(Default)]
struct Run {
    pid: Option<i32>,
    generation: u64,
    stopping: bool,
}

/// One supervised program.
pub struct Service {
    /// `containerd` or `dockerd`.
    pub name: &'static str,
    argv: Vec<String>,
    log_path: PathBuf,
    tail: Arc<Mutex<VecDeque<String>>>,
    run: Mutex<Run>,
    changed: Condvar,
    /// The phase the guest is in while this service is down (dockerd: not `Ready` any more).
    down_phase: Option<Phase>,
}

impl Service {
    /// A service whose output goes to `log_path` (`/var/log/<name>.log` in the guest).
    pub fn new(name: &'static str, argv: &[&str], log_path: impl Into<PathBuf>) -> Arc<Service> {
        Arc::new(Service {
            name,
            argv: argv.iter().map(|s| s.to_string()).collect(),
            log_path: log_path.into(),
            tail: Arc::new(Mutex::new(VecDeque::new())),
            run: Mutex::new(Run::default()),
            changed: Condvar::new(),
            down_phase: None,
        })
    }

    /// Like [`Service::new`]; while the service is down the guest is in `phase`.
    pub fn with_down_phase(
        name: &'static str,
        argv: &[&str],
        log_path: impl Into<PathBuf>,
        phase: Phase,
    ) -> Arc<Service> {
        let mut svc = Service::new(name, argv, log_path);
        if let Some(s) = Arc::get_mut(&mut svc) {
            s.down_phase = Some(phase);
        }
        svc
    }

    /// The last lines the service printed.
    pub fn tail(&self) -> Vec<String> {
        lock(&self.tail).iter().cloned().collect()
    }

    /// Whether run number `generation` is still the live one.
    pub fn is_current(&self, generation: u64) -> bool {
        let run = lock(&self.run);
        run.generation == generation && run.pid.is_some() && !run.stopping
    }

    /// Starts the supervisor thread. `on_start(generation)` runs after every successful start.
    pub fn supervise(self: &Arc<Self>, hub: Arc<Hub>, on_start: impl Fn(u64) + Send + 'static) {
        let me = self.clone();
        crate::sys::spawn(&format!("supervise-{}", self.name), move || {
            me.supervise_loop(&hub, &on_start)
        });
    }

    fn supervise_loop(&self, hub: &Hub, on_start: &dyn Fn(u64)) {
        let mut attempt = 0;
        loop {
            let started = Instant::now();
            let status = match self.start() {
                Ok(pid) => {
                    let generation = {
                        let mut run = lock(&self.run);
                        if run.stopping {
                            sys_kill_term(pid);
                        }
                        run.pid = Some(pid);
                        run.generation += 1;
                        run.generation
                    };
                    log!("{}: started (pid {pid})", self.name);
                    on_start(generation);
                    let status = reaper::wait(pid, None).map(reaper::describe).unwrap_or_default();
                    lock(&self.run).pid = None;
                    self.changed.notify_all();
                    status
                }
                Err(e) => format!("cannot start: {e}"),
            };
            if lock(&self.run).stopping {
                log!("{}: stopped ({status})", self.name);
                return;
            }
            if started.elapsed() >= HEALTHY_RUN {
                attempt = 0;
            }
            let delay = backoff(attempt);
            attempt = attempt.saturating_add(1);
            let last = self.tail().last().cloned().unwrap_or_default();
            log!(
                "{}: exited ({status}); restart in {} s; last output: {last}",
                self.name,
                delay.as_secs()
            );
            hub.push(&AgentMessage::ServiceExited {
                name: self.name.into(),
                status: status.clone(),
                restart_in_ms: delay.as_millis() as u64,
            });
            let message = format!("{} exited ({status}), restarting: {last}", self.name);
            match self.down_phase {
                Some(phase) => hub.set_phase(phase, message),
                None => hub.status(message),
            }
            let run = lock(&self.run);
            let (run, _) = self
                .changed
                .wait_timeout_while(run, delay, |r| !r.stopping)
                .unwrap_or_else(|e| e.into_inner());
            if run.stopping {
                return;
            }
        }
    }

    fn start(&self) -> std::io::Result<i32> {
        let (program, args) = self
            .argv
            .split_first()
            .ok_or_else(|| std::io::Error::other("empty command"))?;
        let (reader, writer) = crate::sys::pipe()?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(writer.try_clone()?)
            .stderr(writer);
        let child = reaper::spawn(&mut cmd)?;
        drop(cmd);
        let sink = LogSink {
            name: self.name,
            path: self.log_path.clone(),
            tail: self.tail.clone(),
        };
        crate::sys::spawn(&format!("log-{}", self.name), move || sink.copy(reader));
        Ok(child.id() as i32)
    }

    /// Stops the service: SIGTERM, up to `timeout` for it to exit, then SIGKILL. No restart follows.
    pub fn stop(&self, timeout: Duration) {
        let mut run = lock(&self.run);
        run.stopping = true;
        self.changed.notify_all();
        let Some(pid) = run.pid else { return };
        log!(
            "{}: SIGTERM (pid {pid}), waiting up to {} s",
            self.name,
            timeout.as_secs()
        );
        sys_kill_term(pid);
        let (run, res) = self
            .changed
            .wait_timeout_while(run, timeout, |r| r.pid.is_some())
            .unwrap_or_else(|e| e.into_inner());
        if res.timed_out() {
            log!(
                "{}: still running after {} s; SIGKILL",
                self.name,
                timeout.as_secs()
            );
            crate::sys::kill(pid, libc::SIGKILL);
            let _ = self
                .changed
                .wait_timeout_while(run, Duration::from_secs(3), |r| r.pid.is_some());
        }
    }
}

fn sys_kill_term(pid: i32) {
    crate::sys::kill(pid, libc::SIGTERM);
}

/// Where a service's output goes: its log file (rotated) and the tail kept in memory. Lines with
/// `level=error`/`level=fatal` are echoed to the console too.
struct LogSink {
    name: &'static str,
    path: PathBuf,
    tail: Arc<Mutex<VecDeque<String>>>,
}

impl LogSink {
    fn copy(&self, from: impl std::io::Read) {
        let mut reader = BufReader::with_capacity(64 * 1024, from);
        let mut file = self.open();
        let mut written = 0u64;
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.by_ref().take(MAX_LINE).read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if let Some(f) = file.as_mut() {
                let _ = f.write_all(&line);
                written += line.len() as u64;
                if written >= LOG_ROTATE_BYTES {
                    let _ = std::fs::rename(&self.path, self.path.with_extension("log.1"));
                    file = self.open();
                    written = 0;
                }
            }
            let text = String::from_utf8_lossy(&line).trim_end().to_string();
            if text.contains("level=error") || text.contains("level=fatal") {
                log!("{}: {text}", self.name);
            }
            push_tail(&mut lock(&self.tail), text);
        }
    }

    fn open(&self) -> Option<File> {
        OpenOptions::new().create(true).append(true).open(&self.path).ok()
    }
}

fn push_tail(tail: &mut VecDeque<String>, line: String) {
    if tail.len() >= TAIL_LINES {
        tail.pop_front();
    }
    tail.push_back(line);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap() {
        let secs: Vec<u64> = (0..8).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(backoff(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn log_sink_keeps_a_bounded_tail_and_a_file() {
        let path = std::env::temp_dir().join(format!("berth-agent-svc-{}.log", std::process::id()));
        let sink = LogSink {
            name: "test",
            path: path.clone(),
            tail: Arc::default(),
        };
        let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
        sink.copy(text.as_bytes());
        let tail = lock(&sink.tail).clone();
        assert_eq!(tail.len(), TAIL_LINES);
        assert_eq!(tail.back().map(String::as_str), Some("line 99"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_service_restarts_and_stops() {
        let log = std::env::temp_dir().join(format!("berth-agent-flaky-{}.log", std::process::id()));
        let svc = Service::new("flaky", &["/bin/sh", "-c", "echo started; exit 3"], &log);
        let hub = Arc::new(Hub::default());
        let (tx, rx) = std::sync::mpsc::channel();
        svc.supervise(hub, move |g| {
            let _ = tx.send(g);
        });
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), 1);
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), 2); // after the 1 s backoff
        svc.stop(Duration::from_secs(2));
        assert!(rx.recv_timeout(Duration::from_millis(2500)).is_err());
        assert_eq!(svc.tail().last().map(String::as_str), Some("started"));
        let _ = std::fs::remove_file(&log);
    }
}
