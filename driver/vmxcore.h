/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interfaces between the driver's files.
 *
 *   main.c     module load/unload, in order
 *   caps.c     VMX capability MSRs -> struct vmxcore_caps, usability checks
 *   vmxon.c    per-CPU VMX on/off, reference-counted by VMs, CPU hotplug,
 *              the per-CPU list of loaded VMCSs
 *   dev.c      /dev/vmxcore: the system fd's ioctls and sysfs attributes
 *   vm.c       VM file descriptors, memory slots
 *   ept.c      EPT tables: fill on violation, pin and release pages
 *   dirty.c    dirty page logging: write-protected slots, GET_DIRTY_LOG
 *   vcpu.c     vCPU file descriptors, register ioctls, the run loop
 *   vmcs.c     VMCS layout: controls, host state, guest state transfer
 *   exit.c     the exit-handler table
 *   intr.c     event injection, the interrupt window, GET/SET_VCPU_EVENTS
 *   vcpu_events.c  the events ioctls' checks and conversions (also built
 *              in userspace)
 *   gmem.c     guest memory through the slots, the guest page-table walk
 *   mmio.c     device-memory accesses: fetch, decode, hand to userspace
 *   cpuid.c    the guest's CPUID table and the MSRs the core keeps
 *   apic.c     the in-kernel local APIC: lapic.c wired to MMIO, MSRs, an
 *              hrtimer, injection, HLT, IPIs and INIT/SIPI
 *   lapic.c    the local APIC register model (also built in userspace)
 *   msr_switch.c  guest SYSCALL MSRs loaded by VM entry, host's by VM exit
 *   msr_bitmap.c  which guest MSR accesses exit (all but what the CPU virtualizes)
 *   insn_decode.c  the MMIO instruction decoder (also built in userspace)
 *   vmenter.S  the entry/exit stub
 */
#ifndef VMXCORE_H
#define VMXCORE_H

#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/hrtimer.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <asm/fpu/types.h>
#include "include/uapi/vmxcore.h"
#include "insn_decode.h"
#include "lapic.h"

#define VMX_PR_PREFIX "vmxcore: "

/* Live counters, shown in sysfs, so tests can prove every page comes back. */
extern atomic_long_t vmx_pages_pinned;	/* guest pages pinned by EPT */
extern atomic_long_t vmx_pages_ept;	/* EPT table pages */

/* caps.c */
int vmx_caps_init(void);
const struct vmxcore_caps *vmx_caps(void);
bool vmx_use_tpr_shadow(void);
bool vmx_use_apic_reg_virt(void);
bool vmx_use_x2apic_virt(void);
bool vmx_use_vintr(void);
bool vmx_can_run_vms(const char **why);

/* vmxon.c */
struct vmx_vcpu;
int vmx_percpu_init(void);
void vmx_percpu_exit(void);
int vmx_get(void);
void vmx_put(void);
void vmx_on_cpus(struct cpumask *mask);
void vmx_vcpu_load(struct vmx_vcpu *vcpu);
void vmx_vcpu_clear(struct vmx_vcpu *vcpu);

/* ept.c */
struct vmx_ept {
	u64 *root;		/* PML4 page */
	u64 eptp;
};
int ept_init(struct vmx_ept *ept);
void ept_destroy(struct vmx_ept *ept);
/* ept_map*() @how */
#define EPT_MAP_WRITABLE	(1u << 0)	/* pin for writing, guest may write */
#define EPT_MAP_WRITE_PROTECT	(1u << 1)	/* ... but its first write faults */
int ept_map(struct vmx_ept *ept, u64 gpa, unsigned long uaddr, unsigned int how);
int ept_map_range(struct vmx_ept *ept, u64 gpa, unsigned long uaddr,
		  unsigned int n, unsigned int how);
void ept_unmap_range(struct vmx_ept *ept, u64 gpa, u64 size);
bool ept_allow_write(struct vmx_ept *ept, u64 gpa);
bool ept_write_protect(struct vmx_ept *ept, u64 gpa);
bool ept_protect_range(struct vmx_ept *ept, u64 gpa, u64 size, bool protect);
int ept_map_driver_page(struct vmx_ept *ept, u64 gpa, struct page *page);
void ept_flush_all_cpus(struct vmx_ept *ept);

/* gmem.c */
struct vmx_vm;
struct vmx_vcpu;
int gmem_read(struct vmx_vm *vm, u64 gpa, void *buf, unsigned int len);
int gmem_write(struct vmx_vm *vm, u64 gpa, const void *buf, unsigned int len);
bool gmem_is_ram(struct vmx_vm *vm, u64 gpa, unsigned int len, bool write);

