/*
 * vmm_boot_linux: the Linux x86 boot protocol, 64-bit entry (see
 * boot_linux.h). Offsets and rules are those of boot.rst ("THE LINUX/x86
 * BOOT PROTOCOL"), "Details of header fields" and "64-bit BOOT PROTOCOL".
 *
 * All header fields are read from the file with bounds already checked;
 * nothing the file says is used as an address or length without being
 * checked against the RAM size first.
 */
#include "vmm/boot_linux.h"
#include "vmm/boot_params.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define X86_CR0_PE		0x00000001ull
#define X86_CR0_ET		0x00000010ull
#define X86_CR0_NE		0x00000020ull
#define X86_CR0_PG		0x80000000ull
#define X86_CR4_PAE		0x00000020ull
#define X86_EFER_LME		0x00000100ull
#define X86_EFER_LMA		0x00000400ull

#define PTE_P			0x001ull
#define PTE_RW			0x002ull
#define PTE_PS			0x080ull

/* A GDT entry from base, limit (20 bits) and the flags/access word
 * (bits 15:12 G D/B L AVL, bits 7:0 P DPL S type), the layout of the
 * descriptor's bytes 5 and 6. */
uint64_t vmm_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) |
	       ((uint64_t)(flags & 0xf0ffu) << 40) |
	       ((uint64_t)(limit & 0x000f0000u) << 32) |
	       ((uint64_t)(base & 0x00ffffffu) << 16) |
	       (uint64_t)(limit & 0x0000ffffu);
}

/* VMX access rights of the same segment (flags shifted to bits 15:12). */
struct vmm_seg vmm_seg_make(uint16_t sel, uint16_t flags, uint32_t limit20)
{
	struct vmm_seg s = { .selector = sel, .ar = flags & 0xf0ffu };

	s.limit = (flags & 0x8000) ? (limit20 << 12) | 0xfffu : limit20;
	return s;
}

/* Flat 64-bit code (L=1, G=1, P, S, execute/read, accessed). */
#define FLAGS_CODE64	0xa09b
/* Flat data (D/B=1, G=1, P, S, read/write, accessed). */
#define FLAGS_DATA	0xc093
/* 64-bit TSS, busy (VM entry wants a busy TSS in TR). */
#define FLAGS_TSS	0x008b

static void vmm_boot_write_gdt(uint8_t *ram, struct vmm_boot_regs *r)
{
	uint8_t *gdt = ram + VMM_BOOT_GDT_ADDR;

	memset(gdt, 0, 6 * 8);
	st64(gdt + VMM_BOOT_SEL_CS, vmm_gdt_entry(FLAGS_CODE64, 0, 0xfffff));
	st64(gdt + VMM_BOOT_SEL_DS, vmm_gdt_entry(FLAGS_DATA, 0, 0xfffff));
	/* TSS base 0, limit 0x67: nothing reads it before Linux loads its
	 * own; the upper 8 bytes (base 63:32) stay zero. */
	st64(gdt + VMM_BOOT_SEL_TSS, vmm_gdt_entry(FLAGS_TSS, 0, 0x67));

	r->gdt.base = VMM_BOOT_GDT_ADDR;
	r->gdt.limit = 6 * 8 - 1;
	r->idt.base = 0;
	r->idt.limit = 0;	/* any fault before Linux's IDT: shutdown */
	r->cs = vmm_seg_make(VMM_BOOT_SEL_CS, FLAGS_CODE64, 0xfffff);
	r->ds = vmm_seg_make(VMM_BOOT_SEL_DS, FLAGS_DATA, 0xfffff);
	r->es = r->fs = r->gs = r->ss = r->ds;
	r->tr = vmm_seg_make(VMM_BOOT_SEL_TSS, FLAGS_TSS, 0x67);
	r->ldtr = (struct vmm_seg){ .ar = 1u << 16 };	/* unusable */
}

