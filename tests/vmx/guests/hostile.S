/*
 * A hostile multiboot guest (ELF32 at 1 MiB, like multiboot.S) for the
 * runner's "a misbehaving guest ends only itself" test (suites/hostile.sh).
 * Its command line picks what it does:
 *   beat     the well-behaved neighbour: "HB: beat N" on COM1 forever, a
 *            busy loop between lines
 *   (other)  the hostile guest: garbage, from a fixed pseudo-random
 *            sequence, to every device the runner has, then a triple fault:
 *     1. each virtio-pci function: memory decode and bus mastering on,
 *        a driver's handshake, then queues 0-3 set up on rings of
 *        garbage (this kernel's own code), enabled, DRIVER_OK, notified;
 *        again with garbage sizes and addresses; then every dword of its
 *        16 KiB BAR overwritten
 *     2. the configuration space of every function 0 on bus 0 (offsets
 *        0x04-0x3c: command, BARs, interrupt line) overwritten
 *     3. one byte out and one in at every port of 0x000-0x3ff, 0x600-0x60f
 *        and 0xcf8-0xcff but the reset and power-off ones (i8042 0x64,
 *        port 0x92, 0xcf9, the PM1a control register 0x604-0x605, the
 *        FADT's reset register 0x608): a
 *        reset or an S5 would end the VM before the fault, through a path
 *        other suites test
 *     4. 256 dwords each at the IOAPIC's and the local APIC's addresses
 *     5. COM1 set up again, "HOSTILE: ..." lines, then an IDT of limit 0
 *        and INT3: #GP, double fault, triple fault
 * "HOSTILE: devices written" says every step ran (a runner that died on
 * the way never prints it).
 */
	.code32
	.section .text
	.globl _start

#include "mbcom1.S"
#define PCI_ADDR	0xcf8
#define PCI_DATA	0xcfc
#define VIRTIO_VENDOR	0x1af4

	MB_HEADER

_start:
	mov $stack_top, %esp
	cld
	mov 16(%ebx), %esi		/* the command line */
	cmpl $0x74616562, (%esi)	/* "beat" */
	je beat

	mov $s_start, %esi
	call puts
	call virtio_garbage
	call pci_config_garbage
	call port_garbage
	mov $0xfec00000, %edi
	call mmio_garbage_256
	mov $0xfee00000, %edi
	call mmio_garbage_256
	call com1_init
	mov $s_done, %esi
	call puts
	lidt idt_empty
	int3
1:	hlt				/* not reached: the fault ends the VM */
	jmp 1b

/* The neighbour: a line, a pause, forever. */
beat:
	xor %ebx, %ebx
1:	inc %ebx
	mov $s_beat, %esi
	call puts
	mov %ebx, %eax
	call putdec
	mov $s_nl, %esi
	call puts
	mov $(1 << 22), %ecx
2:	dec %ecx
	jnz 2b
	jmp 1b

/* EAX: the next value of a linear congruential sequence. */
rand:
	mov seed, %eax
	imul $1103515245, %eax
	add $12345, %eax
	mov %eax, seed
	ret

/* EAX: the configuration dword at offset ECX of bus 0 device EBX. */
pci_read:
	mov %ebx, %eax
	shl $11, %eax
	or %ecx, %eax
	or $0x80000000, %eax
	mov $PCI_ADDR, %dx
	outl %eax, %dx
	mov $PCI_DATA, %dx
	inl %dx, %eax
	ret

/* The dword EAX to offset ECX of bus 0 device EBX. */
pci_write:
	push %eax
	mov %ebx, %eax
	shl $11, %eax
	or %ecx, %eax
	or $0x80000000, %eax
	mov $PCI_ADDR, %dx
	outl %eax, %dx
	pop %eax
	mov $PCI_DATA, %dx
	outl %eax, %dx
	ret

/* Step 1, for every virtio function 0 on bus 0. */
virtio_garbage:
	xor %ebx, %ebx
1:	xor %ecx, %ecx
	call pci_read
	cmp $VIRTIO_VENDOR, %ax
	jne 2f
	mov $0x10, %ecx
	call pci_read
	and $0xfffffff0, %eax		/* BAR 0: 64-bit, below 4 GiB here */
	jz 2f				/* unassigned: nothing decodes it */
	mov %eax, %edi
	mov $0x04, %ecx
	mov $0x0007, %eax		/* I/O, memory, bus master */
	call pci_write
	call virtio_queue_garbage
	call virtio_bar_garbage
2:	inc %ebx
	cmp $32, %ebx
	jb 1b
	ret

/*
 * Queues 0-3 of the device whose BAR 0 is at EDI (common config at 0),
 * after the handshake a driver does (reset, ACKNOWLEDGE|DRIVER,
 * VERSION_1, FEATURES_OK), so that the device takes the queues: 8
 * entries each, the descriptor table and the available ring inside this
 * kernel's code (bytes no driver wrote: descriptors with garbage
 * addresses, lengths and flags, a garbage ring index), the used ring in
 * RAM at 16 MiB; then DRIVER_OK and a notify of each. Then the same with
 * garbage sizes and addresses anywhere in the 4 GiB.
 */
