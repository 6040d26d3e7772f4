// SPDX-License-Identifier: GPL-2.0
/*
 * msr_bitmap.c: which guest RDMSR/WRMSR exit (SDM Vol. 3C 24.6.9). Each
 * vCPU has a 4 KiB MSR bitmap: read bits for MSRs 0-0x1FFF, read bits for
 * 0xC0000000-0xC0001FFF, then the same two for writes; a set bit makes the
 * access exit. Every bit starts set, so every MSR access exits and is
 * handled by exit.c as without a bitmap (MSRs outside both ranges always
 * exit); MSRs the hardware itself virtualizes are opened one by one
 * (apic.c: the x2APIC TPR under x2APIC virtualization).
 *
 * Environment: process context, the vCPU's thread (vcpu->mutex held): the
 * bitmap only changes while the vCPU is out of the guest.
 */
#include <linux/bitops.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/string.h>

#include "vmxcore.h"

#define MSR_BITMAP_HIGH_BASE	0xc0000000u
#define MSR_BITMAP_RANGE	0x2000u
#define MSR_BITMAP_WRITE_OFFSET	2048	/* bytes: read bitmaps, then write bitmaps */
#define MSR_BITMAP_HIGH_OFFSET	1024	/* bytes: the high range after the low one */

int vcpu_msr_bitmap_alloc(struct vmx_vcpu *vcpu)
{
	vcpu->msr_bitmap = alloc_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->msr_bitmap)
		return -ENOMEM;
	memset(page_address(vcpu->msr_bitmap), 0xff, PAGE_SIZE);
	return 0;
}

void vcpu_msr_bitmap_free(struct vmx_vcpu *vcpu)
{
	if (vcpu->msr_bitmap)
		__free_page(vcpu->msr_bitmap);
	vcpu->msr_bitmap = NULL;
}

/* The byte array holding @msr's bit for reads or writes; NULL: out of range. */
static unsigned long *msr_bitmap_half(struct vmx_vcpu *vcpu, u32 msr, bool write, u32 *bit)
{
	u8 *base = page_address(vcpu->msr_bitmap);

	if (write)
		base += MSR_BITMAP_WRITE_OFFSET;
	if (msr < MSR_BITMAP_RANGE) {
		*bit = msr;
		return (unsigned long *)base;
	}
	if (msr - MSR_BITMAP_HIGH_BASE < MSR_BITMAP_RANGE) {
		*bit = msr - MSR_BITMAP_HIGH_BASE;
		return (unsigned long *)(base + MSR_BITMAP_HIGH_OFFSET);
	}
	return NULL;
}

/* Makes RDMSR (@read) and WRMSR (@write) of @msr exit, or not. */
void vcpu_msr_intercept(struct vmx_vcpu *vcpu, u32 msr, bool read, bool write)
{
	unsigned long *half;
	u32 bit;

	half = msr_bitmap_half(vcpu, msr, false, &bit);
	if (WARN_ON_ONCE(!half))
		return;
	if (read)
		__set_bit(bit, half);
	else
		__clear_bit(bit, half);
	half = msr_bitmap_half(vcpu, msr, true, &bit);
	if (write)
		__set_bit(bit, half);
	else
		__clear_bit(bit, half);
}
