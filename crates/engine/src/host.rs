//! Facts about the host the checks need: free space on a folder's file system, programs on `PATH`,
//! whether `/dev/kvm` opens, and where the guest image lives.

use std::path::{Path, PathBuf};

/// Space on the file system holding a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    /// Bytes an unprivileged user can still write.
    pub free: u64,
    /// Size of the file system.
    pub total: u64,
}

/// Free and total space where `path` lives. A folder that does not exist yet is measured at its
/// nearest existing parent (where it will be created). `None` when even that cannot be measured.
pub fn space(path: &Path) -> Option<Space> {
    let existing = path.ancestors().find(|p| p.exists())?;
    statvfs(existing)
}

#[cfg(unix)]
fn statvfs(path: &Path) -> Option<Space> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs only writes into the zeroed struct we own, and `c` is a valid NUL-terminated path.
    let s = unsafe {
        let mut s: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut s) != 0 {
            return None;
        }
        s
    };
    let frsize = s.f_frsize as u64;
    Some(Space {
        free: (s.f_bavail as u64).saturating_mul(frsize),
        total: (s.f_blocks as u64).saturating_mul(frsize),
    })
}

#[cfg(not(unix))]
fn statvfs(_path: &Path) -> Option<Space> {
    None
}

/// Bytes a (sparse) file really occupies on disk; 0 when it does not exist.
pub fn allocated(path: &Path) -> u64 {
    match std::fs::metadata(path) {
        #[cfg(unix)]
        Ok(m) => {
            use std::os::unix::fs::MetadataExt;
            m.blocks().saturating_mul(512)
        }
        #[cfg(not(unix))]
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

/// The first `prog` on `PATH`.
pub fn which(prog: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}

/// What opening `/dev/kvm` read-write says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kvm {
    /// It opens (whether it can boot Linux is only known once berthd has test-booted it).
    Usable,
    /// There is no `/dev/kvm`.
    Missing,
    /// It exists but cannot be opened; the error says why (usually permissions).
    Denied(String),
}

/// Probes `/dev/kvm`.
pub fn kvm() -> Kvm {
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        Ok(_) => Kvm::Usable,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Kvm::Missing,
        Err(e) => Kvm::Denied(e.to_string()),
    }
}

/// Where berthd looks for the guest image: `BERTH_IMAGE_DIR`, else `$XDG_DATA_HOME/berth/image`, else
/// `~/.local/share/berth/image` (where `vm-image/build` links it). Mirrors berthd's `GuestImage::default_dir`.
pub fn guest_image_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("BERTH_IMAGE_DIR") {
        return PathBuf::from(d);
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("/usr/local/share"));
    data.join("berth").join("image")
}

/// Bytes as GiB with one decimal, for messages.
pub fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_of_a_missing_folder_is_measured_at_its_parent() {
        let dir = tempfile::tempdir().unwrap();
        let here = space(dir.path()).expect("a temp folder can be measured");
        let later = space(&dir.path().join("not/yet/there")).expect("measured at the parent");
        assert!(here.total > 0 && here.free <= here.total);
        assert_eq!(here.total, later.total);
    }

    #[test]
    fn a_sparse_file_occupies_little() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("sparse.img");
        std::fs::File::create(&f).unwrap().set_len(1 << 30).unwrap();
        assert!(
            allocated(&f) < 1 << 20,
            "a 1 GiB sparse file takes (almost) nothing"
        );
        assert_eq!(allocated(&dir.path().join("missing")), 0);
    }

    #[test]
    fn which_finds_sh_and_not_nonsense() {
        assert!(which("sh").is_some());
        assert!(which("berth-no-such-program-here").is_none());
    }

    #[test]
    fn gib_has_one_decimal() {
        assert_eq!(gib(3 << 29), "1.5 GiB");
    }
}
