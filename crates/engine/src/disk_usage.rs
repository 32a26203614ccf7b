//! How much disk each volume takes (`docker system df -v`, volumes only).
//!
//! bollard 0.21 models `/system/df` as API 1.52 answers it (`VolumeUsage.Items`), while the machine's
//! Docker 26.1 (API 1.45) answers with a top-level `Volumes` list that bollard's type drops. So this asks
//! the socket directly, without a version prefix (the daemon answers in its own version), and reads both
//! shapes.

use std::collections::HashMap;
use std::path::Path;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::UnixStream;

use crate::{DockerApi, Error, Result};

/// `type=volume` (API ≥ 1.42) skips images, containers and build cache, which are slow to size;
/// `verbose` makes API ≥ 1.52 list each volume and is ignored by older daemons.
const DF_PATH: &str = "/system/df?type=volume&verbose=1";

/// One volume's disk use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeUsage {
    /// Volume name.
    pub name: String,
    /// Bytes on disk; `None` when Docker cannot tell (volumes of other drivers).
    pub size: Option<i64>,
    /// Containers that reference it, as Docker counts them; `None` when unknown.
    pub ref_count: Option<i64>,
}

#[derive(Deserialize)]
struct DfAnswer {
    /// API ≤ 1.51.
    #[serde(rename = "Volumes")]
    volumes: Option<Vec<DfVolume>>,
    /// API ≥ 1.52.
    #[serde(rename = "VolumeUsage")]
    volume_usage: Option<DfVolumeUsage>,
}

#[derive(Deserialize)]
struct DfVolumeUsage {
    #[serde(rename = "Items")]
    items: Option<Vec<DfVolume>>,
}

#[derive(Deserialize)]
struct DfVolume {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "UsageData")]
    usage: Option<DfUsage>,
}

#[derive(Deserialize)]
struct DfUsage {
    #[serde(rename = "Size")]
    size: i64,
    #[serde(rename = "RefCount")]
    ref_count: i64,
}

#[derive(Deserialize)]
struct DockerMessage {
    message: String,
}

impl DockerApi {
    /// Every volume's size and reference count, in one call (sizing walks each volume's files, so call it
    /// when the sizes are shown, not on a timer).
    pub async fn volume_usage(&self) -> Result<Vec<VolumeUsage>> {
        let body = get(&self.socket, DF_PATH).await?;
        volume_usage_from(&body)
    }
}

