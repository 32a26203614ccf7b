//! Docker Engine in the machine, as the desktop app shows it: containers, images and volumes flattened
//! into small serialisable types, pulls with per-layer progress, log streams, and a feed of changes.
//! Everything goes through bollard on the machine's forwarded socket.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, ContainerSummary, CreateImageInfo, EventMessage, HostConfig, ImageSummary,
    PortBinding, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptions, EventsOptions, ListContainersOptions, ListImagesOptions, ListVolumesOptions,
    LogsOptions, RemoveContainerOptions, RemoveImageOptions, RemoveVolumeOptions, RestartContainerOptions,
    StartContainerOptions, StopContainerOptions,
};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};

use crate::mounts::{binds, VolumeMount};
use crate::{Engine, Error, Result};

/// The label Docker Compose puts on every container of a project.
pub const COMPOSE_PROJECT_LABEL: &str = "com.docker.compose.project";
const COMPOSE_SERVICE_LABEL: &str = "com.docker.compose.service";

/// A container port and where it is published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    /// Port inside the container.
    pub container_port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
    /// Host port it is published on, if any (berthd forwards it to `127.0.0.1`).
    pub host_port: Option<u16>,
}

/// A container as the app lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Container {
    /// Full id.
    pub id: String,
    /// Name without the leading slash.
    pub name: String,
    /// Image as the user named it.
    pub image: String,
    /// `running`, `exited`, `created`, `paused`, `restarting`, `dead`, …
    pub state: String,
    /// Docker's human status ("Up 3 minutes", "Exited (0) 2 seconds ago").
    pub status: String,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// Ports, published ones first, without duplicates (IPv4/IPv6 bindings collapse).
    pub ports: Vec<PortMapping>,
    /// Compose project, from the `com.docker.compose.project` label.
    pub compose_project: Option<String>,
    /// Compose service, from the `com.docker.compose.service` label.
    pub compose_service: Option<String>,
}

/// An image as the app lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// `sha256:…` id.
    pub id: String,
    /// `name:tag` references (empty for a dangling image).
    pub tags: Vec<String>,
    /// Size in bytes.
    pub size: i64,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// Names of the containers (in any state) made from it.
    pub used_by: Vec<String>,
}

/// A volume as the app lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    /// Name.
    pub name: String,
    /// Driver (`local`).
    pub driver: String,
    /// Where it lives inside the machine.
    pub mountpoint: String,
    /// Creation time as Docker reports it (RFC 3339).
    pub created_at: Option<String>,
    /// Names of the containers (in any state) that mount it.
    pub used_by: Vec<String>,
}

/// One line of a pull's progress; `layer` is absent for lines about the whole image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullProgress {
    /// The reference being pulled.
    pub reference: String,
    /// Layer id, when the line is about one layer.
    pub layer: Option<String>,
    /// "Downloading", "Pull complete", "Status: Downloaded newer image for …".
    pub status: String,
    /// Bytes done.
    pub current: Option<i64>,
    /// Bytes in all.
    pub total: Option<i64>,
}

/// A port to publish when running a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRequest {
    /// Port inside the container.
    pub container_port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
    /// Host port.
    pub host_port: u16,
}

/// What `docker run -d` would be told.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunRequest {
    /// Image reference.
    pub image: String,
    /// Container name (Docker picks one when absent).
    pub name: Option<String>,
    /// Ports to publish.
    pub ports: Vec<PortRequest>,
    /// `KEY=value` pairs.
    pub env: Vec<String>,
    /// Command, replacing the image's.
    pub command: Option<Vec<String>>,
    /// Volumes and machine paths to mount (`-v`).
    pub volumes: Vec<VolumeMount>,
    /// Labels to put on the container (`--label`).
    pub labels: std::collections::BTreeMap<String, String>,
}

