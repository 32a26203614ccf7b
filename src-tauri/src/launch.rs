//! Launch timing: when the process started, and the first paint the window reports (`app_first_paint`,
//! called by ui/src/main.ts two animation frames after mounting), printed once to stderr as
//! `berth-app: first paint after <n> ms` for scripts/bench/app.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

static STARTED: OnceLock<Instant> = OnceLock::new();
static PAINTED: AtomicBool = AtomicBool::new(false);

/// Marks the process start; call first thing in `main`.
pub fn mark_start() {
    STARTED.get_or_init(Instant::now);
}

/// The time since `mark_start` the first time it is called; none afterwards.
fn first_paint() -> Option<Duration> {
    if PAINTED.swap(true, Ordering::SeqCst) {
        return None;
    }
    Some(STARTED.get_or_init(Instant::now).elapsed())
}

/// The window painted its first frame; only the first call counts.
#[tauri::command]
pub fn app_first_paint() {
    if let Some(elapsed) = first_paint() {
        eprintln!("berth-app: first paint after {} ms", elapsed.as_millis());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_paint_counts() {
        mark_start();
        std::thread::sleep(Duration::from_millis(5));
        let first = first_paint().expect("the first call measures");
        assert!(first >= Duration::from_millis(5));
        assert_eq!(first_paint(), None);
    }
}
