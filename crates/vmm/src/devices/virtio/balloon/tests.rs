//! virtio-balloon against a `GuestMemoryMmap` and virtio-queue's mock split queues: inflate, deflate,
//! free page reporting that really frees host memory, statistics, the target, and hostile chains.

use std::sync::Arc;

use virtio_queue::desc::split::Descriptor as SplitDescriptor;
use virtio_queue::desc::RawDescriptor;
use virtio_queue::mock::MockSplitQueue;
use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap};

use super::stats::STAT_LEN;
use super::*;
use crate::devices::irq::CountingIrq;
use crate::virtio_mmio::registers::{INT_CONFIG_CHANGE, INT_USED_RING};

const F_NEXT: u16 = 1;
const F_WRITE: u16 = 2;
const QSIZE: u16 = 16;
const MEM: u64 = 16 << 20;
const MEM_MIB: u64 = 16;
/// Where PFN arrays and statistics buffers live.
const BUF: u64 = 0x10000;

fn memory() -> GuestMemoryMmap {
    GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), MEM as usize)]).unwrap()
}

struct Q<'a> {
    mock: MockSplitQueue<'a, GuestMemoryMmap>,
    next: u16,
    seen: u16,
}

struct Driver<'a> {
    mem: &'a GuestMemoryMmap,
    dev: Balloon,
    handle: BalloonHandle,
    irq: Arc<CountingIrq>,
    interrupt: Arc<VirtioInterrupt>,
    queues: Vec<Q<'a>>,
}

impl<'a> Driver<'a> {
    /// A balloon with `queues` mock queues; nothing activated yet.
    fn new(mem: &'a GuestMemoryMmap, queues: usize) -> Self {
        let dev = Balloon::new(MEM_MIB, true).unwrap();
        let irq = Arc::new(CountingIrq::default());
        Driver {
            mem,
            handle: dev.handle(),
            dev,
            interrupt: Arc::new(VirtioInterrupt::new(irq.clone())),
            irq,
            queues: (0..queues)
                .map(|i| Q {
                    mock: MockSplitQueue::create(mem, GuestAddress(0x1000 * i as u64), QSIZE),
                    next: 0,
                    seen: 0,
                })
                .collect(),
        }
    }

    fn activate(&mut self, features: u64) -> Result<(), ActivateError> {
        let queues = self
            .queues
            .iter()
            .map(|q| Some(q.mock.create_queue().unwrap()))
            .collect();
        self.dev.activate(ActivateConfig {
            mem: self.mem.clone(),
            queues,
            features,
            interrupt: self.interrupt.clone(),
        })
    }

    fn started(mem: &'a GuestMemoryMmap, features: u64) -> Self {
        let mut d = Driver::new(mem, queue_roles(features).len());
        d.activate(features).unwrap();
        d
    }

    /// Publishes raw (addr, len, flags, next-relative) descriptors on queue `q` without notifying.
    fn publish(&mut self, q: usize, descs: &[(u64, u32, u16, u16)]) {
        publish(self.mem, &mut self.queues[q], descs);
    }

    /// Publishes a well-linked chain of (addr, len, device-writable) and notifies queue `q`.
    fn post(&mut self, q: usize, descs: &[(u64, u32, bool)]) {
        let n = descs.len();
        let raw: Vec<_> = descs
            .iter()
            .enumerate()
            .map(|(i, &(a, l, w))| {
                let mut f = if w { F_WRITE } else { 0 };
                if i + 1 < n {
                    f |= F_NEXT;
                }
                (a, l, f, i as u16 + 1)
            })
            .collect();
        self.publish(q, &raw);
        self.dev.queue_notify(q as u16);
    }

    /// Writes `pfns` at [`BUF`] and posts them on queue `q` as one driver-readable buffer.
    fn pfns(&mut self, q: usize, pfns: &[u32]) {
        let bytes: Vec<u8> = pfns.iter().flat_map(|p| p.to_le_bytes()).collect();
        self.mem.write_slice(&bytes, GuestAddress(BUF)).unwrap();
        self.post(q, &[(BUF, bytes.len() as u32, false)]);
    }

