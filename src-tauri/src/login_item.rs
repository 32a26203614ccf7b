//! "Start Berth at login", without a plugin: on Linux an XDG autostart entry
//! (`$XDG_CONFIG_HOME/autostart/berth.desktop`), on macOS a LaunchAgent
//! (`~/Library/LaunchAgents/dev.berth.Berth.plist`), on Windows a value under the current user's
//! `Software\Microsoft\Windows\CurrentVersion\Run` key (through `reg.exe`). Each starts the running
//! executable.

use std::path::{Path, PathBuf};

/// Why the setting could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum LoginItemError {
    /// No home folder to put the entry in.
    #[error("cannot find your home folder; set HOME and try again")]
    NoHome,
    /// The running executable's path is unknown.
    #[error(
        "cannot tell where Berth is installed ({0}); start it from its installed location and try again"
    )]
    NoExecutable(std::io::Error),
    /// Writing or removing the entry failed.
    #[error("cannot change {path}: {source}; check that the folder is writable")]
    Io {
        /// The entry.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The system tool refused, or the system is not supported.
    #[cfg_attr(any(target_os = "linux", target_os = "macos"), allow(dead_code))]
    #[error("{0}")]
    Command(String),
}

type Result<T> = std::result::Result<T, LoginItemError>;

/// Whether Berth starts at login.
pub fn enabled() -> Result<bool> {
    platform::enabled()
}

/// Makes Berth start at login (pointing at the running executable), or stops it doing so.
pub fn set(enabled: bool) -> Result<bool> {
    let exe = std::env::current_exe().map_err(LoginItemError::NoExecutable)?;
    platform::set(&exe, enabled)?;
    platform::enabled()
}

/// Whether Berth starts at login.
#[tauri::command]
pub async fn login_item_get() -> crate::error::Result<bool> {
    Ok(enabled()?)
}

/// Turns starting at login on or off; returns the new setting.
#[tauri::command]
pub async fn login_item_set(enabled: bool) -> crate::error::Result<bool> {
    Ok(set(enabled)?)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LoginItemError + '_ {
    move |source| LoginItemError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `contents` to `path` (creating its folder) or removes it.
fn write_or_remove(path: &Path, contents: Option<String>) -> Result<()> {
    match contents {
        Some(text) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io(path))?;
            }
            std::fs::write(path, text).map_err(io(path))
        }
        None => match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(path)(e)),
            _ => Ok(()),
        },
    }
}

/// XDG autostart: the file, and its contents.
#[cfg_attr(not(any(target_os = "linux", test)), allow(dead_code))]
mod xdg {
    use std::ffi::OsString;
    use std::path::{Path, PathBuf};

    /// `$XDG_CONFIG_HOME/autostart/berth.desktop`, or `$HOME/.config/autostart/berth.desktop`.
    pub fn entry_path(env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
        let config = env("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| {
                env("HOME")
                    .filter(|h| !h.is_empty())
                    .map(|h| PathBuf::from(h).join(".config"))
            })?;
        Some(config.join("autostart").join("berth.desktop"))
    }

    /// A desktop entry that starts `exe`.
    pub fn desktop_entry(exe: &Path) -> String {
        format!(
            "[Desktop Entry]\nType=Application\nName=Berth\nComment=Linux containers on your laptop\nExec={}\n\
             Terminal=false\nX-GNOME-Autostart-enabled=true\n",
            exec_arg(&exe.to_string_lossy())
        )
    }

    /// Quotes a program path for `Exec=` (the Desktop Entry spec: reserved characters inside double quotes
    /// with `"`, `` ` ``, `$` and `\` escaped; then `\` escaped again and `%` doubled as the file format asks).
    fn exec_arg(path: &str) -> String {
        let plain = path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@".contains(c));
        let quoted = if plain {
            path.to_string()
        } else {
            let mut q = String::from("\"");
            for c in path.chars() {
                if matches!(c, '"' | '`' | '$' | '\\') {
                    q.push('\\');
                }
                q.push(c);
            }
            q.push('"');
            q
        };
        quoted.replace('\\', "\\\\").replace('%', "%%")
    }
}

#[cfg(target_os = "linux")]
mod platform {
    use super::*;

    fn path() -> Result<PathBuf> {
        xdg::entry_path(|k| std::env::var_os(k)).ok_or(LoginItemError::NoHome)
    }

