/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vmxcore userspace ABI: ioctls on /dev/vmxcore and the file descriptors it
 * hands out. Shared verbatim by the driver and userspace.
 *
 * Versioning: VMXCORE_GET_API_VERSION returns VMXCORE_API_VERSION. It changes
 * only when an existing ioctl or structure changes meaning; additions keep it
 * and are found through VMXCORE_GET_CAPS. Structures carry reserved fields
 * that must be zero on input and are zero on output, so they can grow in place.
 *
 * Ioctl type 0xB7: "vmxcore", numbers 0x00-0x3f system fd, 0x40-0x7f VM fd,
 * 0x80-0xbf vCPU fd.
 */
#ifndef _UAPI_LINUX_VMXCORE_H
#define _UAPI_LINUX_VMXCORE_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define VMXCORE_API_VERSION	1
#define VMXCORE_IOCTL_TYPE	0xB7

/* One VMX control field's capability MSR, split (SDM Vol. 3D A.3-A.5). */
struct vmxcore_ctls {
	__u32 allowed0;		/* bits that may be 0; a 0 here must be 1 */
	__u32 allowed1;		/* bits that may be 1 */
};

/* vmxcore_caps.flags */
#define VMXCORE_CAP_TRUE_CTLS		(1u << 0) /* ctls below are IA32_VMX_TRUE_* */
#define VMXCORE_CAP_SECONDARY_CTLS	(1u << 1) /* proc2 is valid */
#define VMXCORE_CAP_EPT			(1u << 2)
#define VMXCORE_CAP_VPID		(1u << 3)
#define VMXCORE_CAP_UNRESTRICTED_GUEST	(1u << 4)
#define VMXCORE_CAP_VMFUNC		(1u << 5) /* vmfunc is valid */
/* The driver offers the in-kernel local APIC (VMXCORE_CREATE_LAPIC). */
#define VMXCORE_CAP_LAPIC		(1u << 6)
/*
 * Hardware assists the in-kernel APIC uses; each is set only when the CPU
 * has it and the module parameter apic_assists (default 1) allows it.
 * TPR shadow: a virtual-APIC page per vCPU, so MOV to/from CR8 in 64-bit
 * mode does not exit (only a drop below the class of a held interrupt
 * does). Without it, CR8 accesses exit and are emulated.
 */
#define VMXCORE_CAP_LAPIC_TPR_SHADOW	(1u << 7)
/* Dirty page logging: VMXCORE_MEM_LOG_DIRTY and VMXCORE_GET_DIRTY_LOG. */
#define VMXCORE_CAP_DIRTY_LOG		(1u << 8)
/*
 * More in-kernel APIC assists, each set only when the CPU has it and the
 * module parameters apic_assists and apic_virt (both default 1) allow it;
 * each needs the TPR shadow.
 * APIC-register virtualization: while a vCPU's APIC is in xAPIC mode at
 * base 0xFEE00000, reads of its registers (except APR, PPR and the current
 * count) and TPR writes do not exit; other register writes exit after the
 * fact to the in-kernel APIC. A vCPU that moves its xAPIC page elsewhere
 * goes back to MMIO exits.
 */
#define VMXCORE_CAP_LAPIC_REG_VIRT	(1u << 9)
/*
 * Virtual-interrupt delivery (with one of the two above, module parameter
 * apic_vid): the CPU delivers the APIC's interrupts itself when the guest
 * can take them, and EOIs and self-IPIs do not exit.
 */
#define VMXCORE_CAP_LAPIC_VINTR		(1u << 10)
/* x2APIC virtualization: in x2APIC mode, RDMSR/WRMSR of the TPR (0x808) do not exit. */
#define VMXCORE_CAP_LAPIC_X2APIC_VIRT	(1u << 11)
/*
 * vCPU state for exact snapshots: VMXCORE_GET/SET_VCPU_EVENTS (events in
 * delivery, queued events, interrupt shadow, NMI blocking) and
 * VMXCORE_GET/SET_XCRS (XCR0).
 */
