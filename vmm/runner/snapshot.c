/*
 * snapshot: the running VM in and out of a state file (vmm/snap.h;
 * docs/ARCHITECTURE.md, "VM state file"): each vCPU's registers, the
 * board's devices, the disks' virtio state and guest RAM, and the qcow2
 * internal snapshot of each disk taken at the same instant, so that a
 * revert gives the guest memory and disks that agree.
 *
 * A machine with more than one vCPU adds each vCPU's in-kernel local APIC
 * and MP state and the IOAPIC; one with NICs each virtio-net device (the
 * tap itself stays the runner's: frames in flight are lost, as on a wire).
 *
 * Context: the main thread, with the machine paused (machine_pause: every
 * vCPU held between two exits, none inside RUN, no virtio request in
 * flight since queues are served inside the notify exit) or not started
 * yet (--restore). Loading checks the whole file before it changes
 * anything; what can still fail after that (the kernel refusing a register
 * the file passed) stops the machine rather than run a half-loaded guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "driver/vcpu_events.h"
#include "storage/snapshot.h"
#include "vmm/devstate.h"
#include "vmm/runner/runner.h"

/* The MSRs the core keeps beyond sregs (VMXCORE_GET_MSRS's allow-list). */
static const uint32_t rn_snap_msrs[] = {
	0xc0000102,	/* KERNEL_GS_BASE */
	0xc0000081,	/* STAR */
	0xc0000082,	/* LSTAR */
	0xc0000083,	/* CSTAR */
	0xc0000084,	/* SFMASK */
	0xc0000103,	/* TSC_AUX */
};
#define RN_SNAP_NMSRS	(sizeof(rn_snap_msrs) / sizeof(rn_snap_msrs[0]))

struct rn_snap_msrs {
	struct vmxcore_msrs head;
	struct vmxcore_msr_entry e[RN_SNAP_NMSRS];
};

/* KVM's kvm_msrs and kvm_xsave have vmxcore's layouts: one call for both. */
static int rn_snap_ioctl(struct vb_vcpu *v, unsigned long vx_req, unsigned long kvm_req,
			 void *arg)
{
	int ret = ioctl(v->fd, v->ops == &vb_kvm ? kvm_req : vx_req, arg);

	return ret < 0 ? -errno : ret;
}

/*
 * A machine with in-kernel local APICs needs the kernel's APIC and MP state
 * ioctls (VMXCORE_GET/SET_LAPIC and _MP_STATE, KVM's): a driver from before
 * them says so at the first call, and the file would miss the interrupt
 * state, so refuse up front.
 */
static int rn_snap_supported(struct machine *m, struct vx_err *err)
{
	uint32_t mp;
	int rc;

	if (!m->apic || !m->nvcpus)
		return 0;
	rc = m->ops->get_mp_state(&m->vcpu[0].vb, &mp);
	if (rc == -ENOTTY || rc == -EINVAL)
		return vx_err_set(err, -EOPNOTSUPP,
				  "memory snapshots of a VM with more than one vCPU need the kernel's "
				  "local APIC state ioctls, which %s does not offer", m->ops->dev);
	if (rc)
		return vx_err_set(err, rc, "vCPU 0: reading the MP state: %s", strerror(-rc));
	return 0;
}

/* ---- vCPUs ---- */

static void rn_snap_put_seg(struct vmm_snap_w *w, const struct vmxcore_segment *s)
{
	vmm_snap_put_u64(w, s->base);
	vmm_snap_put_u32(w, s->limit);
	vmm_snap_put_u16(w, s->selector);
	vmm_snap_put_u32(w, s->ar);
}

static void rn_snap_get_seg(struct vmm_snap_r *r, struct vmxcore_segment *s)
{
	s->base = vmm_snap_get_u64(r);
	s->limit = vmm_snap_get_u32(r);
	s->selector = vmm_snap_get_u16(r);
	s->ar = vmm_snap_get_u32(r);
}

static void rn_snap_put_dt(struct vmm_snap_w *w, const struct vmxcore_dtable *d)
{
	vmm_snap_put_u64(w, d->base);
	vmm_snap_put_u32(w, d->limit);
}

static void rn_snap_get_dt(struct vmm_snap_r *r, struct vmxcore_dtable *d)
{
	d->base = vmm_snap_get_u64(r);
	d->limit = vmm_snap_get_u32(r);
}

/*
 * What one vCPU section holds, in the file's order. The tail from
 * ext_version on came with version 1 of the vCPU state (events, TSC,
 * XCR0); a section that ends after 'halted' is from before it and loads
 * as it did then: no event in flight, TSC and XCR0 left as they are.
 */
#define RN_SNAP_VCPU_EXT_VERSION	1

struct rn_snap_vcpu {
	struct vmxcore_regs regs;
	struct vmxcore_sregs sregs;
	struct rn_snap_msrs msrs;
	struct vmxcore_xsave xsave;
	uint8_t halted;
	uint32_t ext_version;		/* 0: a file from before the tail */
	uint64_t xcr0;
	uint64_t tsc;			/* the guest's TSC when saved */
	struct vmxcore_vcpu_events events;
};

