/* Multiboot (0.6.96) loading: vmm/boot_multiboot.c. */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/boot_multiboot.h"

#define RAM_SIZE	(32u << 20)
#define FILE_MAX	0x6000u
#define PATTERN		0x77
#define MAGIC		VMM_MB_HEADER_MAGIC

static uint8_t *ram;
static uint8_t file[FILE_MAX];
static size_t file_size;
static const uint8_t module[5000] = { 'M', 'O', 'D' };

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A header at off: magic, flags, checksum (bad when asked), then the
 * address fields. */
static void put_header(size_t off, uint32_t flags, int bad_checksum)
{
	wr32(file + off, MAGIC);
	wr32(file + off + 4, flags);
	wr32(file + off + 8, (uint32_t)-(MAGIC + flags) + (bad_checksum ? 1 : 0));
}

static void put_addresses(size_t off, uint32_t header_addr, uint32_t load_addr,
			  uint32_t load_end, uint32_t bss_end, uint32_t entry)
{
	wr32(file + off + 12, header_addr);
	wr32(file + off + 16, load_addr);
	wr32(file + off + 20, load_end);
	wr32(file + off + 24, bss_end);
	wr32(file + off + 28, entry);
}

/*
 * The a.out-kludge kernel: 0x3000 bytes of file, header at 0x40, loaded
 * at 2 MiB as a whole (load_end_addr 0), 0x2000 bytes of BSS, entry at
 * 0x200100.
 */
#define AOUT_LOAD	0x200000u
#define AOUT_SIZE	0x3000u
#define AOUT_HDR	0x40u
static void make_aout(void)
{
	memset(file, 0, sizeof(file));
	for (unsigned i = 0; i < AOUT_SIZE; i++)
		file[i] = (uint8_t)(i * 7 + 1);
	put_header(AOUT_HDR, VMM_MB_HF_PAGE_ALIGN | VMM_MB_HF_MEMORY_INFO |
		   VMM_MB_HF_ADDRESSES, 0);
	put_addresses(AOUT_HDR, AOUT_LOAD + AOUT_HDR, AOUT_LOAD, 0,
		      AOUT_LOAD + AOUT_SIZE + 0x2000, AOUT_LOAD + 0x100);
	file_size = AOUT_SIZE;
}

/*
 * The ELF32 kernel: a higher-half text segment (vaddr 0xc0100000, paddr
 * 1 MiB) holding the header, a data segment with BSS at 0x140000, a
 * PT_NOTE that is not loaded; entry is the virtual 0xc0100010.
 */
#define ELF_TEXT	0x100000u
#define ELF_DATA	0x140000u
#define ELF_VBASE	0xc0000000u
static Elf32_Phdr *phdr32(unsigned i)
{
	return (Elf32_Phdr *)(file + sizeof(Elf32_Ehdr) + i * sizeof(Elf32_Phdr));
}

static void make_elf32(void)
{
	Elf32_Ehdr *eh = (Elf32_Ehdr *)file;

	memset(file, 0, sizeof(file));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_386;
	eh->e_entry = ELF_VBASE + ELF_TEXT + 0x10;
	eh->e_phoff = sizeof(Elf32_Ehdr);
	eh->e_phentsize = sizeof(Elf32_Phdr);
	eh->e_phnum = 3;
	*phdr32(0) = (Elf32_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000,
		.p_vaddr = ELF_VBASE + ELF_TEXT, .p_paddr = ELF_TEXT,
		.p_filesz = 0x2000, .p_memsz = 0x2000 };
	*phdr32(1) = (Elf32_Phdr){ .p_type = PT_NOTE, .p_offset = 0x1000, .p_filesz = 16 };
	*phdr32(2) = (Elf32_Phdr){ .p_type = PT_LOAD, .p_offset = 0x3000,
		.p_vaddr = ELF_VBASE + ELF_DATA, .p_paddr = ELF_DATA,
		.p_filesz = 0x1000, .p_memsz = 0x4000 };
	memset(file + 0x1000, 0xc3, 0x2000);
	memset(file + 0x3000, 0xda, 0x1000);
	put_header(0x1000, VMM_MB_HF_MEMORY_INFO, 0);
	file_size = 0x4000;
}

