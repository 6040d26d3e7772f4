// SPDX-License-Identifier: GPL-2.0
/*
 * mmio.c: a guest access to guest-physical memory that no RAM slot backs
 * (or a write to a read-only slot) is device memory: fetch the instruction,
 * decode it (insn_decode.c), and hand {address, size, direction, data} to
 * userspace as VMXCORE_EXIT_MMIO. A load finishes at the next RUN, when the
 * data userspace supplied goes into the destination register.
 *
 * STOS and MOVS move one element per exit, as the hardware restarts string
 * instructions: the element's MMIO access goes to userspace, rSI/rDI (and
 * rCX with REP) step, and RIP stays on a REP whose count is not exhausted,
 * so the guest executes it again and the next element exits again.
 *
 * Environment: process context, preemption enabled (guest memory is read
 * through the slots' user mappings).
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <asm/processor-flags.h>

#include "vmxcore.h"

#define CS_AR_L		(1u << 13)
#define CS_AR_DB	(1u << 14)

static enum insn_mode vmx_cs_mode(const struct vmx_exit_info *e)
{
	if ((e->efer & EFER_LMA) && (e->cs_ar & CS_AR_L))
		return INSN_MODE_64;
	return (e->cs_ar & CS_AR_DB) ? INSN_MODE_32 : INSN_MODE_16;
}

/* Reads up to 15 instruction bytes at CS:RIP; returns how many it got. */
static unsigned int vmx_fetch_insn(struct vmx_vcpu *vcpu, u8 *buf)
{
	const struct vmx_exit_info *e = &vcpu->exit;
	u64 gla = e->seg_base[INSN_SEG_CS] + vcpu->rip, gpa;
	unsigned int got = 0;
	u32 pf_error;

	if (vmx_cs_mode(e) != INSN_MODE_64)
		gla = (u32)gla;
	while (got < 15) {
		unsigned int chunk = min_t(u64, 15 - got, PAGE_SIZE - ((gla + got) & ~PAGE_MASK));

		if (gmem_translate(vcpu, gla + got, 0, &gpa, &pf_error) ||
		    gmem_read(vcpu->vm, gpa, buf + got, chunk))
			break;
		got += chunk;
	}
	return got;
}

static int vmx_mmio_unsupported(struct vmx_vcpu *vcpu, u64 gpa, int err, unsigned int opcode)
{
	struct vmxcore_run *run = vcpu->run;

	pr_info_ratelimited(VMX_PR_PREFIX "MMIO at %#llx from RIP %#lx: %s (opcode %#x)\n",
			    gpa, vcpu->rip, insn_strerror(err), opcode);
	run->exit_reason = VMXCORE_EXIT_INTERNAL_ERROR;
	run->internal.suberror = VMXCORE_INTERNAL_EMULATION;
	run->internal.ndata = 3;
	run->internal.data[0] = gpa;
	run->internal.data[1] = vcpu->rip;
	run->internal.data[2] = opcode;
	return 0;
}

static u64 vmx_addr_mask(unsigned int addr_size)
{
	return addr_size == 8 ? ~0ull : (1ull << (8 * addr_size)) - 1;
}

/*
 * The linear address of a string operand, @seg:@reg in the instruction's
 * address size. In 64-bit mode only FS and GS have a base (SDM Vol. 3A
 * 3.4.4); elsewhere the sum wraps at 4 GiB. Limits are not checked.
 */
static u64 vmx_string_gla(const struct vmx_vcpu *vcpu, const struct insn_mmio *d,
			  enum insn_seg seg, unsigned long reg)
{
	const struct vmx_exit_info *e = &vcpu->exit;
	u64 offset = reg & vmx_addr_mask(d->addr_size);

	if (vmx_cs_mode(e) == INSN_MODE_64)
		return (seg == INSN_SEG_FS || seg == INSN_SEG_GS) ? e->seg_base[seg] + offset : offset;
	return (u32)(e->seg_base[seg] + offset);
}

/*
 * The RAM operand of a MOVS whose other side is device memory, at @gla.
 * Returns -1 with its guest-physical address in *@gpa; otherwise what the
 * exit handler returns: 1 after queueing the #PF the guest takes there, 0
 * with run->internal set (both sides device memory, an element across a
 * page boundary, page tables outside RAM).
 */
static int vmx_movs_ram(struct vmx_vcpu *vcpu, const struct insn_mmio *d, u64 mmio_gpa,
			u64 gla, bool write, u64 *gpa)
{
	u32 pf_error;
	int ret;

	if ((gla & ~PAGE_MASK) + d->size > PAGE_SIZE) {
		pr_info_ratelimited(VMX_PR_PREFIX "MOVS: element at %#llx crosses a page\n", gla);
		return vmx_mmio_unsupported(vcpu, mmio_gpa, INSN_E_UNSUPPORTED, d->opcode);
	}
	ret = gmem_translate(vcpu, gla, gmem_access(vcpu, write), gpa, &pf_error);
	if (ret == GMEM_FAULT) {
		vcpu_inject_pf(vcpu, gla, pf_error);
		return 1;
	}
	if (ret || !gmem_is_ram(vcpu->vm, *gpa, d->size, write)) {
		pr_info_ratelimited(VMX_PR_PREFIX "MOVS: its %s operand at %#llx is not RAM either\n",
				    write ? "destination" : "source", gla);
		return vmx_mmio_unsupported(vcpu, mmio_gpa, INSN_E_UNSUPPORTED, d->opcode);
	}
	return -1;	/* *gpa is RAM: go on */
}

/*
 * One element of STOS or MOVS (@write: the hardware's EPT-violation bit,
 * which names the MMIO side of a MOVS: a write is ES:rDI, a read seg:rSI).
 */