/* #PF error-code bits (SDM Vol. 3A 4.7): what gmem_translate() reports. */
#define GMEM_PF_P	(1u << 0)	/* a present entry denied the access */
#define GMEM_PF_W	(1u << 1)	/* the access was a write */
#define GMEM_PF_U	(1u << 2)	/* the access was made at CPL 3 */
#define GMEM_FAULT	(-ENOENT)	/* gmem_translate(): the guest takes a #PF */
int gmem_translate(struct vmx_vcpu *vcpu, u64 gla, u32 access, u64 *gpa, u32 *pf_error);
u32 gmem_access(const struct vmx_vcpu *vcpu, bool write);

/* vm.c */
struct vmx_slot {
	bool used;
	u32 flags;
	u64 gpa, size;
	unsigned long uaddr;
	unsigned long *dirty_bitmap;	/* VMXCORE_MEM_LOG_DIRTY: a bit per page */
};

struct vmx_vm {
	struct kref ref;		/* the VM fd and each vCPU fd */
	struct mm_struct *mm;		/* creator's; slots address it */
	struct mutex mem_lock;		/* slots and EPT */
	struct vmx_slot slots[VMXCORE_MAX_SLOTS];
	struct vmx_ept ept;
	struct mutex vcpu_lock;		/* vcpus[], has_lapic, vcpus_created */
	struct vmx_vcpu *vcpus[VMXCORE_MAX_VCPUS];
	bool vcpus_created;		/* a vCPU was ever created */
	bool has_lapic;			/* VMXCORE_CREATE_LAPIC: fixed once vCPUs exist */
	/*
	 * APIC-register virtualization (apic.c): the APIC-access page, mapped
	 * by EPT at VMX_APIC_ACCESS_GPA; created with the first vCPU under
	 * mem_lock, freed with the VM. NULL: xAPIC accesses exit as MMIO.
	 */
	struct page *apic_access_page;
};
int vm_create_fd(unsigned long type);
unsigned int vm_count(void);
void vm_put(struct vmx_vm *vm);
const struct vmx_slot *vm_find_slot(struct vmx_vm *vm, u64 gpa);

/* dirty.c */
int dirty_log_start(struct vmx_vm *vm, struct vmx_slot *slot);
void dirty_log_stop(struct vmx_vm *vm, struct vmx_slot *slot);
void dirty_log_mark(const struct vmx_slot *slot, u64 gpa);
int dirty_log_write_fault(struct vmx_vm *vm, const struct vmx_slot *slot, u64 gpa);
int vm_get_dirty_log(struct vmx_vm *vm, const struct vmxcore_dirty_log *log);

/* vcpu.c */
enum vmx_gpr {
	GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI,
	GPR_R8, GPR_R9, GPR_R10, GPR_R11, GPR_R12, GPR_R13, GPR_R14, GPR_R15,
	GPR_COUNT
};

struct vmx_gprs {
	unsigned long r[GPR_COUNT];	/* r[GPR_RSP] unused: RSP is in the VMCS */
};

/* What the last VM exit said, read while the VMCS was current. */
struct vmx_exit_info {
	u32 reason;			/* full exit reason, bit 31 = entry failure */
	unsigned long qualification;
	u32 instr_len;
	u32 intr_info;
	u64 gpa;
	unsigned long gla;
	u32 interruptibility;		/* GUEST_INTERRUPTIBILITY_INFO */
	u32 idt_vectoring;		/* IDT_VECTORING_INFO_FIELD, 0 once redelivered */
	u32 idt_error_code;
	u32 instr_info;			/* VMX_INSTRUCTION_INFO (INS/OUTS: address size) */
	/* Paging state at the exit, for gmem_translate() */
	u64 cr0, cr3, cr4, efer;
	u64 seg_base[6];		/* EPT violations: by enum insn_seg (CS: to fetch
					 * the instruction; the others: STOS/MOVS operands) */
	u32 cs_ar;
	u32 ss_ar;			/* MOV DR, string I/O, EPT violations: DPL = CPL */
};

/*
 * Debug registers' bits that read as 1 (their reset values) and the ones MOV
 * sets. DR6's RTM and bus-lock bits read 1: the guest is offered neither.
 */
#define VCPU_DR6_FIXED_1	0xffff0ff0ul
#define VCPU_DR6_VOLATILE	0x0000e00ful
#define VCPU_DR7_FIXED_1	0x00000400ul
#define VCPU_DR7_VOLATILE	0xffff2bfful

