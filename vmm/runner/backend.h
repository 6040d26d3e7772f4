/*
 * backend: one interface over /dev/vmxcore and /dev/kvm, so the same guest
 * tests run on both (the differential check) and measure both (benchmarks).
 *
 * The common view of an exit is struct vmxcore_run: on vmxcore it is the
 * vCPU's mapped run page itself; on KVM the backend translates struct
 * kvm_run into a private copy after each KVM_RUN and carries the answers
 * (IN data, interrupt-window request) back before the next.
 */
#ifndef VMX_LAB_BACKEND_H
#define VMX_LAB_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "vmxcore.h"

struct vb_ops;

struct vb_vm {
	const struct vb_ops *ops;
	int sys, fd;
	int vcpu_mmap_size;		/* KVM's run area size */
};

struct vb_vcpu {
	const struct vb_ops *ops;
	int fd;
	struct vmxcore_run *run;	/* the common view */
	void *native;			/* KVM: the mapped struct kvm_run */
	int native_size;
	uint32_t last_exit;		/* KVM: what the previous RUN reported */
};

struct vb_ops {
	const char *name;		/* "vmxcore" or "kvm" */
	const char *dev;
	int (*create_vm)(struct vb_vm *vm);
	int (*set_slot)(struct vb_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
			void *mem, uint32_t flags);
	int (*create_vcpu)(struct vb_vm *vm, int id, struct vb_vcpu *v);
	void (*close_vcpu)(struct vb_vcpu *v);
	int (*run)(struct vb_vcpu *v);
	int (*get_regs)(struct vb_vcpu *v, struct vmxcore_regs *r);
	int (*set_regs)(struct vb_vcpu *v, const struct vmxcore_regs *r);
	int (*get_sregs)(struct vb_vcpu *v, struct vmxcore_sregs *s);
	int (*set_sregs)(struct vb_vcpu *v, const struct vmxcore_sregs *s);
	int (*interrupt)(struct vb_vcpu *v, uint32_t vector);
	/* The guest's CPUID table (KVM: KVM_SET_CPUID2 with the same entries). */
	int (*set_cpuid)(struct vb_vcpu *v, const struct vmxcore_cpuid *c);
	/*
	 * immediate_exit of the running RUN: on, the next (or current) RUN
	 * returns at once with exit INTR. A kicker sets it, then signals the
	 * vCPU's thread; the thread clears it after RUN returned.
	 */
	void (*set_immediate_exit)(struct vb_vcpu *v, int on);
	/*
	 * An in-kernel local APIC per vCPU, before any vCPU is created
	 * (vmxcore: VMXCORE_CREATE_LAPIC; KVM: KVM_CREATE_IRQCHIP).
	 */
	int (*create_lapic)(struct vb_vm *vm);
	/*
	 * The runner's model: an in-kernel local APIC per vCPU, the PIC and
	 * the IOAPIC left to userspace, before any vCPU is created (vmxcore:
	 * VMXCORE_CREATE_LAPIC, which is exactly that; KVM: KVM_ENABLE_CAP
	 * KVM_CAP_SPLIT_IRQCHIP, where KVM_INTERRUPT still carries the PIC's
	 * vector through LINT0 and KVM_SIGNAL_MSI the IOAPIC's messages).
	 */
	int (*create_lapic_split)(struct vb_vm *vm);
	/*
	 * An interrupt message to APIC destinations (vmxcore: VMXCORE_APIC_IRQ;
	 * KVM: KVM_SIGNAL_MSI). Returns the vCPUs reached, or -errno.
	 */
	int (*apic_irq)(struct vb_vm *vm, const struct vmxcore_apic_irq *irq);
	/*
	 * Dirty page logging: set_slot's VMXCORE_MEM_LOG_DIRTY (KVM:
	 * KVM_MEM_LOG_DIRTY_PAGES), then this fills @bitmap (a bit per page of
	 * the slot, whole 64-bit words) with the pages written since the
	 * previous call and clears the log (VMXCORE_GET_DIRTY_LOG;
	 * KVM_GET_DIRTY_LOG).
	 */
	int (*get_dirty_log)(struct vb_vm *vm, uint32_t slot, uint64_t *bitmap);
	/*
	 * vCPU state for snapshots. Events: VMXCORE_GET/SET_VCPU_EVENTS (KVM:
	 * KVM_GET/SET_VCPU_EVENTS, translated; KVM has no queued interrupt
	 * apart from the injected one, so SET with interrupt.queued is
	 * -EINVAL there). MSRs: VMXCORE_GET/SET_MSRS (KVM_GET/SET_MSRS, same
	 * layout), returning how many entries were done. XCR0: VMXCORE_GET/
	 * SET_XCRS (KVM_GET/SET_XCRS; a host without XSAVE reads 1 and
	 * accepts only 1).
	 */
	int (*get_events)(struct vb_vcpu *v, struct vmxcore_vcpu_events *e);
	int (*set_events)(struct vb_vcpu *v, const struct vmxcore_vcpu_events *e);
	int (*get_msrs)(struct vb_vcpu *v, struct vmxcore_msrs *m);
	int (*set_msrs)(struct vb_vcpu *v, const struct vmxcore_msrs *m);
	int (*get_xcr0)(struct vb_vcpu *v, uint64_t *xcr0);
	int (*set_xcr0)(struct vb_vcpu *v, uint64_t xcr0);
	/*
	 * The in-kernel local APIC's state (create_lapic/_split VMs), in
	 * vmxcore's struct vmxcore_lapic_state: VMXCORE_GET/SET_LAPIC. KVM,
	 * translated: the register page from KVM_GET/SET_LAPIC, IA32_APIC_BASE
	 * (0x1b) and IA32_TSC_DEADLINE (0x6e0) through KVM_GET/SET_MSRS (the
	 * base before the page, which it changes the meaning of; the deadline
	 * after, once the LVT says TSC-deadline). What differs on KVM: its
	 * APIC timer counts at 1 GHz, so an armed one-shot or periodic timer
	 * reads as timer_remaining_ns = TMCCT x divider and is set back as
	 * TMCCT (KVM resumes the count from TMCCT); a TSC-deadline timer reads
	 * as armed with 0 ns left, KVM re-arming it from the MSR against the
	 * guest's TSC (so set the TSC first); in x2APIC mode KVM's page has
	 * the ID shifted left by 24 (no KVM_CAP_X2APIC_API), here it is the
	 * plain x2APIC ID as vmxcore has it; esr_pending reads 0 and is
	 * ignored (KVM latches errors at once).
	 */
	int (*get_lapic)(struct vb_vcpu *v, struct vmxcore_lapic_state *s);
	int (*set_lapic)(struct vb_vcpu *v, const struct vmxcore_lapic_state *s);
	/*
	 * MP state (VMXCORE_MP_*, KVM's numbering): VMXCORE_GET/SET_MP_STATE;
	 * KVM_GET/SET_MP_STATE, where KVM's UNINITIALIZED (waiting for INIT)
	 * and INIT_RECEIVED (waiting for SIPI) both read as WAIT_SIPI, which
	 * sets INIT_RECEIVED: the next SIPI starts the vCPU, as on vmxcore.
	 * Another KVM state (SIPI_RECEIVED, a transient) reads as -EPROTO.
	 */
	int (*get_mp_state)(struct vb_vcpu *v, uint32_t *mp_state);
	int (*set_mp_state)(struct vb_vcpu *v, uint32_t mp_state);
};

extern const struct vb_ops vb_vmxcore, vb_kvm;

/* "vmxcore" or "kvm" to its ops, NULL if unknown. */
const struct vb_ops *vb_find(const char *name);

/* All return 0 or -errno. */
int vb_open_vm(const struct vb_ops *ops, struct vb_vm *vm);
void vb_close_vm(struct vb_vm *vm);

#endif
