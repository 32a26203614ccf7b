//! One container in detail (`docker inspect`): the parts people look for — command, environment, mounts,
//! ports, labels, networks — plus the whole answer as JSON for everything else.

use std::collections::BTreeMap;

use bollard::models::ContainerInspectResponse;
use bollard::query_parameters::InspectContainerOptions;
use serde::{Deserialize, Serialize};

use crate::docker::docker_error;
use crate::{DockerApi, Result};

/// A container in detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerDetail {
    /// Full id.
    pub id: String,
    /// Name without the leading slash.
    pub name: String,
    /// Image as the user named it.
    pub image: String,
    /// The image's id (`sha256:…`).
    pub image_id: String,
    /// `running`, `exited`, …
    pub state: String,
    /// Exit code of the last run (0 while running).
    pub exit_code: Option<i64>,
    /// Creation time (RFC 3339).
    pub created: Option<String>,
    /// Start time of the current or last run (RFC 3339).
    pub started_at: Option<String>,
    /// Times Docker restarted it.
    pub restart_count: i64,
    /// What runs: entrypoint and arguments, as the process sees them.
    pub command: Vec<String>,
    /// The image's or the run's entrypoint.
    pub entrypoint: Vec<String>,
    /// The command given to the entrypoint.
    pub cmd: Vec<String>,
    /// Working directory (empty means `/`).
    pub working_dir: String,
    /// User it runs as (empty means root).
    pub user: String,
    /// Environment, `KEY=value`, in the container's order.
    pub env: Vec<String>,
    /// Volumes and bind mounts.
    pub mounts: Vec<MountDetail>,
    /// Ports: exposed ones, with where they are published.
    pub ports: Vec<PortDetail>,
    /// Labels, sorted by key.
    pub labels: BTreeMap<String, String>,
    /// Networks it is on, with its address there.
    pub networks: Vec<NetworkDetail>,
    /// Docker's whole answer.
    pub raw: serde_json::Value,
}

/// A mount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountDetail {
    /// `volume`, `bind`, `tmpfs`, …
    pub kind: String,
    /// Volume name, for volumes.
    pub name: Option<String>,
    /// Where it comes from in the machine.
    pub source: String,
    /// Where it appears in the container.
    pub destination: String,
    /// Whether the container can write to it.
    pub read_write: bool,
}

/// A container port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortDetail {
    /// Port inside the container.
    pub container_port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
    /// Host addresses and ports it is published on (`0.0.0.0:8080`), none if only exposed.
    pub published: Vec<String>,
}

/// A network the container is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkDetail {
    /// Network name.
    pub name: String,
    /// The container's IPv4 address there (empty when it has none).
    pub ip_address: String,
}

impl DockerApi {
    /// A container in detail, with Docker's whole answer.
    pub async fn inspect(&self, id: &str) -> Result<ContainerDetail> {
        let info = self
            .client
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .map_err(docker_error)?;
        Ok(detail_from(info))
    }
}

/// The detail of an inspect answer.
pub fn detail_from(info: ContainerInspectResponse) -> ContainerDetail {
    let raw = serde_json::to_value(&info).unwrap_or(serde_json::Value::Null);
    let config = info.config.unwrap_or_default();
    let state = info.state.unwrap_or_default();
    let mut command: Vec<String> = info.path.into_iter().filter(|p| !p.is_empty()).collect();
    command.extend(info.args.unwrap_or_default());

    let mut ports: BTreeMap<(u16, String), Vec<String>> = BTreeMap::new();
    for p in config.exposed_ports.iter().flatten() {
        if let Some(key) = port_key(p) {
            ports.entry(key).or_default();
        }
    }
    for (p, bindings) in info
        .network_settings
        .as_ref()
        .and_then(|n| n.ports.as_ref())
        .into_iter()
        .flatten()
    {
        let Some(key) = port_key(p) else { continue };
        let published = ports.entry(key).or_default();
        for b in bindings.iter().flatten() {
            let host = b
                .host_ip
                .as_deref()
                .filter(|h| !h.is_empty())
                .unwrap_or("0.0.0.0");
            if let Some(port) = b.host_port.as_deref().filter(|p| !p.is_empty()) {
                let s = if host.contains(':') {
                    format!("[{host}]:{port}")
                } else {
                    format!("{host}:{port}")
                };
                if !published.contains(&s) {
                    published.push(s);
                }
            }
        }
    }

    let mut networks: Vec<NetworkDetail> = info
        .network_settings
        .and_then(|n| n.networks)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, e)| NetworkDetail {
            name,
            ip_address: e.ip_address.unwrap_or_default(),
        })
        .collect();
    networks.sort_by(|a, b| a.name.cmp(&b.name));

    ContainerDetail {
        id: info.id.unwrap_or_default(),
        name: info.name.unwrap_or_default().trim_start_matches('/').to_string(),
        image: config.image.unwrap_or_default(),
        image_id: info.image.unwrap_or_default(),
        state: state.status.map(|s| s.to_string()).unwrap_or_default(),
        exit_code: state.exit_code,
        created: info.created.map(|d| d.to_string()),
        started_at: state.started_at.filter(|s| !s.starts_with("0001-")),
        restart_count: info.restart_count.unwrap_or(0),
        command,
        entrypoint: config.entrypoint.unwrap_or_default(),
        cmd: config.cmd.unwrap_or_default(),
        working_dir: config.working_dir.unwrap_or_default(),
        user: config.user.unwrap_or_default(),
        env: config.env.unwrap_or_default(),
        mounts: info
            .mounts
            .unwrap_or_default()
            .into_iter()
            .map(|m| MountDetail {
                kind: m.typ.map(|t| t.to_string()).unwrap_or_default(),
                name: m.name.filter(|n| !n.is_empty()),
                source: m.source.unwrap_or_default(),
                destination: m.destination.unwrap_or_default(),
                read_write: m.rw.unwrap_or(true),
            })
            .collect(),
        ports: ports
            .into_iter()
            .map(|((container_port, protocol), published)| PortDetail {
                container_port,
                protocol,
                published,
            })
            .collect(),
        labels: config.labels.unwrap_or_default().into_iter().collect(),
        networks,
        raw,
    }
}

