//! berth-vmm's control socket (`--api-sock <path>`): one JSON request line per connection, answered with
//! one JSON line, then the connection closes.
//!
//! | request | answer |
//! |---|---|
//! | `{"op":"status"}` | `{"ok":true,"state":"running","vcpus":2,"mem_mib":2048,"uptime_ms":1234,"balloon":{…}}` |
//! | `{"op":"pause"}` | `{"ok":true,"state":"paused"}` once every vCPU is out of the guest |
//! | `{"op":"resume"}` | `{"ok":true,"state":"running"}` |
//! | `{"op":"balloon","target_mib":N}` | `{"ok":true,"balloon":{…}}`: ask the guest to give up N MiB |
//! | `{"op":"shutdown"}` | `{"ok":true,"state":"stopping"}`, then the vCPUs stop and the process exits 0 |
//!
//! Errors are `{"ok":false,"error":"<what to do>"}`. `balloon` (without `--balloon`: an error) is
//! `{"target_mib":N,"actual_mib":N,"stats":{…}|null,"counters":{…}}`; asking for status also asks the guest
//! for fresh statistics, which the next status shows. `shutdown` does not ask the guest to power off: the
//! guest's unwritten data is lost, so ask the guest agent to shut down first and keep this for when it
//! does not answer.

mod server;

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use server::{ApiServer, MAX_REQUEST_BYTES};

use crate::devices::virtio::balloon::{BalloonHandle, BalloonStatus};
use crate::vcpu_control::{RunState, VcpuControl};

/// How long `pause` waits for every vCPU to leave the guest.
pub const PAUSE_TIMEOUT: Duration = Duration::from_secs(5);

/// One request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// State, size, uptime and balloon.
    Status,
    /// Stop the vCPUs until `resume`.
    Pause,
    /// Run paused vCPUs again.
    Resume,
    /// Set the balloon target.
    Balloon {
        /// MiB the guest should give up (0 deflates).
        target_mib: u64,
    },
    /// Stop the VM; the process exits 0.
    Shutdown,
}

/// One answer; fields a request does not produce are left out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// Whether the request was carried out.
    pub ok: bool,
    /// Why not, and what to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The vCPUs' state after the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<RunState>,
    /// vCPU count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcpus: Option<u8>,
    /// Guest memory in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_mib: Option<u64>,
    /// Milliseconds since the VM started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_ms: Option<u64>,
    /// The balloon, when the VM has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balloon: Option<BalloonStatus>,
}

impl Response {
    /// A refusal.
    pub fn error(message: impl Into<String>) -> Self {
        Response {
            ok: false,
            error: Some(message.into()),
            ..Response::default()
        }
    }

    fn state(state: RunState) -> Self {
        Response {
            ok: true,
            state: Some(state),
            ..Response::default()
        }
    }
}

/// Parses one request line (surrounding whitespace allowed).
pub fn parse_request(line: &[u8]) -> Result<Request, String> {
    serde_json::from_slice(line.trim_ascii()).map_err(|e| {
        format!(
            "bad request ({e}); send one JSON line such as {{\"op\":\"status\"}} (ops: status, pause, \
             resume, balloon with target_mib, shutdown)"
        )
    })
}

/// What the server does after it has sent the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum After {
    /// Nothing.
    Nothing,
    /// Stop the VM.
    Stop,
}

/// The VM as the control API sees it.
pub struct Api {
    control: std::sync::Arc<VcpuControl>,
    balloon: Option<BalloonHandle>,
    vcpus: u8,
    mem_mib: u64,
    started: Instant,
}

impl Api {
    /// Controls `control`'s vCPUs (`vcpus` of them, `mem_mib` of memory) and the balloon, if any.
    pub fn new(
        control: std::sync::Arc<VcpuControl>,
        balloon: Option<BalloonHandle>,
        vcpus: u8,
        mem_mib: u64,
    ) -> Self {
        Api {
            control,
            balloon,
            vcpus,
            mem_mib,
            started: Instant::now(),
        }
    }

    /// Carries out `request`; the answer, and what to do once it is sent.
    pub fn handle(&self, request: &Request) -> (Response, After) {
        let response = match request {
            Request::Status => Response {
                ok: true,
                state: Some(self.control.state()),
                vcpus: Some(self.vcpus),
                mem_mib: Some(self.mem_mib),
                uptime_ms: Some(u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)),
                balloon: self.balloon.as_ref().map(BalloonHandle::status),
                ..Response::default()
            },
            Request::Pause => match self.control.pause(PAUSE_TIMEOUT) {
                Ok(()) => Response::state(self.control.state()),
                Err(e) => Response::error(e.to_string()),
            },
            Request::Resume => {
                self.control.resume();
                match self.control.state() {
                    RunState::Stopping => Response::error("the VM is stopping"),
                    state => Response::state(state),
                }
            }
            Request::Balloon { target_mib } => match &self.balloon {
                None => Response::error("this VM has no balloon; start berth-vmm with --balloon"),
                Some(b) => match b.set_target_mib(*target_mib) {
                    Ok(()) => Response {
                        ok: true,
                        balloon: Some(b.status()),
                        ..Response::default()
                    },
                    Err(e) => Response::error(e.to_string()),
                },
            },
            Request::Shutdown => {
                if self.control.state() == RunState::Stopping {
                    return (Response::error("the VM is already stopping"), After::Nothing);
                }
                return (Response::state(RunState::Stopping), After::Stop);
            }
        };
        (response, After::Nothing)
    }

    /// Stops the VM: every vCPU leaves its run loop, which ends the process with exit code 0.
    pub fn stop(&self) {
        self.control.stop(PAUSE_TIMEOUT);
    }
}

#[cfg(test)]
mod tests;
