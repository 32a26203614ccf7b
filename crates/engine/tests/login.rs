//! Logging in to a real registry behind htpasswd basic auth (Debian's docker-registry on a free 127.0.0.1
//! port), with the credentials kept in a real Secret Service: a private D-Bus session with gnome-keyring,
//! given to a child run of each test only (see `berth_fixtures::keyring`).

use berth_api::MachinePaths;
use berth_engine::registry::{ImageRef, Registry, RegistryError, RegistryOptions};
use berth_engine::{credentials_for, logged_in, Engine, Error};
use berth_fixtures::keyring::in_private_keyring;
use berth_fixtures::registry::{file, layer_tar, push_as, TestImage, TestRegistry};
use oci_client::secrets::RegistryAuth;

fn engine(dir: &std::path::Path) -> Engine {
    Engine::with_paths(MachinePaths {
        name: "t".into(),
        data_dir: dir.join("data"),
        run_dir: dir.join("run"),
    })
}

fn image() -> TestImage {
    TestImage {
        layers: vec![layer_tar(&[file("hello.txt", 6, b'h')])],
        history: vec![("ADD hello.txt /".into(), false)],
        architecture: "amd64".into(),
        variant: None,
    }
}

#[tokio::test]
async fn login_checks_the_password_then_keeps_it_in_the_keyring() {
    if !in_private_keyring("login_checks_the_password_then_keeps_it_in_the_keyring") {
        return;
    }
    let reg = match TestRegistry::start_with_auth("ann", "s3cret pw") {
        Ok(r) => r,
        Err(reason) => {
            eprintln!("SKIPPED login_checks_the_password_then_keeps_it_in_the_keyring: {reason}");
            return;
        }
    };
    let host = reg.host().to_string();
    let auth = RegistryAuth::Basic("ann".into(), "s3cret pw".into());
    push_as(&host, "team/app", "1", &image(), auth).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());

    // Without credentials the registry refuses.
    let anon = Registry::new(&host, &RegistryOptions::default())
        .catalog(10)
        .await;
    assert!(
        matches!(anon, Err(RegistryError::Unauthorized { .. })),
        "{anon:?}"
    );

    // A wrong password: refused, and nothing lands in the keyring.
    let err = e.login(&host, "ann", "wrong").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("wrong username or password for {host}; nothing was stored")
    );
    assert!(credentials_for(&host).await.unwrap().is_none());
    assert!(logged_in().await.unwrap().is_empty());
    let err = e.login(&host, "bob", "s3cret pw").await.unwrap_err();
    assert!(
        matches!(err, Error::Registry(RegistryError::WrongCredentials { .. })),
        "{err}"
    );

    // The right one: stored, and the registry client uses it.
    let login = e.login(&host, "ann", "s3cret pw").await.unwrap();
    assert_eq!(
        (login.registry.as_str(), login.username.as_str()),
        (host.as_str(), "ann")
    );
    let stored = credentials_for(&format!("http://{host}/"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.username.as_str(), stored.secret.as_str()),
        ("ann", "s3cret pw")
    );
    assert_eq!(
        logged_in().await.unwrap().get(&host).map(String::as_str),
        Some("ann")
    );
    let opts = e.registry_options(&host).await.unwrap();
    let r = Registry::new(&host, &opts);
    assert_eq!(r.catalog(10).await.unwrap(), ["team/app"]);
    let repo = ImageRef::parse(&format!("{host}/team/app")).unwrap();
    assert_eq!(r.tags(&repo).await.unwrap(), ["1"]);

    // The guest's name for this computer is checked on 127.0.0.1 and filed under the guest's name.
    let port = host.rsplit_once(':').unwrap().1;
    let alias = format!("host.docker.internal:{port}");
    e.login(&alias, "ann", "s3cret pw").await.unwrap();
    assert_eq!(credentials_for(&alias).await.unwrap().unwrap().username, "ann");

    // Logout forgets.
    assert!(e.logout(&host).await.unwrap());
    assert!(!e.logout(&host).await.unwrap(), "a second logout finds nothing");
    assert!(credentials_for(&host).await.unwrap().is_none());
    assert!(e.logout(&alias).await.unwrap());
    assert!(logged_in().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_unreachable_registry_stores_nothing() {
    if !in_private_keyring("an_unreachable_registry_stores_nothing") {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let host = format!("127.0.0.1:{port}");
    let err = engine(dir.path()).login(&host, "ann", "pw").await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("cannot reach registry {host}")),
        "{err}"
    );
    assert!(credentials_for(&host).await.unwrap().is_none());
}
