/* Unit tests for driver/lapic.c, the local APIC emulation core.
 *
 * The unit is compiled into this program (it is kernel code with no library
 * of its own). Expected values are the architectural ones of the Intel SDM
 * Vol. 3A APIC chapter, written out by hand, never computed by the code
 * under test. Time is a fake nanosecond clock starting at T0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "driver/lapic.c"

#define T0	1000000000ull	/* "now" for tests that do not move time */

static struct lapic_fx fx;

static uint32_t rd_at(struct lapic *l, uint32_t off, uint64_t now)
{
	uint32_t v = 0xdeadbeef;

	assert_int_equal(lapic_mmio_read(l, off, &v, now), 0);
	return v;
}

static uint32_t rd(struct lapic *l, uint32_t off)
{
	return rd_at(l, off, T0);
}

/* MMIO write; returns the fx flags. */
static uint32_t wr_at(struct lapic *l, uint32_t off, uint32_t val, uint64_t now)
{
	assert_int_equal(lapic_mmio_write(l, off, val, now, &fx), 0);
	return fx.flags;
}

static uint32_t wr(struct lapic *l, uint32_t off, uint32_t val)
{
	return wr_at(l, off, val, T0);
}

/* ESR as software reads it: write, then read. */
static uint32_t esr(struct lapic *l)
{
	wr(l, LAPIC_REG_ESR, 0);
	return rd(l, LAPIC_REG_ESR);
}

static uint64_t msr_rd(struct lapic *l, uint32_t msr)
{
	uint64_t v = 0xdeadbeef;

	assert_int_equal(lapic_msr_read(l, msr, &v, T0), 0);
	return v;
}

static uint32_t msr_wr(struct lapic *l, uint32_t msr, uint64_t val)
{
	assert_int_equal(lapic_msr_write(l, msr, val, T0, &fx), 0);
	return fx.flags;
}

/* Power-on, then software-enable (SVR 0x1FF) the way an OS does. */
static void setup(struct lapic *l, uint32_t id)
{
	lapic_reset(l, id, id == 0);
	wr(l, LAPIC_REG_SVR, 0x1ff);
}

static void to_x2apic(struct lapic *l)
{
	assert_int_equal(lapic_set_base(l, l->apic_base | LAPIC_BASE_EXTD, 46, &fx), 0);
	assert_true(lapic_x2apic_mode(l));
}

static bool irr_has(const struct lapic *l, unsigned int v)
{
	return l->irr[v / 32] & (1u << (v % 32));
}

static bool isr_has(const struct lapic *l, unsigned int v)
{
	return l->isr[v / 32] & (1u << (v % 32));
}

static unsigned int irr_count(const struct lapic *l)
{
	unsigned int i, n = 0;

	for (i = 0; i < 8; i++)
		n += (unsigned int)__builtin_popcount(l->irr[i]);
	return n;
}

/* Registers */

static void reset_values(void **state)
{
	struct lapic l;
	uint32_t off;

	(void)state;
	lapic_reset(&l, 3, true);
	assert_int_equal(lapic_base_msr(&l), 0xfee00900ull);
	assert_int_equal(lapic_base_addr(&l), 0xfee00000ull);
	assert_true(lapic_hw_enabled(&l));
	assert_false(lapic_x2apic_mode(&l));
	assert_false(lapic_enabled(&l));
	assert_int_equal(rd(&l, 0x020), 0x03000000);	/* ID */
	assert_int_equal(rd(&l, 0x030), 0x00050014);	/* version, max LVT 5 */
	assert_int_equal(rd(&l, 0x080), 0);		/* TPR */
	assert_int_equal(rd(&l, 0x090), 0);		/* APR */
	assert_int_equal(rd(&l, 0x0a0), 0);		/* PPR */
	assert_int_equal(rd(&l, 0x0b0), 0);		/* EOI */
	assert_int_equal(rd(&l, 0x0d0), 0);		/* LDR */
	assert_int_equal(rd(&l, 0x0e0), 0xffffffff);	/* DFR */
	assert_int_equal(rd(&l, 0x0f0), 0x000000ff);	/* SVR */
	for (off = 0x100; off <= 0x270; off += 0x10)	/* ISR, TMR, IRR */
		assert_int_equal(rd(&l, off), 0);
	assert_int_equal(rd(&l, 0x280), 0);		/* ESR */
	assert_int_equal(rd(&l, 0x300), 0);		/* ICR */
	assert_int_equal(rd(&l, 0x310), 0);
	for (off = 0x320; off <= 0x370; off += 0x10)	/* LVTs */
		assert_int_equal(rd(&l, off), 0x00010000);
	assert_int_equal(rd(&l, 0x380), 0);		/* initial count */
	assert_int_equal(rd(&l, 0x390), 0);		/* current count */
	assert_int_equal(rd(&l, 0x3e0), 0);		/* divide config */
	assert_int_equal(lapic_timer_expiry(&l), 0);
	assert_int_equal(lapic_tsc_deadline_read(&l), 0);
	assert_int_equal(l.bus_ns_per_tick, 1);
	assert_int_equal(esr(&l), 0);			/* no access above was illegal */

	lapic_reset(&l, 0x1ab, false);
	assert_int_equal(lapic_base_msr(&l), 0xfee00800ull);
	assert_int_equal(rd(&l, 0x020), 0xab000000);	/* xAPIC shows 8 bits */

	/* Without CMCI 0x2F0 is reserved; with it, a seventh LVT and max LVT 6. */
	assert_int_equal(rd(&l, 0x2f0), 0);
	assert_int_equal(esr(&l), LAPIC_ESR_ILLEGAL_REGISTER);
	l.cmci = true;
	assert_int_equal(rd(&l, 0x030), 0x00060014);
	assert_int_equal(rd(&l, 0x2f0), 0x00010000);
	assert_int_equal(esr(&l), 0);
}

static void init_keeps_id_and_base(void **state)
{
	struct lapic l;

	(void)state;
	setup(&l, 2);
	wr(&l, LAPIC_REG_ID, 0x07000000);
	wr(&l, LAPIC_REG_TPR, 0x30);
	wr(&l, LAPIC_REG_LDR, 0x04000000);
	wr(&l, LAPIC_REG_LVT_LINT0, 0x700);
	lapic_accept(&l, 0x80, false);
	assert_int_equal(lapic_set_base(&l, 0xfed00800ull, 46, &fx), 0);

	lapic_init_reset(&l);
	assert_int_equal(rd(&l, 0x020), 0x07000000);	/* kept */
	assert_int_equal(lapic_base_msr(&l), 0xfed00800ull);
	assert_int_equal(rd(&l, 0x080), 0);
	assert_int_equal(rd(&l, 0x0d0), 0);
	assert_int_equal(rd(&l, 0x0f0), 0xff);
	assert_int_equal(rd(&l, 0x350), 0x00010000);
	assert_int_equal(irr_count(&l), 0);

	/* Power-on reset, by contrast, goes back to the initial ID and base. */
	lapic_reset(&l, 2, false);
	assert_int_equal(rd(&l, 0x020), 0x02000000);
	assert_int_equal(lapic_base_msr(&l), 0xfee00800ull);

	/* INIT keeps x2APIC mode; the LDR is re-derived from the ID. */
	setup(&l, 0x25);
	to_x2apic(&l);
	msr_wr(&l, 0x808, 0x40);
	lapic_init_reset(&l);
	assert_true(lapic_x2apic_mode(&l));
	assert_int_equal(msr_rd(&l, 0x802), 0x25);
	assert_int_equal(msr_rd(&l, 0x80d), 0x00020020);
	assert_int_equal(msr_rd(&l, 0x808), 0);
	assert_int_equal(msr_rd(&l, 0x80f), 0xff);
}

