//! `berth login` and `berth logout`: registry credentials in the OS keyring (never in a file), checked
//! against the registry before they are stored. `berth login` also points the docker CLI at
//! `docker-credential-berth` for that registry (`credHelpers` in `$DOCKER_CONFIG/config.json`, default
//! `~/.docker/config.json`), so `docker pull` through Berth's socket uses the same credentials.

use std::io::{IsTerminal, Read, Write};

use berth_engine::Engine;

use crate::{CmdResult, Failure};

#[derive(clap::Args)]
pub struct LoginArgs {
    /// The registry (`127.0.0.1:5000`, `registry.example.com`); default Docker Hub.
    registry: Option<String>,
    /// User name (asked for when absent and the terminal is interactive).
    #[arg(long, short)]
    username: Option<String>,
    /// Read the password from standard input (for scripts). Passwords are never taken as arguments:
    /// they would be visible to other users in the process list.
    #[arg(long)]
    password_stdin: bool,
    /// Leave the docker CLI's config.json alone.
    #[arg(long)]
    no_docker_config: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct LogoutArgs {
    /// The registry; default Docker Hub.
    registry: Option<String>,
}

pub async fn login(engine: &Engine, a: LoginArgs) -> CmdResult {
    let registry = a.registry.clone().unwrap_or_else(|| "docker.io".into());
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let username = match a.username.clone() {
        Some(u) => u,
        None if interactive && !a.password_stdin => prompt(&format!("Username for {registry}: "), true)?,
        None => return Err("name the user with --username (or -u)".into()),
    };
    let password = if a.password_stdin {
        let mut s = String::new();
        std::io::stdin()
            .take(64 << 10)
            .read_to_string(&mut s)
            .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
        s.trim_end_matches(['\n', '\r']).to_string()
    } else if interactive {
        prompt("Password: ", false)?
    } else {
        return Err("standard input is not a terminal: pass the password with --password-stdin".into());
    };
    if password.is_empty() {
        return Err("the password is empty".into());
    }
    let login = engine.login(&registry, &username, &password).await?;
    let docker = if a.no_docker_config {
        None
    } else {
        Some(berth_engine::use_helper_in_docker_cli(&login.registry)?)
    };
    if a.json {
        let out = serde_json::json!({
            "registry": login.registry,
            "username": login.username,
            "docker_config": docker.as_ref().map(|d| d.path.display().to_string()),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "Logged in to {} as {}; the password is in your keyring.",
        login.registry, login.username
    );
    if let Some(d) = docker {
        if d.changed {
            println!(
                "The docker CLI now asks docker-credential-berth for {} ({}).",
                d.registry,
                d.path.display()
            );
        }
        if d.plaintext_left {
            eprintln!(
                "Note: {} still holds an older plaintext password for {} under \"auths\"; remove that \
                 entry if you no longer need it.",
                d.path.display(),
                d.registry
            );
        }
        if !on_path("docker-credential-berth") {
            eprintln!(
                "Note: docker-credential-berth is not on PATH, so the docker CLI cannot use these \
                 credentials yet; install it next to `berth`."
            );
        }
    }
    Ok(())
}

pub async fn logout(engine: &Engine, a: LogoutArgs) -> CmdResult {
    let registry = a.registry.unwrap_or_else(|| "docker.io".into());
    if engine.logout(&registry).await? {
        println!("Logged out of {registry}; its credentials are gone from your keyring.");
    } else {
        println!("Not logged in to {registry}.");
    }
    Ok(())
}

/// Asks on the terminal; `echo` false hides what is typed.
fn prompt(question: &str, echo: bool) -> Result<String, Failure> {
    let mut err = std::io::stderr();
    let _ = err.write_all(question.as_bytes());
    let _ = err.flush();
    let _guard = if echo { None } else { Some(EchoOff::new()?) };
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read from the terminal: {e}"))?;
    if !echo {
        let _ = writeln!(err);
    }
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// Turns terminal echo off on stdin until dropped.
struct EchoOff {
    #[cfg(unix)]
    saved: libc::termios,
}

impl EchoOff {
    #[cfg(unix)]
    fn new() -> Result<EchoOff, Failure> {
        // SAFETY: termios is plain data; tcgetattr fills it for fd 0 or fails, and we check the result.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: fd 0 is open for the life of the process; `t` is a valid, writable termios.
        if unsafe { libc::tcgetattr(0, &mut t) } != 0 {
            return Err("cannot hide the password on this terminal; use --password-stdin".into());
        }
        let saved = t;
        t.c_lflag &= !libc::ECHO;
        t.c_lflag |= libc::ECHONL;
        // SAFETY: as above; `t` is the terminal's own settings with echo cleared.
        if unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) } != 0 {
            return Err("cannot hide the password on this terminal; use --password-stdin".into());
        }
        Ok(EchoOff { saved })
    }

    #[cfg(not(unix))]
    fn new() -> Result<EchoOff, Failure> {
        Err("cannot hide the password on this terminal; use --password-stdin".into())
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `new` on the same, still open, fd 0.
        #[cfg(unix)]
        unsafe {
            libc::tcsetattr(0, libc::TCSANOW, &self.saved);
        }
    }
}

fn on_path(bin: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
        .unwrap_or(false)
}
