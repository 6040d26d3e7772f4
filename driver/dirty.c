// SPDX-License-Identifier: GPL-2.0
/*
 * dirty.c: dirty page logging (VMXCORE_MEM_LOG_DIRTY, VMXCORE_GET_DIRTY_LOG).
 *
 * The pages of a logging slot are mapped without EPT write permission. The
 * first guest write to one takes an EPT violation (exit.c), which sets the
 * page's bit and gives that one leaf W, so later writes run at full speed
 * until the log is collected. Collecting copies the bits out, clears them,
 * takes W away from exactly the pages they name and runs INVEPT on every
 * CPU before returning, all under mem_lock, which the violation handler
 * needs too. Hence the invariant the atomicity rests on: a leaf of a logging
 * slot has W only while its bit is set, so a write that a CPU makes through
 * a translation with W lands in a page that this or the next collection
 * reports. Pages stay pinned throughout: logging changes permissions only.
 *
 * Writes the kernel makes on the guest's behalf (gmem.c) set bits directly.
 *
 * Environment: process context, the VM's mem_lock held except in
 * vm_get_dirty_log(), which takes it.
 */
#include <linux/bitops.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vmxcore.h"

/* The user's bitmap: a bit per page, whole 64-bit words (the uapi layout). */
static size_t dirty_log_bytes(const struct vmx_slot *slot)
{
	return DIV_ROUND_UP(slot->size >> PAGE_SHIFT, 64) * 8;
}

/* Starts an empty log and write-protects the slot's mapped pages. -ENOMEM. */
int dirty_log_start(struct vmx_vm *vm, struct vmx_slot *slot)
{
	BUILD_BUG_ON(BITS_PER_LONG != 64);	/* kernel words are the uapi's */
	slot->dirty_bitmap = kvzalloc(dirty_log_bytes(slot), GFP_KERNEL_ACCOUNT);
	if (!slot->dirty_bitmap)
		return -ENOMEM;
	if (ept_protect_range(&vm->ept, slot->gpa, slot->size, true))
		ept_flush_all_cpus(&vm->ept);
	return 0;
}

/* Drops the log; the slot's pages get W back (no flush needed to grant). */
void dirty_log_stop(struct vmx_vm *vm, struct vmx_slot *slot)
{
	ept_protect_range(&vm->ept, slot->gpa, slot->size, false);
	kvfree(slot->dirty_bitmap);
	slot->dirty_bitmap = NULL;
}

/* Notes a write to @gpa of @slot, if the slot logs. */
void dirty_log_mark(const struct vmx_slot *slot, u64 gpa)
{
	if (slot->dirty_bitmap)
		__set_bit((gpa - slot->gpa) >> PAGE_SHIFT, slot->dirty_bitmap);
}

/*
 * A guest write hit a mapped page without W: log it and let the guest write.
 * Returns 0, or -EFAULT when the page was not pinned for writing (the slot's
 * memory went away under it).
 */
int dirty_log_write_fault(struct vmx_vm *vm, const struct vmx_slot *slot, u64 gpa)
{
	if (!ept_allow_write(&vm->ept, gpa & PAGE_MASK))
		return -EFAULT;
	dirty_log_mark(slot, gpa);
	return 0;
}

/* Clears the log and write-protects the pages it named, then flushes. */
static void dirty_log_clear(struct vmx_vm *vm, struct vmx_slot *slot)
{
	size_t words = dirty_log_bytes(slot) / sizeof(unsigned long), w;
	bool flush = false;

	for (w = 0; w < words; w++) {
		unsigned long bits = slot->dirty_bitmap[w];

		slot->dirty_bitmap[w] = 0;
		while (bits) {
			u64 page = w * BITS_PER_LONG + __ffs(bits);

			flush |= ept_write_protect(&vm->ept, slot->gpa + (page << PAGE_SHIFT));
			bits &= bits - 1;
		}
	}
	if (flush)
		ept_flush_all_cpus(&vm->ept);
}

/*
 * VMXCORE_GET_DIRTY_LOG. The copy comes first: when it fails the log stays
 * as it was. mem_lock keeps the violation handler from setting bits between
 * the copy and the clear; user copies under mem_lock are what gmem.c does.
 */
int vm_get_dirty_log(struct vmx_vm *vm, const struct vmxcore_dirty_log *log)
{
	void __user *ubitmap = u64_to_user_ptr(log->dirty_bitmap);
	struct vmx_slot *slot;
	int ret = 0;

	if (log->slot >= VMXCORE_MAX_SLOTS || log->padding)
		return -EINVAL;
	mutex_lock(&vm->mem_lock);
	slot = &vm->slots[log->slot];
	if (!slot->used || !slot->dirty_bitmap)
		ret = -ENOENT;
	else if (copy_to_user(ubitmap, slot->dirty_bitmap, dirty_log_bytes(slot)))
		ret = -EFAULT;
	else
		dirty_log_clear(vm, slot);
	mutex_unlock(&vm->mem_lock);
	return ret;
}