static void rn_snap_events_put(struct vmm_snap_w *w, const struct vmxcore_vcpu_events *e)
{
	vmm_snap_put_u8(w, e->exception.injected);
	vmm_snap_put_u8(w, e->exception.pending);
	vmm_snap_put_u8(w, e->exception.vector);
	vmm_snap_put_u8(w, e->exception.has_error_code);
	vmm_snap_put_u32(w, e->exception.error_code);
	vmm_snap_put_u8(w, e->interrupt.injected);
	vmm_snap_put_u8(w, e->interrupt.vector);
	vmm_snap_put_u8(w, e->interrupt.queued);
	vmm_snap_put_u8(w, e->interrupt.queued_vector);
	vmm_snap_put_u8(w, e->nmi.injected);
	vmm_snap_put_u8(w, e->nmi.pending);
	vmm_snap_put_u8(w, e->nmi.masked);
	vmm_snap_put_u32(w, e->shadow);
}

static void rn_snap_events_get(struct vmm_snap_r *r, struct vmxcore_vcpu_events *e)
{
	memset(e, 0, sizeof(*e));
	e->exception.injected = vmm_snap_get_u8(r);
	e->exception.pending = vmm_snap_get_u8(r);
	e->exception.vector = vmm_snap_get_u8(r);
	e->exception.has_error_code = vmm_snap_get_u8(r);
	e->exception.error_code = vmm_snap_get_u32(r);
	e->interrupt.injected = vmm_snap_get_u8(r);
	e->interrupt.vector = vmm_snap_get_u8(r);
	e->interrupt.queued = vmm_snap_get_u8(r);
	e->interrupt.queued_vector = vmm_snap_get_u8(r);
	e->nmi.injected = vmm_snap_get_u8(r);
	e->nmi.pending = vmm_snap_get_u8(r);
	e->nmi.masked = vmm_snap_get_u8(r);
	e->shadow = vmm_snap_get_u32(r);
}

/* The 18 fields of struct vmxcore_regs in the file's order. */
#define RN_SNAP_GPRS(r) { &(r).rax, &(r).rbx, &(r).rcx, &(r).rdx, &(r).rsi, &(r).rdi,	\
			  &(r).rsp, &(r).rbp, &(r).r8, &(r).r9, &(r).r10, &(r).r11,	\
			  &(r).r12, &(r).r13, &(r).r14, &(r).r15, &(r).rip, &(r).rflags }

static void rn_snap_vcpu_put(struct vmm_snap_w *w, const struct rn_snap_vcpu *s)
{
	const __u64 *g[] = RN_SNAP_GPRS(s->regs);
	const struct vmxcore_segment *seg[] = {
		&s->sregs.cs, &s->sregs.ds, &s->sregs.es, &s->sregs.fs,
		&s->sregs.gs, &s->sregs.ss, &s->sregs.tr, &s->sregs.ldt,
	};

	for (unsigned i = 0; i < 18; i++)
		vmm_snap_put_u64(w, *g[i]);
	for (unsigned i = 0; i < 8; i++)
		rn_snap_put_seg(w, seg[i]);
	rn_snap_put_dt(w, &s->sregs.gdt);
	rn_snap_put_dt(w, &s->sregs.idt);
	vmm_snap_put_u64(w, s->sregs.cr0);
	vmm_snap_put_u64(w, s->sregs.cr2);
	vmm_snap_put_u64(w, s->sregs.cr3);
	vmm_snap_put_u64(w, s->sregs.cr4);
	vmm_snap_put_u64(w, s->sregs.efer);
	vmm_snap_put_u32(w, s->msrs.head.nmsrs);
	for (unsigned i = 0; i < s->msrs.head.nmsrs; i++) {
		vmm_snap_put_u32(w, s->msrs.e[i].index);
		vmm_snap_put_u64(w, s->msrs.e[i].data);
	}
	vmm_snap_put_bytes(w, &s->xsave, sizeof(s->xsave));
	vmm_snap_put_u8(w, s->halted);
	vmm_snap_put_u32(w, RN_SNAP_VCPU_EXT_VERSION);
	vmm_snap_put_u64(w, s->xcr0);
	vmm_snap_put_u64(w, s->tsc);
	rn_snap_events_put(w, &s->events);
}

/*
 * The tail after 'halted': absent in older files; a newer version than
 * ours is refused by name. The events pass the kernel's own checks
 * (driver/vcpu_events.c) against the registers saved with them.
 */
static int rn_snap_vcpu_ext_get(struct vmm_snap_r *r, struct rn_snap_vcpu *s,
				struct vx_err *err)
{
	struct vev_guest g;
	const char *why = "";

	if (r->off == r->len)
		return 0;	/* from before version 1 */
	s->ext_version = vmm_snap_get_u32(r);
	if (s->ext_version != RN_SNAP_VCPU_EXT_VERSION && !r->short_read)
		return vx_err_set(err, -EPROTO, "state file: vCPU state version %u; this runner "
				  "reads versions up to %u", s->ext_version,
				  RN_SNAP_VCPU_EXT_VERSION);
	s->xcr0 = vmm_snap_get_u64(r);
	s->tsc = vmm_snap_get_u64(r);
	rn_snap_events_get(r, &s->events);
	if (r->short_read)
		return 0;	/* vmm_snap_r_done names it */
	if (!(s->xcr0 & 1))
		return vx_err_set(err, -EBADMSG, "state file: vCPU XCR0 0x%llx without x87",
				  (unsigned long long)s->xcr0);
	g = (struct vev_guest){ .rflags = s->regs.rflags, .cr0 = s->sregs.cr0 };
	if (vev_check(&s->events, &g, &why))
		return vx_err_set(err, -EBADMSG, "state file: vCPU events: %s", why);
	return 0;
}

