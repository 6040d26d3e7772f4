// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's SYSCALL MSRs (STAR, LSTAR, CSTAR, SFMASK) switched by the
 * processor itself: the VM-entry MSR-load list puts the guest's values in
 * place and the VM-exit MSR-load list puts the host's back (SDM Vol. 3C
 * 24.7.2, 24.8.2, 26.4, 27.6). The host never runs a single instruction
 * with a guest's LSTAR, not even an NMI handler between exit and restore,
 * which a wrmsr-based switch could not promise.
 *
 * The host's values are the same on every CPU for the kernel's life
 * (syscall_init writes constants), so they are read once per vCPU. The
 * guest's values live in vcpu->msr_* (what RDMSR/WRMSR exits and the MSR
 * ioctls use) and are copied into the entry list before every entry: four
 * stores, cheaper than tracking writes.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/vmx.h>

#include "vmxcore.h"
#include "vmx_ops.h"

/* struct vmx_msr_entry (asm/vmx.h): one 16-byte entry of a VMX MSR list. */

static const u32 switched_msrs[VCPU_SWITCHED_MSRS] = {
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
};

/* Page layout: the guest (entry) list, then the host (exit) list. */
static struct vmx_msr_entry *msr_list(struct vmx_vcpu *vcpu, bool host)
{
	struct vmx_msr_entry *e = page_address(vcpu->msr_page);

	return host ? e + VCPU_SWITCHED_MSRS : e;
}

int vcpu_msr_switch_alloc(struct vmx_vcpu *vcpu)
{
	struct vmx_msr_entry *guest, *host;
	int i;

	vcpu->msr_page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!vcpu->msr_page)
		return -ENOMEM;
	guest = msr_list(vcpu, false);
	host = msr_list(vcpu, true);
	for (i = 0; i < VCPU_SWITCHED_MSRS; i++) {
		guest[i].index = switched_msrs[i];
		host[i].index = switched_msrs[i];
		rdmsrl(switched_msrs[i], host[i].value);
	}
	return 0;
}

void vcpu_msr_switch_free(struct vmx_vcpu *vcpu)
{
	if (vcpu->msr_page)
		__free_page(vcpu->msr_page);
	vcpu->msr_page = NULL;
}

/* Points the current VMCS at both lists. */
void vmcs_write_msr_switch(struct vmx_vcpu *vcpu)
{
	vmcs_write(VM_ENTRY_MSR_LOAD_ADDR, page_to_phys(vcpu->msr_page));
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, VCPU_SWITCHED_MSRS);
	vmcs_write(VM_EXIT_MSR_LOAD_ADDR,
		   page_to_phys(vcpu->msr_page) +
		   VCPU_SWITCHED_MSRS * sizeof(struct vmx_msr_entry));
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, VCPU_SWITCHED_MSRS);
}

/* Copies the guest's current values into the entry list. */
void vcpu_msr_switch_sync(struct vmx_vcpu *vcpu)
{
	struct vmx_msr_entry *guest = msr_list(vcpu, false);

	guest[0].value = vcpu->msr_star;
	guest[1].value = vcpu->msr_lstar;
	guest[2].value = vcpu->msr_cstar;
	guest[3].value = vcpu->msr_sfmask;
}
