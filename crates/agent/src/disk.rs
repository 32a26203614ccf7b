//! The data disk: probe, format only when blank, mount at /mnt/data, and bind Docker's and
//! containerd's state directories onto it.
//!
//! Discard: no `-o discard` (it slows every delete, and image removal deletes a lot); instead a
//! background `fstrim` runs 10 minutes after boot and then hourly, and stops if the device says
//! discard is unsupported.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use crate::reaper::{run, run_ok_codes};
use crate::sys::mount;

/// Where the data disk is mounted.
pub const MOUNT_POINT: &str = "/mnt/data";
/// (directory on the disk, bind target) — what lives on the data disk.
pub const BINDS: &[(&str, &str)] = &[
    ("/mnt/data/docker", "/var/lib/docker"),
    ("/mnt/data/containerd", "/var/lib/containerd"),
];

/// How much of the device must be zero for it to count as blank.
const PROBE_BYTES: usize = 1024 * 1024;
/// ext2/3/4 superblock magic 0xEF53 (little endian) at byte 0x438.
const EXT_MAGIC_AT: usize = 0x438;

/// What is on the device.
#[derive(Debug, PartialEq, Eq)]
pub enum DiskState {
    /// All zero: safe to format.
    Blank,
    /// Has an ext2/3/4 superblock.
    Ext,
    /// Something else; never formatted.
    Other(String),
}

/// Classifies the first bytes of a device.
pub fn classify(head: &[u8]) -> DiskState {
    if head.is_empty() {
        return DiskState::Other("the device is empty (0 bytes)".into());
    }
    if head.get(EXT_MAGIC_AT..EXT_MAGIC_AT + 2) == Some(&[0x53, 0xEF][..]) {
        return DiskState::Ext;
    }
    if head.iter().all(|&b| b == 0) {
        return DiskState::Blank;
    }
    let first = head.iter().position(|&b| b != 0).unwrap_or(0);
    DiskState::Other(format!(
        "it holds data (first non-zero byte at offset {first:#x}) but no ext4 filesystem"
    ))
}

/// Reads the head of `path` and classifies it.
pub fn probe(path: &Path) -> Result<DiskState, String> {
    let mut f = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut head = Vec::with_capacity(PROBE_BYTES);
    f.by_ref()
        .take(PROBE_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(classify(&head))
}

/// Waits briefly for the device node (virtio-blk probes before init, but be patient).
fn wait_for(dev: &Path) -> Result<(), String> {
    for _ in 0..50 {
        if dev.exists() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("data disk {} not found", dev.display()))
}

/// Brings the data disk up: probe → (format) → check → mount → bind mounts. `Err` is the reason to show.
pub fn prepare(device: &str, on_status: &dyn Fn(String)) -> Result<(), String> {
    let dev = Path::new(device);
    wait_for(dev)?;
    match probe(dev)? {
        DiskState::Blank => {
            on_status(format!("formatting {device} (ext4)"));
            run(
                "/usr/sbin/mkfs.ext4",
                &[
                    "-q",
                    "-L",
                    "berth-data",
                    "-E",
                    "lazy_itable_init=1,lazy_journal_init=1",
                    device,
                ],
            )
            .map_err(|e| format!("formatting the data disk failed: {e}"))?;
            log!("disk: formatted {device}");
        }
        DiskState::Ext => {
            on_status(format!("checking {device}"));
            // -p repairs what is safe; 1 and 2 mean "repaired". Anything worse is logged and the
            // mount below decides whether the filesystem is usable.
            match run_ok_codes("/usr/sbin/e2fsck", &["-p", device], &[0, 1, 2]) {
                Ok((0, _)) => {}
                Ok((_, out)) => log!("disk: e2fsck repaired {device}: {out}"),
                Err(e) => log!("disk: {e}"),
            }
        }
        DiskState::Other(why) => return Err(format!("refusing to format {device}: {why}")),
    }
    std::fs::create_dir_all(MOUNT_POINT).map_err(|e| format!("{MOUNT_POINT}: {e}"))?;
    mount(device, MOUNT_POINT, "ext4", libc::MS_NOATIME, "")
        .map_err(|e| format!("cannot mount {device} on {MOUNT_POINT}: {e}"))?;
    log!("disk: {device} mounted on {MOUNT_POINT}");
    for &(src, target) in BINDS {
        std::fs::create_dir_all(src).map_err(|e| format!("{src}: {e}"))?;
        std::fs::create_dir_all(target).map_err(|e| format!("{target}: {e}"))?;
        mount(src, target, "", libc::MS_BIND, "")
            .map_err(|e| format!("cannot bind {src} on {target}: {e}"))?;
    }
    crate::sys::spawn("fstrim", trim_periodically);
    Ok(())
}

fn trim_periodically() {
    std::thread::sleep(Duration::from_secs(600));
    loop {
        match run("/usr/sbin/fstrim", &[MOUNT_POINT]) {
            Ok(_) => {}
            Err(e) => {
                log!("disk: fstrim stops: {e}");
                return;
            }
        }
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// Unmounts the binds and the disk at shutdown; a busy mount is detached lazily.
pub fn unmount_all() {
    let targets = BINDS.iter().map(|&(_, t)| t).chain([MOUNT_POINT]);
    for target in targets {
        if let Err(e) = crate::sys::umount(target, 0) {
            if e.raw_os_error() == Some(libc::EINVAL) {
                continue; // not mounted
            }
            log!("shutdown: umount {target}: {e}; detaching lazily");
            let _ = crate::sys::umount(target, libc::MNT_DETACH);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_blank_ext_and_other() {
        assert_eq!(classify(&vec![0; 65536]), DiskState::Blank);
        let mut ext = vec![0; 65536];
        ext[0x438] = 0x53;
        ext[0x439] = 0xEF;
        assert_eq!(classify(&ext), DiskState::Ext);
        let mut other = vec![0; 65536];
        other[0x1FE] = 0x55; // an MBR signature
        assert!(matches!(classify(&other), DiskState::Other(m) if m.contains("0x1fe")));
        assert!(matches!(classify(&[]), DiskState::Other(_)));
        assert_eq!(classify(&[0; 10]), DiskState::Blank); // short, but all zero
    }

    #[test]
    fn probes_temp_files() {
        let dir = std::env::temp_dir().join(format!("berth-agent-disk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sparse = dir.join("sparse.img");
        File::create(&sparse).unwrap().set_len(64 << 20).unwrap();
        assert_eq!(probe(&sparse).unwrap(), DiskState::Blank);
        let used = dir.join("used.img");
        let mut bytes = vec![0u8; 2 << 20];
        bytes[(1 << 20) - 1] = 1; // data at the very end of the probed region
        std::fs::write(&used, &bytes).unwrap();
        assert!(matches!(probe(&used).unwrap(), DiskState::Other(_)));
        assert!(probe(&dir.join("missing")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
