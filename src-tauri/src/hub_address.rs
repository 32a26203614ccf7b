//! The Docker Hub address the Discover screen searches: `BERTH_HUB_URL` when set (tests point it at a
//! fixture), else the address saved in Settings (`preferences.json` beside `window.json` in the app's
//! config folder), else <https://hub.docker.com>.

use std::path::{Path, PathBuf};

use berth_engine::registry::{Hub, DEFAULT_HUB_URL, HUB_URL_ENV};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, Result};

/// The app's preferences file (other preferences may join the Hub address here).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Preferences {
    /// The saved Docker Hub address; none: the default.
    pub hub_url: Option<String>,
}

/// The address in use and where it comes from, as the UI's `HubAddress`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HubAddress {
    url: String,
    default_url: String,
    env_override: Option<String>,
}

/// Where the preferences live.
pub fn file() -> Option<PathBuf> {
    Some(crate::window_state::file()?.with_file_name("preferences.json"))
}

/// The saved preferences; defaults when there is no file or it cannot be read.
pub fn load(path: &Path) -> Preferences {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
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

/// The address in use: the environment's, the saved one, or the default.
pub fn resolve(env: Option<String>, prefs: &Preferences) -> HubAddress {
    let env = env.filter(|v| !v.trim().is_empty());
    let url = env
        .clone()
        .or_else(|| prefs.hub_url.clone())
        .unwrap_or_else(|| DEFAULT_HUB_URL.to_string());
    HubAddress {
        url,
        default_url: DEFAULT_HUB_URL.to_string(),
        env_override: env,
    }
}

fn current() -> HubAddress {
    let prefs = file().map(|f| load(&f)).unwrap_or_default();
    resolve(std::env::var(HUB_URL_ENV).ok(), &prefs)
}

/// A Hub client for the address in use.
pub fn hub() -> Result<Hub> {
    Ok(Hub::new(&current().url)?)
}

/// Checks and saves `url` (empty: back to the default) in `path`.
pub fn set_in(path: &Path, url: &str) -> Result<()> {
    let url = url.trim().trim_end_matches('/');
    let hub_url = if url.is_empty() || url == DEFAULT_HUB_URL {
        None
    } else {
        // The engine's own check: http:// or https://.
        Hub::new(url)?;
        if url.contains(char::is_whitespace) {
            return Err(AppError::Invalid(format!(
                "{url:?} is not an address; enter one like https://hub.docker.com"
            )));
        }
        Some(url.to_string())
    };
    let mut prefs = load(path);
    prefs.hub_url = hub_url;
    save(path, &prefs)
}

#[tauri::command]
pub async fn hub_address_get() -> Result<HubAddress> {
    Ok(current())
}

/// Saves the address Discover searches; the next search uses it.
#[tauri::command]
pub async fn hub_address_set(url: String) -> Result<HubAddress> {
    let path = file().ok_or_else(|| {
        AppError::Invalid("cannot find the app's config folder: set HOME or BERTH_HOME".into())
    })?;
    set_in(&path, &url)?;
    Ok(current())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_wins_then_the_saved_address_then_the_default() {
        let saved = Preferences {
            hub_url: Some("http://127.0.0.1:9".into()),
        };
        assert_eq!(resolve(None, &Preferences::default()).url, DEFAULT_HUB_URL);
        assert_eq!(resolve(None, &saved).url, "http://127.0.0.1:9");
        let a = resolve(Some("http://127.0.0.1:7".into()), &saved);
        assert_eq!(
            (a.url.as_str(), a.env_override.as_deref()),
            ("http://127.0.0.1:7", Some("http://127.0.0.1:7"))
        );
        assert_eq!(resolve(Some(" ".into()), &saved).env_override, None);
    }

    #[test]
    fn addresses_are_checked_saved_and_reset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app/preferences.json");
        set_in(&path, "http://127.0.0.1:5001/").unwrap();
        assert_eq!(load(&path).hub_url.as_deref(), Some("http://127.0.0.1:5001"));
        let e = set_in(&path, "hub.example.com").unwrap_err();
        assert!(
            e.to_string().contains("must start with http:// or https://"),
            "{e}"
        );
        assert_eq!(
            load(&path).hub_url.as_deref(),
            Some("http://127.0.0.1:5001"),
            "a refused address changes nothing"
        );
        set_in(&path, "").unwrap();
        assert_eq!(load(&path).hub_url, None);
    }
}
