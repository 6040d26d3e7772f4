/* Unit tests for vmm/ioapic.c: the registers as Linux's io_apic.c reads
 * and programs them, edge and level pins, remote IRR and EOI (broadcast,
 * and the edge-rewrite Linux uses on version 0x11), masks, and garbage on
 * every offset and index. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/bus.h"
#include "vmm/ioapic.h"

#define MAX_MSGS 64

struct fx {
	struct vmm_bus bus;
	struct vmm_ioapic io;
	struct vmm_ioapic_msg msgs[MAX_MSGS];
	int n;
};

static void fx_deliver(void *opaque, const struct vmm_ioapic_msg *msg)
{
	struct fx *f = opaque;

	if (f->n < MAX_MSGS)
		f->msgs[f->n] = *msg;
	f->n++;
}

static int fx_setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	vmm_bus_init(&f.bus, VMM_BUS_MMIO);
	vmm_ioapic_init(&f.io, fx_deliver, &f);
	if (vmm_ioapic_register(&f.io, &f.bus, NULL))
		return -1;
	*state = &f;
	return 0;
}

static int fx_teardown(void **state)
{
	vmm_bus_destroy(&((struct fx *)*state)->bus);
	return 0;
}

static uint32_t rd(struct fx *f, uint8_t index)
{
	uint64_t v = 0;

	assert_int_equal(vmm_bus_write(&f->bus, VMM_IOAPIC_BASE + VMM_IOAPIC_IOREGSEL, 4, index), 0);
	assert_int_equal(vmm_bus_read(&f->bus, VMM_IOAPIC_BASE + VMM_IOAPIC_IOWIN, 4, &v), 0);
	return (uint32_t)v;
}

static void wr(struct fx *f, uint8_t index, uint32_t val)
{
	assert_int_equal(vmm_bus_write(&f->bus, VMM_IOAPIC_BASE + VMM_IOAPIC_IOREGSEL, 4, index), 0);
	assert_int_equal(vmm_bus_write(&f->bus, VMM_IOAPIC_BASE + VMM_IOAPIC_IOWIN, 4, val), 0);
}

/* Linux's ioapic_write_entry: high dword first, then low. */
static void set_entry(struct fx *f, int pin, uint64_t e)
{
	wr(f, (uint8_t)(0x11 + 2 * pin), (uint32_t)(e >> 32));
	wr(f, (uint8_t)(0x10 + 2 * pin), (uint32_t)e);
}

static uint64_t get_entry(struct fx *f, int pin)
{
	return (uint64_t)rd(f, (uint8_t)(0x11 + 2 * pin)) << 32 | rd(f, (uint8_t)(0x10 + 2 * pin));
}

static void ioapic_reset_state_as_the_datasheet_says(void **state)
{
	struct fx *f = *state;

	assert_int_equal(rd(f, VMM_IOAPIC_REG_VER), 0x00170011);
	assert_int_equal(rd(f, VMM_IOAPIC_REG_ID), 0);
	assert_int_equal(rd(f, VMM_IOAPIC_REG_ARB), 0);
	for (int pin = 0; pin < VMM_IOAPIC_PINS; pin++)
		assert_int_equal(get_entry(f, pin), IOAPIC_RTE_MASKED);
	/* A line raised on a masked pin sends nothing. */
	vmm_ioapic_set_irq(&f->io, 4, 1);
	assert_int_equal(f->n, 0);
}

static void ioapic_id_holds_bits_27_to_24_only(void **state)
{
	struct fx *f = *state;

	wr(f, VMM_IOAPIC_REG_ID, 0xffffffff);
	assert_int_equal(rd(f, VMM_IOAPIC_REG_ID), 0x0f000000);
	assert_int_equal(rd(f, VMM_IOAPIC_REG_ARB), 0x0f000000);
	wr(f, VMM_IOAPIC_REG_ID, 0x02000000);	/* Linux: the MADT's ID */
	assert_int_equal(rd(f, VMM_IOAPIC_REG_ID), 0x02000000);
	wr(f, VMM_IOAPIC_REG_VER, 0);
	wr(f, VMM_IOAPIC_REG_ARB, 0);
	assert_int_equal(rd(f, VMM_IOAPIC_REG_VER), 0x00170011);
	assert_int_equal(rd(f, VMM_IOAPIC_REG_ARB), 0x02000000);
}

