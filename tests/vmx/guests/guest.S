/*
 * Tiny freestanding guests for the execution-core tests (tests/vmx/vmxtest.c).
 *
 * One flat blob linked at 0x1000 and loaded there; each entry point is a
 * scenario the test starts by pointing RIP at it, in the CPU mode the test
 * sets up (real, 32-bit protected, 64-bit long mode; CS base 0 in all).
 * Guests report through port I/O: the test asserts the port, size and value.
 */
	.text
	.code16
	.globl real_io
real_io:				/* OUT/IN of every size */
	mov	$0x42, %al
	out	%al, $0x10
	in	$0x11, %al
	inc	%al
	out	%al, $0x12
	mov	$0x1234, %ax
	out	%ax, $0x13
	mov	$0xdeadbeef, %eax
	out	%eax, $0x14
	mov	$0x3f8, %dx
	in	%dx, %ax
	out	%ax, %dx
	hlt

	.globl real_cpuid
real_cpuid:				/* leaf 1 ECX, then the hypervisor leaf */
	mov	$1, %eax
	cpuid
	mov	%ecx, %eax
	out	%eax, $0x20
	mov	$0x40000000, %eax
	cpuid
	mov	%ebx, %eax
	out	%eax, $0x21
	mov	%ecx, %eax
	out	%eax, $0x21
	mov	%edx, %eax
	out	%eax, $0x21
	hlt

	.globl real_vmcall
real_vmcall:				/* registers out, return value back */
	mov	$7, %eax
	mov	$1, %ebx
	mov	$2, %ecx
	mov	$3, %edx
	mov	$4, %esi
	mov	$5, %edi
	vmcall
	out	%eax, $0x30
	hlt

	.globl real_msr
real_msr:				/* MSRs: allowed round trip, non-canonical, absent */
	movw	$real_gp_handler, 0x34	/* IVT vector 13 (#GP) at 0:0x34 */
	movw	$0, 0x36
	mov	$0xc0000082, %ecx	/* IA32_LSTAR */
	mov	$0x11223344, %eax
	mov	$0x00007788, %edx	/* canonical: 0x0000778811223344 */
	wrmsr
	xor	%eax, %eax
	xor	%edx, %edx
	rdmsr
	out	%eax, $0x40
	mov	%edx, %eax
	out	%eax, $0x40
	mov	$0x55667788, %edx	/* non-canonical: #GP, LSTAR unchanged */
	wrmsr
	mov	$0x12345, %ecx		/* no such MSR: #GP */
	rdmsr
	mov	$0x600d, %ax		/* both faults were skipped */
	out	%ax, $0x41
	hlt
real_gp_handler:			/* report, then skip the 2-byte RDMSR/WRMSR */
	mov	$0x0d, %al
	out	%al, $0x42
	push	%bp
	mov	%sp, %bp
	addw	$2, 2(%bp)		/* the saved IP */
	pop	%bp
	iret

/*
 * The guest enters protected mode by itself (the VMM never sees CR0.PE
 * change: it is guest-owned), then faults: the #GP must push an error code,
 * which VM entry requires exactly when the guest's CR0.PE is set.
 */
	.set	PE_GP_IDT, 0x6000
	.globl real_pe_gp
real_pe_gp:
	lgdtl	pe_gp_gdtr
	mov	%cr0, %eax
	or	$1, %eax
	mov	%eax, %cr0
	ljmpl	$0x08, $1f
	.code32
1:	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$0x9000, %esp
	mov	$pe_gp_handler, %eax	/* IDT[13]: 32-bit interrupt gate, CS 0x08 */
	mov	$PE_GP_IDT + 13 * 8, %edi
	mov	%ax, (%edi)
	movw	$0x08, 2(%edi)
	movw	$0x8e00, 4(%edi)
	shr	$16, %eax
	mov	%ax, 6(%edi)
	lidt	pe_gp_idtr
	mov	$0x12345, %ecx		/* no such MSR: #GP(0) */
	rdmsr
	mov	$0x600d, %eax
	out	%eax, $0x41
	hlt
/*
 * From real mode to IA-32e (compatibility) mode by the guest alone, then
 * RDMSR EFER: LMA must be there although no exit saw paging come on.
 */
	.code16
	.globl real_long_efer
real_long_efer:
	lgdtl	pe_gp_gdtr
	mov	%cr0, %eax
	or	$1, %eax
	mov	%eax, %cr0
	ljmpl	$0x08, $1f
	.code32
1:	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	movl	$0x21003, 0x20000	/* PML4[0] -> PDPT */
	movl	$0x22003, 0x21000	/* PDPT[0] -> PD */
	movl	$0x83, 0x22000		/* PD[0]: 2 MiB identity, writable */
	mov	%cr4, %eax
	or	$0x20, %eax		/* PAE */
	mov	%eax, %cr4
	mov	$0xc0000080, %ecx
	rdmsr
	or	$0x100, %eax		/* LME */
	wrmsr
	mov	$0x20000, %eax
	mov	%eax, %cr3
	mov	%cr0, %eax
	or	$0x80000000, %eax	/* PG: IA-32e mode, compatibility mode */
	mov	%eax, %cr0
	mov	$0xc0000080, %ecx
	rdmsr
	out	%eax, $0x44
	hlt
	.code32				/* real_pe_gp's handler follows */
pe_gp_handler:				/* the error code, then skip the 2-byte RDMSR */
	pop	%eax
	out	%eax, $0x43
	addl	$2, (%esp)
	iret
	.p2align 3
pe_gp_gdt:
	.quad	0
	.quad	0x00cf9b000000ffff	/* 0x08: 32-bit code, accessed */
	.quad	0x00cf93000000ffff	/* 0x10: data, accessed */
