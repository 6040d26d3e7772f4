/*
 * vmm_acpi: RSDP, RSDT, XSDT, FADT, FACS and DSDT (see acpi.h). Layouts
 * from the ACPI 6.5 specification, chapter 5 ("ACPI Software Programming
 * Model"): "Root System Description Pointer (RSDP) Structure", "System
 * Description Table Header", "Fixed ACPI Description Table (FADT) Format",
 * "Firmware ACPI Control Structure (FACS)", "Generic Address Structure";
 * the AML encoding from chapter 20 ("ACPI Machine Language Specification").
 * All multi-byte fields are little-endian; tables are byte-packed.
 */
#include "vmm/acpi.h"

#include <errno.h>
#include <string.h>

#include "vmm/acpi_pm.h"

/* System description table header. */
#define HDR_SIGNATURE		0
#define HDR_LENGTH		4
#define HDR_REVISION		8
#define HDR_CHECKSUM		9
#define HDR_OEM_ID		10
#define HDR_OEM_TABLE_ID	16
#define HDR_OEM_REVISION	24
#define HDR_CREATOR_ID		28
#define HDR_CREATOR_REVISION	32
#define HDR_SIZE		36

/* RSDP. */
#define RSDP_CHECKSUM		8	/* over the first 20 bytes (ACPI 1.0) */
#define RSDP_OEM_ID		9
#define RSDP_REVISION		15
#define RSDP_RSDT		16
#define RSDP_LENGTH		20
#define RSDP_XSDT		24
#define RSDP_XCHECKSUM		32	/* over all 36 bytes */
#define RSDP_V1_SIZE		20
#define RSDP_SIZE		36

/* FADT, revision 6 (the layout is unchanged through ACPI 6.5). */
#define FADT_FIRMWARE_CTRL	36
#define FADT_DSDT		40
#define FADT_PM_PROFILE		45
#define FADT_SCI_INT		46
#define FADT_SMI_CMD		48
#define FADT_PM1A_EVT_BLK	56
#define FADT_PM1A_CNT_BLK	64
#define FADT_PM1_EVT_LEN	88
#define FADT_PM1_CNT_LEN	89
#define FADT_P_LVL2_LAT		96
#define FADT_P_LVL3_LAT		98
#define FADT_CENTURY		108
#define FADT_IAPC_BOOT_ARCH	109
#define FADT_FLAGS		112
#define FADT_RESET_REG		116
#define FADT_RESET_VALUE	128
#define FADT_MINOR_VERSION	131
#define FADT_X_FIRMWARE_CTRL	132
#define FADT_X_DSDT		140
#define FADT_X_PM1A_EVT_BLK	148
#define FADT_X_PM1A_CNT_BLK	172
#define FADT_HYPERVISOR_ID	268
#define FADT_SIZE		276

/* IAPC_BOOT_ARCH: ISA devices (PIT, RTC, UART), an 8042, no VGA to
 * probe. MSI_NOT_SUPPORTED stays clear: it would outlive the PIC. */
#define BOOT_ARCH_LEGACY_DEVICES 0x0001
#define BOOT_ARCH_8042		0x0002
#define BOOT_ARCH_VGA_NOT_PRESENT 0x0004

/* FADT flags. */
#define FADT_F_WBINVD		(1u << 0)	/* required by the spec */
#define FADT_F_PROC_C1		(1u << 2)	/* HLT works on every CPU */
#define FADT_F_SLP_BUTTON	(1u << 5)	/* no sleep button */
#define FADT_F_FIX_RTC		(1u << 6)	/* no RTC_STS wake */
#define FADT_F_RESET_REG_SUP	(1u << 10)
/* Clear on purpose: PWR_BUTTON (bit 4; the power button is the fixed
 * feature), HW_REDUCED_ACPI (bit 20; we have PM1 blocks and an SCI). */

/* P_LVLx_LAT above these say "no C2/C3". */
#define NO_C2_LATENCY		101
#define NO_C3_LATENCY		1001

/* FACS. */
#define FACS_LENGTH		4
#define FACS_VERSION		32
#define FACS_SIZE		64

/* Generic Address Structure. */
#define GAS_SIZE		12
#define GAS_SPACE_IO		1
#define GAS_ACCESS_BYTE		1
#define GAS_ACCESS_WORD		2

/* Revisions we write. */
#define RSDP_REV		2
#define RSDT_REV		1
#define XSDT_REV		1
#define FADT_REV		6
#define FADT_MINOR		5	/* ACPI 6.5 */
#define DSDT_REV		2	/* integers are 64 bits */
#define FACS_VER		2

