//! Errors from hypervisor backends.

/// A hypervisor operation failed.
#[derive(Debug, thiserror::Error)]
pub enum HypervisorError {
    /// The virtualization device cannot be opened.
    #[error("cannot open {path}: {source}; check that KVM is enabled in the BIOS/host kernel (modprobe kvm_intel or kvm_amd) and that you are in the group owning {path} (usually `kvm`)")]
    Open {
        /// The device path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The hypervisor API version is not the one we speak.
    #[error("hypervisor API version {0} is unsupported; berth-vmm needs KVM API 12")]
    ApiVersion(i32),
    /// An ioctl or API call failed.
    #[error("{op} failed: {source}")]
    Call {
        /// What we asked the hypervisor to do.
        op: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The hypervisor accepted fewer entries than given.
    #[error("{op}: the hypervisor accepted {accepted} of {given} entries; the host kernel may not support some of them")]
    Partial {
        /// What we asked the hypervisor to do.
        op: &'static str,
        /// Entries accepted.
        accepted: usize,
        /// Entries given.
        given: usize,
    },
    /// Too many entries for a fixed-size hypervisor structure.
    #[error("{op}: {given} entries exceed the limit of {limit}")]
    TooMany {
        /// What we asked the hypervisor to do.
        op: &'static str,
        /// Entries given.
        given: usize,
        /// The limit.
        limit: usize,
    },
    /// This backend is a compile-only skeleton so far.
    #[error("the {backend} backend is not supported yet on this platform; use the qemu backend (berthd falls back to it)")]
    NotSupported {
        /// The backend's name.
        backend: &'static str,
    },
}

/// Result alias for hypervisor operations.
pub type Result<T> = std::result::Result<T, HypervisorError>;

#[cfg(target_os = "linux")]
impl HypervisorError {
    /// Wraps a failed KVM ioctl.
    pub(crate) fn call(op: &'static str) -> impl FnOnce(vmm_sys_util::errno::Error) -> Self {
        move |e| HypervisorError::Call {
            op,
            source: std::io::Error::from_raw_os_error(e.errno()),
        }
    }
}
