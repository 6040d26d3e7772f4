/*
 * vmm_uart: a National Semiconductor 16550A UART, the PC's COM port.
 *
 * Environment: the runner, called through the port-I/O bus (8 ports, 8-bit
 * data path) with the bus serialised by the caller; vmm_uart_push comes from
 * the runner's console thread under the same lock.
 *
 * Transmission is instantaneous: a byte written to THR goes to the sink at
 * once (or, in loopback, to the receive FIFO), so THRE and TEMT always read
 * set. Received bytes come from vmm_uart_push, which takes only what the
 * receiver has room for: the runner keeps the rest and pushes it again when
 * the guest has drained the FIFO, so console input is never lost. In FIFO
 * mode with a trigger level above one byte, the character-timeout interrupt
 * is signalled as soon as data sits below the trigger (a timeout of zero).
 *
 * The interrupt line follows the PC wiring: asserted while an enabled
 * interrupt is pending and MCR.OUT2 is set, never in loopback mode.
 */
#ifndef VMM_UART16550_H
#define VMM_UART16550_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"

#define VMM_UART_COM1_BASE	0x3f8	/* IRQ 4 */
#define VMM_UART_COM2_BASE	0x2f8	/* IRQ 3 */
#define VMM_UART_COM3_BASE	0x3e8	/* IRQ 4 */
#define VMM_UART_COM4_BASE	0x2e8	/* IRQ 3 */
#define VMM_UART_NPORTS		8
#define VMM_UART_FIFO_SIZE	16

/* Register offsets (DLAB = LCR bit 7 selects DLL/DLM at 0 and 1). */
#define UART_RBR	0	/* read, DLAB=0 */
#define UART_THR	0	/* write, DLAB=0 */
#define UART_DLL	0	/* DLAB=1 */
#define UART_IER	1	/* DLAB=0 */
#define UART_DLM	1	/* DLAB=1 */
#define UART_IIR	2	/* read */
#define UART_FCR	2	/* write */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define UART_IER_RDI	0x01	/* received data available */
#define UART_IER_THRI	0x02	/* transmitter holding register empty */
#define UART_IER_RLSI	0x04	/* receiver line status */
#define UART_IER_MSI	0x08	/* modem status */

#define UART_IIR_NO_INT	0x01
#define UART_IIR_MSI	0x00
#define UART_IIR_THRI	0x02
#define UART_IIR_RDI	0x04
#define UART_IIR_RLSI	0x06
#define UART_IIR_CTI	0x0c	/* character timeout */
#define UART_IIR_FIFO	0xc0	/* FIFOs enabled */

#define UART_FCR_ENABLE	0x01
#define UART_FCR_CLR_RX	0x02
#define UART_FCR_CLR_TX	0x04
#define UART_FCR_TRIG	0xc0

#define UART_LCR_DLAB	0x80

#define UART_MCR_DTR	0x01
#define UART_MCR_RTS	0x02
#define UART_MCR_OUT1	0x04
#define UART_MCR_OUT2	0x08
#define UART_MCR_LOOP	0x10

#define UART_LSR_DR	0x01
#define UART_LSR_OE	0x02
#define UART_LSR_PE	0x04
#define UART_LSR_FE	0x08
#define UART_LSR_BI	0x10
#define UART_LSR_THRE	0x20
#define UART_LSR_TEMT	0x40
#define UART_LSR_FIFOE	0x80

#define UART_MSR_DCTS	0x01
#define UART_MSR_DDSR	0x02
#define UART_MSR_TERI	0x04
#define UART_MSR_DDCD	0x08
#define UART_MSR_CTS	0x10
#define UART_MSR_DSR	0x20
#define UART_MSR_RI	0x40
#define UART_MSR_DCD	0x80

struct vmm_uart_cb {
	/* Interrupt line level changed (0 or 1). May be NULL. */
	void (*raise)(void *opaque, int level);
	/* A byte the guest transmitted. May be NULL (output discarded). */
	void (*sink)(void *opaque, uint8_t byte);
	void *opaque;
};

/* Guest-visible state; plain data so a snapshot can copy it. */
struct vmm_uart_state {
	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm;
	uint8_t fcr;			/* last FCR written (write-only register) */
	uint8_t thri_pending;		/* THRE interrupt latched, not yet read */
	uint8_t host_msr;		/* modem lines outside loopback */
	uint8_t rx[VMM_UART_FIFO_SIZE];	/* receive FIFO, a ring */
	uint8_t rx_head, rx_count;
	uint8_t irq_level;		/* last level given to raise */
};

struct vmm_uart {
	struct vmm_uart_state s;
	struct vmm_uart_cb cb;
};

extern const struct vmm_dev_ops vmm_uart_ops;

/* Power-on state: 8250 reset values, lines CTS, DSR and DCD asserted. */
void vmm_uart_init(struct vmm_uart *uart, const struct vmm_uart_cb *cb);

/* Registers the 8 ports at base on a port-I/O bus. */
int vmm_uart_register(struct vmm_uart *uart, struct vmm_bus *pio,
		      uint16_t base, struct vx_err *err);

/* Bytes the receiver can take now (0 when full). */
size_t vmm_uart_rx_space(const struct vmm_uart *uart);

/* Receives up to len bytes from the host side; returns how many it took. */
size_t vmm_uart_push(struct vmm_uart *uart, const uint8_t *buf, size_t len);

/* Host side modem lines (UART_MSR_CTS|DSR|RI|DCD); sets the delta bits. */
void vmm_uart_set_modem(struct vmm_uart *uart, uint8_t lines);

#endif
