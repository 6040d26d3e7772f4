// SPDX-License-Identifier: GPL-2.0
/*
 * vmxon.c: VMX operation on each CPU.
 *
 * Policy (coexistence with kvm_intel and other hypervisors): a CPU is in VMX
 * operation only while at least one vmxcore VM exists, as KVM does since
 * Linux 6.x. Loading the module turns nothing on, so kvm_intel and vmxcore
 * can both be loaded; whichever creates a VM first owns VMX until its last VM
 * is gone, and the other's VM creation fails with -EBUSY. Ownership is seen
 * through CR4.VMXE, which every Linux hypervisor sets before VMXON and checks
 * before taking VMX over.
 *
 * VMXON regions are allocated for every possible CPU at load, so CPU hotplug
 * never allocates. A CPU coming online while VMs exist enters VMX operation
 * before it runs anything else; if it cannot, it does not come online (as
 * with KVM). A CPU going offline leaves VMX operation first.
 *
 * Locking: cpus_read_lock() (or the hotplug writer) before vmx_users_lock.
 * Linux itself turns VMX off on every CPU on an emergency reboot or crash
 * (cpu_emergency_disable_virtualization checks CR4.VMXE).
 */
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>

#include "vmxcore.h"
#include "vmx_ops.h"
#include "caps_decode.h"

struct vmx_cpu {
	struct page *vmxon_region;	/* 4 KiB, revision id in its first dword */
	bool on;			/* VMXON succeeded and VMXOFF not yet run */
};

static DEFINE_PER_CPU(struct vmx_cpu, vmx_cpu);
/* vCPUs whose VMCS is active on this CPU; touched only on it, IRQs off. */
static DEFINE_PER_CPU(struct list_head, vmx_loaded_vcpus);
/* The VMCS now current on this CPU (VMPTRLD), to skip redundant loads. */
static DEFINE_PER_CPU(struct vmx_vcpu *, vmx_current_vcpu);
static DEFINE_MUTEX(vmx_users_lock);
static unsigned int vmx_users;		/* VMs alive; VMX is on while > 0 */
static struct cpumask vmx_on_mask;	/* mirrors vmx_cpu.on, for sysfs */
static enum cpuhp_state vmx_hp_state;

static bool vmx_cr_fixed_ok(unsigned long cr, u64 fixed0, u64 fixed1)
{
	return (cr & fixed0) == fixed0 && (cr & ~fixed1) == 0;
}

/* Why a CPU could not enter VMX operation; printed later, in process context. */
enum vmx_enable_err {
	VMX_ENABLE_OK,
	VMX_ENABLE_BUSY,	/* CR4.VMXE already set: another hypervisor */
	VMX_ENABLE_FEATURE,	/* VMX missing or disabled by firmware */
	VMX_ENABLE_CR0,		/* CR0 violates the VMX fixed bits */
	VMX_ENABLE_CR4,		/* CR4 violates the VMX fixed bits */
	VMX_ENABLE_VMXON,	/* VMXON itself failed */
};

static const char *const vmx_enable_reason[] = {
	[VMX_ENABLE_OK]		= "ok",
	[VMX_ENABLE_BUSY]	= "VMX is in use by another hypervisor (CR4.VMXE already set; kvm_intel has VMs?)",
	[VMX_ENABLE_FEATURE]	= "VMX missing or disabled by firmware on this CPU",
	[VMX_ENABLE_CR0]	= "CR0 violates the VMX fixed bits",
	[VMX_ENABLE_CR4]	= "CR4 violates the VMX fixed bits",
	[VMX_ENABLE_VMXON]	= "VMXON failed",
};

static DEFINE_PER_CPU(enum vmx_enable_err, vmx_enable_result);

/*
 * Enters VMX operation on this CPU. Runs with interrupts disabled, often in
 * IPI context, so it only records why it failed: no printk here.
 */
