/* backend: see backend.h. */
#include "vmm/runner/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

static int vb_errno(int ret)
{
	return ret < 0 ? -errno : 0;
}

int vb_open_vm(const struct vb_ops *ops, struct vb_vm *vm)
{
	memset(vm, 0, sizeof(*vm));
	vm->ops = ops;
	vm->fd = -1;
	vm->sys = open(ops->dev, O_RDWR | O_CLOEXEC);
	if (vm->sys < 0)
		return -errno;
	return ops->create_vm(vm);
}

void vb_close_vm(struct vb_vm *vm)
{
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->sys >= 0)
		close(vm->sys);
	vm->fd = vm->sys = -1;
}

/* ---- vmxcore: the native interface, nothing to translate ---- */

static int vx_create_vm(struct vb_vm *vm)
{
	vm->fd = ioctl(vm->sys, VMXCORE_CREATE_VM, 0);
	return vm->fd < 0 ? -errno : 0;
}

static int vx_set_slot(struct vb_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
		       void *mem, uint32_t flags)
{
	struct vmxcore_memory_slot s = { .slot = slot, .flags = flags, .guest_phys = gpa,
					 .size = size, .user_addr = (uintptr_t)mem };

	return vb_errno(ioctl(vm->fd, VMXCORE_SET_MEMORY_SLOT, &s));
}

static int vx_create_vcpu(struct vb_vm *vm, int id, struct vb_vcpu *v)
{
	memset(v, 0, sizeof(*v));
	v->ops = vm->ops;
	v->fd = ioctl(vm->fd, VMXCORE_CREATE_VCPU, id);
	if (v->fd < 0)
		return -errno;
	v->run = mmap(NULL, VMXCORE_RUN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		close(v->fd);
		return -errno;
	}
	return 0;
}

static void vx_close_vcpu(struct vb_vcpu *v)
{
	munmap(v->run, VMXCORE_RUN_SIZE);
	close(v->fd);
}

static int vx_run(struct vb_vcpu *v)
{
	return vb_errno(ioctl(v->fd, VMXCORE_RUN, 0));
}

static int vx_get_regs(struct vb_vcpu *v, struct vmxcore_regs *r)
{
	return vb_errno(ioctl(v->fd, VMXCORE_GET_REGS, r));
}

static int vx_set_regs(struct vb_vcpu *v, const struct vmxcore_regs *r)
{
	return vb_errno(ioctl(v->fd, VMXCORE_SET_REGS, r));
}

static int vx_get_sregs(struct vb_vcpu *v, struct vmxcore_sregs *s)
{
	return vb_errno(ioctl(v->fd, VMXCORE_GET_SREGS, s));
}

static int vx_set_sregs(struct vb_vcpu *v, const struct vmxcore_sregs *s)
{
	return vb_errno(ioctl(v->fd, VMXCORE_SET_SREGS, s));
}

static int vx_interrupt(struct vb_vcpu *v, uint32_t vector)
{
	struct vmxcore_interrupt irq = { .vector = vector };

	return vb_errno(ioctl(v->fd, VMXCORE_INTERRUPT, &irq));
}

static int vx_set_cpuid(struct vb_vcpu *v, const struct vmxcore_cpuid *c)
{
	return vb_errno(ioctl(v->fd, VMXCORE_SET_CPUID, c));
}

static void vx_set_immediate_exit(struct vb_vcpu *v, int on)
{
	__atomic_store_n(&v->run->immediate_exit, on, __ATOMIC_SEQ_CST);
}

static int vx_create_lapic(struct vb_vm *vm)
{
	return vb_errno(ioctl(vm->fd, VMXCORE_CREATE_LAPIC, 0));
}

static int vx_apic_irq(struct vb_vm *vm, const struct vmxcore_apic_irq *irq)
{
	int ret = ioctl(vm->fd, VMXCORE_APIC_IRQ, irq);

	return ret < 0 ? -errno : ret;
}

static int vx_get_dirty_log(struct vb_vm *vm, uint32_t slot, uint64_t *bitmap)
{
	struct vmxcore_dirty_log log = { .slot = slot, .dirty_bitmap = (uintptr_t)bitmap };

	return vb_errno(ioctl(vm->fd, VMXCORE_GET_DIRTY_LOG, &log));
}