static int vmx_mmio_string(struct vmx_vcpu *vcpu, const struct insn_mmio *d, u64 gpa,
			   bool write)
{
	struct vmxcore_run *run = vcpu->run;
	unsigned long *gprs = vcpu->gprs.r;
	u64 mask = vmx_addr_mask(d->addr_size), data = 0, ram_gpa;
	long step = (vcpu->rflags & X86_EFLAGS_DF) ? -(long)d->size : (long)d->size;
	int ret;

	if (d->rep && !(gprs[GPR_RCX] & mask)) {
		/* No element to move (the hardware does not access memory then). */
		vcpu_advance_rip(vcpu, d->len);
		return 1;
	}
	if (d->op == INSN_OP_STOS) {
		if (!write)
			return vmx_mmio_unsupported(vcpu, gpa, INSN_E_UNSUPPORTED, d->opcode);
		data = insn_mmio_store_data(d, gprs[GPR_RAX]);
	} else if (write) {
		/* RAM (seg:rSI) to device memory (ES:rDI). */
		ret = vmx_movs_ram(vcpu, d, gpa, vmx_string_gla(vcpu, d, d->seg, gprs[GPR_RSI]),
				   false, &ram_gpa);
		if (ret >= 0)
			return ret;
		if (gmem_read(vcpu->vm, ram_gpa, &data, d->size))
			return vmx_mmio_unsupported(vcpu, gpa, INSN_E_UNSUPPORTED, d->opcode);
	} else {
		/* Device memory (seg:rSI) to RAM (ES:rDI), written at the next RUN. */
		ret = vmx_movs_ram(vcpu, d, gpa,
				   vmx_string_gla(vcpu, d, INSN_SEG_ES, gprs[GPR_RDI]),
				   true, &ram_gpa);
		if (ret >= 0)
			return ret;
		vcpu->pending_mmio = *d;
		vcpu->pending_movs_gpa = ram_gpa;
		vcpu->pending = VCPU_PENDING_MMIO_LOAD;
	}

	run->mmio.phys_addr = gpa;
	run->mmio.len = d->size;
	run->mmio.is_write = write;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	memcpy(run->mmio.data, &data, d->size);

	vmx_add_addr_sized(&gprs[GPR_RDI], step, d->addr_size);
	if (d->op == INSN_OP_MOVS)
		vmx_add_addr_sized(&gprs[GPR_RSI], step, d->addr_size);
	if (d->rep)
		vmx_add_addr_sized(&gprs[GPR_RCX], -1, d->addr_size);
	if (!d->rep || !(gprs[GPR_RCX] & mask)) {
		vcpu_advance_rip(vcpu, d->len);
	}
	run->exit_reason = VMXCORE_EXIT_MMIO;
	return 0;
}

/*
 * Returns 0 for an exit to userspace (MMIO, or the reason it cannot be), 1
 * to enter the guest again (an exception queued, REP with rCX = 0, or an
 * access the in-kernel APIC handled: apic.c). String forms never reach the
 * APIC page's model: they go to userspace like any device memory.
 */
int vmx_handle_mmio(struct vmx_vcpu *vcpu, u64 gpa, bool write)
{
	struct vmxcore_run *run = vcpu->run;
	struct insn_mmio d;
	u8 bytes[15];
	unsigned int got = vmx_fetch_insn(vcpu, bytes);
	int ret = insn_decode_mmio(bytes, got, vmx_cs_mode(&vcpu->exit), &d);

	if (ret)
		return vmx_mmio_unsupported(vcpu, gpa, ret, d.opcode);
	if (d.op == INSN_OP_STOS || d.op == INSN_OP_MOVS)
		return vmx_mmio_string(vcpu, &d, gpa, write);

	/* Hardware reported the access; the decoder must agree on direction. */
	if (write && d.op == INSN_OP_LOAD)
		return vmx_mmio_unsupported(vcpu, gpa, INSN_E_UNSUPPORTED, d.opcode);
	/* The in-kernel APIC's page, while the APIC decodes it. */
	if (vcpu_apic_mmio_covers(vcpu, gpa))
		return vcpu_apic_mmio(vcpu, gpa, &d);

	run->mmio.phys_addr = gpa;
	run->mmio.len = d.size;
	run->mmio.is_write = d.op != INSN_OP_LOAD;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	if (d.op == INSN_OP_STORE_IMM) {
		memcpy(run->mmio.data, &d.imm, d.size);
	} else if (d.op == INSN_OP_STORE_REG) {
		u64 data = insn_mmio_store_data(&d, vcpu->gprs.r[d.reg]);

		memcpy(run->mmio.data, &data, d.size);
	} else {
		vcpu->pending_mmio = d;
		vcpu->pending = VCPU_PENDING_MMIO_LOAD;
	}
	vcpu_advance_rip(vcpu, d.len);
	run->exit_reason = VMXCORE_EXIT_MMIO;
	return 0;
}

void vcpu_complete_mmio_load(struct vmx_vcpu *vcpu)
{
	const struct insn_mmio *d = &vcpu->pending_mmio;
	u64 data = 0;

	memcpy(&data, vcpu->run->mmio.data, d->size);
	if (d->op == INSN_OP_MOVS) {
		/* The page was RAM at the exit; if userspace removed it since, drop. */
		if (gmem_write(vcpu->vm, vcpu->pending_movs_gpa, &data, d->size))
			pr_info_ratelimited(VMX_PR_PREFIX "MOVS data for a vanished page dropped\n");
		return;
	}
	vcpu->gprs.r[d->reg] = insn_mmio_load(d, vcpu->gprs.r[d->reg], data);
}
