//! The i8042 keyboard controller, as far as a VM needs it: the CPU reset line (0xfe written to port
//! 0x64), which Linux uses for `reboot=k`, and enough of the controller and keyboard protocol that
//! Linux's i8042 and atkbd drivers probe without waiting on timeouts. Every answer is ready the moment
//! the command is written: a missing answer costs the guest thousands of status-port exits.
//!
//! There is no AUX (mouse) port: the AUX loop answers without the AUX flag and the AUX interface test
//! reports a stuck clock line, which is how Linux decides, at once, that no mouse port exists. The
//! keyboard acknowledges whatever it is sent, answers `GET ID` as an MF2 keyboard, and never types.

use std::collections::VecDeque;
use std::sync::Arc;

use super::IrqLine;
use crate::bus::BusDevice;

/// Offset of the data port (0x60) from the device base (0x60).
pub const DATA_OFFSET: u64 = 0;
/// Offset of the command/status port (0x64) from the device base (0x60).
pub const COMMAND_OFFSET: u64 = 4;
/// The "pulse reset line" command.
pub const CMD_RESET_CPU: u8 = 0xfe;

/// Controller commands (written to 0x64).
pub mod cmd {
    /// Read the controller configuration byte (CTR).
    pub const READ_CTR: u8 = 0x20;
    /// Write the CTR (the next data-port byte).
    pub const WRITE_CTR: u8 = 0x60;
    /// Disable the AUX port.
    pub const AUX_DISABLE: u8 = 0xa7;
    /// Enable the AUX port.
    pub const AUX_ENABLE: u8 = 0xa8;
    /// AUX interface test.
    pub const AUX_TEST: u8 = 0xa9;
    /// Controller self-test.
    pub const SELF_TEST: u8 = 0xaa;
    /// Keyboard interface test.
    pub const KBD_TEST: u8 = 0xab;
    /// Disable the keyboard port.
    pub const KBD_DISABLE: u8 = 0xad;
    /// Enable the keyboard port.
    pub const KBD_ENABLE: u8 = 0xae;
    /// Read the input port.
    pub const READ_INPUT: u8 = 0xc0;
    /// Read the output port.
    pub const READ_OUTPUT: u8 = 0xd0;
    /// Write the output port (the next data-port byte).
    pub const WRITE_OUTPUT: u8 = 0xd1;
    /// Put the next data-port byte in the output buffer as if the keyboard sent it.
    pub const WRITE_KBD_BUFFER: u8 = 0xd2;
    /// Put the next data-port byte in the output buffer as if the AUX device sent it.
    pub const WRITE_AUX_BUFFER: u8 = 0xd3;
    /// Send the next data-port byte to the AUX device.
    pub const WRITE_AUX: u8 = 0xd4;
}

/// Status register bits (read from 0x64).
pub mod status {
    /// Output buffer full: a byte waits on 0x60.
    pub const OBF: u8 = 0x01;
    /// System flag: the controller passed its self-test.
    pub const SYS: u8 = 0x04;
    /// The last write went to the command port.
    pub const CMD: u8 = 0x08;
    /// Keyboard not inhibited.
    pub const KEYLOCK: u8 = 0x10;
    /// The byte in the output buffer came from the AUX port.
    pub const AUXDATA: u8 = 0x20;
}

/// Controller configuration byte bits.
pub mod ctr {
    /// Keyboard interrupt enabled.
    pub const KBDINT: u8 = 0x01;
    /// System flag.
    pub const SYS: u8 = 0x04;
    /// Keyboard port disabled.
    pub const KBDDIS: u8 = 0x10;
    /// AUX port disabled.
    pub const AUXDIS: u8 = 0x20;
    /// Scancode translation.
    pub const XLATE: u8 = 0x40;
}

/// What the AUX interface test answers: "clock line stuck high", i.e. no AUX port.
pub const AUX_TEST_NO_PORT: u8 = 0x02;
/// Keyboard acknowledge.
pub const KBD_ACK: u8 = 0xfa;
/// An MF2 keyboard's `GET ID` answer (after the ACK).
pub const KBD_ID: [u8; 2] = [0xab, 0x83];

