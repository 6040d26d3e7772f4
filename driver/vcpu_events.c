// SPDX-License-Identifier: GPL-2.0
/*
 * vcpu_events.c: checks and conversions of VMXCORE_SET/GET_VCPU_EVENTS
 * (see vcpu_events.h). The rules are the VM-entry checks on the event
 * injection and interruptibility fields (SDM Vol. 3C 26.2.1.3, 26.3.1.5),
 * applied before anything changes so that a bad SET is an -EINVAL and not
 * a failed entry later.
 *
 * Environment: any (also built in userspace).
 */
#include "vcpu_events.h"

bool vev_wants_error_code(unsigned int vector, __u64 cr0)
{
	return (cr0 & VEV_CR0_PE) && vector < 32 && ((1u << vector) & VEV_ERROR_CODE_VECTORS);
}

static bool vev_reserved_zero(const struct vmxcore_vcpu_events *ev)
{
	for (size_t i = 0; i < sizeof(ev->reserved) / sizeof(ev->reserved[0]); i++)
		if (ev->reserved[i])
			return false;
	return !ev->flags && !ev->nmi.padding;
}

static bool vev_bool(__u8 b)
{
	return b <= 1;
}

static int vev_bad(const char **why, const char *what)
{
	if (why)
		*why = what;
	return -EINVAL;
}

static int vev_check_exception(const struct vmxcore_vcpu_events *ev, const struct vev_guest *g,
			       const char **why)
{
	const __typeof__(ev->exception) *e = &ev->exception;

	if (!vev_bool(e->injected) || !vev_bool(e->pending) || !vev_bool(e->has_error_code))
		return vev_bad(why, "exception: a flag is neither 0 nor 1");
	if (e->injected && e->pending)
		return vev_bad(why, "exception: injected and pending both set");
	if (!e->injected && !e->pending)
		return e->vector || e->has_error_code || e->error_code ?
		       vev_bad(why, "exception: fields set without an exception") : 0;
	if (e->vector > 31 || e->vector == 2)
		return vev_bad(why, "exception: vector not 0-31 or is 2 (NMI)");
	if (e->has_error_code != vev_wants_error_code(e->vector, g->cr0))
		return vev_bad(why, "exception: has_error_code does not match the vector and CR0.PE");
	if (e->error_code > 0xffff || (!e->has_error_code && e->error_code))
		return vev_bad(why, "exception: error_code above 0xffff or without has_error_code");
	return 0;
}

static int vev_check_interrupt(const struct vmxcore_vcpu_events *ev, const char **why)
{
	const __typeof__(ev->interrupt) *i = &ev->interrupt;

	if (!vev_bool(i->injected) || !vev_bool(i->queued))
		return vev_bad(why, "interrupt: a flag is neither 0 nor 1");
	if (i->injected ? i->vector < 16 : i->vector != 0)
		return vev_bad(why, "interrupt: injected vector below 16, or a vector without injected");
	if (i->queued ? i->queued_vector < 32 : i->queued_vector != 0)
		return vev_bad(why, "interrupt: queued vector below 32, or a vector without queued");
	return 0;
}

static int vev_check_shadow(const struct vmxcore_vcpu_events *ev, const struct vev_guest *g,
			    const char **why)
{
	__u32 s = ev->shadow;

	if (s & ~(VMXCORE_SHADOW_STI | VMXCORE_SHADOW_MOV_SS))
		return vev_bad(why, "shadow: reserved bits set");
	if (s == (VMXCORE_SHADOW_STI | VMXCORE_SHADOW_MOV_SS))
		return vev_bad(why, "shadow: STI and MOV SS both set");
	if ((s & VMXCORE_SHADOW_STI) && !(g->rflags & VEV_RFLAGS_IF))
		return vev_bad(why, "shadow: STI with RFLAGS.IF=0");
	if (s && (ev->interrupt.injected || ev->nmi.injected))
		return vev_bad(why, "shadow: set while an interrupt or NMI is injected");
	if (s && g->halted)
		return vev_bad(why, "shadow: set while the vCPU is halted");
	return 0;
}

