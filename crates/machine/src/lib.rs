//! berthd: the daemon of one Berth machine. It prepares the disks, chooses a hypervisor backend, starts
//! and supervises the guest with passt and the vsock device, waits for the agent, serves the host's
//! `docker.sock` and published ports, and answers the control API (see `berth_api`).

pub mod api;
pub mod backend;
pub mod disk;
pub mod docker_bridge;
pub mod error;
pub mod forward;
pub mod image;
pub mod lock;
pub mod passt;
pub mod ports;
pub mod probe;
pub mod shared;
pub mod supervisor;
pub mod usage;

pub use error::{Error, Result};
