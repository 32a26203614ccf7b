//! The data disk: a sparse raw file that holds `/var/lib/docker` and `/var/lib/containerd`. Created on
//! first start, grown when the setting grows; never shrunk, never rewritten.

use std::fs::OpenOptions;
use std::path::Path;

use crate::{Error, Result};

const GIB: u64 = 1 << 30;

/// Makes sure the disk exists and is at least `size_gib`; returns its size in GiB.
pub fn prepare_data_disk(path: &Path, size_gib: u64) -> Result<u64> {
    let err = |source| Error::Disk {
        path: path.to_path_buf(),
        source,
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(err)?;
    let len = file.metadata().map_err(err)?.len();
    let wanted = size_gib * GIB;
    if len < wanted {
        // set_len on a sparse-capable filesystem allocates nothing.
        file.set_len(wanted).map_err(err)?;
        tracing::info!(disk = %path.display(), from_gib = len / GIB, to_gib = size_gib, "data disk sized");
        return Ok(size_gib);
    }
    Ok(len / GIB)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn creates_sparse_grows_and_never_shrinks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("data.img");
        assert_eq!(prepare_data_disk(&p, 8).unwrap(), 8);
        let m = std::fs::metadata(&p).unwrap();
        assert_eq!(m.len(), 8 * GIB);
        assert!(m.blocks() * 512 < 1 << 20, "disk must be sparse");
        std::fs::write(dir.path().join("marker"), "x").unwrap();
        assert_eq!(prepare_data_disk(&p, 16).unwrap(), 16);
        assert_eq!(prepare_data_disk(&p, 8).unwrap(), 16);
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 16 * GIB);
    }
}
