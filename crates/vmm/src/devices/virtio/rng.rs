//! virtio-rng (entropy device, virtio 1.2 section 5.4): one request queue whose device-writable buffers
//! the device fills from the host's `getrandom(2)`. The guest's `hw_random` core
//! (`CONFIG_HW_RANDOM_VIRTIO`) feeds them to its entropy pool.
//!
//! Every chain is checked before a byte moves: all descriptors device-writable and inside guest memory,
//! the chain complete (no loop, not longer than the queue). A bad chain is returned with length 0; at
//! most [`MAX_BYTES_PER_REQUEST`] bytes are written per chain, however long its buffers are.

use std::sync::Arc;

use virtio_queue::desc::split::Descriptor;
use virtio_queue::{Queue, QueueT};
use vm_memory::{Bytes, GuestAddress, GuestMemory, GuestMemoryMmap, Permissions};

use crate::virtio_mmio::{ActivateConfig, ActivateError, VirtioDevice, VirtioInterrupt};

/// Virtio device id of an entropy device.
pub const DEVICE_TYPE_RNG: u32 = 4;
/// Largest request queue.
pub const QUEUE_SIZE: u16 = 256;
/// Most bytes written into one chain (Linux asks for 64 at a time).
pub const MAX_BYTES_PER_REQUEST: usize = 64 * 1024;

/// Why a request chain was refused. Logged; the guest sees a used length of 0.
#[derive(Debug, thiserror::Error)]
pub enum RngError {
    /// The chain loops, is longer than the queue or leaves its descriptor table.
    #[error("descriptor chain loops, is longer than the queue or leaves its descriptor table")]
    Truncated,
    /// A buffer the device may only read: entropy requests are device-writable buffers.
    #[error("buffer {addr:#x}+{len:#x} is device-readable; entropy requests must be device-writable")]
    ReadOnly {
        /// Guest address.
        addr: u64,
        /// Length.
        len: u32,
    },
    /// A buffer that is not entirely inside guest memory.
    #[error("buffer {addr:#x}+{len:#x} is not inside guest memory")]
    OutOfRange {
        /// Guest address.
        addr: u64,
        /// Length.
        len: u32,
    },
    /// The host's random source failed.
    #[error("getrandom failed: {0}")]
    Host(#[source] std::io::Error),
    /// Guest memory could not be written.
    #[error("guest memory access failed: {0}")]
    Memory(#[from] vm_memory::GuestMemoryError),
}

/// Fills `buf` from the kernel's random pool (`getrandom(2)`, retrying short reads and signals).
pub fn host_random(buf: &mut [u8]) -> std::io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: `rest` is a live, writable slice of `rest.len()` bytes owned by this function's caller;
        // getrandom writes at most that many bytes into it.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        done += n as usize;
    }
    Ok(())
}

/// Serves one chain: returns the bytes written into the guest (the used length).
pub fn handle_chain<M: GuestMemory>(
    mem: &M,
    chain: impl Iterator<Item = Descriptor>,
    scratch: &mut [u8],
) -> Result<u32, RngError> {
    let descs: Vec<Descriptor> = chain.collect();
    // The chain iterator stops early (and silently) on loops, over-long chains and bad indices; the
    // last descriptor it gave then still says "next".
    if descs.last().is_none_or(|d| d.has_next()) {
        return Err(RngError::Truncated);
    }
    for d in &descs {
        let (addr, len) = (d.addr().0, d.len());
        if !d.is_write_only() {
            return Err(RngError::ReadOnly { addr, len });
        }
        if !mem.check_range(d.addr(), len as usize, Permissions::Write) {
            return Err(RngError::OutOfRange { addr, len });
        }
    }
    let mut budget = scratch.len().min(MAX_BYTES_PER_REQUEST);
    let mut written = 0u32;
    for d in &descs {
        let n = (d.len() as usize).min(budget);
        if n == 0 {
            continue;
        }
        let buf = &mut scratch[..n];
        host_random(buf).map_err(RngError::Host)?;
        mem.write_slice(buf, GuestAddress(d.addr().0))?;
        budget -= n;
        // n <= MAX_BYTES_PER_REQUEST, so the sum fits.
        written += n as u32;
    }
    Ok(written)
}

struct Active {
    mem: GuestMemoryMmap,
    queue: Queue,
    interrupt: Arc<VirtioInterrupt>,
}

/// A virtio-rng device.
pub struct Rng {
    scratch: Vec<u8>,
    active: Option<Active>,
}

