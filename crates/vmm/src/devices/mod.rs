//! Legacy devices on the port bus, each a small state machine with its side effects injected.

pub mod i8042;
pub mod irq;
pub mod rtc;
pub mod serial;
#[cfg(not(windows))]
pub mod virtio;

pub use i8042::I8042;
pub use irq::IrqLine;
pub use rtc::Rtc;
pub use serial::SerialConsole;
