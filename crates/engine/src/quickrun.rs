//! One-click runs: pull an image, publish every port it `EXPOSE`s on a free port of this computer, start
//! it, and hand back the URLs to open. Before pulling, the image's platforms are compared with the
//! machine's architecture: an image for another architecture would run emulated (slowly, and only where
//! the machine has an emulator), so the caller must confirm, and such containers carry
//! [`EMULATED_LABEL`] for the app to show.

use std::collections::BTreeMap;

use bollard::query_parameters::InspectContainerOptions;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::docker::docker_error;
use crate::registry::{ImageRef, Registry};
use crate::{Engine, Error, PortRequest, PullProgress, Result, RunRequest};

/// Label on containers that run an image built for another architecture.
pub const EMULATED_LABEL: &str = "dev.berth.emulated";
/// Label naming the image a one-click run started from.
pub const QUICKRUN_LABEL: &str = "dev.berth.quickrun";

/// How to run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuickRunOptions {
    /// Run even when the image is built for another architecture than the machine's.
    pub allow_emulated: bool,
    /// Container name (Docker picks one when absent).
    pub name: Option<String>,
}

/// What happens on the way, for progress displays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum QuickRunEvent {
    /// The image's platforms were compared with the machine's.
    Checked {
        /// The image's platforms (empty when the registry could not tell before the pull).
        image_platforms: Vec<String>,
        /// The machine's platform.
        machine: String,
        /// Whether it will run emulated.
        emulated: bool,
    },
    /// A line of the pull.
    Pull(PullProgress),
    /// The container is being created with these ports.
    Starting {
        /// Ports to publish.
        ports: Vec<PortRequest>,
    },
}

/// A started one-click run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuickRun {
    /// Container id.
    pub id: String,
    /// Container name.
    pub name: String,
    /// The image.
    pub image: String,
    /// Ports published on 127.0.0.1.
    pub ports: Vec<PortRequest>,
    /// `http://localhost:PORT` for each published TCP port.
    pub urls: Vec<String>,
    /// Whether the image runs emulated.
    pub emulated: bool,
}

/// Whether an image runs natively on the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Portability {
    /// It has an image for the machine's architecture.
    Native,
    /// It has only other architectures; `platform` is the one to pull.
    Emulated {
        /// The platform to pull (the image's first Linux one).
        platform: String,
    },
    /// Nothing is known about its platforms.
    Unknown,
}

/// Compares an image's platforms (`linux/arm64/v8`; attestation entries `unknown/unknown` are ignored)
/// with the machine's (`linux/amd64`).
pub fn portability(image_platforms: &[String], machine: &str) -> Portability {
    let arch_of = |p: &str| {
        let mut parts = p.split('/');
        let os = parts.next().unwrap_or_default().to_string();
        (os, parts.next().unwrap_or_default().to_string())
    };
    let (_, machine_arch) = arch_of(machine);
    let linux: Vec<&String> = image_platforms
        .iter()
        .filter(|p| arch_of(p).0 == "linux")
        .collect();
    if linux.is_empty() {
        return Portability::Unknown;
    }
    if linux.iter().any(|p| arch_of(p).1 == machine_arch) {
        return Portability::Native;
    }
    Portability::Emulated {
        platform: linux[0].clone(),
    }
}

/// `x86_64` (Docker's /info, `uname -m`) → `linux/amd64`.
pub fn machine_platform(architecture: &str) -> String {
    let arch = match architecture {
        "x86_64" | "amd64" => "amd64",
        "aarch64" | "arm64" => "arm64",
        "armv7l" | "armhf" => "arm",
        "i386" | "i686" => "386",
        other => other,
    };
    format!("linux/{arch}")
}

