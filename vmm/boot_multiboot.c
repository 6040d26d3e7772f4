/*
 * vmm_boot_multiboot: the Multiboot Specification 0.6.96 (see
 * boot_multiboot.h). Section numbers below are the specification's.
 *
 * Every field of the file is checked before it is used as an address or a
 * length; guest RAM is written only once the whole layout is known to fit.
 */
#include "vmm/boot_multiboot.h"
#include "vmm/boot_params.h"

#include <elf.h>
#include <errno.h>
#include <string.h>

#define MB_MAX_SEGMENTS		16
#define MB_HEADER_MIN		12	/* magic, flags, checksum */
#define MB_HEADER_ADDRS		32	/* ... and the five address fields */
#define MB_MMAP_ENTRY		24	/* u32 size (20), u64 base, u64 length, u32 type */
#define MB_MOD_ENTRY		16	/* mod_start, mod_end, string, reserved */
#define MB_4G			0x100000000ull
#define MB_PAGE			4096ull

#define X86_CR0_PE		0x00000001ull
#define X86_CR0_ET		0x00000010ull

/* Flat 32-bit code (G=1, D=1, P, S, execute/read, accessed). */
#define FLAGS_CODE32	0xc09b
/* Flat data (G=1, D/B=1, P, S, read/write, accessed). */
#define FLAGS_DATA	0xc093
/* 32-bit TSS, busy (VM entry wants a busy TSS in TR). */
#define FLAGS_TSS	0x008b

/* One piece of the image: file bytes [offset, +filesz) to paddr, zeros
 * up to memsz. */
struct mb_segment {
	uint64_t offset, paddr, vaddr, filesz, memsz;
};

struct mb_layout {
	struct mb_segment seg[MB_MAX_SEGMENTS];
	unsigned nseg;
	uint64_t entry;
	uint64_t low, end;		/* [low, end) covers every segment */
};

int vmm_multiboot_find_header(const uint8_t *k, size_t n,
			      struct vmm_mb_header *h, struct vx_err *err)
{
	size_t limit = n < VMM_MB_SEARCH ? n : VMM_MB_SEARCH;
	long bad = -1;

	memset(h, 0, sizeof(*h));
	for (size_t off = 0; off + MB_HEADER_MIN <= limit; off += 4) {
		uint32_t flags;

		if (ld32(k + off) != VMM_MB_HEADER_MAGIC)
			continue;
		flags = ld32(k + off + 4);
		if ((uint32_t)(VMM_MB_HEADER_MAGIC + flags + ld32(k + off + 8)) != 0) {
			if (bad < 0)
				bad = (long)off;
			continue;	/* the magic may be data; look on */
		}
		h->offset = (uint32_t)off;
		h->flags = flags;
		if (!(flags & VMM_MB_HF_ADDRESSES))
			return 0;
		if (off + MB_HEADER_ADDRS > n)
			return vx_err_set(err, -ENOEXEC,
					  "kernel: multiboot header at 0x%zx has address fields (flag bit 16) past the end of the file",
					  off);
		h->header_addr = ld32(k + off + 12);
		h->load_addr = ld32(k + off + 16);
		h->load_end_addr = ld32(k + off + 20);
		h->bss_end_addr = ld32(k + off + 24);
		h->entry_addr = ld32(k + off + 28);
		return 0;
	}
	if (bad >= 0)
		return vx_err_set(err, -ENOEXEC,
				  "kernel: multiboot header at 0x%lx has a bad checksum (magic + flags + checksum is not 0)",
				  bad);
	return vx_err_set(err, -ENOENT,
			  "kernel: no multiboot header (magic 0x%08x on a 4-byte boundary) in the first %d bytes",
			  VMM_MB_HEADER_MAGIC, VMM_MB_SEARCH);
}

static int mb_is_bzimage(const uint8_t *k, size_t n)
{
	return n >= HDR_MAGIC + 4 && ld16(k + HDR_BOOT_FLAG) == 0xaa55 &&
	       memcmp(k + HDR_MAGIC, "HdrS", 4) == 0;
}

int vmm_multiboot_probe(const uint8_t *k, size_t n)
{
	struct vmm_mb_header h;

	return k && !mb_is_bzimage(k, n) &&
	       vmm_multiboot_find_header(k, n, &h, NULL) == 0;
}

