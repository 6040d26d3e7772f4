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
#include "tests/vmm/pio_fixture.h"

struct fx {
	struct pio_fixture io;	/* first: pio_fixture_teardown */
	struct vmm_pit pit;
	int pulses, level;
};

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
	/* 5 s after boot of the host; the PIT reads only the monotonic clock. */
	pio_fixture_init(&f.io, 5000000000ull, 5000000000ll);
	vmm_pit_init(&f.pit, &f.io.clock, fx_raise, &f);
	if (vmm_pit_register(&f.pit, &f.io.bus, NULL))
		return -1;
	*state = &f;
	return 0;
}

/* LSB then MSB, in that order (an expression a | b << 8 has none). */
static uint16_t in16(struct fx *f, unsigned port)
{
	uint8_t lo = inb(&f->io, port);

	return (uint16_t)(lo | inb(&f->io, port) << 8);
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

	outb(&f->io, 0x61, (inb(&f->io, 0x61) & ~0x02) | 0x01);
	outb(&f->io, 0x43, 0xb0);
	outb(&f->io, 0x42, latch & 0xff);
	outb(&f->io, 0x42, latch >> 8);
	t0 = f->io.mono;
	assert_int_equal(inb(&f->io, 0x61) & 0x20, 0);
	f->io.mono = t0 + ticks_ns(latch) - 1000;
	assert_int_equal(inb(&f->io, 0x61) & 0x20, 0);
	f->io.mono = t0 + ticks_ns(latch);
	assert_int_equal(inb(&f->io, 0x61) & 0x20, 0x20);
	f->io.mono = t0 + 3 * ticks_ns(latch);	/* stays high */
	assert_int_equal(inb(&f->io, 0x61) & 0x20, 0x20);
	assert_int_equal(inb(&f->io, 0x61) & 0x03, 0x01);
}

/* arch/x86/kernel/tsc.c: quick_pit_calibrate() reads the MSB unlatched. */
static void pit_linux_quick_calibrate_msb(void **state)
{
	struct fx *f = *state;
	uint64_t t0;
	unsigned i;

	outb(&f->io, 0x61, (inb(&f->io, 0x61) & ~0x02) | 0x01);
	outb(&f->io, 0x43, 0xb0);
	outb(&f->io, 0x42, 0xff);
	outb(&f->io, 0x42, 0xff);
	t0 = f->io.mono;
	for (i = 0; i < 200; i++) {
		uint8_t lsb, msb;
		uint16_t expect;

		f->io.mono = t0 + ticks_ns(i * 256 + 17);
		expect = (uint16_t)(0xffff - (i * 256 + 17));
		lsb = inb(&f->io, 0x42);
		msb = inb(&f->io, 0x42);
		assert_int_equal(lsb, expect & 0xff);
		assert_int_equal(msb, expect >> 8);
	}
}

static void pit_counter_latch_holds_value(void **state)
{
	struct fx *f = *state;

	outb(&f->io, 0x43, 0x34);	/* ch0, lo/hi, mode 2 */
	outb(&f->io, 0x40, 0x00);
	outb(&f->io, 0x40, 0x10);	/* 4096 */
	f->io.mono += ticks_ns(100);
	outb(&f->io, 0x43, 0x00);	/* latch ch0 */
	f->io.mono += ticks_ns(1000);
	outb(&f->io, 0x43, 0x00);	/* ignored: still latched */
	assert_int_equal(in16(f, 0x40), 4096 - 100);
	/* Unlatched now: the live value. */
	assert_int_equal(in16(f, 0x40), 4096 - 1100);
}

static void pit_readback_status_then_count(void **state)
{
	struct fx *f = *state;

	outb(&f->io, 0x43, 0xb0);	/* ch2, lo/hi, mode 0 */
	outb(&f->io, 0x43, 0xc8);	/* read-back status+count of ch2 */
	/* No count yet: null count set, OUT low (mode 0). */
	assert_int_equal(inb(&f->io, 0x42), 0x40 | 0x30);
	(void)inb(&f->io, 0x42);
	(void)inb(&f->io, 0x42);
	outb(&f->io, 0x61, 1);
	outb(&f->io, 0x42, 100);
	outb(&f->io, 0x42, 0);
	f->io.mono += ticks_ns(40);
	outb(&f->io, 0x43, 0xc8);
	assert_int_equal(inb(&f->io, 0x42), 0x30);	/* status: OUT 0, loaded */
	assert_int_equal(inb(&f->io, 0x42), 60);
	assert_int_equal(inb(&f->io, 0x42), 0);
	f->io.mono += ticks_ns(100);
	outb(&f->io, 0x43, 0xe8);	/* status only */
	assert_int_equal(inb(&f->io, 0x42), 0x80 | 0x30);
	outb(&f->io, 0x43, 0xd8);	/* count only */
	assert_int_equal(inb(&f->io, 0x42), (uint8_t)(100 - 140));
}