/* An ISA edge pin as Linux sets it up: fixed, physical to APIC 1. */
static void ioapic_edge_pin_sends_one_message_per_rising_edge(void **state)
{
	struct fx *f = *state;

	set_entry(f, 2, 1ull << 56 | 0x30);
	assert_int_equal(get_entry(f, 2), 1ull << 56 | 0x30);
	vmm_ioapic_set_irq(&f->io, 2, 1);
	vmm_ioapic_set_irq(&f->io, 2, 1);	/* no new edge */
	vmm_ioapic_set_irq(&f->io, 2, 0);
	vmm_ioapic_set_irq(&f->io, 2, 1);
	assert_int_equal(f->n, 2);
	assert_int_equal(f->msgs[0].vector, 0x30);
	assert_int_equal(f->msgs[0].delivery, VMM_IOAPIC_DM_FIXED);
	assert_int_equal(f->msgs[0].logical, 0);
	assert_int_equal(f->msgs[0].level, 0);
	assert_int_equal(f->msgs[0].dest, 1);
	assert_int_equal(f->msgs[0].pin, 2);
	/* No remote IRR in edge mode. */
	assert_int_equal(get_entry(f, 2) & IOAPIC_RTE_REMOTE_IRR, 0);
}

static void ioapic_edge_while_masked_is_lost(void **state)
{
	struct fx *f = *state;

	set_entry(f, 4, IOAPIC_RTE_MASKED | 0x41);
	vmm_ioapic_set_irq(&f->io, 4, 1);
	set_entry(f, 4, 0x41);	/* unmask with the line high: no edge */
	assert_int_equal(f->n, 0);
	vmm_ioapic_set_irq(&f->io, 4, 0);
	vmm_ioapic_set_irq(&f->io, 4, 1);
	assert_int_equal(f->n, 1);
}

/* Logical flat destination, lowest priority, as Linux's older modes use. */
static void ioapic_message_fields_follow_the_entry(void **state)
{
	struct fx *f = *state;

	set_entry(f, 23, 0xffull << 56 | IOAPIC_RTE_DEST_LOGICAL | IOAPIC_RTE_POLARITY_LOW |
			  (uint64_t)VMM_IOAPIC_DM_LOWEST << 8 | 0xef);
	vmm_ioapic_set_irq(&f->io, 23, 1);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->msgs[0].vector, 0xef);
	assert_int_equal(f->msgs[0].delivery, VMM_IOAPIC_DM_LOWEST);
	assert_int_equal(f->msgs[0].logical, 1);
	assert_int_equal(f->msgs[0].dest, 0xff);
	assert_int_equal(f->msgs[0].pin, 23);
	/* Polarity is kept for reading back, and inverts nothing. */
	assert_true(get_entry(f, 23) & IOAPIC_RTE_POLARITY_LOW);
}

static void ioapic_level_pin_waits_for_eoi_and_resends_if_still_asserted(void **state)
{
	struct fx *f = *state;

	set_entry(f, 9, IOAPIC_RTE_LEVEL | 0x39);
	vmm_ioapic_set_irq(&f->io, 9, 1);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->msgs[0].level, 1);
	assert_true(get_entry(f, 9) & IOAPIC_RTE_REMOTE_IRR);
	/* Re-asserting, or toggling, while remote IRR is set sends nothing. */
	vmm_ioapic_set_irq(&f->io, 9, 0);
	vmm_ioapic_set_irq(&f->io, 9, 1);
	assert_int_equal(f->n, 1);
	/* An EOI for another vector changes nothing. */
	vmm_ioapic_eoi(&f->io, 0x38);
	assert_int_equal(f->n, 1);
	assert_true(get_entry(f, 9) & IOAPIC_RTE_REMOTE_IRR);
	/* The EOI with the line still up: sent again. */
	vmm_ioapic_eoi(&f->io, 0x39);
	assert_int_equal(f->n, 2);
	assert_true(get_entry(f, 9) & IOAPIC_RTE_REMOTE_IRR);
	/* The device drops the line; the EOI ends it. */
	vmm_ioapic_set_irq(&f->io, 9, 0);
	vmm_ioapic_eoi(&f->io, 0x39);
	assert_int_equal(f->n, 2);
	assert_int_equal(get_entry(f, 9) & IOAPIC_RTE_REMOTE_IRR, 0);
}

