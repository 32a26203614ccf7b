//! The Docker Hub address the Discover screen searches: `BERTH_HUB_URL` when set (tests point it at a
//! fixture), else the address saved in Settings (`preferences.json` beside `window.json` in the app's
//! config folder), else <https://hub.docker.com>.

use std::path::Path;

use berth_engine::registry::{Hub, DEFAULT_HUB_URL, HUB_URL_ENV};
use serde::Serialize;

use crate::error::{AppError, Result};
use crate::preferences::{self, Preferences};

/// The address in use and where it comes from, as the UI's `HubAddress`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HubAddress {
    url: String,
    default_url: String,
    env_override: Option<String>,
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
    resolve(std::env::var(HUB_URL_ENV).ok(), &preferences::current())
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
    preferences::update(path, |prefs| {
        prefs.hub_url = hub_url;
        Ok(())
    })
}

#[tauri::command]
pub async fn hub_address_get() -> Result<HubAddress> {
    Ok(current())
}

/// Saves the address Discover searches; the next search uses it.
#[tauri::command]
pub async fn hub_address_set(url: String) -> Result<HubAddress> {
    set_in(&preferences::required_file()?, &url)?;
    Ok(current())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_wins_then_the_saved_address_then_the_default() {
        let saved = Preferences {
            hub_url: Some("http://127.0.0.1:9".into()),
            ..Default::default()
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
        assert_eq!(
            preferences::load(&path).hub_url.as_deref(),
            Some("http://127.0.0.1:5001")
        );
        let e = set_in(&path, "hub.example.com").unwrap_err();
        assert!(
            e.to_string().contains("must start with http:// or https://"),
            "{e}"
        );
        assert_eq!(
            preferences::load(&path).hub_url.as_deref(),
            Some("http://127.0.0.1:5001"),
            "a refused address changes nothing"
        );
        set_in(&path, "").unwrap();
        assert_eq!(preferences::load(&path).hub_url, None);
    }
}
