//! Register offsets and bit values of the virtio-mmio transport (virtio 1.2, section 4.2.2).

/// "virt" in little endian.
pub const MAGIC_VALUE: u32 = 0x7472_6976;
/// The non-legacy register layout.
pub const VERSION: u32 = 2;
/// Our vendor id ("BRTH").
pub const VENDOR_ID: u32 = 0x4854_5242;

/// Magic value (R).
pub const REG_MAGIC: u64 = 0x000;
/// Version (R).
pub const REG_VERSION: u64 = 0x004;
/// Device id (R).
pub const REG_DEVICE_ID: u64 = 0x008;
/// Vendor id (R).
pub const REG_VENDOR_ID: u64 = 0x00c;
/// Device features, 32 bits selected by `DEVICE_FEATURES_SEL` (R).
pub const REG_DEVICE_FEATURES: u64 = 0x010;
/// Device feature word selector (W).
pub const REG_DEVICE_FEATURES_SEL: u64 = 0x014;
/// Driver features, 32 bits selected by `DRIVER_FEATURES_SEL` (W).
pub const REG_DRIVER_FEATURES: u64 = 0x020;
/// Driver feature word selector (W).
pub const REG_DRIVER_FEATURES_SEL: u64 = 0x024;
/// Queue selector (W).
pub const REG_QUEUE_SEL: u64 = 0x030;
/// Largest size of the selected queue, 0 if it does not exist (R).
pub const REG_QUEUE_NUM_MAX: u64 = 0x034;
/// Size of the selected queue (W).
pub const REG_QUEUE_NUM: u64 = 0x038;
/// Selected queue ready (RW).
pub const REG_QUEUE_READY: u64 = 0x044;
/// Queue notification: the queue index (W).
pub const REG_QUEUE_NOTIFY: u64 = 0x050;
/// Interrupt status (R).
pub const REG_INTERRUPT_STATUS: u64 = 0x060;
/// Interrupt acknowledge (W).
pub const REG_INTERRUPT_ACK: u64 = 0x064;
/// Device status (RW).
pub const REG_STATUS: u64 = 0x070;
/// Descriptor table address, low 32 bits (W).
pub const REG_QUEUE_DESC_LOW: u64 = 0x080;
/// Descriptor table address, high 32 bits (W).
pub const REG_QUEUE_DESC_HIGH: u64 = 0x084;
/// Available ring address, low (W).
pub const REG_QUEUE_AVAIL_LOW: u64 = 0x090;
/// Available ring address, high (W).
pub const REG_QUEUE_AVAIL_HIGH: u64 = 0x094;
/// Used ring address, low (W).
pub const REG_QUEUE_USED_LOW: u64 = 0x0a0;
/// Used ring address, high (W).
pub const REG_QUEUE_USED_HIGH: u64 = 0x0a4;
/// Configuration atomicity value (R).
pub const REG_CONFIG_GENERATION: u64 = 0x0fc;
/// Start of device-specific configuration space.
pub const CONFIG_SPACE: u64 = 0x100;

/// Status: the guest found the device.
pub const STATUS_ACKNOWLEDGE: u32 = 1;
/// Status: the guest has a driver for it.
pub const STATUS_DRIVER: u32 = 2;
/// Status: the driver is ready; the device may run.
pub const STATUS_DRIVER_OK: u32 = 4;
/// Status: feature negotiation done.
pub const STATUS_FEATURES_OK: u32 = 8;
/// Status: the device failed and needs a reset.
pub const STATUS_DEVICE_NEEDS_RESET: u32 = 0x40;
/// Status: the driver gave up on the device.
pub const STATUS_FAILED: u32 = 0x80;

/// Interrupt status: a used buffer notification.
pub const INT_USED_RING: u32 = 1;
/// Interrupt status: the configuration changed.
pub const INT_CONFIG_CHANGE: u32 = 2;

/// Feature bit: the device follows virtio 1.x (required by this transport).
pub const VIRTIO_F_VERSION_1: u64 = 1 << 32;
