/*
 * vmm_pic: dual 8259A and ELCR (see pic.h). Written from the Intel 8259A
 * data sheet ("Interrupt sequence", "Programming the 8259A", "Operation
 * command words") and the PIIX ELCR description; Linux's user is
 * arch/x86/kernel/i8259.c (init_8259A, mask_and_ack_8259A and its
 * spurious-IRQ handling).
 *
 * Priorities are relative to 'lowest': level (lowest + 1) & 7 is the
 * highest, and rotation only moves 'lowest'. The master's IR2 is an edge
 * input driven by the slave's INT output, as the wire on the board is;
 * everything is re-evaluated after each change (vmm_pic_update), which
 * recomputes that wire and then the master's INT.
 */
#include "vmm/pic.h"

#include <string.h>

#define SPURIOUS_IRQ	7

/* 0 for the highest-priority level, 7 for the lowest. */
static unsigned vmm_pic_prio(const struct vmm_pic_chip *c, unsigned irq)
{
	return (irq - c->lowest - 1) & 7;
}

/* The highest-priority level set in bits, or -1. */
static int vmm_pic_best(const struct vmm_pic_chip *c, uint8_t bits)
{
	unsigned i, irq;

	for (i = 1; i <= 8; i++) {
		irq = (c->lowest + i) & 7;
		if (bits >> irq & 1)
			return (int)irq;
	}
	return -1;
}

static int vmm_pic_is_master(const struct vmm_pic *pic,
			     const struct vmm_pic_chip *c)
{
	return c == &pic->s.chip[0];
}

/* Does the master answer an INTA for level irq by handing it to the
 * slave? Only IR2 has one wired, and only if ICW3 says so. */
static int vmm_pic_cascaded(const struct vmm_pic_chip *m, int irq)
{
	return irq == VMM_PIC_CASCADE_IRQ && !m->single &&
	       (m->icw3 >> irq & 1);
}

/*
 * The level this chip would interrupt for now, or -1. A request is held
 * off by any level in service of higher or equal priority; in special
 * mask mode masked levels in service hold nothing off; in special fully
 * nested mode the master lets the slave interrupt a slave interrupt.
 */
static int vmm_pic_request(const struct vmm_pic *pic,
			   const struct vmm_pic_chip *c)
{
	uint8_t isr = c->smm ? c->isr & ~c->imr : c->isr;
	int r = vmm_pic_best(c, c->irr & ~c->imr), s;

	if (r < 0)
		return -1;
	if (c->sfnm && vmm_pic_is_master(pic, c) && vmm_pic_cascaded(c, r))
		isr &= (uint8_t)~(1u << r);
	s = vmm_pic_best(c, isr);
	if (s >= 0 &&
	    vmm_pic_prio(c, (unsigned)s) <= vmm_pic_prio(c, (unsigned)r))
		return -1;
	return r;
}

/* IRR of level inputs is the line itself. */
static void vmm_pic_sync_levels(struct vmm_pic_chip *c)
{
	c->irr = (uint8_t)((c->irr & ~c->elcr) | (c->line & c->elcr));
}

static void vmm_pic_set_line(struct vmm_pic_chip *c, unsigned bit, int level)
{
	uint8_t m = (uint8_t)(1u << bit);

	if (level) {
		if (!(c->line & m))	/* rising edge: latched */
			c->irr |= m;
		c->line |= m;
	} else {
		c->line &= (uint8_t)~m;
	}
	vmm_pic_sync_levels(c);
}

/* Recompute the slave-to-master wire and the INT output; tell the runner
 * when INT changed. */
static void vmm_pic_update(struct vmm_pic *pic)
{
	struct vmm_pic_chip *m = &pic->s.chip[0], *s = &pic->s.chip[1];
	uint8_t intr;

	vmm_pic_set_line(m, VMM_PIC_CASCADE_IRQ, vmm_pic_request(pic, s) >= 0);
	intr = vmm_pic_request(pic, m) >= 0;
	if (intr == pic->s.intr)
		return;
	pic->s.intr = intr;
	if (pic->intr)
		pic->intr(pic->opaque, intr);
}

/* One chip's part of an INTA cycle (or a poll): the level it answers for,
 * SPURIOUS_IRQ with nothing changed if there is none. */
static int vmm_pic_chip_ack(struct vmm_pic *pic, struct vmm_pic_chip *c)
{
	int r = vmm_pic_request(pic, c);
	uint8_t m;

	if (r < 0)
		return SPURIOUS_IRQ;
	m = (uint8_t)(1u << r);
	c->irr &= (uint8_t)~m;
	vmm_pic_sync_levels(c);		/* a level still high stays requested */
	if (!c->auto_eoi)
		c->isr |= m;
	else if (c->rotate_aeoi)
		c->lowest = (uint8_t)r;
	return r;
}

