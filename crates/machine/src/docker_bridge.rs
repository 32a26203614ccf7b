//! The host's `docker.sock`: every connection is bridged to the guest's Docker socket over vsock.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tokio::net::UnixListener;
use tokio::task::JoinHandle;

use berth_api::vsock_client as guest;

use crate::{Error, Result};

/// Binds `docker_socket` (mode 0600) and bridges each connection until the task is aborted.
pub fn serve(docker_socket: &Path, vsock_socket: PathBuf) -> Result<JoinHandle<()>> {
    let _ = std::fs::remove_file(docker_socket);
    let listener = UnixListener::bind(docker_socket)
        .map_err(|e| Error::io(format!("cannot create {}", docker_socket.display()), e))?;
    std::fs::set_permissions(docker_socket, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io("cannot restrict docker.sock to its owner", e))?;
    Ok(tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                continue;
            };
            let vsock = vsock_socket.clone();
            tokio::spawn(async move {
                match guest::connect(&vsock, berth_proto::port::DOCKER).await {
                    Ok(mut g) => {
                        if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut g).await {
                            tracing::debug!(error = %e, "docker connection ended");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot bridge a docker.sock connection"),
                }
            });
        }
    }))
}