pe_gp_gdtr:
	.word	3 * 8 - 1
	.long	pe_gp_gdt
pe_gp_idtr:
	.word	14 * 8 - 1
	.long	PE_GP_IDT
	.code16

	.globl real_debugregs
real_debugregs:				/* MOV DR: kept values, fixed bits, DR5 alias, CR4.DE */
	movw	$real_ud_handler, 0x18	/* IVT vector 6 (#UD) at 0:0x18 */
	movw	$0, 0x1a
	mov	$0x12345678, %eax
	mov	%eax, %dr0
	xor	%eax, %eax
	mov	%dr0, %eax
	out	%eax, $0x44		/* 0x12345678 */
	mov	$0x1, %eax		/* L0: bit 10 reads as 1 */
	mov	%eax, %dr7
	mov	%dr7, %eax
	out	%eax, $0x44		/* 0x401 */
	mov	%dr5, %eax		/* CR4.DE clear: DR5 is DR7 */
	out	%eax, $0x44		/* 0x401 */
	xor	%eax, %eax
	mov	%eax, %dr7
	mov	%eax, %dr6
	mov	%dr6, %eax
	out	%eax, $0x44		/* 0xffff0ff0 */
	mov	%cr4, %eax
	or	$0x8, %eax		/* CR4.DE: DR4 and DR5 are #UD */
	mov	%eax, %cr4
	mov	%dr4, %eax
	mov	$0x600d, %ax
	out	%ax, $0x41
	hlt
real_ud_handler:			/* report, then skip the 3-byte MOV DR */
	mov	$0x06, %al
	out	%al, $0x42
	push	%bp
	mov	%sp, %bp
	addw	$3, 2(%bp)
	pop	%bp
	iret

	.globl real_spin
real_spin:				/* a busy guest, for signals */
	jmp	real_spin

	.globl real_count
real_count:				/* OUT 0..BX-1 to port 0x50, for SMP */
	xor	%eax, %eax
1:	out	%eax, $0x50
	inc	%eax
	cmp	%ebx, %eax
	jne	1b
	hlt

	.globl real_triple
real_triple:				/* IDT limit 0: #BP -> #GP -> #DF -> shutdown */
	lidt	real_zero_idt
	int3
	hlt
real_zero_idt:
	.word	0
	.long	0

	.globl real_mmio
real_mmio:				/* loads and stores to unbacked memory */
	mov	$0xe000, %ax
	mov	%ax, %ds
	mov	(0), %eax		/* 4-byte load at 0xe0000 */
	out	%eax, $0xa0
	movw	$0xbeef, (4)		/* 2-byte immediate store at 0xe0004 */
	mov	$0x1234, %bx
	mov	%bh, (8)		/* high-byte register store at 0xe0008 */
	movzbl	(0xc), %ecx		/* zero-extending byte load at 0xe000c */
	mov	%ecx, %eax
	out	%eax, $0xa0
	xor	%ax, %ax
	mov	%ax, %ds
	hlt

	.globl real_stos_mmio
real_stos_mmio:				/* REP STOSD into device memory, then STOSW with DF=1 */
	cld
	mov	$0xe000, %ax
	mov	%ax, %es
	mov	$0x10, %di
	mov	$3, %cx
	mov	$0x11223344, %eax
	rep stosl			/* 0xe0010, 0xe0014, 0xe0018: an exit each */
	mov	%cx, %ax
	out	%ax, $0xb0		/* CX after: 0 */
	mov	%di, %ax
	out	%ax, $0xb0		/* DI after: 0x1c */
	std
	mov	$0x40, %di
	mov	$1, %cx
	mov	$0xbeef, %ax
	rep stosw			/* 0xe0040, DI down to 0x3e */
	cld
	mov	%cx, %ax
	out	%ax, $0xb1		/* CX after: 0 */
	mov	%di, %ax
	out	%ax, $0xb1		/* DI after: 0x3e */
	xor	%ax, %ax
	mov	%ax, %es
	hlt

	.globl real_movs_mmio
real_movs_mmio:				/* MOVSB, REP MOVSW: RAM to device memory and back */
	cld
	xor	%ax, %ax
	mov	%ax, %ds
	mov	$0xe000, %ax
	mov	%ax, %es
	mov	$real_movs_src, %si
	mov	$0x100, %di
	movsb				/* 0x5a to 0xe0100 */
	mov	$0x200, %di
	mov	$2, %cx
	rep movsw			/* 0x2211, 0x4433 to 0xe0200, 0xe0202 */
	mov	%si, %ax
	out	%ax, $0xb2		/* SI after: real_movs_src + 5 */
	mov	%di, %ax
	out	%ax, $0xb2		/* DI after: 0x204 */
	mov	$0xe000, %ax
	mov	%ax, %fs
	xor	%ax, %ax
	mov	%ax, %es
	mov	$0x300, %si
	mov	$0x3100, %di
	movsb	%fs:(%si), %es:(%di)	/* device 0xe0300 (FS override) to RAM 0x3100 */
	mov	$0xe000, %ax
	mov	%ax, %ds
	mov	$0x400, %si
	mov	$2, %cx
	rep movsw			/* device 0xe0400, 0xe0402 to RAM 0x3101, 0x3103 */
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %fs
	mov	(0x3100), %eax
	out	%eax, $0xb3		/* what landed: 0x3100-0x3103 */
	mov	(0x3104), %al
	out	%al, $0xb3		/* and 0x3104 */
	mov	%cx, %ax
	out	%ax, $0xb4		/* CX after: 0 */
	mov	%si, %ax
	out	%ax, $0xb4		/* SI after: 0x404 */
	mov	%di, %ax
	out	%ax, $0xb4		/* DI after: 0x3105 */
	hlt
	.globl real_movs_src
