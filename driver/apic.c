// SPDX-License-Identifier: GPL-2.0
/*
 * apic.c: the in-kernel local APIC, opt-in per VM (VMXCORE_CREATE_LAPIC).
 * lapic.c computes; this file connects it to the vCPU:
 *
 *   - the xAPIC page (mmio.c hands accesses inside it here) and the MSRs
 *     IA32_APIC_BASE, IA32_TSC_DEADLINE, 0x800-0x8FF (exit.c);
 *   - one hrtimer per vCPU at lapic_timer_expiry(), on CLOCK_MONOTONIC, the
 *     now_ns of every lapic call being ktime_get_ns();
 *   - injection before each entry (intr.c asks vcpu_apic_pending_vector());
 *   - HLT and wait-for-SIPI: the vCPU sleeps in RUN on its wait queue;
 *   - IPIs and VMXCORE_APIC_IRQ: matched over the VM's vCPUs, accepted into
 *     the target's APIC, the target kicked.
 *
 * Kicks: whoever makes an event pending for a vCPU (its timer, another
 * vCPU, a device model) sets apic.kicked, wakes the wait queue, and sends
 * a reschedule IPI to the CPU running the guest (external-interrupt exiting
 * turns it into a VM exit). The vCPU clears kicked before it evaluates the
 * APIC for injection, publishes guest_cpu with interrupts off and gives the
 * entry up if kicked was set meanwhile (vcpu.c), so no event waits for an
 * unrelated exit.
 *
 * Locking: apic.lock (a spinlock, IRQ-safe: the hrtimer callback runs in
 * hardirq context) covers the struct lapic and the cross-vCPU fields. IPI
 * delivery holds vm->vcpu_lock (a mutex: process context only) so targets
 * cannot go away, and one target's apic.lock at a time, never the sender's.
 *
 * Environment: process context with preemption enabled unless said
 * otherwise; the timer callback in hardirq context.
 */
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/tsc.h>
#include <asm/vmx.h>

#include "vmxcore.h"
#include "vmx_ops.h"

static int vcpu_apic_vec_highest(const u32 *words);

/* A periodic timer never fires more often than this (KVM bounds it too). */
#define APIC_MIN_PERIOD_NS	(200 * NSEC_PER_USEC)

void vcpu_apic_kick(struct vmx_vcpu *vcpu)
{
	struct vmx_vcpu_apic *a = &vcpu->apic;
	int cpu;

	atomic_set(&a->kicked, 1);
	smp_mb__after_atomic();
	wake_up_interruptible(&a->wq);
	cpu = READ_ONCE(a->guest_cpu);
	if (cpu >= 0 && cpu != raw_smp_processor_id())
		smp_send_reschedule(cpu);
}

static bool vcpu_apic_irr_test(const struct vmx_vcpu_apic *a, unsigned int vector)
{
	return a->l.irr[vector / 32] & (1u << (vector % 32));
}

/*
 * An interrupt for @vector arrived and its IRR bit was already set
 * (@was_set): with VID that bit may be stale (see irr_again), so the
 * arrival is kept apart and the vCPU must be kicked to merge. Returns
 * whether it was kept. Caller holds apic.lock.
 */
static bool vcpu_apic_vid_arrived(struct vmx_vcpu_apic *a, unsigned int vector, bool was_set)
{
	if (!a->vid || !was_set)
		return false;
	a->irr_again[vector / 32] |= 1u << (vector % 32);
	return true;
}

/* Hardirq context. */
static enum hrtimer_restart vcpu_apic_timer_fn(struct hrtimer *t)
{
	struct vmx_vcpu *vcpu = container_of(t, struct vmx_vcpu, apic.timer);
	struct lapic *l = &vcpu->apic.l;
	u64 now = ktime_get_ns(), next;
	unsigned long flags;
	unsigned int vector;
	bool fires, was;

	spin_lock_irqsave(&vcpu->apic.lock, flags);
	vector = l->lvt[LAPIC_LVT_TIMER] & LAPIC_LVT_VECTOR;
	fires = l->timer_armed && now >= l->timer_expiry_ns &&
		!(l->lvt[LAPIC_LVT_TIMER] & LAPIC_LVT_MASKED) && vector >= 16;
	was = vcpu_apic_irr_test(&vcpu->apic, vector);
	next = lapic_timer_expired(l, now);
	if (fires)
		vcpu_apic_vid_arrived(&vcpu->apic, vector, was);
	vcpu->apic.regs_changed = true;
	spin_unlock_irqrestore(&vcpu->apic.lock, flags);
	vcpu_apic_kick(vcpu);
	if (!next)
		return HRTIMER_NORESTART;
	hrtimer_set_expires(t, ns_to_ktime(max(next, now + APIC_MIN_PERIOD_NS)));
	return HRTIMER_RESTART;
}

/*
 * Reprograms the hrtimer after the APIC's timer changed. Only the vCPU's
 * thread calls this, so nothing starts the timer between cancel and start.
 */
static void vcpu_apic_timer_update(struct vmx_vcpu *vcpu)
{
	struct vmx_vcpu_apic *a = &vcpu->apic;
	unsigned long flags;
	u64 exp;

	hrtimer_cancel(&a->timer);
	spin_lock_irqsave(&a->lock, flags);
	exp = lapic_timer_expiry(&a->l);
	spin_unlock_irqrestore(&a->lock, flags);
	if (exp)
		hrtimer_start(&a->timer, ns_to_ktime(exp), HRTIMER_MODE_ABS);
}

