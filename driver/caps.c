// SPDX-License-Identifier: GPL-2.0
/*
 * caps.c: reads the VMX capability MSRs once, at load, on the CPU running
 * module init, and decides whether VMX is usable at all.
 *
 * Environment: process context (module init). The result is read-only
 * afterwards, so readers need no lock.
 */
#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include <linux/string.h>
#include <linux/string_helpers.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/vmx.h>

#include "vmxcore.h"
#include "caps_decode.h"

static struct vmxcore_caps vmx_host_caps;

/* Off: the in-kernel APIC runs without hardware assists (tests both paths). */
static bool apic_assists = true;
module_param(apic_assists, bool, 0444);
MODULE_PARM_DESC(apic_assists, "Use the CPU's APIC virtualization (TPR shadow, and with apic_virt the rest) where it has it (default: on)");

/* Off: only the TPR shadow among the assists (the APIC-virtualization ones stay unused). */
static bool apic_virt = true;
module_param(apic_virt, bool, 0444);
MODULE_PARM_DESC(apic_virt, "With apic_assists, also use APIC-register and x2APIC virtualization where the CPU has them (default: on)");

/* Off: no virtual-interrupt delivery; interrupts go in by event injection. */
static bool apic_vid = true;
module_param(apic_vid, bool, 0444);
MODULE_PARM_DESC(apic_vid, "With apic_virt, also use virtual-interrupt delivery where the CPU has it (default: on)");

const struct vmxcore_caps *vmx_caps(void)
{
	return &vmx_host_caps;
}

bool vmx_use_tpr_shadow(void)
{
	return vmx_host_caps.flags & VMXCORE_CAP_LAPIC_TPR_SHADOW;
}

bool vmx_use_apic_reg_virt(void)
{
	return vmx_host_caps.flags & VMXCORE_CAP_LAPIC_REG_VIRT;
}

bool vmx_use_x2apic_virt(void)
{
	return vmx_host_caps.flags & VMXCORE_CAP_LAPIC_X2APIC_VIRT;
}

bool vmx_use_vintr(void)
{
	return vmx_host_caps.flags & VMXCORE_CAP_LAPIC_VINTR;
}

/*
 * The APIC-virtualization assists, on top of the TPR shadow (SDM Vol. 3C
 * chapter 29): APIC-register virtualization needs "virtualize APIC
 * accesses" with it; x2APIC virtualization needs MSR bitmaps to let the
 * TPR MSR through.
 */
static void vmx_read_apic_virt_caps(struct vmxcore_caps *c)
{
	const u32 reg_virt = SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES |
			     SECONDARY_EXEC_APIC_REGISTER_VIRT;

	if (!apic_virt || !(c->flags & VMXCORE_CAP_LAPIC_TPR_SHADOW) ||
	    !(c->flags & VMXCORE_CAP_SECONDARY_CTLS))
		return;
	if ((c->proc2.allowed1 & reg_virt) == reg_virt)
		c->flags |= VMXCORE_CAP_LAPIC_REG_VIRT;
	if ((c->proc2.allowed1 & SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE) &&
	    (c->proc.allowed1 & CPU_BASED_USE_MSR_BITMAPS))
		c->flags |= VMXCORE_CAP_LAPIC_X2APIC_VIRT;
	/* Virtual-interrupt delivery needs external-interrupt exiting (always on). */
	if (apic_vid && (c->proc2.allowed1 & SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY) &&
	    (c->flags & (VMXCORE_CAP_LAPIC_REG_VIRT | VMXCORE_CAP_LAPIC_X2APIC_VIRT)))
		c->flags |= VMXCORE_CAP_LAPIC_VINTR;
}

static void vmx_read_ctls(u64 basic, unsigned int index, struct vmxcore_ctls *ctls)
{
	u64 msr;

	rdmsrl(vmxc_ctl_msr(basic, index), msr);
	ctls->allowed0 = vmxc_allowed0(msr);
	ctls->allowed1 = vmxc_allowed1(msr);
}

static void vmx_read_optional_caps(struct vmxcore_caps *c)
{
	u64 msr;

	if (!(c->proc.allowed1 & VMXC_PROC_SECONDARY))
		return;
	c->flags |= VMXCORE_CAP_SECONDARY_CTLS;
	rdmsrl(MSR_IA32_VMX_PROCBASED_CTLS2, msr);
	c->proc2.allowed0 = vmxc_allowed0(msr);
	c->proc2.allowed1 = vmxc_allowed1(msr);

	if (c->proc2.allowed1 & (VMXC_PROC2_EPT | VMXC_PROC2_VPID))
		rdmsrl(MSR_IA32_VMX_EPT_VPID_CAP, c->ept_vpid_cap);
	if (c->proc2.allowed1 & VMXC_PROC2_EPT)
		c->flags |= VMXCORE_CAP_EPT;
	if (c->proc2.allowed1 & VMXC_PROC2_VPID)
		c->flags |= VMXCORE_CAP_VPID;
	if (c->proc2.allowed1 & VMXC_PROC2_UNRESTRICTED)
		c->flags |= VMXCORE_CAP_UNRESTRICTED_GUEST;
	if (c->proc2.allowed1 & VMXC_PROC2_VMFUNC) {
		c->flags |= VMXCORE_CAP_VMFUNC;
		rdmsrl(MSR_IA32_VMX_VMFUNC, c->vmfunc);
	}
}