    /// How many chains queue `q` returned since the last call.
    fn used(&mut self, q: usize) -> u16 {
        let queue = &mut self.queues[q];
        let idx: u16 = self
            .mem
            .read_obj(GuestAddress(queue.mock.used_addr().0 + 2))
            .unwrap();
        let n = idx.wrapping_sub(queue.seen);
        queue.seen = idx;
        n
    }

    fn counters(&self) -> BalloonCounters {
        self.handle.status().counters
    }
}

/// Publishes raw (addr, len, flags, next-relative) descriptors on `queue` without notifying.
fn publish(mem: &GuestMemoryMmap, queue: &mut Q<'_>, descs: &[(u64, u32, u16, u16)]) {
    let base = if usize::from(queue.next) + descs.len() > usize::from(QSIZE) {
        0
    } else {
        queue.next
    };
    for (i, &(a, l, f, n)) in descs.iter().enumerate() {
        let d = RawDescriptor::from(SplitDescriptor::new(a, l, f, base.wrapping_add(n)));
        queue.mock.desc_table().store(base + i as u16, d).unwrap();
    }
    let avail = queue.mock.avail_addr().0;
    let idx: u16 = mem.read_obj(GuestAddress(avail + 2)).unwrap();
    mem.write_obj(base, GuestAddress(avail + 4 + 2 * u64::from(idx % QSIZE)))
        .unwrap();
    mem.write_obj(idx.wrapping_add(1), GuestAddress(avail + 2))
        .unwrap();
    queue.next = (base + descs.len() as u16) % QSIZE;
}

/// Whether the host page behind guest `addr` is in this process's memory (mincore).
fn resident(mem: &GuestMemoryMmap, addr: u64) -> bool {
    let host = mem.get_host_address(GuestAddress(addr)).unwrap() as usize;
    let page = pages::host_page_size() as usize;
    let mut vec = 0u8;
    // SAFETY: one page at a page boundary inside guest memory; `vec` receives one byte.
    let rc = unsafe { libc::mincore((host / page * page) as *mut libc::c_void, page, &mut vec) };
    assert_eq!(rc, 0);
    vec & 1 == 1
}

fn byte(mem: &GuestMemoryMmap, addr: u64) -> u8 {
    mem.read_obj(GuestAddress(addr)).unwrap()
}

#[test]
fn queues_are_numbered_by_negotiated_features_without_gaps() {
    use QueueRole::*;
    assert_eq!(queue_roles(0), vec![Inflate, Deflate]);
    assert_eq!(queue_roles(F_STATS_VQ), vec![Inflate, Deflate, Stats]);
    assert_eq!(queue_roles(F_REPORTING), vec![Inflate, Deflate, Reporting]);
    assert_eq!(
        queue_roles(F_STATS_VQ | F_REPORTING | F_DEFLATE_ON_OOM),
        vec![Inflate, Deflate, Stats, Reporting]
    );
    let with = Balloon::new(64, true).unwrap();
    assert_eq!(with.device_type(), DEVICE_TYPE_BALLOON);
    assert_eq!(
        with.device_features(),
        F_STATS_VQ | F_DEFLATE_ON_OOM | F_REPORTING
    );
    assert_eq!(with.queue_max_sizes(), &[QUEUE_SIZE; 4]);
    let without = Balloon::new(64, false).unwrap();
    assert_eq!(without.device_features() & F_REPORTING, 0);
    assert_eq!(without.queue_max_sizes().len(), 3);
}

#[test]
fn inflated_pages_go_back_to_the_host_and_deflates_are_acknowledged() {
    let mem = memory();
    let mut d = Driver::started(&mem, F_STATS_VQ | F_REPORTING);
    mem.write_slice(&[0xab; 4 * 4096], GuestAddress(0x100000))
        .unwrap();
    assert!(resident(&mem, 0x100000));
    d.pfns(0, &[0x100, 0x101, 0x103]);
    assert_eq!(d.used(0), 1);
    for (page, released) in [
        (0x100000, true),
        (0x101000, true),
        (0x102000, false),
        (0x103000, true),
    ] {
        // Residency first: reading a released page maps the shared zero page, which counts as resident.
        assert_eq!(resident(&mem, page), !released, "{page:#x}");
        assert_eq!(byte(&mem, page), if released { 0 } else { 0xab }, "{page:#x}");
    }
    d.pfns(1, &[0x100]);
    assert_eq!(d.used(1), 1);
    let c = d.counters();
    assert_eq!(
        (c.inflated_pages, c.deflated_pages, c.released_bytes, c.refused),
        (3, 1, 3 * 4096, 0)
    );
    assert!(d.irq.count() >= 2);
}