void vcpu_apic_init(struct vmx_vcpu *vcpu)
{
	struct vmx_vcpu_apic *a = &vcpu->apic;

	spin_lock_init(&a->lock);
	lapic_reset(&a->l, vcpu->id, vcpu->id == 0);
	a->mp_state = VCPU_MP_RUNNABLE;
	hrtimer_init(&a->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS);
	a->timer.function = vcpu_apic_timer_fn;
	init_waitqueue_head(&a->wq);
	atomic_set(&a->kicked, 0);
	a->guest_cpu = -1;
	a->virt = VCPU_APIC_VIRT_NONE;
	a->regs_changed = true;
}

void vcpu_apic_destroy(struct vmx_vcpu *vcpu)
{
	hrtimer_cancel(&vcpu->apic.timer);
	if (vcpu->apic.vapic_page)
		__free_page(vcpu->apic.vapic_page);
	vcpu->apic.vapic_page = NULL;
}

/*
 * Delivers @ipi to @t if it is a target (@is_self: @t sent it). Returns
 * whether it matched. Caller holds vm->vcpu_lock.
 */
static bool vcpu_apic_deliver(struct vmx_vcpu *t, const struct lapic_ipi *ipi, bool is_self)
{
	struct vmx_vcpu_apic *a = &t->apic;
	unsigned long flags;
	bool hit, was, kick = false;

	spin_lock_irqsave(&a->lock, flags);
	hit = lapic_match_dest(&a->l, ipi, is_self);
	if (hit) {
		a->regs_changed = true;
		switch (ipi->delivery) {
		case LAPIC_DM_FIXED:
		case LAPIC_DM_LOWEST:
			was = vcpu_apic_irr_test(a, ipi->vector);
			kick = lapic_accept(&a->l, ipi->vector, ipi->level_trig);
			if (!kick && ipi->vector >= 16)
				kick = vcpu_apic_vid_arrived(a, ipi->vector, was);
			break;
		case LAPIC_DM_NMI:
			a->nmi_pending = kick = true;
			break;
		case LAPIC_DM_INIT:
			if (ipi->level_trig && !ipi->assert)
				break;	/* INIT level de-assert: no effect here */
			a->init_pending = kick = true;
			a->sipi_pending = false;
			break;
		case LAPIC_DM_SIPI:
			/* Only a CPU waiting for SIPI takes one (SDM 10.4.7.3). */
			if (a->mp_state == VCPU_MP_WAIT_SIPI || a->init_pending) {
				a->sipi_pending = kick = true;
				a->sipi_vector = ipi->vector;
			}
			break;
		default:
			break;	/* SMI (no SMM), reserved modes */
		}
	}
	spin_unlock_irqrestore(&a->lock, flags);
	if (kick)
		vcpu_apic_kick(t);
	return hit;
}

/* Walks the VM's vCPUs; lowest priority goes to the first match. */
static int vm_apic_deliver(struct vmx_vm *vm, const struct lapic_ipi *ipi,
			   struct vmx_vcpu *src)
{
	int i, n = 0;

	mutex_lock(&vm->vcpu_lock);
	for (i = 0; i < VMXCORE_MAX_VCPUS; i++) {
		struct vmx_vcpu *t = vm->vcpus[i];

		if (!t || !vcpu_apic_deliver(t, ipi, t == src))
			continue;
		n++;
		if (ipi->delivery == LAPIC_DM_LOWEST)
			break;
	}
	mutex_unlock(&vm->vcpu_lock);
	return n;
}

/* What a register write asks of us. EVAL, LINT and BASE need nothing:
 * injection and the MMIO range are evaluated afresh each time. Level EOIs
 * have no in-kernel IOAPIC to go to yet. */
static void vcpu_apic_fx(struct vmx_vcpu *vcpu, const struct lapic_fx *fx)
{
	if (fx->flags & LAPIC_FX_TIMER)
		vcpu_apic_timer_update(vcpu);
	if (fx->flags & LAPIC_FX_IPI)
		vm_apic_deliver(vcpu->vm, &fx->ipi, vcpu);
}

bool vcpu_apic_mmio_covers(struct vmx_vcpu *vcpu, u64 gpa)
{
	struct vmx_vcpu_apic *a = &vcpu->apic;
	unsigned long flags;
	bool in;

	if (!vcpu_has_lapic(vcpu))
		return false;
	spin_lock_irqsave(&a->lock, flags);
	in = lapic_mmio_mapped(&a->l) && gpa - lapic_base_addr(&a->l) < PAGE_SIZE;
	spin_unlock_irqrestore(&a->lock, flags);
	return in;
}

/*
 * An access decoded by mmio.c inside the APIC page. Dword accesses are the
 * architectural ones; a narrower read gets the bytes of its aligned dword,
 * other writes are dropped (undefined on hardware). Returns 1: re-enter.
 */
int vcpu_apic_mmio(struct vmx_vcpu *vcpu, u64 gpa, const struct insn_mmio *d)
{
	struct vmx_vcpu_apic *a = &vcpu->apic;
	u32 off = (u32)(gpa & ~PAGE_MASK), val = 0;
	struct lapic_fx fx = { 0 };
	unsigned long flags;
	u64 data;

	if (d->op == INSN_OP_LOAD) {
		spin_lock_irqsave(&a->lock, flags);
		if (lapic_mmio_read(&a->l, off & ~3u, &val, ktime_get_ns()))
			val = 0;
		spin_unlock_irqrestore(&a->lock, flags);
		data = (u64)val >> ((off & 3) * 8);
		if (d->size < 8)
			data &= (1ull << (d->size * 8)) - 1;
		vcpu->gprs.r[d->reg] = insn_mmio_load(d, vcpu->gprs.r[d->reg], data);
	} else {
		data = d->op == INSN_OP_STORE_IMM ? d->imm :
		       insn_mmio_store_data(d, vcpu->gprs.r[d->reg]);
		if (d->size == 4 && !(off & 3)) {
			spin_lock_irqsave(&a->lock, flags);
			lapic_mmio_write(&a->l, off, (u32)data, ktime_get_ns(), &fx);
			a->regs_changed = true;
			spin_unlock_irqrestore(&a->lock, flags);
			vcpu_apic_fx(vcpu, &fx);
		}
	}
	vcpu_advance_rip(vcpu, d->len);
	return 1;
}