real_movs_src:
	.byte	0x5a
	.word	0x2211, 0x4433

	.globl real_irq
real_irq:				/* an interrupt waits for STI, then arrives */
	movw	$real_irq_handler, 0x80	/* IVT vector 0x20 at 0:0x80 */
	movw	$0, 0x82
	cli
	out	%al, $0x80		/* ready, interrupts off */
	sti
	nop
1:	hlt
	jmp	1b
real_irq_handler:
	mov	$0x20, %al
	out	%al, $0x81
	iret

	.globl real_string_io
real_string_io:				/* REP OUTSB up, REP INSW, OUTSW with DF=1 */
	cld
	mov	$real_hello, %si
	mov	$5, %cx
	mov	$0x90, %dx
	rep outsb
	mov	%cx, %ax
	out	%ax, $0x91		/* CX after: 0 */
	mov	$0x3000, %di
	mov	$3, %cx
	mov	$0x92, %dx
	rep insw
	mov	(0x3000), %eax		/* first two words read */
	out	%eax, $0x93
	mov	(0x3004), %ax
	out	%ax, $0x93
	mov	%di, %ax
	out	%ax, $0x94		/* DI after: 0x3006 */
	std
	mov	$0x3004, %si		/* the words at 0x3004, 0x3002 */
	mov	$2, %cx
	mov	$0x95, %dx
	rep outsw
	cld
	hlt
real_hello:
	.ascii	"hello"

	.globl real_bench_cpuid
real_bench_cpuid:			/* BX round trips of an in-kernel exit */
	mov	%ebx, %edi
1:	xor	%eax, %eax
	cpuid
	dec	%edi
	jnz	1b
	hlt

	.globl real_bench_out
real_bench_out:				/* BX round trips through userspace */
	mov	%ebx, %edi
1:	out	%al, $0x99
	dec	%edi
	jnz	1b
	hlt

	.globl real_hello_demo
real_hello_demo:			/* the demo: a greeting through port 0xe9 */
	cld
	mov	$real_greeting, %si
	mov	$real_greeting_end - real_greeting, %cx
	mov	$0xe9, %dx
	rep outsb
	hlt
real_greeting:
	.ascii	"Hello from a real-mode guest running under vmxcore.ko\n"
real_greeting_end:

	.globl real_sse
real_sse:				/* XMM0 from memory, then XMM1 to memory */
	movdqu	real_sse_in, %xmm0
	hlt
	movdqu	%xmm1, real_sse_out
	hlt
real_sse_in:
	.quad	0x1122334455667788, 0x99aabbccddeeff00
	.globl real_sse_out
real_sse_out:
	.quad	0, 0

	/*
	 * XMM0-6 hold a pattern while the guest spins with IF=1, so the host's
	 * own interrupts exit (Bochs takes them only with IF set) and the vCPU
	 * thread can be preempted between entries. XMM7 is the scratch for the
	 * checks. After every BX rounds, OUT 0x9a: how many checks so far found
	 * a register changed (each reloads them). Forever.
	 */
	.macro	sse_kept_load
	movdqa	real_sse_pattern, %xmm0
	movdqa	%xmm0, %xmm1
	movdqa	%xmm0, %xmm2
	movdqa	%xmm0, %xmm3
	movdqa	%xmm0, %xmm4
	movdqa	%xmm0, %xmm5
	movdqa	%xmm0, %xmm6
	.endm
	.globl real_sse_kept
real_sse_kept:
	xor	%esi, %esi
	sse_kept_load
1:	mov	%ebx, %edi
2:	.irp	reg, %xmm0, %xmm1, %xmm2, %xmm3, %xmm4, %xmm5, %xmm6
	movdqa	\reg, %xmm7
	pcmpeqb	real_sse_pattern, %xmm7
	pmovmskb %xmm7, %eax
	cmp	$0xffff, %eax
	jne	4f
	.endr
3:	dec	%edi
	jnz	2b
	mov	%esi, %eax
	out	%eax, $0x9a
	jmp	1b
4:	inc	%esi
	sse_kept_load
	jmp	3b
	.balign	16
real_sse_pattern:
	.quad	0x0123456789abcdef, 0xfedcba9876543210

	.code32
	.globl prot_io
prot_io:				/* 32-bit protected mode, flat */
	mov	$0x32, %eax
	out	%eax, $0x60
	mov	$1, %eax
	cpuid
	mov	%ecx, %eax
	out	%eax, $0x61
	hlt

/*
 * Dirty page logging guests (32-bit protected mode, flat). prot_dirty_cmds
 * does what IN from port 0xd0 says, one command at a time: 0 = HLT (RUN
 * again for more), a page address = write it, | 1 = read it, | 2 = REP
 * INSB 4 bytes into it from port 0xd2 (the kernel writes on its behalf).
 */
	.globl prot_dirty_cmds
prot_dirty_cmds:
1:	in	$0xd0, %eax
	test	%eax, %eax
	jz	4f
	test	$1, %eax
	jnz	2f
	test	$2, %eax
	jnz	3f
	movl	$0x5a5a5a5a, (%eax)
	jmp	1b
2:	and	$~3, %eax
	mov	(%eax), %ecx
	jmp	1b
3:	and	$~3, %eax
	mov	%eax, %edi
	mov	$4, %ecx
	mov	$0xd2, %dx
	cld
	rep insb
	jmp	1b
4:	hlt
	jmp	1b

/*
 * prot_dirty_rounds: EBX = first page, ECX = pages, EDX = rounds, ESI = tag.
 * Round r (1..EDX) writes r and the tag at offset 8 * r of every page i
 * with (i + r) % 4 != 0, then reports r on port 0xd1; HLT at the end.
 */
	.globl prot_dirty_rounds
prot_dirty_rounds:
	mov	$1, %ebp
