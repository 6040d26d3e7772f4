// SPDX-License-Identifier: GPL-2.0
/*
 * vm.c: VM file descriptors and their memory slots.
 *
 * A VM holds a reference on VMX operation (vmxon.c) for its whole life: VMX
 * is on, on every online CPU, from VMXCORE_CREATE_VM until the VM fd and
 * every vCPU fd are closed. Each fd also pins the module.
 *
 * Environment: process context.
 */
#include <linux/anon_inodes.h>
#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vmxcore.h"

static atomic_t vm_alive = ATOMIC_INIT(0);

unsigned int vm_count(void)
{
	return atomic_read(&vm_alive);
}

static void vm_destroy(struct kref *ref)
{
	struct vmx_vm *vm = container_of(ref, struct vmx_vm, ref);
	int i;

	/* No vCPU is left, so no CPU can be using these tables. */
	ept_destroy(&vm->ept);
	vm_apic_free_assists(vm);
	for (i = 0; i < VMXCORE_MAX_SLOTS; i++)
		kvfree(vm->slots[i].dirty_bitmap);
	mmdrop(vm->mm);
	kfree(vm);
	atomic_dec(&vm_alive);
	vmx_put();
}

void vm_put(struct vmx_vm *vm)
{
	kref_put(&vm->ref, vm_destroy);
}

/* The slot holding @gpa, or NULL. Caller holds mem_lock. */
const struct vmx_slot *vm_find_slot(struct vmx_vm *vm, u64 gpa)
{
	int i;

	for (i = 0; i < VMXCORE_MAX_SLOTS; i++) {
		const struct vmx_slot *s = &vm->slots[i];

		if (s->used && gpa >= s->gpa && gpa - s->gpa < s->size)
			return s;
	}
	return NULL;
}

static bool vm_slot_overlaps(struct vmx_vm *vm, u64 gpa, u64 size)
{
	int i;

	for (i = 0; i < VMXCORE_MAX_SLOTS; i++) {
		const struct vmx_slot *s = &vm->slots[i];

		if (s->used && gpa < s->gpa + s->size && s->gpa < gpa + size)
			return true;
	}
	return false;
}

static int vm_delete_slot(struct vmx_vm *vm, struct vmx_slot *slot)
{
	if (!slot->used)
		return -EINVAL;
	ept_unmap_range(&vm->ept, slot->gpa, slot->size);
	ept_flush_all_cpus(&vm->ept);
	kvfree(slot->dirty_bitmap);
	*slot = (struct vmx_slot){ 0 };
	return 0;
}

/*
 * Setting a slot in use again is allowed only to turn dirty logging on or
 * off: same range and memory, flags differing in VMXCORE_MEM_LOG_DIRTY.
 */
static int vm_change_slot(struct vmx_vm *vm, struct vmx_slot *slot,
			  const struct vmxcore_memory_slot *m)
{
	if (m->guest_phys != slot->gpa || m->size != slot->size ||
	    m->user_addr != slot->uaddr || (m->flags ^ slot->flags) != VMXCORE_MEM_LOG_DIRTY)
		return -EINVAL;
	slot->flags = m->flags;
	if (!(m->flags & VMXCORE_MEM_LOG_DIRTY)) {
		dirty_log_stop(vm, slot);
		return 0;
	}
	if (dirty_log_start(vm, slot)) {
		slot->flags &= ~VMXCORE_MEM_LOG_DIRTY;
		return -ENOMEM;
	}
	return 0;
}

static int vm_add_slot(struct vmx_vm *vm, struct vmx_slot *slot,
		       const struct vmxcore_memory_slot *m)
{
	if (vm_slot_overlaps(vm, m->guest_phys, m->size))
		return -EINVAL;
	*slot = (struct vmx_slot){ .flags = m->flags, .gpa = m->guest_phys,
				   .size = m->size, .uaddr = m->user_addr };
	/* Nothing is mapped yet: starting the log only allocates it. */
	if ((m->flags & VMXCORE_MEM_LOG_DIRTY) && dirty_log_start(vm, slot))
		return -ENOMEM;
	slot->used = true;
	return 0;
}

/*
 * VMXCORE_SET_MEMORY_SLOT. Adds a slot (its id must be free), deletes one
 * (size 0), or turns a slot's dirty logging on or off (vm_change_slot()).
 * Misaligned, overlapping, out-of-range or unknown-flag requests get -EINVAL
 * and change nothing; -ENOMEM when the dirty log cannot be allocated.
 */