impl Default for Rng {
    fn default() -> Self {
        Self::new()
    }
}

impl Rng {
    /// A device that is not yet activated.
    pub fn new() -> Self {
        Rng {
            scratch: vec![0; MAX_BYTES_PER_REQUEST],
            active: None,
        }
    }

    fn process_queue(&mut self) {
        let Some(active) = self.active.as_mut() else {
            return;
        };
        let mem = &active.mem;
        let mut used_any = false;
        while let Some(chain) = active.queue.pop_descriptor_chain(mem) {
            let head = chain.head_index();
            let len = handle_chain(mem, chain, &mut self.scratch).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "virtio-rng: request refused");
                0
            });
            if let Err(e) = active.queue.add_used(mem, head, len) {
                tracing::warn!(error = ?e, "virtio-rng: cannot return a request to the used ring");
                break;
            }
            used_any = true;
        }
        if used_any && active.queue.needs_notification(mem).unwrap_or(true) {
            if let Err(e) = active.interrupt.signal_used_queue() {
                tracing::warn!(error = %e, "virtio-rng: cannot raise the interrupt");
            }
        }
    }
}

impl VirtioDevice for Rng {
    fn device_type(&self) -> u32 {
        DEVICE_TYPE_RNG
    }

    fn device_features(&self) -> u64 {
        0
    }

    fn queue_max_sizes(&self) -> &[u16] {
        &[QUEUE_SIZE]
    }

    fn read_config(&self, _offset: u64, data: &mut [u8]) {
        // No configuration space.
        data.fill(0);
    }

    fn write_config(&mut self, offset: u64, data: &[u8]) {
        tracing::debug!(offset, len = data.len(), "virtio-rng: config write ignored");
    }

    fn activate(&mut self, config: ActivateConfig) -> Result<(), ActivateError> {
        let Some(Some(queue)) = config.queues.into_iter().next() else {
            return Err(ActivateError(
                "virtio-rng: the driver did not enable the request queue".into(),
            ));
        };
        self.active = Some(Active {
            mem: config.mem,
            queue,
            interrupt: config.interrupt,
        });
        self.process_queue();
        Ok(())
    }

    fn queue_notify(&mut self, queue: u16) {
        if queue == 0 {
            self.process_queue();
        }
    }

    fn reset(&mut self) {
        self.active = None;
    }
}

#[cfg(test)]
mod tests {
    use virtio_queue::desc::RawDescriptor;
    use virtio_queue::mock::MockSplitQueue;

    use super::*;
    use crate::devices::irq::CountingIrq;

    const F_NEXT: u16 = 1;
    const F_WRITE: u16 = 2;
    const QSIZE: u16 = 16;
    const MEM: usize = 1 << 20;

    /// A descriptor as stored: (address, length, flags, next).
    type Raw = (u64, u32, u16, u16);

