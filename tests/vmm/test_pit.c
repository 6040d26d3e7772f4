/* Unit tests for vmm/pit.c with an injected clock: the sequences Linux's
 * TSC calibration and clockevent code use, latches, read-back, modes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/bus.h"
#include "vmm/pit.h"

struct fx {
	struct vmm_bus bus;
	struct vmm_pit pit;
	struct vmm_clock clock;
	uint64_t ns;
	int pulses, level;
};

static uint64_t fake_mono(void *opaque)
{
	return ((struct fx *)opaque)->ns;
}

static int64_t fake_real(void *opaque)
{
	return (int64_t)((struct fx *)opaque)->ns;
}

static void fx_raise(void *opaque, int level)
{
	struct fx *f = opaque;

	if (level && !f->level)
		f->pulses++;
	f->level = level;
}

static int fx_setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.ns = 5000000000ull;	/* 5 s after boot of the host */
	f.clock = (struct vmm_clock){ fake_mono, fake_real, &f };
	vmm_bus_init(&f.bus, VMM_BUS_PIO);
	vmm_pit_init(&f.pit, &f.clock, fx_raise, &f);
	if (vmm_pit_register(&f.pit, &f.bus, NULL))
		return -1;
	*state = &f;
	return 0;
}

static int fx_teardown(void **state)
{
	vmm_bus_destroy(&((struct fx *)*state)->bus);
	return 0;
}

static uint8_t in(struct fx *f, unsigned port)
{
	uint64_t v;

	assert_int_equal(vmm_bus_read(&f->bus, port, 1, &v), 0);
	return (uint8_t)v;
}

static void out(struct fx *f, unsigned port, uint8_t v)
{
	assert_int_equal(vmm_bus_write(&f->bus, port, 1, v), 0);
}

/* LSB then MSB, in that order (an expression a | b << 8 has none). */
static uint16_t in16(struct fx *f, unsigned port)
{
	uint8_t lo = in(f, port);

	return (uint16_t)(lo | in(f, port) << 8);
}

/* ns for t ticks, rounded up so that exactly t ticks have elapsed. */
static uint64_t ticks_ns(uint64_t t)
{
	return (t * 1000000000ull + VMM_PIT_HZ - 1) / VMM_PIT_HZ;
}

/* arch/x86/kernel/tsc.c: pit_calibrate_tsc(). */
static void pit_linux_calibrate_tsc_polls_out2(void **state)
{
	struct fx *f = *state;
	uint16_t latch = VMM_PIT_HZ / 20;	/* 50 ms */
	uint64_t t0;

	out(f, 0x61, (in(f, 0x61) & ~0x02) | 0x01);
	out(f, 0x43, 0xb0);
	out(f, 0x42, latch & 0xff);
	out(f, 0x42, latch >> 8);
	t0 = f->ns;
	assert_int_equal(in(f, 0x61) & 0x20, 0);
	f->ns = t0 + ticks_ns(latch) - 1000;
	assert_int_equal(in(f, 0x61) & 0x20, 0);
	f->ns = t0 + ticks_ns(latch);
	assert_int_equal(in(f, 0x61) & 0x20, 0x20);
	f->ns = t0 + 3 * ticks_ns(latch);	/* stays high */
	assert_int_equal(in(f, 0x61) & 0x20, 0x20);
	assert_int_equal(in(f, 0x61) & 0x03, 0x01);
}

/* arch/x86/kernel/tsc.c: quick_pit_calibrate() reads the MSB unlatched. */
static void pit_linux_quick_calibrate_msb(void **state)
{
	struct fx *f = *state;
	uint64_t t0;
	unsigned i;

	out(f, 0x61, (in(f, 0x61) & ~0x02) | 0x01);
	out(f, 0x43, 0xb0);
	out(f, 0x42, 0xff);
	out(f, 0x42, 0xff);
	t0 = f->ns;
	for (i = 0; i < 200; i++) {
		uint8_t lsb, msb;
		uint16_t expect;

		f->ns = t0 + ticks_ns(i * 256 + 17);
		expect = (uint16_t)(0xffff - (i * 256 + 17));
		lsb = in(f, 0x42);
		msb = in(f, 0x42);
		assert_int_equal(lsb, expect & 0xff);
		assert_int_equal(msb, expect >> 8);
	}
}