1:	xor	%edi, %edi
2:	lea	(%edi,%ebp), %eax
	test	$3, %eax
	jz	3f
	mov	%edi, %eax
	shl	$12, %eax
	add	%ebx, %eax
	mov	%ebp, (%eax,%ebp,8)
	mov	%esi, 4(%eax,%ebp,8)
3:	inc	%edi
	cmp	%ecx, %edi
	jne	2b
	mov	%ebp, %eax
	out	%eax, $0xd1
	inc	%ebp
	cmp	%edx, %ebp
	jbe	1b
	hlt

	.code64
	.globl long_io
long_io:				/* 64-bit mode with paging */
	movabs	$0x6464646464646464, %rax
	mov	%rax, %rbx
	shr	$32, %rbx
	out	%eax, $0x70
	mov	%ebx, %eax
	out	%eax, $0x70
	mov	%cr0, %rax
	out	%eax, $0x71
	mov	%cr4, %rax
	out	%eax, $0x71
	mov	$1, %eax
	cpuid
	mov	%ecx, %eax
	out	%eax, $0x72
	lea	long_msg(%rip), %rsi	/* OUTS through the guest's page tables */
	mov	$4, %ecx
	mov	$0x73, %dx
	rep outsb
	hlt
long_msg:
	.ascii	"long"

	.globl long_syscall
long_syscall:				/* SYSCALL through the guest's own LSTAR */
	mov	$0xc0000080, %ecx	/* EFER.SCE on */
	rdmsr
	or	$1, %eax
	wrmsr
	mov	$0xc0000082, %ecx	/* LSTAR: our entry point */
	lea	long_syscall_entry(%rip), %rax
	mov	%rax, %rdx
	shr	$32, %rdx
	wrmsr
	mov	$0xc0000081, %ecx	/* STAR[47:32]: CS 0x08 (SS 0x10) */
	xor	%eax, %eax
	mov	$0x08, %edx
	wrmsr
	mov	$0xc0000084, %ecx	/* SFMASK: clear DF on entry */
	mov	$0x400, %eax
	xor	%edx, %edx
	wrmsr
	std
	syscall
	.globl long_syscall_return
long_syscall_return:
	hlt
long_syscall_entry:
	mov	%rcx, %rax		/* return RIP */
	out	%eax, $0x74
	mov	%r11, %rax		/* RFLAGS before: DF set */
	out	%eax, $0x75
	pushfq				/* RFLAGS now: DF masked off */
	pop	%rax
	out	%eax, $0x75
	hlt

	.globl long_msr_bases
long_msr_bases:				/* FS/GS base and SYSENTER MSRs, via the VMCS */
	mov	$0xc0000100, %ecx	/* FS_BASE = this code */
	lea	long_msr_bases(%rip), %rax
	mov	%rax, %rdx
	shr	$32, %rdx
	wrmsr
	mov	%fs:0, %eax		/* our first 4 bytes, through FS */
	out	%eax, $0x76
	mov	$0xc0000101, %ecx	/* GS_BASE round trip */
	mov	$0x12345000, %eax
	xor	%edx, %edx
	wrmsr
	xor	%eax, %eax
	rdmsr
	out	%eax, $0x77
	mov	$0x174, %ecx		/* SYSENTER_CS round trip */
	mov	$0x10, %eax
	wrmsr
	xor	%eax, %eax
	rdmsr
	out	%eax, $0x77
	hlt

	.globl long_movs_mmio
long_movs_mmio:				/* REP MOVSQ to device memory, MOVSL back, through paging */
	cld
	lea	long_movs_src(%rip), %rsi
	mov	$0x100000, %edi		/* mapped by the 2 MiB page, beyond RAM */
	mov	$2, %ecx
	rep movsq			/* 0x100000, 0x100008 */
	mov	%esi, %eax
	out	%eax, $0xb5		/* RSI after: long_movs_src + 16 */
	mov	$0x100010, %esi
	mov	$0x3200, %edi
	movsl				/* device 0x100010 to RAM 0x3200 */
	mov	0x3200, %eax
	out	%eax, $0xb6		/* what landed */
	mov	%edi, %eax
	out	%eax, $0xb6		/* RDI after: 0x3204 */
	hlt
	.globl long_movs_src
long_movs_src:
	.quad	0x1122334455667788, 0x99aabbccddeeff00

	.globl long_hello_demo
long_hello_demo:			/* the demo, in 64-bit mode with paging */
	lea	long_greeting(%rip), %rsi
	mov	$long_greeting_end - long_greeting, %ecx
	mov	$0xe9, %dx
	rep outsb
	hlt
long_greeting:
	.ascii	"Hello from a 64-bit guest (paging on) under vmxcore.ko\n"
long_greeting_end:

/*
 * #PF raised by the hypervisor for a string-I/O operand: the guest brings
 * its own GDT (interrupt delivery loads CS from it) and an IDT at
 * LONG_PF_IDT whose #PF handler reports the error code and CR2.
 */
	.set	LONG_PF_IDT, 0x6000

	.globl long_pf
