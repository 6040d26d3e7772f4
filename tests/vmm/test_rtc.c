/* Unit tests for vmm/rtc.c with an injected clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "vmm/bus.h"
#include "vmm/rtc.h"
#include "tests/vmm/pio_fixture.h"

#define S 1000000000ll

struct fx {
	struct pio_fixture io;	/* first: pio_fixture_teardown */
	struct vmm_rtc rtc;
	int level, raises;
};

static void fx_raise(void *opaque, int level)
{
	struct fx *f = opaque;

	f->level = level;
	f->raises += level;
}

/* 2026-11-25 12:34:56.5 UTC, a Wednesday. */
static int64_t when(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi, .tm_sec = s };

	return (int64_t)timegm(&tm) * S;
}

static int fx_setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	pio_fixture_init(&f.io, 1000 * S, when(2026, 11, 25, 12, 34, 56) + S / 2);
	vmm_rtc_init(&f.rtc, &f.io.clock, fx_raise, &f);
	if (vmm_rtc_register(&f.rtc, &f.io.bus, NULL))
		return -1;
	*state = &f;
	return 0;
}

static uint8_t rd(struct fx *f, uint8_t reg)
{
	outb(&f->io, 0x70, reg);
	return inb(&f->io, 0x71);
}

static void wr(struct fx *f, uint8_t reg, uint8_t v)
{
	outb(&f->io, 0x70, reg);
	outb(&f->io, 0x71, v);
}

static void rtc_reads_bcd_time(void **state)
{
	struct fx *f = *state;

	assert_int_equal(rd(f, RTC_SECONDS), 0x56);
	assert_int_equal(rd(f, RTC_MINUTES), 0x34);
	assert_int_equal(rd(f, RTC_HOURS), 0x12);
	assert_int_equal(rd(f, RTC_DAY_OF_WEEK), 4);
	assert_int_equal(rd(f, RTC_DAY_OF_MONTH), 0x25);
	assert_int_equal(rd(f, RTC_MONTH), 0x11);
	assert_int_equal(rd(f, RTC_YEAR), 0x26);
	assert_int_equal(rd(f, RTC_CENTURY), 0x20);
	assert_int_equal(rd(f, RTC_REG_A), 0x26);
	assert_int_equal(rd(f, RTC_REG_B), RTC_B_24H);
	assert_int_equal(rd(f, RTC_REG_D), RTC_D_VRT);
}

static void rtc_time_advances(void **state)
{
	struct fx *f = *state;

	pio_clock_advance(&f->io, 65 * S);
	assert_int_equal(rd(f, RTC_SECONDS), 0x01);
	assert_int_equal(rd(f, RTC_MINUTES), 0x36);
	pio_clock_advance(&f->io, 12 * 3600 * S);	/* past midnight, new day */
	assert_int_equal(rd(f, RTC_HOURS), 0x00);
	assert_int_equal(rd(f, RTC_DAY_OF_MONTH), 0x26);
	assert_int_equal(rd(f, RTC_DAY_OF_WEEK), 5);
}

static void rtc_binary_and_12_hour_modes(void **state)
{
	struct fx *f = *state;

	wr(f, RTC_REG_B, RTC_B_DM_BINARY | RTC_B_24H);
	assert_int_equal(rd(f, RTC_SECONDS), 56);
	assert_int_equal(rd(f, RTC_YEAR), 26);
	assert_int_equal(rd(f, RTC_CENTURY), 20);
	wr(f, RTC_REG_B, RTC_B_DM_BINARY);	/* 12 hour */
	assert_int_equal(rd(f, RTC_HOURS), 0x80 | 12);	/* 12 PM */
	wr(f, RTC_REG_B, 0);			/* BCD 12 hour */
	pio_clock_advance(&f->io, 12 * 3600 * S);		/* 00:34 */
	assert_int_equal(rd(f, RTC_HOURS), 0x12);	/* 12 AM */
	pio_clock_advance(&f->io, 13 * 3600 * S);		/* 13:34 */
	assert_int_equal(rd(f, RTC_HOURS), 0x81);
}

