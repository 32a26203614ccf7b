//! Pushing an image from the machine to a registry: the image is given the target's name (`docker tag`),
//! then pushed with that registry's stored credentials (the engine reads the OS keyring). Each progress
//! line reaches the window as a `push-progress` event, shaped as a pull's with `reference` = the target.
//! Refusals keep the engine's words: a registry that wants a login answers "push denied: log in to
//! REGISTRY …" (kind `unauthorized`), one the machine cannot reach says how to list it as insecure.

use berth_engine::PushReport;
use tauri::{AppHandle, State};

use crate::commands::AppState;
use crate::error::{AppError, Result};
use crate::events::{emit, PUSH_PROGRESS};

/// Tags `source` (an image id or name) as `target` (`REGISTRY/REPOSITORY[:TAG]`) and pushes it.
#[tauri::command]
pub async fn image_push(
    app: AppHandle,
    state: State<'_, AppState>,
    source: String,
    target: String,
) -> Result<PushReport> {
    let (source, target) = check(&source, &target)?;
    let docker = state.engine.docker_api()?;
    docker.tag(&source, &target).await?;
    Ok(docker
        .push(&target, |line| emit(&app, PUSH_PROGRESS, line))
        .await?)
}

/// Both names trimmed, or what is missing.
fn check(source: &str, target: &str) -> Result<(String, String)> {
    let (source, target) = (source.trim(), target.trim());
    if source.is_empty() {
        return Err(AppError::Invalid("choose an image to push".into()));
    }
    if target.is_empty() || target.contains(char::is_whitespace) {
        return Err(AppError::Invalid(
            "enter where to push it, such as registry:5000/name:tag".into(),
        ));
    }
    Ok((source.to_string(), target.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_push_needs_an_image_and_a_target() {
        assert_eq!(
            check(" sha256:abc ", " 127.0.0.1:5000/app:1 ").unwrap(),
            ("sha256:abc".to_string(), "127.0.0.1:5000/app:1".to_string())
        );
        assert_eq!(
            check("", "127.0.0.1:5000/app:1").unwrap_err().to_string(),
            "choose an image to push"
        );
        let err = check("app:1", "127.0.0.1:5000/my app").unwrap_err();
        assert_eq!(err.kind(), "invalid");
        assert!(err.to_string().contains("registry:5000/name:tag"), "{err}");
    }
}
