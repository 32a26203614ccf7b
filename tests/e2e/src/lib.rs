//! Helpers for the end-to-end tests: run `berth` and the real `docker` CLI against one shared machine,
//! fetch from published ports, build small test images from Debian's static busybox.
//!
//! `scripts/test` prepares the world these tests expect: `berth` and `berthd` on PATH, an isolated
//! `BERTH_HOME` / `BERTH_RUNTIME_DIR`, the guest image built, and Debian's docker-registry listening on
//! 127.0.0.1:5000. Run outside it, every test says what is missing and fails.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The registry as the guest sees it.
pub const REGISTRY: &str = "host.docker.internal:5000";

/// Output of a command, for assertions.
pub struct Run {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// stdout.
    pub stdout: String,
    /// stderr.
    pub stderr: String,
}

impl Run {
    fn from(cmd: &str, out: Output) -> Run {
        let r = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        eprintln!("$ {cmd}  → exit {}", r.code);
        r
    }

    /// Panics with the whole output unless the command succeeded.
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "command failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Runs `berth ARGS`.
pub fn berth(args: &[&str]) -> Run {
    let out = Command::new("berth")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("berth is not on PATH: run the tests through scripts/test");
    Run::from(&format!("berth {}", args.join(" ")), out)
}

/// Runs the real `docker ARGS` against the machine's socket.
pub fn docker(args: &[&str]) -> Run {
    docker_in(args, None)
}

/// Runs `docker ARGS` in folder `dir`.
pub fn docker_in(args: &[&str], dir: Option<&std::path::Path>) -> Run {
    let mut cmd = Command::new("docker");
    cmd.args(args)
        .env("DOCKER_HOST", docker_host())
        .env("DOCKER_BUILDKIT", "0")
        .stdin(Stdio::null());
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    let out = cmd.output().expect("the docker CLI is not installed");
    Run::from(&format!("docker {}", args.join(" ")), out)
}

/// `berth status --json`, parsed.
pub fn status() -> serde_json::Value {
    let r = berth(&["status", "--json"]);
    serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("status --json is not JSON ({e}): {}", r.stdout))
}

/// The machine's `unix://` docker host.
pub fn docker_host() -> String {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        status()["docker_host"]
            .as_str()
            .expect("docker_host in status")
            .to_string()
    })
    .clone()
}

/// Starts the shared machine once per test binary (a no-op when it already runs).
pub fn machine() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        berth(&["start", "--insecure-registry", REGISTRY]).ok();
    });
}

/// GET `http://127.0.0.1:port/path`, retried until `limit` (forwards appear shortly after a start).
pub fn http_get(port: u16, path: &str, limit: Duration) -> Result<String, String> {
    let until = Instant::now() + limit;
    let mut last = String::new();
    while Instant::now() < until {
        match try_get(port, path) {
            Ok(body) => return Ok(body),
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    Err(last)
}

fn try_get(port: u16, path: &str) -> Result<String, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").map_err(|e| e.to_string())?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).map_err(|e| format!("read: {e}"))?;
    if !resp.starts_with("HTTP/1.") {
        return Err(format!("not an HTTP answer: {resp:?}"));
    }
    if !resp.starts_with("HTTP/1.0 200") && !resp.starts_with("HTTP/1.1 200") {
        return Err(format!("HTTP error: {}", resp.lines().next().unwrap_or("")));
    }
    Ok(resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default())
}

/// A fresh folder for a Docker build context, removed when dropped.
pub struct BuildDir(pub PathBuf);

impl BuildDir {
    /// A context holding Debian's static busybox and `dockerfile`.
    pub fn busybox(name: &str, dockerfile: &str, files: &[(&str, &str)]) -> BuildDir {
        BuildDir::with_busybox(name, Path::new("/bin/busybox"), dockerfile, files)
    }

    /// A context holding the static busybox at `busybox` (another architecture's, say) and `dockerfile`.
    pub fn with_busybox(name: &str, busybox: &Path, dockerfile: &str, files: &[(&str, &str)]) -> BuildDir {
        let dir = std::env::temp_dir().join(format!("berth-e2e-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(busybox, dir.join("busybox")).unwrap_or_else(|e| {
            panic!(
                "{} (a static busybox) missing: {e}; scripts/setup provides it",
                busybox.display()
            )
        });
        std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
        for (f, content) in files {
            std::fs::write(dir.join(f), content).unwrap();
        }
        BuildDir(dir)
    }
}

impl Drop for BuildDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Dockerfile of a tiny HTTP server image: busybox httpd serving `index.html` on port 80.
pub const WEB_DOCKERFILE: &str = "FROM scratch\n\
COPY busybox /bin/busybox\n\
RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n\
COPY index.html /www/index.html\n\
EXPOSE 80\n\
CMD [\"/bin/busybox\", \"httpd\", \"-f\", \"-v\", \"-p\", \"80\", \"-h\", \"/www\"]\n";

/// Builds (once per test binary) the web image, tagged `berth-test/web:1`; returns the tag.
pub fn web_image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        machine();
        let ctx = BuildDir::busybox("web", WEB_DOCKERFILE, &[("index.html", "hello from berth\n")]);
        docker_in(&["build", "-q", "-t", "berth-test/web:1", "."], Some(&ctx.0)).ok();
    });
    "berth-test/web:1"
}