/* arch/x86/kernel/apic/io_apic.c __eoi_ioapic_pin for version < 0x20:
 * mask and switch to edge, then write the level entry back. */
static void ioapic_edge_rewrite_clears_remote_irr_like_linux_eoi(void **state)
{
	struct fx *f = *state;
	uint64_t level = 3ull << 56 | IOAPIC_RTE_LEVEL | 0x51;

	set_entry(f, 10, level);
	vmm_ioapic_set_irq(&f->io, 10, 1);
	assert_int_equal(f->n, 1);
	set_entry(f, 10, (level | IOAPIC_RTE_MASKED) & ~IOAPIC_RTE_LEVEL);
	assert_int_equal(get_entry(f, 10) & IOAPIC_RTE_REMOTE_IRR, 0);
	assert_int_equal(f->n, 1);
	set_entry(f, 10, level);	/* still asserted: sent again */
	assert_int_equal(f->n, 2);
	assert_int_equal(f->msgs[1].dest, 3);
	vmm_ioapic_set_irq(&f->io, 10, 0);
	set_entry(f, 10, (level | IOAPIC_RTE_MASKED) & ~IOAPIC_RTE_LEVEL);
	set_entry(f, 10, level);
	assert_int_equal(f->n, 2);
}

static void ioapic_masked_level_pin_sends_on_unmask(void **state)
{
	struct fx *f = *state;

	set_entry(f, 11, IOAPIC_RTE_MASKED | IOAPIC_RTE_LEVEL | 0x61);
	vmm_ioapic_set_irq(&f->io, 11, 1);
	assert_int_equal(f->n, 0);
	set_entry(f, 11, IOAPIC_RTE_LEVEL | 0x61);
	assert_int_equal(f->n, 1);
}

static void ioapic_read_only_and_reserved_bits_stay(void **state)
{
	struct fx *f = *state;

	set_entry(f, 5, ~0ull);
	/* Delivery status, remote IRR and bits 55-17 do not stick. */
	assert_int_equal(get_entry(f, 5), IOAPIC_RTE_WRITABLE);
	set_entry(f, 5, IOAPIC_RTE_MASKED);
	assert_int_equal(get_entry(f, 5), IOAPIC_RTE_MASKED);
}