static Elf64_Phdr *phdr64(unsigned i)
{
	return (Elf64_Phdr *)(file + sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr));
}

static void make_elf64(void)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)file;

	memset(file, 0, sizeof(file));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_entry = 0x300020;
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 1;
	*phdr64(0) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000,
		.p_vaddr = 0x300000, .p_paddr = 0x300000,
		.p_filesz = 0x1000, .p_memsz = 0x1800 };
	memset(file + 0x1000, 0x90, 0x1000);
	put_header(0x1000, 0, 0);
	file_size = 0x2000;
}

static int load_with(const uint8_t *mod, size_t mod_size, const char *modstr,
		     const char *cmdline, struct vmm_boot_multiboot_info *info,
		     struct vx_err *err)
{
	struct vmm_boot_multiboot_args a = {
		.ram = ram, .ram_size = RAM_SIZE, .kernel = file, .kernel_size = file_size,
		.module = mod, .module_size = mod_size, .module_string = modstr,
		.cmdline = cmdline,
	};

	return vmm_boot_multiboot_load(&a, info, err);
}

static int load(struct vmm_boot_multiboot_info *info, struct vx_err *err)
{
	return load_with(module, sizeof(module), "/lab/initrd.gz", "console=ttyS0 x=1",
			 info, err);
}

static int setup(void **state)
{
	(void)state;
	ram = malloc(RAM_SIZE);
	return ram ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(ram);
	return 0;
}

static int fill(void **state)
{
	(void)state;
	memset(ram, PATTERN, RAM_SIZE);	/* BSS must come out zero */
	return 0;
}

/* A refusal with code and message, and guest RAM not touched at all. */
static void expect_refused_with(int code, const char *words, const uint8_t *mod,
				size_t mod_size, const char *modstr,
				const char *cmdline)
{
	struct vmm_boot_multiboot_info info;
	struct vx_err err = { 0 };
	int rc;

	memset(ram, PATTERN, RAM_SIZE);
	rc = load_with(mod, mod_size, modstr, cmdline, &info, &err);
	if (rc != code || !strstr(err.msg, words))
		fail_msg("want %d '%s', got %d '%s'", code, words, rc, err.msg);
	assert_int_equal(err.code, code);
	for (size_t i = 0; i < RAM_SIZE; i += 512)
		if (ram[i] != PATTERN)
			fail_msg("guest RAM written at 0x%zx by a refused load", i);
}

static void expect_refused(int code, const char *words)
{
	expect_refused_with(code, words, module, sizeof(module), "m", "c");
}

