/*
 * pio_fixture: what the port-I/O device tests stand on (test_pic, test_pit,
 * test_i8042, test_rtc, test_acpi, test_pci): a port bus, a clock the test
 * sets by hand, and in/out helpers that fail the test when the bus refuses
 * an access. A test's fixture holds one as its first member, so that
 * pio_fixture_teardown can serve as its cmocka teardown.
 */
#ifndef TESTS_VMM_PIO_FIXTURE_H
#define TESTS_VMM_PIO_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vmm/bus.h"
#include "vmm/clock.h"

struct pio_fixture {
	struct vmm_bus bus;		/* VMM_BUS_PIO */
	struct vmm_clock clock;		/* reads mono and real below */
	uint64_t mono;			/* ns; the test moves it */
	int64_t real;			/* ns since the Unix epoch, UTC */
};

static inline uint64_t pio_fake_mono(void *opaque)
{
	return ((struct pio_fixture *)opaque)->mono;
}

static inline int64_t pio_fake_real(void *opaque)
{
	return ((struct pio_fixture *)opaque)->real;
}

static inline void pio_fixture_init(struct pio_fixture *io, uint64_t mono, int64_t real)
{
	vmm_bus_init(&io->bus, VMM_BUS_PIO);
	io->clock = (struct vmm_clock){ pio_fake_mono, pio_fake_real, io };
	io->mono = mono;
	io->real = real;
}

/* For a fixture whose first member is its pio_fixture (C11 6.7.2.1). */
static inline int pio_fixture_teardown(void **state)
{
	vmm_bus_destroy(&((struct pio_fixture *)*state)->bus);
	return 0;
}

/* Both clocks: time passes alike for the host and the guest. */
static inline void pio_clock_advance(struct pio_fixture *io, int64_t ns)
{
	io->mono += (uint64_t)ns;
	io->real += ns;
}

static inline uint64_t pio_in(struct pio_fixture *io, unsigned port, unsigned size)
{
	uint64_t v;

	assert_int_equal(vmm_bus_read(&io->bus, port, size, &v), 0);
	return v;
}

static inline void pio_out(struct pio_fixture *io, unsigned port, unsigned size,
			   uint64_t v)
{
	assert_int_equal(vmm_bus_write(&io->bus, port, size, v), 0);
}

static inline uint8_t inb(struct pio_fixture *io, unsigned port)
{
	return (uint8_t)pio_in(io, port, 1);
}

static inline uint16_t inw(struct pio_fixture *io, unsigned port)
{
	return (uint16_t)pio_in(io, port, 2);
}

static inline uint32_t inl(struct pio_fixture *io, unsigned port)
{
	return (uint32_t)pio_in(io, port, 4);
}

static inline void outb(struct pio_fixture *io, unsigned port, uint8_t v)
{
	pio_out(io, port, 1, v);
}

static inline void outw(struct pio_fixture *io, unsigned port, uint16_t v)
{
	pio_out(io, port, 2, v);
}

static inline void outl(struct pio_fixture *io, unsigned port, uint32_t v)
{
	pio_out(io, port, 4, v);
}

#endif
