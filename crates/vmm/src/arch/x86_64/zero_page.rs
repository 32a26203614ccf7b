//! Loading the kernel (bzImage, or an ELF vmlinux), the command line and the zero page (`boot_params`
//! with the e820 memory map) — the inputs of Linux's 64-bit boot protocol.

use std::fs::File;
use std::path::Path;

use linux_loader::bootparam::{boot_e820_entry, boot_params, setup_header};
use linux_loader::cmdline::Cmdline;
use linux_loader::loader::{self, bzimage::BzImage, elf::Elf, KernelLoader};
use vm_memory::{ByteValued, Bytes, GuestAddress, GuestMemoryMmap};

use super::layout::{
    CMDLINE_MAX_SIZE, CMDLINE_START, EBDA_START, HIGH_MEMORY_START, MMIO_GAP_END, MMIO_GAP_START,
    ZERO_PAGE_START,
};

/// e820 type of usable RAM.
pub const E820_RAM: u32 = 1;
/// `type_of_loader` for a loader without an assigned id.
const LOADER_UNDEFINED: u8 = 0xff;
/// "HdrS": the setup header magic.
const HDR_MAGIC: u32 = 0x5372_6448;
/// Boot sector signature.
const BOOT_FLAG: u16 = 0xaa55;
/// Offset of the 64-bit entry point (`startup_64`) from where a bzImage's protected-mode code is loaded.
const BZIMAGE_64BIT_ENTRY_OFFSET: u64 = 0x200;

