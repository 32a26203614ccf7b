//! Resource-use streams the window follows (the Stats tab): each has an id, runs as a task, sends each
//! reading as a `container-stats` event, and ends when the container stops or the window asks. Also a
//! one-shot reading of every running container for the Containers table.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use berth_engine::{DockerApi, StatsSample};
use futures_util::StreamExt;
use serde::Serialize;
use tauri::{AppHandle, State};

use crate::commands::AppState;
use crate::error::Result;
use crate::events::{emit, CONTAINER_STATS};

/// One reading of a stream, as the UI's `StatsEvent`.
#[derive(Debug, Clone, Serialize)]
struct StatsEvent {
    stream_id: u64,
    sample: Option<StatsSample>,
    ended: bool,
    error: Option<String>,
}

/// A container's reading in [`containers_stats`].
#[derive(Debug, Clone, Serialize)]
pub struct ContainerStats {
    id: String,
    sample: StatsSample,
}

/// The streams in flight.
#[derive(Default)]
pub struct StatsStreams {
    next: AtomicU64,
    tasks: Mutex<HashMap<u64, tauri::async_runtime::JoinHandle<()>>>,
}

impl StatsStreams {
    /// Starts following `id`'s resource use; returns the stream id the events carry.
    pub fn follow(&self, app: AppHandle, api: DockerApi, id: String) -> u64 {
        let stream_id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let task = tauri::async_runtime::spawn(async move {
            let mut samples = Box::pin(api.stats(&id));
            let mut error = None;
            while let Some(s) = samples.next().await {
                match s {
                    Ok(sample) => emit(
                        &app,
                        CONTAINER_STATS,
                        &StatsEvent {
                            stream_id,
                            sample: Some(sample),
                            ended: false,
                            error: None,
                        },
                    ),
                    Err(e) => {
                        error = Some(e.to_string());
                        break;
                    }
                }
            }
            emit(
                &app,
                CONTAINER_STATS,
                &StatsEvent {
                    stream_id,
                    sample: None,
                    ended: true,
                    error,
                },
            );
        });
        self.lock().insert(stream_id, task);
        stream_id
    }

    /// Stops a stream (nothing happens for an unknown or finished one).
    pub fn stop(&self, stream_id: u64) {
        if let Some(task) = self.lock().remove(&stream_id) {
            task.abort();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, tauri::async_runtime::JoinHandle<()>>> {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Follows a container's resource use as `container-stats` events; returns the stream id.
#[tauri::command]
pub async fn stats_follow(
    app: AppHandle,
    state: State<'_, AppState>,
    streams: State<'_, StatsStreams>,
    id: String,
) -> Result<u64> {
    let api = state.engine.docker_api()?;
    Ok(streams.follow(app, api, id))
}

/// Stops a stream (the Stats tab closed).
#[tauri::command]
pub async fn stats_stop(streams: State<'_, StatsStreams>, stream_id: u64) -> Result<()> {
    streams.stop(stream_id);
    Ok(())
}

/// One reading of each running container, taken together (about a second); containers that stop
/// meanwhile are left out.
#[tauri::command]
pub async fn containers_stats(state: State<'_, AppState>) -> Result<Vec<ContainerStats>> {
    let api = state.engine.docker_api()?;
    let running: Vec<String> = api
        .containers()
        .await?
        .into_iter()
        .filter(|c| c.state == "running")
        .map(|c| c.id)
        .collect();
    let readings = futures_util::future::join_all(running.into_iter().map(|id| {
        let api = api.clone();
        async move {
            api.stats_once(&id)
                .await
                .ok()
                .map(|sample| ContainerStats { id, sample })
        }
    }))
    .await;
    Ok(readings.into_iter().flatten().collect())
}
