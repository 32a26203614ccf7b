//! The docker CLI's `config.json`: point it at `docker-credential-berth` for a registry
//! (`"credHelpers": {"<registry>": "berth"}`), merging into what is there and writing atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::server::registry_key;

/// The helper's name in `credHelpers` (the docker CLI runs `docker-credential-<name>`).
pub const HELPER_NAME: &str = "berth";

/// What [`use_helper_for`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelperSetup {
    /// The config file.
    pub path: PathBuf,
    /// The registry's key in `credHelpers`.
    pub registry: String,
    /// Whether the file was changed (false: it already named Berth's helper).
    pub changed: bool,
    /// Whether `auths` still holds a base64 password for the registry from an earlier `docker login`
    /// (the docker CLI ignores it now; the user may want it gone).
    pub plaintext_left: bool,
}

/// The docker CLI's config folder: `$DOCKER_CONFIG`, else `~/.docker`.
pub fn docker_config_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let home = if cfg!(windows) {
        std::env::var_os("USERPROFILE")
    } else {
        std::env::var_os("HOME")
    };
    home.filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".docker"))
}

/// Makes `<dir>/config.json` send the docker CLI to Berth's helper for `registry`, keeping every other
/// key as it is. The file is replaced atomically (a temporary file in the same folder, renamed), with
/// owner-only permissions as the docker CLI writes it.
pub fn use_helper_for(dir: &Path, registry: &str) -> Result<HelperSetup> {
    let key = registry_key(registry);
    if key.is_empty() {
        return Err(Error::Invalid("name a registry, e.g. 127.0.0.1:5000".into()));
    }
    let path = dir.join("config.json");
    let bad = |detail: String| Error::BadDockerConfig {
        path: path.display().to_string(),
        detail,
    };
    let mut config: Map<String, Value> = match std::fs::read(&path) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Map::new(),
        Ok(bytes) => match serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))? {
            Value::Object(m) => m,
            _ => return Err(bad("it is not a JSON object".into())),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
        Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
    };
    let plaintext_left = config
        .get("auths")
        .and_then(|a| a.get(&key))
        .and_then(|a| a.get("auth"))
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty());
    let helpers = config
        .entry("credHelpers")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(helpers) = helpers else {
        return Err(bad("its \"credHelpers\" is not an object".into()));
    };
    let changed = helpers.get(&key).and_then(Value::as_str) != Some(HELPER_NAME);
    if changed {
        helpers.insert(key.clone(), Value::String(HELPER_NAME.into()));
        let text = serde_json::to_string_pretty(&config).map_err(|e| bad(e.to_string()))?;
        write_atomically(dir, &path, text.as_bytes())?;
    }
    Ok(HelperSetup {
        path,
        registry: key,
        changed,
        plaintext_left,
    })
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    let ctx = |what: &str| format!("cannot {what} {}", path.display());
    create_private_dir(dir).map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".config.json.")
        .tempfile_in(dir)
        .map_err(|e| Error::io(ctx("write next to"), e))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.write_all(b"\n"))
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| Error::io(ctx("write"), e))?;
    // tempfile creates the file owner-only (0600) already; keep a stricter existing mode as it is.
    tmp.persist(path)
        .map_err(|e| Error::io(ctx("replace"), e.error))?;
    Ok(())
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(dir: &Path) -> Value {
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap()
    }

    #[test]
    fn a_missing_file_and_folder_are_created() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("docker");
        let s = use_helper_for(&dir, "http://127.0.0.1:5000/").unwrap();
        assert!(s.changed && !s.plaintext_left);
        assert_eq!(s.registry, "127.0.0.1:5000");
        assert_eq!(
            read(&dir),
            serde_json::json!({"credHelpers": {"127.0.0.1:5000": "berth"}})
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("config.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "owner-only: {mode:o}");
        }
    }

    #[test]
    fn other_keys_and_helpers_survive() {
        let tmp = tempfile::tempdir().unwrap();
        let before = serde_json::json!({
            "auths": {"127.0.0.1:5000": {"auth": "YW5uOnB3"}, "other:1": {}},
            "credsStore": "desktop",
            "credHelpers": {"gcr.io": "gcloud"},
            "currentContext": "berth",
            "proxies": {"default": {"httpProxy": "http://p:3128"}}
        });
        std::fs::write(tmp.path().join("config.json"), before.to_string()).unwrap();
        let s = use_helper_for(tmp.path(), "127.0.0.1:5000").unwrap();
        assert!(s.changed && s.plaintext_left);
        let mut want = before.clone();
        want["credHelpers"]["127.0.0.1:5000"] = "berth".into();
        assert_eq!(read(tmp.path()), want);
        // Docker Hub under its docker CLI key.
        use_helper_for(tmp.path(), "docker.io").unwrap();
        assert_eq!(
            read(tmp.path())["credHelpers"]["https://index.docker.io/v1/"],
            "berth"
        );
        let again = use_helper_for(tmp.path(), "127.0.0.1:5000").unwrap();
        assert!(!again.changed, "nothing to do the second time");
        let leftovers: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn unreadable_configs_are_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("config.json");
        for bad in ["{not json", "[1,2]", r#"{"credHelpers": "x"}"#] {
            std::fs::write(&path, bad).unwrap();
            let e = use_helper_for(tmp.path(), "r:5000").unwrap_err();
            assert!(matches!(e, Error::BadDockerConfig { .. }), "{e}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), bad, "untouched");
        }
        std::fs::write(&path, "  \n").unwrap();
        assert!(
            use_helper_for(tmp.path(), "r:5000").unwrap().changed,
            "an empty file is an empty config"
        );
    }
}
