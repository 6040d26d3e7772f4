/* vmm_clock: the host clocks (see clock.h). */
#include "vmm/clock.h"

#include <time.h>

static uint64_t vmm_clock_host_mono(void *opaque)
{
	struct timespec ts;

	(void)opaque;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int64_t vmm_clock_host_real(void *opaque)
{
	struct timespec ts;

	(void)opaque;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

const struct vmm_clock vmm_clock_host = {
	.monotonic_ns = vmm_clock_host_mono,
	.realtime_ns = vmm_clock_host_real,
	.opaque = 0,
};
