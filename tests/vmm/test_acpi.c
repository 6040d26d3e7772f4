/* Unit tests for vmm/acpi.c (the tables, read back as Linux's ACPICA reads
 * them) and vmm/acpi_pm.c (the PM1 ports, driven as ACPICA drives them). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/acpi.h"
#include "vmm/acpi_pm.h"
#include "vmm/boot_linux.h"
#include "vmm/bus.h"
#include "tests/vmm/pio_fixture.h"

#define RAM_SIZE	(2u << 20)

static uint16_t ld16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t ld32(const uint8_t *p)
{
	return (uint32_t)ld16(p) | (uint32_t)ld16(p + 2) << 16;
}

static uint64_t ld64(const uint8_t *p)
{
	return (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* Tables: a zeroed 2 MiB guest with the tables built in. */

struct tfx {
	uint8_t *ram;
	struct vmm_acpi_info info;
};

static int tfx_setup(void **state)
{
	static struct tfx f;

	f.ram = calloc(1, RAM_SIZE);
	if (!f.ram || vmm_acpi_build(f.ram, RAM_SIZE, &f.info, NULL))
		return -1;
	*state = &f;
	return 0;
}

static int tfx_teardown(void **state)
{
	free(((struct tfx *)*state)->ram);
	return 0;
}

/* A table with a standard header: signature, length as the header says
 * and as info says, checksum over that length, our OEM ID. */
static const uint8_t *table(struct tfx *f, uint64_t addr, const char *sig,
			    uint32_t len, uint8_t rev)
{
	const uint8_t *t = f->ram + addr;

	assert_true(addr >= VMM_ACPI_BASE &&
		    addr + len <= VMM_ACPI_BASE + VMM_ACPI_SIZE);
	assert_memory_equal(t, sig, 4);
	assert_int_equal(ld32(t + 4), len);
	assert_int_equal(t[8], rev);
	assert_int_equal(sum(t, len), 0);
	assert_memory_equal(t + 10, "VMXCOR", 6);
	assert_memory_equal(t + 16, "VMXCORE ", 8);
	return t;
}

static void acpi_tables_checksums_and_lengths(void **state)
{
	struct tfx *f = *state;
	const uint8_t *r = f->ram + f->info.rsdp, *facs;

	assert_int_equal(f->info.rsdp, VMM_ACPI_RSDP);
	assert_int_equal(r[15], 2);
	assert_int_equal(sum(r, 20), 0);
	assert_int_equal(ld32(r + 20), 36);
	assert_int_equal(sum(r, 36), 0);
	assert_memory_equal(r + 9, "VMXCOR", 6);
	table(f, f->info.rsdt, "RSDT", f->info.rsdt_len, 1);
	table(f, f->info.xsdt, "XSDT", f->info.xsdt_len, 1);
	table(f, f->info.fadt, "FACP", f->info.fadt_len, 6);
	table(f, f->info.dsdt, "DSDT", f->info.dsdt_len, 2);
	assert_int_equal(f->info.rsdt_len, 36 + 4);
	assert_int_equal(f->info.xsdt_len, 36 + 8);
	assert_int_equal(f->info.fadt_len, 276);
	/* The FACS has no header checksum; 64 bytes, 64-byte aligned. */
	facs = f->ram + f->info.facs;
	assert_memory_equal(facs, "FACS", 4);
	assert_int_equal(ld32(facs + 4), 64);
	assert_int_equal(f->info.facs_len, 64);
	assert_int_equal(f->info.facs % 64, 0);
	assert_int_equal(facs[32], 2);
	/* Nothing written past the area. */
	assert_true(f->info.dsdt + f->info.dsdt_len <= VMM_ACPI_FREE);
}

/*
 * ACPICA's acpi_tb_find_root_pointer, as Linux runs it when
 * boot_params.acpi_rsdp_addr is 0: the EBDA (segment at 0x40e) if it
 * points above 0x400, then 0xe0000-0xfffff, 16-byte steps; a hit has the
 * signature, a valid 20-byte checksum and, for revision 2 and later, a
 * valid checksum over its length.
 */
