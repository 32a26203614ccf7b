//! The `docker context` named `berth`, so the unmodified docker CLI reaches the machine, and switching the
//! CLI's current context to it and back.
//!
//! Switching goes through the docker CLI (`docker context use`), not by editing `config.json` ourselves:
//! a context only means something to the docker CLI (and its store is written by it: `docker context
//! create`), and the CLI already knows where its config lives (`DOCKER_CONFIG`), keeps every other key
//! and the file's mode (it can hold credentials), writes it atomically, and refuses an unknown context.
//! Reading the current context is a plain read of `currentContext` in `config.json`: that is what is set
//! persistently, whereas `docker context show` would also reflect this process's `DOCKER_CONTEXT`.

use std::path::PathBuf;
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::{Engine, Error, Result};

/// The context Berth creates.
pub const BERTH_CONTEXT: &str = "berth";
/// The docker CLI's built-in context (`DOCKER_HOST` or the system socket).
pub const DEFAULT_CONTEXT: &str = "default";

/// What happened to the docker context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerContext {
    /// Created.
    Created,
    /// Already there, endpoint updated.
    Updated,
    /// The docker CLI is not installed.
    NoDockerCli,
    /// The docker CLI failed; the message says why.
    Failed(String),
}

/// Creates or updates the `berth` context to point at `docker_host`. Does not switch to it.
pub fn ensure_docker_context(docker_host: &str) -> DockerContext {
    DockerCli::default().ensure_context(docker_host)
}

/// The docker CLI as Berth drives it: which program, and which config folder.
#[derive(Debug, Clone)]
pub struct DockerCli {
    program: PathBuf,
    config_dir: Option<PathBuf>,
}

impl Default for DockerCli {
    /// `docker` on `PATH` with its own config folder (`DOCKER_CONFIG`, else `~/.docker`).
    fn default() -> Self {
        DockerCli {
            program: PathBuf::from("docker"),
            config_dir: None,
        }
    }
}

impl DockerCli {
    /// A given program with a given config folder (tests use a temporary one).
    pub fn new(program: impl Into<PathBuf>, config_dir: Option<PathBuf>) -> DockerCli {
        DockerCli {
            program: program.into(),
            config_dir,
        }
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        if let Some(d) = &self.config_dir {
            c.env("DOCKER_CONFIG", d);
        }
        // Our own environment must not decide which context the CLI edits or reports.
        c.env_remove("DOCKER_CONTEXT").env_remove("DOCKER_HOST");
        c
    }

    /// The CLI's config folder.
    pub fn config_dir(&self) -> PathBuf {
        self.config_dir
            .clone()
            .or_else(|| std::env::var_os("DOCKER_CONFIG").map(PathBuf::from))
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")))
            .unwrap_or_else(|| PathBuf::from(".docker"))
    }

