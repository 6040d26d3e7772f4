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

static __always_inline int vmx_vmclear(u64 phys)
{
	asm goto("1: vmclear %[pa]\n\t"
		 "jbe %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fail])
		 : : [pa] "m"(phys) : "cc", "memory" : fail);
	return 0;
fail:
	return -EIO;
}

static __always_inline int vmx_vmptrld(u64 phys)
{
	asm goto("1: vmptrld %[pa]\n\t"
		 "jbe %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fail])
		 : : [pa] "m"(phys) : "cc", "memory" : fail);
	return 0;
fail:
	return -EIO;
}

void vmx_vmwrite_error(unsigned long field, unsigned long value);
void vmx_vmread_error(unsigned long field);

/*
 * VMREAD/VMWRITE of the current VMCS. A failure means a driver bug (bad
 * field for this CPU, or no current VMCS): it is logged with the field and
 * VM_INSTRUCTION_ERROR by the out-of-line reporters, never silently eaten.
 */
static __always_inline unsigned long vmcs_read(unsigned long field)
{
	unsigned long value;

	asm volatile goto("1: vmread %[field], %[value]\n\t"
			  "jbe %l[fail]\n\t"
			  _ASM_EXTABLE(1b, %l[fail])
			  : [value] "=rm"(value) : [field] "r"(field) : "cc" : fail);
	return value;
fail:
	vmx_vmread_error(field);
	return 0;
}

static __always_inline void vmcs_write(unsigned long field, unsigned long value)
{
	asm goto("1: vmwrite %[value], %[field]\n\t"
		 "jbe %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fail])
		 : : [field] "r"(field), [value] "rm"(value) : "cc" : fail);
	return;
fail:
	vmx_vmwrite_error(field, value);
}

/* INVEPT / INVVPID types (SDM Vol. 3C 30.3) */
#define VMX_INVEPT_SINGLE	1
#define VMX_INVEPT_GLOBAL	2
#define VMX_INVVPID_SINGLE	1
#define VMX_INVVPID_ALL		2

static __always_inline int vmx_invept(unsigned long type, u64 eptp)
{
	struct { u64 eptp, reserved; } desc = { eptp, 0 };

	asm goto("1: invept %[desc], %[type]\n\t"
		 "jbe %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fail])
		 : : [desc] "m"(desc), [type] "r"(type) : "cc", "memory" : fail);
	return 0;
fail:
	return -EIO;
}

static __always_inline int vmx_invvpid(unsigned long type, u16 vpid)
{
	struct { u64 vpid, addr; } desc = { vpid, 0 };

	asm goto("1: invvpid %[desc], %[type]\n\t"
		 "jbe %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fail])
		 : : [desc] "m"(desc), [type] "r"(type) : "cc", "memory" : fail);
	return 0;
fail:
	return -EIO;
}

#endif /* VMXCORE_VMX_OPS_H */
