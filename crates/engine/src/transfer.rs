//! Moving images between the machine's Docker and registries with the stored credentials: pulls
//! (bollard, `X-Registry-Auth`), tags, and pushes with per-layer progress.
//!
//! Pushes ask Docker's socket directly: bollard 0.21's `PushImageInfo` drops the `id` of each progress
//! line, and without it there is no per-layer progress. The request is the same `POST
//! /images/{name}/push` the docker CLI sends.

use base64::Engine as _;
use bollard::query_parameters::{CreateImageOptions, TagImageOptions};
use futures_util::{Stream, StreamExt};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::UnixStream;

use crate::docker::{docker_error, pull_progress, split_reference};
use crate::login::{docker_credentials, reference_registry};
use crate::registry::RegistryError;
use crate::{DockerApi, Error, PullProgress, Result};

/// One line of a push's progress (same shape as a pull's).
pub type PushProgress = PullProgress;

/// What a push left in the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushReport {
    /// The reference pushed.
    pub reference: String,
    /// The manifest digest the registry now has, when Docker reported it.
    pub digest: Option<String>,
}

/// What to do when a registry cannot be reached over HTTPS.
const INSECURE_HINT: &str =
    "; if it serves plain HTTP, add it to the machine's insecure registries (Settings, \
     or `berth start --insecure-registry HOST:PORT` and `berth restart`)";

impl DockerApi {
    /// Pulls `reference` with the stored credentials of its registry (for `platform`, e.g. `linux/arm64`,
    /// when given), yielding Docker's progress lines.
    pub(crate) fn pull_as(
        &self,
        reference: &str,
        platform: Option<String>,
    ) -> impl Stream<Item = Result<PullProgress>> + Send + 'static {
        let client = self.client.clone();
        let reference = reference.to_string();
        futures_util::stream::once(async move {
            let creds = docker_credentials(&reference).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "stored credentials unreadable; pulling anonymously");
                None
            });
            let (image, tag) = split_reference(&reference);
            let opts = CreateImageOptions {
                from_image: Some(image),
                tag,
                platform: platform.unwrap_or_default(),
                ..Default::default()
            };
            client.create_image(Some(opts), None, creds).map(move |item| {
                item.map_err(docker_error)
                    .and_then(|info| pull_progress(&reference, info))
            })
        })
        .flatten()
    }

    /// Gives `source` (an image id or reference) the name `target` (`127.0.0.1:5000/app:1`).
    pub async fn tag(&self, source: &str, target: &str) -> Result<()> {
        crate::registry::ImageRef::parse(target)?;
        let (repo, tag) = split_reference(target);
        if target.contains('@') {
            return Err(Error::Invalid(format!(
                "{target} names a digest; a tag is NAME[:TAG]"
            )));
        }
        let opts = TagImageOptions {
            repo: Some(repo),
            tag,
        };
        self.client
            .tag_image(source, Some(opts))
            .await
            .map_err(docker_error)
    }

    /// Pushes `image` (`REGISTRY/REPO[:TAG]`) with its registry's stored credentials; `progress` sees every
    /// line, per layer.
    pub async fn push(&self, image: &str, mut progress: impl FnMut(&PushProgress)) -> Result<PushReport> {
        let parsed = crate::registry::ImageRef::parse(image)?;
        if parsed.digest().is_some() {
            return Err(Error::Invalid(format!("{image} names a digest; push a tag")));
        }
        let (name, tag) = split_reference(image);
        let auth = docker_credentials(image)
            .await
            .unwrap_or(None)
            .unwrap_or_default();
        let header = base64::engine::general_purpose::URL_SAFE
            .encode(serde_json::to_vec(&auth).map_err(|e| Error::Invalid(e.to_string()))?);
        let path = format!("/images/{name}/push?tag={}", tag.as_deref().unwrap_or("latest"));
        let stream = UnixStream::connect(&self.socket)
            .await
            .map_err(|_| Error::NotRunning)?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| Error::Docker(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let req = Request::post(&path)
            .header("host", "docker")
            .header("X-Registry-Auth", header)
            .body(Empty::<Bytes>::new())
            .map_err(|e| Error::Docker(e.to_string()))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| Error::Docker(e.to_string()))?;
        let status = resp.status();
        let mut body = resp.into_body();
        let mut pending: Vec<u8> = Vec::new();
        let mut report = PushReport {
            reference: image.to_string(),
            digest: None,
        };
        let registry = reference_registry(image);
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| Error::Docker(format!("pushing {image}: {e}")))?;
            let Ok(data) = frame.into_data() else { continue };
            pending.extend_from_slice(&data);
            while let Some(nl) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=nl).collect();
                if !status.is_success() {
                    continue;
                }
                handle_line(
                    image,
                    &registry,
                    parsed.repository(),
                    &line,
                    &mut report,
                    &mut progress,
                )?;
            }
        }
        if !status.is_success() {
            let msg = serde_json::from_slice::<serde_json::Value>(&pending)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_string))
                .unwrap_or_else(|| format!("HTTP {status}"));
            return Err(push_error(image, &registry, parsed.repository(), &msg));
        }
        if !pending.is_empty() {
            handle_line(
                image,
                &registry,
                parsed.repository(),
                &pending,
                &mut report,
                &mut progress,
            )?;
        }
        Ok(report)
    }
}

