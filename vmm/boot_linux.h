/*
 * vmm_boot_linux: loads a Linux bzImage into guest RAM by the x86 boot
 * protocol (Documentation/arch/x86/boot.rst), for the 64-bit entry point.
 *
 * Environment: the runner, before the first vCPU runs. Touches only the
 * guest-RAM buffer it is given; the caller loads the returned register
 * state into the boot vCPU.
 *
 * Guest-physical layout (RAM is one buffer mapped at guest address 0):
 *
 *   0x00500  GDT: null, null, 0x10 flat 64-bit code, 0x18 flat data,
 *            0x20 TSS (16-byte system descriptor)
 *   0x07000  boot_params ("zero page"), 4 KiB
 *   0x08ff0  initial stack top (grows down below the page tables)
 *   0x09000  PML4, 0x0a000 PDPT, 0x0b000-0x0efff four PDs: 2 MiB pages
 *            identity-mapping the first 4 GiB
 *   0x20000  command line, NUL-terminated, at most 64 KiB
 *   0xa0000-0xfffff  reserved in e820 (VGA hole, BIOS area)
 *   kernel   protected-mode part at pref_address when relocatable, else
 *            at 1 MiB; it runs from pref_address (aligned up to
 *            kernel_alignment) and needs init_size bytes from there, so
 *            that much must fit whatever the load address (boot.rst)
 *   initrd   as high as possible below min(initrd_addr_max + 1, RAM end,
 *            4 GiB), 4 KiB aligned, above the kernel
 *
 * e820: RAM [0, 640 KiB), reserved [640 KiB, 1 MiB), RAM [1 MiB, end).
 */
#ifndef VMM_BOOT_LINUX_H
#define VMM_BOOT_LINUX_H

#include <stddef.h>
#include <stdint.h>

#include "vx_err.h"

#define VMM_BOOT_GDT_ADDR	0x500ull
#define VMM_BOOT_ZERO_PAGE	0x7000ull
#define VMM_BOOT_STACK_TOP	0x8ff0ull
#define VMM_BOOT_PML4		0x9000ull
#define VMM_BOOT_PDPT		0xa000ull
#define VMM_BOOT_PD		0xb000ull	/* 4 pages */
#define VMM_BOOT_CMDLINE	0x20000ull
#define VMM_BOOT_CMDLINE_MAX	0x10000ull	/* bytes, with the NUL */
#define VMM_BOOT_HIMEM		0x100000ull	/* 1 MiB */
#define VMM_BOOT_LOWMEM_END	0xa0000ull	/* 640 KiB */
#define VMM_BOOT_MAPPED		0x100000000ull	/* identity map: 4 GiB */

#define VMM_BOOT_SEL_CS		0x10	/* __BOOT_CS */
#define VMM_BOOT_SEL_DS		0x18	/* __BOOT_DS */
#define VMM_BOOT_SEL_TSS	0x20

/* e820 types (boot_params.e820_table[].type). */
#define VMM_E820_RAM		1
#define VMM_E820_RESERVED	2

/*
 * A segment register as VMX loads it: access rights in the VMCS layout
 * (bits 3:0 type, 4 S, 6:5 DPL, 7 P, 12 AVL, 13 L, 14 D/B, 15 G,
 * 16 unusable). The KVM backend converts field by field.
 */
struct vmm_seg {
	uint64_t base;
	uint32_t limit;		/* bytes - 1, granularity already applied */
	uint16_t selector;
	uint32_t ar;
};

struct vmm_dtable {
	uint64_t base;
	uint16_t limit;
};

/* What the boot vCPU starts with; everything not named here is zero. */
struct vmm_boot_regs {
	uint64_t rip;		/* 64-bit entry: load address + 0x200 */
	uint64_t rsp;
	uint64_t rsi;		/* boot_params */
	uint64_t rax, rbx;	/* multiboot: magic and information address */
	uint64_t rflags;	/* 0x2: interrupts off */
	uint64_t cr0, cr3, cr4, efer;
	struct vmm_seg cs, ds, es, fs, gs, ss, tr, ldtr;
	struct vmm_dtable gdt, idt;
};

/*
 * The guest's physical memory map, one list for every boot format: the
 * Linux zero page's e820 table and the multiboot mmap are both written
 * from it. RAM is one range from 0; the VGA hole and BIOS area are
 * reserved.
 */
struct vmm_e820_entry {
	uint64_t addr, size;
	uint32_t type;		/* VMM_E820_RAM or VMM_E820_RESERVED */
};
#define VMM_E820_BOOT_ENTRIES	3	/* what vmm_boot_e820 fills */

unsigned vmm_boot_e820(uint64_t ram_size,
		       struct vmm_e820_entry e[VMM_E820_BOOT_ENTRIES]);

/* A whole file mapped read-only ("what" names it in messages: "kernel");
 * an empty file maps as (NULL, 0). Undo with vmm_boot_unmap_file. */
int vmm_boot_map_file(const char *path, const char *what,
		      const uint8_t **data, size_t *size, struct vx_err *err);
void vmm_boot_unmap_file(const uint8_t *data, size_t size);

struct vmm_boot_linux_args {
	uint8_t *ram;			/* guest RAM, guest physical 0 */
	uint64_t ram_size;		/* bytes; at least 2 MiB */
	const uint8_t *kernel;		/* the bzImage file */
	size_t kernel_size;
	const uint8_t *initrd;		/* NULL for none */
	size_t initrd_size;
	const char *cmdline;		/* NULL for "" */
};

struct vmm_boot_linux_info {
	struct vmm_boot_regs regs;
	uint16_t version;		/* boot protocol, 0x020f = 2.15 */
	uint64_t kernel_addr;		/* where the protected-mode part is */
	uint64_t kernel_size;		/* its bytes in the file */
	uint64_t kernel_end;		/* end of load image and init_size area */
	uint64_t initrd_addr, initrd_size;
	uint64_t boot_params;		/* VMM_BOOT_ZERO_PAGE */
	unsigned e820_entries;
};

/*
 * Checks the bzImage, lays out kernel, initrd, command line, boot_params,
 * GDT and page tables in guest RAM, and fills *info. Returns 0, or
 *   -ENOEXEC  not a bzImage (no boot flag, no "HdrS", not loaded high,
 *             truncated, setup past the end of the file), no 64-bit
 *             entry point (XLF_KERNEL_64 clear), or impossible placement
 *             fields (kernel_alignment, a runtime address below 1 MiB);
 *   -EPROTO   boot protocol older than 2.06;
 *   -E2BIG    command line longer than the kernel's cmdline_size (or 64 KiB);
 *   -ENOSPC   RAM (or the 4 GiB identity map) too small for the kernel's
 *             init_size from its runtime address, or for the initrd above;
 *   -EINVAL   bad arguments.
 * Guest RAM may have been written to on failure.
 */
int vmm_boot_linux_load(const struct vmm_boot_linux_args *args,
			struct vmm_boot_linux_info *info, struct vx_err *err);

/* The same from files: maps kernel and initrd (NULL: none) read-only. */
int vmm_boot_linux_load_files(uint8_t *ram, uint64_t ram_size,
			      const char *kernel_path, const char *initrd_path,
			      const char *cmdline,
			      struct vmm_boot_linux_info *info,
			      struct vx_err *err);

#endif