/// Host ports for `exposed` (`80/tcp`, `53/udp`): each the same port when `is_free`, else the next free
/// one. Ports below 1024 need privileges on the host, so when they are taken the search starts 8000 above
/// them (80 → 8080, 443 → 8443).
pub fn choose_ports(exposed: &[String], is_free: impl Fn(u16, &str) -> bool) -> Result<Vec<PortRequest>> {
    let mut chosen: Vec<PortRequest> = Vec::new();
    for spec in exposed {
        let (port, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
        let Ok(port) = port.parse::<u16>() else {
            tracing::debug!(spec, "exposed port skipped: not a single port");
            continue;
        };
        if port == 0 || !(proto == "tcp" || proto == "udp") {
            continue;
        }
        let taken = |p: u16| chosen.iter().any(|c| c.host_port == p && c.protocol == proto);
        let usable = |p: u16| !taken(p) && is_free(p, proto);
        let start = if usable(port) {
            Some(port)
        } else {
            let from = if port < 1024 {
                port + 8000
            } else {
                port.saturating_add(1)
            };
            (from..=u16::MAX).find(|p| usable(*p))
        };
        let Some(host_port) = start else {
            return Err(Error::Invalid(format!(
                "no free port on 127.0.0.1 for {spec}; stop something that listens and try again"
            )));
        };
        chosen.push(PortRequest {
            container_port: port,
            protocol: proto.to_string(),
            host_port,
        });
    }
    Ok(chosen)
}

/// Whether `port` can be bound on 127.0.0.1 right now (what berthd will do to forward it).
pub fn host_port_free(port: u16, protocol: &str) -> bool {
    if protocol == "udp" {
        std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok()
    } else {
        std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
    }
}

impl Engine {
    /// Pulls `reference`, publishes its exposed ports on free ports of 127.0.0.1 and starts it.
    /// [`Error::NeedsEmulation`] when the image is for another architecture and `opts.allow_emulated` is
    /// not set.
    pub async fn run_from_registry(
        &self,
        reference: &str,
        opts: &QuickRunOptions,
        mut progress: impl FnMut(&QuickRunEvent),
    ) -> Result<QuickRun> {
        let image = ImageRef::parse(reference)?;
        let docker = self.docker_api()?;
        let info = docker.client.info().await.map_err(docker_error)?;
        let machine = machine_platform(info.architecture.as_deref().unwrap_or(std::env::consts::ARCH));
        // Ask the registry first, so nothing is downloaded for an image the user may not want to emulate.
        let remote = self.remote_platforms(&image).await;
        let mut decision = portability(&remote, &machine);
        progress(&QuickRunEvent::Checked {
            image_platforms: remote.clone(),
            machine: machine.clone(),
            emulated: matches!(decision, Portability::Emulated { .. }),
        });
        refuse_unconfirmed(reference, &remote, &machine, &decision, opts)?;
        let platform = match &decision {
            Portability::Emulated { platform } => Some(platform.clone()),
            _ => None,
        };
        let mut pull = Box::pin(docker.pull_as(reference, platform));
        while let Some(line) = pull.next().await {
            progress(&QuickRunEvent::Pull(line?));
        }
        if decision == Portability::Unknown {
            let inspect = docker
                .client
                .inspect_image(reference)
                .await
                .map_err(docker_error)?;
            let local = format!(
                "{}/{}",
                inspect.os.unwrap_or_else(|| "linux".into()),
                inspect.architecture.unwrap_or_default()
            );
            decision = portability(std::slice::from_ref(&local), &machine);
            refuse_unconfirmed(reference, &[local], &machine, &decision, opts)?;
        }
        let emulated = matches!(decision, Portability::Emulated { .. });
        let exposed = docker.exposed_ports(reference).await?;
        let ports = choose_ports(&exposed, host_port_free)?;
        progress(&QuickRunEvent::Starting { ports: ports.clone() });
        let mut labels = BTreeMap::from([(QUICKRUN_LABEL.to_string(), reference.to_string())]);
        if emulated {
            labels.insert(EMULATED_LABEL.into(), "true".into());
        }
        let req = RunRequest {
            image: reference.to_string(),
            name: opts.name.clone(),
            ports: ports.clone(),
            labels,
            ..Default::default()
        };
        let id = docker.run(&req).await?;
        let name = docker
            .client
            .inspect_container(&id, None::<InspectContainerOptions>)
            .await
            .ok()
            .and_then(|c| c.name)
            .map(|n| n.trim_start_matches('/').to_string())
            .unwrap_or_else(|| id.chars().take(12).collect());
        let urls = ports
            .iter()
            .filter(|p| p.protocol == "tcp")
            .map(|p| format!("http://localhost:{}", p.host_port))
            .collect();
        Ok(QuickRun {
            id,
            name,
            image: reference.to_string(),
            ports,
            urls,
            emulated,
        })
    }

    /// The image's platforms as its registry lists them; empty when the registry cannot be asked from
    /// this computer (the local image tells after the pull).
    async fn remote_platforms(&self, image: &ImageRef) -> Vec<String> {
        let host = crate::login::host_side(image.registry());
        let opts = match self.registry_options(image.registry()).await {
            Ok(o) => o,
            Err(e) => {
                tracing::debug!(error = %e, "no registry options; asking anonymously");
                Default::default()
            }
        };
        let registry = Registry::new(&host, &opts);
        let image_here = ImageRef::parse(&image.to_string().replacen(image.registry(), &host, 1));
        let Ok(image_here) = image_here else {
            return vec![];
        };
        let ask = registry.manifest(&image_here);
        match tokio::time::timeout(std::time::Duration::from_secs(30), ask).await {
            Ok(Ok(m)) => m.platforms.into_iter().map(|p| p.platform).collect(),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "platforms unknown before the pull");
                vec![]
            }
            Err(_) => vec![],
        }
    }
}

