//! The window's commands: each is a thin call into berth-engine. Names are shared with
//! ui/src/lib/backend/tauri.ts.

use berth_api::Status;
use berth_engine::{
    Container, ContainerAction, DockerApi, Engine, Image, ImageLayer, PruneReport, RunRequest, Volume,
    VolumeUsage,
};
use futures_util::StreamExt;
use tauri::{AppHandle, State};

use crate::error::{AppError, Result};
use crate::events::{emit, PULL_PROGRESS};
use crate::logs::LogStreams;

/// What the commands share.
pub struct AppState {
    /// The machine.
    pub engine: Engine,
    /// Whether the window should start a stopped machine when it opens.
    pub autostart: bool,
    /// Starts go one at a time: a second start waits for the first instead of spawning another daemon.
    pub starting: tokio::sync::Mutex<()>,
    /// Log streams in flight.
    pub logs: LogStreams,
}

impl AppState {
    fn docker(&self) -> Result<DockerApi> {
        Ok(self.engine.docker_api()?)
    }

    /// Starts the machine unless it runs; waits until Docker is ready or the machine fails.
    pub async fn start(&self) -> Result<Status> {
        let _one = self.starting.lock().await;
        // Progress reaches the window through the machine event forwarder.
        Ok(self.engine.start(|_| {}).await?)
    }
}

#[tauri::command]
pub async fn app_autostart(state: State<'_, AppState>) -> Result<bool> {
    Ok(state.autostart)
}

#[tauri::command]
pub async fn machine_status(state: State<'_, AppState>) -> Result<Status> {
    Ok(state.engine.status().await?)
}

#[tauri::command]
pub async fn machine_start(state: State<'_, AppState>) -> Result<Status> {
    state.start().await
}

#[tauri::command]
pub async fn machine_stop(state: State<'_, AppState>) -> Result<Status> {
    Ok(state.engine.stop().await?)
}

#[tauri::command]
pub async fn machine_restart(state: State<'_, AppState>) -> Result<Status> {
    let _one = state.starting.lock().await;
    Ok(state.engine.restart(|_| {}).await?)
}

#[tauri::command]
pub async fn containers_list(state: State<'_, AppState>) -> Result<Vec<crate::quickrun::ContainerRow>> {
    let list: Vec<Container> = state.docker()?.containers().await?;
    Ok(crate::quickrun::with_emulated(state.engine.docker().ok(), list).await)
}

#[tauri::command]
pub async fn container_action(state: State<'_, AppState>, id: String, action: ContainerAction) -> Result<()> {
    Ok(state.docker()?.container_action(&id, action).await?)
}

#[tauri::command]
pub async fn container_run(state: State<'_, AppState>, req: RunRequest) -> Result<String> {
    Ok(state.docker()?.run(&req).await?)
}

/// A container in detail (`docker inspect`), with Docker's whole answer as `raw`.
#[tauri::command]
pub async fn container_inspect(
    state: State<'_, AppState>,
    id: String,
) -> Result<berth_engine::ContainerDetail> {
    Ok(state.docker()?.inspect(&id).await?)
}

#[tauri::command]
pub async fn logs_follow(app: AppHandle, state: State<'_, AppState>, id: String, tail: usize) -> Result<u64> {
    let api = state.docker()?;
    Ok(state.logs.follow(app, api, id, tail.min(10_000)))
}

#[tauri::command]
pub async fn logs_stop(state: State<'_, AppState>, stream_id: u64) -> Result<()> {
    state.logs.stop(stream_id);
    Ok(())
}

#[tauri::command]
pub async fn images_list(state: State<'_, AppState>) -> Result<Vec<Image>> {
    Ok(state.docker()?.images().await?)
}

#[tauri::command]
pub async fn image_remove(state: State<'_, AppState>, id: String) -> Result<()> {
    Ok(state.docker()?.remove_image(&id).await?)
}

/// Pulls an image, sending each progress line as a `pull-progress` event; returns when done.
#[tauri::command]
pub async fn image_pull(app: AppHandle, state: State<'_, AppState>, reference: String) -> Result<()> {
    let reference = reference.trim().to_string();
    if reference.is_empty() || reference.contains(char::is_whitespace) {
        return Err(AppError::Invalid(
            "enter an image reference such as registry:5000/name:tag".into(),
        ));
    }
    let mut progress = Box::pin(state.docker()?.pull(&reference));
    while let Some(p) = progress.next().await {
        emit(&app, PULL_PROGRESS, &p?);
    }
    Ok(())
}

/// The layers an image was built from, newest first (`docker history`).
#[tauri::command]
pub async fn image_history(state: State<'_, AppState>, id: String) -> Result<Vec<ImageLayer>> {
    Ok(state.docker()?.image_history(&id).await?)
}

/// Removes dangling images, or with `all` every image no container uses (`docker image prune [-a]`).
#[tauri::command]
pub async fn images_prune(state: State<'_, AppState>, all: bool) -> Result<PruneReport> {
    Ok(state.docker()?.prune_images(all).await?)
}

#[tauri::command]
pub async fn image_exposed_ports(state: State<'_, AppState>, image: String) -> Result<Vec<String>> {
    Ok(state.docker()?.exposed_ports(&image).await?)
}

#[tauri::command]
pub async fn volumes_list(state: State<'_, AppState>) -> Result<Vec<Volume>> {
    Ok(state.docker()?.volumes().await?)
}

/// Every volume's size (one `system df` call; Docker walks each volume's files).
#[tauri::command]
pub async fn volumes_usage(state: State<'_, AppState>) -> Result<Vec<VolumeUsage>> {
    Ok(state.docker()?.volume_usage().await?)
}

#[tauri::command]
pub async fn volume_create(state: State<'_, AppState>, name: String) -> Result<Volume> {
    Ok(state.docker()?.create_volume(name.trim()).await?)
}

#[tauri::command]
pub async fn volume_remove(state: State<'_, AppState>, name: String) -> Result<()> {
    Ok(state.docker()?.remove_volume(&name).await?)
}

/// Opens a forwarded port in the user's browser. Only loopback http URLs: the window cannot be used
/// to launch anything else.
#[tauri::command]
pub async fn open_url(url: String) -> Result<()> {
    check_loopback_url(&url)?;
    let mut cmd = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut c = std::process::Command::new("rundll32");
        c.arg("url.dll,FileProtocolHandler");
        c
    } else {
        std::process::Command::new("xdg-open")
    };
    let mut child = cmd
        .arg(&url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| AppError::Invalid(format!("cannot open a browser ({e}); open {url} yourself")))?;
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

fn check_loopback_url(url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| AppError::Invalid(format!("not an http URL: {url}")))?;
    let host_port = rest.split('/').next().unwrap_or_default();
    let (host, port) = host_port.rsplit_once(':').unwrap_or((host_port, "80"));
    let loopback = matches!(host, "127.0.0.1" | "localhost");
    if !loopback || port.parse::<u16>().is_err() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AppError::Invalid(format!(
            "only forwarded ports on 127.0.0.1 can be opened (got {url})"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_http_urls_open() {
        assert!(check_loopback_url("http://127.0.0.1:8080").is_ok());
        assert!(check_loopback_url("http://localhost:3000/path").is_ok());
        assert!(check_loopback_url("https://127.0.0.1:8080").is_err());
        assert!(check_loopback_url("http://example.com:80").is_err());
        assert!(check_loopback_url("http://127.0.0.1:notaport").is_err());
        assert!(check_loopback_url("file:///etc/passwd").is_err());
    }
}
