//! virtio-blk against a `GuestMemoryMmap` and virtio-queue's mock split queue: good requests, hostile
//! chains, and the device driven through the MMIO transport.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;

use virtio_queue::desc::split::Descriptor as SplitDescriptor;
use virtio_queue::desc::RawDescriptor;
use virtio_queue::mock::MockSplitQueue;
use virtio_queue::Queue;
use vm_memory::{Bytes, GuestAddress, GuestMemoryMmap};

use super::request::*;
use super::*;
use crate::devices::irq::CountingIrq;

const F_NEXT: u16 = 1;
const F_WRITE: u16 = 2;
const QSIZE: u16 = 16;
const HDR: u64 = 0x1000;
const STATUS: u64 = 0x1100;
const DATA: u64 = 0x10000;
const SECTORS: u64 = 64;

pub(super) struct Rig {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub mem: GuestMemoryMmap,
}

pub(super) fn rig(sectors: u64) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("disk.img");
    let content: Vec<u8> = (0..sectors * 512).map(|i| (i / 512) as u8 ^ 0x5a).collect();
    std::fs::write(&path, content).unwrap();
    let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 16 << 20)]).unwrap();
    Rig { dir, path, mem }
}

/// A descriptor: (address, length, device-writable).
type D = (u64, u32, bool);

struct Driver<'a> {
    mem: &'a GuestMemoryMmap,
    mock: MockSplitQueue<'a, GuestMemoryMmap>,
    next: u16,
    dev: Block,
    irq: Arc<CountingIrq>,
    served: u16,
}

impl<'a> Driver<'a> {
    fn new(r: &'a Rig, read_only: bool) -> Self {
        let mock = MockSplitQueue::create(&r.mem, GuestAddress(0), QSIZE);
        let mut dev = Block::new(Disk::open(&r.path, read_only).unwrap(), "berth-vda");
        let irq = Arc::new(CountingIrq::default());
        let queue: Queue = mock.create_queue().unwrap();
        dev.activate(ActivateConfig {
            mem: r.mem.clone(),
            queues: vec![Some(queue)],
            features: 0,
            interrupt: Arc::new(VirtioInterrupt::new(irq.clone())),
        })
        .unwrap();
        Driver {
            mem: &r.mem,
            mock,
            next: 0,
            dev,
            irq,
            served: 0,
        }
    }

    /// Posts raw descriptors at the next free table slots (their `next` fields are relative to the
    /// first one) and notifies; returns the used length of the one chain that was served.
    fn raw(&mut self, descs: &[(u64, u32, u16, u16)]) -> u32 {
        // Served chains free their slots; start again at 0 when this one would not fit.
        let base = if usize::from(self.next) + descs.len() > usize::from(QSIZE) {
            0
        } else {
            self.next
        };
        let raw: Vec<RawDescriptor> = descs
            .iter()
            .map(|&(a, l, f, n)| RawDescriptor::from(SplitDescriptor::new(a, l, f, base.wrapping_add(n))))
            .collect();
        for (i, d) in raw.into_iter().enumerate() {
            self.mock.desc_table().store(base + i as u16, d).unwrap();
        }
        // The mock's own avail update does not wrap at the ring size; publish the head ourselves.
        let avail = self.mock.avail_addr().0;
        let idx: u16 = self.mem.read_obj(GuestAddress(avail + 2)).unwrap();
        let slot = avail + 4 + 2 * u64::from(idx % QSIZE);
        self.mem.write_obj(base, GuestAddress(slot)).unwrap();
        self.mem
            .write_obj(idx.wrapping_add(1), GuestAddress(avail + 2))
            .unwrap();
        self.next = (base + descs.len() as u16) % QSIZE;
        self.dev.queue_notify(0);
        let used = self.mock.used_addr().0;
        let idx: u16 = self.mem.read_obj(GuestAddress(used + 2)).unwrap();
        assert_eq!(idx, self.served.wrapping_add(1), "exactly one chain served");
        let slot = u64::from(self.served % QSIZE);
        self.served = idx;
        let head: u32 = self.mem.read_obj(GuestAddress(used + 4 + 8 * slot)).unwrap();
        assert_eq!(head, u32::from(base));
        self.mem.read_obj(GuestAddress(used + 8 + 8 * slot)).unwrap()
    }

    /// Posts a well-linked chain.
    fn chain(&mut self, descs: &[D]) -> u32 {
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
        self.raw(&raw)
    }

    /// Writes a request header, sets the status byte to 0xff and posts header, `data`, status.
    fn request(&mut self, ty: u32, sector: u64, data: &[D]) -> (u32, u8) {
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&ty.to_le_bytes());
        h[8..16].copy_from_slice(&sector.to_le_bytes());
        self.mem.write_slice(&h, GuestAddress(HDR)).unwrap();
        self.mem.write_obj(0xffu8, GuestAddress(STATUS)).unwrap();
        let mut descs = vec![(HDR, 16, false)];
        descs.extend_from_slice(data);
        descs.push((STATUS, 1, true));
        let len = self.chain(&descs);
        (len, self.status())
    }

    fn status(&self) -> u8 {
        self.mem.read_obj(GuestAddress(STATUS)).unwrap()
    }
}