static int rn_snap_vcpu_get(const uint8_t *p, size_t len, struct rn_snap_vcpu *s,
			    struct vx_err *err)
{
	__u64 *g[] = RN_SNAP_GPRS(s->regs);
	struct vmxcore_segment *seg[] = {
		&s->sregs.cs, &s->sregs.ds, &s->sregs.es, &s->sregs.fs,
		&s->sregs.gs, &s->sregs.ss, &s->sregs.tr, &s->sregs.ldt,
	};
	struct vmm_snap_r r;
	uint32_t n;
	int rc;

	memset(s, 0, sizeof(*s));
	vmm_snap_r_init(&r, p, len);
	for (unsigned i = 0; i < 18; i++)
		*g[i] = vmm_snap_get_u64(&r);
	for (unsigned i = 0; i < 8; i++)
		rn_snap_get_seg(&r, seg[i]);
	rn_snap_get_dt(&r, &s->sregs.gdt);
	rn_snap_get_dt(&r, &s->sregs.idt);
	s->sregs.cr0 = vmm_snap_get_u64(&r);
	s->sregs.cr2 = vmm_snap_get_u64(&r);
	s->sregs.cr3 = vmm_snap_get_u64(&r);
	s->sregs.cr4 = vmm_snap_get_u64(&r);
	s->sregs.efer = vmm_snap_get_u64(&r);
	n = vmm_snap_get_u32(&r);
	if (n > RN_SNAP_NMSRS)
		return vx_err_set(err, -EBADMSG, "state file: vCPU with %u MSRs (at most %zu)", n,
				  RN_SNAP_NMSRS);
	s->msrs.head.nmsrs = n;
	for (unsigned i = 0; i < n; i++) {
		unsigned k;

		s->msrs.e[i].index = vmm_snap_get_u32(&r);
		s->msrs.e[i].data = vmm_snap_get_u64(&r);
		for (k = 0; k < RN_SNAP_NMSRS && rn_snap_msrs[k] != s->msrs.e[i].index; k++)
			;
		if (k == RN_SNAP_NMSRS && !r.short_read)
			return vx_err_set(err, -EBADMSG, "state file: MSR 0x%x is not one the core keeps",
					  s->msrs.e[i].index);
	}
	vmm_snap_get_bytes(&r, &s->xsave, sizeof(s->xsave));
	s->halted = vmm_snap_get_u8(&r);
	if ((rc = rn_snap_vcpu_ext_get(&r, s, err)) || (rc = vmm_snap_r_done(&r, "vCPU", err)))
		return rc;
	if (s->halted > 1 || (s->halted && !(s->regs.rflags & 0x200)))
		return vx_err_set(err, -EBADMSG, "state file: vCPU halted flag %u with RFLAGS 0x%llx",
				  s->halted, (unsigned long long)s->regs.rflags);
	return 0;
}

/*
 * A vCPU's local APIC section (machines with in-kernel APICs): a version,
 * the MP state, then struct vmxcore_lapic_state field by field (the
 * backend's common view: backend.h). Checked here as far as the kernel's
 * rules do not depend on the host (MAXPHYADDR, the timer's period).
 */
#define RN_SNAP_LAPIC_VERSION	1
#define RN_APIC_BASE_RESERVED	(0xffull | 1ull << 9 | 0xfff0000000000000ull)
#define RN_APIC_BASE_X2APIC	(1ull << 10)
#define RN_APIC_BASE_ENABLE	(1ull << 11)

struct rn_snap_lapic {
	uint32_t mp_state;		/* VMXCORE_MP_* */
	struct vmxcore_lapic_state apic;
};

static void rn_snap_lapic_put(struct vmm_snap_w *w, const struct rn_snap_lapic *s)
{
	vmm_snap_put_u32(w, RN_SNAP_LAPIC_VERSION);
	vmm_snap_put_u32(w, s->mp_state);
	vmm_snap_put_bytes(w, s->apic.regs, sizeof(s->apic.regs));
	vmm_snap_put_u64(w, s->apic.apic_base);
	vmm_snap_put_u64(w, s->apic.tsc_deadline);
	vmm_snap_put_u64(w, s->apic.timer_remaining_ns);
	vmm_snap_put_u32(w, s->apic.flags);
	vmm_snap_put_u32(w, s->apic.esr_pending);
}

static uint32_t rn_snap_apic_reg(const struct vmxcore_lapic_state *a, unsigned off)
{
	return (uint32_t)a->regs[off] | (uint32_t)a->regs[off + 1] << 8 |
	       (uint32_t)a->regs[off + 2] << 16 | (uint32_t)a->regs[off + 3] << 24;
}

/* An armed timer needs the APIC on and something to count to: one-shot
 * or periodic with an initial count, TSC-deadline with a deadline. */
static const char *rn_snap_lapic_timer_bad(const struct vmxcore_lapic_state *a)
{
	uint32_t mode = rn_snap_apic_reg(a, 0x320) >> 17 & 3;	/* LVT timer */

	if (!(a->flags & VMXCORE_LAPIC_TIMER_ARMED))
		return NULL;
	if (!(a->apic_base & RN_APIC_BASE_ENABLE))
		return "an armed timer with the APIC disabled";
	if (mode == 3)
		return "an armed timer in the reserved mode";
	if (mode < 2 && !rn_snap_apic_reg(a, 0x380))	/* initial count */
		return "an armed timer with initial count 0";
	if (mode == 2 && !a->tsc_deadline)
		return "an armed TSC-deadline timer without a deadline";
	return NULL;
}

static int rn_snap_lapic_get(const uint8_t *p, size_t len, unsigned vcpu_id,
			     struct rn_snap_lapic *s, struct vx_err *err)
{
	struct vmxcore_lapic_state *a = &s->apic;
	struct vmm_snap_r r;
	uint32_t version;
	const char *why;
	int rc;