static uint64_t linux_scan(const uint8_t *ram, uint64_t base, uint64_t len)
{
	uint64_t a;

	for (a = base; a < base + len; a += 16) {
		const uint8_t *p = ram + a;

		if (memcmp(p, "RSD PTR ", 8) != 0 || sum(p, 20) != 0)
			continue;
		if (p[15] >= 2 && sum(p, ld32(p + 20)) != 0)
			continue;
		return a;
	}
	return 0;
}

static void acpi_rsdp_found_by_linux_scan(void **state)
{
	struct tfx *f = *state;
	uint64_t ebda = (uint64_t)ld16(f->ram + 0x40e) << 4;

	assert_true(ebda <= 0x400);	/* no EBDA: the scan skips it */
	assert_int_equal(linux_scan(f->ram, 0xe0000, 0x20000), VMM_ACPI_RSDP);
	/* A broken extended checksum makes Linux skip it. */
	f->ram[VMM_ACPI_RSDP + 33] ^= 1;
	assert_int_equal(linux_scan(f->ram, 0xe0000, 0x20000), 0);
}

static void acpi_root_tables_point_at_fadt(void **state)
{
	struct tfx *f = *state;
	const uint8_t *r = f->ram + f->info.rsdp;
	const uint8_t *x = f->ram + ld64(r + 24), *rs = f->ram + ld32(r + 16);
	uint32_t i, n;

	assert_int_equal(ld64(r + 24), f->info.xsdt);
	assert_int_equal(ld32(r + 16), f->info.rsdt);
	n = (ld32(x + 4) - 36) / 8;
	assert_int_equal(n, 1);
	for (i = 0; i < n; i++) {
		uint64_t a = ld64(x + 36 + 8 * i);

		assert_true(a < RAM_SIZE);
		table(f, a, "FACP", ld32(f->ram + a + 4), 6);
	}
	n = (ld32(rs + 4) - 36) / 4;
	assert_int_equal(n, 1);
	assert_int_equal(ld32(rs + 36), ld64(x + 36));
}

/* A "register" GAS in SystemIO. */
static void check_gas(const uint8_t *g, unsigned bits, uint64_t port)
{
	assert_int_equal(g[0], 1);
	assert_int_equal(g[1], bits);
	assert_int_equal(g[2], 0);
	assert_int_equal(ld64(g + 4), port);
}

static void acpi_fadt_fields(void **state)
{
	struct tfx *f = *state;
	const uint8_t *t = f->ram + f->info.fadt;
	uint32_t flags = ld32(t + 112);
	uint16_t boot = ld16(t + 109);

	assert_int_equal(ld32(t + 36), VMM_ACPI_FACS);
	assert_int_equal(ld32(t + 40), VMM_ACPI_DSDT);
	assert_int_equal(ld64(t + 132), VMM_ACPI_FACS);
	assert_int_equal(ld64(t + 140), VMM_ACPI_DSDT);
	table(f, ld64(t + 140), "DSDT", f->info.dsdt_len, 2);
	assert_int_equal(ld16(t + 46), 9);		/* SCI_INT */
	assert_int_equal(ld32(t + 48), 0);		/* SMI_CMD */
	assert_int_equal(ld32(t + 56), 0x600);		/* PM1a_EVT_BLK */
	assert_int_equal(ld32(t + 60), 0);		/* no PM1b */
	assert_int_equal(ld32(t + 64), 0x604);		/* PM1a_CNT_BLK */
	assert_int_equal(ld32(t + 76), 0);		/* no PM timer */
	assert_int_equal(ld32(t + 80), 0);		/* no GPE0 */
	assert_int_equal(t[88], 4);			/* PM1_EVT_LEN */
	assert_int_equal(t[89], 2);			/* PM1_CNT_LEN */
	assert_int_equal(t[91], 0);			/* PM_TMR_LEN */
	assert_int_equal(t[108], 0x32);			/* CENTURY */
	check_gas(t + 148, 32, 0x600);			/* X_PM1a_EVT_BLK */
	check_gas(t + 172, 16, 0x604);			/* X_PM1a_CNT_BLK */
	assert_int_equal(ld64(t + 208 + 4), 0);		/* X_PM_TMR_BLK */
	/* IAPC_BOOT_ARCH: legacy devices, 8042, no VGA. */
	assert_int_equal(boot, 0x0007);
	assert_true(flags & (1u << 10));		/* RESET_REG_SUP */
	assert_false(flags & (1u << 20));		/* HW_REDUCED_ACPI */
	assert_false(flags & (1u << 4));		/* fixed power button */
	assert_true(flags & (1u << 5));			/* no sleep button */
	check_gas(t + 116, 8, VMM_ACPI_RESET_PORT);	/* RESET_REG */
	assert_int_equal(t[128], 0x06);			/* RESET_VALUE */
	assert_int_equal(VMM_ACPI_RESET_PORT, 0x608);
}

