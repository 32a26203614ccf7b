//! Virtio devices of a machine: built from the configuration, each put in its own MMIO slot from
//! [`layout`] with an irqfd, one ioeventfd per queue and a `virtio_mmio.device=` kernel parameter (our
//! kernel has no ACPI under berth-vmm; it finds the devices through `VIRTIO_MMIO_CMDLINE_DEVICES`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use vm_memory::GuestMemoryMmap;
use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};

use super::{host, MachineError};
use crate::arch::x86_64::layout;
use crate::bus::Bus;
use crate::devices::virtio::balloon::{Balloon, BalloonHandle};
use crate::devices::virtio::block::{Block, Disk};
use crate::devices::virtio::net::{Net, NetConfig};
use crate::devices::virtio::rng::Rng;
use crate::devices::virtio::vsock::Vsock;
use crate::event_loop::EventLoop;
use crate::hypervisor::Vm;
use crate::virtio_mmio::registers::REG_QUEUE_NOTIFY;
use crate::virtio_mmio::{MmioTransport, VirtioDevice, VirtioInterrupt};

/// One `--disk`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskConfig {
    /// Raw image file.
    pub path: PathBuf,
    /// Whether the guest may only read it.
    pub read_only: bool,
}

impl std::str::FromStr for DiskConfig {
    type Err = String;

    /// `<path>` or `<path>,ro`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (path, read_only) = match s.strip_suffix(",ro") {
            Some(p) => (p, true),
            None => (s, false),
        };
        if path.is_empty() {
            return Err("give a disk image path, optionally followed by ,ro".into());
        }
        Ok(DiskConfig {
            path: path.into(),
            read_only,
        })
    }
}

/// The vsock device's host side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VsockConfig {
    /// The hybrid Unix socket (`CONNECT <port>\n`); guest connects to host port P go to `<uds>_P`.
    pub uds: PathBuf,
    /// The guest's context id (Berth uses 3).
    pub cid: u64,
}

/// The guest name of disk `index`: vda, vdb, ...
pub fn disk_name(index: usize) -> String {
    match u8::try_from(index).ok().filter(|i| *i < 26) {
        Some(i) => format!("vd{}", char::from(b'a' + i)),
        None => format!("vd{index}"),
    }
}

/// Opens every disk (in order: vda, vdb, ...), binds the vsock socket and connects to passt.
pub fn build_devices(
    disks: &[DiskConfig],
    vsock: Option<&VsockConfig>,
    net: Option<&NetConfig>,
) -> Result<Vec<Box<dyn VirtioDevice>>, MachineError> {
    let mut devices: Vec<Box<dyn VirtioDevice>> = Vec::new();
    for (i, d) in disks.iter().enumerate() {
        let disk = Disk::open(&d.path, d.read_only)?;
        tracing::info!(path = %d.path.display(), name = disk_name(i), read_only = d.read_only, sectors = disk.sectors(), "disk");
        devices.push(Box::new(Block::new(disk, &format!("berth-{}", disk_name(i)))));
    }
    if let Some(v) = vsock {
        if v.cid < 3 || v.cid > u64::from(u32::MAX) {
            return Err(MachineError::Config(format!(
                "--vsock-cid {} is out of range; use 3 to 4294967295",
                v.cid
            )));
        }
        let cfg = berth_virtio::vsock::MuxerConfig::new(v.cid, &v.uds);
        devices.push(Box::new(Vsock::new(cfg)?));
        tracing::info!(uds = %v.uds.display(), cid = v.cid, "vsock");
    }
    if let Some(n) = net {
        devices.push(Box::new(Net::new(n)?));
        tracing::info!(passt = %n.passt_socket.display(), mac = %n.mac, "net");
    }
    Ok(devices)
}

/// The virtio-balloon device (`--balloon`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BalloonConfig {
    /// Offer free page reporting: the guest hands free memory back as it frees it.
    pub free_page_reporting: bool,
}

