//! The transport against a fake device and a `GuestMemoryMmap`, hostile drivers included.

use std::sync::{Arc, Mutex};

use virtio_queue::QueueT;
use vm_memory::{GuestAddress, GuestMemoryMmap};

use super::registers::*;
use super::*;
use crate::bus::BusDevice;
use crate::devices::irq::CountingIrq;

const FEATURE_A: u64 = 1 << 5;
const MEM_SIZE: usize = 0x10_0000;

/// (features, per queue: (size, desc, avail, used) if enabled).
type Activation = (u64, Vec<Option<(u16, u64, u64, u64)>>);

#[derive(Default)]
struct Log {
    activations: Vec<Activation>,
    notifies: Vec<u16>,
    resets: u32,
    config: [u8; 8],
}

struct FakeDevice {
    log: Arc<Mutex<Log>>,
    fail_activation: bool,
}

impl VirtioDevice for FakeDevice {
    fn device_type(&self) -> u32 {
        4
    }
    fn device_features(&self) -> u64 {
        FEATURE_A
    }
    fn queue_max_sizes(&self) -> &[u16] {
        &[256, 16]
    }
    fn read_config(&self, offset: u64, data: &mut [u8]) {
        let log = self.log.lock().unwrap();
        for (i, b) in data.iter_mut().enumerate() {
            *b = usize::try_from(offset)
                .ok()
                .and_then(|o| log.config.get(o + i))
                .copied()
                .unwrap_or(0);
        }
    }
    fn write_config(&mut self, offset: u64, data: &[u8]) {
        let mut log = self.log.lock().unwrap();
        if let Some(dst) = usize::try_from(offset)
            .ok()
            .and_then(|o| log.config.get_mut(o..o + data.len()))
        {
            dst.copy_from_slice(data);
        }
    }
    fn activate(&mut self, c: ActivateConfig) -> Result<(), ActivateError> {
        if self.fail_activation {
            return Err(ActivateError("no backend".into()));
        }
        let queues = c
            .queues
            .iter()
            .map(|q| {
                q.as_ref()
                    .map(|q| (q.size(), q.desc_table(), q.avail_ring(), q.used_ring()))
            })
            .collect();
        self.log.lock().unwrap().activations.push((c.features, queues));
        c.interrupt.signal_used_queue().unwrap();
        Ok(())
    }
    fn queue_notify(&mut self, queue: u16) {
        self.log.lock().unwrap().notifies.push(queue);
    }
    fn reset(&mut self) {
        self.log.lock().unwrap().resets += 1;
    }
}

struct Harness {
    t: MmioTransport,
    log: Arc<Mutex<Log>>,
    irq: Arc<CountingIrq>,
}

fn harness(fail_activation: bool) -> Harness {
    let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), MEM_SIZE)]).unwrap();
    let log = Arc::new(Mutex::new(Log::default()));
    let irq = Arc::new(CountingIrq::default());
    let dev = FakeDevice {
        log: log.clone(),
        fail_activation,
    };
    let t = MmioTransport::new(Box::new(dev), mem, Arc::new(VirtioInterrupt::new(irq.clone())));
    Harness { t, log, irq }
}

