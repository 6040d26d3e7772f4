/* Unit tests for vmm/mptable.c: the tables found and read back the way a
 * guest's MP parser (Linux's mpparse.c) finds and reads them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/mptable.h"

#define RAM_SIZE	(2u << 20)

static uint16_t ld16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t ld32(const uint8_t *p)
{
	return (uint32_t)ld16(p) | (uint32_t)ld16(p + 2) << 16;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

/* The floating pointer as a guest finds it: a 16-byte boundary in the BIOS area. */
static const uint8_t *find_fps(const uint8_t *ram)
{
	for (uint32_t a = 0xf0000; a < 0x100000; a += 16)
		if (!memcmp(ram + a, "_MP_", 4) && ram[a + 8] == 1 && !sum(ram + a, 16))
			return ram + a;
	return NULL;
}

/* The configuration table the floating pointer names, checked. */
static const uint8_t *config_table(const uint8_t *ram)
{
	const uint8_t *f = find_fps(ram), *t;

	assert_non_null(f);
	assert_int_equal(f[9], 4);	/* 1.4 */
	assert_int_equal(f[11], 0);	/* a table follows, no default configuration */
	t = ram + ld32(f + 4);
	assert_memory_equal(t, "PCMP", 4);
	assert_int_equal(t[6], 4);
	assert_int_equal(sum(t, ld16(t + 4)), 0);
	assert_int_equal(ld32(t + 36), 0xfee00000u);
	return t;
}

struct entries {
	const uint8_t *e[512];
	unsigned n;
};

/* Walks the entries by type as the spec sizes them; they must fill the table exactly. */
static void walk(const uint8_t *t, struct entries *out)
{
	const uint8_t *p = t + 44, *end = t + ld16(t + 4);
	int last_type = 0;

	out->n = 0;
	while (p < end) {
		assert_true(p[0] <= 4);
		assert_true(p[0] >= last_type);	/* sorted by type, as the spec asks */
		last_type = p[0];
		out->e[out->n++] = p;
		p += p[0] == 0 ? 20 : 8;
	}
	assert_ptr_equal(p, end);
	assert_int_equal(out->n, ld16(t + 34));
}

/* The I/O interrupt entry for (bus, bus_irq), or NULL. */
static const uint8_t *ioint(const struct entries *es, uint8_t bus, uint8_t bus_irq)
{
	for (unsigned i = 0; i < es->n; i++)
		if (es->e[i][0] == 3 && es->e[i][4] == bus && es->e[i][5] == bus_irq)
			return es->e[i];
	return NULL;
}

static uint8_t *ram_new(void)
{
	uint8_t *ram = calloc(1, RAM_SIZE);

	assert_non_null(ram);
	return ram;
}

static void mptable_describes_cpus_buses_and_ioapic(void **state)
{
	uint8_t *ram = ram_new();
	struct vx_err err = { 0 };
	struct entries es;
	unsigned procs = 0;

	(void)state;
	assert_int_equal(vmm_mptable_build(ram, RAM_SIZE, 3, NULL, 0, &err), 0);
	walk(config_table(ram), &es);
	for (unsigned i = 0; i < es.n; i++) {
		const uint8_t *e = es.e[i];

		if (e[0] == 0) {
			assert_int_equal(e[1], procs);		/* APIC ID = vCPU id */
			assert_int_equal(e[3], procs == 0 ? 3 : 1);	/* enabled, BSP first */
			procs++;
		} else if (e[0] == 1) {
			assert_true(!memcmp(e + 2, "PCI   ", 6) || !memcmp(e + 2, "ISA   ", 6));
		} else if (e[0] == 2) {
			assert_int_equal(e[1], 0);
			assert_int_equal(e[3] & 1, 1);
			assert_int_equal(ld32(e + 4), 0xfec00000u);
		}
	}
	assert_int_equal(procs, 3);
	free(ram);
}

static void mptable_routes_isa_irqs_like_the_madt(void **state)
{
	uint8_t *ram = ram_new();
	struct vx_err err = { 0 };
	struct entries es;
	const uint8_t *e;

	(void)state;
	assert_int_equal(vmm_mptable_build(ram, RAM_SIZE, 2, NULL, 0, &err), 0);
	walk(config_table(ram), &es);
	e = ioint(&es, 1, 0);			/* the PIT: pin 2 */
	assert_non_null(e);
	assert_int_equal(e[7], 2);
	assert_int_equal(ld16(e + 2), 0);	/* ISA's edge, active high */
	assert_null(ioint(&es, 1, 2));		/* the cascade has no pin */
	e = ioint(&es, 1, 9);			/* the SCI: level, active high */
	assert_non_null(e);
	assert_int_equal(ld16(e + 2), 0xd);
	assert_int_equal(e[7], 9);
	e = ioint(&es, 1, 4);			/* the UART: its own pin */
	assert_non_null(e);
	assert_int_equal(e[7], 4);
	free(ram);
}

