// SPDX-License-Identifier: GPL-2.0
/*
 * cpuid.c: what the guest learns from CPUID, and the MSRs the core keeps
 * for it (both userspace-settable: a VMM decides what its guests see).
 *
 * Environment: process context, vcpu->mutex held.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/msr.h>
#include <asm/processor.h>

#include <asm/vmx.h>

#include "vmxcore.h"
#include "vmx_ops.h"

int vcpu_set_cpuid(struct vmx_vcpu *vcpu, const struct vmxcore_cpuid __user *ucpuid)
{
	struct vmxcore_cpuid head, *table;
	size_t size;

	if (copy_from_user(&head, ucpuid, sizeof(head)))
		return -EFAULT;
	if (head.nent > VMXCORE_CPUID_MAX_ENTRIES || head.reserved)
		return -EINVAL;
	size = struct_size(table, entries, head.nent);
	table = memdup_user(ucpuid, size);
	if (IS_ERR(table))
		return PTR_ERR(table);
	table->nent = head.nent;	/* the copy may have raced a change */
	kfree(vcpu->cpuid);
	vcpu->cpuid = table;
	return 0;
}

/* The host's values, with VMX hidden and the hypervisor leaves ours. */
static void vcpu_cpuid_default(u32 leaf, u32 subleaf, u32 *r)
{
	if (leaf == 0x40000000) {
		r[0] = 0x40000000;
		memcpy(&r[1], "vmxcorevmxco", 12);
		return;
	}
	cpuid_count(leaf, subleaf, &r[0], &r[1], &r[2], &r[3]);
	if (leaf == 1) {
		r[2] &= ~(1u << 5);	/* VMX: we do not nest */
		r[2] |= 1u << 31;	/* running under a hypervisor */
	}
}

void vcpu_cpuid(struct vmx_vcpu *vcpu, u32 leaf, u32 subleaf, u32 out[4])
{
	const struct vmxcore_cpuid *t = vcpu->cpuid;
	u32 i;

	if (!t) {
		vcpu_cpuid_default(leaf, subleaf, out);
		/* With the in-kernel APIC the initial APIC ID is the vCPU id. */
		if (leaf == 1 && vcpu_has_lapic(vcpu))
			out[1] = (out[1] & 0x00ffffff) | (vcpu->id << 24);
		return;
	}
	memset(out, 0, 4 * sizeof(u32));
	for (i = 0; i < t->nent; i++) {
		const struct vmxcore_cpuid_entry *e = &t->entries[i];

		if (e->function == leaf &&
		    (!(e->flags & VMXCORE_CPUID_FLAG_INDEXED) || e->index == subleaf)) {
			out[0] = e->eax;
			out[1] = e->ebx;
			out[2] = e->ecx;
			out[3] = e->edx;
			break;
		}
	}
	/* OSXSAVE mirrors the guest's CR4, as on hardware. */
	if (leaf == 1) {
		out[2] &= ~(1u << 27);
		if (vmcs_read(GUEST_CR4) & X86_CR4_OSXSAVE)
			out[2] |= 1u << 27;
	}
}

/* The MSRs the core keeps for the guest (others: #GP in the guest). */
u64 *vcpu_msr_slot(struct vmx_vcpu *vcpu, u32 msr)
{
	switch (msr) {
	case MSR_EFER:			return &vcpu->sregs.efer;
	case MSR_KERNEL_GS_BASE:	return &vcpu->kernel_gs_base;
	case MSR_STAR:			return &vcpu->msr_star;
	case MSR_LSTAR:			return &vcpu->msr_lstar;
	case MSR_CSTAR:			return &vcpu->msr_cstar;
	case MSR_SYSCALL_MASK:		return &vcpu->msr_sfmask;
	case MSR_TSC_AUX:		return &vcpu->msr_tsc_aux;
	default:			return NULL;
	}
}

/* A guest MSR kept in a VMCS guest-state field rather than in vcpu. */
static bool vcpu_msr_vmcs_field(u32 msr, unsigned long *field)
{
	switch (msr) {
	case MSR_FS_BASE:		*field = GUEST_FS_BASE; return true;
	case MSR_GS_BASE:		*field = GUEST_GS_BASE; return true;
	case MSR_IA32_SYSENTER_CS:	*field = GUEST_SYSENTER_CS; return true;
	case MSR_IA32_SYSENTER_ESP:	*field = GUEST_SYSENTER_ESP; return true;
	case MSR_IA32_SYSENTER_EIP:	*field = GUEST_SYSENTER_EIP; return true;
	case MSR_IA32_CR_PAT:		*field = GUEST_IA32_PAT; return true;
	default:			return false;
	}
}