static void writable_bits_and_read_only(void **state)
{
	struct lapic l;
	uint32_t off;

	(void)state;
	setup(&l, 1);
	lapic_accept(&l, 0x41, true);
	lapic_ack(&l, 0x41);
	lapic_accept(&l, 0x62, false);

	/* Read-only registers ignore writes, without an error. */
	wr(&l, 0x030, 0xffffffff);
	assert_int_equal(rd(&l, 0x030), 0x00050014);
	wr(&l, 0x090, 0xffffffff);
	assert_int_equal(rd(&l, 0x090), 0);
	wr(&l, 0x0a0, 0xffffffff);
	assert_int_equal(rd(&l, 0x0a0), 0x40);
	for (off = 0x100; off <= 0x270; off += 0x10)
		wr(&l, off, 0xffffffff);
	assert_int_equal(rd(&l, 0x120), 0x00000002);	/* ISR: 0x41 */
	assert_int_equal(rd(&l, 0x1a0), 0x00000002);	/* TMR: 0x41 level */
	assert_int_equal(rd(&l, 0x230), 0x00000004);	/* IRR: 0x62 */
	assert_int_equal(rd(&l, 0x110), 0);
	wr(&l, 0x390, 0x1234);
	assert_int_equal(rd(&l, 0x390), 0);
	assert_int_equal(esr(&l), 0);

	/* Writable registers keep only their defined bits. */
	wr(&l, 0x020, 0x0a123456);
	assert_int_equal(rd(&l, 0x020), 0x0a000000);
	wr(&l, 0x080, 0x1ff);
	assert_int_equal(rd(&l, 0x080), 0xff);
	wr(&l, 0x080, 0);
	wr(&l, 0x0d0, 0x12345678);
	assert_int_equal(rd(&l, 0x0d0), 0x12000000);
	wr(&l, 0x0e0, 0x00000000);
	assert_int_equal(rd(&l, 0x0e0), 0x0fffffff);
	wr(&l, 0x0e0, 0xffffffff);
	assert_int_equal(rd(&l, 0x0e0), 0xffffffff);
	wr(&l, 0x0f0, 0xffffffff);
	assert_int_equal(rd(&l, 0x0f0), 0x3ff);
	wr(&l, 0x310, 0xffffffff);
	assert_int_equal(rd(&l, 0x310), 0xff000000);
	wr(&l, 0x300, 0x000000ff | 0x1000);	/* delivery status is not writable */
	assert_int_equal(rd(&l, 0x300), 0x000000ff);
	wr(&l, 0x300, 0xffffffff);		/* shorthand all-excl, reserved DM: not sent */
	assert_int_equal(rd(&l, 0x300), 0x000ccfff);
	assert_false(fx.flags & LAPIC_FX_IPI);
	wr(&l, 0x320, 0xffffffff);
	assert_int_equal(rd(&l, 0x320), 0x000700ff);
	wr(&l, 0x330, 0xffffffff);
	assert_int_equal(rd(&l, 0x330), 0x000107ff);
	wr(&l, 0x340, 0xffffffff);
	assert_int_equal(rd(&l, 0x340), 0x000107ff);
	wr(&l, 0x350, 0xffffffff);
	assert_int_equal(rd(&l, 0x350), 0x0001a7ff);
	wr(&l, 0x360, 0xffffffff);
	assert_int_equal(rd(&l, 0x360), 0x0001a7ff);
	wr(&l, 0x370, 0xffffffff);
	assert_int_equal(rd(&l, 0x370), 0x000100ff);
	wr(&l, 0x370, 0x000000fe);
	assert_int_equal(rd(&l, 0x370), 0x000000fe);
	wr(&l, 0x3e0, 0xffffffff);
	assert_int_equal(rd(&l, 0x3e0), 0xb);
	wr(&l, 0x380, 0xfffffffe);
	assert_int_equal(rd(&l, 0x380), 0xfffffffe);
}

static void eoi_is_write_only(void **state)
{
	struct lapic l;

	(void)state;
	setup(&l, 0);
	lapic_accept(&l, 0x90, false);
	assert_true(lapic_ack(&l, 0x90));
	assert_int_equal(rd(&l, 0x0b0), 0);
	assert_true(isr_has(&l, 0x90));		/* reading EOI is no EOI */
	wr(&l, 0x0b0, 0x12345678);		/* any value is an EOI */
	assert_false(isr_has(&l, 0x90));
	assert_int_equal(esr(&l), 0);
}

static void esr_write_then_read(void **state)
{
	struct lapic l;

	(void)state;
	setup(&l, 0);
	assert_false(lapic_accept(&l, 5, false));
	assert_int_equal(rd(&l, 0x280), 0);	/* not latched yet */
	wr(&l, 0x280, 0);
	assert_int_equal(rd(&l, 0x280), 0x40);
	assert_int_equal(rd(&l, 0x280), 0x40);	/* reading does not clear */
	wr(&l, 0x280, 0xffffffff);
	assert_int_equal(rd(&l, 0x280), 0);	/* nothing new since */

	/* An unmasked LVT error raises its vector on an error. */
	wr(&l, 0x370, 0xfe);
	assert_int_equal(irr_count(&l), 0);
	rd(&l, 0x3a0);				/* reserved register */
	assert_true(irr_has(&l, 0xfe));
	assert_int_equal(esr(&l), LAPIC_ESR_ILLEGAL_REGISTER);
}

static void reserved_and_unaligned(void **state)
{
	struct lapic l;
	uint32_t v;
	static const uint32_t reserved[] = {
		0x000, 0x010, 0x040, 0x050, 0x060, 0x070, 0x0c0, 0x290, 0x2a0, 0x2e0,
		0x2f0, 0x3a0, 0x3b0, 0x3c0, 0x3d0, 0x3f0,
	};
	unsigned int i;

	(void)state;
	setup(&l, 0);
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		assert_int_equal(rd(&l, reserved[i]), 0);
		assert_int_equal(esr(&l), LAPIC_ESR_ILLEGAL_REGISTER);
		wr(&l, reserved[i], 0xffffffff);
		assert_int_equal(esr(&l), LAPIC_ESR_ILLEGAL_REGISTER);
		assert_int_equal(rd(&l, reserved[i]), 0);
		esr(&l);
	}
	/* The other dwords of a slot and the page past 0x3F0: silent zeros. */
	assert_int_equal(rd(&l, 0x024), 0);
	assert_int_equal(rd(&l, 0x08c), 0);
	wr(&l, 0x084, 0xff);
	assert_int_equal(rd(&l, 0x080), 0);
	assert_int_equal(rd(&l, 0x400), 0);
	assert_int_equal(rd(&l, 0xffc), 0);
	assert_int_equal(esr(&l), 0);

	assert_int_equal(lapic_mmio_read(&l, 0x022, &v, T0), LAPIC_E_UNALIGNED);
	assert_int_equal(v, 0);
	assert_int_equal(lapic_mmio_write(&l, 0x081, 0xff, T0, &fx), LAPIC_E_UNALIGNED);
	assert_int_equal(rd(&l, 0x080), 0);
	assert_int_equal(lapic_mmio_read(&l, 0x1000, &v, T0), LAPIC_E_UNALIGNED);

	/* Not decoded in x2APIC mode or when globally disabled. */
	to_x2apic(&l);
	assert_false(lapic_mmio_mapped(&l));
	assert_int_equal(lapic_mmio_read(&l, 0x030, &v, T0), LAPIC_E_NOT_MAPPED);
	assert_int_equal(lapic_mmio_write(&l, 0x080, 0x10, T0, &fx), LAPIC_E_NOT_MAPPED);
	assert_int_equal(msr_rd(&l, 0x808), 0);
	setup(&l, 0);
	assert_int_equal(lapic_set_base(&l, 0xfee00100ull, 46, &fx), 0);
	assert_int_equal(lapic_mmio_read(&l, 0x030, &v, T0), LAPIC_E_NOT_MAPPED);
}

/* Priorities */

static void tpr_masks_by_class(void **state)
{
	struct lapic l;

	(void)state;
	setup(&l, 0);
	assert_int_equal(lapic_pending_vector(&l), -1);
	wr(&l, 0x080, 0x60);
	assert_true(lapic_accept(&l, 0x51, false));
	assert_false(lapic_accept(&l, 0x51, false));	/* coalesced */
	assert_int_equal(lapic_pending_vector(&l), -1);
	assert_int_equal(rd(&l, 0x0a0), 0x60);
	assert_true(wr(&l, 0x080, 0x40) & LAPIC_FX_EVAL);
	assert_int_equal(lapic_pending_vector(&l), 0x51);
	assert_int_equal(rd(&l, 0x0a0), 0x40);
	assert_true(wr(&l, 0x080, 0x5f) & LAPIC_FX_EVAL);	/* same class: blocked */
	assert_int_equal(lapic_pending_vector(&l), -1);
	assert_false(wr(&l, 0x080, 0x55) & LAPIC_FX_EVAL);	/* still blocked: no change */
	wr(&l, 0x080, 0x4f);
	assert_int_equal(lapic_pending_vector(&l), 0x51);
}

static void priority_order(void **state)
{
	struct lapic l;
	static const unsigned int want[] = { 0xa2, 0xa1, 0x75, 0x31 };
	unsigned int i;

	(void)state;
	setup(&l, 0);
	lapic_accept(&l, 0x31, false);
	lapic_accept(&l, 0xa2, false);
	lapic_accept(&l, 0x75, false);
	lapic_accept(&l, 0xa1, false);
	for (i = 0; i < 4; i++) {
		assert_int_equal(lapic_pending_vector(&l), want[i]);
		assert_true(lapic_ack(&l, want[i]));
		/* Another vector of the same class waits for the EOI. */
		if (i == 0)
			assert_int_equal(lapic_pending_vector(&l), -1);
		assert_int_equal(lapic_eoi(&l, NULL), (int)want[i]);
	}
	assert_int_equal(lapic_pending_vector(&l), -1);
	assert_false(lapic_ack(&l, 0x31));

	/* Highest across the eight words. */
	lapic_accept(&l, 0x20, false);
	lapic_accept(&l, 0xff, false);
	lapic_accept(&l, 0x9f, false);
	assert_int_equal(lapic_pending_vector(&l), 0xff);
	assert_int_equal(rd(&l, 0x270), 0x80000000);
	assert_int_equal(rd(&l, 0x240), 0x80000000);
	assert_int_equal(rd(&l, 0x210), 0x00000001);
}