static void mptable_gives_pci_intx_their_lines_not_isa(void **state)
{
	const struct vmm_mp_pci_irq pci[] = { { 3, 1, 10 }, { 4, 1, 11 } };
	uint8_t *ram = ram_new();
	struct vx_err err = { 0 };
	struct entries es;
	const uint8_t *e;
	unsigned lints = 0;

	(void)state;
	assert_int_equal(vmm_mptable_build(ram, RAM_SIZE, 2, pci, 2, &err), 0);
	walk(config_table(ram), &es);
	e = ioint(&es, 0, 3 << 2 | 0);		/* bus 0, slot 3, INTA# */
	assert_non_null(e);
	assert_int_equal(ld16(e + 2), 0);	/* PCI's level, active low */
	assert_int_equal(e[7], 10);
	e = ioint(&es, 0, 4 << 2 | 0);
	assert_non_null(e);
	assert_int_equal(e[7], 11);
	assert_null(ioint(&es, 1, 10));		/* no ISA claim on a PCI line */
	assert_null(ioint(&es, 1, 11));
	for (unsigned i = 0; i < es.n; i++)
		if (es.e[i][0] == 4) {
			assert_int_equal(es.e[i][6], 0xff);	/* every local APIC */
			assert_int_equal(es.e[i][7], es.e[i][1] == 3 ? 0 : 1);
			lints++;
		}
	assert_int_equal(lints, 2);
	free(ram);
}

static void mptable_refuses_bad_input_and_writes_nothing(void **state)
{
	const struct vmm_mp_pci_irq bad_pin = { 3, 5, 10 }, bad_line = { 3, 1, 2 },
				    bad_slot = { 32, 1, 10 };
	uint8_t *ram = ram_new();
	struct vx_err err = { 0 };

	(void)state;
	memset(ram + 0xf0000, 0xa5, 0x2000);
	assert_int_equal(vmm_mptable_build(ram, RAM_SIZE, 1, NULL, 0, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "1 CPUs"));
	assert_int_equal(vmm_mptable_build(ram, RAM_SIZE, 255, NULL, 0, &err), -EINVAL);
	assert_int_equal(vmm_mptable_build(ram, RAM_SIZE, 2, &bad_pin, 1, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "pin 5"));
	assert_int_equal(vmm_mptable_build(ram, RAM_SIZE, 2, &bad_line, 1, &err), -EINVAL);
	assert_int_equal(vmm_mptable_build(ram, RAM_SIZE, 2, &bad_slot, 1, &err), -EINVAL);
	assert_int_equal(vmm_mptable_build(ram, RAM_SIZE, 2, NULL, 33, &err), -EINVAL);
	assert_int_equal(vmm_mptable_build(ram, 0xf1000, 2, NULL, 0, &err), -ENOSPC);
	for (uint32_t a = 0xf0000; a < 0xf2000; a++)
		assert_int_equal(ram[a], 0xa5);
	free(ram);
}

static void mptable_fits_the_most_cpus(void **state)
{
	struct vmm_mp_pci_irq pci[32];
	uint8_t *ram = ram_new();
	struct vx_err err = { 0 };
	struct entries es;

	(void)state;
	for (unsigned i = 0; i < 32; i++)
		pci[i] = (struct vmm_mp_pci_irq){ (uint8_t)i, 1 + i % 4, 10 };
	assert_int_equal(vmm_mptable_build(ram, RAM_SIZE, 254, pci, 32, &err), 0);
	walk(config_table(ram), &es);
	assert_int_equal(es.n, 254 + 2 + 1 + 32 + 14 + 2);
	free(ram);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mptable_describes_cpus_buses_and_ioapic),
		cmocka_unit_test(mptable_routes_isa_irqs_like_the_madt),
		cmocka_unit_test(mptable_gives_pci_intx_their_lines_not_isa),
		cmocka_unit_test(mptable_refuses_bad_input_and_writes_nothing),
		cmocka_unit_test(mptable_fits_the_most_cpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
