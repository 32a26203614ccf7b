//! The guest image: kernel, erofs rootfs and the manifest `vm-image/build` writes beside them.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{Error, Result};

/// Fields of `manifest.json` berthd uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// Hash of the image's inputs.
    pub image_id: String,
    /// Kernel file name in the image folder (a bzImage: what QEMU's `-kernel` loads).
    pub kernel: String,
    /// The same kernel uncompressed (ELF vmlinux), if the image has it: berth-vmm loads it directly and
    /// so skips the guest-side decompression (images built before it existed lack it).
    #[serde(default)]
    pub kernel_elf: Option<String>,
    /// Rootfs file name in the image folder.
    pub rootfs: String,
    /// Guest kernel release.
    pub kernel_release: String,
    /// Debian's docker.io version.
    pub docker: String,
}

/// A located, readable guest image.
#[derive(Debug, Clone)]
pub struct GuestImage {
    /// Folder holding the image.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

impl GuestImage {
    /// Where berthd looks: `BERTH_IMAGE_DIR`, else `<data dir>/image` (where `vm-image/build` links it).
    pub fn default_dir() -> PathBuf {
        if let Some(d) = std::env::var_os("BERTH_IMAGE_DIR") {
            return PathBuf::from(d);
        }
        let home = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .unwrap_or_else(|| PathBuf::from("/usr/local/share"));
        home.join("berth").join("image")
    }

    /// Opens the image in `dir`, checking that its files exist.
    pub fn open(dir: &Path) -> Result<GuestImage> {
        let path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&path).map_err(|_| Error::NoImage(dir.to_path_buf()))?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| Error::BadImage {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let image = GuestImage {
            dir: dir.to_path_buf(),
            manifest,
        };
        for f in [image.kernel(), image.rootfs()] {
            if !f.is_file() {
                return Err(Error::BadImage {
                    path,
                    reason: format!("{} is missing", f.display()),
                });
            }
        }
        Ok(image)
    }

    /// The kernel (bzImage).
    pub fn kernel(&self) -> PathBuf {
        self.dir.join(&self.manifest.kernel)
    }

    /// The kernel for berth-vmm: the uncompressed vmlinux when the image has a readable one, else the
    /// bzImage (berth-vmm loads both).
    pub fn vmm_kernel(&self) -> PathBuf {
        self.manifest
            .kernel_elf
            .as_ref()
            .map(|f| self.dir.join(f))
            .filter(|p| p.is_file())
            .unwrap_or_else(|| self.kernel())
    }

    /// The read-only root filesystem.
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join(&self.manifest.rootfs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_broken_images_say_how_to_build_one() {
        let dir = tempfile::tempdir().unwrap();
        let err = GuestImage::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("vm-image/build"), "{err}");
        std::fs::write(dir.path().join("manifest.json"), "{").unwrap();
        assert!(GuestImage::open(dir.path())
            .unwrap_err()
            .to_string()
            .contains("unreadable"));
        std::fs::write(
            dir.path().join("manifest.json"),
            r#"{"image_id":"x","kernel":"bzImage","rootfs":"rootfs.erofs","kernel_release":"6.1","docker":"26"}"#,
        )
        .unwrap();
        assert!(GuestImage::open(dir.path())
            .unwrap_err()
            .to_string()
            .contains("bzImage is missing"));
        std::fs::write(dir.path().join("bzImage"), "k").unwrap();
        std::fs::write(dir.path().join("rootfs.erofs"), "r").unwrap();
        let image = GuestImage::open(dir.path()).unwrap();
        assert_eq!(image.manifest.image_id, "x");
        assert_eq!(
            image.vmm_kernel(),
            dir.path().join("bzImage"),
            "no vmlinux: berth-vmm gets the bzImage"
        );
    }

    #[test]
    fn berth_vmm_boots_the_vmlinux_when_the_image_has_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("manifest.json"),
            r#"{"image_id":"x","kernel":"bzImage","kernel_elf":"vmlinux","rootfs":"rootfs.erofs","kernel_release":"6.1","docker":"26"}"#,
        )
        .unwrap();
        for f in ["bzImage", "rootfs.erofs"] {
            std::fs::write(dir.path().join(f), "x").unwrap();
        }
        let image = GuestImage::open(dir.path()).unwrap();
        assert_eq!(
            image.vmm_kernel(),
            dir.path().join("bzImage"),
            "listed but missing: fall back"
        );
        std::fs::write(dir.path().join("vmlinux"), "x").unwrap();
        assert_eq!(image.vmm_kernel(), dir.path().join("vmlinux"));
        assert_eq!(
            image.kernel(),
            dir.path().join("bzImage"),
            "QEMU keeps the bzImage"
        );
    }
}
