//! The machine's resource use on Home: while the window is visible, a task asks berthd for a usage
//! snapshot every 2 s and, while the machine runs (berthd answers), emits `machine-usage` with CPU %
//! since the previous snapshot, memory, disk and the hypervisor's resident memory. A hidden or minimized
//! window (closed to the tray) costs nothing: no request is made.

use std::sync::Mutex;
use std::time::Duration;

use berth_api::Usage;
use berth_engine::{Engine, UsageReading};
use tauri::{AppHandle, Manager, State};

use crate::commands::AppState;
use crate::error::Result;
use crate::events::{emit, MACHINE_USAGE};

/// How often the window's meters move.
const PERIOD: Duration = Duration::from_secs(2);

/// The snapshots between samples: the previous one (for CPU %) and the latest reading.
#[derive(Default)]
pub struct UsageSampler {
    inner: Mutex<Samples>,
}

#[derive(Default)]
struct Samples {
    previous: Option<Usage>,
    latest: Option<UsageReading>,
}

impl UsageSampler {
    /// Takes the answer of one `/v1/usage` request: a reading while the machine runs, else `None` (and
    /// the next snapshot starts afresh, so CPU % never spans a stop or a restart).
    pub fn take(&self, answer: std::result::Result<Usage, berth_engine::Error>) -> Option<UsageReading> {
        let mut s = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        match answer {
            Ok(now) => {
                let reading = UsageReading::new(s.previous.as_ref(), &now);
                s.previous = Some(now);
                s.latest = Some(reading);
                Some(reading)
            }
            Err(_) => {
                *s = Samples::default();
                None
            }
        }
    }

    /// Forgets the previous snapshot (the window was hidden: CPU % restarts from the next one).
    pub fn pause(&self) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).previous = None;
    }

    fn latest(&self) -> Option<UsageReading> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).latest
    }
}

/// Starts the sampling task for the life of the app.
pub fn spawn(app: AppHandle, engine: Engine) {
    tauri::async_runtime::spawn(async move {
        let mut was_running = false;
        loop {
            tokio::time::sleep(PERIOD).await;
            let sampler = app.state::<UsageSampler>();
            if !window_shown(&app) {
                sampler.pause();
                continue;
            }
            match sampler.take(engine.usage().await) {
                Some(reading) => {
                    was_running = true;
                    emit(&app, MACHINE_USAGE, &Some(reading));
                }
                None if was_running => {
                    was_running = false;
                    emit(&app, MACHINE_USAGE, &None::<UsageReading>);
                }
                None => {}
            }
        }
    });
}

fn window_shown(app: &AppHandle) -> bool {
    app.get_webview_window("main")
        .is_some_and(|w| w.is_visible().unwrap_or(false) && !w.is_minimized().unwrap_or(false))
}

/// The latest reading (taken within the last 2 s), or one snapshot now without a CPU % yet; `None`
/// while the machine does not run.
#[tauri::command]
pub async fn machine_usage(
    state: State<'_, AppState>,
    sampler: State<'_, UsageSampler>,
) -> Result<Option<UsageReading>> {
    if let Some(r) = sampler.latest() {
        return Ok(Some(r));
    }
    Ok(sampler.take(state.engine.usage().await))
}

#[cfg(test)]
mod tests {
    use berth_api::{CpuTimes, MemoryUsage};

    use super::*;

    fn snapshot(busy: u64, total: u64) -> Usage {
        Usage {
            cpu: CpuTimes {
                busy_jiffies: busy,
                total_jiffies: total,
                cpus: 2,
            },
            memory: MemoryUsage {
                total_bytes: 2 << 30,
                used_bytes: 300 << 20,
                available_bytes: (2 << 30) - (300 << 20),
            },
            disk: None,
            host_rss_bytes: Some(400 << 20),
        }
    }

    #[test]
    fn cpu_percent_comes_from_consecutive_samples_and_never_spans_a_stop() {
        let s = UsageSampler::default();
        let first = s.take(Ok(snapshot(100, 1_000))).unwrap();
        assert_eq!(first.cpu_percent, None, "one snapshot is no measurement");
        assert_eq!(first.memory_used_bytes, 300 << 20);
        let second = s.take(Ok(snapshot(150, 1_400))).unwrap();
        assert_eq!(second.cpu_percent, Some(12.5));
        assert_eq!(s.latest(), Some(second));
        assert_eq!(s.take(Err(berth_engine::Error::NotRunning)), None);
        assert_eq!(s.latest(), None, "a stopped machine has no reading");
        let after = s.take(Ok(snapshot(10, 100))).unwrap();
        assert_eq!(after.cpu_percent, None, "the guest restarted: start afresh");
        s.pause();
        assert_eq!(
            s.take(Ok(snapshot(20, 200))).unwrap().cpu_percent,
            None,
            "hidden meanwhile"
        );
    }
}