static void pit_counter_latch_holds_value(void **state)
{
	struct fx *f = *state;

	out(f, 0x43, 0x34);	/* ch0, lo/hi, mode 2 */
	out(f, 0x40, 0x00);
	out(f, 0x40, 0x10);	/* 4096 */
	f->ns += ticks_ns(100);
	out(f, 0x43, 0x00);	/* latch ch0 */
	f->ns += ticks_ns(1000);
	out(f, 0x43, 0x00);	/* ignored: still latched */
	assert_int_equal(in16(f, 0x40), 4096 - 100);
	/* Unlatched now: the live value. */
	assert_int_equal(in16(f, 0x40), 4096 - 1100);
}

static void pit_readback_status_then_count(void **state)
{
	struct fx *f = *state;

	out(f, 0x43, 0xb0);	/* ch2, lo/hi, mode 0 */
	out(f, 0x43, 0xc8);	/* read-back status+count of ch2 */
	/* No count yet: null count set, OUT low (mode 0). */
	assert_int_equal(in(f, 0x42), 0x40 | 0x30);
	(void)in(f, 0x42);
	(void)in(f, 0x42);
	out(f, 0x61, 1);
	out(f, 0x42, 100);
	out(f, 0x42, 0);
	f->ns += ticks_ns(40);
	out(f, 0x43, 0xc8);
	assert_int_equal(in(f, 0x42), 0x30);	/* status: OUT 0, loaded */
	assert_int_equal(in(f, 0x42), 60);
	assert_int_equal(in(f, 0x42), 0);
	f->ns += ticks_ns(100);
	out(f, 0x43, 0xe8);	/* status only */
	assert_int_equal(in(f, 0x42), 0x80 | 0x30);
	out(f, 0x43, 0xd8);	/* count only */
	assert_int_equal(in(f, 0x42), (uint8_t)(100 - 140));
}

/* drivers/clocksource/i8253.c: periodic IRQ 0 in mode 2. */
static void pit_mode2_periodic_irq0(void **state)
{
	struct fx *f = *state;
	uint16_t latch = (VMM_PIT_HZ + 500) / 1000;	/* 1 kHz */
	uint64_t t0, next;

	assert_true(vmm_pit_next_irq(&f->pit) == UINT64_MAX);
	out(f, 0x43, 0x34);
	out(f, 0x40, latch & 0xff);
	out(f, 0x40, latch >> 8);
	t0 = f->ns;
	next = vmm_pit_next_irq(&f->pit);
	assert_true(next == t0 + ticks_ns(latch));
	assert_int_equal(vmm_pit_tick(&f->pit), 0);
	f->ns = next;
	assert_int_equal(vmm_pit_tick(&f->pit), 1);
	assert_int_equal(f->pulses, 1);
	assert_int_equal(f->level, 0);
	assert_true(vmm_pit_next_irq(&f->pit) == t0 + ticks_ns(2 * latch));
	/* Late timer: missed edges coalesce into one pulse. */
	f->ns = t0 + ticks_ns(5 * latch) + 10;
	assert_true(vmm_pit_next_irq(&f->pit) == f->ns);
	assert_int_equal(vmm_pit_tick(&f->pit), 1);
	assert_int_equal(vmm_pit_tick(&f->pit), 0);
	assert_int_equal(f->pulses, 2);
	assert_true(vmm_pit_next_irq(&f->pit) == t0 + ticks_ns(6 * latch));
	/* OUT low for the last tick of each period. */
	f->ns = t0 + ticks_ns(6 * latch - 1);
	assert_int_equal(vmm_pit_out(&f->pit, 0), 0);
	assert_int_equal(vmm_pit_count(&f->pit, 0), 1);
	f->ns = t0 + ticks_ns(6 * latch);
	assert_int_equal(vmm_pit_out(&f->pit, 0), 1);
	assert_int_equal(vmm_pit_count(&f->pit, 0), latch);
}