/// Keyboard commands followed by one parameter byte (set LEDs, select scancode set, set typematic).
const KBD_CMDS_WITH_PARAM: [u8; 3] = [0xed, 0xf0, 0xf3];

/// i8042 with an injected reset action and keyboard interrupt line.
pub struct I8042 {
    on_reset: Box<dyn FnMut() + Send>,
    kbd_irq: Arc<dyn IrqLine>,
    ctr: u8,
    output_port: u8,
    /// Bytes waiting for the guest on 0x60, each with whether it came from the AUX port.
    out: VecDeque<(u8, bool)>,
    /// A controller command waiting for its data-port parameter.
    pending: Option<u8>,
    /// The keyboard waits for a parameter byte.
    kbd_param: bool,
    last_was_command: bool,
    /// The guest asked for a reset already (Linux pulses the line up to ten times while the VM stops).
    reset_requested: bool,
}

impl I8042 {
    /// A controller calling `on_reset` when the guest pulses the reset line and raising `kbd_irq`
    /// (IRQ 1) when the keyboard has a byte for the guest.
    pub fn new(on_reset: Box<dyn FnMut() + Send>, kbd_irq: Arc<dyn IrqLine>) -> Self {
        I8042 {
            on_reset,
            kbd_irq,
            ctr: ctr::KBDINT | ctr::SYS | ctr::AUXDIS | ctr::XLATE,
            output_port: 0x01, // not in reset
            out: VecDeque::new(),
            pending: None,
            kbd_param: false,
            last_was_command: false,
            reset_requested: false,
        }
    }

    fn request_reset(&mut self, how: &str) {
        if !self.reset_requested {
            tracing::info!(how, "guest requested a reset through the i8042");
            self.reset_requested = true;
        }
        (self.on_reset)();
    }

    fn status(&self) -> u8 {
        let mut s = status::KEYLOCK | (self.ctr & ctr::SYS);
        if let Some(&(_, aux)) = self.out.front() {
            s |= status::OBF;
            if aux {
                s |= status::AUXDATA;
            }
        }
        if self.last_was_command {
            s |= status::CMD;
        }
        s
    }

    /// A controller answer: replaces anything stale, raises no interrupt (Linux polls for these).
    fn answer(&mut self, byte: u8) {
        self.out.clear();
        self.out.push_back((byte, false));
    }

    /// Keyboard bytes: queued, and IRQ 1 raised if the guest enabled it.
    fn kbd_send(&mut self, bytes: &[u8]) {
        let was_empty = self.out.is_empty();
        self.out.extend(bytes.iter().map(|&b| (b, false)));
        if was_empty {
            self.kbd_interrupt();
        }
    }

    fn kbd_interrupt(&self) {
        if self.ctr & ctr::KBDINT != 0 && !self.out.is_empty() {
            if let Err(e) = self.kbd_irq.trigger() {
                tracing::warn!(error = %e, "cannot raise the keyboard interrupt");
            }
        }
    }

    fn command(&mut self, command: u8) {
        self.pending = None;
        match command {
            cmd::READ_CTR => self.answer(self.ctr),
            cmd::WRITE_CTR
            | cmd::WRITE_OUTPUT
            | cmd::WRITE_KBD_BUFFER
            | cmd::WRITE_AUX_BUFFER
            | cmd::WRITE_AUX => self.pending = Some(command),
            cmd::AUX_DISABLE => self.ctr |= ctr::AUXDIS,
            cmd::AUX_ENABLE => self.ctr &= !ctr::AUXDIS,
            cmd::AUX_TEST => self.answer(AUX_TEST_NO_PORT),
            cmd::SELF_TEST => {
                self.ctr |= ctr::SYS;
                self.answer(0x55);
            }
            cmd::KBD_TEST => self.answer(0x00),
            cmd::KBD_DISABLE => self.ctr |= ctr::KBDDIS,
            cmd::KBD_ENABLE => self.ctr &= !ctr::KBDDIS,
            cmd::READ_INPUT => self.answer(0x80), // keyboard not inhibited
            cmd::READ_OUTPUT => self.answer(self.output_port),
            CMD_RESET_CPU => self.request_reset("command 0xfe"),
            other => tracing::debug!(command = other, "unhandled i8042 command"),
        }
    }