#[test]
fn free_page_reports_free_host_memory_at_the_index_the_features_give() {
    for (features, index) in [(F_STATS_VQ | F_REPORTING, 3), (F_REPORTING, 2)] {
        let mem = memory();
        let mut d = Driver::started(&mem, features);
        let (a, b) = (0x400000u64, 0x800000u64);
        mem.write_slice(&vec![0x5a; 2 << 20], GuestAddress(a)).unwrap();
        mem.write_slice(&vec![0x5a; 1 << 20], GuestAddress(b)).unwrap();
        assert!(resident(&mem, a) && resident(&mem, b + 0xff000));
        d.post(index, &[(a, 2 << 20, true), (b, 1 << 20, true)]);
        assert_eq!(d.used(index), 1);
        for addr in [a, a + 0x1ff000, b, b + 0xff000] {
            assert!(!resident(&mem, addr), "{addr:#x} still resident ({features:#x})");
            assert_eq!(byte(&mem, addr), 0);
        }
        assert_eq!(byte(&mem, a - 1), 0, "untouched memory stays zero");
        assert_eq!(byte(&mem, b + (1 << 20)), 0);
        let c = d.counters();
        assert_eq!((c.reported_bytes, c.released_bytes), (3 << 20, 3 << 20));
    }
}

/// Whether the mapping holding `addr` carries `MADV_NOHUGEPAGE` ("nh" in its smaps VmFlags).
fn no_huge_pages(mem: &GuestMemoryMmap, addr: u64) -> bool {
    let host = mem.get_host_address(GuestAddress(addr)).unwrap() as u64;
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let mut inside = false;
    for line in smaps.lines() {
        if let Some((range, _)) = line.split_once(' ') {
            if let Some((lo, hi)) = range.split_once('-') {
                if let (Ok(lo), Ok(hi)) = (u64::from_str_radix(lo, 16), u64::from_str_radix(hi, 16)) {
                    inside = (lo..hi).contains(&host);
                    continue;
                }
            }
        }
        if inside {
            if let Some(flags) = line.strip_prefix("VmFlags:") {
                return flags.split_whitespace().any(|f| f == "nh");
            }
        }
    }
    panic!("no mapping holds {addr:#x}")
}

#[test]
fn reports_under_a_huge_page_take_the_blocks_around_them_off_huge_pages() {
    let mem = memory();
    let mut d = Driver::started(&mem, F_REPORTING);
    d.post(2, &[(0x400000, 2 << 20, true)]);
    assert_eq!(d.used(2), 1);
    assert!(!no_huge_pages(&mem, 0x400000), "whole huge pages: no change");
    mem.write_slice(&[0x5a; 4096], GuestAddress(0x900000)).unwrap();
    d.post(2, &[(0x900000, 4096, true)]);
    assert_eq!(d.used(2), 1);
    // The host mapping of the test's memory is not 2 MiB-aligned, so look where its blocks fall.
    let host = |a: u64| mem.get_host_address(GuestAddress(a)).unwrap() as u64;
    let block = host(0x900000) / (2 << 20) * (2 << 20);
    let guest_of = |h: u64| 0x900000 + h - host(0x900000);
    assert!(no_huge_pages(&mem, 0x900000));
    assert!(no_huge_pages(&mem, guest_of(block)) && no_huge_pages(&mem, guest_of(block + (2 << 20) - 4096)));
    assert!(
        !no_huge_pages(&mem, guest_of(block) - 4096),
        "the block before keeps huge pages"
    );
    assert!(
        !no_huge_pages(&mem, guest_of(block + (2 << 20))),
        "the block after keeps huge pages"
    );
    assert!(!resident(&mem, 0x900000), "the 4 KiB page went back");
    assert_eq!(d.counters().released_bytes, (2 << 20) + 4096);
}