static int vm_set_memory_slot(struct vmx_vm *vm, const struct vmxcore_memory_slot *m)
{
	u64 gpa_limit = 1ull << boot_cpu_data.x86_phys_bits;
	struct vmx_slot *slot;
	int ret;

	if (m->slot >= VMXCORE_MAX_SLOTS ||
	    (m->flags & ~(VMXCORE_MEM_READONLY | VMXCORE_MEM_LOG_DIRTY)))
		return -EINVAL;
	if (!PAGE_ALIGNED(m->guest_phys) || !PAGE_ALIGNED(m->size) ||
	    !PAGE_ALIGNED(m->user_addr))
		return -EINVAL;
	if (m->size && (m->guest_phys + m->size < m->guest_phys ||
			m->guest_phys + m->size > gpa_limit ||
			!access_ok((void __user *)(unsigned long)m->user_addr, m->size)))
		return -EINVAL;

	mutex_lock(&vm->mem_lock);
	slot = &vm->slots[m->slot];
	if (m->size == 0)
		ret = vm_delete_slot(vm, slot);
	else if (slot->used)
		ret = vm_change_slot(vm, slot, m);
	else
		ret = vm_add_slot(vm, slot, m);
	mutex_unlock(&vm->mem_lock);
	return ret;
}

static long vm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vmx_vm *vm = file->private_data;
	struct vmxcore_memory_slot m;
	struct vmxcore_apic_irq irq;
	struct vmxcore_dirty_log log;

	if (vm->mm != current->mm)
		return -EIO;	/* a VM serves the process that made it */
	switch (cmd) {
	case VMXCORE_SET_MEMORY_SLOT:
		if (copy_from_user(&m, (void __user *)arg, sizeof(m)))
			return -EFAULT;
		return vm_set_memory_slot(vm, &m);
	case VMXCORE_CREATE_VCPU:
		return vcpu_create_fd(vm, arg);
	case VMXCORE_CREATE_LAPIC:
		return arg ? -EINVAL : vm_create_lapic(vm);
	case VMXCORE_APIC_IRQ:
		if (copy_from_user(&irq, (void __user *)arg, sizeof(irq)))
			return -EFAULT;
		return vm_apic_irq(vm, &irq);
	case VMXCORE_GET_DIRTY_LOG:
		if (copy_from_user(&log, (void __user *)arg, sizeof(log)))
			return -EFAULT;
		return vm_get_dirty_log(vm, &log);
	default:
		return -ENOTTY;
	}
}

static int vm_release(struct inode *inode, struct file *file)
{
	vm_put(file->private_data);
	return 0;
}

static const struct file_operations vm_fops = {
	.owner		= THIS_MODULE,
	.release	= vm_release,
	.unlocked_ioctl	= vm_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

/*
 * VMXCORE_CREATE_VM: @type must be 0. Returns the new fd or -errno:
 * -EOPNOTSUPP (with the reason logged) on CPUs without EPT or unrestricted
 * guest, -ENOSPC past VMXCORE_MAX_VMS, -EBUSY while another hypervisor owns
 * VMX.
 */
int vm_create_fd(unsigned long type)
{
	const char *why;
	struct vmx_vm *vm;
	int ret, fd;

	if (type != 0)
		return -EINVAL;
	if (!vmx_can_run_vms(&why)) {
		pr_err_ratelimited(VMX_PR_PREFIX "cannot create VMs: %s\n", why);
		return -EOPNOTSUPP;
	}
	if (atomic_inc_return(&vm_alive) > VMXCORE_MAX_VMS) {
		atomic_dec(&vm_alive);
		return -ENOSPC;
	}
	ret = -ENOMEM;
	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		goto undo_count;
	kref_init(&vm->ref);
	mutex_init(&vm->mem_lock);
	mutex_init(&vm->vcpu_lock);
	ret = ept_init(&vm->ept);
	if (ret)
		goto free_vm;
	ret = vmx_get();
	if (ret)
		goto free_ept;
	mmgrab(current->mm);
	vm->mm = current->mm;
	fd = anon_inode_getfd("vmxcore-vm", &vm_fops, vm, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		vm_put(vm);	/* undoes everything above */
		return fd;
	}
	return fd;

free_ept:
	ept_destroy(&vm->ept);
free_vm:
	kfree(vm);
undo_count:
	atomic_dec(&vm_alive);
	return ret;
}
