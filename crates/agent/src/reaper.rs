//! PID 1 reaps every child, including orphans re-parented to it, without stealing the exit status of
//! the processes the agent waits for itself.
//!
//! All children the agent starts go through [`spawn`], which registers the pid while holding the reaper
//! lock; the reaper only calls `waitpid(-1, WNOHANG)` under that same lock. So it can never reap a child
//! before it is registered, nor one that `std` is still waiting for inside `Command::spawn` (exec
//! failure). Statuses of registered pids are kept for [`wait`]; everything else is discarded.
//! Outside PID 1 (tests) no reaper runs and [`wait`] falls back to `waitpid(pid)`.

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::sys::lock;

#[derive(Default)]
struct State {
    tracked: HashSet<i32>,
    exited: HashMap<i32, i32>,
}

struct Reaper {
    state: Mutex<State>,
    exited: Condvar,
    kicked: Mutex<bool>,
    kick: Condvar,
}

static REAPER: OnceLock<Reaper> = OnceLock::new();

/// Starts the reaper thread (PID 1 only).
pub fn start() {
    let reaper = Reaper {
        state: Mutex::new(State::default()),
        exited: Condvar::new(),
        kicked: Mutex::new(false),
        kick: Condvar::new(),
    };
    if REAPER.set(reaper).is_err() {
        return;
    }
    crate::sys::spawn("reaper", reap_forever);
}

/// Wakes the reaper (on SIGCHLD).
pub fn kick() {
    if let Some(r) = REAPER.get() {
        *lock(&r.kicked) = true;
        r.kick.notify_one();
    }
}

fn reap_forever() {
    let Some(r) = REAPER.get() else { return };
    loop {
        {
            let mut st = lock(&r.state);
            loop {
                let mut status = 0;
                // SAFETY: `status` is a valid out-pointer; WNOHANG never blocks.
                let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
                if pid <= 0 {
                    break;
                }
                if st.tracked.remove(&pid) {
                    st.exited.insert(pid, status);
                    r.exited.notify_all();
                }
            }
        }
        let mut kicked = lock(&r.kicked);
        if !*kicked {
            kicked = r
                .kick
                .wait_timeout(kicked, Duration::from_secs(1))
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        *kicked = false;
    }
}

/// Spawns `cmd` and registers its pid. Never call `Child::wait` on the result: use [`wait`].
pub fn spawn(cmd: &mut Command) -> std::io::Result<Child> {
    match REAPER.get() {
        Some(r) => {
            let mut st = lock(&r.state);
            let child = cmd.spawn()?;
            st.tracked.insert(child.id() as i32);
            drop(st);
            kick();
            Ok(child)
        }
        None => cmd.spawn(),
    }
}

/// Waits for a child started by [`spawn`]; `None` if `timeout` passed first. Returns the raw wait status.
pub fn wait(pid: i32, timeout: Option<Duration>) -> Option<i32> {
    let deadline = timeout.map(|t| Instant::now() + t);
    match REAPER.get() {
        Some(r) => {
            let mut st = lock(&r.state);
            loop {
                if let Some(status) = st.exited.remove(&pid) {
                    return Some(status);
                }
                if !st.tracked.contains(&pid) {
                    return Some(0); // never ours, or already collected: nothing to wait for
                }
                let step = match deadline {
                    Some(d) => d.checked_duration_since(Instant::now())?,
                    None => Duration::from_secs(5),
                };
                st = r
                    .exited
                    .wait_timeout(st, step)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|e| e.into_inner().0);
            }
        }
        None => loop {
            let mut status = 0;
            let flags = if deadline.is_some() { libc::WNOHANG } else { 0 };
            // SAFETY: `status` is a valid out-pointer.
            let rc = unsafe { libc::waitpid(pid, &mut status, flags) };
            if rc == pid {
                return Some(status);
            }
            if rc < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                return Some(0);
            }
            if let Some(d) = deadline {
                if Instant::now() >= d {
                    return None;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        },
    }
}

/// `exit 1`, `signal 9` — how a raw wait status reads in logs and `ServiceExited`.
pub fn describe(status: i32) -> String {
    if libc::WIFEXITED(status) {
        format!("exit {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        format!("signal {}", libc::WTERMSIG(status))
    } else {
        format!("status {status:#x}")
    }
}

/// Runs a short command to completion with stdout and stderr merged; `Err` carries the status and the
/// output's tail. For setup tools (`ip`, `mkfs.ext4`, `fstrim`), not for services.
pub fn run(program: &str, args: &[&str]) -> Result<String, String> {
    run_ok_codes(program, args, &[0]).map(|(_, out)| out)
}

/// Like [`run`], but any exit code in `ok` counts as success; returns it with the output.
pub fn run_ok_codes(program: &str, args: &[&str], ok: &[i32]) -> Result<(i32, String), String> {
    use std::io::Read;
    let what = format!("{program} {}", args.join(" "));
    let (mut reader, writer) = crate::sys::pipe().map_err(|e| format!("{what}: pipe: {e}"))?;
    let writer2 = writer.try_clone().map_err(|e| format!("{what}: pipe: {e}"))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(std::process::Stdio::null())
        .stdout(writer)
        .stderr(writer2);
    let child = spawn(&mut cmd).map_err(|e| format!("{what}: {e}"))?;
    drop(cmd); // closes our copies of the write end so the read below ends with the child
    let mut out = Vec::new();
    let _ = reader.by_ref().take(256 * 1024).read_to_end(&mut out);
    drop(reader); // a child with more to say gets EPIPE instead of blocking us forever
    let status = wait(child.id() as i32, None).unwrap_or(0);
    let text = String::from_utf8_lossy(&out).trim().to_string();
    if libc::WIFEXITED(status) && ok.contains(&libc::WEXITSTATUS(status)) {
        return Ok((libc::WEXITSTATUS(status), text));
    }
    let skip = text.chars().count().saturating_sub(400);
    let tail: String = text.chars().skip(skip).collect();
    Err(format!("{what}: {}: {tail}", describe(status)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_reports_output_and_failure() {
        assert_eq!(
            run("/bin/sh", &["-c", "echo out; echo err >&2"]).unwrap(),
            "out\nerr"
        );
        let err = run("/bin/sh", &["-c", "echo boom; exit 3"]).unwrap_err();
        assert!(err.contains("exit 3") && err.contains("boom"), "{err}");
        assert!(run("/nonexistent/tool", &[]).is_err());
        assert_eq!(run_ok_codes("/bin/sh", &["-c", "exit 1"], &[0, 1]).unwrap().0, 1);
    }

    #[test]
    fn wait_times_out_then_collects() {
        let pid = spawn(Command::new("/bin/sleep").arg("0.3")).unwrap().id() as i32;
        assert_eq!(wait(pid, Some(Duration::from_millis(10))), None);
        let status = wait(pid, Some(Duration::from_secs(5))).unwrap();
        assert_eq!(describe(status), "exit 0");
    }
}