impl Harness {
    fn r(&mut self, off: u64) -> u32 {
        let mut d = [0u8; 4];
        self.t.read(off, &mut d);
        u32::from_le_bytes(d)
    }
    fn w(&mut self, off: u64, v: u32) {
        self.t.write(off, &v.to_le_bytes());
    }
    fn negotiate(&mut self, features: u64) {
        self.w(REG_STATUS, STATUS_ACKNOWLEDGE);
        self.w(REG_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
        self.w(REG_DRIVER_FEATURES_SEL, 0);
        self.w(REG_DRIVER_FEATURES, features as u32);
        self.w(REG_DRIVER_FEATURES_SEL, 1);
        self.w(REG_DRIVER_FEATURES, (features >> 32) as u32);
        self.w(
            REG_STATUS,
            STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK,
        );
    }
    fn setup_queue(&mut self, q: u32, size: u32, desc: u64, avail: u64, used: u64) -> u32 {
        self.w(REG_QUEUE_SEL, q);
        self.w(REG_QUEUE_NUM, size);
        for (low, addr) in [
            (REG_QUEUE_DESC_LOW, desc),
            (REG_QUEUE_AVAIL_LOW, avail),
            (REG_QUEUE_USED_LOW, used),
        ] {
            self.w(low, addr as u32);
            self.w(low + 4, (addr >> 32) as u32);
        }
        self.w(REG_QUEUE_READY, 1);
        self.r(REG_QUEUE_READY)
    }
    fn driver_ok(&mut self) {
        self.w(
            REG_STATUS,
            STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK,
        );
    }
}

const OK: u32 = STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK;

#[test]
fn identity_registers_and_feature_pages() {
    let mut h = harness(false);
    assert_eq!(h.r(REG_MAGIC), MAGIC_VALUE);
    assert_eq!(h.r(REG_VERSION), 2);
    assert_eq!(h.r(REG_DEVICE_ID), 4);
    assert_eq!(h.r(REG_VENDOR_ID), VENDOR_ID);
    assert_eq!(h.r(REG_DEVICE_FEATURES), FEATURE_A as u32);
    h.w(REG_DEVICE_FEATURES_SEL, 1);
    assert_eq!(h.r(REG_DEVICE_FEATURES), 1, "VIRTIO_F_VERSION_1 offered");
    h.w(REG_DEVICE_FEATURES_SEL, 7);
    assert_eq!(h.r(REG_DEVICE_FEATURES), 0);
    h.w(REG_QUEUE_SEL, 1);
    assert_eq!(h.r(REG_QUEUE_NUM_MAX), 16);
    h.w(REG_QUEUE_SEL, 2);
    assert_eq!(h.r(REG_QUEUE_NUM_MAX), 0, "no third queue");
}

#[test]
fn a_well_behaved_driver_activates_the_device_with_its_queues() {
    let mut h = harness(false);
    h.negotiate(FEATURE_A | VIRTIO_F_VERSION_1);
    assert_eq!(h.r(REG_STATUS), OK);
    assert_eq!(h.setup_queue(0, 128, 0x1000, 0x2000, 0x3000), 1);
    h.driver_ok();
    assert!(h.t.is_activated());
    let log = h.log.lock().unwrap();
    assert_eq!(
        log.activations,
        vec![(
            FEATURE_A | VIRTIO_F_VERSION_1,
            vec![Some((128, 0x1000, 0x2000, 0x3000)), None]
        )]
    );
    drop(log);
    // The fake device signalled a used buffer on activation.
    assert_eq!(h.irq.count(), 1);
    assert_eq!(h.r(REG_INTERRUPT_STATUS), INT_USED_RING);
    h.w(REG_INTERRUPT_ACK, INT_USED_RING);
    assert_eq!(h.r(REG_INTERRUPT_STATUS), 0);
    h.w(REG_QUEUE_NOTIFY, 1);
    h.w(REG_QUEUE_NOTIFY, 9);
    h.w(REG_QUEUE_NOTIFY, 0x1_0000);
    assert_eq!(h.log.lock().unwrap().notifies, vec![1]);
}

#[test]
fn hostile_queue_sizes_are_refused() {
    let mut h = harness(false);
    h.negotiate(VIRTIO_F_VERSION_1);
    for size in [0, 100, 512, 0x1_0000 + 128, u32::MAX] {
        assert_eq!(h.setup_queue(0, size, 0x1000, 0x2000, 0x3000), 0, "size {size}");
    }
    assert_eq!(
        h.setup_queue(1, 32, 0x1000, 0x2000, 0x3000),
        0,
        "queue 1 max is 16"
    );
    assert_eq!(h.setup_queue(1, 16, 0x1000, 0x2000, 0x3000), 1);
}

#[test]
fn rings_outside_memory_or_misaligned_are_refused() {
    let mut h = harness(false);
    h.negotiate(VIRTIO_F_VERSION_1);
    let end = MEM_SIZE as u64;
    let cases = [
        (end, 0x2000, 0x3000),        // descriptors past the end
        (0x1000, end - 2, 0x3000),    // avail ring straddles the end
        (0x1000, 0x2000, end - 0x10), // used ring straddles the end
        (0x1000, 0x2000, 1 << 40),    // high bits far outside memory
        (!0xf, 0x2000, 0x3000),       // wraps around
        (0x1008, 0x2000, 0x3000),     // descriptors not 16-byte aligned
        (0x1000, 0x2001, 0x3000),     // avail not 2-byte aligned
        (0x1000, 0x2000, 0x3002),     // used not 4-byte aligned
    ];
    for (desc, avail, used) in cases {
        assert_eq!(
            h.setup_queue(0, 64, desc, avail, used),
            0,
            "{desc:#x} {avail:#x} {used:#x}"
        );
    }
    h.driver_ok();
    assert_eq!(h.log.lock().unwrap().activations[0].1, vec![None, None]);
}

#[test]
fn writes_in_the_wrong_status_are_ignored() {
    let mut h = harness(false);
    // Features before DRIVER.
    h.w(REG_DRIVER_FEATURES, FEATURE_A as u32);
    // Queue setup before FEATURES_OK.
    h.w(REG_STATUS, STATUS_ACKNOWLEDGE);
    h.w(REG_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    assert_eq!(h.setup_queue(0, 64, 0x1000, 0x2000, 0x3000), 0);
    // DRIVER_OK before FEATURES_OK, and skipping ACKNOWLEDGE after a reset.
    h.w(REG_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_DRIVER_OK);
    assert_eq!(h.r(REG_STATUS), STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    // Clearing a bit without a reset.
    h.w(REG_STATUS, STATUS_ACKNOWLEDGE);
    assert_eq!(h.r(REG_STATUS), STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    // The guest cannot set DEVICE_NEEDS_RESET.
    h.w(
        REG_STATUS,
        STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_DEVICE_NEEDS_RESET,
    );
    assert_eq!(h.r(REG_STATUS), STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    // The feature write above (before DRIVER) was dropped: only VERSION_1 is negotiated now.
    h.w(REG_DRIVER_FEATURES_SEL, 1);
    h.w(REG_DRIVER_FEATURES, 1);
    h.w(REG_STATUS, OK);
    assert_eq!(h.r(REG_STATUS), OK);
    // Features after FEATURES_OK are ignored.
    h.w(REG_DRIVER_FEATURES_SEL, 0);
    h.w(REG_DRIVER_FEATURES, FEATURE_A as u32);
    assert_eq!(h.setup_queue(0, 64, 0x1000, 0x2000, 0x3000), 1);
    // Changing an enabled queue is ignored.
    h.w(REG_QUEUE_NUM, 32);
    h.driver_ok();
    // Queue setup after DRIVER_OK is ignored.
    assert_eq!(h.setup_queue(1, 16, 0x4000, 0x5000, 0x6000), 0);
    assert_eq!(
        h.log.lock().unwrap().activations,
        vec![(VIRTIO_F_VERSION_1, vec![Some((64, 0x1000, 0x2000, 0x3000)), None])]
    );
    // Notifications before DRIVER_OK would have been dropped; narrow register accesses are ignored.
    h.t.write(REG_STATUS, &[0]);
    assert_eq!(h.r(REG_STATUS) & STATUS_DRIVER_OK, STATUS_DRIVER_OK);
    let mut narrow = [0xaau8; 2];
    h.t.read(REG_MAGIC, &mut narrow);
    assert_eq!(narrow, [0, 0]);
}

#[test]
fn features_ok_is_refused_for_unoffered_features_or_without_version_1() {
    for features in [
        FEATURE_A,
        VIRTIO_F_VERSION_1 | (1 << 7),
        VIRTIO_F_VERSION_1 | (1 << 40),
    ] {
        let mut h = harness(false);
        h.negotiate(features);
        assert_eq!(
            h.r(REG_STATUS),
            STATUS_ACKNOWLEDGE | STATUS_DRIVER,
            "{features:#x}"
        );
        h.driver_ok();
        assert!(!h.t.is_activated());
    }
}

#[test]
fn reset_returns_everything_to_the_initial_state() {
    let mut h = harness(false);
    h.negotiate(FEATURE_A | VIRTIO_F_VERSION_1);
    h.setup_queue(0, 128, 0x1000, 0x2000, 0x3000);
    h.driver_ok();
    h.w(REG_STATUS, 0);
    assert_eq!(h.log.lock().unwrap().resets, 1);
    assert_eq!((h.r(REG_STATUS), h.r(REG_INTERRUPT_STATUS)), (0, 0));
    h.w(REG_QUEUE_SEL, 0);
    assert_eq!(h.r(REG_QUEUE_READY), 0);
    assert!(!h.t.is_activated());
    // A second, smaller negotiation works from scratch.
    h.negotiate(VIRTIO_F_VERSION_1);
    assert_eq!(h.setup_queue(0, 8, 0x4000, 0x5000, 0x6000), 1);
    h.driver_ok();
    assert_eq!(
        h.log.lock().unwrap().activations[1],
        (VIRTIO_F_VERSION_1, vec![Some((8, 0x4000, 0x5000, 0x6000)), None])
    );
}

#[test]
fn failed_activation_asks_for_a_reset() {
    let mut h = harness(true);
    h.negotiate(VIRTIO_F_VERSION_1);
    h.driver_ok();
    assert!(!h.t.is_activated());
    assert_eq!(
        h.r(REG_STATUS) & STATUS_DEVICE_NEEDS_RESET,
        STATUS_DEVICE_NEEDS_RESET
    );
    assert_eq!(h.r(REG_INTERRUPT_STATUS), INT_CONFIG_CHANGE);
    assert_eq!(h.r(REG_CONFIG_GENERATION), 1);
    h.w(REG_STATUS, 0);
    assert_eq!(h.r(REG_STATUS), 0);
}

#[test]
fn config_space_is_forwarded_with_device_offsets() {
    let mut h = harness(false);
    h.t.write(CONFIG_SPACE + 2, &[1, 2, 3]);
    let mut d = [0u8; 4];
    h.t.read(CONFIG_SPACE, &mut d);
    assert_eq!(d, [0, 0, 1, 2]);
    h.t.write(CONFIG_SPACE + 7, &[9, 9]); // past the device's 8 bytes: dropped by the device
    h.t.read(CONFIG_SPACE + 6, &mut d);
    assert_eq!(d, [0, 0, 0, 0]);
    assert_eq!(h.log.lock().unwrap().config, [0, 0, 1, 2, 3, 0, 0, 0]);
}