/* Each PAT entry a memory type that exists: 0, 1, 4, 5, 6 or 7. */
static bool vcpu_pat_ok(u64 pat)
{
	for (int i = 0; i < 8; i++) {
		u8 type = pat >> (8 * i);

		if (type > 7 || type == 2 || type == 3)
			return false;
	}
	return true;
}

/*
 * RDMSR/WRMSR of the MSRs that live in the VMCS (the current one: exit
 * handler context), and two that need no state: MISC_ENABLE reads "fast
 * strings on", microcode revision reads 0 (Linux reads both on Intel CPUs
 * without checking). Returns false for an MSR outside this set or a value
 * the processor would refuse (#GP).
 */
bool vcpu_msr_vmcs_access(struct vmx_vcpu *vcpu, u32 msr, u64 *val, bool write)
{
	unsigned long field;

	if (msr == MSR_IA32_MISC_ENABLE || msr == MSR_IA32_UCODE_REV) {
		if (!write)
			*val = msr == MSR_IA32_MISC_ENABLE ? MSR_IA32_MISC_ENABLE_FAST_STRING : 0;
		return true;	/* writes ignored, as KVM does */
	}
	if (!vcpu_msr_vmcs_field(msr, &field))
		return false;
	if (!write) {
		*val = vmcs_read(field);
		return true;
	}
	if (msr == MSR_IA32_CR_PAT ? !vcpu_pat_ok(*val) :
	    msr == MSR_IA32_SYSENTER_CS ? false : !vcpu_msr_value_ok(MSR_FS_BASE, *val))
		return false;
	vmcs_write(field, *val);
	/* The sregs copy is written back whole when SREGS is dirty. */
	if (msr == MSR_FS_BASE)
		vcpu->sregs.fs.base = *val;
	else if (msr == MSR_GS_BASE)
		vcpu->sregs.gs.base = *val;
	return true;
}

/* Addresses held by these MSRs must be canonical (48-bit): else #GP. */
bool vcpu_msr_value_ok(u32 msr, u64 val)
{
	switch (msr) {
	case MSR_KERNEL_GS_BASE:
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_FS_BASE:
		return (u64)((s64)(val << 16) >> 16) == val;
	case MSR_TSC_AUX:
		return !(val >> 32);
	default:
		return true;
	}
}

/*
 * IA32_TSC through the MSR ioctls: the guest's TSC now, or a new value it
 * counts on from (the offset is all the state there is). -EFAULT only.
 */
static int vcpu_msrs_tsc(struct vmx_vcpu *vcpu, struct vmxcore_msr_entry *e, bool set,
			 struct vmxcore_msr_entry __user *ue)
{
	if (set) {
		vcpu_set_guest_tsc(vcpu, e->data);
		return 0;
	}
	e->data = vcpu_guest_tsc(vcpu);
	return copy_to_user(ue, e, sizeof(*e)) ? -EFAULT : 0;
}

long vcpu_msrs_ioctl(struct vmx_vcpu *vcpu, void __user *uarg, bool set)
{
	struct vmxcore_msrs head;
	struct vmxcore_msr_entry e;
	struct vmxcore_msr_entry __user *ue;
	u32 i;

	if (copy_from_user(&head, uarg, sizeof(head)))
		return -EFAULT;
	if (head.nmsrs == 0 || head.nmsrs > VMXCORE_MSRS_MAX || head.reserved)
		return -EINVAL;
	ue = (struct vmxcore_msr_entry __user *)((char __user *)uarg + sizeof(head));
	for (i = 0; i < head.nmsrs; i++) {
		u64 *slot;

		if (copy_from_user(&e, &ue[i], sizeof(e)))
			return -EFAULT;
		if (e.index == MSR_IA32_TSC && !(vmx_caps()->flags & VMXCORE_CAP_TSC))
			break;	/* no TSC offsetting: the guest's TSC is the host's */
		if (e.index == MSR_IA32_TSC && vcpu_msrs_tsc(vcpu, &e, set, &ue[i]))
			return -EFAULT;
		if (e.index == MSR_IA32_TSC)
			continue;
		slot = vcpu_msr_slot(vcpu, e.index);
		if (!slot)
			break;
		if (set) {
			if (e.index == MSR_EFER) {
				if (e.data & ~(u64)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX))
					break;
				vcpu->dirty |= VCPU_DIRTY_EFER | VCPU_DIRTY_SREGS;
			} else if (!vcpu_msr_value_ok(e.index, e.data)) {
				break;
			}
			*slot = e.data;
		} else {
			e.data = *slot;
			if (copy_to_user(&ue[i], &e, sizeof(e)))
				return -EFAULT;
		}
	}
	return i;
}