/// Reads a `/system/df` answer in either shape, sorted by name; -1 (unknown) becomes `None`.
pub(crate) fn volume_usage_from(body: &[u8]) -> Result<Vec<VolumeUsage>> {
    let answer: DfAnswer = serde_json::from_slice(body)
        .map_err(|e| Error::Docker(format!("unexpected disk usage answer ({e}); try Refresh")))?;
    let list = answer
        .volumes
        .or_else(|| answer.volume_usage.and_then(|u| u.items))
        .unwrap_or_default();
    let mut by_name: HashMap<String, VolumeUsage> = HashMap::new();
    for v in list {
        let known = |n: i64| Some(n).filter(|n| *n >= 0);
        by_name.insert(
            v.name.clone(),
            VolumeUsage {
                size: v.usage.as_ref().and_then(|u| known(u.size)),
                ref_count: v.usage.as_ref().and_then(|u| known(u.ref_count)),
                name: v.name,
            },
        );
    }
    let mut out: Vec<VolumeUsage> = by_name.into_values().collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// GET on Docker's socket; a non-2xx answer becomes an error with Docker's message.
async fn get(socket: &Path, path: &str) -> Result<Vec<u8>> {
    let stream = UnixStream::connect(socket).await.map_err(|_| Error::NotRunning)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| Error::Docker(e.to_string()))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let req = Request::get(path)
        .header("host", "docker")
        .body(Empty::<Bytes>::new())
        .map_err(|e| Error::Docker(e.to_string()))?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| Error::Docker(e.to_string()))?;
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| Error::Docker(e.to_string()))?
        .to_bytes();
    if !status.is_success() {
        let msg = serde_json::from_slice::<DockerMessage>(&bytes)
            .map(|m| m.message)
            .unwrap_or_else(|_| format!("HTTP {status} from {path}"));
        return Err(Error::Docker(msg));
    }
    Ok(bytes.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_api_1_45_shape() {
        // Docker 26.1, `GET /system/df?type=volume`.
        let json = br#"{"LayersSize":0,"Images":null,"Containers":null,"BuildCache":null,"Volumes":[
          {"CreatedAt":"2024-05-01T10:00:00Z","Driver":"local","Labels":null,"Mountpoint":"/var/lib/docker/volumes/db/_data",
           "Name":"db","Options":null,"Scope":"local","UsageData":{"RefCount":1,"Size":52428800}},
          {"CreatedAt":"2024-05-01T10:00:00Z","Driver":"nfs","Labels":null,"Mountpoint":"","Name":"remote",
           "Options":null,"Scope":"local","UsageData":{"RefCount":-1,"Size":-1}},
          {"CreatedAt":"2024-05-01T10:00:00Z","Driver":"local","Labels":null,"Mountpoint":"/v/cache","Name":"cache",
           "Options":null,"Scope":"local","UsageData":{"RefCount":0,"Size":0}}
        ]}"#;
        let got = volume_usage_from(json).unwrap();
        assert_eq!(
            got,
            vec![
                VolumeUsage {
                    name: "cache".into(),
                    size: Some(0),
                    ref_count: Some(0)
                },
                VolumeUsage {
                    name: "db".into(),
                    size: Some(52_428_800),
                    ref_count: Some(1)
                },
                VolumeUsage {
                    name: "remote".into(),
                    size: None,
                    ref_count: None
                },
            ]
        );
    }

    #[test]
    fn reads_the_api_1_52_shape() {
        let json = br#"{"VolumeUsage":{"ActiveCount":1,"TotalCount":1,"TotalSize":4096,"Reclaimable":0,"Items":[
          {"Name":"db","Driver":"local","Mountpoint":"/v/db","Scope":"local","UsageData":{"RefCount":2,"Size":4096}}
        ]}}"#;
        assert_eq!(
            volume_usage_from(json).unwrap(),
            vec![VolumeUsage {
                name: "db".into(),
                size: Some(4096),
                ref_count: Some(2)
            }]
        );
    }

    #[test]
    fn no_volumes_and_bad_answers() {
        assert!(volume_usage_from(br#"{"Volumes":null}"#).unwrap().is_empty());
        assert!(volume_usage_from(br#"{}"#).unwrap().is_empty());
        let err = volume_usage_from(b"<html>").unwrap_err().to_string();
        assert!(err.contains("try Refresh"), "{err}");
    }

    /// Answers one request on a Unix socket with `status` and `body`; returns the request line.
    async fn answer_once(socket: std::path::PathBuf, status: &'static str, body: &'static str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::UnixListener::bind(&socket).unwrap();
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = s.read(&mut buf).await.unwrap();
        let head = String::from_utf8_lossy(&buf[..n])
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        let resp = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(resp.as_bytes()).await.unwrap();
        head
    }

    #[tokio::test]
    async fn asks_the_socket_unversioned_for_volumes_only() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("docker.sock");
        let server = tokio::spawn(answer_once(
            sock.clone(),
            "200 OK",
            r#"{"Volumes":[{"Name":"db","UsageData":{"RefCount":1,"Size":10}}]}"#,
        ));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let body = get(&sock, DF_PATH).await.unwrap();
        assert_eq!(volume_usage_from(&body).unwrap()[0].size, Some(10));
        assert_eq!(
            server.await.unwrap(),
            "GET /system/df?type=volume&verbose=1 HTTP/1.1"
        );
    }

    #[tokio::test]
    async fn docker_refusals_carry_its_message() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("docker.sock");
        let server = tokio::spawn(answer_once(
            sock.clone(),
            "500 Internal Server Error",
            r#"{"message":"a disk usage operation is already running"}"#,
        ));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let err = get(&sock, DF_PATH).await.unwrap_err().to_string();
        assert_eq!(err, "Docker Engine: a disk usage operation is already running");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_missing_socket_means_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let err = get(&dir.path().join("docker.sock"), DF_PATH).await.unwrap_err();
        assert!(matches!(err, Error::NotRunning), "{err}");
    }
}
