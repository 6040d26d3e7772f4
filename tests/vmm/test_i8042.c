/* Unit tests for vmm/i8042.c, through the bus as Linux's i8042 and reboot
 * code drive it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/bus.h"
#include "vmm/i8042.h"
#include "tests/vmm/pio_fixture.h"

struct fx {
	struct pio_fixture io;	/* first: pio_fixture_teardown */
	struct vmm_i8042 kbc;
	int resets, level;
};

static void fx_reset(void *opaque)
{
	((struct fx *)opaque)->resets++;
}

static void fx_raise(void *opaque, int level)
{
	((struct fx *)opaque)->level = level;
}

static int fx_setup(void **state)
{
	static struct fx f;
	struct vmm_i8042_cb cb = { fx_reset, fx_raise, &f };

	memset(&f, 0, sizeof(f));
	pio_fixture_init(&f.io, 0, 0);
	vmm_i8042_init(&f.kbc, &cb);
	if (vmm_i8042_register(&f.kbc, &f.io.bus, NULL))
		return -1;
	*state = &f;
	return 0;
}

/* Linux i8042_command(): wait IBF clear, write, wait OBF, read. */
static int cmd(struct fx *f, uint8_t c, const uint8_t *param, uint8_t *ans)
{
	assert_int_equal(inb(&f->io, 0x64) & I8042_STR_IBF, 0);
	outb(&f->io, 0x64, c);
	if (param)
		outb(&f->io, 0x60, *param);
	if (!ans)
		return 0;
	if (!(inb(&f->io, 0x64) & I8042_STR_OBF))
		return -1;
	*ans = inb(&f->io, 0x60);
	return 0;
}

static void i8042_status_port_present(void **state)
{
	struct fx *f = *state;
	uint8_t st = inb(&f->io, 0x64);

	assert_int_not_equal(st, 0xff);		/* i8042_controller_check */
	assert_int_equal(st & I8042_STR_OBF, 0);	/* flush finds nothing */
	assert_true(st & I8042_STR_SYS);
	/* Port 0x61-0x63 are not ours. */
	assert_null(vmm_bus_find(&f->io.bus, 0x61));
	assert_null(vmm_bus_find(&f->io.bus, 0x63));
}

static void i8042_self_test_answers_55(void **state)
{
	struct fx *f = *state;
	uint8_t a;

	assert_int_equal(cmd(f, 0xaa, NULL, &a), 0);
	assert_int_equal(a, 0x55);
	assert_int_equal(inb(&f->io, 0x64) & I8042_STR_OBF, 0);
	assert_int_equal(cmd(f, 0xab, NULL, &a), 0);
	assert_int_equal(a, 0x00);
}

static void i8042_command_byte_roundtrip(void **state)
{
	struct fx *f = *state;
	uint8_t a, ctr = 0x65;

	assert_int_equal(cmd(f, 0x20, NULL, &a), 0);
	assert_int_equal(a, 0x45);
	assert_int_equal(cmd(f, 0x60, &ctr, NULL), 0);
	assert_int_equal(cmd(f, 0x20, NULL, &a), 0);
	assert_int_equal(a, 0x65);
	cmd(f, 0xa8, NULL, NULL);
	cmd(f, 0xae, NULL, NULL);
	assert_int_equal(cmd(f, 0x20, NULL, &a), 0);
	assert_int_equal(a, 0x45);
	cmd(f, 0xa7, NULL, NULL);
	cmd(f, 0xad, NULL, NULL);
	assert_int_equal(cmd(f, 0x20, NULL, &a), 0);
	assert_int_equal(a, 0x75);
}

static void i8042_pulse_reset_calls_back(void **state)
{
	struct fx *f = *state;
	uint8_t a, outp = 0x02;

	outb(&f->io, 0x64, 0xfe);	/* arch/x86/kernel/reboot.c: BOOT_KBD */
	assert_int_equal(f->resets, 1);
	outb(&f->io, 0x64, 0xff);	/* pulses nothing */
	outb(&f->io, 0x64, 0xfd);	/* pulses bit 1 (A20), not reset */
	assert_int_equal(f->resets, 1);
	assert_int_equal(cmd(f, 0xd0, NULL, &a), 0);
	assert_true(a & 0x01);
	cmd(f, 0xd1, &outp, NULL);	/* reset line low */
	assert_int_equal(f->resets, 2);
}

static void i8042_no_aux_port(void **state)
{
	struct fx *f = *state;
	uint8_t a, p = 0x5a;

	/* i8042_check_aux: loopback byte is not flagged as AUX data ... */
	outb(&f->io, 0x64, 0xd3);
	outb(&f->io, 0x60, p);
	assert_true(inb(&f->io, 0x64) & I8042_STR_OBF);
	assert_int_equal(inb(&f->io, 0x64) & I8042_STR_AUXDATA, 0);
	assert_int_equal(inb(&f->io, 0x60), 0x5a);
	/* ... and the AUX interface test fails. */
	assert_int_equal(cmd(f, 0xa9, NULL, &a), 0);
	assert_true(a != 0 && a != 0xfa && a != 0xff);
}

static void i8042_keyboard_bytes_time_out_with_irq(void **state)
{
	struct fx *f = *state;

	outb(&f->io, 0x60, 0xf2);	/* atkbd GETID */
	assert_int_equal(inb(&f->io, 0x64) & (I8042_STR_OBF | I8042_STR_TIMEOUT),
			 I8042_STR_OBF | I8042_STR_TIMEOUT);
	assert_int_equal(f->level, 1);
	assert_int_equal(inb(&f->io, 0x60), 0xfe);
	assert_int_equal(f->level, 0);
	assert_int_equal(inb(&f->io, 0x64) & I8042_STR_OBF, 0);
	/* With keyboard interrupts off, no IRQ. */
	uint8_t ctr = 0x44;

	cmd(f, 0x60, &ctr, NULL);
	outb(&f->io, 0x60, 0xff);
	assert_int_equal(f->level, 0);
	assert_int_equal(inb(&f->io, 0x60), 0xfe);
}

static void i8042_garbage_is_harmless(void **state)
{
	struct fx *f = *state;
	uint32_t x = 7;
	uint64_t v;
	unsigned i;

	for (i = 0; i < 20000; i++) {
		x = x * 1103515245u + 12345u;
		unsigned port = (x >> 9) & 1 ? 0x64 : 0x60;

		if ((x >> 3) & 1)
			assert_int_equal(vmm_bus_read(&f->io.bus, port, 1 << ((x >> 12) % 3), &v), 0);
		else if ((uint8_t)(x >> 16) < 0xf0 || (x >> 16) & 1)
			assert_int_equal(vmm_bus_write(&f->io.bus, port, 1, x >> 16), 0);
	}
	assert_int_equal(vmm_bus_read(&f->io.bus, 0x60, 4, &v), 0);
	assert_int_equal((v >> 8) & 0xff, 0xff);	/* 0x61: nobody */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, pio_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(i8042_status_port_present),
		T(i8042_self_test_answers_55),
		T(i8042_command_byte_roundtrip),
		T(i8042_pulse_reset_calls_back),
		T(i8042_no_aux_port),
		T(i8042_keyboard_bytes_time_out_with_irq),
		T(i8042_garbage_is_harmless),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
