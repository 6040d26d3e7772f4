// SPDX-License-Identifier: GPL-2.0
/*
 * vmcs.c: what goes into a vCPU's VMCS (SDM Vol. 3C chapter 24).
 *
 * Environment: the vCPU's VMCS current on this CPU, preemption disabled.
 * Field encodings and control bits come from the kernel's <asm/vmx.h>.
 */
#include <linux/mm.h>
#include <asm/desc.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>
#include <asm/tsc.h>
#include <asm/vmx.h>
#include <asm/cpu_entry_area.h>

#include "vmxcore.h"
#include "vmx_ops.h"

/* Adjusts wanted control bits to what the CPU allows (SDM A.3). */
static u32 vmcs_adjust(u32 wanted, const struct vmxcore_ctls *ctls)
{
	return (wanted | ctls->allowed0) & ctls->allowed1;
}

/* Guest CR0: what it asked for, plus the bits VMX forces (NE); PE/PG free. */
u64 vmcs_cr0_guest_value(u64 wanted)
{
	const struct vmxcore_caps *c = vmx_caps();
	u64 fixed0 = c->cr0_fixed0 & ~(X86_CR0_PE | X86_CR0_PG);

	return (wanted | fixed0) & c->cr0_fixed1;
}

u64 vmcs_cr4_guest_value(u64 wanted)
{
	const struct vmxcore_caps *c = vmx_caps();

	return (wanted | c->cr4_fixed0) & c->cr4_fixed1;
}

/* Bits the guest may not own: the fixed ones. Writes to them exit. */
static u64 vmcs_cr0_host_owned(void)
{
	const struct vmxcore_caps *c = vmx_caps();

	return (c->cr0_fixed0 & ~(X86_CR0_PE | X86_CR0_PG)) | ~c->cr0_fixed1;
}

static u64 vmcs_cr4_host_owned(void)
{
	const struct vmxcore_caps *c = vmx_caps();

	return c->cr4_fixed0 | ~c->cr4_fixed1;
}

/*
 * CR8 is the TPR (64-bit mode). With a virtual-APIC page the CPU keeps it
 * there (TPR shadow, apic.c); otherwise MOV CR8 exits, so that the guest
 * never reaches the host's real TPR.
 */
static u32 vmcs_cr8_controls(const struct vmx_vcpu *vcpu)
{
	if (vcpu->apic.vapic_page)
		return CPU_BASED_TPR_SHADOW;
	return CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING;
}