/* AML PkgLength: bits 7:6 of the lead byte count the bytes that follow. */
static uint32_t aml_pkglen(const uint8_t **p)
{
	unsigned n = (*p)[0] >> 6, i;
	uint32_t len;

	if (n == 0) {
		len = (*p)[0] & 0x3f;
	} else {
		len = (*p)[0] & 0x0f;
		for (i = 0; i < n; i++)
			len |= (uint32_t)(*p)[1 + i] << (4 + 8 * i);
	}
	*p += 1 + n;
	return len;
}

/* A ComputationalData integer: ZeroOp, OneOp, OnesOp or a prefix. */
static uint64_t aml_integer(const uint8_t **p)
{
	const uint8_t *q = *p;

	switch (q[0]) {
	case 0x00: *p += 1; return 0;
	case 0x01: *p += 1; return 1;
	case 0xff: *p += 1; return UINT64_MAX;
	case 0x0a: *p += 2; return q[1];
	case 0x0b: *p += 3; return ld16(q + 1);
	case 0x0c: *p += 5; return ld32(q + 1);
	case 0x0e: *p += 9; return ld64(q + 1);
	default:
		fail_msg("AML: opcode 0x%02x is not an integer", q[0]);
		return 0;
	}
}

static void acpi_dsdt_is_s5_package(void **state)
{
	struct tfx *f = *state;
	const uint8_t *t = f->ram + f->info.dsdt, *p = t + 36, *pkg;
	const uint8_t *end = t + f->info.dsdt_len;
	static const uint64_t want[4] = { 5, 5, 0, 0 };
	uint32_t len;
	unsigned i, n;

	assert_int_equal(*p++, 0x08);			/* NameOp */
	assert_memory_equal(p, "_S5_", 4);		/* NameSeg */
	p += 4;
	assert_int_equal(*p++, 0x12);			/* PackageOp */
	pkg = p;
	len = aml_pkglen(&p);
	assert_true(pkg + len == end);			/* the package ends the table */
	n = *p++;					/* NumElements */
	assert_int_equal(n, 4);
	for (i = 0; i < n; i++)
		assert_true(aml_integer(&p) == want[i]);
	assert_true(p == end);
	assert_int_equal(want[0], VMM_ACPI_SLP_TYP_S5);
}

static void acpi_boot_params_rsdp(void **state)
{
	struct tfx *f = *state;
	struct vx_err err;

	assert_int_equal(vmm_acpi_set_boot_rsdp(f->ram, RAM_SIZE,
						VMM_BOOT_ZERO_PAGE, &err), 0);
	assert_int_equal(ld64(f->ram + VMM_BOOT_ZERO_PAGE + 0x070),
			 VMM_ACPI_RSDP);
	assert_int_equal(vmm_acpi_set_boot_rsdp(f->ram, RAM_SIZE,
						RAM_SIZE - 0x800, &err),
			 -EINVAL);
	assert_int_equal(vmm_acpi_set_boot_rsdp(f->ram, RAM_SIZE, UINT64_MAX,
						&err), -EINVAL);
}

static void acpi_build_refuses_small_ram(void **state)
{
	struct tfx *f = *state;
	struct vx_err err;

	assert_int_equal(vmm_acpi_build(f->ram, 0xe0fff, NULL, &err), -ENOSPC);
	assert_non_null(strstr(err.msg, "0xe0fff"));
	assert_int_equal(vmm_acpi_build(NULL, RAM_SIZE, NULL, &err), -EINVAL);
	assert_int_equal(vmm_acpi_build(f->ram, 0xe1000, NULL, &err), 0);
}