	memset(s, 0, sizeof(*s));
	vmm_snap_r_init(&r, p, len);
	version = vmm_snap_get_u32(&r);
	if (version != RN_SNAP_LAPIC_VERSION && !r.short_read)
		return vx_err_set(err, -EPROTO, "state file: local APIC state version %u; this "
				  "runner reads versions up to %u", version, RN_SNAP_LAPIC_VERSION);
	s->mp_state = vmm_snap_get_u32(&r);
	vmm_snap_get_bytes(&r, a->regs, sizeof(a->regs));
	a->apic_base = vmm_snap_get_u64(&r);
	a->tsc_deadline = vmm_snap_get_u64(&r);
	a->timer_remaining_ns = vmm_snap_get_u64(&r);
	a->flags = vmm_snap_get_u32(&r);
	a->esr_pending = vmm_snap_get_u32(&r);
	if ((rc = vmm_snap_r_done(&r, "local APIC", err)))
		return rc;
	if (s->mp_state != VMXCORE_MP_RUNNABLE && s->mp_state != VMXCORE_MP_WAIT_SIPI &&
	    s->mp_state != VMXCORE_MP_HALTED)
		return vx_err_set(err, -EBADMSG, "state file: vCPU %u: MP state %u is not one "
				  "of 0, 1, 3", vcpu_id, s->mp_state);
	if ((a->apic_base & RN_APIC_BASE_RESERVED) ||
	    ((a->apic_base & RN_APIC_BASE_X2APIC) && !(a->apic_base & RN_APIC_BASE_ENABLE)))
		return vx_err_set(err, -EBADMSG, "state file: vCPU %u: IA32_APIC_BASE 0x%llx",
				  vcpu_id, (unsigned long long)a->apic_base);
	if ((a->apic_base & RN_APIC_BASE_X2APIC) && rn_snap_apic_reg(a, 0x20) != vcpu_id)
		return vx_err_set(err, -EINVAL, "state file: vCPU %u: x2APIC ID %u", vcpu_id,
				  rn_snap_apic_reg(a, 0x20));
	if (a->flags & ~VMXCORE_LAPIC_TIMER_ARMED)
		return vx_err_set(err, -EBADMSG, "state file: vCPU %u: local APIC flags 0x%x",
				  vcpu_id, a->flags);
	if ((why = rn_snap_lapic_timer_bad(a)))
		return vx_err_set(err, -EBADMSG, "state file: vCPU %u: local APIC: %s", vcpu_id,
				  why);
	return 0;
}

/* The guest's TSC (IA32_TSC through the MSR ioctls), read or set. */
static int rn_snap_tsc(struct rn_vcpu *v, uint64_t *tsc, int set, struct vx_err *err)
{
	struct {
		struct vmxcore_msrs head;
		struct vmxcore_msr_entry e;
	} m = { .head.nmsrs = 1, .e = { .index = 0x10, .data = *tsc } };	/* IA32_TSC */
	const struct vb_ops *ops = v->m->ops;
	int rc = set ? ops->set_msrs(&v->vb, &m.head) : ops->get_msrs(&v->vb, &m.head);

	if (rc != 1)
		return vx_err_set(err, rc < 0 ? rc : -EOPNOTSUPP, "vCPU %d: %s the TSC: %s", v->id,
				  set ? "setting" : "reading",
				  rc < 0 ? strerror(-rc) : "the kernel does not offer IA32_TSC");
	*tsc = m.e.data;
	return 0;
}

static int rn_snap_vcpu_read(struct rn_vcpu *v, struct rn_snap_vcpu *s, struct vx_err *err)
{
	const struct vb_ops *ops = v->m->ops;
	int rc;

	memset(s, 0, sizeof(*s));
	s->msrs.head.nmsrs = RN_SNAP_NMSRS;
	for (unsigned i = 0; i < RN_SNAP_NMSRS; i++)
		s->msrs.e[i].index = rn_snap_msrs[i];
	if ((rc = ops->get_regs(&v->vb, &s->regs)) || (rc = ops->get_sregs(&v->vb, &s->sregs)))
		return vx_err_set(err, rc, "vCPU %d: reading registers: %s", v->id, strerror(-rc));
	rc = rn_snap_ioctl(&v->vb, VMXCORE_GET_MSRS, KVM_GET_MSRS, &s->msrs);
	if (rc != (int)RN_SNAP_NMSRS)
		return vx_err_set(err, rc < 0 ? rc : -EIO, "vCPU %d: reading MSRs: %s", v->id,
				  rc < 0 ? strerror(-rc) : "not all of them");
	rc = rn_snap_ioctl(&v->vb, VMXCORE_GET_XSAVE, KVM_GET_XSAVE, &s->xsave);
	if (rc < 0)
		return vx_err_set(err, rc, "vCPU %d: reading XSAVE state: %s", v->id, strerror(-rc));
	s->halted = v->halted;
	s->ext_version = RN_SNAP_VCPU_EXT_VERSION;
	if ((rc = ops->get_xcr0(&v->vb, &s->xcr0)))
		return vx_err_set(err, rc, "vCPU %d: reading XCR0: %s", v->id, strerror(-rc));
	if ((rc = ops->get_events(&v->vb, &s->events)))
		return vx_err_set(err, rc, "vCPU %d: reading events: %s", v->id, strerror(-rc));
	return rn_snap_tsc(v, &s->tsc, 0, err);
}

