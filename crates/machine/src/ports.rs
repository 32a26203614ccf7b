//! Published ports: watches Docker's events through our own socket and keeps one `127.0.0.1` listener
//! per published port ([`forward`] moves the bytes). A port already taken on the host does not stop the
//! container: its forward is reported failed, naming the port.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use berth_api::{ForwardState, ForwardedPort};
use berth_proto::Transport;
use bollard::Docker;
use futures_util::StreamExt;
use tokio::task::JoinHandle;

use crate::forward;
use crate::shared::Shared;

/// A published port as Docker reports it: (transport, host port) → container names.
pub type Published = BTreeMap<(String, u16), Vec<String>>;

/// Collects published ports from `docker ps` output, ignoring unpublished and duplicate (v4/v6) ones.
pub fn published_ports(containers: &[bollard::models::ContainerSummary]) -> Published {
    let mut out = Published::new();
    for c in containers {
        let name = c
            .names
            .as_ref()
            .and_then(|n| n.first())
            .map(|n| n.trim_start_matches('/').to_string())
            .unwrap_or_else(|| c.id.clone().unwrap_or_default());
        for p in c.ports.iter().flatten() {
            let Some(public) = p.public_port else { continue };
            let transport = p.typ.map(|t| t.to_string()).unwrap_or_else(|| "tcp".into());
            let names = out.entry((transport, public)).or_default();
            if !names.contains(&name) {
                names.push(name.clone());
            }
        }
    }
    out
}

/// Keeps the host's listeners in step with the guest's published ports until aborted.
pub fn watch(docker_socket: PathBuf, vsock_socket: PathBuf, shared: Shared) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut fwd = Forwards {
            vsock: vsock_socket,
            live: HashMap::new(),
        };
        loop {
            if let Err(e) = follow(&docker_socket, &mut fwd, &shared).await {
                tracing::warn!(error = %e, "docker event stream ended; resubscribing");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

async fn follow(docker_socket: &std::path::Path, fwd: &mut Forwards, shared: &Shared) -> anyhow::Result<()> {
    let docker =
        Docker::connect_with_unix(&docker_socket.to_string_lossy(), 60, bollard::API_DEFAULT_VERSION)?;
    let mut filters = HashMap::new();
    filters.insert("type".to_string(), vec!["container".to_string()]);
    let opts = bollard::query_parameters::EventsOptionsBuilder::default()
        .filters(&filters)
        .build();
    let mut events = docker.events(Some(opts));
    fwd.reconcile(&docker, shared).await?;
    while let Some(ev) = events.next().await {
        let ev = ev?;
        let action = ev.action.unwrap_or_default();
        if matches!(
            action.as_str(),
            "start" | "die" | "stop" | "kill" | "destroy" | "pause" | "unpause" | "restart"
        ) {
            fwd.reconcile(&docker, shared).await?;
        }
    }
    Ok(())
}

/// A forward as reported, with the listener task serving it (none when it failed).
type Live = (ForwardedPort, Option<JoinHandle<()>>);

struct Forwards {
    vsock: PathBuf,
    live: HashMap<(String, u16), Live>,
}

impl Forwards {
    async fn reconcile(&mut self, docker: &Docker, shared: &Shared) -> anyhow::Result<()> {
        let opts = bollard::query_parameters::ListContainersOptionsBuilder::default()
            .all(false)
            .build();
        let want = published_ports(&docker.list_containers(Some(opts)).await?);
        let gone: Vec<_> = self
            .live
            .keys()
            .filter(|k| !want.contains_key(*k))
            .cloned()
            .collect();
        for key in gone {
            if let Some((_, Some(task))) = self.live.remove(&key) {
                // Wait until the listener is really closed, so a container started right after on the
                // same port can have it.
                task.abort();
                let _ = task.await;
            }
            tracing::info!(port = key.1, transport = %key.0, "forward closed");
        }
        for (key, containers) in want {
            if let Some((port, _)) = self.live.get_mut(&key) {
                port.containers = containers;
                continue;
            }
            let (port, task) = open(&key, containers, self.vsock.clone()).await;
            match &port.error {
                Some(e) => shared.log(format!("port {} could not be forwarded: {e}", key.1)),
                None => shared.log(format!("forwarding 127.0.0.1:{} ({})", key.1, key.0)),
            }
            self.live.insert(key, (port, task));
        }
        let mut ports: Vec<ForwardedPort> = self.live.values().map(|(p, _)| p.clone()).collect();
        ports.sort_by_key(|p| (p.port, p.transport.clone()));
        shared.update(|s| s.ports = ports);
        Ok(())
    }
}

async fn open(
    key: &(String, u16),
    containers: Vec<String>,
    vsock: PathBuf,
) -> (ForwardedPort, Option<JoinHandle<()>>) {
    let (transport, port) = key.clone();
    let mut fp = ForwardedPort {
        transport: transport.clone(),
        port,
        containers,
        state: ForwardState::Failed,
        error: None,
    };
    let t = match transport.as_str() {
        "tcp" => Transport::Tcp,
        "udp" => Transport::Udp,
        other => {
            fp.error = Some(format!(
                "{other} ports cannot be forwarded; reach it from another container"
            ));
            return (fp, None);
        }
    };
    match forward::listen(t, port, vsock).await {
        Ok(task) => {
            fp.state = ForwardState::Forwarding;
            (fp, Some(task))
        }
        Err(e) => {
            fp.error = Some(e);
            (fp, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerSummary, PortSummary as Port, PortSummaryTypeEnum as PortTypeEnum};

    fn container(name: &str, ports: Vec<Port>) -> ContainerSummary {
        ContainerSummary {
            names: Some(vec![format!("/{name}")]),
            ports: Some(ports),
            ..Default::default()
        }
    }

    fn port(public: Option<u16>, typ: PortTypeEnum, ip: &str) -> Port {
        Port {
            ip: Some(ip.into()),
            private_port: 80,
            public_port: public,
            typ: Some(typ),
        }
    }

    #[test]
    fn published_ports_dedupes_ipv4_and_ipv6_and_skips_unpublished() {
        let cs = vec![
            container(
                "web",
                vec![
                    port(Some(8080), PortTypeEnum::TCP, "0.0.0.0"),
                    port(Some(8080), PortTypeEnum::TCP, "::"),
                ],
            ),
            container(
                "dns",
                vec![
                    port(Some(5353), PortTypeEnum::UDP, "0.0.0.0"),
                    port(None, PortTypeEnum::TCP, ""),
                ],
            ),
        ];
        let p = published_ports(&cs);
        assert_eq!(p.len(), 2);
        assert_eq!(p[&("tcp".to_string(), 8080)], vec!["web".to_string()]);
        assert_eq!(p[&("udp".to_string(), 5353)], vec!["dns".to_string()]);
    }

    #[tokio::test]
    async fn a_taken_host_port_is_reported_not_fatal() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let n = taken.local_addr().unwrap().port();
        let (fp, task) = open(&("tcp".into(), n), vec!["web".into()], "/nonexistent".into()).await;
        assert!(task.is_none());
        assert_eq!(fp.state, ForwardState::Failed);
        assert!(fp
            .error
            .unwrap()
            .contains(&format!("host port {n} is already in use")));
    }
}