/* The SMP build: a 2-vCPU machine with its MADT. */

static int sfx_setup(void **state)
{
	static struct tfx f;

	f.ram = calloc(1, RAM_SIZE);
	if (!f.ram || vmm_acpi_build_smp(f.ram, RAM_SIZE, 2, &f.info, NULL))
		return -1;
	*state = &f;
	return 0;
}

static void acpi_no_madt_without_cpus(void **state)
{
	struct tfx *f = *state;

	assert_int_equal(f->info.madt, 0);
	assert_int_equal(f->info.madt_len, 0);
	assert_memory_not_equal(f->ram + VMM_ACPI_MADT, "APIC", 4);
}

static void acpi_smp_root_tables_list_fadt_and_madt(void **state)
{
	struct tfx *f = *state;
	const uint8_t *rsdt, *xsdt;

	assert_int_equal(f->info.madt, VMM_ACPI_MADT);
	rsdt = table(f, f->info.rsdt, "RSDT", f->info.rsdt_len, 1);
	xsdt = table(f, f->info.xsdt, "XSDT", f->info.xsdt_len, 1);
	assert_int_equal(f->info.rsdt_len, 36 + 2 * 4);
	assert_int_equal(f->info.xsdt_len, 36 + 2 * 8);
	assert_int_equal(ld32(rsdt + 36), f->info.fadt);
	assert_int_equal(ld32(rsdt + 40), f->info.madt);
	assert_int_equal(ld64(xsdt + 36), f->info.fadt);
	assert_int_equal(ld64(xsdt + 44), f->info.madt);
	table(f, f->info.fadt, "FACP", f->info.fadt_len, 6);
}

/* Walked as Linux's acpi_table_parse_madt walks it: type, length, body. */
static void acpi_smp_madt_entries(void **state)
{
	struct tfx *f = *state;
	const uint8_t *t = table(f, f->info.madt, "APIC", f->info.madt_len, 5);
	const uint8_t *p = t + 44, *end = t + f->info.madt_len;
	unsigned lapics = 0, ioapics = 0, isos = 0, nmis = 0;

	assert_int_equal(ld32(t + 36), 0xfee00000);
	assert_int_equal(ld32(t + 40), 1);		/* PCAT_COMPAT */
	while (p < end) {
		assert_true(p[1] >= 2 && p + p[1] <= end);
		switch (p[0]) {
		case 0:
			assert_int_equal(p[1], 8);
			assert_int_equal(p[2], lapics);		/* UID */
			assert_int_equal(p[3], lapics);		/* APIC ID */
			assert_int_equal(ld32(p + 4), 1);	/* enabled */
			lapics++;
			break;
		case 1:
			assert_int_equal(p[1], 12);
			assert_int_equal(p[2], VMM_ACPI_IOAPIC_ID);
			assert_int_equal(ld32(p + 4), 0xfec00000);
			assert_int_equal(ld32(p + 8), 0);	/* GSI base */
			ioapics++;
			break;
		case 2:
			assert_int_equal(p[1], 10);
			assert_int_equal(p[2], 0);		/* ISA */
			if (p[3] == 0) {
				assert_int_equal(ld32(p + 4), 2);
				assert_int_equal(ld16(p + 8), 0);
			} else {
				assert_int_equal(p[3], VMM_ACPI_SCI_IRQ);
				assert_int_equal(ld32(p + 4), VMM_ACPI_SCI_IRQ);
				assert_int_equal(ld16(p + 8), 0xd);	/* level, high */
			}
			isos++;
			break;
		case 4:
			assert_int_equal(p[1], 6);
			assert_int_equal(p[2], 0xff);		/* all processors */
			assert_int_equal(p[5], 1);		/* LINT1 */
			nmis++;
			break;
		default:
			fail_msg("MADT entry type %u", p[0]);
		}
		p += p[1];
	}
	assert_true(p == end);
	assert_int_equal(lapics, 2);
	assert_int_equal(ioapics, 1);
	assert_int_equal(isos, 2);
	assert_int_equal(nmis, 1);
	assert_int_equal(vmm_acpi_isa_gsi(0), 2);
	assert_int_equal(vmm_acpi_isa_gsi(4), 4);
}

