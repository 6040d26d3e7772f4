/*
 * vmm_mptable: the MP Specification 1.4 tables (see mptable.h). Entry
 * layouts are the spec's chapter 4; every multi-byte field little-endian.
 */
#include "vmm/mptable.h"

#include <errno.h>
#include <string.h>

#include "vmm/acpi.h"
#include "vmm/acpi_pm.h"
#include "vmm/boot_params.h"

#define MP_SPEC_REV		4	/* 1.4 */
#define MP_FPS_LEN		16
#define MP_HDR_LEN		44
#define MP_PROC_LEN		20
#define MP_ENTRY_LEN		8	/* bus, I/O APIC, I/O and local interrupts */

enum { MP_T_PROC, MP_T_BUS, MP_T_IOAPIC, MP_T_IOINT, MP_T_LINT };
enum { MP_INT_INT, MP_INT_NMI, MP_INT_SMI, MP_INT_EXTINT };

#define MP_PROC_EN		0x01
#define MP_PROC_BP		0x02
#define MP_APIC_VERSION		0x14	/* an integrated local APIC */
#define MP_IOAPIC_VERSION	0x11	/* ioapic.c's IOAPICVER */
#define MP_IOAPIC_EN		0x01
/* Processor signature and feature flags: nominal (family 6, FPU and APIC
 * present); a guest learns the truth from CPUID. */
#define MP_CPU_SIGNATURE	0x00000600u
#define MP_CPU_FEATURES		0x00000201u

/* Interrupt flags: polarity bits 1:0, trigger bits 3:2; 0 = the bus's own. */
#define MP_IRQ_CONFORMS		0x0
#define MP_IRQ_ACTIVE_HIGH	0x1
#define MP_IRQ_LEVEL		(0x3 << 2)

#define MP_BUS_PCI		0
#define MP_BUS_ISA		1
#define MP_ALL_LAPICS		0xff

static uint8_t mp_checksum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return (uint8_t)-s;
}

static size_t mp_config_len(unsigned ncpus, unsigned n_ioints)
{
	return MP_HDR_LEN + (size_t)ncpus * MP_PROC_LEN +
	       (size_t)(2 + 1 + n_ioints + 2) * MP_ENTRY_LEN;
}

/* ISA lines a PCI device drives are the device's (level), not ISA's. */
static uint16_t mp_isa_lines(const struct vmm_mp_pci_irq *pci, unsigned npci)
{
	uint16_t mask = 0xffff & ~(1u << 2);	/* IRQ 2: the cascade */

	for (unsigned i = 0; i < npci; i++)
		mask &= (uint16_t)~(1u << pci[i].isa_irq);
	return mask;
}

static int mp_check(uint64_t ram_size, unsigned ncpus, const struct vmm_mp_pci_irq *pci,
		    unsigned npci, struct vx_err *err)
{
	if (ram_size < VMM_MPTABLE_BASE + VMM_MPTABLE_SIZE)
		return vx_err_set(err, -ENOSPC,
				  "mptable: RAM ends at 0x%llx, the tables need 0x%llx-0x%llx",
				  (unsigned long long)ram_size,
				  (unsigned long long)VMM_MPTABLE_BASE,
				  (unsigned long long)(VMM_MPTABLE_BASE + VMM_MPTABLE_SIZE));
	if (ncpus < 2 || ncpus > VMM_ACPI_MAX_CPUS)
		return vx_err_set(err, -EINVAL, "mptable: %u CPUs; an MP table describes 2 to %u",
				  ncpus, VMM_ACPI_MAX_CPUS);
	if (npci > VMM_MPTABLE_MAX_PCI || (npci && !pci))
		return vx_err_set(err, -EINVAL, "mptable: %u PCI interrupts, at most %u",
				  npci, VMM_MPTABLE_MAX_PCI);
	for (unsigned i = 0; i < npci; i++)
		if (pci[i].slot >= 32 || pci[i].pin < 1 || pci[i].pin > 4 ||
		    pci[i].isa_irq < 1 || pci[i].isa_irq > 15 || pci[i].isa_irq == 2)
			return vx_err_set(err, -EINVAL,
					  "mptable: PCI interrupt %u (slot %u, pin %u, line %u) "
					  "is not a slot below 32, pin 1-4, ISA line 1-15 but 2",
					  i, pci[i].slot, pci[i].pin, pci[i].isa_irq);
	return 0;
}

static uint8_t *mp_entry8(uint8_t *p, uint8_t type, uint8_t a, uint8_t b)
{
	memset(p, 0, MP_ENTRY_LEN);
	p[0] = type;
	p[1] = a;
	p[2] = b;
	return p;
}

static uint8_t *mp_bus(uint8_t *p, uint8_t id, const char name[7])
{
	mp_entry8(p, MP_T_BUS, id, 0);
	memcpy(p + 2, name, 6);
	return p + MP_ENTRY_LEN;
}

/* An I/O (MP_T_IOINT) or local (MP_T_LINT) interrupt assignment. */
static uint8_t *mp_irq(uint8_t *p, uint8_t type, uint8_t kind, uint16_t flags, uint8_t bus,
		       uint8_t bus_irq, uint8_t dest, uint8_t dest_pin)
{
	mp_entry8(p, type, kind, 0);
	st16(p + 2, flags);
	p[4] = bus;
	p[5] = bus_irq;
	p[6] = dest;
	p[7] = dest_pin;
	return p + MP_ENTRY_LEN;
}