#define VMXCORE_CAP_VCPU_EVENTS		(1u << 12)
/*
 * IA32_TSC (0x10) in VMXCORE_GET/SET_MSRS: the guest's TSC is the host's
 * plus an offset the core keeps in the VMCS (TSC offsetting), so a SET
 * makes the guest's RDTSC go on from the value written.
 */
#define VMXCORE_CAP_TSC			(1u << 13)

/*
 * The host CPU's VMX capabilities, as the driver read them from the VMX
 * capability MSRs of the boot CPU (SDM Vol. 3D appendix A). Where
 * IA32_VMX_BASIC[55] is set the control pairs come from the TRUE MSRs,
 * which is what the driver programs against.
 */
struct vmxcore_caps {
	__u64 vmx_basic;		/* IA32_VMX_BASIC, raw */
	__u32 vmcs_revision;		/* VMX_BASIC[30:0] */
	__u32 vmcs_size;		/* VMX_BASIC[44:32], bytes */
	__u32 flags;			/* VMXCORE_CAP_* */
	__u32 reserved0;
	struct vmxcore_ctls pin;	/* pin-based VM-execution controls */
	struct vmxcore_ctls proc;	/* primary processor-based controls */
	struct vmxcore_ctls proc2;	/* secondary processor-based controls */
	struct vmxcore_ctls exit;	/* VM-exit controls */
	struct vmxcore_ctls entry;	/* VM-entry controls */
	__u64 ept_vpid_cap;		/* IA32_VMX_EPT_VPID_CAP, 0 without EPT/VPID */
	__u64 misc;			/* IA32_VMX_MISC */
	__u64 cr0_fixed0, cr0_fixed1;	/* IA32_VMX_CR0_FIXED0/1 */
	__u64 cr4_fixed0, cr4_fixed1;	/* IA32_VMX_CR4_FIXED0/1 */
	__u64 vmcs_enum;		/* IA32_VMX_VMCS_ENUM */
	__u64 vmfunc;			/* IA32_VMX_VMFUNC, 0 without VM functions */
	__u64 reserved[8];
};

/* Limits, enforced with -EINVAL (ids, slots) or -ENOSPC (counts). */
#define VMXCORE_MAX_VMS		64
#define VMXCORE_MAX_VCPUS	16	/* per VM; vCPU ids 0..15 */
#define VMXCORE_MAX_SLOTS	32	/* per VM; slot ids 0..31 */

/* VMXCORE_SET_MEMORY_SLOT: guest-physical range backed by user memory. */
#define VMXCORE_MEM_READONLY	(1u << 0)	/* guest writes exit as MMIO */
/*
 * Record which pages of the slot are written (VMXCORE_GET_DIRTY_LOG). May be
 * given when the slot is added, or turned on and off on a slot in use by
 * setting the slot again with the same guest_phys, size and user_addr and
 * only this flag changed (as KVM_MEM_LOG_DIRTY_PAGES). Turning it on starts
 * an empty log: pages written before are not reported.
 */
#define VMXCORE_MEM_LOG_DIRTY	(1u << 1)

struct vmxcore_memory_slot {
	__u32 slot;		/* 0..VMXCORE_MAX_SLOTS-1 */
	__u32 flags;		/* VMXCORE_MEM_* */
	__u64 guest_phys;	/* page-aligned */
	__u64 size;		/* page-aligned; 0 deletes the slot */
	__u64 user_addr;	/* page-aligned address in the caller's memory */
};

/*
 * VMXCORE_GET_DIRTY_LOG: @dirty_bitmap points to (slot size / 4096) bits
 * rounded up to whole 64-bit words, little-endian: bit i of word w (bit
 * 64 * w + i) is the page at guest_phys + (64 * w + i) * 4096. Bits past
 * the slot's last page are written as 0.
 */
