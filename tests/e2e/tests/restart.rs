//! Nothing is lost on restart: images and named volumes live on the data disk.

use berth_e2e::*;

#[test]
fn a_named_volume_and_images_survive_berth_restart() {
    let img = web_image();
    let vol = "berth-e2e-vol";
    let _ = docker(&["volume", "rm", "-f", vol]);
    docker(&["volume", "create", vol]).ok();
    docker(&[
        "run",
        "--rm",
        "-v",
        &format!("{vol}:/data"),
        img,
        "sh",
        "-c",
        "echo kept > /data/file && sync",
    ])
    .ok();

    let r = berth(&["restart"]).ok();
    assert!(r.stdout.contains("is ready"), "{}", r.stdout);

    let read = docker(&[
        "run",
        "--rm",
        "-v",
        &format!("{vol}:/data"),
        img,
        "cat",
        "/data/file",
    ])
    .ok();
    assert_eq!(read.stdout, "kept\n");
    docker(&["volume", "rm", vol]).ok();
    let s = status();
    assert_eq!(s["state"], "running");
    assert!(s["uptime_s"].as_u64().is_some());
}

/// The hypervisor process of the running machine (a child of berthd).
fn hypervisor_pid() -> Option<u32> {
    let berthd = status()["pid"].as_u64()? as u32;
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (comm, rest) = stat.split_once(") ")?;
        let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
        (ppid == berthd && comm.contains("qemu")).then_some(pid)
    })
}

#[test]
fn a_crashed_guest_is_restarted_reported_and_keeps_its_data() {
    let img = web_image();
    let vol = "berth-e2e-crash";
    let _ = docker(&["volume", "rm", "-f", vol]);
    docker(&[
        "run",
        "--rm",
        "-v",
        &format!("{vol}:/data"),
        img,
        "sh",
        "-c",
        "echo survived > /data/file && sync",
    ])
    .ok();
    let before = status()["restarts"].as_u64().unwrap_or(0);
    let pid = hypervisor_pid().expect("the hypervisor runs as berthd's child");
    // Kill the hypervisor the way a crash would.
    assert!(std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap()
        .success());
    let mut s = status();
    for _ in 0..600 {
        s = status();
        if s["restarts"].as_u64().unwrap_or(0) > before && s["state"] == "running" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert_eq!(s["state"], "running", "the guest came back: {s}");
    assert!(
        s["restarts"].as_u64().unwrap() > before,
        "the crash is counted: {s}"
    );
    assert!(
        s["last_crash"]
            .as_str()
            .is_some_and(|c| c.contains("hypervisor exited")),
        "and described: {s}"
    );
    let read = docker(&[
        "run",
        "--rm",
        "-v",
        &format!("{vol}:/data"),
        img,
        "cat",
        "/data/file",
    ])
    .ok();
    assert_eq!(read.stdout, "survived\n");
    docker(&["volume", "rm", vol]).ok();
}
