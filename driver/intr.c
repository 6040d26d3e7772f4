// SPDX-License-Identifier: GPL-2.0
/*
 * intr.c: event injection into the guest (SDM Vol. 3C 26.6) and the
 * interrupt window.
 *
 * One external interrupt and one NMI can be queued (VMXCORE_INTERRUPT). At
 * each entry, an exception the core raised goes first; then a queued NMI if
 * NMIs are not blocked; then a queued interrupt if the guest can take one
 * now. An interrupt that cannot go in yet turns on interrupt-window exiting,
 * so the guest exits the moment it can and the interrupt goes in then.
 * Userspace may also ask for that exit (run->request_interrupt_window) to
 * learn when to queue its next interrupt.
 *
 * With the in-kernel APIC (apic.c) the queued interrupt is the PIC's INTR:
 * it goes first (ExtINT bypasses IRR) but only while the APIC passes ExtINT
 * through; then the APIC's highest deliverable vector, acknowledged (IRR to
 * ISR) as it is injected.
 *
 * VMXCORE_GET/SET_VCPU_EVENTS (checks and conversions in vcpu_events.c)
 * read and replace this state: an event SET puts in delivery takes the path
 * of an interrupted delivery (exit.idt_vectoring), so it goes in first.
 *
 * Environment: injection with the vCPU's VMCS current and preemption
 * disabled; the events ioctls in process context under vcpu->mutex.
 */
#include <asm/processor-flags.h>
#include <asm/trapnr.h>
#include <asm/vmx.h>
#include <linux/uaccess.h>

#include "vmxcore.h"
#include "vmx_ops.h"
#include "vcpu_events.h"

#define INTERRUPTIBILITY_STI	(1u << 0)
#define INTERRUPTIBILITY_MOV_SS	(1u << 1)
#define INTERRUPTIBILITY_NMI	(1u << 3)

bool vcpu_interruptible(const struct vmx_vcpu *vcpu)
{
	return (vcpu->rflags & X86_EFLAGS_IF) &&
	       !(vcpu->exit.interruptibility & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
}

int vcpu_queue_interrupt(struct vmx_vcpu *vcpu, const struct vmxcore_interrupt *irq)
{
	if (irq->flags & ~VMXCORE_INTR_NMI)
		return -EINVAL;
	if (irq->flags & VMXCORE_INTR_NMI) {
		if (vcpu->queued_nmi)
			return -EBUSY;
		vcpu->queued_nmi = true;
		return 0;
	}
	if (irq->vector < 32 || irq->vector > 255)
		return -EINVAL;	/* 0-31 are exceptions, not interrupts */
	if (vcpu->queued_irq >= 0)
		return -EBUSY;
	vcpu->queued_irq = irq->vector;
	return 0;
}

static void vcpu_set_window_exiting(struct vmx_vcpu *vcpu, bool on)
{
	u32 proc;

	if (vcpu->window_exiting == on)
		return;
	proc = vmcs_read(CPU_BASED_VM_EXEC_CONTROL);
	if (on)
		proc |= CPU_BASED_INTR_WINDOW_EXITING;
	else
		proc &= ~CPU_BASED_INTR_WINDOW_EXITING;
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, proc);
	vcpu->window_exiting = on;
}

/*
 * An exit that interrupted the delivery of an event (say, an EPT violation
 * on the guest stack while pushing an interrupt frame) leaves the event in
 * the IDT-vectoring field: it must be delivered again (SDM 27.2.4).
 */
static bool vcpu_redeliver_interrupted_event(struct vmx_vcpu *vcpu)
{
	u32 info = vcpu->exit.idt_vectoring;
	u32 type = info & INTR_INFO_INTR_TYPE_MASK;

	if (!(info & INTR_INFO_VALID_MASK))
		return false;
	vcpu->exit.idt_vectoring = 0;
	if (info & INTR_INFO_DELIVER_CODE_MASK)
		vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, vcpu->exit.idt_error_code);
	if (type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_SOFT_EXCEPTION ||
	    type == INTR_TYPE_PRIV_SW_EXCEPTION)
		vmcs_write(VM_ENTRY_INSTRUCTION_LEN, vcpu->exit.instr_len);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, info & ~(1u << 12));	/* bit 12: reserved on entry */
	return true;
}

