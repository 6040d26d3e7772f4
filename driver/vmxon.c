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
static DEFINE_MUTEX(vmx_users_lock);
static unsigned int vmx_users;		/* VMs alive; VMX is on while > 0 */
static struct cpumask vmx_on_mask;	/* mirrors vmx_cpu.on, for sysfs */
static enum cpuhp_state vmx_hp_state;

static bool vmx_cr_fixed_ok(unsigned long cr, u64 fixed0, u64 fixed1)
{
	return (cr & fixed0) == fixed0 && (cr & ~fixed1) == 0;
}

/* Enters VMX operation on this CPU. Runs with interrupts disabled. */
static int vmx_cpu_enable(void)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	const struct vmxcore_caps *caps = vmx_caps();
	int cpu = smp_processor_id();
	u64 feat_ctl = 0;
	int ret;

	if (vc->on)
		return 0;
	if (cr4_read_shadow() & X86_CR4_VMXE) {
		pr_err(VMX_PR_PREFIX "CPU %d: VMX is in use by another hypervisor (CR4.VMXE already set; kvm_intel has VMs?)\n",
		       cpu);
		return -EBUSY;
	}
	rdmsrl_safe(MSR_IA32_FEAT_CTL, &feat_ctl);
	if (vmxc_usable_verdict(cpuid_ecx(1), feat_ctl)) {
		pr_err(VMX_PR_PREFIX "CPU %d: %s\n", cpu,
		       vmxc_usable_verdict(cpuid_ecx(1), feat_ctl));
		return -EOPNOTSUPP;
	}
	if (!vmx_cr_fixed_ok(read_cr0(), caps->cr0_fixed0, caps->cr0_fixed1)) {
		pr_err(VMX_PR_PREFIX "CPU %d: CR0 %#lx violates VMX fixed bits\n",
		       cpu, read_cr0());
		return -EIO;
	}
	cr4_set_bits_irqsoff(X86_CR4_VMXE);
	if (!vmx_cr_fixed_ok(__read_cr4(), caps->cr4_fixed0, caps->cr4_fixed1)) {
		pr_err(VMX_PR_PREFIX "CPU %d: CR4 %#lx violates VMX fixed bits\n",
		       cpu, __read_cr4());
		ret = -EIO;
		goto clear_vmxe;
	}
	ret = vmx_vmxon(page_to_phys(vc->vmxon_region));
	if (ret) {
		pr_err(VMX_PR_PREFIX "CPU %d: VMXON failed\n", cpu);
		goto clear_vmxe;
	}
	vc->on = true;
	cpumask_set_cpu(cpu, &vmx_on_mask);
	return 0;

clear_vmxe:
	cr4_clear_bits_irqsoff(X86_CR4_VMXE);
	return ret;
}

/* Leaves VMX operation on this CPU. Runs with interrupts disabled. */
static void vmx_cpu_disable(void)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);

	if (!vc->on)
		return;
	if (vmx_vmxoff())
		pr_err(VMX_PR_PREFIX "CPU %d: VMXOFF failed\n", smp_processor_id());
	cr4_clear_bits_irqsoff(X86_CR4_VMXE);
	vc->on = false;
	cpumask_clear_cpu(smp_processor_id(), &vmx_on_mask);
}

static void vmx_cpu_enable_ipi(void *failed)
{
	int ret = vmx_cpu_enable();

	if (ret)
		atomic_cmpxchg(failed, 0, ret);
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
	atomic_t failed = ATOMIC_INIT(0);
	int ret = 0;

	cpus_read_lock();
	mutex_lock(&vmx_users_lock);
	if (vmx_users == 0) {
		on_each_cpu(vmx_cpu_enable_ipi, &failed, 1);
		ret = atomic_read(&failed);
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
	int ret = 0;

	mutex_lock(&vmx_users_lock);
	if (vmx_users) {
		local_irq_disable();
		ret = vmx_cpu_enable();
		local_irq_enable();
	}
	mutex_unlock(&vmx_users_lock);
	return ret;
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
