//! The Docker API over vsock: each connection is spliced to dockerd's Unix socket, both directions,
//! half-close aware (hijacked `attach`/`exec` streams and `docker save`/`load` depend on it).

use std::os::unix::net::UnixStream;

use crate::etc_files::DOCKER_SOCKET;

/// Serves one Docker API connection.
pub fn handle(stream: UnixStream) {
    match UnixStream::connect(DOCKER_SOCKET) {
        Ok(docker) => {
            crate::splice::splice(stream, Vec::new(), docker);
        }
        Err(e) => {
            log!("docker: cannot reach {DOCKER_SOCKET}: {e}");
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}
