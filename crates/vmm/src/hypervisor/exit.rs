//! Why a vCPU stopped running guest code.

/// The bytes of a port or MMIO write, up to 8 (the widest x86 access).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExitData {
    bytes: [u8; 8],
    len: u8,
}

impl ExitData {
    /// Copies up to 8 bytes of `data`.
    pub fn new(data: &[u8]) -> Self {
        let len = data.len().min(8);
        let mut bytes = [0u8; 8];
        bytes[..len].copy_from_slice(&data[..len]);
        ExitData {
            bytes,
            len: len as u8,
        }
    }

    /// The bytes written.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// The bytes as a little-endian integer.
    pub fn value(&self) -> u64 {
        u64::from_le_bytes(self.bytes)
    }
}

/// A vCPU exit the VMM must see. Port and MMIO accesses were already completed through
/// [`super::VmOps`]; they are reported so run loops and tests can observe them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VmExit {
    /// The guest wrote `data` to `port`.
    IoOut {
        /// The port.
        port: u16,
        /// What was written.
        data: ExitData,
    },
    /// The guest read `len` bytes from `port`.
    IoIn {
        /// The port.
        port: u16,
        /// The access width.
        len: usize,
    },
    /// The guest wrote `data` to guest physical `addr` outside RAM.
    MmioWrite {
        /// The address.
        addr: u64,
        /// What was written.
        data: ExitData,
    },
    /// The guest read `len` bytes at guest physical `addr` outside RAM.
    MmioRead {
        /// The address.
        addr: u64,
        /// The access width.
        len: usize,
    },
    /// The guest executed `hlt` with no in-kernel irqchip to wait for interrupts.
    Hlt,
    /// The vCPU shut down (x86 triple fault).
    Shutdown,
    /// The guest asked for a system reset (e.g. through PSCI or ACPI).
    Reset,
    /// The guest asked for power-off.
    PowerOff,
    /// The run was interrupted by a signal before or during guest execution; run again or stop.
    Interrupted,
    /// Anything else, with a description for the log.
    Unknown(String),
}
