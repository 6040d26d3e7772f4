// SPDX-License-Identifier: GPL-2.0
/*
 * exit.c: what to do on each VM exit.
 *
 * Contract of every handler: return 1 to enter the guest again, 0 to return
 * to userspace with run->exit_reason set, or a negative errno for RUN to
 * return. Entry failures are dealt with first; reasons without a handler go
 * to one place that logs them and reports VMXCORE_INTERNAL_UNHANDLED_EXIT:
 * nothing is silently resumed.
 *
 * Environment: process context, preemption enabled; the VMCS may no longer
 * be current, so handlers change vCPU fields and vmcs_write_dirty() writes
 * them before the next entry.
 */
#include <linux/kernel.h>
#include <linux/sysfs.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/vmx.h>
#include <asm/fpu/xcr.h>

#include "vmxcore.h"

#define EXIT_REASON_ENTRY_FAILED_BIT	(1u << 31)

static unsigned long *vcpu_gpr(struct vmx_vcpu *vcpu, unsigned int reg)
{
	return &vcpu->gprs.r[reg & 15];
}

void vmx_swap_io_elements(u8 *buf, unsigned int a, unsigned int b, unsigned int size)
{
	u8 tmp[8];

	memcpy(tmp, buf + a * size, size);
	memcpy(buf + a * size, buf + b * size, size);
	memcpy(buf + b * size, tmp, size);
}

static int vmx_exit_to_user(struct vmx_vcpu *vcpu, u32 reason)
{
	vcpu->run->exit_reason = reason;
	return 0;
}

static int vmx_internal_error(struct vmx_vcpu *vcpu, u32 suberror, u64 data0)
{
	vcpu->run->internal.suberror = suberror;
	vcpu->run->internal.ndata = 2;
	vcpu->run->internal.data[0] = data0;
	vcpu->run->internal.data[1] = vcpu->rip;
	return vmx_exit_to_user(vcpu, VMXCORE_EXIT_INTERNAL_ERROR);
}

static int handle_external_interrupt(struct vmx_vcpu *vcpu)
{
	return 1;	/* the host took it when vcpu.c enabled interrupts */
}

static int handle_preemption_timer(struct vmx_vcpu *vcpu)
{
	return 1;	/* only there to give the host its CPU back (vmcs.c) */
}