/// One line of a container's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// `stdout` or `stderr`.
    pub stream: String,
    /// The line, without its newline.
    pub text: String,
    /// When Docker received it (RFC 3339 with nanoseconds), if known.
    #[serde(default)]
    pub time: Option<String>,
}

/// Something changed in Docker: lists of this kind are stale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DockerChange {
    /// `container`, `image`, `volume` or `network`.
    pub kind: String,
    /// Docker's action (`start`, `die`, `pull`, `destroy`, …).
    pub action: String,
}

/// What to do to a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContainerAction {
    /// Start it.
    Start,
    /// Stop it (10 s grace).
    Stop,
    /// Restart it.
    Restart,
    /// Remove it, stopping it first; anonymous volumes go with it.
    Remove,
}

/// The machine's Docker Engine.
#[derive(Debug, Clone)]
pub struct DockerApi {
    pub(crate) client: bollard::Docker,
    /// Docker's socket, for the few requests bollard's types do not fit (see `disk_usage`).
    pub(crate) socket: std::path::PathBuf,
}

impl Engine {
    /// The Docker Engine of a running machine; [`Error::NotRunning`] when its socket is absent.
    pub fn docker_api(&self) -> Result<DockerApi> {
        if !self.paths().docker_socket().exists() {
            return Err(Error::NotRunning);
        }
        Ok(DockerApi {
            client: self.docker()?,
            socket: self.paths().docker_socket(),
        })
    }
}

impl DockerApi {
    /// Every container, running or not, newest first.
    pub async fn containers(&self) -> Result<Vec<Container>> {
        let opts = ListContainersOptions {
            all: true,
            ..Default::default()
        };
        let list = self
            .client
            .list_containers(Some(opts))
            .await
            .map_err(docker_error)?;
        Ok(list.into_iter().map(container_from).collect())
    }

    /// Starts, stops, restarts or removes a container.
    pub async fn container_action(&self, id: &str, action: ContainerAction) -> Result<()> {
        let c = &self.client;
        let r = match action {
            ContainerAction::Start => c.start_container(id, None::<StartContainerOptions>).await,
            ContainerAction::Stop => {
                c.stop_container(
                    id,
                    Some(StopContainerOptions {
                        t: Some(10),
                        signal: None,
                    }),
                )
                .await
            }
            ContainerAction::Restart => {
                c.restart_container(
                    id,
                    Some(RestartContainerOptions {
                        t: Some(10),
                        signal: None,
                    }),
                )
                .await
            }
            ContainerAction::Remove => {
                c.remove_container(
                    id,
                    Some(RemoveContainerOptions {
                        force: true,
                        v: true,
                        link: false,
                    }),
                )
                .await
            }
        };
        r.map_err(docker_error)
    }

    /// Images with the containers that use them.
    pub async fn images(&self) -> Result<Vec<Image>> {
        let images = self
            .client
            .list_images(Some(ListImagesOptions::default()))
            .await
            .map_err(docker_error)?;
        let containers = self.containers_raw().await?;
        Ok(images_from(images, &containers))
    }

    /// Removes an image; refused while a container uses it, naming those containers.
    pub async fn remove_image(&self, id: &str) -> Result<()> {
        if let Some(img) = self
            .images()
            .await?
            .into_iter()
            .find(|i| i.id == id || i.tags.iter().any(|t| t == id))
        {
            if !img.used_by.is_empty() {
                return Err(Error::Invalid(format!(
                    "the image is used by {}; remove {} first",
                    img.used_by.join(", "),
                    if img.used_by.len() == 1 {
                        "that container"
                    } else {
                        "those containers"
                    }
                )));
            }
        }
        self.client
            .remove_image(
                id,
                Some(RemoveImageOptions {
                    force: false,
                    noprune: false,
                    platforms: None,
                }),
                None,
            )
            .await
            .map(|_| ())
            .map_err(docker_error)
    }