/* The PIC's (or userspace's) queued interrupt may go in now. */
static bool vcpu_queued_irq_ready(struct vmx_vcpu *vcpu)
{
	return vcpu->queued_irq >= 0 && (!vcpu_has_lapic(vcpu) || vcpu_apic_accepts_pic(vcpu));
}

/* Takes the next external interrupt to inject, or returns -1. */
static int vcpu_take_irq(struct vmx_vcpu *vcpu)
{
	int vector = -1;

	if (vcpu_queued_irq_ready(vcpu)) {
		vector = vcpu->queued_irq;
		vcpu->queued_irq = -1;
	} else if (vcpu_has_lapic(vcpu)) {
		vector = vcpu_apic_pending_vector(vcpu, true);
	}
	return vector;
}

/* Writes at most one event into the VM-entry interruption field. */
void vcpu_inject_events(struct vmx_vcpu *vcpu)
{
	int vector = vcpu->pending_exception;
	bool want_window;
	u32 info;

	if (vmcs_read(VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO_VALID_MASK) {
		/* An entry given up after a kick (vcpu.c): its event still goes first. */
	} else if (vcpu_redeliver_interrupted_event(vcpu)) {
		/* the queued ones wait for the next entry */
	} else if (vector >= 0) {
		info = vector | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_VALID_MASK;
		/*
		 * #DF #TS #NP #SS #GP #PF #AC push an error code in protected
		 * mode, and VM entry insists on exactly that (SDM 26.2.1.3).
		 * CR0.PE is the guest's own bit, so the VMCS has the current
		 * value: the cached sregs are stale once the guest (an AP
		 * started in real mode, say) has switched modes itself.
		 */
		if (((1u << vector) & 0x27d00) && (vmcs_read(GUEST_CR0) & X86_CR0_PE)) {
			info |= INTR_INFO_DELIVER_CODE_MASK;
			vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, vcpu->pending_error_code);
		}
		vmcs_write(VM_ENTRY_INTR_INFO_FIELD, info);
		vcpu->pending_exception = -1;
	} else if (vcpu->queued_nmi && !(vcpu->exit.interruptibility & INTERRUPTIBILITY_NMI)) {
		vmcs_write(VM_ENTRY_INTR_INFO_FIELD,
			   2 | INTR_TYPE_NMI_INTR | INTR_INFO_VALID_MASK);	/* vector 2: NMI */
		vcpu->queued_nmi = false;
	} else if (vcpu_interruptible(vcpu) && (vector = vcpu_take_irq(vcpu)) >= 0) {
		vmcs_write(VM_ENTRY_INTR_INFO_FIELD,
			   vector | INTR_TYPE_EXT_INTR | INTR_INFO_VALID_MASK);
	}
	want_window = vcpu_queued_irq_ready(vcpu) || vcpu->run->request_interrupt_window ||
		      (vcpu_has_lapic(vcpu) && vcpu_apic_pending_vector(vcpu, false) >= 0);
	vcpu_set_window_exiting(vcpu, want_window);
}

/*
 * The event in the VM-entry field of an entry given up after a kick (the
 * VMCS keeps it for the next one); 0 when none or SET replaced it.
 */
static u32 vcpu_entry_event(struct vmx_vcpu *vcpu, u32 *error_code)
{
	u32 info = 0;

	if (vcpu->dirty & VCPU_DIRTY_ENTRY_EVENT)
		return 0;
	preempt_disable();
	vmx_vcpu_load(vcpu);
	info = vmcs_read(VM_ENTRY_INTR_INFO_FIELD);
	if ((info & INTR_INFO_VALID_MASK) && (info & INTR_INFO_DELIVER_CODE_MASK))
		*error_code = vmcs_read(VM_ENTRY_EXCEPTION_ERROR_CODE);
	preempt_enable();
	return info & INTR_INFO_VALID_MASK ? info : 0;
}