long_pf:				/* REP OUTSB from an unmapped page, REP INSB to a read-only one */
	lgdt	long_pf_gdtr(%rip)
	lidt	long_pf_idtr(%rip)
	lea	long_pf_handler(%rip), %rax	/* IDT[14]: 64-bit interrupt gate, CS 0x08 */
	mov	$LONG_PF_IDT + 14 * 16, %edi
	mov	%ax, (%rdi)
	movw	$0x08, 2(%rdi)
	movw	$0x8e00, 4(%rdi)
	shr	$16, %rax
	mov	%ax, 6(%rdi)
	shr	$16, %rax
	mov	%eax, 8(%rdi)
	movl	$0, 12(%rdi)
	cld
	mov	$0x40000000, %esi	/* PDPT[1] empty: not mapped */
	mov	$4, %ecx
	mov	$0x7a, %dx
	rep outsb			/* #PF: error code 0 (read, not present) */
	mov	%ecx, %eax
	out	%eax, $0x7c		/* RCX untouched: 4 */
	movq	$0x13003, 0x11008	/* PDPT[1] -> a page directory at 0x13000 */
	movq	$0x81, 0x13000		/* 2 MiB read-only page: 0x40000000 -> 0 */
	mov	%cr3, %rax
	mov	%rax, %cr3
	mov	%cr0, %rax
	or	$0x10000, %eax		/* CR0.WP: read-only for CPL 0 too */
	mov	%rax, %cr0
	mov	$0x40003000, %edi
	mov	$4, %ecx
	mov	$0x7b, %dx
	rep insb			/* #PF: error code 3 (write, protection) */
	mov	%ecx, %eax
	out	%eax, $0x7c		/* RCX untouched: 4 */
	hlt
long_pf_handler:			/* error code, CR2; then skip the 2-byte REP INSB/OUTSB */
	pop	%rax
	out	%eax, $0x7d
	mov	%cr2, %rax
	out	%eax, $0x7e
	shr	$32, %rax
	out	%eax, $0x7e
	addq	$2, (%rsp)
	iretq
	.p2align 3
long_pf_gdt:
	.quad	0
	.quad	0x00af9b000000ffff	/* 0x08: 64-bit code, accessed */
	.quad	0x00cf93000000ffff	/* 0x10: data, accessed */
long_pf_gdtr:
	.word	3 * 8 - 1
	.quad	long_pf_gdt
long_pf_idtr:
	.word	15 * 16 - 1
	.quad	LONG_PF_IDT

/*
 * In-kernel local APIC guests (real mode). The test sets FS to base
 * 0xFEE00000 (limit 64 KiB), so %fs:REG is the xAPIC register at offset
 * REG. Interrupt handlers report their vector (or a step) on port 0xb0 and
 * EOI; the main flows report steps on 0xb1. None of them runs past its
 * last report: an APIC guest that halts with IF=0 sleeps in the kernel.
 */
	.code16
	.macro	apic_wr reg, val
	movl	$\val, %fs:\reg
	.endm
	.macro	ivt vec, handler
	movw	$\handler, 4 * \vec
	movw	$0, 4 * \vec + 2
	.endm
	.macro	report port, val
	mov	$\val, %al
	out	%al, $\port
	.endm

apic_isr_generic:			/* AL holds the vector (pushed by the stubs) */
	out	%al, $0xb0
	apic_wr	0xb0, 0			/* EOI */
	pop	%ax
	iret
	.macro	apic_stub vec
apic_isr_\vec:
	push	%ax
	mov	$0x\vec, %al
	jmp	apic_isr_generic
	.endm
	apic_stub 40
	apic_stub 45
	apic_stub 55
	apic_stub 70
	apic_stub 20

	.globl real_apic_extint
real_apic_extint:			/* the PIC's INTR waits for LINT0 = ExtINT */
	ivt	0x20, apic_isr_20
	apic_wr	0xf0, 0x1ff
	sti
	report	0xb1, 1			/* the VMM queues vector 0x20 here */
	report	0xb1, 2			/* LINT0 masked (reset): not delivered */
	apic_wr	0x350, 0x700		/* LVT LINT0: ExtINT, unmasked */
	report	0xb1, 3
	cli
	hlt

	.globl real_apic_self_ipi
real_apic_self_ipi:			/* a self-IPI arrives at once */
	ivt	0x40, apic_isr_40
	apic_wr	0xf0, 0x1ff		/* SVR: software enable, spurious vector 0xff */
	sti
	apic_wr	0x300, 0x40040		/* ICR: shorthand self, fixed, vector 0x40 */
	report	0xb1, 1
	cli
	hlt

	.globl real_apic_tpr
real_apic_tpr:				/* TPR holds a vector until its class is above */
	ivt	0x45, apic_isr_45
	apic_wr	0xf0, 0x1ff
	apic_wr	0x80, 0x50		/* TPR class 5 */
	sti
	apic_wr	0x300, 0x40045		/* self-IPI 0x45 (class 4): held */
	mov	%fs:0x220, %eax		/* IRR 0x40-0x5f: bit 5 */
	out	%eax, $0xb2
	apic_wr	0x80, 0x40		/* class 4: still held */
	report	0xb1, 1
	apic_wr	0x80, 0x30		/* class 3: 0x45 goes in */
	report	0xb1, 2
	cli
	hlt

	.globl real_apic_nested
real_apic_nested:			/* a higher vector preempts, a lower one waits for EOI */
	ivt	0x50, apic_isr_50
	ivt	0x55, apic_isr_55
	ivt	0x60, apic_isr_60
	apic_wr	0xf0, 0x1ff
	sti
	apic_wr	0x300, 0x40050
	report	0xb1, 1
	cli
	hlt
apic_isr_50:
	push	%ax
	report	0xb0, 0x50
	sti
	apic_wr	0x300, 0x40060		/* class 6 > 5: preempts at once */
	report	0xb0, 0x51		/* back after 0x60's EOI; 0x55 still held */
	apic_wr	0xb0, 0			/* EOI 0x50: now 0x55 */
	pop	%ax
	iret
apic_isr_60:
	push	%ax
	report	0xb0, 0x60
	sti
	apic_wr	0x300, 0x40055		/* class 5: below 0x60 and 0x50 in service */
	report	0xb0, 0x61
	apic_wr	0xb0, 0			/* EOI 0x60 */
	pop	%ax
	iret

