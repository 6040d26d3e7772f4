// SPDX-License-Identifier: GPL-2.0
/*
 * ept.c: extended page tables, 4 levels, 4 KiB leaves, filled on demand.
 *
 * A leaf maps one page of a memory slot's user memory, pinned
 * (FOLL_LONGTERM) for as long as the leaf exists. A page pinned for writing
 * keeps EPT_PINNED_W in its leaf; the hardware W bit may come and go with
 * dirty logging (dirty.c), which write-protects leaves without unpinning.
 * Leaves are removed when their slot is deleted and when the VM is
 * destroyed; a leaf for a page the driver owns (EPT_DRIVER_PAGE: the
 * APIC-access page) stays until the VM is destroyed and is never unpinned
 * or write-protected; each pin and each table page is counted (vmx_pages_pinned,
 * vmx_pages_ept) so tests can prove that destroying a VM gives every page
 * back.
 *
 * Environment: process context, the VM's mem_lock held by the caller.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/smp.h>
#include <asm/io.h>

#include "vmxcore.h"
#include "vmx_ops.h"

#define EPT_READ	(1ull << 0)
#define EPT_WRITE	(1ull << 1)
#define EPT_EXEC	(1ull << 2)
#define EPT_MT_WB	(6ull << 3)	/* leaf memory type: write-back */
#define EPT_ADDR_MASK	0x000ffffffffff000ull
/* Software bit (leaf bits 56:52 are ignored by the CPU): pinned with FOLL_WRITE. */
#define EPT_PINNED_W	(1ull << 52)
/* Software bit: a page of the driver's own (the APIC-access page), not pinned. */
#define EPT_DRIVER_PAGE	(1ull << 53)
#define EPT_LEVELS	4

#define EPTP_MT_WB	6ull
#define EPTP_WALK_4	(3ull << 3)	/* page-walk length minus one */

atomic_long_t vmx_pages_pinned = ATOMIC_LONG_INIT(0);
atomic_long_t vmx_pages_ept = ATOMIC_LONG_INIT(0);

static u64 *ept_alloc_table(void)
{
	u64 *table = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);

	if (table)
		atomic_long_inc(&vmx_pages_ept);
	return table;
}

static void ept_free_table(u64 *table)
{
	free_page((unsigned long)table);
	atomic_long_dec(&vmx_pages_ept);
}

static unsigned int ept_index(u64 gpa, int level)
{
	return (gpa >> (12 + 9 * (level - 1))) & 511;
}

int ept_init(struct vmx_ept *ept)
{
	ept->root = ept_alloc_table();
	if (!ept->root)
		return -ENOMEM;
	ept->eptp = virt_to_phys(ept->root) | EPTP_MT_WB | EPTP_WALK_4;
	return 0;
}

/* The leaf entry for @gpa, allocating tables on the way when @create. */
static u64 *ept_walk(struct vmx_ept *ept, u64 gpa, bool create)
{
	u64 *table = ept->root;
	int level;

	for (level = EPT_LEVELS; level > 1; level--) {
		u64 *entry = &table[ept_index(gpa, level)];

		if (!(*entry & EPT_READ)) {
			u64 *next;

			if (!create)
				return NULL;
			next = ept_alloc_table();
			if (!next)
				return NULL;
			*entry = virt_to_phys(next) | EPT_READ | EPT_WRITE | EPT_EXEC;
		}
		table = phys_to_virt(*entry & EPT_ADDR_MASK);
	}
	return &table[ept_index(gpa, 1)];
}

static unsigned int ept_pin_flags(unsigned int how)
{
	return FOLL_LONGTERM | ((how & EPT_MAP_WRITABLE) ? FOLL_WRITE : 0);
}

/* The leaf for @page: writable pages lose W while they are write-protected. */
static u64 ept_leaf(struct page *page, unsigned int how)
{
	u64 leaf = page_to_phys(page) | EPT_READ | EPT_EXEC | EPT_MT_WB;

	if (how & EPT_MAP_WRITABLE)
		leaf |= EPT_PINNED_W | ((how & EPT_MAP_WRITE_PROTECT) ? 0 : EPT_WRITE);
	return leaf;
}

/*
 * Maps the page at @uaddr (in current->mm) at @gpa, @how being EPT_MAP_*.
 * Returns 0, -EFAULT when the user page cannot be pinned, -ENOMEM.
 */
int ept_map(struct vmx_ept *ept, u64 gpa, unsigned long uaddr, unsigned int how)
{
	struct page *page;
	u64 *leaf;
	int got;

	leaf = ept_walk(ept, gpa, true);
	if (!leaf)
		return -ENOMEM;
	if (*leaf & EPT_READ)
		return 0;	/* another vCPU mapped it first */
	got = pin_user_pages_fast(uaddr, 1, ept_pin_flags(how), &page);
	if (got != 1)
		return got < 0 ? got : -EFAULT;
	atomic_long_inc(&vmx_pages_pinned);
	*leaf = ept_leaf(page, how);
	return 0;
}

/*
 * Maps @n pages from @gpa, backed from @uaddr, with one pin call: a guest
 * touching its RAM would otherwise take one EPT violation per 4 KiB page
 * (a Linux boot touches tens of thousands). Pages another vCPU mapped in
 * the meantime keep their mapping. Returns how many pages from @gpa are
 * mapped now (at least 1), or -EFAULT / -ENOMEM.
 */
