/* Unit tests for vmm/pic.c: Linux's init_8259A sequence, then delivery,
 * masking, priority and nesting, EOIs, cascade, ELCR levels, spurious
 * IRQs, OCW3 reads and poll, and garbage on every port. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/bus.h"
#include "vmm/pic.h"
#include "tests/vmm/pio_fixture.h"

struct fx {
	struct pio_fixture io;	/* first: pio_fixture_teardown */
	struct vmm_pic pic;
	int calls, level;
};

static void fx_intr(void *opaque, int level)
{
	struct fx *f = opaque;

	f->calls++;
	f->level = level;
}

static int fx_setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	pio_fixture_init(&f.io, 0, 0);
	vmm_pic_init(&f.pic, fx_intr, &f);
	if (vmm_pic_register(&f.pic, &f.io.bus, NULL))
		return -1;
	*state = &f;
	return 0;
}

/* An edge device: the line goes up and straight down again (the PIT). */
static void pulse(struct fx *f, int irq)
{
	vmm_pic_set_irq(&f->pic, irq, 1);
	vmm_pic_set_irq(&f->pic, irq, 0);
}

static uint8_t read_isr(struct fx *f, unsigned port)
{
	uint8_t v;

	outb(&f->io, port, PIC_OCW3 | PIC_OCW3_RR | PIC_OCW3_RIS);
	v = inb(&f->io, port);
	outb(&f->io, port, PIC_OCW3 | PIC_OCW3_RR);
	return v;
}

/* arch/x86/kernel/i8259.c: init_8259A(), vectors 0x30 and 0x38, then the
 * masks: everything but the cascade. icw4 is 0x01, or 0x03 for auto-EOI. */
static void linux_init(struct fx *f, uint8_t icw4)
{
	outb(&f->io, 0x21, 0xff);
	outb(&f->io, 0xa1, 0xff);
	outb(&f->io, 0x20, 0x11);	/* ICW1: edge, cascade, ICW4 */
	outb(&f->io, 0x21, 0x30);	/* ICW2: IRQ 0-7 at 0x30 */
	outb(&f->io, 0x21, 0x04);	/* ICW3: slave on IR2 */
	outb(&f->io, 0x21, icw4);
	outb(&f->io, 0xa0, 0x11);
	outb(&f->io, 0xa1, 0x38);
	outb(&f->io, 0xa1, 0x02);	/* ICW3: slave ID 2 */
	outb(&f->io, 0xa1, icw4);
	outb(&f->io, 0x21, 0xfb);
	outb(&f->io, 0xa1, 0xff);
}

static void unmask(struct fx *f, uint16_t irqs)
{
	outb(&f->io, 0x21, inb(&f->io, 0x21) & (uint8_t)~irqs & 0xfb);
	outb(&f->io, 0xa1, inb(&f->io, 0xa1) & (uint8_t)~(irqs >> 8));
}

/* Linux's mask_and_ack_8259A: specific EOIs, slave first. */
static void eoi(struct fx *f, int irq)
{
	if (irq >= 8) {
		outb(&f->io, 0xa0, PIC_OCW2_SEOI | (irq & 7));
		outb(&f->io, 0x20, PIC_OCW2_SEOI | VMM_PIC_CASCADE_IRQ);
	} else {
		outb(&f->io, 0x20, PIC_OCW2_SEOI | irq);
	}
}