apic_isr_timer:				/* vector 0x30: count up to apic_limit, then stop */
	push	%ax
	mov	apic_ticks, %ax
	cmp	apic_limit, %ax
	jae	1f			/* one that was pending at the stop: not counted */
	inc	%ax
	mov	%ax, apic_ticks
	cmp	apic_limit, %ax
	jb	1f
	apic_wr	0x380, 0		/* initial count 0: the timer stops */
1:	apic_wr	0xb0, 0
	pop	%ax
	iret

	.globl real_apic_oneshot
real_apic_oneshot:			/* one-shot timer; HLT sleeps in the kernel */
	ivt	0x30, apic_isr_timer
	movw	$0, apic_ticks
	movw	$0xffff, apic_limit
	apic_wr	0xf0, 0x1ff
	apic_wr	0x3e0, 0xb		/* divide by 1 */
	apic_wr	0x320, 0x30		/* LVT timer: one-shot, vector 0x30 */
	apic_wr	0x380, 1000000		/* 1 ms at 1 GHz */
	sti
1:	hlt
	cmpw	$0, apic_ticks
	je	1b
	mov	apic_ticks, %ax
	out	%ax, $0xb6		/* 1 */
	mov	%fs:0x390, %eax
	out	%eax, $0xb7		/* current count 0: not reloaded */
	cli
	hlt

	.globl real_apic_periodic
real_apic_periodic:			/* periodic timer: 5 interrupts, then stopped */
	ivt	0x30, apic_isr_timer
	movw	$0, apic_ticks
	movw	$5, apic_limit
	apic_wr	0xf0, 0x1ff
	apic_wr	0x3e0, 0xb
	apic_wr	0x320, 0x20030		/* periodic, vector 0x30 */
	apic_wr	0x380, 1000000
	sti
1:	hlt
	cmpw	$5, apic_ticks
	jb	1b
	mov	apic_ticks, %ax
	out	%ax, $0xb6		/* 5 */
	mov	%fs:0x390, %eax
	out	%eax, $0xb7		/* 0: stopped by the fifth */
	cli
	hlt
apic_ticks:
	.word	0
apic_limit:
	.word	0

	.globl real_apic_msi
real_apic_msi:				/* waits in HLT for a message from the VMM */
	ivt	0x70, apic_isr_70
	apic_wr	0xf0, 0x1ff
	sti
	report	0xb1, 1
1:	hlt
	jmp	1b

	.globl real_apic_halt
real_apic_halt:				/* HLT with IF=0: only a signal ends RUN */
	apic_wr	0xf0, 0x1ff
	cli
1:	hlt
	jmp	1b

	.globl real_apic_sipi
real_apic_sipi:				/* BSP: INIT and SIPI (vector in BL) to APIC ID 1 */
	apic_wr	0xf0, 0x1ff
	apic_wr	0x310, 0x01000000	/* ICR high: destination APIC ID 1 */
	apic_wr	0x300, 0x0000c500	/* INIT, level, assert */
	apic_wr	0x300, 0x00008500	/* INIT, level, de-assert */
	movzbl	%bl, %eax
	or	$0x4600, %eax		/* STARTUP, vector BL */
	mov	%eax, %fs:0x300
	report	0xb3, 1
	cli
	hlt

	.balign	4096
	.globl real_ap_trampoline
real_ap_trampoline:			/* AP: starts at CS:IP = vector<<8:0 */
	report	0xb4, 0x5a
	mov	%cs, %ax
	out	%ax, $0xb5
	cli
1:	hlt
	jmp	1b

	.globl real_apic_tsc_deadline
real_apic_tsc_deadline:			/* TSC-deadline timer: fires once, the MSR reads 0 after */
	ivt	0x30, apic_isr_timer
	movw	$0, apic_ticks
	movw	$0xffff, apic_limit
	apic_wr	0xf0, 0x1ff
	apic_wr	0x320, 0x40030		/* LVT timer: TSC-deadline mode, vector 0x30 */
	rdtsc
	add	$1000000, %eax		/* a million TSC ticks from now */
	adc	$0, %edx
	mov	$0x6e0, %ecx		/* IA32_TSC_DEADLINE */
	wrmsr
	rdmsr
	test	%eax, %eax
	setnz	%al
	out	%al, $0xb1		/* 1: armed (the MSR reads back non-zero) */
	sti
1:	hlt
	cmpw	$0, apic_ticks
	je	1b
	mov	apic_ticks, %ax
	out	%ax, $0xb6		/* 1 */
	rdmsr
	or	%edx, %eax
	out	%eax, $0xb7		/* 0: disarmed once it fired */
	cli
	hlt

/*
 * A fixed IPI from vCPU 0 to vCPU 1 while vCPU 1 runs guest code (IF=1,
 * no HLT): it must be kicked out of the guest for the interrupt to go in.
 * The wait is bounded (report 3) so a lost IPI fails instead of hanging.
 */
	.globl real_apic_ipi_target
real_apic_ipi_target:
	ivt	0x51, apic_isr_ipi
	movb	$0, apic_ipi_seen
	apic_wr	0xf0, 0x1ff
	report	0xb1, 1			/* ready */
	mov	$0x10000000, %ecx	/* seconds of Bochs: bounded, so a lost IPI ends too */
	sti
1:	cmpb	$0, apic_ipi_seen
	jne	2f
	dec	%ecx
	jnz	1b
	cli
	report	0xb1, 3			/* gave up waiting */
	hlt
2:	cli
	report	0xb1, 2
	hlt
apic_isr_ipi:
	push	%ax
	movb	$1, apic_ipi_seen
	report	0xb0, 0x51
	apic_wr	0xb0, 0
	pop	%ax
	iret
apic_ipi_seen:
	.byte	0

	.globl real_apic_ipi_source