#[test]
fn reads_and_writes_sectors_across_buffers() {
    let r = rig(SECTORS);
    let mut d = Driver::new(&r, false);
    let (len, status) = d.request(T_IN, 2, &[(DATA, 512, true), (DATA + 0x1000, 1024, true)]);
    assert_eq!((len, status), (1536 + 1, S_OK));
    let mut got = vec![0u8; 512];
    r.mem.read_slice(&mut got, GuestAddress(DATA)).unwrap();
    assert!(got.iter().all(|b| *b == 2 ^ 0x5a));
    r.mem
        .read_slice(&mut got, GuestAddress(DATA + 0x1000 + 512))
        .unwrap();
    assert!(got.iter().all(|b| *b == 4 ^ 0x5a));
    assert!(d.irq.count() >= 1);

    r.mem.write_slice(&[0xab; 1024], GuestAddress(DATA)).unwrap();
    let (len, status) = d.request(T_OUT, 5, &[(DATA, 1024, false)]);
    assert_eq!((len, status), (1, S_OK));
    let file = std::fs::read(&r.path).unwrap();
    assert!(file[5 * 512..7 * 512].iter().all(|b| *b == 0xab));
    assert_eq!(file[7 * 512], 7 ^ 0x5a);
    assert_eq!(file.len() as u64, SECTORS * 512);
}

#[test]
fn flush_and_get_id() {
    let r = rig(SECTORS);
    let mut d = Driver::new(&r, false);
    assert_eq!(d.request(T_FLUSH, 0, &[]), (1, S_OK));
    r.mem.write_slice(&[0xee; 32], GuestAddress(DATA)).unwrap();
    assert_eq!(d.request(T_GET_ID, 0, &[(DATA, 32, true)]), (21, S_OK));
    let mut id = [0u8; 21];
    r.mem.read_slice(&mut id, GuestAddress(DATA)).unwrap();
    assert_eq!(&id[..9], b"berth-vda");
    assert!(id[9..20].iter().all(|b| *b == 0));
    assert_eq!(id[20], 0xee, "nothing written past 20 bytes");
}

#[test]
fn discard_punches_holes_that_give_space_back() {
    let r = rig(8192); // 4 MiB, every block written
    let before = std::fs::metadata(&r.path).unwrap().blocks();
    let mut d = Driver::new(&r, false);
    assert_ne!(d.dev.device_features() & F_DISCARD, 0);
    let mut seg = [0u8; 16];
    seg[0..8].copy_from_slice(&0u64.to_le_bytes());
    seg[8..12].copy_from_slice(&4096u32.to_le_bytes());
    r.mem.write_slice(&seg, GuestAddress(DATA)).unwrap();
    assert_eq!(d.request(T_DISCARD, 0, &[(DATA, 16, false)]), (1, S_OK));
    let meta = std::fs::metadata(&r.path).unwrap();
    assert_eq!(meta.len(), 8192 * 512, "size kept");
    assert!(meta.blocks() < before, "blocks {} -> {}", before, meta.blocks());
    let file = std::fs::read(&r.path).unwrap();
    assert!(file[..4096 * 512].iter().all(|b| *b == 0));
    assert_eq!(file[4096 * 512], (4096u64 as u8) ^ 0x5a);
}

#[test]
fn read_only_disks_refuse_writes_and_discards() {
    let r = rig(SECTORS);
    let mut d = Driver::new(&r, true);
    let f = d.dev.device_features();
    assert!(f & F_RO != 0 && f & F_DISCARD == 0);
    assert_eq!(d.request(T_OUT, 0, &[(DATA, 512, false)]), (1, S_IOERR));
    assert_eq!(d.request(T_DISCARD, 0, &[(DATA, 16, false)]), (1, S_UNSUPP));
    assert_eq!(d.request(T_FLUSH, 0, &[]), (1, S_OK));
    assert_eq!(std::fs::read(&r.path).unwrap()[0], 0x5a);
}