static void nested_ack_and_eoi(void **state)
{
	struct lapic l;
	bool level = true;

	(void)state;
	setup(&l, 0);
	lapic_accept(&l, 0x40, false);
	assert_int_equal(lapic_pending_vector(&l), 0x40);
	assert_true(lapic_ack(&l, 0x40));
	assert_false(irr_has(&l, 0x40));
	assert_int_equal(rd(&l, 0x120), 0x00000001);	/* ISR bit 0x40 */
	assert_int_equal(rd(&l, 0x0a0), 0x40);

	lapic_accept(&l, 0x80, false);			/* preempts 0x40 */
	assert_int_equal(lapic_pending_vector(&l), 0x80);
	assert_true(lapic_ack(&l, 0x80));
	assert_int_equal(rd(&l, 0x140), 0x00000001);
	assert_int_equal(rd(&l, 0x0a0), 0x80);

	lapic_accept(&l, 0x60, false);			/* below the one in service */
	assert_int_equal(lapic_pending_vector(&l), -1);

	assert_int_equal(lapic_eoi(&l, &level), 0x80);	/* highest first */
	assert_false(level);
	assert_int_equal(rd(&l, 0x0a0), 0x40);
	assert_int_equal(lapic_pending_vector(&l), 0x60);
	assert_true(lapic_ack(&l, 0x60));
	wr(&l, 0x0b0, 0);
	assert_false(isr_has(&l, 0x60));
	assert_true(isr_has(&l, 0x40));
	wr(&l, 0x0b0, 0);
	assert_false(isr_has(&l, 0x40));
	assert_int_equal(rd(&l, 0x0a0), 0);
	assert_int_equal(lapic_eoi(&l, &level), -1);	/* nothing in service */

	/* TPR above the in-service class wins in PPR */
	lapic_accept(&l, 0x35, false);
	lapic_ack(&l, 0x35);
	wr(&l, 0x080, 0x47);
	assert_int_equal(rd(&l, 0x0a0), 0x47);
	wr(&l, 0x080, 0x27);
	assert_int_equal(rd(&l, 0x0a0), 0x30);
}

static void level_triggered_eoi(void **state)
{
	struct lapic l;

	(void)state;
	setup(&l, 0);
	lapic_accept(&l, 0x70, true);
	assert_int_equal(rd(&l, 0x1b0), 0x00010000);	/* TMR 0x70 */
	lapic_ack(&l, 0x70);
	wr(&l, 0x0b0, 0);
	assert_true(fx.flags & LAPIC_FX_EOI_LEVEL);
	assert_int_equal(fx.eoi_vector, 0x70);

	lapic_accept(&l, 0x71, false);
	lapic_ack(&l, 0x71);
	wr(&l, 0x0b0, 0);
	assert_false(fx.flags & LAPIC_FX_EOI_LEVEL);

	/* TMR follows the last acceptance. */
	lapic_accept(&l, 0x70, true);
	lapic_ack(&l, 0x70);
	lapic_accept(&l, 0x70, false);
	assert_int_equal(rd(&l, 0x1b0), 0);
	wr(&l, 0x0b0, 0);
	assert_false(fx.flags & LAPIC_FX_EOI_LEVEL);

	/* An EOI with nothing in service reports nothing. */
	lapic_ack(&l, 0x70);
	wr(&l, 0x0b0, 0);
	wr(&l, 0x0b0, 0);
	assert_int_equal(fx.flags & LAPIC_FX_EOI_LEVEL, 0);
}

static void illegal_vectors(void **state)
{
	struct lapic l;
	unsigned int v;

	(void)state;
	setup(&l, 0);
	for (v = 0; v < 16; v++) {
		assert_false(lapic_accept(&l, v, false));
		assert_int_equal(esr(&l), LAPIC_ESR_RECV_ILLEGAL_VECTOR);
	}
	assert_int_equal(irr_count(&l), 0);
	assert_true(lapic_accept(&l, 16, false));
	assert_int_equal(esr(&l), 0);
}

static void software_disable(void **state)
{
	struct lapic l;
	uint32_t off;

	(void)state;
	lapic_reset(&l, 0, true);
	assert_false(lapic_accept(&l, 0x40, false));	/* SVR 0xFF after reset: disabled */
	assert_true(wr(&l, 0x0f0, 0x1ff) & LAPIC_FX_LINT);
	assert_true(lapic_enabled(&l));
	wr(&l, 0x320, 0x20);
	wr(&l, 0x350, 0x700);
	wr(&l, 0x360, 0x400);
	wr(&l, 0x370, 0xfe);
	wr(&l, 0x330, 0x31);
	wr(&l, 0x340, 0x32);
	assert_true(lapic_accept_pic_intr(&l));
	lapic_accept(&l, 0x50, false);

	assert_true(wr(&l, 0x0f0, 0x0ff) & LAPIC_FX_LINT);
	assert_int_equal(rd(&l, 0x320), 0x10020);
	assert_int_equal(rd(&l, 0x330), 0x10031);
	assert_int_equal(rd(&l, 0x340), 0x10032);
	assert_int_equal(rd(&l, 0x350), 0x10700);
	assert_int_equal(rd(&l, 0x360), 0x10400);
	assert_int_equal(rd(&l, 0x370), 0x100fe);
	assert_false(lapic_accept_pic_intr(&l));
	assert_int_equal(lapic_pending_vector(&l), -1);	/* held in IRR */
	assert_true(irr_has(&l, 0x50));
	assert_false(lapic_accept(&l, 0x60, false));
	assert_false(irr_has(&l, 0x60));
	/* Unmasking is ignored while disabled. */
	wr(&l, 0x350, 0x700);
	assert_int_equal(rd(&l, 0x350), 0x10700);

	/* Re-enabling leaves the LVTs masked; software unmasks them. */
	wr(&l, 0x0f0, 0x1ff);
	for (off = 0x320; off <= 0x370; off += 0x10)
		assert_true(rd(&l, off) & 0x10000);
	assert_int_equal(lapic_pending_vector(&l), 0x50);
	wr(&l, 0x350, 0x700);
	assert_int_equal(rd(&l, 0x350), 0x700);
	assert_true(lapic_accept_pic_intr(&l));
	wr(&l, 0x350, 0x400);				/* NMI, not ExtINT */
	assert_false(lapic_accept_pic_intr(&l));

	/* Globally disabled: INTR goes straight to the core. */
	assert_int_equal(lapic_set_base(&l, 0xfee00100ull, 46, &fx), 0);
	assert_true(lapic_accept_pic_intr(&l));
	assert_int_equal(lapic_pending_vector(&l), -1);
}

/* Timer */

static void timer_divide_values(void **state)
{
	static const struct { uint32_t dcr; unsigned int div; } t[] = {
		{ 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 },
		{ 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
	};
	struct lapic l;
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(lapic_timer_divisor(t[i].dcr), t[i].div);
		assert_int_equal(lapic_timer_divisor(t[i].dcr | 0xfffffff4u), t[i].div);
		setup(&l, 0);
		wr(&l, 0x320, 0x30);			/* one-shot, vector 0x30 */
		wr(&l, 0x3e0, t[i].dcr);
		assert_true(wr(&l, 0x380, 1000) & LAPIC_FX_TIMER);
		assert_int_equal(lapic_timer_expiry(&l), T0 + 1000ull * t[i].div);
		assert_int_equal(rd(&l, 0x390), 1000);
	}
	/* A slower bus: 10 ns per tick, divide by 4. */
	setup(&l, 0);
	l.bus_ns_per_tick = 10;
	wr(&l, 0x3e0, 0x1);
	wr(&l, 0x380, 250);
	assert_int_equal(lapic_timer_expiry(&l), T0 + 10000);
	/* The largest count at the largest divisor does not overflow. */
	setup(&l, 0);
	wr(&l, 0x3e0, 0xa);
	wr(&l, 0x380, 0xffffffff);
	assert_int_equal(lapic_timer_expiry(&l), T0 + 0xffffffffull * 128);
	assert_int_equal(rd_at(&l, 0x390, T0 + 128), 0xfffffffe);
}

static void timer_current_count(void **state)
{
	struct lapic l;

	(void)state;
	setup(&l, 0);
	wr(&l, 0x320, 0x30);
	wr(&l, 0x3e0, 0x3);				/* divide by 16 */
	wr(&l, 0x380, 1000);				/* 16000 ns */
	assert_int_equal(rd_at(&l, 0x390, T0), 1000);
	assert_int_equal(rd_at(&l, 0x390, T0 + 16), 999);
	assert_int_equal(rd_at(&l, 0x390, T0 + 4000), 750);
	assert_int_equal(rd_at(&l, 0x390, T0 + 4001), 750);	/* partial tick not done */
	assert_int_equal(rd_at(&l, 0x390, T0 + 4016), 749);
	assert_int_equal(rd_at(&l, 0x390, T0 + 15999), 1);
	assert_int_equal(rd_at(&l, 0x390, T0 + 16000), 0);
	assert_int_equal(rd_at(&l, 0x390, T0 + 99999), 0);
	assert_int_equal(rd(&l, 0x380), 1000);		/* initial count unchanged */

	/* Divide change mid-count: the count stays, the rest runs at the new rate. */
	setup(&l, 0);
	wr(&l, 0x320, 0x30);
	wr(&l, 0x3e0, 0x0);				/* /2 */
	wr(&l, 0x380, 1000);				/* expiry T0 + 2000 */
	assert_true(wr_at(&l, 0x3e0, 0x2, T0 + 1000) & LAPIC_FX_TIMER);	/* /8, 500 left */
	assert_int_equal(lapic_timer_expiry(&l), T0 + 1000 + 500 * 8);
	assert_int_equal(rd_at(&l, 0x390, T0 + 1000), 500);
	assert_int_equal(rd_at(&l, 0x390, T0 + 1000 + 8 * 100), 400);

	/* Rewriting the initial count restarts from the new value. */
	wr_at(&l, 0x380, 10, T0 + 3000);
	assert_int_equal(lapic_timer_expiry(&l), T0 + 3000 + 80);
	assert_int_equal(rd_at(&l, 0x390, T0 + 3000), 10);
}

