/*
 * irqchip: the interrupt controllers of a machine with more than one vCPU.
 * Each vCPU gets the backend's in-kernel local APIC (vmxcore:
 * VMXCORE_CREATE_LAPIC; KVM: the split irqchip, local APICs in KVM and
 * nothing else), so IPIs, INIT/SIPI, the APIC timer and HLT stay in the
 * kernel. The board's devices keep their ISA lines; each line goes to the
 * 8259 PIC, whose vector vCPU 0 takes through LINT0 when the guest leaves
 * it in ExtINT (virtual wire; vcpu.c), and to the IOAPIC model, whose
 * messages go out here as MSIs (VMXCORE_APIC_IRQ, KVM_SIGNAL_MSI).
 *
 * Level-triggered pins: neither backend tells us of the guest's EOIs
 * (vmxcore reports none; under KVM's split irqchip only routes we do not
 * set would), so the message goes out edge-triggered. The guest's APIC
 * then leaves the vector's TMR bit clear, and Linux, seeing an edge where
 * it programmed a level pin, simulates the EOI the way it does for the
 * 82093AA's erratum: it rewrites the entry as edge and back, which clears
 * remote IRR in ioapic.c and sends again if the line is still up. On the
 * guest's side that counts in /proc/interrupts' MIS line.
 *
 * One vCPU keeps the PIC alone (no APIC at all): the Linux boot suites of
 * the single-vCPU machine stay what they were.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/runner/runner.h"

#define RN_IRQ_LOG_MAX	10	/* log lines about dropped messages, per VM */

static void rn_irqchip_drop(struct machine *m, const struct vmm_ioapic_msg *msg,
			    const char *why)
{
	if (m->irq_errors++ < RN_IRQ_LOG_MAX)
		fprintf(stderr, "vmxd-runner: IOAPIC pin %u: message (vector 0x%x, mode %u) dropped: %s\n",
			msg->pin, msg->vector, msg->delivery, why);
}

/* The IOAPIC's message to the APICs it names; io_lock held. */
static void rn_irqchip_deliver(void *opaque, const struct vmm_ioapic_msg *msg)
{
	struct machine *m = opaque;
	struct vmxcore_apic_irq irq = {
		.vector = msg->vector, .dest_mode = msg->logical, .dest = msg->dest,
		.trigger = 0,	/* even for level pins: see the top of this file */
		.level = 1,
	};
	int rc;

	switch (msg->delivery) {
	case VMM_IOAPIC_DM_FIXED:
	case VMM_IOAPIC_DM_LOWEST:
		/* Vectors 0-15 are illegal: a real APIC refuses them too. */
		if (msg->vector < 16) {
			rn_irqchip_drop(m, msg, "illegal vector");
			return;
		}
		irq.delivery = msg->delivery == VMM_IOAPIC_DM_FIXED ? VMXCORE_APIC_DM_FIXED :
								      VMXCORE_APIC_DM_LOWEST;
		break;
	case VMM_IOAPIC_DM_NMI:
		irq.delivery = VMXCORE_APIC_DM_NMI;
		break;
	case VMM_IOAPIC_DM_INIT:
		irq.delivery = VMXCORE_APIC_DM_INIT;
		break;
	default:
		/* SMI (no SMM), ExtINT (the PIC reaches vCPU 0 through LINT0
		 * instead), reserved modes. */
		rn_irqchip_drop(m, msg, "delivery mode not supported");
		return;
	}
	rc = m->ops->apic_irq(&m->vm, &irq);
	if (rc < 0)
		rn_irqchip_drop(m, msg, strerror(-rc));
}

/* Before the vCPUs exist: the backend's APICs, the IOAPIC on the MMIO bus
 * and on the board's lines. */
int rn_irqchip_create(struct machine *m, struct vx_err *err)
{
	int rc = m->ops->create_lapic_split(&m->vm);

	if (rc)
		return vx_err_set(err, rc, "%s: in-kernel local APIC (needed for %u vCPUs): %s",
				  m->ops->dev, m->cfg.vcpus, strerror(-rc));
	vmm_ioapic_init(&m->ioapic, rn_irqchip_deliver, m);
	rc = vmm_ioapic_register(&m->ioapic, &m->pc.mmio, err);
	if (rc)
		return rc;
	vmm_pc_attach_ioapic(&m->pc, &m->ioapic);
	m->apic = 1;
	return 0;
}
