//! Opening streams to the guest through the vsock device's hybrid Unix socket: connect, send
//! `CONNECT <port>\n`, read `OK <n>\n`, then the stream is the guest connection.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// A guest port that could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("cannot reach guest port {port}: {reason}")]
pub struct VsockError {
    /// Guest vsock port.
    pub port: u32,
    /// Why.
    pub reason: String,
}

/// How long the guest may take to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens a stream to guest vsock `port`.
pub async fn connect(vsock_socket: &Path, port: u32) -> Result<UnixStream, VsockError> {
    let err = |reason: String| VsockError { port, reason };
    let fut = async {
        let mut s = UnixStream::connect(vsock_socket)
            .await
            .map_err(|e| err(format!("vsock device socket {}: {e}", vsock_socket.display())))?;
        s.write_all(format!("CONNECT {port}\n").as_bytes())
            .await
            .map_err(|e| err(e.to_string()))?;
        // Read the reply byte by byte so no guest bytes after the newline are consumed here.
        let mut line = Vec::with_capacity(16);
        loop {
            let mut b = [0u8; 1];
            let n = s.read(&mut b).await.map_err(|e| err(e.to_string()))?;
            if n == 0 {
                return Err(err(
                    "the guest refused the connection (nothing listening yet?)".into()
                ));
            }
            if b[0] == b'\n' {
                break;
            }
            line.push(b[0]);
            if line.len() > 64 {
                return Err(err("malformed reply from the vsock device".into()));
            }
        }
        if line.starts_with(b"OK ") {
            Ok(s)
        } else {
            Err(err(format!(
                "vsock device said {:?}",
                String::from_utf8_lossy(&line)
            )))
        }
    };
    tokio::time::timeout(CONNECT_TIMEOUT, fut)
        .await
        .map_err(|_| err("timed out".into()))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncBufReadExt;
    use tokio::net::UnixListener;

    async fn fake_device(reply: &'static str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vsock.sock");
        let l = UnixListener::bind(&path).unwrap();
        tokio::spawn(async move {
            let (s, _) = l.accept().await.unwrap();
            let mut r = tokio::io::BufReader::new(s);
            let mut line = String::new();
            r.read_line(&mut line).await.unwrap();
            assert_eq!(line, "CONNECT 2375\n");
            let mut s = r.into_inner();
            s.write_all(reply.as_bytes()).await.unwrap();
            s.write_all(b"payload").await.unwrap();
        });
        (dir, path)
    }

    #[tokio::test]
    async fn ok_reply_leaves_the_payload_unread() {
        let (_d, path) = fake_device("OK 1234\n").await;
        let mut s = connect(&path, 2375).await.unwrap();
        let mut rest = String::new();
        s.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "payload");
    }

    #[tokio::test]
    async fn refusals_and_missing_devices_are_errors() {
        let (_d, path) = fake_device("NO\n").await;
        assert!(connect(&path, 2375)
            .await
            .unwrap_err()
            .to_string()
            .contains("vsock device said"));
        let e = connect(Path::new("/nonexistent/vsock.sock"), 2375)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("vsock device socket"));
    }
}