static void mb_header_search_rules(void **state)
{
	struct vmm_mb_header h;
	struct vx_err err = { 0 };

	(void)state;
	memset(file, 0, sizeof(file));
	assert_int_equal(vmm_multiboot_find_header(file, sizeof(file), &h, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no multiboot header"));

	/* The last aligned spot inside the first 8192 bytes is found ... */
	put_header(8192 - 12, 0, 0);
	assert_int_equal(vmm_multiboot_find_header(file, sizeof(file), &h, &err), 0);
	assert_int_equal(h.offset, 8192 - 12);
	assert_true(vmm_multiboot_probe(file, sizeof(file)));
	/* ... one that ends past them is not; neither is an unaligned one. */
	memset(file, 0, sizeof(file));
	put_header(8192 - 8, 0, 0);
	put_header(0x102, 0, 0);
	assert_int_equal(vmm_multiboot_find_header(file, sizeof(file), &h, &err), -ENOENT);
	assert_false(vmm_multiboot_probe(file, sizeof(file)));

	/* A bad checksum is named, unless a good header follows. */
	memset(file, 0, sizeof(file));
	put_header(0x100, 0, 1);
	assert_int_equal(vmm_multiboot_find_header(file, sizeof(file), &h, &err), -ENOEXEC);
	assert_non_null(strstr(err.msg, "bad checksum"));
	assert_false(vmm_multiboot_probe(file, sizeof(file)));
	put_header(0x200, 3, 0);
	assert_int_equal(vmm_multiboot_find_header(file, sizeof(file), &h, &err), 0);
	assert_int_equal(h.offset, 0x200);
	assert_int_equal(h.flags, 3);

	/* A bzImage is Linux's, whatever else it carries. */
	file[0x1fe] = 0x55;
	file[0x1ff] = 0xaa;
	memcpy(file + 0x202, "HdrS", 4);
	assert_false(vmm_multiboot_probe(file, sizeof(file)));

	/* A file shorter than the header is no header. */
	memset(file, 0, sizeof(file));
	put_header(0, 0, 0);
	assert_int_equal(vmm_multiboot_find_header(file, 11, &h, &err), -ENOENT);
	assert_int_equal(vmm_multiboot_find_header(file, 12, &h, &err), 0);
}

static void mb_header_flags_refused(void **state)
{
	(void)state;
	make_elf32();
	file_size = 0x100;	/* no checksum to find if there is no header */
	memset(file + 0x1000, 0, 12);
	expect_refused(-ENOEXEC, "no multiboot header");
	make_elf32();
	put_header(0x1000, VMM_MB_HF_MEMORY_INFO, 1);
	expect_refused(-ENOEXEC, "bad checksum");
	put_header(0x1000, VMM_MB_HF_VIDEO_MODE, 0);
	expect_refused(-EOPNOTSUPP, "video mode (flag bit 2)");
	for (unsigned bit = 3; bit < 16; bit++) {
		put_header(0x1000, 1u << bit, 0);
		expect_refused(-EOPNOTSUPP, "unknown features");
	}
	/* Bits 17-31 are options: ignored. */
	put_header(0x1000, VMM_MB_HF_PAGE_ALIGN | 0xfffe0000u, 0);
	{
		struct vmm_boot_multiboot_info info;
		struct vx_err err = { 0 };

		assert_int_equal(load(&info, &err), 0);
	}
	/* Address fields cut off by the end of the file. */
	make_aout();
	memcpy(file + 0x100 - 20, file + AOUT_HDR, 12);
	memset(file + AOUT_HDR, 0, 12);
	file_size = 0x100;
	expect_refused(-ENOEXEC, "past the end of the file");
}

static void mb_aout_hostile_fields_refused(void **state)
{
	const uint32_t L = AOUT_LOAD, H = AOUT_LOAD + AOUT_HDR, E = AOUT_LOAD + 0x100;

	(void)state;
	make_aout();
	put_addresses(AOUT_HDR, H, H + 4, 0, 0, E);
	expect_refused(-ENOEXEC, "does not fit header_addr");
	put_addresses(AOUT_HDR, H, L - 0x1000, 0, 0, E);	/* before the file */
	expect_refused(-ENOEXEC, "does not fit header_addr");
	put_addresses(AOUT_HDR, H, L, L + AOUT_SIZE + 1, 0, E);
	expect_refused(-ENOEXEC, "not inside the file");
	put_addresses(AOUT_HDR, H, L, L, 0, E);
	expect_refused(-ENOEXEC, "not inside the file");
	put_addresses(AOUT_HDR, H, L, L + 0x1000, L + 0xfff, E);
	expect_refused(-ENOEXEC, "bss_end_addr");
	put_addresses(AOUT_HDR, H, L, L + 0x1000, 0, L + 0x1000);
	expect_refused(-ENOEXEC, "entry_addr");
	put_addresses(AOUT_HDR, H, L, 0, 0, L - 1);
	expect_refused(-ENOEXEC, "entry_addr");
	/* Placement: RAM, the information area, the reserved hole. */
	put_addresses(AOUT_HDR, RAM_SIZE - 0x1000 + AOUT_HDR, RAM_SIZE - 0x1000, 0, 0,
		      RAM_SIZE - 0x1000 + 0x100);
	expect_refused(-ENOSPC, "not inside RAM");
	put_addresses(AOUT_HDR, 0xfffff000u + AOUT_HDR, 0xfffff000u, 0xfffff800u,
		      0xffffffffu, 0xfffff100u);
	expect_refused(-ENOSPC, "not inside RAM");
	put_addresses(AOUT_HDR, 0x8000 + AOUT_HDR, 0x8000, 0, 0, 0x8100);
	expect_refused(-EADDRINUSE, "multiboot information");
	put_addresses(AOUT_HDR, 0x9f000 + AOUT_HDR, 0x9f000, 0, 0, 0x9f100);
	expect_refused(-EADDRINUSE, "reserved range");
	put_addresses(AOUT_HDR, 0xc0000 + AOUT_HDR, 0xc0000, 0, 0, 0xc0100);
	expect_refused(-EADDRINUSE, "reserved range");
	/* Below the hole, above the information area: fine. */
	put_addresses(AOUT_HDR, 0x20000 + AOUT_HDR, 0x20000, 0, 0x9f000, 0x20100);
	{
		struct vmm_boot_multiboot_info info;
		struct vx_err err = { 0 };

		assert_int_equal(load(&info, &err), 0);
		assert_int_equal(info.module_addr, VMM_BOOT_HIMEM);	/* never below 1 MiB */
	}
}

static void mb_elf_hostile_files_refused(void **state)
{
	Elf32_Ehdr *eh = (Elf32_Ehdr *)file;

	(void)state;
	make_elf32();
	file[0] = 0;
	expect_refused(-ENOEXEC, "not an ELF file");
	make_elf32();
	eh->e_machine = EM_ARM;
	expect_refused(-ENOEXEC, "not an i386");
	make_elf32();
	eh->e_type = ET_DYN;
	expect_refused(-ENOEXEC, "not an i386");
	make_elf32();
	eh->e_ident[EI_DATA] = ELFDATA2MSB;
	expect_refused(-ENOEXEC, "little-endian");
	make_elf32();
	eh->e_phoff = 0x3ff0;
	expect_refused(-ENOEXEC, "program headers");
	make_elf32();
	eh->e_phentsize = 40;
	expect_refused(-ENOEXEC, "program headers");
	make_elf32();
	eh->e_phnum = 0;
	expect_refused(-ENOEXEC, "program headers");
	make_elf32();
	eh->e_phnum = 0xffff;
	expect_refused(-ENOEXEC, "program headers");
	make_elf32();
	phdr32(2)->p_offset = 0xffffff00u;
	expect_refused(-ENOEXEC, "not inside the file");
	make_elf32();
	phdr32(2)->p_filesz = 0x1001;
	expect_refused(-ENOEXEC, "not inside the file");
	make_elf32();
	phdr32(2)->p_filesz = 0x1000;
	phdr32(2)->p_memsz = 0x800;
	expect_refused(-ENOEXEC, "not inside the file");
	make_elf32();
	phdr32(2)->p_paddr = RAM_SIZE - 0x1000;
	expect_refused(-ENOSPC, "not inside RAM");
	make_elf32();
	phdr32(2)->p_paddr = 0xfffff000u;
	expect_refused(-ENOSPC, "not inside RAM");
	make_elf32();
	phdr32(0)->p_paddr = 0x1000;	/* on the information structure */
	expect_refused(-EADDRINUSE, "multiboot information");
	make_elf32();
	phdr32(0)->p_paddr = 0xff000;	/* ELF headers mapped below 1 MiB */
	expect_refused(-EADDRINUSE, "reserved range");
	make_elf32();
	eh->e_entry = ELF_TEXT;		/* physical, not in any segment's vaddr */
	expect_refused(-ENOEXEC, "in no load segment");
	make_elf32();
	phdr32(0)->p_type = PT_NOTE;
	phdr32(2)->p_type = PT_NOTE;
	expect_refused(-ENOEXEC, "nothing to load");
	make_elf32();
	eh->e_phnum = 17;
	for (unsigned i = 0; i < 17; i++)
		*phdr32(i) = (Elf32_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000,
			.p_vaddr = ELF_VBASE + ELF_TEXT, .p_paddr = ELF_TEXT,
			.p_filesz = 0x10, .p_memsz = 0x10 };
	expect_refused(-ENOEXEC, "more than 16");
	make_elf32();
	file_size = sizeof(Elf32_Ehdr) - 1;
	put_header(0, 0, 0);
	expect_refused(-ENOEXEC, "not an ELF file");

	/* ELF64: the machine must match the class; entry below 4 GiB. */
	make_elf64();
	((Elf64_Ehdr *)file)->e_machine = EM_386;
	expect_refused(-ENOEXEC, "not an x86-64");
	make_elf64();
	file_size = sizeof(Elf64_Ehdr) - 1;
	put_header(0x20, 0, 0);
	expect_refused(-ENOEXEC, "ELF64 header is truncated");
	make_elf64();
	((Elf64_Ehdr *)file)->e_entry = 0x1000300020ull;
	expect_refused(-ENOEXEC, "in no load segment below 4 GiB");
	make_elf64();
	phdr64(0)->p_paddr = 0x100000000ull;
	expect_refused(-ENOSPC, "not inside RAM");
}

static void mb_args_refused(void **state)
{
	static char big[VMM_MB_CMDLINE_MAX + 1];

	(void)state;
	make_elf32();
	memset(big, 'c', sizeof(big) - 1);
	expect_refused_with(-E2BIG, "command line", module, 10, "m", big);
	big[VMM_MB_MOD_STRING_MAX] = 0;
	expect_refused_with(-E2BIG, "module string", module, 10, big, "c");
	memset(big, 'c', sizeof(big) - 1);
	big[VMM_MB_CMDLINE_MAX - 1] = 0;	/* 65535 bytes and the NUL: fits */
	{
		struct vmm_boot_multiboot_info info;
		struct vx_err err = { 0 };

		assert_int_equal(load_with(NULL, 0, NULL, big, &info, &err), 0);
		assert_int_equal(strlen((char *)ram + VMM_MB_CMDLINE), VMM_MB_CMDLINE_MAX - 1);
	}
	expect_refused_with(-ENOSPC, "module", ram, RAM_SIZE - 0x144000 + 1, "m", "c");
	expect_refused_with(-EINVAL, "module size without data", NULL, 10, "m", "c");
	{
		struct vmm_boot_multiboot_args a = {
			.ram = ram, .ram_size = VMM_BOOT_HIMEM, .kernel = file,
			.kernel_size = file_size,
		};
		struct vmm_boot_multiboot_info info;
		struct vx_err err = { 0 };

		assert_int_equal(vmm_boot_multiboot_load(&a, &info, &err), -ENOSPC);
		assert_non_null(strstr(err.msg, "at least 2 MiB"));
		a.ram = NULL;
		assert_int_equal(vmm_boot_multiboot_load(&a, &info, &err), -EINVAL);
	}
}

static void mb_aout_kludge_loaded(void **state)
{
	struct vmm_boot_multiboot_info info;
	struct vx_err err = { 0 };

	(void)state;
	make_aout();
	assert_int_equal(load(&info, &err), 0);
	assert_true(info.by_address_fields);
	assert_int_equal(info.header.offset, AOUT_HDR);
	assert_int_equal(info.segments, 1);
	assert_int_equal(info.kernel_addr, AOUT_LOAD);
	assert_int_equal(info.kernel_end, AOUT_LOAD + AOUT_SIZE + 0x2000);
	assert_int_equal(info.entry, AOUT_LOAD + 0x100);
	assert_int_equal(info.regs.rip, AOUT_LOAD + 0x100);
	assert_memory_equal(ram + AOUT_LOAD, file, AOUT_SIZE);
	for (unsigned i = 0; i < 0x2000; i++)
		assert_int_equal(ram[AOUT_LOAD + AOUT_SIZE + i], 0);
	assert_int_equal(info.module_addr, AOUT_LOAD + AOUT_SIZE + 0x2000);
	assert_int_equal(ram[AOUT_LOAD - 1], PATTERN);

	/* A header placed later in the file, loading only part of it. */
	make_aout();
	memset(file + AOUT_HDR, 0, 32);
	put_header(0x1000, VMM_MB_HF_ADDRESSES, 0);
	put_addresses(0x1000, 0x401000, 0x400800, 0x402000, 0, 0x401800);
	fill(state);
	assert_int_equal(load(&info, &err), 0);
	assert_memory_equal(ram + 0x400800, file + 0x800, 0x1800);
	assert_int_equal(ram[0x4007ff], PATTERN);
	assert_int_equal(info.regs.rip, 0x401800);
	assert_int_equal(info.module_addr, 0x402000);	/* the page after the image */
}

static void mb_elf32_loaded_by_program_headers(void **state)
{
	struct vmm_boot_multiboot_info info;
	struct vx_err err = { 0 };

	(void)state;
	make_elf32();
	assert_int_equal(load(&info, &err), 0);
	assert_false(info.by_address_fields);
	assert_int_equal(info.segments, 2);
	assert_int_equal(info.kernel_addr, ELF_TEXT);
	assert_int_equal(info.kernel_end, ELF_DATA + 0x4000);
	assert_int_equal(info.entry, ELF_TEXT + 0x10);	/* virtual entry translated */
	assert_memory_equal(ram + ELF_TEXT, file + 0x1000, 0x2000);
	assert_memory_equal(ram + ELF_DATA, file + 0x3000, 0x1000);
	for (unsigned i = 0x1000; i < 0x4000; i++)
		assert_int_equal(ram[ELF_DATA + i], 0);
	assert_int_equal(ram[ELF_TEXT + 0x2000], PATTERN);	/* between segments */
	assert_int_equal(ram[ELF_TEXT - 1], PATTERN);
	assert_int_equal(info.module_addr, ELF_DATA + 0x4000);	/* right after */
}

static void mb_elf64_with_low_entry_loaded(void **state)
{
	struct vmm_boot_multiboot_info info;
	struct vx_err err = { 0 };

	(void)state;
	make_elf64();
	assert_int_equal(load(&info, &err), 0);
	assert_int_equal(info.entry, 0x300020);
	assert_memory_equal(ram + 0x300000, file + 0x1000, 0x1000);
	assert_int_equal(ram[0x3017ff], 0);
	assert_int_equal(info.module_addr, 0x302000);
}

static void mb_info_structure_contents(void **state)
{
	struct vmm_e820_entry map[VMM_E820_BOOT_ENTRIES];
	struct vmm_boot_multiboot_info info;
	struct vx_err err = { 0 };
	const uint8_t *mi = ram + VMM_MB_INFO, *mod;
	unsigned n;

	(void)state;
	make_elf32();
	assert_int_equal(load(&info, &err), 0);
	assert_int_equal(info.info_addr, VMM_MB_INFO);
	assert_int_equal(rd32(mi + VMM_MB_INFO_FLAGS),
			 VMM_MB_IF_MEMORY | VMM_MB_IF_CMDLINE | VMM_MB_IF_MODS |
			 VMM_MB_IF_MMAP | VMM_MB_IF_LOADER_NAME);
	assert_false(rd32(mi) & VMM_MB_IF_BOOT_DEVICE);	/* no boot device */
	assert_int_equal(rd32(mi + VMM_MB_INFO_MEM_LOWER), 640);
	assert_int_equal(rd32(mi + VMM_MB_INFO_MEM_UPPER), (RAM_SIZE >> 10) - 1024);
	assert_int_equal(rd32(mi + VMM_MB_INFO_BOOT_DEVICE), 0);
	assert_string_equal((char *)ram + rd32(mi + VMM_MB_INFO_CMDLINE), "console=ttyS0 x=1");
	assert_string_equal((char *)ram + rd32(mi + VMM_MB_INFO_LOADER_NAME), "vmxcore");
	for (unsigned off = 28; off < 44; off++)	/* no symbol table */
		assert_int_equal(mi[off], 0);
	for (unsigned off = 52; off < VMM_MB_INFO_SIZE; off++)
		if (off < 64 || off >= 68)
			assert_int_equal(mi[off], 0);

	/* Module 0: page aligned above the kernel, its bytes and string. */
	assert_int_equal(rd32(mi + VMM_MB_INFO_MODS_COUNT), 1);
	mod = ram + rd32(mi + VMM_MB_INFO_MODS_ADDR);
	assert_int_equal(rd32(mod) % 4096, 0);
	assert_true(rd32(mod) >= info.kernel_end);
	assert_int_equal(rd32(mod), 0x144000);
	assert_int_equal(rd32(mod + 4) - rd32(mod), sizeof(module));
	assert_memory_equal(ram + rd32(mod), module, sizeof(module));
	assert_string_equal((char *)ram + rd32(mod + 8), "/lab/initrd.gz");
	assert_int_equal(rd32(mod + 12), 0);
	assert_int_equal(info.module_addr, rd32(mod));

	/* The memory map is the e820 map the Linux loader writes. */
	n = vmm_boot_e820(RAM_SIZE, map);
	assert_int_equal(info.mmap_entries, n);
	assert_int_equal(rd32(mi + VMM_MB_INFO_MMAP_LENGTH), n * 24);
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *e = ram + rd32(mi + VMM_MB_INFO_MMAP_ADDR) + i * 24;

		assert_int_equal(rd32(e), 20);
		assert_int_equal(rd64(e + 4), map[i].addr);
		assert_int_equal(rd64(e + 12), map[i].size);
		assert_int_equal(rd32(e + 20), map[i].type);
	}
	assert_int_equal(map[2].addr + map[2].size, RAM_SIZE);

	/* Without an initrd: no module, the list still valid; cmdline "". */
	fill(state);
	assert_int_equal(load_with(NULL, 0, NULL, NULL, &info, &err), 0);
	assert_int_equal(rd32(mi + VMM_MB_INFO_MODS_COUNT), 0);
	assert_true(rd32(mi) & VMM_MB_IF_MODS);
	assert_int_equal(info.module_size, 0);
	assert_string_equal((char *)ram + rd32(mi + VMM_MB_INFO_CMDLINE), "");
	assert_int_equal(ram[0x144000], PATTERN);
}

/* A GDT descriptor's base and limit (granularity applied) and flags. */
static void check_descriptor(uint16_t sel, uint16_t flags)
{
	uint64_t d = rd64(ram + VMM_MB_GDT + sel);
	uint32_t base = (uint32_t)(((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000u));
	uint32_t limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));

	assert_int_equal(base, 0);
	assert_int_equal((d >> 40) & 0xf0ff, flags);
	if (flags & 0x8000)
		assert_int_equal(limit, 0xfffff);	/* 4 GiB */
}

