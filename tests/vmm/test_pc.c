/* Unit tests for vmm/pc.c: the port map, each device's IRQ through the
 * PIC to a vector, and a guest writing garbage to every port at every
 * size against the whole board. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/pc.h"

struct fx {
	struct vmm_pc pc;
	struct vmm_clock clock;
	uint64_t ns;
	int resets, intr, intr_calls, bytes;
};

static uint64_t fake_mono(void *opaque)
{
	return ((struct fx *)opaque)->ns;
}

static int64_t fake_real(void *opaque)
{
	return 1764000000ll * 1000000000ll + (int64_t)((struct fx *)opaque)->ns;
}

static void on_intr(void *opaque, int level)
{
	struct fx *f = opaque;

	f->intr = level;
	f->intr_calls++;
}

static void on_reset(void *opaque)
{
	((struct fx *)opaque)->resets++;
}

static void on_console(void *opaque, uint8_t byte)
{
	(void)byte;
	((struct fx *)opaque)->bytes++;
}

static struct fx *fx_new(void)
{
	static struct fx f;
	struct vmm_pc_cb cb = { on_intr, on_reset, on_console, &f };

	memset(&f, 0, sizeof(f));
	f.clock = (struct vmm_clock){ fake_mono, fake_real, &f };
	assert_int_equal(vmm_pc_init(&f.pc, &f.clock, &cb, NULL), 0);
	return &f;
}

static void pc_port_map(void **state)
{
	struct fx *f = fx_new();
	static const struct { uint16_t port; const char *name; } map[] = {
		{ 0x20, "i8259-master" }, { 0x21, "i8259-master" },
		{ 0xa0, "i8259-slave" }, { 0xa1, "i8259-slave" },
		{ 0x4d0, "elcr" }, { 0x4d1, "elcr" },
		{ 0x40, "i8254" }, { 0x43, "i8254" }, { 0x60, "i8042" },
		{ 0x61, "port-b" }, { 0x64, "i8042" }, { 0x70, "mc146818" },
		{ 0x71, "mc146818" }, { 0x3f8, "uart16550" },
		{ 0x3ff, "uart16550" },
	};
	static const uint16_t holes[] = { 0x1f, 0x22, 0x44, 0x62, 0x63,
					  0x65, 0x72, 0x80, 0x9f, 0xa2,
					  0x2f8, 0x3f7, 0x400, 0x4cf, 0x4d2,
					  0xcf8 };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		const struct vmm_bus_range *r = vmm_bus_find(&f->pc.pio,
							     map[i].port);

		assert_non_null(r);
		assert_string_equal(r->name, map[i].name);
	}
	for (i = 0; i < sizeof(holes) / sizeof(holes[0]); i++)
		assert_null(vmm_bus_find(&f->pc.pio, holes[i]));
	vmm_pc_destroy(&f->pc);
}

static void out(struct fx *f, unsigned port, uint8_t v)
{
	assert_int_equal(vmm_bus_write(&f->pc.pio, port, 1, v), 0);
}

/* arch/x86/kernel/i8259.c: init_8259A() (vectors 0x30, 0x38), then the
 * board's device IRQs unmasked. */
static void linux_init_pic(struct fx *f)
{
	out(f, 0x21, 0xff);
	out(f, 0xa1, 0xff);
	out(f, 0x20, 0x11);
	out(f, 0x21, 0x30);
	out(f, 0x21, 0x04);
	out(f, 0x21, 0x01);
	out(f, 0xa0, 0x11);
	out(f, 0xa1, 0x38);
	out(f, 0xa1, 0x02);
	out(f, 0xa1, 0x01);
	out(f, 0x21, 0xe8);	/* IRQ 0, 1, 2, 4 */
	out(f, 0xa1, 0xf6);	/* IRQ 8, 11 */
}

/* The run loop's part: INT is up, take the vector, then the guest's
 * handler EOIs as Linux does (specific, slave first). */
static int take(struct fx *f)
{
	int vector;

	assert_int_equal(f->intr, 1);
	assert_int_equal(vmm_pic_pending(&f->pc.pic), 1);
	vector = vmm_pc_ack(&f->pc);
	if (vector >= 0x38) {
		out(f, 0xa0, PIC_OCW2_SEOI | (vector & 7));
		out(f, 0x20, PIC_OCW2_SEOI | VMM_PIC_CASCADE_IRQ);
	} else {
		out(f, 0x20, PIC_OCW2_SEOI | (vector & 7));
	}
	return vector;
}

static void pc_devices_reach_callbacks(void **state)
{
	struct fx *f = fx_new();
	uint64_t v;

	(void)state;
	assert_int_equal(vmm_bus_write(&f->pc.pio, 0x3f8, 1, 'A'), 0);
	assert_int_equal(f->bytes, 1);
	assert_int_equal(vmm_bus_write(&f->pc.pio, 0x64, 1, 0xfe), 0);
	assert_int_equal(f->resets, 1);
	assert_int_equal(f->intr_calls, 0);
	linux_init_pic(f);
	assert_int_equal(f->intr, 0);
	/* COM1 THRE interrupt with OUT2: IRQ 4. */
	vmm_bus_write(&f->pc.pio, 0x3fc, 1, UART_MCR_OUT2);
	vmm_bus_write(&f->pc.pio, 0x3f9, 1, UART_IER_THRI);
	assert_int_equal(take(f), 0x34);
	assert_int_equal(f->intr, 0);
	vmm_bus_write(&f->pc.pio, 0x3f9, 1, 0);
	/* PIT channel 0 mode 2: IRQ 0. */
	vmm_bus_write(&f->pc.pio, 0x43, 1, 0x34);
	vmm_bus_write(&f->pc.pio, 0x40, 1, 100);
	vmm_bus_write(&f->pc.pio, 0x40, 1, 0);
	f->ns += 1000000;
	assert_int_equal(f->intr, 0);
	assert_int_equal(vmm_pit_tick(&f->pc.pit), 1);
	assert_int_equal(take(f), 0x30);
	assert_int_equal(f->intr, 0);
	/* RTC update interrupt: IRQ 8, through the slave. */
	vmm_bus_write(&f->pc.pio, 0x70, 1, RTC_REG_B);
	vmm_bus_write(&f->pc.pio, 0x71, 1, RTC_B_24H | RTC_B_UIE);
	f->ns += 1000000000;
	assert_int_equal(vmm_rtc_tick(&f->pc.rtc), 1);
	assert_int_equal(take(f), 0x38);
	assert_int_equal(f->intr, 0);
	vmm_bus_write(&f->pc.pio, 0x71, 1, RTC_B_24H);
	vmm_bus_write(&f->pc.pio, 0x70, 1, RTC_REG_C);
	vmm_bus_read(&f->pc.pio, 0x71, 1, &v);
	/* Keyboard byte: IRQ 1. */
	vmm_bus_write(&f->pc.pio, 0x60, 1, 0xf4);
	assert_int_equal(take(f), 0x31);
	assert_int_equal(vmm_bus_read(&f->pc.pio, 0x60, 1, &v), 0);
	assert_int_equal(v, 0xfe);
	/* A later device's level line (PCI INTx on IRQ 11 by ELCR). */
	out(f, 0x4d1, 0x08);
	vmm_pc_set_irq(&f->pc, 11, 1);
	assert_int_equal(vmm_pc_ack(&f->pc), 0x3b);
	vmm_pc_set_irq(&f->pc, 11, 0);
	out(f, 0xa0, PIC_OCW2_SEOI | 3);
	out(f, 0x20, PIC_OCW2_SEOI | 2);
	assert_int_equal(f->intr, 0);
	vmm_pc_destroy(&f->pc);
}

/* Every port, sizes 1/2/4, read and write of changing values, with time
 * moving and the timers polled: the runner survives and the device state
 * stays within its bounds (ASan/UBSan make this the real check). */
static void pc_every_port_every_size_garbage(void **state)
{
	struct fx *f = fx_new();
	static const unsigned sizes[3] = { 1, 2, 4 };
	uint32_t x = 1;
	unsigned port, s;
	uint64_t v;
	int pass;

	(void)state;
	for (pass = 0; pass < 2; pass++)
		for (port = 0; port < 0x10000; port++)
			for (s = 0; s < 3; s++) {
				if (port + sizes[s] > 0x10000)
					continue;
				x = x * 1103515245u + 12345u;
				f->ns += x >> 12;
				assert_int_equal(vmm_bus_read(&f->pc.pio, port, sizes[s], &v), 0);
				if (sizes[s] < 4)
					assert_true(v < (1ull << (8 * sizes[s])));
				assert_int_equal(vmm_bus_write(&f->pc.pio, port, sizes[s],
							       pass ? x : v), 0);
				if ((port & 0xff) == 0) {
					vmm_pit_tick(&f->pc.pit);
					vmm_rtc_tick(&f->pc.rtc);
				}
				assert_int_equal(f->intr, vmm_pic_pending(&f->pc.pic));
				if (f->intr && (x & 0x100))
					assert_true(vmm_pc_ack(&f->pc) <= 0xff);
			}
	assert_true(f->pc.com1.s.rx_count <= VMM_UART_FIFO_SIZE);
	assert_true(f->pc.rtc.s.index < 128);
	vmm_pc_destroy(&f->pc);
}

/* With an IOAPIC attached, each ISA line reaches the pin the MADT names:
 * the PIT (IRQ 0) pin 2, COM1 pin 4, the RTC pin 8; the PIC still sees
 * them; IRQ 2 (cascade) and lines past 15 reach no pin. */
struct io_seen {
	int pins[VMM_IOAPIC_PINS];
};

static void io_deliver(void *opaque, const struct vmm_ioapic_msg *msg)
{
	((struct io_seen *)opaque)->pins[msg->pin]++;
}

static void pc_isa_lines_reach_ioapic_pins(void **state)
{
	struct fx *f = fx_new();
	static struct io_seen seen;
	static struct vmm_ioapic io;

	(void)state;
	memset(&seen, 0, sizeof(seen));
	vmm_ioapic_init(&io, io_deliver, &seen);
	for (int pin = 0; pin < VMM_IOAPIC_PINS; pin++)
		io.rte[pin] = 0x30u + (unsigned)pin;	/* unmasked, edge */
	vmm_pc_attach_ioapic(&f->pc, &io);
	for (int irq = 0; irq < 18; irq++) {
		vmm_pc_set_irq(&f->pc, irq, 1);
		vmm_pc_set_irq(&f->pc, irq, 0);
	}
	assert_int_equal(seen.pins[0], 0);
	assert_int_equal(seen.pins[2], 1);	/* IRQ 0; IRQ 2 reached nothing */
	assert_int_equal(seen.pins[4], 1);
	assert_int_equal(seen.pins[8], 1);
	assert_int_equal(seen.pins[15], 1);
	assert_int_equal(seen.pins[16], 0);
	assert_int_equal(io.sent, 15);		/* 0, 1, 3..15 */
	vmm_pc_destroy(&f->pc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pc_port_map),
		cmocka_unit_test(pc_devices_reach_callbacks),
		cmocka_unit_test(pc_every_port_every_size_garbage),
		cmocka_unit_test(pc_isa_lines_reach_ioapic_pins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
