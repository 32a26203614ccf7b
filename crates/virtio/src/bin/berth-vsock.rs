//! `berth-vsock`: serves Berth's vsock device to QEMU over vhost-user (for manual use and debugging).
//!
//! ```text
//! berth-vsock --socket /tmp/vhost.sock --uds-path /tmp/vsock.sock --guest-cid 3
//! qemu-system-x86_64 ... -object memory-backend-memfd,id=mem,size=1G,share=on -machine memory-backend=mem \
//!     -chardev socket,id=vsock0,path=/tmp/vhost.sock -device vhost-user-vsock-device,chardev=vsock0
//! ```

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

/// Serve a virtio-vsock device to a vhost-user frontend (QEMU), bridged to host Unix sockets.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// vhost-user socket to listen on (QEMU's `-chardev socket,path=`).
    #[arg(long)]
    socket: PathBuf,
    /// Host side of the hybrid vsock: connect here and send `CONNECT <port>\n`; guest connects to
    /// host port P reach `<uds-path>_P`.
    #[arg(long)]
    uds_path: PathBuf,
    /// The guest's context id.
    #[arg(long, default_value_t = 3)]
    guest_cid: u64,
    /// Keep serving new frontends after one disconnects.
    #[arg(long)]
    repeat: bool,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let cfg = berth_virtio::VsockBackendConfig {
        vhost_socket: args.socket,
        uds_path: args.uds_path,
        guest_cid: args.guest_cid,
    };
    loop {
        berth_virtio::serve_vsock(&cfg)
            .with_context(|| format!("serving vsock on {}", cfg.vhost_socket.display()))?;
        if !args.repeat {
            return Ok(());
        }
    }
}
