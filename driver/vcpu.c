// SPDX-License-Identifier: GPL-2.0
/*
 * vcpu.c: vCPU file descriptors: the shared run page, register ioctls and
 * the run loop that enters the guest.
 *
 * Environment: process context; one ioctl at a time per vCPU (vcpu->mutex).
 * The loop enters the guest with preemption and interrupts disabled and
 * handles each exit with both enabled, so handlers may sleep.
 */
#include <linux/anon_inodes.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/desc.h>
#include <asm/fpu/api.h>
#include <asm/io.h>
#include <asm/trapnr.h>
#include <asm/msr.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>
#include <asm/vmx.h>
#include <asm/fpu/xcr.h>

#include "vmxcore.h"
#include "vmx_ops.h"

static DEFINE_IDA(vmx_vpids);

void vmx_vmwrite_error(unsigned long field, unsigned long value)
{
	pr_err_ratelimited(VMX_PR_PREFIX "VMWRITE %#lx = %#lx failed, VM-instruction error %lu\n",
			   field, value, vmcs_read(VM_INSTRUCTION_ERROR));
}

void vmx_vmread_error(unsigned long field)
{
	pr_err_ratelimited(VMX_PR_PREFIX "VMREAD %#lx failed\n", field);
}

/*
 * The emulated instruction is done: RIP moves past it, and an STI or MOV SS
 * shadow it sat in ends with it (the shadow covers one instruction; left
 * in the VMCS it would cover the next one too).
 */
void vcpu_advance_rip(struct vmx_vcpu *vcpu, unsigned int len)
{
	vcpu->rip += len;
	vcpu->dirty |= VCPU_DIRTY_RIP;
	if (vcpu->exit.interruptibility & 3u) {
		vcpu->exit.interruptibility &= ~3u;	/* STI, MOV SS blocking */
		vcpu->dirty |= VCPU_DIRTY_INTR_STATE;
	}
}

void vcpu_skip_instruction(struct vmx_vcpu *vcpu)
{
	vcpu_advance_rip(vcpu, vcpu->exit.instr_len);
}

/* The guest's TSC now: RDTSC in the guest adds the same offset (vmcs.c). */
u64 vcpu_guest_tsc(const struct vmx_vcpu *vcpu)
{
	return rdtsc() + vcpu->tsc_offset;
}

/* Makes the guest's TSC read @tsc now and count on from there. */
void vcpu_set_guest_tsc(struct vmx_vcpu *vcpu, u64 tsc)
{
	vcpu->tsc_offset = tsc - rdtsc();
	vcpu->dirty |= VCPU_DIRTY_TSC_OFFSET;
}

static void vcpu_queue_exception(struct vmx_vcpu *vcpu, int vector, u32 error_code)
{
	vcpu->pending_exception = vector;
	vcpu->pending_error_code = error_code;
}

void vcpu_inject_gp(struct vmx_vcpu *vcpu)
{
	vcpu_queue_exception(vcpu, X86_TRAP_GP, 0);
}

void vcpu_inject_ud(struct vmx_vcpu *vcpu)
{
	vcpu_queue_exception(vcpu, X86_TRAP_UD, 0);
}

/*
 * A page fault the core found while emulating an access at @gla: CR2 takes
 * the address now (vcpu->sregs.cr2 is the guest's CR2, loaded into the real
 * register around each entry), the vector goes in at the next entry.
 */
void vcpu_inject_pf(struct vmx_vcpu *vcpu, u64 gla, u32 error_code)
{
	vcpu->sregs.cr2 = gla;
	vcpu_queue_exception(vcpu, X86_TRAP_PF, error_code);
}

