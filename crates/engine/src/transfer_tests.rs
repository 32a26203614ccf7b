use super::*;

#[test]
fn push_failures_say_what_to_do() {
    let e = push_error(
        "r:5000/app:1",
        "r:5000",
        "app",
        "denied: requested access to the resource is denied",
    );
    assert_eq!(
        e.to_string(),
        "push denied: log in to r:5000 with an account that may push to app (`berth login r:5000`)"
    );
    let e = push_error(
        "r:5000/app:1",
        "r:5000",
        "app",
        "unauthorized: authentication required",
    );
    assert!(matches!(e, Error::PushDenied { .. }));
    // What Docker 26 says when no credentials were sent to a registry that wants some.
    let e = push_error("r:5000/app:1", "r:5000", "app", "no basic auth credentials");
    assert!(matches!(e, Error::PushDenied { .. }), "{e}");
    let e = push_error(
        "r:5000/app:1",
        "r:5000",
        "app",
        "Get \"https://r:5000/v2/\": http: server gave HTTP response to HTTPS client",
    );
    let text = e.to_string();
    assert!(
        text.contains("cannot reach registry r:5000") && text.contains("insecure registries"),
        "{text}"
    );
    let e = push_error(
        "r:5000/app:1",
        "r:5000",
        "app",
        "An image does not exist locally with the tag: r:5000/app",
    );
    assert!(e.to_string().contains("berth tag"), "{e}");
    assert_eq!(
        push_error("x:1", "docker.io", "library/x", "boom").to_string(),
        "Docker Engine: pushing x:1: boom"
    );
}

/// Answers one push on a Unix socket with `status` and `lines`; returns the request head.
async fn answer_push(socket: std::path::PathBuf, status: &'static str, lines: &'static str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    let (mut s, _) = listener.accept().await.unwrap();
    let mut buf = vec![0u8; 8192];
    let n = s.read(&mut buf).await.unwrap();
    let head = String::from_utf8_lossy(&buf[..n]).to_string();
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{lines}",
        lines.len()
    );
    s.write_all(resp.as_bytes()).await.unwrap();
    head
}

fn api(sock: &std::path::Path) -> DockerApi {
    DockerApi {
        client: bollard::Docker::connect_with_unix(&sock.to_string_lossy(), 5, bollard::API_DEFAULT_VERSION)
            .unwrap(),
        socket: sock.to_path_buf(),
    }
}

#[tokio::test]
async fn pushes_report_each_layer_and_the_digest() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("docker.sock");
    let server = tokio::spawn(answer_push(
        sock.clone(),
        "200 OK",
        concat!(
            "{\"status\":\"The push refers to repository [127.0.0.1:5999/app]\"}\n",
            "{\"status\":\"Preparing\",\"progressDetail\":{},\"id\":\"aaa\"}\n",
            "{\"status\":\"Pushing\",\"progressDetail\":{\"current\":512,\"total\":1024},\"id\":\"aaa\"}\n",
            "{\"status\":\"Pushed\",\"progressDetail\":{},\"id\":\"aaa\"}\n",
            "{\"status\":\"1: digest: sha256:abc size: 527\"}\n",
            "{\"progressDetail\":{},\"aux\":{\"Tag\":\"1\",\"Digest\":\"sha256:abc\",\"Size\":527}}\n"
        ),
    ));
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let mut seen = Vec::new();
    let report = api(&sock)
        .push("127.0.0.1:5999/app:1", |p| {
            seen.push((p.layer.clone(), p.status.clone(), p.current, p.total))
        })
        .await
        .unwrap();
    assert_eq!(report.digest.as_deref(), Some("sha256:abc"));
    assert_eq!(seen.len(), 5);
    assert_eq!(
        seen[2],
        (Some("aaa".into()), "Pushing".into(), Some(512), Some(1024))
    );
    assert_eq!(seen[0].0, None, "the first line is about the image");
    let head = server.await.unwrap();
    assert!(
        head.starts_with("POST /images/127.0.0.1:5999/app/push?tag=1 HTTP/1.1"),
        "{head}"
    );
    assert!(head.to_ascii_lowercase().contains("x-registry-auth: "), "{head}");
}

#[tokio::test]
async fn a_refused_push_ends_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("docker.sock");
    let server = tokio::spawn(answer_push(
        sock.clone(),
        "200 OK",
        concat!(
            "{\"status\":\"Preparing\",\"progressDetail\":{},\"id\":\"aaa\"}\n",
            "{\"errorDetail\":{\"message\":\"unauthorized: authentication required\"},\"error\":\"unauthorized: authentication required\"}\n"
        ),
    ));
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let e = api(&sock)
        .push("127.0.0.1:5999/team/app:1", |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::PushDenied { repository, .. } if repository == "team/app"),
        "{e}"
    );
    server.await.unwrap();
    let e = api(&sock)
        .push("127.0.0.1:5999/app@sha256:".to_string().as_str(), |_| {})
        .await;
    assert!(e.is_err());
}