/// Errors loading the kernel or writing boot data.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    /// The kernel file cannot be opened.
    #[error("cannot open kernel {path}: {source}; pass --kernel with a readable bzImage")]
    OpenKernel {
        /// The path given.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is neither a bzImage nor an ELF vmlinux that fits in guest memory.
    #[error("{path} is not a loadable x86_64 kernel (bzImage: {bzimage}; ELF: {elf}); pass a bzImage built for x86_64, and enough --mem-mib for it")]
    InvalidKernel {
        /// The path given.
        path: String,
        /// Why the bzImage loader refused it.
        bzimage: String,
        /// Why the ELF loader refused it.
        elf: String,
    },
    /// The command line is too long or has invalid characters.
    #[error("invalid kernel command line: {0}; keep it printable ASCII and under {CMDLINE_MAX_SIZE} bytes")]
    Cmdline(String),
    /// Guest memory too small for the boot data.
    #[error("cannot write boot data into guest memory: {0}; give the VM more memory")]
    Memory(#[from] vm_memory::GuestMemoryError),
}

/// Where the kernel landed.
#[derive(Clone, Copy, Debug)]
pub struct LoadedKernel {
    /// The 64-bit entry point for `rip`.
    pub entry: u64,
    /// The setup header to copy into the zero page (bzImage only).
    pub header: Option<setup_header>,
}

/// Loads the kernel at `path` into `mem` at [`HIGH_MEMORY_START`]: a bzImage, else an ELF vmlinux.
pub fn load_kernel(mem: &GuestMemoryMmap, path: &Path) -> Result<LoadedKernel, BootError> {
    let display = path.display().to_string();
    let mut file = File::open(path).map_err(|source| BootError::OpenKernel {
        path: display.clone(),
        source,
    })?;
    let high = Some(GuestAddress(HIGH_MEMORY_START));
    let bz = match BzImage::load(mem, None, &mut file, high) {
        Ok(r) => {
            return Ok(LoadedKernel {
                entry: r.kernel_load.0 + BZIMAGE_64BIT_ENTRY_OFFSET,
                header: r.setup_header,
            })
        }
        Err(e) => e.to_string(),
    };
    match Elf::load(mem, None, &mut file, high) {
        Ok(r) => Ok(LoadedKernel {
            entry: r.kernel_load.0,
            header: None,
        }),
        Err(e) => Err(BootError::InvalidKernel {
            path: display,
            bzimage: bz,
            elf: e.to_string(),
        }),
    }
}

/// Parses and writes `cmdline` at [`CMDLINE_START`]; returns its length without the NUL.
pub fn write_cmdline(mem: &GuestMemoryMmap, cmdline: &str) -> Result<usize, BootError> {
    let mut c = Cmdline::new(CMDLINE_MAX_SIZE).map_err(|e| BootError::Cmdline(e.to_string()))?;
    c.insert_str(cmdline)
        .map_err(|e| BootError::Cmdline(e.to_string()))?;
    loader::load_cmdline(mem, GuestAddress(CMDLINE_START), &c)
        .map_err(|e| BootError::Cmdline(e.to_string()))?;
    Ok(cmdline.trim().len())
}

/// The e820 map for `mem_size` bytes: low RAM below the EBDA, RAM from 1 MiB to the MMIO gap, and the rest
/// above 4 GiB. Entries are (address, size, type).
pub fn e820_map(mem_size: u64) -> Vec<(u64, u64, u32)> {
    let mut map = vec![(0, EBDA_START, E820_RAM)];
    let low_end = mem_size.min(MMIO_GAP_START);
    if low_end > HIGH_MEMORY_START {
        map.push((HIGH_MEMORY_START, low_end - HIGH_MEMORY_START, E820_RAM));
    }
    if mem_size > MMIO_GAP_START {
        map.push((MMIO_GAP_END, mem_size - MMIO_GAP_START, E820_RAM));
    }
    map
}

/// `boot_params` as guest-memory bytes.
#[derive(Clone, Copy)]
#[repr(transparent)]
struct ZeroPage(boot_params);

// SAFETY: `boot_params` is a `repr(C)` bindgen struct of integers and arrays of integers (no pointers, no
// enums with invalid values), so every byte pattern is a valid value and it can be copied to and from
// guest memory byte for byte.
unsafe impl ByteValued for ZeroPage {}

/// Builds the zero page for a kernel with `header`, a command line of `cmdline_len` bytes and `mem_size`
/// bytes of RAM, and writes it at [`ZERO_PAGE_START`].
pub fn write_zero_page(
    mem: &GuestMemoryMmap,
    header: Option<setup_header>,
    cmdline_len: usize,
    mem_size: u64,
) -> Result<(), BootError> {
    // SAFETY: see `ByteValued for ZeroPage` — all-zero is a valid `boot_params`, the state a loader starts from.
    let mut zp: ZeroPage = unsafe { std::mem::zeroed() };
    let p = &mut zp.0;
    if let Some(h) = header {
        p.hdr = h;
    }
    p.hdr.boot_flag = BOOT_FLAG;
    p.hdr.header = HDR_MAGIC;
    p.hdr.type_of_loader = LOADER_UNDEFINED;
    p.hdr.cmd_line_ptr = CMDLINE_START as u32;
    p.hdr.cmdline_size = cmdline_len as u32;
    if p.hdr.kernel_alignment == 0 {
        p.hdr.kernel_alignment = 0x0100_0000;
    }
    let map = e820_map(mem_size);
    for (slot, (addr, size, type_)) in p.e820_table.iter_mut().zip(map.iter()) {
        *slot = boot_e820_entry {
            addr: *addr,
            size: *size,
            r#type: *type_,
        };
    }
    p.e820_entries = map.len() as u8;
    mem.write_obj(zp, GuestAddress(ZERO_PAGE_START))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mem(size: usize) -> GuestMemoryMmap {
        GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), size)]).unwrap()
    }

    #[test]
    fn e820_skips_legacy_hole_and_mmio_gap() {
        assert_eq!(
            e820_map(512 << 20),
            vec![(0, EBDA_START, 1), (0x10_0000, (512 << 20) - 0x10_0000, 1)]
        );
        let big = e820_map(5 << 30);
        assert_eq!(big[1], (0x10_0000, MMIO_GAP_START - 0x10_0000, 1));
        assert_eq!(big[2], (1 << 32, (5 << 30) - MMIO_GAP_START, 1));
    }

    #[test]
    fn zero_page_fields_land_at_their_offsets() {
        let m = mem(1 << 20);
        let len = write_cmdline(&m, "console=ttyS0 quiet").unwrap();
        write_zero_page(&m, None, len, 256 << 20).unwrap();
        let z = ZERO_PAGE_START;
        assert_eq!(m.read_obj::<u16>(GuestAddress(z + 0x1fe)).unwrap(), BOOT_FLAG);
        assert_eq!(m.read_obj::<u32>(GuestAddress(z + 0x202)).unwrap(), HDR_MAGIC);
        assert_eq!(m.read_obj::<u8>(GuestAddress(z + 0x210)).unwrap(), 0xff);
        assert_eq!(
            m.read_obj::<u32>(GuestAddress(z + 0x228)).unwrap(),
            CMDLINE_START as u32
        );
        assert_eq!(m.read_obj::<u8>(GuestAddress(z + 0x1e8)).unwrap(), 2);
        assert_eq!(
            m.read_obj::<u64>(GuestAddress(z + 0x2d0 + 20 + 8)).unwrap(),
            (256 << 20) - 0x10_0000
        );
        let mut c = [0u8; 20];
        m.read_slice(&mut c, GuestAddress(CMDLINE_START)).unwrap();
        assert_eq!(&c, b"console=ttyS0 quiet\0");
    }

    #[test]
    fn bad_kernels_and_cmdlines_are_refused_with_reasons() {
        let m = mem(4 << 20);
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk");
        std::fs::write(&junk, vec![0x5a; 4096]).unwrap();
        let err = load_kernel(&m, &junk).unwrap_err();
        assert!(matches!(err, BootError::InvalidKernel { .. }), "{err}");
        let err = load_kernel(&m, &dir.path().join("missing")).unwrap_err();
        assert!(matches!(err, BootError::OpenKernel { .. }), "{err}");
        assert!(matches!(
            write_cmdline(&m, &"a".repeat(CMDLINE_MAX_SIZE)),
            Err(BootError::Cmdline(_))
        ));
    }
}