static void timer_periodic(void **state)
{
	struct lapic l;

	(void)state;
	setup(&l, 0);
	wr(&l, 0x320, 0x20031);				/* periodic, vector 0x31 */
	wr(&l, 0x3e0, 0xb);				/* /1 */
	wr(&l, 0x380, 100);
	assert_int_equal(lapic_timer_expiry(&l), T0 + 100);
	assert_int_equal(lapic_timer_expired(&l, T0 + 100), T0 + 200);
	assert_true(irr_has(&l, 0x31));
	assert_int_equal(lapic_timer_expiry(&l), T0 + 200);
	assert_int_equal(rd_at(&l, 0x390, T0 + 150), 50);
	assert_int_equal(rd_at(&l, 0x390, T0 + 200), 100);	/* reloaded */
	assert_int_equal(rd_at(&l, 0x390, T0 + 230), 70);	/* keeps counting before the call */
	lapic_ack(&l, 0x31);
	lapic_eoi(&l, NULL);

	/* Late by several periods: one interrupt, next boundary after now. */
	assert_int_equal(lapic_timer_expired(&l, T0 + 450), T0 + 500);
	assert_true(irr_has(&l, 0x31));
	lapic_ack(&l, 0x31);
	lapic_eoi(&l, NULL);
	assert_int_equal(rd_at(&l, 0x390, T0 + 460), 40);

	/* Early call: nothing raised, same expiry. */
	assert_int_equal(lapic_timer_expired(&l, T0 + 499), T0 + 500);
	assert_false(irr_has(&l, 0x31));
	assert_int_equal(lapic_timer_expired(&l, T0 + 500), T0 + 600);
	assert_true(irr_has(&l, 0x31));

	/* Initial count 0 stops it. */
	assert_true(wr_at(&l, 0x380, 0, T0 + 510) & LAPIC_FX_TIMER);
	assert_int_equal(lapic_timer_expiry(&l), 0);
	assert_int_equal(lapic_timer_expired(&l, T0 + 600), 0);
	assert_int_equal(rd_at(&l, 0x390, T0 + 550), 0);
}

static void timer_oneshot_does_not_rearm(void **state)
{
	struct lapic l;

	(void)state;
	setup(&l, 0);
	wr(&l, 0x320, 0x33);
	wr(&l, 0x3e0, 0xb);
	wr(&l, 0x380, 10);
	assert_int_equal(lapic_timer_expired(&l, T0 + 5), T0 + 10);	/* early */
	assert_false(irr_has(&l, 0x33));
	assert_int_equal(lapic_timer_expired(&l, T0 + 12), 0);
	assert_true(irr_has(&l, 0x33));
	assert_int_equal(lapic_timer_expiry(&l), 0);
	assert_int_equal(rd_at(&l, 0x390, T0 + 12), 0);
	assert_int_equal(rd_at(&l, 0x390, T0 + 10000), 0);
	lapic_ack(&l, 0x33);
	assert_int_equal(lapic_timer_expired(&l, T0 + 100), 0);
	assert_false(irr_has(&l, 0x33));
}

static void timer_masked(void **state)
{
	struct lapic l;

	(void)state;
	setup(&l, 0);
	wr(&l, 0x320, 0x10034);				/* masked one-shot */
	wr(&l, 0x3e0, 0xb);
	wr(&l, 0x380, 10);
	assert_int_equal(rd_at(&l, 0x390, T0 + 4), 6);	/* counts anyway */
	assert_int_equal(lapic_timer_expired(&l, T0 + 10), 0);
	assert_int_equal(irr_count(&l), 0);

	wr(&l, 0x320, 0x30034);				/* masked periodic: mode change */
	assert_int_equal(lapic_timer_expiry(&l), 0);
	wr(&l, 0x380, 10);
	assert_int_equal(lapic_timer_expired(&l, T0 + 10), T0 + 20);
	assert_int_equal(irr_count(&l), 0);
	wr(&l, 0x320, 0x20034);				/* unmask, same mode: keeps running */
	assert_int_equal(lapic_timer_expiry(&l), T0 + 20);
	assert_int_equal(lapic_timer_expired(&l, T0 + 20), T0 + 30);
	assert_true(irr_has(&l, 0x34));
}

static void timer_mode_change_disarms(void **state)
{
	struct lapic l;

	(void)state;
	setup(&l, 0);
	wr(&l, 0x320, 0x30);
	wr(&l, 0x3e0, 0xb);
	wr(&l, 0x380, 1000);
	assert_false(wr(&l, 0x320, 0x31) & LAPIC_FX_TIMER);	/* vector only */
	assert_int_equal(lapic_timer_expiry(&l), T0 + 1000);
	assert_true(wr(&l, 0x320, 0x20031) & LAPIC_FX_TIMER);	/* -> periodic */
	assert_int_equal(lapic_timer_expiry(&l), 0);
	assert_int_equal(rd_at(&l, 0x390, T0 + 10), 0);
	assert_int_equal(rd(&l, 0x380), 1000);
	assert_int_equal(lapic_timer_expired(&l, T0 + 2000), 0);
	assert_int_equal(irr_count(&l), 0);
	/* Reserved mode 11b never counts. */
	wr(&l, 0x320, 0x60031);
	assert_int_equal(lapic_timer_mode(&l), LAPIC_TIMER_RESERVED);
	wr(&l, 0x380, 1000);
	assert_int_equal(lapic_timer_expiry(&l), 0);
	assert_int_equal(rd(&l, 0x390), 0);
}

static void timer_tsc_deadline(void **state)
{
	struct lapic l;
	const uint64_t tsc = 5000000000ull;	/* guest TSC at T0 */
	const uint32_t khz = 2000000;		/* 2 GHz */

	(void)state;
	setup(&l, 0);
	/* Not in TSC-deadline mode: the MSR reads 0 and ignores writes. */
	assert_false(lapic_tsc_deadline_write(&l, tsc + 2000, tsc, T0, khz));
	assert_int_equal(lapic_tsc_deadline_read(&l), 0);
	assert_int_equal(lapic_timer_expiry(&l), 0);

	wr(&l, 0x320, 0x400ec);				/* TSC-deadline, vector 0xEC */
	assert_int_equal(lapic_timer_mode(&l), LAPIC_TIMER_TSC_DEADLINE);
	wr(&l, 0x380, 500);				/* ignored */
	assert_int_equal(rd(&l, 0x380), 0);
	assert_int_equal(lapic_timer_expiry(&l), 0);

	assert_true(lapic_tsc_deadline_write(&l, tsc + 2000000, tsc, T0, khz));	/* 1 ms */
	assert_int_equal(lapic_tsc_deadline_read(&l), tsc + 2000000);
	assert_int_equal(lapic_timer_expiry(&l), T0 + 1000000);
	assert_int_equal(rd_at(&l, 0x390, T0 + 10), 0);
	assert_int_equal(lapic_timer_expired(&l, T0 + 999999), T0 + 1000000);
	assert_int_equal(irr_count(&l), 0);
	assert_int_equal(lapic_timer_expired(&l, T0 + 1000000), 0);
	assert_true(irr_has(&l, 0xec));
	assert_int_equal(lapic_tsc_deadline_read(&l), 0);	/* cleared on firing */
	assert_int_equal(lapic_timer_expiry(&l), 0);

	/* Odd frequency: 3 ticks at 3 kHz is 1 ms. */
	assert_true(lapic_tsc_deadline_write(&l, tsc + 3, tsc, T0, 3));
	assert_int_equal(lapic_timer_expiry(&l), T0 + 1000000);
	/* A deadline in the past fires at once. */
	assert_true(lapic_tsc_deadline_write(&l, tsc - 1, tsc, T0, khz));
	assert_int_equal(lapic_timer_expiry(&l), T0);
	/* Zero disarms. */
	assert_true(lapic_tsc_deadline_write(&l, 0, tsc, T0, khz));
	assert_int_equal(lapic_timer_expiry(&l), 0);
	assert_false(lapic_tsc_deadline_write(&l, 0, tsc, T0, khz));
	/* Far future saturates instead of wrapping. */
	assert_true(lapic_tsc_deadline_write(&l, ~0ull, 0, T0, 1));
	assert_int_equal(lapic_timer_expiry(&l), ~0ull);

	/* Leaving TSC-deadline mode disarms and clears the deadline. */
	assert_true(lapic_tsc_deadline_write(&l, tsc + 100, tsc, T0, khz));
	assert_true(wr(&l, 0x320, 0x000ec) & LAPIC_FX_TIMER);
	assert_int_equal(lapic_timer_expiry(&l), 0);
	wr(&l, 0x320, 0x400ec);
	assert_int_equal(lapic_tsc_deadline_read(&l), 0);
}

/* IPIs */