#define CREATOR_ID		"VMXC"
#define CREATOR_REVISION	1
#define OEM_REVISION		1

/* AML opcodes and prefixes used by the DSDT body. */
#define AML_ZERO_OP		0x00
#define AML_NAME_OP		0x08
#define AML_BYTE_PREFIX		0x0a
#define AML_PACKAGE_OP		0x12

/* MADT (ACPI 6.5 5.2.12, "Multiple APIC Description Table"). */
#define MADT_REV		5
#define MADT_LAPIC_ADDR		36
#define MADT_FLAGS		40
#define MADT_ENTRIES		44
#define MADT_PCAT_COMPAT	(1u << 0)	/* the 8259s exist */
#define MADT_LAPIC_BASE		0xfee00000u
#define MADT_T_LAPIC		0	/* Processor Local APIC, 8 bytes */
#define MADT_T_IOAPIC		1	/* I/O APIC, 12 bytes */
#define MADT_T_ISO		2	/* Interrupt Source Override, 10 bytes */
#define MADT_T_LAPIC_NMI	4	/* Local APIC NMI, 6 bytes */
#define MADT_LAPIC_ENABLED	(1u << 0)
/* MPS INTI flags: polarity bits 1-0, trigger mode bits 3-2. */
#define MPS_INTI_CONFORMS	0x0
#define MPS_INTI_HIGH		0x1
#define MPS_INTI_EDGE		(0x1 << 2)
#define MPS_INTI_LEVEL		(0x3 << 2)
#define MADT_ALL_PROCESSORS	0xff
#define MADT_SIZE(n)		(MADT_ENTRIES + 12 + 2 * 10 + 6 + 8 * (n))

/* The tables the XSDT and RSDT list: the FADT, and the MADT when there is
 * one (vmm_acpi_build_smp). */
static const uint64_t vmm_acpi_sdt_entries[] = { VMM_ACPI_FADT, VMM_ACPI_MADT };
#define NENTRIES (sizeof(vmm_acpi_sdt_entries) / sizeof(vmm_acpi_sdt_entries[0]))

/* Each table ends before the next one starts. */
_Static_assert(VMM_ACPI_RSDP + RSDP_SIZE <= VMM_ACPI_RSDT, "RSDP overlaps");
_Static_assert(VMM_ACPI_RSDT + HDR_SIZE + 4 * NENTRIES <= VMM_ACPI_XSDT,
	       "RSDT overlaps");
_Static_assert(VMM_ACPI_XSDT + HDR_SIZE + 8 * NENTRIES <= VMM_ACPI_FADT,
	       "XSDT overlaps");
_Static_assert(VMM_ACPI_FADT + FADT_SIZE <= VMM_ACPI_FACS, "FADT overlaps");
_Static_assert(VMM_ACPI_FACS % 64 == 0, "FACS must be 64-byte aligned");
_Static_assert(VMM_ACPI_FACS + FACS_SIZE <= VMM_ACPI_DSDT, "FACS overlaps");
_Static_assert(VMM_ACPI_MADT + MADT_SIZE(VMM_ACPI_MAX_CPUS) <= VMM_ACPI_BASE + VMM_ACPI_SIZE,
	       "MADT does not fit");

static void st16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void st32(uint8_t *p, uint32_t v)
{
	st16(p, (uint16_t)v);
	st16(p + 2, (uint16_t)(v >> 16));
}

static void st64(uint8_t *p, uint64_t v)
{
	st32(p, (uint32_t)v);
	st32(p + 4, (uint32_t)(v >> 32));
}

/* The byte that makes len bytes from p sum to zero, given that it is
 * itself zero when this is called. */
static uint8_t vmm_acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return (uint8_t)-sum;
}

static void vmm_acpi_header(uint8_t *t, const char *sig, uint32_t len,
			    uint8_t rev)
{
	memcpy(t + HDR_SIGNATURE, sig, 4);
	st32(t + HDR_LENGTH, len);
	t[HDR_REVISION] = rev;
	memcpy(t + HDR_OEM_ID, VMM_ACPI_OEM_ID, 6);
	memcpy(t + HDR_OEM_TABLE_ID, VMM_ACPI_OEM_TABLE_ID, 8);
	st32(t + HDR_OEM_REVISION, OEM_REVISION);
	memcpy(t + HDR_CREATOR_ID, CREATOR_ID, 4);
	st32(t + HDR_CREATOR_REVISION, CREATOR_REVISION);
}

