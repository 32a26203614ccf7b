//! The registry client and the layer explorer against a real registry: Debian's `docker-registry` started
//! on a free 127.0.0.1 port, with images built and pushed here (no Docker daemon, no public network).

use berth_engine::registry::{Change, ImageRef, Registry, RegistryError, RegistryOptions};
use berth_fixtures::registry::{file, gzip, layer_tar, push, push_index, Entry, TestImage, TestRegistry};

fn image(architecture: &str, variant: Option<&str>) -> TestImage {
    TestImage {
        layers: vec![
            layer_tar(&[
                Entry::Dir("app".into()),
                file("app/data.bin", 4096, b'd'),
                file("app/old.log", 1000, b'l'),
                file("etc/motd", 12, b'm'),
            ]),
            layer_tar(&[
                file("app/data.bin", 2048, b'D'),
                Entry::Whiteout("app/old.log".into()),
                file(&format!("arch-{architecture}"), 3, b'a'),
            ]),
        ],
        history: vec![
            ("/bin/sh -c #(nop) ADD file:base in / ".into(), false),
            ("/bin/sh -c #(nop)  ENV MODE=test".into(), true),
            ("RUN /bin/sh -c ./build.sh # buildkit".into(), false),
        ],
        architecture: architecture.into(),
        variant: variant.map(String::from),
    }
}

#[tokio::test]
async fn catalog_tags_manifests_and_layers_of_a_real_registry() {
    let reg = match TestRegistry::start() {
        Ok(r) => r,
        Err(reason) => {
            eprintln!("SKIPPED catalog_tags_manifests_and_layers_of_a_real_registry: {reason}");
            return;
        }
    };
    let host = reg.host().to_string();
    let amd = image("amd64", None);
    let arm = image("arm64", Some("v8"));
    let (amd_digest, amd_size) = push(&host, "demo/app", "1", &amd).await.unwrap();
    let (arm_digest, arm_size) = push(&host, "demo/app", "arm64", &arm).await.unwrap();
    let list = [
        (amd_digest.clone(), amd_size, "amd64", None),
        (arm_digest.clone(), arm_size, "arm64", Some("v8")),
    ];
    push_index(&host, "demo/app", "multi", &list).await.unwrap();
    push(&host, "other", "latest", &amd).await.unwrap();

    let r = Registry::new(&host, &RegistryOptions::default());
    assert_eq!(r.catalog(1000).await.unwrap(), ["demo/app", "other"]);
    assert_eq!(r.catalog(1).await.unwrap().len(), 1, "the limit holds");
    let repo = ImageRef::parse(&format!("{host}/demo/app")).unwrap();
    assert_eq!(r.tags(&repo).await.unwrap(), ["1", "arm64", "multi"]);

    // One image: its platform comes from its config.
    let one = ImageRef::parse(&format!("{host}/demo/app:1")).unwrap();
    let m = r.manifest(&one).await.unwrap();
    assert!(!m.is_list);
    assert_eq!(m.digest, amd_digest);
    assert_eq!(m.platforms.len(), 1);
    assert_eq!(m.platforms[0].platform, "linux/amd64");
    assert_eq!(m.platforms[0].layers, 2);
    let blobs: u64 =
        amd.layers.iter().map(|l| gzip(l).len() as u64).sum::<u64>() + amd.config_json().len() as u64;
    assert_eq!(m.platforms[0].size, blobs, "config and layers as stored");

    // A manifest list: every platform with its digest.
    let multi = ImageRef::parse(&format!("{host}/demo/app:multi")).unwrap();
    let m = r.manifest(&multi).await.unwrap();
    assert!(m.is_list);
    let platforms: Vec<(&str, &str)> = m
        .platforms
        .iter()
        .map(|p| (p.platform.as_str(), p.digest.as_str()))
        .collect();
    assert_eq!(
        platforms,
        [
            ("linux/amd64", amd_digest.as_str()),
            ("linux/arm64/v8", arm_digest.as_str())
        ]
    );

    // The layer explorer reads the blobs as they stream.
    let report = r.explore_layers(&multi, Some("linux/arm64")).await.unwrap();
    assert_eq!(report.digest.as_deref(), Some(arm_digest.as_str()));
    assert_eq!(report.platform, "linux/arm64/v8");
    assert_eq!(report.layers.len(), 2);
    let [base, top] = &report.layers[..] else {
        unreachable!()
    };
    assert_eq!(base.instruction.as_deref(), Some("ADD file:base in /"));
    assert_eq!(
        top.instruction.as_deref(),
        Some("RUN /bin/sh -c ./build.sh"),
        "BuildKit text kept as written"
    );
    assert_eq!(base.size, 4096 + 1000 + 12);
    assert_eq!(top.size, 2048 + 3);
    assert_eq!(base.compressed_size, Some(gzip(&arm.layers[0]).len() as u64));
    let kinds: Vec<(&str, Change, u64)> = top
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.change, f.size))
        .collect();
    assert_eq!(
        kinds,
        [
            ("app/data.bin", Change::Changed, 2048),
            ("app/old.log", Change::Deleted, 1000),
            ("arch-arm64", Change::Added, 3)
        ]
    );
    assert_eq!(report.wasted, 4096 + 1000);
    assert_eq!(report.wasted_paths[0].path, "app/data.bin");
    assert_eq!(report.size, 4096 + 1000 + 12 + 2048 + 3);

    let plain = r.explore_layers(&one, None).await.unwrap();
    assert_eq!(plain.digest.as_deref(), Some(amd_digest.as_str()));
    assert!(plain.layers[1].files.iter().any(|f| f.path == "arch-amd64"));

    // Errors say what is missing.
    let missing = ImageRef::parse(&format!("{host}/demo/app:nope")).unwrap();
    let e = r.manifest(&missing).await.unwrap_err();
    assert!(matches!(e, RegistryError::NotFound { .. }), "{e}");
    let e = r
        .tags(&ImageRef::parse(&format!("{host}/nosuch")).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(e, RegistryError::NotFound { .. }), "{e}");
    let e = r.explore_layers(&multi, Some("linux/s390x")).await.unwrap_err();
    assert!(e.to_string().contains("linux/amd64, linux/arm64/v8"), "{e}");

    let pid = reg.pid();
    drop(reg);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z ")),
        "the registry is stopped"
    );
    let e = Registry::new(&host, &RegistryOptions::default())
        .catalog(10)
        .await
        .unwrap_err();
    assert!(matches!(e, RegistryError::Unreachable { .. }), "{e}");
}
