//! A minimal MC146818 CMOS RTC on ports 0x70 (index) and 0x71 (data): the time of day from the host
//! clock (UTC), never "update in progress", valid RAM and time, and 114 bytes of CMOS RAM. Enough for
//! Linux's early clock read and for `rtc_cmos` to probe at once instead of polling a missing chip.
//!
//! The guest cannot move the clock: writes to the time registers are ignored (the host clock is the
//! truth). The time comes in BCD or binary, 24- or 12-hour, as status register B says. No interrupts.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::bus::BusDevice;

/// Offset of the index port (0x70) from the device base.
pub const INDEX_OFFSET: u64 = 0;
/// Offset of the data port (0x71) from the device base.
pub const DATA_OFFSET: u64 = 1;

/// Register numbers.
pub mod reg {
    /// Seconds.
    pub const SECONDS: u8 = 0x00;
    /// Minutes.
    pub const MINUTES: u8 = 0x02;
    /// Hours.
    pub const HOURS: u8 = 0x04;
    /// Day of the week, 1 = Sunday.
    pub const WEEKDAY: u8 = 0x06;
    /// Day of the month.
    pub const DAY: u8 = 0x07;
    /// Month.
    pub const MONTH: u8 = 0x08;
    /// Year in the century.
    pub const YEAR: u8 = 0x09;
    /// Status A: update in progress, divider, rate.
    pub const A: u8 = 0x0a;
    /// Status B: SET, interrupt enables, data mode, 24-hour mode.
    pub const B: u8 = 0x0b;
    /// Status C: interrupt flags (read clears).
    pub const C: u8 = 0x0c;
    /// Status D: valid RAM and time.
    pub const D: u8 = 0x0d;
    /// Century (where PC firmware keeps it).
    pub const CENTURY: u8 = 0x32;
}

/// Status A: update in progress.
pub const A_UIP: u8 = 0x80;
/// Status B: 24-hour mode.
pub const B_24H: u8 = 0x02;
/// Status B: binary (not BCD) data mode.
pub const B_BINARY: u8 = 0x04;
/// Status D: valid RAM and time.
pub const D_VRT: u8 = 0x80;

/// Registers + CMOS RAM.
const CMOS_SIZE: usize = 128;

/// The RTC, reading seconds since the Unix epoch from an injected clock.
pub struct Rtc {
    index: u8,
    cmos: [u8; CMOS_SIZE],
    clock: Box<dyn Fn() -> u64 + Send>,
}

impl Default for Rtc {
    fn default() -> Self {
        Rtc::new(Box::new(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        }))
    }
}

/// Calendar fields of a Unix time (UTC).
#[derive(Debug, PartialEq, Eq)]
struct DateTime {
    year: u64,
    month: u8,
    day: u8,
    weekday: u8,
    hour: u8,
    minute: u8,
    second: u8,
}

impl DateTime {
    fn from_unix(secs: u64) -> DateTime {
        let days = secs / 86_400;
        let rem = secs % 86_400;
        // Howard Hinnant's civil_from_days, for days since 1970-01-01 (no negatives here).
        let z = days + 719_468;
        let era = z / 146_097;
        let doe = z % 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = yoe + era * 400 + u64::from(month <= 2);
        DateTime {
            year,
            month,
            day,
            weekday: ((days + 4) % 7 + 1) as u8, // 1970-01-01 was a Thursday; 1 = Sunday
            hour: (rem / 3600) as u8,
            minute: (rem / 60 % 60) as u8,
            second: (rem % 60) as u8,
        }
    }
}

fn to_bcd(v: u8) -> u8 {
    ((v / 10) << 4) | (v % 10)
}

impl Rtc {
    /// An RTC whose time is `clock()` seconds since the Unix epoch.
    pub fn new(clock: Box<dyn Fn() -> u64 + Send>) -> Self {
        let mut cmos = [0u8; CMOS_SIZE];
        cmos[usize::from(reg::A)] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
        cmos[usize::from(reg::B)] = B_24H;
        cmos[usize::from(reg::D)] = D_VRT;
        Rtc {
            index: 0,
            cmos,
            clock,
        }
    }

    fn encode(&self, v: u8) -> u8 {
        if self.cmos[usize::from(reg::B)] & B_BINARY != 0 {
            v
        } else {
            to_bcd(v)
        }
    }

    fn hours(&self, hour: u8) -> u8 {
        if self.cmos[usize::from(reg::B)] & B_24H != 0 {
            return self.encode(hour);
        }
        let h12 = match hour % 12 {
            0 => 12,
            h => h,
        };
        self.encode(h12) | if hour >= 12 { 0x80 } else { 0 }
    }

    fn read_register(&mut self, index: u8) -> u8 {
        let time = || DateTime::from_unix((self.clock)());
        match index {
            reg::SECONDS => self.encode(time().second),
            reg::MINUTES => self.encode(time().minute),
            reg::HOURS => self.hours(time().hour),
            reg::WEEKDAY => self.encode(time().weekday),
            reg::DAY => self.encode(time().day),
            reg::MONTH => self.encode(time().month),
            reg::YEAR => self.encode((time().year % 100) as u8),
            reg::CENTURY => self.encode((time().year / 100 % 100) as u8),
            reg::A => self.cmos[usize::from(reg::A)] & !A_UIP,
            // Reading C acknowledges its flags; none are ever raised.
            reg::C => 0,
            reg::D => D_VRT,
            i => self.cmos[usize::from(i)],
        }
    }