static int vx_get_events(struct vb_vcpu *v, struct vmxcore_vcpu_events *e)
{
	return vb_errno(ioctl(v->fd, VMXCORE_GET_VCPU_EVENTS, e));
}

static int vx_set_events(struct vb_vcpu *v, const struct vmxcore_vcpu_events *e)
{
	return vb_errno(ioctl(v->fd, VMXCORE_SET_VCPU_EVENTS, e));
}

/* Both MSR ioctls return the entries done; KVM's take the same layout. */
static int vb_msrs(int fd, unsigned long req, const struct vmxcore_msrs *m)
{
	int ret = ioctl(fd, req, m);

	return ret < 0 ? -errno : ret;
}

static int vx_get_msrs(struct vb_vcpu *v, struct vmxcore_msrs *m)
{
	return vb_msrs(v->fd, VMXCORE_GET_MSRS, m);
}

static int vx_set_msrs(struct vb_vcpu *v, const struct vmxcore_msrs *m)
{
	return vb_msrs(v->fd, VMXCORE_SET_MSRS, m);
}

static int vx_get_xcr0(struct vb_vcpu *v, uint64_t *xcr0)
{
	struct vmxcore_xcrs x;
	int ret = vb_errno(ioctl(v->fd, VMXCORE_GET_XCRS, &x));

	*xcr0 = ret ? 0 : x.xcr0;
	return ret;
}

static int vx_set_xcr0(struct vb_vcpu *v, uint64_t xcr0)
{
	struct vmxcore_xcrs x = { .xcr0 = xcr0 };

	return vb_errno(ioctl(v->fd, VMXCORE_SET_XCRS, &x));
}

static int vx_get_lapic(struct vb_vcpu *v, struct vmxcore_lapic_state *s)
{
	return vb_errno(ioctl(v->fd, VMXCORE_GET_LAPIC, s));
}

static int vx_set_lapic(struct vb_vcpu *v, const struct vmxcore_lapic_state *s)
{
	return vb_errno(ioctl(v->fd, VMXCORE_SET_LAPIC, s));
}

static int vx_get_mp_state(struct vb_vcpu *v, uint32_t *mp_state)
{
	struct vmxcore_mp_state mp = { 0 };
	int ret = vb_errno(ioctl(v->fd, VMXCORE_GET_MP_STATE, &mp));

	*mp_state = mp.mp_state;
	return ret;
}

static int vx_set_mp_state(struct vb_vcpu *v, uint32_t mp_state)
{
	struct vmxcore_mp_state mp = { .mp_state = mp_state };

	return vb_errno(ioctl(v->fd, VMXCORE_SET_MP_STATE, &mp));
}

const struct vb_ops vb_vmxcore = {
	.name = "vmxcore", .dev = "/dev/vmxcore",
	.create_vm = vx_create_vm, .set_slot = vx_set_slot, .create_vcpu = vx_create_vcpu,
	.close_vcpu = vx_close_vcpu, .run = vx_run, .get_regs = vx_get_regs,
	.set_regs = vx_set_regs, .get_sregs = vx_get_sregs, .set_sregs = vx_set_sregs,
	.interrupt = vx_interrupt, .set_cpuid = vx_set_cpuid,
	.set_immediate_exit = vx_set_immediate_exit,
	.create_lapic = vx_create_lapic, .apic_irq = vx_apic_irq,
	.get_dirty_log = vx_get_dirty_log,
	.create_lapic_split = vx_create_lapic,
	.get_events = vx_get_events, .set_events = vx_set_events,
	.get_msrs = vx_get_msrs, .set_msrs = vx_set_msrs,
	.get_xcr0 = vx_get_xcr0, .set_xcr0 = vx_set_xcr0,
	.get_lapic = vx_get_lapic, .set_lapic = vx_set_lapic,
	.get_mp_state = vx_get_mp_state, .set_mp_state = vx_set_mp_state,
};

/* ---- KVM: the peer, translated to the common view ---- */

static int kvm_create_vm(struct vb_vm *vm)
{
	vm->vcpu_mmap_size = ioctl(vm->sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->vcpu_mmap_size < 0)
		return -errno;
	vm->fd = ioctl(vm->sys, KVM_CREATE_VM, 0);
	return vm->fd < 0 ? -errno : 0;
}

