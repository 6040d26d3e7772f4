/*
 * What the multiboot test kernels (multiboot.S, hostile.S) share, as
 * assembler macros each kernel places where it wants them:
 *   MB_HEADER   the multiboot header (0.6.96), first in .text; flags: page-
 *               aligned modules, memory information
 *   COM1_PUTS   puts: the NUL-terminated string at ESI to COM1, polling
 *               the LSR for an empty transmit register; clobbers EAX, EDX, ESI
 *   COM1_PUTDEC putdec: EAX in decimal through puts; clobbers EAX, EDX, ESI;
 *               needs a numbuf_end label with a byte behind it (the kernel's bss)
 */
#define MB_MAGIC	0x1badb002
#define MB_FLAGS	0x00000003	/* bit 0 page-aligned modules, bit 1 memory info */
#define COM1		0x3f8

.macro MB_HEADER
	.align 4
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
.endm

.macro COM1_PUTS
puts:
	lodsb
	test %al, %al
	jz 2f
	mov %al, %ah
	mov $(COM1 + 5), %dx		/* LSR: wait for THRE */
1:	inb %dx, %al
	test $0x20, %al
	jz 1b
	mov $COM1, %dx
	mov %ah, %al
	outb %al, %dx
	jmp puts
2:	ret
.endm

.macro COM1_PUTDEC
putdec:
	push %ebx
	push %ecx
	mov $numbuf_end, %ecx
	movb $0, (%ecx)
	mov $10, %ebx
1:	xor %edx, %edx
	div %ebx
	add $'0', %dl
	dec %ecx
	mov %dl, (%ecx)
	test %eax, %eax
	jnz 1b
	mov %ecx, %esi
	call puts
	pop %ecx
	pop %ebx
	ret
.endm