static void acpi_smp_cpu_count_bounds(void **state)
{
	struct tfx *f = *state;
	struct vmm_acpi_info info;
	struct vx_err err;

	assert_int_equal(vmm_acpi_build_smp(f->ram, RAM_SIZE, VMM_ACPI_MAX_CPUS + 1, &info, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "255 CPUs"));
	assert_int_equal(vmm_acpi_build_smp(f->ram, RAM_SIZE, VMM_ACPI_MAX_CPUS, &info, &err), 0);
	assert_int_equal(sum(f->ram + info.madt, info.madt_len), 0);
	assert_true(info.madt + info.madt_len <= VMM_ACPI_BASE + VMM_ACPI_SIZE);
	assert_int_equal(f->ram[info.madt + 44 + 8 * 253 + 3], 253);
	assert_int_equal(vmm_acpi_build_smp(f->ram, RAM_SIZE, 1, &info, &err), 0);
	assert_int_equal(info.madt_len, 44 + 8 + 12 + 20 + 6);
}

static int run(const char *dir, const char *cmd)
{
	char buf[640];

	snprintf(buf, sizeof(buf), "cd '%s' && %s >>log 2>&1", dir, cmd);
	return system(buf);
}

static void write_file(const char *dir, const char *name, const uint8_t *p,
		       size_t len)
{
	char path[640];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* Whether an iasl log or listing in dir names a problem: iasl exits 0
 * on a bad checksum, saying so only in its output. */
static int iasl_complains(const char *dir, const char *name)
{
	static const char *const bad[] = { "Error", "Warning", "Incorrect",
					   "Invalid", "does not contain" };
	char path[640], line[512];
	FILE *fp;
	size_t i;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp)) {
		if (strstr(line, " 0 Errors, 0 Warnings"))
			continue;
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if (strstr(line, bad[i])) {
				print_message("# iasl %s: %s", name, line);
				n++;
				break;
			}
	}
	fclose(fp);
	return n;
}

/*
 * iasl (acpica-tools) disassembles every table without complaint, and the
 * DSDT it disassembles compiles back to the same AML. Skipped without it.
 */