/* Call last, once the whole table is written. */
static void vmm_acpi_seal(uint8_t *t)
{
	uint32_t len = (uint32_t)t[HDR_LENGTH] | (uint32_t)t[HDR_LENGTH + 1] << 8 |
		       (uint32_t)t[HDR_LENGTH + 2] << 16 |
		       (uint32_t)t[HDR_LENGTH + 3] << 24;

	t[HDR_CHECKSUM] = 0;
	t[HDR_CHECKSUM] = vmm_acpi_checksum(t, len);
}

/* A "register" GAS: bit offset 0 and a power-of-two bit width, which
 * ACPICA takes as the access width whatever access_size says. */
static void vmm_acpi_gas_io(uint8_t *g, uint8_t bits, uint8_t access,
			    uint16_t port)
{
	g[0] = GAS_SPACE_IO;
	g[1] = bits;
	g[2] = 0;
	g[3] = access;
	st64(g + 4, port);
}

static void vmm_acpi_rsdp(uint8_t *p)
{
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + RSDP_OEM_ID, VMM_ACPI_OEM_ID, 6);
	p[RSDP_REVISION] = RSDP_REV;
	st32(p + RSDP_RSDT, (uint32_t)VMM_ACPI_RSDT);
	st32(p + RSDP_LENGTH, RSDP_SIZE);
	st64(p + RSDP_XSDT, VMM_ACPI_XSDT);
	p[RSDP_CHECKSUM] = vmm_acpi_checksum(p, RSDP_V1_SIZE);
	p[RSDP_XCHECKSUM] = vmm_acpi_checksum(p, RSDP_SIZE);
}

/* RSDT (4-byte entries) or XSDT (8-byte entries) listing the first n
 * tables of vmm_acpi_sdt_entries; returns its length. */
static uint32_t vmm_acpi_sdt(uint8_t *t, const char *sig, uint8_t rev,
			     unsigned entry_size, size_t n)
{
	uint32_t len = HDR_SIZE + (uint32_t)(n * entry_size);
	size_t i;

	vmm_acpi_header(t, sig, len, rev);
	for (i = 0; i < n; i++) {
		if (entry_size == 4)
			st32(t + HDR_SIZE + 4 * i,
			     (uint32_t)vmm_acpi_sdt_entries[i]);
		else
			st64(t + HDR_SIZE + 8 * i, vmm_acpi_sdt_entries[i]);
	}
	vmm_acpi_seal(t);
	return len;
}

static uint32_t vmm_acpi_fadt(uint8_t *t)
{
	vmm_acpi_header(t, "FACP", FADT_SIZE, FADT_REV);
	/* Both the 32-bit and the X_ fields, with the same values: ACPICA
	 * warns when both are set and differ, and older OSes read only the
	 * 32-bit ones. */
	st32(t + FADT_FIRMWARE_CTRL, (uint32_t)VMM_ACPI_FACS);
	st32(t + FADT_DSDT, (uint32_t)VMM_ACPI_DSDT);
	st64(t + FADT_X_FIRMWARE_CTRL, VMM_ACPI_FACS);
	st64(t + FADT_X_DSDT, VMM_ACPI_DSDT);
	t[FADT_PM_PROFILE] = 0;	/* unspecified */
	st16(t + FADT_SCI_INT, VMM_ACPI_SCI_IRQ);
	/* SMI_CMD 0: the machine is always in ACPI mode (SCI_EN reads 1),
	 * so the OS does no ACPI_ENABLE handshake. */
	st32(t + FADT_SMI_CMD, 0);
	st32(t + FADT_PM1A_EVT_BLK, VMM_ACPI_PM1_EVT_BLK);
	st32(t + FADT_PM1A_CNT_BLK, VMM_ACPI_PM1_CNT_BLK);
	t[FADT_PM1_EVT_LEN] = VMM_ACPI_PM1_EVT_LEN;
	t[FADT_PM1_CNT_LEN] = VMM_ACPI_PM1_CNT_LEN;
	vmm_acpi_gas_io(t + FADT_X_PM1A_EVT_BLK, 8 * VMM_ACPI_PM1_EVT_LEN,
			GAS_ACCESS_WORD, VMM_ACPI_PM1_EVT_BLK);
	vmm_acpi_gas_io(t + FADT_X_PM1A_CNT_BLK, 8 * VMM_ACPI_PM1_CNT_LEN,
			GAS_ACCESS_WORD, VMM_ACPI_PM1_CNT_BLK);
	/* No PM timer (optional since ACPI 5.0A), no GPE blocks, no PM2. */
	st16(t + FADT_P_LVL2_LAT, NO_C2_LATENCY);
	st16(t + FADT_P_LVL3_LAT, NO_C3_LATENCY);
	t[FADT_CENTURY] = 0x32;	/* RTC_CENTURY in rtc.h */
	st16(t + FADT_IAPC_BOOT_ARCH, BOOT_ARCH_LEGACY_DEVICES |
				      BOOT_ARCH_8042 |
				      BOOT_ARCH_VGA_NOT_PRESENT);
	st32(t + FADT_FLAGS, FADT_F_WBINVD | FADT_F_PROC_C1 |
			     FADT_F_SLP_BUTTON | FADT_F_FIX_RTC |
			     FADT_F_RESET_REG_SUP);
	vmm_acpi_gas_io(t + FADT_RESET_REG, 8, GAS_ACCESS_BYTE,
			VMM_ACPI_RESET_PORT);
	t[FADT_RESET_VALUE] = VMM_ACPI_RESET_VALUE;
	t[FADT_MINOR_VERSION] = FADT_MINOR;
	memcpy(t + FADT_HYPERVISOR_ID, VMM_ACPI_OEM_TABLE_ID, 8);
	vmm_acpi_seal(t);
	return FADT_SIZE;
}