    /// Pulls `reference` with its registry's stored credentials (see `login`), yielding Docker's progress
    /// lines; an error line ends the stream with an error.
    pub fn pull(&self, reference: &str) -> impl Stream<Item = Result<PullProgress>> + Send + 'static {
        self.pull_as(reference, None)
    }

    /// The ports an image declares with `EXPOSE`, as `80/tcp`, sorted.
    pub async fn exposed_ports(&self, image: &str) -> Result<Vec<String>> {
        let inspect = self.client.inspect_image(image).await.map_err(docker_error)?;
        let mut ports = inspect.config.and_then(|c| c.exposed_ports).unwrap_or_default();
        ports.sort_by_key(|p| (p.split('/').next().and_then(|n| n.parse::<u16>().ok()), p.clone()));
        Ok(ports)
    }

    /// Creates and starts a container (`docker run -d`); returns its id.
    pub async fn run(&self, req: &RunRequest) -> Result<String> {
        let body = create_body(req)?;
        let opts = req
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .map(|name| CreateContainerOptions {
                name: Some(name),
                ..Default::default()
            });
        let created = self
            .client
            .create_container(opts, body)
            .await
            .map_err(docker_error)?;
        if let Err(e) = self
            .client
            .start_container(&created.id, None::<StartContainerOptions>)
            .await
        {
            // Leave nothing half-made behind: the user sees why it did not start and can run it again.
            let _ = self
                .client
                .remove_container(
                    &created.id,
                    Some(RemoveContainerOptions {
                        force: true,
                        ..Default::default()
                    }),
                )
                .await;
            return Err(docker_error(e));
        }
        Ok(created.id)
    }

    /// Volumes with the containers that mount them.
    pub async fn volumes(&self) -> Result<Vec<Volume>> {
        let list = self
            .client
            .list_volumes(None::<ListVolumesOptions>)
            .await
            .map_err(docker_error)?;
        let containers = self.containers_raw().await?;
        let mut vols: Vec<Volume> = list
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| Volume {
                used_by: volume_users(&v.name, &containers),
                name: v.name,
                driver: v.driver,
                mountpoint: v.mountpoint,
                created_at: v.created_at.map(|d| d.to_string()),
            })
            .collect();
        vols.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(vols)
    }

    /// Creates a named volume.
    pub async fn create_volume(&self, name: &str) -> Result<Volume> {
        let req = VolumeCreateRequest {
            name: Some(name.to_string()),
            ..Default::default()
        };
        let v = self.client.create_volume(req).await.map_err(docker_error)?;
        Ok(Volume {
            name: v.name,
            driver: v.driver,
            mountpoint: v.mountpoint,
            created_at: v.created_at.map(|d| d.to_string()),
            used_by: vec![],
        })
    }

    /// Removes a volume; refused while a container mounts it, naming those containers.
    pub async fn remove_volume(&self, name: &str) -> Result<()> {
        let users = volume_users(name, &self.containers_raw().await?);
        if !users.is_empty() {
            return Err(Error::Invalid(format!(
                "the volume is used by {}; remove {} first",
                users.join(", "),
                if users.len() == 1 {
                    "that container"
                } else {
                    "those containers"
                }
            )));
        }
        self.client
            .remove_volume(name, None::<RemoveVolumeOptions>)
            .await
            .map_err(docker_error)
    }

    /// A container's output: the last `tail` lines, then (with `follow`) new ones as they come, each with
    /// the time Docker received it.
    pub fn logs(
        &self,
        id: &str,
        tail: usize,
        follow: bool,
    ) -> impl Stream<Item = Result<LogLine>> + Send + 'static {
        let opts = LogsOptions {
            follow,
            stdout: true,
            stderr: true,
            timestamps: true,
            tail: tail.to_string(),
            ..Default::default()
        };
        self.client.logs(id, Some(opts)).flat_map(|item| {
            let lines: Vec<Result<LogLine>> = match item {
                Ok(out) => {
                    let stream = match out {
                        bollard::container::LogOutput::StdErr { .. } => "stderr",
                        _ => "stdout",
                    };
                    split_lines(&out.into_bytes())
                        .into_iter()
                        .map(|line| {
                            let (time, text) = split_timestamp(line);
                            Ok(LogLine {
                                stream: stream.into(),
                                text,
                                time,
                            })
                        })
                        .collect()
                }
                Err(e) => vec![Err(docker_error(e))],
            };
            futures_util::stream::iter(lines)
        })
    }

    /// Docker's event stream reduced to "lists of this kind changed".
    pub fn changes(&self) -> impl Stream<Item = Result<DockerChange>> + Send + 'static {
        self.client
            .events(None::<EventsOptions>)
            .filter_map(|ev| async move {
                match ev {
                    Ok(ev) => change_from(ev).map(Ok),
                    Err(e) => Some(Err(docker_error(e))),
                }
            })
    }

    async fn containers_raw(&self) -> Result<Vec<ContainerSummary>> {
        let opts = ListContainersOptions {
            all: true,
            ..Default::default()
        };
        self.client
            .list_containers(Some(opts))
            .await
            .map_err(docker_error)
    }
}