static int kvm_set_slot(struct vb_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
			void *mem, uint32_t flags)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uintptr_t)mem,
		.flags = ((flags & VMXCORE_MEM_READONLY) ? KVM_MEM_READONLY : 0) |
			 ((flags & VMXCORE_MEM_LOG_DIRTY) ? KVM_MEM_LOG_DIRTY_PAGES : 0),
	};

	return vb_errno(ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r));
}

/* The host's CPUID as KVM offers it: KVM starts a vCPU with none at all. */
static int kvm_set_supported_cpuid(struct vb_vm *vm, int vcpu_fd)
{
	int n = 100, ret;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));

	if (!c)
		return -ENOMEM;
	c->nent = n;
	ret = vb_errno(ioctl(vm->sys, KVM_GET_SUPPORTED_CPUID, c));
	if (!ret)
		ret = vb_errno(ioctl(vcpu_fd, KVM_SET_CPUID2, c));
	free(c);
	return ret;
}

static int kvm_create_vcpu(struct vb_vm *vm, int id, struct vb_vcpu *v)
{
	int ret;

	memset(v, 0, sizeof(*v));
	v->ops = vm->ops;
	v->fd = ioctl(vm->fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0)
		return -errno;
	v->native_size = vm->vcpu_mmap_size;
	v->native = mmap(NULL, v->native_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	v->run = calloc(1, sizeof(*v->run));
	ret = v->native == MAP_FAILED ? -errno : v->run ? 0 : -ENOMEM;
	if (!ret)
		ret = kvm_set_supported_cpuid(vm, v->fd);
	if (ret) {
		if (v->native != MAP_FAILED)
			munmap(v->native, v->native_size);
		free(v->run);
		close(v->fd);
	}
	return ret;
}

static void kvm_close_vcpu(struct vb_vcpu *v)
{
	munmap(v->native, v->native_size);
	free(v->run);
	close(v->fd);
}

static uint32_t kvm_exit_to_common(uint32_t kvm_reason)
{
	switch (kvm_reason) {
	case KVM_EXIT_IO:		return VMXCORE_EXIT_IO;
	case KVM_EXIT_MMIO:		return VMXCORE_EXIT_MMIO;
	case KVM_EXIT_HLT:		return VMXCORE_EXIT_HLT;
	case KVM_EXIT_HYPERCALL:	return VMXCORE_EXIT_HYPERCALL;
	case KVM_EXIT_SHUTDOWN:		return VMXCORE_EXIT_SHUTDOWN;
	case KVM_EXIT_FAIL_ENTRY:	return VMXCORE_EXIT_FAIL_ENTRY;
	case KVM_EXIT_INTR:		return VMXCORE_EXIT_INTR;
	case KVM_EXIT_IRQ_WINDOW_OPEN:	return VMXCORE_EXIT_IRQ_WINDOW_OPEN;
	default:			return VMXCORE_EXIT_INTERNAL_ERROR;
	}
}

/*
 * KVM's run struct has no RIP, and the reason a VM ended names it (as
 * vmxcore's exits give it): read it for the exits that end a VM.
 */
static void kvm_fill_ending_rip(struct vb_vcpu *v, uint32_t kvm_reason)
{
	struct kvm_regs regs;

	if (kvm_reason != KVM_EXIT_SHUTDOWN && kvm_reason != KVM_EXIT_FAIL_ENTRY &&
	    kvm_reason != KVM_EXIT_INTERNAL_ERROR)
		return;
	if (ioctl(v->fd, KVM_GET_REGS, &regs) == 0)
		v->run->rip = regs.rip;
}

static void kvm_translate_exit(struct vb_vcpu *v)
{
	struct kvm_run *k = v->native;
	struct vmxcore_run *r = v->run;

	r->exit_reason = kvm_exit_to_common(k->exit_reason);
	r->ready_for_interrupt = k->ready_for_interrupt_injection;
	r->if_flag = k->if_flag;
	switch (k->exit_reason) {
	case KVM_EXIT_IO:
		r->io.direction = k->io.direction == KVM_EXIT_IO_OUT ? VMXCORE_IO_OUT : VMXCORE_IO_IN;
		r->io.size = k->io.size;
		r->io.port = k->io.port;
		r->io.count = k->io.count;
		r->io.data_offset = offsetof(struct vmxcore_run, io_data);
		memcpy(r->io_data, (char *)k + k->io.data_offset, k->io.size * k->io.count);
		break;
	case KVM_EXIT_MMIO:
		r->mmio.phys_addr = k->mmio.phys_addr;
		r->mmio.len = k->mmio.len;
		r->mmio.is_write = k->mmio.is_write;
		memcpy(r->mmio.data, k->mmio.data, sizeof(r->mmio.data));
		break;
	case KVM_EXIT_FAIL_ENTRY:
		r->fail_entry.hw_reason = k->fail_entry.hardware_entry_failure_reason;
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		r->internal.suberror = k->internal.suberror;
		break;
	}
	kvm_fill_ending_rip(v, k->exit_reason);
}

static int kvm_run_vcpu(struct vb_vcpu *v)
{
	struct kvm_run *k = v->native;
	int ret;

	/* Answers to the previous exit go back where KVM reads them. */
	if (v->last_exit == KVM_EXIT_IO && k->io.direction == KVM_EXIT_IO_IN)
		memcpy((char *)k + k->io.data_offset, v->run->io_data, k->io.size * k->io.count);
	if (v->last_exit == KVM_EXIT_MMIO && !k->mmio.is_write)
		memcpy(k->mmio.data, v->run->mmio.data, sizeof(k->mmio.data));
	k->request_interrupt_window = v->run->request_interrupt_window;
	/*
	 * With KVM's in-kernel irqchip an AP waiting for INIT/SIPI blocks in
	 * KVM_RUN and returns -EAGAIN when woken: run again (vmxcore's RUN
	 * keeps waiting in the kernel instead).
	 */
	do
		ret = vb_errno(ioctl(v->fd, KVM_RUN, 0));
	while (ret == -EAGAIN);
	v->last_exit = k->exit_reason;
	kvm_translate_exit(v);
	/* KVM leaves exit_reason as it was when immediate_exit stops RUN. */
	if (ret == -EINTR)
		v->run->exit_reason = VMXCORE_EXIT_INTR;
	return ret;
}

static int kvm_get_regs(struct vb_vcpu *v, struct vmxcore_regs *r)
{
	/* struct kvm_regs and struct vmxcore_regs have the same layout. */
	_Static_assert(sizeof(struct kvm_regs) == sizeof(struct vmxcore_regs), "regs layout");
	return vb_errno(ioctl(v->fd, KVM_GET_REGS, r));
}

static int kvm_set_regs(struct vb_vcpu *v, const struct vmxcore_regs *r)
{
	return vb_errno(ioctl(v->fd, KVM_SET_REGS, r));
}

/* VMX access rights <-> KVM's unpacked segment (SDM Vol. 3C 24.4.1). */
static void seg_from_kvm(struct vmxcore_segment *s, const struct kvm_segment *k)
{
	s->base = k->base;
	s->limit = k->limit;
	s->selector = k->selector;
	s->ar = k->type | k->s << 4 | k->dpl << 5 | k->present << 7 | k->avl << 12 |
		k->l << 13 | k->db << 14 | k->g << 15 | k->unusable << 16;
}

static void seg_to_kvm(struct kvm_segment *k, const struct vmxcore_segment *s)
{
	k->base = s->base;
	k->limit = s->limit;
	k->selector = s->selector;
	k->type = s->ar & 15;
	k->s = (s->ar >> 4) & 1;
	k->dpl = (s->ar >> 5) & 3;
	k->present = (s->ar >> 7) & 1;
	k->avl = (s->ar >> 12) & 1;
	k->l = (s->ar >> 13) & 1;
	k->db = (s->ar >> 14) & 1;
	k->g = (s->ar >> 15) & 1;
	k->unusable = (s->ar >> 16) & 1;
}

static int kvm_get_sregs(struct vb_vcpu *v, struct vmxcore_sregs *s)
{
	struct kvm_sregs k;

	if (ioctl(v->fd, KVM_GET_SREGS, &k) < 0)
		return -errno;
	memset(s, 0, sizeof(*s));
	seg_from_kvm(&s->cs, &k.cs);
	seg_from_kvm(&s->ds, &k.ds);
	seg_from_kvm(&s->es, &k.es);
	seg_from_kvm(&s->fs, &k.fs);
	seg_from_kvm(&s->gs, &k.gs);
	seg_from_kvm(&s->ss, &k.ss);
	seg_from_kvm(&s->tr, &k.tr);
	seg_from_kvm(&s->ldt, &k.ldt);
	s->gdt.base = k.gdt.base;
	s->gdt.limit = k.gdt.limit;
	s->idt.base = k.idt.base;
	s->idt.limit = k.idt.limit;
	s->cr0 = k.cr0;
	s->cr2 = k.cr2;
	s->cr3 = k.cr3;
	s->cr4 = k.cr4;
	s->efer = k.efer;
	return 0;
}

static int kvm_set_sregs(struct vb_vcpu *v, const struct vmxcore_sregs *s)
{
	struct kvm_sregs k;

	if (ioctl(v->fd, KVM_GET_SREGS, &k) < 0)
		return -errno;
	seg_to_kvm(&k.cs, &s->cs);
	seg_to_kvm(&k.ds, &s->ds);
	seg_to_kvm(&k.es, &s->es);
	seg_to_kvm(&k.fs, &s->fs);
	seg_to_kvm(&k.gs, &s->gs);
	seg_to_kvm(&k.ss, &s->ss);
	seg_to_kvm(&k.tr, &s->tr);
	seg_to_kvm(&k.ldt, &s->ldt);
	k.gdt.base = s->gdt.base;
	k.gdt.limit = s->gdt.limit;
	k.idt.base = s->idt.base;
	k.idt.limit = s->idt.limit;
	k.cr0 = s->cr0;
	k.cr2 = s->cr2;
	k.cr3 = s->cr3;
	k.cr4 = s->cr4;
	k.efer = s->efer;
	return vb_errno(ioctl(v->fd, KVM_SET_SREGS, &k));
}

static int kvm_interrupt(struct vb_vcpu *v, uint32_t vector)
{
	struct kvm_interrupt irq = { .irq = vector };

	return vb_errno(ioctl(v->fd, KVM_INTERRUPT, &irq));
}

static int kvm_set_cpuid(struct vb_vcpu *v, const struct vmxcore_cpuid *c)
{
	struct kvm_cpuid2 *k = calloc(1, sizeof(*k) + c->nent * sizeof(k->entries[0]));
	int ret;

	if (!k)
		return -ENOMEM;
	k->nent = c->nent;
	for (uint32_t i = 0; i < c->nent; i++) {
		const struct vmxcore_cpuid_entry *e = &c->entries[i];

		k->entries[i] = (struct kvm_cpuid_entry2){
			.function = e->function, .index = e->index,
			.flags = (e->flags & VMXCORE_CPUID_FLAG_INDEXED) ?
				 KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0,
			.eax = e->eax, .ebx = e->ebx, .ecx = e->ecx, .edx = e->edx,
		};
	}
	ret = vb_errno(ioctl(v->fd, KVM_SET_CPUID2, k));
	free(k);
	return ret;
}

static void kvm_set_immediate_exit(struct vb_vcpu *v, int on)
{
	struct kvm_run *k = v->native;

	__atomic_store_n(&k->immediate_exit, on, __ATOMIC_SEQ_CST);
}

static int kvm_create_lapic(struct vb_vm *vm)
{
	return vb_errno(ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0));
}