static void vmcs_setup_controls(struct vmx_vcpu *vcpu)
{
	const struct vmxcore_caps *c = vmx_caps();
	u32 proc2 = SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_UNRESTRICTED_GUEST;

	if (vcpu->vpid)
		proc2 |= SECONDARY_EXEC_ENABLE_VPID;
	u32 pin;

	/*
	 * Host interrupts and NMIs always exit: the host never loses one. The
	 * VMX-preemption timer (where the CPU has it) bounds the time a guest
	 * runs without an exit: Bochs, the project's VT-x lab, takes an
	 * external-interrupt exit only while the guest has IF=1, so a guest
	 * computing with interrupts off would keep the host CPU from its own
	 * IPIs (a TLB shootdown then stalls every other CPU).
	 */
	pin = vmcs_adjust(PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING |
			  PIN_BASED_VMX_PREEMPTION_TIMER, &c->pin);
	vcpu->preemption_timer = pin & PIN_BASED_VMX_PREEMPTION_TIMER;
	vmcs_write(PIN_BASED_VM_EXEC_CONTROL, pin);
	/*
	 * No I/O bitmaps: every port access exits. The MSR bitmap starts with
	 * every MSR intercepted (msr_bitmap.c); without one, every MSR access
	 * exits anyway. MOV DR exits so the guest never reaches the host's
	 * debug registers. RDTSC does not exit: the guest reads the host's TSC
	 * plus TSC_OFFSET (vcpu->tsc_offset, set through IA32_TSC).
	 */
	vmcs_write(MSR_BITMAP, page_to_phys(vcpu->msr_bitmap));
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL,
		   vmcs_adjust(CPU_BASED_HLT_EXITING | CPU_BASED_UNCOND_IO_EXITING |
			       CPU_BASED_MOV_DR_EXITING | vmcs_cr8_controls(vcpu) |
			       CPU_BASED_USE_TSC_OFFSETTING |
			       CPU_BASED_USE_MSR_BITMAPS |
			       CPU_BASED_ACTIVATE_SECONDARY_CONTROLS, &c->proc) &
		   ~(CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING |
		     CPU_BASED_INVLPG_EXITING));
	if (vcpu->apic.vapic_page) {
		vmcs_write(VIRTUAL_APIC_PAGE_ADDR, page_to_phys(vcpu->apic.vapic_page));
		vmcs_write(TPR_THRESHOLD, 0);
	}
	/* Virtualize APIC accesses itself is switched per entry (apic.c). */
	if (vcpu->vm->apic_access_page)
		vmcs_write(APIC_ACCESS_ADDR, page_to_phys(vcpu->vm->apic_access_page));
	vmcs_write(SECONDARY_VM_EXEC_CONTROL, vmcs_adjust(proc2, &c->proc2));
	vmcs_write(VM_EXIT_CONTROLS,
		   vmcs_adjust(VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_SAVE_IA32_EFER |
			       VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_IA32_PAT |
			       VM_EXIT_LOAD_IA32_PAT, &c->exit));
	vmcs_write(VM_ENTRY_CONTROLS,
		   vmcs_adjust(VM_ENTRY_LOAD_IA32_EFER | VM_ENTRY_LOAD_IA32_PAT, &c->entry));
	vmcs_write(EXCEPTION_BITMAP, 0);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write(CR3_TARGET_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write_msr_switch(vcpu);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);
	vmcs_write(CR0_GUEST_HOST_MASK, vmcs_cr0_host_owned());
	vmcs_write(CR4_GUEST_HOST_MASK, vmcs_cr4_host_owned());
	vmcs_write(EPT_POINTER, vcpu->vm->ept.eptp);
	if (vcpu->vpid)
		vmcs_write(VIRTUAL_PROCESSOR_ID, vcpu->vpid);
	vmcs_write(VMCS_LINK_POINTER, ~0ull);
}