int vev_check(const struct vmxcore_vcpu_events *ev, const struct vev_guest *g,
	      const char **why)
{
	int rc;

	if (!vev_reserved_zero(ev))
		return vev_bad(why, "flags, padding or reserved not zero");
	if ((rc = vev_check_exception(ev, g, why)) || (rc = vev_check_interrupt(ev, why)))
		return rc;
	if (!vev_bool(ev->nmi.injected) || !vev_bool(ev->nmi.pending) || !vev_bool(ev->nmi.masked))
		return vev_bad(why, "nmi: a flag is neither 0 nor 1");
	if (ev->nmi.injected && ev->nmi.masked)
		return vev_bad(why, "nmi: injected while masked");
	if (ev->exception.injected + ev->interrupt.injected + ev->nmi.injected > 1)
		return vev_bad(why, "more than one of exception, interrupt and nmi injected");
	return vev_check_shadow(ev, g, why);
}

__u32 vev_injected_info(const struct vmxcore_vcpu_events *ev, __u32 *error_code)
{
	*error_code = 0;
	if (ev->exception.injected) {
		*error_code = ev->exception.error_code;
		return VEV_INFO_VALID | (VEV_TYPE_HW_EXCEPTION << VEV_INFO_TYPE_SHIFT) |
		       ev->exception.vector |
		       (ev->exception.has_error_code ? VEV_INFO_ERROR_CODE : 0);
	}
	if (ev->interrupt.injected)
		return VEV_INFO_VALID | (VEV_TYPE_EXT_INTR << VEV_INFO_TYPE_SHIFT) |
		       ev->interrupt.vector;
	if (ev->nmi.injected)
		return VEV_INFO_VALID | (VEV_TYPE_NMI << VEV_INFO_TYPE_SHIFT) | 2;
	return 0;
}

bool vev_record_injected(struct vmxcore_vcpu_events *ev, __u32 info, __u32 error_code)
{
	__u8 vector = info & VEV_INFO_VECTOR;

	if (!(info & VEV_INFO_VALID))
		return false;
	switch ((info & VEV_INFO_TYPE) >> VEV_INFO_TYPE_SHIFT) {
	case VEV_TYPE_HW_EXCEPTION:
		ev->exception.injected = 1;
		ev->exception.pending = 0;
		ev->exception.vector = vector;
		ev->exception.has_error_code = !!(info & VEV_INFO_ERROR_CODE);
		ev->exception.error_code = ev->exception.has_error_code ? error_code & 0xffff : 0;
		return true;
	case VEV_TYPE_EXT_INTR:
		ev->interrupt.injected = 1;
		ev->interrupt.vector = vector;
		return true;
	case VEV_TYPE_NMI:
		ev->nmi.injected = 1;
		return true;
	default:
		return false;	/* INT n, INT3, INTO, INT1: RIP is at the instruction */
	}
}

__u32 vev_interruptibility(const struct vmxcore_vcpu_events *ev)
{
	return (ev->shadow & VMXCORE_SHADOW_STI ? VEV_BLOCK_STI : 0) |
	       (ev->shadow & VMXCORE_SHADOW_MOV_SS ? VEV_BLOCK_MOV_SS : 0) |
	       (ev->nmi.masked ? VEV_BLOCK_NMI : 0);
}

void vev_record_interruptibility(struct vmxcore_vcpu_events *ev, __u32 interruptibility)
{
	ev->shadow = (interruptibility & VEV_BLOCK_STI ? VMXCORE_SHADOW_STI : 0) |
		     (interruptibility & VEV_BLOCK_MOV_SS ? VMXCORE_SHADOW_MOV_SS : 0);
	ev->nmi.masked = !!(interruptibility & VEV_BLOCK_NMI);
}