/* Local APICs in KVM, no PIC, IOAPIC or PIT there; 24 IOAPIC routes kept
 * for a userspace IOAPIC (we send MSIs and set no routes, so KVM reports
 * no EOIs). */
static int kvm_create_lapic_split(struct vb_vm *vm)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { 24 } };

	return vb_errno(ioctl(vm->fd, KVM_ENABLE_CAP, &cap));
}

/* The message as an MSI: address 0xFEExx00x, data vector/mode/trigger. */
static int kvm_apic_irq(struct vb_vm *vm, const struct vmxcore_apic_irq *irq)
{
	struct kvm_msi msi = {
		.address_lo = 0xfee00000u | (irq->dest & 0xff) << 12 | (irq->dest_mode & 1) << 2,
		.address_hi = (irq->flags & VMXCORE_APIC_IRQ_DEST32) ? irq->dest & ~0xffu : 0,
		.data = (irq->vector & 0xff) | (irq->delivery & 7) << 8 | (irq->level & 1) << 14 |
			(irq->trigger & 1) << 15,
	};
	int ret = ioctl(vm->fd, KVM_SIGNAL_MSI, &msi);

	return ret < 0 ? -errno : ret;
}

static int kvm_get_dirty_log(struct vb_vm *vm, uint32_t slot, uint64_t *bitmap)
{
	struct kvm_dirty_log log = { .slot = slot, .dirty_bitmap = bitmap };

	return vb_errno(ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log));
}