static void pic_linux_init_then_irq0(void **state)
{
	struct fx *f = *state;

	linux_init(f, 0x01);
	assert_int_equal(inb(&f->io, 0x21), 0xfb);
	assert_int_equal(inb(&f->io, 0xa1), 0xff);
	assert_int_equal(f->pic.s.chip[0].vector_base, 0x30);
	assert_int_equal(f->pic.s.chip[1].vector_base, 0x38);
	assert_int_equal(f->pic.s.chip[0].init_step, 0);
	assert_int_equal(f->pic.s.chip[1].init_step, 0);
	unmask(f, 1 << 0);
	assert_int_equal(vmm_pic_pending(&f->pic), 0);
	pulse(f, 0);
	assert_int_equal(vmm_pic_pending(&f->pic), 1);
	assert_int_equal(f->level, 1);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x30);
	assert_int_equal(vmm_pic_pending(&f->pic), 0);
	assert_int_equal(read_isr(f, 0x20), 0x01);
	assert_int_equal(inb(&f->io, 0x20), 0x00);	/* IRR: taken */
	eoi(f, 0);
	assert_int_equal(read_isr(f, 0x20), 0x00);
}

static void pic_masked_irq_waits_for_unmask(void **state)
{
	struct fx *f = *state;

	linux_init(f, 0x01);
	pulse(f, 3);
	assert_int_equal(vmm_pic_pending(&f->pic), 0);
	assert_int_equal(f->calls, 0);
	assert_int_equal(inb(&f->io, 0x20), 0x08);	/* latched all the same */
	unmask(f, 1 << 3);
	assert_int_equal(vmm_pic_pending(&f->pic), 1);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x33);
	/* Masking a level in service does not end it. */
	outb(&f->io, 0x21, 0xff);
	assert_int_equal(read_isr(f, 0x20), 0x08);
}

static void pic_priority_and_nesting(void **state)
{
	struct fx *f = *state;

	linux_init(f, 0x01);
	unmask(f, 0xffff);
	pulse(f, 4);
	pulse(f, 0);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x30);	/* IRQ 0 first */
	/* In service: IRQ 4 (lower) and IRQ 0 again (equal) wait. */
	pulse(f, 0);
	assert_int_equal(vmm_pic_pending(&f->pic), 0);
	assert_int_equal(inb(&f->io, 0x20), 0x11);
	outb(&f->io, 0x20, PIC_OCW2_EOI);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x30);
	outb(&f->io, 0x20, PIC_OCW2_EOI);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x34);
	assert_int_equal(vmm_pic_pending(&f->pic), 0);
	/* A higher level nests inside IRQ 4. */
	pulse(f, 1);
	assert_int_equal(vmm_pic_pending(&f->pic), 1);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x31);
	assert_int_equal(read_isr(f, 0x20), 0x12);
	/* Non-specific EOI ends the highest in service: IRQ 1. */
	outb(&f->io, 0x20, PIC_OCW2_EOI);
	assert_int_equal(read_isr(f, 0x20), 0x10);
	outb(&f->io, 0x20, PIC_OCW2_EOI);
	assert_int_equal(read_isr(f, 0x20), 0x00);
	assert_int_equal(vmm_pic_pending(&f->pic), 0);
}

static void pic_specific_eoi(void **state)
{
	struct fx *f = *state;

	linux_init(f, 0x01);
	unmask(f, 0xffff);
	pulse(f, 5);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x35);
	pulse(f, 3);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x33);
	outb(&f->io, 0x20, PIC_OCW2_SEOI | 5);	/* the outer one */
	assert_int_equal(read_isr(f, 0x20), 0x08);
	outb(&f->io, 0x20, PIC_OCW2_SEOI | 6);	/* not in service: nothing */
	assert_int_equal(read_isr(f, 0x20), 0x08);
	outb(&f->io, 0x20, PIC_OCW2_SEOI | 3);
	assert_int_equal(read_isr(f, 0x20), 0x00);
}

static void pic_auto_eoi(void **state)
{
	struct fx *f = *state;

	linux_init(f, 0x03);
	unmask(f, 1 << 0 | 1 << 8);
	pulse(f, 0);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x30);
	assert_int_equal(read_isr(f, 0x20), 0x00);
	pulse(f, 0);
	assert_int_equal(vmm_pic_pending(&f->pic), 1);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x30);
	/* Through the cascade too, with no EOI at all. */
	pulse(f, 8);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x38);
	pulse(f, 8);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x38);
	assert_int_equal(read_isr(f, 0x20), 0x00);
	assert_int_equal(read_isr(f, 0xa0), 0x00);
	assert_int_equal(vmm_pic_pending(&f->pic), 0);
}

