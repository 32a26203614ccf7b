//! One-click runs from Discover: the engine's `run_from_registry` (pull, publish every EXPOSEd port on a
//! free port here, start), with each step sent to the window as a `quick-run` event carrying the run id
//! the window chose. An image for another architecture is refused with kind `needs_emulation` until the
//! user confirms (`allow_emulated`). Also: which containers run emulated, for the Containers list's badge.

use std::collections::HashSet;

use berth_engine::{Container, QuickRun, QuickRunEvent, QuickRunOptions, EMULATED_LABEL};
use serde::Serialize;
use tauri::{AppHandle, State};

use crate::commands::AppState;
use crate::error::{AppError, Result};
use crate::events::{emit, QUICK_RUN};

/// One step of run `run_id`, as the UI's `QuickRunEvent`.
#[derive(Debug, Clone, Serialize)]
struct QuickRunStep<'a> {
    run_id: u64,
    event: &'a QuickRunEvent,
}

#[tauri::command]
pub async fn quick_run(
    app: AppHandle,
    state: State<'_, AppState>,
    run_id: u64,
    reference: String,
    opts: QuickRunOptions,
) -> Result<QuickRun> {
    let reference = reference.trim().to_string();
    if reference.is_empty() {
        return Err(AppError::Invalid("choose an image to run".into()));
    }
    let engine = state.engine.clone();
    Ok(engine
        .run_from_registry(&reference, &opts, |event| {
            emit(&app, QUICK_RUN, &QuickRunStep { run_id, event })
        })
        .await?)
}

/// A container as the list shows it: the engine's, and whether it runs emulated.
#[derive(Debug, Clone, Serialize)]
pub struct ContainerRow {
    #[serde(flatten)]
    container: Container,
    emulated: bool,
}

/// Marks the containers that carry `dev.berth.emulated=true` (one filtered list call). Without an answer
/// the badge is left off: the list itself matters more.
pub async fn with_emulated(docker: Option<bollard::Docker>, list: Vec<Container>) -> Vec<ContainerRow> {
    let emulated: HashSet<String> = match docker {
        Some(d) => {
            let opts = bollard::query_parameters::ListContainersOptions {
                all: true,
                filters: Some(
                    [("label".to_string(), vec![format!("{EMULATED_LABEL}=true")])]
                        .into_iter()
                        .collect(),
                ),
                ..Default::default()
            };
            match d.list_containers(Some(opts)).await {
                Ok(found) => found.into_iter().filter_map(|c| c.id).collect(),
                Err(e) => {
                    tracing::debug!(error = %e, "cannot tell which containers run emulated");
                    HashSet::new()
                }
            }
        }
        None => HashSet::new(),
    };
    mark(list, &emulated)
}

fn mark(list: Vec<Container>, emulated: &HashSet<String>) -> Vec<ContainerRow> {
    list.into_iter()
        .map(|c| ContainerRow {
            emulated: emulated.contains(&c.id),
            container: c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_carry_the_emulated_flag_beside_the_containers_fields() {
        let c = Container {
            id: "abc".into(),
            name: "web".into(),
            image: "app:1".into(),
            state: "running".into(),
            status: "Up".into(),
            created: 1,
            ports: vec![],
            compose_project: None,
            compose_service: None,
        };
        let rows = mark(
            vec![
                c.clone(),
                Container {
                    id: "def".into(),
                    ..c
                },
            ],
            &HashSet::from(["abc".to_string()]),
        );
        let v = serde_json::to_value(&rows).unwrap();
        assert_eq!(v[0]["name"], "web");
        assert_eq!(v[0]["emulated"], true);
        assert_eq!(v[1]["emulated"], false);
    }
}