/* Stores the data userspace gave for an INS exit where the guest wanted it. */
static void vcpu_complete_ins(struct vmx_vcpu *vcpu)
{
	struct vmx_pending_ins *p = &vcpu->pending_ins;
	unsigned int i;

	for (i = 0; p->reverse && i < p->count / 2; i++)
		vmx_swap_io_elements(vcpu->run->io_data, i, p->count - 1 - i, p->size);
	/* The page was RAM at the exit; if userspace removed it since, drop. */
	if (gmem_write(vcpu->vm, p->gpa, vcpu->run->io_data, p->count * p->size))
		pr_info_ratelimited(VMX_PR_PREFIX "INS data for a vanished page dropped\n");
}

/* Answers of userspace to the last exit, due before the guest goes on. */
static void vcpu_complete_pending(struct vmx_vcpu *vcpu)
{
	struct vmxcore_run *run = vcpu->run;
	unsigned long *rax = &vcpu->gprs.r[GPR_RAX];

	switch (vcpu->pending) {
	case VCPU_PENDING_IO_IN:
		switch (run->io.size) {
		case 1:
			*rax = (*rax & ~0xfful) | run->io_data[0];
			break;
		case 2:
			*rax = (*rax & ~0xfffful) | *(u16 *)run->io_data;
			break;
		default:
			*rax = *(u32 *)run->io_data;	/* 32-bit writes zero-extend */
			break;
		}
		break;
	case VCPU_PENDING_HYPERCALL:
		*rax = run->hypercall.ret;
		break;
	case VCPU_PENDING_INS:
		vcpu_complete_ins(vcpu);
		break;
	case VCPU_PENDING_MMIO_LOAD:
		vcpu_complete_mmio_load(vcpu);
		break;
	case VCPU_PENDING_NONE:
		break;
	}
	vcpu->pending = VCPU_PENDING_NONE;
}

/* Host state no VMCS field switches for us, saved around one entry. */
struct vcpu_host_save {
	u64 kernel_gs_base;
	u64 xcr0;
	u16 ds, es, fs, gs;
	unsigned long fs_base;
};

static void vcpu_switch_to_guest(struct vmx_vcpu *vcpu, struct vcpu_host_save *h)
{
	savesegment(ds, h->ds);
	savesegment(es, h->es);
	savesegment(fs, h->fs);
	savesegment(gs, h->gs);
	rdmsrl(MSR_FS_BASE, h->fs_base);
	vmcs_write(HOST_FS_BASE, h->fs_base);
	vmcs_write(HOST_CR3, __read_cr3());
	vmcs_write(HOST_CR4, cr4_read_shadow());
	/* KERNEL_GS_BASE holds the host task's user GS base; SWAPGS in the guest
	 * would read and write the real register. */
	rdmsrl(MSR_KERNEL_GS_BASE, h->kernel_gs_base);
	wrmsrl(MSR_KERNEL_GS_BASE, vcpu->kernel_gs_base);
	h->xcr0 = vcpu->xcr0;
	if (boot_cpu_has(X86_FEATURE_XSAVE)) {
		h->xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
		if (vcpu->xcr0 != h->xcr0)
			xsetbv(XCR_XFEATURE_ENABLED_MASK, vcpu->xcr0);
	}
}

static void vcpu_switch_to_host(struct vmx_vcpu *vcpu, struct vcpu_host_save *h)
{
	if (vcpu->xcr0 != h->xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, h->xcr0);
	rdmsrl(MSR_KERNEL_GS_BASE, vcpu->kernel_gs_base);
	wrmsrl(MSR_KERNEL_GS_BASE, h->kernel_gs_base);
	/* VM exit loaded null DS/ES/FS/GS and limits GDT to 0xffff, TR to 0x67. */
	if (unlikely(h->ds))
		loadsegment(ds, h->ds);
	if (unlikely(h->es))
		loadsegment(es, h->es);
	if (unlikely(h->fs)) {
		loadsegment(fs, h->fs);
		wrmsrl(MSR_FS_BASE, h->fs_base);
	}
	if (unlikely(h->gs)) {
		load_gs_index(h->gs);
		wrmsrl(MSR_KERNEL_GS_BASE, h->kernel_gs_base);
	}
	load_fixmap_gdt(smp_processor_id());
	invalidate_tss_limit();
}