static void pic_slave_irq8_through_cascade(void **state)
{
	struct fx *f = *state;

	linux_init(f, 0x01);
	unmask(f, 1 << 0 | 1 << 8 | 1 << 9);
	pulse(f, 8);
	assert_int_equal(vmm_pic_pending(&f->pic), 1);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x38);
	assert_int_equal(read_isr(f, 0x20), 0x04);
	assert_int_equal(read_isr(f, 0xa0), 0x01);
	/* IRQ 9 waits for IRQ 8's EOI, on both chips. */
	pulse(f, 9);
	assert_int_equal(vmm_pic_pending(&f->pic), 0);
	outb(&f->io, 0xa0, PIC_OCW2_SEOI | 0);
	assert_int_equal(vmm_pic_pending(&f->pic), 0);
	outb(&f->io, 0x20, PIC_OCW2_SEOI | 2);
	assert_int_equal(vmm_pic_pending(&f->pic), 1);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x39);
	/* IRQ 0 outranks the whole slave and nests inside it. */
	pulse(f, 0);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x30);
	eoi(f, 0);
	eoi(f, 9);
	/* While IRQ 0 is in service the slave waits. */
	pulse(f, 0);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x30);
	pulse(f, 8);
	assert_int_equal(vmm_pic_pending(&f->pic), 0);
	eoi(f, 0);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x38);
	eoi(f, 8);
	assert_int_equal(read_isr(f, 0x20), 0x00);
	assert_int_equal(read_isr(f, 0xa0), 0x00);
	assert_int_equal(vmm_pic_pending(&f->pic), 0);
}

static void pic_elcr_level_line_stays_pending(void **state)
{
	struct fx *f = *state;

	linux_init(f, 0x01);
	outb(&f->io, 0x4d0, 0xff);
	outb(&f->io, 0x4d1, 0xff);
	assert_int_equal(inb(&f->io, 0x4d0), VMM_PIC_ELCR1_MASK);	/* 0-2 edge */
	assert_int_equal(inb(&f->io, 0x4d1), VMM_PIC_ELCR2_MASK);	/* 8, 13 */
	outb(&f->io, 0x4d0, 0x00);
	outb(&f->io, 0x4d1, 0x0c);	/* IRQ 10, 11 level (PCI INTx) */
	assert_int_equal(inb(&f->io, 0x4d1), 0x0c);
	unmask(f, 1 << 10);
	vmm_pic_set_irq(&f->pic, 10, 1);
	assert_int_equal(inb(&f->io, 0xa0), 0x04);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x3a);
	eoi(f, 10);
	/* Still high: again. */
	assert_int_equal(vmm_pic_pending(&f->pic), 1);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x3a);
	vmm_pic_set_irq(&f->pic, 10, 0);
	assert_int_equal(inb(&f->io, 0xa0), 0x00);	/* IRR follows the line */
	eoi(f, 10);
	assert_int_equal(vmm_pic_pending(&f->pic), 0);
	/* A level line raised twice is still one request. */
	vmm_pic_set_irq(&f->pic, 10, 1);
	vmm_pic_set_irq(&f->pic, 10, 1);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x3a);
	vmm_pic_set_irq(&f->pic, 10, 0);	/* the handler quiets it */
	eoi(f, 10);
	assert_int_equal(vmm_pic_pending(&f->pic), 0);
}

