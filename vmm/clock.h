/*
 * vmm_clock: where the device models get the time, so tests can inject it.
 *
 * Environment: the runner; callbacks must be cheap and thread-safe. The
 * timer devices (PIT, RTC) compute their state from the time of each access
 * rather than ticking, so the runner only needs a host timer for interrupts
 * (see vmm_pit_next_event / vmm_rtc_next_event).
 */
#ifndef VMM_CLOCK_H
#define VMM_CLOCK_H

#include <stdint.h>

struct vmm_clock {
	uint64_t (*monotonic_ns)(void *opaque);	/* never goes back */
	int64_t (*realtime_ns)(void *opaque);	/* ns since the Unix epoch, UTC */
	void *opaque;
};

/* CLOCK_MONOTONIC and CLOCK_REALTIME of the host. */
extern const struct vmm_clock vmm_clock_host;

static inline uint64_t vmm_clock_mono(const struct vmm_clock *c)
{
	return c->monotonic_ns(c->opaque);
}

static inline int64_t vmm_clock_real(const struct vmm_clock *c)
{
	return c->realtime_ns(c->opaque);
}

#endif
