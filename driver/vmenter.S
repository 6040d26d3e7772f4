/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmenter.S: the only code that crosses into the guest and back.
 *
 * int vmx_vcpu_enter(struct vmx_gprs *gprs, bool launched)
 *
 * Environment: interrupts disabled, the vCPU's VMCS current on this CPU,
 * every host-state field already written except HOST_RSP, which is written
 * here because only here is the stack pointer at exit known. Loads the
 * guest's general-purpose registers (RSP and RIP live in the VMCS), enters
 * with VMLAUNCH or VMRESUME, and on VM exit (HOST_RIP = vmx_vmexit) stores
 * them back. Returns 0 after a VM exit, 1 when the entry instruction itself
 * failed (VMfail: read VM_INSTRUCTION_ERROR).
 *
 * struct vmx_gprs is sixteen u64 in x86 register-number order (rax rcx rdx
 * rbx rsp rbp rsi rdi r8..r15); vcpu.c checks that layout at build time.
 */
#include <linux/linkage.h>
#include <asm/asm.h>

#define GPR_RAX		0*8
#define GPR_RCX		1*8
#define GPR_RDX		2*8
#define GPR_RBX		3*8
#define GPR_RBP		5*8
#define GPR_RSI		6*8
#define GPR_RDI		7*8
#define GPR_R8		8*8
#define GPR_R9		9*8
#define GPR_R10		10*8
#define GPR_R11		11*8
#define GPR_R12		12*8
#define GPR_R13		13*8
#define GPR_R14		14*8
#define GPR_R15		15*8

#define VMCS_HOST_RSP	0x6c14

	.text
SYM_FUNC_START(vmx_vcpu_enter)
	push %rbp
	mov  %rsp, %rbp
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbx
	push %rdi			/* gprs, found again at exit through HOST_RSP */

	mov  $VMCS_HOST_RSP, %rax
	vmwrite %rsp, %rax
	jbe  .Lfail_pop

	/* The launched flag picks the instruction; MOVs keep the flags. */
	test %sil, %sil

	mov  GPR_RAX(%rdi), %rax
	mov  GPR_RCX(%rdi), %rcx
	mov  GPR_RDX(%rdi), %rdx
	mov  GPR_RBX(%rdi), %rbx
	mov  GPR_RBP(%rdi), %rbp
	mov  GPR_RSI(%rdi), %rsi
	mov  GPR_R8(%rdi),  %r8
	mov  GPR_R9(%rdi),  %r9
	mov  GPR_R10(%rdi), %r10
	mov  GPR_R11(%rdi), %r11
	mov  GPR_R12(%rdi), %r12
	mov  GPR_R13(%rdi), %r13
	mov  GPR_R14(%rdi), %r14
	mov  GPR_R15(%rdi), %r15
	mov  GPR_RDI(%rdi), %rdi

	jnz  .Lresume
	vmlaunch
	jmp  .Lfail_restore
.Lresume:
	vmresume
.Lfail_restore:
	/*
	 * VMfail: RSP is unchanged, so the frame is intact; callee-saved
	 * registers now hold guest values and are restored by the pops below.
	 */
	jmp  .Lfail_pop

SYM_INNER_LABEL(vmx_vmexit, SYM_L_GLOBAL)
	/* RSP = HOST_RSP: the saved gprs pointer is on top. */
	push %rax
	mov  8(%rsp), %rax
	mov  %rcx, GPR_RCX(%rax)
	mov  %rdx, GPR_RDX(%rax)
	mov  %rbx, GPR_RBX(%rax)
	mov  %rbp, GPR_RBP(%rax)
	mov  %rsi, GPR_RSI(%rax)
	mov  %rdi, GPR_RDI(%rax)
	mov  %r8,  GPR_R8(%rax)
	mov  %r9,  GPR_R9(%rax)
	mov  %r10, GPR_R10(%rax)
	mov  %r11, GPR_R11(%rax)
	mov  %r12, GPR_R12(%rax)
	mov  %r13, GPR_R13(%rax)
	mov  %r14, GPR_R14(%rax)
	mov  %r15, GPR_R15(%rax)
	pop  GPR_RAX(%rax)

	/* Leave no guest value in a register the host may read speculatively. */
	xor  %ecx, %ecx
	xor  %edx, %edx
	xor  %esi, %esi
	xor  %edi, %edi
	xor  %r8d, %r8d
	xor  %r9d, %r9d
	xor  %r10d, %r10d
	xor  %r11d, %r11d
	xor  %eax, %eax			/* return 0: VM exit */
	jmp  .Lout

.Lfail_pop:
	mov  $1, %eax			/* return 1: VMfail */
.Lout:
	pop  %rdi
	pop  %rbx
	pop  %r12
	pop  %r13
	pop  %r14
	pop  %r15
	pop  %rbp
	RET
SYM_FUNC_END(vmx_vcpu_enter)