pub(crate) fn docker_error(e: bollard::errors::Error) -> Error {
    match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => Error::Docker(message),
        other => Error::Docker(other.to_string()),
    }
}

fn container_name(c: &ContainerSummary) -> String {
    c.names
        .as_ref()
        .and_then(|n| n.first())
        .map(|n| n.trim_start_matches('/').to_string())
        .unwrap_or_else(|| c.id.as_deref().unwrap_or_default().chars().take(12).collect())
}

fn container_from(c: ContainerSummary) -> Container {
    let mut ports: Vec<PortMapping> = Vec::new();
    for p in c.ports.iter().flatten() {
        let m = PortMapping {
            container_port: p.private_port,
            protocol: p
                .typ
                .map(|t| t.to_string())
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "tcp".into()),
            host_port: p.public_port,
        };
        if !ports.contains(&m) {
            ports.push(m);
        }
    }
    // A port that is published somewhere needs no unpublished twin.
    let published: Vec<(u16, String)> = ports
        .iter()
        .filter(|p| p.host_port.is_some())
        .map(|p| (p.container_port, p.protocol.clone()))
        .collect();
    ports.retain(|p| p.host_port.is_some() || !published.contains(&(p.container_port, p.protocol.clone())));
    ports.sort_by_key(|p| (p.host_port.is_none(), p.host_port, p.container_port));
    let label = |k: &str| c.labels.as_ref().and_then(|l| l.get(k)).cloned();
    Container {
        name: container_name(&c),
        id: c.id.clone().unwrap_or_default(),
        image: c.image.clone().unwrap_or_default(),
        state: c.state.map(|s| s.to_string()).unwrap_or_default(),
        status: c.status.clone().unwrap_or_default(),
        created: c.created.unwrap_or_default(),
        ports,
        compose_project: label(COMPOSE_PROJECT_LABEL),
        compose_service: label(COMPOSE_SERVICE_LABEL),
    }
}

fn images_from(images: Vec<ImageSummary>, containers: &[ContainerSummary]) -> Vec<Image> {
    let mut users: HashMap<&str, Vec<String>> = HashMap::new();
    for c in containers {
        if let Some(id) = c.image_id.as_deref() {
            users.entry(id).or_default().push(container_name(c));
        }
    }
    let mut out: Vec<Image> = images
        .into_iter()
        .map(|i| Image {
            used_by: users.get(i.id.as_str()).cloned().unwrap_or_default(),
            tags: i.repo_tags.into_iter().filter(|t| t != "<none>:<none>").collect(),
            id: i.id,
            size: i.size,
            created: i.created,
        })
        .collect();
    out.sort_by(|a, b| b.created.cmp(&a.created).then(a.tags.cmp(&b.tags)));
    out
}