/*
 * RDMSR/WRMSR of IA32_APIC_BASE, IA32_TSC_DEADLINE and 0x800-0x8FF with an
 * in-kernel APIC. Returns 0 when @msr is not the APIC's (or the VM has no
 * APIC), 1 when done, -1 for #GP.
 */
int vcpu_apic_msr(struct vmx_vcpu *vcpu, u32 msr, u64 *val, bool write)
{
	struct vmx_vcpu_apic *a = &vcpu->apic;
	struct lapic_fx fx = { 0 };
	u64 now = ktime_get_ns();
	unsigned long flags;
	int ret = 0;

	if (!vcpu_has_lapic(vcpu))
		return 0;
	if (msr != LAPIC_MSR_APIC_BASE && msr != LAPIC_MSR_TSC_DEADLINE &&
	    (msr < LAPIC_MSR_X2APIC_FIRST || msr > LAPIC_MSR_X2APIC_LAST))
		return 0;
	spin_lock_irqsave(&a->lock, flags);
	if (msr == LAPIC_MSR_APIC_BASE) {
		if (write)
			ret = lapic_set_base(&a->l, *val, boot_cpu_data.x86_phys_bits, &fx);
		else
			*val = lapic_base_msr(&a->l);
	} else if (msr == LAPIC_MSR_TSC_DEADLINE) {
		/* The deadline is in the guest's TSC: the host's plus the offset. */
		if (!write)
			*val = lapic_tsc_deadline_read(&a->l);
		else if (lapic_tsc_deadline_write(&a->l, *val, vcpu_guest_tsc(vcpu), now,
						  tsc_khz ? tsc_khz : 1000000))
			fx.flags |= LAPIC_FX_TIMER;
	} else if (write) {
		ret = lapic_msr_write(&a->l, msr, *val, now, &fx);
	} else {
		ret = lapic_msr_read(&a->l, msr, val, now);
	}
	if (write)
		a->regs_changed = true;
	spin_unlock_irqrestore(&a->lock, flags);
	if (ret)
		return -1;
	vcpu_apic_fx(vcpu, &fx);
	return 1;
}

bool vcpu_apic_accepts_pic(struct vmx_vcpu *vcpu)
{
	unsigned long flags;
	bool ok;

	spin_lock_irqsave(&vcpu->apic.lock, flags);
	ok = lapic_accept_pic_intr(&vcpu->apic.l);
	spin_unlock_irqrestore(&vcpu->apic.lock, flags);
	return ok;
}

/*
 * The vector to inject next, or -1; @ack moves it from IRR to ISR. With
 * virtual-interrupt delivery the CPU delivers from IRR itself: nothing to
 * inject.
 */
int vcpu_apic_pending_vector(struct vmx_vcpu *vcpu, bool ack)
{
	struct vmx_vcpu_apic *a = &vcpu->apic;
	unsigned long flags;
	int v;

	if (a->vid)
		return -1;
	spin_lock_irqsave(&a->lock, flags);
	v = lapic_pending_vector(&a->l);
	if (v >= 0 && ack) {
		lapic_ack(&a->l, v);
		a->regs_changed = true;
	}
	spin_unlock_irqrestore(&a->lock, flags);
	return v;
}

/* HLT (exit.c, RIP already past it): RUN sleeps before the next entry. */
void vcpu_apic_halt(struct vmx_vcpu *vcpu)
{
	unsigned long flags;

	spin_lock_irqsave(&vcpu->apic.lock, flags);
	vcpu->apic.mp_state = VCPU_MP_HALTED;
	spin_unlock_irqrestore(&vcpu->apic.lock, flags);
	/* The STI / MOV SS shadow ends with the HLT: the wake-up interrupt goes
	 * in at the next entry rather than after an interrupt-window exit. */
	vcpu->exit.interruptibility &= ~3u;
	vcpu->dirty |= VCPU_DIRTY_INTR_STATE;
}

/* What INIT then SIPI leave: real mode at CS:IP = vector<<8:0 (SDM 9.4.4). */
static void vcpu_apic_sipi_reset(struct vmx_vcpu *vcpu, u8 vector)
{
	vmcs_reset_sregs(&vcpu->sregs);
	vcpu->sregs.cs.selector = (u16)vector << 8;
	vcpu->sregs.cs.base = (u64)vector << 12;
	memset(&vcpu->gprs, 0, sizeof(vcpu->gprs));
	vcpu->rip = 0;
	vcpu->rsp = 0;
	vcpu->rflags = X86_EFLAGS_FIXED;
	vcpu->pending = VCPU_PENDING_NONE;
	vcpu->pending_exception = -1;
	vcpu->queued_irq = -1;
	vcpu->queued_nmi = false;
	vcpu->exit.interruptibility = 0;
	vcpu->exit.idt_vectoring = 0;
	vcpu->dirty |= VCPU_DIRTY_SREGS | VCPU_DIRTY_CR | VCPU_DIRTY_EFER | VCPU_DIRTY_RIP |
		       VCPU_DIRTY_RSP | VCPU_DIRTY_RFLAGS | VCPU_DIRTY_INTR_STATE |
		       VCPU_DIRTY_ENTRY_EVENT;
}