real_apic_ipi_source:
	apic_wr	0xf0, 0x1ff
	apic_wr	0x310, 0x01000000	/* ICR high: destination APIC ID 1 */
	apic_wr	0x300, 0x00004051	/* fixed, physical, assert, vector 0x51 */
	report	0xb3, 1
	cli
	hlt

/*
 * ---- APIC assists, state save/restore and the APIC benchmarks ----
 * (apicx: kept together so the other blocks merge cleanly)
 */
	.code16
apic_isr_30_report:			/* the state test's timer: report, EOI */
	push	%ax
	report	0xb0, 0x30
	apic_wr	0xb0, 0
	pop	%ax
	iret

	.globl real_apic_state
real_apic_state:			/* TPR and a one-shot timer the VMM saves and restores */
	ivt	0x30, apic_isr_30_report
	apic_wr	0xf0, 0x1ff
	apic_wr	0x80, 0x20		/* TPR class 2 */
	apic_wr	0x3e0, 0xb		/* divide by 1 */
	apic_wr	0x320, 0x30		/* LVT timer: one-shot, vector 0x30 */
	apic_wr	0x380, 100000000	/* 100 ms at 1 GHz */
	report	0xb1, 1			/* the VMM saves the APIC here */
	apic_wr	0x80, 0x70		/* then the guest changes it: TPR class 7, */
	apic_wr	0x380, 0		/* the timer stopped */
	report	0xb1, 2			/* the VMM restores the saved state here */
	mov	%fs:0x80, %eax
	out	%eax, $0xb2		/* TPR 0x20 again */
	mov	%fs:0x320, %eax
	out	%eax, $0xb3		/* LVT timer 0x30 again */
	sti
1:	hlt				/* the restored timer fires: 0x30 on 0xb0 */
	jmp	1b

	.globl real_bench_self_ipi
real_bench_self_ipi:			/* BX round trips: self-IPI, the handler EOIs */
	ivt	0x40, bench_ipi_isr
	movw	$0, bench_count
	apic_wr	0xf0, 0x1ff
	sti
1:	apic_wr	0x300, 0x40040		/* self, fixed, vector 0x40: taken at once */
	dec	%bx
	jnz	1b
	cli
	mov	bench_count, %ax
	out	%ax, $0xb6		/* BX handlers ran */
	hlt
bench_ipi_isr:
	incw	bench_count
	apic_wr	0xb0, 0
	iret

	.globl real_bench_timer
real_bench_timer:			/* BX one-shot timer interrupts, each armed then awaited */
	ivt	0x30, bench_timer_isr
	movw	$0, bench_count
	apic_wr	0xf0, 0x1ff
	apic_wr	0x3e0, 0xb		/* divide by 1 */
	apic_wr	0x320, 0x30		/* one-shot, vector 0x30 */
1:	mov	bench_count, %cx
	apic_wr	0x380, 1000		/* 1 us */
2:	sti				/* STI; HLT: no interrupt slips in between */
	hlt
	cli
	cmp	bench_count, %cx
	je	2b
	dec	%bx
	jnz	1b
	mov	bench_count, %ax
	out	%ax, $0xb6		/* BX handlers ran */
	hlt
bench_timer_isr:
	incw	bench_count
	apic_wr	0xb0, 0
	iret
bench_count:
	.word	0

/*
 * CR8 is the TPR in 64-bit mode. RBX: the xAPIC page (the test maps it).
 * With a TPR shadow no CR8 access here exits; only the drop below the held
 * vector's class does (TPR below threshold), and then 0x45 goes in.
 */
	.code64
	.globl long_apic_cr8
long_apic_cr8:
	lgdt	long_pf_gdtr(%rip)
	lidt	long_apic_idtr(%rip)
	lea	long_apic_isr(%rip), %rax	/* IDT[0x45]: 64-bit interrupt gate, CS 0x08 */
	mov	$LONG_PF_IDT + 0x45 * 16, %edi
	mov	%ax, (%rdi)
	movw	$0x08, 2(%rdi)
	movw	$0x8e00, 4(%rdi)
	shr	$16, %rax
	mov	%ax, 6(%rdi)
	shr	$16, %rax
	mov	%eax, 8(%rdi)
	movl	$0, 12(%rdi)
	movl	$0x1ff, 0xf0(%rbx)	/* SVR: software enable */
	mov	$5, %eax
	mov	%rax, %cr8		/* TPR class 5 */
	sti
	movl	$0x40045, 0x300(%rbx)	/* self-IPI 0x45 (class 4): held */
	mov	$4, %eax
	mov	%rax, %cr8		/* class 4: still held */
	mov	%cr8, %rax
	out	%eax, $0xb2		/* 4 */
	mov	0x220(%rbx), %eax
	out	%eax, $0xb3		/* IRR 0x40-0x5f: bit 5 */
	mov	$3, %eax
	mov	%rax, %cr8		/* class 3: 0x45 goes in */
	mov	$2, %al
	out	%al, $0xb1
	cli
	hlt
long_apic_isr:
	push	%rax
	mov	$0x45, %al
	out	%al, $0xb0
	movl	$0, 0xb0(%rbx)		/* EOI */
	pop	%rax
	iretq
	.p2align 3
long_apic_idtr:
	.word	0x46 * 16 - 1
	.quad	LONG_PF_IDT

/*
 * ---- APIC-register and x2APIC virtualization (apicv) ----
 */
	.code16
	.globl real_apic_virt_regs
real_apic_virt_regs:			/* register reads while 0x45 is held by TPR */
	ivt	0x45, apic_isr_virt
	apic_wr	0xf0, 0x1ff
	apic_wr	0x80, 0x50		/* TPR class 5 */
	apic_wr	0x320, 0x10031		/* LVT timer, masked */
	sti
	apic_wr	0x300, 0x40045		/* self-IPI 0x45 (class 4): held */
	report	0xb1, 1			/* the VMM counts exits from here */
	mov	$8, %cx
