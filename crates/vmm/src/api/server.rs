//! The control socket's thread: accepts one connection at a time, reads one request line, answers it and
//! closes the connection.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::{parse_request, After, Api, Response};

/// Longest request line read.
pub const MAX_REQUEST_BYTES: usize = 4096;
/// How long a client may take to send its request or read the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// The listening control socket; dropping it stops the thread and removes the socket file.
pub struct ApiServer {
    path: PathBuf,
    closing: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn is_socket(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

impl ApiServer {
    /// Listens on `path` (replacing a stale socket there, never another kind of file) and serves `api`
    /// on a thread of its own.
    pub fn start(path: &Path, api: Api) -> std::io::Result<Self> {
        if is_socket(path) {
            std::fs::remove_file(path)?;
        }
        let listener = UnixListener::bind(path)?;
        let closing = Arc::new(AtomicBool::new(false));
        let flag = closing.clone();
        let thread = std::thread::Builder::new().name("api".into()).spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                match stream {
                    Ok(s) => serve(s, &api),
                    Err(e) => tracing::warn!(error = %e, "control socket: accept failed"),
                }
            }
        })?;
        tracing::info!(path = %path.display(), "control socket listening");
        Ok(ApiServer {
            path: path.to_path_buf(),
            closing,
            thread: Some(thread),
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.closing.store(true, Ordering::SeqCst);
        // Wake the accept so the thread sees the flag.
        if UnixStream::connect(&self.path).is_ok() {
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
        if is_socket(&self.path) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Reads one line of at most [`MAX_REQUEST_BYTES`].
fn read_request(stream: &UnixStream) -> Result<Vec<u8>, String> {
    let mut line = Vec::new();
    let mut reader = BufReader::new(stream.take(MAX_REQUEST_BYTES as u64 + 1));
    reader
        .read_until(b'\n', &mut line)
        .map_err(|e| format!("cannot read the request: {e}"))?;
    if line.len() > MAX_REQUEST_BYTES {
        return Err(format!("request longer than {MAX_REQUEST_BYTES} bytes"));
    }
    Ok(line)
}

fn serve(mut stream: UnixStream, api: &Api) {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let (response, after) = match read_request(&stream).and_then(|l| parse_request(&l)) {
        Ok(request) => {
            tracing::info!(?request, "control request");
            api.handle(&request)
        }
        Err(e) => (Response::error(e), After::Nothing),
    };
    let mut out = serde_json::to_vec(&response).unwrap_or_else(|_| br#"{"ok":false}"#.to_vec());
    out.push(b'\n');
    if let Err(e) = stream.write_all(&out).and_then(|()| stream.flush()) {
        tracing::warn!(error = %e, "control socket: cannot send the answer");
    }
    drop(stream);
    if after == After::Stop {
        tracing::info!("stopping the VM as the control socket asked");
        api.stop();
    }
}