    fn write_register(&mut self, index: u8, value: u8) {
        match index {
            reg::SECONDS
            | reg::MINUTES
            | reg::HOURS
            | reg::WEEKDAY
            | reg::DAY
            | reg::MONTH
            | reg::YEAR
            | reg::CENTURY => {
                tracing::debug!(index, value, "guest write to the RTC time ignored");
            }
            reg::A => self.cmos[usize::from(reg::A)] = value & !A_UIP,
            reg::C | reg::D => {} // read-only
            i => self.cmos[usize::from(i)] = value,
        }
    }
}

impl BusDevice for Rtc {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        data.fill(0xff);
        let Some(first) = data.first_mut() else { return };
        if offset == DATA_OFFSET {
            *first = self.read_register(self.index);
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        let Some(&byte) = data.first() else { return };
        match offset {
            // Bit 7 of the index is the NMI mask, not part of the register number.
            INDEX_OFFSET => self.index = byte & 0x7f,
            DATA_OFFSET => self.write_register(self.index, byte),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-28 16:05:09 UTC, a Saturday.
    const SAT_AFTERNOON: u64 = 1_795_881_909;

    fn rtc_at(secs: u64) -> Rtc {
        Rtc::new(Box::new(move || secs))
    }

    fn read(rtc: &mut Rtc, index: u8) -> u8 {
        rtc.write(INDEX_OFFSET, &[index]);
        let mut d = [0];
        rtc.read(DATA_OFFSET, &mut d);
        d[0]
    }

    fn write(rtc: &mut Rtc, index: u8, value: u8) {
        rtc.write(INDEX_OFFSET, &[index]);
        rtc.write(DATA_OFFSET, &[value]);
    }

    #[test]
    fn calendar_from_unix_time() {
        let epoch = DateTime::from_unix(0);
        assert_eq!(
            (epoch.year, epoch.month, epoch.day, epoch.weekday),
            (1970, 1, 1, 5)
        );
        let leap = DateTime::from_unix(951_782_400); // 2000-02-29 00:00:00, a Tuesday
        assert_eq!((leap.year, leap.month, leap.day, leap.weekday), (2000, 2, 29, 3));
        assert_eq!(
            DateTime::from_unix(SAT_AFTERNOON),
            DateTime {
                year: 2026,
                month: 11,
                day: 28,
                weekday: 7,
                hour: 16,
                minute: 5,
                second: 9
            }
        );
    }

    #[test]
    fn time_registers_are_bcd_24_hour_by_default() {
        let mut rtc = rtc_at(SAT_AFTERNOON);
        assert_eq!(read(&mut rtc, reg::B) & (B_24H | B_BINARY), B_24H);
        let got: Vec<u8> = [0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32]
            .iter()
            .map(|&i| read(&mut rtc, i))
            .collect();
        assert_eq!(got, [0x09, 0x05, 0x16, 0x07, 0x28, 0x11, 0x26, 0x20]);
    }

    #[test]
    fn status_b_selects_binary_and_12_hour() {
        let mut rtc = rtc_at(SAT_AFTERNOON);
        write(&mut rtc, reg::B, B_24H | B_BINARY);
        assert_eq!(read(&mut rtc, reg::HOURS), 16);
        assert_eq!(read(&mut rtc, reg::DAY), 28);
        write(&mut rtc, reg::B, 0);
        assert_eq!(read(&mut rtc, reg::HOURS), 0x80 | 0x04, "4 PM in BCD");
        let mut midnight = rtc_at(SAT_AFTERNOON - 16 * 3600);
        write(&mut midnight, reg::B, 0);
        assert_eq!(read(&mut midnight, reg::HOURS), 0x12, "12 AM");
    }

    #[test]
    fn status_registers_are_sane() {
        let mut rtc = rtc_at(SAT_AFTERNOON);
        assert_eq!(read(&mut rtc, reg::A) & A_UIP, 0);
        write(&mut rtc, reg::A, 0xa6);
        assert_eq!(read(&mut rtc, reg::A), 0x26, "UIP never sticks");
        assert_eq!(read(&mut rtc, reg::C), 0);
        assert_eq!(read(&mut rtc, reg::D), D_VRT, "valid, bit 6 clear");
        write(&mut rtc, reg::D, 0);
        assert_eq!(read(&mut rtc, reg::D), D_VRT);
    }

    #[test]
    fn nmi_bit_is_masked_off_the_index() {
        let mut rtc = rtc_at(SAT_AFTERNOON);
        assert_eq!(read(&mut rtc, 0x80 | reg::MINUTES), 0x05);
        write(&mut rtc, 0x80 | 0x40, 0x5a);
        assert_eq!(read(&mut rtc, 0x40), 0x5a);
    }

    #[test]
    fn cmos_ram_keeps_values_and_time_writes_are_ignored() {
        let mut rtc = rtc_at(SAT_AFTERNOON);
        write(&mut rtc, 0x01, 0x30); // alarm seconds
        write(&mut rtc, 0x7f, 0xaa);
        assert_eq!((read(&mut rtc, 0x01), read(&mut rtc, 0x7f)), (0x30, 0xaa));
        write(&mut rtc, reg::SECONDS, 0x59);
        assert_eq!(read(&mut rtc, reg::SECONDS), 0x09);
    }

    #[test]
    fn the_clock_is_read_at_each_access() {
        let start = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(SAT_AFTERNOON));
        let s = start.clone();
        let mut rtc = Rtc::new(Box::new(move || s.load(std::sync::atomic::Ordering::SeqCst)));
        assert_eq!(read(&mut rtc, reg::SECONDS), 0x09);
        start.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(read(&mut rtc, reg::SECONDS), 0x10);
    }
}