/* drivers/clocksource/i8253.c: periodic IRQ 0 in mode 2. */
static void pit_mode2_periodic_irq0(void **state)
{
	struct fx *f = *state;
	uint16_t latch = (VMM_PIT_HZ + 500) / 1000;	/* 1 kHz */
	uint64_t t0, next;

	assert_true(vmm_pit_next_irq(&f->pit) == UINT64_MAX);
	outb(&f->io, 0x43, 0x34);
	outb(&f->io, 0x40, latch & 0xff);
	outb(&f->io, 0x40, latch >> 8);
	t0 = f->io.mono;
	next = vmm_pit_next_irq(&f->pit);
	assert_true(next == t0 + ticks_ns(latch));
	assert_int_equal(vmm_pit_tick(&f->pit), 0);
	f->io.mono = next;
	assert_int_equal(vmm_pit_tick(&f->pit), 1);
	assert_int_equal(f->pulses, 1);
	assert_int_equal(f->level, 0);
	assert_true(vmm_pit_next_irq(&f->pit) == t0 + ticks_ns(2 * latch));
	/* Late timer: missed edges coalesce into one pulse. */
	f->io.mono = t0 + ticks_ns(5 * latch) + 10;
	assert_true(vmm_pit_next_irq(&f->pit) == f->io.mono);
	assert_int_equal(vmm_pit_tick(&f->pit), 1);
	assert_int_equal(vmm_pit_tick(&f->pit), 0);
	assert_int_equal(f->pulses, 2);
	assert_true(vmm_pit_next_irq(&f->pit) == t0 + ticks_ns(6 * latch));
	/* OUT low for the last tick of each period. */
	f->io.mono = t0 + ticks_ns(6 * latch - 1);
	assert_int_equal(vmm_pit_out(&f->pit, 0), 0);
	assert_int_equal(vmm_pit_count(&f->pit, 0), 1);
	f->io.mono = t0 + ticks_ns(6 * latch);
	assert_int_equal(vmm_pit_out(&f->pit, 0), 1);
	assert_int_equal(vmm_pit_count(&f->pit, 0), latch);
}

static void pit_mode0_oneshot_irq_once(void **state)
{
	struct fx *f = *state;
	uint64_t t0;

	outb(&f->io, 0x43, 0x30);
	outb(&f->io, 0x40, 0xe8);
	outb(&f->io, 0x40, 0x03);	/* 1000 */
	t0 = f->io.mono;
	assert_int_equal(vmm_pit_out(&f->pit, 0), 0);
	assert_true(vmm_pit_next_irq(&f->pit) == t0 + ticks_ns(1000));
	f->io.mono = t0 + ticks_ns(999);
	assert_int_equal(vmm_pit_tick(&f->pit), 0);
	f->io.mono = t0 + ticks_ns(1000);
	assert_int_equal(vmm_pit_tick(&f->pit), 1);
	f->io.mono = t0 + ticks_ns(200000);
	assert_int_equal(vmm_pit_tick(&f->pit), 0);
	assert_true(vmm_pit_next_irq(&f->pit) == UINT64_MAX);
	assert_int_equal(f->pulses, 1);
	/* Reprogramming arms it again. */
	outb(&f->io, 0x43, 0x30);
	outb(&f->io, 0x40, 10);
	outb(&f->io, 0x40, 0);
	f->io.mono += ticks_ns(10);
	assert_int_equal(vmm_pit_tick(&f->pit), 1);
}

static void pit_mode3_square_wave(void **state)
{
	struct fx *f = *state;
	uint64_t t0;

	outb(&f->io, 0x61, 0x03);
	outb(&f->io, 0x43, 0xb6);	/* ch2, lo/hi, mode 3 (the speaker) */
	outb(&f->io, 0x42, 100);
	outb(&f->io, 0x42, 0);
	t0 = f->io.mono;
	f->io.mono = t0 + ticks_ns(10);
	assert_int_equal(inb(&f->io, 0x61) & 0x20, 0x20);
	f->io.mono = t0 + ticks_ns(49);
	assert_int_equal(inb(&f->io, 0x61) & 0x20, 0x20);
	f->io.mono = t0 + ticks_ns(50);
	assert_int_equal(inb(&f->io, 0x61) & 0x20, 0);
	f->io.mono = t0 + ticks_ns(99);
	assert_int_equal(inb(&f->io, 0x61) & 0x20, 0);
	f->io.mono = t0 + ticks_ns(100);
	assert_int_equal(inb(&f->io, 0x61) & 0x20, 0x20);
	/* Counts down by two within each half. */
	f->io.mono = t0 + ticks_ns(110);
	assert_int_equal(vmm_pit_count(&f->pit, 2), 80);
	/* Gate low: OUT high, stopped; rising: restart. */
	f->io.mono = t0 + ticks_ns(160);
	outb(&f->io, 0x61, 0x02);
	assert_int_equal(inb(&f->io, 0x61) & 0x20, 0x20);
	outb(&f->io, 0x61, 0x03);
	f->io.mono += ticks_ns(50);
	assert_int_equal(inb(&f->io, 0x61) & 0x20, 0);
}

