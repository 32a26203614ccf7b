//! Terminal sessions the window opens in containers. Each has an id; its output runs as a task that sends
//! `terminal-output` events (bytes as base64, so UTF-8 split across chunks reaches xterm intact) and one
//! `terminal-ended` event with the exit code. Closing a session hangs up its shell.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use berth_engine::{exit_message, DockerApi, TerminalControl, TerminalSize};
use futures_util::StreamExt;
use serde::Serialize;
use tauri::{AppHandle, State};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::commands::AppState;
use crate::error::{AppError, Result};
use crate::events::{emit, TERMINAL_ENDED, TERMINAL_OUTPUT};

/// Output of a session, as the UI's `TerminalOutput`.
#[derive(Debug, Clone, Serialize)]
struct OutputEvent {
    session_id: u64,
    /// Base64 of the bytes.
    data: String,
}

/// The end of a session, as the UI's `TerminalEnded`.
#[derive(Debug, Clone, Serialize)]
struct EndedEvent {
    session_id: u64,
    exit_code: Option<i64>,
    /// What to tell the user.
    message: String,
    /// Set when the connection failed rather than the shell ending.
    error: Option<String>,
}

type Input = Arc<tokio::sync::Mutex<Pin<Box<dyn AsyncWrite + Send>>>>;

struct Session {
    control: TerminalControl,
    input: Input,
    task: tauri::async_runtime::JoinHandle<()>,
}

/// The sessions in flight.
#[derive(Default, Clone)]
pub struct TerminalSessions {
    next: Arc<AtomicU64>,
    sessions: Arc<Mutex<HashMap<u64, Session>>>,
}

impl TerminalSessions {
    /// Opens a shell in `container`; returns the session id its events carry.
    pub async fn open(
        &self,
        app: AppHandle,
        api: DockerApi,
        container: &str,
        size: TerminalSize,
    ) -> Result<u64> {
        let terminal = api.open_terminal(container, size).await?;
        let session_id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let control = terminal.control.clone();
        let mut output = terminal.output.ready_chunks(64);
        let sessions = self.clone();
        // Held while spawning, so the task cannot finish and forget the session before it is recorded.
        let mut map = self.lock();
        let task = tauri::async_runtime::spawn(async move {
            let mut error = None;
            while let Some(batch) = output.next().await {
                let mut data = Vec::new();
                for item in batch {
                    match item {
                        Ok(bytes) => data.extend_from_slice(&bytes),
                        Err(e) => error = Some(e.to_string()),
                    }
                }
                if !data.is_empty() {
                    let data = base64::engine::general_purpose::STANDARD.encode(&data);
                    emit(&app, TERMINAL_OUTPUT, &OutputEvent { session_id, data });
                }
                if error.is_some() {
                    break;
                }
            }
            let exit_code = if error.is_none() {
                control.exit_code().await.ok().flatten()
            } else {
                None
            };
            let message = match &error {
                Some(e) => format!("The connection to the shell was lost ({e}); open a new terminal."),
                None => exit_message(exit_code),
            };
            emit(
                &app,
                TERMINAL_ENDED,
                &EndedEvent {
                    session_id,
                    exit_code,
                    message,
                    error,
                },
            );
            sessions.lock().remove(&session_id);
        });
        let input = Arc::new(tokio::sync::Mutex::new(terminal.input));
        map.insert(
            session_id,
            Session {
                control: terminal.control,
                input,
                task,
            },
        );
        Ok(session_id)
    }

    /// Sends keystrokes to a session's TTY.
    pub async fn input(&self, session_id: u64, data: &[u8]) -> Result<()> {
        let input = self.get(session_id, |s| s.input.clone())?;
        let mut input = input.lock().await;
        let written = async {
            input.write_all(data).await?;
            input.flush().await
        };
        written
            .await
            .map_err(|e| AppError::Invalid(format!("the terminal has ended ({e}); open a new one")))
    }

    /// Resizes a session's TTY.
    pub async fn resize(&self, session_id: u64, size: TerminalSize) -> Result<()> {
        let control = self.get(session_id, |s| s.control.clone())?;
        Ok(control.resize(size).await?)
    }

    /// Closes a session: stops its output and hangs up its shell. Unknown or ended sessions are fine.
    pub fn close(&self, session_id: u64) {
        let Some(session) = self.lock().remove(&session_id) else {
            return;
        };
        session.task.abort();
        tauri::async_runtime::spawn(async move {
            if let Err(e) = session.control.hang_up().await {
                tracing::debug!(session_id, error = %e, "cannot hang up a terminal (its container may be gone)");
            }
            let _ = session.input.lock().await.shutdown().await;
        });
    }

    fn get<T>(&self, session_id: u64, f: impl FnOnce(&Session) -> T) -> Result<T> {
        self.lock()
            .get(&session_id)
            .map(f)
            .ok_or_else(|| AppError::Invalid("this terminal has ended; open a new one".into()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Session>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Opens a shell in a running container on a TTY of `cols`×`rows`; output arrives as events.
#[tauri::command]
pub async fn terminal_open(
    app: AppHandle,
    state: State<'_, AppState>,
    terminals: State<'_, TerminalSessions>,
    id: String,
    cols: u16,
    rows: u16,
) -> Result<u64> {
    let api = state.engine.docker_api()?;
    terminals.open(app, api, &id, TerminalSize { cols, rows }).await
}

/// Keystrokes for a session (Ctrl+C arrives as "\u{3}" and the TTY turns it into SIGINT).
#[tauri::command]
pub async fn terminal_input(
    terminals: State<'_, TerminalSessions>,
    session_id: u64,
    data: String,
) -> Result<()> {
    terminals.input(session_id, data.as_bytes()).await
}

/// The terminal pane changed size.
#[tauri::command]
pub async fn terminal_resize(
    terminals: State<'_, TerminalSessions>,
    session_id: u64,
    cols: u16,
    rows: u16,
) -> Result<()> {
    terminals.resize(session_id, TerminalSize { cols, rows }).await
}

/// The view closed: end the session.
#[tauri::command]
pub async fn terminal_close(terminals: State<'_, TerminalSessions>, session_id: u64) -> Result<()> {
    terminals.close(session_id);
    Ok(())
}