/*
 * One entry and exit. Returns 0 after a VM exit (vcpu->exit filled),
 * -EAGAIN when a kick came before the entry (in-kernel APIC: enter again,
 * an event already written to the VMCS stays there), or -EIO when the entry
 * instruction failed (VMfail; run->internal filled).
 */
static int vcpu_enter_once(struct vmx_vcpu *vcpu)
{
	struct vcpu_host_save host;
	int failed;

	bool lapic = vcpu_has_lapic(vcpu);

	vmx_vcpu_load(vcpu);
	vmcs_write_dirty(vcpu);
	if (lapic) {
		/* Kicks from here on make us give the entry up (apic.c). */
		atomic_set(&vcpu->apic.kicked, 0);
		smp_mb__after_atomic();
	}
	vcpu_inject_events(vcpu);
	vcpu_apic_tpr_to_guest(vcpu);
	vcpu_msr_switch_sync(vcpu);
	if (vcpu->preemption_timer)
		vmcs_write(VMX_PREEMPTION_TIMER_VALUE, vmcs_preemption_timer_units());

	local_irq_disable();
	/*
	 * The guest's FPU registers were loaded by fpu_swap_kvm_fpstate() at
	 * RUN. A preemption since then (cond_resched() in the run loop) or a
	 * kernel_fpu_begin() left them saved in memory and the CPU holding
	 * another task's: put them back before the guest runs, as a return to
	 * user mode would. With interrupts off nothing takes them again.
	 */
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();
	if (lapic) {
		WRITE_ONCE(vcpu->apic.guest_cpu, smp_processor_id());
		smp_mb();
		if (atomic_read(&vcpu->apic.kicked)) {
			WRITE_ONCE(vcpu->apic.guest_cpu, -1);
			local_irq_enable();
			return -EAGAIN;
		}
	}
	vcpu_switch_to_guest(vcpu, &host);
	/*
	 * CR2 is no VMCS field: the guest's goes into the real register and
	 * comes back out after the exit, with interrupts off so no host page
	 * fault can come between (an NMI handler restores what it changes).
	 * The host keeps no CR2 value worth restoring (KVM does the same).
	 */
	if (native_read_cr2() != vcpu->sregs.cr2)
		native_write_cr2(vcpu->sregs.cr2);
	failed = vmx_vcpu_enter(&vcpu->gprs, vcpu->launched);
	vcpu->sregs.cr2 = native_read_cr2();
	vcpu_switch_to_host(vcpu, &host);
	if (lapic)
		WRITE_ONCE(vcpu->apic.guest_cpu, -1);
	if (failed) {
		local_irq_enable();
		vcpu->run->exit_reason = VMXCORE_EXIT_INTERNAL_ERROR;
		vcpu->run->internal.suberror = VMXCORE_INTERNAL_VMX_FAIL;
		vcpu->run->internal.ndata = 1;
		vcpu->run->internal.data[0] = vmcs_read(VM_INSTRUCTION_ERROR);
		pr_err_ratelimited(VMX_PR_PREFIX "VM entry failed, VM-instruction error %llu\n",
				   vcpu->run->internal.data[0]);
		return -EIO;
	}
	vmcs_read_exit(vcpu);
	vcpu_apic_tpr_from_guest(vcpu);
	/* A refused entry (exit reason bit 31) leaves the launch state as it was. */
	if (!(vcpu->exit.reason & (1u << 31)))
		vcpu->launched = true;
	/* An NMI that hit the guest is the host's: hand it to the host now. */
	if ((vcpu->exit.reason & 0xffff) == EXIT_REASON_EXCEPTION_NMI &&
	    (vcpu->exit.intr_info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR)
		asm volatile("int $2");
	/* A host interrupt that caused the exit is still pending: take it now. */
	local_irq_enable();
	return 0;
}

static void vcpu_fill_exit_common(struct vmx_vcpu *vcpu)
{
	struct vmxcore_run *run = vcpu->run;

	run->hw_exit_reason = vcpu->exit.reason;
	run->exit_qualification = vcpu->exit.qualification;
	run->rip = vcpu->rip;
	run->if_flag = !!(vcpu->rflags & X86_EFLAGS_IF);
	run->ready_for_interrupt = vcpu_interruptible(vcpu) && vcpu->queued_irq < 0 &&
				   (!vcpu_has_lapic(vcpu) || vcpu_apic_accepts_pic(vcpu));
}

/* VMXCORE_RUN: enters the guest until an exit needs userspace. */
static int vcpu_run(struct vmx_vcpu *vcpu)
{
	int ret = 0;

	if (vcpu->vm->mm != current->mm)
		return -EIO;
	vcpu_complete_pending(vcpu);
	fpu_swap_kvm_fpstate(&vcpu->guest_fpu, true);
	for (;;) {
		/* immediate_exit closes the race of a kick sent just before RUN. */
		if (signal_pending(current) || READ_ONCE(vcpu->run->immediate_exit)) {
			vcpu->run->exit_reason = VMXCORE_EXIT_INTR;
			ret = -EINTR;
			break;
		}
		/* In-kernel APIC: INIT/SIPI/NMI, and the sleep of HLT / wait-for-SIPI. */
		if (vcpu_has_lapic(vcpu)) {
			ret = vcpu_apic_prepare(vcpu);
			if (ret)
				break;
		}
		cond_resched();
		preempt_disable();
		ret = vcpu_enter_once(vcpu);
		preempt_enable();
		if (ret == -EAGAIN)
			continue;
		if (ret)
			break;
		ret = vmx_handle_exit(vcpu);
		if (ret <= 0)
			break;
	}
	fpu_swap_kvm_fpstate(&vcpu->guest_fpu, false);
	/* Leave the registers readable: userspace may GET_SREGS next. */
	preempt_disable();
	vmx_vcpu_load(vcpu);
	vmcs_write_dirty(vcpu);
	vmcs_read_sregs(vcpu);
	preempt_enable();
	vcpu_fill_exit_common(vcpu);
	return ret < 0 ? ret : 0;
}

static void vcpu_get_regs(struct vmx_vcpu *vcpu, struct vmxcore_regs *r)
{
	const unsigned long *g = vcpu->gprs.r;

	*r = (struct vmxcore_regs){
		.rax = g[GPR_RAX], .rbx = g[GPR_RBX], .rcx = g[GPR_RCX], .rdx = g[GPR_RDX],
		.rsi = g[GPR_RSI], .rdi = g[GPR_RDI], .rsp = vcpu->rsp, .rbp = g[GPR_RBP],
		.r8 = g[GPR_R8], .r9 = g[GPR_R9], .r10 = g[GPR_R10], .r11 = g[GPR_R11],
		.r12 = g[GPR_R12], .r13 = g[GPR_R13], .r14 = g[GPR_R14], .r15 = g[GPR_R15],
		.rip = vcpu->rip, .rflags = vcpu->rflags,
	};
}

static int vcpu_set_regs(struct vmx_vcpu *vcpu, const struct vmxcore_regs *r)
{
	unsigned long *g = vcpu->gprs.r;

	/* RFLAGS bit 1 is always 1; reserved bits 3, 5, 15, 22-63 are 0. */
	if (!(r->rflags & X86_EFLAGS_FIXED) || (r->rflags & 0xffffffffffc08028ull))
		return -EINVAL;
	g[GPR_RAX] = r->rax; g[GPR_RBX] = r->rbx; g[GPR_RCX] = r->rcx; g[GPR_RDX] = r->rdx;
	g[GPR_RSI] = r->rsi; g[GPR_RDI] = r->rdi; g[GPR_RBP] = r->rbp;
	g[GPR_R8] = r->r8; g[GPR_R9] = r->r9; g[GPR_R10] = r->r10; g[GPR_R11] = r->r11;
	g[GPR_R12] = r->r12; g[GPR_R13] = r->r13; g[GPR_R14] = r->r14; g[GPR_R15] = r->r15;
	vcpu->rsp = r->rsp;
	vcpu->rip = r->rip;
	vcpu->rflags = r->rflags;
	vcpu->dirty |= VCPU_DIRTY_RIP | VCPU_DIRTY_RSP | VCPU_DIRTY_RFLAGS;
	vcpu->pending = VCPU_PENDING_NONE;
	return 0;
}

/*
 * Rejects values no CPU state can hold. Combinations the hardware refuses
 * (say, long mode without paging) are left to VM entry, which reports them
 * as VMXCORE_EXIT_FAIL_ENTRY with the hardware's reason.
 */
static int vcpu_set_sregs(struct vmx_vcpu *vcpu, const struct vmxcore_sregs *s)
{
	const u64 efer_ok = EFER_SCE | EFER_LME | EFER_LMA | EFER_NX;

	if (s->efer & ~efer_ok)
		return -EINVAL;
	if ((s->cr0 >> 32) || (s->cr4 >> 32) || (s->cr3 >> 52))
		return -EINVAL;
	if (memchr_inv(s->reserved, 0, sizeof(s->reserved)))
		return -EINVAL;
	vcpu->sregs = *s;
	vcpu->dirty |= VCPU_DIRTY_SREGS;
	return 0;
}

/*
 * The guest's FPU state, through the kernel's own conversion between its
 * buffer and the user ABI's XSAVE layout (what KVM_GET/SET_XSAVE use).
 */
static long vcpu_xsave_ioctl(struct vmx_vcpu *vcpu, void __user *uarg, bool set)
{
	struct vmxcore_xsave *buf = kzalloc(sizeof(*buf), GFP_KERNEL_ACCOUNT);
	u32 pkru = 0;
	long ret = 0;

	if (!buf)
		return -ENOMEM;
	if (set) {
		if (copy_from_user(buf, uarg, sizeof(*buf)))
			ret = -EFAULT;
		else
			ret = fpu_copy_uabi_to_guest_fpstate(&vcpu->guest_fpu, buf, vcpu->xcr0, &pkru);
	} else {
		fpu_copy_guest_fpstate_to_uabi(&vcpu->guest_fpu, buf, sizeof(*buf),
					       vcpu->guest_fpu.perm, pkru);
		if (copy_to_user(uarg, buf, sizeof(*buf)))
			ret = -EFAULT;
	}
	kfree(buf);
	return ret;
}

/* XCR0 as the guest set it (XSETBV, exit.c), for snapshots. */
static long vcpu_get_xcrs(struct vmx_vcpu *vcpu, void __user *uarg)
{
	struct vmxcore_xcrs x = { .xcr0 = vcpu->xcr0 };

	return copy_to_user(uarg, &x, sizeof(x)) ? -EFAULT : 0;
}

static long vcpu_set_xcrs(struct vmx_vcpu *vcpu, void __user *uarg)
{
	struct vmxcore_xcrs x;

	if (copy_from_user(&x, uarg, sizeof(x)))
		return -EFAULT;
	if (memchr_inv(x.reserved, 0, sizeof(x.reserved)) || !vcpu_xcr0_ok(x.xcr0))
		return -EINVAL;
	vcpu->xcr0 = x.xcr0;	/* switched in around each entry (vcpu_switch_to_guest) */
	return 0;
}

static long vcpu_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vmx_vcpu *vcpu = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct vmxcore_sregs sregs;
	struct vmxcore_interrupt irq;
	struct vmxcore_regs regs;
	long ret = 0;

	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	switch (cmd) {
	case VMXCORE_RUN:
		ret = arg ? -EINVAL : vcpu_run(vcpu);
		break;
	case VMXCORE_GET_REGS:
		vcpu_get_regs(vcpu, &regs);
		ret = copy_to_user(uarg, &regs, sizeof(regs)) ? -EFAULT : 0;
		break;
	case VMXCORE_SET_REGS:
		ret = copy_from_user(&regs, uarg, sizeof(regs)) ? -EFAULT :
		      vcpu_set_regs(vcpu, &regs);
		break;
	case VMXCORE_GET_SREGS:
		ret = copy_to_user(uarg, &vcpu->sregs, sizeof(vcpu->sregs)) ? -EFAULT : 0;
		break;
	case VMXCORE_SET_SREGS:
		ret = copy_from_user(&sregs, uarg, sizeof(sregs)) ? -EFAULT :
		      vcpu_set_sregs(vcpu, &sregs);
		break;
	case VMXCORE_SET_CPUID:
		ret = vcpu_set_cpuid(vcpu, uarg);
		break;
	case VMXCORE_GET_MSRS:
	case VMXCORE_SET_MSRS:
		ret = vcpu_msrs_ioctl(vcpu, uarg, cmd == VMXCORE_SET_MSRS);
		break;
	case VMXCORE_GET_XSAVE:
	case VMXCORE_SET_XSAVE:
		ret = vcpu_xsave_ioctl(vcpu, uarg, cmd == VMXCORE_SET_XSAVE);
		break;
	case VMXCORE_GET_LAPIC:
	case VMXCORE_SET_LAPIC:
		ret = vcpu_apic_state_ioctl(vcpu, uarg, cmd == VMXCORE_SET_LAPIC);
		break;
	case VMXCORE_GET_MP_STATE:
	case VMXCORE_SET_MP_STATE:
		ret = vcpu_mp_state_ioctl(vcpu, uarg, cmd == VMXCORE_SET_MP_STATE);
		break;
	case VMXCORE_GET_VCPU_EVENTS:
	case VMXCORE_SET_VCPU_EVENTS:
		ret = vcpu_events_ioctl(vcpu, uarg, cmd == VMXCORE_SET_VCPU_EVENTS);
		break;
	case VMXCORE_GET_XCRS:
		ret = vcpu_get_xcrs(vcpu, uarg);
		break;
	case VMXCORE_SET_XCRS:
		ret = vcpu_set_xcrs(vcpu, uarg);
		break;
	case VMXCORE_INTERRUPT:
		ret = copy_from_user(&irq, uarg, sizeof(irq)) ? -EFAULT :
		      vcpu_queue_interrupt(vcpu, &irq);
		break;
	default:
		ret = -ENOTTY;
	}
	mutex_unlock(&vcpu->mutex);
	return ret;
}