#[derive(Deserialize, Default)]
struct PushLine {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "progressDetail")]
    detail: Option<Detail>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default, rename = "errorDetail")]
    error_detail: Option<Message>,
    #[serde(default)]
    aux: Option<Aux>,
}

#[derive(Deserialize, Default)]
struct Detail {
    current: Option<i64>,
    total: Option<i64>,
}

#[derive(Deserialize)]
struct Message {
    message: Option<String>,
}

#[derive(Deserialize)]
struct Aux {
    #[serde(rename = "Digest")]
    digest: Option<String>,
}

fn handle_line(
    image: &str,
    registry: &str,
    repository: &str,
    line: &[u8],
    report: &mut PushReport,
    progress: &mut impl FnMut(&PushProgress),
) -> Result<()> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let l: PushLine = serde_json::from_slice(line)
        .map_err(|e| Error::Docker(format!("pushing {image}: unexpected progress line ({e})")))?;
    if let Some(msg) = l.error_detail.and_then(|d| d.message).or(l.error) {
        return Err(push_error(image, registry, repository, &msg));
    }
    if let Some(d) = l.aux.and_then(|a| a.digest) {
        report.digest = Some(d);
        return Ok(());
    }
    let detail = l.detail.unwrap_or_default();
    let layer = l.id.filter(|id| !id.is_empty() && !image.ends_with(id.as_str()));
    // "The push refers to repository [...]" and the final "<tag>: digest: … size: …" are about the image.
    let status = l.status.unwrap_or_default();
    if let Some(d) = status
        .split("digest: ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
    {
        report.digest.get_or_insert_with(|| d.to_string());
    }
    progress(&PushProgress {
        reference: image.to_string(),
        layer,
        status,
        current: detail.current,
        total: detail.total.filter(|t| *t > 0),
    });
    Ok(())
}

/// What a push failure means for the user.
pub(crate) fn push_error(image: &str, registry: &str, repository: &str, msg: &str) -> Error {
    let m = msg.to_ascii_lowercase();
    if [
        "denied",
        "unauthorized",
        "authentication required",
        "insufficient_scope",
        "forbidden",
        "no basic auth credentials",
    ]
    .iter()
    .any(|w| m.contains(w))
    {
        return Error::PushDenied {
            registry: registry.to_string(),
            repository: repository.to_string(),
        };
    }
    if m.contains("does not exist locally") || m.contains("no such image") {
        return Error::Invalid(format!(
            "there is no image {image} in the machine; build or pull one, then name it with `berth tag SRC {image}`"
        ));
    }
    let unreachable = [
        "connection refused",
        "no such host",
        "i/o timeout",
        "dial tcp",
        "server gave http response to https client",
        "tls:",
        "x509",
        "no route to host",
    ];
    if unreachable.iter().any(|w| m.contains(w)) {
        return Error::Registry(RegistryError::Unreachable {
            target: format!("registry {registry} from the machine"),
            cause: msg.to_string(),
            hint: INSECURE_HINT.into(),
        });
    }
    Error::Docker(format!("pushing {image}: {msg}"))
}

#[cfg(test)]
#[path = "transfer_tests.rs"]
mod tests;