#[test]
fn hostile_chains_are_refused_without_releasing_anything_outside_them() {
    let mem = memory();
    let mut d = Driver::started(&mem, F_STATS_VQ | F_REPORTING);
    mem.write_slice(&vec![0x77; 1 << 20], GuestAddress(0x200000))
        .unwrap();
    // PFNs past the end of memory and at u32::MAX are skipped; the good one in the chain is released.
    d.pfns(0, &[u32::MAX, (MEM >> 12) as u32, 0x200]);
    assert_eq!(d.used(0), 1);
    assert_eq!(byte(&mem, 0x200000), 0);
    assert_eq!(d.counters().refused, 2);
    let before = d.counters();

    // Inflate chains that are refused whole: odd length, device-writable, outside memory, loop, bad next.
    mem.write_slice(&0x201u32.to_le_bytes(), GuestAddress(BUF))
        .unwrap();
    d.post(0, &[(BUF, 6, false)]);
    d.post(0, &[(BUF, 4, true)]);
    d.post(0, &[(MEM - 2, 4, false)]);
    d.post(0, &[(BUF, (MAX_PFNS_PER_CHAIN as u32 + 1) * 4, false)]);
    d.publish(0, &[(BUF, 4, F_NEXT, 1), (BUF, 4, F_NEXT, 0)]);
    d.publish(0, &[(BUF, 4, F_NEXT, 99)]);
    d.dev.queue_notify(0);
    assert_eq!(d.used(0), 6, "every chain is returned");
    assert_eq!(byte(&mem, 0x201000), 0x77, "nothing released");
    assert_eq!(d.counters().refused, before.refused + 6);
    assert_eq!(d.counters().inflated_pages, before.inflated_pages);

    // Reporting chains: driver-readable, unaligned, odd length, past the end, across the end of memory.
    // A bad descriptor anywhere means nothing in the chain is released.
    let r = 3;
    let cases: &[&[(u64, u32, bool)]] = &[
        &[(0x210000, 0x1000, false)],
        &[(0x210000, 0x1000, true), (0x211800, 0x1000, true)],
        &[(0x210000, 0x1000, true), (0x212000, 0x1234, true)],
        &[(0x210000, 0x1000, true), (MEM, 0x1000, true)],
        &[(0x210000, 0x1000, true), (MEM - 0x1000, 0x2000, true)],
        &[(0x210000, 0x1000, true), (!0xfff, 0x1000, true)],
        &[(0x210000, 0, true)],
    ];
    for descs in cases {
        d.post(r, descs);
    }
    assert_eq!(d.used(r), cases.len() as u16);
    assert_eq!(byte(&mem, 0x210000), 0x77, "no report released anything");
    assert!(resident(&mem, 0x210000));
    assert_eq!(d.counters().reported_bytes, 0);

    // Notifications for queues that do not exist, and still serving.
    d.dev.queue_notify(4);
    d.dev.queue_notify(u16::MAX);
    d.post(r, &[(0x210000, 0x1000, true)]);
    assert_eq!(byte(&mem, 0x210000), 0);
}

fn stats_bytes(stats: &[(u16, u64)]) -> Vec<u8> {
    stats
        .iter()
        .flat_map(|(t, v)| t.to_le_bytes().into_iter().chain(v.to_le_bytes()))
        .collect()
}