/* Guest state kept in the vCPU and written to the VMCS before entry. */
#define VCPU_DIRTY_RIP		(1u << 0)
#define VCPU_DIRTY_RSP		(1u << 1)
#define VCPU_DIRTY_RFLAGS	(1u << 2)
#define VCPU_DIRTY_SREGS	(1u << 3)
#define VCPU_DIRTY_CR		(1u << 4)	/* CR0/CR4 and their shadows */
#define VCPU_DIRTY_EFER		(1u << 5)
#define VCPU_DIRTY_INTR_STATE	(1u << 6)	/* exit.interruptibility -> VMCS */
#define VCPU_DIRTY_ENTRY_EVENT	(1u << 7)	/* drop an event left in the entry field */
#define VCPU_DIRTY_TSC_OFFSET	(1u << 8)	/* tsc_offset -> VMCS */

/* Work the next RUN must finish before entering the guest. */
enum vmx_pending {
	VCPU_PENDING_NONE,
	VCPU_PENDING_IO_IN,	/* copy run->io data into RAX */
	VCPU_PENDING_HYPERCALL,	/* copy run->hypercall.ret into RAX */
	VCPU_PENDING_INS,	/* copy run->io_data to guest memory (string IN) */
	VCPU_PENDING_MMIO_LOAD,	/* load run->mmio.data into the decoded register */
};

/* Where the data of an INS exit goes once userspace supplied it. */
struct vmx_pending_ins {
	u64 gpa;		/* lowest guest-physical address written */
	unsigned int size, count;
	bool reverse;		/* RFLAGS.DF: elements go downwards */
};

/* Where an in-kernel-APIC vCPU is (apic.c). */
enum vmx_mp_state {
	VCPU_MP_RUNNABLE,
	VCPU_MP_HALTED,		/* HLT: RUN sleeps until an interrupt can be taken */
	VCPU_MP_WAIT_SIPI,	/* after INIT (and APs at creation): until SIPI */
};

/*
 * Which APIC virtualization the vCPU's VMCS has on (apic.c), chosen before
 * each entry from the APIC's mode: the xAPIC page through the APIC-access
 * page, or the x2APIC TPR MSR; neither while the APIC is disabled or its
 * xAPIC page is not at VMX_APIC_ACCESS_GPA.
 */
enum vmx_apic_virt {
	VCPU_APIC_VIRT_NONE,
	VCPU_APIC_VIRT_XAPIC,	/* virtualize APIC accesses + APIC-register virtualization */
	VCPU_APIC_VIRT_X2APIC,	/* virtualize x2APIC mode, MSR 0x808 not intercepted */
};

/* The xAPIC page where the VM's APIC-access page is mapped (the reset base). */
#define VMX_APIC_ACCESS_GPA	0xfee00000ull

/* The in-kernel local APIC of one vCPU; unused unless vm->has_lapic. */
struct vmx_vcpu_apic {
	spinlock_t lock;		/* l and the fields below it; taken in hardirq */
	struct lapic l;
	enum vmx_mp_state mp_state;	/* changed by the vCPU thread only */
	bool init_pending, sipi_pending, nmi_pending;	/* from other vCPUs */
	u8 sipi_vector;
	struct hrtimer timer;		/* fires at lapic_timer_expiry() */
	wait_queue_head_t wq;		/* the vCPU sleeping in HLT / wait-for-SIPI */
	atomic_t kicked;		/* an event arrived since the last injection */
	int guest_cpu;			/* CPU in guest mode with this vCPU, -1 none */
	/*
	 * TPR shadow (VMXCORE_CAP_LAPIC_TPR_SHADOW): while the guest runs, its
	 * TPR is VTPR at offset 0x80 of this page; l.tpr is copied in before
	 * each entry and back after each exit, so l is current whenever the
	 * vCPU is out of the guest. NULL: CR8 accesses exit (exit.c).
	 */
	struct page *vapic_page;
	enum vmx_apic_virt virt;	/* in the VMCS now; the vCPU thread's */
	/*
	 * The model changed since the registers APIC-register virtualization
	 * reads were last copied into vapic_page (copied before the next entry
	 * in VCPU_APIC_VIRT_XAPIC). Set under lock by whoever changes l.
	 */
	bool regs_changed;
	/*
	 * Virtual-interrupt delivery on in the VMCS (with XAPIC or X2APIC):
	 * the CPU takes interrupts from IRR in vapic_page, so IRR and ISR are
	 * copied in before each entry (irr_in: what went in) and merged back
	 * after each exit.
	 */
	bool vid;
	u32 irr_in[8];
	/*
	 * Vectors that arrived while the vCPU ran with VID and found their
	 * model IRR bit still set: the CPU may have delivered that bit since
	 * (the model learns it at the exit), so the merge would clear the
	 * new arrival with it. Put back after the merge; cleared at entry,
	 * where the model is complete again.
	 */
	u32 irr_again[8];
};