struct vmxcore_dirty_log {
	__u32 slot;		/* a slot with VMXCORE_MEM_LOG_DIRTY */
	__u32 padding;		/* must be 0 */
	__u64 dirty_bitmap;	/* user address of the bitmap */
};

/* General-purpose registers, RIP and RFLAGS. */
struct vmxcore_regs {
	__u64 rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	__u64 r8, r9, r10, r11, r12, r13, r14, r15;
	__u64 rip, rflags;
};

/* A segment register as VMX holds it (SDM Vol. 3C 24.4.1). */
struct vmxcore_segment {
	__u64 base;
	__u32 limit;
	__u16 selector;
	__u16 reserved;
	__u32 ar;		/* access rights; bit 16 = unusable */
	__u32 reserved2;
};

struct vmxcore_dtable {
	__u64 base;
	__u32 limit;
	__u32 reserved;
};

/* Segment, control and descriptor-table registers, EFER. */
struct vmxcore_sregs {
	struct vmxcore_segment cs, ds, es, fs, gs, ss, tr, ldt;
	struct vmxcore_dtable gdt, idt;
	__u64 cr0, cr2, cr3, cr4, efer;
	__u64 reserved[4];
};

/* VMXCORE_SET_CPUID: what the guest's CPUID instruction returns. */
#define VMXCORE_CPUID_MAX_ENTRIES	128
#define VMXCORE_CPUID_FLAG_INDEXED	(1u << 0)	/* match ECX (subleaf) too */

struct vmxcore_cpuid_entry {
	__u32 function;		/* EAX in */
	__u32 index;		/* ECX in, when VMXCORE_CPUID_FLAG_INDEXED */
	__u32 flags;
	__u32 eax, ebx, ecx, edx;
	__u32 reserved;
};

struct vmxcore_cpuid {
	__u32 nent;		/* 0..VMXCORE_CPUID_MAX_ENTRIES */
	__u32 reserved;
	struct vmxcore_cpuid_entry entries[];
};

/* VMXCORE_GET_MSRS / VMXCORE_SET_MSRS: the guest MSRs the core keeps. */
#define VMXCORE_MSRS_MAX	32

struct vmxcore_msr_entry {
	__u32 index;
	__u32 reserved;
	__u64 data;
};

struct vmxcore_msrs {
	__u32 nmsrs;		/* 1..VMXCORE_MSRS_MAX */
	__u32 reserved;
	struct vmxcore_msr_entry entries[];
};

/*
 * VMXCORE_GET_XSAVE / VMXCORE_SET_XSAVE: the guest's x87/SSE/AVX state in
 * the standard (non-compacted) XSAVE layout: legacy FXSAVE area at 0, the
 * XSAVE header at 512 (XSTATE_BV), extended components at the offsets
 * CPUID leaf 0xD gives. SET accepts only components the guest's XCR0 has.
 */
struct vmxcore_xsave {
	__u32 region[1024];
};

/* vmxcore_run.exit_reason */
enum vmxcore_exit_reason {
	VMXCORE_EXIT_NONE = 0,
	VMXCORE_EXIT_IO = 1,		/* run.io; data at run + io.data_offset */
	VMXCORE_EXIT_MMIO = 2,		/* run.mmio */
	VMXCORE_EXIT_HLT = 3,
	VMXCORE_EXIT_HYPERCALL = 4,	/* run.hypercall: VMCALL, RIP past it */
	VMXCORE_EXIT_SHUTDOWN = 5,	/* triple fault: the VM cannot go on */
	VMXCORE_EXIT_FAIL_ENTRY = 6,	/* run.fail_entry: hardware refused entry */
	VMXCORE_EXIT_INTR = 7,		/* a signal is pending; RUN returned -EINTR */
	VMXCORE_EXIT_INTERNAL_ERROR = 8,/* run.internal */
	VMXCORE_EXIT_IRQ_WINDOW_OPEN = 9,/* asked for by request_interrupt_window */
};

/* VMXCORE_INTERRUPT */
#define VMXCORE_INTR_NMI	(1u << 0)	/* inject an NMI; vector ignored */