/* The direct registers: IOREGSEL reads back; byte reads see the dword. */
static void ioapic_direct_registers_and_access_sizes(void **state)
{
	struct fx *f = *state;
	uint64_t v = 0;

	assert_int_equal(vmm_bus_write(&f->bus, VMM_IOAPIC_BASE, 1, 0x01), 0);
	assert_int_equal(vmm_bus_read(&f->bus, VMM_IOAPIC_BASE, 4, &v), 0);
	assert_int_equal(v, 0x01);
	assert_int_equal(vmm_bus_read(&f->bus, VMM_IOAPIC_BASE + 0x12, 1, &v), 0);
	assert_int_equal(v, 0x17);	/* VER bits 23-16 */
	assert_int_equal(vmm_bus_read(&f->bus, VMM_IOAPIC_BASE + 0x10, 2, &v), 0);
	assert_int_equal(v, 0x0011);
	/* A narrow write to IOWIN is dropped. */
	wr(f, 0x10, 0x10020);
	assert_int_equal(vmm_bus_write(&f->bus, VMM_IOAPIC_BASE + 0x10, 1, 0x55), 0);
	assert_int_equal(rd(f, 0x10), 0x10020);
	/* Offsets other than IOREGSEL and IOWIN read 0. */
	assert_int_equal(vmm_bus_read(&f->bus, VMM_IOAPIC_BASE + 0x40, 4, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(vmm_bus_read(&f->bus, VMM_IOAPIC_BASE + 0xffc, 4, &v), 0);
	assert_int_equal(v, 0);
	/* An 8-byte read at IOREGSEL: IOREGSEL, then the dword at 0x04. */
	assert_int_equal(vmm_bus_write(&f->bus, VMM_IOAPIC_BASE, 4, 0x01), 0);
	assert_int_equal(vmm_bus_read(&f->bus, VMM_IOAPIC_BASE, 8, &v), 0);
	assert_int_equal(v, 0x01);
}

/* Indexes past the table read 0 and take no writes. */
static void ioapic_reserved_indexes_read_zero(void **state)
{
	struct fx *f = *state;

	for (unsigned i = 0x03; i < 0x10; i++) {
		wr(f, (uint8_t)i, 0xffffffff);
		assert_int_equal(rd(f, (uint8_t)i), 0);
	}
	for (unsigned i = 0x40; i < 0x100; i++) {
		wr(f, (uint8_t)i, 0xffffffff);
		assert_int_equal(rd(f, (uint8_t)i), 0);
	}
	for (int pin = 0; pin < VMM_IOAPIC_PINS; pin++)
		assert_int_equal(get_entry(f, pin), IOAPIC_RTE_MASKED);
	assert_int_equal(f->n, 0);
}

static void ioapic_bad_pins_are_ignored(void **state)
{
	struct fx *f = *state;

	for (int pin = 0; pin < VMM_IOAPIC_PINS; pin++)
		set_entry(f, pin, IOAPIC_RTE_LEVEL | 0x80);
	vmm_ioapic_set_irq(&f->io, -1, 1);
	vmm_ioapic_set_irq(&f->io, VMM_IOAPIC_PINS, 1);
	vmm_ioapic_set_irq(&f->io, 1000, 1);
	assert_int_equal(f->n, 0);
	assert_int_equal(f->io.lines, 0);
}

/* Random writes of every size at every offset, then random lines and EOIs:
 * nothing breaks, entries keep their read-only bits honest. */
static void ioapic_survives_garbage(void **state)
{
	struct fx *f = *state;
	static const unsigned sizes[] = { 1, 2, 4, 8 };

	srand(7);
	for (int i = 0; i < 200000; i++) {
		uint64_t off = (uint64_t)(rand() % 0x1000);
		unsigned size = sizes[rand() % 4];
		uint64_t v = (uint64_t)rand() << 33 ^ (uint64_t)rand();

		if (off + size > 0x1000)
			off = 0x1000 - size;
		if (rand() % 3 == 0)
			off &= 0x10;	/* mostly the registers that matter */
		if (rand() & 1)
			vmm_bus_write(&f->bus, VMM_IOAPIC_BASE + off, size, v);
		else
			vmm_bus_read(&f->bus, VMM_IOAPIC_BASE + off, size, &v);
		vmm_ioapic_set_irq(&f->io, rand() % 30 - 3, rand() & 1);
		if (rand() % 8 == 0)
			vmm_ioapic_eoi(&f->io, (uint8_t)rand());
	}
	for (int pin = 0; pin < VMM_IOAPIC_PINS; pin++) {
		uint64_t e = get_entry(f, pin);

		assert_int_equal(e & IOAPIC_RTE_DELIVS, 0);
		assert_int_equal(e & ~(IOAPIC_RTE_WRITABLE | IOAPIC_RTE_REMOTE_IRR), 0);
		if (!(e & IOAPIC_RTE_LEVEL))
			assert_int_equal(e & IOAPIC_RTE_REMOTE_IRR, 0);
	}
	assert_int_equal(rd(f, VMM_IOAPIC_REG_VER), 0x00170011);
	assert_int_equal(rd(f, VMM_IOAPIC_REG_ID) & ~0x0f000000u, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
		T(ioapic_reset_state_as_the_datasheet_says),
		T(ioapic_id_holds_bits_27_to_24_only),
		T(ioapic_edge_pin_sends_one_message_per_rising_edge),
		T(ioapic_edge_while_masked_is_lost),
		T(ioapic_message_fields_follow_the_entry),
		T(ioapic_level_pin_waits_for_eoi_and_resends_if_still_asserted),
		T(ioapic_edge_rewrite_clears_remote_irr_like_linux_eoi),
		T(ioapic_masked_level_pin_sends_on_unmask),
		T(ioapic_read_only_and_reserved_bits_stay),
		T(ioapic_direct_registers_and_access_sizes),
		T(ioapic_reserved_indexes_read_zero),
		T(ioapic_bad_pins_are_ignored),
		T(ioapic_survives_garbage),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
