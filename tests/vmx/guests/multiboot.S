/*
 * A multiboot (0.6.96) test kernel: ELF32, loaded at 1 MiB by vmxd-runner's
 * multiboot loader (vmm/boot_multiboot.c). It reports on COM1 (0x3f8) what
 * it was handed, one "MB:" line per fact, then powers off through the ACPI
 * PM1a control register (0x604: SLP_TYP 5 | SLP_EN, as vmm/acpi_pm.c
 * expects). Should that not end the VM it says so and resets through the
 * i8042 (the runner then exits 3, not 0: the suite can tell).
 *
 * Lines (tests/vmx/suites/multiboot.sh judges them):
 *   MB: hello from a multiboot kernel
 *   MB: magic ok                     (EAX was 0x2BADB002; else "MB: bad magic")
 *   MB: protected mode, paging off   (CR0.PE set, CR0.PG clear)
 *   MB: interrupts off               (EFLAGS.IF clear)
 *   MB: flags 0x...                  (the information structure's flags)
 *   MB: mem_lower N KiB, mem_upper N KiB
 *   MB: cmdline 'TEXT'
 *   MB: modules N
 *   MB: module 0 'STRING' N bytes    (for each module)
 *   MB: mmap N entries, N KiB RAM    (entries of type 1 summed)
 *   MB: loader 'NAME'
 *   MB: powering off
 */
	.code32
	.section .text
	.globl _start

#include "mbcom1.S"

	MB_HEADER

_start:
	mov $stack_top, %esp
	cld				/* EFLAGS.DF is undefined at entry: lodsb counts up */
	mov %eax, %edi			/* the magic, for later */
	mov %ebx, %ebp			/* the information structure */
	mov $s_hello, %esi
	call puts

	mov $s_badmagic, %esi
	cmp $0x2badb002, %edi
	jne 1f
	mov $s_magic, %esi
1:	call puts

	mov %cr0, %eax
	and $0x80000001, %eax
	cmp $1, %eax
	jne 1f
	mov $s_pmode, %esi
	call puts
1:	pushf
	pop %eax
	test $0x200, %eax
	jnz 1f
	mov $s_cli, %esi
	call puts
1:
	cmp $0x2badb002, %edi
	jne poweroff			/* EBX means nothing then */

	mov $s_flags, %esi
	call puts
	mov 0(%ebp), %eax
	call puthex
	call newline

	mov $s_memlo, %esi
	call puts
	mov 4(%ebp), %eax
	call putdec
	mov $s_memup, %esi
	call puts
	mov 8(%ebp), %eax
	call putdec
	mov $s_kib, %esi
	call puts
	call newline

	testl $(1 << 2), 0(%ebp)
	jz 1f
	mov $s_cmdline, %esi
	call puts
	mov 16(%ebp), %esi
	call puts
	mov $s_quote, %esi
	call puts
	call newline
1:
	testl $(1 << 3), 0(%ebp)
	jz 3f
	mov $s_mods, %esi
	call puts
	mov 20(%ebp), %eax
	call putdec
	call newline
	mov 20(%ebp), %ecx		/* count */
	mov 24(%ebp), %ebx		/* mods_addr */
	xor %edx, %edx			/* index */
2:	cmp %ecx, %edx
	jae 3f
	push %ecx
	push %edx
	mov $s_mod, %esi
	call puts
	mov (%esp), %eax
	call putdec
	mov $s_space_quote, %esi
	call puts
	mov 8(%ebx), %esi
	call puts
	mov $s_quote_space, %esi
	call puts
	mov 4(%ebx), %eax
	sub 0(%ebx), %eax
	call putdec
	mov $s_bytes, %esi
	call puts
	call newline
	pop %edx
	pop %ecx
	add $16, %ebx
	inc %edx
	jmp 2b
3:
	testl $(1 << 6), 0(%ebp)
	jz 5f
	mov 48(%ebp), %ebx		/* mmap_addr */
	mov 44(%ebp), %ecx
	add %ebx, %ecx			/* end */
	xor %edx, %edx			/* entries */
	xor %edi, %edi			/* RAM in KiB */
4:	cmp %ecx, %ebx
	jae 6f
	inc %edx
	cmpl $1, 20(%ebx)
	jne 7f
	mov 12(%ebx), %eax		/* length, low 32 bits: RAM < 4 GiB */
	shr $10, %eax
	add %eax, %edi
7:	mov 0(%ebx), %eax
	lea 4(%ebx, %eax), %ebx		/* the size field excludes itself */
	jmp 4b
6:	mov %edx, %ecx			/* puts clobbers EDX (the port) */
	mov $s_mmap, %esi
	call puts
	mov %ecx, %eax
	call putdec
	mov $s_entries, %esi
	call puts
	mov %edi, %eax
	call putdec
	mov $s_kibram, %esi
	call puts
	call newline
5:
	testl $(1 << 9), 0(%ebp)
	jz poweroff
	mov $s_loader, %esi
	call puts
	mov 64(%ebp), %esi
	call puts
	mov $s_quote, %esi
	call puts
	call newline

poweroff:
	mov $s_off, %esi
	call puts
	mov $0x604, %dx
	mov $((5 << 10) | (1 << 13)), %ax	/* SLP_TYP = 5 (\_S5), SLP_EN */
	outw %ax, %dx
	mov $s_still, %esi
	call puts
	mov $0xfe, %al			/* i8042: pulse the reset line */
	outb %al, $0x64
1:	cli
	hlt
	jmp 1b

	COM1_PUTS

newline:
	push %esi
	mov $s_nl, %esi
	call puts
	pop %esi
	ret

	COM1_PUTDEC

/* EAX as 0x followed by eight hex digits. Clobbers EAX, EDX, ESI. */
puthex:
	push %ecx
	push %ebx
	mov %eax, %ebx
	mov $s_0x, %esi
	call puts
	mov $8, %ecx
1:	rol $4, %ebx
	mov %ebx, %eax
	and $15, %eax
	movb hexdigits(%eax), %al
	mov $numbuf, %esi
	mov %al, (%esi)
	movb $0, 1(%esi)
	call puts
	loop 1b
	pop %ebx
	pop %ecx
	ret

	.section .rodata
hexdigits:	.ascii "0123456789abcdef"
s_hello:	.asciz "MB: hello from a multiboot kernel\r\n"
s_magic:	.asciz "MB: magic ok\r\n"
s_badmagic:	.asciz "MB: bad magic\r\n"
s_pmode:	.asciz "MB: protected mode, paging off\r\n"
s_cli:		.asciz "MB: interrupts off\r\n"
s_flags:	.asciz "MB: flags "
s_memlo:	.asciz "MB: mem_lower "
s_memup:	.asciz " KiB, mem_upper "
s_kib:		.asciz " KiB"
s_cmdline:	.asciz "MB: cmdline '"
s_quote:	.asciz "'"
s_mods:		.asciz "MB: modules "
s_mod:		.asciz "MB: module "
s_space_quote:	.asciz " '"
s_quote_space:	.asciz "' "
s_bytes:	.asciz " bytes"
s_mmap:		.asciz "MB: mmap "
s_entries:	.asciz " entries, "
s_kibram:	.asciz " KiB RAM"
s_loader:	.asciz "MB: loader '"
s_off:		.asciz "MB: powering off\r\n"
s_still:	.asciz "MB: still running after the S5 write; resetting\r\n"
s_0x:		.asciz "0x"
s_nl:		.asciz "\r\n"

	.section .bss
	.align 16
numbuf:		.skip 16
numbuf_end:	.skip 4
	.align 16
stack:		.skip 4096
stack_top:
