//! Container log streams the window follows: each has an id, runs as a task, sends its lines in
//! batches as `container-log` events, and ends when the container stops or the window asks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use berth_engine::{DockerApi, LogLine};
use futures_util::StreamExt;
use serde::Serialize;
use tauri::AppHandle;

use crate::events::{emit, CONTAINER_LOG};

/// One batch of a stream, as the UI's `LogEvent`.
#[derive(Debug, Clone, Serialize)]
pub struct LogEvent {
    stream_id: u64,
    lines: Vec<LogLine>,
    ended: bool,
    error: Option<String>,
}

/// The streams in flight.
#[derive(Default)]
pub struct LogStreams {
    next: AtomicU64,
    tasks: Mutex<HashMap<u64, tauri::async_runtime::JoinHandle<()>>>,
}

impl LogStreams {
    /// Starts following `id`'s output; returns the stream id the events carry.
    pub fn follow(&self, app: AppHandle, api: DockerApi, id: String, tail: usize) -> u64 {
        let stream_id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let task = tauri::async_runtime::spawn(async move {
            // Batch what is already there (the tail, bursts) into one event per read.
            let mut lines = Box::pin(api.logs(&id, tail, true).ready_chunks(512));
            let mut error = None;
            while let Some(batch) = lines.next().await {
                let mut ok = Vec::with_capacity(batch.len());
                for item in batch {
                    match item {
                        Ok(l) => ok.push(l),
                        Err(e) => error = Some(e.to_string()),
                    }
                }
                if !ok.is_empty() {
                    emit(
                        &app,
                        CONTAINER_LOG,
                        &LogEvent {
                            stream_id,
                            lines: ok,
                            ended: false,
                            error: None,
                        },
                    );
                }
                if error.is_some() {
                    break;
                }
            }
            emit(
                &app,
                CONTAINER_LOG,
                &LogEvent {
                    stream_id,
                    lines: vec![],
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
