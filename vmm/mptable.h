/*
 * vmm_mptable: the Intel MultiProcessor Specification 1.4 tables of a
 * machine with local APICs and the I/O APIC (more than one vCPU), beside
 * the ACPI MADT (acpi.h).
 *
 * Why both: a guest that does not take its interrupt routing from ACPI
 * (Linux with "pci=noacpi" or "acpi=noirq": our DSDT has no PCI root
 * bridge and no _PRT, so the lab's guests boot that way) skips the MADT's
 * I/O APIC entries and, without an MP table, stays with its timer on an
 * 8259 whose output it has just masked at LINT0: jiffies stop. The MP
 * table describes the I/O APIC and every interrupt line, PCI INTx
 * included, which ACPI without a _PRT cannot.
 *
 * Guest-physical layout, 8 KiB at 0xf0000, inside 0xf0000-0xfffff (reserved
 * in e820 by boot_linux.c): the BIOS area where a guest scans for the
 * floating pointer on 16-byte boundaries.
 *
 *   0xf0000  MP floating pointer structure ("_MP_", 16 bytes, revision
 *            1.4, feature byte 1 = 0: a configuration table follows;
 *            IMCR bit clear: virtual-wire mode, as the 8259 reaches LINT0)
 *   0xf0010  MP configuration table ("PCMP", revision 1.4): local APIC
 *            at 0xfee00000; entries in the order the spec requires:
 *              one processor per vCPU (APIC ID = vCPU id, vCPU 0 the BSP),
 *              bus 0 "PCI   " and bus 1 "ISA   ",
 *              the I/O APIC (ID, version 0x11, 0xfec00000),
 *              I/O interrupts: each PCI INTx given (bus 0, source IRQ
 *              slot << 2 | pin - 1, PCI's level / active-low by
 *              "conforms"), then ISA IRQs 0-15 but 2 (the cascade) and
 *              those a PCI device drives, on pin vmm_acpi_isa_gsi(irq),
 *              edge and active high except the SCI (IRQ 9: level, high),
 *              local interrupts: ExtINT on LINT0 and NMI on LINT1 of
 *              every processor.
 *
 * Environment: the runner, before the first vCPU runs, on the guest-RAM
 * buffer (guest physical 0).
 */
#ifndef VMM_MPTABLE_H
#define VMM_MPTABLE_H

#include <stdint.h>

#include "vx_err.h"

#define VMM_MPTABLE_BASE	0xf0000ull
#define VMM_MPTABLE_SIZE	0x2000ull
#define VMM_MPTABLE_CONFIG	(VMM_MPTABLE_BASE + 16)
#define VMM_MPTABLE_MAX_PCI	32u

/* A PCI device's interrupt as the board wires it: bus 0, slot, pin (1 =
 * INTA#, as the Interrupt Pin register says), onto ISA line isa_irq. */
struct vmm_mp_pci_irq {
	uint8_t slot;
	uint8_t pin;
	uint8_t isa_irq;
};

/*
 * Writes the floating pointer and configuration table for ncpus (2 to
 * VMM_ACPI_MAX_CPUS) and npci PCI interrupts (at most VMM_MPTABLE_MAX_PCI,
 * slots below 32, pins 1-4, ISA lines 1-15 but 2) at VMM_MPTABLE_BASE,
 * zeroing the rest of the 8 KiB area. Returns 0, or -EINVAL / -ENOSPC
 * with err naming the problem and guest RAM unchanged.
 */
int vmm_mptable_build(uint8_t *ram, uint64_t ram_size, unsigned ncpus,
		      const struct vmm_mp_pci_irq *pci, unsigned npci,
		      struct vx_err *err);

#endif /* VMM_MPTABLE_H */