    fn data(&mut self, byte: u8) {
        match self.pending.take() {
            Some(cmd::WRITE_CTR) => self.ctr = byte,
            Some(cmd::WRITE_OUTPUT) => {
                self.output_port = byte;
                if byte & 0x01 == 0 {
                    self.request_reset("output port");
                }
            }
            Some(cmd::WRITE_KBD_BUFFER) => self.kbd_send(&[byte]),
            // The AUX loop: the byte comes back without the AUX flag, so Linux sees no AUX port.
            Some(cmd::WRITE_AUX_BUFFER) => self.answer(byte),
            Some(_) => {} // to the AUX device, which does not exist
            None => self.keyboard(byte),
        }
    }

    fn keyboard(&mut self, byte: u8) {
        if std::mem::take(&mut self.kbd_param) {
            return self.kbd_send(&[KBD_ACK]);
        }
        match byte {
            0xf2 => self.kbd_send(&[KBD_ACK, KBD_ID[0], KBD_ID[1]]),
            0xee => self.kbd_send(&[0xee]),
            0xff => self.kbd_send(&[KBD_ACK, 0xaa]), // reset: ACK, then self-test passed
            b => {
                self.kbd_param = KBD_CMDS_WITH_PARAM.contains(&b);
                self.kbd_send(&[KBD_ACK]);
            }
        }
    }
}

