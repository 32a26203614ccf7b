//! Port and MMIO buses: address ranges mapped to devices, and the [`VmOps`] that dispatches vCPU exits
//! to them.

use std::sync::{Arc, Mutex};

use crate::hypervisor::VmOps;

/// A device on a bus. Offsets are relative to the start of the device's range.
pub trait BusDevice: Send {
    /// Fills `data` from the device register at `offset`.
    fn read(&mut self, offset: u64, data: &mut [u8]);
    /// Writes `data` to the device register at `offset`.
    fn write(&mut self, offset: u64, data: &[u8]);
}

/// A shared bus device.
pub type SharedDevice = Arc<Mutex<dyn BusDevice>>;

/// Errors building a bus.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// Two devices claim the same addresses.
    #[error("device range {base:#x}+{len:#x} overlaps another device or is empty; this is a berth-vmm bug")]
    Overlap {
        /// Start of the refused range.
        base: u64,
        /// Its length.
        len: u64,
    },
}

struct Range {
    base: u64,
    len: u64,
    device: SharedDevice,
}

/// Non-overlapping ranges, built before vCPUs start and read-only after.
#[derive(Default)]
pub struct Bus {
    ranges: Vec<Range>,
}

impl Bus {
    /// Maps `device` at `base..base+len`.
    pub fn insert(&mut self, base: u64, len: u64, device: SharedDevice) -> Result<(), BusError> {
        let end = base
            .checked_add(len)
            .filter(|_| len > 0)
            .ok_or(BusError::Overlap { base, len })?;
        if self.ranges.iter().any(|r| base < r.base + r.len && r.base < end) {
            return Err(BusError::Overlap { base, len });
        }
        let at = self.ranges.partition_point(|r| r.base < base);
        self.ranges.insert(at, Range { base, len, device });
        Ok(())
    }

    /// The device whose range holds all of `addr..addr+len`, and the offset into it.
    fn find(&self, addr: u64, len: usize) -> Option<(&SharedDevice, u64)> {
        let i = self.ranges.partition_point(|r| r.base <= addr).checked_sub(1)?;
        let r = &self.ranges[i];
        let offset = addr - r.base;
        (offset.checked_add(len as u64)? <= r.len).then_some((&r.device, offset))
    }

    /// Reads from the device at `addr`; `false` (and `data` all ones) if nothing is there.
    pub fn read(&self, addr: u64, data: &mut [u8]) -> bool {
        match self.find(addr, data.len()) {
            Some((dev, offset)) => {
                dev.lock().unwrap_or_else(|p| p.into_inner()).read(offset, data);
                true
            }
            None => {
                data.fill(0xff);
                false
            }
        }
    }

    /// Writes to the device at `addr`; `false` if nothing is there.
    pub fn write(&self, addr: u64, data: &[u8]) -> bool {
        match self.find(addr, data.len()) {
            Some((dev, offset)) => {
                dev.lock().unwrap_or_else(|p| p.into_inner()).write(offset, data);
                true
            }
            None => false,
        }
    }
}

/// The port bus and the MMIO bus; the [`VmOps`] every vCPU runs with.
#[derive(Default)]
pub struct IoBuses {
    /// x86 I/O ports.
    pub pio: Bus,
    /// Memory-mapped I/O outside RAM.
    pub mmio: Bus,
}

impl VmOps for IoBuses {
    fn pio_read(&self, port: u16, data: &mut [u8]) {
        if !self.pio.read(u64::from(port), data) {
            tracing::trace!(port, len = data.len(), "read of an unclaimed port");
        }
    }

    fn pio_write(&self, port: u16, data: &[u8]) {
        if !self.pio.write(u64::from(port), data) {
            tracing::trace!(port, ?data, "write to an unclaimed port");
        }
    }

    fn mmio_read(&self, addr: u64, data: &mut [u8]) {
        if !self.mmio.read(addr, data) {
            tracing::debug!(addr, len = data.len(), "read of unclaimed MMIO");
        }
    }

    fn mmio_write(&self, addr: u64, data: &[u8]) {
        if !self.mmio.write(addr, data) {
            tracing::debug!(addr, ?data, "write to unclaimed MMIO");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Recorder {
        last: Option<(u64, Vec<u8>)>,
    }

    impl BusDevice for Recorder {
        fn read(&mut self, offset: u64, data: &mut [u8]) {
            data.fill(offset as u8);
        }
        fn write(&mut self, offset: u64, data: &[u8]) {
            self.last = Some((offset, data.to_vec()));
        }
    }

    #[test]
    fn dispatches_by_range_with_offsets() {
        let a = Arc::new(Mutex::new(Recorder::default()));
        let mut bus = Bus::default();
        bus.insert(0x3f8, 8, a.clone()).unwrap();
        bus.insert(0x60, 5, Arc::new(Mutex::new(Recorder::default())))
            .unwrap();
        let mut d = [0u8; 1];
        assert!(bus.read(0x3fd, &mut d));
        assert_eq!(d, [5]);
        assert!(bus.write(0x3f9, &[7]));
        assert_eq!(a.lock().unwrap().last, Some((1, vec![7])));
    }

    #[test]
    fn unclaimed_and_straddling_accesses_miss() {
        let mut bus = Bus::default();
        bus.insert(0x1000, 0x10, Arc::new(Mutex::new(Recorder::default())))
            .unwrap();
        let mut d = [0u8; 4];
        assert!(!bus.read(0xfff, &mut d));
        assert_eq!(d, [0xff; 4]);
        assert!(!bus.read(0x100e, &mut d), "straddles the end");
        assert!(!bus.write(u64::MAX - 1, &[1, 2, 3, 4]), "no overflow at the top");
        assert!(bus.read(0x100c, &mut d));
    }

    #[test]
    fn overlaps_and_empty_ranges_are_refused() {
        let mut bus = Bus::default();
        bus.insert(0x1000, 0x10, Arc::new(Mutex::new(Recorder::default())))
            .unwrap();
        for (base, len) in [(0x100f, 1), (0xff0, 0x11), (0x2000, 0), (u64::MAX, 2)] {
            assert!(
                bus.insert(base, len, Arc::new(Mutex::new(Recorder::default())))
                    .is_err(),
                "{base:#x}+{len}"
            );
        }
    }
}