/* Takes INIT, SIPI and NMI sent by others; the vCPU's thread. */
static void vcpu_apic_take_events(struct vmx_vcpu *vcpu)
{
	struct vmx_vcpu_apic *a = &vcpu->apic;
	bool init, sipi, nmi;
	unsigned long flags;
	u8 vector;

	spin_lock_irqsave(&a->lock, flags);
	init = a->init_pending;
	sipi = a->sipi_pending;
	nmi = a->nmi_pending;
	vector = a->sipi_vector;
	a->init_pending = a->sipi_pending = a->nmi_pending = false;
	if (init) {
		lapic_init_reset(&a->l);
		a->regs_changed = true;
		a->mp_state = VCPU_MP_WAIT_SIPI;
	}
	if (sipi && a->mp_state == VCPU_MP_WAIT_SIPI)
		a->mp_state = VCPU_MP_RUNNABLE;
	else
		sipi = false;
	if (nmi && a->mp_state == VCPU_MP_HALTED)
		a->mp_state = VCPU_MP_RUNNABLE;
	spin_unlock_irqrestore(&a->lock, flags);

	if (init)
		hrtimer_cancel(&a->timer);
	if (sipi)
		vcpu_apic_sipi_reset(vcpu, vector);
	else if (nmi && !init)
		vcpu->queued_nmi = true;
}

/* Can a halted vCPU go on? Interrupts need RFLAGS.IF; NMIs do not. */
static bool vcpu_apic_can_wake(struct vmx_vcpu *vcpu)
{
	struct vmx_vcpu_apic *a = &vcpu->apic;
	bool if_set = vcpu->rflags & X86_EFLAGS_IF;
	unsigned long flags;
	bool wake;

	spin_lock_irqsave(&a->lock, flags);
	if (a->init_pending || a->sipi_pending || a->nmi_pending)
		wake = true;
	else if (a->mp_state == VCPU_MP_WAIT_SIPI)
		wake = false;
	else
		wake = vcpu->queued_nmi ||
		       (if_set && (lapic_pending_vector(&a->l) >= 0 ||
				   (vcpu->queued_irq >= 0 && lapic_accept_pic_intr(&a->l))));
	/* For sysfs exit_stats: a halted vCPU's APIC as it sleeps, or wakes. */
	vmx_stats_vcpu_sleep(vcpu, vcpu_apic_vec_highest(a->l.irr),
			     vcpu_apic_vec_highest(a->l.isr), a->l.tpr, !wake);
	spin_unlock_irqrestore(&a->lock, flags);
	return wake;
}

/*
 * Before each entry (vcpu.c's run loop): takes events, and sleeps while
 * the vCPU is halted or waits for SIPI. Returns 0 to enter, or -EINTR with
 * run->exit_reason VMXCORE_EXIT_INTR on a signal or immediate_exit.
 */
int vcpu_apic_prepare(struct vmx_vcpu *vcpu)
{
	struct vmx_vcpu_apic *a = &vcpu->apic;
	unsigned long flags;

	for (;;) {
		vcpu_apic_take_events(vcpu);
		if (a->mp_state == VCPU_MP_RUNNABLE)
			return 0;
		if (a->mp_state == VCPU_MP_HALTED && vcpu_apic_can_wake(vcpu)) {
			spin_lock_irqsave(&a->lock, flags);
			a->mp_state = VCPU_MP_RUNNABLE;
			spin_unlock_irqrestore(&a->lock, flags);
			return 0;
		}
		if (signal_pending(current) || READ_ONCE(vcpu->run->immediate_exit)) {
			vcpu->run->exit_reason = VMXCORE_EXIT_INTR;
			return -EINTR;
		}
		wait_event_interruptible(a->wq, vcpu_apic_can_wake(vcpu));
	}
}

/* VMXCORE_CREATE_LAPIC */
int vm_create_lapic(struct vmx_vm *vm)
{
	int ret = 0;

	mutex_lock(&vm->vcpu_lock);
	if (vm->has_lapic)
		ret = -EEXIST;
	else if (vm->vcpus_created)
		ret = -EBUSY;
	else
		WRITE_ONCE(vm->has_lapic, true);
	mutex_unlock(&vm->vcpu_lock);
	return ret;
}

/* VMXCORE_APIC_IRQ */
int vm_apic_irq(struct vmx_vm *vm, const struct vmxcore_apic_irq *irq)
{
	bool dest32 = irq->flags & VMXCORE_APIC_IRQ_DEST32;
	struct lapic_ipi ipi = {
		.vector = irq->vector, .delivery = irq->delivery, .logical = irq->dest_mode,
		.shorthand = LAPIC_SH_NONE, .assert = irq->level, .level_trig = irq->trigger,
		.x2apic = dest32, .dest = irq->dest,
	};

	if (!READ_ONCE(vm->has_lapic))
		return -ENXIO;
	if ((irq->flags & ~VMXCORE_APIC_IRQ_DEST32) ||
	    memchr_inv(irq->reserved, 0, sizeof(irq->reserved)))
		return -EINVAL;
	if (irq->vector > 255 || irq->dest_mode > 1 || irq->trigger > 1 || irq->level > 1 ||
	    (!dest32 && irq->dest > 0xff))
		return -EINVAL;
	switch (irq->delivery) {
	case VMXCORE_APIC_DM_FIXED:
	case VMXCORE_APIC_DM_LOWEST:
		if (irq->vector < 16)
			return -EINVAL;
		break;
	case VMXCORE_APIC_DM_NMI:
	case VMXCORE_APIC_DM_INIT:
		break;
	default:
		return -EINVAL;
	}
	if (!irq->level)
		return 0;	/* a de-assert message: nothing to deliver */
	return vm_apic_deliver(vm, &ipi, NULL);
}