int vmm_pic_ack(struct vmm_pic *pic)
{
	struct vmm_pic_chip *m = &pic->s.chip[0], *s = &pic->s.chip[1];
	int irq = vmm_pic_chip_ack(pic, m), vector;

	if (vmm_pic_cascaded(m, irq)) {
		vector = s->vector_base + vmm_pic_chip_ack(pic, s);
		/* The slave's INT drops during INTA: a request still there
		 * (auto-EOI, or a nested higher one) makes a new edge. */
		m->line &= (uint8_t)~(1u << VMM_PIC_CASCADE_IRQ);
	} else {
		vector = m->vector_base + irq;
	}
	vmm_pic_update(pic);
	return vector;
}

int vmm_pic_pending(const struct vmm_pic *pic)
{
	return pic->s.intr;
}

void vmm_pic_set_irq(struct vmm_pic *pic, int irq, int level)
{
	if (irq < 0 || irq >= VMM_PIC_NR_IRQS || irq == VMM_PIC_CASCADE_IRQ)
		return;
	vmm_pic_set_line(&pic->s.chip[irq >> 3], (unsigned)irq & 7, !!level);
	vmm_pic_update(pic);
}

/* ICW1: the chip forgets its mode and waits for ICW2 (data sheet,
 * "Initialization command words": edge sense reset, IMR cleared, IR7
 * lowest, special mask mode off, status read set to IRR). */
static void vmm_pic_icw1(struct vmm_pic_chip *c, uint8_t v)
{
	c->init_step = 2;
	c->icw4_needed = v & PIC_ICW1_IC4;
	c->single = !!(v & PIC_ICW1_SNGL);
	c->imr = 0;
	c->isr = 0;
	c->irr = 0;	/* edge sense reset: a line high now must fall and
			 * rise again to request */
	vmm_pic_sync_levels(c);
	c->lowest = 7;
	c->smm = 0;
	c->read_isr = 0;
	c->poll = 0;
	c->rotate_aeoi = 0;
	if (!c->icw4_needed) {
		c->auto_eoi = 0;
		c->sfnm = 0;
	}
}

static void vmm_pic_eoi(struct vmm_pic_chip *c, int irq, int rotate)
{
	if (irq < 0)
		return;
	c->isr &= (uint8_t)~(1u << irq);
	if (rotate)
		c->lowest = (uint8_t)irq;
}

static void vmm_pic_ocw2(struct vmm_pic_chip *c, uint8_t v)
{
	uint8_t level = v & 7;

	switch (v & 0xe0) {
	case PIC_OCW2_EOI:
		vmm_pic_eoi(c, vmm_pic_best(c, c->isr), 0);
		break;
	case PIC_OCW2_ROT_EOI:
		vmm_pic_eoi(c, vmm_pic_best(c, c->isr), 1);
		break;
	case PIC_OCW2_SEOI:
		vmm_pic_eoi(c, level, 0);
		break;
	case PIC_OCW2_ROT_SEOI:
		vmm_pic_eoi(c, level, 1);
		break;
	case PIC_OCW2_SET_PRIO:
		c->lowest = level;
		break;
	case PIC_OCW2_ROT_AEOI_SET:
		c->rotate_aeoi = 1;
		break;
	case PIC_OCW2_ROT_AEOI_CLR:
		c->rotate_aeoi = 0;
		break;
	default:	/* PIC_OCW2_NOP */
		break;
	}
}

static void vmm_pic_ocw3(struct vmm_pic_chip *c, uint8_t v)
{
	if (v & PIC_OCW3_ESMM)
		c->smm = !!(v & PIC_OCW3_SMM);
	if (v & PIC_OCW3_RR)
		c->read_isr = v & PIC_OCW3_RIS;
	c->poll = !!(v & PIC_OCW3_POLL);
}

/* ICW2-4 while initialising, else OCW1. */
static void vmm_pic_write_odd(struct vmm_pic_chip *c, uint8_t v)
{
	switch (c->init_step) {
	case 2:
		c->vector_base = v & 0xf8;
		c->init_step = !c->single ? 3 : c->icw4_needed ? 4 : 0;
		break;
	case 3:
		c->icw3 = v;
		c->init_step = c->icw4_needed ? 4 : 0;
		break;
	case 4:
		c->auto_eoi = !!(v & PIC_ICW4_AEOI);
		c->sfnm = !!(v & PIC_ICW4_SFNM);
		c->init_step = 0;
		break;
	default:
		c->imr = v;
		break;
	}
}

static void vmm_pic_write_chip(struct vmm_pic *pic, struct vmm_pic_chip *c,
			       uint64_t offset, uint8_t v)
{
	if (offset & 1)
		vmm_pic_write_odd(c, v);
	else if (v & PIC_ICW1_INIT)
		vmm_pic_icw1(c, v);
	else if (v & PIC_OCW3)
		vmm_pic_ocw3(c, v);
	else
		vmm_pic_ocw2(c, v);
	vmm_pic_update(pic);
}

/* A poll is this chip's INTA, read through the data bus: bit 7 says
 * whether there was a request, bits 2-0 its level. */