fn volume_users(name: &str, containers: &[ContainerSummary]) -> Vec<String> {
    containers
        .iter()
        .filter(|c| c.mounts.iter().flatten().any(|m| m.name.as_deref() == Some(name)))
        .map(container_name)
        .collect()
}

/// `registry:5000/app:1.2` → (`registry:5000/app`, `1.2`); a digest stays whole; no tag means `latest`.
pub(crate) fn split_reference(reference: &str) -> (String, Option<String>) {
    if reference.contains('@') {
        return (reference.to_string(), None);
    }
    let last_slash = reference.rfind('/').map(|i| i + 1).unwrap_or(0);
    match reference[last_slash..].rfind(':') {
        Some(i) => (
            reference[..last_slash + i].to_string(),
            Some(reference[last_slash + i + 1..].to_string()),
        ),
        None => (reference.to_string(), Some("latest".to_string())),
    }
}

pub(crate) fn pull_progress(reference: &str, info: CreateImageInfo) -> Result<PullProgress> {
    if let Some(err) = info.error_detail.and_then(|d| d.message) {
        return Err(Error::Docker(format!("pulling {reference}: {err}")));
    }
    let detail = info.progress_detail.unwrap_or_default();
    Ok(PullProgress {
        reference: reference.to_string(),
        layer: info
            .id
            .filter(|id| !id.is_empty() && !reference.ends_with(id.as_str())),
        status: info.status.unwrap_or_default(),
        current: detail.current,
        total: detail.total.filter(|t| *t > 0),
    })
}

fn create_body(req: &RunRequest) -> Result<ContainerCreateBody> {
    if req.image.trim().is_empty() {
        return Err(Error::Invalid("choose an image to run".into()));
    }
    let mut exposed = Vec::new();
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for p in &req.ports {
        if p.protocol != "tcp" && p.protocol != "udp" {
            return Err(Error::Invalid(format!(
                "port protocol must be tcp or udp (got {:?})",
                p.protocol
            )));
        }
        if p.container_port == 0 || p.host_port == 0 {
            return Err(Error::Invalid("ports must be between 1 and 65535".into()));
        }
        let key = format!("{}/{}", p.container_port, p.protocol);
        exposed.push(key.clone());
        bindings
            .entry(key)
            .or_insert_with(|| Some(vec![]))
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: None,
                host_port: Some(p.host_port.to_string()),
            });
    }
    let binds = binds(&req.volumes)?;
    Ok(ContainerCreateBody {
        image: Some(req.image.clone()),
        env: (!req.env.is_empty()).then(|| req.env.clone()),
        cmd: req.command.clone().filter(|c| !c.is_empty()),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        labels: (!req.labels.is_empty()).then(|| req.labels.clone().into_iter().collect()),
        host_config: Some(HostConfig {
            port_bindings: (!bindings.is_empty()).then_some(bindings),
            binds: (!binds.is_empty()).then_some(binds),
            ..Default::default()
        }),
        ..Default::default()
    })
}

fn split_lines(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_suffix('\n').unwrap_or(&text);
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .collect()
}

/// `2024-05-01T10:00:00.123456789Z hello` → (the time, `hello`); a line without one stays whole.
fn split_timestamp(line: String) -> (Option<String>, String) {
    match line.split_once(' ') {
        Some((ts, rest)) if looks_like_timestamp(ts) => (Some(ts.to_string()), rest.to_string()),
        None if looks_like_timestamp(&line) => (Some(line), String::new()),
        _ => (None, line),
    }
}

fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 20
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[10] == b'T'
        && (s.ends_with('Z') || b[19..].iter().any(|c| matches!(c, b'+' | b'-')))
}