/* PML4[0] -> PDPT, PDPT[0..3] -> PD pages, each 512 x 2 MiB. */
static void vmm_boot_write_page_tables(uint8_t *ram, struct vmm_boot_regs *r)
{
	uint8_t *pml4 = ram + VMM_BOOT_PML4, *pdpt = ram + VMM_BOOT_PDPT;
	uint64_t i;

	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	st64(pml4, VMM_BOOT_PDPT | PTE_P | PTE_RW);
	for (i = 0; i < 4; i++)
		st64(pdpt + i * 8, (VMM_BOOT_PD + i * 4096) | PTE_P | PTE_RW);
	for (i = 0; i < 4 * 512; i++)
		st64(ram + VMM_BOOT_PD + i * 8,
		     (i << 21) | PTE_P | PTE_RW | PTE_PS);
	r->cr3 = VMM_BOOT_PML4;
}

unsigned vmm_boot_e820(uint64_t ram_size,
		       struct vmm_e820_entry e[VMM_E820_BOOT_ENTRIES])
{
	e[0] = (struct vmm_e820_entry){ 0, VMM_BOOT_LOWMEM_END, VMM_E820_RAM };
	e[1] = (struct vmm_e820_entry){ VMM_BOOT_LOWMEM_END,
					VMM_BOOT_HIMEM - VMM_BOOT_LOWMEM_END,
					VMM_E820_RESERVED };
	e[2] = (struct vmm_e820_entry){ VMM_BOOT_HIMEM, ram_size - VMM_BOOT_HIMEM,
					VMM_E820_RAM };
	return VMM_E820_BOOT_ENTRIES;
}

static uint64_t vmm_align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/*
 * Where the protected-mode kernel goes (*load) and how far it reaches
 * (*end). boot.rst, "init_size": the kernel needs init_size bytes from its
 * runtime start address, which is
 *
 *	if (relocatable_kernel) {
 *		if (load_address < pref_address)
 *			load_address = pref_address;
 *		runtime_start = align_up(load_address, kernel_alignment);
 *	} else {
 *		runtime_start = pref_address;
 *	}
 *
 * so loading below pref_address saves no memory. A relocatable kernel is
 * loaded at pref_address itself (it then decompresses in place, no
 * self-move); any other at 1 MiB, where bzImages have always gone.
 */
static int vmm_boot_place(const uint8_t *k, uint16_t version,
			  uint64_t payload, uint64_t ram_size, uint64_t *load,
			  uint64_t *end, struct vx_err *err)
{
	uint64_t pref = VMM_BOOT_HIMEM, init_size = 0, align, start, limit;

	if (version >= 0x020a) {
		pref = ld64(k + HDR_PREF_ADDRESS);
		init_size = ld32(k + HDR_INIT_SIZE);
	}
	/* Everything the kernel touches first must be in RAM and in the
	 * identity map. */
	limit = ram_size < VMM_BOOT_MAPPED ? ram_size : VMM_BOOT_MAPPED;
	*load = VMM_BOOT_HIMEM;
	if (k[HDR_RELOCATABLE]) {
		align = ld32(k + HDR_KERNEL_ALIGNMENT);
		if (align == 0 || (align & (align - 1)) || align > (1ull << 30))
			return vx_err_set(err, -ENOEXEC,
					  "kernel: kernel_alignment 0x%llx is not a power of two up to 1 GiB",
					  (unsigned long long)align);
		if (pref > *load)
			*load = pref;
		start = *load < limit ? vmm_align_up(*load, align) : *load;
	} else {
		start = pref;
		if (start < VMM_BOOT_HIMEM)
			return vx_err_set(err, -ENOEXEC,
					  "kernel: runs at 0x%llx, below 1 MiB",
					  (unsigned long long)start);
	}
	if (start >= limit || *load >= limit || payload > limit - *load ||
	    init_size > limit - start)
		return vx_err_set(err, -ENOSPC,
				  "boot: kernel needs 0x%llx bytes (init_size) from 0x%llx, loaded at 0x%llx; RAM%s ends at 0x%llx",
				  (unsigned long long)init_size,
				  (unsigned long long)start,
				  (unsigned long long)*load,
				  limit < ram_size ? " mapped at boot" : "",
				  (unsigned long long)limit);
	*end = start + init_size;
	if (*load + payload > *end)
		*end = *load + payload;
	return 0;
}