    pub fn enabled() -> Result<bool> {
        Ok(path()?.exists())
    }

    pub fn set(exe: &Path, enabled: bool) -> Result<()> {
        write_or_remove(&path()?, enabled.then(|| xdg::desktop_entry(exe)))
    }
}

#[cfg(target_os = "macos")]
mod platform {
    use super::*;

    fn path() -> Result<PathBuf> {
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .ok_or(LoginItemError::NoHome)?;
        Ok(PathBuf::from(home).join("Library/LaunchAgents/dev.berth.Berth.plist"))
    }

    fn plist(exe: &Path) -> String {
        let exe = exe
            .to_string_lossy()
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
             <plist version=\"1.0\">\n<dict>\n  <key>Label</key>\n  <string>dev.berth.Berth</string>\n\
             \x20 <key>ProgramArguments</key>\n  <array>\n    <string>{exe}</string>\n  </array>\n\
             \x20 <key>RunAtLoad</key>\n  <true/>\n</dict>\n</plist>\n"
        )
    }

    pub fn enabled() -> Result<bool> {
        Ok(path()?.exists())
    }

    pub fn set(exe: &Path, enabled: bool) -> Result<()> {
        write_or_remove(&path()?, enabled.then(|| plist(exe)))
    }
}

#[cfg(windows)]
mod platform {
    use super::*;
    use std::process::{Command, Stdio};

    const KEY: &str = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run";

    fn reg(args: &[&str]) -> Result<bool> {
        let status = Command::new("reg.exe")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| LoginItemError::Command(format!("cannot run reg.exe ({e})")))?;
        Ok(status.success())
    }

    pub fn enabled() -> Result<bool> {
        reg(&["query", KEY, "/v", "Berth"])
    }

    pub fn set(exe: &Path, on: bool) -> Result<()> {
        let ok = if on {
            let value = format!("\"{}\"", exe.display());
            reg(&["add", KEY, "/v", "Berth", "/t", "REG_SZ", "/d", &value, "/f"])?
        } else {
            !enabled()? || reg(&["delete", KEY, "/v", "Berth", "/f"])?
        };
        if ok {
            Ok(())
        } else {
            Err(LoginItemError::Command(format!(
                "reg.exe could not change {KEY}\\Berth"
            )))
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
mod platform {
    use super::*;

    pub fn enabled() -> Result<bool> {
        Ok(false)
    }

    pub fn set(_exe: &Path, _enabled: bool) -> Result<()> {
        Err(LoginItemError::Command(
            "starting at login is not supported on this system yet".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn env<'a>(vars: &'a [(&'a str, &'a Path)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.as_os_str().to_owned())
        }
    }

    #[test]
    fn entry_goes_under_xdg_config_home_or_home() {
        let (home, cfg) = (Path::new("/home/u"), Path::new("/cfg"));
        assert_eq!(
            xdg::entry_path(env(&[("HOME", home), ("XDG_CONFIG_HOME", cfg)])),
            Some(PathBuf::from("/cfg/autostart/berth.desktop"))
        );
        assert_eq!(
            xdg::entry_path(env(&[("HOME", home), ("XDG_CONFIG_HOME", Path::new("relative"))])),
            Some(PathBuf::from("/home/u/.config/autostart/berth.desktop")),
            "a relative XDG_CONFIG_HOME is ignored, as the spec says"
        );
        assert_eq!(xdg::entry_path(env(&[])), None);
    }

    #[test]
    fn writes_and_removes_the_desktop_entry() {
        let dir = tempfile::tempdir().unwrap();
        let path = xdg::entry_path(env(&[("HOME", dir.path())])).unwrap();
        let exe = Path::new("/opt/Berth Apps/100% $berth/berth-app");
        write_or_remove(&path, Some(xdg::desktop_entry(exe))).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("[Desktop Entry]\nType=Application\nName=Berth\n"),
            "{text}"
        );
        assert!(
            text.contains("\nExec=\"/opt/Berth Apps/100%% \\\\$berth/berth-app\"\n"),
            "{text}"
        );
        write_or_remove(&path, None).unwrap();
        assert!(!path.exists());
        write_or_remove(&path, None).unwrap();
    }

    #[test]
    fn plain_paths_are_not_quoted() {
        let text = xdg::desktop_entry(Path::new("/usr/bin/berth-app"));
        assert!(text.contains("\nExec=/usr/bin/berth-app\n"), "{text}");
    }
}