/* include/linux/mc146818rtc.h: mc146818_set_time(). */
static void rtc_set_time_with_set_bit(void **state)
{
	struct fx *f = *state;
	uint8_t b = rd(f, RTC_REG_B);

	wr(f, RTC_REG_B, b | RTC_B_SET);
	pio_clock_advance(&f->io, 5 * S);	/* frozen while SET */
	assert_int_equal(rd(f, RTC_SECONDS), 0x56);
	assert_int_equal(rd(f, RTC_REG_A) & RTC_A_UIP, 0);
	wr(f, RTC_YEAR, 0x99);
	wr(f, RTC_MONTH, 0x12);
	wr(f, RTC_DAY_OF_MONTH, 0x31);
	wr(f, RTC_HOURS, 0x23);
	wr(f, RTC_MINUTES, 0x59);
	wr(f, RTC_SECONDS, 0x50);
	wr(f, RTC_CENTURY, 0x19);
	wr(f, RTC_REG_B, b);
	pio_clock_advance(&f->io, 12 * S);
	assert_int_equal(rd(f, RTC_SECONDS), 0x02);
	assert_int_equal(rd(f, RTC_MINUTES), 0x00);
	assert_int_equal(rd(f, RTC_HOURS), 0x00);
	assert_int_equal(rd(f, RTC_DAY_OF_MONTH), 0x01);
	assert_int_equal(rd(f, RTC_MONTH), 0x01);
	assert_int_equal(rd(f, RTC_YEAR), 0x00);
	assert_int_equal(rd(f, RTC_CENTURY), 0x20);
	assert_true(vmm_rtc_guest_time(&f->rtc) / S ==
		    when(2000, 1, 1, 0, 0, 2) / S);
}

static void rtc_write_field_of_running_clock(void **state)
{
	struct fx *f = *state;

	wr(f, RTC_MINUTES, 0x00);
	assert_int_equal(rd(f, RTC_MINUTES), 0x00);
	assert_int_equal(rd(f, RTC_HOURS), 0x12);
	pio_clock_advance(&f->io, 3 * S);
	assert_int_equal(rd(f, RTC_SECONDS), 0x59);
	pio_clock_advance(&f->io, 1 * S);
	assert_int_equal(rd(f, RTC_MINUTES), 0x01);
}

static void rtc_uip_before_each_second(void **state)
{
	struct fx *f = *state;

	assert_int_equal(rd(f, RTC_REG_A) & RTC_A_UIP, 0);
	pio_clock_advance(&f->io, S / 2 - 100000);	/* 100 us before the tick */
	assert_int_equal(rd(f, RTC_REG_A), RTC_A_UIP | 0x26);
	pio_clock_advance(&f->io, 100000);
	assert_int_equal(rd(f, RTC_REG_A) & RTC_A_UIP, 0);
	assert_int_equal(rd(f, RTC_SECONDS), 0x57);
	/* Divider held in reset: no updates, no UIP. */
	wr(f, RTC_REG_A, 0x76);
	pio_clock_advance(&f->io, S - 1000);
	assert_int_equal(rd(f, RTC_REG_A) & RTC_A_UIP, 0);
}

static void rtc_update_interrupt(void **state)
{
	struct fx *f = *state;
	uint64_t next;

	assert_true(vmm_rtc_next_event(&f->rtc) == UINT64_MAX);
	assert_int_equal(rd(f, RTC_REG_C), 0);
	wr(f, RTC_REG_B, RTC_B_24H | RTC_B_UIE);
	next = vmm_rtc_next_event(&f->rtc);
	assert_true(next == f->io.mono + S / 2);
	pio_clock_advance(&f->io, S / 2 - 1);
	assert_int_equal(vmm_rtc_tick(&f->rtc), 0);
	pio_clock_advance(&f->io, 1);
	assert_int_equal(vmm_rtc_tick(&f->rtc), 1);
	assert_int_equal(f->level, 1);
	assert_true(vmm_rtc_next_event(&f->rtc) == UINT64_MAX);
	/* PF is set at its rate whether or not PIE lets it interrupt. */
	assert_int_equal(rd(f, RTC_REG_C) & ~RTC_C_PF, RTC_C_IRQF | RTC_C_UF);
	assert_int_equal(f->level, 0);
	assert_int_equal(rd(f, RTC_REG_C), 0);
}