static int handle_exception_nmi(struct vmx_vcpu *vcpu)
{
	if ((vcpu->exit.intr_info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR)
		return 1;	/* the host's NMI, already handed over */
	/* The exception bitmap is empty: an exception exit is a driver bug. */
	return vmx_internal_error(vcpu, VMXCORE_INTERNAL_UNHANDLED_EXIT,
				  EXIT_REASON_EXCEPTION_NMI);
}

/*
 * The guest can take an interrupt now. A queued one goes in at the next
 * entry; if userspace asked to know, it learns.
 */
static int handle_interrupt_window(struct vmx_vcpu *vcpu)
{
	if (vcpu->queued_irq >= 0 || !vcpu->run->request_interrupt_window)
		return 1;
	return vmx_exit_to_user(vcpu, VMXCORE_EXIT_IRQ_WINDOW_OPEN);
}

static int handle_triple_fault(struct vmx_vcpu *vcpu)
{
	return vmx_exit_to_user(vcpu, VMXCORE_EXIT_SHUTDOWN);
}

/* CPUID from the vCPU's table (cpuid.c). */
static int handle_cpuid(struct vmx_vcpu *vcpu)
{
	u32 r[4];

	vcpu_cpuid(vcpu, *vcpu_gpr(vcpu, GPR_RAX), *vcpu_gpr(vcpu, GPR_RCX), r);
	/* CPUID writes 32-bit results, zero-extended to 64 bits. */
	*vcpu_gpr(vcpu, GPR_RAX) = r[0];
	*vcpu_gpr(vcpu, GPR_RBX) = r[1];
	*vcpu_gpr(vcpu, GPR_RCX) = r[2];
	*vcpu_gpr(vcpu, GPR_RDX) = r[3];
	vcpu_skip_instruction(vcpu);
	return 1;
}

/* With the in-kernel APIC, RUN sleeps until an interrupt (apic.c). */
static int handle_hlt(struct vmx_vcpu *vcpu)
{
	vcpu_skip_instruction(vcpu);
	if (vcpu_has_lapic(vcpu)) {
		vcpu_apic_halt(vcpu);
		return 1;
	}
	return vmx_exit_to_user(vcpu, VMXCORE_EXIT_HLT);
}

static int handle_vmcall(struct vmx_vcpu *vcpu)
{
	struct vmxcore_run *run = vcpu->run;

	run->hypercall.nr = *vcpu_gpr(vcpu, GPR_RAX);
	run->hypercall.args[0] = *vcpu_gpr(vcpu, GPR_RBX);
	run->hypercall.args[1] = *vcpu_gpr(vcpu, GPR_RCX);
	run->hypercall.args[2] = *vcpu_gpr(vcpu, GPR_RDX);
	run->hypercall.args[3] = *vcpu_gpr(vcpu, GPR_RSI);
	run->hypercall.args[4] = *vcpu_gpr(vcpu, GPR_RDI);
	run->hypercall.ret = run->hypercall.nr;
	vcpu->pending = VCPU_PENDING_HYPERCALL;
	vcpu_skip_instruction(vcpu);
	return vmx_exit_to_user(vcpu, VMXCORE_EXIT_HYPERCALL);
}

/* RSI/RDI/RCX change only in the instruction's address size (SDM INS/OUTS). */
void vmx_add_addr_sized(unsigned long *reg, long delta, unsigned int addr_size)
{
	if (addr_size == 2)
		*reg = (*reg & ~0xfffful) | ((*reg + delta) & 0xffff);
	else if (addr_size == 4)
		*reg = (u32)(*reg + delta);
	else
		*reg += delta;
}

/*
 * INS/OUTS, with or without REP. One exit moves as many elements as fit in
 * run->io_data and in the current guest page; when a REP has more to do,
 * RIP stays on the instruction so the guest re-executes it for the rest.
 */
static int handle_string_io(struct vmx_vcpu *vcpu, unsigned int size, bool in, bool rep)
{
	struct vmx_exit_info *e = &vcpu->exit;
	struct vmxcore_run *run = vcpu->run;
	unsigned int addr_size = 2u << ((e->instr_info >> 7) & 7);
	u64 addr_mask = addr_size == 8 ? ~0ull : (1ull << (addr_size * 8)) - 1;
	bool down = vcpu->rflags & X86_EFLAGS_DF;
	unsigned long *rcx = vcpu_gpr(vcpu, GPR_RCX);
	u64 count = rep ? (*rcx & addr_mask) : 1;
	u64 low_gla, gpa, room;
	unsigned int n, i;
	u32 pf_error;
	int ret;

	if (count == 0) {
		vcpu_skip_instruction(vcpu);
		return 1;
	}
	/* Elements that fit before the page edge in the direction of travel. */
	room = down ? ((e->gla & ~PAGE_MASK) / size) + 1 :
		      (PAGE_SIZE - (e->gla & ~PAGE_MASK)) / size;
	n = min3(count, (u64)(sizeof(run->io_data) / size), room);
	if (n == 0)	/* one element straddles two pages */
		return vmx_internal_error(vcpu, VMXCORE_INTERNAL_EMULATION, e->gla);
	low_gla = down ? e->gla - (u64)(n - 1) * size : e->gla;
	ret = gmem_translate(vcpu, low_gla, gmem_access(vcpu, in), &gpa, &pf_error);
	if (ret == GMEM_FAULT) {
		/*
		 * The batch lies in the page of the first element, so that
		 * element faults first: #PF at its address, nothing moved,
		 * RIP on the instruction (a fault).
		 */
		vcpu_inject_pf(vcpu, e->gla, pf_error);
		return 1;
	}
	if (ret)
		return vmx_internal_error(vcpu, VMXCORE_INTERNAL_EMULATION, low_gla);

	run->io.direction = in ? VMXCORE_IO_IN : VMXCORE_IO_OUT;
	run->io.size = size;
	run->io.port = e->qualification >> 16;
	run->io.count = n;
	run->io.data_offset = offsetof(struct vmxcore_run, io_data);
	if (in) {
		vcpu->pending = VCPU_PENDING_INS;
		vcpu->pending_ins = (struct vmx_pending_ins){ .gpa = gpa, .size = size,
							      .count = n, .reverse = down };
		vmx_add_addr_sized(vcpu_gpr(vcpu, GPR_RDI), (down ? -1L : 1L) * n * size, addr_size);
	} else {
		if (gmem_read(vcpu->vm, gpa, run->io_data, n * size))
			return vmx_internal_error(vcpu, VMXCORE_INTERNAL_EMULATION, gpa);
		/* io_data holds elements in the order the guest sends them. */
		for (i = 0; down && i < n / 2; i++)
			vmx_swap_io_elements(run->io_data, i, n - 1 - i, size);
		vmx_add_addr_sized(vcpu_gpr(vcpu, GPR_RSI), (down ? -1L : 1L) * n * size, addr_size);
	}
	if (rep)
		vmx_add_addr_sized(rcx, -(long)n, addr_size);
	if (!rep || (*rcx & addr_mask) == 0)
		vcpu_skip_instruction(vcpu);
	return vmx_exit_to_user(vcpu, VMXCORE_EXIT_IO);
}

/* Port I/O (SDM Vol. 3C table 28-5). */
static int handle_io(struct vmx_vcpu *vcpu)
{
	unsigned long q = vcpu->exit.qualification;
	struct vmxcore_run *run = vcpu->run;
	unsigned int size = (q & 7) + 1;

	if (q & (1u << 4))
		return handle_string_io(vcpu, size, q & (1u << 3), q & (1u << 5));
	run->io.direction = (q & (1u << 3)) ? VMXCORE_IO_IN : VMXCORE_IO_OUT;
	run->io.size = size;
	run->io.port = q >> 16;
	run->io.count = 1;
	run->io.data_offset = offsetof(struct vmxcore_run, io_data);
	if (run->io.direction == VMXCORE_IO_OUT)
		memcpy(run->io_data, vcpu_gpr(vcpu, GPR_RAX), size);
	else
		vcpu->pending = VCPU_PENDING_IO_IN;
	vcpu_skip_instruction(vcpu);
	return vmx_exit_to_user(vcpu, VMXCORE_EXIT_IO);
}

/* MOV to/from CR8 without TPR shadow: the APIC's TPR (apic.c). */
static int handle_cr8(struct vmx_vcpu *vcpu, unsigned long *reg, bool write)
{
	unsigned long val = *reg;

	if (vcpu_apic_cr8(vcpu, &val, write)) {
		vcpu_inject_gp(vcpu);
		return 1;
	}
	if (!write)
		*reg = val;
	vcpu_skip_instruction(vcpu);
	return 1;
}

/*
 * TPR shadow: the guest lowered CR8 below the class of an interrupt TPR
 * was holding (trap-like: RIP is past the MOV). The exit already copied
 * VTPR into the model (vcpu.c); the next entry injects.
 */
static int handle_tpr_below_threshold(struct vmx_vcpu *vcpu)
{
	return 1;
}

/*
 * An emulated MOV to CR0 (one that touched a host-owned bit) that turns
 * paging on or off with EFER.LME set enters or leaves IA-32e mode (SDM Vol.
 * 3A 9.8.5), as the processor does for a write that does not exit: an AP
 * started by SIPI gets to long mode this way. Returns false for #GP (paging
 * with LME but without CR4.PAE).
 */
static bool vcpu_cr0_long_mode(struct vmx_vcpu *vcpu, u64 cr0)
{
	u64 efer = vcpu->exit.efer;
	bool pg_was = vcpu->exit.cr0 & X86_CR0_PG, pg = cr0 & X86_CR0_PG;

	if (pg == pg_was || !(efer & EFER_LME))
		return true;
	if (pg && !(vcpu->exit.cr4 & X86_CR4_PAE))
		return false;
	vcpu->sregs.efer = pg ? efer | EFER_LMA : efer & ~(u64)EFER_LMA;
	vcpu->dirty |= VCPU_DIRTY_EFER;
	return true;
}

/* MOV to CR0/CR4, CLTS, LMSW on host-owned bits (SDM Vol. 3C table 28-3). */
static int handle_cr(struct vmx_vcpu *vcpu)
{
	unsigned long q = vcpu->exit.qualification;
	unsigned int cr = q & 15, type = (q >> 4) & 3;
	u64 val = *vcpu_gpr(vcpu, (q >> 8) & 15);

	if (cr == 8 && type <= 1)
		return handle_cr8(vcpu, vcpu_gpr(vcpu, (q >> 8) & 15), type == 0);
	switch (type) {
	case 0:	/* MOV to CR */
		if (cr == 0) {
			if ((val >> 32) || ((val & X86_CR0_PG) && !(val & X86_CR0_PE)) ||
			    ((val & X86_CR0_NW) && !(val & X86_CR0_CD)) ||
			    !vcpu_cr0_long_mode(vcpu, val)) {
				vcpu_inject_gp(vcpu);
				return 1;
			}
			vcpu->cr0_shadow = val;
		} else if (cr == 4) {
			if ((val >> 32) || (val & X86_CR4_VMXE)) {
				vcpu_inject_gp(vcpu);	/* no nested VMX */
				return 1;
			}
			vcpu->cr4_shadow = val;
		} else {
			break;
		}
		vcpu->dirty |= VCPU_DIRTY_CR;
		vcpu_skip_instruction(vcpu);
		return 1;
	case 2:	/* CLTS */
		vcpu->cr0_shadow &= ~X86_CR0_TS;
		vcpu->dirty |= VCPU_DIRTY_CR;
		vcpu_skip_instruction(vcpu);
		return 1;
	case 3:	/* LMSW: loads bits 0-3, cannot clear PE */
		vcpu->cr0_shadow = (vcpu->cr0_shadow & ~0xeull) | ((q >> 16) & 0xf);
		vcpu->dirty |= VCPU_DIRTY_CR;
		vcpu_skip_instruction(vcpu);
		return 1;
	}
	return vmx_internal_error(vcpu, VMXCORE_INTERNAL_EMULATION, q);
}

/*
 * MOV DR. The guest's DR0-3, DR6 and DR7 are kept here and never loaded, so
 * its hardware breakpoints do not fire (a documented limit) and the host's
 * debug registers are never touched; GUEST_DR7 stays at its reset value so
 * no breakpoint is armed with the host's DR0-3. The exit comes before the
 * instruction's own checks (SDM Vol. 3C 26.1.3), so they are made here:
 * #GP above CPL 0, DR4/DR5 alias DR6/DR7 unless CR4.DE makes them #UD, and
 * #GP for a DR6/DR7 write with bits 63:32 set.
 */
static unsigned long *vcpu_dr_slot(struct vmx_vcpu *vcpu, unsigned int dr)
{
	if (dr < 4)
		return &vcpu->dr[dr];
	if ((dr == 4 || dr == 5) && (vcpu->exit.cr4 & X86_CR4_DE))
		return NULL;
	return (dr & 1) ? &vcpu->dr7 : &vcpu->dr6;
}

static int handle_dr(struct vmx_vcpu *vcpu)
{
	unsigned long q = vcpu->exit.qualification;
	unsigned int dr = q & 7;
	unsigned long *reg = vcpu_gpr(vcpu, (q >> 8) & 15);
	bool to_dr = !(q & (1u << 4));
	unsigned long *slot = vcpu_dr_slot(vcpu, dr);

	if ((vcpu->exit.ss_ar >> 5) & 3) {
		vcpu_inject_gp(vcpu);
		return 1;
	}
	if (!slot) {
		vcpu_inject_ud(vcpu);
		return 1;
	}
	if (to_dr && dr >= 4 && (*reg >> 32)) {
		vcpu_inject_gp(vcpu);
		return 1;
	}
	if (to_dr && slot == &vcpu->dr6)
		*slot = (*reg & VCPU_DR6_VOLATILE) | VCPU_DR6_FIXED_1;
	else if (to_dr && slot == &vcpu->dr7)
		*slot = (*reg & VCPU_DR7_VOLATILE) | VCPU_DR7_FIXED_1;
	else if (to_dr)
		*slot = *reg;
	else
		*reg = *slot;
	vcpu_skip_instruction(vcpu);
	return 1;
}

static int handle_rdmsr(struct vmx_vcpu *vcpu)
{
	u32 msr = *vcpu_gpr(vcpu, GPR_RCX);
	u64 *slot = vcpu_msr_slot(vcpu, msr), val = 0;
	int apic = vcpu_apic_msr(vcpu, msr, &val, false);

	if (apic < 0) {
		vcpu_inject_gp(vcpu);
		return 1;
	}
	if (apic > 0)
		goto done;	/* the in-kernel APIC's (apic.c) */
	/* EFER as the VMCS saved it: LMA follows CR0.PG writes that did not exit. */
	if (msr == MSR_EFER)
		val = vcpu->exit.efer;
	else if (slot)
		val = *slot;
	else if (msr == MSR_IA32_TSC)
		val = vcpu_guest_tsc(vcpu);
	else if (msr == MSR_IA32_APICBASE)
		val = 0xfee00000ull | (1ull << 11) | (vcpu->id == 0 ? 1ull << 8 : 0);
	else if (!vcpu_msr_vmcs_access(vcpu, msr, &val, false)) {
		vcpu_inject_gp(vcpu);
		return 1;
	}
done:
	*vcpu_gpr(vcpu, GPR_RAX) = (u32)val;
	*vcpu_gpr(vcpu, GPR_RDX) = val >> 32;
	vcpu_skip_instruction(vcpu);
	return 1;
}

static int handle_wrmsr(struct vmx_vcpu *vcpu)
{
	u32 msr = *vcpu_gpr(vcpu, GPR_RCX);
	u64 val = (u32)*vcpu_gpr(vcpu, GPR_RAX) | ((u64)(u32)*vcpu_gpr(vcpu, GPR_RDX) << 32);
	u64 *slot = vcpu_msr_slot(vcpu, msr);
	int apic = vcpu_apic_msr(vcpu, msr, &val, true);

	if (apic) {
		if (apic < 0)
			vcpu_inject_gp(vcpu);
		else
			vcpu_skip_instruction(vcpu);
		return 1;
	}
	/*
	 * LMA is the processor's, set when paging comes on with LME: a write
	 * leaves it as it is (what RDMSR returned is written back by every
	 * read-modify-write, Linux's syscall_init among them). It is taken
	 * from the VMCS at this exit: sregs only hold what userspace last saw,
	 * and a vCPU that went to long mode inside RUN (an AP) has not been.
	 */
	if (msr == MSR_EFER)
		val &= ~(u64)EFER_LMA;
	if (msr == MSR_IA32_TSC) {
		vcpu_set_guest_tsc(vcpu, val);	/* the VMCS takes it at the next entry */
	} else if (msr == MSR_EFER && !(val & ~(u64)(EFER_SCE | EFER_LME | EFER_NX))) {
		vcpu->sregs.efer = val | (vcpu->exit.efer & EFER_LMA);
		vcpu->dirty |= VCPU_DIRTY_EFER;
	} else if (slot && msr != MSR_EFER && vcpu_msr_value_ok(msr, val)) {
		*slot = val;
	} else if (!vcpu_msr_vmcs_access(vcpu, msr, &val, true)) {
		vcpu_inject_gp(vcpu);
		return 1;
	}
	vcpu_skip_instruction(vcpu);
	return 1;
}

/* An XCR0 value XSETBV accepts (SDM Vol. 1 13.3), against the host's. */
bool vcpu_xcr0_ok(u64 val)
{
	u64 host = boot_cpu_has(X86_FEATURE_XSAVE) ? xgetbv(XCR_XFEATURE_ENABLED_MASK) : 1;

	return (val & XFEATURE_MASK_FP) && !(val & ~host) &&
	       (!(val & XFEATURE_MASK_YMM) || (val & XFEATURE_MASK_SSE));
}

static int handle_xsetbv(struct vmx_vcpu *vcpu)
{
	u64 val = (u32)*vcpu_gpr(vcpu, GPR_RAX) | ((u64)(u32)*vcpu_gpr(vcpu, GPR_RDX) << 32);

	if (*vcpu_gpr(vcpu, GPR_RCX) != 0 || !vcpu_xcr0_ok(val)) {
		vcpu_inject_gp(vcpu);
		return 1;
	}
	vcpu->xcr0 = val;
	vcpu_skip_instruction(vcpu);
	return 1;
}

static int handle_invd(struct vmx_vcpu *vcpu)
{
	vcpu_skip_instruction(vcpu);	/* write-back caches: a no-op is safe */
	return 1;
}

/*
 * EPT violation: a page of a memory slot not mapped yet is mapped and the
 * guest goes on; anything else (no slot, or a write to a read-only slot) is
 * device memory for userspace (mmio.c).
 */
/*
 * A fault maps the 2 MiB-aligned window around it, clipped to the slot (as
 * a huge page would cover it); the faulting page must come out mapped.
 */
#define EPT_FAULT_AROUND	(2ull << 20)

/* How a slot's pages are mapped: logging slots start write-protected. */
static unsigned int ept_slot_how(const struct vmx_slot *slot)
{
	if (slot->flags & VMXCORE_MEM_READONLY)
		return 0;
	return EPT_MAP_WRITABLE | (slot->dirty_bitmap ? EPT_MAP_WRITE_PROTECT : 0);
}

static int ept_fault_in(struct vmx_vm *vm, const struct vmx_slot *slot, u64 gpa)
{
	u64 start = max(gpa & ~(EPT_FAULT_AROUND - 1), slot->gpa);
	u64 end = min((gpa & ~(EPT_FAULT_AROUND - 1)) + EPT_FAULT_AROUND,
		      slot->gpa + slot->size);
	unsigned int how = ept_slot_how(slot);
	int got;

	got = ept_map_range(&vm->ept, start, slot->uaddr + (start - slot->gpa),
			    (end - start) >> PAGE_SHIFT, how);
	if (got < 0)
		return got;
	if (start + ((u64)got << PAGE_SHIFT) > (gpa & PAGE_MASK))
		return 0;
	/* A short pin stopped before the faulting page: that page alone. */
	return ept_map(&vm->ept, gpa & PAGE_MASK, slot->uaddr + ((gpa & PAGE_MASK) - slot->gpa),
		       how);
}

/*
 * A write to RAM also lands here when the page is mapped write-protected
 * (dirty logging, dirty.c): it is logged and made writable.
 */
static int handle_ept_violation(struct vmx_vcpu *vcpu)
{
	struct vmx_vm *vm = vcpu->vm;
	u64 gpa = vcpu->exit.gpa;
	bool write = vcpu->exit.qualification & (1u << 1);
	const struct vmx_slot *slot;
	int ret = -EFAULT;

	mutex_lock(&vm->mem_lock);
	slot = vm_find_slot(vm, gpa);
	if (slot && !(write && (slot->flags & VMXCORE_MEM_READONLY))) {
		ret = ept_fault_in(vm, slot, gpa);
		if (!ret && write)
			ret = dirty_log_write_fault(vm, slot, gpa);
	}
	mutex_unlock(&vm->mem_lock);
	if (!ret)
		return 1;
	if (slot && !(write && (slot->flags & VMXCORE_MEM_READONLY)))
		return ret;	/* the slot's user memory is gone: -EFAULT */
	return vmx_handle_mmio(vcpu, gpa, write);
}

static int handle_ept_misconfig(struct vmx_vcpu *vcpu)
{
	return vmx_internal_error(vcpu, VMXCORE_INTERNAL_EPT_MISCONFIG, vcpu->exit.gpa);
}

static int (*const vmx_exit_handlers[])(struct vmx_vcpu *vcpu) = {
	[EXIT_REASON_EXCEPTION_NMI]	 = handle_exception_nmi,
	[EXIT_REASON_EXTERNAL_INTERRUPT] = handle_external_interrupt,
	[EXIT_REASON_PREEMPTION_TIMER]	 = handle_preemption_timer,
	[EXIT_REASON_TRIPLE_FAULT]	 = handle_triple_fault,
	[EXIT_REASON_INTERRUPT_WINDOW]	 = handle_interrupt_window,
	[EXIT_REASON_CPUID]		 = handle_cpuid,
	[EXIT_REASON_HLT]		 = handle_hlt,
	[EXIT_REASON_INVD]		 = handle_invd,
	[EXIT_REASON_VMCALL]		 = handle_vmcall,
	[EXIT_REASON_CR_ACCESS]		 = handle_cr,
	[EXIT_REASON_DR_ACCESS]		 = handle_dr,
	[EXIT_REASON_IO_INSTRUCTION]	 = handle_io,
	[EXIT_REASON_MSR_READ]		 = handle_rdmsr,
	[EXIT_REASON_MSR_WRITE]		 = handle_wrmsr,
	[EXIT_REASON_EPT_VIOLATION]	 = handle_ept_violation,
	[EXIT_REASON_EPT_MISCONFIG]	 = handle_ept_misconfig,
	[EXIT_REASON_XSETBV]		 = handle_xsetbv,
	[EXIT_REASON_TPR_BELOW_THRESHOLD] = handle_tpr_below_threshold,
	[EXIT_REASON_APIC_ACCESS]	 = vcpu_apic_access_exit,
	[EXIT_REASON_APIC_WRITE]	 = vcpu_apic_write_exit,
	[EXIT_REASON_EOI_INDUCED]	 = vcpu_apic_eoi_exit,
};

/* The hardware refused to enter (SDM Vol. 3C 26.8): say why, stop. */
static int vmx_entry_failed(struct vmx_vcpu *vcpu)
{
	struct vmxcore_run *run = vcpu->run;

	run->fail_entry.hw_reason = vcpu->exit.reason & ~EXIT_REASON_ENTRY_FAILED_BIT;
	run->fail_entry.qualification = vcpu->exit.qualification;
	pr_info_ratelimited(VMX_PR_PREFIX "VM entry refused: exit reason %u, qualification %lu\n",
			    run->fail_entry.hw_reason, vcpu->exit.qualification);
	return vmx_exit_to_user(vcpu, VMXCORE_EXIT_FAIL_ENTRY);
}

/*
 * Exits counted by basic reason, module-wide, for operators and the lab
 * (sysfs exit_stats): where a guest spends its exits shows what it is doing
 * when it seems stuck. Unsynchronised reads of a still-moving count are fine.
 */
static atomic_long_t vmx_exit_counts[ARRAY_SIZE(vmx_exit_handlers) + 1];
static unsigned long vmx_last_exit_rip;

/*
 * And per vCPU id (the first few, of whichever VM exited last): the last
 * exit's reason and RIP, and what its APIC held when it last went to sleep
 * in HLT. A stuck SMP guest shows which vCPU waits for what.
 */
#define VMX_STATS_VCPUS	4
static struct {
	unsigned long rip;
	u32 reason;
	int irr, isr;	/* highest vectors, -1 for none, at the last HLT sleep */
	u32 tpr;
	bool asleep;
} vmx_vcpu_stats[VMX_STATS_VCPUS];

void vmx_stats_vcpu_sleep(const struct vmx_vcpu *vcpu, int irr, int isr, u32 tpr, bool asleep)
{
	if (vcpu->id >= VMX_STATS_VCPUS)
		return;
	WRITE_ONCE(vmx_vcpu_stats[vcpu->id].irr, irr);
	WRITE_ONCE(vmx_vcpu_stats[vcpu->id].isr, isr);
	WRITE_ONCE(vmx_vcpu_stats[vcpu->id].tpr, tpr);
	WRITE_ONCE(vmx_vcpu_stats[vcpu->id].asleep, asleep);
}

static ssize_t vmx_vcpu_stats_show(char *buf, ssize_t len)
{
	unsigned int i;

	for (i = 0; i < VMX_STATS_VCPUS; i++) {
		if (!READ_ONCE(vmx_vcpu_stats[i].rip))
			continue;
		len += sysfs_emit_at(buf, len, "%svcpu%u:%u@%#lx%s,irr:%d,isr:%d,tpr:%u",
				     len ? " " : "", i, READ_ONCE(vmx_vcpu_stats[i].reason),
				     READ_ONCE(vmx_vcpu_stats[i].rip),
				     READ_ONCE(vmx_vcpu_stats[i].asleep) ? ",asleep" : "",
				     READ_ONCE(vmx_vcpu_stats[i].irr),
				     READ_ONCE(vmx_vcpu_stats[i].isr),
				     READ_ONCE(vmx_vcpu_stats[i].tpr));
	}
	return len;
}

ssize_t vmx_exit_stats_show(char *buf)
{
	ssize_t len = 0;
	long n;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(vmx_exit_counts); i++) {
		n = atomic_long_read(&vmx_exit_counts[i]);
		if (n)
			len += sysfs_emit_at(buf, len, "%s%zu:%ld", len ? " " : "", i, n);
	}
	len = vmx_vcpu_stats_show(buf, len);
	/* last: the lab's scripts take the RIP as everything after "last_rip:" */
	len += sysfs_emit_at(buf, len, "%slast_rip:%#lx\n", len ? " " : "",
			     READ_ONCE(vmx_last_exit_rip));
	return len;
}