fn change_from(ev: EventMessage) -> Option<DockerChange> {
    let kind = ev.typ.map(|t| t.to_string())?;
    if !matches!(kind.as_str(), "container" | "image" | "volume" | "network") {
        return None;
    }
    let action = ev.action.unwrap_or_default();
    // exec_* and health checks fire constantly and change nothing the lists show.
    if action.starts_with("exec_") || action.starts_with("health_status") || action == "top" {
        return None;
    }
    Some(DockerChange { kind, action })
}

#[cfg(test)]
mod tests {
    use bollard::models::{ContainerSummaryStateEnum, MountPoint, PortSummary, PortSummaryTypeEnum};

    use super::*;

    fn summary(name: &str, image_id: &str) -> ContainerSummary {
        ContainerSummary {
            id: Some(format!("{name}-id")),
            names: Some(vec![format!("/{name}")]),
            image: Some("web:1".into()),
            image_id: Some(image_id.into()),
            state: Some(ContainerSummaryStateEnum::RUNNING),
            ..Default::default()
        }
    }

    #[test]
    fn containers_collapse_ipv4_and_ipv6_bindings_and_read_compose_labels() {
        let mut c = summary("web", "sha256:a");
        let port = |public| PortSummary {
            ip: None,
            private_port: 80,
            public_port: public,
            typ: Some(PortSummaryTypeEnum::TCP),
        };
        c.ports = Some(vec![
            port(Some(8080)),
            port(Some(8080)),
            port(None),
            PortSummary {
                private_port: 443,
                ..port(None)
            },
        ]);
        c.labels = Some(HashMap::from([(
            COMPOSE_PROJECT_LABEL.to_string(),
            "shop".to_string(),
        )]));
        let got = container_from(c);
        assert_eq!(got.name, "web");
        assert_eq!(got.state, "running");
        assert_eq!(got.compose_project.as_deref(), Some("shop"));
        assert_eq!(
            got.ports,
            vec![
                PortMapping {
                    container_port: 80,
                    protocol: "tcp".into(),
                    host_port: Some(8080)
                },
                PortMapping {
                    container_port: 443,
                    protocol: "tcp".into(),
                    host_port: None
                },
            ]
        );
    }

    #[test]
    fn images_name_their_containers() {
        let img = |id: &str, created| ImageSummary {
            id: id.into(),
            repo_tags: vec![format!("{id}:latest")],
            created,
            ..Default::default()
        };
        let got = images_from(
            vec![img("sha256:a", 1), img("sha256:b", 2)],
            &[summary("web", "sha256:a")],
        );
        assert_eq!(got[0].id, "sha256:b");
        assert!(got[0].used_by.is_empty());
        assert_eq!(got[1].used_by, vec!["web".to_string()]);
    }

    #[test]
    fn volumes_name_the_containers_that_mount_them() {
        let mut c = summary("db", "sha256:a");
        c.mounts = Some(vec![MountPoint {
            name: Some("data".into()),
            ..Default::default()
        }]);
        assert_eq!(volume_users("data", &[c.clone()]), vec!["db".to_string()]);
        assert!(volume_users("other", &[c]).is_empty());
    }

    #[test]
    fn references_split_into_image_and_tag() {
        assert_eq!(
            split_reference("busybox"),
            ("busybox".into(), Some("latest".into()))
        );
        assert_eq!(
            split_reference("10.0.2.2:5000/app:1.2"),
            ("10.0.2.2:5000/app".into(), Some("1.2".into()))
        );
        assert_eq!(
            split_reference("10.0.2.2:5000/app"),
            ("10.0.2.2:5000/app".into(), Some("latest".into()))
        );
        assert_eq!(split_reference("app@sha256:abc"), ("app@sha256:abc".into(), None));
    }

