//! Remembers the main window's size and position in `window.json` in the app's config folder
//! (`ProjectDirs::from("dev", "berth", "Berth")`, or `$BERTH_HOME/app` when `BERTH_HOME` is set, so tests
//! and benchmarks leave the user's alone). Saved half a second after the last move or resize and when the
//! window closes; restored at startup, except a position that lies off every monitor.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tauri::{Manager, PhysicalPosition, PhysicalSize, Runtime, Window, WindowEvent};

/// How long the window must stay still before its geometry is written.
const DEBOUNCE: Duration = Duration::from_millis(500);
/// Smallest size restored (the window's own minimum is 720×480 logical pixels).
const MIN_SIDE: u32 = 200;
/// A position is restored when the point this far right of and below the window's top-left corner (in its
/// title bar) lies on a monitor: enough of the window to grab it.
const GRIP: i64 = 32;

/// Why the geometry could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum WindowStateError {
    /// No config folder (no home folder).
    #[error("cannot find a config folder for the window's size; set HOME")]
    NoConfigDir,
    /// Writing the file failed.
    #[error("cannot save the window's size to {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The window's outer position and inner size in physical pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Geometry {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Inner width.
    pub width: u32,
    /// Inner height.
    pub height: u32,
    /// Whether the window was maximized (x/y/width/height are then its size before).
    #[serde(default)]
    pub maximized: bool,
}

/// A monitor's area in physical pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Area {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl Geometry {
    /// Whether the size is worth restoring.
    pub fn size_ok(&self) -> bool {
        self.width >= MIN_SIDE && self.height >= MIN_SIDE
    }

    /// Whether the window's title bar (a point just inside its top-left corner) lies on one of `monitors`.
    pub fn on_a_monitor(&self, monitors: &[Area]) -> bool {
        let px = i64::from(self.x) + GRIP.min(i64::from(self.width));
        let py = i64::from(self.y) + GRIP.min(i64::from(self.height));
        monitors.iter().any(|m| {
            let (mx, my) = (i64::from(m.x), i64::from(m.y));
            px >= mx && py >= my && px < mx + i64::from(m.width) && py < my + i64::from(m.height)
        })
    }
}

/// Where the geometry is kept.
pub fn file() -> Option<PathBuf> {
    let dir = match std::env::var_os("BERTH_HOME") {
        Some(home) => PathBuf::from(home).join("app"),
        None => directories::ProjectDirs::from("dev", "berth", "Berth")?
            .config_dir()
            .to_path_buf(),
    };
    Some(dir.join("window.json"))
}

/// The saved geometry; none when there is no file or it cannot be read.
pub fn load(path: &Path) -> Option<Geometry> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes the geometry (through a temporary file, so a crash never leaves half a file).
pub fn save(path: &Path, geometry: &Geometry) -> Result<(), WindowStateError> {
    let io = |source| WindowStateError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(geometry).unwrap_or_default();
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// The latest geometry seen and a counter of changes (for the debounce).
#[derive(Default)]
pub struct WindowState {
    latest: Mutex<Option<Geometry>>,
    changes: AtomicU64,
}

/// Applies the saved geometry to the window (call before it is shown, in `setup`).
pub fn restore<R: Runtime, M: Manager<R>>(app: &M, label: &str) {
    let Some(window) = app.get_webview_window(label) else {
        return;
    };
    let Some(saved) = file().and_then(|f| load(&f)) else {
        return;
    };
    if saved.size_ok() {
        let _ = window.set_size(PhysicalSize::new(saved.width, saved.height));
    }
    let monitors: Vec<Area> = window
        .available_monitors()
        .unwrap_or_default()
        .iter()
        .map(|m| Area {
            x: m.position().x,
            y: m.position().y,
            width: m.size().width,
            height: m.size().height,
        })
        .collect();
    if saved.on_a_monitor(&monitors) {
        let _ = window.set_position(PhysicalPosition::new(saved.x, saved.y));
    } else {
        tracing::info!(
            x = saved.x,
            y = saved.y,
            "the saved window position is off every monitor; not restoring it"
        );
    }
    if saved.maximized {
        let _ = window.maximize();
    }
    if let Some(state) = app.try_state::<WindowState>() {
        *state.latest.lock().unwrap_or_else(|e| e.into_inner()) = Some(saved);
    }
}

/// Follows moves and resizes (saving after a pause) and saves when the window closes.
pub fn on_window_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    let Some(state) = window.try_state::<WindowState>() else {
        return;
    };
    match event {
        WindowEvent::Moved(_) | WindowEvent::Resized(_) => {
            if !note(window, &state) {
                return;
            }
            let n = state.changes.fetch_add(1, Ordering::SeqCst) + 1;
            let app = window.app_handle().clone();
            tauri::async_runtime::spawn(async move {
                tokio::time::sleep(DEBOUNCE).await;
                let state = app.state::<WindowState>();
                if state.changes.load(Ordering::SeqCst) == n {
                    write(&state);
                }
            });
        }
        WindowEvent::CloseRequested { .. } | WindowEvent::Destroyed => {
            note(window, &state);
            write(&state);
        }
        _ => {}
    }
}