static void check_flat(const struct vmm_seg *s, uint16_t sel, uint32_t ar)
{
	assert_int_equal(s->selector, sel);
	assert_int_equal(s->base, 0);
	assert_int_equal(s->limit, 0xffffffffu);
	assert_int_equal(s->ar, ar);
}

static void mb_entry_register_state(void **state)
{
	struct vmm_boot_multiboot_info info;
	struct vx_err err = { 0 };
	const struct vmm_boot_regs *r = &info.regs;

	(void)state;
	make_elf32();
	assert_int_equal(load(&info, &err), 0);
	assert_int_equal(r->rax, 0x2badb002);
	assert_int_equal(r->rbx, VMM_MB_INFO);
	assert_int_equal(r->rip, ELF_TEXT + 0x10);
	assert_int_equal(r->rflags, 0x2);			/* IF, VM clear */
	assert_int_equal(r->cr0 & 0x80000001u, 1);		/* PE, no PG */
	assert_int_equal(r->cr4, 0);
	assert_int_equal(r->efer, 0);				/* not long mode */
	assert_int_equal(r->cr3, 0);
	/* Flat 32-bit code (execute/read, D=1, G=1), flat read/write data. */
	check_flat(&r->cs, VMM_MB_SEL_CS, 0xc09b);
	check_flat(&r->ds, VMM_MB_SEL_DS, 0xc093);
	check_flat(&r->es, VMM_MB_SEL_DS, 0xc093);
	check_flat(&r->fs, VMM_MB_SEL_DS, 0xc093);
	check_flat(&r->gs, VMM_MB_SEL_DS, 0xc093);
	check_flat(&r->ss, VMM_MB_SEL_DS, 0xc093);
	/* The GDT in RAM says the same, so reloading a selector keeps it. */
	assert_int_equal(r->gdt.base, VMM_MB_GDT);
	assert_int_equal(r->gdt.limit, 31);
	assert_int_equal(rd64(ram + VMM_MB_GDT), 0);
	check_descriptor(VMM_MB_SEL_CS, 0xc09b);
	check_descriptor(VMM_MB_SEL_DS, 0xc093);
	check_descriptor(VMM_MB_SEL_TSS, 0x008b);
	assert_int_equal(r->tr.selector, VMM_MB_SEL_TSS);
	assert_int_equal(r->tr.ar, 0x8b);			/* busy 32-bit TSS */
	assert_int_equal(r->ldtr.ar, 1u << 16);			/* unusable */
	assert_int_equal(r->idt.base, 0);
	assert_int_equal(r->idt.limit, 0);
}