    /// Whether the CLI runs at all.
    pub fn available(&self) -> bool {
        self.command()
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    /// Whether a context called `name` exists.
    pub fn context_exists(&self, name: &str) -> bool {
        name == DEFAULT_CONTEXT
            || self
                .command()
                .args(["context", "inspect", name])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
    }

    /// Creates or updates the `berth` context to point at `docker_host`. Does not switch to it.
    pub fn ensure_context(&self, docker_host: &str) -> DockerContext {
        let exists = match self
            .command()
            .args(["context", "inspect", BERTH_CONTEXT])
            .output()
        {
            Ok(o) => o.status.success(),
            Err(_) => return DockerContext::NoDockerCli,
        };
        let verb = if exists { "update" } else { "create" };
        let endpoint = format!("host={docker_host}");
        let out = self
            .command()
            .args([
                "context",
                verb,
                BERTH_CONTEXT,
                "--description",
                "Berth machine",
                "--docker",
                &endpoint,
            ])
            .output();
        match out {
            Ok(o) if o.status.success() => {
                if exists {
                    DockerContext::Updated
                } else {
                    DockerContext::Created
                }
            }
            Ok(o) => DockerContext::Failed(String::from_utf8_lossy(&o.stderr).trim().to_string()),
            Err(e) => DockerContext::Failed(e.to_string()),
        }
    }

    /// The persistent current context: `currentContext` in `config.json`, `default` when unset.
    pub fn current_context(&self) -> Result<String> {
        let path = self.config_dir().join("config.json");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DEFAULT_CONTEXT.into()),
            Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
        };
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            Error::DockerCli(format!(
                "{} is not valid JSON ({e}); fix or move it, then try again",
                path.display()
            ))
        })?;
        Ok(match v.get("currentContext").and_then(|c| c.as_str()) {
            Some(c) if !c.is_empty() => c.to_string(),
            _ => DEFAULT_CONTEXT.into(),
        })
    }

    /// Makes `name` the CLI's current context (`docker context use`).
    pub fn use_context(&self, name: &str) -> Result<()> {
        let out = self
            .command()
            .args(["context", "use", name])
            .output()
            .map_err(|e| self.not_installed(e))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(Error::DockerCli(format!(
                "`docker context use {name}` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }

    fn not_installed(&self, e: std::io::Error) -> Error {
        Error::DockerCli(format!(
            "cannot run the docker CLI ({}: {e}); install it (Debian: docker-cli) to use `docker` with Berth — other \
             clients can use DOCKER_HOST without it",
            self.program.display()
        ))
    }
}

/// Whether the docker CLI talks to Berth by default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DockerContextState {
    /// Whether the docker CLI is installed (without it there is nothing to switch).
    pub cli: bool,
    /// The CLI's current context.
    pub current: String,
    /// Whether that is `berth`.
    pub uses_berth: bool,
    /// The context switching off returns to.
    pub previous: String,
    /// `DOCKER_HOST` or `DOCKER_CONTEXT` when set in this program's environment: shells with it set
    /// ignore the current context.
    pub overridden_by: Option<String>,
    /// The CLI's config file.
    pub config_file: PathBuf,
}

impl Engine {
    /// Where the context `berth` replaced is remembered (kept by `reset`).
    pub(crate) fn previous_context_file(&self) -> PathBuf {
        self.paths().data_dir.join("docker-context.previous")
    }

    fn previous_context(&self) -> String {
        std::fs::read_to_string(self.previous_context_file())
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty() && s != BERTH_CONTEXT)
            .unwrap_or_else(|| DEFAULT_CONTEXT.into())
    }

    /// Whether the docker CLI's current context is `berth`, and what switching it off goes back to.
    pub fn docker_context_state(&self, cli: &DockerCli) -> Result<DockerContextState> {
        let available = cli.available();
        let current = if available {
            cli.current_context()?
        } else {
            DEFAULT_CONTEXT.into()
        };
        let overridden_by = ["DOCKER_HOST", "DOCKER_CONTEXT"]
            .into_iter()
            .find(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
            .map(String::from);
        Ok(DockerContextState {
            cli: available,
            uses_berth: current == BERTH_CONTEXT,
            current,
            previous: self.previous_context(),
            overridden_by,
            config_file: cli.config_dir().join("config.json"),
        })
    }

    /// Switches the docker CLI's current context to `berth` (creating or updating it to point at this
    /// machine, and remembering the context in use), or back to the remembered one (`default` when it is
    /// gone).
    pub fn use_berth_docker_context(&self, cli: &DockerCli, on: bool) -> Result<DockerContextState> {
        let current = cli.current_context()?;
        if on {
            match cli.ensure_context(&self.paths().docker_host()) {
                DockerContext::Created | DockerContext::Updated => {}
                DockerContext::NoDockerCli => {
                    return Err(cli.not_installed(std::io::Error::from(std::io::ErrorKind::NotFound)))
                }
                DockerContext::Failed(e) => {
                    return Err(Error::DockerCli(format!(
                        "cannot create the `berth` docker context: {e}"
                    )))
                }
            }
            if current != BERTH_CONTEXT {
                std::fs::create_dir_all(&self.paths().data_dir)
                    .map_err(|e| Error::io("cannot create the machine folder", e))?;
                std::fs::write(self.previous_context_file(), &current)
                    .map_err(|e| Error::io("cannot remember the docker context in use", e))?;
            }
            cli.use_context(BERTH_CONTEXT)?;
        } else if current == BERTH_CONTEXT {
            let previous = self.previous_context();
            let back = if cli.context_exists(&previous) {
                previous
            } else {
                DEFAULT_CONTEXT.to_string()
            };
            cli.use_context(&back)?;
            let _ = std::fs::remove_file(self.previous_context_file());
        }
        self.docker_context_state(cli)
    }
}

#[cfg(test)]
mod tests {
    use berth_api::MachinePaths;

    use super::*;

    fn engine(dir: &std::path::Path) -> Engine {
        Engine::with_paths(MachinePaths {
            name: "t".into(),
            data_dir: dir.join("data"),
            run_dir: dir.join("run"),
        })
    }

    #[test]
    fn the_current_context_is_read_from_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let cli = DockerCli::new("docker", Some(dir.path().to_path_buf()));
        assert_eq!(cli.current_context().unwrap(), "default", "no config.json yet");
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"auths":{},"currentContext":"work"}"#,
        )
        .unwrap();
        assert_eq!(cli.current_context().unwrap(), "work");
        std::fs::write(dir.path().join("config.json"), "{not json").unwrap();
        let err = cli.current_context().unwrap_err().to_string();
        assert!(
            err.contains("not valid JSON") && err.contains("fix or move it"),
            "{err}"
        );
    }

    #[test]
    fn without_the_docker_cli_switching_says_how_to_get_it() {
        let dir = tempfile::tempdir().unwrap();
        let e = engine(dir.path());
        let cli = DockerCli::new(dir.path().join("no-docker-here"), Some(dir.path().join("cfg")));
        let s = e.docker_context_state(&cli).unwrap();
        assert!(!s.cli && !s.uses_berth);
        let err = e.use_berth_docker_context(&cli, true).unwrap_err().to_string();
        assert!(err.contains("install it"), "{err}");
    }

    #[test]
    fn switches_to_berth_and_back_keeping_other_settings() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("docker-config");
        let cli = DockerCli::new("docker", Some(cfg.clone()));
        if !cli.available() {
            eprintln!("skipped: the docker CLI is not installed here, so there is no context to switch");
            return;
        }
        std::fs::create_dir_all(&cfg).unwrap();
        std::fs::write(
            cfg.join("config.json"),
            r#"{"psFormat":"table {{.Names}}","auths":{}}"#,
        )
        .unwrap();
        let e = engine(dir.path());
        let s = e.use_berth_docker_context(&cli, true).unwrap();
        assert!(s.uses_berth && s.cli, "{s:?}");
        assert_eq!(s.previous, "default");
        let written: serde_json::Value =
            serde_json::from_slice(&std::fs::read(cfg.join("config.json")).unwrap()).unwrap();
        assert_eq!(written["currentContext"], "berth");
        assert_eq!(written["psFormat"], "table {{.Names}}", "other keys are kept");
        let s = e.use_berth_docker_context(&cli, true).unwrap();
        assert_eq!(
            s.previous, "default",
            "switching on twice does not remember berth as the previous one"
        );
        let s = e.use_berth_docker_context(&cli, false).unwrap();
        assert!(!s.uses_berth);
        assert_eq!(s.current, "default");
        let written: serde_json::Value =
            serde_json::from_slice(&std::fs::read(cfg.join("config.json")).unwrap()).unwrap();
        assert_eq!(written["psFormat"], "table {{.Names}}");
    }
}
