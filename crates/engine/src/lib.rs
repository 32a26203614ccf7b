//! The client library the Berth CLI and desktop app share. It starts and talks to a machine's daemon
//! (berthd's control API on a Unix socket) and to the Docker Engine in the machine (bollard on the
//! forwarded socket). Nothing that shows machine state talks to sockets except through here.
#![deny(missing_docs)]

mod control;
mod daemon;
mod disk_usage;
mod docker;
mod docker_context;
mod doctor;
mod error;
mod exec;
pub mod host;
mod images;
mod inspect;
mod limits;
mod login;
mod machine_files;
mod mounts;
mod quickrun;
pub mod registry;
mod stats;
mod transfer;
mod usage;

use std::time::Duration;

use berth_api::{Event, MachineConfig, MachinePaths, MachineState, Status};
use futures_util::{Stream, StreamExt};
use hyper::Method;

pub use disk_usage::VolumeUsage;
pub use docker::{
    Container, ContainerAction, DockerApi, DockerChange, Image, LogLine, PortMapping, PortRequest,
    PullProgress, RunRequest, Volume, COMPOSE_PROJECT_LABEL,
};
pub use docker_context::{
    ensure_docker_context, DockerCli, DockerContext, DockerContextState, BERTH_CONTEXT, DEFAULT_CONTEXT,
};
pub use doctor::{Finding, Level};
pub use error::{Error, Result};
pub use exec::{exit_message, Terminal, TerminalControl, TerminalSize, TERMINAL_MARKER_ENV};
pub use images::{ImageLayer, PruneReport};
pub use inspect::{ContainerDetail, MountDetail, NetworkDetail, PortDetail};
pub use limits::{Range, SettingsLimits};
pub use login::{credentials_for, host_side, logged_in, use_helper_in_docker_cli, Login, HOST_ALIAS};
pub use machine_files::{LogTail, MachineLog};
pub use mounts::VolumeMount;
pub use quickrun::{
    choose_ports, host_port_free, machine_platform, portability, Portability, QuickRun, QuickRunEvent,
    QuickRunOptions, EMULATED_LABEL, QUICKRUN_LABEL,
};
pub use stats::StatsSample;
pub use transfer::{PushProgress, PushReport};
pub use usage::{cpu_percent, UsageReading};

/// A handle on one machine.
#[derive(Debug, Clone)]
pub struct Engine {
    paths: MachinePaths,
}

impl Engine {
    /// The machine called `name`.
    pub fn new(name: &str) -> Engine {
        Engine {
            paths: MachinePaths::new(name),
        }
    }

    /// The machine whose files live at `paths`.
    pub fn with_paths(paths: MachinePaths) -> Engine {
        Engine { paths }
    }

    /// Its paths.
    pub fn paths(&self) -> &MachinePaths {
        &self.paths
    }

    /// Whether a daemon answers for this machine.
    pub async fn is_running(&self) -> bool {
        control::get::<Status>(&self.paths, "/v1/status").await.is_ok()
    }

    /// The machine's status; `stopped` when no daemon runs.
    pub async fn status(&self) -> Result<Status> {
        match control::get::<Status>(&self.paths, "/v1/status").await {
            Ok(s) => Ok(s),
            Err(Error::NotRunning) => {
                let cfg = self.settings().await.unwrap_or_default();
                Ok(Status::stopped(&self.paths.name, self.paths.docker_host(), &cfg))
            }
            Err(e) => Err(e),
        }
    }

    /// Starts the machine (and its daemon) if needed and waits until Docker is ready or the machine
    /// fails; `progress` sees every event on the way.
    pub async fn start(&self, mut progress: impl FnMut(&Event)) -> Result<Status> {
        if !self.is_running().await {
            daemon::spawn(&self.paths).await?;
        }
        self.wait_until_settled(&mut progress).await
    }