/// Records the window's geometry; false when there is nothing to record (minimized or hidden).
fn note<R: Runtime>(window: &Window<R>, state: &WindowState) -> bool {
    if window.is_minimized().unwrap_or(false) || !window.is_visible().unwrap_or(true) {
        return false;
    }
    let maximized = window.is_maximized().unwrap_or(false);
    let mut latest = state.latest.lock().unwrap_or_else(|e| e.into_inner());
    if maximized {
        // Keep the size from before maximizing, so un-maximizing after a restart returns to it.
        if let Some(g) = latest.as_mut() {
            g.maximized = true;
            return true;
        }
    }
    let (Ok(pos), Ok(size)) = (window.outer_position(), window.inner_size()) else {
        return false;
    };
    *latest = Some(Geometry {
        x: pos.x,
        y: pos.y,
        width: size.width,
        height: size.height,
        maximized,
    });
    true
}

fn write(state: &WindowState) {
    let Some(geometry) = *state.latest.lock().unwrap_or_else(|e| e.into_inner()) else {
        return;
    };
    let result = file()
        .ok_or(WindowStateError::NoConfigDir)
        .and_then(|f| save(&f, &geometry));
    if let Err(e) = result {
        tracing::warn!(error = %e, "window size not saved");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(x: i32, y: i32) -> Geometry {
        Geometry {
            x,
            y,
            width: 1100,
            height: 720,
            maximized: false,
        }
    }

    #[test]
    fn a_position_must_lie_on_some_monitor() {
        let monitors = [
            Area {
                x: 0,
                y: 0,
                width: 1920,
                height: 1080,
            },
            Area {
                x: 1920,
                y: -200,
                width: 1280,
                height: 1024,
            },
        ];
        assert!(geometry(100, 100).on_a_monitor(&monitors));
        assert!(
            geometry(1900, 50).on_a_monitor(&monitors),
            "straddling two monitors"
        );
        assert!(
            geometry(2000, -150).on_a_monitor(&monitors),
            "second monitor, above the first's top"
        );
        assert!(
            !geometry(-1100, 100).on_a_monitor(&monitors),
            "a monitor that was unplugged"
        );
        assert!(
            !geometry(100, 1060).on_a_monitor(&monitors),
            "only a sliver left on screen"
        );
        assert!(
            !geometry(-40, -40).on_a_monitor(&monitors[..1]),
            "title bar above the screen"
        );
        assert!(!geometry(i32::MAX, i32::MAX).on_a_monitor(&monitors));
        assert!(!geometry(0, 0).on_a_monitor(&[]), "no monitors known");
    }

    #[test]
    fn tiny_sizes_are_not_restored() {
        assert!(geometry(0, 0).size_ok());
        assert!(!Geometry {
            width: 10,
            ..geometry(0, 0)
        }
        .size_ok());
    }

    #[test]
    fn saves_and_loads_through_a_new_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/window.json");
        assert_eq!(load(&path), None);
        let g = Geometry {
            maximized: true,
            ..geometry(-40, 30)
        };
        save(&path, &g).unwrap();
        assert_eq!(load(&path), Some(g));
        assert!(!path.with_extension("json.tmp").exists());
        std::fs::write(&path, "{ not json").unwrap();
        assert_eq!(load(&path), None, "a damaged file is ignored");
        std::fs::write(&path, r#"{"x":1,"y":2,"width":800,"height":600}"#).unwrap();
        assert_eq!(
            load(&path).map(|g| g.maximized),
            Some(false),
            "older files without `maximized`"
        );
    }
}