static void rtc_periodic_interrupt(void **state)
{
	struct fx *f = *state;
	uint64_t next, period = 976562;	/* 1024 Hz */

	wr(f, RTC_REG_B, RTC_B_24H | RTC_B_PIE);
	next = vmm_rtc_next_event(&f->rtc);
	assert_true(next > f->io.mono && next - f->io.mono <= period);
	f->io.mono = next;
	assert_int_equal(vmm_rtc_tick(&f->rtc), 1);
	assert_int_equal(rd(f, RTC_REG_C), RTC_C_IRQF | RTC_C_PF);
	/* Rate 15: 2 Hz. */
	wr(f, RTC_REG_A, 0x2f);
	next = vmm_rtc_next_event(&f->rtc);
	assert_true(next - f->io.mono <= S / 2);
	f->io.mono += S / 2;
	assert_int_equal(rd(f, RTC_REG_C) & RTC_C_PF, RTC_C_PF);
	/* Rate 0: no periodic interrupt. */
	wr(f, RTC_REG_A, 0x20);
	assert_true(vmm_rtc_next_event(&f->rtc) == UINT64_MAX);
	f->io.mono += S;
	assert_int_equal(rd(f, RTC_REG_C) & RTC_C_PF, 0);
}

static void rtc_alarm_interrupt(void **state)
{
	struct fx *f = *state;

	wr(f, RTC_SECONDS_ALARM, 0x58);
	wr(f, RTC_MINUTES_ALARM, 0xc0);	/* any minute */
	wr(f, RTC_HOURS_ALARM, 0x12);
	wr(f, RTC_REG_B, RTC_B_24H | RTC_B_AIE);
	pio_clock_advance(&f->io, S);			/* :57 */
	assert_int_equal(vmm_rtc_tick(&f->rtc), 0);
	assert_int_equal(rd(f, RTC_REG_C) & ~RTC_C_PF, RTC_C_UF);
	pio_clock_advance(&f->io, S);			/* :58 */
	assert_int_equal(vmm_rtc_tick(&f->rtc), 1);
	assert_int_equal(rd(f, RTC_REG_C) & ~RTC_C_PF,
			 RTC_C_IRQF | RTC_C_AF | RTC_C_UF);
}

static void rtc_cmos_ram_and_nmi_bit(void **state)
{
	struct fx *f = *state;
	uint64_t v;

	wr(f, 0x80 | 0x40, 0xab);
	assert_int_equal(f->rtc.s.nmi_masked, 1);
	assert_int_equal(f->rtc.s.index, 0x40);
	assert_int_equal(rd(f, 0x40), 0xab);
	assert_int_equal(f->rtc.s.nmi_masked, 0);
	wr(f, 0x7f, 0x11);
	assert_int_equal(rd(f, 0xff), 0x11);	/* index wraps to 7 bits */
	wr(f, RTC_REG_D, 0);
	assert_int_equal(rd(f, RTC_REG_D), RTC_D_VRT);
	wr(f, RTC_REG_C, 0xff);
	assert_int_equal(rd(f, RTC_REG_C), 0);
	assert_int_equal(vmm_bus_read(&f->io.bus, 0x70, 1, &v), 0);
	assert_int_equal(v, 0xff);
}

static void rtc_garbage_is_harmless(void **state)
{
	struct fx *f = *state;
	uint32_t x = 11;
	uint64_t v;
	unsigned i;

	for (i = 0; i < 50000; i++) {
		x = x * 1103515245u + 12345u;
		unsigned port = 0x70 + ((x >> 7) & 1);

		pio_clock_advance(&f->io, (x >> 12) % 3 ? (x >> 16) : (int64_t)(x >> 8) * 1000);
		if ((x >> 3) & 1)
			assert_int_equal(vmm_bus_read(&f->io.bus, port, 1, &v), 0);
		else if ((x >> 5) & 1)
			assert_int_equal(vmm_bus_write(&f->io.bus, 0x70, 1, (x >> 20) % 16), 0);
		else
			assert_int_equal(vmm_bus_write(&f->io.bus, port, 1, x >> 24), 0);
		if (i % 9 == 0) {
			vmm_rtc_tick(&f->rtc);
			(void)vmm_rtc_next_event(&f->rtc);
		}
		assert_true(vmm_rtc_guest_time(&f->rtc) >= 0);
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, pio_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(rtc_reads_bcd_time),
		T(rtc_time_advances),
		T(rtc_binary_and_12_hour_modes),
		T(rtc_set_time_with_set_bit),
		T(rtc_write_field_of_running_clock),
		T(rtc_uip_before_each_second),
		T(rtc_update_interrupt),
		T(rtc_periodic_interrupt),
		T(rtc_alarm_interrupt),
		T(rtc_cmos_ram_and_nmi_bit),
		T(rtc_garbage_is_harmless),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