/* Host state that is the same on every CPU and for the module's life. */
static void vmcs_setup_host_constant(void)
{
	u32 low, high;
	u64 msr;

	vmcs_write(HOST_CR0, read_cr0());
	vmcs_write(HOST_CS_SELECTOR, __KERNEL_CS);
	vmcs_write(HOST_SS_SELECTOR, __KERNEL_DS);
	vmcs_write(HOST_DS_SELECTOR, 0);
	vmcs_write(HOST_ES_SELECTOR, 0);
	vmcs_write(HOST_FS_SELECTOR, 0);
	vmcs_write(HOST_GS_SELECTOR, 0);
	vmcs_write(HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	vmcs_write(HOST_RIP, (unsigned long)vmx_vmexit);
	rdmsr(MSR_IA32_SYSENTER_CS, low, high);
	vmcs_write(HOST_IA32_SYSENTER_CS, low);
	rdmsrl(MSR_IA32_SYSENTER_EIP, msr);
	vmcs_write(HOST_IA32_SYSENTER_EIP, msr);
	rdmsrl(MSR_IA32_CR_PAT, msr);
	vmcs_write(HOST_IA32_PAT, msr);
	rdmsrl(MSR_EFER, msr);
	vmcs_write(HOST_IA32_EFER, msr);
}

/*
 * Host state that differs per CPU: written when the VMCS is loaded on a
 * CPU. CR3 and CR4 may change while a task runs (PCID, process switch), so
 * vcpu.c rewrites them before every entry, with FS base.
 */
void vmcs_write_host_percpu(void)
{
	int cpu = smp_processor_id();
	struct desc_ptr idt;
	u64 msr;

	vmcs_write(HOST_TR_BASE, (unsigned long)&get_cpu_entry_area(cpu)->tss.x86_tss);
	vmcs_write(HOST_GDTR_BASE, (unsigned long)get_current_gdt_ro());
	store_idt(&idt);
	vmcs_write(HOST_IDTR_BASE, idt.address);
	rdmsrl(MSR_GS_BASE, msr);
	vmcs_write(HOST_GS_BASE, msr);
	rdmsrl(MSR_IA32_SYSENTER_ESP, msr);
	vmcs_write(HOST_IA32_SYSENTER_ESP, msr);
}

/* The architectural state after RESET (SDM Vol. 3A 9.1.1), VMX-encoded. */
void vmcs_reset_sregs(struct vmxcore_sregs *s)
{
	struct vmxcore_segment data = { .limit = 0xffff, .ar = 0x93 };

	memset(s, 0, sizeof(*s));
	s->cs = (struct vmxcore_segment){ .selector = 0xf000, .base = 0xffff0000,
					  .limit = 0xffff, .ar = 0x9b };
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	s->tr = (struct vmxcore_segment){ .limit = 0xffff, .ar = 0x8b };
	s->ldt = (struct vmxcore_segment){ .limit = 0xffff, .ar = 0x82 };
	s->gdt.limit = 0xffff;
	s->idt.limit = 0xffff;
	s->cr0 = X86_CR0_ET | X86_CR0_CD | X86_CR0_NW;
}

#define SEG_FIELDS(seg) \
	{ GUEST_##seg##_SELECTOR, GUEST_##seg##_BASE, GUEST_##seg##_LIMIT, GUEST_##seg##_AR_BYTES }

static const struct { u32 sel, base, limit, ar; } vmcs_seg_fields[8] = {
	SEG_FIELDS(CS), SEG_FIELDS(DS), SEG_FIELDS(ES), SEG_FIELDS(FS),
	SEG_FIELDS(GS), SEG_FIELDS(SS), SEG_FIELDS(TR), SEG_FIELDS(LDTR),
};

static struct vmxcore_segment *sregs_seg(struct vmxcore_sregs *s, int i)
{
	struct vmxcore_segment *segs[8] = { &s->cs, &s->ds, &s->es, &s->fs,
					    &s->gs, &s->ss, &s->tr, &s->ldt };
	return segs[i];
}

/* EFER, and the entry control that must agree with its LMA (SDM 26.3.1.1). */
static void vmcs_write_efer(u64 efer)
{
	u32 entry = vmcs_read(VM_ENTRY_CONTROLS);

	vmcs_write(GUEST_IA32_EFER, efer);
	if (efer & EFER_LMA)
		entry |= VM_ENTRY_IA32E_MODE;
	else
		entry &= ~VM_ENTRY_IA32E_MODE;
	vmcs_write(VM_ENTRY_CONTROLS, entry);
}

static void vmcs_write_sregs(struct vmx_vcpu *vcpu)
{
	struct vmxcore_sregs *s = &vcpu->sregs;
	int i;

	for (i = 0; i < 8; i++) {
		struct vmxcore_segment *seg = sregs_seg(s, i);

		vmcs_write(vmcs_seg_fields[i].sel, seg->selector);
		vmcs_write(vmcs_seg_fields[i].base, seg->base);
		vmcs_write(vmcs_seg_fields[i].limit, seg->limit);
		vmcs_write(vmcs_seg_fields[i].ar, seg->ar);
	}
	vmcs_write(GUEST_GDTR_BASE, s->gdt.base);
	vmcs_write(GUEST_GDTR_LIMIT, s->gdt.limit);
	vmcs_write(GUEST_IDTR_BASE, s->idt.base);
	vmcs_write(GUEST_IDTR_LIMIT, s->idt.limit);
	vmcs_write(GUEST_CR3, s->cr3);
	vmcs_write_efer(s->efer);
	vcpu->cr0_shadow = s->cr0;
	vcpu->cr4_shadow = s->cr4;
	vcpu->dirty |= VCPU_DIRTY_CR;
}

void vmcs_read_sregs(struct vmx_vcpu *vcpu)
{
	struct vmxcore_sregs *s = &vcpu->sregs;
	int i;

	for (i = 0; i < 8; i++) {
		struct vmxcore_segment *seg = sregs_seg(s, i);

		seg->selector = vmcs_read(vmcs_seg_fields[i].sel);
		seg->base = vmcs_read(vmcs_seg_fields[i].base);
		seg->limit = vmcs_read(vmcs_seg_fields[i].limit);
		seg->ar = vmcs_read(vmcs_seg_fields[i].ar);
	}
	s->gdt.base = vmcs_read(GUEST_GDTR_BASE);
	s->gdt.limit = vmcs_read(GUEST_GDTR_LIMIT);
	s->idt.base = vmcs_read(GUEST_IDTR_BASE);
	s->idt.limit = vmcs_read(GUEST_IDTR_LIMIT);
	s->cr3 = vmcs_read(GUEST_CR3);
	s->efer = vmcs_read(GUEST_IA32_EFER);
	/* The guest sees its shadows for host-owned bits, real bits elsewhere. */
	s->cr0 = (vmcs_read(GUEST_CR0) & ~vmcs_cr0_host_owned()) |
		 (vcpu->cr0_shadow & vmcs_cr0_host_owned());
	s->cr4 = (vmcs_read(GUEST_CR4) & ~vmcs_cr4_host_owned()) |
		 (vcpu->cr4_shadow & vmcs_cr4_host_owned());
	vcpu->cr0_shadow = s->cr0;
	vcpu->cr4_shadow = s->cr4;
}

/* Writes what the vCPU changed since the last exit. */
void vmcs_write_dirty(struct vmx_vcpu *vcpu)
{
	u32 dirty = vcpu->dirty;

	if (dirty & VCPU_DIRTY_SREGS)
		vmcs_write_sregs(vcpu);
	if (vcpu->dirty & VCPU_DIRTY_CR) {
		vmcs_write(GUEST_CR0, vmcs_cr0_guest_value(vcpu->cr0_shadow));
		vmcs_write(CR0_READ_SHADOW, vcpu->cr0_shadow);
		vmcs_write(GUEST_CR4, vmcs_cr4_guest_value(vcpu->cr4_shadow));
		vmcs_write(CR4_READ_SHADOW, vcpu->cr4_shadow);
	}
	if (dirty & VCPU_DIRTY_EFER)
		vmcs_write_efer(vcpu->sregs.efer);
	if (dirty & VCPU_DIRTY_RIP)
		vmcs_write(GUEST_RIP, vcpu->rip);
	if (dirty & VCPU_DIRTY_RSP)
		vmcs_write(GUEST_RSP, vcpu->rsp);
	if (dirty & VCPU_DIRTY_RFLAGS)
		vmcs_write(GUEST_RFLAGS, vcpu->rflags);
	if (dirty & VCPU_DIRTY_INTR_STATE)
		vmcs_write(GUEST_INTERRUPTIBILITY_INFO, vcpu->exit.interruptibility);
	if (dirty & VCPU_DIRTY_ENTRY_EVENT)
		vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);
	if (dirty & VCPU_DIRTY_TSC_OFFSET)
		vmcs_write(TSC_OFFSET, vcpu->tsc_offset);
	vcpu->dirty = 0;
}

static void vmcs_read_paging(struct vmx_vcpu *vcpu)
{
	struct vmx_exit_info *e = &vcpu->exit;

	e->cr0 = vmcs_read(GUEST_CR0);
	e->cr3 = vmcs_read(GUEST_CR3);
	e->cr4 = vmcs_read(GUEST_CR4);
	e->efer = vmcs_read(GUEST_IA32_EFER);
}

/* Reads what every exit handler may need, while the VMCS is current. */
void vmcs_read_exit(struct vmx_vcpu *vcpu)
{
	struct vmx_exit_info *e = &vcpu->exit;

	e->reason = vmcs_read(VM_EXIT_REASON);
	e->qualification = vmcs_read(EXIT_QUALIFICATION);
	e->instr_len = vmcs_read(VM_EXIT_INSTRUCTION_LEN);
	e->intr_info = vmcs_read(VM_EXIT_INTR_INFO);
	e->gpa = vmcs_read(GUEST_PHYSICAL_ADDRESS);
	e->interruptibility = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
	e->idt_vectoring = vmcs_read(IDT_VECTORING_INFO_FIELD);
	if (e->idt_vectoring & INTR_INFO_DELIVER_CODE_MASK)
		e->idt_error_code = vmcs_read(IDT_VECTORING_ERROR_CODE);
	vcpu->rip = vmcs_read(GUEST_RIP);
	vcpu->rsp = vmcs_read(GUEST_RSP);
	vcpu->rflags = vmcs_read(GUEST_RFLAGS);
	/* Exits that touch guest memory by linear address need the paging state. */
	if ((e->reason & 0xffff) == EXIT_REASON_IO_INSTRUCTION && (e->qualification & (1u << 4))) {
		e->gla = vmcs_read(GUEST_LINEAR_ADDRESS);
		e->instr_info = vmcs_read(VMX_INSTRUCTION_INFO);
		e->ss_ar = vmcs_read(GUEST_SS_AR_BYTES);
		vmcs_read_paging(vcpu);
	} else if ((e->reason & 0xffff) == EXIT_REASON_EPT_VIOLATION ||
		   (e->reason & 0xffff) == EXIT_REASON_APIC_ACCESS) {
		/* MMIO (an APIC-access exit is one too): the instruction at CS:RIP,
		 * STOS/MOVS operands at seg:rSI/rDI. */
		vmcs_read_paging(vcpu);
		e->seg_base[INSN_SEG_ES] = vmcs_read(GUEST_ES_BASE);
		e->seg_base[INSN_SEG_CS] = vmcs_read(GUEST_CS_BASE);
		e->seg_base[INSN_SEG_SS] = vmcs_read(GUEST_SS_BASE);
		e->seg_base[INSN_SEG_DS] = vmcs_read(GUEST_DS_BASE);
		e->seg_base[INSN_SEG_FS] = vmcs_read(GUEST_FS_BASE);
		e->seg_base[INSN_SEG_GS] = vmcs_read(GUEST_GS_BASE);
		e->cs_ar = vmcs_read(GUEST_CS_AR_BYTES);
		e->ss_ar = vmcs_read(GUEST_SS_AR_BYTES);
	} else if ((e->reason & 0xffff) == EXIT_REASON_CR_ACCESS ||
		   (e->reason & 0xffff) == EXIT_REASON_MSR_WRITE ||
		   (e->reason & 0xffff) == EXIT_REASON_MSR_READ) {
		/* CR0 and EFER writes may switch IA-32e mode, EFER reads see LMA (exit.c). */
		vmcs_read_paging(vcpu);
	} else if ((e->reason & 0xffff) == EXIT_REASON_DR_ACCESS) {
		e->ss_ar = vmcs_read(GUEST_SS_AR_BYTES);
		e->cr4 = vmcs_read(GUEST_CR4);
	}
}

/*
 * VMX-preemption timer units in VMX_PREEMPTION_TIMER_PERIOD_US: the timer
 * counts down at the TSC rate divided by 2^IA32_VMX_MISC[4:0].
 */
#define VMX_PREEMPTION_TIMER_PERIOD_US	1000

u32 vmcs_preemption_timer_units(void)
{
	u64 tsc_per_period = (u64)(tsc_khz ? tsc_khz : 1000000) * VMX_PREEMPTION_TIMER_PERIOD_US / 1000;
	u64 units = tsc_per_period >> (vmx_caps()->misc & 0x1f);

	return units ? min_t(u64, units, U32_MAX) : 1;
}

/* Fills a freshly VMCLEARed, current VMCS with a vCPU at RESET. */
int vmcs_setup(struct vmx_vcpu *vcpu)
{
	vmcs_setup_controls(vcpu);
	vmcs_setup_host_constant();
	vmcs_write_host_percpu();

	vmcs_reset_sregs(&vcpu->sregs);
	vcpu->rip = 0xfff0;
	vcpu->rflags = X86_EFLAGS_FIXED;
	vcpu->rsp = 0;
	vcpu->dirty = VCPU_DIRTY_SREGS | VCPU_DIRTY_CR | VCPU_DIRTY_RIP |
		      VCPU_DIRTY_RSP | VCPU_DIRTY_RFLAGS;
	vmcs_write(GUEST_IA32_PAT, 0x0007040600070406ull);
	vmcs_write(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(GUEST_DR7, 0x400);
	vmcs_write(GUEST_SYSENTER_CS, 0);
	vmcs_write(GUEST_SYSENTER_ESP, 0);
	vmcs_write(GUEST_SYSENTER_EIP, 0);
	vmcs_write(GUEST_ACTIVITY_STATE, 0);
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write(TSC_OFFSET, 0);	/* the guest's TSC starts as the host's */
	vmcs_write_dirty(vcpu);
	return 0;
}