static void pit_mode0_oneshot_irq_once(void **state)
{
	struct fx *f = *state;
	uint64_t t0;

	out(f, 0x43, 0x30);
	out(f, 0x40, 0xe8);
	out(f, 0x40, 0x03);	/* 1000 */
	t0 = f->ns;
	assert_int_equal(vmm_pit_out(&f->pit, 0), 0);
	assert_true(vmm_pit_next_irq(&f->pit) == t0 + ticks_ns(1000));
	f->ns = t0 + ticks_ns(999);
	assert_int_equal(vmm_pit_tick(&f->pit), 0);
	f->ns = t0 + ticks_ns(1000);
	assert_int_equal(vmm_pit_tick(&f->pit), 1);
	f->ns = t0 + ticks_ns(200000);
	assert_int_equal(vmm_pit_tick(&f->pit), 0);
	assert_true(vmm_pit_next_irq(&f->pit) == UINT64_MAX);
	assert_int_equal(f->pulses, 1);
	/* Reprogramming arms it again. */
	out(f, 0x43, 0x30);
	out(f, 0x40, 10);
	out(f, 0x40, 0);
	f->ns += ticks_ns(10);
	assert_int_equal(vmm_pit_tick(&f->pit), 1);
}

static void pit_mode3_square_wave(void **state)
{
	struct fx *f = *state;
	uint64_t t0;

	out(f, 0x61, 0x03);
	out(f, 0x43, 0xb6);	/* ch2, lo/hi, mode 3 (the speaker) */
	out(f, 0x42, 100);
	out(f, 0x42, 0);
	t0 = f->ns;
	f->ns = t0 + ticks_ns(10);
	assert_int_equal(in(f, 0x61) & 0x20, 0x20);
	f->ns = t0 + ticks_ns(49);
	assert_int_equal(in(f, 0x61) & 0x20, 0x20);
	f->ns = t0 + ticks_ns(50);
	assert_int_equal(in(f, 0x61) & 0x20, 0);
	f->ns = t0 + ticks_ns(99);
	assert_int_equal(in(f, 0x61) & 0x20, 0);
	f->ns = t0 + ticks_ns(100);
	assert_int_equal(in(f, 0x61) & 0x20, 0x20);
	/* Counts down by two within each half. */
	f->ns = t0 + ticks_ns(110);
	assert_int_equal(vmm_pit_count(&f->pit, 2), 80);
	/* Gate low: OUT high, stopped; rising: restart. */
	f->ns = t0 + ticks_ns(160);
	out(f, 0x61, 0x02);
	assert_int_equal(in(f, 0x61) & 0x20, 0x20);
	out(f, 0x61, 0x03);
	f->ns += ticks_ns(50);
	assert_int_equal(in(f, 0x61) & 0x20, 0);
}

static void pit_gate_low_pauses_mode0(void **state)
{
	struct fx *f = *state;

	out(f, 0x61, 0x01);
	out(f, 0x43, 0xb0);
	out(f, 0x42, 0x00);
	out(f, 0x42, 0x01);	/* 256 */
	f->ns += ticks_ns(56);
	out(f, 0x61, 0x00);
	assert_int_equal(vmm_pit_count(&f->pit, 2), 200);
	f->ns += ticks_ns(10000);
	assert_int_equal(vmm_pit_count(&f->pit, 2), 200);
	assert_int_equal(in(f, 0x61) & 0x20, 0);
	out(f, 0x61, 0x01);
	f->ns += ticks_ns(200);
	assert_int_equal(in(f, 0x61) & 0x20, 0x20);
}

static void pit_mode1_waits_for_gate_trigger(void **state)
{
	struct fx *f = *state;

	out(f, 0x43, 0xb2);	/* ch2 mode 1 */
	out(f, 0x42, 50);
	out(f, 0x42, 0);
	f->ns += ticks_ns(1000);
	assert_int_equal(vmm_pit_out(&f->pit, 2), 1);
	out(f, 0x61, 1);	/* trigger */
	assert_int_equal(vmm_pit_out(&f->pit, 2), 0);
	f->ns += ticks_ns(50);
	assert_int_equal(vmm_pit_out(&f->pit, 2), 1);
	out(f, 0x61, 0);
	out(f, 0x61, 1);	/* retrigger */
	assert_int_equal(vmm_pit_out(&f->pit, 2), 0);
}

