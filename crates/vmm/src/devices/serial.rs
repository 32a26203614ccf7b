//! The COM1 console: vm-superio's 16550A on the port bus, output to a file or stdout, interrupts through
//! an [`IrqLine`].

use std::io::Write;
use std::sync::Arc;

use vm_superio::{serial::NoEvents, Serial, Trigger};

use super::IrqLine;
use crate::bus::BusDevice;

/// Adapts an [`IrqLine`] to vm-superio's trigger.
pub struct IrqTrigger(pub Arc<dyn IrqLine>);

impl Trigger for IrqTrigger {
    type E = std::io::Error;

    fn trigger(&self) -> std::io::Result<()> {
        self.0.trigger()
    }
}

/// A 16550A UART writing what the guest prints to `out`.
pub struct SerialConsole {
    uart: Serial<IrqTrigger, NoEvents, Box<dyn Write + Send>>,
}

impl SerialConsole {
    /// A UART raising `irq` and writing to `out` (unbuffered writes go straight through).
    pub fn new(irq: Arc<dyn IrqLine>, out: Box<dyn Write + Send>) -> Self {
        SerialConsole {
            uart: Serial::new(IrqTrigger(irq), out),
        }
    }
}

impl BusDevice for SerialConsole {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        match (u8::try_from(offset), data.len()) {
            (Ok(off), 1) => data[0] = self.uart.read(off),
            _ => data.fill(0xff),
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        if let (Ok(off), [value]) = (u8::try_from(offset), data) {
            if let Err(e) = self.uart.write(off, *value) {
                tracing::warn!(error = ?e, "serial console write failed");
            }
            if off == 0 {
                // Console output is what people read when a boot fails: do not keep it buffered.
                let _ = self.uart.writer_mut().flush();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::devices::irq::CountingIrq;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn bytes_written_to_thr_reach_the_output_and_raise_thre_interrupts() {
        let sink = Sink::default();
        let irq = Arc::new(CountingIrq::default());
        let mut s = SerialConsole::new(irq.clone(), Box::new(sink.clone()));
        s.write(1, &[0x02]); // IER: transmitter holding register empty interrupt
        s.write(0, b"h");
        assert_eq!(irq.count(), 1);
        s.write(0, b"i");
        assert_eq!(irq.count(), 1, "no new interrupt until the driver reads IIR");
        let mut iir = [0u8];
        s.read(2, &mut iir);
        assert_eq!(iir[0] & 0x0f, 0x02, "THR empty pending");
        s.write(0, b"\n");
        assert_eq!(irq.count(), 2);
        assert_eq!(&*sink.0.lock().unwrap(), b"hi\n");
        let mut lsr = [0u8];
        s.read(5, &mut lsr);
        assert_ne!(lsr[0] & 0x20, 0, "THR empty");
    }

    #[test]
    fn wide_or_out_of_range_accesses_are_ignored() {
        let sink = Sink::default();
        let mut s = SerialConsole::new(Arc::new(CountingIrq::default()), Box::new(sink.clone()));
        s.write(0, b"ab");
        s.write(300, b"c");
        let mut d = [0u8; 2];
        s.read(0, &mut d);
        assert_eq!(d, [0xff, 0xff]);
        assert!(sink.0.lock().unwrap().is_empty());
    }
}