struct vmx_vcpu {
	struct vmx_vm *vm;
	unsigned int id;
	struct mutex mutex;		/* one ioctl at a time */
	struct vmxcore_run *run;	/* the mmap()ed page */
	struct page *run_page;

	/* VMCS residency (vmxon.c) */
	struct page *vmcs;
	int cpu;			/* CPU the VMCS is active on, -1 none */
	bool launched;			/* VMLAUNCH done since the last VMCLEAR */
	struct list_head loaded_link;	/* on that CPU's loaded list */
	u16 vpid;

	/* guest state */
	struct vmx_gprs gprs;
	unsigned long rip, rsp, rflags;
	struct vmxcore_sregs sregs;
	u64 cr0_shadow, cr4_shadow;	/* what the guest believes */
	unsigned long dr[4], dr6, dr7;	/* kept, not loaded: see exit.c */
	u64 xcr0;
	u64 kernel_gs_base;
	u64 msr_star, msr_lstar, msr_cstar, msr_sfmask, msr_tsc_aux;
	u64 tsc_offset;			/* guest TSC = host TSC + this (VMCS TSC_OFFSET) */
	struct page *msr_page;		/* VMX MSR-load lists (msr_switch.c) */
	struct page *msr_bitmap;	/* which MSR accesses exit (msr_bitmap.c) */
	u32 dirty;			/* VCPU_DIRTY_* */
	enum vmx_pending pending;
	struct vmx_pending_ins pending_ins;
	struct insn_mmio pending_mmio;	/* the load that is waiting for data */
	u64 pending_movs_gpa;		/* MOVS from MMIO: where the element goes */
	int pending_exception;		/* vector to inject, -1 none */
	u32 pending_error_code;
	int queued_irq;			/* external interrupt vector, -1 none */
	bool queued_nmi;
	u8 cr8;				/* without an in-kernel APIC: CR8 as written */
	bool window_exiting;		/* interrupt-window exiting is on */
	bool preemption_timer;		/* VMX-preemption timer armed each entry */
	struct fpu_guest guest_fpu;
	struct vmxcore_cpuid *cpuid;	/* NULL: filtered host values */
	struct vmx_vcpu_apic apic;

	struct vmx_exit_info exit;
};

int vcpu_create_fd(struct vmx_vm *vm, unsigned long id);
void vcpu_inject_gp(struct vmx_vcpu *vcpu);
void vcpu_inject_ud(struct vmx_vcpu *vcpu);
void vcpu_inject_pf(struct vmx_vcpu *vcpu, u64 gla, u32 error_code);
void vcpu_skip_instruction(struct vmx_vcpu *vcpu);
void vcpu_advance_rip(struct vmx_vcpu *vcpu, unsigned int len);
u64 vcpu_guest_tsc(const struct vmx_vcpu *vcpu);
void vcpu_set_guest_tsc(struct vmx_vcpu *vcpu, u64 tsc);
bool vcpu_xcr0_ok(u64 xcr0);

/* msr_switch.c */
#define VCPU_SWITCHED_MSRS	4
int vcpu_msr_switch_alloc(struct vmx_vcpu *vcpu);
void vcpu_msr_switch_free(struct vmx_vcpu *vcpu);
void vmcs_write_msr_switch(struct vmx_vcpu *vcpu);
void vcpu_msr_switch_sync(struct vmx_vcpu *vcpu);

/* msr_bitmap.c */
int vcpu_msr_bitmap_alloc(struct vmx_vcpu *vcpu);
void vcpu_msr_bitmap_free(struct vmx_vcpu *vcpu);
void vcpu_msr_intercept(struct vmx_vcpu *vcpu, u32 msr, bool read, bool write);