#[test]
fn hostile_requests_get_an_error_status_and_the_device_keeps_serving() {
    let r = rig(SECTORS);
    let mut d = Driver::new(&r, false);
    let far = 1u64 << 40;
    let cases: &[(&str, u32, u64, &[D], u8)] = &[
        ("data outside guest memory", T_IN, 0, &[(far, 512, true)], S_IOERR),
        (
            "data straddling the end of memory",
            T_IN,
            0,
            &[((16 << 20) - 256, 512, true)],
            S_IOERR,
        ),
        (
            "IN into a device-readable buffer",
            T_IN,
            0,
            &[(DATA, 512, false)],
            S_IOERR,
        ),
        (
            "OUT from a device-writable buffer",
            T_OUT,
            0,
            &[(DATA, 512, true)],
            S_IOERR,
        ),
        ("IN without data", T_IN, 0, &[], S_IOERR),
        ("zero-length buffer", T_IN, 0, &[(DATA, 0, true)], S_IOERR),
        ("partial sector", T_IN, 0, &[(DATA, 100, true)], S_IOERR),
        (
            "sectors past the end",
            T_IN,
            SECTORS - 1,
            &[(DATA, 1024, true)],
            S_IOERR,
        ),
        ("sector overflow", T_OUT, u64::MAX, &[(DATA, 512, false)], S_IOERR),
        ("unknown type", 99, 0, &[], S_UNSUPP),
        (
            "GET_ID into a readable buffer",
            T_GET_ID,
            0,
            &[(DATA, 20, false)],
            S_IOERR,
        ),
    ];
    for (what, ty, sector, data, want) in cases {
        assert_eq!(d.request(*ty, *sector, data), (1, *want), "{what}");
    }
    // Discard segments: bad flags, past the end, too many, not whole segments.
    let mut seg = [0u8; 16];
    seg[8..12].copy_from_slice(&1u32.to_le_bytes());
    seg[12..16].copy_from_slice(&2u32.to_le_bytes());
    r.mem.write_slice(&seg, GuestAddress(DATA)).unwrap();
    assert_eq!(d.request(T_DISCARD, 0, &[(DATA, 16, false)]), (1, S_UNSUPP));
    seg[0..8].copy_from_slice(&(SECTORS - 1).to_le_bytes());
    seg[8..12].copy_from_slice(&2u32.to_le_bytes());
    seg[12..16].copy_from_slice(&0u32.to_le_bytes());
    r.mem.write_slice(&seg, GuestAddress(DATA)).unwrap();
    assert_eq!(d.request(T_DISCARD, 0, &[(DATA, 16, false)]), (1, S_IOERR));
    assert_eq!(d.request(T_DISCARD, 0, &[(DATA, 33 * 16, false)]), (1, S_IOERR));
    assert_eq!(d.request(T_DISCARD, 0, &[(DATA, 24, false)]), (1, S_IOERR));

    // Headers: short, device-writable, alone (no status byte).
    assert_eq!(d.chain(&[(HDR, 8, false), (STATUS, 1, true)]), 1);
    assert_eq!(d.status(), S_IOERR);
    assert_eq!(d.chain(&[(HDR, 16, true), (STATUS, 1, true)]), 1);
    assert_eq!(d.status(), S_IOERR);
    assert_eq!(d.chain(&[(HDR, 16, false)]), 0, "no status byte");
    // Status byte: device-readable, empty, outside memory.
    assert_eq!(d.chain(&[(HDR, 16, false), (STATUS, 1, false)]), 0);
    assert_eq!(d.chain(&[(HDR, 16, false), (STATUS, 0, true)]), 0);
    assert_eq!(d.chain(&[(HDR, 16, false), (far, 1, true)]), 0);
    // A loop, and a next index outside the table.
    assert_eq!(
        d.raw(&[(HDR, 16, F_NEXT, 1), (DATA, 512, F_NEXT | F_WRITE, 0)]),
        0
    );
    assert_eq!(d.raw(&[(HDR, 16, F_NEXT, 200)]), 0);

    // Still serving.
    assert_eq!(d.request(T_IN, 1, &[(DATA, 512, true)]), (513, S_OK));
    assert_eq!(r.mem.read_obj::<u8>(GuestAddress(DATA)).unwrap(), 1 ^ 0x5a);
}

#[test]
fn an_avail_index_far_ahead_is_ignored_without_panic() {
    let r = rig(SECTORS);
    let mut d = Driver::new(&r, false);
    let avail = d.mock.avail_addr().0;
    r.mem.write_obj(1000u16, GuestAddress(avail + 2)).unwrap();
    d.dev.queue_notify(0);
    let used: u16 = r.mem.read_obj(GuestAddress(d.mock.used_addr().0 + 2)).unwrap();
    assert_eq!(used, 0);
}

#[test]
fn config_space_has_capacity_and_small_or_bad_images_are_refused() {
    let r = rig(SECTORS);
    let dev = Block::new(Disk::open(&r.path, false).unwrap(), "x");
    let mut cap = [0u8; 8];
    dev.read_config(0, &mut cap);
    assert_eq!(u64::from_le_bytes(cap), SECTORS);
    let mut past = [0xffu8; 4];
    dev.read_config(u64::MAX, &mut past);
    assert_eq!(past, [0; 4]);
    let tiny = r.dir.path().join("tiny");
    std::fs::write(&tiny, [0u8; 100]).unwrap();
    assert!(matches!(Disk::open(&tiny, true), Err(DiskError::TooSmall { .. })));
    let err = Disk::open(&r.dir.path().join("missing"), true).unwrap_err();
    assert!(err.to_string().contains("cannot open disk image"), "{err}");
}
