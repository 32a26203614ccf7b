//! Terminals in containers: an interactive shell on a TTY (what `docker exec -it <c> sh` does), attached
//! both ways, resizable, reporting its exit code when it ends, and hung up when the user closes it.
//!
//! Docker does not end an exec when its client goes away (with a TTY it only stops copying), so each
//! terminal carries a marker in its environment and [`TerminalControl::hang_up`] sends SIGHUP to every
//! process in the container that has it, as closing a real terminal would.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bollard::exec::{ResizeExecOptions, StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWrite;

use crate::docker::docker_error;
use crate::{DockerApi, Error, Result};

/// The environment variable that marks a terminal's processes.
pub const TERMINAL_MARKER_ENV: &str = "BERTH_TERMINAL";

/// Runs bash when the image has it, else the POSIX shell.
const SHELL_SCRIPT: &str = "if command -v bash >/dev/null 2>&1; then exec bash; fi; exec sh";

/// Sends SIGHUP to every process whose environment holds `BERTH_TERMINAL=$1`.
const HANG_UP_SCRIPT: &str = r#"for d in /proc/[0-9]*; do
  if tr '\0' '\n' < "$d/environ" 2>/dev/null | grep -qx "BERTH_TERMINAL=$1"; then kill -HUP "${d#/proc/}" 2>/dev/null; fi
done"#;

/// A terminal's size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalSize {
    /// Columns.
    pub cols: u16,
    /// Rows.
    pub rows: u16,
}

impl TerminalSize {
    /// Within what a TTY accepts: at least 1×1, at most 1000×500.
    pub fn clamped(self) -> TerminalSize {
        TerminalSize {
            cols: self.cols.clamp(1, 1000),
            rows: self.rows.clamp(1, 500),
        }
    }
}

/// A shell running in a container on a TTY.
pub struct Terminal {
    /// Resize, exit code and hang-up; cheap to clone and share.
    pub control: TerminalControl,
    /// What the TTY prints, in the chunks Docker sends (UTF-8 may be split between chunks).
    pub output: Pin<Box<dyn Stream<Item = Result<Vec<u8>>> + Send>>,
    /// Keystrokes for the TTY (Ctrl+C is byte 3; the TTY turns it into SIGINT).
    pub input: Pin<Box<dyn AsyncWrite + Send>>,
}

impl std::fmt::Debug for Terminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Terminal")
            .field("control", &self.control)
            .finish_non_exhaustive()
    }
}

/// The parts of a terminal that act on it from outside its streams.
#[derive(Debug, Clone)]
pub struct TerminalControl {
    client: bollard::Docker,
    container: String,
    exec_id: String,
    marker: String,
}

impl DockerApi {
    /// Opens a shell in a running container on a TTY of `size`: bash if the image has it, else `sh`.
    pub async fn open_terminal(&self, container: &str, size: TerminalSize) -> Result<Terminal> {
        let size = size.clamped();
        let marker = new_marker();
        let config = shell_exec_config(&marker, size);
        let created = self
            .client
            .create_exec(container, config)
            .await
            .map_err(|e| terminal_error(container, e))?;
        let opts = StartExecOptions {
            detach: false,
            tty: true,
            output_capacity: None,
        };
        let started = self
            .client
            .start_exec(&created.id, Some(opts))
            .await
            .map_err(|e| terminal_error(container, e))?;
        let StartExecResults::Attached { output, input } = started else {
            return Err(Error::Docker(
                "the shell started detached; close the terminal and open it again".into(),
            ));
        };
        let control = TerminalControl {
            client: self.client.clone(),
            container: container.to_string(),
            exec_id: created.id,
            marker,
        };
        // The size given at create time is not applied by every Docker version: set it again once the
        // process exists (the Docker CLI retries the same way, since the process may not be up yet).
        let first = control.clone();
        tokio::spawn(async move {
            for attempt in 1..=5u64 {
                if first.resize(size).await.is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20 * attempt)).await;
            }
        });
        let output = output.map(|item| item.map(|o| o.into_bytes().to_vec()).map_err(docker_error));
        Ok(Terminal {
            control,
            output: Box::pin(output),
            input,
        })
    }
}

impl TerminalControl {
    /// Docker's id of the exec.
    pub fn exec_id(&self) -> &str {
        &self.exec_id
    }

    /// Tells the TTY its new size (the shell gets SIGWINCH).
    pub async fn resize(&self, size: TerminalSize) -> Result<()> {
        let size = size.clamped();
        self.client
            .resize_exec(
                &self.exec_id,
                ResizeExecOptions {
                    width: size.cols,
                    height: size.rows,
                },
            )
            .await
            .map_err(docker_error)
    }

    /// The shell's exit code once it has ended (`None` if Docker does not know it); waits up to a second
    /// for Docker to notice the end, since the output can close just before.
    pub async fn exit_code(&self) -> Result<Option<i64>> {
        for _ in 0..20 {
            let info = self
                .client
                .inspect_exec(&self.exec_id)
                .await
                .map_err(docker_error)?;
            if info.running != Some(true) {
                return Ok(info.exit_code);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(None)
    }

    /// Hangs up: SIGHUP to the shell and everything started from it. Best effort (a process that
    /// ignores SIGHUP keeps running); fails only when Docker cannot run the hang-up at all.
    pub async fn hang_up(&self) -> Result<()> {
        let config = ExecConfig {
            cmd: Some(vec![
                "/bin/sh".into(),
                "-c".into(),
                HANG_UP_SCRIPT.into(),
                "sh".into(),
                self.marker.clone(),
            ]),
            attach_stdout: Some(false),
            attach_stderr: Some(false),
            ..Default::default()
        };
        let created = self
            .client
            .create_exec(&self.container, config)
            .await
            .map_err(docker_error)?;
        let opts = StartExecOptions {
            detach: true,
            tty: false,
            output_capacity: None,
        };
        self.client
            .start_exec(&created.id, Some(opts))
            .await
            .map_err(docker_error)?;
        Ok(())
    }
}

fn shell_exec_config(marker: &str, size: TerminalSize) -> ExecConfig {
    ExecConfig {
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(true),
        console_size: Some(vec![size.rows as usize, size.cols as usize]),
        env: Some(vec![
            "TERM=xterm-256color".into(),
            format!("{TERMINAL_MARKER_ENV}={marker}"),
        ]),
        cmd: Some(vec!["/bin/sh".into(), "-c".into(), SHELL_SCRIPT.into()]),
        ..Default::default()
    }
}

/// A marker no other terminal of this or another app instance shares.
fn new_marker() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}-{}-{}",
        std::process::id(),
        nanos,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Docker's refusals, with what to do about them.
fn terminal_error(container: &str, e: bollard::errors::Error) -> Error {
    match docker_error(e) {
        Error::Docker(m) if m.contains("is not running") => Error::Invalid(format!(
            "{container} is not running; start it to open a terminal in it"
        )),
        Error::Docker(m) if m.contains("is paused") => Error::Invalid(format!(
            "{container} is paused; unpause it to open a terminal in it"
        )),
        other => other,
    }
}

/// What to tell the user when the shell ends with `code`.
pub fn exit_message(code: Option<i64>) -> String {
    match code {
        Some(0) => "The shell exited.".into(),
        Some(126) | Some(127) => format!(
            "The shell exited with code {}: the container has no usable /bin/sh (images built FROM scratch often have none).",
            code.unwrap_or_default()
        ),
        Some(c) => format!("The shell exited with code {c}."),
        None => "The shell ended.".into(),
    }
}

#[cfg(test)]
mod tests;