static int vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vmx_vcpu *vcpu = file->private_data;

	if (vma->vm_pgoff != 0 || vma->vm_end - vma->vm_start != PAGE_SIZE)
		return -EINVAL;
	return vm_insert_page(vma, vma->vm_start, vcpu->run_page);
}

static void vcpu_free(struct vmx_vcpu *vcpu)
{
	vcpu_apic_destroy(vcpu);
	vmx_vcpu_clear(vcpu);
	if (vcpu->vmcs)
		__free_page(vcpu->vmcs);
	if (vcpu->run_page)
		__free_page(vcpu->run_page);
	vcpu_msr_switch_free(vcpu);
	vcpu_msr_bitmap_free(vcpu);
	if (vcpu->vpid) {
		vmx_invvpid(VMX_INVVPID_ALL, 0);
		ida_free(&vmx_vpids, vcpu->vpid);
	}
	fpu_free_guest_fpstate(&vcpu->guest_fpu);
	kfree(vcpu->cpuid);
	kfree(vcpu);
}

static int vcpu_release(struct inode *inode, struct file *file)
{
	struct vmx_vcpu *vcpu = file->private_data;
	struct vmx_vm *vm = vcpu->vm;

	mutex_lock(&vm->vcpu_lock);
	vm->vcpus[vcpu->id] = NULL;
	mutex_unlock(&vm->vcpu_lock);
	vcpu_free(vcpu);
	vm_put(vm);
	return 0;
}

