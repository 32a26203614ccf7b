//! One berthd per machine: an exclusive `flock` on the machine's lock file, which also holds the pid.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::{Error, Result};

/// Held for berthd's whole life; the kernel drops the lock when the process dies.
#[derive(Debug)]
pub struct MachineLock {
    _file: File,
}

/// The pid written in the lock file if another process holds the lock now.
pub fn holder(path: &Path) -> Option<u32> {
    let mut file = File::open(path).ok()?;
    // SAFETY: flock on an fd we own; LOCK_NB makes it return at once.
    let free = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) } == 0;
    if free {
        return None;
    }
    let mut s = String::new();
    file.read_to_string(&mut s).ok()?;
    s.trim().parse().ok()
}

impl MachineLock {
    /// Takes the lock for machine `name` or reports the daemon that holds it.
    pub fn acquire(path: &Path, name: &str) -> Result<MachineLock> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
        // SAFETY: flock on an fd we own; LOCK_NB makes it return at once.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let mut s = String::new();
            let _ = file.read_to_string(&mut s);
            return Err(Error::AlreadyRunning {
                name: name.to_string(),
                pid: s.trim().parse().unwrap_or(0),
            });
        }
        let write = |f: &mut File| -> std::io::Result<()> {
            f.set_len(0)?;
            f.rewind()?;
            writeln!(f, "{}", std::process::id())
        };
        write(&mut file).map_err(|e| Error::io("cannot write the lock file", e))?;
        Ok(MachineLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("berthd.lock");
        assert_eq!(holder(&p), None);
        let lock = MachineLock::acquire(&p, "default").unwrap();
        let err = MachineLock::acquire(&p, "default").unwrap_err();
        assert!(
            err.to_string().contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        assert_eq!(holder(&p), Some(std::process::id()));
        drop(lock);
        assert_eq!(holder(&p), None);
        MachineLock::acquire(&p, "default").unwrap();
    }
}
