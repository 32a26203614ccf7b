use super::*;

#[test]
fn the_shell_runs_on_a_tty_with_a_marker_and_its_size() {
    let c = shell_exec_config("m-1", TerminalSize { cols: 120, rows: 40 });
    assert_eq!(c.tty, Some(true));
    assert_eq!(c.attach_stdin, Some(true));
    assert_eq!(
        c.console_size,
        Some(vec![40, 120]),
        "Docker wants [height, width]"
    );
    let env = c.env.unwrap();
    assert!(env.contains(&"BERTH_TERMINAL=m-1".to_string()));
    assert!(env.contains(&"TERM=xterm-256color".to_string()));
    assert_eq!(c.cmd.unwrap()[..2], ["/bin/sh".to_string(), "-c".to_string()]);
}

#[test]
fn sizes_are_clamped_to_what_a_tty_takes() {
    assert_eq!(
        TerminalSize { cols: 0, rows: 0 }.clamped(),
        TerminalSize { cols: 1, rows: 1 }
    );
    assert_eq!(
        TerminalSize {
            cols: 5000,
            rows: 900
        }
        .clamped(),
        TerminalSize {
            cols: 1000,
            rows: 500
        }
    );
}

#[test]
fn markers_are_unique_and_safe_in_a_shell_word() {
    let (a, b) = (new_marker(), new_marker());
    assert_ne!(a, b);
    assert!(a.chars().all(|c| c.is_ascii_digit() || c == '-'), "{a}");
}

#[test]
fn docker_refusals_say_what_to_do() {
    let e = bollard::errors::Error::DockerResponseServerError {
        status_code: 409,
        message: "container abc is not running".into(),
    };
    assert_eq!(
        terminal_error("web", e).to_string(),
        "web is not running; start it to open a terminal in it"
    );
    assert!(exit_message(Some(127)).contains("no usable /bin/sh"));
    assert_eq!(exit_message(Some(0)), "The shell exited.");
    assert_eq!(exit_message(Some(130)), "The shell exited with code 130.");
}

/// A Docker Engine that knows only the exec endpoints, on a Unix socket: it records what the terminal
/// asks for and plays a TTY that prints a prompt, echoes what it gets and exits with code 3 on `exit\r`.
mod fake_docker {
    use std::sync::{Arc, Mutex};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{UnixListener, UnixStream};

    use crate::DockerApi;

    #[derive(Debug, Clone)]
    pub struct Request {
        pub method: String,
        pub path: String,
        pub body: String,
    }

    pub struct FakeDocker {
        pub requests: Arc<Mutex<Vec<Request>>>,
        socket: std::path::PathBuf,
        _dir: tempfile::TempDir,
    }