static void mb_load_files_names_the_file(void **state)
{
	char kpath[] = "/tmp/test_mb_kernelXXXXXX", mpath[] = "/tmp/test_mb_moduleXXXXXX";
	struct vmm_boot_multiboot_info info;
	struct vx_err err = { 0 };
	int kfd = mkstemp(kpath), mfd = mkstemp(mpath);

	(void)state;
	assert_true(kfd >= 0 && mfd >= 0);
	make_elf32();
	assert_int_equal(write(kfd, file, file_size), (ssize_t)file_size);
	/* An empty initrd is still module 0, of 0 bytes. */
	assert_int_equal(vmm_boot_multiboot_load_files(ram, RAM_SIZE, kpath, mpath, "hi",
						       &info, &err), 0);
	assert_int_equal(rd32(ram + VMM_MB_INFO + VMM_MB_INFO_MODS_COUNT), 1);
	assert_int_equal(info.module_size, 0);
	assert_string_equal((char *)ram + VMM_MB_MOD_STRING, mpath);
	assert_string_equal((char *)ram + VMM_MB_CMDLINE, "hi");
	/* A broken kernel: the message names the file. */
	assert_int_equal(pwrite(kfd, "\0\0\0\0", 4, 0x1000), 4);
	assert_int_equal(vmm_boot_multiboot_load_files(ram, RAM_SIZE, kpath, NULL, NULL,
						       &info, &err), -ENOEXEC);
	assert_non_null(strstr(err.msg, kpath));
	assert_non_null(strstr(err.msg, "no multiboot header"));
	assert_int_equal(vmm_boot_multiboot_load_files(ram, RAM_SIZE, "/nonexistent/k", NULL,
						       NULL, &info, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/k"));
	close(kfd);
	close(mfd);
	unlink(kpath);
	unlink(mpath);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(mb_header_search_rules, fill),
		cmocka_unit_test_setup(mb_header_flags_refused, fill),
		cmocka_unit_test_setup(mb_aout_hostile_fields_refused, fill),
		cmocka_unit_test_setup(mb_elf_hostile_files_refused, fill),
		cmocka_unit_test_setup(mb_args_refused, fill),
		cmocka_unit_test_setup(mb_aout_kludge_loaded, fill),
		cmocka_unit_test_setup(mb_elf32_loaded_by_program_headers, fill),
		cmocka_unit_test_setup(mb_elf64_with_low_entry_loaded, fill),
		cmocka_unit_test_setup(mb_info_structure_contents, fill),
		cmocka_unit_test_setup(mb_entry_register_state, fill),
		cmocka_unit_test_setup(mb_load_files_names_the_file, fill),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