struct vmxcore_interrupt {
	__u32 vector;		/* 32..255 for external interrupts */
	__u32 flags;		/* VMXCORE_INTR_* */
};

/*
 * VMXCORE_APIC_IRQ: an interrupt message toward local APIC destinations,
 * as an MSI or an IOAPIC redirection entry sends it (SDM Vol. 3A 10.11).
 */
#define VMXCORE_APIC_DM_FIXED	0
#define VMXCORE_APIC_DM_LOWEST	1	/* delivered to the first matching vCPU */
#define VMXCORE_APIC_DM_NMI	4
#define VMXCORE_APIC_DM_INIT	5

#define VMXCORE_APIC_IRQ_DEST32	(1u << 0)	/* dest is a 32-bit x2APIC destination */

struct vmxcore_apic_irq {
	__u32 vector;		/* 16..255 for fixed and lowest priority; else ignored */
	__u8 delivery;		/* VMXCORE_APIC_DM_* */
	__u8 dest_mode;		/* 0 physical, 1 logical */
	__u8 trigger;		/* 0 edge, 1 level */
	__u8 level;		/* 1 assert (always, for edge messages and MSIs);
				 * 0, a level de-assert, delivers nothing */
	__u32 dest;		/* APIC ID or logical destination; 0xff broadcast
				 * (0xffffffff with VMXCORE_APIC_IRQ_DEST32) */
	__u32 flags;		/* VMXCORE_APIC_IRQ_* */
	__u32 reserved[4];	/* must be 0 */
};

#define VMXCORE_IO_IN	0
#define VMXCORE_IO_OUT	1

/*
 * Shared between the kernel and the vCPU's thread: mmap() the vCPU fd at
 * offset 0 for VMXCORE_RUN_SIZE bytes. Written by the kernel on exit; the
 * caller answers an IN or MMIO read in place before the next RUN.
 */
struct vmxcore_run {
	__u32 exit_reason;		/* enum vmxcore_exit_reason */
	__u32 hw_exit_reason;		/* VMX basic exit reason, for logs */
	__u64 exit_qualification;
	__u64 rip;			/* guest RIP at the exit */
	__u8 request_interrupt_window;	/* in: exit when the guest can take an interrupt */
	__u8 ready_for_interrupt;	/* out: RFLAGS.IF=1 and no blocking */
	__u8 if_flag;			/* out: RFLAGS.IF */
	__u8 immediate_exit;		/* in: RUN returns -EINTR (exit INTR) at
					 * once; set it, then signal the thread,
					 * and no kick is lost */
	__u8 padding[4];
	union {
		struct {
			__u8 direction;		/* VMXCORE_IO_IN / _OUT */
			__u8 size;		/* 1, 2 or 4 */
			__u16 port;
			__u32 count;		/* > 1 for INS/OUTS with REP */
			__u64 data_offset;	/* from the start of this struct */
		} io;
		struct {
			__u64 phys_addr;
			__u8 data[8];
			__u32 len;		/* 1, 2, 4 or 8 */
			__u8 is_write;
			__u8 padding[3];
		} mmio;
		struct {
			__u64 nr;		/* RAX */
			__u64 args[5];		/* RBX, RCX, RDX, RSI, RDI */
			__u64 ret;		/* in: written to RAX on the next RUN */
		} hypercall;
		struct {
			__u32 hw_reason;	/* basic exit reason, bit 31 cleared */
			__u32 qualification;	/* e.g. 2 = MSR loading, 3 = machine check */
			__u32 vm_instruction_error;
			__u32 padding;
		} fail_entry;
		struct {
			__u32 suberror;		/* VMXCORE_INTERNAL_* */
			__u32 ndata;
			__u64 data[8];
		} internal;
		__u8 pad[256];
	};
	__u8 io_data[2048];		/* string I/O data, run.io.data_offset points here */
};

#define VMXCORE_RUN_SIZE	4096

