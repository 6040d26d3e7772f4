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
 *   0x20-0x21   8259A master     (IRQ 0-7; INT output: cb.intr)
 *   0x40-0x43   i8254 PIT        0
 *   0x60, 0x64  i8042            1 (reset line: cb.reset)
 *   0x61        port B (PIT ch2 gate, speaker, OUT2)
 *   0x70-0x71   MC146818 RTC     8
 *   0xa0-0xa1   8259A slave      (IRQ 8-15, cascaded on IRQ 2)
 *   0x3f8-0x3ff 16550A COM1      4
 *   0x4d0-0x4d1 ELCR             (IRQ edge/level; 0, 1, 2, 8, 13 edge)
 *
 * Every device's interrupt line goes into the PIC (as on a PC without an
 * IOAPIC, so a guest booted with "nolapic noapic"); the PIC's INT output
 * goes to cb.intr, and the run loop takes the vector with vmm_pc_ack once
 * the vCPU can be interrupted. Devices added later (PCI INTx) drive their
 * line with vmm_pc_set_irq.
 */
#ifndef VMM_PC_H
#define VMM_PC_H

#include "vmm/bus.h"
#include "vmm/clock.h"
#include "vmm/i8042.h"
#include "vmm/ioapic.h"
#include "vmm/pic.h"
#include "vmm/pit.h"
#include "vmm/rtc.h"
#include "vmm/uart16550.h"

#define VMM_PC_IRQ_PIT		0
#define VMM_PC_IRQ_KBD		1
#define VMM_PC_IRQ_COM1		4
#define VMM_PC_IRQ_RTC		8

struct vmm_pc_cb {
	void (*intr)(void *opaque, int level);	/* PIC INT output changed, from
						 * inside a device call: kick
						 * a vCPU only; may be NULL */
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
	struct vmm_pic pic;
	struct vmm_ioapic *ioapic;	/* NULL: the PIC alone (vmm_pc_attach_ioapic) */
	struct vmm_pc_cb cb;
};

/* Builds the buses and registers every device. Returns 0 or a negative
 * errno from vmm_bus_register (with the buses left empty). */
int vmm_pc_init(struct vmm_pc *pc, const struct vmm_clock *clock,
		const struct vmm_pc_cb *cb, struct vx_err *err);
void vmm_pc_destroy(struct vmm_pc *pc);

/* Drives ISA IRQ line irq (0-15) of the board. */
void vmm_pc_set_irq(struct vmm_pc *pc, int irq, int level);

/*
 * Wires every ISA line to an IOAPIC pin too, as on a PC with one: IRQ n
 * to pin n, but IRQ 0 (the PIT) to pin 2, the wiring the MADT's override
 * describes (vmm_acpi_isa_gsi); the cascade IRQ 2 reaches no pin. The
 * lines keep going to the PIC, which the guest masks once it uses the
 * IOAPIC.
 */
void vmm_pc_attach_ioapic(struct vmm_pc *pc, struct vmm_ioapic *ioapic);

/* The INTA cycle: the vector for the vCPU (see vmm_pic_ack). */
int vmm_pc_ack(struct vmm_pc *pc);

#endif
