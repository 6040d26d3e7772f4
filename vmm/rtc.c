/*
 * vmm_rtc: MC146818 RTC (see rtc.h). Register semantics from the MC146818A
 * data sheet; Linux's users are include/linux/mc146818rtc.h
 * (mc146818_get_time: waits out UIP, reads BCD or binary per register B)
 * and drivers/rtc/rtc-cmos.c.
 */
#include "vmm/rtc.h"

#include <string.h>
#include <time.h>

#define NS_PER_S	1000000000ll
#define UIP_NS		244000ll	/* update cycle is 244 us before it */
#define RTC_MAX_SECS	(1ll << 33)

static int64_t vmm_rtc_floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int64_t vmm_rtc_guest_time(const struct vmm_rtc *rtc)
{
	return vmm_clock_real(rtc->clock) + rtc->s.offset_ns;
}

static int vmm_rtc_binary(const struct vmm_rtc *rtc)
{
	return rtc->s.cmos[RTC_REG_B] & RTC_B_DM_BINARY;
}

static uint8_t vmm_rtc_enc(const struct vmm_rtc *rtc, int v)
{
	if (vmm_rtc_binary(rtc))
		return (uint8_t)v;
	return (uint8_t)((v / 10) << 4 | (v % 10));
}

static int vmm_rtc_dec(const struct vmm_rtc *rtc, uint8_t v)
{
	if (vmm_rtc_binary(rtc))
		return v;
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t vmm_rtc_enc_hour(const struct vmm_rtc *rtc, int h)
{
	int pm;

	if (rtc->s.cmos[RTC_REG_B] & RTC_B_24H)
		return vmm_rtc_enc(rtc, h);
	pm = h >= 12;
	h %= 12;
	return (uint8_t)(vmm_rtc_enc(rtc, h ? h : 12) | (pm ? 0x80 : 0));
}

static int vmm_rtc_dec_hour(const struct vmm_rtc *rtc, uint8_t v)
{
	int h;

	if (rtc->s.cmos[RTC_REG_B] & RTC_B_24H)
		return vmm_rtc_dec(rtc, v);
	h = vmm_rtc_dec(rtc, v & 0x7f) % 12;
	return (v & 0x80) ? h + 12 : h;
}

/* The guest's time into registers 0-9 and the century, per register B. */
static void vmm_rtc_snapshot(struct vmm_rtc *rtc, int64_t secs)
{
	time_t t = (time_t)secs;
	struct tm tm;
	uint8_t *c = rtc->s.cmos;

	gmtime_r(&t, &tm);
	c[RTC_SECONDS] = vmm_rtc_enc(rtc, tm.tm_sec);
	c[RTC_MINUTES] = vmm_rtc_enc(rtc, tm.tm_min);
	c[RTC_HOURS] = vmm_rtc_enc_hour(rtc, tm.tm_hour);
	c[RTC_DAY_OF_WEEK] = vmm_rtc_enc(rtc, tm.tm_wday + 1);
	c[RTC_DAY_OF_MONTH] = vmm_rtc_enc(rtc, tm.tm_mday);
	c[RTC_MONTH] = vmm_rtc_enc(rtc, tm.tm_mon + 1);
	c[RTC_YEAR] = vmm_rtc_enc(rtc, (tm.tm_year + 1900) % 100);
	c[RTC_CENTURY] = vmm_rtc_enc(rtc, (tm.tm_year + 1900) / 100);
}

/* Registers 0-9 and the century back into a time; the clock restarts at
 * the beginning of that second. Out-of-range fields normalise (timegm),
 * as nonsense in a real chip rolls over to something. */
static void vmm_rtc_commit(struct vmm_rtc *rtc)
{
	const uint8_t *c = rtc->s.cmos;
	struct tm tm;
	time_t t;
	int century = vmm_rtc_dec(rtc, c[RTC_CENTURY]);

	if (century < 19 || century > 99)
		century = 20;
	memset(&tm, 0, sizeof(tm));
	tm.tm_sec = vmm_rtc_dec(rtc, c[RTC_SECONDS]);
	tm.tm_min = vmm_rtc_dec(rtc, c[RTC_MINUTES]);
	tm.tm_hour = vmm_rtc_dec_hour(rtc, c[RTC_HOURS]);
	tm.tm_mday = vmm_rtc_dec(rtc, c[RTC_DAY_OF_MONTH]);
	tm.tm_mon = vmm_rtc_dec(rtc, c[RTC_MONTH]) - 1;
	tm.tm_year = century * 100 + vmm_rtc_dec(rtc, c[RTC_YEAR]) - 1900;
	t = timegm(&tm);
	/* Garbage can name a time past what ns in an int64 hold (2262):
	 * keep it between the epoch and 2242. */
	if (t < 0)
		t = 0;
	if (t > RTC_MAX_SECS)
		t = RTC_MAX_SECS;
	rtc->s.offset_ns = (int64_t)t * NS_PER_S - vmm_clock_real(rtc->clock);
	rtc->s.flags_sec = t;
}

static int vmm_rtc_running(const struct vmm_rtc *rtc)
{
	/* Divider 010 (32.768 kHz time base) and not being set. */
	return (rtc->s.cmos[RTC_REG_A] & 0x70) == 0x20 &&
	       !(rtc->s.cmos[RTC_REG_B] & RTC_B_SET);
}

/* Periodic interrupt period in ns, or 0 when rate select is 0. */
static int64_t vmm_rtc_period_ns(const struct vmm_rtc *rtc)
{
	unsigned rs = rtc->s.cmos[RTC_REG_A] & 0x0f;

	if (rs == 0)
		return 0;
	if (rs < 3)
		rs += 7;	/* 1, 2 give 256 and 128 Hz, like 8 and 9 */
	return (int64_t)(NS_PER_S * (1ll << (rs - 1)) / 32768);
}

static int vmm_rtc_alarm_match(const struct vmm_rtc *rtc, int64_t secs)
{
	const uint8_t *c = rtc->s.cmos;
	time_t t = (time_t)secs;
	struct tm tm;

	gmtime_r(&t, &tm);
	/* An alarm byte of 0xc0-0xff matches anything. */
	return (c[RTC_SECONDS_ALARM] >= 0xc0 ||
		c[RTC_SECONDS_ALARM] == vmm_rtc_enc(rtc, tm.tm_sec)) &&
	       (c[RTC_MINUTES_ALARM] >= 0xc0 ||
		c[RTC_MINUTES_ALARM] == vmm_rtc_enc(rtc, tm.tm_min)) &&
	       (c[RTC_HOURS_ALARM] >= 0xc0 ||
		c[RTC_HOURS_ALARM] == vmm_rtc_enc_hour(rtc, tm.tm_hour));
}

static void vmm_rtc_update_irq(struct vmm_rtc *rtc)
{
	int level = (rtc->s.cmos[RTC_REG_C] & RTC_C_IRQF) != 0;

	if (level != rtc->s.irq_level) {
		rtc->s.irq_level = (uint8_t)level;
		if (rtc->raise)
			rtc->raise(rtc->opaque, level);
	}
}

/* Sets PF, UF and AF for what happened since the last update. */
static void vmm_rtc_update_flags(struct vmm_rtc *rtc)
{
	uint64_t now = vmm_clock_mono(rtc->clock);
	int64_t period = vmm_rtc_period_ns(rtc), sec;
	uint8_t *c = rtc->s.cmos, b = c[RTC_REG_B];

	if (period && (c[RTC_REG_A] & 0x70) == 0x20 &&
	    now / (uint64_t)period > rtc->s.flags_mono / (uint64_t)period)
		c[RTC_REG_C] |= RTC_C_PF;
	rtc->s.flags_mono = now;

	sec = vmm_rtc_floor_div(vmm_rtc_guest_time(rtc), NS_PER_S);
	if (vmm_rtc_running(rtc) && sec > rtc->s.flags_sec) {
		c[RTC_REG_C] |= RTC_C_UF;
		if (vmm_rtc_alarm_match(rtc, sec))
			c[RTC_REG_C] |= RTC_C_AF;
	}
	rtc->s.flags_sec = sec;

	if (c[RTC_REG_C] & b & (RTC_C_PF | RTC_C_AF | RTC_C_UF))
		c[RTC_REG_C] |= RTC_C_IRQF;
	vmm_rtc_update_irq(rtc);
}

void vmm_rtc_init(struct vmm_rtc *rtc, const struct vmm_clock *clock,
		  void (*raise)(void *opaque, int level), void *opaque)
{
	memset(rtc, 0, sizeof(*rtc));
	rtc->clock = clock ? clock : &vmm_clock_host;
	rtc->raise = raise;
	rtc->opaque = opaque;
	rtc->s.cmos[RTC_REG_A] = 0x26;
	rtc->s.cmos[RTC_REG_B] = RTC_B_24H;
	rtc->s.cmos[RTC_REG_D] = RTC_D_VRT;
	rtc->s.flags_mono = vmm_clock_mono(rtc->clock);
	rtc->s.flags_sec = vmm_rtc_floor_div(vmm_rtc_guest_time(rtc),
					     NS_PER_S);
	vmm_rtc_snapshot(rtc, rtc->s.flags_sec);
}

static int vmm_rtc_is_time_reg(unsigned i)
{
	return i == RTC_SECONDS || i == RTC_MINUTES || i == RTC_HOURS ||
	       (i >= RTC_DAY_OF_WEEK && i <= RTC_YEAR) || i == RTC_CENTURY;
}

static uint8_t vmm_rtc_read_data(struct vmm_rtc *rtc)
{
	unsigned i = rtc->s.index;
	uint8_t v;
	int64_t t;

	switch (i) {
	case RTC_REG_A:
		v = rtc->s.cmos[i] & 0x7f;
		t = vmm_rtc_guest_time(rtc);
		if (vmm_rtc_running(rtc) &&
		    t - vmm_rtc_floor_div(t, NS_PER_S) * NS_PER_S >=
			    NS_PER_S - UIP_NS)
			v |= RTC_A_UIP;
		return v;
	case RTC_REG_C:
		vmm_rtc_update_flags(rtc);
		v = rtc->s.cmos[i];
		rtc->s.cmos[i] = 0;
		vmm_rtc_update_irq(rtc);
		return v;
	case RTC_REG_D:
		return RTC_D_VRT;
	default:
		if (vmm_rtc_is_time_reg(i) && vmm_rtc_running(rtc))
			vmm_rtc_snapshot(rtc, vmm_rtc_floor_div(
						 vmm_rtc_guest_time(rtc),
						 NS_PER_S));
		return rtc->s.cmos[i];
	}
}

static void vmm_rtc_write_data(struct vmm_rtc *rtc, uint8_t v)
{
	unsigned i = rtc->s.index;
	uint8_t old;

	switch (i) {
	case RTC_REG_A:
		vmm_rtc_update_flags(rtc);
		rtc->s.cmos[i] = v & 0x7f;
		break;
	case RTC_REG_B:
		old = rtc->s.cmos[i];
		if (!(old & RTC_B_SET) && (v & RTC_B_SET) &&
		    vmm_rtc_running(rtc)) {
			/* Freeze: the registers hold the time as of now. */
			vmm_rtc_snapshot(rtc, vmm_rtc_floor_div(
						 vmm_rtc_guest_time(rtc),
						 NS_PER_S));
			v &= (uint8_t)~RTC_B_UIE;
		}
		rtc->s.cmos[i] = v;
		if ((old & RTC_B_SET) && !(v & RTC_B_SET))
			vmm_rtc_commit(rtc);
		vmm_rtc_update_flags(rtc);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break;	/* read-only */
	default:
		if (vmm_rtc_is_time_reg(i) && vmm_rtc_running(rtc)) {
			/* Setting one field of a running clock. */
			vmm_rtc_snapshot(rtc, vmm_rtc_floor_div(
						 vmm_rtc_guest_time(rtc),
						 NS_PER_S));
			rtc->s.cmos[i] = v;
			vmm_rtc_commit(rtc);
		} else {
			rtc->s.cmos[i] = v;
		}
		break;
	}
}

static uint64_t vmm_rtc_read(void *opaque, uint64_t offset, unsigned size)
{
	struct vmm_rtc *rtc = opaque;

	(void)size;
	if (offset == 0)
		return 0xff;	/* the index register is write-only */
	return vmm_rtc_read_data(rtc);
}

static void vmm_rtc_write(void *opaque, uint64_t offset, unsigned size,
			  uint64_t val)
{
	struct vmm_rtc *rtc = opaque;

	(void)size;
	if (offset == 0) {
		rtc->s.index = val & 0x7f;
		rtc->s.nmi_masked = (val & 0x80) != 0;
	} else {
		vmm_rtc_write_data(rtc, (uint8_t)val);
	}
}

const struct vmm_dev_ops vmm_rtc_ops = {
	.read = vmm_rtc_read,
	.write = vmm_rtc_write,
	.width = 1,
};

int vmm_rtc_register(struct vmm_rtc *rtc, struct vmm_bus *pio,
		     struct vx_err *err)
{
	return vmm_bus_register(pio, VMM_RTC_BASE, 2, &vmm_rtc_ops, rtc,
				"mc146818", err);
}

uint64_t vmm_rtc_next_event(struct vmm_rtc *rtc)
{
	uint8_t b = rtc->s.cmos[RTC_REG_B];
	uint64_t now = vmm_clock_mono(rtc->clock), next = UINT64_MAX;
	int64_t period = vmm_rtc_period_ns(rtc), t;

	if (rtc->s.cmos[RTC_REG_C] & RTC_C_IRQF)
		return UINT64_MAX;	/* nothing new until C is read */
	if ((b & RTC_B_PIE) && period && (rtc->s.cmos[RTC_REG_A] & 0x70) == 0x20)
		next = (now / (uint64_t)period + 1) * (uint64_t)period;
	if ((b & (RTC_B_UIE | RTC_B_AIE)) && vmm_rtc_running(rtc)) {
		t = vmm_rtc_guest_time(rtc);
		t = NS_PER_S - (t - vmm_rtc_floor_div(t, NS_PER_S) * NS_PER_S);
		if (now + (uint64_t)t < next)
			next = now + (uint64_t)t;
	}
	return next;
}

int vmm_rtc_tick(struct vmm_rtc *rtc)
{
	vmm_rtc_update_flags(rtc);
	return rtc->s.irq_level;
}
