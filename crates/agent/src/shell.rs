//! Shell streams for `berth shell`: a `ShellRequest` line, a `ShellReply` line, then the program's
//! terminal (tty: a pty with the window size, the program a session leader with it as controlling
//! terminal) or pipes (stdin from the stream, stdout and stderr merged). The stream closes when the
//! program exits and its output is drained.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use berth_proto::{read_json_line, write_json_line, ShellReply, ShellRequest};

use crate::reaper;
use crate::sys::check;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves one shell stream.
pub fn handle(stream: UnixStream) {
    let _ = stream.set_read_timeout(Some(REQUEST_TIMEOUT));
    let mut reader = BufReader::new(stream);
    let req: ShellRequest = match read_json_line(&mut reader) {
        Ok(r) => r,
        Err(e) => {
            let _ = write_json_line(
                reader.get_mut(),
                &ShellReply {
                    error: Some(format!("bad shell request: {e}")),
                },
            );
            return;
        }
    };
    let early = reader.buffer().to_vec();
    let mut stream = reader.into_inner();
    let _ = stream.set_read_timeout(None);
    let argv = if req.command.is_empty() {
        default_shell()
    } else {
        req.command.clone()
    };
    log!("shell: {} {:?}", if req.tty { "tty" } else { "pipes" }, argv);
    let started = if req.tty {
        spawn_pty(&argv, req.rows, req.cols)
    } else {
        spawn_pipes(&argv)
    };
    let session = match started {
        Ok(s) => s,
        Err(e) => {
            let _ = write_json_line(
                &mut stream,
                &ShellReply {
                    error: Some(format!("cannot start {}: {e}", argv.join(" "))),
                },
            );
            return;
        }
    };
    if write_json_line(&mut stream, &ShellReply { error: None }).is_err() {
        crate::sys::kill(-session.pid, libc::SIGHUP);
    }
    relay(stream, early, session, req.tty);
}

fn default_shell() -> Vec<String> {
    let shell = if std::path::Path::new("/bin/bash").exists() {
        "/bin/bash"
    } else {
        "/bin/sh"
    };
    vec![shell.into(), "-l".into()]
}

struct Session {
    pid: i32,
    /// Where the program's input goes (pty master or stdin pipe).
    input: File,
    /// Where its output comes from (pty master or the merged stdout/stderr pipe).
    output: File,
}

fn base_command(argv: &[String]) -> std::io::Result<Command> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| std::io::Error::other("empty command"))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("HOME", "/root")
        .env("USER", "root")
        .env("LOGNAME", "root");
    if std::path::Path::new("/root").is_dir() {
        cmd.current_dir("/root");
    }
    Ok(cmd)
}

fn set_cloexec(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: F_SETFD on an fd we own has no memory effects.
    check(unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) })?;
    Ok(())
}

fn spawn_pty(argv: &[String], rows: u16, cols: u16) -> std::io::Result<Session> {
    let ws = libc::winsize {
        ws_row: if rows == 0 { 24 } else { rows },
        ws_col: if cols == 0 { 80 } else { cols },
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: out-pointers are valid ints; a null name and termios are allowed; `ws` outlives the call.
    check(unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &ws,
        )
    })?;
    // SAFETY: openpty succeeded: both fds are open and owned by nobody else.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    set_cloexec(master.as_raw_fd())?;
    set_cloexec(slave.as_raw_fd())?;
    let mut cmd = base_command(argv)?;
    cmd.env("TERM", "xterm-256color")
        .stdin(Stdio::from(slave.try_clone()?))
        .stdout(Stdio::from(slave.try_clone()?))
        .stderr(Stdio::from(slave));
    // SAFETY: the closure runs between fork and exec and calls only async-signal-safe functions
    // (setsid, ioctl); it allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = reaper::spawn(&mut cmd)?;
    drop(cmd); // our copies of the slave: the output read ends with EIO once the program's are gone
    let master = File::from(master);
    Ok(Session {
        pid: child.id() as i32,
        input: master.try_clone()?,
        output: master,
    })
}