/* The header checks: everything from the file is validated here. */
static int vmm_boot_check(const struct vmm_boot_linux_args *a,
			  uint16_t *version, size_t *setup_size,
			  size_t *hdr_end, struct vx_err *err)
{
	const uint8_t *k = a->kernel;
	size_t n = a->kernel_size;
	unsigned sects;

	if (n < HDR_END_MAX)
		return vx_err_set(err, -ENOEXEC,
				  "kernel: %zu bytes, too short for a bzImage", n);
	if (ld16(k + HDR_BOOT_FLAG) != 0xaa55 ||
	    memcmp(k + HDR_MAGIC, "HdrS", 4) != 0)
		return vx_err_set(err, -ENOEXEC,
				  "kernel: not a bzImage (no boot flag or \"HdrS\" header)");
	*version = ld16(k + HDR_VERSION);
	if (*version < MIN_VERSION)
		return vx_err_set(err, -EPROTO,
				  "kernel: boot protocol %u.%02u is older than 2.06",
				  *version >> 8, *version & 0xff);
	if (!(k[HDR_LOADFLAGS] & LOADED_HIGH))
		return vx_err_set(err, -ENOEXEC,
				  "kernel: a zImage (not loaded high); only bzImage is supported");
	if (*version < 0x020c || !(ld16(k + HDR_XLOADFLAGS) & XLF_KERNEL_64))
		return vx_err_set(err, -ENOEXEC,
				  "kernel: no 64-bit entry point (XLF_KERNEL_64 clear)");
	sects = k[HDR_SETUP_SECTS] ? k[HDR_SETUP_SECTS] : 4;
	*setup_size = ((size_t)sects + 1) * 512;
	if (*setup_size >= n)
		return vx_err_set(err, -ENOEXEC,
				  "kernel: setup (%zu bytes) reaches past the end of the file (%zu)",
				  *setup_size, n);
	*hdr_end = 0x202 + (size_t)k[0x201];
	if (*hdr_end > HDR_END_MAX)
		*hdr_end = HDR_END_MAX;
	return 0;
}

/* A bzImage: header checked, protected-mode part placed. */
static int vmm_bzimage_layout(const struct vmm_boot_linux_args *a,
			      struct vmm_kernel_layout *l, struct vx_err *err)
{
	const uint8_t *k = a->kernel;
	size_t setup_size = 0, hdr_end = 0;
	int rc;

	rc = vmm_boot_check(a, &l->version, &setup_size, &hdr_end, err);
	if (rc)
		return rc;
	memcpy(l->hdr + HDR_SETUP_SECTS, k + HDR_SETUP_SECTS,
	       hdr_end - HDR_SETUP_SECTS);
	l->hdr_end = hdr_end;
	l->image = k + setup_size;
	l->image_size = a->kernel_size - setup_size;
	rc = vmm_boot_place(k, l->version, l->image_size, a->ram_size,
			    &l->load, &l->end, err);
	l->entry = l->load + ENTRY64_OFFSET;
	return rc;
}

/* Initrd: as high as the kernel allows, page aligned, above the kernel. */
static int vmm_boot_place_initrd(const struct vmm_boot_linux_args *a,
				 const struct vmm_kernel_layout *l,
				 uint64_t *addr, struct vx_err *err)
{
	uint64_t top = (uint64_t)ld32(l->hdr + HDR_INITRD_ADDR_MAX) + 1;
	uint64_t kend = vmm_align_up(l->end, 4096);

	*addr = 0;
	if (!a->initrd_size)
		return 0;
	if (top > a->ram_size)
		top = a->ram_size;
	if (top > VMM_BOOT_MAPPED)
		top = VMM_BOOT_MAPPED;
	if (a->initrd_size > top || ((top - a->initrd_size) & ~0xfffull) < kend)
		return vx_err_set(err, -ENOSPC,
				  "boot: initrd (%zu bytes) does not fit between the kernel end 0x%llx and 0x%llx",
				  a->initrd_size, (unsigned long long)kend,
				  (unsigned long long)top);
	*addr = (top - a->initrd_size) & ~0xfffull;
	return 0;
}