/* Section 3.1.2: an unknown (or unsatisfiable) bit of 0-15 is a refusal. */
static int mb_check_flags(uint32_t flags, struct vx_err *err)
{
	uint32_t required = flags & 0xffffu;

	if (required & VMM_MB_HF_VIDEO_MODE)
		return vx_err_set(err, -EOPNOTSUPP,
				  "kernel: multiboot header requires a video mode (flag bit 2); this machine has no display");
	if (required & ~VMM_MB_HF_REQUIRED_OK)
		return vx_err_set(err, -EOPNOTSUPP,
				  "kernel: multiboot header requires unknown features (flags 0x%08x, bits 0x%04x of 0-15)",
				  flags, required & ~VMM_MB_HF_REQUIRED_OK);
	return 0;
}

/*
 * Where a piece of the image may go: inside RAM below 4 GiB, not on the
 * information area (it is written after the kernel) and not on the
 * reserved range (the ACPI tables go there).
 */
static int mb_check_place(uint64_t addr, uint64_t len, uint64_t ram_size,
			  const char *what, struct vx_err *err)
{
	uint64_t limit = ram_size < MB_4G ? ram_size : MB_4G;

	if (addr >= limit || len > limit - addr)
		return vx_err_set(err, -ENOSPC,
				  "kernel: %s [0x%llx, +0x%llx) is not inside RAM (0x%llx bytes)",
				  what, (unsigned long long)addr, (unsigned long long)len,
				  (unsigned long long)limit);
	if (addr < VMM_MB_AREA_END)
		return vx_err_set(err, -EADDRINUSE,
				  "kernel: %s [0x%llx, +0x%llx) overlaps the multiboot information below 0x%llx",
				  what, (unsigned long long)addr, (unsigned long long)len,
				  (unsigned long long)VMM_MB_AREA_END);
	if (addr < VMM_BOOT_HIMEM && addr + len > VMM_BOOT_LOWMEM_END)
		return vx_err_set(err, -EADDRINUSE,
				  "kernel: %s [0x%llx, +0x%llx) overlaps the reserved range 0xa0000-0xfffff",
				  what, (unsigned long long)addr, (unsigned long long)len);
	return 0;
}

static void mb_add(struct mb_layout *l, const struct mb_segment *s)
{
	l->seg[l->nseg++] = *s;
	if (s->paddr < l->low)
		l->low = s->paddr;
	if (s->paddr + s->memsz > l->end)
		l->end = s->paddr + s->memsz;
}

/* Section 3.1.3, flag bit 16: the image by the header's address fields. */
static int mb_layout_addresses(const struct vmm_boot_multiboot_args *a,
			       const struct vmm_mb_header *h,
			       struct mb_layout *l, struct vx_err *err)
{
	uint64_t load_end, bss_end, file_off;
	struct mb_segment s;
	int rc;

	if (h->load_addr > h->header_addr || h->header_addr - h->load_addr > h->offset)
		return vx_err_set(err, -ENOEXEC,
				  "kernel: multiboot load_addr 0x%x does not fit header_addr 0x%x at file offset 0x%x",
				  h->load_addr, h->header_addr, h->offset);
	file_off = h->offset - (h->header_addr - h->load_addr);
	load_end = h->load_end_addr ? h->load_end_addr
				    : h->load_addr + (a->kernel_size - file_off);
	if (load_end <= h->load_addr || load_end - h->load_addr > a->kernel_size - file_off)
		return vx_err_set(err, -ENOEXEC,
				  "kernel: multiboot load_end_addr 0x%x: [0x%x, 0x%llx) is not inside the file",
				  h->load_end_addr, h->load_addr, (unsigned long long)load_end);
	bss_end = h->bss_end_addr ? h->bss_end_addr : load_end;
	if (bss_end < load_end)
		return vx_err_set(err, -ENOEXEC,
				  "kernel: multiboot bss_end_addr 0x%x is below load_end_addr 0x%llx",
				  h->bss_end_addr, (unsigned long long)load_end);
	if (h->entry_addr < h->load_addr || h->entry_addr >= load_end)
		return vx_err_set(err, -ENOEXEC,
				  "kernel: multiboot entry_addr 0x%x is not in the loaded image [0x%x, 0x%llx)",
				  h->entry_addr, h->load_addr, (unsigned long long)load_end);
	s = (struct mb_segment){ .offset = file_off, .paddr = h->load_addr,
				 .vaddr = h->load_addr, .filesz = load_end - h->load_addr,
				 .memsz = bss_end - h->load_addr };
	rc = mb_check_place(s.paddr, s.memsz, a->ram_size, "image", err);
	if (rc)
		return rc;
	mb_add(l, &s);
	l->entry = h->entry_addr;
	return 0;
}