/* vmcs.c */
int vmcs_setup(struct vmx_vcpu *vcpu);
u32 vmcs_preemption_timer_units(void);
void vmcs_write_host_percpu(void);
void vmcs_write_dirty(struct vmx_vcpu *vcpu);
void vmcs_read_exit(struct vmx_vcpu *vcpu);
void vmcs_read_sregs(struct vmx_vcpu *vcpu);
void vmcs_reset_sregs(struct vmxcore_sregs *sregs);
u64 vmcs_cr0_guest_value(u64 wanted);
u64 vmcs_cr4_guest_value(u64 wanted);

/* cpuid.c */
int vcpu_set_cpuid(struct vmx_vcpu *vcpu, const struct vmxcore_cpuid __user *ucpuid);
void vcpu_cpuid(struct vmx_vcpu *vcpu, u32 leaf, u32 subleaf, u32 out[4]);
u64 *vcpu_msr_slot(struct vmx_vcpu *vcpu, u32 msr);
bool vcpu_msr_value_ok(u32 msr, u64 val);
bool vcpu_msr_vmcs_access(struct vmx_vcpu *vcpu, u32 msr, u64 *val, bool write);
long vcpu_msrs_ioctl(struct vmx_vcpu *vcpu, void __user *uarg, bool set);

/* mmio.c */
int vmx_handle_mmio(struct vmx_vcpu *vcpu, u64 gpa, bool write);
void vcpu_complete_mmio_load(struct vmx_vcpu *vcpu);

/* exit.c */
int vmx_handle_exit(struct vmx_vcpu *vcpu);
ssize_t vmx_exit_stats_show(char *buf);
void vmx_stats_vcpu_sleep(const struct vmx_vcpu *vcpu, int irr, int isr, u32 tpr, bool asleep);
void vmx_swap_io_elements(u8 *buf, unsigned int a, unsigned int b, unsigned int size);
void vmx_add_addr_sized(unsigned long *reg, long delta, unsigned int addr_size);

/* intr.c */
int vcpu_queue_interrupt(struct vmx_vcpu *vcpu, const struct vmxcore_interrupt *irq);
void vcpu_inject_events(struct vmx_vcpu *vcpu);
bool vcpu_interruptible(const struct vmx_vcpu *vcpu);
long vcpu_events_ioctl(struct vmx_vcpu *vcpu, void __user *uarg, bool set);

/* apic.c */
static inline bool vcpu_has_lapic(const struct vmx_vcpu *vcpu)
{
	return READ_ONCE(vcpu->vm->has_lapic);
}
void vcpu_apic_init(struct vmx_vcpu *vcpu);
void vcpu_apic_destroy(struct vmx_vcpu *vcpu);
void vcpu_apic_kick(struct vmx_vcpu *vcpu);
int vcpu_apic_prepare(struct vmx_vcpu *vcpu);
void vcpu_apic_halt(struct vmx_vcpu *vcpu);
int vcpu_apic_mmio(struct vmx_vcpu *vcpu, u64 gpa, const struct insn_mmio *d);
bool vcpu_apic_mmio_covers(struct vmx_vcpu *vcpu, u64 gpa);
int vcpu_apic_msr(struct vmx_vcpu *vcpu, u32 msr, u64 *val, bool write);
bool vcpu_apic_accepts_pic(struct vmx_vcpu *vcpu);
int vcpu_apic_pending_vector(struct vmx_vcpu *vcpu, bool ack);
int vm_create_lapic(struct vmx_vm *vm);
int vm_apic_irq(struct vmx_vm *vm, const struct vmxcore_apic_irq *irq);
int vcpu_apic_alloc_assists(struct vmx_vcpu *vcpu);
void vcpu_apic_tpr_to_guest(struct vmx_vcpu *vcpu);
void vcpu_apic_tpr_from_guest(struct vmx_vcpu *vcpu);
int vcpu_apic_cr8(struct vmx_vcpu *vcpu, unsigned long *val, bool write);
int vcpu_apic_access_exit(struct vmx_vcpu *vcpu);
int vcpu_apic_write_exit(struct vmx_vcpu *vcpu);
int vcpu_apic_eoi_exit(struct vmx_vcpu *vcpu);
void vm_apic_free_assists(struct vmx_vm *vm);
long vcpu_apic_state_ioctl(struct vmx_vcpu *vcpu, void __user *uarg, bool set);
long vcpu_mp_state_ioctl(struct vmx_vcpu *vcpu, void __user *uarg, bool set);

/* vmenter.S */
int vmx_vcpu_enter(struct vmx_gprs *gprs, bool launched);
void vmx_vmexit(void);

/* dev.c */
int vmx_dev_init(void);
void vmx_dev_exit(void);

#endif /* VMXCORE_H */
