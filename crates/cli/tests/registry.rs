//! The `berth` binary's search, tags, catalog and layers commands against a fake Docker Hub on 127.0.0.1
//! and a real Debian `docker-registry` started here, with images the test builds and pushes.

use std::process::Command;

use berth_fixtures::hub::HubServer;
use berth_fixtures::registry::{file, layer_tar, push, Entry, TestImage, TestRegistry};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn berth(args: &[&str], hub: &str) -> Run {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .env("BERTH_HUB_URL", hub)
        .env("BERTH_HOME", home.path())
        .env_remove("BERTH_REGISTRY_PASSWORD")
        .output()
        .expect("run berth");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn json(r: &Run) -> serde_json::Value {
    assert_eq!(r.code, 0, "berth failed: {}", r.stderr);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.stdout))
}

#[test]
fn search_and_hub_tags_against_a_fake_hub() {
    let hub = HubServer::start().unwrap();
    let url = hub.url();

    let r = berth(&["search", "nginx"], &url);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(lines[0].starts_with("NAME") && lines[0].contains("STARS") && lines[0].contains("DESCRIPTION"));
    assert!(
        lines[1].starts_with("nginx ") && lines[1].contains("official"),
        "{}",
        r.stdout
    );
    assert!(
        lines[2].starts_with("bitnami/nginx") && lines[2].contains("verified"),
        "{}",
        r.stdout
    );
    assert_eq!(lines.len(), 4, "{}", r.stdout);

    let v = json(&berth(&["search", "nginx", "--json"], &url));
    assert_eq!(v["total"], 3);
    assert_eq!(v["results"][1]["namespace"], "bitnami");

    let r = berth(&["search", "nginx", "--limit", "1"], &url);
    assert_eq!(r.stdout.lines().count(), 2);
    assert!(
        r.stderr.contains("1 of 3 results; more with --page 2"),
        "{}",
        r.stderr
    );
    let r = berth(&["search", "nginx", "--limit", "1", "--page", "2"], &url);
    assert!(
        r.stdout.lines().nth(1).unwrap_or("").starts_with("bitnami/nginx"),
        "{}",
        r.stdout
    );
    let v = json(&berth(
        &["search", "nginx", "--limit", "1", "--page", "3", "--json"],
        &url,
    ));
    assert_eq!(
        v["next_page"],
        serde_json::Value::Null,
        "the last page says so: {v}"
    );
    let r = berth(&["search", "nginx", "--page", "0"], &url);
    assert_eq!(r.code, 2, "pages count from 1: {}", r.stderr);

    let r = berth(&["search", "ratelimited"], &url);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("rate limited us, retry after 42 s"),
        "{}",
        r.stderr
    );

    let r = berth(&["tags", "nginx"], &url);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("TAG"), "{}", r.stdout);
    let alpine = r
        .stdout
        .lines()
        .find(|l| l.starts_with("1.27-alpine"))
        .expect("the tag is listed");
    assert!(
        alpine.contains("2025-05-01") && alpine.contains("linux/arm/v7"),
        "{alpine}"
    );

    let r = berth(&["tags", "library/nosuch"], &url);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("not found: repository library/nosuch"),
        "{}",
        r.stderr
    );

    drop(hub);
    let r = berth(&["search", "nginx"], &url);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("cannot reach Docker Hub at") && r.stderr.contains("BERTH_HUB_URL"),
        "{}",
        r.stderr
    );
}

fn image() -> TestImage {
    TestImage {
        layers: vec![
            layer_tar(&[
                Entry::Dir("srv".into()),
                file("srv/index.html", 3000, b'i'),
                file("srv/tmp.bin", 9000, b't'),
            ]),
            layer_tar(&[
                Entry::Whiteout("srv/tmp.bin".into()),
                file("srv/index.html", 100, b'I'),
            ]),
        ],
        history: vec![
            ("/bin/sh -c #(nop) COPY dir:site in /srv ".into(), false),
            (
                "/bin/sh -c rm /srv/tmp.bin && echo hi > /srv/index.html".into(),
                false,
            ),
        ],
        architecture: "amd64".into(),
        variant: None,
    }
}