/*
 * KVM's interrupt shadow bits are the other way round (MOV SS 1, STI 2);
 * soft interrupts it reports as not injected (their instruction runs
 * again), as vmxcore does. Fields of absent events are left zero.
 */
static int kvm_get_events(struct vb_vcpu *v, struct vmxcore_vcpu_events *e)
{
	struct kvm_vcpu_events k;

	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &k) < 0)
		return -errno;
	memset(e, 0, sizeof(*e));
	if (k.exception.injected || k.exception.pending) {
		e->exception.injected = k.exception.injected;
		e->exception.pending = !k.exception.injected && k.exception.pending;
		e->exception.vector = k.exception.nr;
		e->exception.has_error_code = !!k.exception.has_error_code;
		e->exception.error_code = k.exception.has_error_code ? k.exception.error_code : 0;
	}
	if (k.interrupt.injected && !k.interrupt.soft) {
		e->interrupt.injected = 1;
		e->interrupt.vector = k.interrupt.nr;
	}
	e->nmi.injected = !!k.nmi.injected;
	e->nmi.pending = !!k.nmi.pending;
	e->nmi.masked = !!k.nmi.masked;
	e->shadow = (k.interrupt.shadow & KVM_X86_SHADOW_INT_STI ? VMXCORE_SHADOW_STI : 0) |
		    (k.interrupt.shadow & KVM_X86_SHADOW_INT_MOV_SS ? VMXCORE_SHADOW_MOV_SS : 0);
	return 0;
}