/*
 * ---- Hardware assists (SDM Vol. 3C chapter 29) ----
 * TPR shadow (29.1): with "use TPR shadow", MOV to/from CR8 in 64-bit mode
 * reads and writes VTPR in the vCPU's virtual-APIC page without exits; a
 * write that takes VTPR[7:4] below the TPR threshold exits (trap-like) so
 * that the interrupt it unmasks is injected. The model stays the authority
 * outside the guest: VTPR is loaded from it before each entry and read back
 * after each exit.
 *
 * On top of it, chosen before each entry from the APIC's mode (so a change
 * of IA32_APIC_BASE, SET_LAPIC or INIT takes effect at the next entry):
 *
 *   xAPIC mode at VMX_APIC_ACCESS_GPA, with APIC-register virtualization
 *   (29.4): the VM's APIC-access page is mapped there, so the CPU serves
 *   reads of the registers lapic_vapic_regs() fills from the virtual-APIC
 *   page, copied from the model before an entry whenever the model changed
 *   (regs_changed). TPR writes are TPR virtualization as above. Writes to
 *   the other virtualized registers land in the page and exit afterwards
 *   (APIC-write, trap-like, vcpu_apic_write_exit() hands them to the model);
 *   all else exits before the access (APIC access, vcpu_apic_access_exit(),
 *   decoded as MMIO). ICR high alone is written without an exit: it is
 *   taken from the page after every exit, like VTPR.
 *
 *   x2APIC mode, with "virtualize x2APIC mode" (29.5): the MSR bitmap lets
 *   RDMSR/WRMSR of the TPR (0x808) through, which then read and write VTPR
 *   (TPR virtualization again). Without APIC-register virtualization and
 *   virtual-interrupt delivery no other x2APIC MSR is virtualized, so all
 *   others stay intercepted. "Virtualize APIC accesses" must be off then
 *   (26.2.1.1).
 *
 * With either, virtual-interrupt delivery (29.2, where the CPU has it):
 * the CPU delivers from IRR in the virtual-APIC page itself, EOIs and
 * self-IPIs are virtualized; the model's IRR and ISR go in before each
 * entry and are merged back after each exit (vcpu_apic_vid_*()).
 *
 * A vCPU whose xAPIC page is elsewhere, or whose APIC is disabled, has
 * neither; its APIC accesses exit as without the assists. The EPT leaf of
 * the APIC-access page is the VM's, though: a vCPU in x2APIC mode or with
 * its APIC disabled that touches 0xFEE00000 reaches that page as plain
 * memory instead of an MMIO exit to userspace.
 */
#define APIC_VTPR_OFFSET	0x80
#define APIC_ICR_HIGH_OFFSET	0x310
#define APIC_X2APIC_TPR_MSR	0x808
#define APIC_X2APIC_EOI_MSR	0x80b
#define APIC_X2APIC_SELF_IPI_MSR	0x83f
#define APIC_ISR_OFFSET		0x100
#define APIC_IRR_OFFSET		0x200

/* The VM's APIC-access page, mapped at VMX_APIC_ACCESS_GPA, made once. */
static int vm_apic_access_page_get(struct vmx_vm *vm)
{
	struct page *page;
	int ret = 0;

	mutex_lock(&vm->mem_lock);
	if (vm->apic_access_page)
		goto out;
	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!page) {
		ret = -ENOMEM;
		goto out;
	}
	ret = ept_map_driver_page(&vm->ept, VMX_APIC_ACCESS_GPA, page);
	if (ret) {
		__free_page(page);
		goto out;
	}
	/* A guest page may have been mapped there by another vCPU's run. */
	ept_flush_all_cpus(&vm->ept);
	vm->apic_access_page = page;
out:
	mutex_unlock(&vm->mem_lock);
	return ret;
}

/* With the VM, after ept_destroy(). */
void vm_apic_free_assists(struct vmx_vm *vm)
{
	if (vm->apic_access_page)
		__free_page(vm->apic_access_page);
	vm->apic_access_page = NULL;
}

/* At vCPU creation, before vmcs_setup(): the pages, when the VM has an APIC. */
int vcpu_apic_alloc_assists(struct vmx_vcpu *vcpu)
{
	if (!vcpu_has_lapic(vcpu) || !vmx_use_tpr_shadow())
		return 0;
	vcpu->apic.vapic_page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!vcpu->apic.vapic_page)
		return -ENOMEM;
	return vmx_use_apic_reg_virt() ? vm_apic_access_page_get(vcpu->vm) : 0;
}

static u32 *vcpu_apic_vreg(struct vmx_vcpu *vcpu, u32 offset)
{
	return (u32 *)((u8 *)page_address(vcpu->apic.vapic_page) + offset);
}

/* What the VMCS should virtualize for @l now. Caller holds apic.lock. */
static enum vmx_apic_virt vcpu_apic_virt_wanted(struct vmx_vcpu *vcpu)
{
	const struct lapic *l = &vcpu->apic.l;

