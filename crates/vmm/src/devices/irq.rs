//! Interrupt lines handed to devices: an irqfd on KVM, a counter in tests.

use std::io;

/// Something that raises a guest interrupt.
pub trait IrqLine: Send + Sync {
    /// Raises the interrupt (edge).
    fn trigger(&self) -> io::Result<()>;
}

#[cfg(target_os = "linux")]
impl IrqLine for vmm_sys_util::eventfd::EventFd {
    fn trigger(&self) -> io::Result<()> {
        self.write(1)
    }
}

/// An interrupt line that counts triggers; for tests and for devices nobody listens to.
#[derive(Debug, Default)]
pub struct CountingIrq(pub std::sync::atomic::AtomicU64);

impl CountingIrq {
    /// Triggers so far.
    pub fn count(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl IrqLine for CountingIrq {
    fn trigger(&self) -> io::Result<()> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}