#[tokio::test]
async fn catalog_tags_and_layers_against_a_real_registry() {
    let reg = match TestRegistry::start() {
        Ok(r) => r,
        Err(reason) => {
            eprintln!("SKIPPED catalog_tags_and_layers_against_a_real_registry: {reason}");
            return;
        }
    };
    let host = reg.host().to_string();
    push(&host, "site/web", "1", &image()).await.unwrap();
    push(&host, "site/web", "2", &image()).await.unwrap();
    let nohub = "http://127.0.0.1:1";

    let v = json(&berth(&["catalog", &host, "--json"], nohub));
    assert_eq!(v, serde_json::json!(["site/web"]));
    let r = berth(&["catalog", &format!("http://{host}")], nohub);
    assert_eq!(r.stdout, "REPOSITORY\nsite/web\n");

    let r = berth(&["tags", &format!("{host}/site/web")], nohub);
    assert_eq!(r.stdout, "TAG\n1\n2\n", "{}", r.stderr);

    let r = berth(&["layers", &format!("{host}/site/web:1")], nohub);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("linux/amd64"), "{}", r.stdout);
    assert!(r.stdout.contains("wasted 12 kB"), "{}", r.stdout);
    assert!(r.stdout.contains("COPY dir:site in /srv"), "{}", r.stdout);
    assert!(r.stdout.contains("RUN rm /srv/tmp.bin"), "{}", r.stdout);
    assert!(r.stdout.contains("9.0 kB  /srv/tmp.bin"), "{}", r.stdout);

    let v = json(&berth(
        &["layers", &format!("{host}/site/web:2"), "--json"],
        nohub,
    ));
    assert_eq!(v["wasted"], 12000);
    assert_eq!(v["layers"][1]["files"][0]["path"], "srv/tmp.bin");
    assert_eq!(v["layers"][1]["files"][0]["change"], "deleted");
    assert_eq!(v["layers"][1]["files"][1]["change"], "changed");

    let r = berth(&["layers", &format!("{host}/site/web:1"), "--files"], nohub);
    assert!(r.stdout.contains("  -  9.0 kB  /srv/tmp.bin"), "{}", r.stdout);

    let r = berth(&["layers", &format!("{host}/site/web:nope")], nohub);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("not found: image"), "{}", r.stderr);
    let r = berth(&["layers", "Site/Web:1"], nohub);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("not a valid reference: \"Site/Web:1\" because"),
        "{}",
        r.stderr
    );
    let r = berth(&["catalog", "docker.io"], nohub);
    assert!(r.code == 1 && r.stderr.contains("berth search"), "{}", r.stderr);
    drop(reg);
    let r = berth(&["catalog", &host], nohub);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("cannot reach registry"), "{}", r.stderr);
}

#[test]
fn layers_of_a_docker_save_archive() {
    let img = image();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("saved.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&path).unwrap());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, data).unwrap();
    };
    // Docker 25+ writes the OCI layout: blobs first, manifest.json last.
    add("blobs/sha256/l0", &img.layers[0]);
    add("blobs/sha256/l1", &img.layers[1]);
    add("blobs/sha256/cfg", &img.config_json());
    let manifest = r#"[{"Config":"blobs/sha256/cfg","RepoTags":["site/web:1"],"Layers":["blobs/sha256/l0","blobs/sha256/l1"]}]"#;
    add("manifest.json", manifest.as_bytes());
    b.finish().unwrap();
    drop(b);

    let v = json(&berth(
        &["layers", "--archive", path.to_str().unwrap(), "--json"],
        "http://127.0.0.1:1",
    ));
    assert_eq!(v["image"], "site/web:1");
    assert_eq!(v["wasted"], 12000);
    assert_eq!(
        v["compressed_size"],
        serde_json::Value::Null,
        "an archive has no download size"
    );
    assert_eq!(v["layers"][0]["instruction"], "COPY dir:site in /srv");

    let r = berth(&["layers", "--archive", "/nonexistent.tar"], "http://127.0.0.1:1");
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("cannot open /nonexistent.tar"), "{}", r.stderr);
}
