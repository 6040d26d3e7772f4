// SPDX-License-Identifier: GPL-2.0
/*
 * mmio.c: a guest access to guest-physical memory that no RAM slot backs
 * (or a write to a read-only slot) is device memory: fetch the instruction,
 * decode it (insn_decode.c), and hand {address, size, direction, data} to
 * userspace as VMXCORE_EXIT_MMIO. A load finishes at the next RUN, when the
 * data userspace supplied goes into the destination register.
 *
 * Environment: process context, preemption enabled (guest memory is read
 * through the slots' user mappings).
 */
#include <linux/kernel.h>

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
	u64 gla = e->cs_base + vcpu->rip, gpa;
	unsigned int got = 0;

	if (vmx_cs_mode(e) != INSN_MODE_64)
		gla = (u32)gla;
	while (got < 15) {
		unsigned int chunk = min_t(u64, 15 - got, PAGE_SIZE - ((gla + got) & ~PAGE_MASK));

		if (gmem_translate(vcpu, gla + got, false, &gpa) ||
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

/*
 * Returns 0: an exit to userspace (MMIO, or the reason it cannot be); or 1
 * when the in-kernel APIC handled the access (apic.c) and the guest goes on.
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
	/* String forms would need a loop over RCX and both operands' memory. */
	if (d.op == INSN_OP_STOS || d.op == INSN_OP_MOVS)
		return vmx_mmio_unsupported(vcpu, gpa, INSN_E_UNSUPPORTED, d.opcode);

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
	vcpu->rip += d.len;
	vcpu->dirty |= VCPU_DIRTY_RIP;
	run->exit_reason = VMXCORE_EXIT_MMIO;
	return 0;
}

void vcpu_complete_mmio_load(struct vmx_vcpu *vcpu)
{
	const struct insn_mmio *d = &vcpu->pending_mmio;
	u64 data = 0;

	memcpy(&data, vcpu->run->mmio.data, d->size);
	vcpu->gprs.r[d->reg] = insn_mmio_load(d, vcpu->gprs.r[d->reg], data);
}
