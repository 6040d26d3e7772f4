/*
 * vmm_uart: 16550A UART (see uart16550.h).
 *
 * Follows the PC16550D datasheet; where it is silent, Linux's 8250 driver
 * (drivers/tty/serial/8250/8250_port.c: autoconfig, serial8250_startup) is
 * the reference for what a guest expects to see.
 */
#include "vmm/uart16550.h"

#include <string.h>

static int vmm_uart_fifo(const struct vmm_uart *u)
{
	return u->s.fcr & UART_FCR_ENABLE;
}

static unsigned vmm_uart_rx_cap(const struct vmm_uart *u)
{
	return vmm_uart_fifo(u) ? VMM_UART_FIFO_SIZE : 1;
}

static unsigned vmm_uart_trigger(const struct vmm_uart *u)
{
	static const unsigned trig[4] = { 1, 4, 8, 14 };

	return vmm_uart_fifo(u) ? trig[u->s.fcr >> 6] : 1;
}

/* Modem status lines as the guest sees them (upper nibble of MSR). */
static uint8_t vmm_uart_lines(const struct vmm_uart *u)
{
	uint8_t mcr = u->s.mcr, l = 0;

	if (!(mcr & UART_MCR_LOOP))
		return u->s.host_msr & 0xf0;
	/* Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
	if (mcr & UART_MCR_DTR)
		l |= UART_MSR_DSR;
	if (mcr & UART_MCR_RTS)
		l |= UART_MSR_CTS;
	if (mcr & UART_MCR_OUT1)
		l |= UART_MSR_RI;
	if (mcr & UART_MCR_OUT2)
		l |= UART_MSR_DCD;
	return l;
}

/* Sets MSR to new lines, accumulating the delta bits. */
static void vmm_uart_update_msr(struct vmm_uart *u, uint8_t lines)
{
	uint8_t old = u->s.msr & 0xf0, d = u->s.msr & 0x0f;

	if ((old ^ lines) & UART_MSR_CTS)
		d |= UART_MSR_DCTS;
	if ((old ^ lines) & UART_MSR_DSR)
		d |= UART_MSR_DDSR;
	if ((old & UART_MSR_RI) && !(lines & UART_MSR_RI))
		d |= UART_MSR_TERI;	/* trailing edge only */
	if ((old ^ lines) & UART_MSR_DCD)
		d |= UART_MSR_DDCD;
	u->s.msr = lines | d;
}

/* The pending interrupt of highest priority, as IIR bits 3:0. */
static uint8_t vmm_uart_iir_id(const struct vmm_uart *u)
{
	uint8_t ier = u->s.ier;

	if ((ier & UART_IER_RLSI) &&
	    (u->s.lsr & (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)))
		return UART_IIR_RLSI;
	if ((ier & UART_IER_RDI) && u->s.rx_count)
		return u->s.rx_count >= vmm_uart_trigger(u) ? UART_IIR_RDI :
							      UART_IIR_CTI;
	if ((ier & UART_IER_THRI) && u->s.thri_pending)
		return UART_IIR_THRI;
	if ((ier & UART_IER_MSI) && (u->s.msr & 0x0f))
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

static void vmm_uart_update_irq(struct vmm_uart *u)
{
	int level = vmm_uart_iir_id(u) != UART_IIR_NO_INT &&
		    (u->s.mcr & UART_MCR_OUT2) && !(u->s.mcr & UART_MCR_LOOP);

	if (level != u->s.irq_level) {
		u->s.irq_level = (uint8_t)level;
		if (u->cb.raise)
			u->cb.raise(u->cb.opaque, level);
	}
}

static void vmm_uart_rx_clear(struct vmm_uart *u)
{
	u->s.rx_head = u->s.rx_count = 0;
	u->s.lsr &= (uint8_t)~(UART_LSR_DR | UART_LSR_FIFOE);
}

/* One byte into the receiver; sets OE and drops it when there is no room. */
static void vmm_uart_rx_put(struct vmm_uart *u, uint8_t byte)
{
	if (u->s.rx_count >= vmm_uart_rx_cap(u)) {
		u->s.lsr |= UART_LSR_OE;
		return;
	}
	u->s.rx[(u->s.rx_head + u->s.rx_count) % VMM_UART_FIFO_SIZE] = byte;
	u->s.rx_count++;
	u->s.lsr |= UART_LSR_DR;
}

static uint8_t vmm_uart_rx_get(struct vmm_uart *u)
{
	uint8_t byte;

	if (!u->s.rx_count)
		return 0;	/* RBR holds its last value; 0 is as good */
	byte = u->s.rx[u->s.rx_head];
	u->s.rx_head = (uint8_t)((u->s.rx_head + 1) % VMM_UART_FIFO_SIZE);
	if (--u->s.rx_count == 0)
		u->s.lsr &= (uint8_t)~UART_LSR_DR;
	return byte;
}

void vmm_uart_init(struct vmm_uart *uart, const struct vmm_uart_cb *cb)
{
	memset(uart, 0, sizeof(*uart));
	if (cb)
		uart->cb = *cb;
	uart->s.lsr = UART_LSR_THRE | UART_LSR_TEMT;
	uart->s.host_msr = UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD;
	uart->s.msr = uart->s.host_msr;
	uart->s.dll = 0x0c;	/* 9600 baud, the BIOS default */
}

static uint64_t vmm_uart_read(void *opaque, uint64_t offset, unsigned size)
{
	struct vmm_uart *u = opaque;
	uint8_t v = 0xff, id;

	(void)size;
	switch (offset) {
	case UART_RBR:
		if (u->s.lcr & UART_LCR_DLAB) {
			v = u->s.dll;
		} else {
			v = vmm_uart_rx_get(u);
			u->s.lsr &= (uint8_t)~UART_LSR_FIFOE;
		}
		break;
	case UART_IER:
		v = (u->s.lcr & UART_LCR_DLAB) ? u->s.dlm : u->s.ier;
		break;
	case UART_IIR:
		id = vmm_uart_iir_id(u);
		v = id | (vmm_uart_fifo(u) ? UART_IIR_FIFO : 0);
		/* Reading IIR while it reports THRE acknowledges it. */
		if (id == UART_IIR_THRI)
			u->s.thri_pending = 0;
		break;
	case UART_LCR:
		v = u->s.lcr;
		break;
	case UART_MCR:
		v = u->s.mcr;
		break;
	case UART_LSR:
		v = u->s.lsr;
		u->s.lsr &= (uint8_t)~(UART_LSR_OE | UART_LSR_PE |
				       UART_LSR_FE | UART_LSR_BI);
		break;
	case UART_MSR:
		v = u->s.msr;
		u->s.msr &= 0xf0;
		break;
	case UART_SCR:
		v = u->s.scr;
		break;
	}
	vmm_uart_update_irq(u);
	return v;
}

static void vmm_uart_write_fcr(struct vmm_uart *u, uint8_t v)
{
	/* FCR0 must be set for the other bits to take; clearing it (or
	 * changing it) empties both FIFOs. Bits 5:3 are not on a 16550A. */
	if ((v ^ u->s.fcr) & UART_FCR_ENABLE)
		vmm_uart_rx_clear(u);
	if (!(v & UART_FCR_ENABLE)) {
		u->s.fcr = 0;
		return;
	}
	if (v & UART_FCR_CLR_RX)
		vmm_uart_rx_clear(u);
	/* TX FIFO is always empty: transmission is instantaneous. */
	u->s.fcr = v & (UART_FCR_ENABLE | UART_FCR_TRIG);
}

static void vmm_uart_write(void *opaque, uint64_t offset, unsigned size,
			   uint64_t val)
{
	struct vmm_uart *u = opaque;
	uint8_t v = (uint8_t)val, old;

	(void)size;
	switch (offset) {
	case UART_THR:
		if (u->s.lcr & UART_LCR_DLAB) {
			u->s.dll = v;
			break;
		}
		if (u->s.mcr & UART_MCR_LOOP)
			vmm_uart_rx_put(u, v);
		else if (u->cb.sink)
			u->cb.sink(u->cb.opaque, v);
		/* THR was filled and drained at once: THRE again. */
		u->s.thri_pending = 1;
		break;
	case UART_IER:
		if (u->s.lcr & UART_LCR_DLAB) {
			u->s.dlm = v;
			break;
		}
		old = u->s.ier;
		u->s.ier = v & 0x0f;
		/* Enabling THRI while THR is empty raises THRE (a real 16550
		 * does; Linux tests for it: UART_BUG_THRE). */
		if (!(old & UART_IER_THRI) && (u->s.ier & UART_IER_THRI))
			u->s.thri_pending = 1;
		break;
	case UART_FCR:
		vmm_uart_write_fcr(u, v);
		break;
	case UART_LCR:
		u->s.lcr = v;
		break;
	case UART_MCR:
		u->s.mcr = v & 0x1f;
		vmm_uart_update_msr(u, vmm_uart_lines(u));
		break;
	case UART_LSR:	/* factory test register: writes ignored */
	case UART_MSR:
		break;
	case UART_SCR:
		u->s.scr = v;
		break;
	}
	vmm_uart_update_irq(u);
}

const struct vmm_dev_ops vmm_uart_ops = {
	.read = vmm_uart_read,
	.write = vmm_uart_write,
	.width = 1,
};

int vmm_uart_register(struct vmm_uart *uart, struct vmm_bus *pio,
		      uint16_t base, struct vx_err *err)
{
	return vmm_bus_register(pio, base, VMM_UART_NPORTS, &vmm_uart_ops,
				uart, "uart16550", err);
}

size_t vmm_uart_rx_space(const struct vmm_uart *uart)
{
	/* In loopback the receiver hears only the transmitter. */
	if (uart->s.mcr & UART_MCR_LOOP)
		return 0;
	return vmm_uart_rx_cap(uart) - uart->s.rx_count;
}

size_t vmm_uart_push(struct vmm_uart *uart, const uint8_t *buf, size_t len)
{
	size_t n = vmm_uart_rx_space(uart), i;

	if (n > len)
		n = len;
	for (i = 0; i < n; i++)
		vmm_uart_rx_put(uart, buf[i]);
	vmm_uart_update_irq(uart);
	return n;
}

void vmm_uart_set_modem(struct vmm_uart *uart, uint8_t lines)
{
	uart->s.host_msr = lines & 0xf0;
	if (!(uart->s.mcr & UART_MCR_LOOP))
		vmm_uart_update_msr(uart, uart->s.host_msr);
	vmm_uart_update_irq(uart);
}
