// SPDX-License-Identifier: GPL-2.0
/*
 * gmem.c: guest memory as the kernel sees it: guest-physical reads and
 * writes through the memory slots, and the guest's own page-table walk from
 * a linear address (for string I/O and fetching the instruction that
 * touched device memory).
 *
 * Environment: process context in the VM's process (current->mm is the
 * slots' mm), preemption enabled: user copies may fault pages in.
 */
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <asm/processor-flags.h>
#include <asm/msr-index.h>

#include "vmxcore.h"

/* Copies within one slot; a range crossing slots is split by the callers. */
static int gmem_copy(struct vmx_vm *vm, u64 gpa, void *buf, unsigned int len, bool write)
{
	const struct vmx_slot *slot;
	void __user *uaddr;
	int ret = -EFAULT;

	mutex_lock(&vm->mem_lock);
	slot = vm_find_slot(vm, gpa);
	if (slot && gpa + len <= slot->gpa + slot->size &&
	    !(write && (slot->flags & VMXCORE_MEM_READONLY))) {
		uaddr = (void __user *)(slot->uaddr + (gpa - slot->gpa));
		ret = write ? copy_to_user(uaddr, buf, len) : copy_from_user(buf, uaddr, len);
		ret = ret ? -EFAULT : 0;
		if (write)
			dirty_log_mark(slot, gpa);	/* even a partial copy wrote */
	}
	mutex_unlock(&vm->mem_lock);
	return ret;
}

/* Reads guest-physical memory, page by page. -EFAULT outside RAM slots. */
int gmem_read(struct vmx_vm *vm, u64 gpa, void *buf, unsigned int len)
{
	while (len) {
		unsigned int chunk = min_t(u64, len, PAGE_SIZE - (gpa & ~PAGE_MASK));
		int ret = gmem_copy(vm, gpa, buf, chunk, false);

		if (ret)
			return ret;
		gpa += chunk;
		buf += chunk;
		len -= chunk;
	}
	return 0;
}

int gmem_write(struct vmx_vm *vm, u64 gpa, const void *buf, unsigned int len)
{
	while (len) {
		unsigned int chunk = min_t(u64, len, PAGE_SIZE - (gpa & ~PAGE_MASK));
		int ret = gmem_copy(vm, gpa, (void *)buf, chunk, true);

		if (ret)
			return ret;
		gpa += chunk;
		buf += chunk;
		len -= chunk;
	}
	return 0;
}

/* True when [@gpa, @gpa + @len) is RAM of one slot (writable, for @write). */
bool gmem_is_ram(struct vmx_vm *vm, u64 gpa, unsigned int len, bool write)
{
	const struct vmx_slot *slot;
	bool ram;

	mutex_lock(&vm->mem_lock);
	slot = vm_find_slot(vm, gpa);
	ram = slot && gpa + len <= slot->gpa + slot->size &&
	      !(write && (slot->flags & VMXCORE_MEM_READONLY));
	mutex_unlock(&vm->mem_lock);
	return ram;
}

#define PTE_P		(1ull << 0)
#define PTE_W		(1ull << 1)
#define PTE_US		(1ull << 2)
#define PTE_PS		(1ull << 7)
#define PTE_ADDR	0x000ffffffffff000ull

/* The access bits gmem_translate() takes: W for a write, U at CPL 3 (SS.DPL). */
u32 gmem_access(const struct vmx_vcpu *vcpu, bool write)
{
	return (write ? GMEM_PF_W : 0) | (((vcpu->exit.ss_ar >> 5) & 3) == 3 ? GMEM_PF_U : 0);
}

/*
 * Walks the guest's page tables (SDM Vol. 3A 4.3-4.6) for @gla with the
 * control registers of the last exit. @access is GMEM_PF_W and/or GMEM_PF_U.
 * Returns 0 and the guest-physical address; GMEM_FAULT when the guest must
 * take a #PF, with the error code in *@pf_error (P set when every level was
 * present and the rights denied the access: a write to a read-only page at
 * CPL 3 or with CR0.WP, or a user access to a supervisor page); -EFAULT
 * when a table is not in RAM. Accessed and dirty bits are not set, and
 * reserved bits, SMEP/SMAP and protection keys are not checked.
 */
int gmem_translate(struct vmx_vcpu *vcpu, u64 gla, u32 access, u64 *gpa, u32 *pf_error)
{
	u64 cr0 = vcpu->exit.cr0, cr4 = vcpu->exit.cr4, efer = vcpu->exit.efer;
	u64 table = vcpu->exit.cr3, entry = 0, rights = PTE_W | PTE_US;
	bool write = access & GMEM_PF_W, user = access & GMEM_PF_U;
	int levels, level, shift;
	bool wide;

	*pf_error = access & (GMEM_PF_W | GMEM_PF_U);
	if (!(cr0 & X86_CR0_PG)) {
		*gpa = gla & 0xffffffffull;
		return 0;
	}
	if (efer & EFER_LMA) {
		levels = (cr4 & X86_CR4_LA57) ? 5 : 4;
		wide = true;
		table &= PTE_ADDR;
	} else if (cr4 & X86_CR4_PAE) {
		u64 pdpte;

		if (gmem_read(vcpu->vm, (table & 0xffffffe0ull) + ((gla >> 30) & 3) * 8, &pdpte, 8))
			return -EFAULT;
		if (!(pdpte & PTE_P))
			return GMEM_FAULT;
		table = pdpte & PTE_ADDR;	/* PAE PDPTEs carry no R/W or U/S */
		levels = 2;
		wide = true;
	} else {
		levels = 2;
		wide = false;
		table &= 0xfffff000ull;
	}

	for (level = levels; level >= 1; level--) {
		shift = 12 + (wide ? 9 : 10) * (level - 1);
		if (wide) {
			if (gmem_read(vcpu->vm, table + ((gla >> shift) & 511) * 8, &entry, 8))
				return -EFAULT;
		} else {
			u32 e32;

			if (gmem_read(vcpu->vm, table + ((gla >> shift) & 1023) * 4, &e32, 4))
				return -EFAULT;
			entry = e32;
		}
		if (!(entry & PTE_P))
			return GMEM_FAULT;
		rights &= entry;
		/* Large pages: 1 GiB or 2 MiB (wide), 4 MiB (32-bit with PSE). */
		if (level > 1 && (entry & PTE_PS) && (wide || (cr4 & X86_CR4_PSE))) {
			u64 mask = (1ull << shift) - 1;
			u64 base = wide ? entry & PTE_ADDR & ~mask :
				   (entry & 0xffc00000ull) | ((entry & 0x1fe000ull) << 19);

			*gpa = base | (gla & mask);
			goto check;
		}
		table = wide ? entry & PTE_ADDR : entry & 0xfffff000ull;
	}
	*gpa = table | (gla & 0xfff);
check:
	/* The rights are those of every level together (SDM Vol. 3A 4.6.1). */
	if ((user && !(rights & PTE_US)) ||
	    (write && !(rights & PTE_W) && (user || (cr0 & X86_CR0_WP)))) {
		*pf_error |= GMEM_PF_P;
		return GMEM_FAULT;
	}
	return 0;
}