/* The ELF header's facts for either class. */
struct mb_elf {
	uint64_t entry, phoff;
	unsigned phnum, phentsize, want_phentsize;
	int is64;
};

static int mb_elf_header(const struct vmm_boot_multiboot_args *a,
			 struct mb_elf *e, struct vx_err *err)
{
	const uint8_t *k = a->kernel;
	size_t n = a->kernel_size;

	if (n < sizeof(Elf32_Ehdr) || memcmp(k, ELFMAG, SELFMAG) != 0)
		return vx_err_set(err, -ENOEXEC,
				  "kernel: not an ELF file, and its multiboot header has no address fields (flag bit 16)");
	e->is64 = k[EI_CLASS] == ELFCLASS64;
	if (e->is64) {
		Elf64_Ehdr eh;

		if (n < sizeof(eh))
			return vx_err_set(err, -ENOEXEC, "kernel: ELF64 header is truncated");
		memcpy(&eh, k, sizeof(eh));
		if (eh.e_machine != EM_X86_64 || eh.e_type != ET_EXEC)
			return vx_err_set(err, -ENOEXEC, "kernel: ELF64 file is not an x86-64 executable");
		*e = (struct mb_elf){ eh.e_entry, eh.e_phoff, eh.e_phnum, eh.e_phentsize,
				      sizeof(Elf64_Phdr), 1 };
	} else {
		Elf32_Ehdr eh;

		memcpy(&eh, k, sizeof(eh));
		if (k[EI_CLASS] != ELFCLASS32 || eh.e_machine != EM_386 || eh.e_type != ET_EXEC)
			return vx_err_set(err, -ENOEXEC, "kernel: ELF file is not an i386 (or x86-64) executable");
		*e = (struct mb_elf){ eh.e_entry, eh.e_phoff, eh.e_phnum, eh.e_phentsize,
				      sizeof(Elf32_Phdr), 0 };
	}
	if (k[EI_DATA] != ELFDATA2LSB)
		return vx_err_set(err, -ENOEXEC, "kernel: ELF file is not little-endian");
	if (e->phentsize != e->want_phentsize || e->phnum == 0 || e->phoff > n ||
	    (n - e->phoff) / e->phentsize < e->phnum)
		return vx_err_set(err, -ENOEXEC,
				  "kernel: ELF program headers (%u of %u bytes at 0x%llx) are not inside the file",
				  e->phnum, e->phentsize, (unsigned long long)e->phoff);
	return 0;
}

/* Program header i as a segment; returns its p_type. */
static uint32_t mb_elf_phdr(const struct vmm_boot_multiboot_args *a,
			    const struct mb_elf *e, unsigned i, struct mb_segment *s)
{
	const uint8_t *p = a->kernel + e->phoff + (size_t)i * e->phentsize;

	if (e->is64) {
		Elf64_Phdr ph;

		memcpy(&ph, p, sizeof(ph));
		*s = (struct mb_segment){ ph.p_offset, ph.p_paddr, ph.p_vaddr,
					  ph.p_filesz, ph.p_memsz };
		return ph.p_type;
	}
	Elf32_Phdr ph;

	memcpy(&ph, p, sizeof(ph));
	*s = (struct mb_segment){ ph.p_offset, ph.p_paddr, ph.p_vaddr,
				  ph.p_filesz, ph.p_memsz };
	return ph.p_type;
}

/* e_entry is a virtual address: the physical one through its segment. */
static int mb_elf_entry(const struct mb_elf *e, struct mb_layout *l, struct vx_err *err)
{
	for (unsigned i = 0; i < l->nseg; i++) {
		const struct mb_segment *s = &l->seg[i];

		if (e->entry >= s->vaddr && e->entry - s->vaddr < s->memsz) {
			l->entry = s->paddr + (e->entry - s->vaddr);
			if (l->entry >= MB_4G)
				break;
			return 0;
		}
	}
	return vx_err_set(err, -ENOEXEC,
			  "kernel: ELF entry 0x%llx is in no load segment below 4 GiB",
			  (unsigned long long)e->entry);
}