static bool vcpu_halted(struct vmx_vcpu *vcpu)
{
	return vcpu_has_lapic(vcpu) && vcpu->apic.mp_state != VCPU_MP_RUNNABLE;
}

static void vcpu_get_events(struct vmx_vcpu *vcpu, struct vmxcore_vcpu_events *ev)
{
	u32 code = 0, info = vcpu_entry_event(vcpu, &code);
	unsigned long flags;
	bool apic_nmi = false;

	memset(ev, 0, sizeof(*ev));
	if (!info) {
		info = vcpu->exit.idt_vectoring;
		code = vcpu->exit.idt_error_code;
	}
	vev_record_injected(ev, info, code);
	if (vcpu->pending_exception >= 0 && !ev->exception.injected) {
		ev->exception.pending = 1;
		ev->exception.vector = vcpu->pending_exception;
		ev->exception.has_error_code = vev_wants_error_code(vcpu->pending_exception,
								    vcpu->sregs.cr0);
		if (ev->exception.has_error_code)
			ev->exception.error_code = vcpu->pending_error_code & 0xffff;
	}
	if (vcpu->queued_irq >= 0) {
		ev->interrupt.queued = 1;
		ev->interrupt.queued_vector = vcpu->queued_irq;
	}
	if (vcpu_has_lapic(vcpu)) {
		spin_lock_irqsave(&vcpu->apic.lock, flags);
		apic_nmi = vcpu->apic.nmi_pending;
		spin_unlock_irqrestore(&vcpu->apic.lock, flags);
	}
	ev->nmi.pending = vcpu->queued_nmi || apic_nmi;
	vev_record_interruptibility(ev, vcpu->exit.interruptibility);
}

static int vcpu_set_events(struct vmx_vcpu *vcpu, const struct vmxcore_vcpu_events *ev)
{
	struct vev_guest g = {
		.rflags = vcpu->rflags, .cr0 = vcpu->sregs.cr0, .halted = vcpu_halted(vcpu),
	};
	const char *why = NULL;
	unsigned long flags;
	int ret = vev_check(ev, &g, &why);

	if (ret) {
		pr_debug(VMX_PR_PREFIX "SET_VCPU_EVENTS refused: %s\n", why);
		return ret;
	}
	/* The injected event goes in at the next entry as an interrupted delivery would. */
	vcpu->exit.idt_vectoring = vev_injected_info(ev, &vcpu->exit.idt_error_code);
	vcpu->pending_exception = ev->exception.pending ? ev->exception.vector : -1;
	vcpu->pending_error_code = ev->exception.pending ? ev->exception.error_code : 0;
	vcpu->queued_irq = ev->interrupt.queued ? ev->interrupt.queued_vector : -1;
	vcpu->queued_nmi = ev->nmi.pending;
	if (vcpu_has_lapic(vcpu)) {
		spin_lock_irqsave(&vcpu->apic.lock, flags);
		vcpu->apic.nmi_pending = false;		/* folded into queued_nmi */
		spin_unlock_irqrestore(&vcpu->apic.lock, flags);
	}
	vcpu->exit.interruptibility = vev_interruptibility(ev);
	vcpu->dirty |= VCPU_DIRTY_INTR_STATE | VCPU_DIRTY_ENTRY_EVENT;
	return 0;
}

long vcpu_events_ioctl(struct vmx_vcpu *vcpu, void __user *uarg, bool set)
{
	struct vmxcore_vcpu_events ev;

	if (!set) {
		vcpu_get_events(vcpu, &ev);
		return copy_to_user(uarg, &ev, sizeof(ev)) ? -EFAULT : 0;
	}
	if (copy_from_user(&ev, uarg, sizeof(ev)))
		return -EFAULT;
	return vcpu_set_events(vcpu, &ev);
}
