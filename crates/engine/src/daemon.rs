//! Starting berthd: a detached process (its own session) that outlives the CLI or app, logging to the
//! machine's `berthd.log`.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use berth_api::MachinePaths;

use crate::{Error, Result};

/// The pid of the daemon holding the machine's lock, if any.
pub fn pid(paths: &MachinePaths) -> Option<u32> {
    let file = std::fs::File::open(paths.lock_file()).ok()?;
    use std::os::fd::AsRawFd;
    // SAFETY: flock on an fd we own, non-blocking; the lock is dropped with the file.
    let free = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) } == 0;
    if free {
        return None;
    }
    std::fs::read_to_string(paths.lock_file())
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Where berthd is: `BERTH_BERTHD`, beside the running program, or on `PATH`.
pub fn berthd_path() -> PathBuf {
    if let Some(p) = std::env::var_os("BERTH_BERTHD") {
        return PathBuf::from(p);
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.to_path_buf()))
    {
        let candidate = dir.join("berthd");
        if candidate.is_file() {
            return candidate;
        }
    }
    PathBuf::from("berthd")
}

/// Starts berthd for `paths` and waits until its control socket answers.
pub async fn spawn(paths: &MachinePaths) -> Result<()> {
    std::fs::create_dir_all(&paths.data_dir).map_err(|e| Error::io("cannot create the machine folder", e))?;
    let log = paths.daemon_log();
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .map_err(|e| Error::io(format!("cannot open {}", log.display()), e))?;
    let err = out
        .try_clone()
        .map_err(|e| Error::io("cannot open the daemon log", e))?;
    let start_len = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    let bin = berthd_path();
    let mut cmd = Command::new(&bin);
    cmd.arg("--machine")
        .arg(&paths.name)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    // SAFETY: setsid is async-signal-safe and only detaches the child from our session.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| {
        Error::Daemon(format!(
            "cannot start {} ({e}); build it with `cargo build --release` or put berthd on PATH",
            bin.display()
        ))
    })?;
    for _ in 0..600 {
        if tokio::net::UnixStream::connect(paths.control_socket())
            .await
            .is_ok()
        {
            // Reap the child in the background if it exits while we still run; otherwise init does.
            std::thread::spawn(move || {
                let _ = child.wait();
            });
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Error::Daemon(explain_exit(status, &log, start_len)));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(Error::Daemon(format!(
        "berthd did not open its control socket within 60s; see {}",
        log.display()
    )))
}

fn explain_exit(status: std::process::ExitStatus, log: &std::path::Path, from: u64) -> String {
    let text = std::fs::read(log).unwrap_or_default();
    let new = String::from_utf8_lossy(text.get(from as usize..).unwrap_or_default()).to_string();
    match new.lines().rev().find_map(|l| l.strip_prefix("berthd: error: ")) {
        Some(msg) => msg.to_string(),
        None => format!("berthd exited ({status}); see {}", log.display()),
    }
}