int ept_map_range(struct vmx_ept *ept, u64 gpa, unsigned long uaddr,
		  unsigned int n, unsigned int how)
{
	struct page **pages;
	int got, i, ret;

	pages = kvmalloc_array(n, sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		return -ENOMEM;
	got = pin_user_pages_fast(uaddr, n, ept_pin_flags(how), pages);
	if (got <= 0) {
		kvfree(pages);
		return got < 0 ? got : -EFAULT;
	}
	for (i = 0; i < got; i++) {
		u64 *leaf = ept_walk(ept, gpa + (u64)i * PAGE_SIZE, true);

		if (!leaf) {
			unpin_user_pages(pages + i, got - i);
			break;
		}
		if (*leaf & EPT_READ) {
			unpin_user_page(pages[i]);	/* mapped first elsewhere */
			continue;
		}
		atomic_long_inc(&vmx_pages_pinned);
		*leaf = ept_leaf(pages[i], how);
	}
	ret = i ? i : -ENOMEM;
	kvfree(pages);
	return ret;
}

static void ept_release_leaf(u64 *leaf)
{
	struct page *page = pfn_to_page((*leaf & EPT_ADDR_MASK) >> PAGE_SHIFT);

	if (*leaf & EPT_DRIVER_PAGE) {
		*leaf = 0;	/* its owner frees it */
		return;
	}
	if (*leaf & EPT_PINNED_W)
		unpin_user_pages_dirty_lock(&page, 1, true);
	else
		unpin_user_page(page);
	atomic_long_dec(&vmx_pages_pinned);
	*leaf = 0;
}

/* Removes the leaves of [gpa, gpa + size); tables stay until destroy. */
void ept_unmap_range(struct vmx_ept *ept, u64 gpa, u64 size)
{
	u64 end = gpa + size;

	for (; gpa < end; gpa += PAGE_SIZE) {
		u64 *leaf = ept_walk(ept, gpa, false);

		if (leaf && (*leaf & EPT_READ) && !(*leaf & EPT_DRIVER_PAGE))
			ept_release_leaf(leaf);
	}
}

/*
 * Maps @page, which the driver owns, at @gpa, readable and writable, until
 * ept_destroy(); a slot page mapped there first gives way. Returns 0 or
 * -ENOMEM. The caller flushes if a CPU may have used the old leaf.
 */
int ept_map_driver_page(struct vmx_ept *ept, u64 gpa, struct page *page)
{
	u64 *leaf = ept_walk(ept, gpa, true);

	if (!leaf)
		return -ENOMEM;
	if (*leaf & EPT_READ)
		ept_release_leaf(leaf);
	*leaf = page_to_phys(page) | EPT_READ | EPT_WRITE | EPT_EXEC | EPT_MT_WB |
		EPT_DRIVER_PAGE;
	return 0;
}

/*
 * Gives the leaf at @gpa its W bit back, if it is mapped and was pinned for
 * writing. Returns whether the page is writable now. Granting needs no
 * INVEPT: a CPU still holding the read-only translation takes an EPT
 * violation, which drops that cached translation (SDM Vol. 3C, "Operations
 * that Invalidate Cached Mappings"), and its handler finds the leaf writable.
 */
bool ept_allow_write(struct vmx_ept *ept, u64 gpa)
{
	u64 *leaf = ept_walk(ept, gpa, false);

	if (!leaf || !(*leaf & EPT_READ) || !(*leaf & EPT_PINNED_W))
		return false;
	*leaf |= EPT_WRITE;
	return true;
}

/*
 * Takes W away from the leaf at @gpa. Returns whether it had W, in which
 * case the caller must ept_flush_all_cpus() before relying on it.
 */
bool ept_write_protect(struct vmx_ept *ept, u64 gpa)
{
	u64 *leaf = ept_walk(ept, gpa, false);

	if (!leaf || !(*leaf & EPT_WRITE) || (*leaf & EPT_DRIVER_PAGE))
		return false;
	*leaf &= ~EPT_WRITE;
	return true;
}

/*
 * Write-protects (@protect) or gives W back to every mapped page of
 * [gpa, gpa + size) pinned for writing. Returns whether a W bit was taken
 * away (the caller flushes then).
 */
bool ept_protect_range(struct vmx_ept *ept, u64 gpa, u64 size, bool protect)
{
	u64 end = gpa + size;
	bool taken = false;

	for (; gpa < end; gpa += PAGE_SIZE) {
		if (protect)
			taken |= ept_write_protect(ept, gpa);
		else
			ept_allow_write(ept, gpa);
	}
	return taken;
}

static void ept_destroy_level(u64 *table, int level)
{
	int i;

	for (i = 0; i < 512; i++) {
		if (!(table[i] & EPT_READ))
			continue;
		if (level == 1)
			ept_release_leaf(&table[i]);
		else
			ept_destroy_level(phys_to_virt(table[i] & EPT_ADDR_MASK), level - 1);
	}
	ept_free_table(table);
}

void ept_destroy(struct vmx_ept *ept)
{
	if (ept->root)
		ept_destroy_level(ept->root, EPT_LEVELS);
	ept->root = NULL;
}

static void ept_flush_this_cpu(void *eptp)
{
	const struct vmxcore_caps *caps = vmx_caps();

	/* IA32_VMX_EPT_VPID_CAP bit 25: single-context INVEPT supported */
	if (caps->ept_vpid_cap & (1ull << 25))
		vmx_invept(VMX_INVEPT_SINGLE, *(u64 *)eptp);
	else
		vmx_invept(VMX_INVEPT_GLOBAL, 0);
}

/*
 * INVEPT acts on the executing CPU only, so every CPU runs it: a CPU now in
 * a guest of this VM takes the IPI as an external-interrupt exit first.
 */
void ept_flush_all_cpus(struct vmx_ept *ept)
{
	on_each_cpu(ept_flush_this_cpu, &ept->eptp, 1);
}