/* run.internal.suberror */
#define VMXCORE_INTERNAL_UNHANDLED_EXIT	1	/* data[0] = basic exit reason */
#define VMXCORE_INTERNAL_EPT_MISCONFIG	2	/* data[0] = guest-physical address */
#define VMXCORE_INTERNAL_EMULATION	3	/* data[0] = RIP, data[1] = reason */
#define VMXCORE_INTERNAL_VMX_FAIL	4	/* data[0] = VM-instruction error */

/* System fd (/dev/vmxcore) */
#define VMXCORE_GET_API_VERSION	_IO(VMXCORE_IOCTL_TYPE, 0x00)
#define VMXCORE_GET_CAPS	_IOR(VMXCORE_IOCTL_TYPE, 0x01, struct vmxcore_caps)
/* arg: 0 (no VM types yet). Returns a new VM fd. VMX is on, on every online
 * CPU, for as long as any VM fd is open. */
#define VMXCORE_CREATE_VM	_IO(VMXCORE_IOCTL_TYPE, 0x02)

/* VM fd */
#define VMXCORE_SET_MEMORY_SLOT	_IOW(VMXCORE_IOCTL_TYPE, 0x40, struct vmxcore_memory_slot)
/* arg: vCPU id, 0..VMXCORE_MAX_VCPUS-1. Returns a new vCPU fd. */
#define VMXCORE_CREATE_VCPU	_IO(VMXCORE_IOCTL_TYPE, 0x41)
/*
 * arg: 0. Gives every vCPU of the VM an in-kernel local APIC (found through
 * VMXCORE_CAP_LAPIC), like KVM's irqchip. Only before the first vCPU is
 * created: -EBUSY after, -EEXIST the second time. Without it nothing
 * changes: the VMM models interrupt controllers and uses VMXCORE_INTERRUPT.
 * With it, per vCPU:
 *   - APIC ID = vCPU id, vCPU 0 is the BSP (IA32_APIC_BASE bit 8); the xAPIC
 *     page at IA32_APIC_BASE (0xFEE00000 at reset) and the x2APIC MSRs
 *     0x800-0x8FF, IA32_APIC_BASE and IA32_TSC_DEADLINE are handled in the
 *     kernel (no VMXCORE_EXIT_MMIO for the APIC page; a RAM slot over the
 *     page takes precedence). The APIC timer counts at 1 GHz.
 *   - HLT does not exit to userspace: RUN sleeps in the kernel until an
 *     interrupt can be taken (RFLAGS.IF=1 and one deliverable), an NMI or
 *     INIT arrives, or a signal / immediate_exit ends RUN with
 *     VMXCORE_EXIT_INTR (the vCPU stays halted: the next RUN sleeps again).
 *     HLT with IF=0 sleeps until NMI or INIT.
 *   - vCPUs other than 0 start in wait-for-SIPI: RUN sleeps until an INIT
 *     and a STARTUP IPI start them in real mode at CS:IP = vector<<8:0.
 *   - IPIs (fixed, NMI, INIT, SIPI; lowest priority goes to the first
 *     match) reach the VM's vCPUs in the kernel.
 *   - VMXCORE_INTERRUPT is the PIC's INTR: it is injected only while the
 *     APIC lets ExtINT through (globally disabled, or LVT LINT0 unmasked
 *     with delivery mode ExtINT); otherwise it stays queued.
 *   - EOIs of level-triggered vectors are not reported (no in-kernel IOAPIC).
 */
#define VMXCORE_CREATE_LAPIC	_IO(VMXCORE_IOCTL_TYPE, 0x42)
/*
 * Sends an interrupt message to the local APICs it addresses (the MSI path
 * of device models). Returns how many vCPUs it reached (0: none matched or
 * the message was a de-assert); -ENXIO without VMXCORE_CREATE_LAPIC,
 * -EINVAL for a bad field or a non-zero reserved one.
 */