static void pic_edge_pulsed_twice_is_one_interrupt(void **state)
{
	struct fx *f = *state;

	linux_init(f, 0x01);
	unmask(f, 1 << 4);
	pulse(f, 4);
	pulse(f, 4);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x34);
	eoi(f, 4);
	assert_int_equal(vmm_pic_pending(&f->pic), 0);
	/* A line held high makes no new edge by being driven high again. */
	vmm_pic_set_irq(&f->pic, 4, 1);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x34);
	eoi(f, 4);
	vmm_pic_set_irq(&f->pic, 4, 1);
	assert_int_equal(vmm_pic_pending(&f->pic), 0);
	/* The edge stays latched after the line drops. */
	vmm_pic_set_irq(&f->pic, 4, 0);
	vmm_pic_set_irq(&f->pic, 4, 1);
	vmm_pic_set_irq(&f->pic, 4, 0);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x34);
}

static void pic_spurious_irq7_and_irq15(void **state)
{
	struct fx *f = *state;

	linux_init(f, 0x01);
	outb(&f->io, 0x4d0, 0x20);	/* IRQ 5 level */
	outb(&f->io, 0x4d1, 0x08);	/* IRQ 11 level */
	unmask(f, 1 << 3 | 1 << 5 | 1 << 11);
	/* The line drops between INTR and INTA. */
	vmm_pic_set_irq(&f->pic, 5, 1);
	assert_int_equal(vmm_pic_pending(&f->pic), 1);
	vmm_pic_set_irq(&f->pic, 5, 0);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x37);
	assert_int_equal(read_isr(f, 0x20), 0x00);	/* IR7 not in service */
	/* Masked between INTR and INTA. */
	pulse(f, 3);
	outb(&f->io, 0x21, 0xff);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x37);
	assert_int_equal(read_isr(f, 0x20), 0x00);
	outb(&f->io, 0x21, 0xf3);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x33);
	eoi(f, 3);
	/* Slave: the master latched IR2's edge, so it answers; the slave has
	 * nothing and gives IR7's vector; the master's IR2 is in service
	 * (Linux EOIs the master for a spurious IRQ 15). */
	vmm_pic_set_irq(&f->pic, 11, 1);
	vmm_pic_set_irq(&f->pic, 11, 0);
	assert_int_equal(vmm_pic_pending(&f->pic), 1);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x3f);
	assert_int_equal(read_isr(f, 0x20), 0x04);
	assert_int_equal(read_isr(f, 0xa0), 0x00);
	outb(&f->io, 0x20, PIC_OCW2_SEOI | 2);
	assert_int_equal(vmm_pic_pending(&f->pic), 0);
	/* Nothing at all: the master's IR7. */
	assert_int_equal(vmm_pic_ack(&f->pic), 0x37);
}

static void pic_ocw3_reads_irr_and_isr(void **state)
{
	struct fx *f = *state;

	linux_init(f, 0x01);
	unmask(f, 1 << 1);
	pulse(f, 1);
	pulse(f, 6);
	pulse(f, 12);
	/* IRR: masked requests too; IR2 stays low (the slave's IR4 is
	 * masked, so its INT is). */
	assert_int_equal(inb(&f->io, 0x20), 0x42);
	assert_int_equal(inb(&f->io, 0xa0), 0x10);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x31);
	outb(&f->io, 0x20, PIC_OCW3 | PIC_OCW3_RR | PIC_OCW3_RIS);
	assert_int_equal(inb(&f->io, 0x20), 0x02);
	/* OCW3 without RR keeps what is read. */
	outb(&f->io, 0x20, PIC_OCW3);
	assert_int_equal(inb(&f->io, 0x20), 0x02);
	outb(&f->io, 0x20, PIC_OCW3 | PIC_OCW3_RR);
	assert_int_equal(inb(&f->io, 0x20), 0x40);
	assert_int_equal(inb(&f->io, 0x21), 0xf9);	/* the odd port: IMR */
}