static void pit_mode4_strobe(void **state)
{
	struct fx *f = *state;
	uint64_t t0;

	out(f, 0x43, 0x38);	/* ch0 mode 4 */
	out(f, 0x40, 20);
	out(f, 0x40, 0);
	t0 = f->ns;
	f->ns = t0 + ticks_ns(20);
	assert_int_equal(vmm_pit_out(&f->pit, 0), 0);
	f->ns = t0 + ticks_ns(21);
	assert_int_equal(vmm_pit_out(&f->pit, 0), 1);
	assert_int_equal(vmm_pit_tick(&f->pit), 1);
}

static void pit_lsb_msb_only_and_bcd(void **state)
{
	struct fx *f = *state;

	out(f, 0x43, 0x50);	/* ch1, LSB only, mode 0 */
	out(f, 0x41, 0x80);
	assert_int_equal(in(f, 0x41), 0x80);
	out(f, 0x43, 0x60);	/* ch1, MSB only */
	out(f, 0x41, 0x02);
	assert_int_equal(in(f, 0x41), 0x02);
	assert_int_equal(vmm_pit_count(&f->pit, 1), 0x200);
	f->ns += ticks_ns(1);
	assert_int_equal(in(f, 0x41), 0x01);	/* 0x1ff */
	out(f, 0x43, 0x71);	/* ch1, lo/hi, mode 0, BCD */
	out(f, 0x41, 0x34);
	out(f, 0x41, 0x12);	/* 1234 decimal */
	f->ns += ticks_ns(35);
	assert_int_equal(in(f, 0x41), 0x99);
	assert_int_equal(in(f, 0x41), 0x11);	/* 1199 */
	out(f, 0x43, 0x71);
	out(f, 0x41, 0);
	out(f, 0x41, 0);	/* 0 = 10000 */
	f->ns += ticks_ns(1);
	assert_int_equal(vmm_pit_count(&f->pit, 1), 0x9999);
	/* The control port reads as nothing. */
	assert_int_equal(in(f, 0x43), 0xff);
}

static void pit_zero_count_is_65536(void **state)
{
	struct fx *f = *state;

	out(f, 0x43, 0x34);
	out(f, 0x40, 0);
	out(f, 0x40, 0);
	assert_true(vmm_pit_next_irq(&f->pit) == f->ns + ticks_ns(65536));
	f->ns += ticks_ns(1);
	assert_int_equal(vmm_pit_count(&f->pit, 0), 65535);
	/* Count 1 is illegal in mode 2; treated as 2, never divides by 0. */
	out(f, 0x43, 0x34);
	out(f, 0x40, 1);
	out(f, 0x40, 0);
	f->ns += ticks_ns(7);
	assert_true(vmm_pit_count(&f->pit, 0) >= 1);
}

static void pit_garbage_is_harmless(void **state)
{
	struct fx *f = *state;
	static const unsigned ports[] = { 0x40, 0x41, 0x42, 0x43, 0x61 };
	uint32_t x = 3;
	uint64_t v;
	unsigned i;

	for (i = 0; i < 50000; i++) {
		x = x * 1103515245u + 12345u;
		unsigned port = ports[(x >> 8) % 5];

		f->ns += (x >> 16) % 3 ? (x >> 20) : (uint64_t)(x >> 4) << 12;
		if ((x >> 2) & 1)
			assert_int_equal(vmm_bus_read(&f->bus, port, 1, &v), 0);
		else
			assert_int_equal(vmm_bus_write(&f->bus, port, 1, x >> 24), 0);
		if (i % 5 == 0) {
			vmm_pit_tick(&f->pit);
			(void)vmm_pit_next_irq(&f->pit);
		}
	}
	assert_int_equal(vmm_bus_read(&f->bus, 0x40, 4, &v), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(pit_linux_calibrate_tsc_polls_out2),
		T(pit_linux_quick_calibrate_msb),
		T(pit_counter_latch_holds_value),
		T(pit_readback_status_then_count),
		T(pit_mode2_periodic_irq0),
		T(pit_mode0_oneshot_irq_once),
		T(pit_mode3_square_wave),
		T(pit_gate_low_pauses_mode0),
		T(pit_mode1_waits_for_gate_trigger),
		T(pit_mode4_strobe),
		T(pit_lsb_msb_only_and_bcd),
		T(pit_zero_count_is_65536),
		T(pit_garbage_is_harmless),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