/*
 * Whether this CPU can host vmxcore VMs: they rely on EPT (4-level walk,
 * write-back tables, INVEPT) and unrestricted guest, so that real-mode code
 * runs directly. Sets @why when not.
 */
bool vmx_can_run_vms(const char **why)
{
	const struct vmxcore_caps *c = &vmx_host_caps;
	u64 ept = c->ept_vpid_cap;

	if (!(c->flags & VMXCORE_CAP_EPT))
		*why = "this CPU has no EPT (secondary control bit 1); vmxcore needs it";
	else if (!(c->flags & VMXCORE_CAP_UNRESTRICTED_GUEST))
		*why = "this CPU has no unrestricted guest (secondary control bit 7); vmxcore needs it";
	else if (!(ept & (1ull << 6)) || !(ept & (1ull << 14)) || !(ept & (1ull << 20)))
		*why = "this CPU's EPT lacks 4-level walks, write-back tables or INVEPT";
	else
		return true;
	return false;
}

/*
 * Refuses to load, with the reason in the log, when VMX is missing or
 * disabled by firmware, or when its VMCS layout is one we cannot host
 * (larger than a page or not write-back cacheable).
 */
int vmx_caps_init(void)
{
	struct vmxcore_caps *c = &vmx_host_caps;
	const char *why;
	u64 feat_ctl = 0;

	rdmsrl_safe(MSR_IA32_FEAT_CTL, &feat_ctl);
	why = vmxc_usable_verdict(cpuid_ecx(1), feat_ctl);
	if (why) {
		pr_err(VMX_PR_PREFIX "not loading: %s\n", why);
		return -EOPNOTSUPP;
	}

	memset(c, 0, sizeof(*c));
	rdmsrl(MSR_IA32_VMX_BASIC, c->vmx_basic);
	c->vmcs_revision = vmxc_basic_revision(c->vmx_basic);
	c->vmcs_size = vmxc_basic_vmcs_size(c->vmx_basic);
	if (c->vmcs_size > PAGE_SIZE ||
	    vmxc_basic_memtype(c->vmx_basic) != VMXC_BASIC_MEMTYPE_WB) {
		pr_err(VMX_PR_PREFIX "not loading: unsupported VMCS layout (IA32_VMX_BASIC=%#llx: size %u, memory type %u)\n",
		       c->vmx_basic, c->vmcs_size, vmxc_basic_memtype(c->vmx_basic));
		return -EOPNOTSUPP;
	}
	if (c->vmx_basic & VMXC_BASIC_TRUE_CTLS)
		c->flags |= VMXCORE_CAP_TRUE_CTLS;

	vmx_read_ctls(c->vmx_basic, 0, &c->pin);
	vmx_read_ctls(c->vmx_basic, 1, &c->proc);
	vmx_read_ctls(c->vmx_basic, 2, &c->exit);
	vmx_read_ctls(c->vmx_basic, 3, &c->entry);
	rdmsrl(MSR_IA32_VMX_MISC, c->misc);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED0, c->cr0_fixed0);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED1, c->cr0_fixed1);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED0, c->cr4_fixed0);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED1, c->cr4_fixed1);
	rdmsrl(MSR_IA32_VMX_VMCS_ENUM, c->vmcs_enum);
	vmx_read_optional_caps(c);
	c->flags |= VMXCORE_CAP_LAPIC;
	if (apic_assists && (c->proc.allowed1 & CPU_BASED_TPR_SHADOW))
		c->flags |= VMXCORE_CAP_LAPIC_TPR_SHADOW;
	vmx_read_apic_virt_caps(c);
	c->flags |= VMXCORE_CAP_DIRTY_LOG;	/* by EPT write protection, not PML */
	c->flags |= VMXCORE_CAP_VCPU_EVENTS;
	if (c->proc.allowed1 & CPU_BASED_USE_TSC_OFFSETTING)
		c->flags |= VMXCORE_CAP_TSC;

	pr_info(VMX_PR_PREFIX "VMCS revision %#x, %u bytes, EPT %s, VPID %s, unrestricted guest %s, TPR shadow %s, APIC-register virtualization %s, x2APIC virtualization %s, virtual-interrupt delivery %s\n",
		c->vmcs_revision, c->vmcs_size,
		str_yes_no(c->flags & VMXCORE_CAP_EPT),
		str_yes_no(c->flags & VMXCORE_CAP_VPID),
		str_yes_no(c->flags & VMXCORE_CAP_UNRESTRICTED_GUEST),
		str_yes_no(c->flags & VMXCORE_CAP_LAPIC_TPR_SHADOW),
		str_yes_no(c->flags & VMXCORE_CAP_LAPIC_REG_VIRT),
		str_yes_no(c->flags & VMXCORE_CAP_LAPIC_X2APIC_VIRT),
		str_yes_no(c->flags & VMXCORE_CAP_LAPIC_VINTR));
	return 0;
}
