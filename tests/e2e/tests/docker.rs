//! The real docker CLI against a real Berth machine: engine info, build, registry push/pull, run with a
//! published port reached from the host, logs, exec, stop, rm.

use std::time::Duration;

use berth_e2e::*;

#[test]
fn docker_cli_sees_the_engine_in_the_guest() {
    machine();
    let v = docker(&["version", "--format", "{{.Server.Version}} {{.Server.Os}}"]).ok();
    assert!(v.stdout.trim().ends_with("linux"), "{}", v.stdout);
    let info = docker(&[
        "info",
        "--format",
        "{{.KernelVersion}}|{{.OperatingSystem}}|{{.Driver}}",
    ])
    .ok();
    assert!(
        info.stdout.contains("-berth|"),
        "our kernel runs the engine: {}",
        info.stdout
    );
    assert!(info.stdout.contains("Debian"), "{}", info.stdout);
    assert!(info.stdout.trim().ends_with("overlay2"), "{}", info.stdout);
}

#[test]
fn status_json_names_the_backend_and_versions() {
    machine();
    let s = status();
    assert_eq!(s["state"], "running", "{s}");
    let kind = s["backend"]["kind"].as_str().unwrap_or("");
    assert!(["qemu-tcg", "qemu-kvm", "berth-vmm"].contains(&kind), "{s}");
    assert!(
        !s["backend"]["reason"].as_str().unwrap_or("").is_empty(),
        "the backend choice is explained: {s}"
    );
    assert!(
        s["versions"]["docker"].as_str().is_some_and(|v| !v.is_empty()),
        "{s}"
    );
    assert!(
        s["docker_host"].as_str().unwrap_or("").starts_with("unix://"),
        "{s}"
    );
}

#[test]
fn a_second_start_reports_the_running_machine() {
    machine();
    let r = berth(&["start"]).ok();
    assert!(r.stdout.contains("already running"), "{}", r.stdout);
}

#[test]
fn build_push_to_and_pull_from_the_local_registry() {
    let img = web_image();
    let remote = format!("{REGISTRY}/berth-test/web:push-{}", std::process::id());
    docker(&["tag", img, &remote]).ok();
    docker(&["push", &remote]).ok();
    let id = docker(&["image", "inspect", "--format", "{{.Id}}", &remote])
        .ok()
        .stdout;
    docker(&["rmi", &remote]).ok();
    assert_ne!(
        docker(&["image", "inspect", &remote]).code,
        0,
        "the tag is gone before the pull"
    );
    docker(&["pull", &remote]).ok();
    let pulled = docker(&["image", "inspect", "--format", "{{.Id}}", &remote])
        .ok()
        .stdout;
    assert_eq!(id.trim(), pulled.trim(), "the pulled image is the one pushed");
    docker(&["rmi", &remote]).ok();
}

#[test]
fn run_publish_fetch_logs_exec_stop_rm() {
    let img = web_image();
    let name = "berth-e2e-web";
    let _ = docker(&["rm", "-f", name]);
    docker(&["run", "-d", "--name", name, "-p", "8080:80", img]).ok();
    let body =
        http_get(8080, "/", Duration::from_secs(60)).expect("the published port answers on 127.0.0.1:8080");
    assert_eq!(body, "hello from berth\n");

    let ports = status()["ports"].clone();
    assert!(
        ports
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["port"] == 8080 && p["state"] == "forwarding"),
        "status lists the forward: {ports}"
    );

    // busybox httpd -v logs each answered request as "<client>: response:200" on stderr.
    let logs = docker(&["logs", name]).ok();
    let all = format!("{}{}", logs.stdout, logs.stderr);
    assert!(all.contains("response:200"), "httpd logged the request: {all}");

    let exec = docker(&["exec", name, "cat", "/www/index.html"]).ok();
    assert_eq!(exec.stdout, "hello from berth\n");

    docker(&["stop", "-t", "2", name]).ok();
    assert!(
        http_get(8080, "/", Duration::from_secs(2)).is_err(),
        "nothing answers once the container stopped"
    );
    docker(&["rm", name]).ok();
    assert_ne!(docker(&["inspect", name]).code, 0);
}

#[test]
fn a_host_port_already_taken_is_reported_and_the_container_still_runs() {
    let img = web_image();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let name = "berth-e2e-taken";
    let _ = docker(&["rm", "-f", name]);
    docker(&["run", "-d", "--name", name, "-p", &format!("{port}:80"), img]).ok();
    let mut found = None;
    for _ in 0..50 {
        let s = status();
        found = s["ports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["port"] == port)
            .cloned();
        if found.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let p = found.expect("the port shows up in status");
    assert_eq!(p["state"], "failed", "{p}");
    assert!(
        p["error"]
            .as_str()
            .unwrap()
            .contains(&format!("host port {port} is already in use")),
        "{p}"
    );
    let running = docker(&["inspect", "--format", "{{.State.Running}}", name]).ok();
    assert_eq!(running.stdout.trim(), "true");
    docker(&["rm", "-f", name]).ok();
}

#[test]
fn a_bad_image_reference_is_explained() {
    machine();
    let r = docker(&["pull", "Not A Valid/Ref"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("invalid reference format"), "{}", r.stderr);
    let r = docker(&["pull", &format!("{REGISTRY}/berth-test/does-not-exist:1")]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("not found") || r.stderr.contains("unknown"),
        "{}",
        r.stderr
    );
}

/// A UDP echo server, compiled static so it runs in a `FROM scratch` image.
const UDP_ECHO_C: &str = r#"
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) };
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0) return 1;
    char buf[2048];
    for (;;) {
        struct sockaddr_in from; socklen_t len = sizeof from;
        ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
        if (n >= 0) sendto(s, buf, n, 0, (struct sockaddr *)&from, len);
    }
}
"#;

#[test]
fn a_published_udp_port_answers_on_the_host() {
    machine();
    let ctx = BuildDir::busybox(
        "udp",
        "FROM scratch\nCOPY udpecho /udpecho\nCMD [\"/udpecho\", \"9999\"]\n",
        &[("udpecho.c", UDP_ECHO_C)],
    );
    let cc = std::process::Command::new("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(ctx.0.join("udpecho"))
        .arg(ctx.0.join("udpecho.c"))
        .status()
        .expect("gcc builds the test's UDP server");
    assert!(cc.success());
    docker_in(&["build", "-q", "-t", "berth-test/udpecho:1", "."], Some(&ctx.0)).ok();
    let name = "berth-e2e-udp";
    let _ = docker(&["rm", "-f", name]);
    docker(&[
        "run",
        "-d",
        "--name",
        name,
        "-p",
        "19999:9999/udp",
        "berth-test/udpecho:1",
    ])
    .ok();
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut answer = None;
    for i in 0..60 {
        let msg = format!("ping {i}");
        let _ = sock.send_to(msg.as_bytes(), "127.0.0.1:19999");
        let mut buf = [0u8; 64];
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            answer = Some(String::from_utf8_lossy(&buf[..n]).into_owned());
            break;
        }
    }
    let answer = answer.expect("the UDP echo answers through 127.0.0.1:19999");
    assert!(answer.starts_with("ping "), "{answer}");
    docker(&["rm", "-f", name]).ok();
}
