/*
 * vmm_rtc: the Motorola MC146818 real-time clock and CMOS RAM at ports
 * 0x70 (index; bit 7 masks NMI) and 0x71 (data), IRQ 8.
 *
 * Environment: the runner, through the port-I/O bus, serialised by the
 * caller; vmm_rtc_next_event/vmm_rtc_tick from its timer under the same
 * lock.
 *
 * The guest's time is the host's realtime clock plus an offset the guest
 * changes by setting the clock (register B SET, or writing a time register
 * while the clock runs). Time registers are computed on each read in the
 * format register B asks for (BCD or binary, 12 or 24 hour); the clock is
 * UTC, as Linux on x86 expects. Register A's UIP reads set for the last
 * 244 us of each second. The flags of register C (periodic, alarm, update
 * ended) are brought up to date on each read of C and on vmm_rtc_tick; a
 * run of missed periods shows as one.
 */
#ifndef VMM_RTC_H
#define VMM_RTC_H

#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/clock.h"

#define VMM_RTC_BASE	0x70	/* 2 ports */

#define RTC_SECONDS	0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES	0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS	0x04
#define RTC_HOURS_ALARM	0x05
#define RTC_DAY_OF_WEEK	0x06	/* 1 = Sunday */
#define RTC_DAY_OF_MONTH 0x07
#define RTC_MONTH	0x08
#define RTC_YEAR	0x09
#define RTC_REG_A	0x0a
#define RTC_REG_B	0x0b
#define RTC_REG_C	0x0c
#define RTC_REG_D	0x0d
#define RTC_CENTURY	0x32	/* the PC/AT convention, in ACPI FADT too */

#define RTC_A_UIP	0x80
#define RTC_B_SET	0x80
#define RTC_B_PIE	0x40
#define RTC_B_AIE	0x20
#define RTC_B_UIE	0x10
#define RTC_B_SQWE	0x08
#define RTC_B_DM_BINARY	0x04
#define RTC_B_24H	0x02
#define RTC_B_DSE	0x01
#define RTC_C_IRQF	0x80
#define RTC_C_PF	0x40
#define RTC_C_AF	0x20
#define RTC_C_UF	0x10
#define RTC_D_VRT	0x80

struct vmm_rtc_state {
	uint8_t cmos[128];	/* RAM; time registers valid while SET */
	uint8_t index;		/* 0-127 */
	uint8_t nmi_masked;	/* bit 7 of the last index write */
	uint8_t irq_level;
	int64_t offset_ns;	/* guest time - host realtime */
	uint64_t flags_mono;	/* monotonic ns flags are computed up to */
	int64_t flags_sec;	/* guest second flags are computed up to */
};

struct vmm_rtc {
	struct vmm_rtc_state s;
	const struct vmm_clock *clock;
	void (*raise)(void *opaque, int level);	/* IRQ 8; may be NULL */
	void *opaque;
};

extern const struct vmm_dev_ops vmm_rtc_ops;

/* Power-on as a BIOS leaves it: 32.768 kHz divider, rate 6 (1024 Hz),
 * 24-hour BCD, interrupts off, valid RAM and time. */
void vmm_rtc_init(struct vmm_rtc *rtc, const struct vmm_clock *clock,
		  void (*raise)(void *opaque, int level), void *opaque);

int vmm_rtc_register(struct vmm_rtc *rtc, struct vmm_bus *pio,
		     struct vx_err *err);

/* Guest wall time in ns since the epoch (what the registers show). */
int64_t vmm_rtc_guest_time(const struct vmm_rtc *rtc);

/* Monotonic ns when an enabled interrupt flag will next be set, or
 * UINT64_MAX when no interrupt is enabled. */
uint64_t vmm_rtc_next_event(struct vmm_rtc *rtc);

/* Brings register C up to date; raises IRQ 8 when IRQF becomes set.
 * Returns 1 when the line is asserted. */
int vmm_rtc_tick(struct vmm_rtc *rtc);

#endif