/* Section 3.1.3 without bit 16: the ELF file's program headers. */
static int mb_layout_elf(const struct vmm_boot_multiboot_args *a,
			 struct mb_layout *l, struct vx_err *err)
{
	struct mb_elf e = { 0 };
	struct mb_segment s;
	int rc = mb_elf_header(a, &e, err);

	if (rc)
		return rc;
	for (unsigned i = 0; i < e.phnum; i++) {
		if (mb_elf_phdr(a, &e, i, &s) != PT_LOAD || s.memsz == 0)
			continue;
		if (l->nseg == MB_MAX_SEGMENTS)
			return vx_err_set(err, -ENOEXEC, "kernel: more than %d ELF load segments",
					  MB_MAX_SEGMENTS);
		if (s.offset > a->kernel_size || s.filesz > a->kernel_size - s.offset ||
		    s.filesz > s.memsz)
			return vx_err_set(err, -ENOEXEC,
					  "kernel: ELF segment at file offset 0x%llx (0x%llx bytes) is not inside the file",
					  (unsigned long long)s.offset, (unsigned long long)s.filesz);
		rc = mb_check_place(s.paddr, s.memsz, a->ram_size, "ELF segment", err);
		if (rc)
			return rc;
		mb_add(l, &s);
	}
	if (!l->nseg)
		return vx_err_set(err, -ENOEXEC, "kernel: ELF file has nothing to load");
	return mb_elf_entry(&e, l, err);
}

/* Module 0 on the first page above the kernel, and above 1 MiB. */
static int mb_place_module(const struct vmm_boot_multiboot_args *a,
			   const struct mb_layout *l, uint64_t *addr,
			   struct vx_err *err)
{
	uint64_t limit = a->ram_size < MB_4G ? a->ram_size : MB_4G;
	uint64_t start = l->end > VMM_BOOT_HIMEM ? l->end : VMM_BOOT_HIMEM;

	*addr = 0;
	if (!a->module)
		return 0;
	start = (start + MB_PAGE - 1) & ~(MB_PAGE - 1);
	if (start > limit || a->module_size > limit - start)
		return vx_err_set(err, -ENOSPC,
				  "boot: module (%zu bytes) does not fit between the kernel end 0x%llx and the end of RAM 0x%llx",
				  a->module_size, (unsigned long long)start,
				  (unsigned long long)limit);
	*addr = start;
	return 0;
}

static void mb_copy_image(const struct vmm_boot_multiboot_args *a,
			  const struct mb_layout *l)
{
	for (unsigned i = 0; i < l->nseg; i++) {
		const struct mb_segment *s = &l->seg[i];

		memcpy(a->ram + s->paddr, a->kernel + s->offset, s->filesz);
		memset(a->ram + s->paddr + s->filesz, 0, s->memsz - s->filesz);
	}
}