impl BusDevice for I8042 {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        data.fill(0);
        let Some(first) = data.first_mut() else { return };
        match offset {
            COMMAND_OFFSET => *first = self.status(),
            DATA_OFFSET => {
                if let Some((byte, _)) = self.out.pop_front() {
                    *first = byte;
                    // Linux's handler takes one byte per interrupt: signal the next one.
                    self.kbd_interrupt();
                }
            }
            _ => {}
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        let Some(&byte) = data.first() else { return };
        match offset {
            COMMAND_OFFSET => {
                self.last_was_command = true;
                self.command(byte);
            }
            DATA_OFFSET => {
                self.last_was_command = false;
                self.data(byte);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::devices::irq::CountingIrq;

    fn device() -> (I8042, Arc<AtomicU32>, Arc<CountingIrq>) {
        let resets = Arc::new(AtomicU32::new(0));
        let r = resets.clone();
        let irq = Arc::new(CountingIrq::default());
        let dev = I8042::new(
            Box::new(move || {
                r.fetch_add(1, Ordering::SeqCst);
            }),
            irq.clone(),
        );
        (dev, resets, irq)
    }

    fn status(dev: &mut I8042) -> u8 {
        let mut s = [0];
        dev.read(COMMAND_OFFSET, &mut s);
        s[0]
    }

    /// Linux's `i8042_command`: write the command, then poll OBF before each data read.
    fn command(dev: &mut I8042, command: u8, params: &[u8], answers: usize) -> Vec<u8> {
        dev.write(COMMAND_OFFSET, &[command]);
        for &p in params {
            dev.write(DATA_OFFSET, &[p]);
        }
        (0..answers)
            .map(|_| {
                assert_ne!(status(dev) & status::OBF, 0, "no answer to {command:#x}");
                let mut d = [0];
                dev.read(DATA_OFFSET, &mut d);
                d[0]
            })
            .collect()
    }

    #[test]
    fn only_0xfe_on_the_command_port_resets() {
        let (mut dev, resets, _) = device();
        dev.write(DATA_OFFSET, &[CMD_RESET_CPU]);
        dev.write(COMMAND_OFFSET, &[0xd0]);
        dev.write(COMMAND_OFFSET, &[]);
        assert_eq!(resets.load(Ordering::SeqCst), 0);
        dev.write(COMMAND_OFFSET, &[CMD_RESET_CPU]);
        assert_eq!(resets.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn idle_status_has_empty_buffers_and_reading_empty_data_gives_zero() {
        let (mut dev, _, _) = device();
        let s = status(&mut dev);
        assert_eq!(s & (status::OBF | 0x02), 0, "{s:#x}");
        let mut d = [0xaa];
        dev.read(DATA_OFFSET, &mut d);
        assert_eq!(d, [0]);
        dev.read(1, &mut d);
        assert_eq!(d, [0], "0x61 reads as zero");
    }

    #[test]
    fn ctr_reads_back_what_was_written() {
        let (mut dev, _, irq) = device();
        let initial = command(&mut dev, cmd::READ_CTR, &[], 1)[0];
        assert_eq!(initial & ctr::KBDDIS, 0);
        assert_eq!(status(&mut dev) & status::OBF, 0, "one byte only");
        command(&mut dev, cmd::WRITE_CTR, &[0x47], 0);
        assert_eq!(command(&mut dev, cmd::READ_CTR, &[], 1), [0x47]);
        assert_eq!(irq.count(), 0, "controller answers are polled");
    }

    #[test]
    fn self_test_and_interface_tests_pass() {
        let (mut dev, _, _) = device();
        assert_eq!(command(&mut dev, cmd::SELF_TEST, &[], 1), [0x55]);
        assert_ne!(status(&mut dev) & status::SYS, 0);
        assert_eq!(command(&mut dev, cmd::KBD_TEST, &[], 1), [0x00]);
    }

    #[test]
    fn port_enable_and_disable_show_in_the_ctr() {
        let (mut dev, _, _) = device();
        for (c, bit, set) in [
            (cmd::KBD_DISABLE, ctr::KBDDIS, true),
            (cmd::KBD_ENABLE, ctr::KBDDIS, false),
            (cmd::AUX_ENABLE, ctr::AUXDIS, false),
            (cmd::AUX_DISABLE, ctr::AUXDIS, true),
        ] {
            command(&mut dev, c, &[], 0);
            let ctr = command(&mut dev, cmd::READ_CTR, &[], 1)[0];
            assert_eq!(ctr & bit != 0, set, "after {c:#x}: {ctr:#x}");
        }
    }

    #[test]
    fn there_is_no_aux_port() {
        let (mut dev, _, _) = device();
        assert_eq!(command(&mut dev, cmd::WRITE_AUX_BUFFER, &[0x5a], 1), [0x5a]);
        dev.write(COMMAND_OFFSET, &[cmd::WRITE_AUX_BUFFER]);
        dev.write(DATA_OFFSET, &[0xa5]);
        assert_eq!(
            status(&mut dev) & status::AUXDATA,
            0,
            "loop bytes lack the AUX flag"
        );
        // The stale loop byte is dropped: the next answer is the AUX test's.
        assert_eq!(command(&mut dev, cmd::AUX_TEST, &[], 1), [AUX_TEST_NO_PORT]);
    }

    #[test]
    fn keyboard_acks_identifies_and_interrupts_per_byte() {
        let (mut dev, _, irq) = device();
        dev.write(DATA_OFFSET, &[0xf2]);
        assert_eq!(irq.count(), 1);
        let mut got = vec![];
        while status(&mut dev) & status::OBF != 0 {
            let mut d = [0];
            dev.read(DATA_OFFSET, &mut d);
            got.push(d[0]);
        }
        assert_eq!(got, [KBD_ACK, KBD_ID[0], KBD_ID[1]]);
        assert_eq!(irq.count(), 3, "one interrupt per byte");
        // Set LEDs and its parameter: two ACKs; the parameter is not a command.
        dev.write(DATA_OFFSET, &[0xed]);
        let mut d = [0];
        dev.read(DATA_OFFSET, &mut d);
        dev.write(DATA_OFFSET, &[0xf2]);
        dev.read(DATA_OFFSET, &mut d);
        assert_eq!(d, [KBD_ACK]);
        assert_eq!(status(&mut dev) & status::OBF, 0);
    }

    #[test]
    fn no_keyboard_interrupt_when_disabled_in_the_ctr() {
        let (mut dev, _, irq) = device();
        command(&mut dev, cmd::WRITE_CTR, &[0x00], 0);
        dev.write(DATA_OFFSET, &[0xf4]);
        assert_eq!(irq.count(), 0);
        assert_eq!(command(&mut dev, cmd::READ_CTR, &[], 1), [0x00]);
    }
}