/* The zero page: the kernel's setup header, then the fields we own. */
static unsigned vmm_boot_write_params(const struct vmm_boot_linux_args *a,
				      const struct vmm_kernel_layout *l,
				      uint64_t initrd_addr)
{
	uint8_t *bp = a->ram + VMM_BOOT_ZERO_PAGE;
	struct vmm_e820_entry map[VMM_E820_BOOT_ENTRIES];
	unsigned e820 = vmm_boot_e820(a->ram_size, map);

	memset(bp, 0, BP_SIZE);
	memcpy(bp + HDR_SETUP_SECTS, l->hdr + HDR_SETUP_SECTS,
	       l->hdr_end - HDR_SETUP_SECTS);
	/* The fields boot.rst marks "write" are ours, whatever the file had:
	 * no real-mode heap (we do not run the setup code), no setup_data
	 * list, the default PC subarchitecture. */
	bp[HDR_TYPE_OF_LOADER] = 0xff;	/* undefined loader */
	bp[HDR_LOADFLAGS] &= (uint8_t)~(QUIET_FLAG | KEEP_SEGMENTS | CAN_USE_HEAP);
	st16(bp + HDR_HEAP_END_PTR, 0);
	bp[HDR_EXT_LOADER_VER] = 0;
	bp[HDR_EXT_LOADER_TYPE] = 0;
	st32(bp + HDR_HARDWARE_SUBARCH, 0);
	st64(bp + HDR_HARDWARE_SUBARCH_DATA, 0);
	st64(bp + HDR_SETUP_DATA, 0);
	st32(bp + HDR_CODE32_START, (uint32_t)l->load);
	st32(bp + HDR_CMD_LINE_PTR, (uint32_t)VMM_BOOT_CMDLINE);
	st32(bp + BP_EXT_CMD_LINE_PTR, 0);
	st32(bp + HDR_RAMDISK_IMAGE, (uint32_t)initrd_addr);
	st32(bp + HDR_RAMDISK_SIZE, (uint32_t)a->initrd_size);
	st32(bp + BP_EXT_RAMDISK_IMAGE, 0);
	st32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)((uint64_t)a->initrd_size >> 32));

	for (unsigned i = 0; i < e820; i++) {
		uint8_t *e = bp + BP_E820_TABLE + i * 20;

		st64(e, map[i].addr);
		st64(e + 8, map[i].size);
		st32(e + 16, map[i].type);
	}
	bp[BP_E820_ENTRIES] = (uint8_t)e820;
	return e820;
}

static void vmm_boot_set_regs(uint8_t *ram, struct vmm_boot_regs *r,
			      uint64_t entry)
{
	vmm_boot_write_gdt(ram, r);
	vmm_boot_write_page_tables(ram, r);
	r->rip = entry;
	r->rsp = VMM_BOOT_STACK_TOP;
	r->rsi = VMM_BOOT_ZERO_PAGE;
	r->rflags = 0x2;
	r->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
	r->cr4 = X86_CR4_PAE;
	r->efer = X86_EFER_LME | X86_EFER_LMA;
}

int vmm_boot_linux_load(const struct vmm_boot_linux_args *a,
			struct vmm_boot_linux_info *info, struct vx_err *err)
{
	struct vmm_kernel_layout l;
	const char *cmdline;
	size_t cmdlen;
	uint64_t cmdline_max, initrd_addr = 0;
	int rc;

	if (!a || !info || !a->ram || !a->kernel)
		return vx_err_set(err, -EINVAL, "boot: missing argument");
	if (a->ram_size < 2 * VMM_BOOT_HIMEM)
		return vx_err_set(err, -ENOSPC,
				  "boot: %llu bytes of RAM; at least 2 MiB needed",
				  (unsigned long long)a->ram_size);
	if (a->initrd_size && !a->initrd)
		return vx_err_set(err, -EINVAL, "boot: initrd size without data");
	memset(&l, 0, sizeof(l));
	if (vmm_boot_is_elf(a->kernel, a->kernel_size))
		rc = vmm_elf_layout(a, &l, err);
	else
		rc = vmm_bzimage_layout(a, &l, err);
	if (rc)
		return rc;

