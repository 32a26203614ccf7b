//! The control API on the machine's Unix socket (routes in `berth_api`'s crate docs).

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_api::{ApiError, Event, MachineConfig, MachinePaths, MachineState, Status};
use tokio::sync::{mpsc, oneshot};

use crate::shared::Shared;
use crate::supervisor::{self, Command};
use crate::usage::{self, UsageProbe};

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// Machine status.
    pub shared: Shared,
    /// Requests to the supervisor.
    pub commands: mpsc::Sender<Command>,
    /// The machine's paths.
    pub paths: MachinePaths,
    /// The agent connection `/v1/usage` asks over.
    pub usage: UsageProbe,
}

/// The router.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/status", get(status))
        .route("/v1/stop", post(stop))
        .route("/v1/restart", post(restart))
        .route("/v1/settings", get(get_settings).put(put_settings))
        .route("/v1/events", get(events))
        .route("/v1/usage", get(usage))
        .with_state(state)
}

fn error(code: StatusCode, msg: impl Into<String>) -> Response {
    (code, Json(ApiError { error: msg.into() })).into_response()
}

async fn status(State(st): State<ApiState>) -> Json<Status> {
    Json(st.shared.status())
}

/// The guest's CPU, memory and disk use and the hypervisor's resident memory; 409 unless running.
async fn usage(State(st): State<ApiState>) -> Response {
    let status = st.shared.status();
    let pid = st.shared.hypervisor_pid();
    let Some(pid) = pid.filter(|_| status.state == MachineState::Running) else {
        let state = serde_json::to_value(status.state).unwrap_or_default();
        return error(
            StatusCode::CONFLICT,
            format!(
                "the machine is {}, not running: usage is measured while it runs",
                state.as_str().unwrap_or("not running")
            ),
        );
    };
    match st.usage.guest(&st.paths.vsock_socket()).await {
        Ok(g) => Json(usage::to_api(&g, usage::host_rss(pid))).into_response(),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

async fn stop(State(st): State<ApiState>) -> Response {
    let (tx, rx) = oneshot::channel();
    if st.commands.send(Command::Stop(tx)).await.is_err() {
        return Json(st.shared.status()).into_response();
    }
    let _ = rx.await;
    Json(st.shared.status()).into_response()
}

async fn restart(State(st): State<ApiState>) -> Response {
    if st.commands.send(Command::Restart).await.is_err() {
        return error(StatusCode::CONFLICT, "the machine is shutting down");
    }
    Json(st.shared.status()).into_response()
}

async fn get_settings(State(st): State<ApiState>) -> Json<MachineConfig> {
    Json(supervisor::load_config(&st.paths))
}

async fn put_settings(State(st): State<ApiState>, body: Bytes) -> Response {
    let cfg: MachineConfig = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("settings are not valid JSON: {e}"),
            )
        }
    };
    match supervisor::save_config(&st.paths, &cfg) {
        Ok(()) => {
            st.shared.log("settings saved; they apply at the next restart");
            Json(cfg).into_response()
        }
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn events(State(st): State<ApiState>) -> Response {
    let first = Event::Status {
        status: Box::new(st.shared.status()),
    };
    let rx = st.shared.subscribe();
    let stream = futures_util::stream::unfold((Some(first), rx), |(first, mut rx)| async move {
        let ev = match first {
            Some(ev) => ev,
            None => loop {
                match rx.recv().await {
                    Ok(ev) => break ev,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            },
        };
        let mut line = serde_json::to_vec(&ev).unwrap_or_default();
        line.push(b'\n');
        Some((Ok::<_, Infallible>(Bytes::from(line)), (None, rx)))
    });
    Response::builder()
        .header("content-type", "application/x-ndjson")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "cannot stream events"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(dir: &std::path::Path) -> ApiState {
        let paths = MachinePaths {
            name: "t".into(),
            data_dir: dir.join("data"),
            run_dir: dir.join("run"),
        };
        let status = Status::stopped("t", paths.docker_host(), &MachineConfig::default());
        ApiState {
            shared: Shared::new(status),
            commands: mpsc::channel(1).0,
            paths,
            usage: UsageProbe::default(),
        }
    }

    async fn body(r: Response) -> String {
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn usage_needs_a_running_machine() {
        let dir = tempfile::tempdir().unwrap();
        let st = state(dir.path());
        st.shared.update(|s| s.state = MachineState::Starting);
        st.shared.set_hypervisor_pid(Some(std::process::id()));
        let r = usage(State(st.clone())).await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert!(body(r).await.contains("the machine is starting, not running"));

        // Running, but the guest cannot be reached: the reason, not a hang.
        st.shared.update(|s| s.state = MachineState::Running);
        let r = usage(State(st.clone())).await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(body(r).await.contains("cannot ask the guest"));

        st.shared.set_hypervisor_pid(None);
        assert_eq!(usage(State(st)).await.status(), StatusCode::CONFLICT);
    }
}
