//! Local APIC setup: LINT0 as ExtINT (the legacy PIC's output) and LINT1 as NMI, as a BIOS would leave
//! them for the kernel.

use crate::hypervisor::{HypervisorError, LapicState, Vcpu};

/// LVT LINT0 register offset.
pub const APIC_LVT0: usize = 0x350;
/// LVT LINT1 register offset.
pub const APIC_LVT1: usize = 0x360;
/// Delivery mode ExtINT.
pub const APIC_MODE_EXTINT: u32 = 0x7;
/// Delivery mode NMI.
pub const APIC_MODE_NMI: u32 = 0x4;

/// `reg` with its delivery-mode field (bits 8-10) set to `mode`.
pub fn set_delivery_mode(reg: u32, mode: u32) -> u32 {
    (reg & !0x700) | (mode << 8)
}

/// Rewrites LINT0/LINT1 in `state`.
pub fn configure_lint(state: &mut LapicState) {
    let lvt0 = state.reg(APIC_LVT0);
    state.set_reg(APIC_LVT0, set_delivery_mode(lvt0, APIC_MODE_EXTINT));
    let lvt1 = state.reg(APIC_LVT1);
    state.set_reg(APIC_LVT1, set_delivery_mode(lvt1, APIC_MODE_NMI));
}

/// Reads the vCPU's LAPIC, configures LINT0/1 and writes it back (needs the in-kernel irqchip).
pub fn setup_lint(vcpu: &dyn Vcpu) -> Result<(), HypervisorError> {
    let mut state = vcpu.lapic()?;
    configure_lint(&mut state);
    vcpu.set_lapic(&state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lint_modes_are_set_and_other_bits_kept() {
        let mut s = LapicState::default();
        s.set_reg(APIC_LVT0, 0x0001_0700); // masked, some old mode
        s.set_reg(APIC_LVT1, 0x0000_0000);
        s.set_reg(0x20, 0x0300_0000); // APIC id untouched
        configure_lint(&mut s);
        assert_eq!(s.reg(APIC_LVT0), 0x0001_0700);
        assert_eq!(s.reg(APIC_LVT1), 0x0000_0400);
        assert_eq!(s.reg(0x20), 0x0300_0000);
        assert_eq!(s.reg(1022), 0, "out-of-page read is 0");
    }
}