static void pic_poll_mode(void **state)
{
	struct fx *f = *state;

	linux_init(f, 0x01);
	outb(&f->io, 0x21, 0xff);	/* a poller runs with INT unused */
	outb(&f->io, 0x21, 0xf7);
	pulse(f, 3);
	outb(&f->io, 0x20, PIC_OCW3 | PIC_OCW3_POLL);
	assert_int_equal(inb(&f->io, 0x20), 0x83);
	assert_int_equal(read_isr(f, 0x20), 0x08);
	assert_int_equal(vmm_pic_pending(&f->pic), 0);
	/* Nothing requested: bit 7 clear, and poll is one read only. */
	outb(&f->io, 0x20, PIC_OCW3 | PIC_OCW3_POLL);
	assert_int_equal(inb(&f->io, 0x20), 0x00);
	assert_int_equal(inb(&f->io, 0x20), 0x00);	/* IRR again */
	outb(&f->io, 0x20, PIC_OCW2_EOI);
	assert_int_equal(read_isr(f, 0x20), 0x00);
}

static void pic_intr_callback_on_changes_only(void **state)
{
	struct fx *f = *state;

	linux_init(f, 0x01);
	assert_int_equal(f->calls, 0);
	unmask(f, 1 << 0 | 1 << 4);
	pulse(f, 0);
	assert_int_equal(f->calls, 1);
	assert_int_equal(f->level, 1);
	pulse(f, 4);		/* INT already high */
	pulse(f, 0);
	assert_int_equal(f->calls, 1);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x30);
	assert_int_equal(f->calls, 2);
	assert_int_equal(f->level, 0);
	outb(&f->io, 0x21, 0xff);	/* masks and reads change nothing */
	(void)inb(&f->io, 0x20);
	assert_int_equal(f->calls, 2);
	outb(&f->io, 0x21, 0xee);
	outb(&f->io, 0x20, PIC_OCW2_EOI);
	assert_int_equal(f->calls, 3);
	assert_int_equal(f->level, 1);
	outb(&f->io, 0x21, 0xff);
	assert_int_equal(f->calls, 4);
	assert_int_equal(f->level, 0);
}

static void pic_rotation_and_set_priority(void **state)
{
	struct fx *f = *state;

	linux_init(f, 0x01);
	unmask(f, 0xffff);
	pulse(f, 0);
	pulse(f, 1);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x30);
	outb(&f->io, 0x20, PIC_OCW2_ROT_EOI);		/* IR0 becomes the lowest */
	pulse(f, 0);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x31);
	outb(&f->io, 0x20, PIC_OCW2_ROT_SEOI | 1);	/* now IR2 is the highest */
	assert_int_equal(vmm_pic_ack(&f->pic), 0x30);
	outb(&f->io, 0x20, PIC_OCW2_EOI);
	outb(&f->io, 0x20, PIC_OCW2_SET_PRIO | 4);	/* IR5 highest */
	pulse(f, 3);
	pulse(f, 6);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x36);
	/* IR3 is lower than IR6 now: it waits. */
	assert_int_equal(vmm_pic_pending(&f->pic), 0);
	outb(&f->io, 0x20, PIC_OCW2_EOI);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x33);
	outb(&f->io, 0x20, PIC_OCW2_EOI);
	/* Rotate in auto-EOI mode. */
	linux_init(f, 0x03);
	unmask(f, 0xffff);
	outb(&f->io, 0x20, PIC_OCW2_ROT_AEOI_SET);
	pulse(f, 0);
	pulse(f, 1);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x30);
	pulse(f, 0);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x31);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x30);
	outb(&f->io, 0x20, PIC_OCW2_ROT_AEOI_CLR);
	assert_int_equal(f->pic.s.chip[0].rotate_aeoi, 0);
}