	if (lapic_x2apic_mode(l))
		return vmx_use_x2apic_virt() ? VCPU_APIC_VIRT_X2APIC : VCPU_APIC_VIRT_NONE;
	if (lapic_mmio_mapped(l) && vcpu->vm->apic_access_page &&
	    lapic_base_addr(l) == VMX_APIC_ACCESS_GPA)
		return VCPU_APIC_VIRT_XAPIC;
	return VCPU_APIC_VIRT_NONE;
}

/* Switches the VMCS (current) and the MSR bitmap to @virt. */
static void vcpu_apic_set_virt(struct vmx_vcpu *vcpu, enum vmx_apic_virt virt)
{
	const u32 all = SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES |
			SECONDARY_EXEC_APIC_REGISTER_VIRT | SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE;
	u32 proc2 = vmcs_read(SECONDARY_VM_EXEC_CONTROL) & ~all;
	bool x2 = virt == VCPU_APIC_VIRT_X2APIC;

	bool vid = virt != VCPU_APIC_VIRT_NONE && vmx_use_vintr();

	proc2 &= ~SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY;
	if (virt == VCPU_APIC_VIRT_XAPIC)
		proc2 |= SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES | SECONDARY_EXEC_APIC_REGISTER_VIRT;
	else if (x2)
		proc2 |= SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE;
	if (vid)
		proc2 |= SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY;
	vmcs_write(SECONDARY_VM_EXEC_CONTROL, proc2);
	vcpu_msr_intercept(vcpu, APIC_X2APIC_TPR_MSR, !x2, !x2);
	/* EOI and self-IPI writes are virtualized with it (SDM 29.5). */
	vcpu_msr_intercept(vcpu, APIC_X2APIC_EOI_MSR, true, !(x2 && vid));
	vcpu_msr_intercept(vcpu, APIC_X2APIC_SELF_IPI_MSR, true, !(x2 && vid));
	vcpu->apic.virt = virt;
	vcpu->apic.vid = vid;
}

static int vcpu_apic_vec_highest(const u32 *words)
{
	int i;

	for (i = 7; i >= 0; i--)
		if (words[i])
			return i * 32 + __fls(words[i]);
	return -1;
}

/*
 * Virtual-interrupt delivery, before entry (apic.lock held, the VMCS
 * current): IRR and ISR into the page, RVI and SVI (guest interrupt status)
 * their highest vectors, and an EOI-exit bit for each level-triggered
 * vector, whose EOI the model must see (SDM 29.1.3, 29.2).
 */
static void vcpu_apic_vid_to_guest(struct vmx_vcpu *vcpu)
{
	struct vmx_vcpu_apic *a = &vcpu->apic;
	int rvi = vcpu_apic_vec_highest(a->l.irr), svi = vcpu_apic_vec_highest(a->l.isr);
	int i;

	for (i = 0; i < 8; i++) {
		*vcpu_apic_vreg(vcpu, APIC_IRR_OFFSET + i * 0x10) = a->l.irr[i];
		*vcpu_apic_vreg(vcpu, APIC_ISR_OFFSET + i * 0x10) = a->l.isr[i];
		a->irr_in[i] = a->l.irr[i];
		a->irr_again[i] = 0;
	}
	vmcs_write(GUEST_INTR_STATUS, (rvi < 0 ? 0 : rvi) | (svi < 0 ? 0 : svi) << 8);
	for (i = 0; i < 4; i++)
		vmcs_write(EOI_EXIT_BITMAP0 + i * 2,
			   a->l.tmr[2 * i] | (u64)a->l.tmr[2 * i + 1] << 32);
}

/*
 * After an exit: the CPU cleared the IRR bits it delivered, set IRR bits
 * for virtualized self-IPIs, and owns ISR (delivery sets, EOI clears).
 * Bits other vCPUs and timers set in the model meanwhile stay. Caller
 * holds apic.lock.
 */
static void vcpu_apic_vid_from_guest(struct vmx_vcpu *vcpu)
{
	struct vmx_vcpu_apic *a = &vcpu->apic;
	u32 irr, isr;
	int i;

	for (i = 0; i < 8; i++) {
		irr = READ_ONCE(*vcpu_apic_vreg(vcpu, APIC_IRR_OFFSET + i * 0x10));
		isr = READ_ONCE(*vcpu_apic_vreg(vcpu, APIC_ISR_OFFSET + i * 0x10));
		if (irr == a->irr_in[i] && isr == a->l.isr[i])
			continue;
		a->l.irr[i] = (a->l.irr[i] & ~(a->irr_in[i] & ~irr)) | (irr & ~a->irr_in[i]);
		a->l.isr[i] = isr;
		a->regs_changed = true;
	}
	for (i = 0; i < 8; i++) {
		if (!a->irr_again[i])
			continue;
		a->l.irr[i] |= a->irr_again[i];
		a->irr_again[i] = 0;
		a->regs_changed = true;
	}
}

/*
 * Before entry, after injection (the VMCS current, interrupts may be on):
 * the virtualization the APIC's mode allows, VTPR and (xAPIC) the other
 * registers from the model, and the threshold from what TPR now holds
 * back. The threshold never exceeds VTPR[7:4], as VM entry requires (SDM
 * 26.2.1.1). A change to the model after this kicks the vCPU (the entry is
 * given up or exits at once), so the page is never stale in the guest.
 */
