/*
 * boot_params.h: private to the loaders (boot_linux.c, boot_elf.c; the
 * accessors and descriptors also boot_multiboot.c).
 * Offsets of struct boot_params and its setup header as boot.rst gives
 * them, little-endian accessors, and what either kind of kernel image
 * hands to the common boot steps.
 */
#ifndef VMM_BOOT_PARAMS_H
#define VMM_BOOT_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/boot_linux.h"

/* struct setup_header, at 0x1f1 of both the file and boot_params. */
#define HDR_SETUP_SECTS		0x1f1	/* u8 */
#define HDR_BOOT_FLAG		0x1fe	/* u16, 0xaa55 */
#define HDR_JUMP		0x200	/* u16; byte 0x201 + 0x202 = end */
#define HDR_MAGIC		0x202	/* "HdrS" */
#define HDR_VERSION		0x206	/* u16 */
#define HDR_TYPE_OF_LOADER	0x210	/* u8 */
#define HDR_LOADFLAGS		0x211	/* u8 */
#define HDR_CODE32_START	0x214	/* u32 */
#define HDR_RAMDISK_IMAGE	0x218	/* u32 */
#define HDR_RAMDISK_SIZE	0x21c	/* u32 */
#define HDR_HEAP_END_PTR	0x224	/* u16 */
#define HDR_EXT_LOADER_VER	0x226	/* u8 */
#define HDR_EXT_LOADER_TYPE	0x227	/* u8 */
#define HDR_CMD_LINE_PTR	0x228	/* u32 */
#define HDR_INITRD_ADDR_MAX	0x22c	/* u32 */
#define HDR_KERNEL_ALIGNMENT	0x230	/* u32 */
#define HDR_RELOCATABLE		0x234	/* u8 */
#define HDR_XLOADFLAGS		0x236	/* u16 */
#define HDR_CMDLINE_SIZE	0x238	/* u32 */
#define HDR_HARDWARE_SUBARCH	0x23c	/* u32 */
#define HDR_HARDWARE_SUBARCH_DATA 0x240	/* u64 */
#define HDR_SETUP_DATA		0x250	/* u64 */
#define HDR_PREF_ADDRESS	0x258	/* u64 */
#define HDR_INIT_SIZE		0x260	/* u32 */
#define HDR_END_MAX		0x290	/* edd_mbr_sig_buffer starts here */

/* boot_params outside the setup header. */
#define BP_EXT_RAMDISK_IMAGE	0x0c0
#define BP_EXT_RAMDISK_SIZE	0x0c4
#define BP_EXT_CMD_LINE_PTR	0x0c8
#define BP_E820_ENTRIES		0x1e8	/* u8 */
#define BP_E820_TABLE		0x2d0	/* 128 x { u64 addr, size; u32 type } */
#define BP_E820_MAX		128
#define BP_SIZE			0x1000

#define LOADED_HIGH		0x01
#define QUIET_FLAG		0x20
#define KEEP_SEGMENTS		0x40
#define CAN_USE_HEAP		0x80
#define XLF_KERNEL_64		0x01

#define MIN_VERSION		0x0206
#define ENTRY64_OFFSET		0x200


static inline uint16_t ld16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t ld32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t ld64(const uint8_t *p)
{
	return (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32;
}

static inline void st16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void st32(uint8_t *p, uint32_t v)
{
	st16(p, (uint16_t)v);
	st16(p + 2, (uint16_t)(v >> 16));
}

static inline void st64(uint8_t *p, uint64_t v)
{
	st32(p, (uint32_t)v);
	st32(p + 4, (uint32_t)(v >> 32));
}


/* A kernel image made ready for the common steps of vmm_boot_linux_load. */
struct vmm_kernel_layout {
	uint8_t hdr[HDR_END_MAX];	/* setup header, at its boot_params offsets */
	size_t hdr_end;			/* copy [HDR_SETUP_SECTS, hdr_end) */
	uint16_t version;		/* boot protocol */
	uint64_t load, end;		/* guest-physical [load, end) is the kernel's */
	uint64_t entry;			/* 64-bit entry point */
	const uint8_t *image;		/* bzImage: the protected-mode part */
	size_t image_size;
	unsigned segments;		/* ELF: PT_LOAD segments to copy, else 0 */
};

/* boot_linux.c: a GDT entry from the flags/access word (bits 15:12 G D/B L
 * AVL, 7:0 P DPL S type), base and 20-bit limit; the same segment as VMX
 * loads it. */
uint64_t vmm_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit);
struct vmm_seg vmm_seg_make(uint16_t sel, uint16_t flags, uint32_t limit20);

/* boot_elf.c: an uncompressed vmlinux (ELF64), as Firecracker boots. */
int vmm_boot_is_elf(const uint8_t *k, size_t n);
int vmm_elf_layout(const struct vmm_boot_linux_args *a,
		   struct vmm_kernel_layout *l, struct vx_err *err);
void vmm_elf_copy(const struct vmm_boot_linux_args *a,
		  const struct vmm_kernel_layout *l);

#endif