static void pic_special_mask_mode(void **state)
{
	struct fx *f = *state;

	linux_init(f, 0x01);
	unmask(f, 0xffff);
	pulse(f, 0);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x30);
	pulse(f, 4);
	assert_int_equal(vmm_pic_pending(&f->pic), 0);
	/* Special mask mode, IR0 masked: its service holds nothing off. */
	outb(&f->io, 0x20, PIC_OCW3 | PIC_OCW3_ESMM | PIC_OCW3_SMM);
	outb(&f->io, 0x21, 0x01);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x34);
	outb(&f->io, 0x20, PIC_OCW2_SEOI | 4);
	outb(&f->io, 0x20, PIC_OCW3 | PIC_OCW3_ESMM);
	outb(&f->io, 0x21, 0x00);
	pulse(f, 4);
	assert_int_equal(vmm_pic_pending(&f->pic), 0);	/* IR0 blocks again */
	outb(&f->io, 0x20, PIC_OCW2_SEOI | 0);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x34);
}

static void pic_single_mode_and_power_on(void **state)
{
	struct fx *f = *state;

	/* Power-on: as a BIOS leaves it, all masked. */
	assert_int_equal(inb(&f->io, 0x21), 0xfb);
	assert_int_equal(inb(&f->io, 0xa1), 0xff);
	pulse(f, 0);
	assert_int_equal(vmm_pic_pending(&f->pic), 0);
	/* ICW1 single without ICW4: ICW2 is the last word. */
	outb(&f->io, 0x20, PIC_ICW1_INIT | PIC_ICW1_SNGL);
	assert_int_equal(inb(&f->io, 0x21), 0x00);	/* ICW1 clears IMR */
	outb(&f->io, 0x21, 0x48);
	assert_int_equal(f->pic.s.chip[0].init_step, 0);
	outb(&f->io, 0x21, 0xfa);	/* OCW1 */
	assert_int_equal(inb(&f->io, 0x21), 0xfa);
	assert_int_equal(vmm_pic_pending(&f->pic), 0);	/* edge reset */
	pulse(f, 0);
	pulse(f, 2);		/* the cascade is not a device's */
	assert_int_equal(vmm_pic_ack(&f->pic), 0x48);
	outb(&f->io, 0x20, PIC_OCW2_EOI);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x4f);	/* spurious */
	vmm_pic_set_irq(&f->pic, -1, 1);
	vmm_pic_set_irq(&f->pic, 16, 1);
	assert_int_equal(vmm_pic_pending(&f->pic), 0);
}

static void pic_special_fully_nested(void **state)
{
	struct fx *f = *state;

	/* Fully nested (Linux): slave IRQ 8 waits behind slave IRQ 9, the
	 * master's IR2 being in service. */
	linux_init(f, 0x01);
	unmask(f, 1 << 8 | 1 << 9);
	pulse(f, 9);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x39);
	pulse(f, 8);
	assert_int_equal(vmm_pic_pending(&f->pic), 0);
	/* Special fully nested on the master: the slave's higher level
	 * nests. */
	linux_init(f, 0x01);
	outb(&f->io, 0x20, 0x11);
	outb(&f->io, 0x21, 0x30);
	outb(&f->io, 0x21, 0x04);
	outb(&f->io, 0x21, PIC_ICW4_SFNM | PIC_ICW4_UPM);
	unmask(f, 1 << 8 | 1 << 9);
	pulse(f, 9);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x39);
	pulse(f, 8);
	assert_int_equal(vmm_pic_pending(&f->pic), 1);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x38);
	assert_int_equal(read_isr(f, 0xa0), 0x03);
	/* But not a lower one. */
	pulse(f, 10);
	assert_int_equal(vmm_pic_pending(&f->pic), 0);
}

