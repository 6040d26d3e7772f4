/*
 * vmm_pc: the legacy PC device map (see pc.h). Each device's interrupt
 * callback is a small trampoline naming its IRQ line into the PIC.
 */
#include "vmm/pc.h"

#include <string.h>

#include "vmm/acpi.h"

void vmm_pc_set_irq(struct vmm_pc *pc, int irq, int level)
{
	vmm_pic_set_irq(&pc->pic, irq, level);
	if (pc->ioapic && irq >= 0 && irq < VMM_PIC_NR_IRQS && irq != VMM_PIC_CASCADE_IRQ)
		vmm_ioapic_set_irq(pc->ioapic, vmm_acpi_isa_gsi(irq), level);
}

void vmm_pc_attach_ioapic(struct vmm_pc *pc, struct vmm_ioapic *ioapic)
{
	pc->ioapic = ioapic;
}

int vmm_pc_ack(struct vmm_pc *pc)
{
	return vmm_pic_ack(&pc->pic);
}

static void vmm_pc_intr(void *opaque, int level)
{
	struct vmm_pc *pc = opaque;

	if (pc->cb.intr)
		pc->cb.intr(pc->cb.opaque, level);
}

static void vmm_pc_irq_pit(void *opaque, int level)
{
	vmm_pc_set_irq(opaque, VMM_PC_IRQ_PIT, level);
}

static void vmm_pc_irq_kbd(void *opaque, int level)
{
	vmm_pc_set_irq(opaque, VMM_PC_IRQ_KBD, level);
}

static void vmm_pc_irq_com1(void *opaque, int level)
{
	vmm_pc_set_irq(opaque, VMM_PC_IRQ_COM1, level);
}

static void vmm_pc_irq_rtc(void *opaque, int level)
{
	vmm_pc_set_irq(opaque, VMM_PC_IRQ_RTC, level);
}

static void vmm_pc_reset(void *opaque)
{
	struct vmm_pc *pc = opaque;

	if (pc->cb.reset)
		pc->cb.reset(pc->cb.opaque);
}

static void vmm_pc_console(void *opaque, uint8_t byte)
{
	struct vmm_pc *pc = opaque;

	if (pc->cb.console)
		pc->cb.console(pc->cb.opaque, byte);
}

int vmm_pc_init(struct vmm_pc *pc, const struct vmm_clock *clock,
		const struct vmm_pc_cb *cb, struct vx_err *err)
{
	struct vmm_uart_cb ucb = { vmm_pc_irq_com1, vmm_pc_console, pc };
	struct vmm_i8042_cb kcb = { vmm_pc_reset, vmm_pc_irq_kbd, pc };
	int rc;

	memset(pc, 0, sizeof(*pc));
	if (cb)
		pc->cb = *cb;
	vmm_bus_init(&pc->pio, VMM_BUS_PIO);
	vmm_bus_init(&pc->mmio, VMM_BUS_MMIO);
	/* The PIC first: the others may drive their lines at init. */
	vmm_pic_init(&pc->pic, vmm_pc_intr, pc);
	vmm_uart_init(&pc->com1, &ucb);
	vmm_i8042_init(&pc->kbc, &kcb);
	vmm_pit_init(&pc->pit, clock, vmm_pc_irq_pit, pc);
	vmm_rtc_init(&pc->rtc, clock, vmm_pc_irq_rtc, pc);

	rc = vmm_pic_register(&pc->pic, &pc->pio, err);
	if (!rc)
		rc = vmm_pit_register(&pc->pit, &pc->pio, err);
	if (!rc)
		rc = vmm_i8042_register(&pc->kbc, &pc->pio, err);
	if (!rc)
		rc = vmm_rtc_register(&pc->rtc, &pc->pio, err);
	if (!rc)
		rc = vmm_uart_register(&pc->com1, &pc->pio,
				       VMM_UART_COM1_BASE, err);
	if (rc)
		vmm_pc_destroy(pc);
	return rc;
}

void vmm_pc_destroy(struct vmm_pc *pc)
{
	vmm_bus_destroy(&pc->pio);
	vmm_bus_destroy(&pc->mmio);
}