static int rn_snap_vcpu_write(struct rn_vcpu *v, struct rn_snap_vcpu *s, struct vx_err *err)
{
	const struct vb_ops *ops = v->m->ops;
	int rc;

	if ((rc = ops->set_sregs(&v->vb, &s->sregs)) || (rc = ops->set_regs(&v->vb, &s->regs)))
		return vx_err_set(err, rc, "vCPU %d: registers refused: %s", v->id, strerror(-rc));
	/* XCR0 before XSAVE (which takes only components XCR0 has). */
	if (s->ext_version && (rc = ops->set_xcr0(&v->vb, s->xcr0)))
		return vx_err_set(err, rc, "vCPU %d: XCR0 0x%llx refused: %s", v->id,
				  (unsigned long long)s->xcr0, strerror(-rc));
	if (s->msrs.head.nmsrs) {
		rc = rn_snap_ioctl(&v->vb, VMXCORE_SET_MSRS, KVM_SET_MSRS, &s->msrs);
		if (rc != (int)s->msrs.head.nmsrs)
			return vx_err_set(err, rc < 0 ? rc : -EINVAL, "vCPU %d: MSRs refused%s%s",
					  v->id, rc < 0 ? ": " : "", rc < 0 ? strerror(-rc) : "");
	}
	rc = rn_snap_ioctl(&v->vb, VMXCORE_SET_XSAVE, KVM_SET_XSAVE, &s->xsave);
	if (rc < 0)
		return vx_err_set(err, rc, "vCPU %d: XSAVE state refused: %s", v->id, strerror(-rc));
	/* Whatever the last exit said belongs to the state left behind. */
	v->vb.run->ready_for_interrupt = 0;
	v->vb.run->if_flag = (s->regs.rflags & 0x200) != 0;
	v->halted = s->halted;
	return 0;
}

/*
 * After the TSC: the local APIC (lapic: NULL on a machine without), its MP
 * state, then the events. Why this order:
 * - the APIC after the TSC: KVM arms a TSC-deadline timer against the
 *   guest's TSC as it is at the SET, so that must be the saved one;
 * - the MP state after the APIC: an interrupt in the restored IRR or a
 *   timer due at once must not wake a vCPU before its saved MP state is
 *   in place (a halted vCPU is woken by it at its next RUN, as it would
 *   have been; KVM restores them in this order too);
 * - the events after the APIC: an interrupt in delivery left IRR for ISR
 *   already, and the kernel takes the event against the APIC it finds
 *   (its ISR and priority), which must be the one saved with it;
 * - the events after the registers they are checked against.
 * An older file's (zero) events say nothing is in flight: so it is.
 */
static int rn_snap_vcpu_finish(struct rn_vcpu *v, const struct rn_snap_vcpu *s,
			       const struct rn_snap_lapic *lapic, struct vx_err *err)
{
	const struct vb_ops *ops = v->m->ops;
	int rc;

	if (lapic && (rc = ops->set_lapic(&v->vb, &lapic->apic)))
		return vx_err_set(err, rc, "vCPU %d: local APIC state refused: %s", v->id,
				  strerror(-rc));
	if (lapic && (rc = ops->set_mp_state(&v->vb, lapic->mp_state)))
		return vx_err_set(err, rc, "vCPU %d: MP state %u refused: %s", v->id,
				  lapic->mp_state, strerror(-rc));
	if ((rc = ops->set_events(&v->vb, &s->events)))
		return vx_err_set(err, rc, "vCPU %d: events refused: %s", v->id, strerror(-rc));
	return 0;
}

/* The vCPU's local APIC and MP state, for the file. */
static int rn_snap_lapic_read(struct rn_vcpu *v, struct rn_snap_lapic *s, struct vx_err *err)
{
	const struct vb_ops *ops = v->m->ops;
	int rc;

	memset(s, 0, sizeof(*s));
	if ((rc = ops->get_lapic(&v->vb, &s->apic)))
		return vx_err_set(err, rc, "vCPU %d: reading the local APIC: %s", v->id,
				  strerror(-rc));
	if ((rc = ops->get_mp_state(&v->vb, &s->mp_state)))
		return vx_err_set(err, rc, "vCPU %d: reading the MP state: %s", v->id,
				  strerror(-rc));
	return 0;
}

/* ---- the machine ---- */

/* One device's section: its save wrapped in the section header. */
#define RN_SNAP_SECTION(w, tag, inst, save, dev) do {			\
		size_t at_ = vmm_snap_section_begin((w), (tag), (inst));	\
		save((dev), (w));						\
		vmm_snap_section_end((w), at_);					\
	} while (0)

