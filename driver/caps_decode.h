/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pure decoding of the VMX capability MSRs and IA32_FEATURE_CONTROL.
 *
 * Environment: any. No kernel headers: the same code is compiled into the
 * driver and into a userspace unit test (tests/driver/test_caps_decode.c),
 * which checks it against the SDM's definitions without VT-x hardware.
 */
#ifndef VMXCORE_CAPS_DECODE_H
#define VMXCORE_CAPS_DECODE_H

#define VMXC_CPUID1_ECX_VMX		(1u << 5)

#define VMXC_FEAT_CTL_LOCKED		(1ull << 0)
#define VMXC_FEAT_CTL_VMX_OUTSIDE_SMX	(1ull << 2)

#define VMXC_BASIC_TRUE_CTLS		(1ull << 55)
#define VMXC_BASIC_MEMTYPE_WB		6u

#define VMXC_PROC_SECONDARY		(1u << 31)
#define VMXC_PROC2_EPT			(1u << 1)
#define VMXC_PROC2_VPID			(1u << 5)
#define VMXC_PROC2_UNRESTRICTED		(1u << 7)
#define VMXC_PROC2_VMFUNC		(1u << 13)

/* Why VMX cannot be used, or NULL when it can. */
static inline const char *vmxc_usable_verdict(unsigned int cpuid1_ecx,
					      unsigned long long feat_ctl)
{
	if (!(cpuid1_ecx & VMXC_CPUID1_ECX_VMX))
		return "CPU does not support VMX (CPUID.1:ECX.VMX[bit 5] = 0)";
	if (!(feat_ctl & VMXC_FEAT_CTL_LOCKED))
		return "IA32_FEATURE_CONTROL is not locked; VMXON would fault (firmware did not configure VMX)";
	if (!(feat_ctl & VMXC_FEAT_CTL_VMX_OUTSIDE_SMX))
		return "VMX is disabled by firmware (IA32_FEATURE_CONTROL locked with VMX outside SMX off); enable VT-x in the firmware setup";
	return 0;
}

static inline unsigned int vmxc_basic_revision(unsigned long long basic)
{
	return (unsigned int)(basic & 0x7fffffffu);
}

static inline unsigned int vmxc_basic_vmcs_size(unsigned long long basic)
{
	return (unsigned int)((basic >> 32) & 0x1fffu);
}

static inline unsigned int vmxc_basic_memtype(unsigned long long basic)
{
	return (unsigned int)((basic >> 50) & 0xfu);
}

/* Low half: bits allowed to be 0; high half: bits allowed to be 1 (SDM A.3). */
static inline unsigned int vmxc_allowed0(unsigned long long ctl_msr)
{
	return (unsigned int)ctl_msr;
}

static inline unsigned int vmxc_allowed1(unsigned long long ctl_msr)
{
	return (unsigned int)(ctl_msr >> 32);
}

/*
 * The capability MSR to program a control against: the TRUE variant
 * (0x48d-0x490) where VMX_BASIC[55] says it exists, else the original one
 * (0x481-0x484). @index is 0 pin, 1 proc, 2 exit, 3 entry.
 */
static inline unsigned int vmxc_ctl_msr(unsigned long long basic, unsigned int index)
{
	static const unsigned int legacy[4] = { 0x481, 0x482, 0x483, 0x484 };
	static const unsigned int true_ctl[4] = { 0x48d, 0x48e, 0x48f, 0x490 };

	return (basic & VMXC_BASIC_TRUE_CTLS) ? true_ctl[index & 3] : legacy[index & 3];
}

#endif /* VMXCORE_CAPS_DECODE_H */