static void acpi_iasl_accepts_tables(void **state)
{
	struct tfx *f = *state;
	char dir[] = "/tmp/vmm-acpi-XXXXXX", cmd[300];
	static const char *const names[] = { "rsdt", "xsdt", "facp", "facs",
					     "dsdt" };
	const uint64_t addr[] = { f->info.rsdt, f->info.xsdt, f->info.fadt,
				  f->info.facs, f->info.dsdt };
	const uint32_t len[] = { f->info.rsdt_len, f->info.xsdt_len,
				 f->info.fadt_len, f->info.facs_len,
				 f->info.dsdt_len };
	uint8_t aml[256];
	FILE *fp;
	size_t i, n;

	if (system("command -v iasl >/dev/null 2>&1") != 0) {
		print_message("SKIP: iasl not installed (package acpica-tools)\n");
		skip();
	}
	assert_non_null(mkdtemp(dir));
	for (i = 0; i < 5; i++) {
		snprintf(cmd, sizeof(cmd), "%s.dat", names[i]);
		write_file(dir, cmd, f->ram + addr[i], len[i]);
		snprintf(cmd, sizeof(cmd), "iasl -d %s.dat", names[i]);
		assert_int_equal(run(dir, cmd), 0);
		snprintf(cmd, sizeof(cmd), "%s.dsl", names[i]);
		assert_int_equal(iasl_complains(dir, cmd), 0);
	}
	/* Recompile the disassembled DSDT; compare the AML after the header
	 * (the compiler writes its own creator fields and checksum). */
	assert_int_equal(run(dir, "iasl -p re dsdt.dsl"), 0);
	assert_int_equal(iasl_complains(dir, "log"), 0);
	snprintf(cmd, sizeof(cmd), "%s/re.aml", dir);
	fp = fopen(cmd, "rb");
	assert_non_null(fp);
	n = fread(aml, 1, sizeof(aml), fp);
	fclose(fp);
	assert_int_equal(n, f->info.dsdt_len);
	assert_memory_equal(aml + 36, f->ram + f->info.dsdt + 36, n - 36);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* The SMP build's root tables and MADT disassemble without complaint, and
 * iasl reads the entries we meant. */
static void acpi_smp_iasl_accepts_madt(void **state)
{
	struct tfx *f = *state;
	char dir[] = "/tmp/vmm-acpi-XXXXXX", name[64], cmd[700];
	static const char *const names[] = { "rsdt", "xsdt", "apic" };
	const uint64_t addr[] = { f->info.rsdt, f->info.xsdt, f->info.madt };
	const uint32_t len[] = { f->info.rsdt_len, f->info.xsdt_len, f->info.madt_len };
	size_t i;

	if (system("command -v iasl >/dev/null 2>&1") != 0) {
		print_message("SKIP: iasl not installed (package acpica-tools)\n");
		skip();
	}
	assert_non_null(mkdtemp(dir));
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "%s.dat", names[i]);
		write_file(dir, name, f->ram + addr[i], len[i]);
		snprintf(name, sizeof(name), "iasl -d %s.dat", names[i]);
		assert_int_equal(run(dir, name), 0);
		snprintf(name, sizeof(name), "%s.dsl", names[i]);
		assert_int_equal(iasl_complains(dir, name), 0);
	}
	snprintf(cmd, sizeof(cmd), "grep -c 'Subtable Type : 00 \\[Processor Local APIC\\]' '%s/apic.dsl' | grep -qx 2 && "
		 "grep -q 'Interrupt Source Override' '%s/apic.dsl' && grep -q 'Address : FEC00000' '%s/apic.dsl'",
		 dir, dir, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* The PM block on a port bus. */

struct pfx {
	struct pio_fixture io;	/* first: pio_fixture_teardown */
	struct vmm_acpi_pm pm;
	int level, raises, poweroffs, resets;
};

static void pfx_set_irq(void *opaque, int level)
{
	struct pfx *f = opaque;

	assert_int_not_equal(f->level, level);	/* only changes are reported */
	f->level = level;
	f->raises += level;
}

static void pfx_poweroff(void *opaque)
{
	((struct pfx *)opaque)->poweroffs++;
}

static void pfx_reset(void *opaque)
{
	((struct pfx *)opaque)->resets++;
}

static int pfx_setup(void **state)
{
	static struct pfx f;
	struct vmm_acpi_pm_cb cb = { pfx_set_irq, pfx_poweroff, pfx_reset, &f };

	memset(&f, 0, sizeof(f));
	pio_fixture_init(&f.io, 0, 0);
	vmm_acpi_pm_init(&f.pm, &cb);
	if (vmm_acpi_pm_register(&f.pm, &f.io.bus, NULL))
		return -1;
	*state = &f;
	return 0;
}

static void pm_power_button_needs_enable(void **state)
{
	struct pfx *f = *state;

	vmm_acpi_press_power_button(&f->pm);
	assert_int_equal(inw(&f->io, 0x600), ACPI_PM1_PWRBTN);
	assert_int_equal(f->level, 0);
	/* ACPICA clears stale status at boot, then the button driver sets
	 * PWRBTN_EN (read-modify-write) and checks that it stuck. */
	outw(&f->io, 0x600, 0xffff);
	assert_int_equal(inw(&f->io, 0x600), 0);
	outw(&f->io, 0x602, inw(&f->io, 0x602) | ACPI_PM1_PWRBTN);
	assert_int_equal(inw(&f->io, 0x602), ACPI_PM1_PWRBTN);
	assert_int_equal(f->level, 0);
	vmm_acpi_press_power_button(&f->pm);
	assert_int_equal(f->level, 1);
	assert_int_equal(f->raises, 1);
	/* The SCI handler: STS & EN, then write 1 to clear the bit. */
	assert_int_equal(inw(&f->io, 0x600) & inw(&f->io, 0x602), ACPI_PM1_PWRBTN);
	outw(&f->io, 0x600, 0);			/* writing 0 clears nothing */
	assert_int_equal(f->level, 1);
	outw(&f->io, 0x600, ACPI_PM1_PWRBTN);
	assert_int_equal(inw(&f->io, 0x600), 0);
	assert_int_equal(f->level, 0);
	/* Enabling with the status already set raises the line at once;
	 * disabling lowers it with the status still set. */
	vmm_acpi_press_power_button(&f->pm);
	outw(&f->io, 0x602, 0);
	assert_int_equal(f->level, 0);
	assert_int_equal(inw(&f->io, 0x600), ACPI_PM1_PWRBTN);
	outb(&f->io, 0x603, ACPI_PM1_PWRBTN >> 8);	/* byte access, high half */
	assert_int_equal(f->level, 1);
	outb(&f->io, 0x601, 0x01);
	assert_int_equal(f->level, 0);
}

static void pm_pm1_cnt_reads(void **state)
{
	struct pfx *f = *state;

	assert_int_equal(inw(&f->io, 0x604), ACPI_PM1_SCI_EN);	/* ACPI mode */
	outw(&f->io, 0x604, 0);
	assert_int_equal(inw(&f->io, 0x604), ACPI_PM1_SCI_EN);
	/* SLP_TYP holds; SLP_EN and GBL_RLS read 0. */
	outw(&f->io, 0x604, 3 << 10 | ACPI_PM1_GBL_RLS);
	assert_int_equal(inw(&f->io, 0x604), 3 << 10 | ACPI_PM1_SCI_EN);
	/* Reserved bytes and the write-only reset register read 0. */
	assert_int_equal(inw(&f->io, 0x606), 0);
	assert_int_equal(inl(&f->io, 0x608), 0);
	assert_int_equal(inl(&f->io, 0x60c), 0);
	/* Outside the block: nobody. */
	assert_int_equal(inb(&f->io, 0x610), 0xff);
	assert_int_equal(inb(&f->io, 0x5ff), 0xff);
}

/* acpi_hw_legacy_sleep: clear WAK_STS and all status, write SLP_TYP,
 * then SLP_TYP | SLP_EN, 16 bits each, keeping the other bits. */
static void linux_enter_sleep(struct pfx *f, unsigned typ)
{
	uint16_t cnt;

	outw(&f->io, 0x600, ACPI_PM1_WAK_STS);
	outw(&f->io, 0x600, 0x8731);
	cnt = inw(&f->io, 0x604);
	cnt &= (uint16_t)~(ACPI_PM1_SLP_TYP | ACPI_PM1_SLP_EN);
	cnt |= (uint16_t)(typ << 10);
	outw(&f->io, 0x604, cnt);
	outw(&f->io, 0x604, cnt | ACPI_PM1_SLP_EN);
}

static void pm_s5_powers_off(void **state)
{
	struct pfx *f = *state;

	linux_enter_sleep(f, 5);
	assert_int_equal(f->poweroffs, 1);
	assert_int_equal(f->resets, 0);
	/* SLP_TYP 5 without SLP_EN is only a value. */
	outw(&f->io, 0x604, 5 << 10);
	assert_int_equal(f->poweroffs, 1);
	/* A byte write of the high half does it too. */
	outb(&f->io, 0x605, (5 << 2) | 0x20);
	assert_int_equal(f->poweroffs, 2);
}

static void pm_other_sleep_types_wake_at_once(void **state)
{
	struct pfx *f = *state;
	unsigned typ;

	for (typ = 0; typ < 8; typ++) {
		if (typ == VMM_ACPI_SLP_TYP_S5)
			continue;
		linux_enter_sleep(f, typ);
		assert_int_equal(f->poweroffs, 0);
		/* ACPICA polls WAK_STS after S1-S3. */
		assert_int_equal(inw(&f->io, 0x600) & ACPI_PM1_WAK_STS,
				 ACPI_PM1_WAK_STS);
		assert_int_equal(f->level, 0);	/* wake status is no SCI */
	}
	outb(&f->io, 0x601, 0x80);
	assert_int_equal(inw(&f->io, 0x600), 0);
}

static void pm_reset_register(void **state)
{
	struct pfx *f = *state;

	/* acpi_reset: one 8-bit write of RESET_VALUE to RESET_REG. */
	outb(&f->io, VMM_ACPI_RESET_PORT, VMM_ACPI_RESET_VALUE);
	assert_int_equal(f->resets, 1);
	outb(&f->io, VMM_ACPI_RESET_PORT, 0x02);	/* SYS_RST alone: no reset */
	outb(&f->io, VMM_ACPI_RESET_PORT, 0x00);
	assert_int_equal(f->resets, 1);
	outb(&f->io, VMM_ACPI_RESET_PORT, 0x0e);	/* full reset */
	assert_int_equal(f->resets, 2);
	assert_int_equal(f->poweroffs, 0);
}

static void pm_without_callbacks(void **state)
{
	struct vmm_acpi_pm pm;
	struct vmm_bus bus;
	uint64_t v;

	(void)state;
	vmm_bus_init(&bus, VMM_BUS_PIO);
	vmm_acpi_pm_init(&pm, NULL);
	assert_int_equal(vmm_acpi_pm_register(&pm, &bus, NULL), 0);
	assert_int_equal(vmm_bus_write(&bus, 0x602, 2, ACPI_PM1_PWRBTN), 0);
	vmm_acpi_press_power_button(&pm);
	assert_int_equal(pm.s.sci_level, 1);
	assert_int_equal(vmm_bus_write(&bus, 0x604, 2, 0x3400), 0);
	assert_int_equal(vmm_bus_write(&bus, 0x608, 1, 0x06), 0);
	assert_int_equal(vmm_bus_read(&bus, 0x600, 2, &v), 0);
	assert_int_equal(v, ACPI_PM1_PWRBTN);
	/* The block claims 16 ports; a second device there is refused. */
	assert_int_equal(vmm_acpi_pm_register(&pm, &bus, NULL), -EEXIST);
	vmm_bus_destroy(&bus);
}

/* Every port around the block, every size, changing values, with button
 * presses between: nothing crashes and the SCI is always STS & EN. */
static void pm_garbage_is_harmless(void **state)
{
	struct pfx *f = *state;
	static const unsigned sizes[] = { 1, 2, 4 };
	uint32_t x = 7;
	unsigned port, s, round;
	uint64_t v;

	for (round = 0; round < 64; round++) {
		for (port = 0x5f8; port < 0x618; port++) {
			for (s = 0; s < 3; s++) {
				x = x * 1103515245u + 12345u;
				assert_int_equal(vmm_bus_read(&f->io.bus, port,
							      sizes[s], &v), 0);
				assert_int_equal(vmm_bus_write(&f->io.bus, port,
							       sizes[s], x >> 3), 0);
				if ((x >> 28) == 0)
					vmm_acpi_press_power_button(&f->pm);
				assert_int_equal(f->level,
						 (f->pm.s.sts & f->pm.s.en &
						  0x0721) != 0);
				assert_int_equal(f->pm.s.sci_level, f->level);
			}
		}
	}
	assert_true(f->poweroffs > 0);	/* the sweep did hit SLP_EN */
	assert_true(f->resets > 0);
}

#define TT(fn) cmocka_unit_test_setup_teardown(fn, tfx_setup, tfx_teardown)
#define TS(fn) cmocka_unit_test_setup_teardown(fn, sfx_setup, tfx_teardown)
#define TP(fn) cmocka_unit_test_setup_teardown(fn, pfx_setup, pio_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TT(acpi_tables_checksums_and_lengths),
		TT(acpi_rsdp_found_by_linux_scan),
		TT(acpi_root_tables_point_at_fadt),
		TT(acpi_fadt_fields),
		TT(acpi_dsdt_is_s5_package),
		TT(acpi_boot_params_rsdp),
		TT(acpi_build_refuses_small_ram),
		TT(acpi_iasl_accepts_tables),
		TT(acpi_no_madt_without_cpus),
		TS(acpi_smp_root_tables_list_fadt_and_madt),
		TS(acpi_smp_madt_entries),
		TS(acpi_smp_cpu_count_bounds),
		TS(acpi_smp_iasl_accepts_madt),
		TP(pm_power_button_needs_enable),
		TP(pm_pm1_cnt_reads),
		TP(pm_s5_powers_off),
		TP(pm_other_sleep_types_wake_at_once),
		TP(pm_reset_register),
		cmocka_unit_test(pm_without_callbacks),
		TP(pm_garbage_is_harmless),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