static int kvm_set_events(struct vb_vcpu *v, const struct vmxcore_vcpu_events *e)
{
	struct kvm_vcpu_events k;

	if (e->interrupt.queued)
		return -EINVAL;
	memset(&k, 0, sizeof(k));
	k.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
	/* Without KVM_CAP_EXCEPTION_PAYLOAD KVM keeps no separate "pending". */
	k.exception.injected = e->exception.injected || e->exception.pending;
	k.exception.nr = e->exception.vector;
	k.exception.has_error_code = e->exception.has_error_code;
	k.exception.error_code = e->exception.error_code;
	k.interrupt.injected = e->interrupt.injected;
	k.interrupt.nr = e->interrupt.vector;
	k.interrupt.shadow = (e->shadow & VMXCORE_SHADOW_STI ? KVM_X86_SHADOW_INT_STI : 0) |
			     (e->shadow & VMXCORE_SHADOW_MOV_SS ? KVM_X86_SHADOW_INT_MOV_SS : 0);
	k.nmi.injected = e->nmi.injected;
	k.nmi.pending = e->nmi.pending;
	k.nmi.masked = e->nmi.masked;
	return vb_errno(ioctl(v->fd, KVM_SET_VCPU_EVENTS, &k));
}

static int kvm_get_msrs(struct vb_vcpu *v, struct vmxcore_msrs *m)
{
	return vb_msrs(v->fd, KVM_GET_MSRS, m);
}

static int kvm_set_msrs(struct vb_vcpu *v, const struct vmxcore_msrs *m)
{
	return vb_msrs(v->fd, KVM_SET_MSRS, m);
}

/* A host without XSAVE has no XCRs for KVM: XCR0 is 1 (x87) for good. */
static int kvm_get_xcr0(struct vb_vcpu *v, uint64_t *xcr0)
{
	struct kvm_xcrs x;

	*xcr0 = 1;
	if (ioctl(v->fd, KVM_GET_XCRS, &x) < 0)
		return -errno;
	for (uint32_t i = 0; i < x.nr_xcrs && i < KVM_MAX_XCRS; i++)
		if (x.xcrs[i].xcr == 0)
			*xcr0 = x.xcrs[i].value;
	return 0;
}

