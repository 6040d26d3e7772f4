/*
 * vmm_boot_multiboot: loads a small test kernel by the Multiboot
 * Specification version 0.6.96 (multiboot 1), as GRUB legacy would.
 *
 * Environment: the runner, before the first vCPU runs. Touches only the
 * guest-RAM buffer it is given; the caller loads the returned register
 * state into the boot vCPU.
 *
 * The kernel carries a header (magic 0x1BADB002, 4-byte aligned, within
 * its first 8192 bytes, magic + flags + checksum = 0). It is loaded by its
 * address fields when header flag bit 16 is set (the "a.out kludge"),
 * otherwise as an ELF32 (or ELF64 whose entry is below 4 GiB) by its
 * program headers' physical addresses.
 *
 * Guest-physical layout (RAM is one buffer mapped at guest address 0):
 *
 *   0x00500  GDT: null, 0x08 flat 32-bit code, 0x10 flat data, 0x18 TSS
 *   0x01000  struct multiboot_info (88 bytes, spec section 3.3)
 *   0x01100  memory map: one 24-byte entry per e820 range (size field 20)
 *   0x01400  module list: 16 bytes per module (one: the runner's --initrd)
 *   0x01500  boot loader name, "vmxcore"
 *   0x02000  module 0's string, at most 4 KiB with the NUL
 *   0x10000  command line, at most 64 KiB with the NUL
 *   0x20000  end of the information area: no kernel byte may go below
 *   0xa0000-0xfffff  reserved (VGA hole, BIOS area, ACPI tables): no
 *            kernel byte may go there either
 *   kernel   where its header or program headers say, inside RAM
 *   module   the first page boundary above the kernel (and 1 MiB)
 *
 * Machine state at entry (spec section 3.2): EAX = 0x2BADB002, EBX = the
 * information structure, 32-bit protected mode with paging off (CR0 =
 * PE|ET), CS flat 32-bit execute/read, DS/ES/FS/GS/SS flat read/write
 * (base 0, limit 4 GiB), EFLAGS = 0x2 (IF and VM clear), A20 on (this
 * machine has no A20 gate), ESP 0 (undefined: the kernel sets up its
 * own), GDTR at the GDT above (the kernel should load its own), IDTR 0/0.
 */
#ifndef VMM_BOOT_MULTIBOOT_H
#define VMM_BOOT_MULTIBOOT_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/boot_linux.h"
#include "vx_err.h"

#define VMM_MB_HEADER_MAGIC	0x1badb002u
#define VMM_MB_BOOT_MAGIC	0x2badb002u	/* EAX at entry */
#define VMM_MB_SEARCH		8192		/* the header is in these bytes */

/* Header flags (spec 3.1.2): bits 0-15 are requirements, 16-31 options. */
#define VMM_MB_HF_PAGE_ALIGN	(1u << 0)	/* modules page aligned */
#define VMM_MB_HF_MEMORY_INFO	(1u << 1)	/* mem_* (and mmap) wanted */
#define VMM_MB_HF_VIDEO_MODE	(1u << 2)	/* a video mode table wanted */
#define VMM_MB_HF_ADDRESSES	(1u << 16)	/* address fields valid */
/* What this loader can satisfy: no display, so no video mode. */
#define VMM_MB_HF_REQUIRED_OK	(VMM_MB_HF_PAGE_ALIGN | VMM_MB_HF_MEMORY_INFO)

/* Information flags (spec 3.3): which fields of the structure are valid. */
#define VMM_MB_IF_MEMORY	(1u << 0)	/* mem_lower, mem_upper */
#define VMM_MB_IF_BOOT_DEVICE	(1u << 1)
#define VMM_MB_IF_CMDLINE	(1u << 2)
#define VMM_MB_IF_MODS		(1u << 3)
#define VMM_MB_IF_MMAP		(1u << 6)
#define VMM_MB_IF_LOADER_NAME	(1u << 9)

/* struct multiboot_info: byte offsets. */
#define VMM_MB_INFO_FLAGS	0
#define VMM_MB_INFO_MEM_LOWER	4	/* KiB from 0 */
#define VMM_MB_INFO_MEM_UPPER	8	/* KiB from 1 MiB */
#define VMM_MB_INFO_BOOT_DEVICE	12
#define VMM_MB_INFO_CMDLINE	16
#define VMM_MB_INFO_MODS_COUNT	20
#define VMM_MB_INFO_MODS_ADDR	24
#define VMM_MB_INFO_MMAP_LENGTH	44
#define VMM_MB_INFO_MMAP_ADDR	48
#define VMM_MB_INFO_LOADER_NAME	64
#define VMM_MB_INFO_SIZE	88