void vcpu_apic_tpr_to_guest(struct vmx_vcpu *vcpu)
{
	struct vmx_vcpu_apic *a = &vcpu->apic;
	enum vmx_apic_virt virt;
	unsigned long flags;
	u32 tpr, threshold;

	if (!a->vapic_page)
		return;
	spin_lock_irqsave(&a->lock, flags);
	virt = vcpu_apic_virt_wanted(vcpu);
	if (virt != a->virt)
		a->regs_changed = true;
	if (virt == VCPU_APIC_VIRT_XAPIC && a->regs_changed) {
		lapic_vapic_regs(&a->l, page_address(a->vapic_page));
		a->regs_changed = false;
	}
	tpr = a->l.tpr;
	threshold = lapic_tpr_threshold(&a->l);
	if (virt != a->virt)
		vcpu_apic_set_virt(vcpu, virt);
	if (a->vid) {
		vcpu_apic_vid_to_guest(vcpu);
		threshold = 0;	/* unused with virtual-interrupt delivery */
	}
	spin_unlock_irqrestore(&a->lock, flags);
	WRITE_ONCE(*vcpu_apic_vreg(vcpu, APIC_VTPR_OFFSET), tpr);
	vmcs_write(TPR_THRESHOLD, threshold);
}

/*
 * After an exit: the guest may have moved VTPR (CR8, the TPR MSR, an xAPIC
 * TPR write) and, with APIC-register virtualization, ICR high.
 */
void vcpu_apic_tpr_from_guest(struct vmx_vcpu *vcpu)
{
	struct vmx_vcpu_apic *a = &vcpu->apic;
	struct lapic_fx fx;
	unsigned long flags;
	u32 vtpr, icr_high = 0;
	bool xapic = a->virt == VCPU_APIC_VIRT_XAPIC;

	if (!a->vapic_page)
		return;
	vtpr = READ_ONCE(*vcpu_apic_vreg(vcpu, APIC_VTPR_OFFSET)) & 0xff;
	if (xapic)
		icr_high = READ_ONCE(*vcpu_apic_vreg(vcpu, APIC_ICR_HIGH_OFFSET));
	spin_lock_irqsave(&a->lock, flags);
	a->l.tpr = vtpr;
	if (a->vid)
		vcpu_apic_vid_from_guest(vcpu);
	if (xapic && icr_high != a->l.icr_high) {
		lapic_mmio_write(&a->l, APIC_ICR_HIGH_OFFSET, icr_high, 0, &fx);
		a->regs_changed = true;
	}
	spin_unlock_irqrestore(&a->lock, flags);
}

/*
 * EOI-induced exit (reason 45, trap-like): the guest's EOI of a vector set
 * in the EOI-exit bitmap (level-triggered). The CPU has cleared its ISR
 * bit, merged into the model after the exit; a level EOI has nowhere else
 * to go yet (no in-kernel IOAPIC).
 */
int vcpu_apic_eoi_exit(struct vmx_vcpu *vcpu)
{
	return 1;
}

/*
 * APIC access (exit reason 44, fault-like): an access to the APIC-access
 * page the CPU does not virtualize. A read or write by an instruction is
 * MMIO to the APIC's page at its offset (SDM Vol. 3C table 28-6); fetches
 * and accesses while delivering an event are not emulated.
 */
int vcpu_apic_access_exit(struct vmx_vcpu *vcpu)
{
	unsigned long q = vcpu->exit.qualification;
	unsigned int type = (q >> 12) & 0xf;

	if (type > 1) {
		vcpu->run->exit_reason = VMXCORE_EXIT_INTERNAL_ERROR;
		vcpu->run->internal.suberror = VMXCORE_INTERNAL_EMULATION;
		vcpu->run->internal.ndata = 2;
		vcpu->run->internal.data[0] = VMX_APIC_ACCESS_GPA + (q & 0xfff);
		vcpu->run->internal.data[1] = vcpu->rip;
		pr_info_ratelimited(VMX_PR_PREFIX "APIC access of type %u at offset %#lx, RIP %#lx\n",
				    type, q & 0xfff, vcpu->rip);
		return 0;
	}
	return vmx_handle_mmio(vcpu, VMX_APIC_ACCESS_GPA + (q & 0xfff), type == 1);
}

/*
 * APIC write (exit reason 56, trap-like: RIP is past the instruction): the
 * guest wrote a virtualized register other than TPR; the value is in the
 * virtual-APIC page at the offset the qualification gives. The model takes
 * it as an MMIO write, and its own value goes back to the page.
 */
int vcpu_apic_write_exit(struct vmx_vcpu *vcpu)
{
	struct vmx_vcpu_apic *a = &vcpu->apic;
	u32 off = vcpu->exit.qualification & 0xff0;
	struct lapic_fx fx = { 0 };
	unsigned long flags;
	u32 val;

	if (!a->vapic_page)
		return 1;	/* cannot happen: no virtualization without the page */
	val = READ_ONCE(*vcpu_apic_vreg(vcpu, off));
	spin_lock_irqsave(&a->lock, flags);
	lapic_mmio_write(&a->l, off, val, ktime_get_ns(), &fx);
	a->regs_changed = true;
	spin_unlock_irqrestore(&a->lock, flags);
	vcpu_apic_fx(vcpu, &fx);
	return 1;
}

/*
 * MOV to/from CR8 that exited (no TPR shadow): CR8[3:0] is TPR[7:4] (SDM
 * Vol. 3A 10.8.6.1). Returns 0, or -1 for #GP (bits 63:4 set on a write).
 * Without an in-kernel APIC CR8 is a plain register the VMM never sees.
 */
int vcpu_apic_cr8(struct vmx_vcpu *vcpu, unsigned long *val, bool write)
{
	struct vmx_vcpu_apic *a = &vcpu->apic;
	unsigned long flags;

	if (write && (*val >> 4))
		return -1;
	if (!vcpu_has_lapic(vcpu)) {
		if (write)
			vcpu->cr8 = *val;
		else
			*val = vcpu->cr8;
		return 0;
	}
	spin_lock_irqsave(&a->lock, flags);
	if (write) {
		a->l.tpr = (*val & 0xf) << 4;
		a->regs_changed = true;
	} else
		*val = (a->l.tpr >> 4) & 0xf;
	spin_unlock_irqrestore(&a->lock, flags);
	return 0;
}

