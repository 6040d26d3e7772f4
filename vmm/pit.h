/*
 * vmm_pit: the Intel 8254 programmable interval timer (ports 0x40-0x43)
 * and the bits of system control port B (0x61) that belong to it: the
 * channel 2 gate, the speaker enable, and OUT2 read back.
 *
 * Environment: the runner, through the port-I/O bus, serialised by the
 * caller; vmm_pit_next_irq/vmm_pit_tick from the runner's timer under the
 * same lock.
 *
 * No ticking: each channel remembers when its count was loaded, and its
 * counter and OUT are computed from the clock at the moment of an access,
 * at 1193182 Hz. Channel 0's OUT rising edges are IRQ 0; the runner arms a
 * host timer for vmm_pit_next_irq() and calls vmm_pit_tick(), which pulses
 * the line (several edges missed in between become one, like a PIC that
 * was masked). Modes 0-5 are modelled; 6 and 7 are 2 and 3. One
 * simplification: a new count written in modes 2 and 3 takes effect at
 * once, not at the end of the current period.
 */
#ifndef VMM_PIT_H
#define VMM_PIT_H

#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/clock.h"

#define VMM_PIT_BASE	0x40	/* 4 ports */
#define VMM_PIT_PORT_B	0x61
#define VMM_PIT_HZ	1193182u

struct vmm_pit_channel {
	uint32_t reload;	/* counts per cycle: 1..65536 (10000 in BCD) */
	uint64_t load_ns;	/* monotonic time counting (re)started */
	uint64_t base_ticks;	/* ticks counted before a gate pause */
	uint64_t edges_seen;	/* OUT rising edges already signalled */
	uint8_t mode;		/* 0-5 */
	uint8_t rw;		/* 1 LSB, 2 MSB, 3 LSB then MSB */
	uint8_t bcd;
	uint8_t armed;		/* a count was loaded since the control word */
	uint8_t running;	/* counting (gate and trigger allow it) */
	uint8_t null_count;	/* written count not yet loaded (status bit 6) */
	uint8_t write_lsb;	/* rw 3: LSB written, waiting for MSB */
	uint8_t write_lo;
	uint8_t read_msb;	/* rw 3: next unlatched read is the MSB */
	uint8_t latched;	/* count latched: bytes left to read (1 or 2) */
	uint16_t latch;
	uint8_t status_latched;
	uint8_t status;
	uint8_t gate;
};

struct vmm_pit_state {
	struct vmm_pit_channel ch[3];
	uint8_t port_b;		/* bits 3:0 as written to port 0x61 */
};

struct vmm_pit {
	struct vmm_pit_state s;
	const struct vmm_clock *clock;
	void (*raise)(void *opaque, int level);	/* IRQ 0; may be NULL */
	void *opaque;
};

extern const struct vmm_dev_ops vmm_pit_ops;		/* 0x40-0x43 */
extern const struct vmm_dev_ops vmm_pit_port_b_ops;	/* 0x61 */

/* Power-on: every channel in mode 0 without a count, gates 0/1 high,
 * channel 2's gate low (port B = 0). */
void vmm_pit_init(struct vmm_pit *pit, const struct vmm_clock *clock,
		  void (*raise)(void *opaque, int level), void *opaque);

/* Registers 0x40-0x43 and 0x61. */
int vmm_pit_register(struct vmm_pit *pit, struct vmm_bus *pio,
		     struct vx_err *err);

/* Monotonic ns of channel 0's next OUT rising edge not yet signalled
 * (now, if one is overdue), or UINT64_MAX when none will come. */
uint64_t vmm_pit_next_irq(struct vmm_pit *pit);

/* Signals IRQ 0 (a 1 then 0 pulse) if channel 0 had a rising edge since
 * the last call. Returns 1 when it did. */
int vmm_pit_tick(struct vmm_pit *pit);

/* Channel n's counter and OUT now, without side effects (tests, dumps). */
uint16_t vmm_pit_count(struct vmm_pit *pit, unsigned n);
int vmm_pit_out(struct vmm_pit *pit, unsigned n);

#endif