static void pit_gate_low_pauses_mode0(void **state)
{
	struct fx *f = *state;

	outb(&f->io, 0x61, 0x01);
	outb(&f->io, 0x43, 0xb0);
	outb(&f->io, 0x42, 0x00);
	outb(&f->io, 0x42, 0x01);	/* 256 */
	f->io.mono += ticks_ns(56);
	outb(&f->io, 0x61, 0x00);
	assert_int_equal(vmm_pit_count(&f->pit, 2), 200);
	f->io.mono += ticks_ns(10000);
	assert_int_equal(vmm_pit_count(&f->pit, 2), 200);
	assert_int_equal(inb(&f->io, 0x61) & 0x20, 0);
	outb(&f->io, 0x61, 0x01);
	f->io.mono += ticks_ns(200);
	assert_int_equal(inb(&f->io, 0x61) & 0x20, 0x20);
}

static void pit_mode1_waits_for_gate_trigger(void **state)
{
	struct fx *f = *state;

	outb(&f->io, 0x43, 0xb2);	/* ch2 mode 1 */
	outb(&f->io, 0x42, 50);
	outb(&f->io, 0x42, 0);
	f->io.mono += ticks_ns(1000);
	assert_int_equal(vmm_pit_out(&f->pit, 2), 1);
	outb(&f->io, 0x61, 1);	/* trigger */
	assert_int_equal(vmm_pit_out(&f->pit, 2), 0);
	f->io.mono += ticks_ns(50);
	assert_int_equal(vmm_pit_out(&f->pit, 2), 1);
	outb(&f->io, 0x61, 0);
	outb(&f->io, 0x61, 1);	/* retrigger */
	assert_int_equal(vmm_pit_out(&f->pit, 2), 0);
}

static void pit_mode4_strobe(void **state)
{
	struct fx *f = *state;
	uint64_t t0;

	outb(&f->io, 0x43, 0x38);	/* ch0 mode 4 */
	outb(&f->io, 0x40, 20);
	outb(&f->io, 0x40, 0);
	t0 = f->io.mono;
	f->io.mono = t0 + ticks_ns(20);
	assert_int_equal(vmm_pit_out(&f->pit, 0), 0);
	f->io.mono = t0 + ticks_ns(21);
	assert_int_equal(vmm_pit_out(&f->pit, 0), 1);
	assert_int_equal(vmm_pit_tick(&f->pit), 1);
}

static void pit_lsb_msb_only_and_bcd(void **state)
{
	struct fx *f = *state;

	outb(&f->io, 0x43, 0x50);	/* ch1, LSB only, mode 0 */
	outb(&f->io, 0x41, 0x80);
	assert_int_equal(inb(&f->io, 0x41), 0x80);
	outb(&f->io, 0x43, 0x60);	/* ch1, MSB only */
	outb(&f->io, 0x41, 0x02);
	assert_int_equal(inb(&f->io, 0x41), 0x02);
	assert_int_equal(vmm_pit_count(&f->pit, 1), 0x200);
	f->io.mono += ticks_ns(1);
	assert_int_equal(inb(&f->io, 0x41), 0x01);	/* 0x1ff */
	outb(&f->io, 0x43, 0x71);	/* ch1, lo/hi, mode 0, BCD */
	outb(&f->io, 0x41, 0x34);
	outb(&f->io, 0x41, 0x12);	/* 1234 decimal */
	f->io.mono += ticks_ns(35);
	assert_int_equal(inb(&f->io, 0x41), 0x99);
	assert_int_equal(inb(&f->io, 0x41), 0x11);	/* 1199 */
	outb(&f->io, 0x43, 0x71);
	outb(&f->io, 0x41, 0);
	outb(&f->io, 0x41, 0);	/* 0 = 10000 */
	f->io.mono += ticks_ns(1);
	assert_int_equal(vmm_pit_count(&f->pit, 1), 0x9999);
	/* The control port reads as nothing. */
	assert_int_equal(inb(&f->io, 0x43), 0xff);
}

static void pit_zero_count_is_65536(void **state)
{
	struct fx *f = *state;

	outb(&f->io, 0x43, 0x34);
	outb(&f->io, 0x40, 0);
	outb(&f->io, 0x40, 0);
	assert_true(vmm_pit_next_irq(&f->pit) == f->io.mono + ticks_ns(65536));
	f->io.mono += ticks_ns(1);
	assert_int_equal(vmm_pit_count(&f->pit, 0), 65535);
	/* Count 1 is illegal in mode 2; treated as 2, never divides by 0. */
	outb(&f->io, 0x43, 0x34);
	outb(&f->io, 0x40, 1);
	outb(&f->io, 0x40, 0);
	f->io.mono += ticks_ns(7);
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

		f->io.mono += (x >> 16) % 3 ? (x >> 20) : (uint64_t)(x >> 4) << 12;
		if ((x >> 2) & 1)
			assert_int_equal(vmm_bus_read(&f->io.bus, port, 1, &v), 0);
		else
			assert_int_equal(vmm_bus_write(&f->io.bus, port, 1, x >> 24), 0);
		if (i % 5 == 0) {
			vmm_pit_tick(&f->pit);
			(void)vmm_pit_next_irq(&f->pit);
		}
	}
	assert_int_equal(vmm_bus_read(&f->io.bus, 0x40, 4, &v), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, pio_fixture_teardown)

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