static int kvm_set_xcr0(struct vb_vcpu *v, uint64_t xcr0)
{
	struct kvm_xcrs x;
	uint64_t now;
	int ret = kvm_get_xcr0(v, &now);

	if (ret || now == xcr0)
		return ret;
	memset(&x, 0, sizeof(x));
	x.nr_xcrs = 1;
	x.xcrs[0].value = xcr0;
	return vb_errno(ioctl(v->fd, KVM_SET_XCRS, &x));
}

/* ---- KVM's local APIC state, translated (backend.h, get_lapic) ---- */

#define VB_MSR_APIC_BASE	0x1b
#define VB_MSR_TSC_DEADLINE	0x6e0
#define VB_APIC_BASE_X2APIC	(1ull << 10)
#define VB_APIC_ID		0x020
#define VB_APIC_LVTT		0x320
#define VB_APIC_TMCCT		0x390
#define VB_APIC_TDCR		0x3e0

static uint32_t vb_apic_reg(const void *regs, unsigned off)
{
	uint32_t v;

	memcpy(&v, (const uint8_t *)regs + off, 4);
	return v;
}

static void vb_apic_set_reg(void *regs, unsigned off, uint32_t v)
{
	memcpy((uint8_t *)regs + off, &v, 4);
}

/* The timer's divider from TDCR (bits 0, 1 and 3; SDM Vol. 3A 11.5.4). */
static uint64_t vb_apic_divider(const void *regs)
{
	uint32_t d = vb_apic_reg(regs, VB_APIC_TDCR);
	uint32_t code = (d & 3) | (d >> 1 & 4);

	return code == 7 ? 1 : 2ull << code;
}

/* LVT timer mode: 0 one-shot, 1 periodic, 2 TSC-deadline. */
static uint32_t vb_apic_timer_mode(const void *regs)
{
	return vb_apic_reg(regs, VB_APIC_LVTT) >> 17 & 3;
}

struct vb_apic_msrs {
	struct vmxcore_msrs head;
	struct vmxcore_msr_entry e[2];
};

static int kvm_get_lapic(struct vb_vcpu *v, struct vmxcore_lapic_state *s)
{
	struct vb_apic_msrs m = { .head.nmsrs = 2,
				  .e = { { .index = VB_MSR_APIC_BASE },
					 { .index = VB_MSR_TSC_DEADLINE } } };
	struct kvm_lapic_state k;
	uint32_t count;
	int ret;

	_Static_assert(sizeof(k.regs) == sizeof(s->regs), "APIC register page");
	memset(s, 0, sizeof(*s));
	if (ioctl(v->fd, KVM_GET_LAPIC, &k) < 0)
		return -errno;
	ret = vb_msrs(v->fd, KVM_GET_MSRS, &m.head);
	if (ret < 0)
		return ret;
	if (ret != 2)
		return -EIO;
	memcpy(s->regs, k.regs, sizeof(s->regs));
	s->apic_base = m.e[0].data;
	s->tsc_deadline = m.e[1].data;
	if (s->apic_base & VB_APIC_BASE_X2APIC)
		vb_apic_set_reg(s->regs, VB_APIC_ID, vb_apic_reg(s->regs, VB_APIC_ID) >> 24);
	count = vb_apic_reg(s->regs, VB_APIC_TMCCT);
	if (vb_apic_timer_mode(s->regs) < 2 && count) {
		s->flags = VMXCORE_LAPIC_TIMER_ARMED;
		s->timer_remaining_ns = count * vb_apic_divider(s->regs);
	} else if (vb_apic_timer_mode(s->regs) == 2 && s->tsc_deadline) {
		s->flags = VMXCORE_LAPIC_TIMER_ARMED;
	}
	return 0;
}

