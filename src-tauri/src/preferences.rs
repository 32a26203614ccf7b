//! The app's preferences file, `preferences.json` beside `window.json` in the app's config folder
//! (`$BERTH_HOME/app` when `BERTH_HOME` is set): the Docker Hub address Discover searches (`hub_address`)
//! and the registries added on the Registries screen (`known_registries`). Each change reads the file,
//! changes one field and writes it back, so the others are kept.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::{AppError, Result};

/// What `preferences.json` holds; a missing field is its default.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Preferences {
    /// The saved Docker Hub address; none: the default.
    pub hub_url: Option<String>,
    /// Registries (`host[:port]`, reached over HTTPS) added on the Registries screen.
    pub registries: Vec<String>,
}

/// One change at a time: two commands must not each write back what the other did not see.
static CHANGING: Mutex<()> = Mutex::new(());

/// Where the preferences live.
pub fn file() -> Option<PathBuf> {
    Some(crate::window_state::file()?.with_file_name("preferences.json"))
}

/// `file()`, or why there is none.
pub fn required_file() -> Result<PathBuf> {
    file().ok_or_else(|| {
        AppError::Invalid("cannot find the app's config folder: set HOME or BERTH_HOME".into())
    })
}

/// The saved preferences; defaults when there is no file or it cannot be read.
pub fn load(path: &Path) -> Preferences {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// The saved preferences, or the defaults when there is no config folder.
pub fn current() -> Preferences {
    file().map(|f| load(&f)).unwrap_or_default()
}

/// Reads `path`, lets `change` edit the preferences (an error leaves the file as it was) and saves them.
pub fn update<T>(path: &Path, change: impl FnOnce(&mut Preferences) -> Result<T>) -> Result<T> {
    let _one = CHANGING.lock().unwrap_or_else(|e| e.into_inner());
    let mut prefs = load(path);
    let out = change(&mut prefs)?;
    save(path, &prefs)?;
    Ok(out)
}

fn save(path: &Path, prefs: &Preferences) -> Result<()> {
    let fail = |e: std::io::Error| {
        AppError::Invalid(format!(
            "cannot save the preferences in {} ({e}); check that the folder is writable",
            path.display()
        ))
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let text = serde_json::to_string_pretty(prefs).map_err(|e| AppError::Invalid(e.to_string()))?;
    std::fs::write(path, text).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_keeps_the_other_fields_and_a_refused_one_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app/preferences.json");
        // A file from before `registries` existed still reads.
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, r#"{"hub_url":"http://127.0.0.1:9"}"#).unwrap();
        update(&path, |p| {
            p.registries.push("reg.lan:5000".into());
            Ok(())
        })
        .unwrap();
        let saved = load(&path);
        assert_eq!(saved.hub_url.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(saved.registries, ["reg.lan:5000"]);
        let refused = update(&path, |p| -> Result<()> {
            p.registries.clear();
            Err(AppError::Invalid("no".into()))
        });
        assert!(refused.is_err());
        assert_eq!(load(&path), saved);
    }
}