#define VMXCORE_APIC_IRQ	_IOW(VMXCORE_IOCTL_TYPE, 0x43, struct vmxcore_apic_irq)

/*
 * Fills the bitmap with the pages written since the previous call on the
 * slot (or since logging began) and clears the log, atomically with respect
 * to the guest: a write that lands after a page's bit was taken is reported
 * by the next call, so a VMM that copies the reported pages after each call
 * loses none. Writes by the kernel on the guest's behalf (string IN,
 * emulated MOVS) count. Returns 0; -EINVAL for a slot id out of range or
 * non-zero padding, -ENOENT for a slot not in use or not logging, -EFAULT
 * when the bitmap cannot be written (the log is then left as it was).
 */
#define VMXCORE_GET_DIRTY_LOG	_IOW(VMXCORE_IOCTL_TYPE, 0x44, struct vmxcore_dirty_log)

/* vCPU fd */
#define VMXCORE_RUN		_IO(VMXCORE_IOCTL_TYPE, 0x80)
#define VMXCORE_GET_REGS	_IOR(VMXCORE_IOCTL_TYPE, 0x81, struct vmxcore_regs)
#define VMXCORE_SET_REGS	_IOW(VMXCORE_IOCTL_TYPE, 0x82, struct vmxcore_regs)
#define VMXCORE_GET_SREGS	_IOR(VMXCORE_IOCTL_TYPE, 0x83, struct vmxcore_sregs)
#define VMXCORE_SET_SREGS	_IOW(VMXCORE_IOCTL_TYPE, 0x84, struct vmxcore_sregs)
/*
 * Queues an external interrupt (or NMI) for the vCPU; it is delivered at the
 * first entry where the guest can take it (RFLAGS.IF set, no STI/MOV SS
 * shadow), the core waiting for that with an interrupt-window exit. -EBUSY
 * while one is still queued.
 */
#define VMXCORE_INTERRUPT	_IOW(VMXCORE_IOCTL_TYPE, 0x85, struct vmxcore_interrupt)
/*
 * Replaces the guest's CPUID table. Until it is first set, the guest sees the
 * host's values with VMX hidden and the hypervisor bit set. A leaf missing
 * from a set table reads as zeros (as on KVM).
 */
#define VMXCORE_SET_CPUID	_IOW(VMXCORE_IOCTL_TYPE, 0x86, struct vmxcore_cpuid)
/*
 * Reads or writes MSRs the core keeps for the guest (EFER, KERNEL_GS_BASE,
 * STAR, LSTAR, CSTAR, SFMASK, TSC_AUX, and with VMXCORE_CAP_TSC IA32_TSC:
 * reading gives the guest's TSC now, writing sets it to go on counting from
 * the value). Returns how many entries were done: processing stops at the
 * first MSR outside that list or a value it refuses.
 */
#define VMXCORE_GET_MSRS	_IOWR(VMXCORE_IOCTL_TYPE, 0x87, struct vmxcore_msrs)
#define VMXCORE_SET_MSRS	_IOW(VMXCORE_IOCTL_TYPE, 0x88, struct vmxcore_msrs)
#define VMXCORE_GET_XSAVE	_IOR(VMXCORE_IOCTL_TYPE, 0x89, struct vmxcore_xsave)
#define VMXCORE_SET_XSAVE	_IOW(VMXCORE_IOCTL_TYPE, 0x8a, struct vmxcore_xsave)