static void icr_decode(void **state)
{
	static const struct {
		uint32_t		low;
		bool			sent;
		uint8_t			vector;
		enum lapic_dm		dm;
		bool			logical;
		enum lapic_shorthand	sh;
		bool			assert, level;
	} t[] = {
		{ 0x000000f0, true, 0xf0, LAPIC_DM_FIXED, false, LAPIC_SH_NONE, false, false },
		{ 0x00004931, true, 0x31, LAPIC_DM_LOWEST, true, LAPIC_SH_NONE, true, false },
		{ 0x00000200, true, 0x00, LAPIC_DM_SMI, false, LAPIC_SH_NONE, false, false },
		{ 0x00004400, true, 0x00, LAPIC_DM_NMI, false, LAPIC_SH_NONE, true, false },
		{ 0x0000c500, true, 0x00, LAPIC_DM_INIT, false, LAPIC_SH_NONE, true, true },
		{ 0x00004500, true, 0x00, LAPIC_DM_INIT, false, LAPIC_SH_NONE, true, false },
		{ .low = 0x00008500, .sent = false },			/* INIT level de-assert */
		{ 0x00004608, true, 0x08, LAPIC_DM_SIPI, false, LAPIC_SH_NONE, true, false },
		{ .low = 0x00000320, .sent = false },			/* reserved delivery mode */
		{ .low = 0x00000720, .sent = false },			/* ExtINT is not an IPI */
		{ 0x000800f1, true, 0xf1, LAPIC_DM_FIXED, false, LAPIC_SH_ALL_INCL, false, false },
		{ 0x000c4500, true, 0x00, LAPIC_DM_INIT, false, LAPIC_SH_ALL_EXCL, true, false },
		{ 0x000c4699, true, 0x99, LAPIC_DM_SIPI, false, LAPIC_SH_ALL_EXCL, true, false },
		{ 0x000c0400, true, 0x00, LAPIC_DM_NMI, false, LAPIC_SH_ALL_EXCL, false, false },
		{ .low = 0x00040400, .sent = false },			/* self + NMI: invalid */
		{ .low = 0x00000005, .sent = false },			/* fixed, illegal vector */
		{ .low = 0x00000108, .sent = false },			/* lowest, illegal vector */
	};
	struct lapic l;
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		setup(&l, 1);
		wr(&l, 0x310, 0x05000000);
		wr(&l, 0x300, t[i].low);
		assert_int_equal(!!(fx.flags & LAPIC_FX_IPI), t[i].sent);
		assert_int_equal(rd(&l, 0x300), t[i].low);
		assert_int_equal(irr_count(&l), 0);
		if (!t[i].sent)
			continue;
		assert_int_equal(fx.ipi.vector, t[i].vector);
		assert_int_equal(fx.ipi.delivery, t[i].dm);
		assert_int_equal(fx.ipi.logical, t[i].logical);
		assert_int_equal(fx.ipi.shorthand, t[i].sh);
		assert_int_equal(fx.ipi.assert, t[i].assert);
		assert_int_equal(fx.ipi.level_trig, t[i].level);
		assert_false(fx.ipi.x2apic);
		assert_int_equal(fx.ipi.dest, 5);
		assert_int_equal(esr(&l), 0);
	}
	/* Illegal vectors: "send illegal vector". */
	setup(&l, 1);
	wr(&l, 0x300, 0x0000000f);
	assert_int_equal(esr(&l), LAPIC_ESR_SEND_ILLEGAL_VECTOR);

	/* Self shorthand: applied here, not handed out. */
	setup(&l, 1);
	wr(&l, 0x300, 0x000400f2);
	assert_false(fx.flags & LAPIC_FX_IPI);
	assert_true(fx.flags & LAPIC_FX_EVAL);
	assert_true(irr_has(&l, 0xf2));
	assert_int_equal(lapic_pending_vector(&l), 0xf2);
	assert_int_equal(rd(&l, 0x300), 0x000400f2);	/* delivery status idle */

	/* x2APIC: one 64-bit ICR, 32-bit destination. */
	setup(&l, 1);
	to_x2apic(&l);
	msr_wr(&l, 0x830, 0x12345678000004f0ull);
	assert_true(fx.flags & LAPIC_FX_IPI);
	assert_int_equal(fx.ipi.delivery, LAPIC_DM_NMI);
	assert_true(fx.ipi.x2apic);
	assert_int_equal(fx.ipi.dest, 0x12345678);
	assert_int_equal(msr_rd(&l, 0x830), 0x12345678000004f0ull);
	msr_wr(&l, 0x830, 0xffffffff000c80f3ull);
	assert_int_equal(fx.ipi.shorthand, LAPIC_SH_ALL_EXCL);
	assert_int_equal(fx.ipi.dest, 0xffffffff);
	assert_true(fx.ipi.level_trig);
	msr_wr(&l, 0x830, 0x00000000000400f3ull);	/* self */
	assert_false(fx.flags & LAPIC_FX_IPI);
	assert_true(irr_has(&l, 0xf3));
	msr_wr(&l, 0x83f, 0x55);			/* SELF IPI register */
	assert_false(fx.flags & LAPIC_FX_IPI);
	assert_true(irr_has(&l, 0x55));
	msr_wr(&l, 0x83f, 0x07);
	assert_false(irr_has(&l, 0x07));
	msr_wr(&l, 0x828, 0);
	assert_int_equal(msr_rd(&l, 0x828), LAPIC_ESR_SEND_ILLEGAL_VECTOR);
}

static struct lapic_ipi ipi_to(bool x2, bool logical, uint32_t dest)
{
	struct lapic_ipi ipi = {
		.vector = 0x40, .delivery = LAPIC_DM_FIXED, .logical = logical,
		.shorthand = LAPIC_SH_NONE, .x2apic = x2, .dest = dest,
	};
	return ipi;
}

static void dest_physical_and_shorthands(void **state)
{
	struct lapic a, b, x;
	struct lapic_ipi ipi;

	(void)state;
	setup(&a, 1);
	setup(&b, 2);
	ipi = ipi_to(false, false, 2);
	assert_false(lapic_match_dest(&a, &ipi, true));
	assert_true(lapic_match_dest(&b, &ipi, false));
	ipi = ipi_to(false, false, 0xff);
	assert_true(lapic_match_dest(&a, &ipi, true));
	assert_true(lapic_match_dest(&b, &ipi, false));
	/* An ID written by software is the one matched. */
	wr(&b, 0x020, 0x09000000);
	ipi = ipi_to(false, false, 2);
	assert_false(lapic_match_dest(&b, &ipi, false));
	ipi = ipi_to(false, false, 9);
	assert_true(lapic_match_dest(&b, &ipi, false));

	ipi.shorthand = LAPIC_SH_SELF;
	assert_true(lapic_match_dest(&a, &ipi, true));
	assert_false(lapic_match_dest(&b, &ipi, false));
	ipi.shorthand = LAPIC_SH_ALL_INCL;
	assert_true(lapic_match_dest(&a, &ipi, true));
	assert_true(lapic_match_dest(&b, &ipi, false));
	ipi.shorthand = LAPIC_SH_ALL_EXCL;
	assert_false(lapic_match_dest(&a, &ipi, true));
	assert_true(lapic_match_dest(&b, &ipi, false));

	/* x2APIC physical: 32-bit IDs, 0xFFFFFFFF broadcast. */
	setup(&x, 0x100);
	to_x2apic(&x);
	ipi = ipi_to(true, false, 0x100);
	assert_true(lapic_match_dest(&x, &ipi, false));
	ipi = ipi_to(true, false, 0x00);
	assert_false(lapic_match_dest(&x, &ipi, false));
	ipi = ipi_to(true, false, 0xffffffff);
	assert_true(lapic_match_dest(&x, &ipi, false));
	ipi = ipi_to(true, false, 0xff);		/* not a broadcast in x2APIC */
	assert_false(lapic_match_dest(&x, &ipi, false));

	/* A software-disabled APIC still matches; a globally disabled one does not. */
	wr(&a, 0x0f0, 0xff);
	ipi = ipi_to(false, false, 1);
	assert_true(lapic_match_dest(&a, &ipi, false));
	assert_int_equal(lapic_set_base(&a, 0xfee00000ull, 46, &fx), 0);
	assert_false(lapic_match_dest(&a, &ipi, false));
	ipi.shorthand = LAPIC_SH_ALL_INCL;
	assert_false(lapic_match_dest(&a, &ipi, false));
}

static void dest_logical_flat(void **state)
{
	struct lapic a, b;
	struct lapic_ipi ipi;

	(void)state;
	setup(&a, 0);
	setup(&b, 1);
	wr(&a, 0x0d0, 0x01000000);
	wr(&b, 0x0d0, 0x02000000);
	ipi = ipi_to(false, true, 0x03);
	assert_true(lapic_match_dest(&a, &ipi, false));
	assert_true(lapic_match_dest(&b, &ipi, false));
	ipi = ipi_to(false, true, 0x02);
	assert_false(lapic_match_dest(&a, &ipi, false));
	assert_true(lapic_match_dest(&b, &ipi, false));
	ipi = ipi_to(false, true, 0x04);
	assert_false(lapic_match_dest(&a, &ipi, false));
	assert_false(lapic_match_dest(&b, &ipi, false));
	ipi = ipi_to(false, true, 0xff);
	assert_true(lapic_match_dest(&a, &ipi, false));
	assert_true(lapic_match_dest(&b, &ipi, false));
	/* Physical 1 is b; logical 1 is a. */
	ipi = ipi_to(false, false, 0x01);
	assert_false(lapic_match_dest(&a, &ipi, false));
	assert_true(lapic_match_dest(&b, &ipi, false));
}