#[test]
fn statistics_are_held_and_returned_when_the_host_asks() {
    let mem = memory();
    let mut d = Driver::new(&mem, 4);
    // Linux posts its first statistics before DRIVER_OK.
    let first = stats_bytes(&[(4, 100 << 20), (5, 512 << 20), (6, 300 << 20)]);
    mem.write_slice(&first, GuestAddress(BUF)).unwrap();
    d.publish(2, &[(BUF, first.len() as u32, 0, 0)]);
    d.activate(F_STATS_VQ | F_REPORTING).unwrap();
    assert_eq!(d.used(2), 0, "the statistics buffer is kept");
    let s = d.handle.status();
    assert_eq!(s.stats.as_ref().and_then(|s| s.free_memory), Some(100 << 20));
    assert_eq!(s.stats.as_ref().and_then(|s| s.total_memory), Some(512 << 20));
    // status() asked for fresh statistics: the device thread returns the buffer.
    let irqs = d.irq.count();
    d.dev.handle_backend_event();
    assert_eq!(d.used(2), 1);
    assert!(d.irq.count() > irqs);
    assert_ne!(d.interrupt.status() & INT_USED_RING, 0);
    let second = stats_bytes(&[(4, 50 << 20), (2, 9)]);
    mem.write_slice(&second, GuestAddress(BUF)).unwrap();
    d.post(2, &[(BUF, second.len() as u32, false)]);
    assert_eq!(d.used(2), 0);
    let s = d.handle.status().stats.unwrap();
    assert_eq!(
        (s.free_memory, s.major_faults, s.total_memory),
        (Some(50 << 20), Some(9), None)
    );
    // Nothing held, nothing to return: a second request is harmless.
    d.dev.handle_backend_event();
    assert_eq!(d.used(2), 1);
    d.dev.handle_backend_event();
    assert_eq!(d.used(2), 0);

    // Hostile statistics: device-writable, too long, outside memory. Returned, last good ones kept.
    d.post(2, &[(BUF, 10, true)]);
    d.post(2, &[(BUF, (stats::MAX_STATS * STAT_LEN + 1) as u32, false)]);
    d.post(2, &[(MEM + 0x1000, 10, false)]);
    assert_eq!(d.used(2), 3);
    assert_eq!(d.handle.status().stats.unwrap().free_memory, Some(50 << 20));
}

#[test]
fn the_target_reaches_config_space_with_a_config_change_interrupt() {
    let mem = memory();
    let mut d = Driver::new(&mem, 4);
    // Before the driver is up: config space only, no interrupt.
    d.handle.set_target_mib(4).unwrap();
    d.dev.handle_backend_event();
    assert_eq!(d.irq.count(), 0);
    d.activate(F_STATS_VQ | F_REPORTING).unwrap();
    let mut num_pages = [0u8; 4];
    d.dev.read_config(0, &mut num_pages);
    assert_eq!(u32::from_le_bytes(num_pages), 4 * 256);

    d.handle.set_target_mib(8).unwrap();
    d.dev.handle_backend_event();
    assert_ne!(d.interrupt.status() & INT_CONFIG_CHANGE, 0);
    assert_eq!(d.interrupt.config_generation(), 1);
    d.dev.read_config(0, &mut num_pages);
    assert_eq!(u32::from_le_bytes(num_pages), 8 * 256);
    d.dev.handle_backend_event();
    assert_eq!(d.interrupt.config_generation(), 1, "no change, no interrupt");

    // The driver reports progress in `actual`; num_pages is not its to write.
    d.dev.write_config(4, &(6u32 * 256).to_le_bytes());
    d.dev.write_config(0, &[0xff; 4]);
    d.dev.write_config(u64::MAX, &[1]);
    let s = d.handle.status();
    assert_eq!((s.target_mib, s.actual_mib), (8, 6));
    let mut all = [0u8; 12];
    d.dev.read_config(0, &mut all);
    assert_eq!(&all[4..8], &(6u32 * 256).to_le_bytes());
    assert_eq!(&all[8..], &[0; 4], "past the end reads zero");

    let err = d.handle.set_target_mib(MEM_MIB + 1).unwrap_err();
    assert!(err.to_string().contains("use 0 to 16"), "{err}");
    d.dev.reset();
    assert_eq!(d.handle.status().actual_mib, 0);
}