    impl FakeDocker {
        pub fn start() -> FakeDocker {
            let dir = tempfile::tempdir().unwrap();
            let socket = dir.path().join("docker.sock");
            let listener = UnixListener::bind(&socket).unwrap();
            let requests = Arc::new(Mutex::new(Vec::new()));
            let log = requests.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(connection(stream, log.clone()));
                }
            });
            FakeDocker {
                requests,
                socket,
                _dir: dir,
            }
        }

        pub fn api(&self) -> DockerApi {
            let client = bollard::Docker::connect_with_unix(
                &self.socket.to_string_lossy(),
                10,
                bollard::API_DEFAULT_VERSION,
            )
            .unwrap();
            DockerApi {
                client,
                socket: self.socket.clone(),
            }
        }

        pub fn requests(&self) -> Vec<Request> {
            self.requests.lock().unwrap().clone()
        }
    }

    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }

    async fn respond(s: &mut UnixStream, status: &str, body: &str) {
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(body.as_bytes()).await.unwrap();
    }

    async fn connection(mut s: UnixStream, log: Arc<Mutex<Vec<Request>>>) {
        let mut buf = Vec::new();
        loop {
            let head_end = loop {
                if let Some(i) = find(&buf, b"\r\n\r\n") {
                    break i + 4;
                }
                if s.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                    return;
                }
            };
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            let mut first = head.lines().next().unwrap_or_default().split(' ');
            let (method, path) = (
                first.next().unwrap_or_default().to_string(),
                first.next().unwrap_or_default().to_string(),
            );
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0usize);
            while buf.len() < head_end + len {
                if s.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                    return;
                }
            }
            let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).to_string();
            buf.drain(..head_end + len);
            let n = {
                let mut log = log.lock().unwrap();
                log.push(Request {
                    method: method.clone(),
                    path: path.clone(),
                    body: body.clone(),
                });
                log.iter().filter(|r| r.path.ends_with("/exec")).count()
            };
            if path.contains("/containers/stopped/exec") {
                respond(
                    &mut s,
                    "409 Conflict",
                    r#"{"message":"container 4f1c is not running"}"#,
                )
                .await;
            } else if path.ends_with("/exec") {
                respond(&mut s, "201 Created", &format!(r#"{{"Id":"exec-{n}"}}"#)).await;
            } else if path.ends_with("/start") && body.contains(r#""Detach":true"#) {
                respond(&mut s, "200 OK", "").await;
            } else if path.ends_with("/start") {
                let head = "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
                s.write_all(head.as_bytes()).await.unwrap();
                return tty(s, buf).await;
            } else if path.contains("/resize") {
                respond(&mut s, "200 OK", "").await;
            } else if path.ends_with("/json") {
                respond(
                    &mut s,
                    "200 OK",
                    r#"{"ID":"exec-1","Running":false,"ExitCode":3}"#,
                )
                .await;
            } else {
                respond(&mut s, "404 Not Found", r#"{"message":"page not found"}"#).await;
            }
        }
    }

    async fn tty(mut s: UnixStream, mut typed: Vec<u8>) {
        s.write_all(b"$ ").await.unwrap();
        loop {
            if let Some(i) = find(&typed, b"exit\r") {
                s.write_all(&typed[..i + 5]).await.unwrap();
                s.write_all(b"\n").await.unwrap();
                let _ = s.shutdown().await;
                return;
            }
            if !typed.is_empty() {
                s.write_all(&typed).await.unwrap();
                typed.clear();
            }
            let mut chunk = [0u8; 256];
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => typed.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

mod against_a_fake_docker {
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;

    use super::fake_docker::FakeDocker;
    use super::*;

    async fn read_until(t: &mut Terminal, want: &[u8]) -> Vec<u8> {
        let mut got = Vec::new();
        while !got.windows(want.len()).any(|w| w == want) {
            match t.output.next().await {
                Some(chunk) => got.extend(chunk.unwrap()),
                None => panic!(
                    "the output ended before {:?}; got {:?}",
                    String::from_utf8_lossy(want),
                    String::from_utf8_lossy(&got)
                ),
            }
        }
        got
    }

    #[tokio::test]
    async fn a_terminal_talks_both_ways_resizes_reports_its_exit_code_and_hangs_up() {
        let docker = FakeDocker::start();
        let mut t = docker
            .api()
            .open_terminal("web", TerminalSize { cols: 120, rows: 40 })
            .await
            .unwrap();
        read_until(&mut t, b"$ ").await;
        // UTF-8 and Ctrl+C go through as bytes.
        t.input.write_all("héllo\u{3}".as_bytes()).await.unwrap();
        t.input.flush().await.unwrap();
        read_until(&mut t, "héllo\u{3}".as_bytes()).await;
        t.control
            .resize(TerminalSize { cols: 100, rows: 30 })
            .await
            .unwrap();
        t.input.write_all(b"exit\r").await.unwrap();
        t.input.flush().await.unwrap();
        read_until(&mut t, b"exit\r\n").await;
        assert!(t.output.next().await.is_none(), "the output ends with the shell");
        assert_eq!(t.control.exit_code().await.unwrap(), Some(3));
        t.control.hang_up().await.unwrap();

        let reqs = docker.requests();
        let create: serde_json::Value = serde_json::from_str(&reqs[0].body).unwrap();
        assert!(reqs[0].path.ends_with("/containers/web/exec"), "{}", reqs[0].path);
        assert_eq!(reqs[0].method, "POST");
        assert!(reqs
            .iter()
            .filter(|r| r.path.ends_with("/json"))
            .all(|r| r.method == "GET"));
        assert_eq!(create["Tty"], true);
        assert_eq!(create["AttachStdin"], true);
        assert_eq!(create["ConsoleSize"], serde_json::json!([40, 120]));
        assert_eq!(create["Cmd"][0], "/bin/sh");
        let env: Vec<String> = serde_json::from_value(create["Env"].clone()).unwrap();
        let marker = env
            .iter()
            .find_map(|e| e.strip_prefix("BERTH_TERMINAL="))
            .expect("a marker")
            .to_string();
        let start: serde_json::Value = serde_json::from_str(&reqs[1].body).unwrap();
        assert!(reqs[1].path.ends_with("/exec/exec-1/start"));
        assert_eq!(
            (start["Detach"].clone(), start["Tty"].clone()),
            (false.into(), true.into())
        );
        assert!(
            reqs.iter().any(|r| r.path.contains("/exec/exec-1/resize")
                && r.path.contains("h=30")
                && r.path.contains("w=100")),
            "{reqs:?}"
        );
        // The hang-up is a second exec that names the same marker, started detached.
        let hang_up = reqs
            .iter()
            .rposition(|r| r.path.ends_with("/containers/web/exec"))
            .unwrap();
        assert_ne!(hang_up, 0);
        let cmd: serde_json::Value = serde_json::from_str(&reqs[hang_up].body).unwrap();
        assert_eq!(cmd["Cmd"][4], marker.as_str());
        assert_eq!(cmd["Tty"], serde_json::Value::Null);
        assert!(
            reqs[hang_up + 1].path.ends_with("/exec/exec-2/start")
                && reqs[hang_up + 1].body.contains(r#""Detach":true"#)
        );
    }

    #[tokio::test]
    async fn a_stopped_container_says_to_start_it() {
        let docker = FakeDocker::start();
        let err = docker
            .api()
            .open_terminal("stopped", TerminalSize { cols: 80, rows: 24 })
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "stopped is not running; start it to open a terminal in it"
        );
    }
}