/* The FACS has no checksum; the OS owns everything after the version. */
static uint32_t vmm_acpi_facs(uint8_t *t)
{
	memcpy(t, "FACS", 4);
	st32(t + FACS_LENGTH, FACS_SIZE);
	t[FACS_VERSION] = FACS_VER;
	return FACS_SIZE;
}

/*
 * DSDT body, in ASL:
 *
 *	Name (_S5, Package (4) { 5, 5, 0, 0 })
 *
 * The package gives SLP_TYP for PM1a_CNT and PM1b_CNT (there is no PM1b);
 * the other two elements are reserved. 5 is VMM_ACPI_SLP_TYP_S5.
 * Encoding: NameOp NameSeg PackageOp PkgLength NumElements elements, where
 * PkgLength (one byte below 64) counts itself and what follows, 5 is
 * BytePrefix 0x05 and 0 is ZeroOp.
 */
static const uint8_t vmm_acpi_dsdt_aml[] = {
	AML_NAME_OP, '_', 'S', '5', '_',
	AML_PACKAGE_OP, 8, 4,
	AML_BYTE_PREFIX, VMM_ACPI_SLP_TYP_S5,
	AML_BYTE_PREFIX, VMM_ACPI_SLP_TYP_S5,
	AML_ZERO_OP,
	AML_ZERO_OP,
};

_Static_assert(VMM_ACPI_DSDT + HDR_SIZE + sizeof(vmm_acpi_dsdt_aml) <=
		       VMM_ACPI_FREE, "DSDT overlaps");

static uint32_t vmm_acpi_dsdt(uint8_t *t)
{
	uint32_t len = HDR_SIZE + (uint32_t)sizeof(vmm_acpi_dsdt_aml);

	vmm_acpi_header(t, "DSDT", len, DSDT_REV);
	memcpy(t + HDR_SIZE, vmm_acpi_dsdt_aml, sizeof(vmm_acpi_dsdt_aml));
	vmm_acpi_seal(t);
	return len;
}

static uint8_t *vmm_acpi_madt_entry(uint8_t *p, uint8_t type, uint8_t len)
{
	p[0] = type;
	p[1] = len;
	return p + len;
}

/* An ISA IRQ that does not reach the IOAPIC pin of the same number, or
 * not with ISA's edge, active-high signalling. */
static uint8_t *vmm_acpi_madt_iso(uint8_t *p, uint8_t irq, uint32_t gsi,
				  uint16_t flags)
{
	p[2] = 0;	/* bus: ISA */
	p[3] = irq;
	st32(p + 4, gsi);
	st16(p + 8, flags);
	return vmm_acpi_madt_entry(p, MADT_T_ISO, 10);
}

/*
 * The MADT of an ncpus-vCPU machine: a Processor Local APIC per vCPU (ACPI
 * processor UID = APIC ID = vCPU id, enabled), the I/O APIC (ID 0, GSI
 * base 0), IRQ 0 (the PIT) on GSI 2 as on every PC since the IOAPIC's pin
 * 0 belongs to the 8259's output, the SCI level and active high (its line
 * in acpi_pm.c is asserted high while an event is pending), and LINT1 as
 * the NMI input of every processor.
 */