/* Guest-physical layout (above). */
#define VMM_MB_GDT		0x00500ull
#define VMM_MB_INFO		0x01000ull
#define VMM_MB_MMAP		0x01100ull
#define VMM_MB_MODS		0x01400ull
#define VMM_MB_LOADER_NAME	0x01500ull
#define VMM_MB_MOD_STRING	0x02000ull
#define VMM_MB_MOD_STRING_MAX	0x01000ull	/* bytes, with the NUL */
#define VMM_MB_CMDLINE		0x10000ull
#define VMM_MB_CMDLINE_MAX	0x10000ull	/* bytes, with the NUL */
#define VMM_MB_AREA_END		0x20000ull

#define VMM_MB_SEL_CS		0x08
#define VMM_MB_SEL_DS		0x10
#define VMM_MB_SEL_TSS		0x18

#define VMM_MB_LOADER		"vmxcore"

/* The header as found in the file. */
struct vmm_mb_header {
	uint32_t offset;		/* in the file */
	uint32_t flags;
	/* Valid with VMM_MB_HF_ADDRESSES. */
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

struct vmm_boot_multiboot_args {
	uint8_t *ram;			/* guest RAM, guest physical 0 */
	uint64_t ram_size;		/* bytes; at least 2 MiB */
	const uint8_t *kernel;		/* the file */
	size_t kernel_size;
	const uint8_t *module;		/* module 0 (the runner's --initrd); NULL: none */
	size_t module_size;
	const char *module_string;	/* its string (the path); NULL for "" */
	const char *cmdline;		/* NULL for "" */
};

struct vmm_boot_multiboot_info {
	struct vmm_boot_regs regs;
	struct vmm_mb_header header;
	int by_address_fields;		/* a.out kludge (else ELF program headers) */
	uint64_t kernel_addr, kernel_end;	/* [lowest byte, end of BSS) */
	uint64_t entry;
	unsigned segments;		/* ELF PT_LOADs, 1 for the a.out kludge */
	uint64_t module_addr, module_size;
	uint64_t info_addr;		/* VMM_MB_INFO */
	unsigned mmap_entries;
};

/*
 * Finds the header in the file's first 8192 bytes. Returns 0, or
 *   -ENOENT   no magic on a 4-byte boundary there (not a multiboot kernel);
 *   -ENOEXEC  a magic whose checksum is wrong, and no good header after
 *             it; a header cut off by the end of the file.
 */
int vmm_multiboot_find_header(const uint8_t *k, size_t n,
			      struct vmm_mb_header *h, struct vx_err *err);

/* 1 when the file has a good multiboot header and is not a bzImage (the
 * runner's choice of format), else 0. */
int vmm_multiboot_probe(const uint8_t *k, size_t n);

/*
 * Checks the kernel, lays out kernel, module, command line, information
 * structure and GDT in guest RAM, and fills *info. Returns 0, or
 *   -ENOEXEC  no header or a bad one (checksum, cut off), address fields
 *             that contradict each other or the file, a bad ELF file
 *             (not i386/x86-64 ET_EXEC, headers outside the file, no
 *             loadable segment, more than 16, entry outside them or
 *             above 4 GiB);
 *   -EOPNOTSUPP  required header flag bits this loader cannot satisfy
 *             (bit 2, video mode; bits 3-15, unknown);
 *   -ENOSPC   a segment or the module outside RAM below 4 GiB;
 *   -EADDRINUSE  a segment on the information area below 0x20000 or in
 *             the reserved range 0xa0000-0xfffff;
 *   -E2BIG    command line or module string too long;
 *   -EINVAL   bad arguments.
 * Guest RAM is not written on failure.
 */
int vmm_boot_multiboot_load(const struct vmm_boot_multiboot_args *args,
			    struct vmm_boot_multiboot_info *info,
			    struct vx_err *err);

/* The same from files: kernel and initrd (NULL: no module) mapped
 * read-only; the initrd's path is module 0's string. */
int vmm_boot_multiboot_load_files(uint8_t *ram, uint64_t ram_size,
				  const char *kernel_path,
				  const char *initrd_path, const char *cmdline,
				  struct vmm_boot_multiboot_info *info,
				  struct vx_err *err);

#endif