static int kvm_set_lapic(struct vb_vcpu *v, const struct vmxcore_lapic_state *s)
{
	struct vb_apic_msrs m = { .head.nmsrs = 1,
				  .e = { { .index = VB_MSR_APIC_BASE, .data = s->apic_base } } };
	struct kvm_lapic_state k;
	int ret;

	memcpy(k.regs, s->regs, sizeof(k.regs));
	if (s->apic_base & VB_APIC_BASE_X2APIC)
		vb_apic_set_reg(k.regs, VB_APIC_ID, vb_apic_reg(k.regs, VB_APIC_ID) << 24);
	if ((s->flags & VMXCORE_LAPIC_TIMER_ARMED) && vb_apic_timer_mode(k.regs) < 2) {
		uint64_t count = s->timer_remaining_ns / vb_apic_divider(k.regs);

		vb_apic_set_reg(k.regs, VB_APIC_TMCCT, count ? (uint32_t)count : 1);
	}
	ret = vb_msrs(v->fd, KVM_SET_MSRS, &m.head);
	if (ret != 1)
		return ret < 0 ? ret : -EINVAL;
	if (ioctl(v->fd, KVM_SET_LAPIC, &k) < 0)
		return -errno;
	m.e[0] = (struct vmxcore_msr_entry){ .index = VB_MSR_TSC_DEADLINE, .data = s->tsc_deadline };
	ret = vb_msrs(v->fd, KVM_SET_MSRS, &m.head);
	return ret == 1 ? 0 : ret < 0 ? ret : -EINVAL;
}

static int kvm_get_mp_state(struct vb_vcpu *v, uint32_t *mp_state)
{
	struct kvm_mp_state k;

	if (ioctl(v->fd, KVM_GET_MP_STATE, &k) < 0)
		return -errno;
	switch (k.mp_state) {
	case KVM_MP_STATE_RUNNABLE:
		*mp_state = VMXCORE_MP_RUNNABLE;
		return 0;
	case KVM_MP_STATE_UNINITIALIZED:
	case KVM_MP_STATE_INIT_RECEIVED:
		*mp_state = VMXCORE_MP_WAIT_SIPI;
		return 0;
	case KVM_MP_STATE_HALTED:
		*mp_state = VMXCORE_MP_HALTED;
		return 0;
	}
	return -EPROTO;
}

static int kvm_set_mp_state(struct vb_vcpu *v, uint32_t mp_state)
{
	struct kvm_mp_state k;

	switch (mp_state) {
	case VMXCORE_MP_RUNNABLE:
		k.mp_state = KVM_MP_STATE_RUNNABLE;
		break;
	case VMXCORE_MP_WAIT_SIPI:
		k.mp_state = KVM_MP_STATE_INIT_RECEIVED;
		break;
	case VMXCORE_MP_HALTED:
		k.mp_state = KVM_MP_STATE_HALTED;
		break;
	default:
		return -EINVAL;
	}
	return vb_errno(ioctl(v->fd, KVM_SET_MP_STATE, &k));
}

const struct vb_ops vb_kvm = {
	.name = "kvm", .dev = "/dev/kvm",
	.create_vm = kvm_create_vm, .set_slot = kvm_set_slot, .create_vcpu = kvm_create_vcpu,
	.close_vcpu = kvm_close_vcpu, .run = kvm_run_vcpu, .get_regs = kvm_get_regs,
	.set_regs = kvm_set_regs, .get_sregs = kvm_get_sregs, .set_sregs = kvm_set_sregs,
	.interrupt = kvm_interrupt, .set_cpuid = kvm_set_cpuid,
	.set_immediate_exit = kvm_set_immediate_exit,
	.create_lapic = kvm_create_lapic, .apic_irq = kvm_apic_irq,
	.get_dirty_log = kvm_get_dirty_log,
	.create_lapic_split = kvm_create_lapic_split,
	.get_events = kvm_get_events, .set_events = kvm_set_events,
	.get_msrs = kvm_get_msrs, .set_msrs = kvm_set_msrs,
	.get_xcr0 = kvm_get_xcr0, .set_xcr0 = kvm_set_xcr0,
	.get_lapic = kvm_get_lapic, .set_lapic = kvm_set_lapic,
	.get_mp_state = kvm_get_mp_state, .set_mp_state = kvm_set_mp_state,
};

const struct vb_ops *vb_find(const char *name)
{
	if (!strcmp(name, "vmxcore"))
		return &vb_vmxcore;
	if (!strcmp(name, "kvm"))
		return &vb_kvm;
	return NULL;
}
