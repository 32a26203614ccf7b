//! The host side of a virtio-blk disk: a raw image file read and written at sector offsets.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Bytes in a virtio-blk sector.
pub const SECTOR_SIZE: u64 = 512;

/// Why a disk image cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    /// The image could not be opened or inspected.
    #[error("cannot open disk image {path}: {source} (check that it exists and is readable, and writable unless it is given with ,ro)")]
    Open {
        /// The image path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The image has no whole sector.
    #[error("disk image {path} is smaller than one 512-byte sector; give a raw image of at least 512 bytes")]
    TooSmall {
        /// The image path.
        path: PathBuf,
    },
}

/// A raw disk image.
#[derive(Debug)]
pub struct Disk {
    file: File,
    path: PathBuf,
    sectors: u64,
    read_only: bool,
}

impl Disk {
    /// Opens `path` (read-only if `read_only`). A size that is not a multiple of 512 is rounded down.
    pub fn open(path: &Path, read_only: bool) -> Result<Self, DiskError> {
        let open_err = |source| DiskError::Open {
            path: path.to_path_buf(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(!read_only)
            .open(path)
            .map_err(open_err)?;
        let len = file.metadata().map_err(open_err)?.len();
        let sectors = len / SECTOR_SIZE;
        if sectors == 0 {
            return Err(DiskError::TooSmall {
                path: path.to_path_buf(),
            });
        }
        if !len.is_multiple_of(SECTOR_SIZE) {
            tracing::warn!(path = %path.display(), len, "disk image size is not a multiple of 512; the tail is not visible to the guest");
        }
        Ok(Disk {
            file,
            path: path.to_path_buf(),
            sectors,
            read_only,
        })
    }

    /// The image path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Capacity in 512-byte sectors.
    pub fn sectors(&self) -> u64 {
        self.sectors
    }

    /// Whether the guest may only read.
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// Whether [`Disk::punch_hole`] can give space back to the host on this platform.
    pub fn supports_discard(&self) -> bool {
        cfg!(target_os = "linux") && !self.read_only
    }

    /// Fills `buf` from byte `offset`.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }

    /// Writes `buf` at byte `offset`.
    pub fn write_at(&self, buf: &[u8], offset: u64) -> std::io::Result<()> {
        self.file.write_all_at(buf, offset)
    }

    /// Makes every completed write durable (fsync).
    pub fn flush(&self) -> std::io::Result<()> {
        if self.read_only {
            return Ok(());
        }
        self.file.sync_all()
    }

    /// Deallocates `len` bytes at `offset` (they read back as zeros) and returns the space to the host;
    /// the file keeps its size.
    #[cfg(target_os = "linux")]
    pub fn punch_hole(&self, offset: u64, len: u64) -> std::io::Result<()> {
        use std::os::fd::AsRawFd;
        let (Ok(off), Ok(len)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len)) else {
            return Err(std::io::Error::from(std::io::ErrorKind::InvalidInput));
        };
        // SAFETY: fallocate only reads its integer arguments; the fd is owned by `self.file`, open for
        // writing, and stays open for the duration of the call.
        let rc = unsafe {
            libc::fallocate(
                self.file.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                off,
                len,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    /// Deallocating is not implemented on this platform yet ([`Disk::supports_discard`] is false).
    #[cfg(not(target_os = "linux"))]
    pub fn punch_hole(&self, _offset: u64, _len: u64) -> std::io::Result<()> {
        Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
    }
}
