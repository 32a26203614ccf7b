//! Just enough HTTP/1.1 over dockerd's Unix socket to tell when the engine is ready: `GET /_ping`, then
//! `GET /version` for the version string reported in `Ready`.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// Largest response read (the answers probed here are a few hundred bytes).
const MAX_RESPONSE: u64 = 1024 * 1024;

/// `GET path` with `Connection: close`; returns the status code and the (de-chunked) body.
pub fn get(socket: &Path, path: &str, timeout: Duration) -> Result<(u16, Vec<u8>), String> {
    let mut s = UnixStream::connect(socket).map_err(|e| format!("connect {}: {e}", socket.display()))?;
    s.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: berth-agent\r\nConnection: close\r\n\r\n"
    );
    s.write_all(request.as_bytes())
        .map_err(|e| format!("send {path}: {e}"))?;
    let mut raw = Vec::new();
    s.take(MAX_RESPONSE)
        .read_to_end(&mut raw)
        .map_err(|e| format!("read {path}: {e}"))?;
    parse_response(&raw)
}

/// Parses a whole HTTP/1.x response: status line, headers, body (Content-Length, chunked, or to EOF).
pub fn parse_response(raw: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let head_end = find(raw, b"\r\n\r\n").ok_or("response has no end of headers")?;
    let head = std::str::from_utf8(&raw[..head_end]).map_err(|_| "response headers are not UTF-8")?;
    let body = &raw[head_end + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(format!("not an HTTP response: {status_line:?}"));
    }
    let code: u16 = parts
        .next()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
        } else if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        }
    }
    let body = if chunked {
        dechunk(body)?
    } else if let Some(n) = length {
        body.get(..n).ok_or("body shorter than Content-Length")?.to_vec()
    } else {
        body.to_vec()
    };
    Ok((code, body))
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = find(rest, b"\r\n").ok_or("truncated chunk size")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size =
            usize::from_str_radix(size_text, 16).map_err(|_| format!("bad chunk size {size_text:?}"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = rest.get(..size).ok_or("truncated chunk")?;
        out.extend_from_slice(chunk);
        rest = rest.get(size + 2..).ok_or("truncated chunk")?;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `Version` from a `/version` body.
pub fn version_from_json(body: &[u8]) -> Result<String, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("/version is not JSON: {e}"))?;
    v.get("Version")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .ok_or_else(|| "/version has no Version".into())
}

/// One readiness probe: `/_ping` answers `OK`, then `/version` gives the engine's version.
pub fn probe_ready(socket: &Path) -> Result<String, String> {
    let timeout = Duration::from_secs(5);
    let (code, body) = get(socket, "/_ping", timeout)?;
    if code != 200 || body != b"OK" {
        return Err(format!("/_ping answered {code}"));
    }
    let (code, body) = get(socket, "/version", timeout)?;
    if code != 200 {
        return Err(format!("/version answered {code}"));
    }
    version_from_json(&body)
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixListener;

    use super::*;

    #[test]
    fn parses_length_chunked_and_eof_bodies() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nApi-Version: 1.45\r\n\r\nOKtrailing";
        assert_eq!(parse_response(r).unwrap(), (200, b"OK".to_vec()));
        let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"Ve\r\n10;x=1\r\nrsion\":\"26.1.5\"}\r\n0\r\n\r\n";
        let (code, body) = parse_response(r).unwrap();
        assert_eq!(code, 200);
        assert_eq!(version_from_json(&body).unwrap(), "26.1.5");
        assert_eq!(
            parse_response(b"HTTP/1.0 500 Oops\r\n\r\nbad").unwrap(),
            (500, b"bad".to_vec())
        );
    }

    #[test]
    fn hostile_responses_are_errors() {
        for r in [
            &b""[..],
            b"garbage\r\n\r\n",
            b"HTTP/1.1 abc\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nshort",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nx",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        ] {
            assert!(parse_response(r).is_err(), "{:?}", String::from_utf8_lossy(r));
        }
        assert!(version_from_json(b"{}").is_err());
    }

    #[test]
    fn probes_a_fake_engine() {
        let dir = std::env::temp_dir().join(format!("berth-agent-api-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("docker.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        let server = std::thread::spawn(move || {
            for body in ["OK", r#"{"Version":"26.1.5","ApiVersion":"1.45"}"#] {
                let (mut s, _) = listener.accept().unwrap();
                let mut req = [0u8; 1024];
                let _ = s.read(&mut req).unwrap();
                let answer = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len());
                s.write_all(answer.as_bytes()).unwrap();
            }
        });
        assert_eq!(probe_ready(&sock).unwrap(), "26.1.5");
        server.join().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