virtio_queue_garbage:
	movb $0, 0x14(%edi)		/* device_status: reset */
	movb $0x03, 0x14(%edi)		/* ACKNOWLEDGE | DRIVER */
	movl $1, 0x08(%edi)		/* driver_feature_select: bits 32-63 */
	movl $1, 0x0c(%edi)		/* VERSION_1 */
	movb $0x0b, 0x14(%edi)		/* | FEATURES_OK */
	xor %ecx, %ecx
1:	movw %cx, 0x16(%edi)		/* queue_select */
	movw $8, 0x18(%edi)		/* queue_size */
	call rand
	and $0xff0, %eax
	add $0x100000, %eax		/* in the code */
	mov %eax, 0x20(%edi)		/* queue_desc */
	movl $0, 0x24(%edi)
	call rand
	and $0xffe, %eax
	add $0x100000, %eax
	mov %eax, 0x28(%edi)		/* queue_driver (avail) */
	movl $0, 0x2c(%edi)
	call rand
	and $0xff000, %eax
	add $0x1000000, %eax
	mov %eax, 0x30(%edi)		/* queue_device (used) */
	movl $0, 0x34(%edi)
	movw $1, 0x1c(%edi)		/* queue_enable */
	inc %ecx
	cmp $4, %ecx
	jb 1b
	movb $0x0f, 0x14(%edi)		/* | DRIVER_OK */
	call virtio_notify_all
	xor %ecx, %ecx
2:	movw %cx, 0x16(%edi)
	call rand
	movw %ax, 0x18(%edi)
	call rand
	mov %eax, 0x20(%edi)
	call rand
	mov %eax, 0x24(%edi)
	call rand
	mov %eax, 0x28(%edi)
	call rand
	mov %eax, 0x2c(%edi)
	call rand
	mov %eax, 0x30(%edi)
	movl $0, 0x34(%edi)
	movw $1, 0x1c(%edi)
	inc %ecx
	cmp $4, %ecx
	jb 2b
	call virtio_notify_all
	ret

/* A notify of queues 0-3 (offset multiplier 0 or 4: both covered). */
virtio_notify_all:
	xor %ecx, %ecx
1:	mov %ecx, 0x3000(%edi)
	mov %ecx, 0x3000(%edi, %ecx, 4)
	inc %ecx
	cmp $4, %ecx
	jb 1b
	ret

/* Every dword of the 16 KiB BAR at EDI. */
virtio_bar_garbage:
	push %edi
	mov $4096, %ecx
1:	call rand
	mov %eax, (%edi)
	add $4, %edi
	dec %ecx
	jnz 1b
	pop %edi
	ret

/* Step 2. */
pci_config_garbage:
	xor %ebx, %ebx
1:	mov $0x04, %ecx
2:	call rand
	call pci_write
	add $4, %ecx
	cmp $0x40, %ecx
	jb 2b
	inc %ebx
	cmp $32, %ebx
	jb 1b
	ret

/* Step 3. */
port_garbage:
	mov $0x000, %ebx
	mov $0x400, %edi
	call port_range_garbage
	mov $0x600, %ebx
	mov $0x610, %edi
	call port_range_garbage
	mov $0xcf8, %ebx
	mov $0xd00, %edi
	jmp port_range_garbage

/* Ports EBX up to EDI (exclusive), skipping the reset and S5 ones. */
port_range_garbage:
1:	cmp $0x64, %ebx
	je 2f
	cmp $0x92, %ebx
	je 2f
	cmp $0xcf9, %ebx
	je 2f
	cmp $0x604, %ebx
	je 2f
	cmp $0x605, %ebx
	je 2f
	cmp $0x608, %ebx		/* the FADT's reset register */
	je 2f
	call rand
	mov %bx, %dx
	outb %al, %dx
	inb %dx, %al
2:	inc %ebx
	cmp %edi, %ebx
	jb 1b
	ret

/* Step 4: 256 garbage dwords from EDI up. */
mmio_garbage_256:
	mov $256, %ecx
1:	call rand
	mov %eax, (%edi)
	add $4, %edi
	dec %ecx
	jnz 1b
	ret

/* COM1 back to 8N1 at 115200, interrupts off, after step 3 changed it. */
com1_init:
	mov $(COM1 + 3), %dx
	mov $0x80, %al			/* LCR: DLAB */
	outb %al, %dx
	mov $COM1, %dx
	mov $1, %al			/* divisor 1 */
	outb %al, %dx
	mov $(COM1 + 1), %dx
	xor %al, %al
	outb %al, %dx
	mov $(COM1 + 3), %dx
	mov $0x03, %al			/* LCR: 8N1 */
	outb %al, %dx
	mov $(COM1 + 1), %dx
	xor %al, %al			/* IER: none */
	outb %al, %dx
	mov $(COM1 + 4), %dx
	mov $0x03, %al			/* MCR: DTR, RTS, no loopback */
	outb %al, %dx
	ret

	COM1_PUTS

	COM1_PUTDEC

	.section .rodata
	.align 8
idt_empty:	.word 0
		.long 0
s_start:	.asciz "HOSTILE: writing garbage to every device\r\n"
s_done:		.asciz "HOSTILE: devices written; a triple fault next\r\n"
s_beat:		.asciz "HB: beat "
s_nl:		.asciz "\r\n"

	.section .data
	.align 4
seed:		.long 0x2545f491

	.section .bss
	.align 16
numbuf:		.skip 16
numbuf_end:	.skip 4
	.align 16
stack:		.skip 4096
stack_top:
