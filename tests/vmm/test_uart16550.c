/* Unit tests for vmm/uart16550.c, driven through the port-I/O bus the way
 * Linux's 8250 driver probes and uses a COM port. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/bus.h"
#include "vmm/uart16550.h"

#define COM1 VMM_UART_COM1_BASE

struct fx {
	struct vmm_bus bus;
	struct vmm_uart uart;
	int level, nraise;
	uint8_t out[512];
	size_t nout;
};

static void fx_raise(void *opaque, int level)
{
	struct fx *f = opaque;

	f->level = level;
	f->nraise++;
}

static void fx_sink(void *opaque, uint8_t byte)
{
	struct fx *f = opaque;

	if (f->nout < sizeof(f->out))
		f->out[f->nout++] = byte;
}

static int fx_setup(void **state)
{
	static struct fx f;
	struct vmm_uart_cb cb = { fx_raise, fx_sink, &f };

	memset(&f, 0, sizeof(f));
	vmm_bus_init(&f.bus, VMM_BUS_PIO);
	vmm_uart_init(&f.uart, &cb);
	if (vmm_uart_register(&f.uart, &f.bus, COM1, NULL))
		return -1;
	*state = &f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	vmm_bus_destroy(&f->bus);
	return 0;
}

static uint8_t in(struct fx *f, unsigned reg)
{
	uint64_t v;

	assert_int_equal(vmm_bus_read(&f->bus, COM1 + reg, 1, &v), 0);
	return (uint8_t)v;
}

static void out(struct fx *f, unsigned reg, uint8_t v)
{
	assert_int_equal(vmm_bus_write(&f->bus, COM1 + reg, 1, v), 0);
}

/* drivers/tty/serial/8250/8250_port.c: autoconfig() and friends. */
static void uart_linux_autoconfig_finds_16550a(void **state)
{
	struct fx *f = *state;
	uint8_t s1, s2, s3;

	/* Scratch register (autoconfig_8250 / the "is it there" test). */
	out(f, UART_SCR, 0xa5);
	assert_int_equal(in(f, UART_SCR), 0xa5);
	out(f, UART_SCR, 0x5a);
	assert_int_equal(in(f, UART_SCR), 0x5a);

	/* IER: 0 reads 0, 0x0f reads 0x0f. */
	out(f, UART_IER, 0);
	s2 = in(f, UART_IER) & 0x0f;
	out(f, UART_IER, 0x0f);
	s3 = in(f, UART_IER) & 0x0f;
	out(f, UART_IER, 0);
	assert_int_equal(s2, 0);
	assert_int_equal(s3, 0x0f);

	/* Loopback: MCR = LOOP | RTS | OUT2 gives CTS | DCD. */
	out(f, UART_MCR, UART_MCR_LOOP | 0x0a);
	s1 = in(f, UART_MSR) & 0xf0;
	assert_int_equal(s1, 0x90);
	out(f, UART_MCR, 0);

	/* EFR dance: LCR 0xbf, EFR (offset 2) write lands in FCR. */
	out(f, UART_LCR, 0xbf);
	out(f, 2, 0);
	out(f, UART_LCR, 0);
	out(f, UART_FCR, UART_FCR_ENABLE);
	assert_int_equal(in(f, UART_IIR) >> 6, 3);	/* 16550A */

	/* autoconfig_16550a: EFR reads under DLAB are not 0 (they are IIR). */
	out(f, UART_LCR, 0x80);
	assert_int_not_equal(in(f, 2), 0);
	out(f, UART_LCR, 0xbf);
	assert_int_not_equal(in(f, 2), 0);

	/* Divisor id: writes and reads DLL/DLM. */
	out(f, UART_LCR, 0x80);
	out(f, UART_DLL, 0);
	out(f, UART_DLM, 0);
	assert_int_equal(in(f, UART_DLL), 0);
	assert_int_equal(in(f, UART_DLM), 0);

	/* Not a 16750: FCR bit 5 never shows as IIR bit 5. */
	out(f, UART_LCR, 0);
	out(f, UART_FCR, UART_FCR_ENABLE | 0x20);
	s1 = in(f, UART_IIR) >> 5;
	out(f, UART_FCR, UART_FCR_ENABLE);
	out(f, UART_LCR, 0x80);
	out(f, UART_FCR, UART_FCR_ENABLE | 0x20);
	s2 = in(f, UART_IIR) >> 5;
	out(f, UART_LCR, 0);
	assert_int_equal(s1, 6);
	assert_int_equal(s2, 6);

	/* Not an XScale: IER bit 6 does not stick. */
	out(f, UART_IER, 0x40);
	assert_int_equal(in(f, UART_IER) & 0x40, 0);
	out(f, UART_IER, 0);
}

static void uart_dlab_switches_divisor_latch(void **state)
{
	struct fx *f = *state;

	out(f, UART_LCR, UART_LCR_DLAB | 0x03);
	out(f, UART_DLL, 0x01);		/* 115200 baud */
	out(f, UART_DLM, 0x00);
	out(f, UART_LCR, 0x03);		/* 8N1 */
	assert_int_equal(f->uart.s.dll, 1);
	assert_int_equal(f->uart.s.dlm, 0);
	assert_int_equal(in(f, UART_LCR), 0x03);
	assert_int_equal(in(f, UART_IER), 0);
	out(f, UART_THR, 'x');		/* not DLL any more */
	assert_int_equal(f->nout, 1);
	assert_int_equal(f->uart.s.dll, 1);
}

static void uart_transmit_goes_to_sink(void **state)
{
	struct fx *f = *state;
	const char *msg = "Linux version 6.1\r\n";
	size_t i;

	out(f, UART_LCR, 0x03);
	for (i = 0; msg[i]; i++) {
		assert_true(in(f, UART_LSR) & UART_LSR_THRE);
		out(f, UART_THR, (uint8_t)msg[i]);
	}
	assert_int_equal(in(f, UART_LSR) & 0x60, 0x60);
	assert_int_equal(f->nout, strlen(msg));
	assert_memory_equal(f->out, msg, strlen(msg));
}

static void uart_receive_fifo_and_rx_interrupt(void **state)
{
	struct fx *f = *state;
	uint8_t buf[20];
	size_t i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)('a' + i);
	/* Non-FIFO mode holds one byte. */
	assert_int_equal(vmm_uart_rx_space(&f->uart), 1);
	assert_int_equal(vmm_uart_push(&f->uart, buf, 3), 1);
	assert_int_equal(in(f, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	assert_int_equal(in(f, UART_RBR), 'a');
	assert_int_equal(in(f, UART_LSR) & UART_LSR_DR, 0);

	/* FIFO, trigger 8, RX interrupt, OUT2 to let it out. */
	out(f, UART_FCR, UART_FCR_ENABLE | UART_FCR_CLR_RX | 0x80);
	out(f, UART_MCR, UART_MCR_OUT2 | UART_MCR_DTR | UART_MCR_RTS);
	out(f, UART_IER, UART_IER_RDI);
	assert_int_equal(f->level, 0);
	assert_int_equal(in(f, UART_IIR), 0xc1);
	assert_int_equal(vmm_uart_push(&f->uart, buf, 20), 16);
	assert_int_equal(vmm_uart_rx_space(&f->uart), 0);
	assert_int_equal(f->level, 1);
	assert_int_equal(in(f, UART_IIR), 0xc0 | UART_IIR_RDI);
	for (i = 0; i < 10; i++)
		assert_int_equal(in(f, UART_RBR), 'a' + i);
	/* 6 left, below the trigger: character timeout. */
	assert_int_equal(in(f, UART_IIR), 0xc0 | UART_IIR_CTI);
	for (; i < 16; i++)
		assert_int_equal(in(f, UART_RBR), 'a' + i);
	assert_int_equal(in(f, UART_IIR), 0xc1);
	assert_int_equal(f->level, 0);
	assert_int_equal(in(f, UART_LSR) & UART_LSR_OE, 0);
	/* Reading an empty RBR is harmless. */
	(void)in(f, UART_RBR);
	assert_int_equal(vmm_uart_rx_space(&f->uart), 16);
}

static void uart_thre_interrupt_reasserts_like_a_real_16550(void **state)
{
	struct fx *f = *state;
	uint8_t iir1, iir2;

	out(f, UART_MCR, UART_MCR_OUT2);
	/* serial8250_do_startup's UART_BUG_THRE test. */
	out(f, UART_IER, UART_IER_THRI);
	iir1 = in(f, UART_IIR);
	out(f, UART_IER, 0);
	out(f, UART_IER, UART_IER_THRI);
	iir2 = in(f, UART_IIR);
	out(f, UART_IER, 0);
	assert_int_equal(iir1 & 0x0f, UART_IIR_THRI);
	assert_int_equal(iir2 & 0x0f, UART_IIR_THRI);

	/* Reading IIR acknowledged it; writing THR brings it back. */
	out(f, UART_IER, UART_IER_THRI);
	assert_int_equal(f->level, 1);
	assert_int_equal(in(f, UART_IIR) & 0x0f, UART_IIR_THRI);
	assert_int_equal(f->level, 0);
	assert_int_equal(in(f, UART_IIR) & 0x0f, UART_IIR_NO_INT);
	out(f, UART_THR, 'z');
	assert_int_equal(f->level, 1);
	out(f, UART_IER, 0);
	assert_int_equal(f->level, 0);
}

static void uart_irq_gated_by_out2(void **state)
{
	struct fx *f = *state;
	const uint8_t b = 'q';

	out(f, UART_IER, UART_IER_RDI);
	vmm_uart_push(&f->uart, &b, 1);
	assert_int_equal(in(f, UART_IIR) & 0x0f, UART_IIR_RDI);
	assert_int_equal(f->level, 0);
	out(f, UART_MCR, UART_MCR_OUT2);
	assert_int_equal(f->level, 1);
	out(f, UART_MCR, UART_MCR_OUT2 | UART_MCR_LOOP);
	assert_int_equal(f->level, 0);
}

static void uart_loopback_and_overrun(void **state)
{
	struct fx *f = *state;
	unsigned i, n = 0;
	const uint8_t b = 'h';

	out(f, UART_MCR, UART_MCR_LOOP);
	assert_int_equal(vmm_uart_push(&f->uart, &b, 1), 0);	/* deaf */
	/* Linux size_fifo(): FIFO on, send 256 bytes, count what comes back. */
	out(f, UART_FCR, UART_FCR_ENABLE | UART_FCR_CLR_RX | UART_FCR_CLR_TX);
	for (i = 0; i < 256; i++)
		out(f, UART_THR, (uint8_t)i);
	assert_int_equal(f->nout, 0);
	assert_int_equal(in(f, UART_LSR) & (UART_LSR_OE | UART_LSR_DR),
			 UART_LSR_OE | UART_LSR_DR);
	assert_int_equal(in(f, UART_LSR) & UART_LSR_OE, 0);	/* cleared */
	while (in(f, UART_LSR) & UART_LSR_DR)
		assert_int_equal(in(f, UART_RBR), n++);
	assert_int_equal(n, 16);
	out(f, UART_MCR, 0);
	out(f, UART_THR, 'o');
	assert_int_equal(f->nout, 1);
}

static void uart_line_status_interrupt_on_overrun(void **state)
{
	struct fx *f = *state;

	out(f, UART_MCR, UART_MCR_LOOP);
	out(f, UART_IER, UART_IER_RLSI | UART_IER_RDI);
	out(f, UART_THR, 1);
	out(f, UART_THR, 2);		/* non-FIFO: overrun */
	assert_int_equal(in(f, UART_IIR), UART_IIR_RLSI);
	assert_true(in(f, UART_LSR) & UART_LSR_OE);
	assert_int_equal(in(f, UART_IIR), UART_IIR_RDI);
	assert_int_equal(in(f, UART_RBR), 1);
	assert_int_equal(in(f, UART_IIR), UART_IIR_NO_INT);
}

static void uart_modem_status_deltas(void **state)
{
	struct fx *f = *state;

	assert_int_equal(in(f, UART_MSR), 0xb0);
	out(f, UART_IER, UART_IER_MSI);
	vmm_uart_set_modem(&f->uart, UART_MSR_DSR | UART_MSR_RI);
	assert_int_equal(in(f, UART_IIR), UART_IIR_MSI);
	assert_int_equal(in(f, UART_MSR),
			 UART_MSR_DSR | UART_MSR_RI | UART_MSR_DCTS |
			 UART_MSR_DDCD);
	assert_int_equal(in(f, UART_MSR), UART_MSR_DSR | UART_MSR_RI);
	vmm_uart_set_modem(&f->uart, UART_MSR_DSR);
	assert_int_equal(in(f, UART_MSR), UART_MSR_DSR | UART_MSR_TERI);
	assert_int_equal(in(f, UART_IIR), UART_IIR_NO_INT);
}

static void uart_fcr_clear_and_disable(void **state)
{
	struct fx *f = *state;
	const uint8_t buf[4] = { 1, 2, 3, 4 };

	out(f, UART_FCR, UART_FCR_ENABLE);
	assert_int_equal(vmm_uart_push(&f->uart, buf, 4), 4);
	out(f, UART_FCR, UART_FCR_ENABLE | UART_FCR_CLR_RX);
	assert_int_equal(in(f, UART_LSR) & UART_LSR_DR, 0);
	assert_int_equal(vmm_uart_push(&f->uart, buf, 4), 4);
	out(f, UART_FCR, 0);	/* disabling empties too */
	assert_int_equal(in(f, UART_LSR) & UART_LSR_DR, 0);
	assert_int_equal(in(f, UART_IIR), UART_IIR_NO_INT);
	assert_int_equal(vmm_uart_rx_space(&f->uart), 1);
}

/* Garbage in every register at every size: state stays within bounds. */
static void uart_garbage_is_harmless(void **state)
{
	struct fx *f = *state;
	unsigned i, sz[3] = { 1, 2, 4 };
	uint64_t v;
	uint32_t x = 12345;

	for (i = 0; i < 20000; i++) {
		x = x * 1103515245u + 12345u;
		unsigned port = COM1 + ((x >> 8) % 10) - 1;
		unsigned s = sz[(x >> 20) % 3];

		if ((x >> 24) & 1)
			assert_int_equal(vmm_bus_read(&f->bus, port, s, &v), 0);
		else
			assert_int_equal(vmm_bus_write(&f->bus, port, s, x), 0);
		if (i % 7 == 0) {
			uint8_t b = (uint8_t)x;

			vmm_uart_push(&f->uart, &b, 1);
		}
		assert_true(f->uart.s.rx_count <= VMM_UART_FIFO_SIZE);
		assert_true(f->uart.s.rx_head < VMM_UART_FIFO_SIZE);
		assert_int_equal(f->uart.s.ier & 0xf0, 0);
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(uart_linux_autoconfig_finds_16550a),
		T(uart_dlab_switches_divisor_latch),
		T(uart_transmit_goes_to_sink),
		T(uart_receive_fifo_and_rx_interrupt),
		T(uart_thre_interrupt_reasserts_like_a_real_16550),
		T(uart_irq_gated_by_out2),
		T(uart_loopback_and_overrun),
		T(uart_line_status_interrupt_on_overrun),
		T(uart_modem_status_deltas),
		T(uart_fcr_clear_and_disable),
		T(uart_garbage_is_harmless),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
