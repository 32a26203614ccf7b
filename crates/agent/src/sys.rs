//! Thin, checked wrappers over the few system calls the agent makes in several places.

use std::ffi::CString;
use std::io;
use std::sync::{Mutex, MutexGuard};

/// A C string from a Rust one; an interior NUL is an `InvalidInput` error, not a panic.
pub fn cstr(s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("NUL byte in {s:?}")))
}

/// Turns a libc `-1` return into the thread's `errno`.
pub fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// mount(2).
pub fn mount(src: &str, target: &str, fstype: &str, flags: libc::c_ulong, data: &str) -> io::Result<()> {
    let (src, target, fstype, data) = (cstr(src)?, cstr(target)?, cstr(fstype)?, cstr(data)?);
    let fstype_ptr = if fstype.as_bytes().is_empty() {
        std::ptr::null()
    } else {
        fstype.as_ptr()
    };
    let data_ptr = if data.as_bytes().is_empty() {
        std::ptr::null()
    } else {
        data.as_ptr().cast()
    };
    // SAFETY: every pointer is either null or a NUL-terminated string that outlives the call.
    check(unsafe { libc::mount(src.as_ptr(), target.as_ptr(), fstype_ptr, flags, data_ptr) })?;
    Ok(())
}

/// umount2(2).
pub fn umount(target: &str, flags: libc::c_int) -> io::Result<()> {
    let target = cstr(target)?;
    // SAFETY: `target` is a NUL-terminated string that outlives the call.
    check(unsafe { libc::umount2(target.as_ptr(), flags) })?;
    Ok(())
}

/// Locks a mutex, ignoring poisoning: a panicked thread must not take PID 1 down with it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts a named thread; a failure to start is logged and returned as `false` (never a panic, unlike
/// `std::thread::spawn`).
pub fn spawn<F: FnOnce() + Send + 'static>(name: &str, f: F) -> bool {
    match std::thread::Builder::new().name(name.to_string()).spawn(f) {
        Ok(_) => true,
        Err(e) => {
            log!("thread: cannot start {name}: {e}");
            false
        }
    }
}

/// Sends `sig` to `pid` (a negative pid means its process group).
pub fn kill(pid: i32, sig: libc::c_int) {
    // SAFETY: kill(2) has no memory effects; a stale pid at worst yields ESRCH.
    unsafe { libc::kill(pid, sig) };
}

/// Flushes every filesystem.
pub fn sync() {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
}

/// `uname -r`.
pub fn kernel_release() -> String {
    // SAFETY: utsname is plain old data; all-zero is a valid value.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `uts` is a valid, writable utsname.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return "unknown".into();
    }
    let bytes: Vec<u8> = uts
        .release
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A close-on-exec pipe: (read end, write end).
pub fn pipe() -> io::Result<(std::fs::File, std::fs::File)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: pipe2 succeeded, so both descriptors are open and owned by nobody else.
    Ok(unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    })
}