#[test]
fn activation_needs_inflate_and_deflate_queues() {
    let mem = memory();
    let mut dev = Balloon::new(MEM_MIB, true).unwrap();
    let irq = Arc::new(CountingIrq::default());
    let err = dev
        .activate(ActivateConfig {
            mem: mem.clone(),
            queues: vec![
                Some(
                    MockSplitQueue::create(&mem, GuestAddress(0), QSIZE)
                        .create_queue()
                        .unwrap(),
                ),
                None,
            ],
            features: 0,
            interrupt: Arc::new(VirtioInterrupt::new(irq)),
        })
        .unwrap_err();
    assert!(err.to_string().contains("inflate and deflate"), "{err}");
    dev.queue_notify(0);
}

#[test]
fn through_the_transport_reporting_follows_deflate_when_stats_are_not_negotiated() {
    use crate::bus::BusDevice;
    use crate::virtio_mmio::registers::*;
    use crate::virtio_mmio::MmioTransport;

    let mem = memory();
    let dev = Balloon::new(MEM_MIB, true).unwrap();
    let handle = dev.handle();
    let irq = Arc::new(CountingIrq::default());
    let mut t = MmioTransport::new(Box::new(dev), mem.clone(), Arc::new(VirtioInterrupt::new(irq)));
    let w = |t: &mut MmioTransport, off: u64, v: u32| t.write(off, &v.to_le_bytes());
    let r = |t: &mut MmioTransport, off: u64| {
        let mut b = [0u8; 4];
        t.read(off, &mut b);
        u32::from_le_bytes(b)
    };
    assert_eq!(r(&mut t, REG_DEVICE_ID), DEVICE_TYPE_BALLOON);
    assert_ne!(u64::from(r(&mut t, REG_DEVICE_FEATURES)) & F_REPORTING, 0);
    let mut queues: Vec<Q> = (0..3)
        .map(|i| Q {
            mock: MockSplitQueue::create(&mem, GuestAddress(0x1000 * i), QSIZE),
            next: 0,
            seen: 0,
        })
        .collect();
    w(&mut t, REG_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    w(&mut t, REG_DRIVER_FEATURES_SEL, 0);
    w(&mut t, REG_DRIVER_FEATURES, F_REPORTING as u32);
    w(&mut t, REG_DRIVER_FEATURES_SEL, 1);
    w(&mut t, REG_DRIVER_FEATURES, 1); // VIRTIO_F_VERSION_1
    let ok = STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK;
    w(&mut t, REG_STATUS, ok);
    for (i, q) in queues.iter().enumerate() {
        w(&mut t, REG_QUEUE_SEL, i as u32);
        w(&mut t, REG_QUEUE_NUM, u32::from(QSIZE));
        w(&mut t, REG_QUEUE_DESC_LOW, q.mock.desc_table_addr().0 as u32);
        w(&mut t, REG_QUEUE_AVAIL_LOW, q.mock.avail_addr().0 as u32);
        w(&mut t, REG_QUEUE_USED_LOW, q.mock.used_addr().0 as u32);
        w(&mut t, REG_QUEUE_READY, 1);
    }
    w(&mut t, REG_STATUS, ok | STATUS_DRIVER_OK);
    assert!(t.is_activated());

    mem.write_slice(&vec![9u8; 1 << 20], GuestAddress(0x400000))
        .unwrap();
    publish(&mem, &mut queues[2], &[(0x400000, 1 << 20, F_WRITE, 0)]);
    t.notify_queue(2);
    let used: u16 = mem
        .read_obj(GuestAddress(queues[2].mock.used_addr().0 + 2))
        .unwrap();
    assert_eq!(used, 1);
    assert!(!resident(&mem, 0x400000) && !resident(&mem, 0x4ff000));
    assert_eq!(handle.status().counters.reported_bytes, 1 << 20);

    handle.set_target_mib(4).unwrap();
    t.handle_backend_event();
    assert_ne!(r(&mut t, REG_INTERRUPT_STATUS) & INT_CONFIG_CHANGE, 0);
    assert_eq!(r(&mut t, REG_CONFIG_GENERATION), 1);
    assert_eq!(r(&mut t, CONFIG_SPACE), 4 * 256);
    t.write(CONFIG_SPACE + 4, &(4u32 * 256).to_le_bytes());
    assert_eq!(handle.status().actual_mib, 4);
}