/// `80/tcp` → (80, `tcp`); a bare port is TCP.
fn port_key(p: &str) -> Option<(u16, String)> {
    let (port, proto) = p.split_once('/').unwrap_or((p, "tcp"));
    Some((port.parse().ok()?, proto.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docker inspect` of a busybox httpd run with `-p 8080:80 -v data:/data -e GREETING=hi` (trimmed).
    const INSPECT: &str = r#"{
      "Id": "4f1c0ffee",
      "Created": "2024-05-01T10:00:00.000000000Z",
      "Path": "/bin/busybox",
      "Args": ["httpd", "-f", "-p", "80"],
      "State": { "Status": "running", "Running": true, "Paused": false, "Restarting": false,
                 "OOMKilled": false, "Dead": false, "Pid": 1234, "ExitCode": 0, "Error": "",
                 "StartedAt": "2024-05-01T10:00:01.000000000Z", "FinishedAt": "0001-01-01T00:00:00Z" },
      "Image": "sha256:abc",
      "Name": "/web",
      "RestartCount": 0,
      "Mounts": [
        { "Type": "volume", "Name": "data", "Source": "/var/lib/docker/volumes/data/_data",
          "Destination": "/data", "Driver": "local", "Mode": "z", "RW": true, "Propagation": "" },
        { "Type": "bind", "Source": "/etc/hosts", "Destination": "/hosts", "Mode": "ro", "RW": false, "Propagation": "rprivate" }
      ],
      "Config": {
        "Hostname": "4f1c", "User": "", "Tty": false,
        "ExposedPorts": { "80/tcp": {}, "9000/udp": {} },
        "Env": ["GREETING=hi", "PATH=/bin"],
        "Cmd": ["httpd", "-f", "-p", "80"],
        "Image": "registry:5000/web:1",
        "WorkingDir": "/www",
        "Entrypoint": ["/bin/busybox"],
        "Labels": { "b": "2", "a": "1" }
      },
      "NetworkSettings": {
        "Ports": {
          "80/tcp": [ { "HostIp": "0.0.0.0", "HostPort": "8080" }, { "HostIp": "::", "HostPort": "8080" } ],
          "9000/udp": null
        },
        "Networks": { "bridge": { "IPAddress": "172.17.0.2", "Gateway": "172.17.0.1" } }
      }
    }"#;

    #[test]
    fn inspect_answers_map_to_the_detail_people_look_for() {
        let info: ContainerInspectResponse = serde_json::from_str(INSPECT).unwrap();
        let d = detail_from(info);
        assert_eq!(
            (d.id.as_str(), d.name.as_str(), d.state.as_str()),
            ("4f1c0ffee", "web", "running")
        );
        assert_eq!(d.image, "registry:5000/web:1");
        assert_eq!(d.command, ["/bin/busybox", "httpd", "-f", "-p", "80"]);
        assert_eq!(d.entrypoint, ["/bin/busybox"]);
        assert_eq!(d.env, ["GREETING=hi", "PATH=/bin"]);
        assert_eq!(d.working_dir, "/www");
        assert_eq!(d.started_at.as_deref(), Some("2024-05-01T10:00:01.000000000Z"));
        assert_eq!(d.labels.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(
            d.ports,
            vec![
                PortDetail {
                    container_port: 80,
                    protocol: "tcp".into(),
                    published: vec!["0.0.0.0:8080".into(), "[::]:8080".into()]
                },
                PortDetail {
                    container_port: 9000,
                    protocol: "udp".into(),
                    published: vec![]
                },
            ]
        );
        assert_eq!(d.mounts[0].kind, "volume");
        assert_eq!(d.mounts[0].name.as_deref(), Some("data"));
        assert!(!d.mounts[1].read_write);
        assert_eq!(
            d.networks,
            vec![NetworkDetail {
                name: "bridge".into(),
                ip_address: "172.17.0.2".into()
            }]
        );
        assert_eq!(
            d.raw["Config"]["Env"][0], "GREETING=hi",
            "the raw answer keeps Docker's names"
        );
        assert_eq!(d.raw["State"]["Pid"], 1234);
    }

    #[test]
    fn an_empty_answer_maps_to_empty_detail() {
        let d = detail_from(ContainerInspectResponse::default());
        assert!(d.command.is_empty() && d.ports.is_empty() && d.mounts.is_empty());
        assert_eq!(d.started_at, None);
    }
}