static uint32_t vmm_acpi_madt(uint8_t *t, unsigned ncpus)
{
	uint32_t len = (uint32_t)MADT_SIZE(ncpus);
	uint8_t *p = t + MADT_ENTRIES;

	vmm_acpi_header(t, "APIC", len, MADT_REV);
	st32(t + MADT_LAPIC_ADDR, MADT_LAPIC_BASE);
	st32(t + MADT_FLAGS, MADT_PCAT_COMPAT);
	for (unsigned i = 0; i < ncpus; i++) {
		p[2] = (uint8_t)i;	/* ACPI processor UID */
		p[3] = (uint8_t)i;	/* APIC ID */
		st32(p + 4, MADT_LAPIC_ENABLED);
		p = vmm_acpi_madt_entry(p, MADT_T_LAPIC, 8);
	}
	p[2] = VMM_ACPI_IOAPIC_ID;
	p[3] = 0;
	st32(p + 4, (uint32_t)VMM_ACPI_IOAPIC_ADDR);
	st32(p + 8, 0);	/* GSI base */
	p = vmm_acpi_madt_entry(p, MADT_T_IOAPIC, 12);
	p = vmm_acpi_madt_iso(p, 0, VMM_ACPI_PIT_GSI, MPS_INTI_CONFORMS);
	p = vmm_acpi_madt_iso(p, VMM_ACPI_SCI_IRQ, VMM_ACPI_SCI_IRQ,
			      MPS_INTI_LEVEL | MPS_INTI_HIGH);
	p[2] = MADT_ALL_PROCESSORS;
	st16(p + 3, MPS_INTI_CONFORMS);
	p[5] = 1;	/* LINT1 */
	p = vmm_acpi_madt_entry(p, MADT_T_LAPIC_NMI, 6);
	vmm_acpi_seal(t);
	return (uint32_t)(p - t);
}

int vmm_acpi_build(uint8_t *ram, uint64_t ram_size,
		   struct vmm_acpi_info *info, struct vx_err *err)
{
	return vmm_acpi_build_smp(ram, ram_size, 0, info, err);
}

int vmm_acpi_build_smp(uint8_t *ram, uint64_t ram_size, unsigned ncpus,
		       struct vmm_acpi_info *info, struct vx_err *err)
{
	size_t ntables = ncpus ? 2 : 1;
	struct vmm_acpi_info in = {
		.rsdp = VMM_ACPI_RSDP, .rsdt = VMM_ACPI_RSDT,
		.xsdt = VMM_ACPI_XSDT, .fadt = VMM_ACPI_FADT,
		.facs = VMM_ACPI_FACS, .dsdt = VMM_ACPI_DSDT,
	};

	if (!ram)
		return vx_err_set(err, -EINVAL, "acpi: no guest RAM");
	if (ram_size < VMM_ACPI_BASE + VMM_ACPI_SIZE)
		return vx_err_set(err, -ENOSPC,
				  "acpi: RAM ends at 0x%llx, the tables need 0x%llx-0x%llx",
				  (unsigned long long)ram_size,
				  (unsigned long long)VMM_ACPI_BASE,
				  (unsigned long long)(VMM_ACPI_BASE + VMM_ACPI_SIZE));
	if (ncpus > VMM_ACPI_MAX_CPUS)
		return vx_err_set(err, -EINVAL, "acpi: %u CPUs, the MADT describes at most %u",
				  ncpus, VMM_ACPI_MAX_CPUS);
	memset(ram + VMM_ACPI_BASE, 0, VMM_ACPI_SIZE);
	in.rsdt_len = vmm_acpi_sdt(ram + VMM_ACPI_RSDT, "RSDT", RSDT_REV, 4, ntables);
	in.xsdt_len = vmm_acpi_sdt(ram + VMM_ACPI_XSDT, "XSDT", XSDT_REV, 8, ntables);
	if (ncpus) {
		in.madt = VMM_ACPI_MADT;
		in.madt_len = vmm_acpi_madt(ram + VMM_ACPI_MADT, ncpus);
	}
	in.fadt_len = vmm_acpi_fadt(ram + VMM_ACPI_FADT);
	in.facs_len = vmm_acpi_facs(ram + VMM_ACPI_FACS);
	in.dsdt_len = vmm_acpi_dsdt(ram + VMM_ACPI_DSDT);
	vmm_acpi_rsdp(ram + VMM_ACPI_RSDP);
	if (info)
		*info = in;
	return 0;
}

int vmm_acpi_set_boot_rsdp(uint8_t *ram, uint64_t ram_size,
			   uint64_t boot_params, struct vx_err *err)
{
	if (!ram || boot_params >= ram_size ||
	    ram_size - boot_params < 0x1000)
		return vx_err_set(err, -EINVAL,
				  "acpi: boot_params at 0x%llx is not in RAM",
				  (unsigned long long)boot_params);
	st64(ram + boot_params + VMM_BOOT_PARAMS_ACPI_RSDP, VMM_ACPI_RSDP);
	return 0;
}