static uint8_t vmm_pic_poll(struct vmm_pic *pic, struct vmm_pic_chip *c)
{
	int r = vmm_pic_request(pic, c);

	c->poll = 0;
	if (r < 0)
		return 0;
	vmm_pic_chip_ack(pic, c);
	vmm_pic_update(pic);
	return (uint8_t)(0x80 | r);
}

static uint8_t vmm_pic_read_chip(struct vmm_pic *pic, struct vmm_pic_chip *c,
				 uint64_t offset)
{
	if (c->poll)
		return vmm_pic_poll(pic, c);
	if (offset & 1)
		return c->imr;
	return c->read_isr ? c->isr : c->irr;
}

static uint64_t vmm_pic_master_read(void *opaque, uint64_t offset,
				    unsigned size)
{
	struct vmm_pic *pic = opaque;

	(void)size;
	return vmm_pic_read_chip(pic, &pic->s.chip[0], offset);
}

static void vmm_pic_master_write(void *opaque, uint64_t offset,
				 unsigned size, uint64_t val)
{
	struct vmm_pic *pic = opaque;

	(void)size;
	vmm_pic_write_chip(pic, &pic->s.chip[0], offset, (uint8_t)val);
}

static uint64_t vmm_pic_slave_read(void *opaque, uint64_t offset,
				   unsigned size)
{
	struct vmm_pic *pic = opaque;

	(void)size;
	return vmm_pic_read_chip(pic, &pic->s.chip[1], offset);
}

static void vmm_pic_slave_write(void *opaque, uint64_t offset,
				unsigned size, uint64_t val)
{
	struct vmm_pic *pic = opaque;

	(void)size;
	vmm_pic_write_chip(pic, &pic->s.chip[1], offset, (uint8_t)val);
}

const struct vmm_dev_ops vmm_pic_master_ops = {
	.read = vmm_pic_master_read,
	.write = vmm_pic_master_write,
	.width = 1,
};

const struct vmm_dev_ops vmm_pic_slave_ops = {
	.read = vmm_pic_slave_read,
	.write = vmm_pic_slave_write,
	.width = 1,
};

static uint64_t vmm_pic_elcr_read(void *opaque, uint64_t offset,
				  unsigned size)
{
	struct vmm_pic *pic = opaque;

	(void)size;
	return pic->s.chip[offset & 1].elcr;
}

static void vmm_pic_elcr_write(void *opaque, uint64_t offset, unsigned size,
			       uint64_t val)
{
	static const uint8_t writable[2] = { VMM_PIC_ELCR1_MASK,
					     VMM_PIC_ELCR2_MASK };
	struct vmm_pic *pic = opaque;
	struct vmm_pic_chip *c = &pic->s.chip[offset & 1];

	(void)size;
	c->elcr = (uint8_t)val & writable[offset & 1];
	vmm_pic_sync_levels(c);
	vmm_pic_update(pic);
}

const struct vmm_dev_ops vmm_pic_elcr_ops = {
	.read = vmm_pic_elcr_read,
	.write = vmm_pic_elcr_write,
	.width = 1,
};

/* What a BIOS leaves: the chips initialised (master vectors 0x08, slave
 * 0x70, cascade on IR2, 8086 mode), everything masked but the cascade. */
static void vmm_pic_chip_reset(struct vmm_pic_chip *c, uint8_t base,
			       uint8_t icw3, uint8_t imr)
{
	memset(c, 0, sizeof(*c));
	c->vector_base = base;
	c->icw3 = icw3;
	c->icw4_needed = 1;
	c->lowest = 7;
	c->imr = imr;
}

void vmm_pic_init(struct vmm_pic *pic, void (*intr)(void *opaque, int level),
		  void *opaque)
{
	memset(pic, 0, sizeof(*pic));
	pic->intr = intr;
	pic->opaque = opaque;
	vmm_pic_chip_reset(&pic->s.chip[0], 0x08, 1u << VMM_PIC_CASCADE_IRQ,
			   (uint8_t)~(1u << VMM_PIC_CASCADE_IRQ));
	vmm_pic_chip_reset(&pic->s.chip[1], 0x70, VMM_PIC_CASCADE_IRQ, 0xff);
}

int vmm_pic_register(struct vmm_pic *pic, struct vmm_bus *pio,
		     struct vx_err *err)
{
	int rc = vmm_bus_register(pio, VMM_PIC_MASTER_BASE, 2,
				  &vmm_pic_master_ops, pic, "i8259-master",
				  err);

	if (rc)
		return rc;
	rc = vmm_bus_register(pio, VMM_PIC_SLAVE_BASE, 2, &vmm_pic_slave_ops,
			      pic, "i8259-slave", err);
	if (rc)
		goto out_master;
	rc = vmm_bus_register(pio, VMM_PIC_ELCR_BASE, 2, &vmm_pic_elcr_ops,
			      pic, "elcr", err);
	if (!rc)
		return 0;
	vmm_bus_unregister(pio, VMM_PIC_SLAVE_BASE);
out_master:
	vmm_bus_unregister(pio, VMM_PIC_MASTER_BASE);
	return rc;
}