static uint8_t *mp_processors(uint8_t *p, unsigned ncpus)
{
	for (unsigned i = 0; i < ncpus; i++, p += MP_PROC_LEN) {
		memset(p, 0, MP_PROC_LEN);
		p[0] = MP_T_PROC;
		p[1] = (uint8_t)i;	/* local APIC ID = vCPU id */
		p[2] = MP_APIC_VERSION;
		p[3] = MP_PROC_EN | (i == 0 ? MP_PROC_BP : 0);
		st32(p + 4, MP_CPU_SIGNATURE);
		st32(p + 8, MP_CPU_FEATURES);
	}
	return p;
}

static uint8_t *mp_io_interrupts(uint8_t *p, const struct vmm_mp_pci_irq *pci, unsigned npci,
				 uint16_t isa)
{
	for (unsigned i = 0; i < npci; i++)
		p = mp_irq(p, MP_T_IOINT, MP_INT_INT, MP_IRQ_CONFORMS, MP_BUS_PCI,
			   (uint8_t)(pci[i].slot << 2 | (pci[i].pin - 1)), VMM_ACPI_IOAPIC_ID,
			   (uint8_t)vmm_acpi_isa_gsi(pci[i].isa_irq));
	for (int irq = 0; irq < 16; irq++) {
		uint16_t flags = irq == VMM_ACPI_SCI_IRQ ? MP_IRQ_LEVEL | MP_IRQ_ACTIVE_HIGH
							 : MP_IRQ_CONFORMS;

		if (isa & (1u << irq))
			p = mp_irq(p, MP_T_IOINT, MP_INT_INT, flags, MP_BUS_ISA, (uint8_t)irq,
				   VMM_ACPI_IOAPIC_ID, (uint8_t)vmm_acpi_isa_gsi(irq));
	}
	return p;
}

static void mp_config_table(uint8_t *t, size_t len, unsigned ncpus,
			    const struct vmm_mp_pci_irq *pci, unsigned npci, uint16_t isa,
			    unsigned n_ioints)
{
	uint8_t *p = t + MP_HDR_LEN;

	memcpy(t, "PCMP", 4);
	st16(t + 4, (uint16_t)len);
	t[6] = MP_SPEC_REV;
	memcpy(t + 8, "VMXCORE ", 8);		/* OEM ID */
	memcpy(t + 16, "VMXCORE RUNR", 12);	/* product ID */
	st16(t + 34, (uint16_t)(ncpus + 2 + 1 + n_ioints + 2));
	st32(t + 36, 0xfee00000u);		/* local APIC */
	p = mp_processors(p, ncpus);
	p = mp_bus(p, MP_BUS_PCI, "PCI   ");
	p = mp_bus(p, MP_BUS_ISA, "ISA   ");
	mp_entry8(p, MP_T_IOAPIC, VMM_ACPI_IOAPIC_ID, MP_IOAPIC_VERSION);
	p[3] = MP_IOAPIC_EN;
	st32(p + 4, (uint32_t)VMM_ACPI_IOAPIC_ADDR);
	p += MP_ENTRY_LEN;
	p = mp_io_interrupts(p, pci, npci, isa);
	p = mp_irq(p, MP_T_LINT, MP_INT_EXTINT, MP_IRQ_CONFORMS, MP_BUS_ISA, 0, MP_ALL_LAPICS, 0);
	mp_irq(p, MP_T_LINT, MP_INT_NMI, MP_IRQ_CONFORMS, MP_BUS_ISA, 0, MP_ALL_LAPICS, 1);
	t[7] = mp_checksum(t, len);
}

static void mp_floating_pointer(uint8_t *f)
{
	memcpy(f, "_MP_", 4);
	st32(f + 4, (uint32_t)VMM_MPTABLE_CONFIG);
	f[8] = MP_FPS_LEN / 16;
	f[9] = MP_SPEC_REV;
	/* f[11..15]: feature bytes 0: a configuration table, virtual wire. */
	f[10] = mp_checksum(f, MP_FPS_LEN);
}

int vmm_mptable_build(uint8_t *ram, uint64_t ram_size, unsigned ncpus,
		      const struct vmm_mp_pci_irq *pci, unsigned npci,
		      struct vx_err *err)
{
	uint16_t isa;
	unsigned n_ioints;
	size_t len;
	int rc = mp_check(ram_size, ncpus, pci, npci, err);

	if (rc)
		return rc;
	isa = mp_isa_lines(pci, npci);
	n_ioints = npci + (unsigned)__builtin_popcount(isa);
	len = mp_config_len(ncpus, n_ioints);
	if (MP_FPS_LEN + len > VMM_MPTABLE_SIZE)
		return vx_err_set(err, -ENOSPC, "mptable: %zu bytes do not fit in 0x%llx",
				  len, (unsigned long long)VMM_MPTABLE_SIZE);
	memset(ram + VMM_MPTABLE_BASE, 0, VMM_MPTABLE_SIZE);
	mp_config_table(ram + VMM_MPTABLE_CONFIG, len, ncpus, pci, npci, isa, n_ioints);
	mp_floating_pointer(ram + VMM_MPTABLE_BASE);
	return 0;
}