static int rn_snap_devices_put(struct machine *m, struct vmm_snap_w *w, struct vx_err *err)
{
	size_t at = vmm_snap_section_begin(w, VMM_SNAP_MACH, 0);

	vmm_snap_put_u64(w, m->ram_bytes);
	vmm_snap_put_u32(w, m->nvcpus);
	vmm_snap_put_u32(w, m->ndisks);
	vmm_snap_put_u32(w, m->nnics);	/* since version 2 */
	vmm_snap_section_end(w, at);
	for (unsigned i = 0; i < m->nvcpus; i++) {
		static struct rn_snap_vcpu s;	/* 4 KiB of XSAVE: not on the stack */
		static struct rn_snap_lapic a;
		int rc = rn_snap_vcpu_read(&m->vcpu[i], &s, err);

		if (rc || (m->apic && (rc = rn_snap_lapic_read(&m->vcpu[i], &a, err))))
			return rc;
		at = vmm_snap_section_begin(w, VMM_SNAP_VCPU, i);
		rn_snap_vcpu_put(w, &s);
		vmm_snap_section_end(w, at);
		if (m->apic) {
			at = vmm_snap_section_begin(w, VMM_SNAP_LAPC, i);
			rn_snap_lapic_put(w, &a);
			vmm_snap_section_end(w, at);
		}
	}
	RN_SNAP_SECTION(w, VMM_SNAP_PIC, 0, vmm_pic_save, &m->pc.pic);
	RN_SNAP_SECTION(w, VMM_SNAP_PIT, 0, vmm_pit_save, &m->pc.pit);
	RN_SNAP_SECTION(w, VMM_SNAP_RTC, 0, vmm_rtc_save, &m->pc.rtc);
	RN_SNAP_SECTION(w, VMM_SNAP_UART, 0, vmm_uart_save, &m->pc.com1);
	RN_SNAP_SECTION(w, VMM_SNAP_KBC, 0, vmm_i8042_save, &m->pc.kbc);
	RN_SNAP_SECTION(w, VMM_SNAP_APM, 0, vmm_acpi_pm_save, &m->acpi_pm);
	RN_SNAP_SECTION(w, VMM_SNAP_PCI, 0, vmm_pci_save, &m->pci);
	for (unsigned i = 0; i < m->ndisks; i++)
		RN_SNAP_SECTION(w, VMM_SNAP_VBLK, i, vmm_virtio_blk_save,
				&m->disks[i].blk);
	if (m->apic)
		RN_SNAP_SECTION(w, VMM_SNAP_IOAP, 0, vmm_ioapic_save, &m->ioapic);
	for (unsigned i = 0; i < m->nnics; i++)
		RN_SNAP_SECTION(w, VMM_SNAP_VNET, i, vmm_virtio_net_save, &m->nics[i].net);
	return w->failed ? vx_err_set(err, -ENOMEM, "state file: out of memory") : 0;
}

/* A disk the snapshot covers: written by the guest (read-only ones cannot
 * change, so any state of them matches). */
static int rn_snap_disk_writable(const struct rn_disk *d)
{
	return !d->blk.read_only;
}

/* Each writable disk's internal snapshot 'name' (qcow2 only). On failure
 * the ones made are removed again. */
static int rn_snap_disks_create(struct machine *m, const char *name, struct vx_err *err)
{
	unsigned i;
	int rc = 0;

	for (i = 0; i < m->ndisks && !rc; i++)
		if (rn_snap_disk_writable(&m->disks[i]))
			rc = img_snapshot_create(m->disks[i].img, name, err);
	if (!rc)
		return 0;
	for (unsigned k = 0; k + 1 < i; k++)
		if (rn_snap_disk_writable(&m->disks[k]))
			img_snapshot_delete(m->disks[k].img, name, NULL);
	return rc;
}

int machine_snapshot_save(struct machine *m, int fd, const char *disk_snapshot,
			  struct vx_err *err)
{
	struct vmm_snap_w w;
	int rc;

	if ((rc = rn_snap_supported(m, err)))
		return rc;
	vmm_snap_w_init(&w);
	vmm_snap_put_header(&w);
	pthread_mutex_lock(&m->io_lock);
	rc = rn_snap_devices_put(m, &w, err);
	pthread_mutex_unlock(&m->io_lock);
	if (!rc)
		rc = vmm_snap_write_all(fd, w.buf, w.len, err);
	vmm_snap_w_free(&w);
	if (!rc)
		rc = vmm_snap_write_ram(fd, m->ram, m->ram_bytes, err);
	if (!rc)
		rc = vmm_snap_write_end(fd, err);
	if (!rc && fdatasync(fd) < 0)
		rc = vx_err_errno(err, -errno, "state file: fdatasync");
	if (!rc && disk_snapshot && *disk_snapshot)
		rc = rn_snap_disks_create(m, disk_snapshot, err);
	return rc;
}

/* ---- load ---- */

/* Every section of the file, read and checked, before anything changes. */
struct rn_snap_load {
	struct vmm_snap_index ix;
	struct rn_snap_vcpu vcpu[RUNNER_MAX_VCPUS];
	struct rn_snap_lapic lapic[RUNNER_MAX_VCPUS];	/* machines with APICs */
	uint8_t *dev[7 + RUNNER_MAX_DISKS];
	size_t dev_len[7 + RUNNER_MAX_DISKS];
	uint8_t *ioapic;				/* machines with APICs */
	size_t ioapic_len;
	uint8_t *nic[RUNNER_MAX_NICS];
	size_t nic_len[RUNNER_MAX_NICS];
	const struct vmm_snap_sec *ram;
};

static const uint32_t rn_snap_dev_tags[7] = {
	VMM_SNAP_PIC, VMM_SNAP_PIT, VMM_SNAP_RTC, VMM_SNAP_UART, VMM_SNAP_KBC,
	VMM_SNAP_APM, VMM_SNAP_PCI,
};

static void rn_snap_load_free(struct rn_snap_load *l)
{
	for (unsigned i = 0; i < sizeof(l->dev) / sizeof(l->dev[0]); i++)
		free(l->dev[i]);
	free(l->ioapic);
	for (unsigned i = 0; i < RUNNER_MAX_NICS; i++)
		free(l->nic[i]);
}

static int rn_snap_need(struct rn_snap_load *l, int fd, uint32_t tag, uint32_t inst,
			uint8_t **buf, size_t *len, struct vx_err *err)
{
	struct vmm_snap_sec *s = vmm_snap_find(&l->ix, tag, inst);
	char name[16];
	int rc;

	if (!s)
		return vx_err_set(err, -EBADMSG, "state file: no %s section %u",
				  vmm_snap_tag_name(tag, name), inst);
	if ((rc = vmm_snap_read_section(fd, s, buf, err)))
		return rc;
	*len = (size_t)s->len;
	return 0;
}

