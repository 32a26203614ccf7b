//! Host listeners for published ports. TCP: each accepted connection becomes a forward stream to the
//! guest's loopback. UDP: each client address gets its own forward stream, datagrams framed as a 2-byte
//! big-endian length and the bytes, closed after a minute of silence.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use berth_api::vsock_client as guest;
use berth_proto::{ForwardReply, ForwardRequest, Transport};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, UdpSocket, UnixStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A UDP flow with no datagram either way for this long is closed.
const UDP_IDLE: Duration = Duration::from_secs(60);

/// Opens `127.0.0.1:port` and forwards it until the task is aborted; the error names the port and
/// what to do.
pub async fn listen(transport: Transport, port: u16, vsock: PathBuf) -> Result<JoinHandle<()>, String> {
    let bound = match transport {
        Transport::Tcp => TcpListener::bind(("127.0.0.1", port))
            .await
            .map(|l| tokio::spawn(tcp_loop(l, port, vsock))),
        Transport::Udp => UdpSocket::bind(("127.0.0.1", port))
            .await
            .map(|s| tokio::spawn(udp_loop(s, port, vsock))),
    };
    bound.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "host port {port} is already in use by another program; stop it or publish the container on another \
             port (e.g. -p {}:…)",
            port.saturating_add(1)
        ),
        std::io::ErrorKind::PermissionDenied => format!("host port {port} needs privileges to open; publish on a port above 1023"),
        _ => format!("cannot listen on 127.0.0.1:{port}: {e}"),
    })
}

/// Opens a forward stream to guest `port` and checks the agent's answer.
async fn open_stream(vsock: &Path, transport: Transport, port: u16) -> anyhow::Result<BufReader<UnixStream>> {
    let mut g = guest::connect(vsock, berth_proto::port::FORWARD).await?;
    let mut line = serde_json::to_vec(&ForwardRequest { transport, port })?;
    line.push(b'\n');
    g.write_all(&line).await?;
    let mut r = BufReader::new(g);
    let mut reply = String::new();
    r.read_line(&mut reply).await?;
    let reply: ForwardReply = serde_json::from_str(&reply)?;
    if let Some(e) = reply.error {
        anyhow::bail!("guest could not connect to port {port}: {e}");
    }
    Ok(r)
}

async fn tcp_loop(listener: TcpListener, port: u16, vsock: PathBuf) {
    loop {
        let Ok((mut client, _)) = listener.accept().await else {
            continue;
        };
        let vsock = vsock.clone();
        tokio::spawn(async move {
            let _ = client.set_nodelay(true);
            match open_stream(&vsock, Transport::Tcp, port).await {
                Ok(mut g) => {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut g).await;
                }
                Err(e) => tracing::warn!(port, error = %e, "forward failed"),
            }
        });
    }
}

async fn udp_loop(socket: UdpSocket, port: u16, vsock: PathBuf) {
    let socket = Arc::new(socket);
    let mut flows: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let mut buf = vec![0u8; 65_535];
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        flows.retain(|_, tx| !tx.is_closed());
        let tx = match flows.get(&from) {
            Some(tx) => tx.clone(),
            None => {
                let (tx, rx) = mpsc::channel(256);
                tokio::spawn(udp_flow(socket.clone(), from, rx, port, vsock.clone()));
                flows.insert(from, tx.clone());
                tx
            }
        };
        // A full queue drops the datagram, as a congested network would.
        let _ = tx.try_send(buf[..n].to_vec());
    }
}

async fn udp_flow(
    socket: Arc<UdpSocket>,
    client: SocketAddr,
    mut rx: mpsc::Receiver<Vec<u8>>,
    port: u16,
    vsock: PathBuf,
) {
    let stream = match open_stream(&vsock, Transport::Udp, port).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(port, error = %e, "udp forward failed");
            return;
        }
    };
    let (mut r, mut w) = tokio::io::split(stream);
    let replies = tokio::spawn(async move {
        while let Ok(Some(d)) = read_frame(&mut r).await {
            if socket.send_to(&d, client).await.is_err() {
                break;
            }
        }
    });
    loop {
        match tokio::time::timeout(UDP_IDLE, rx.recv()).await {
            Ok(Some(d)) => {
                let mut frame = (d.len() as u16).to_be_bytes().to_vec();
                frame.extend_from_slice(&d);
                if w.write_all(&frame).await.is_err() {
                    break;
                }
            }
            _ => break,
        }
        if replies.is_finished() {
            break;
        }
    }
    replies.abort();
}

/// Reads one `u16 length + bytes` frame; `None` at a clean end of stream.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 2];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut d = vec![0u8; u16::from_be_bytes(len) as usize];
    r.read_exact(&mut d).await?;
    Ok(Some(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip_and_end_cleanly() {
        let mut data: &[u8] = &[0, 3, b'a', b'b', b'c', 0, 0];
        assert_eq!(read_frame(&mut data).await.unwrap(), Some(b"abc".to_vec()));
        assert_eq!(read_frame(&mut data).await.unwrap(), Some(vec![]));
        assert_eq!(read_frame(&mut data).await.unwrap(), None);
        let mut cut: &[u8] = &[0, 9, b'x'];
        assert!(
            read_frame(&mut cut).await.is_err(),
            "a truncated frame is an error"
        );
    }

    #[tokio::test]
    async fn a_taken_port_is_explained_for_both_transports() {
        let t = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = t.local_addr().unwrap().port();
        let e = listen(Transport::Tcp, p, "/nonexistent".into())
            .await
            .unwrap_err();
        assert!(e.contains(&format!("host port {p} is already in use")), "{e}");
        let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let p = u.local_addr().unwrap().port();
        let e = listen(Transport::Udp, p, "/nonexistent".into())
            .await
            .unwrap_err();
        assert!(e.contains("already in use"), "{e}");
    }
}
