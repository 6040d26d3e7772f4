/* Unit tests for driver/insn_decode.c, the MMIO instruction decoder.
 *
 * The decoder is compiled into this program (it is kernel code with no
 * library of its own). Every encoding in insn_cases[] was produced by GNU as
 * (as --64 with .code16/.code32/.code64, Intel syntax) from the instruction
 * in its text, and objdump's disassembly of the bytes is the comment above
 * it. Entries whose text is a description were written as .byte, for prefix
 * combinations an assembler will not emit; the comment still shows how
 * objdump reads them. The table is fixed: no assembler runs at test time.
 *
 * Each decode is done from a heap copy exactly as long as the bytes offered,
 * so ASan reports any read past @avail or past 15 bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "driver/insn_decode.c"

#define M16 INSN_MODE_16
#define M32 INSN_MODE_32
#define M64 INSN_MODE_64

struct insn_case {
	enum insn_mode		mode;
	const char		*text;
	uint8_t			bytes[INSN_MAX_LEN];
	unsigned int		len;
	struct insn_mmio	want;	/* every field but len and opcode */
};

static const struct insn_case insn_cases[] = {
	/* mov BYTE PTR [rbx],al */
	{ M64, "mov [rbx], al",
	  { 0x88, 0x03 }, 2, {
		.op = INSN_OP_STORE_REG, .size = 1, .reg = 0, .addr_size = 8,
		.seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov BYTE PTR [rbx],ah */
	{ M64, "mov [rbx], ah",
	  { 0x88, 0x23 }, 2, {
		.op = INSN_OP_STORE_REG, .size = 1, .reg = 0, .high8 = true,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov BYTE PTR [rbx],bh */
	{ M64, "mov [rbx], bh",
	  { 0x88, 0x3b }, 2, {
		.op = INSN_OP_STORE_REG, .size = 1, .reg = 3, .high8 = true,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov BYTE PTR [rbx],spl */
	{ M64, "mov [rbx], spl",
	  { 0x40, 0x88, 0x23 }, 3, {
		.op = INSN_OP_STORE_REG, .size = 1, .reg = 4, .addr_size = 8,
		.seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov BYTE PTR [rbx],dil */
	{ M64, "mov [rbx], dil",
	  { 0x40, 0x88, 0x3b }, 3, {
		.op = INSN_OP_STORE_REG, .size = 1, .reg = 7, .addr_size = 8,
		.seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov BYTE PTR [rbx],r9b */
	{ M64, "mov [rbx], r9b",
	  { 0x44, 0x88, 0x0b }, 3, {
		.op = INSN_OP_STORE_REG, .size = 1, .reg = 9, .addr_size = 8,
		.seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov BYTE PTR [r11],sil */
	{ M64, "mov [r11], sil",
	  { 0x41, 0x88, 0x33 }, 3, {
		.op = INSN_OP_STORE_REG, .size = 1, .reg = 6, .addr_size = 8,
		.seg = INSN_SEG_DS, .base = 11, .index = -1 } },
	/* mov BYTE PTR [r11],r15b */
	{ M64, "mov [r11], r15b",
	  { 0x45, 0x88, 0x3b }, 3, {
		.op = INSN_OP_STORE_REG, .size = 1, .reg = 15, .addr_size = 8,
		.seg = INSN_SEG_DS, .base = 11, .index = -1 } },
	/* mov WORD PTR [rbx],ax */
	{ M64, "mov [rbx], ax",
	  { 0x66, 0x89, 0x03 }, 3, {
		.op = INSN_OP_STORE_REG, .size = 2, .reg = 0, .addr_size = 8,
		.seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov DWORD PTR [rbx],eax */
	{ M64, "mov [rbx], eax",
	  { 0x89, 0x03 }, 2, {
		.op = INSN_OP_STORE_REG, .size = 4, .reg = 0, .addr_size = 8,
		.seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov QWORD PTR [rbx],rax */
	{ M64, "mov [rbx], rax",
	  { 0x48, 0x89, 0x03 }, 3, {
		.op = INSN_OP_STORE_REG, .size = 8, .reg = 0, .addr_size = 8,
		.seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov QWORD PTR [rbx],r15 */
	{ M64, "mov [rbx], r15",
	  { 0x4c, 0x89, 0x3b }, 3, {
		.op = INSN_OP_STORE_REG, .size = 8, .reg = 15, .addr_size = 8,
		.seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov DWORD PTR [r8],r10d */
	{ M64, "mov [r8], r10d",
	  { 0x45, 0x89, 0x10 }, 3, {
		.op = INSN_OP_STORE_REG, .size = 4, .reg = 10, .addr_size = 8,
		.seg = INSN_SEG_DS, .base = 8, .index = -1 } },
	/* mov WORD PTR [rdi],r12w */
	{ M64, "mov [rdi], r12w",
	  { 0x66, 0x44, 0x89, 0x27 }, 4, {
		.op = INSN_OP_STORE_REG, .size = 2, .reg = 12, .addr_size = 8,
		.seg = INSN_SEG_DS, .base = 7, .index = -1 } },
	/* xrelease mov DWORD PTR [rbx],eax */
	{ M64, "xrelease mov [rbx], eax (F3 ignored)",
	  { 0xf3, 0x89, 0x03 }, 3, {
		.op = INSN_OP_STORE_REG, .size = 4, .reg = 0, .addr_size = 8,
		.seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov al,BYTE PTR [rbx] */
	{ M64, "mov al, [rbx]",
	  { 0x8a, 0x03 }, 2, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 0, .dest_size = 1,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov ch,BYTE PTR [rbx] */
	{ M64, "mov ch, [rbx]",
	  { 0x8a, 0x2b }, 2, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 1, .high8 = true,
		.dest_size = 1, .addr_size = 8, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* mov bpl,BYTE PTR [rbx] */
	{ M64, "mov bpl, [rbx]",
	  { 0x40, 0x8a, 0x2b }, 3, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 5, .dest_size = 1,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov r8b,BYTE PTR [rbx] */
	{ M64, "mov r8b, [rbx]",
	  { 0x44, 0x8a, 0x03 }, 3, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 8, .dest_size = 1,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov spl,BYTE PTR [rbx] */
	{ M64, "mov spl, [rbx] (bare REX 40)",
	  { 0x40, 0x8a, 0x23 }, 3, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 4, .dest_size = 1,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* rex ; data16 mov ah,BYTE PTR [rbx] */
	{ M64, "rex 66 mov: REX void, mov ah, [rbx]",
	  { 0x40, 0x66, 0x8a, 0x23 }, 4, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 0, .high8 = true,
		.dest_size = 1, .addr_size = 8, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* mov ax,WORD PTR [rbx] */
	{ M64, "mov ax, [rbx]",
	  { 0x66, 0x8b, 0x03 }, 3, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 0, .dest_size = 2,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov eax,DWORD PTR [rbx] */
	{ M64, "mov eax, [rbx]",
	  { 0x8b, 0x03 }, 2, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* mov rax,QWORD PTR [rbx] */
	{ M64, "mov rax, [rbx]",
	  { 0x48, 0x8b, 0x03 }, 3, {
		.op = INSN_OP_LOAD, .size = 8, .reg = 0, .dest_size = 8,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov r14,QWORD PTR [r15] */
	{ M64, "mov r14, [r15]",
	  { 0x4d, 0x8b, 0x37 }, 3, {
		.op = INSN_OP_LOAD, .size = 8, .reg = 14, .dest_size = 8,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = 15, .index = -1 } },
	/* mov r9d,DWORD PTR [rsp] */
	{ M64, "mov r9d, [rsp]",
	  { 0x44, 0x8b, 0x0c, 0x24 }, 4, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 9, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_SS, .base = 4,
		.index = -1 } },
	/* mov esi,DWORD PTR [rbp+0x8] */
	{ M64, "mov esi, [rbp+8]",
	  { 0x8b, 0x75, 0x08 }, 3, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 6, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_SS, .base = 5,
		.index = -1, .disp = 0x8ull } },
	/* rex.W ; mov ax,WORD PTR [rbx] */
	{ M64, "rex.w 66 mov: REX void, mov ax, [rbx]",
	  { 0x48, 0x66, 0x8b, 0x03 }, 4, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 0, .dest_size = 2,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* data16 mov rax,QWORD PTR [rbx] */
	{ M64, "66 rex.w mov: REX.W wins, mov rax, [rbx]",
	  { 0x66, 0x48, 0x8b, 0x03 }, 4, {
		.op = INSN_OP_LOAD, .size = 8, .reg = 0, .dest_size = 8,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* rex.B ; mov rax,QWORD PTR [rbx] */
	{ M64, "rex.b rex.w: last REX wins, mov rax, [rbx]",
	  { 0x41, 0x48, 0x8b, 0x03 }, 4, {
		.op = INSN_OP_LOAD, .size = 8, .reg = 0, .dest_size = 8,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* data16 data16 mov ax,WORD PTR [rbx] */
	{ M64, "66 66 66 mov ax, [rbx]",
	  { 0x66, 0x66, 0x66, 0x8b, 0x03 }, 5, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 0, .dest_size = 2,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov BYTE PTR [rbx],0x80 */
	{ M64, "mov byte ptr [rbx], 0x80",
	  { 0xc6, 0x03, 0x80 }, 3, {
		.op = INSN_OP_STORE_IMM, .size = 1, .reg = -1, .imm = 0x80ull,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov WORD PTR [rbx],0x8001 */
	{ M64, "mov word ptr [rbx], 0x8001",
	  { 0x66, 0xc7, 0x03, 0x01, 0x80 }, 5, {
		.op = INSN_OP_STORE_IMM, .size = 2, .reg = -1, .imm = 0x8001ull,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov DWORD PTR [rbx],0x80000001 */
	{ M64, "mov dword ptr [rbx], 0x80000001",
	  { 0xc7, 0x03, 0x01, 0x00, 0x00, 0x80 }, 6, {
		.op = INSN_OP_STORE_IMM, .size = 4, .reg = -1, .imm = 0x80000001ull,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov QWORD PTR [rbx],0xfffffffffffffffe */
	{ M64, "mov qword ptr [rbx], -2",
	  { 0x48, 0xc7, 0x03, 0xfe, 0xff, 0xff, 0xff }, 7, {
		.op = INSN_OP_STORE_IMM, .size = 8, .reg = -1, .imm = 0xfffffffffffffffeull,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov QWORD PTR [rbx],0x7fffffff */
	{ M64, "mov qword ptr [rbx], 0x7fffffff",
	  { 0x48, 0xc7, 0x03, 0xff, 0xff, 0xff, 0x7f }, 7, {
		.op = INSN_OP_STORE_IMM, .size = 8, .reg = -1, .imm = 0x7fffffffull,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov QWORD PTR [r9],0xffffffff80000000 */
	{ M64, "mov qword ptr [r9], 0x80000000 - 0x100000000",
	  { 0x49, 0xc7, 0x01, 0x00, 0x00, 0x00, 0x80 }, 7, {
		.op = INSN_OP_STORE_IMM, .size = 8, .reg = -1, .imm = 0xffffffff80000000ull,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = 9, .index = -1 } },
	/* mov DWORD PTR [rip+0x100],0x5 */
	{ M64, "mov dword ptr [rip+0x100], 5",
	  { 0xc7, 0x05, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00 }, 10, {
		.op = INSN_OP_STORE_IMM, .size = 4, .reg = -1, .imm = 0x5ull,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = -1, .index = -1,
		.rip_relative = true, .disp = 0x100ull } },
	/* mov QWORD PTR [rax+rcx*8-0x8],0x12345678 */
	{ M64, "mov qword ptr [rax+rcx*8-8], 0x12345678",
	  { 0x48, 0xc7, 0x44, 0xc8, 0xf8, 0x78, 0x56, 0x34, 0x12 }, 9, {
		.op = INSN_OP_STORE_IMM, .size = 8, .reg = -1, .imm = 0x12345678ull,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = 0, .index = 1,
		.scale = 8, .disp = 0xfffffffffffffff8ull } },
	/* mov BYTE PTR [rbp+0x0],0x1 */
	{ M64, "mov byte ptr [rbp], 1",
	  { 0xc6, 0x45, 0x00, 0x01 }, 4, {
		.op = INSN_OP_STORE_IMM, .size = 1, .reg = -1, .imm = 0x1ull,
		.addr_size = 8, .seg = INSN_SEG_SS, .base = 5, .index = -1 } },
	/* mov WORD PTR [r13+r14*2+0x44],0xffff */
	{ M64, "mov word ptr [r13+r14*2+0x44], -1",
	  { 0x66, 0x43, 0xc7, 0x44, 0x75, 0x44, 0xff, 0xff }, 8, {
		.op = INSN_OP_STORE_IMM, .size = 2, .reg = -1, .imm = 0xffffull,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = 13, .index = 14,
		.scale = 2, .disp = 0x44ull } },
	/* movzx ax,BYTE PTR [rbx] */
	{ M64, "movzx ax, byte ptr [rbx]",
	  { 0x66, 0x0f, 0xb6, 0x03 }, 4, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 0, .dest_size = 2,
		.zero_extend = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* movzx eax,BYTE PTR [rbx] */
	{ M64, "movzx eax, byte ptr [rbx]",
	  { 0x0f, 0xb6, 0x03 }, 3, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 0, .dest_size = 4,
		.zero_extend = true, .zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS,
		.base = 3, .index = -1 } },
	/* movzx rax,BYTE PTR [rbx] */
	{ M64, "movzx rax, byte ptr [rbx]",
	  { 0x48, 0x0f, 0xb6, 0x03 }, 4, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 0, .dest_size = 8,
		.zero_extend = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* movzx esi,BYTE PTR [rbx] */
	{ M64, "movzx esi, byte ptr [rbx]",
	  { 0x0f, 0xb6, 0x33 }, 3, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 6, .dest_size = 4,
		.zero_extend = true, .zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS,
		.base = 3, .index = -1 } },
	/* movzx r10d,WORD PTR [rbx] */
	{ M64, "movzx r10d, word ptr [rbx]",
	  { 0x44, 0x0f, 0xb7, 0x13 }, 4, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 10, .dest_size = 4,
		.zero_extend = true, .zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS,
		.base = 3, .index = -1 } },
	/* movzx rax,WORD PTR [rbx] */
	{ M64, "movzx rax, word ptr [rbx]",
	  { 0x48, 0x0f, 0xb7, 0x03 }, 4, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 0, .dest_size = 8,
		.zero_extend = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* movzx ax,WORD PTR [rbx] */
	{ M64, "movzx ax, word ptr [rbx]",
	  { 0x66, 0x0f, 0xb7, 0x03 }, 4, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 0, .dest_size = 2,
		.zero_extend = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* movsx cx,BYTE PTR [rbx] */
	{ M64, "movsx cx, byte ptr [rbx]",
	  { 0x66, 0x0f, 0xbe, 0x0b }, 4, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 1, .dest_size = 2,
		.sign_extend = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* movsx ecx,BYTE PTR [rbx] */
	{ M64, "movsx ecx, byte ptr [rbx]",
	  { 0x0f, 0xbe, 0x0b }, 3, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 1, .dest_size = 4,
		.sign_extend = true, .zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS,
		.base = 3, .index = -1 } },
	/* movsx rcx,BYTE PTR [rbx] */
	{ M64, "movsx rcx, byte ptr [rbx]",
	  { 0x48, 0x0f, 0xbe, 0x0b }, 4, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 1, .dest_size = 8,
		.sign_extend = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* movsx dx,WORD PTR [rbx] */
	{ M64, "movsx dx, word ptr [rbx]",
	  { 0x66, 0x0f, 0xbf, 0x13 }, 4, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 2, .dest_size = 2,
		.sign_extend = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* movsx edx,WORD PTR [rbx] */
	{ M64, "movsx edx, word ptr [rbx]",
	  { 0x0f, 0xbf, 0x13 }, 3, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 2, .dest_size = 4,
		.sign_extend = true, .zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS,
		.base = 3, .index = -1 } },
	/* movsx r11,WORD PTR [rbx] */
	{ M64, "movsx r11, word ptr [rbx]",
	  { 0x4c, 0x0f, 0xbf, 0x1b }, 4, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 11, .dest_size = 8,
		.sign_extend = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* movsxd rax,DWORD PTR [rbx] */
	{ M64, "movsxd rax, dword ptr [rbx]",
	  { 0x48, 0x63, 0x03 }, 3, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 8,
		.sign_extend = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* movsxd r12,DWORD PTR [r13+0x10] */
	{ M64, "movsxd r12, dword ptr [r13+0x10]",
	  { 0x4d, 0x63, 0x65, 0x10 }, 4, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 12, .dest_size = 8,
		.sign_extend = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 13,
		.index = -1, .disp = 0x10ull } },
	/* movsxd eax,DWORD PTR [rbx] */
	{ M64, "movsxd eax, dword ptr [rbx]",
	  { 0x63, 0x03 }, 2, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.sign_extend = true, .zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS,
		.base = 3, .index = -1 } },
	/* movsxd ax,WORD PTR [rbx] */
	{ M64, "movsxd ax, word ptr [rbx]",
	  { 0x66, 0x63, 0x03 }, 3, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 0, .dest_size = 2,
		.sign_extend = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* movsxd rax,DWORD PTR [rbx]: objdump -M intel64 says WORD PTR, letting 66
	 * pick the source width despite REX.W; -M amd64 and the SDM say DWORD */
	{ M64, "66 rex.w movsxd rax, dword ptr [rbx] (REX.W beats 66)",
	  { 0x66, 0x48, 0x63, 0x03 }, 4, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 8,
		.sign_extend = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* movabs al,ds:0x1122334455667788 */
	{ M64, "movabs al, [0x1122334455667788]",
	  { 0xa0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 }, 9, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 0, .dest_size = 1,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = -1, .index = -1,
		.disp = 0x1122334455667788ull } },
	/* movabs ax,ds:0x1122334455667788 */
	{ M64, "movabs ax, [0x1122334455667788]",
	  { 0x66, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 }, 10, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 0, .dest_size = 2,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = -1, .index = -1,
		.disp = 0x1122334455667788ull } },
	/* movabs eax,ds:0xfedcba9876543210 */
	{ M64, "movabs eax, [0xfedcba9876543210]",
	  { 0xa1, 0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe }, 9, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = -1,
		.index = -1, .disp = 0xfedcba9876543210ull } },
	/* movabs rax,ds:0x1122334455667788 */
	{ M64, "movabs rax, [0x1122334455667788]",
	  { 0x48, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 }, 10, {
		.op = INSN_OP_LOAD, .size = 8, .reg = 0, .dest_size = 8,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = -1, .index = -1,
		.disp = 0x1122334455667788ull } },
	/* movabs ds:0x1122334455667788,al */
	{ M64, "movabs [0x1122334455667788], al",
	  { 0xa2, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 }, 9, {
		.op = INSN_OP_STORE_REG, .size = 1, .reg = 0, .addr_size = 8,
		.seg = INSN_SEG_DS, .base = -1, .index = -1, .disp = 0x1122334455667788ull } },
	/* movabs ds:0x1122334455667788,ax */
	{ M64, "movabs [0x1122334455667788], ax",
	  { 0x66, 0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 }, 10, {
		.op = INSN_OP_STORE_REG, .size = 2, .reg = 0, .addr_size = 8,
		.seg = INSN_SEG_DS, .base = -1, .index = -1, .disp = 0x1122334455667788ull } },
	/* movabs ds:0x1122334455667788,eax */
	{ M64, "movabs [0x1122334455667788], eax",
	  { 0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 }, 9, {
		.op = INSN_OP_STORE_REG, .size = 4, .reg = 0, .addr_size = 8,
		.seg = INSN_SEG_DS, .base = -1, .index = -1, .disp = 0x1122334455667788ull } },
	/* movabs ds:0x1122334455667788,rax */
	{ M64, "movabs [0x1122334455667788], rax",
	  { 0x48, 0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 }, 10, {
		.op = INSN_OP_STORE_REG, .size = 8, .reg = 0, .addr_size = 8,
		.seg = INSN_SEG_DS, .base = -1, .index = -1, .disp = 0x1122334455667788ull } },
	/* addr32 mov eax,ds:0x87654321 */
	{ M64, "addr32 mov eax, ds:0x87654321",
	  { 0x67, 0xa1, 0x21, 0x43, 0x65, 0x87 }, 6, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 4, .seg = INSN_SEG_DS, .base = -1,
		.index = -1, .disp = 0x87654321ull } },
	/* movabs eax,gs:0x10 */
	{ M64, "movabs eax, gs:[0x10]",
	  { 0x65, 0xa1, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, 10, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_GS, .base = -1,
		.index = -1, .disp = 0x10ull } },
	/* stos BYTE PTR es:[rdi],al */
	{ M64, "stosb",
	  { 0xaa }, 1, {
		.op = INSN_OP_STOS, .size = 1, .reg = 0, .addr_size = 8,
		.seg = INSN_SEG_ES, .base = -1, .index = -1 } },
	/* stos WORD PTR es:[rdi],ax */
	{ M64, "stosw",
	  { 0x66, 0xab }, 2, {
		.op = INSN_OP_STOS, .size = 2, .reg = 0, .addr_size = 8,
		.seg = INSN_SEG_ES, .base = -1, .index = -1 } },
	/* stos DWORD PTR es:[rdi],eax */
	{ M64, "stosd",
	  { 0xab }, 1, {
		.op = INSN_OP_STOS, .size = 4, .reg = 0, .addr_size = 8,
		.seg = INSN_SEG_ES, .base = -1, .index = -1 } },
	/* stos QWORD PTR es:[rdi],rax */
	{ M64, "stosq",
	  { 0x48, 0xab }, 2, {
		.op = INSN_OP_STOS, .size = 8, .reg = 0, .addr_size = 8,
		.seg = INSN_SEG_ES, .base = -1, .index = -1 } },
	/* rep stos BYTE PTR es:[rdi],al */
	{ M64, "rep stosb",
	  { 0xf3, 0xaa }, 2, {
		.op = INSN_OP_STOS, .size = 1, .reg = 0, .rep = true,
		.addr_size = 8, .seg = INSN_SEG_ES, .base = -1, .index = -1 } },
	/* rep stos QWORD PTR es:[rdi],rax */
	{ M64, "rep stosq",
	  { 0xf3, 0x48, 0xab }, 3, {
		.op = INSN_OP_STOS, .size = 8, .reg = 0, .rep = true,
		.addr_size = 8, .seg = INSN_SEG_ES, .base = -1, .index = -1 } },
	/* rep stos DWORD PTR es:[edi],eax */
	{ M64, "addr32 rep stosd",
	  { 0x67, 0xf3, 0xab }, 3, {
		.op = INSN_OP_STOS, .size = 4, .reg = 0, .rep = true,
		.addr_size = 4, .seg = INSN_SEG_ES, .base = -1, .index = -1 } },
	/* fs stos BYTE PTR es:[rdi],al */
	{ M64, "fs stosb (override ignored)",
	  { 0x64, 0xaa }, 2, {
		.op = INSN_OP_STOS, .size = 1, .reg = 0, .addr_size = 8,
		.seg = INSN_SEG_ES, .base = -1, .index = -1 } },
	/* movs BYTE PTR es:[rdi],BYTE PTR ds:[rsi] */
	{ M64, "movsb",
	  { 0xa4 }, 1, {
		.op = INSN_OP_MOVS, .size = 1, .reg = -1, .addr_size = 8,
		.seg = INSN_SEG_DS, .base = -1, .index = -1 } },
	/* movs WORD PTR es:[rdi],WORD PTR ds:[rsi] */
	{ M64, "movsw",
	  { 0x66, 0xa5 }, 2, {
		.op = INSN_OP_MOVS, .size = 2, .reg = -1, .addr_size = 8,
		.seg = INSN_SEG_DS, .base = -1, .index = -1 } },
	/* movs DWORD PTR es:[rdi],DWORD PTR ds:[rsi] */
	{ M64, "movsd",
	  { 0xa5 }, 1, {
		.op = INSN_OP_MOVS, .size = 4, .reg = -1, .addr_size = 8,
		.seg = INSN_SEG_DS, .base = -1, .index = -1 } },
	/* movs QWORD PTR es:[rdi],QWORD PTR ds:[rsi] */
	{ M64, "movsq",
	  { 0x48, 0xa5 }, 2, {
		.op = INSN_OP_MOVS, .size = 8, .reg = -1, .addr_size = 8,
		.seg = INSN_SEG_DS, .base = -1, .index = -1 } },
	/* rep movs QWORD PTR es:[rdi],QWORD PTR ds:[rsi] */
	{ M64, "rep movsq",
	  { 0xf3, 0x48, 0xa5 }, 3, {
		.op = INSN_OP_MOVS, .size = 8, .reg = -1, .rep = true,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = -1, .index = -1 } },
	/* rep movs BYTE PTR es:[rdi],BYTE PTR ds:[rsi] */
	{ M64, "rep movsb",
	  { 0xf3, 0xa4 }, 2, {
		.op = INSN_OP_MOVS, .size = 1, .reg = -1, .rep = true,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = -1, .index = -1 } },
	/* rep movs BYTE PTR es:[rdi],BYTE PTR fs:[rsi] */
	{ M64, "rep movsb from fs:[rsi]",
	  { 0xf3, 0x64, 0xa4 }, 3, {
		.op = INSN_OP_MOVS, .size = 1, .reg = -1, .rep = true,
		.addr_size = 8, .seg = INSN_SEG_FS, .base = -1, .index = -1 } },
	/* repnz movs DWORD PTR es:[rdi],DWORD PTR ds:[rsi] */
	{ M64, "repne movsd (runs as rep)",
	  { 0xf2, 0xa5 }, 2, {
		.op = INSN_OP_MOVS, .size = 4, .reg = -1, .rep = true,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = -1, .index = -1 } },
	/* movs BYTE PTR es:[edi],BYTE PTR ds:[esi] */
	{ M64, "addr32 movsb",
	  { 0x67, 0xa4 }, 2, {
		.op = INSN_OP_MOVS, .size = 1, .reg = -1, .addr_size = 4,
		.seg = INSN_SEG_DS, .base = -1, .index = -1 } },
	/* mov eax,DWORD PTR [rax+rcx*2] */
	{ M64, "mov eax, [rax+rcx*2]",
	  { 0x8b, 0x04, 0x48 }, 3, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 0,
		.index = 1, .scale = 2 } },
	/* mov eax,DWORD PTR [rbx+rsi*4+0x7f] */
	{ M64, "mov eax, [rbx+rsi*4+0x7f]",
	  { 0x8b, 0x44, 0xb3, 0x7f }, 4, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 3,
		.index = 6, .scale = 4, .disp = 0x7full } },
	/* mov eax,DWORD PTR [rbx+rsi*8-0x80] */
	{ M64, "mov eax, [rbx+rsi*8-0x80]",
	  { 0x8b, 0x44, 0xf3, 0x80 }, 4, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 3,
		.index = 6, .scale = 8, .disp = 0xffffffffffffff80ull } },
	/* mov eax,DWORD PTR [rcx*8+0x1000] */
	{ M64, "mov eax, [rcx*8+0x1000]",
	  { 0x8b, 0x04, 0xcd, 0x00, 0x10, 0x00, 0x00 }, 7, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = -1,
		.index = 1, .scale = 8, .disp = 0x1000ull } },
	/* mov eax,DWORD PTR ds:0x1000 */
	{ M64, "mov eax, ds:0x1000",
	  { 0x8b, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00 }, 7, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = -1,
		.index = -1, .disp = 0x1000ull } },
	/* mov eax,DWORD PTR ds:0xfffffffffffffff0 */
	{ M64, "mov eax, ds:-0x10",
	  { 0x8b, 0x04, 0x25, 0xf0, 0xff, 0xff, 0xff }, 7, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = -1,
		.index = -1, .disp = 0xfffffffffffffff0ull } },
	/* mov eax,DWORD PTR [rbp+0x0] */
	{ M64, "mov eax, [rbp]",
	  { 0x8b, 0x45, 0x00 }, 3, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_SS, .base = 5,
		.index = -1 } },
	/* mov eax,DWORD PTR [r13+0x0] */
	{ M64, "mov eax, [r13]",
	  { 0x41, 0x8b, 0x45, 0x00 }, 4, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 13,
		.index = -1 } },
	/* mov eax,DWORD PTR [r12] */
	{ M64, "mov eax, [r12]",
	  { 0x41, 0x8b, 0x04, 0x24 }, 4, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 12,
		.index = -1 } },
	/* mov eax,DWORD PTR [rsp+0x10] */
	{ M64, "mov eax, [rsp+0x10]",
	  { 0x8b, 0x44, 0x24, 0x10 }, 4, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_SS, .base = 4,
		.index = -1, .disp = 0x10ull } },
	/* mov eax,DWORD PTR [rbp+r12*1+0x12345678] */
	{ M64, "mov eax, [rbp+r12*1+0x12345678]",
	  { 0x42, 0x8b, 0x84, 0x25, 0x78, 0x56, 0x34, 0x12 }, 8, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_SS, .base = 5,
		.index = 12, .scale = 1, .disp = 0x12345678ull } },
	/* mov eax,DWORD PTR [r13+r14*2+0x0] */
	{ M64, "mov eax, [r13+r14*2]",
	  { 0x43, 0x8b, 0x44, 0x75, 0x00 }, 5, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 13,
		.index = 14, .scale = 2 } },
	/* mov eax,DWORD PTR [r12*4+0x0] */
	{ M64, "mov eax, [r12*4]",
	  { 0x42, 0x8b, 0x04, 0xa5, 0x00, 0x00, 0x00, 0x00 }, 8, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = -1,
		.index = 12, .scale = 4 } },
	/* mov eax,DWORD PTR [r13+r12*1+0x0] */
	{ M64, "mov eax, [r13+r12*1+0] (SIB base r13 needs disp8)",
	  { 0x43, 0x8b, 0x44, 0x25, 0x00 }, 5, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 13,
		.index = 12, .scale = 1 } },
	/* mov eax,DWORD PTR ds:0x1000 */
	{ M64, "REX.B, SIB base 101 mod 00: still no base",
	  { 0x41, 0x8b, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00 }, 8, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = -1,
		.index = -1, .disp = 0x1000ull } },
	/* mov eax,DWORD PTR [rip+0x10] */
	{ M64, "REX.B, rm 101 mod 00: still RIP-relative",
	  { 0x41, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00 }, 7, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = -1,
		.index = -1, .rip_relative = true, .disp = 0x10ull } },
	/* mov eax,DWORD PTR [rbx+r9*2] */
	{ M64, "mov eax, [rbx+r9*2]",
	  { 0x42, 0x8b, 0x04, 0x4b }, 4, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 3,
		.index = 9, .scale = 2 } },
	/* mov r8,QWORD PTR [rip+0xfffffffffffffffc] */
	{ M64, "mov r8, [rip-4]",
	  { 0x4c, 0x8b, 0x05, 0xfc, 0xff, 0xff, 0xff }, 7, {
		.op = INSN_OP_LOAD, .size = 8, .reg = 8, .dest_size = 8,
		.addr_size = 8, .seg = INSN_SEG_DS, .base = -1, .index = -1,
		.rip_relative = true, .disp = 0xfffffffffffffffcull } },
	/* mov eax,DWORD PTR [rip+0x12345678] */
	{ M64, "mov eax, [rip+0x12345678]",
	  { 0x8b, 0x05, 0x78, 0x56, 0x34, 0x12 }, 6, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = -1,
		.index = -1, .rip_relative = true, .disp = 0x12345678ull } },
	/* mov eax,DWORD PTR [rbx+0x12345678] */
	{ M64, "mov eax, [rbx+0x12345678]",
	  { 0x8b, 0x83, 0x78, 0x56, 0x34, 0x12 }, 6, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 3,
		.index = -1, .disp = 0x12345678ull } },
	/* mov eax,DWORD PTR [rbx-0x80000000] */
	{ M64, "mov eax, [rbx-0x80000000]",
	  { 0x8b, 0x83, 0x00, 0x00, 0x00, 0x80 }, 6, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 3,
		.index = -1, .disp = 0xffffffff80000000ull } },
	/* mov eax,DWORD PTR [eax] */
	{ M64, "mov eax, [eax]",
	  { 0x67, 0x8b, 0x00 }, 3, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 4, .seg = INSN_SEG_DS, .base = 0,
		.index = -1 } },
	/* mov eax,DWORD PTR [eip+0x10] */
	{ M64, "mov eax, [eip+0x10]",
	  { 0x67, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00 }, 7, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 4, .seg = INSN_SEG_DS, .base = -1,
		.index = -1, .rip_relative = true, .disp = 0x10ull } },
	/* mov eax,DWORD PTR [ebx+ecx*4+0x8] */
	{ M64, "mov eax, [ebx+ecx*4+8]",
	  { 0x67, 0x8b, 0x44, 0x8b, 0x08 }, 5, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 4, .seg = INSN_SEG_DS, .base = 3,
		.index = 1, .scale = 4, .disp = 0x8ull } },
	/* mov eax,DWORD PTR fs:[rbx] */
	{ M64, "mov eax, fs:[rbx]",
	  { 0x64, 0x8b, 0x03 }, 3, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_FS, .base = 3,
		.index = -1 } },
	/* mov eax,DWORD PTR gs:[rbp+0x0] */
	{ M64, "mov eax, gs:[rbp]",
	  { 0x65, 0x8b, 0x45, 0x00 }, 4, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_GS, .base = 5,
		.index = -1 } },
	/* es mov eax,DWORD PTR [rbx] */
	{ M64, "es mov eax, [rbx] (es ignored)",
	  { 0x26, 0x8b, 0x03 }, 3, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* ss mov eax,DWORD PTR [rbx] */
	{ M64, "ss mov eax, [rbx] (ss ignored)",
	  { 0x36, 0x8b, 0x03 }, 3, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* cs mov eax,DWORD PTR [rbp+0x0] */
	{ M64, "cs mov eax, [rbp] (cs ignored, SS default)",
	  { 0x2e, 0x8b, 0x45, 0x00 }, 4, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_SS, .base = 5,
		.index = -1 } },
	/* fs mov eax,DWORD PTR fs:[rbx] */
	{ M64, "fs es mov eax, [rbx] (es ignored, fs stays)",
	  { 0x64, 0x26, 0x8b, 0x03 }, 4, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_FS, .base = 3,
		.index = -1 } },
	/* ds ds ds ds ds ds ds ds ds ds ds ds ds mov eax,DWORD PTR [rbx] */
	{ M64, "13 x ds, mov eax, [rbx]: 15 bytes",
	  { 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x8b, 0x03 }, 15, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.zero_upper32 = true, .addr_size = 8, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* mov BYTE PTR [ebx],al */
	{ M32, "mov [ebx], al",
	  { 0x88, 0x03 }, 2, {
		.op = INSN_OP_STORE_REG, .size = 1, .reg = 0, .addr_size = 4,
		.seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov BYTE PTR [ebx],ah */
	{ M32, "mov [ebx], ah",
	  { 0x88, 0x23 }, 2, {
		.op = INSN_OP_STORE_REG, .size = 1, .reg = 0, .high8 = true,
		.addr_size = 4, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov BYTE PTR [ebx],dh */
	{ M32, "mov [ebx], dh",
	  { 0x88, 0x33 }, 2, {
		.op = INSN_OP_STORE_REG, .size = 1, .reg = 2, .high8 = true,
		.addr_size = 4, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov WORD PTR [ebx],ax */
	{ M32, "mov [ebx], ax",
	  { 0x66, 0x89, 0x03 }, 3, {
		.op = INSN_OP_STORE_REG, .size = 2, .reg = 0, .addr_size = 4,
		.seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov DWORD PTR [ebx],edi */
	{ M32, "mov [ebx], edi",
	  { 0x89, 0x3b }, 2, {
		.op = INSN_OP_STORE_REG, .size = 4, .reg = 7, .addr_size = 4,
		.seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov al,BYTE PTR [ebx] */
	{ M32, "mov al, [ebx]",
	  { 0x8a, 0x03 }, 2, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 0, .dest_size = 1,
		.addr_size = 4, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov bh,BYTE PTR [ebx] */
	{ M32, "mov bh, [ebx]",
	  { 0x8a, 0x3b }, 2, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 3, .high8 = true,
		.dest_size = 1, .addr_size = 4, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* mov ax,WORD PTR [ebx] */
	{ M32, "mov ax, [ebx]",
	  { 0x66, 0x8b, 0x03 }, 3, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 0, .dest_size = 2,
		.addr_size = 4, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov esp,DWORD PTR [ebx] */
	{ M32, "mov esp, [ebx]",
	  { 0x8b, 0x23 }, 2, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 4, .dest_size = 4,
		.addr_size = 4, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov BYTE PTR [ebx],0xff */
	{ M32, "mov byte ptr [ebx], 0xff",
	  { 0xc6, 0x03, 0xff }, 3, {
		.op = INSN_OP_STORE_IMM, .size = 1, .reg = -1, .imm = 0xffull,
		.addr_size = 4, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov WORD PTR [ebx],0xffff */
	{ M32, "mov word ptr [ebx], 0xffff",
	  { 0x66, 0xc7, 0x03, 0xff, 0xff }, 5, {
		.op = INSN_OP_STORE_IMM, .size = 2, .reg = -1, .imm = 0xffffull,
		.addr_size = 4, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov DWORD PTR [ebx],0xdeadbeef */
	{ M32, "mov dword ptr [ebx], 0xdeadbeef",
	  { 0xc7, 0x03, 0xef, 0xbe, 0xad, 0xde }, 6, {
		.op = INSN_OP_STORE_IMM, .size = 4, .reg = -1, .imm = 0xdeadbeefull,
		.addr_size = 4, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov DWORD PTR [ebx+ecx*2+0x20],0x12345678 */
	{ M32, "mov dword ptr [ebx+ecx*2+0x20], 0x12345678",
	  { 0xc7, 0x44, 0x4b, 0x20, 0x78, 0x56, 0x34, 0x12 }, 8, {
		.op = INSN_OP_STORE_IMM, .size = 4, .reg = -1, .imm = 0x12345678ull,
		.addr_size = 4, .seg = INSN_SEG_DS, .base = 3, .index = 1,
		.scale = 2, .disp = 0x20ull } },
	/* movzx ax,BYTE PTR [ebx] */
	{ M32, "movzx ax, byte ptr [ebx]",
	  { 0x66, 0x0f, 0xb6, 0x03 }, 4, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 0, .dest_size = 2,
		.zero_extend = true, .addr_size = 4, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* movzx eax,BYTE PTR [ebx] */
	{ M32, "movzx eax, byte ptr [ebx]",
	  { 0x0f, 0xb6, 0x03 }, 3, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 0, .dest_size = 4,
		.zero_extend = true, .addr_size = 4, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* movzx ebx,WORD PTR [ebx] */
	{ M32, "movzx ebx, word ptr [ebx]",
	  { 0x0f, 0xb7, 0x1b }, 3, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 3, .dest_size = 4,
		.zero_extend = true, .addr_size = 4, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* movsx ax,BYTE PTR [ebx] */
	{ M32, "movsx ax, byte ptr [ebx]",
	  { 0x66, 0x0f, 0xbe, 0x03 }, 4, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 0, .dest_size = 2,
		.sign_extend = true, .addr_size = 4, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* movsx edi,BYTE PTR [ebx] */
	{ M32, "movsx edi, byte ptr [ebx]",
	  { 0x0f, 0xbe, 0x3b }, 3, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 7, .dest_size = 4,
		.sign_extend = true, .addr_size = 4, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* movsx eax,WORD PTR [ebx] */
	{ M32, "movsx eax, word ptr [ebx]",
	  { 0x0f, 0xbf, 0x03 }, 3, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 0, .dest_size = 4,
		.sign_extend = true, .addr_size = 4, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* mov al,ds:0x12345678 */
	{ M32, "mov al, ds:0x12345678",
	  { 0xa0, 0x78, 0x56, 0x34, 0x12 }, 5, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 0, .dest_size = 1,
		.addr_size = 4, .seg = INSN_SEG_DS, .base = -1, .index = -1,
		.disp = 0x12345678ull } },
	/* mov eax,ds:0x12345678 */
	{ M32, "mov eax, ds:0x12345678",
	  { 0xa1, 0x78, 0x56, 0x34, 0x12 }, 5, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.addr_size = 4, .seg = INSN_SEG_DS, .base = -1, .index = -1,
		.disp = 0x12345678ull } },
	/* mov ax,ds:0x12345678 */
	{ M32, "mov ax, ds:0x12345678",
	  { 0x66, 0xa1, 0x78, 0x56, 0x34, 0x12 }, 6, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 0, .dest_size = 2,
		.addr_size = 4, .seg = INSN_SEG_DS, .base = -1, .index = -1,
		.disp = 0x12345678ull } },
	/* mov ds:0x12345678,al */
	{ M32, "mov ds:0x12345678, al",
	  { 0xa2, 0x78, 0x56, 0x34, 0x12 }, 5, {
		.op = INSN_OP_STORE_REG, .size = 1, .reg = 0, .addr_size = 4,
		.seg = INSN_SEG_DS, .base = -1, .index = -1, .disp = 0x12345678ull } },
	/* mov ds:0x12345678,ax */
	{ M32, "mov ds:0x12345678, ax",
	  { 0x66, 0xa3, 0x78, 0x56, 0x34, 0x12 }, 6, {
		.op = INSN_OP_STORE_REG, .size = 2, .reg = 0, .addr_size = 4,
		.seg = INSN_SEG_DS, .base = -1, .index = -1, .disp = 0x12345678ull } },
	/* mov ds:0xfffffff0,eax */
	{ M32, "mov ds:0xfffffff0, eax",
	  { 0xa3, 0xf0, 0xff, 0xff, 0xff }, 5, {
		.op = INSN_OP_STORE_REG, .size = 4, .reg = 0, .addr_size = 4,
		.seg = INSN_SEG_DS, .base = -1, .index = -1, .disp = 0xfffffff0ull } },
	/* addr16 mov eax,ds:0x1234 */
	{ M32, "addr16 mov eax, ds:0x1234",
	  { 0x67, 0xa1, 0x34, 0x12 }, 4, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.addr_size = 2, .seg = INSN_SEG_DS, .base = -1, .index = -1,
		.disp = 0x1234ull } },
	/* mov eax,fs:0x10 */
	{ M32, "mov eax, fs:0x10",
	  { 0x64, 0xa1, 0x10, 0x00, 0x00, 0x00 }, 6, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.addr_size = 4, .seg = INSN_SEG_FS, .base = -1, .index = -1,
		.disp = 0x10ull } },
	/* mov ecx,DWORD PTR ds:0x12345678 */
	{ M32, "mov ecx, [0x12345678]",
	  { 0x8b, 0x0d, 0x78, 0x56, 0x34, 0x12 }, 6, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 1, .dest_size = 4,
		.addr_size = 4, .seg = INSN_SEG_DS, .base = -1, .index = -1,
		.disp = 0x12345678ull } },
	/* mov eax,DWORD PTR [ebp+0x0] */
	{ M32, "mov eax, [ebp]",
	  { 0x8b, 0x45, 0x00 }, 3, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.addr_size = 4, .seg = INSN_SEG_SS, .base = 5, .index = -1 } },
	/* mov eax,DWORD PTR [esp] */
	{ M32, "mov eax, [esp]",
	  { 0x8b, 0x04, 0x24 }, 3, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.addr_size = 4, .seg = INSN_SEG_SS, .base = 4, .index = -1 } },
	/* mov eax,DWORD PTR [ebx+esi*4+0x10] */
	{ M32, "mov eax, [ebx+esi*4+0x10]",
	  { 0x8b, 0x44, 0xb3, 0x10 }, 4, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.addr_size = 4, .seg = INSN_SEG_DS, .base = 3, .index = 6,
		.scale = 4, .disp = 0x10ull } },
	/* mov eax,DWORD PTR [esi*8+0x100] */
	{ M32, "mov eax, [esi*8+0x100]",
	  { 0x8b, 0x04, 0xf5, 0x00, 0x01, 0x00, 0x00 }, 7, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.addr_size = 4, .seg = INSN_SEG_DS, .base = -1, .index = 6,
		.scale = 8, .disp = 0x100ull } },
	/* mov eax,DWORD PTR [ebp+eax*2+0x0] */
	{ M32, "mov eax, [ebp+eax*2]",
	  { 0x8b, 0x44, 0x45, 0x00 }, 4, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.addr_size = 4, .seg = INSN_SEG_SS, .base = 5, .index = 0,
		.scale = 2 } },
	/* mov eax,DWORD PTR [ecx+0x80] */
	{ M32, "mov eax, [ecx+0x80]",
	  { 0x8b, 0x81, 0x80, 0x00, 0x00, 0x00 }, 6, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.addr_size = 4, .seg = INSN_SEG_DS, .base = 1, .index = -1,
		.disp = 0x80ull } },
	/* mov eax,DWORD PTR [bx+si] */
	{ M32, "mov eax, [bx+si]",
	  { 0x67, 0x8b, 0x00 }, 3, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.addr_size = 2, .seg = INSN_SEG_DS, .base = 3, .index = 6,
		.scale = 1 } },
	/* mov eax,DWORD PTR [bp+di+0x10] */
	{ M32, "mov eax, [bp+di+0x10]",
	  { 0x67, 0x8b, 0x43, 0x10 }, 4, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.addr_size = 2, .seg = INSN_SEG_SS, .base = 5, .index = 7,
		.scale = 1, .disp = 0x10ull } },
	/* stos BYTE PTR es:[edi],al */
	{ M32, "stosb",
	  { 0xaa }, 1, {
		.op = INSN_OP_STOS, .size = 1, .reg = 0, .addr_size = 4,
		.seg = INSN_SEG_ES, .base = -1, .index = -1 } },
	/* stos WORD PTR es:[edi],ax */
	{ M32, "stosw",
	  { 0x66, 0xab }, 2, {
		.op = INSN_OP_STOS, .size = 2, .reg = 0, .addr_size = 4,
		.seg = INSN_SEG_ES, .base = -1, .index = -1 } },
	/* stos DWORD PTR es:[edi],eax */
	{ M32, "stosd",
	  { 0xab }, 1, {
		.op = INSN_OP_STOS, .size = 4, .reg = 0, .addr_size = 4,
		.seg = INSN_SEG_ES, .base = -1, .index = -1 } },
	/* rep stos DWORD PTR es:[edi],eax */
	{ M32, "rep stosd",
	  { 0xf3, 0xab }, 2, {
		.op = INSN_OP_STOS, .size = 4, .reg = 0, .rep = true,
		.addr_size = 4, .seg = INSN_SEG_ES, .base = -1, .index = -1 } },
	/* rep stos BYTE PTR es:[di],al */
	{ M32, "addr16 rep stosb",
	  { 0x67, 0xf3, 0xaa }, 3, {
		.op = INSN_OP_STOS, .size = 1, .reg = 0, .rep = true,
		.addr_size = 2, .seg = INSN_SEG_ES, .base = -1, .index = -1 } },
	/* movs BYTE PTR es:[edi],BYTE PTR ds:[esi] */
	{ M32, "movsb",
	  { 0xa4 }, 1, {
		.op = INSN_OP_MOVS, .size = 1, .reg = -1, .addr_size = 4,
		.seg = INSN_SEG_DS, .base = -1, .index = -1 } },
	/* movs WORD PTR es:[edi],WORD PTR ds:[esi] */
	{ M32, "movsw",
	  { 0x66, 0xa5 }, 2, {
		.op = INSN_OP_MOVS, .size = 2, .reg = -1, .addr_size = 4,
		.seg = INSN_SEG_DS, .base = -1, .index = -1 } },
	/* movs DWORD PTR es:[edi],DWORD PTR ds:[esi] */
	{ M32, "movsd",
	  { 0xa5 }, 1, {
		.op = INSN_OP_MOVS, .size = 4, .reg = -1, .addr_size = 4,
		.seg = INSN_SEG_DS, .base = -1, .index = -1 } },
	/* rep movs DWORD PTR es:[edi],DWORD PTR ds:[esi] */
	{ M32, "rep movsd",
	  { 0xf3, 0xa5 }, 2, {
		.op = INSN_OP_MOVS, .size = 4, .reg = -1, .rep = true,
		.addr_size = 4, .seg = INSN_SEG_DS, .base = -1, .index = -1 } },
	/* movs BYTE PTR es:[edi],BYTE PTR es:[esi] */
	{ M32, "es movsb (source override)",
	  { 0x26, 0xa4 }, 2, {
		.op = INSN_OP_MOVS, .size = 1, .reg = -1, .addr_size = 4,
		.seg = INSN_SEG_ES, .base = -1, .index = -1 } },
	/* rep movs BYTE PTR es:[edi],BYTE PTR cs:[esi] */
	{ M32, "cs rep movsb",
	  { 0x2e, 0xf3, 0xa4 }, 3, {
		.op = INSN_OP_MOVS, .size = 1, .reg = -1, .rep = true,
		.addr_size = 4, .seg = INSN_SEG_CS, .base = -1, .index = -1 } },
	/* mov eax,DWORD PTR es:[ebx] */
	{ M32, "mov eax, es:[ebx]",
	  { 0x26, 0x8b, 0x03 }, 3, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.addr_size = 4, .seg = INSN_SEG_ES, .base = 3, .index = -1 } },
	/* mov eax,DWORD PTR cs:[ebx] */
	{ M32, "mov eax, cs:[ebx]",
	  { 0x2e, 0x8b, 0x03 }, 3, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.addr_size = 4, .seg = INSN_SEG_CS, .base = 3, .index = -1 } },
	/* mov eax,DWORD PTR ss:[ebx] */
	{ M32, "mov eax, ss:[ebx]",
	  { 0x36, 0x8b, 0x03 }, 3, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.addr_size = 4, .seg = INSN_SEG_SS, .base = 3, .index = -1 } },
	/* mov eax,DWORD PTR ds:[ebp+0x0] */
	{ M32, "mov eax, ds:[ebp]",
	  { 0x3e, 0x8b, 0x45, 0x00 }, 4, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.addr_size = 4, .seg = INSN_SEG_DS, .base = 5, .index = -1 } },
	/* mov eax,DWORD PTR fs:[ebx] */
	{ M32, "mov eax, fs:[ebx]",
	  { 0x64, 0x8b, 0x03 }, 3, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.addr_size = 4, .seg = INSN_SEG_FS, .base = 3, .index = -1 } },
	/* mov eax,DWORD PTR gs:[ebx] */
	{ M32, "mov eax, gs:[ebx]",
	  { 0x65, 0x8b, 0x03 }, 3, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.addr_size = 4, .seg = INSN_SEG_GS, .base = 3, .index = -1 } },
	/* es mov eax,DWORD PTR ds:[ebx] */
	{ M32, "es ds mov eax, [ebx] (last override wins)",
	  { 0x26, 0x3e, 0x8b, 0x03 }, 4, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.addr_size = 4, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* ds ds ds ds ds ds ds mov eax,DWORD PTR ds:[esp+0x12345678] */
	{ M32, "8 x ds, mov eax, [esp+disp32]: 15 bytes",
	  { 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x8b, 0x84, 0x24, 0x78, 0x56, 0x34, 0x12 }, 15, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.addr_size = 4, .seg = INSN_SEG_DS, .base = 4, .index = -1,
		.disp = 0x12345678ull } },
	/* mov BYTE PTR [bx],al */
	{ M16, "mov [bx], al",
	  { 0x88, 0x07 }, 2, {
		.op = INSN_OP_STORE_REG, .size = 1, .reg = 0, .addr_size = 2,
		.seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov BYTE PTR [bx],ah */
	{ M16, "mov [bx], ah",
	  { 0x88, 0x27 }, 2, {
		.op = INSN_OP_STORE_REG, .size = 1, .reg = 0, .high8 = true,
		.addr_size = 2, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov WORD PTR [bx],ax */
	{ M16, "mov [bx], ax",
	  { 0x89, 0x07 }, 2, {
		.op = INSN_OP_STORE_REG, .size = 2, .reg = 0, .addr_size = 2,
		.seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov DWORD PTR [bx],eax */
	{ M16, "mov [bx], eax",
	  { 0x66, 0x89, 0x07 }, 3, {
		.op = INSN_OP_STORE_REG, .size = 4, .reg = 0, .addr_size = 2,
		.seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov al,BYTE PTR [si] */
	{ M16, "mov al, [si]",
	  { 0x8a, 0x04 }, 2, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 0, .dest_size = 1,
		.addr_size = 2, .seg = INSN_SEG_DS, .base = 6, .index = -1 } },
	/* mov ch,BYTE PTR [si] */
	{ M16, "mov ch, [si]",
	  { 0x8a, 0x2c }, 2, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 1, .high8 = true,
		.dest_size = 1, .addr_size = 2, .seg = INSN_SEG_DS, .base = 6,
		.index = -1 } },
	/* mov ax,WORD PTR [di] */
	{ M16, "mov ax, [di]",
	  { 0x8b, 0x05 }, 2, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 0, .dest_size = 2,
		.addr_size = 2, .seg = INSN_SEG_DS, .base = 7, .index = -1 } },
	/* mov eax,DWORD PTR [bx] */
	{ M16, "mov eax, [bx]",
	  { 0x66, 0x8b, 0x07 }, 3, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.addr_size = 2, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov cx,WORD PTR [bx+si] */
	{ M16, "mov cx, [bx+si]",
	  { 0x8b, 0x08 }, 2, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 1, .dest_size = 2,
		.addr_size = 2, .seg = INSN_SEG_DS, .base = 3, .index = 6,
		.scale = 1 } },
	/* mov cx,WORD PTR [bx+di] */
	{ M16, "mov cx, [bx+di]",
	  { 0x8b, 0x09 }, 2, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 1, .dest_size = 2,
		.addr_size = 2, .seg = INSN_SEG_DS, .base = 3, .index = 7,
		.scale = 1 } },
	/* mov cx,WORD PTR [bp+si] */
	{ M16, "mov cx, [bp+si]",
	  { 0x8b, 0x0a }, 2, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 1, .dest_size = 2,
		.addr_size = 2, .seg = INSN_SEG_SS, .base = 5, .index = 6,
		.scale = 1 } },
	/* mov cx,WORD PTR [bp+di] */
	{ M16, "mov cx, [bp+di]",
	  { 0x8b, 0x0b }, 2, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 1, .dest_size = 2,
		.addr_size = 2, .seg = INSN_SEG_SS, .base = 5, .index = 7,
		.scale = 1 } },
	/* mov cx,WORD PTR ds:0x1234 */
	{ M16, "mov cx, ds:0x1234",
	  { 0x8b, 0x0e, 0x34, 0x12 }, 4, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 1, .dest_size = 2,
		.addr_size = 2, .seg = INSN_SEG_DS, .base = -1, .index = -1,
		.disp = 0x1234ull } },
	/* mov cx,WORD PTR [bp+0x0] */
	{ M16, "mov cx, [bp]",
	  { 0x8b, 0x4e, 0x00 }, 3, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 1, .dest_size = 2,
		.addr_size = 2, .seg = INSN_SEG_SS, .base = 5, .index = -1 } },
	/* mov ax,WORD PTR [bp+0x10] */
	{ M16, "mov ax, [bp+0x10]",
	  { 0x8b, 0x46, 0x10 }, 3, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 0, .dest_size = 2,
		.addr_size = 2, .seg = INSN_SEG_SS, .base = 5, .index = -1,
		.disp = 0x10ull } },
	/* mov cx,WORD PTR [bx+si-0x2] */
	{ M16, "mov cx, [bx+si-2]",
	  { 0x8b, 0x48, 0xfe }, 3, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 1, .dest_size = 2,
		.addr_size = 2, .seg = INSN_SEG_DS, .base = 3, .index = 6,
		.scale = 1, .disp = 0xfffffffffffffffeull } },
	/* mov cx,WORD PTR [bp+di+0x1234] */
	{ M16, "mov cx, [bp+di+0x1234]",
	  { 0x8b, 0x8b, 0x34, 0x12 }, 4, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 1, .dest_size = 2,
		.addr_size = 2, .seg = INSN_SEG_SS, .base = 5, .index = 7,
		.scale = 1, .disp = 0x1234ull } },
	/* mov dx,WORD PTR [bx+0x7fff] */
	{ M16, "mov dx, [bx+0x7fff]",
	  { 0x8b, 0x97, 0xff, 0x7f }, 4, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 2, .dest_size = 2,
		.addr_size = 2, .seg = INSN_SEG_DS, .base = 3, .index = -1,
		.disp = 0x7fffull } },
	/* mov dx,WORD PTR [di-0x8000] */
	{ M16, "mov dx, [di-0x8000]",
	  { 0x8b, 0x95, 0x00, 0x80 }, 4, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 2, .dest_size = 2,
		.addr_size = 2, .seg = INSN_SEG_DS, .base = 7, .index = -1,
		.disp = 0xffffffffffff8000ull } },
	/* mov BYTE PTR [bx],0x12 */
	{ M16, "mov byte ptr [bx], 0x12",
	  { 0xc6, 0x07, 0x12 }, 3, {
		.op = INSN_OP_STORE_IMM, .size = 1, .reg = -1, .imm = 0x12ull,
		.addr_size = 2, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov WORD PTR [bx],0xbeef */
	{ M16, "mov word ptr [bx], 0xbeef",
	  { 0xc7, 0x07, 0xef, 0xbe }, 4, {
		.op = INSN_OP_STORE_IMM, .size = 2, .reg = -1, .imm = 0xbeefull,
		.addr_size = 2, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov DWORD PTR [bx],0x12345678 */
	{ M16, "mov dword ptr [bx], 0x12345678",
	  { 0x66, 0xc7, 0x07, 0x78, 0x56, 0x34, 0x12 }, 7, {
		.op = INSN_OP_STORE_IMM, .size = 4, .reg = -1, .imm = 0x12345678ull,
		.addr_size = 2, .seg = INSN_SEG_DS, .base = 3, .index = -1 } },
	/* mov WORD PTR [bp+si+0x4],0x1 */
	{ M16, "mov word ptr [bp+si+4], 0x1",
	  { 0xc7, 0x42, 0x04, 0x01, 0x00 }, 5, {
		.op = INSN_OP_STORE_IMM, .size = 2, .reg = -1, .imm = 0x1ull,
		.addr_size = 2, .seg = INSN_SEG_SS, .base = 5, .index = 6,
		.scale = 1, .disp = 0x4ull } },
	/* movzx ax,BYTE PTR [bx] */
	{ M16, "movzx ax, byte ptr [bx]",
	  { 0x0f, 0xb6, 0x07 }, 3, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 0, .dest_size = 2,
		.zero_extend = true, .addr_size = 2, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* movzx eax,BYTE PTR [bx] */
	{ M16, "movzx eax, byte ptr [bx]",
	  { 0x66, 0x0f, 0xb6, 0x07 }, 4, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 0, .dest_size = 4,
		.zero_extend = true, .addr_size = 2, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* movzx eax,WORD PTR [bx] */
	{ M16, "movzx eax, word ptr [bx]",
	  { 0x66, 0x0f, 0xb7, 0x07 }, 4, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 0, .dest_size = 4,
		.zero_extend = true, .addr_size = 2, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* movsx ax,BYTE PTR [bx] */
	{ M16, "movsx ax, byte ptr [bx]",
	  { 0x0f, 0xbe, 0x07 }, 3, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 0, .dest_size = 2,
		.sign_extend = true, .addr_size = 2, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* movsx eax,WORD PTR [bx] */
	{ M16, "movsx eax, word ptr [bx]",
	  { 0x66, 0x0f, 0xbf, 0x07 }, 4, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 0, .dest_size = 4,
		.sign_extend = true, .addr_size = 2, .seg = INSN_SEG_DS, .base = 3,
		.index = -1 } },
	/* mov al,ds:0x1234 */
	{ M16, "mov al, ds:0x1234",
	  { 0xa0, 0x34, 0x12 }, 3, {
		.op = INSN_OP_LOAD, .size = 1, .reg = 0, .dest_size = 1,
		.addr_size = 2, .seg = INSN_SEG_DS, .base = -1, .index = -1,
		.disp = 0x1234ull } },
	/* mov ax,ds:0x1234 */
	{ M16, "mov ax, ds:0x1234",
	  { 0xa1, 0x34, 0x12 }, 3, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 0, .dest_size = 2,
		.addr_size = 2, .seg = INSN_SEG_DS, .base = -1, .index = -1,
		.disp = 0x1234ull } },
	/* mov eax,ds:0xfffe */
	{ M16, "mov eax, ds:0xfffe",
	  { 0x66, 0xa1, 0xfe, 0xff }, 4, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.addr_size = 2, .seg = INSN_SEG_DS, .base = -1, .index = -1,
		.disp = 0xfffeull } },
	/* mov ds:0x1234,al */
	{ M16, "mov ds:0x1234, al",
	  { 0xa2, 0x34, 0x12 }, 3, {
		.op = INSN_OP_STORE_REG, .size = 1, .reg = 0, .addr_size = 2,
		.seg = INSN_SEG_DS, .base = -1, .index = -1, .disp = 0x1234ull } },
	/* mov ds:0x1234,ax */
	{ M16, "mov ds:0x1234, ax",
	  { 0xa3, 0x34, 0x12 }, 3, {
		.op = INSN_OP_STORE_REG, .size = 2, .reg = 0, .addr_size = 2,
		.seg = INSN_SEG_DS, .base = -1, .index = -1, .disp = 0x1234ull } },
	/* addr32 mov ax,ds:0x12345678 */
	{ M16, "addr32 mov ax, ds:0x12345678",
	  { 0x67, 0xa1, 0x78, 0x56, 0x34, 0x12 }, 6, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 0, .dest_size = 2,
		.addr_size = 4, .seg = INSN_SEG_DS, .base = -1, .index = -1,
		.disp = 0x12345678ull } },
	/* mov eax,DWORD PTR [ebx+ecx*4] */
	{ M16, "mov eax, [ebx+ecx*4]",
	  { 0x67, 0x66, 0x8b, 0x04, 0x8b }, 5, {
		.op = INSN_OP_LOAD, .size = 4, .reg = 0, .dest_size = 4,
		.addr_size = 4, .seg = INSN_SEG_DS, .base = 3, .index = 1,
		.scale = 4 } },
	/* mov ax,WORD PTR [ebp+0x8] */
	{ M16, "mov ax, [ebp+8]",
	  { 0x67, 0x8b, 0x45, 0x08 }, 4, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 0, .dest_size = 2,
		.addr_size = 4, .seg = INSN_SEG_SS, .base = 5, .index = -1,
		.disp = 0x8ull } },
	/* stos BYTE PTR es:[di],al */
	{ M16, "stosb",
	  { 0xaa }, 1, {
		.op = INSN_OP_STOS, .size = 1, .reg = 0, .addr_size = 2,
		.seg = INSN_SEG_ES, .base = -1, .index = -1 } },
	/* stos WORD PTR es:[di],ax */
	{ M16, "stosw",
	  { 0xab }, 1, {
		.op = INSN_OP_STOS, .size = 2, .reg = 0, .addr_size = 2,
		.seg = INSN_SEG_ES, .base = -1, .index = -1 } },
	/* stos DWORD PTR es:[di],eax */
	{ M16, "stosd",
	  { 0x66, 0xab }, 2, {
		.op = INSN_OP_STOS, .size = 4, .reg = 0, .addr_size = 2,
		.seg = INSN_SEG_ES, .base = -1, .index = -1 } },
	/* rep stos WORD PTR es:[di],ax */
	{ M16, "rep stosw",
	  { 0xf3, 0xab }, 2, {
		.op = INSN_OP_STOS, .size = 2, .reg = 0, .rep = true,
		.addr_size = 2, .seg = INSN_SEG_ES, .base = -1, .index = -1 } },
	/* movs BYTE PTR es:[di],BYTE PTR ds:[si] */
	{ M16, "movsb",
	  { 0xa4 }, 1, {
		.op = INSN_OP_MOVS, .size = 1, .reg = -1, .addr_size = 2,
		.seg = INSN_SEG_DS, .base = -1, .index = -1 } },
	/* movs WORD PTR es:[di],WORD PTR ds:[si] */
	{ M16, "movsw",
	  { 0xa5 }, 1, {
		.op = INSN_OP_MOVS, .size = 2, .reg = -1, .addr_size = 2,
		.seg = INSN_SEG_DS, .base = -1, .index = -1 } },
	/* rep movs BYTE PTR es:[di],BYTE PTR ds:[si] */
	{ M16, "rep movsb",
	  { 0xf3, 0xa4 }, 2, {
		.op = INSN_OP_MOVS, .size = 1, .reg = -1, .rep = true,
		.addr_size = 2, .seg = INSN_SEG_DS, .base = -1, .index = -1 } },
	/* rep movs DWORD PTR es:[edi],DWORD PTR ds:[esi] */
	{ M16, "addr32 rep movsd",
	  { 0x67, 0x66, 0xf3, 0xa5 }, 4, {
		.op = INSN_OP_MOVS, .size = 4, .reg = -1, .rep = true,
		.addr_size = 4, .seg = INSN_SEG_DS, .base = -1, .index = -1 } },
	/* rep stos DWORD PTR es:[di],eax */
	{ M16, "rep stosd",
	  { 0x66, 0xf3, 0xab }, 3, {
		.op = INSN_OP_STOS, .size = 4, .reg = 0, .rep = true,
		.addr_size = 2, .seg = INSN_SEG_ES, .base = -1, .index = -1 } },
	/* movs BYTE PTR es:[di],BYTE PTR fs:[si] */
	{ M16, "movsb es:[di], fs:[si]",
	  { 0x64, 0xa4 }, 2, {
		.op = INSN_OP_MOVS, .size = 1, .reg = -1, .addr_size = 2,
		.seg = INSN_SEG_FS, .base = -1, .index = -1 } },
	/* cs stos BYTE PTR es:[di],al (an override cannot move STOS off ES) */
	{ M16, "stosb with a CS override",
	  { 0x2e, 0xaa }, 2, {
		.op = INSN_OP_STOS, .size = 1, .reg = 0, .addr_size = 2,
		.seg = INSN_SEG_ES, .base = -1, .index = -1 } },
	/* mov ax,WORD PTR es:[bx] */
	{ M16, "mov ax, es:[bx]",
	  { 0x26, 0x8b, 0x07 }, 3, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 0, .dest_size = 2,
		.addr_size = 2, .seg = INSN_SEG_ES, .base = 3, .index = -1 } },
	/* mov ax,WORD PTR ds:[bp+0x0] */
	{ M16, "mov ax, ds:[bp]",
	  { 0x3e, 0x8b, 0x46, 0x00 }, 4, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 0, .dest_size = 2,
		.addr_size = 2, .seg = INSN_SEG_DS, .base = 5, .index = -1 } },
	/* mov ax,WORD PTR ss:[si] */
	{ M16, "mov ax, ss:[si]",
	  { 0x36, 0x8b, 0x04 }, 3, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 0, .dest_size = 2,
		.addr_size = 2, .seg = INSN_SEG_SS, .base = 6, .index = -1 } },
	/* mov ax,WORD PTR fs:[si] */
	{ M16, "mov ax, fs:[si]",
	  { 0x64, 0x8b, 0x04 }, 3, {
		.op = INSN_OP_LOAD, .size = 2, .reg = 0, .dest_size = 2,
		.addr_size = 2, .seg = INSN_SEG_FS, .base = 6, .index = -1 } },
};

#define N_CASES (sizeof(insn_cases) / sizeof(insn_cases[0]))

/* A heap copy of @n bytes (at least one allocated byte, none readable past @n under ASan). */
static uint8_t *insn_copy(const uint8_t *bytes, unsigned int n, unsigned int room)
{
	uint8_t *p = malloc(room ? room : 1);

	assert_non_null(p);
	memset(p, 0xcc, room ? room : 1);
	memcpy(p, bytes, n);
	return p;
}

static int insn_check_field(const struct insn_case *c, const char *field,
			    unsigned long long got, unsigned long long want)
{
	if (got == want)
		return 0;
	print_error("%s (mode %d): %s is 0x%llx, want 0x%llx\n",
		    c->text, (int)c->mode * 8, field, got, want);
	return 1;
}

#define CHECK(f) insn_check_field(c, #f, (unsigned long long)got->f, \
				  (unsigned long long)c->want.f)

static int insn_check(const struct insn_case *c, const struct insn_mmio *got)
{
	return insn_check_field(c, "len", got->len, c->len) +
	       CHECK(op) + CHECK(size) + CHECK(reg) + CHECK(high8) +
	       CHECK(dest_size) + CHECK(sign_extend) + CHECK(zero_extend) +
	       CHECK(zero_upper32) + CHECK(imm) + CHECK(rep) + CHECK(addr_size) +
	       CHECK(seg) + CHECK(base) + CHECK(index) + CHECK(scale) +
	       CHECK(rip_relative) + CHECK(disp);
}

/* Every table entry decodes from exactly its own bytes. */
static void insn_decode_table_exact(void **state)
{
	unsigned int i, bad = 0;

	(void)state;
	for (i = 0; i < N_CASES; i++) {
		const struct insn_case *c = &insn_cases[i];
		struct insn_mmio got;
		uint8_t *p = insn_copy(c->bytes, c->len, c->len);
		int rc = insn_decode_mmio(p, c->len, c->mode, &got);

		if (rc != 0) {
			print_error("%s (mode %d): rc %d (%s)\n", c->text,
				    (int)c->mode * 8, rc, insn_strerror(rc));
			bad++;
		} else {
			bad += insn_check(c, &got) != 0;
		}
		free(p);
	}
	print_message("%u encodings\n", (unsigned int)N_CASES);
	assert_int_equal(bad, 0);
}

/*
 * The length comes from the bytes, not from @avail: followed by junk and
 * offered "more than 15" bytes, each entry decodes the same, and the 15-byte
 * buffer shows nothing past the architectural limit is looked at.
 */
static void insn_decode_table_ignores_trailing_bytes(void **state)
{
	unsigned int i, bad = 0;

	(void)state;
	for (i = 0; i < N_CASES; i++) {
		const struct insn_case *c = &insn_cases[i];
		struct insn_mmio got;
		uint8_t *p = insn_copy(c->bytes, c->len, INSN_MAX_LEN);
		int rc = insn_decode_mmio(p, 4096, c->mode, &got);

		bad += rc != 0 || insn_check(c, &got) != 0;
		free(p);
	}
	assert_int_equal(bad, 0);
}

/* Cut short at every byte position, every entry asks for more bytes. */
static void insn_decode_table_truncated_everywhere(void **state)
{
	unsigned int i, k, bad = 0, n = 0;

	(void)state;
	for (i = 0; i < N_CASES; i++) {
		const struct insn_case *c = &insn_cases[i];

		for (k = 0; k < c->len; k++, n++) {
			struct insn_mmio got;
			uint8_t *p = insn_copy(c->bytes, k, k);
			int rc = insn_decode_mmio(p, k, c->mode, &got);

			if (rc != INSN_E_TRUNCATED || got.len > k) {
				print_error("%s cut to %u bytes: rc %d, len %u\n",
					    c->text, k, rc, got.len);
				bad++;
			}
			free(p);
		}
	}
	print_message("%u truncations\n", n);
	assert_int_equal(bad, 0);
}

struct insn_bad_case {
	enum insn_mode	mode;
	const char	*text;
	uint8_t		bytes[20];
	unsigned int	avail;
	int		rc;
	unsigned int	opcode;		/* as reported for the log; 0 when not reached */
};

#define P8 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66

static const struct insn_bad_case insn_bad_cases[] = {
	/* LOCK: #UD on MOV, STOS and MOVS */
	{ M64, "lock mov [rbx], eax", { 0xf0, 0x89, 0x03 }, 3, INSN_E_LOCK, 0x89 },
	{ M64, "lock mov dword [rbx], 1", { 0xf0, 0xc7, 0x03, 1, 0, 0, 0 }, 7, INSN_E_LOCK, 0xc7 },
	{ M32, "mov eax, lock [ebx]", { 0x66, 0xf0, 0x8b, 0x03 }, 4, INSN_E_LOCK, 0x8b },
	{ M64, "lock movzx eax, byte [rbx]", { 0xf0, 0x0f, 0xb6, 0x03 }, 4, INSN_E_LOCK, 0x0fb6 },
	{ M16, "lock rep stosb", { 0xf0, 0xf3, 0xaa }, 3, INSN_E_LOCK, 0xaa },
	{ M64, "lock movsb", { 0xf0, 0xa4 }, 2, INSN_E_LOCK, 0xa4 },
	/* the lock is known before the ModRM byte is */
	{ M64, "lock mov [..], eax (truncated)", { 0xf0, 0x89 }, 2, INSN_E_LOCK, 0x89 },
	/* a locked instruction we do not handle is unsupported rather than #UD */
	{ M64, "lock add [rbx], eax", { 0xf0, 0x01, 0x03 }, 3, INSN_E_UNSUPPORTED, 0x01 },

	/* mod == 3: a register operand, no memory access to emulate */
	{ M64, "mov ebx, eax", { 0x89, 0xc3 }, 2, INSN_E_NOT_MEM, 0x89 },
	{ M64, "mov al, bl", { 0x8a, 0xc3 }, 2, INSN_E_NOT_MEM, 0x8a },
	{ M32, "mov eax, ebx", { 0x8b, 0xc3 }, 2, INSN_E_NOT_MEM, 0x8b },
	{ M16, "mov [bx] al -> mov bl, al", { 0x88, 0xc3 }, 2, INSN_E_NOT_MEM, 0x88 },
	{ M64, "mov al, 1 (C6 /0 reg)", { 0xc6, 0xc0, 0x01 }, 3, INSN_E_NOT_MEM, 0xc6 },
	{ M64, "mov rax, -1 (C7 /0 reg)", { 0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff }, 7, INSN_E_NOT_MEM, 0xc7 },
	{ M64, "movzx eax, al", { 0x0f, 0xb6, 0xc0 }, 3, INSN_E_NOT_MEM, 0x0fb6 },
	{ M64, "movsx eax, ax", { 0x0f, 0xbf, 0xc0 }, 3, INSN_E_NOT_MEM, 0x0fbf },
	{ M64, "movsxd rax, eax", { 0x48, 0x63, 0xc0 }, 3, INSN_E_NOT_MEM, 0x63 },

	/* opcodes outside the list */
	{ M64, "add [rbx], eax", { 0x01, 0x03 }, 2, INSN_E_UNSUPPORTED, 0x01 },
	{ M64, "inc dword [rbx]", { 0xff, 0x03 }, 2, INSN_E_UNSUPPORTED, 0xff },
	{ M64, "mov [rbx], ds", { 0x8c, 0x1b }, 2, INSN_E_UNSUPPORTED, 0x8c },
	{ M64, "lea eax, [rbx]", { 0x8d, 0x03 }, 2, INSN_E_UNSUPPORTED, 0x8d },
	{ M64, "nop", { 0x90 }, 1, INSN_E_UNSUPPORTED, 0x90 },
	{ M64, "syscall", { 0x0f, 0x05 }, 2, INSN_E_UNSUPPORTED, 0x0f05 },
	{ M64, "movnti [rbx], eax", { 0x0f, 0xc3, 0x03 }, 3, INSN_E_UNSUPPORTED, 0x0fc3 },
	{ M64, "movdqa xmm0, [rbx]", { 0x66, 0x0f, 0x6f, 0x03 }, 4, INSN_E_UNSUPPORTED, 0x0f6f },
	{ M64, "vmovdqu ymm0, [rbx] (VEX)", { 0xc5, 0xfe, 0x6f, 0x03 }, 4, INSN_E_UNSUPPORTED, 0xc5 },
	{ M64, "lodsb", { 0xac }, 1, INSN_E_UNSUPPORTED, 0xac },
	{ M64, "cmpsb", { 0xa6 }, 1, INSN_E_UNSUPPORTED, 0xa6 },
	{ M64, "xchg [rbx], eax", { 0x87, 0x03 }, 2, INSN_E_UNSUPPORTED, 0x87 },
	{ M64, "C7 /1 (not MOV)", { 0xc7, 0x0b, 0, 0, 0, 0 }, 6, INSN_E_UNSUPPORTED, 0xc7 },
	{ M64, "C6 /7 (xabort)", { 0xc6, 0xf8, 0x01 }, 3, INSN_E_UNSUPPORTED, 0xc6 },
	{ M64, "C7 /7 (xbegin)", { 0xc7, 0xf8, 0, 0, 0, 0 }, 6, INSN_E_UNSUPPORTED, 0xc7 },
	{ M32, "arpl [ebx], ax (63 outside 64-bit mode)", { 0x63, 0x03 }, 2, INSN_E_UNSUPPORTED, 0x63 },
	{ M16, "arpl [bx], ax", { 0x63, 0x07 }, 2, INSN_E_UNSUPPORTED, 0x63 },
	/* REX outside 64-bit mode is INC/DEC */
	{ M32, "dec eax; mov eax, [ebx]", { 0x48, 0x8b, 0x03 }, 3, INSN_E_UNSUPPORTED, 0x48 },
	{ M32, "inc eax; mov [ebx], al", { 0x40, 0x88, 0x03 }, 3, INSN_E_UNSUPPORTED, 0x40 },
	{ M16, "dec di", { 0x4f, 0x88, 0x03 }, 3, INSN_E_UNSUPPORTED, 0x4f },

	/* the 15-byte limit */
	{ M64, "16 bytes: 14 prefixes + mov", { P8, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x8b, 0x03 },
	  16, INSN_E_TOO_LONG, 0x8b },
	{ M64, "15 prefixes, no opcode", { P8, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x8b, 0x03 },
	  17, INSN_E_TOO_LONG, 0 },
	{ M64, "15 prefixes, only 15 bytes offered", { P8, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66 },
	  15, INSN_E_TOO_LONG, 0 },
	{ M64, "20 REX prefixes", { P8, P8 }, 16, INSN_E_TOO_LONG, 0 },
	{ M32, "disp32 crosses byte 15", { P8, 0x66, 0x66, 0x8b, 0x83, 0x78, 0x56, 0x34, 0x12 },
	  16, INSN_E_TOO_LONG, 0x8b },
	{ M64, "imm32 crosses byte 15", { 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0xc7, 0x43, 0x10, 1, 0, 0, 0 },
	  16, INSN_E_TOO_LONG, 0xc7 },
	{ M64, "moffs64 crosses byte 15", { 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0xa1, 1, 2, 3, 4, 5, 6, 7, 8 },
	  16, INSN_E_TOO_LONG, 0xa1 },
	/* cannot tell yet: more bytes might complete it within 15 */
	{ M64, "10 prefixes", { P8, 0x66, 0x66 }, 10, INSN_E_TRUNCATED, 0 },
	{ M64, "nothing", { 0 }, 0, INSN_E_TRUNCATED, 0 },
	{ M64, "0F alone", { 0x0f }, 1, INSN_E_TRUNCATED, 0 },
	{ M64, "REX alone", { 0x48 }, 1, INSN_E_TRUNCATED, 0 },
};

#define N_BAD (sizeof(insn_bad_cases) / sizeof(insn_bad_cases[0]))

static void insn_decode_rejects(void **state)
{
	unsigned int i, bad = 0;

	(void)state;
	for (i = 0; i < N_BAD; i++) {
		const struct insn_bad_case *c = &insn_bad_cases[i];
		struct insn_mmio got;
		uint8_t *p = insn_copy(c->bytes, c->avail, c->avail);
		int rc = insn_decode_mmio(p, c->avail, c->mode, &got);

		if (rc != c->rc || got.opcode != c->opcode || got.len > c->avail ||
		    got.len > INSN_MAX_LEN) {
			print_error("%s: rc %d (%s) opcode 0x%x len %u, want rc %d opcode 0x%x\n",
				    c->text, rc, insn_strerror(rc), got.opcode, got.len,
				    c->rc, c->opcode);
			bad++;
		}
		free(p);
	}
	assert_int_equal(bad, 0);
}

/* A rejected instruction cut short still asks for more bytes, or fails the same way. */
static void insn_decode_rejects_truncated(void **state)
{
	unsigned int i, k, bad = 0;

	(void)state;
	for (i = 0; i < N_BAD; i++) {
		const struct insn_bad_case *c = &insn_bad_cases[i];

		for (k = 0; k < c->avail; k++) {
			struct insn_mmio got;
			uint8_t *p = insn_copy(c->bytes, k, k);
			int rc = insn_decode_mmio(p, k, c->mode, &got);

			if ((rc != INSN_E_TRUNCATED && rc != c->rc) || got.len > k) {
				print_error("%s cut to %u: rc %d len %u\n", c->text, k, rc, got.len);
				bad++;
			}
			free(p);
		}
	}
	assert_int_equal(bad, 0);
}

static const struct insn_case *insn_find(enum insn_mode mode, const char *text)
{
	unsigned int i;

	for (i = 0; i < N_CASES; i++)
		if (insn_cases[i].mode == mode && strcmp(insn_cases[i].text, text) == 0)
			return &insn_cases[i];
	fail_msg("no table entry \"%s\"", text);
	return NULL;
}

static uint64_t load(enum insn_mode mode, const char *text, uint64_t old, uint64_t data)
{
	const struct insn_case *c = insn_find(mode, text);
	struct insn_mmio m;

	assert_int_equal(insn_decode_mmio(c->bytes, c->len, mode, &m), 0);
	assert_int_equal(m.op, INSN_OP_LOAD);
	return insn_mmio_load(&m, old, data);
}

static uint64_t store(enum insn_mode mode, const char *text, uint64_t reg)
{
	const struct insn_case *c = insn_find(mode, text);
	struct insn_mmio m;

	assert_int_equal(insn_decode_mmio(c->bytes, c->len, mode, &m), 0);
	return insn_mmio_store_data(&m, reg);
}

#define OLD 0x1122334455667788ull
#define JUNK 0xa5a5a5a5a5a5a5a5ull	/* bits above the access size must be ignored */

/* The register writes of insn_mmio_load() follow the SDM for each form. */
static void insn_load_writes_register_like_cpu(void **state)
{
	(void)state;
	/* partial writes keep the rest of the register, 8- and 16-bit alike */
	assert_int_equal(load(M64, "mov al, [rbx]", OLD, (JUNK & ~0xffull) | 0xf0), 0x11223344556677f0ull);
	assert_int_equal(load(M64, "mov ch, [rbx]", OLD, (JUNK & ~0xffull) | 0xf0), 0x112233445566f088ull);
	assert_int_equal(load(M32, "mov bh, [ebx]", OLD, 0x01), 0x1122334455660188ull);
	assert_int_equal(load(M64, "mov ax, [rbx]", OLD, (JUNK & ~0xffffull) | 0xbeef), 0x112233445566beefull);
	/* 32-bit writes in 64-bit mode clear 63:32; in 32-bit mode nothing above is touched */
	assert_int_equal(load(M64, "mov eax, [rbx]", OLD, (JUNK & ~0xffffffffull) | 0xdeadbeef), 0xdeadbeefull);
	assert_int_equal(load(M32, "mov esp, [ebx]", OLD, 0xdeadbeef), 0x11223344deadbeefull);
	assert_int_equal(load(M64, "mov rax, [rbx]", OLD, 0x8877665544332211ull), 0x8877665544332211ull);
	/* MOVZX / MOVSX extend to the destination, then the 64-bit rule applies */
	assert_int_equal(load(M64, "movzx ax, byte ptr [rbx]", OLD, JUNK), 0x11223344556600a5ull);
	assert_int_equal(load(M64, "movzx eax, byte ptr [rbx]", OLD, JUNK), 0xa5ull);
	assert_int_equal(load(M64, "movzx rax, word ptr [rbx]", OLD, JUNK), 0xa5a5ull);
	assert_int_equal(load(M64, "movsx cx, byte ptr [rbx]", OLD, 0x80), 0x112233445566ff80ull);
	assert_int_equal(load(M64, "movsx ecx, byte ptr [rbx]", OLD, 0x80), 0xffffff80ull);
	assert_int_equal(load(M64, "movsx rcx, byte ptr [rbx]", OLD, 0x80), 0xffffffffffffff80ull);
	assert_int_equal(load(M64, "movsx rcx, byte ptr [rbx]", OLD, 0x7f), 0x7full);
	assert_int_equal(load(M64, "movsx edx, word ptr [rbx]", OLD, 0x8000), 0xffff8000ull);
	assert_int_equal(load(M64, "movsx r11, word ptr [rbx]", OLD, JUNK), 0xffffffffffffa5a5ull);
	assert_int_equal(load(M32, "movsx ax, byte ptr [ebx]", OLD, 0xfe), 0x112233445566fffeull);
	assert_int_equal(load(M32, "movsx eax, word ptr [ebx]", OLD, 0xfffe), 0x11223344fffffffeull);
	assert_int_equal(load(M16, "movzx eax, byte ptr [bx]", OLD, 0xfe), 0x11223344000000feull);
	/* MOVSXD: 32 -> 64 with REX.W; without, a plain 32-bit load */
	assert_int_equal(load(M64, "movsxd rax, dword ptr [rbx]", OLD, 0x80000000), 0xffffffff80000000ull);
	assert_int_equal(load(M64, "movsxd rax, dword ptr [rbx]", OLD, JUNK & ~0x80000000ull), 0x25a5a5a5ull);
	assert_int_equal(load(M64, "movsxd eax, dword ptr [rbx]", OLD, 0x80000000), 0x80000000ull);
	assert_int_equal(load(M64, "movsxd ax, word ptr [rbx]", OLD, 0x8000), 0x1122334455668000ull);
	/* moffs loads */
	assert_int_equal(load(M64, "movabs eax, [0xfedcba9876543210]", OLD, 0x1), 0x1ull);
	assert_int_equal(load(M16, "mov al, ds:0x1234", OLD, 0x99), 0x1122334455667799ull);
}

static void insn_store_data_takes_source_bytes(void **state)
{
	(void)state;
	assert_int_equal(store(M64, "mov [rbx], al", OLD), 0x88);
	assert_int_equal(store(M64, "mov [rbx], ah", OLD), 0x77);
	assert_int_equal(store(M32, "mov [ebx], dh", OLD), 0x77);
	assert_int_equal(store(M64, "mov [rbx], spl", OLD), 0x88);
	assert_int_equal(store(M64, "mov [rbx], ax", OLD), 0x7788);
	assert_int_equal(store(M64, "mov [rbx], eax", OLD), 0x55667788);
	assert_int_equal(store(M64, "mov [rbx], rax", OLD), OLD);
	assert_int_equal(store(M16, "mov [bx], eax", OLD), 0x55667788);
	assert_int_equal(store(M64, "stosw", OLD), 0x7788);
	assert_int_equal(store(M64, "movabs [0x1122334455667788], al", OLD), 0x88);
}

static void insn_strerror_names_every_code(void **state)
{
	static const int codes[] = {
		INSN_E_TRUNCATED, INSN_E_TOO_LONG, INSN_E_UNSUPPORTED, INSN_E_NOT_MEM, INSN_E_LOCK,
	};
	unsigned int i, j;

	(void)state;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		assert_true(codes[i] < 0);
		assert_string_not_equal(insn_strerror(codes[i]), "unknown error");
		for (j = 0; j < i; j++)
			assert_int_not_equal(codes[i], codes[j]);
	}
	assert_string_equal(insn_strerror(-1000), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(insn_decode_table_exact),
		cmocka_unit_test(insn_decode_table_ignores_trailing_bytes),
		cmocka_unit_test(insn_decode_table_truncated_everywhere),
		cmocka_unit_test(insn_decode_rejects),
		cmocka_unit_test(insn_decode_rejects_truncated),
		cmocka_unit_test(insn_load_writes_register_like_cpu),
		cmocka_unit_test(insn_store_data_takes_source_bytes),
		cmocka_unit_test(insn_strerror_names_every_code),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