/* Section 3.3: the information structure and what it points at. */
static unsigned mb_write_info(const struct vmm_boot_multiboot_args *a,
			      uint64_t module_addr, const char *cmdline,
			      const char *modstr)
{
	uint8_t *ram = a->ram, *mi = ram + VMM_MB_INFO;
	struct vmm_e820_entry map[VMM_E820_BOOT_ENTRIES];
	unsigned n = vmm_boot_e820(a->ram_size, map);
	uint32_t flags = VMM_MB_IF_MEMORY | VMM_MB_IF_CMDLINE | VMM_MB_IF_MODS |
			 VMM_MB_IF_MMAP | VMM_MB_IF_LOADER_NAME;
	uint64_t upper = a->ram_size < MB_4G ? a->ram_size : MB_4G;

	memset(ram + VMM_MB_INFO, 0, VMM_MB_AREA_END - VMM_MB_INFO);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = ram + VMM_MB_MMAP + i * MB_MMAP_ENTRY;

		st32(e, MB_MMAP_ENTRY - 4);	/* size excludes itself */
		st64(e + 4, map[i].addr);
		st64(e + 12, map[i].size);
		st32(e + 20, map[i].type);
	}
	strcpy((char *)ram + VMM_MB_CMDLINE, cmdline);
	strcpy((char *)ram + VMM_MB_LOADER_NAME, VMM_MB_LOADER);
	if (a->module) {
		uint8_t *m = ram + VMM_MB_MODS;

		strcpy((char *)ram + VMM_MB_MOD_STRING, modstr);
		st32(m, (uint32_t)module_addr);
		st32(m + 4, (uint32_t)(module_addr + a->module_size));
		st32(m + 8, (uint32_t)VMM_MB_MOD_STRING);
		memcpy(ram + module_addr, a->module, a->module_size);
	}
	st32(mi + VMM_MB_INFO_FLAGS, flags);
	/* Lower memory: from 0 to the VGA hole; upper: from 1 MiB to the
	 * first hole, which is the end of RAM (below 4 GiB: 32-bit field). */
	st32(mi + VMM_MB_INFO_MEM_LOWER, (uint32_t)(VMM_BOOT_LOWMEM_END >> 10));
	st32(mi + VMM_MB_INFO_MEM_UPPER, (uint32_t)((upper - VMM_BOOT_HIMEM) >> 10));
	st32(mi + VMM_MB_INFO_CMDLINE, (uint32_t)VMM_MB_CMDLINE);
	st32(mi + VMM_MB_INFO_MODS_COUNT, a->module ? 1 : 0);
	st32(mi + VMM_MB_INFO_MODS_ADDR, (uint32_t)VMM_MB_MODS);
	st32(mi + VMM_MB_INFO_MMAP_LENGTH, n * MB_MMAP_ENTRY);
	st32(mi + VMM_MB_INFO_MMAP_ADDR, (uint32_t)VMM_MB_MMAP);
	st32(mi + VMM_MB_INFO_LOADER_NAME, (uint32_t)VMM_MB_LOADER_NAME);
	return n;
}

/* Section 3.2, "Machine state". */
static void mb_set_regs(uint8_t *ram, struct vmm_boot_regs *r, uint64_t entry)
{
	uint8_t *gdt = ram + VMM_MB_GDT;

	memset(r, 0, sizeof(*r));
	memset(gdt, 0, 4 * 8);
	st64(gdt + VMM_MB_SEL_CS, vmm_gdt_entry(FLAGS_CODE32, 0, 0xfffff));
	st64(gdt + VMM_MB_SEL_DS, vmm_gdt_entry(FLAGS_DATA, 0, 0xfffff));
	/* Nothing reads the TSS before the kernel loads its own. */
	st64(gdt + VMM_MB_SEL_TSS, vmm_gdt_entry(FLAGS_TSS, 0, 0x67));
	r->gdt = (struct vmm_dtable){ VMM_MB_GDT, 4 * 8 - 1 };
	r->idt = (struct vmm_dtable){ 0, 0 };	/* the kernel must load its own */
	r->cs = vmm_seg_make(VMM_MB_SEL_CS, FLAGS_CODE32, 0xfffff);
	r->ds = vmm_seg_make(VMM_MB_SEL_DS, FLAGS_DATA, 0xfffff);
	r->es = r->fs = r->gs = r->ss = r->ds;
	r->tr = vmm_seg_make(VMM_MB_SEL_TSS, FLAGS_TSS, 0x67);
	r->ldtr = (struct vmm_seg){ .ar = 1u << 16 };	/* unusable */
	r->rip = entry;
	r->rax = VMM_MB_BOOT_MAGIC;
	r->rbx = VMM_MB_INFO;
	r->rflags = 0x2;		/* IF and VM clear */
	r->cr0 = X86_CR0_PE | X86_CR0_ET;	/* paging off */
}

static int mb_check_args(const struct vmm_boot_multiboot_args *a,
			 const char *cmdline, const char *modstr,
			 struct vx_err *err)
{
	if (a->ram_size < 2 * VMM_BOOT_HIMEM)
		return vx_err_set(err, -ENOSPC,
				  "boot: %llu bytes of RAM; at least 2 MiB needed",
				  (unsigned long long)a->ram_size);
	if (a->module_size && !a->module)
		return vx_err_set(err, -EINVAL, "boot: module size without data");
	if (strlen(cmdline) >= VMM_MB_CMDLINE_MAX)
		return vx_err_set(err, -E2BIG,
				  "boot: command line is %zu bytes, multiboot takes at most %llu",
				  strlen(cmdline), (unsigned long long)VMM_MB_CMDLINE_MAX - 1);
	if (strlen(modstr) >= VMM_MB_MOD_STRING_MAX)
		return vx_err_set(err, -E2BIG,
				  "boot: module string is %zu bytes, at most %llu",
				  strlen(modstr), (unsigned long long)VMM_MB_MOD_STRING_MAX - 1);
	return 0;
}