static void pic_icw1_restarts_a_running_chip(void **state)
{
	struct fx *f = *state;

	linux_init(f, 0x01);
	unmask(f, 1 << 0 | 1 << 4);
	pulse(f, 0);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x30);
	pulse(f, 4);
	outb(&f->io, 0x20, PIC_OCW2_EOI);
	assert_int_equal(f->level, 1);
	/* ICW1 drops the request (INT falls) and what was in service. */
	outb(&f->io, 0x20, 0x11);
	assert_int_equal(f->level, 0);
	assert_int_equal(f->pic.s.chip[0].isr, 0);
	assert_int_equal(f->pic.s.chip[0].irr, 0);
	/* Odd-port writes are ICWs until the sequence ends. */
	outb(&f->io, 0x21, 0x20);
	outb(&f->io, 0x21, 0x04);
	assert_int_equal(inb(&f->io, 0x21), 0x00);
	outb(&f->io, 0x21, 0x01);
	outb(&f->io, 0x21, 0xef);	/* OCW1 */
	assert_int_equal(inb(&f->io, 0x21), 0xef);
	pulse(f, 4);
	assert_int_equal(vmm_pic_ack(&f->pic), 0x24);
}

/* The state stays within what the hardware can hold. */
static void check_bounds(struct fx *f)
{
	unsigned c;

	assert_int_equal(f->level, vmm_pic_pending(&f->pic));
	for (c = 0; c < 2; c++) {
		assert_true(f->pic.s.chip[c].lowest < 8);
		assert_true(f->pic.s.chip[c].init_step <= 4);
		assert_true(f->pic.s.chip[c].init_step != 1);
		assert_int_equal(f->pic.s.chip[c].vector_base & 7, 0);
	}
	assert_int_equal(f->pic.s.chip[0].elcr & ~VMM_PIC_ELCR1_MASK, 0);
	assert_int_equal(f->pic.s.chip[1].elcr & ~VMM_PIC_ELCR2_MASK, 0);
}

/* Every value to every port at every size, lines and INTA cycles
 * interleaved: nothing breaks and the state stays in bounds (under
 * ASan/UBSan this is the real check). */
static void pic_garbage_is_harmless(void **state)
{
	struct fx *f = *state;
	static const unsigned ports[] = { 0x20, 0x21, 0xa0, 0xa1,
					  0x4d0, 0x4d1 };
	static const unsigned sizes[] = { 1, 2, 4 };
	uint32_t x = 7;
	unsigned p, s, v;
	uint64_t r;
	int vec;

	for (p = 0; p < 6; p++)
		for (s = 0; s < 3; s++)
			for (v = 0; v < 256; v++) {
				x = x * 1103515245u + 12345u;
				assert_int_equal(vmm_bus_write(&f->io.bus,
					ports[p], sizes[s],
					v | (x & ~0xffu)), 0);
				assert_int_equal(vmm_bus_read(&f->io.bus,
					ports[(x >> 8) % 6],
					sizes[(x >> 12) % 3], &r), 0);
				/* -1..16: out-of-range lines are ignored */
				vmm_pic_set_irq(&f->pic,
						(int)((x >> 16) % 18) - 1,
						(x >> 24) & 1);
				if ((x >> 28) & 1) {
					vec = vmm_pic_ack(&f->pic);
					assert_true(vec >= 0 && vec <= 0xff);
				}
				check_bounds(f);
			}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, pio_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(pic_linux_init_then_irq0),
		T(pic_masked_irq_waits_for_unmask),
		T(pic_priority_and_nesting),
		T(pic_specific_eoi),
		T(pic_auto_eoi),
		T(pic_slave_irq8_through_cascade),
		T(pic_elcr_level_line_stays_pending),
		T(pic_edge_pulsed_twice_is_one_interrupt),
		T(pic_spurious_irq7_and_irq15),
		T(pic_ocw3_reads_irr_and_isr),
		T(pic_poll_mode),
		T(pic_intr_callback_on_changes_only),
		T(pic_rotation_and_set_priority),
		T(pic_special_mask_mode),
		T(pic_single_mode_and_power_on),
		T(pic_special_fully_nested),
		T(pic_icw1_restarts_a_running_chip),
		T(pic_garbage_is_harmless),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