static const struct file_operations vcpu_fops = {
	.owner		= THIS_MODULE,
	.release	= vcpu_release,
	.unlocked_ioctl	= vcpu_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= vcpu_mmap,
	.llseek		= noop_llseek,
};

static struct vmx_vcpu *vcpu_alloc(struct vmx_vm *vm, unsigned int id)
{
	struct vmx_vcpu *vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);
	int vpid;

	if (!vcpu)
		return NULL;
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->cpu = -1;
	vcpu->pending_exception = -1;
	vcpu->queued_irq = -1;
	vcpu->dr6 = VCPU_DR6_FIXED_1;
	vcpu->dr7 = VCPU_DR7_FIXED_1;
	vcpu_apic_init(vcpu);
	mutex_init(&vcpu->mutex);
	INIT_LIST_HEAD(&vcpu->loaded_link);
	vcpu->xcr0 = XFEATURE_MASK_FP;
	if (!fpu_alloc_guest_fpstate(&vcpu->guest_fpu)) {
		kfree(vcpu);
		return NULL;
	}
	vcpu->vmcs = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	vcpu->run_page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (vmx_caps()->flags & VMXCORE_CAP_VPID) {
		vpid = ida_alloc_range(&vmx_vpids, 1, 0xffff, GFP_KERNEL);
		vcpu->vpid = vpid > 0 ? vpid : 0;	/* none left: run without */
	}
	if (!vcpu->vmcs || !vcpu->run_page || vcpu_msr_switch_alloc(vcpu) ||
	    vcpu_msr_bitmap_alloc(vcpu) || vcpu_apic_alloc_assists(vcpu)) {
		vcpu_free(vcpu);
		return NULL;
	}
	*(u32 *)page_address(vcpu->vmcs) = vmx_caps()->vmcs_revision;
	vcpu->run = page_address(vcpu->run_page);
	return vcpu;
}