static enum vmx_enable_err vmx_cpu_enable(void)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	const struct vmxcore_caps *caps = vmx_caps();
	u64 feat_ctl = 0;

	if (vc->on)
		return VMX_ENABLE_OK;
	if (cr4_read_shadow() & X86_CR4_VMXE)
		return VMX_ENABLE_BUSY;
	rdmsrl_safe(MSR_IA32_FEAT_CTL, &feat_ctl);
	if (vmxc_usable_verdict(cpuid_ecx(1), feat_ctl))
		return VMX_ENABLE_FEATURE;
	if (!vmx_cr_fixed_ok(read_cr0(), caps->cr0_fixed0, caps->cr0_fixed1))
		return VMX_ENABLE_CR0;
	cr4_set_bits_irqsoff(X86_CR4_VMXE);
	if (!vmx_cr_fixed_ok(__read_cr4(), caps->cr4_fixed0, caps->cr4_fixed1)) {
		cr4_clear_bits_irqsoff(X86_CR4_VMXE);
		return VMX_ENABLE_CR4;
	}
	if (vmx_vmxon(page_to_phys(vc->vmxon_region))) {
		cr4_clear_bits_irqsoff(X86_CR4_VMXE);
		return VMX_ENABLE_VMXON;
	}
	vc->on = true;
	cpumask_set_cpu(smp_processor_id(), &vmx_on_mask);
	/* Forget EPT translations a previous VMX user may have left cached. */
	vmx_invept(VMX_INVEPT_GLOBAL, 0);
	return VMX_ENABLE_OK;
}

static int vmx_enable_errno(enum vmx_enable_err err)
{
	switch (err) {
	case VMX_ENABLE_OK:
		return 0;
	case VMX_ENABLE_BUSY:
		return -EBUSY;
	case VMX_ENABLE_FEATURE:
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}

/* VMCLEAR: flushes the VMCS to memory so another CPU may load it. IRQs off. */
static void vmx_vcpu_clear_here(struct vmx_vcpu *vcpu)
{
	vmx_vmclear(page_to_phys(vcpu->vmcs));
	if (this_cpu_read(vmx_current_vcpu) == vcpu)
		this_cpu_write(vmx_current_vcpu, NULL);
	list_del(&vcpu->loaded_link);
	/* The list removal must be visible before cpu = -1 releases the VMCS. */
	smp_wmb();
	WRITE_ONCE(vcpu->cpu, -1);
	vcpu->launched = false;
}

static void vmx_vcpu_clear_ipi(void *vcpu)
{
	struct vmx_vcpu *v = vcpu;

	if (READ_ONCE(v->cpu) == smp_processor_id())
		vmx_vcpu_clear_here(v);
}

/* Makes sure @vcpu's VMCS is active on no CPU. Process context. */
void vmx_vcpu_clear(struct vmx_vcpu *vcpu)
{
	int cpu = READ_ONCE(vcpu->cpu);

	if (cpu >= 0)
		smp_call_function_single(cpu, vmx_vcpu_clear_ipi, vcpu, 1);
}

/*
 * Makes @vcpu's VMCS current on this CPU. Preemption disabled. A VMCS may
 * be active on one CPU only, so one active elsewhere is VMCLEARed there
 * first; the host fields that differ per CPU are then rewritten.
 */
void vmx_vcpu_load(struct vmx_vcpu *vcpu)
{
	int cpu = smp_processor_id();
	unsigned long flags;

	if (vcpu->cpu != cpu) {
		vmx_vcpu_clear(vcpu);
		local_irq_save(flags);
		list_add(&vcpu->loaded_link, this_cpu_ptr(&vmx_loaded_vcpus));
		vcpu->cpu = cpu;
		local_irq_restore(flags);
	}
	if (this_cpu_read(vmx_current_vcpu) != vcpu) {
		vmx_vmptrld(page_to_phys(vcpu->vmcs));
		this_cpu_write(vmx_current_vcpu, vcpu);
		vmcs_write_host_percpu();
	}
}

/* Leaves VMX operation on this CPU. Runs with interrupts disabled. */
static void vmx_cpu_disable(void)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	struct vmx_vcpu *vcpu, *tmp;

	if (!vc->on)
		return;
	/* VMXOFF with an active VMCS could lose its state: clear them all. */
	list_for_each_entry_safe(vcpu, tmp, this_cpu_ptr(&vmx_loaded_vcpus), loaded_link)
		vmx_vcpu_clear_here(vcpu);
	/* VMXOFF fails only if we are not in VMX operation: nothing to undo. */
	vmx_vmxoff();
	cr4_clear_bits_irqsoff(X86_CR4_VMXE);
	vc->on = false;
	cpumask_clear_cpu(smp_processor_id(), &vmx_on_mask);
}

static void vmx_cpu_enable_ipi(void *unused)
{
	this_cpu_write(vmx_enable_result, vmx_cpu_enable());
}