static void dest_logical_cluster(void **state)
{
	struct lapic c[3];
	struct lapic_ipi ipi;
	static const uint32_t ldr[3] = { 0x21000000, 0x22000000, 0x31000000 };
	static const struct { uint32_t mda; bool hit[3]; } t[] = {
		{ 0x23, { true, true, false } },
		{ 0x21, { true, false, false } },
		{ 0x31, { false, false, true } },
		{ 0x32, { false, false, false } },
		{ 0x11, { false, false, false } },
		{ 0x2f, { true, true, false } },
		{ 0xff, { true, true, true } },
	};
	unsigned int i, j;

	(void)state;
	for (j = 0; j < 3; j++) {
		setup(&c[j], j);
		wr(&c[j], 0x0e0, 0x0fffffff);		/* cluster model */
		assert_int_equal(rd(&c[j], 0x0e0), 0x0fffffff);
		wr(&c[j], 0x0d0, ldr[j]);
	}
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ipi = ipi_to(false, true, t[i].mda);
		for (j = 0; j < 3; j++)
			assert_int_equal(lapic_match_dest(&c[j], &ipi, false), t[i].hit[j]);
	}
	/* The same MDA under the flat model reads as a bitmap. */
	wr(&c[2], 0x0e0, 0xffffffff);
	ipi = ipi_to(false, true, 0x32);
	assert_true(lapic_match_dest(&c[2], &ipi, false));
	ipi = ipi_to(false, true, 0x0e);
	assert_false(lapic_match_dest(&c[2], &ipi, false));
}

static void dest_x2apic_cluster(void **state)
{
	struct lapic c[3];
	struct lapic_ipi ipi;
	static const uint32_t id[3] = { 0x21, 0x2f, 0x31 };
	static const uint32_t want_ldr[3] = { 0x00020002, 0x00028000, 0x00030002 };
	static const struct { uint32_t dest; bool hit[3]; } t[] = {
		{ 0x00028002, { true, true, false } },
		{ 0x00020002, { true, false, false } },
		{ 0x00030002, { false, false, true } },
		{ 0x00020001, { false, false, false } },
		{ 0x00010002, { false, false, false } },
		{ 0xffffffff, { true, true, true } },
	};
	unsigned int i, j;

	(void)state;
	for (j = 0; j < 3; j++) {
		setup(&c[j], id[j]);
		to_x2apic(&c[j]);
		assert_int_equal(msr_rd(&c[j], 0x80d), want_ldr[j]);
	}
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ipi = ipi_to(true, true, t[i].dest);
		for (j = 0; j < 3; j++)
			assert_int_equal(lapic_match_dest(&c[j], &ipi, false), t[i].hit[j]);
	}
}

/* IA32_APIC_BASE and x2APIC */

static void apic_base_transitions(void **state)
{
	struct lapic l;

	(void)state;
	setup(&l, 4);
	wr(&l, 0x080, 0x20);
	wr(&l, 0x020, 0x0c000000);
	wr(&l, 0x350, 0x700);

	/* Reserved bits */
	assert_int_equal(lapic_set_base(&l, 0xfee00801ull, 46, &fx), LAPIC_E_GP);
	assert_int_equal(lapic_set_base(&l, 0xfee00a00ull, 46, &fx), LAPIC_E_GP);
	assert_int_equal(lapic_set_base(&l, 0x400000fee00800ull, 46, &fx), LAPIC_E_GP);
	assert_int_equal(lapic_set_base(&l, 0x1000fee00800ull, 36, &fx), LAPIC_E_GP);
	/* EN=0, EXTD=1 is never valid. */
	assert_int_equal(lapic_set_base(&l, 0xfee00400ull, 46, &fx), LAPIC_E_GP);
	assert_int_equal(lapic_base_msr(&l), 0xfee00800ull);

	/* Same value: nothing to do. BSP is read-only. */
	assert_int_equal(lapic_set_base(&l, 0xfee00800ull, 46, &fx), 0);
	assert_int_equal(fx.flags, 0);
	assert_int_equal(lapic_set_base(&l, 0xfee00900ull, 46, &fx), 0);
	assert_int_equal(lapic_base_msr(&l), 0xfee00800ull);

	/* Moving the page. */
	assert_int_equal(lapic_set_base(&l, 0x1000fee00800ull, 46, &fx), 0);
	assert_true(fx.flags & LAPIC_FX_BASE);
	assert_int_equal(lapic_base_addr(&l), 0x1000fee00000ull);
	assert_int_equal(lapic_set_base(&l, 0xfee00800ull, 46, &fx), 0);

	/* xAPIC -> x2APIC keeps registers, takes the 32-bit initial ID. */
	assert_int_equal(lapic_set_base(&l, 0xfee00c00ull, 46, &fx), 0);
	assert_true(fx.flags & LAPIC_FX_BASE);
	assert_true(lapic_x2apic_mode(&l));
	assert_int_equal(msr_rd(&l, 0x808), 0x20);
	assert_int_equal(msr_rd(&l, 0x802), 4);
	assert_int_equal(msr_rd(&l, 0x835), 0x700);

	/* x2APIC -> xAPIC directly: #GP, state untouched. */
	assert_int_equal(lapic_set_base(&l, 0xfee00800ull, 46, &fx), LAPIC_E_GP);
	assert_true(lapic_x2apic_mode(&l));
	assert_int_equal(lapic_set_base(&l, 0xfee00400ull, 46, &fx), LAPIC_E_GP);

	/* x2APIC -> disabled: state lost. */
	assert_int_equal(lapic_set_base(&l, 0xfee00000ull, 46, &fx), 0);
	assert_int_equal(fx.flags & (LAPIC_FX_BASE | LAPIC_FX_TIMER | LAPIC_FX_LINT),
			 LAPIC_FX_BASE | LAPIC_FX_TIMER | LAPIC_FX_LINT);
	assert_false(lapic_hw_enabled(&l));
	assert_false(lapic_accept(&l, 0x40, false));

	/* disabled -> x2APIC: #GP. */
	assert_int_equal(lapic_set_base(&l, 0xfee00c00ull, 46, &fx), LAPIC_E_GP);
	assert_false(lapic_hw_enabled(&l));

	/* disabled -> xAPIC: power-on register values. */
	assert_int_equal(lapic_set_base(&l, 0xfee00800ull, 46, &fx), 0);
	assert_true(fx.flags & LAPIC_FX_LINT);
	assert_false(lapic_x2apic_mode(&l));
	assert_int_equal(rd(&l, 0x080), 0);
	assert_int_equal(rd(&l, 0x020), 0x04000000);
	assert_int_equal(rd(&l, 0x0f0), 0xff);
	assert_int_equal(rd(&l, 0x350), 0x10000);

	/* xAPIC -> disabled -> xAPIC */
	wr(&l, 0x080, 0x30);
	assert_int_equal(lapic_set_base(&l, 0xfee00000ull, 46, &fx), 0);
	assert_int_equal(lapic_set_base(&l, 0xfee00800ull, 46, &fx), 0);
	assert_int_equal(rd(&l, 0x080), 0);

	/* A BSP stays BSP through all of it. */
	setup(&l, 0);
	assert_int_equal(lapic_set_base(&l, 0xfee00000ull, 46, &fx), 0);
	assert_int_equal(lapic_base_msr(&l), 0xfee00100ull);
	assert_int_equal(lapic_set_base(&l, 0xfee00c00ull, 46, &fx), LAPIC_E_GP);
	assert_int_equal(lapic_set_base(&l, 0xfee00800ull, 46, &fx), 0);
	assert_int_equal(lapic_set_base(&l, 0xfee00c00ull, 46, &fx), 0);
	assert_int_equal(lapic_base_msr(&l), 0xfee00d00ull);
}