/*
 * ---- Events and interruptibility (VMXCORE_CAP_VCPU_EVENTS) ----
 * GET reads, SET replaces what a snapshot needs beyond registers to resume
 * a vCPU exactly (the facts KVM_GET/SET_VCPU_EVENTS carry):
 *
 *   exception.injected  an exception whose delivery was under way when the
 *                       guest exited (IDT-vectoring information) or that
 *                       the core wrote for an entry that did not happen:
 *                       it is delivered at the next entry, before anything
 *                       else.
 *   exception.pending   an exception the core raised (emulating an
 *                       instruction) that has not gone in yet.
 *   interrupt.injected  an external interrupt in delivery (taken from the
 *                       PIC or the in-kernel APIC, which already counts it
 *                       as in service).
 *   interrupt.queued    a VMXCORE_INTERRUPT vector still waiting for the
 *                       guest to take interrupts.
 *   nmi.injected        an NMI in delivery; nmi.pending: queued, not yet in
 *                       (VMXCORE_INTERRUPT NMI or an NMI IPI); nmi.masked:
 *                       blocking by NMI (between an NMI and its IRET).
 *   shadow              the STI / MOV SS shadow: interrupts (and, after
 *                       MOV SS, debug traps) wait one more instruction.
 *
 * Software interrupts and exceptions (INT n, INT3, INTO, INT1) in delivery
 * are not reported: RIP still points at the instruction, which runs again.
 * When an exception in delivery and one raised by the core exist at once
 * (an emulated access faulting while an event was being delivered), GET
 * reports the first only; the second is raised again when the guest
 * repeats the access.
 *
 * SET checks every field and changes nothing on -EINVAL: flags, padding and
 * reserved zero; booleans 0 or 1; fields of an event that is absent zero;
 * exception vector 0-31 but not 2 (NMI), injected and pending not both,
 * has_error_code exactly when VM entry demands one (CR0.PE=1 and vector
 * 8, 10-14 or 17), error_code below 0x10000 and zero without
 * has_error_code; interrupt vectors 16-255 (queued: 32-255, as
 * VMXCORE_INTERRUPT); at most one of exception/interrupt/nmi injected; no
 * nmi.injected while nmi.masked; shadow only STI or MOV SS, not both; STI
 * shadow only with RFLAGS.IF=1; no shadow with an interrupt or NMI
 * injected, nor while the vCPU is halted in the in-kernel APIC (SDM Vol. 3C
 * 26.3.1.5). The checks use the RFLAGS and CR0 the vCPU has now: set
 * registers (SET_REGS, SET_SREGS) first.
 */
#define VMXCORE_SHADOW_STI	(1u << 0)
#define VMXCORE_SHADOW_MOV_SS	(1u << 1)

struct vmxcore_vcpu_events {
	struct {
		__u8 injected;
		__u8 pending;
		__u8 vector;		/* 0-31, not 2 */
		__u8 has_error_code;
		__u32 error_code;	/* 0-0xffff */
	} exception;
	struct {
		__u8 injected;
		__u8 vector;		/* with injected: 16-255 */
		__u8 queued;
		__u8 queued_vector;	/* with queued: 32-255 */
	} interrupt;
	struct {
		__u8 injected;
		__u8 pending;
		__u8 masked;
		__u8 padding;		/* must be 0 */
	} nmi;
	__u32 shadow;			/* VMXCORE_SHADOW_* */
	__u32 flags;			/* must be 0 */
	__u32 reserved[10];		/* must be 0 */
};

#define VMXCORE_GET_VCPU_EVENTS	_IOR(VMXCORE_IOCTL_TYPE, 0x8d, struct vmxcore_vcpu_events)
#define VMXCORE_SET_VCPU_EVENTS	_IOW(VMXCORE_IOCTL_TYPE, 0x8e, struct vmxcore_vcpu_events)

/*
 * ---- Extended control registers (VMXCORE_CAP_VCPU_EVENTS) ----
 * XCR0 as the guest's XSETBV left it. The guest can set it only when its
 * CPUID offers XSAVE, which the runner does when the host kernel uses
 * XSAVE (vmm/runner/cpuid.c); otherwise it stays 1 (x87 only). SET checks
 * what XSETBV would (-EINVAL, nothing changed): bit 0 set, only bits the
 * host's XCR0 has, AVX (bit 2) only with SSE (bit 1), reserved zero.
 * Restore XCR0 before VMXCORE_SET_XSAVE, which accepts only components
 * XCR0 has.
 */
struct vmxcore_xcrs {
	__u64 xcr0;
	__u64 reserved[3];		/* must be 0 */
};

