//! `berth shell [-- COMMAND...]`: a shell (or one command) in the machine, over the agent's shell port.

use std::io::IsTerminal;

use berth_api::vsock_client;
use berth_engine::Engine;
use berth_proto::{ShellReply, ShellRequest};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::{CmdResult, Failure};

#[derive(clap::Args)]
pub struct ShellArgs {
    /// Command to run instead of an interactive shell.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

pub async fn run(engine: &Engine, a: ShellArgs) -> CmdResult {
    if !engine.is_running().await {
        return Err(Failure {
            code: 3,
            message: "the machine is not running; start it with `berth start`".into(),
        });
    }
    let tty = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let (cols, rows) = terminal_size().unwrap_or((80, 24));
    let stream = vsock_client::connect(&engine.paths().vsock_socket(), berth_proto::port::SHELL).await?;
    let (r, mut w) = stream.into_split();
    let mut line = serde_json::to_vec(&ShellRequest {
        command: a.command,
        tty,
        rows,
        cols,
    })?;
    line.push(b'\n');
    w.write_all(&line).await?;
    let mut r = BufReader::new(r);
    let mut reply = String::new();
    r.read_line(&mut reply).await?;
    let reply: ShellReply =
        serde_json::from_str(&reply).map_err(|_| "the machine closed the shell at once")?;
    if let Some(e) = reply.error {
        return Err(Failure {
            code: 1,
            message: format!("cannot start the shell: {e}"),
        });
    }
    let _raw = if tty { RawMode::enter() } else { None };
    let input = tokio::spawn(async move {
        let mut stdin = tokio::io::stdin();
        let _ = tokio::io::copy(&mut stdin, &mut w).await;
        let _ = w.shutdown().await;
    });
    let mut stdout = tokio::io::stdout();
    tokio::io::copy(&mut r, &mut stdout).await?;
    stdout.flush().await?;
    input.abort();
    Ok(())
}

fn terminal_size() -> Option<(u16, u16)> {
    // SAFETY: TIOCGWINSZ fills a winsize we own; fd 1 may not be a terminal, which returns an error.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        (libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) == 0 && ws.ws_col > 0).then_some((ws.ws_col, ws.ws_row))
    }
}

/// The terminal in raw mode until dropped.
struct RawMode(libc::termios);

impl RawMode {
    fn enter() -> Option<RawMode> {
        // SAFETY: tcgetattr/tcsetattr on stdin with termios structs we own.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return None;
            }
            let saved = t;
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(0, libc::TCSANOW, &t);
            Some(RawMode(saved))
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores the attributes saved in enter().
        unsafe {
            libc::tcsetattr(0, libc::TCSANOW, &self.0);
        }
    }
}