    #[test]
    fn pull_errors_end_the_pull_with_the_reason() {
        let info = CreateImageInfo {
            error_detail: Some(bollard::models::ErrorDetail {
                code: None,
                message: Some("manifest unknown".into()),
            }),
            ..Default::default()
        };
        assert_eq!(
            pull_progress("x:1", info).unwrap_err().to_string(),
            "Docker Engine: pulling x:1: manifest unknown"
        );
        let info = CreateImageInfo {
            id: Some("abc123".into()),
            status: Some("Downloading".into()),
            progress_detail: Some(bollard::models::ProgressDetail {
                current: Some(5),
                total: Some(10),
            }),
            ..Default::default()
        };
        let p = pull_progress("x:1", info).unwrap();
        assert_eq!(
            (p.layer.as_deref(), p.current, p.total),
            (Some("abc123"), Some(5), Some(10))
        );
    }

    #[test]
    fn run_requests_publish_ports_and_reject_bad_ones() {
        let req = RunRequest {
            image: "web:1".into(),
            ports: vec![PortRequest {
                container_port: 80,
                protocol: "tcp".into(),
                host_port: 8080,
            }],
            ..Default::default()
        };
        let body = create_body(&req).unwrap();
        assert_eq!(body.exposed_ports, Some(vec!["80/tcp".to_string()]));
        let b = body.host_config.unwrap().port_bindings.unwrap();
        assert_eq!(
            b["80/tcp"].as_ref().unwrap()[0].host_port.as_deref(),
            Some("8080")
        );
        let bad = RunRequest {
            ports: vec![PortRequest {
                protocol: "sctp".into(),
                ..req.ports[0].clone()
            }],
            ..req.clone()
        };
        assert!(create_body(&bad).is_err());
        assert!(create_body(&RunRequest::default()).is_err());
    }

    #[test]
    fn run_requests_mount_volumes_as_binds() {
        // What the app sends (older callers send no `volumes` at all).
        let req: RunRequest = serde_json::from_str(
            r#"{"image":"web:1","name":null,"ports":[],"env":[],"command":null,
                "volumes":[{"source":"data","target":"/data","read_only":false},{"source":"/srv/www","target":"/www","read_only":true}]}"#,
        )
        .unwrap();
        let hc = create_body(&req).unwrap().host_config.unwrap();
        assert_eq!(
            hc.binds,
            Some(vec!["data:/data".to_string(), "/srv/www:/www:ro".to_string()])
        );
        let old: RunRequest =
            serde_json::from_str(r#"{"image":"web:1","ports":[],"env":[],"command":null}"#).unwrap();
        assert!(old.volumes.is_empty());
        assert_eq!(create_body(&old).unwrap().host_config.unwrap().binds, None);
        let bad = RunRequest {
            volumes: vec![VolumeMount {
                source: "data".into(),
                target: "data".into(),
                read_only: false,
            }],
            ..old
        };
        assert!(create_body(&bad)
            .unwrap_err()
            .to_string()
            .contains("must be absolute"));
    }

    #[test]
    fn log_lines_lose_their_timestamp_to_a_field() {
        let (t, text) = split_timestamp("2024-05-01T10:00:00.123456789Z GET / 200".into());
        assert_eq!(
            (t.as_deref(), text.as_str()),
            (Some("2024-05-01T10:00:00.123456789Z"), "GET / 200")
        );
        assert_eq!(
            split_timestamp("2024-05-01T10:00:00.1+02:00 x".into())
                .0
                .as_deref(),
            Some("2024-05-01T10:00:00.1+02:00")
        );
        assert_eq!(
            split_timestamp("2024-05-01T10:00:00Z".into()),
            (Some("2024-05-01T10:00:00Z".into()), String::new())
        );
        assert_eq!(
            split_timestamp("plain words".into()),
            (None, "plain words".to_string())
        );
        assert_eq!(split_timestamp("".into()), (None, String::new()));
    }

    #[test]
    fn log_frames_split_into_lines() {
        assert_eq!(split_lines(b"a\r\nb\n"), vec!["a".to_string(), "b".to_string()]);
        assert_eq!(split_lines(b"partial"), vec!["partial".to_string()]);
    }
}
