/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Decoding of the guest instruction behind an MMIO exit.
 *
 * When the guest touches guest-physical memory outside every memory slot,
 * the EPT violation gives the address but not the access: the hypervisor
 * fetches the instruction bytes at guest RIP (at most 15) and asks this
 * decoder for the instruction length, the access size and direction, and
 * which register or immediate holds or receives the data. The address itself
 * always comes from the hardware, never from here.
 *
 * Only the instructions compilers and drivers use for device registers are
 * understood: MOV (88, 89, 8A, 8B, C6 /0, C7 /0, A0-A3), MOVZX (0F B6/B7),
 * MOVSX (0F BE/BF), MOVSXD (63, 64-bit mode), STOS (AA/AB) and MOVS (A4/A5).
 * Anything else is refused with INSN_E_UNSUPPORTED and the opcode is left in
 * insn_mmio.opcode for the log.
 *
 * Environment: any. The same code is compiled into the driver and into a
 * userspace unit test (tests/driver/test_insn_decode.c); it uses no library
 * call and no state, so it may run in any context, preemption disabled or not.
 */
#ifndef VMXCORE_INSN_DECODE_H
#define VMXCORE_INSN_DECODE_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#else
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#endif

/* The architectural limit; a longer instruction raises #GP(0) (SDM 2.3.11). */
#define INSN_MAX_LEN		15

/*
 * Return codes of insn_decode_mmio(), all negative errno values.
 * On any of them @out->len is how far decoding got and @out->opcode is set
 * once the opcode byte(s) were read, so the caller can log what it met.
 */
#define INSN_E_TRUNCATED	(-EAGAIN)	/* needs more than @avail bytes: fetch more, retry */
#define INSN_E_TOO_LONG		(-E2BIG)	/* would exceed 15 bytes (#GP on hardware) */
#define INSN_E_UNSUPPORTED	(-EOPNOTSUPP)	/* opcode (or its /reg, or mode) not handled here */
#define INSN_E_NOT_MEM		(-EINVAL)	/* ModRM names a register (mod == 3): no memory access */
#define INSN_E_LOCK		(-EILSEQ)	/* LOCK prefix: #UD on every instruction decoded here */

/* Default operand/address size in bytes, from CS.L and CS.D. */
enum insn_mode {
	INSN_MODE_16 = 2,	/* real mode, vm86, or CS.D = 0 */
	INSN_MODE_32 = 4,	/* CS.D = 1, CS.L = 0 */
	INSN_MODE_64 = 8,	/* CS.L = 1 (IA-32e 64-bit mode) */
};

enum insn_op {
	INSN_OP_LOAD,		/* reg <- mem (MOV, MOVZX, MOVSX, MOVSXD, MOV AL/eAX <- moffs) */
	INSN_OP_STORE_REG,	/* mem <- reg (MOV, MOV moffs <- AL/eAX) */
	INSN_OP_STORE_IMM,	/* mem <- imm (C6 /0, C7 /0) */
	INSN_OP_STOS,		/* ES:[rDI] <- AL/AX/EAX/RAX; rDI steps by size */
	INSN_OP_MOVS,		/* ES:[rDI] <- seg:[rSI]; either side may be the MMIO one */
};

/* Segment registers, in the order of the Sreg field of MOV Sreg (SDM 3.4.2). */
enum insn_seg {
	INSN_SEG_ES, INSN_SEG_CS, INSN_SEG_SS, INSN_SEG_DS, INSN_SEG_FS, INSN_SEG_GS,
};

/*
 * The decoded access. Register numbers are x86 order (rax rcx rdx rbx rsp
 * rbp rsi rdi r8..r15) and index the guest's GPR file directly.
 *
 * How a LOAD writes its register (insn_mmio_load() implements exactly this):
 * the @size bytes read are sign- or zero-extended to @dest_size bytes
 * (neither flag: @size == @dest_size); those bytes replace the low
 * @dest_size bytes of the register (bits 15:8 when @high8), the rest is kept;
 * then, when @zero_upper32 is set, bits 63:32 are cleared. The last rule is
 * the 64-bit-mode behaviour of every 32-bit register write (SDM 3.4.1.1) and
 * is kept apart from @zero_extend, which is only MOVZX's own extension:
 * "movsx eax, byte [m]" sign-extends 8 to 32 and then zeroes 63:32.
 */
struct insn_mmio {
	unsigned int	len;		/* instruction length, 1..15 */
	unsigned int	opcode;		/* primary opcode; 0x0fxx for two-byte ones */
	enum insn_op	op;
	unsigned int	size;		/* bytes accessed in memory: 1, 2, 4 or 8 */
	int		reg;		/* LOAD destination, STORE_REG/STOS source; else -1 */
	bool		high8;		/* the byte is bits 15:8 of @reg (AH CH DH BH: @reg 0..3) */
	unsigned int	dest_size;	/* LOAD: destination register width 1, 2, 4, 8; else 0 */
	bool		sign_extend;	/* MOVSX, MOVSXD */
	bool		zero_extend;	/* MOVZX */
	bool		zero_upper32;	/* LOAD writes a 32-bit register in 64-bit mode */
	uint64_t	imm;		/* STORE_IMM: the @size-byte value written (C7 + REX.W: imm32 sign-extended) */
	bool		rep;		/* STOS/MOVS with F3 (or F2, which they execute as REP) */
	unsigned int	addr_size;	/* effective address size 2, 4, 8: width of rCX, rSI, rDI */
	enum insn_seg	seg;		/* segment of the ModRM/moffs operand, MOVS source; ES for STOS */

	/* The memory operand as encoded: for logs and cross-checks only. */
	int		base;		/* base register, -1 if none (also for RIP-relative) */
	int		index;		/* index register, -1 if none */
	unsigned int	scale;		/* 1, 2, 4, 8 when @index >= 0, else 0 */
	bool		rip_relative;	/* [rIP + disp32], 64-bit mode only */
	uint64_t	disp;		/* displacement sign-extended to 64 bits (an address: wrap to
					 * @addr_size); moffs zero-extended */
};

/*
 * Decodes the instruction at @bytes, of which @avail bytes could be fetched
 * (more than 15 are never looked at), executing in @mode.
 *
 * Return value: 0 and *@out filled, or one of INSN_E_* above. No byte at or
 * beyond @avail is ever read, whatever the input.
 */
int insn_decode_mmio(const uint8_t *bytes, unsigned int avail, enum insn_mode mode,
		     struct insn_mmio *out);

/* The new value of the LOAD destination register, given its old value and the @size bytes read. */
uint64_t insn_mmio_load(const struct insn_mmio *insn, uint64_t old_reg, uint64_t data);

/* The @size bytes a STORE_REG or STOS writes, given the value of its source register. */
uint64_t insn_mmio_store_data(const struct insn_mmio *insn, uint64_t reg);

/* A word for the log: "truncated", "unsupported opcode", ... */
const char *insn_strerror(int err);

#endif /* VMXCORE_INSN_DECODE_H */
