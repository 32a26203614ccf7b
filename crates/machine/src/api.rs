//! The control API on the machine's Unix socket (routes in `berth_api`'s crate docs).

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use berth_api::{ApiError, Event, MachineConfig, MachinePaths, Status};
use tokio::sync::{mpsc, oneshot};

use crate::shared::Shared;
use crate::supervisor::{self, Command};

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// Machine status.
    pub shared: Shared,
    /// Requests to the supervisor.
    pub commands: mpsc::Sender<Command>,
    /// The machine's paths.
    pub paths: MachinePaths,
}

/// The router.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/status", get(status))
        .route("/v1/stop", post(stop))
        .route("/v1/restart", post(restart))
        .route("/v1/settings", get(get_settings).put(put_settings))
        .route("/v1/events", get(events))
        .with_state(state)
}

fn error(code: StatusCode, msg: impl Into<String>) -> Response {
    (code, Json(ApiError { error: msg.into() })).into_response()
}

async fn status(State(st): State<ApiState>) -> Json<Status> {
    Json(st.shared.status())
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