int vmm_boot_multiboot_load(const struct vmm_boot_multiboot_args *a,
			    struct vmm_boot_multiboot_info *info,
			    struct vx_err *err)
{
	struct mb_layout l = { .low = UINT64_MAX };
	struct vmm_mb_header h;
	const char *cmdline, *modstr;
	uint64_t module_addr;
	int rc;

	if (!a || !info || !a->ram || !a->kernel)
		return vx_err_set(err, -EINVAL, "boot: missing argument");
	cmdline = a->cmdline ? a->cmdline : "";
	modstr = a->module_string ? a->module_string : "";
	rc = mb_check_args(a, cmdline, modstr, err);
	if (rc)
		return rc;
	rc = vmm_multiboot_find_header(a->kernel, a->kernel_size, &h, err);
	if (rc == -ENOENT)
		rc = -ENOEXEC;	/* the message says why */
	if (!rc)
		rc = mb_check_flags(h.flags, err);
	if (!rc)
		rc = (h.flags & VMM_MB_HF_ADDRESSES) ? mb_layout_addresses(a, &h, &l, err)
						     : mb_layout_elf(a, &l, err);
	if (!rc)
		rc = mb_place_module(a, &l, &module_addr, err);
	if (rc) {
		if (err)
			err->code = rc;
		return rc;
	}

	/* Everything checked: now write guest RAM. */
	memset(info, 0, sizeof(*info));
	mb_copy_image(a, &l);
	info->mmap_entries = mb_write_info(a, module_addr, cmdline, modstr);
	mb_set_regs(a->ram, &info->regs, l.entry);
	info->header = h;
	info->by_address_fields = !!(h.flags & VMM_MB_HF_ADDRESSES);
	info->kernel_addr = l.low;
	info->kernel_end = l.end;
	info->entry = l.entry;
	info->segments = l.nseg;
	info->module_addr = module_addr;
	info->module_size = a->module ? a->module_size : 0;
	info->info_addr = VMM_MB_INFO;
	return 0;
}

int vmm_boot_multiboot_load_files(uint8_t *ram, uint64_t ram_size,
				  const char *kernel_path,
				  const char *initrd_path, const char *cmdline,
				  struct vmm_boot_multiboot_info *info,
				  struct vx_err *err)
{
	struct vmm_boot_multiboot_args a = {
		.ram = ram, .ram_size = ram_size, .cmdline = cmdline,
		.module_string = initrd_path,
	};
	static const uint8_t empty[1];
	int rc;

	if (!kernel_path)
		return vx_err_set(err, -EINVAL, "boot: no kernel");
	rc = vmm_boot_map_file(kernel_path, "kernel", &a.kernel, &a.kernel_size, err);
	if (rc)
		return rc;
	if (!a.kernel) {
		rc = vx_err_set(err, -ENOEXEC, "kernel %s: empty file", kernel_path);
		goto out;
	}
	if (initrd_path) {
		rc = vmm_boot_map_file(initrd_path, "initrd", &a.module, &a.module_size, err);
		if (rc)
			goto out;
		if (!a.module)
			a.module = empty;	/* an empty module is still module 0 */
	}
	rc = vmm_boot_multiboot_load(&a, info, err);
	if (rc && err && strncmp(err->msg, "kernel:", 7) == 0) {
		char msg[sizeof(err->msg)];

		/* Name the file in the message. */
		memcpy(msg, err->msg + 7, sizeof(msg) - 7);
		vx_err_set(err, rc, "kernel %s:%s", kernel_path, msg);
	}
	if (a.module != empty)
		vmm_boot_unmap_file(a.module, a.module_size);
out:
	vmm_boot_unmap_file(a.kernel, a.kernel_size);
	return rc;
}
