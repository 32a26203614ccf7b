//! The Settings screen's commands: the machine's settings with their valid ranges, and whether the docker
//! CLI's current context is Berth's. Names are shared with ui/src/lib/backend/tauri.ts.

use berth_api::MachineConfig;
use berth_engine::{DockerCli, DockerContextState, SettingsLimits};
use serde::Serialize;
use tauri::State;

use crate::commands::AppState;
use crate::error::{AppError, Result};

/// The settings and what each may be.
#[derive(Debug, Serialize)]
pub struct SettingsView {
    config: MachineConfig,
    limits: SettingsLimits,
}

#[tauri::command]
pub async fn settings_get(state: State<'_, AppState>) -> Result<SettingsView> {
    let config = state.engine.settings().await?;
    Ok(SettingsView {
        config,
        limits: state.engine.settings_limits(),
    })
}

/// Validates and saves settings (the engine and berthd are the authority); they apply at the next
/// start or restart, which the window asks for separately so its progress shows like any restart.
#[tauri::command]
pub async fn settings_set(state: State<'_, AppState>, config: MachineConfig) -> Result<MachineConfig> {
    Ok(state.engine.set_settings(&config).await?)
}

#[tauri::command]
pub async fn docker_context_get(state: State<'_, AppState>) -> Result<DockerContextState> {
    let engine = state.engine.clone();
    blocking(move || Ok(engine.docker_context_state(&DockerCli::default())?)).await
}

/// Makes `berth` the docker CLI's current context (`use_berth`), or goes back to the one before.
#[tauri::command]
pub async fn docker_context_set(state: State<'_, AppState>, use_berth: bool) -> Result<DockerContextState> {
    let engine = state.engine.clone();
    blocking(move || Ok(engine.use_berth_docker_context(&DockerCli::default(), use_berth)?)).await
}

/// Runs work that blocks (child processes, file reads) off the async workers, so the window never waits.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| AppError::Invalid(format!("the operation stopped unexpectedly ({e}); try again")))?
}
