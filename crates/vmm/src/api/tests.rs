//! The control protocol and its handlers without KVM: parsing, every op, and the socket server.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use super::*;
use crate::devices::virtio::balloon::Balloon;

fn api(balloon: Option<BalloonHandle>) -> Api {
    Api::new(VcpuControl::new().unwrap(), balloon, 2, 256)
}

#[test]
fn requests_parse_from_one_json_line() {
    assert_eq!(parse_request(b"{\"op\":\"status\"}\n"), Ok(Request::Status));
    assert_eq!(parse_request(b"  {\"op\":\"pause\"}\r\n"), Ok(Request::Pause));
    assert_eq!(parse_request(br#"{"op":"resume"}"#), Ok(Request::Resume));
    assert_eq!(parse_request(br#"{"op":"shutdown"}"#), Ok(Request::Shutdown));
    assert_eq!(
        parse_request(br#"{"op":"balloon","target_mib":128}"#),
        Ok(Request::Balloon { target_mib: 128 })
    );
    for bad in [
        &br#"{"op":"reboot"}"#[..],
        br#"{"op":"balloon"}"#,
        br#"{"op":"balloon","target_mib":-1}"#,
        br#"{"target_mib":1}"#,
        b"status",
        b"",
        b"\xff\xfe",
    ] {
        let err = parse_request(bad).unwrap_err();
        assert!(err.contains("ops: status, pause"), "{err}");
    }
}

#[test]
fn status_reports_state_size_and_uptime_and_leaves_out_a_missing_balloon() {
    let (r, after) = api(None).handle(&Request::Status);
    assert_eq!(after, After::Nothing);
    assert!(r.ok);
    assert_eq!(
        (r.state, r.vcpus, r.mem_mib),
        (Some(RunState::Running), Some(2), Some(256))
    );
    assert!(r.uptime_ms.is_some());
    let json = serde_json::to_string(&r).unwrap();
    assert!(
        json.starts_with(r#"{"ok":true,"state":"running","vcpus":2,"mem_mib":256,"uptime_ms":"#),
        "{json}"
    );
    assert!(!json.contains("balloon") && !json.contains("error"), "{json}");
}

#[test]
fn pause_and_resume_change_the_state() {
    let a = api(None);
    let (r, _) = a.handle(&Request::Pause);
    assert_eq!((r.ok, r.state), (true, Some(RunState::Paused)));
    assert_eq!(a.handle(&Request::Status).0.state, Some(RunState::Paused));
    let (r, _) = a.handle(&Request::Resume);
    assert_eq!((r.ok, r.state), (true, Some(RunState::Running)));
    let (r, _) = a.handle(&Request::Resume);
    assert_eq!(
        (r.ok, r.state),
        (true, Some(RunState::Running)),
        "resume while running is harmless"
    );
}

#[test]
fn balloon_targets_go_to_the_balloon_and_are_checked() {
    let a = api(None);
    let (r, _) = a.handle(&Request::Balloon { target_mib: 1 });
    assert!(
        !r.ok && r.error.as_deref().unwrap_or("").contains("--balloon"),
        "{r:?}"
    );

    let balloon = Balloon::new(256, true).unwrap();
    let a = api(Some(balloon.handle()));
    let (r, _) = a.handle(&Request::Balloon { target_mib: 64 });
    assert!(r.ok, "{r:?}");
    assert_eq!(r.balloon.as_ref().map(|b| b.target_mib), Some(64));
    let status = a.handle(&Request::Status).0;
    let b = status.balloon.unwrap();
    assert_eq!((b.target_mib, b.actual_mib, b.stats), (64, 0, None));
    let (r, _) = a.handle(&Request::Balloon { target_mib: 257 });
    assert!(
        !r.ok && r.error.as_deref().unwrap_or("").contains("use 0 to 256"),
        "{r:?}"
    );
    let (r, _) = a.handle(&Request::Balloon { target_mib: u64::MAX });
    assert!(!r.ok, "{r:?}");
}

#[test]
fn shutdown_answers_first_then_stops_and_nothing_runs_again() {
    let a = api(None);
    let (r, after) = a.handle(&Request::Shutdown);
    assert_eq!(
        (r.ok, r.state, after),
        (true, Some(RunState::Stopping), After::Stop)
    );
    a.stop();
    assert_eq!(a.handle(&Request::Status).0.state, Some(RunState::Stopping));
    assert!(!a.handle(&Request::Pause).0.ok);
    assert!(!a.handle(&Request::Resume).0.ok);
    assert_eq!(a.handle(&Request::Shutdown).1, After::Nothing);
}

fn call(path: &Path, line: &[u8]) -> Response {
    let mut s = UnixStream::connect(path).unwrap();
    s.write_all(line).unwrap();
    // Like `socat`: the end of the request also ends a line that has no newline.
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = String::new();
    BufReader::new(s).read_line(&mut answer).unwrap();
    assert!(answer.ends_with('\n'), "{answer:?}");
    serde_json::from_str(&answer).unwrap()
}

#[test]
fn the_socket_answers_one_request_per_connection_and_is_removed_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("api.sock");
    // A stale socket from an earlier run is replaced.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let control = VcpuControl::new().unwrap();
    let server = ApiServer::start(&path, Api::new(control.clone(), None, 1, 64)).unwrap();
    assert_eq!(server.path(), path);
    let r = call(&path, b"{\"op\":\"status\"}\n");
    assert_eq!(
        (r.ok, r.state, r.mem_mib),
        (true, Some(RunState::Running), Some(64))
    );
    assert_eq!(call(&path, b"{\"op\":\"pause\"}\n").state, Some(RunState::Paused));
    assert_eq!(control.state(), RunState::Paused);
    assert_eq!(call(&path, b"{\"op\":\"resume\"}").state, Some(RunState::Running));
    let r = call(&path, b"{\"op\":\"nope\"}\n");
    assert!(!r.ok && r.error.is_some());
    let mut huge = vec![b' '; MAX_REQUEST_BYTES + 10];
    huge.push(b'\n');
    let r = call(&path, &huge);
    assert!(r.error.unwrap_or_default().contains("longer than"));
    // A client that connects and says nothing does not take the socket down.
    drop(UnixStream::connect(&path).unwrap());
    let r = call(&path, b"{\"op\":\"shutdown\"}\n");
    assert_eq!((r.ok, r.state), (true, Some(RunState::Stopping)));
    // The stop runs after the answer; the next answer shows it.
    assert_eq!(
        call(&path, b"{\"op\":\"status\"}\n").state,
        Some(RunState::Stopping)
    );
    drop(server);
    assert!(!path.exists(), "the socket file is removed");
}

#[test]
fn a_path_that_is_not_a_socket_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("precious");
    std::fs::write(&path, b"data").unwrap();
    assert!(ApiServer::start(&path, api(None)).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), b"data");
}
