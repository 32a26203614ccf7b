//! The i8042 keyboard controller, as far as a VM needs it: the CPU reset line (0xfe written to port
//! 0x64), which Linux uses for `reboot`. There is no keyboard.

use crate::bus::BusDevice;

/// Offset of the command/status port (0x64) from the device base (0x60).
pub const COMMAND_OFFSET: u64 = 4;
/// The "pulse reset line" command.
pub const CMD_RESET_CPU: u8 = 0xfe;

/// i8042 with an injected reset action.
pub struct I8042 {
    on_reset: Box<dyn FnMut() + Send>,
}

impl I8042 {
    /// A controller calling `on_reset` when the guest pulses the reset line.
    pub fn new(on_reset: Box<dyn FnMut() + Send>) -> Self {
        I8042 { on_reset }
    }
}

impl BusDevice for I8042 {
    fn read(&mut self, _offset: u64, data: &mut [u8]) {
        // Status 0: output buffer empty, input buffer empty; data port: nothing pending.
        data.fill(0);
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        if offset == COMMAND_OFFSET && data.first() == Some(&CMD_RESET_CPU) {
            tracing::info!("guest requested a reset through the i8042");
            (self.on_reset)();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    use super::*;

    #[test]
    fn only_0xfe_on_the_command_port_resets() {
        let resets = Arc::new(AtomicU32::new(0));
        let r = resets.clone();
        let mut dev = I8042::new(Box::new(move || {
            r.fetch_add(1, Ordering::SeqCst);
        }));
        dev.write(0, &[CMD_RESET_CPU]);
        dev.write(COMMAND_OFFSET, &[0xd1]);
        dev.write(COMMAND_OFFSET, &[]);
        assert_eq!(resets.load(Ordering::SeqCst), 0);
        dev.write(COMMAND_OFFSET, &[CMD_RESET_CPU]);
        assert_eq!(resets.load(Ordering::SeqCst), 1);
        let mut status = [0xaa];
        dev.read(COMMAND_OFFSET, &mut status);
        assert_eq!(status, [0]);
    }
}
