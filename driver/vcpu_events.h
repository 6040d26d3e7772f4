/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vCPU events (VMXCORE_GET/SET_VCPU_EVENTS): the checks SET makes and the
 * conversion between struct vmxcore_vcpu_events and what VMX holds, the
 * interruption-information format (SDM Vol. 3C 24.8.3, 24.9.3) and the
 * guest interruptibility state (24.4.2).
 *
 * Environment: any. The same code is compiled into the driver and into a
 * userspace unit test (tests/driver/test_vcpu_events.c); it makes no
 * library call and keeps no state.
 */
#ifndef VMXCORE_VCPU_EVENTS_H
#define VMXCORE_VCPU_EVENTS_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#else
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#endif
#include "include/uapi/vmxcore.h"

/* Interruption-information fields (IDT-vectoring, VM-entry). */
#define VEV_INFO_VECTOR		0xffu
#define VEV_INFO_TYPE_SHIFT	8
#define VEV_INFO_TYPE		(7u << VEV_INFO_TYPE_SHIFT)
#define VEV_INFO_ERROR_CODE	(1u << 11)
#define VEV_INFO_VALID		(1u << 31)
#define VEV_TYPE_EXT_INTR	0u
#define VEV_TYPE_NMI		2u
#define VEV_TYPE_HW_EXCEPTION	3u

/* Guest interruptibility state. */
#define VEV_BLOCK_STI		(1u << 0)
#define VEV_BLOCK_MOV_SS	(1u << 1)
#define VEV_BLOCK_NMI		(1u << 3)

/* #DF #TS #NP #SS #GP #PF #AC: the exceptions that push an error code. */
#define VEV_ERROR_CODE_VECTORS	0x27d00u
#define VEV_CR0_PE		1ull
#define VEV_RFLAGS_IF		(1ull << 9)

/* What SET checks the events against: the vCPU as it is now. */
struct vev_guest {
	__u64 rflags;
	__u64 cr0;
	bool halted;		/* in-kernel APIC: HLT or wait-for-SIPI */
};

/*
 * 0 when @ev may be set on the vCPU @g describes; else -EINVAL with *why
 * naming the first field found wrong.
 */
int vev_check(const struct vmxcore_vcpu_events *ev, const struct vev_guest *g,
	      const char **why);

/* Whether VM entry wants an error code with exception @vector. */
bool vev_wants_error_code(unsigned int vector, __u64 cr0);

/*
 * The event @ev has in delivery as an interruption-information value (0:
 * none) and its error code.
 */
__u32 vev_injected_info(const struct vmxcore_vcpu_events *ev, __u32 *error_code);

/*
 * Records in @ev the event @info (IDT-vectoring or VM-entry format) with
 * @error_code; software interrupts and exceptions are left out (their
 * instruction runs again). Returns whether it recorded one.
 */
bool vev_record_injected(struct vmxcore_vcpu_events *ev, __u32 info, __u32 error_code);

/* Interruptibility state <-> the struct's shadow and nmi.masked. */
__u32 vev_interruptibility(const struct vmxcore_vcpu_events *ev);
void vev_record_interruptibility(struct vmxcore_vcpu_events *ev, __u32 interruptibility);

#endif /* VMXCORE_VCPU_EVENTS_H */