static void vmx_count_exit(struct vmx_vcpu *vcpu, u32 basic)
{
	size_t i = min_t(size_t, basic, ARRAY_SIZE(vmx_exit_handlers));

	atomic_long_inc(&vmx_exit_counts[i]);
	WRITE_ONCE(vmx_last_exit_rip, vcpu->rip);
	if (vcpu->id < VMX_STATS_VCPUS) {
		WRITE_ONCE(vmx_vcpu_stats[vcpu->id].rip, vcpu->rip);
		WRITE_ONCE(vmx_vcpu_stats[vcpu->id].reason, basic);
	}
}

int vmx_handle_exit(struct vmx_vcpu *vcpu)
{
	u32 basic = vcpu->exit.reason & 0xffff;

	vmx_count_exit(vcpu, basic);

	if (vcpu->exit.reason & EXIT_REASON_ENTRY_FAILED_BIT)
		return vmx_entry_failed(vcpu);
	if (basic < ARRAY_SIZE(vmx_exit_handlers) && vmx_exit_handlers[basic])
		return vmx_exit_handlers[basic](vcpu);
	pr_info_ratelimited(VMX_PR_PREFIX "unhandled exit reason %u at RIP %#lx, qualification %#lx\n",
			    basic, vcpu->rip, vcpu->exit.qualification);
	return vmx_internal_error(vcpu, VMXCORE_INTERNAL_UNHANDLED_EXIT, basic);
}