    /// Stops the machine cleanly; returns once the guest is off and the daemon gone.
    pub async fn stop(&self) -> Result<Status> {
        match control::send::<Status>(&self.paths, Method::POST, "/v1/stop", None).await {
            Ok(_) | Err(Error::NotRunning) => {}
            Err(e) => return Err(e),
        }
        // The daemon exits right after answering; wait for its lock to be released.
        for _ in 0..100 {
            if daemon::pid(&self.paths).is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.status().await
    }

    /// Restarts the guest (applying saved settings) and waits until it is ready again.
    pub async fn restart(&self, mut progress: impl FnMut(&Event)) -> Result<Status> {
        if !self.is_running().await {
            return self.start(progress).await;
        }
        let mut events = Box::pin(self.events().await?);
        control::send::<Status>(&self.paths, Method::POST, "/v1/restart", None).await?;
        // Skip events until the machine has left `running`, then wait for it to settle again.
        let mut left = false;
        while let Some(ev) = events.next().await {
            let ev = ev?;
            progress(&ev);
            if let Event::Status { status } = &ev {
                match status.state {
                    MachineState::Running if left => return Ok(*status.clone()),
                    MachineState::Error if left => {
                        return Err(Error::Machine(status.error.clone().unwrap_or_default()))
                    }
                    MachineState::Running => {}
                    _ => left = true,
                }
            }
        }
        Err(Error::NotRunning)
    }

    /// The saved settings (from the daemon when it runs, else from the settings file).
    pub async fn settings(&self) -> Result<MachineConfig> {
        match control::get::<MachineConfig>(&self.paths, "/v1/settings").await {
            Err(Error::NotRunning) => Ok(std::fs::read(self.paths.config_file())
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default()),
            other => other,
        }
    }

    /// Validates and saves settings; they apply at the next start or restart.
    pub async fn set_settings(&self, cfg: &MachineConfig) -> Result<MachineConfig> {
        cfg.validate().map_err(|e| Error::Invalid(e.to_string()))?;
        let disk_now = std::fs::metadata(self.paths.data_disk())
            .map(|m| m.len() >> 30)
            .unwrap_or(0);
        if cfg.disk_gib < disk_now {
            let e = berth_api::ConfigError::DiskShrink {
                current: disk_now,
                wanted: cfg.disk_gib,
            };
            return Err(Error::Invalid(e.to_string()));
        }
        let body = serde_json::to_vec(cfg).map_err(|e| Error::Invalid(e.to_string()))?;
        match control::send::<MachineConfig>(&self.paths, Method::PUT, "/v1/settings", Some(body.clone()))
            .await
        {
            Err(Error::NotRunning) => {
                std::fs::create_dir_all(&self.paths.data_dir)
                    .map_err(|e| Error::io("cannot create the machine folder", e))?;
                std::fs::write(self.paths.config_file(), body)
                    .map_err(|e| Error::io("cannot save settings", e))?;
                Ok(cfg.clone())
            }
            other => other,
        }
    }

    /// The daemon's event stream: the current status first, then every change.
    pub async fn events(&self) -> Result<impl Stream<Item = Result<Event>>> {
        control::events(&self.paths).await
    }

    /// A Docker client on the machine's socket.
    pub fn docker(&self) -> Result<bollard::Docker> {
        bollard::Docker::connect_with_unix(
            &self.paths.docker_socket().to_string_lossy(),
            120,
            bollard::API_DEFAULT_VERSION,
        )
        .map_err(|e| Error::Docker(e.to_string()))
    }

    /// Deletes the machine's disks, settings and logs. The machine must be stopped.
    pub async fn delete(&self) -> Result<()> {
        if self.is_running().await || daemon::pid(&self.paths).is_some() {
            return Err(Error::Invalid(
                "the machine is running; stop it first (`berth stop`)".into(),
            ));
        }
        for dir in [&self.paths.data_dir, &self.paths.run_dir] {
            match std::fs::remove_dir_all(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(format!("cannot remove {}", dir.display()), e)),
            }
        }
        Ok(())
    }

    async fn wait_until_settled(&self, progress: &mut impl FnMut(&Event)) -> Result<Status> {
        let mut events = Box::pin(self.events().await?);
        while let Some(ev) = events.next().await {
            let ev = ev?;
            progress(&ev);
            if let Event::Status { status } = &ev {
                match status.state {
                    MachineState::Running => return Ok(*status.clone()),
                    MachineState::Error => {
                        return Err(Error::Machine(
                            status.error.clone().unwrap_or_else(|| "unknown error".into()),
                        ))
                    }
                    _ => {}
                }
            }
        }
        Err(Error::Machine(format!(
            "the machine daemon stopped while starting; see {}",
            self.paths.daemon_log().display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(dir: &std::path::Path) -> Engine {
        Engine::with_paths(MachinePaths {
            name: "t".into(),
            data_dir: dir.join("data"),
            run_dir: dir.join("run"),
        })
    }

    #[tokio::test]
    async fn no_daemon_means_stopped_with_the_saved_settings() {
        let dir = tempfile::tempdir().unwrap();
        let e = engine(dir.path());
        assert!(!e.is_running().await);
        let cfg = MachineConfig {
            cpus: 3,
            ..Default::default()
        };
        e.set_settings(&cfg).await.unwrap();
        let s = e.status().await.unwrap();
        assert_eq!(s.state, MachineState::Stopped);
        assert_eq!(s.cpus, 3, "settings saved to the file are reported");
        assert!(s.docker_host.ends_with("/run/docker.sock"));
        assert!(
            matches!(e.stop().await.unwrap().state, MachineState::Stopped),
            "stopping a stopped machine is fine"
        );
    }

    #[tokio::test]
    async fn invalid_settings_are_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let e = engine(dir.path());
        let err = e
            .set_settings(&MachineConfig {
                memory_mib: 1,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("between 512"), "{err}");
        assert!(!e.paths().config_file().exists());
    }

    #[tokio::test]
    async fn the_data_disk_never_shrinks() {
        let dir = tempfile::tempdir().unwrap();
        let e = engine(dir.path());
        std::fs::create_dir_all(&e.paths().data_dir).unwrap();
        std::fs::File::create(e.paths().data_disk())
            .unwrap()
            .set_len(16 << 30)
            .unwrap();
        let err = e
            .set_settings(&MachineConfig {
                disk_gib: 8,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("cannot shrink"), "{err}");
    }

    #[tokio::test]
    async fn delete_removes_the_machine_folders() {
        let dir = tempfile::tempdir().unwrap();
        let e = engine(dir.path());
        e.set_settings(&MachineConfig::default()).await.unwrap();
        std::fs::create_dir_all(&e.paths().run_dir).unwrap();
        e.delete().await.unwrap();
        assert!(!e.paths().data_dir.exists() && !e.paths().run_dir.exists());
    }
}