fn spawn_pipes(argv: &[String]) -> std::io::Result<Session> {
    let (out_r, out_w) = crate::sys::pipe()?;
    let (in_r, in_w) = crate::sys::pipe()?;
    let mut cmd = base_command(argv)?;
    cmd.stdin(in_r)
        .stdout(out_w.try_clone()?)
        .stderr(out_w)
        .process_group(0);
    let child = reaper::spawn(&mut cmd)?;
    drop(cmd);
    Ok(Session {
        pid: child.id() as i32,
        input: in_w,
        output: out_r,
    })
}

fn relay(stream: UnixStream, early: Vec<u8>, session: Session, tty: bool) {
    let Session {
        pid,
        mut input,
        mut output,
    } = session;
    let exited = Arc::new(AtomicBool::new(false));
    if let Ok(from_host) = stream.try_clone() {
        let exited = exited.clone();
        crate::sys::spawn("shell-input", move || {
            let mut src = std::io::Cursor::new(early).chain(from_host);
            let _ = std::io::copy(&mut src, &mut input);
            drop(input); // pipes: the program sees EOF on stdin
            if tty && !exited.load(Ordering::SeqCst) {
                crate::sys::kill(-pid, libc::SIGHUP); // the host went away: hang up the session
            }
        });
    }
    let mut to_host = stream;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if !readable(output.as_raw_fd(), 200) {
            if exited.load(Ordering::SeqCst) {
                break; // exited, and nothing more to read (a background job may hold the terminal)
            }
            if reaper::wait(pid, Some(Duration::ZERO)).is_some() {
                exited.store(true, Ordering::SeqCst);
            }
            continue;
        }
        match output.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if to_host.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break, // EIO: the pty's last slave handle closed
        }
    }
    if !exited.swap(true, Ordering::SeqCst) {
        // Output closed before we saw the exit: collect it without holding the stream open.
        crate::sys::spawn("shell-wait", move || {
            let _ = reaper::wait(pid, None);
        });
    }
    let _ = to_host.shutdown(Shutdown::Both);
}

fn readable(fd: RawFd, timeout_ms: i32) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `pfd` is one valid pollfd for the duration of the call.
    let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    rc > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_shell(req: &str, input: &[u8]) -> (ShellReply, String) {
        let (mut host, agent) = UnixStream::pair().unwrap();
        let t = std::thread::spawn(move || handle(agent));
        host.write_all(req.as_bytes()).unwrap();
        host.write_all(input).unwrap();
        let mut r = BufReader::new(host);
        let reply: ShellReply = read_json_line(&mut r).unwrap();
        let mut out = Vec::new();
        let _ = r.read_to_end(&mut out);
        t.join().unwrap();
        (reply, String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn pipes_merge_stderr_and_take_stdin() {
        let req = r#"{"command":["/bin/sh","-c","read x; echo got $x; echo err >&2"],"tty":false}"#;
        let (reply, out) = run_shell(&format!("{req}\n"), b"hello\n");
        assert_eq!(reply.error, None);
        assert_eq!(out, "got hello\nerr\n");
    }

    #[test]
    fn a_tty_has_the_size_and_term() {
        let req = r#"{"command":["/bin/sh","-c","stty size; echo $TERM"],"tty":true,"rows":33,"cols":101}"#;
        let (reply, out) = run_shell(&format!("{req}\n"), b"");
        assert_eq!(reply.error, None);
        assert!(
            out.contains("33 101") && out.contains("xterm-256color"),
            "{out:?}"
        );
    }

    #[test]
    fn a_missing_program_is_an_error_reply() {
        let (reply, out) = run_shell("{\"command\":[\"/nonexistent\"],\"tty\":false}\n", b"");
        assert!(reply.error.is_some_and(|e| e.contains("/nonexistent")));
        assert_eq!(out, "");
        let (reply, _) = run_shell("{\"tty\":\"yes\"}\n", b"");
        assert!(reply.error.is_some());
    }
}
