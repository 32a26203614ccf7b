//! Saving text the window made (a container's logs) to the user's Downloads folder, never overwriting.

use std::path::{Path, PathBuf};

use tauri::{AppHandle, Manager};

use crate::error::{AppError, Result};

/// Writes `contents` to Downloads as `file_name` (or `name-1.ext`, … if taken); returns the path.
#[tauri::command]
pub async fn save_download(app: AppHandle, file_name: String, contents: String) -> Result<String> {
    let dir = app
        .path()
        .download_dir()
        .or_else(|_| app.path().home_dir())
        .map_err(|e| AppError::Invalid(format!("cannot find your Downloads folder ({e})")))?;
    let path = save_in(&dir, &file_name, contents.as_bytes())?;
    Ok(path.to_string_lossy().into_owned())
}

fn save_in(dir: &Path, file_name: &str, contents: &[u8]) -> Result<PathBuf> {
    let name = safe_name(file_name);
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_string(), format!(".{e}")),
        _ => (name.clone(), String::new()),
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| AppError::Invalid(format!("cannot create {} ({e})", dir.display())))?;
    for n in 0..1000 {
        let candidate = if n == 0 {
            dir.join(&name)
        } else {
            dir.join(format!("{stem}-{n}{ext}"))
        };
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(mut f) => {
                use std::io::Write;
                f.write_all(contents).map_err(|e| {
                    AppError::Invalid(format!(
                        "cannot write {} ({e}); is the disk full?",
                        candidate.display()
                    ))
                })?;
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(AppError::Invalid(format!(
                    "cannot save to {} ({e})",
                    dir.display()
                )))
            }
        }
    }
    Err(AppError::Invalid(format!(
        "too many files named {name} in {}; tidy it up and try again",
        dir.display()
    )))
}

/// A file name with no path separators or control characters.
fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "download.txt".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_without_overwriting_or_escaping_the_folder() {
        let dir = std::env::temp_dir().join(format!("berth-downloads-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let a = save_in(&dir, "web.log", b"one").unwrap();
        let b = save_in(&dir, "web.log", b"two").unwrap();
        assert_eq!(a.file_name().unwrap(), "web.log");
        assert_eq!(b.file_name().unwrap(), "web-1.log");
        assert_eq!(std::fs::read(&a).unwrap(), b"one");
        let c = save_in(&dir, "../../etc/passwd", b"x").unwrap();
        assert_eq!(c.parent().unwrap(), dir);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
