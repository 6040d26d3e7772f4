/*
 * vmm_acpi: the ACPI tables of a guest booted without firmware, so Linux
 * has a way to power off (\_S5 and SLP_EN), a fixed power button and a
 * reset register. The hardware they describe is acpi_pm.h.
 *
 * Environment: the runner, before the first vCPU runs, on the guest-RAM
 * buffer it gave vmm_boot_linux_load (guest physical 0).
 *
 * Guest-physical layout, a 4 KiB area inside 0xe0000-0xfffff (reserved
 * in e820 by boot_linux.c, and where Linux scans for the RSDP on 16-byte
 * boundaries when boot_params.acpi_rsdp_addr is 0):
 *
 *   0xe0000  RSDP, revision 2 (36 bytes): RSDT and XSDT
 *   0xe0040  RSDT (32-bit entries, for OSes or "acpi=rsdt" that want it)
 *   0xe0080  XSDT (64-bit entries): FADT
 *   0xe0100  FADT, revision 6 (276 bytes): FACS, DSDT, PM1a blocks at
 *            0x600/0x604, SCI on IRQ 9, reset register 0x608 = 0x06,
 *            no SMI_CMD (always in ACPI mode), not hardware-reduced
 *   0xe0240  FACS (64 bytes, 64-byte aligned; no firmware shares its
 *            global lock, but a full-hardware FADT needs one)
 *   0xe0280  DSDT: Name (_S5, Package (4) {5, 5, 0, 0})
 *   0xe0400  MADT (vmm_acpi_build_smp only), then free up to 0xe1000
 *
 * vmm_acpi_build writes no MADT: interrupts stay on the 8259 PIC and
 * Linux keeps PIC mode ("ACPI: Using PIC for interrupt routing").
 * vmm_acpi_build_smp(ncpus) adds a MADT (signature "APIC", revision 5),
 * listed in both the RSDT and the XSDT: local APIC address 0xfee00000,
 * flags PCAT_COMPAT (the 8259s exist, Linux masks them when it switches to
 * the I/O APIC), one Processor Local APIC entry per vCPU (type 0, UID =
 * APIC ID = vCPU id, enabled), the I/O APIC (type 1, ID 0, 0xfec00000,
 * GSI base 0; ioapic.h), Interrupt Source Overrides for IRQ 0 -> GSI 2 and
 * for the SCI (IRQ 9, level, active high), and a Local APIC NMI entry
 * (all processors, LINT1). Every other ISA IRQ n is GSI n, edge, active
 * high: the runner wires the board's lines to the IOAPIC pins that way
 * (vmm_acpi_isa_gsi). The FADT and DSDT are the same either way.
 */
#ifndef VMM_ACPI_H
#define VMM_ACPI_H

#include <stdint.h>

#include "vx_err.h"

#define VMM_ACPI_BASE		0xe0000ull
#define VMM_ACPI_SIZE		0x1000ull
#define VMM_ACPI_RSDP		0xe0000ull
#define VMM_ACPI_RSDT		0xe0040ull
#define VMM_ACPI_XSDT		0xe0080ull
#define VMM_ACPI_FADT		0xe0100ull
#define VMM_ACPI_FACS		0xe0240ull
#define VMM_ACPI_DSDT		0xe0280ull
#define VMM_ACPI_FREE		0xe0400ull	/* first byte after the fixed tables */
#define VMM_ACPI_MADT		0xe0400ull

#define VMM_ACPI_MAX_CPUS	254u		/* xAPIC IDs 0-254; 0xff is broadcast */
#define VMM_ACPI_IOAPIC_ID	0
#define VMM_ACPI_IOAPIC_ADDR	0xfec00000ull
#define VMM_ACPI_PIT_GSI	2		/* the override of ISA IRQ 0 */

#define VMM_ACPI_OEM_ID		"VMXCOR"	/* 6 bytes */
#define VMM_ACPI_OEM_TABLE_ID	"VMXCORE "	/* 8 bytes */

/* boot_params.acpi_rsdp_addr (u64), boot protocol 2.14+; Linux reads it
 * before it would scan. */
#define VMM_BOOT_PARAMS_ACPI_RSDP 0x070

/* Where the tables went (guest physical) and how long each is. */
struct vmm_acpi_info {
	uint64_t rsdp, rsdt, xsdt, fadt, facs, dsdt;
	uint32_t rsdt_len, xsdt_len, fadt_len, facs_len, dsdt_len;
	uint64_t madt;			/* 0: none (vmm_acpi_build) */
	uint32_t madt_len;
};

/* The IOAPIC pin (GSI) the MADT says ISA IRQ irq (0-15) arrives on. */
static inline int vmm_acpi_isa_gsi(int irq)
{
	return irq == 0 ? VMM_ACPI_PIT_GSI : irq;
}

/*
 * Writes the tables into guest RAM (ram is guest physical 0, ram_size
 * bytes) at VMM_ACPI_BASE, zeroing the rest of the 4 KiB area. Returns 0,
 * or -ENOSPC when RAM does not reach VMM_ACPI_BASE + VMM_ACPI_SIZE,
 * -EINVAL for a NULL ram. info may be NULL.
 */
int vmm_acpi_build(uint8_t *ram, uint64_t ram_size,
		   struct vmm_acpi_info *info, struct vx_err *err);

/*
 * The same, plus a MADT for ncpus local APICs and the I/O APIC when ncpus
 * is 1..VMM_ACPI_MAX_CPUS (0: no MADT, as vmm_acpi_build). -EINVAL for
 * more CPUs than that.
 */
int vmm_acpi_build_smp(uint8_t *ram, uint64_t ram_size, unsigned ncpus,
		       struct vmm_acpi_info *info, struct vx_err *err);

/*
 * Points boot_params.acpi_rsdp_addr at VMM_ACPI_RSDP. Call it after
 * vmm_boot_linux_load (which zeroes the zero page) with its
 * info.boot_params. Returns 0, or -EINVAL when the zero page is not in RAM.
 */
int vmm_acpi_set_boot_rsdp(uint8_t *ram, uint64_t ram_size,
			   uint64_t boot_params, struct vx_err *err);

#endif
