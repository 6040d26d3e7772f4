/* Linux boot from an uncompressed vmlinux (vmm/boot_elf.c). */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/boot_linux.h"

#define RAM_SIZE	(64u << 20)
#define TEXT_PADDR	0x1000000u
#define DATA_PADDR	0x1200000u
#define TEXT_BYTES	0x3000u
#define DATA_FILE	0x1000u
#define DATA_MEM	0x5000u	/* BSS beyond the file bytes */
#define FILE_SIZE	(0x1000u + TEXT_BYTES + DATA_FILE)

static uint8_t *ram;
static uint8_t elf[FILE_SIZE];

static Elf64_Phdr *phdr(unsigned i)
{
	return (Elf64_Phdr *)(elf + sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr));
}

/* Text at 16 MiB, data + BSS at 18 MiB, a PT_NOTE that is not loaded. */
static void make_vmlinux(void)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)elf;

	memset(elf, 0, sizeof(elf));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_entry = TEXT_PADDR;
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 3;
	*phdr(0) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000,
		.p_vaddr = 0xffffffff81000000ull, .p_paddr = TEXT_PADDR,
		.p_filesz = TEXT_BYTES, .p_memsz = TEXT_BYTES };
	*phdr(1) = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = 0x1000, .p_filesz = 16 };
	*phdr(2) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000 + TEXT_BYTES,
		.p_vaddr = 0xffffffff81200000ull, .p_paddr = DATA_PADDR,
		.p_filesz = DATA_FILE, .p_memsz = DATA_MEM };
	memset(elf + 0x1000, 0xc3, TEXT_BYTES);
	memset(elf + 0x1000 + TEXT_BYTES, 0xda, DATA_FILE);
}

static int load(const char *cmdline, struct vmm_boot_linux_info *info, struct vx_err *err)
{
	static const uint8_t initrd[8192] = { 0x42 };
	struct vmm_boot_linux_args a = {
		.ram = ram, .ram_size = RAM_SIZE, .kernel = elf, .kernel_size = sizeof(elf),
		.initrd = initrd, .initrd_size = sizeof(initrd), .cmdline = cmdline,
	};

	return vmm_boot_linux_load(&a, info, err);
}

static int setup(void **state)
{
	(void)state;
	ram = calloc(1, RAM_SIZE);
	memset(ram, 0x77, RAM_SIZE);	/* BSS must come out zero */
	make_vmlinux();
	return ram ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(ram);
	return 0;
}

static void boot_elf_segments_placed_bss_zeroed(void **state)
{
	struct vmm_boot_linux_info info;
	struct vx_err err = { 0 };
	const uint8_t *bp = ram + VMM_BOOT_ZERO_PAGE;

	(void)state;
	assert_int_equal(load("console=ttyS0", &info, &err), 0);
	assert_int_equal(info.regs.rip, TEXT_PADDR);	/* startup_64 */
	assert_int_equal(info.regs.rsi, VMM_BOOT_ZERO_PAGE);
	assert_int_equal(info.kernel_addr, TEXT_PADDR);
	assert_int_equal(info.kernel_end, DATA_PADDR + DATA_MEM);
	assert_int_equal(ram[TEXT_PADDR], 0xc3);
	assert_int_equal(ram[TEXT_PADDR + TEXT_BYTES - 1], 0xc3);
	assert_int_equal(ram[TEXT_PADDR + TEXT_BYTES], 0x77);	/* untouched gap */
	assert_int_equal(ram[DATA_PADDR + DATA_FILE - 1], 0xda);
	assert_int_equal(ram[DATA_PADDR + DATA_FILE], 0);
	assert_int_equal(ram[DATA_PADDR + DATA_MEM - 1], 0);
	/* A setup header made up for it: "HdrS", 2.15, our loader. */
	assert_memory_equal(bp + 0x202, "HdrS", 4);
	assert_int_equal(bp[0x206] | bp[0x207] << 8, 0x020f);
	assert_int_equal(bp[0x210], 0xff);
	assert_string_equal((const char *)ram + VMM_BOOT_CMDLINE, "console=ttyS0");
	/* The initrd sits above the kernel, below 2 GiB and the RAM end. */
	assert_true(info.initrd_addr >= DATA_PADDR + DATA_MEM);
	assert_true(info.initrd_addr + info.initrd_size <= RAM_SIZE);
	assert_int_equal(ram[info.initrd_addr], 0x42);
}

static void expect_refused(int want, const char *what)
{
	struct vmm_boot_linux_info info;
	struct vx_err err = { 0 };

	assert_int_equal(load("", &info, &err), want);
	assert_non_null(strstr(err.msg, what));
	make_vmlinux();
}

static void boot_elf_hostile_files_refused(void **state)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)elf;

	(void)state;
	eh->e_machine = EM_386;
	expect_refused(-ENOEXEC, "not an x86-64 executable");
	eh->e_phoff = sizeof(elf) - 8;
	expect_refused(-ENOEXEC, "program headers");
	eh->e_phnum = 0xffff;
	expect_refused(-ENOEXEC, "program headers");
	phdr(0)->p_filesz = sizeof(elf);
	expect_refused(-ENOEXEC, "not inside the file");
	phdr(2)->p_offset = UINT64_MAX - 4;
	expect_refused(-ENOEXEC, "not inside the file");
	phdr(2)->p_filesz = DATA_MEM + 1;
	expect_refused(-ENOEXEC, "not inside the file");
	phdr(0)->p_paddr = 0x7000;	/* over boot_params */
	expect_refused(-ENOSPC, "not inside RAM");
	phdr(2)->p_memsz = UINT64_MAX - DATA_PADDR + 2;	/* wraps */
	expect_refused(-ENOSPC, "not inside RAM");
	phdr(2)->p_paddr = RAM_SIZE - 0x1000;
	expect_refused(-ENOSPC, "not inside RAM");
	eh->e_entry = 0x5000000;
	expect_refused(-ENOEXEC, "in no load segment");
	phdr(0)->p_type = PT_NOTE;
	phdr(2)->p_type = PT_NOTE;
	expect_refused(-ENOEXEC, "nothing to load");
}

static void boot_elf_truncated_header(void **state)
{
	struct vmm_boot_linux_info info;
	struct vx_err err = { 0 };
	struct vmm_boot_linux_args a = {
		.ram = ram, .ram_size = RAM_SIZE, .kernel = elf, .kernel_size = 20,
	};

	(void)state;
	assert_int_equal(vmm_boot_linux_load(&a, &info, &err), -ENOEXEC);
	assert_non_null(strstr(err.msg, "truncated"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(boot_elf_segments_placed_bss_zeroed),
		cmocka_unit_test(boot_elf_hostile_files_refused),
		cmocka_unit_test(boot_elf_truncated_header),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