/// Appends the rng device (if `rng`), then the balloon (if any); returns the host's handle on the balloon.
pub fn add_memory_devices(
    devices: &mut Vec<Box<dyn VirtioDevice>>,
    rng: bool,
    balloon: Option<&BalloonConfig>,
    mem_mib: u64,
) -> Result<Option<BalloonHandle>, MachineError> {
    if rng {
        devices.push(Box::new(Rng::new()));
    }
    let mut handle = None;
    if let Some(b) = balloon {
        let dev = Balloon::new(mem_mib, b.free_page_reporting)
            .map_err(host("cannot create the balloon's eventfd"))?;
        handle = Some(dev.handle());
        devices.push(Box::new(dev));
        tracing::info!(free_page_reporting = b.free_page_reporting, "balloon");
    }
    Ok(handle)
}

/// Puts `devices` on `mmio` in slot order and wires their interrupts and queue notifications to `vm`
/// and a new event loop. Returns the kernel parameters that declare them, and the loop to run.
pub fn attach(
    vm: &dyn Vm,
    mem: &GuestMemoryMmap,
    mmio: &mut Bus,
    devices: Vec<Box<dyn VirtioDevice>>,
) -> Result<(Vec<String>, EventLoop), MachineError> {
    let mut event_loop = EventLoop::new()?;
    let mut params = Vec::new();
    for (index, device) in devices.into_iter().enumerate() {
        let (base, irq) = u32::try_from(index)
            .map(layout::virtio_mmio_slot)
            .ok()
            .filter(|(_, irq)| *irq < layout::IOAPIC_PINS)
            .ok_or_else(|| {
                MachineError::Config(format!(
                    "too many virtio devices ({}); at most {} fit the interrupt controller",
                    index + 1,
                    layout::IOAPIC_PINS - layout::VIRTIO_MMIO_FIRST_IRQ
                ))
            })?;
        let irqfd = EventFd::new(EFD_NONBLOCK).map_err(host("cannot create a virtio irqfd"))?;
        vm.register_irqfd(&irqfd, irq)?;
        let interrupt = Arc::new(VirtioInterrupt::new(Arc::new(irqfd)));
        let queues = device.queue_max_sizes().len();
        let backend = device.backend_fd();
        let transport = Arc::new(Mutex::new(MmioTransport::new(device, mem.clone(), interrupt)));
        mmio.insert(base, layout::VIRTIO_MMIO_SIZE, transport.clone())?;
        for queue in 0..queues {
            let q = u16::try_from(queue)
                .map_err(|_| MachineError::Config("a virtio device declares over 65535 queues".into()))?;
            let fd = EventFd::new(EFD_NONBLOCK).map_err(host("cannot create a queue notify eventfd"))?;
            vm.register_ioeventfd(&fd, base + REG_QUEUE_NOTIFY, Some(u32::from(q)))?;
            event_loop.add_queue_notify(transport.clone(), q, fd)?;
        }
        if let Some(fd) = backend {
            event_loop.add_backend(transport.clone(), fd)?;
        }
        params.push(cmdline_param(base, irq));
    }
    Ok((params, event_loop))
}

/// `virtio_mmio.device=<size>@<base>:<irq>`, the syntax of Linux's `VIRTIO_MMIO_CMDLINE_DEVICES`.
pub fn cmdline_param(base: u64, irq: u32) -> String {
    format!(
        "virtio_mmio.device={}K@{base:#x}:{irq}",
        layout::VIRTIO_MMIO_SIZE >> 10
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_flags_parse_with_an_optional_ro_suffix() {
        let d: DiskConfig = "/a/root.img,ro".parse().unwrap();
        assert_eq!((d.path, d.read_only), ("/a/root.img".into(), true));
        let d: DiskConfig = "/a/data,img".parse().unwrap();
        assert_eq!((d.path, d.read_only), ("/a/data,img".into(), false));
        assert!(",ro".parse::<DiskConfig>().is_err());
        assert_eq!(disk_name(0), "vda");
        assert_eq!(disk_name(1), "vdb");
    }

    #[test]
    fn slots_become_kernel_parameters() {
        let (base, irq) = layout::virtio_mmio_slot(1);
        assert_eq!(cmdline_param(base, irq), "virtio_mmio.device=4K@0xd0001000:6");
    }
}
