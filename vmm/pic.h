/*
 * vmm_pic: the two Intel 8259A programmable interrupt controllers of a PC,
 * master at ports 0x20-0x21 (IRQ 0-7), slave at 0xa0-0xa1 (IRQ 8-15)
 * cascaded on the master's IR2, and the PIIX edge/level control registers
 * (ELCR) at 0x4d0-0x4d1.
 *
 * Environment: the runner, through the port-I/O bus, serialised by the
 * caller; vmm_pic_set_irq from device callbacks and vmm_pic_ack from the
 * run loop under the same lock. The intr callback runs inside those calls:
 * it may only flag or kick a vCPU, not call back into the PIC.
 *
 * What is modelled, from the 8259A data sheet:
 *   - ICW1-ICW4: single or cascade, ICW4 or not, vector base (ICW2 bits
 *     7-3), auto-EOI, special fully nested mode; ICW1 clears IMR and ISR,
 *     resets the edge detectors and the priority (IR7 lowest);
 *   - OCW1 (IMR); OCW2: non-specific, specific and rotating EOIs, rotate in
 *     auto-EOI mode, set priority; OCW3: read IRR or ISR, poll, special
 *     mask mode;
 *   - edge inputs latch a rising edge in IRR until the INTA cycle; level
 *     inputs (ELCR bit set) show the line in IRR; a request gone or masked
 *     by the INTA cycle gives IR7's vector without setting ISR (spurious),
 *     and a slave spurious leaves the master's IR2 in service, as on a PC.
 * Not modelled: MCS-80 mode, buffered mode, ICW1's LTIM (the PIIX ignores
 * it: the ELCR decides), call address interval. IRQ 2 is the cascade: a
 * device cannot drive it.
 *
 * Until the guest initialises them the chips are as a BIOS leaves them:
 * vectors 0x08 and 0x70, cascade, every input masked but the cascade.
 */
#ifndef VMM_PIC_H
#define VMM_PIC_H

#include <stdint.h>

#include "vmm/bus.h"

#define VMM_PIC_MASTER_BASE	0x20	/* 2 ports */
#define VMM_PIC_SLAVE_BASE	0xa0	/* 2 ports */
#define VMM_PIC_ELCR_BASE	0x4d0	/* 2 ports: IRQ 0-7, 8-15 */
#define VMM_PIC_CASCADE_IRQ	2
#define VMM_PIC_NR_IRQS		16

/* ELCR bits a guest may set: IRQ 0, 1, 2, 8 and 13 are always edge. */
#define VMM_PIC_ELCR1_MASK	0xf8
#define VMM_PIC_ELCR2_MASK	0xde

/* ICW1 (written to the even port with bit 4 set) */
#define PIC_ICW1_IC4		0x01	/* ICW4 follows */
#define PIC_ICW1_SNGL		0x02	/* single: no ICW3 */
#define PIC_ICW1_INIT		0x10
/* ICW4 */
#define PIC_ICW4_UPM		0x01	/* 8086 mode (always assumed) */
#define PIC_ICW4_AEOI		0x02
#define PIC_ICW4_SFNM		0x10
/* OCW2: bits 7-5 say what, bits 2-0 name a level */
#define PIC_OCW2_EOI		0x20	/* non-specific EOI */
#define PIC_OCW2_SEOI		0x60	/* specific EOI */
#define PIC_OCW2_ROT_EOI	0xa0	/* rotate on non-specific EOI */
#define PIC_OCW2_ROT_AEOI_SET	0x80
#define PIC_OCW2_ROT_AEOI_CLR	0x00
#define PIC_OCW2_ROT_SEOI	0xe0	/* rotate on specific EOI */
#define PIC_OCW2_SET_PRIO	0xc0
#define PIC_OCW2_NOP		0x40
/* OCW3 (even port, bit 3 set, bit 4 clear) */
#define PIC_OCW3		0x08
#define PIC_OCW3_RIS		0x01	/* with RR: read ISR, else IRR */
#define PIC_OCW3_RR		0x02
#define PIC_OCW3_POLL		0x04
#define PIC_OCW3_SMM		0x20	/* with ESMM: set special mask */
#define PIC_OCW3_ESMM		0x40

struct vmm_pic_chip {
	uint8_t irr;		/* requests (edges latched, levels as lines) */
	uint8_t isr;		/* in service */
	uint8_t imr;		/* masked */
	uint8_t line;		/* input levels as last driven */
	uint8_t elcr;		/* 1 = level-triggered input */
	uint8_t vector_base;	/* ICW2 & 0xf8 */
	uint8_t icw3;		/* master: inputs with a slave; slave: its ID */
	uint8_t init_step;	/* 0 running, else the ICW expected next (2-4) */
	uint8_t icw4_needed;
	uint8_t single;
	uint8_t auto_eoi;
	uint8_t sfnm;		/* special fully nested mode */
	uint8_t rotate_aeoi;	/* rotate priority on each auto-EOI */
	uint8_t lowest;		/* the lowest-priority level (7 after ICW1) */
	uint8_t read_isr;	/* OCW3: even port reads ISR, not IRR */
	uint8_t poll;		/* OCW3 poll: the next even read is the INTA */
	uint8_t smm;		/* special mask mode */
};

struct vmm_pic_state {
	struct vmm_pic_chip chip[2];	/* master, slave */
	uint8_t intr;			/* the master's INT output */
};

struct vmm_pic {
	struct vmm_pic_state s;
	void (*intr)(void *opaque, int level);	/* INT output changed;
						 * may be NULL */
	void *opaque;
};

extern const struct vmm_dev_ops vmm_pic_master_ops;	/* 0x20-0x21 */
extern const struct vmm_dev_ops vmm_pic_slave_ops;	/* 0xa0-0xa1 */
extern const struct vmm_dev_ops vmm_pic_elcr_ops;	/* 0x4d0-0x4d1 */

void vmm_pic_init(struct vmm_pic *pic, void (*intr)(void *opaque, int level),
		  void *opaque);

/* Registers 0x20-0x21, 0xa0-0xa1 and 0x4d0-0x4d1 (none on failure). */
int vmm_pic_register(struct vmm_pic *pic, struct vmm_bus *pio,
		     struct vx_err *err);

/* Drives input irq (0-15; others and the cascade IRQ 2 are ignored). */
void vmm_pic_set_irq(struct vmm_pic *pic, int irq, int level);

/* The INT output: 1 when the CPU should be interrupted. */
int vmm_pic_pending(const struct vmm_pic *pic);

/* The INTA cycle: the vector to deliver (IR7's of the chip that answered
 * if the request went away), with ISR and IRR updated. The run loop calls
 * it once the vCPU can take an interrupt and vmm_pic_pending said so. */
int vmm_pic_ack(struct vmm_pic *pic);

#endif