/* After an enable round: logs each CPU that refused, returns the first error. */
static int vmx_collect_enable_results(void)
{
	int cpu, ret = 0;

	for_each_online_cpu(cpu) {
		enum vmx_enable_err err = per_cpu(vmx_enable_result, cpu);

		if (err == VMX_ENABLE_OK)
			continue;
		pr_err(VMX_PR_PREFIX "CPU %d: %s\n", cpu, vmx_enable_reason[err]);
		if (!ret)
			ret = vmx_enable_errno(err);
	}
	return ret;
}

static void vmx_cpu_disable_ipi(void *unused)
{
	vmx_cpu_disable();
}

/*
 * Takes a reference on VMX operation: the first one turns VMX on, on every
 * online CPU, all or none. Returns 0, -EBUSY when another hypervisor owns
 * VMX, or -EIO/-EOPNOTSUPP when a CPU refuses.
 */
int vmx_get(void)
{
	int ret = 0;

	cpus_read_lock();
	mutex_lock(&vmx_users_lock);
	if (vmx_users == 0) {
		on_each_cpu(vmx_cpu_enable_ipi, NULL, 1);
		ret = vmx_collect_enable_results();
		if (ret)
			on_each_cpu(vmx_cpu_disable_ipi, NULL, 1);
	}
	if (!ret)
		vmx_users++;
	mutex_unlock(&vmx_users_lock);
	cpus_read_unlock();
	return ret;
}

/* Drops a reference; the last one turns VMX off everywhere. */
void vmx_put(void)
{
	cpus_read_lock();
	mutex_lock(&vmx_users_lock);
	if (!WARN_ON(vmx_users == 0) && --vmx_users == 0)
		on_each_cpu(vmx_cpu_disable_ipi, NULL, 1);
	mutex_unlock(&vmx_users_lock);
	cpus_read_unlock();
}

void vmx_on_cpus(struct cpumask *mask)
{
	cpumask_copy(mask, &vmx_on_mask);
}

/* Hotplug callbacks run on the CPU concerned, in its hotplug thread. */
static int vmx_cpu_online(unsigned int cpu)
{
	enum vmx_enable_err err = VMX_ENABLE_OK;

	mutex_lock(&vmx_users_lock);
	if (vmx_users) {
		local_irq_disable();
		err = vmx_cpu_enable();
		local_irq_enable();
	}
	mutex_unlock(&vmx_users_lock);
	if (err != VMX_ENABLE_OK)
		pr_err(VMX_PR_PREFIX "CPU %u stays offline: %s\n", cpu, vmx_enable_reason[err]);
	return vmx_enable_errno(err);
}

static int vmx_cpu_offline(unsigned int cpu)
{
	mutex_lock(&vmx_users_lock);
	local_irq_disable();
	vmx_cpu_disable();
	local_irq_enable();
	mutex_unlock(&vmx_users_lock);
	return 0;
}

static void vmx_free_regions(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct vmx_cpu *vc = per_cpu_ptr(&vmx_cpu, cpu);

		if (vc->vmxon_region)
			__free_page(vc->vmxon_region);
		vc->vmxon_region = NULL;
	}
}

int vmx_percpu_init(void)
{
	u32 revision = vmx_caps()->vmcs_revision;
	int cpu, ret;

	for_each_possible_cpu(cpu) {
		struct vmx_cpu *vc = per_cpu_ptr(&vmx_cpu, cpu);

		INIT_LIST_HEAD(per_cpu_ptr(&vmx_loaded_vcpus, cpu));
		vc->vmxon_region = alloc_pages_node(cpu_to_node(cpu),
						    GFP_KERNEL | __GFP_ZERO, 0);
		if (!vc->vmxon_region) {
			vmx_free_regions();
			return -ENOMEM;
		}
		*(u32 *)page_address(vc->vmxon_region) = revision;
	}

	ret = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "vmxcore:online",
					vmx_cpu_online, vmx_cpu_offline);
	if (ret < 0) {
		vmx_free_regions();
		return ret;
	}
	vmx_hp_state = ret;
	return 0;
}

/* Called only when no VM exists (each VM fd holds a module reference). */
void vmx_percpu_exit(void)
{
	cpuhp_remove_state_nocalls(vmx_hp_state);
	WARN_ON(vmx_users != 0 || !cpumask_empty(&vmx_on_mask));
	vmx_free_regions();
}
