//! AF_VSOCK listeners. Accepted connections are wrapped as `UnixStream`: both are plain stream
//! sockets to the std methods used here (read, write, shutdown, try_clone, timeouts), which lets every
//! handler be tested over a socketpair.

use std::io;
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use crate::sys::check;

/// A listening vsock socket.
pub struct VsockListener {
    fd: RawFd,
}

impl VsockListener {
    /// Binds `port` on any CID and listens.
    pub fn bind(port: u32) -> io::Result<VsockListener> {
        // SAFETY: socket(2) has no memory effects.
        let fd = check(unsafe { libc::socket(libc::AF_VSOCK, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) })?;
        let listener = VsockListener { fd };
        // SAFETY: sockaddr_vm is plain old data; all-zero is valid and then filled in.
        let mut addr: libc::sockaddr_vm = unsafe { std::mem::zeroed() };
        addr.svm_family = libc::AF_VSOCK as libc::sa_family_t;
        addr.svm_port = port;
        addr.svm_cid = libc::VMADDR_CID_ANY;
        let len = std::mem::size_of::<libc::sockaddr_vm>() as libc::socklen_t;
        // SAFETY: `addr` is a valid sockaddr_vm of `len` bytes that outlives the call.
        check(unsafe { libc::bind(fd, (&addr as *const libc::sockaddr_vm).cast(), len) })?;
        // SAFETY: `fd` is a bound socket we own.
        check(unsafe { libc::listen(fd, 128) })?;
        Ok(listener)
    }

    /// Waits for the next connection.
    pub fn accept(&self) -> io::Result<UnixStream> {
        loop {
            // SAFETY: null address pointers are allowed: we do not need the peer's address.
            let rc = unsafe {
                libc::accept4(
                    self.fd,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    libc::SOCK_CLOEXEC,
                )
            };
            match check(rc) {
                // SAFETY: accept4 returned a new connected socket that nothing else owns.
                Ok(fd) => return Ok(unsafe { UnixStream::from_raw_fd(fd) }),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for VsockListener {
    fn drop(&mut self) {
        // SAFETY: `fd` is ours and closed exactly once.
        unsafe { libc::close(self.fd) };
    }
}

/// Listens on `port` (retrying while the vsock device is missing) and runs `handle` on a new thread
/// for every connection.
pub fn serve(name: &'static str, port: u32, handle: impl Fn(UnixStream) + Send + Sync + Clone + 'static) {
    crate::sys::spawn(&format!("vsock-{name}"), move || {
        let listener = bind_with_retry(name, port);
        log!("vsock: {name} listening on port {port}");
        loop {
            match listener.accept() {
                Ok(stream) => {
                    let h = handle.clone();
                    crate::sys::spawn(name, move || h(stream));
                }
                Err(e) => {
                    log!("vsock: {name}: accept: {e}");
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
    });
}

fn bind_with_retry(name: &str, port: u32) -> VsockListener {
    let mut delay = Duration::from_millis(500);
    loop {
        match VsockListener::bind(port) {
            Ok(l) => return l,
            Err(e) => {
                log!(
                    "vsock: {name}: cannot listen on port {port}: {e}; retrying in {} s",
                    delay.as_secs_f32()
                );
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}