#define VMXCORE_GET_XCRS	_IOR(VMXCORE_IOCTL_TYPE, 0x8f, struct vmxcore_xcrs)
#define VMXCORE_SET_XCRS	_IOW(VMXCORE_IOCTL_TYPE, 0x90, struct vmxcore_xcrs)

/*
 * ---- In-kernel local APIC state (VMXCORE_CREATE_LAPIC VMs) ----
 * GET reads, SET replaces the vCPU's APIC state, for snapshots and
 * migration; -ENXIO on a VM without VMXCORE_CREATE_LAPIC.
 *
 * regs: the registers at their xAPIC offsets (0x000-0x3F0, one dword per
 * 16-byte slot, little-endian), as an xAPIC read returns them: what KVM's
 * struct kvm_lapic_state holds, the rest of the 4 KiB page being no state.
 * In x2APIC mode the ID (0x020) is the 32-bit x2APIC ID and ICR high
 * (0x310) the 32-bit destination. Current count (0x390) is informational:
 * the timer resumes from timer_remaining_ns.
 *
 * SET checks, and changes nothing on -EINVAL: apic_base without reserved
 * bits (7:0, 9, above MAXPHYADDR) and not x2APIC-enabled while disabled;
 * in x2APIC mode the ID equal to the vCPU id; flags and reserved zero; an
 * armed timer (VMXCORE_LAPIC_TIMER_ARMED) only with the APIC enabled, in
 * one-shot or periodic mode with a non-zero initial count and at most one
 * period left, or in TSC-deadline mode with a deadline. Read-only and
 * reserved register bits are ignored. The timer is re-armed to fire
 * timer_remaining_ns after the SET; IRR contents are delivered as usual.
 */
#define VMXCORE_LAPIC_TIMER_ARMED	(1u << 0)

struct vmxcore_lapic_state {
	__u8 regs[1024];
	__u64 apic_base;		/* IA32_APIC_BASE */
	__u64 tsc_deadline;		/* IA32_TSC_DEADLINE (TSC-deadline mode) */
	__u64 timer_remaining_ns;	/* with VMXCORE_LAPIC_TIMER_ARMED */
	__u32 flags;			/* VMXCORE_LAPIC_* */
	__u32 esr_pending;		/* errors the next ESR write latches */
	__u64 reserved[4];
};

#define VMXCORE_GET_LAPIC	_IOR(VMXCORE_IOCTL_TYPE, 0x8b, struct vmxcore_lapic_state)
#define VMXCORE_SET_LAPIC	_IOW(VMXCORE_IOCTL_TYPE, 0x8c, struct vmxcore_lapic_state)

/*
 * ---- Multiprocessor state (VMXCORE_CREATE_LAPIC VMs) ----
 * What a vCPU does between entries, as KVM's mp_state numbers it: running,
 * waiting for INIT-SIPI (APs from creation, any vCPU after INIT), or halted
 * by HLT until an interrupt it can take. GET reads it; SET replaces it (for
 * snapshots of SMP guests, and for tests that start an AP without SIPI),
 * dropping an INIT or SIPI received but not yet taken; -EINVAL for any other
 * value or non-zero reserved, -ENXIO on a VM without VMXCORE_CREATE_LAPIC.
 */
#define VMXCORE_MP_RUNNABLE		0
#define VMXCORE_MP_WAIT_SIPI		1
#define VMXCORE_MP_HALTED		3

struct vmxcore_mp_state {
	__u32 mp_state;			/* VMXCORE_MP_* */
	__u32 reserved;
};

#define VMXCORE_GET_MP_STATE	_IOR(VMXCORE_IOCTL_TYPE, 0x91, struct vmxcore_mp_state)
#define VMXCORE_SET_MP_STATE	_IOW(VMXCORE_IOCTL_TYPE, 0x92, struct vmxcore_mp_state)

#endif /* _UAPI_LINUX_VMXCORE_H */
