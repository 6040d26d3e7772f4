/*
 * vmm_pc: the legacy PC board, the one place that says which device sits
 * at which port and IRQ (kvmtool keeps this in x86/ioport.c and each
 * device's init; we keep the whole map here so it can be read at once).
 *
 * Environment: the runner, at VM setup. The runner owns the locking of the
 * buses (see bus.h) and the host timers for vmm_pit_next_irq and
 * vmm_rtc_next_event.
 *
 *   port        device           IRQ
 *   0x40-0x43   i8254 PIT        0
 *   0x60, 0x64  i8042            1 (reset line: cb.reset)
 *   0x61        port B (PIT ch2 gate, speaker, OUT2)
 *   0x70-0x71   MC146818 RTC     8
 *   0x3f8-0x3ff 16550A COM1      4
 *
 * Interrupt controllers (PIC, IOAPIC) are not here yet: each device's
 * interrupt goes to cb.irq(opaque, irq, level).
 */
#ifndef VMM_PC_H
#define VMM_PC_H

#include "vmm/bus.h"
#include "vmm/clock.h"
#include "vmm/i8042.h"
#include "vmm/pit.h"
#include "vmm/rtc.h"
#include "vmm/uart16550.h"

#define VMM_PC_IRQ_PIT		0
#define VMM_PC_IRQ_KBD		1
#define VMM_PC_IRQ_COM1		4
#define VMM_PC_IRQ_RTC		8

struct vmm_pc_cb {
	void (*irq)(void *opaque, int irq, int level);	/* may be NULL */
	void (*reset)(void *opaque);		/* guest reset, from inside a
						 * port write: flag it only */
	void (*console)(void *opaque, uint8_t byte);	/* COM1 output */
	void *opaque;
};

struct vmm_pc {
	struct vmm_bus pio;
	struct vmm_bus mmio;
	struct vmm_uart com1;
	struct vmm_i8042 kbc;
	struct vmm_pit pit;
	struct vmm_rtc rtc;
	struct vmm_pc_cb cb;
};

/* Builds the buses and registers every device. Returns 0 or a negative
 * errno from vmm_bus_register (with the buses left empty). */
int vmm_pc_init(struct vmm_pc *pc, const struct vmm_clock *clock,
		const struct vmm_pc_cb *cb, struct vx_err *err);
void vmm_pc_destroy(struct vmm_pc *pc);

#endif
