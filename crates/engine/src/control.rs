//! HTTP/1.1 client for berthd's control API over its Unix socket.

use berth_api::{ApiError, Event, MachinePaths};
use futures_util::Stream;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use tokio::net::UnixStream;

use crate::{Error, Result};

async fn open(
    paths: &MachinePaths,
    method: Method,
    path: &str,
    body: Option<Vec<u8>>,
) -> Result<hyper::Response<hyper::body::Incoming>> {
    let stream = UnixStream::connect(paths.control_socket())
        .await
        .map_err(|_| Error::NotRunning)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| Error::Protocol(e.to_string()))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "berthd")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| Error::Protocol(e.to_string()))?;
    sender.send_request(req).await.map_err(|e| {
        if e.is_incomplete_message() || e.is_canceled() {
            Error::NotRunning
        } else {
            Error::Protocol(e.to_string())
        }
    })
}

/// Sends a request and parses a JSON answer; non-2xx answers become `Rejected` with the daemon's words.
pub async fn send<T: DeserializeOwned>(
    paths: &MachinePaths,
    method: Method,
    path: &str,
    body: Option<Vec<u8>>,
) -> Result<T> {
    let resp = open(paths, method, path, body).await?;
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| Error::Protocol(e.to_string()))?
        .to_bytes();
    if !status.is_success() {
        let msg = serde_json::from_slice::<ApiError>(&bytes)
            .map(|e| e.error)
            .unwrap_or_else(|_| format!("HTTP {status}: {}", String::from_utf8_lossy(&bytes)));
        return Err(Error::Rejected(msg));
    }
    serde_json::from_slice(&bytes).map_err(|e| Error::Protocol(e.to_string()))
}

/// GET and parse.
pub async fn get<T: DeserializeOwned>(paths: &MachinePaths, path: &str) -> Result<T> {
    send(paths, Method::GET, path, None).await
}

/// The `/v1/events` stream, one [`Event`] per line.
pub async fn events(paths: &MachinePaths) -> Result<impl Stream<Item = Result<Event>>> {
    let resp = open(paths, Method::GET, "/v1/events", None).await?;
    if !resp.status().is_success() {
        return Err(Error::Protocol(format!("events: HTTP {}", resp.status())));
    }
    let body = resp.into_body();
    Ok(futures_util::stream::unfold(
        (body, Vec::<u8>::new()),
        |(mut body, mut buf)| async move {
            loop {
                if let Some(nl) = buf.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=nl).collect();
                    let ev =
                        serde_json::from_slice::<Event>(&line).map_err(|e| Error::Protocol(e.to_string()));
                    return Some((ev, (body, buf)));
                }
                match body.frame().await {
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            buf.extend_from_slice(&data);
                        }
                    }
                    Some(Err(_)) | None => return None,
                }
            }
        },
    ))
}
