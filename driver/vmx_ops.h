/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One checked wrapper per VMX instruction the driver executes.
 *
 * Environment: kernel, preemption disabled (the instructions act on the
 * current CPU's VMX state). Each wrapper returns 0, or -EIO when the
 * instruction reported VMfail (CF or ZF set) or faulted (#UD/#GP, caught by
 * the exception table so a bad state never oopses the host).
 */
#ifndef VMXCORE_VMX_OPS_H
#define VMXCORE_VMX_OPS_H

#include <linux/types.h>
#include <linux/errno.h>
#include <asm/asm.h>

static __always_inline int vmx_vmxon(u64 phys)
{
	asm goto("1: vmxon %[pa]\n\t"
		 "jbe %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fail])
		 : : [pa] "m"(phys) : "cc", "memory" : fail);
	return 0;
fail:
	return -EIO;
}

static __always_inline int vmx_vmxoff(void)
{
	asm goto("1: vmxoff\n\t"
		 "jbe %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fail])
		 : : : "cc", "memory" : fail);
	return 0;
fail:
	return -EIO;
}

#endif /* VMXCORE_VMX_OPS_H */