	/* Command line: the kernel's limit (cmdline_size, 2.06+) excludes
	 * the NUL; ours is the space reserved at VMM_BOOT_CMDLINE. */
	cmdline = a->cmdline ? a->cmdline : "";
	cmdlen = strlen(cmdline);
	cmdline_max = ld32(l.hdr + HDR_CMDLINE_SIZE);
	if (cmdline_max > VMM_BOOT_CMDLINE_MAX - 1)
		cmdline_max = VMM_BOOT_CMDLINE_MAX - 1;
	if (cmdlen > cmdline_max)
		return vx_err_set(err, -E2BIG,
				  "boot: command line is %zu bytes, the kernel takes at most %llu",
				  cmdlen, (unsigned long long)cmdline_max);
	rc = vmm_boot_place_initrd(a, &l, &initrd_addr, err);
	if (rc)
		return rc;

	/* Everything checked: now write guest RAM. */
	memset(info, 0, sizeof(*info));
	if (l.segments)
		vmm_elf_copy(a, &l);
	else
		memcpy(a->ram + l.load, l.image, l.image_size);
	if (a->initrd_size)
		memcpy(a->ram + initrd_addr, a->initrd, a->initrd_size);
	memcpy(a->ram + VMM_BOOT_CMDLINE, cmdline, cmdlen + 1);
	info->e820_entries = vmm_boot_write_params(a, &l, initrd_addr);
	vmm_boot_set_regs(a->ram, &info->regs, l.entry);

	info->version = l.version;
	info->kernel_addr = l.load;
	info->kernel_size = l.image_size;
	info->kernel_end = l.end;
	info->initrd_addr = initrd_addr;
	info->initrd_size = a->initrd_size;
	info->boot_params = VMM_BOOT_ZERO_PAGE;
	return 0;
}

int vmm_boot_map_file(const char *path, const char *what,
		      const uint8_t **data, size_t *size, struct vx_err *err)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return vx_err_errno(err, -errno, "%s %s", what, path);
	if (fstat(fd, &st) < 0) {
		rc = vx_err_errno(err, -errno, "%s %s", what, path);
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return vx_err_set(err, -EINVAL, "%s %s: not a regular file",
				  what, path);
	}
	*size = (size_t)st.st_size;
	*data = NULL;
	if (*size) {
		p = mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			rc = vx_err_errno(err, -errno, "%s %s", what, path);
			close(fd);
			return rc;
		}
		*data = p;
	}
	close(fd);
	return 0;
}

void vmm_boot_unmap_file(const uint8_t *data, size_t size)
{
	if (data)
		munmap((void *)data, size);
}

int vmm_boot_linux_load_files(uint8_t *ram, uint64_t ram_size,
			      const char *kernel_path, const char *initrd_path,
			      const char *cmdline,
			      struct vmm_boot_linux_info *info,
			      struct vx_err *err)
{
	struct vmm_boot_linux_args a = {
		.ram = ram, .ram_size = ram_size, .cmdline = cmdline,
	};
	int rc;

	if (!kernel_path)
		return vx_err_set(err, -EINVAL, "boot: no kernel");
	rc = vmm_boot_map_file(kernel_path, "kernel", &a.kernel, &a.kernel_size,
			  err);
	if (rc)
		return rc;
	if (!a.kernel) {
		rc = vx_err_set(err, -ENOEXEC, "kernel %s: empty file",
				kernel_path);
		goto out;
	}
	if (initrd_path) {
		rc = vmm_boot_map_file(initrd_path, "initrd", &a.initrd,
				  &a.initrd_size, err);
		if (rc)
			goto out;
	}
	rc = vmm_boot_linux_load(&a, info, err);
	if (rc && err && kernel_path && strncmp(err->msg, "kernel:", 7) == 0) {
		char msg[sizeof(err->msg)];

		/* Name the file in the message. */
		memcpy(msg, err->msg + 7, sizeof(msg) - 7);
		vx_err_set(err, rc, "kernel %s:%s", kernel_path, msg);
	}
	vmm_boot_unmap_file(a.initrd, a.initrd_size);
out:
	vmm_boot_unmap_file(a.kernel, a.kernel_size);
	return rc;
}