/* A section of version 2 this machine needs: missing, it is named. */
static int rn_snap_need_v2(struct rn_snap_load *l, int fd, uint32_t tag, uint32_t inst,
			   const char *what, uint8_t **buf, size_t *len, struct vx_err *err)
{
	char name[16];

	if (!vmm_snap_find(&l->ix, tag, inst))
		return vx_err_set(err, -EINVAL,
				  "state file (version %u): no %s %u (section %s), which this machine "
				  "needs: saved by a runner without it or from another machine",
				  l->ix.version, what, inst, vmm_snap_tag_name(tag, name));
	return rn_snap_need(l, fd, tag, inst, buf, len, err);
}

static int rn_snap_read_mach(struct machine *m, struct rn_snap_load *l, int fd,
			     struct vx_err *err)
{
	struct vmm_snap_r r;
	uint8_t *p;
	size_t len;
	uint64_t ram;
	uint32_t nvcpus, ndisks, nnics = 0;
	int rc;

	if ((rc = rn_snap_need(l, fd, VMM_SNAP_MACH, 0, &p, &len, err)))
		return rc;
	vmm_snap_r_init(&r, p, len);
	ram = vmm_snap_get_u64(&r);
	nvcpus = vmm_snap_get_u32(&r);
	ndisks = vmm_snap_get_u32(&r);
	if (r.off < r.len)	/* version 1 ends here: no NICs then */
		nnics = vmm_snap_get_u32(&r);
	rc = vmm_snap_r_done(&r, "machine", err);
	free(p);
	if (rc)
		return rc;
	if (ram != m->ram_bytes || nvcpus != m->nvcpus || ndisks != m->ndisks)
		return vx_err_set(err, -EINVAL,
				  "state file: saved from a machine with %llu MiB, %u vCPUs, %u disks; "
				  "this one has %llu MiB, %u vCPUs, %u disks",
				  (unsigned long long)(ram >> 20), nvcpus, ndisks,
				  (unsigned long long)(m->ram_bytes >> 20), m->nvcpus, m->ndisks);
	if (nnics != m->nnics)
		return vx_err_set(err, -EINVAL, "state file: saved from a machine with %u NICs; "
				  "this one has %u", nnics, m->nnics);
	return 0;
}

/* Checks each device's section on a copy of the device (the simple ones)
 * or in check-only mode (virtio: its apply maps BARs). */
static int rn_snap_check_devices(struct machine *m, struct rn_snap_load *l, struct vx_err *err)
{
	static struct vmm_pc pc;
	static struct vmm_acpi_pm pm;
	static struct vmm_pci pci;
	int rc;

	pc = m->pc;
	pm = m->acpi_pm;
	pci = m->pci;
	if ((rc = vmm_pic_load(&pc.pic, l->dev[0], l->dev_len[0], err)) ||
	    (rc = vmm_pit_load(&pc.pit, l->dev[1], l->dev_len[1], err)) ||
	    (rc = vmm_rtc_load(&pc.rtc, l->dev[2], l->dev_len[2], err)) ||
	    (rc = vmm_uart_load(&pc.com1, l->dev[3], l->dev_len[3], err)) ||
	    (rc = vmm_i8042_load(&pc.kbc, l->dev[4], l->dev_len[4], err)) ||
	    (rc = vmm_acpi_pm_load(&pm, l->dev[5], l->dev_len[5], err)))
		return rc;
	{
		/* The host bridge's check alone (the bus address is any u32). */
		uint8_t cfg[VMM_PCI_CFG_SIZE];
		struct vmm_snap_r r;
		int lvl;

		vmm_snap_r_init(&r, l->dev[6], l->dev_len[6]);
		(void)vmm_snap_get_u32(&r);
		if ((rc = vmm_pci_dev_check(&pci.host, &r, cfg, &lvl, err)) ||
		    (rc = vmm_snap_r_done(&r, "PCI", err)))
			return rc;
	}
	for (unsigned i = 0; i < m->ndisks; i++)
		if ((rc = vmm_virtio_blk_check(&m->disks[i].blk, l->dev[7 + i],
					       l->dev_len[7 + i], err)))
			return rc;
	if (m->apic) {
		static struct vmm_ioapic io;

		io = m->ioapic;
		if ((rc = vmm_ioapic_load(&io, l->ioapic, l->ioapic_len, err)))
			return rc;
	}
	for (unsigned i = 0; i < m->nnics; i++)
		if ((rc = vmm_virtio_net_check(&m->nics[i].net, l->nic[i], l->nic_len[i], err)))
			return rc;
	return 0;
}

/* Each vCPU's local APIC section, on a machine with APICs. */
static int rn_snap_read_lapics(struct machine *m, struct rn_snap_load *l, int fd,
			       struct vx_err *err)
{
	for (unsigned i = 0; i < m->nvcpus; i++) {
		uint8_t *p;
		size_t len;
		int rc = rn_snap_need_v2(l, fd, VMM_SNAP_LAPC, i, "local APIC state of vCPU", &p,
					 &len, err);

		if (rc)
			return rc;
		rc = rn_snap_lapic_get(p, len, i, &l->lapic[i], err);
		free(p);
		if (rc)
			return rc;
	}
	return 0;
}

static int rn_snap_read_all(struct machine *m, struct rn_snap_load *l, int fd,
			    struct vx_err *err)
{
	int rc;

