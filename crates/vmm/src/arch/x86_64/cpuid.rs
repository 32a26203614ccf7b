//! CPUID normalisation: the host's supported leaves, rewritten per vCPU so the guest sees its own APIC
//! id, the VM's CPU count as one package, a hypervisor, and no host features it cannot use.

use crate::hypervisor::CpuIdEntry;

/// Leaf 1 ECX: hypervisor present.
pub const ECX_HYPERVISOR: u32 = 1 << 31;
/// Leaf 1 ECX: TSC deadline timer (KVM emulates it on the in-kernel LAPIC).
pub const ECX_TSC_DEADLINE: u32 = 1 << 24;
/// Leaf 1 EDX: hyper-threading / multi-core package.
pub const EDX_HTT: u32 = 1 << 28;
/// Leaf 6 ECX: performance-energy bias MSR (not emulated).
pub const ECX_EPB: u32 = 1 << 3;

/// Rewrites `entries` (as from [`crate::hypervisor::Hypervisor::supported_cpuid`]) for vCPU `cpu_id` of
/// `cpu_count`.
pub fn normalize(entries: &mut [CpuIdEntry], cpu_id: u8, cpu_count: u8) {
    let count = u32::from(cpu_count.max(1));
    for e in entries.iter_mut() {
        match e.function {
            1 => {
                // EBX: APIC id [31:24], logical processors [23:16], CLFLUSH line size in qwords [15:8].
                e.ebx = (u32::from(cpu_id) << 24) | (count << 16) | (8 << 8) | (e.ebx & 0xff);
                e.ecx |= ECX_HYPERVISOR | ECX_TSC_DEADLINE;
                if count > 1 {
                    e.edx |= EDX_HTT;
                } else {
                    e.edx &= !EDX_HTT;
                }
            }
            4 => {
                // Deterministic cache parameters: cores per package - 1 in EAX[31:26]; caches shared by
                // the whole package at levels 3, by one core below.
                let cores = (count - 1).min(63);
                let level = (e.eax >> 5) & 0x7;
                let sharing = if level >= 3 { cores } else { 0 };
                e.eax = (e.eax & 0x3ff) | (sharing << 14) | (cores << 26);
            }
            6 => e.ecx &= !ECX_EPB,
            0xa => {
                // No virtual PMU: the kernel then does not touch performance counters.
                e.eax = 0;
                e.ebx = 0;
                e.ecx = 0;
                e.edx = 0;
            }
            0xb | 0x1f => {
                // Extended topology: subleaf 0 is the SMT level (1 thread per core), subleaf 1 the core
                // level (all vCPUs); EDX is the x2APIC id.
                match e.index {
                    0 => {
                        e.eax = 0;
                        e.ebx = 1;
                        e.ecx = 0x100;
                    }
                    1 => {
                        e.eax = 32 - (count - 1).leading_zeros().min(32);
                        e.ebx = count;
                        e.ecx = 0x201;
                    }
                    _ => {
                        e.eax = 0;
                        e.ebx = 0;
                        e.ecx = e.index;
                    }
                }
                e.edx = u32::from(cpu_id);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(function: u32, index: u32) -> CpuIdEntry {
        CpuIdEntry {
            function,
            index,
            eax: 0xffff_ffff,
            ebx: 0xffff_ffff,
            ecx: 0xffff_ffff,
            edx: 0xffff_ffff,
            ..Default::default()
        }
    }

    #[test]
    fn leaf1_carries_apic_id_count_and_hypervisor_bit() {
        let mut e = vec![leaf(1, 0)];
        e[0].ecx = 0;
        e[0].edx = 0;
        normalize(&mut e, 3, 4);
        assert_eq!(e[0].ebx >> 24, 3);
        assert_eq!((e[0].ebx >> 16) & 0xff, 4);
        assert_eq!((e[0].ebx >> 8) & 0xff, 8);
        assert_ne!(e[0].ecx & ECX_HYPERVISOR, 0);
        assert_ne!(e[0].edx & EDX_HTT, 0);
        normalize(&mut e, 0, 1);
        assert_eq!(e[0].edx & EDX_HTT, 0);
    }

    #[test]
    fn topology_leaves_report_x2apic_id_and_core_count() {
        let mut e = vec![leaf(0xb, 0), leaf(0xb, 1), leaf(0xb, 2)];
        normalize(&mut e, 2, 4);
        assert_eq!((e[0].ebx, e[0].edx), (1, 2));
        assert_eq!((e[1].eax, e[1].ebx, e[1].ecx >> 8 & 0xff), (2, 4, 2));
        assert_eq!((e[2].eax, e[2].ebx, e[2].ecx), (0, 0, 2));
    }

    #[test]
    fn pmu_and_epb_hidden_and_cache_sharing_scaled() {
        let mut e = vec![
            leaf(0xa, 0),
            leaf(6, 0),
            CpuIdEntry {
                function: 4,
                eax: 0x63,
                ..Default::default()
            },
        ];
        normalize(&mut e, 0, 2);
        assert_eq!((e[0].eax, e[0].ebx, e[0].ecx, e[0].edx), (0, 0, 0, 0));
        assert_eq!(e[1].ecx & ECX_EPB, 0);
        // level 3 cache: shared by both cores, package has 2 cores
        assert_eq!(
            (e[2].eax >> 26, (e[2].eax >> 14) & 0xfff, e[2].eax & 0x3ff),
            (1, 1, 0x63)
        );
    }
}
