//! Long-running forwarders from the engine to the window: the machine's `/v1/events` stream (or a
//! `stopped` status while no daemon runs) as `machine-event`, and Docker's event stream as `docker-change`.

use std::time::Duration;

use berth_api::{Event, Status};
use berth_engine::Engine;
use futures_util::StreamExt;
use tauri::{AppHandle, Emitter};

/// Event names, shared with ui/src/lib/backend/tauri.ts.
pub const MACHINE_EVENT: &str = "machine-event";
/// Docker changed something.
pub const DOCKER_CHANGE: &str = "docker-change";
/// A line of pull progress.
pub const PULL_PROGRESS: &str = "pull-progress";
/// A line of push progress (see `push`).
pub const PUSH_PROGRESS: &str = "push-progress";
/// Lines of a container's output.
pub const CONTAINER_LOG: &str = "container-log";
/// A reading of the machine's resource use, or null once it stopped (see `usage`).
pub const MACHINE_USAGE: &str = "machine-usage";
/// A reading of a container's resource use (see `stats`).
pub const CONTAINER_STATS: &str = "container-stats";
/// Bytes a terminal printed (see `terminal`).
pub const TERMINAL_OUTPUT: &str = "terminal-output";
/// A terminal's shell ended.
pub const TERMINAL_ENDED: &str = "terminal-ended";
/// A step of a one-click run (see `quickrun`).
pub const QUICK_RUN: &str = "quick-run";

/// Starts both forwarders on Tauri's async runtime; they run for the life of the app.
pub fn spawn_forwarders(app: AppHandle, engine: Engine) {
    tauri::async_runtime::spawn(forward_machine(app.clone(), engine.clone()));
    tauri::async_runtime::spawn(forward_docker(app, engine));
}

async fn forward_machine(app: AppHandle, engine: Engine) {
    let mut last: Option<Status> = None;
    loop {
        if let Ok(events) = engine.events().await {
            let mut events = Box::pin(events);
            while let Some(Ok(ev)) = events.next().await {
                if let Event::Status { status } = &ev {
                    crate::tray::show_status(&app, status);
                    last = Some((**status).clone());
                }
                emit(&app, MACHINE_EVENT, &ev);
            }
        }
        // No daemon (stopped) or it just went away: say so once, then poll for it to come back.
        if let Ok(status) = engine.status().await {
            let changed = last
                .as_ref()
                .map(|l| (l.state, &l.error) != (status.state, &status.error))
                .unwrap_or(true);
            if changed {
                crate::tray::show_status(&app, &status);
                emit(
                    &app,
                    MACHINE_EVENT,
                    &Event::Status {
                        status: Box::new(status.clone()),
                    },
                );
                last = Some(status);
            }
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
}

async fn forward_docker(app: AppHandle, engine: Engine) {
    loop {
        if let Ok(api) = engine.docker_api() {
            let mut changes = Box::pin(api.changes());
            while let Some(Ok(change)) = changes.next().await {
                emit(&app, DOCKER_CHANGE, &change);
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Emits to every window, logging (not failing) when the window is gone.
pub fn emit<T: serde::Serialize + Clone>(app: &AppHandle, event: &str, payload: &T) {
    if let Err(e) = app.emit(event, payload.clone()) {
        tracing::warn!(event, error = %e, "cannot emit to the window");
    }
}