	if ((rc = vmm_snap_index_read(fd, &l->ix, err)) || (rc = rn_snap_read_mach(m, l, fd, err)))
		return rc;
	for (unsigned i = 0; i < m->nvcpus; i++) {
		uint8_t *p;
		size_t len;

		if ((rc = rn_snap_need(l, fd, VMM_SNAP_VCPU, i, &p, &len, err)))
			return rc;
		rc = rn_snap_vcpu_get(p, len, &l->vcpu[i], err);
		free(p);
		if (rc)
			return rc;
	}
	for (unsigned i = 0; i < 7; i++)
		if ((rc = rn_snap_need(l, fd, rn_snap_dev_tags[i], 0, &l->dev[i],
				       &l->dev_len[i], err)))
			return rc;
	for (unsigned i = 0; i < m->ndisks; i++)
		if ((rc = rn_snap_need(l, fd, VMM_SNAP_VBLK, i, &l->dev[7 + i],
				       &l->dev_len[7 + i], err)))
			return rc;
	if (m->apic && ((rc = rn_snap_read_lapics(m, l, fd, err)) ||
			(rc = rn_snap_need_v2(l, fd, VMM_SNAP_IOAP, 0, "IOAPIC state", &l->ioapic,
					      &l->ioapic_len, err))))
		return rc;
	for (unsigned i = 0; i < m->nnics; i++)
		if ((rc = rn_snap_need_v2(l, fd, VMM_SNAP_VNET, i, "virtio-net state of NIC",
					  &l->nic[i], &l->nic_len[i], err)))
			return rc;
	l->ram = vmm_snap_find(&l->ix, VMM_SNAP_RAM, 0);
	if (!l->ram)
		return vx_err_set(err, -EBADMSG, "state file: no RAM section");
	if ((rc = vmm_snap_check_all_used(&l->ix, err)))
		return rc;
	return rn_snap_check_devices(m, l, err);
}

/* Everything checked: the devices take their state (cannot fail now). */
static void rn_snap_apply_devices(struct machine *m, struct rn_snap_load *l)
{
	vmm_pic_load(&m->pc.pic, l->dev[0], l->dev_len[0], NULL);
	vmm_pit_load(&m->pc.pit, l->dev[1], l->dev_len[1], NULL);
	vmm_rtc_load(&m->pc.rtc, l->dev[2], l->dev_len[2], NULL);
	vmm_uart_load(&m->pc.com1, l->dev[3], l->dev_len[3], NULL);
	vmm_i8042_load(&m->pc.kbc, l->dev[4], l->dev_len[4], NULL);
	vmm_acpi_pm_load(&m->acpi_pm, l->dev[5], l->dev_len[5], NULL);
	vmm_pci_load(&m->pci, l->dev[6], l->dev_len[6], NULL);
	for (unsigned i = 0; i < m->ndisks; i++)
		vmm_virtio_blk_load(&m->disks[i].blk, l->dev[7 + i], l->dev_len[7 + i], NULL);
	if (m->apic)
		vmm_ioapic_load(&m->ioapic, l->ioapic, l->ioapic_len, NULL);
	for (unsigned i = 0; i < m->nnics; i++)
		vmm_virtio_net_load(&m->nics[i].net, l->nic[i], l->nic_len[i], NULL);
}

static int rn_snap_disks_apply(struct machine *m, const char *name, struct vx_err *err)
{
	for (unsigned i = 0; i < m->ndisks; i++) {
		int rc;

		if (!rn_snap_disk_writable(&m->disks[i]))
			continue;
		if ((rc = img_snapshot_apply(m->disks[i].img, name, err)))
			return rc;
	}
	return 0;
}

int machine_snapshot_load(struct machine *m, int fd, const char *disk_snapshot,
			  struct vx_err *err)
{
	static struct rn_snap_load l;	/* XSAVE areas: not on the stack */
	int rc;

	if ((rc = rn_snap_supported(m, err)))
		return rc;
	memset(&l, 0, sizeof(l));
	pthread_mutex_lock(&m->io_lock);
	rc = rn_snap_read_all(m, &l, fd, err);
	pthread_mutex_unlock(&m->io_lock);
	if (rc)
		goto out;
	/* From here a failure leaves a VM that is neither before nor after. */
	if (disk_snapshot && *disk_snapshot && (rc = rn_snap_disks_apply(m, disk_snapshot, err)))
		goto broken;
	for (unsigned i = 0; i < m->nvcpus; i++)
		if ((rc = rn_snap_vcpu_write(&m->vcpu[i], &l.vcpu[i], err)))
			goto broken;
	if ((rc = vmm_snap_read_ram(fd, l.ram, m->ram, m->ram_bytes, err)))
		goto broken;
	/* Last, so the guest's TSC goes on from the saved value when it resumes
	 * rather than from a value that aged while RAM was read. */
	for (unsigned i = 0; i < m->nvcpus; i++)
		if (l.vcpu[i].ext_version && (rc = rn_snap_tsc(&m->vcpu[i], &l.vcpu[i].tsc, 1, err)))
			goto broken;
	for (unsigned i = 0; i < m->nvcpus; i++)
		if ((rc = rn_snap_vcpu_finish(&m->vcpu[i], &l.vcpu[i], m->apic ? &l.lapic[i] : NULL,
					      err)))
			goto broken;
	pthread_mutex_lock(&m->io_lock);
	rn_snap_apply_devices(m, &l);
	pthread_mutex_unlock(&m->io_lock);
	machine_timers_changed(m);
	goto out;
broken:
	machine_stop(m, RN_ERROR, "loading the state file failed half-way: %s", err ? err->msg : "");
out:
	rn_snap_load_free(&l);
	return rc;
}