/* VMXCORE_CREATE_VCPU: returns the vCPU fd or -errno. */
int vcpu_create_fd(struct vmx_vm *vm, unsigned long id)
{
	struct vmx_vcpu *vcpu;
	int fd;

	BUILD_BUG_ON(sizeof(struct vmxcore_run) > VMXCORE_RUN_SIZE);
	BUILD_BUG_ON(offsetof(struct vmx_gprs, r[GPR_R15]) != 15 * 8);
	if (id >= VMXCORE_MAX_VCPUS)
		return -EINVAL;
	/* From here on has_lapic is fixed: the VMCS and its pages depend on it. */
	mutex_lock(&vm->vcpu_lock);
	vm->vcpus_created = true;
	mutex_unlock(&vm->vcpu_lock);
	vcpu = vcpu_alloc(vm, id);
	if (!vcpu)
		return -ENOMEM;

	preempt_disable();
	vmx_vmclear(page_to_phys(vcpu->vmcs));
	vmx_vcpu_load(vcpu);
	vmcs_setup(vcpu);
	preempt_enable();

	mutex_lock(&vm->vcpu_lock);
	if (vm->vcpus[id]) {
		mutex_unlock(&vm->vcpu_lock);
		vcpu_free(vcpu);
		return -EEXIST;
	}
	/* With the in-kernel APIC, APs wait for INIT and SIPI, as on hardware. */
	if (vm->has_lapic && id != 0)
		vcpu->apic.mp_state = VCPU_MP_WAIT_SIPI;
	kref_get(&vm->ref);
	fd = anon_inode_getfd("vmxcore-vcpu", &vcpu_fops, vcpu, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		mutex_unlock(&vm->vcpu_lock);
		vcpu_free(vcpu);
		vm_put(vm);
		return fd;
	}
	vm->vcpus[id] = vcpu;
	mutex_unlock(&vm->vcpu_lock);
	return fd;
}