fn refuse_unconfirmed(
    reference: &str,
    platforms: &[String],
    machine: &str,
    decision: &Portability,
    opts: &QuickRunOptions,
) -> Result<()> {
    if matches!(decision, Portability::Emulated { .. }) && !opts.allow_emulated {
        return Err(Error::NeedsEmulation {
            image: reference.to_string(),
            image_platforms: platforms.join(", "),
            machine: machine.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn images_with_the_machines_architecture_run_natively() {
        let multi = v(&["linux/amd64", "linux/arm64/v8", "unknown/unknown"]);
        assert_eq!(portability(&multi, "linux/amd64"), Portability::Native);
        assert_eq!(portability(&multi, "linux/arm64"), Portability::Native);
        assert_eq!(
            portability(&multi, "linux/s390x"),
            Portability::Emulated {
                platform: "linux/amd64".into()
            }
        );
        assert_eq!(
            portability(&v(&["linux/arm/v7"]), "linux/amd64"),
            Portability::Emulated {
                platform: "linux/arm/v7".into()
            }
        );
        assert_eq!(portability(&[], "linux/amd64"), Portability::Unknown);
        assert_eq!(
            portability(&v(&["unknown/unknown", "windows/amd64"]), "linux/amd64"),
            Portability::Unknown
        );
        assert_eq!(machine_platform("x86_64"), "linux/amd64");
        assert_eq!(machine_platform("aarch64"), "linux/arm64");
    }

    #[test]
    fn ports_keep_their_number_when_free_else_the_next_free_one() {
        let busy = [8080u16, 8081, 5432];
        let free = |p: u16, proto: &str| !(proto == "tcp" && busy.contains(&p)) && p != 80;
        let got = choose_ports(
            &v(&["80/tcp", "443/tcp", "5432/tcp", "53/udp", "8080/tcp", "x/tcp"]),
            free,
        )
        .unwrap();
        let pairs: Vec<(u16, &str, u16)> = got
            .iter()
            .map(|p| (p.container_port, p.protocol.as_str(), p.host_port))
            .collect();
        assert_eq!(
            pairs,
            [
                (80, "tcp", 8082),
                (443, "tcp", 443),
                (5432, "tcp", 5433),
                (53, "udp", 53),
                (8080, "tcp", 8083),
            ],
            "80 is privileged and busy: from 8080 on; 8080 and 8081 are busy; 8082 is chosen once"
        );
        let none = choose_ports(&v(&["80/tcp"]), |_, _| false).unwrap_err();
        assert!(none.to_string().contains("no free port"), "{none}");
    }

    #[test]
    fn the_free_port_check_binds_on_loopback() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(!host_port_free(port, "tcp"));
        drop(l);
        assert!(host_port_free(port, "tcp"));
    }

    #[test]
    fn unconfirmed_emulation_is_refused_with_the_platforms() {
        let d = Portability::Emulated {
            platform: "linux/arm64".into(),
        };
        let e = refuse_unconfirmed(
            "app:1",
            &v(&["linux/arm64"]),
            "linux/amd64",
            &d,
            &QuickRunOptions::default(),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("built for linux/arm64, and this machine runs linux/amd64"),
            "{e}"
        );
        let ok = QuickRunOptions {
            allow_emulated: true,
            ..Default::default()
        };
        refuse_unconfirmed("app:1", &[], "linux/amd64", &d, &ok).unwrap();
        refuse_unconfirmed(
            "app:1",
            &[],
            "linux/amd64",
            &Portability::Native,
            &QuickRunOptions::default(),
        )
        .unwrap();
    }
}