    struct Rig<'a> {
        mem: &'a GuestMemoryMmap,
        mock: MockSplitQueue<'a, GuestMemoryMmap>,
        dev: Rng,
        irq: Arc<CountingIrq>,
        served: u16,
    }

    impl<'a> Rig<'a> {
        fn new(mem: &'a GuestMemoryMmap) -> Self {
            let mock = MockSplitQueue::create(mem, GuestAddress(0), QSIZE);
            let irq = Arc::new(CountingIrq::default());
            let mut dev = Rng::new();
            dev.activate(ActivateConfig {
                mem: mem.clone(),
                queues: vec![Some(mock.create_queue().unwrap())],
                features: 0,
                interrupt: Arc::new(VirtioInterrupt::new(irq.clone())),
            })
            .unwrap();
            Rig {
                mem,
                mock,
                dev,
                irq,
                served: 0,
            }
        }

        /// Posts raw (addr, len, flags, next) descriptors at slot 0 and returns the used length.
        fn post(&mut self, descs: &[(u64, u32, u16, u16)]) -> u32 {
            for (i, &(a, l, f, n)) in descs.iter().enumerate() {
                let d = RawDescriptor::from(Descriptor::new(a, l, f, n));
                self.mock.desc_table().store(i as u16, d).unwrap();
            }
            let avail = self.mock.avail_addr().0;
            let idx: u16 = self.mem.read_obj(GuestAddress(avail + 2)).unwrap();
            let slot = avail + 4 + 2 * u64::from(idx % QSIZE);
            self.mem.write_obj(0u16, GuestAddress(slot)).unwrap();
            self.mem
                .write_obj(idx.wrapping_add(1), GuestAddress(avail + 2))
                .unwrap();
            self.dev.queue_notify(0);
            let used = self.mock.used_addr().0;
            let idx: u16 = self.mem.read_obj(GuestAddress(used + 2)).unwrap();
            assert_eq!(idx, self.served.wrapping_add(1), "exactly one chain served");
            let slot = u64::from(self.served % QSIZE);
            self.served = idx;
            self.mem.read_obj(GuestAddress(used + 8 + 8 * slot)).unwrap()
        }
    }

    fn memory() -> GuestMemoryMmap {
        GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), MEM)]).unwrap()
    }

    fn read(mem: &GuestMemoryMmap, addr: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0; len];
        mem.read_slice(&mut v, GuestAddress(addr)).unwrap();
        v
    }

    #[test]
    fn fills_every_writable_buffer_of_a_chain_with_random_bytes() {
        let mem = memory();
        let mut r = Rig::new(&mem);
        assert_eq!(r.dev.device_type(), DEVICE_TYPE_RNG);
        let len = r.post(&[(0x10000, 64, F_WRITE | F_NEXT, 1), (0x20000, 32, F_WRITE, 0)]);
        assert_eq!(len, 96);
        // 64 zero bytes from a working RNG: probability 2^-512.
        assert!(read(&mem, 0x10000, 64).iter().any(|b| *b != 0));
        assert!(read(&mem, 0x20000, 32).iter().any(|b| *b != 0));
        assert_eq!(read(&mem, 0x10040, 16), vec![0; 16], "nothing past the buffer");
        let before = read(&mem, 0x10000, 64);
        assert_eq!(r.post(&[(0x10000, 64, F_WRITE, 0)]), 64);
        assert_ne!(read(&mem, 0x10000, 64), before, "fresh bytes each time");
        assert!(r.irq.count() >= 1);
    }

    #[test]
    fn a_huge_buffer_gets_at_most_the_per_request_cap() {
        let mem = memory();
        let mut r = Rig::new(&mem);
        let len = r.post(&[(0x40000, 0x80000, F_WRITE, 0)]);
        assert_eq!(len as usize, MAX_BYTES_PER_REQUEST);
        let past = read(&mem, 0x40000 + MAX_BYTES_PER_REQUEST as u64, 4096);
        assert_eq!(past, vec![0; 4096]);
    }

    #[test]
    fn hostile_chains_are_returned_empty_and_the_device_keeps_serving() {
        let mem = memory();
        let mut r = Rig::new(&mem);
        let cases: &[(&str, &[Raw])] = &[
            ("device-readable buffer", &[(0x10000, 64, 0, 0)]),
            (
                "readable after writable",
                &[(0x10000, 64, F_WRITE | F_NEXT, 1), (0x20000, 8, 0, 0)],
            ),
            ("outside guest memory", &[(1 << 40, 64, F_WRITE, 0)]),
            ("straddling the end", &[(MEM as u64 - 8, 64, F_WRITE, 0)]),
            ("huge length", &[(0x10000, u32::MAX, F_WRITE, 0)]),
            ("address overflow", &[(u64::MAX - 4, 64, F_WRITE, 0)]),
            (
                "loop",
                &[
                    (0x10000, 8, F_WRITE | F_NEXT, 1),
                    (0x20000, 8, F_WRITE | F_NEXT, 0),
                ],
            ),
            ("next outside the table", &[(0x10000, 8, F_WRITE | F_NEXT, 200)]),
        ];
        for (what, descs) in cases {
            assert_eq!(r.post(descs), 0, "{what}");
        }
        assert_eq!(
            read(&mem, 0x10000, 64),
            vec![0; 64],
            "refused chains write nothing"
        );
        assert_eq!(
            r.post(&[(0x10000, 0, F_WRITE, 0)]),
            0,
            "a zero-length buffer is served empty"
        );
        assert_eq!(r.post(&[(0x10000, 16, F_WRITE, 0)]), 16);
    }

    #[test]
    fn notifications_before_activation_or_for_other_queues_do_nothing() {
        let mut dev = Rng::new();
        dev.queue_notify(0);
        dev.queue_notify(3);
        let mut cfg = [0xffu8; 4];
        dev.read_config(0, &mut cfg);
        assert_eq!(cfg, [0; 4]);
        assert!(dev
            .activate(ActivateConfig {
                mem: memory(),
                queues: vec![None],
                features: 0,
                interrupt: Arc::new(VirtioInterrupt::new(Arc::new(CountingIrq::default()))),
            })
            .is_err());
    }
}