static void x2apic_register_map(void **state)
{
	struct lapic l;
	uint64_t v;

	(void)state;
	setup(&l, 0x1234);
	assert_int_equal(rd(&l, 0x020), 0x34000000);
	/* x2APIC MSRs #GP in xAPIC mode. */
	assert_int_equal(lapic_msr_read(&l, 0x802, &v, T0), LAPIC_E_GP);
	assert_int_equal(lapic_msr_write(&l, 0x808, 0, T0, &fx), LAPIC_E_GP);
	wr(&l, 0x0d0, 0x5a000000);
	to_x2apic(&l);

	assert_int_equal(msr_rd(&l, 0x802), 0x1234);
	assert_int_equal(msr_rd(&l, 0x803), 0x00050014);
	assert_int_equal(msr_rd(&l, 0x80d), 0x01230010);
	assert_int_equal(msr_rd(&l, 0x80f), 0x1ff);
	msr_wr(&l, 0x808, 0x60);
	assert_int_equal(msr_rd(&l, 0x808), 0x60);
	assert_int_equal(msr_rd(&l, 0x80a), 0x60);
	msr_wr(&l, 0x808, 0);
	msr_wr(&l, 0x832, 0x20030);
	assert_int_equal(msr_rd(&l, 0x832), 0x20030);
	msr_wr(&l, 0x83e, 0xb);
	assert_int_equal(msr_rd(&l, 0x83e), 0xb);
	assert_true(msr_wr(&l, 0x838, 100) & LAPIC_FX_TIMER);
	assert_int_equal(msr_rd(&l, 0x838), 100);
	assert_int_equal(msr_rd(&l, 0x839), 100);
	assert_int_equal(lapic_timer_expiry(&l), T0 + 100);
	msr_wr(&l, 0x837, 0xfe);
	assert_int_equal(msr_rd(&l, 0x837), 0xfe);
	msr_wr(&l, 0x835, 0x700);
	assert_int_equal(msr_rd(&l, 0x835), 0x700);
	msr_wr(&l, 0x836, 0x400);
	assert_int_equal(msr_rd(&l, 0x836), 0x400);
	msr_wr(&l, 0x833, 0x10040);
	assert_int_equal(msr_rd(&l, 0x833), 0x10040);
	msr_wr(&l, 0x834, 0x10041);
	assert_int_equal(msr_rd(&l, 0x834), 0x10041);

	/* ISR/TMR/IRR, EOI with level report. */
	lapic_accept(&l, 0x85, true);
	assert_int_equal(msr_rd(&l, 0x824), 0x20);
	assert_int_equal(msr_rd(&l, 0x81c), 0x20);
	assert_true(lapic_ack(&l, 0x85));
	assert_int_equal(msr_rd(&l, 0x814), 0x20);
	assert_int_equal(msr_rd(&l, 0x824), 0);
	msr_wr(&l, 0x80b, 0);
	assert_true(fx.flags & LAPIC_FX_EOI_LEVEL);
	assert_int_equal(fx.eoi_vector, 0x85);
	assert_int_equal(msr_rd(&l, 0x814), 0);

	/* ESR: write 0 latches. */
	lapic_accept(&l, 3, false);
	assert_int_equal(msr_rd(&l, 0x828), 0);
	msr_wr(&l, 0x828, 0);
	assert_int_equal(msr_rd(&l, 0x828), LAPIC_ESR_RECV_ILLEGAL_VECTOR);

	/* #GP: no register there. */
	static const uint32_t no_reg[] = {
		0x7ff, 0x800, 0x801, 0x804, 0x807, 0x809, 0x80c, 0x80e, 0x829, 0x82e,
		0x82f, 0x831, 0x83a, 0x83d, 0x840, 0x8ff, 0x900,
	};
	unsigned int i;

	for (i = 0; i < sizeof(no_reg) / sizeof(no_reg[0]); i++) {
		assert_int_equal(lapic_msr_read(&l, no_reg[i], &v, T0), LAPIC_E_GP);
		assert_int_equal(lapic_msr_write(&l, no_reg[i], 0, T0, &fx), LAPIC_E_GP);
	}
	/* #GP: write-only read, read-only write. */
	assert_int_equal(lapic_msr_read(&l, 0x80b, &v, T0), LAPIC_E_GP);
	assert_int_equal(lapic_msr_read(&l, 0x83f, &v, T0), LAPIC_E_GP);
	static const uint32_t read_only[] = {
		0x802, 0x803, 0x80a, 0x80d, 0x810, 0x817, 0x818, 0x81f, 0x820, 0x827, 0x839,
	};
	for (i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++)
		assert_int_equal(lapic_msr_write(&l, read_only[i], 0, T0, &fx), LAPIC_E_GP);
	assert_int_equal(msr_rd(&l, 0x802), 0x1234);
	assert_int_equal(msr_rd(&l, 0x80d), 0x01230010);
	/* #GP: non-zero EOI and ESR, bits 63:32, ICR reserved bits. */
	assert_int_equal(lapic_msr_write(&l, 0x80b, 1, T0, &fx), LAPIC_E_GP);
	assert_int_equal(lapic_msr_write(&l, 0x828, 1, T0, &fx), LAPIC_E_GP);
	assert_int_equal(lapic_msr_write(&l, 0x808, 0x100000010ull, T0, &fx), LAPIC_E_GP);
	assert_int_equal(msr_rd(&l, 0x808), 0);
	assert_int_equal(lapic_msr_write(&l, 0x80f, 1ull << 40, T0, &fx), LAPIC_E_GP);
	assert_int_equal(lapic_msr_write(&l, 0x830, 0x20f0, T0, &fx), LAPIC_E_GP);
	assert_int_equal(lapic_msr_write(&l, 0x830, 0x100f0, T0, &fx), LAPIC_E_GP);
	assert_int_equal(lapic_msr_write(&l, 0x830, 0x1000f0, T0, &fx), LAPIC_E_GP);
	assert_int_equal(lapic_msr_write(&l, 0x830, 0x800000f0, T0, &fx), LAPIC_E_GP);
	assert_false(fx.flags & LAPIC_FX_IPI);
	assert_int_equal(msr_rd(&l, 0x830), 0);

	/* With CMCI the LVT CMCI MSR exists. */
	l.cmci = true;
	assert_int_equal(msr_rd(&l, 0x803), 0x00060014);
	msr_wr(&l, 0x82f, 0x10052);
	assert_int_equal(msr_rd(&l, 0x82f), 0x10052);
}

/* ---- state save/restore, TPR threshold ---- */

static uint32_t st_get(const struct lapic_state *s, uint32_t reg)
{
	uint32_t v;

	memcpy(&v, s->regs + reg, 4);
	return v;
}

static void st_put(struct lapic_state *s, uint32_t reg, uint32_t v)
{
	memcpy(s->regs + reg, &v, 4);
}

/* An APIC with something in every kind of register, a one-shot timer armed. */
static void busy_apic(struct lapic *l)
{
	lapic_reset(l, 3, false);
	wr(l, LAPIC_REG_SVR, 0x1ff);
	wr(l, LAPIC_REG_TPR, 0x20);
	wr(l, LAPIC_REG_LDR, 0x04000000);
	wr(l, LAPIC_REG_ICR_HIGH, 0x05000000);
	wr(l, LAPIC_REG_LVT_LINT0, 0x700);
	wr(l, LAPIC_REG_TIMER_DCR, 0xb);		/* divide by 1 */
	wr(l, LAPIC_REG_LVT_TIMER, 0x30);
	wr(l, LAPIC_REG_TIMER_ICR, 1000);		/* fires at T0 + 1000 */
	assert_true(lapic_accept(l, 0x51, false));
	assert_true(lapic_ack(l, 0x51));
	assert_true(lapic_accept(l, 0x62, true));
}

static void state_round_trip(void **unused)
{
	struct lapic l, r;
	struct lapic_state s;
	uint32_t off;

	(void)unused;
	busy_apic(&l);
	lapic_save(&l, T0 + 400, &s);
	assert_int_equal(st_get(&s, LAPIC_REG_ID), 0x03000000);
	assert_int_equal(st_get(&s, LAPIC_REG_TPR), 0x20);
	assert_int_equal(st_get(&s, LAPIC_REG_PPR), 0x50);
	assert_int_equal(st_get(&s, LAPIC_REG_ISR + 0x20), 1u << 0x11);
	assert_int_equal(st_get(&s, LAPIC_REG_IRR + 0x30), 1u << 2);
	assert_int_equal(st_get(&s, LAPIC_REG_TMR + 0x30), 1u << 2);
	assert_int_equal(st_get(&s, LAPIC_REG_LVT_TIMER), 0x30);
	assert_int_equal(st_get(&s, LAPIC_REG_TIMER_CCR), 600);
	assert_int_equal(st_get(&s, LAPIC_REG_EOI), 0);
	assert_true(s.timer_armed);
	assert_int_equal(s.timer_remaining_ns, 600);
	assert_int_equal(s.apic_base, 0xfee00800);

	/* Into a fresh APIC of the same vCPU, 1 s later: the timer goes on. */
	lapic_reset(&r, 3, false);
	assert_int_equal(lapic_restore(&r, &s, T0 + 1000000000ull, 52), 0);
	for (off = 0x20; off < 0x400; off += 0x10)
		if (off != LAPIC_REG_TIMER_CCR)
			assert_int_equal(rd_at(&r, off, T0 + 1000000000ull),
					 rd_at(&l, off, T0 + 400));
	assert_int_equal(lapic_timer_expiry(&r), T0 + 1000000600ull);
	assert_int_equal(rd_at(&r, LAPIC_REG_TIMER_CCR, T0 + 1000000100ull), 500);
	assert_int_equal(lapic_pending_vector(&r), 0x62);
	assert_int_equal(lapic_timer_expired(&r, T0 + 1000000600ull), 0);
	assert_int_equal(rd(&r, LAPIC_REG_IRR + 0x10), 1u << 0x10);	/* 0x30 raised */
}

static void state_periodic_keeps_period(void **unused)
{
	struct lapic l, r;
	struct lapic_state s;

	(void)unused;
	lapic_reset(&l, 0, true);
	wr(&l, LAPIC_REG_SVR, 0x1ff);
	wr(&l, LAPIC_REG_TIMER_DCR, 0x0);			/* divide by 2 */
	wr(&l, LAPIC_REG_LVT_TIMER, 0x20030);
	wr(&l, LAPIC_REG_TIMER_ICR, 100);			/* period 200 ns */
	assert_int_equal(lapic_timer_expired(&l, T0 + 200), T0 + 400);
	lapic_save(&l, T0 + 250, &s);			/* 50 ns into the 2nd period */
	assert_int_equal(s.timer_remaining_ns, 150);
	lapic_reset(&r, 0, true);
	assert_int_equal(lapic_restore(&r, &s, 5 * T0, 52), 0);
	assert_int_equal(lapic_timer_expiry(&r), 5 * T0 + 150);
	assert_int_equal(lapic_timer_expired(&r, 5 * T0 + 150), 5 * T0 + 350);
}