1:	mov	%fs:0x30, %eax		/* version */
	mov	%fs:0x80, %eax		/* TPR */
	mov	%fs:0x320, %eax		/* LVT timer */
	mov	%fs:0x220, %eax		/* IRR 0x40-0x5f */
	loop	1b
	report	0xb1, 2			/* ... to here: 32 reads */
	mov	%fs:0x30, %eax
	out	%eax, $0xb2
	mov	%fs:0x80, %eax
	out	%eax, $0xb2
	mov	%fs:0x320, %eax
	out	%eax, $0xb2
	mov	%fs:0x220, %eax
	out	%eax, $0xb2
	apic_wr	0x80, 0x30		/* class 3: 0x45 goes in */
	report	0xb1, 3
	cli
	hlt
apic_isr_virt:
	push	%eax
	mov	%fs:0x120, %eax		/* ISR 0x40-0x5f: bit 5 in service */
	out	%eax, $0xb3
	apic_wr	0xb0, 0			/* EOI */
	mov	%fs:0x120, %eax		/* ISR: clear */
	out	%eax, $0xb3
	pop	%eax
	iret

	.globl real_apic_x2apic_tpr
real_apic_x2apic_tpr:			/* the x2APIC TPR MSR, then a class it holds */
	ivt	0x45, apic_isr_x2
	mov	$0x1b, %ecx		/* IA32_APIC_BASE: x2APIC mode */
	rdmsr
	or	$0xc00, %eax
	wrmsr
	mov	$0x80f, %ecx		/* SVR: software enable */
	mov	$0x1ff, %eax
	xor	%edx, %edx
	wrmsr
	report	0xb1, 1			/* the VMM counts exits from here */
	mov	$8, %si
	mov	$0x808, %ecx		/* TPR */
1:	mov	$0x30, %eax
	xor	%edx, %edx
	wrmsr
	rdmsr
	mov	$0x20, %eax
	wrmsr
	rdmsr
	dec	%si
	jnz	1b
	report	0xb1, 2			/* ... to here: 16 writes, 16 reads */
	rdmsr
	out	%eax, $0xb2		/* 0x20 */
	mov	$0x50, %eax		/* TPR class 5 */
	wrmsr
	sti
	mov	$0x83f, %ecx		/* SELF IPI 0x45 (class 4): held */
	mov	$0x45, %eax
	wrmsr
	mov	$0x822, %ecx		/* IRR 0x40-0x5f: bit 5 */
	rdmsr
	out	%eax, $0xb3
	mov	$0x808, %ecx		/* class 3: 0x45 goes in */
	mov	$0x30, %eax
	xor	%edx, %edx
	wrmsr
	report	0xb1, 3
	cli
	hlt
apic_isr_x2:
	push	%eax
	push	%ecx
	push	%edx
	report	0xb0, 0x45
	mov	$0x80b, %ecx		/* EOI */
	xor	%eax, %eax
	xor	%edx, %edx
	wrmsr
	pop	%edx
	pop	%ecx
	pop	%eax
	iret

	.globl real_apic_vid_self_ipi
real_apic_vid_self_ipi:			/* 8 self-IPIs, each taken and EOIed */
	ivt	0x45, apic_isr_vid
	movw	$0, apic_vid_count
	apic_wr	0xf0, 0x1ff
	sti
	report	0xb1, 1			/* the VMM counts exits from here */
	mov	$8, %si
1:	apic_wr	0x300, 0x40045		/* self-IPI 0x45 */
	dec	%si
	jnz	1b
	report	0xb1, 2			/* ... to here */
	mov	apic_vid_count, %ax
	out	%ax, $0xb2		/* 8 */
	cli
	hlt
apic_isr_vid:
	incw	apic_vid_count
	apic_wr	0xb0, 0			/* EOI */
	iret
apic_vid_count:
	.word	0

/*
 * ---- vCPU state for snapshots (vmxtest.c "vCPU state") ----
 * Each guest stops with IF=0 in HLT where the VMM reads or sets the state,
 * then shows what the restored state did.
 */
	.code16
	.globl real_state_shadow
real_state_shadow:			/* the STI shadow, natural and set by the VMM */
	movw	$state_isr_al, 0x80	/* IVT vector 0x20: report AL */
	movw	$0, 0x82
	cli
	sti
	out	%al, $0x90		/* in the STI shadow */
	cli
	xor	%al, %al
	hlt				/* VMM: IF=1, shadow STI, asks for the window */
	.globl real_state_shadow_resume
real_state_shadow_resume:
	mov	$1, %al			/* the one instruction the shadow covers */
	mov	$2, %al
	out	%al, $0x92
	cli
	hlt
state_isr_al:
	out	%al, $0x93
	iret

	.globl real_state_exception
real_state_exception:			/* an injected #UD is delivered once */
	movw	$state_ud_isr, 0x18	/* IVT vector 6 (#UD) */
	movw	$0, 0x1a
	movb	$0, state_ud_count
	cli
	hlt				/* VMM: injects #UD, saves and restores it */
	mov	$0x55, %al
	out	%al, $0x95
	hlt
state_ud_isr:
	incb	state_ud_count
	mov	state_ud_count, %al
	out	%al, $0x94
	iret
state_ud_count:
	.byte	0

	.globl real_state_tsc
real_state_tsc:				/* RDTSC and RDMSR(IA32_TSC) after the VMM set it */
	cli
	hlt
	rdtsc
	out	%eax, $0x96
	mov	%edx, %eax
	out	%eax, $0x96
	mov	$0x10, %ecx
	rdmsr
	out	%eax, $0x97
	mov	%edx, %eax
	out	%eax, $0x97
	hlt
