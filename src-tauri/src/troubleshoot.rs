//! The Troubleshoot screen's and first-run card's commands: doctor findings, the machine's log tails,
//! resetting the machine, and the quick checks (virtualization, disk) with the image a first run suggests. Names are shared with
//! ui/src/lib/backend/tauri.ts.

use std::path::PathBuf;

use berth_api::Status;
use berth_engine::{Finding, LogTail, MachineLog};
use serde::Serialize;
use tauri::State;

use crate::commands::AppState;
use crate::error::Result;
use crate::settings::blocking;

/// The image "Run your first container" suggests unless `BERTH_FIRST_IMAGE` names another (tests point
/// it at a local registry; nothing else in the app names a registry).
pub const DEFAULT_FIRST_IMAGE: &str = "docker.io/library/nginx:alpine";

#[tauri::command]
pub async fn doctor_run(state: State<'_, AppState>) -> Result<Vec<Finding>> {
    Ok(state.engine.doctor().await?)
}

/// The last `lines` lines of one of the machine's logs.
#[tauri::command]
pub async fn machine_log_tail(state: State<'_, AppState>, kind: MachineLog, lines: usize) -> Result<LogTail> {
    let engine = state.engine.clone();
    blocking(move || Ok(engine.log_tail(kind, lines.clamp(1, 20_000))?)).await
}

/// Stops the machine and deletes its data disk and logs, keeping its settings.
#[tauri::command]
pub async fn machine_reset(state: State<'_, AppState>) -> Result<Status> {
    // No start may run while the disk goes away.
    let _one = state.starting.lock().await;
    Ok(state.engine.reset().await?)
}

/// The quick checks: what the first-run card and the reset dialog show.
#[derive(Debug, Serialize)]
pub struct MachineChecks {
    /// Virtualization and disk findings.
    checks: Vec<Finding>,
    /// The machine's folder (settings, disks, logs).
    data_dir: PathBuf,
    /// Bytes the data disk (images, containers, volumes) takes now.
    data_disk_used: u64,
    /// Image reference "Run your first container" suggests.
    suggested_image: String,
}

#[tauri::command]
pub async fn machine_checks(state: State<'_, AppState>) -> Result<MachineChecks> {
    let suggested_image = std::env::var("BERTH_FIRST_IMAGE")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_FIRST_IMAGE.to_string());
    Ok(MachineChecks {
        checks: state.engine.first_run_checks().await?,
        data_dir: state.engine.paths().data_dir.clone(),
        data_disk_used: state.engine.data_disk_used(),
        suggested_image,
    })
}
