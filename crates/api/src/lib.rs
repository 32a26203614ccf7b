//! The contract between berthd and its clients (the CLI, the desktop app): where a machine's files and
//! sockets live, its validated settings, and the JSON bodies of the control API.
//!
//! The control API is HTTP/1.1 + JSON on the Unix socket [`MachinePaths::control_socket`]:
//!
//! | route               | body in            | body out                               |
//! |---------------------|--------------------|----------------------------------------|
//! | `GET  /v1/status`   |                    | [`Status`]                             |
//! | `POST /v1/stop`     |                    | [`Status`] once the guest is off       |
//! | `POST /v1/restart`  |                    | [`Status`] (starting)                  |
//! | `GET  /v1/settings` |                    | [`MachineConfig`]                      |
//! | `PUT  /v1/settings` | [`MachineConfig`]  | [`MachineConfig`] (applies on restart) |
//! | `GET  /v1/events`   |                    | [`Event`]s, one JSON object per line   |
//! | `GET  /v1/usage`    |                    | [`Usage`] (409 unless running)         |
//!
//! Errors are a non-2xx status with an [`ApiError`] body. berthd boots the machine as soon as it starts
//! and exits once the machine is stopped, so "no daemon" means "stopped".
#![deny(missing_docs)]

mod config;
mod paths;
mod status;
mod usage;
#[cfg(feature = "vsock-client")]
pub mod vsock_client;

pub use config::{ConfigError, MachineConfig, CPUS_RANGE, DISK_GIB_RANGE, MEMORY_MIB_RANGE};
pub use paths::{MachinePaths, DEFAULT_MACHINE};
pub use status::{
    ApiError, Backend, BackendKind, Event, ForwardState, ForwardedPort, MachineState, Status, Versions,
};
pub use usage::{CpuTimes, DiskUsage, MemoryUsage, Usage};