static void state_x2apic_layout(void **unused)
{
	struct lapic l, r;
	struct lapic_state s;

	(void)unused;
	lapic_reset(&l, 0x1234, false);
	assert_int_equal(lapic_set_base(&l, 0xfee00c00, 52, &fx), 0);
	msr_wr(&l, 0x830, 0x0000abcd000000f0ull);		/* fixed, vector 0xf0 ... */
	lapic_save(&l, T0, &s);
	assert_int_equal(st_get(&s, LAPIC_REG_ID), 0x1234);
	assert_int_equal(st_get(&s, LAPIC_REG_ICR_HIGH), 0xabcd);
	assert_int_equal(st_get(&s, LAPIC_REG_LDR), 0x01230010);
	lapic_reset(&r, 0x1234, false);
	assert_int_equal(lapic_restore(&r, &s, T0, 52), 0);
	assert_true(lapic_x2apic_mode(&r));
	assert_int_equal(msr_rd(&r, 0x802), 0x1234);
	assert_int_equal(msr_rd(&r, 0x80d), 0x01230010);
	assert_int_equal(msr_rd(&r, 0x830), 0x0000abcd000000f0ull);
	/* Another vCPU's x2APIC state: the ID cannot change. */
	lapic_reset(&r, 7, false);
	assert_int_equal(lapic_restore(&r, &s, T0, 52), -EINVAL);
}

static void state_restore_rejects(void **unused)
{
	struct lapic l, before;
	struct lapic_state s, bad;

	(void)unused;
	busy_apic(&l);
	lapic_save(&l, T0, &s);
	lapic_reset(&l, 3, false);
	memcpy(&before, &l, sizeof(l));
#define REJECTED(edit) do { bad = s; edit; \
		assert_int_equal(lapic_restore(&l, &bad, T0, 36), -EINVAL); \
		assert_memory_equal(&l, &before, sizeof(l)); } while (0)
	REJECTED(bad.apic_base |= 1u << 9);			/* reserved bit 9 */
	REJECTED(bad.apic_base |= 0x1);			/* reserved bits 7:0 */
	REJECTED(bad.apic_base |= 1ull << 36);		/* above MAXPHYADDR 36 */
	REJECTED(bad.apic_base = 0xfee00400);			/* EXTD without EN */
	REJECTED(bad.apic_base = 0xfee00000);			/* armed while disabled */
	REJECTED(st_put(&bad, LAPIC_REG_TIMER_ICR, 0));	/* armed with count 0 */
	REJECTED(bad.timer_remaining_ns = 1001);		/* more than a period */
	REJECTED(st_put(&bad, LAPIC_REG_LVT_TIMER, 0x60030));	/* reserved mode */
	REJECTED(st_put(&bad, LAPIC_REG_LVT_TIMER, 0x40030));	/* deadline 0 */
#undef REJECTED
	/* Unarmed, with nothing to check against: accepted, bits masked. */
	bad = s;
	bad.timer_armed = false;
	st_put(&bad, LAPIC_REG_SVR, 0xfffff1ff);
	st_put(&bad, LAPIC_REG_IRR, 0xffffffff);
	assert_int_equal(lapic_restore(&l, &bad, T0, 36), 0);
	assert_int_equal(rd(&l, LAPIC_REG_SVR), 0x1ff);
	assert_int_equal(rd(&l, LAPIC_REG_IRR), 0xffff0000);
	assert_int_equal(lapic_timer_expiry(&l), 0);
}

static void tpr_threshold_tracks_held_class(void **unused)
{
	struct lapic l;

	(void)unused;
	lapic_reset(&l, 0, true);
	wr(&l, LAPIC_REG_SVR, 0x1ff);
	assert_int_equal(lapic_tpr_threshold(&l), 0);		/* nothing pending */
	wr(&l, LAPIC_REG_TPR, 0x50);
	lapic_accept(&l, 0x45, false);
	assert_int_equal(lapic_tpr_threshold(&l), 4);		/* held by TPR */
	lapic_accept(&l, 0x52, false);
	assert_int_equal(lapic_tpr_threshold(&l), 5);		/* same class as TPR: held */
	lapic_accept(&l, 0x61, false);
	assert_int_equal(lapic_tpr_threshold(&l), 0);		/* deliverable now */
	wr(&l, LAPIC_REG_SVR, 0xff);
	assert_int_equal(lapic_tpr_threshold(&l), 0);		/* software-disabled */
}

/* The virtual-APIC page image: each register where the SDM puts it, values as read. */
static void vapic_regs_image(void **unused)
{
	static uint32_t page[1024];
	struct lapic l;

	(void)unused;
	setup(&l, 3);
	wr(&l, LAPIC_REG_TPR, 0x50);
	wr(&l, LAPIC_REG_LDR, 0x04000000);
	wr(&l, LAPIC_REG_LVT_TIMER, 0x20030);
	wr(&l, LAPIC_REG_TIMER_DCR, 0xb);
	wr(&l, LAPIC_REG_TIMER_ICR, 1000);
	wr(&l, LAPIC_REG_ICR_HIGH, 0x02000000);
	lapic_accept(&l, 0x45, false);		/* held by TPR: IRR */
	lapic_accept(&l, 0x61, true);		/* acked below: ISR and TMR */
	assert_true(lapic_ack(&l, 0x61));
	memset(page, 0xa5, sizeof(page));
	lapic_vapic_regs(&l, page);
	assert_int_equal(page[0x020 / 4], 0x03000000);
	assert_int_equal(page[0x030 / 4], rd_at(&l, LAPIC_REG_VERSION, T0));
	assert_int_equal(page[0x080 / 4], 0x50);
	assert_int_equal(page[0x0b0 / 4], 0);
	assert_int_equal(page[0x0d0 / 4], 0x04000000);
	assert_int_equal(page[0x0e0 / 4], 0xffffffff);
	assert_int_equal(page[0x0f0 / 4], 0x1ff);
	assert_int_equal(page[0x120 / 4], 0);
	assert_int_equal(page[0x130 / 4], 1u << 1);	/* ISR: 0x61 */
	assert_int_equal(page[0x1b0 / 4], 1u << 1);	/* TMR: 0x61 level */
	assert_int_equal(page[0x220 / 4], 1u << 5);	/* IRR: 0x45 */
	assert_int_equal(page[0x230 / 4], 0);
	assert_int_equal(page[0x280 / 4], 0);
	assert_int_equal(page[0x310 / 4], 0x02000000);
	assert_int_equal(page[0x320 / 4], 0x20030);
	assert_int_equal(page[0x350 / 4], 0x10000);
	assert_int_equal(page[0x380 / 4], 1000);
	assert_int_equal(page[0x3e0 / 4], 0xb);
	/* Not virtualized (APR, PPR, current count): untouched. */
	assert_int_equal(page[0x090 / 4], 0xa5a5a5a5);
	assert_int_equal(page[0x0a0 / 4], 0xa5a5a5a5);
	assert_int_equal(page[0x390 / 4], 0xa5a5a5a5);
	assert_int_equal(rd_at(&l, LAPIC_REG_ESR, T0), 0);	/* no error from reading */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reset_values),
		cmocka_unit_test(init_keeps_id_and_base),
		cmocka_unit_test(writable_bits_and_read_only),
		cmocka_unit_test(eoi_is_write_only),
		cmocka_unit_test(esr_write_then_read),
		cmocka_unit_test(reserved_and_unaligned),
		cmocka_unit_test(tpr_masks_by_class),
		cmocka_unit_test(priority_order),
		cmocka_unit_test(nested_ack_and_eoi),
		cmocka_unit_test(level_triggered_eoi),
		cmocka_unit_test(illegal_vectors),
		cmocka_unit_test(software_disable),
		cmocka_unit_test(timer_divide_values),
		cmocka_unit_test(timer_current_count),
		cmocka_unit_test(timer_periodic),
		cmocka_unit_test(timer_oneshot_does_not_rearm),
		cmocka_unit_test(timer_masked),
		cmocka_unit_test(timer_mode_change_disarms),
		cmocka_unit_test(timer_tsc_deadline),
		cmocka_unit_test(icr_decode),
		cmocka_unit_test(dest_physical_and_shorthands),
		cmocka_unit_test(dest_logical_flat),
		cmocka_unit_test(dest_logical_cluster),
		cmocka_unit_test(dest_x2apic_cluster),
		cmocka_unit_test(apic_base_transitions),
		cmocka_unit_test(x2apic_register_map),
		cmocka_unit_test(state_round_trip),
		cmocka_unit_test(state_periodic_keeps_period),
		cmocka_unit_test(state_x2apic_layout),
		cmocka_unit_test(state_restore_rejects),
		cmocka_unit_test(tpr_threshold_tracks_held_class),
		cmocka_unit_test(vapic_regs_image),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