/*
 * ---- VMXCORE_GET_LAPIC / VMXCORE_SET_LAPIC ----
 * The vCPU's mutex is held: it is out of the guest, so the model is
 * current (TPR included). The timer callback may run meanwhile; the lock
 * keeps it out while the state moves.
 */
static void vcpu_apic_state_to_user(const struct lapic_state *s, struct vmxcore_lapic_state *u)
{
	BUILD_BUG_ON(sizeof(u->regs) != LAPIC_STATE_REGS);
	memset(u, 0, sizeof(*u));
	memcpy(u->regs, s->regs, sizeof(u->regs));
	u->apic_base = s->apic_base;
	u->tsc_deadline = s->tsc_deadline;
	u->timer_remaining_ns = s->timer_remaining_ns;
	u->flags = s->timer_armed ? VMXCORE_LAPIC_TIMER_ARMED : 0;
	u->esr_pending = s->esr_pending;
}

static int vcpu_apic_state_from_user(const struct vmxcore_lapic_state *u, struct lapic_state *s)
{
	if ((u->flags & ~VMXCORE_LAPIC_TIMER_ARMED) || memchr_inv(u->reserved, 0, sizeof(u->reserved)))
		return -EINVAL;
	memcpy(s->regs, u->regs, sizeof(s->regs));
	s->apic_base = u->apic_base;
	s->tsc_deadline = u->tsc_deadline;
	s->timer_remaining_ns = u->timer_remaining_ns;
	s->timer_armed = u->flags & VMXCORE_LAPIC_TIMER_ARMED;
	s->esr_pending = u->esr_pending;
	return 0;
}

long vcpu_apic_state_ioctl(struct vmx_vcpu *vcpu, void __user *uarg, bool set)
{
	struct vmx_vcpu_apic *a = &vcpu->apic;
	struct vmxcore_lapic_state *u;
	struct lapic_state *s;
	unsigned long flags;
	long ret = 0;

	if (!vcpu_has_lapic(vcpu))
		return -ENXIO;
	u = kzalloc(sizeof(*u), GFP_KERNEL_ACCOUNT);
	s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	if (!u || !s) {
		ret = -ENOMEM;
		goto out;
	}
	if (!set) {
		spin_lock_irqsave(&a->lock, flags);
		lapic_save(&a->l, ktime_get_ns(), s);
		spin_unlock_irqrestore(&a->lock, flags);
		vcpu_apic_state_to_user(s, u);
		ret = copy_to_user(uarg, u, sizeof(*u)) ? -EFAULT : 0;
		goto out;
	}
	if (copy_from_user(u, uarg, sizeof(*u))) {
		ret = -EFAULT;
		goto out;
	}
	ret = vcpu_apic_state_from_user(u, s);
	if (ret)
		goto out;
	spin_lock_irqsave(&a->lock, flags);
	ret = lapic_restore(&a->l, s, ktime_get_ns(), boot_cpu_data.x86_phys_bits);
	a->regs_changed = true;
	spin_unlock_irqrestore(&a->lock, flags);
	if (!ret)
		vcpu_apic_timer_update(vcpu);
out:
	kfree(u);
	kfree(s);
	return ret;
}

static const u32 vcpu_mp_to_user[] = {
	[VCPU_MP_RUNNABLE] = VMXCORE_MP_RUNNABLE,
	[VCPU_MP_HALTED] = VMXCORE_MP_HALTED,
	[VCPU_MP_WAIT_SIPI] = VMXCORE_MP_WAIT_SIPI,
};

static int vcpu_mp_from_user(u32 mp_state, enum vmx_mp_state *out)
{
	switch (mp_state) {
	case VMXCORE_MP_RUNNABLE:
		*out = VCPU_MP_RUNNABLE;
		return 0;
	case VMXCORE_MP_HALTED:
		*out = VCPU_MP_HALTED;
		return 0;
	case VMXCORE_MP_WAIT_SIPI:
		*out = VCPU_MP_WAIT_SIPI;
		return 0;
	}
	return -EINVAL;
}

/* VMXCORE_GET_MP_STATE / VMXCORE_SET_MP_STATE (vcpu->mutex held: not running). */
long vcpu_mp_state_ioctl(struct vmx_vcpu *vcpu, void __user *uarg, bool set)
{
	struct vmx_vcpu_apic *a = &vcpu->apic;
	struct vmxcore_mp_state u = { 0 };
	enum vmx_mp_state mp;
	unsigned long flags;

	if (!vcpu_has_lapic(vcpu))
		return -ENXIO;
	if (!set) {
		spin_lock_irqsave(&a->lock, flags);
		u.mp_state = vcpu_mp_to_user[a->mp_state];
		spin_unlock_irqrestore(&a->lock, flags);
		return copy_to_user(uarg, &u, sizeof(u)) ? -EFAULT : 0;
	}
	if (copy_from_user(&u, uarg, sizeof(u)))
		return -EFAULT;
	if (u.reserved || vcpu_mp_from_user(u.mp_state, &mp))
		return -EINVAL;
	spin_lock_irqsave(&a->lock, flags);
	a->mp_state = mp;
	a->init_pending = a->sipi_pending = false;
	spin_unlock_irqrestore(&a->lock, flags);
	return 0;
}
