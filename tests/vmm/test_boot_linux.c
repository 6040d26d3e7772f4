/* Unit tests for vmm/boot_linux.c: synthetic bzImage headers (valid and
 * hostile) and, when the Debian kernel package is at hand, the real one. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/boot_linux.h"

#define MiB (1024ull * 1024)
#define SETUP_SECTS 4
#define SETUP_SIZE ((SETUP_SECTS + 1) * 512)
#define PAYLOAD 8192

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

/* A minimal 64-bit bzImage as a 6.x kernel's header describes itself. */
static uint8_t kimg[SETUP_SIZE + PAYLOAD];

static void make_bzimage(void)
{
	size_t i;

	memset(kimg, 0, sizeof(kimg));
	kimg[0x1f1] = SETUP_SECTS;
	put16(kimg + 0x1fe, 0xaa55);
	kimg[0x200] = 0xeb;		/* jmp */
	kimg[0x201] = 0x6a;		/* header ends at 0x26c */
	memcpy(kimg + 0x202, "HdrS", 4);
	put16(kimg + 0x206, 0x020f);
	kimg[0x211] = 0x01;		/* LOADED_HIGH */
	put32(kimg + 0x214, 0x100000);
	put32(kimg + 0x22c, 0x7fffffff);	/* initrd_addr_max */
	put32(kimg + 0x230, 0x200000);	/* kernel_alignment */
	kimg[0x234] = 0;		/* not relocatable */
	put16(kimg + 0x236, 0x7f);	/* XLF_KERNEL_64 and friends */
	put32(kimg + 0x238, 2047);	/* cmdline_size */
	put64(kimg + 0x258, 0x100000);	/* pref_address: 1 MiB, as i386 */
	put32(kimg + 0x260, 3 * MiB);	/* init_size */
	for (i = 0; i < PAYLOAD; i++)
		kimg[SETUP_SIZE + i] = (uint8_t)(i * 7 + 3);
}

struct fx {
	uint8_t *ram;
	uint64_t ram_size;
	struct vmm_boot_linux_args a;
	struct vmm_boot_linux_info info;
	struct vx_err err;
};

static uint8_t *ram_map(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

static struct fx *fx_new(uint64_t ram_size)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	make_bzimage();
	f.ram_size = ram_size;
	f.ram = ram_map(ram_size);
	f.a = (struct vmm_boot_linux_args){
		.ram = f.ram, .ram_size = ram_size,
		.kernel = kimg, .kernel_size = sizeof(kimg),
		.cmdline = "console=ttyS0 panic=-1",
	};
	return &f;
}

static void fx_free(struct fx *f)
{
	munmap(f->ram, f->ram_size);
}

static int load(struct fx *f)
{
	return vmm_boot_linux_load(&f->a, &f->info, &f->err);
}

static void boot_linux_valid_image_layout(void **state)
{
	struct fx *f = fx_new(64 * MiB);
	const uint8_t *bp = f->ram + VMM_BOOT_ZERO_PAGE, *e;
	const struct vmm_boot_regs *r = &f->info.regs;

	(void)state;
	assert_int_equal(load(f), 0);
	assert_int_equal(f->info.version, 0x020f);
	/* Not relocatable: at 1 MiB, 64-bit entry 0x200 in. */
	assert_int_equal(f->info.kernel_addr, 0x100000);
	assert_int_equal(f->info.kernel_size, PAYLOAD);
	assert_int_equal(f->info.kernel_end, 0x100000 + 3 * MiB);
	assert_memory_equal(f->ram + 0x100000, kimg + SETUP_SIZE, PAYLOAD);
	assert_int_equal(r->rip, 0x100200);
	assert_int_equal(r->rsi, VMM_BOOT_ZERO_PAGE);
	assert_int_equal(f->info.boot_params, VMM_BOOT_ZERO_PAGE);

	/* boot_params: header copied, loader fields ours. */
	assert_int_equal(get16(bp + 0x1fe), 0xaa55);
	assert_memory_equal(bp + 0x202, "HdrS", 4);
	assert_int_equal(get16(bp + 0x206), 0x020f);
	assert_int_equal(bp[0x210], 0xff);
	assert_true(bp[0x211] & 0x01);
	assert_int_equal(get32(bp + 0x214), 0x100000);
	assert_int_equal(get32(bp + 0x228), VMM_BOOT_CMDLINE);
	assert_string_equal((const char *)f->ram + VMM_BOOT_CMDLINE,
			    "console=ttyS0 panic=-1");
	assert_int_equal(get32(bp + 0x218), 0);
	assert_int_equal(get32(bp + 0x21c), 0);
	assert_int_equal(get32(bp + 0x238), 2047);

	/* e820: RAM below 640K, reserved to 1M, RAM to the end. */
	assert_int_equal(bp[0x1e8], 3);
	assert_int_equal(f->info.e820_entries, 3);
	e = bp + 0x2d0;
	assert_int_equal(get64(e), 0);
	assert_int_equal(get64(e + 8), 0xa0000);
	assert_int_equal(get32(e + 16), VMM_E820_RAM);
	assert_int_equal(get64(e + 20), 0xa0000);
	assert_int_equal(get64(e + 28), 0x60000);
	assert_int_equal(get32(e + 36), VMM_E820_RESERVED);
	assert_int_equal(get64(e + 40), 0x100000);
	assert_int_equal(get64(e + 48), 63 * MiB);
	assert_int_equal(get32(e + 56), VMM_E820_RAM);

	/* Long mode, paging, flat segments, interrupts off. */
	assert_int_equal(r->cr0 & 0x80000001ull, 0x80000001ull);
	assert_true(r->cr4 & 0x20);
	assert_int_equal(r->efer & 0x500, 0x500);
	assert_int_equal(r->rflags, 2);
	assert_int_equal(r->cr3, VMM_BOOT_PML4);
	assert_int_equal(r->cs.selector, 0x10);
	assert_int_equal(r->ds.selector, 0x18);
	assert_int_equal(r->ss.selector, 0x18);
	assert_int_equal(r->es.selector, 0x18);
	assert_int_equal(r->cs.ar, 0xa09b);	/* G, L, P, S, code r/x */
	assert_int_equal(r->ds.ar, 0xc093);	/* G, D/B, P, S, data r/w */
	assert_int_equal(r->cs.limit, 0xffffffffu);
	assert_int_equal(r->cs.base, 0);
	assert_int_equal(r->tr.ar & 0x8f, 0x8b);
	assert_true(r->ldtr.ar & (1u << 16));
	assert_int_equal(r->gdt.base, VMM_BOOT_GDT_ADDR);
	assert_true(r->gdt.limit >= 0x27);
	assert_true(r->rsp > VMM_BOOT_ZERO_PAGE + 0x1000 && r->rsp <= VMM_BOOT_PML4);

	/* The GDT in memory says the same. */
	assert_true(get64(f->ram + VMM_BOOT_GDT_ADDR + 0x10) == 0x00af9b000000ffffull);
	assert_true(get64(f->ram + VMM_BOOT_GDT_ADDR + 0x18) == 0x00cf93000000ffffull);
	assert_true(get64(f->ram + VMM_BOOT_GDT_ADDR) == 0);
	fx_free(f);
}

/* Walk the guest page tables the way the MMU would. */
static uint64_t walk(const uint8_t *ram, uint64_t cr3, uint64_t va)
{
	uint64_t e;

	e = get64(ram + cr3 + ((va >> 39) & 511) * 8);
	if (!(e & 1))
		return UINT64_MAX;
	e = get64(ram + (e & 0xffffffffff000ull) + ((va >> 30) & 511) * 8);
	if (!(e & 1))
		return UINT64_MAX;
	e = get64(ram + (e & 0xffffffffff000ull) + ((va >> 21) & 511) * 8);
	if (!(e & 1) || !(e & 0x80))
		return UINT64_MAX;
	return (e & 0xfffffffe00000ull) | (va & 0x1fffff);
}

static void boot_linux_identity_map_4g(void **state)
{
	struct fx *f = fx_new(8 * MiB);
	uint64_t va;

	(void)state;
	assert_int_equal(load(f), 0);
	for (va = 0; va < 0x100000000ull; va += 0x1ff000)
		assert_true(walk(f->ram, f->info.regs.cr3, va) == va);
	assert_true(walk(f->ram, f->info.regs.cr3, 0xffffffffull) == 0xffffffffull);
	assert_true(walk(f->ram, f->info.regs.cr3, 0x100000000ull) == UINT64_MAX);
	fx_free(f);
}

static void boot_linux_relocatable_uses_pref_address(void **state)
{
	struct fx *f = fx_new(64 * MiB);

	(void)state;
	kimg[0x234] = 1;
	put64(kimg + 0x258, 0x1000000);		/* 16 MiB, as x86_64 */
	assert_int_equal(load(f), 0);
	assert_int_equal(f->info.kernel_addr, 0x1000000);
	assert_int_equal(f->info.kernel_end, 0x1000000 + 3 * MiB);
	assert_int_equal(f->info.regs.rip, 0x1000200);
	assert_int_equal(get32(f->ram + VMM_BOOT_ZERO_PAGE + 0x214), 0x1000000);
	assert_memory_equal(f->ram + 0x1000000, kimg + SETUP_SIZE, PAYLOAD);

	/* Unaligned pref_address: runs from the next 2 MiB boundary. */
	put64(kimg + 0x258, 0x1100000);
	assert_int_equal(load(f), 0);
	assert_int_equal(f->info.kernel_addr, 0x1100000);
	assert_int_equal(f->info.kernel_end, 0x1200000 + 3 * MiB);

	/* Not relocatable: loaded at 1 MiB, runs at pref_address. */
	kimg[0x234] = 0;
	put64(kimg + 0x258, 0x1000000);
	assert_int_equal(load(f), 0);
	assert_int_equal(f->info.kernel_addr, 0x100000);
	assert_int_equal(f->info.kernel_end, 0x1000000 + 3 * MiB);
	fx_free(f);

	/* 16 MiB + init_size does not fit in 16 MiB of RAM, and loading
	 * lower would not help (boot.rst: runtime_start >= pref_address). */
	f = fx_new(16 * MiB);
	kimg[0x234] = 1;
	put64(kimg + 0x258, 0x1000000);
	assert_int_equal(load(f), -ENOSPC);
	assert_non_null(strstr(f->err.msg, "init_size"));
	kimg[0x234] = 0;
	assert_int_equal(load(f), -ENOSPC);
	fx_free(f);
}

static void boot_linux_rejects_bad_placement_fields(void **state)
{
	struct fx *f = fx_new(64 * MiB);

	(void)state;
	kimg[0x234] = 1;
	put32(kimg + 0x230, 0x300000);		/* not a power of two */
	assert_int_equal(load(f), -ENOEXEC);
	assert_non_null(strstr(f->err.msg, "kernel_alignment"));
	put32(kimg + 0x230, 0);
	assert_int_equal(load(f), -ENOEXEC);
	put32(kimg + 0x230, 0x80000000u);
	assert_int_equal(load(f), -ENOEXEC);
	make_bzimage();
	put64(kimg + 0x258, 0x8000);		/* runs on top of the GDT */
	assert_int_equal(load(f), -ENOEXEC);
	assert_non_null(strstr(f->err.msg, "below 1 MiB"));
	put64(kimg + 0x258, UINT64_MAX - 10);	/* far away */
	assert_int_equal(load(f), -ENOSPC);
	kimg[0x234] = 1;
	put32(kimg + 0x230, 0x200000);
	assert_int_equal(load(f), -ENOSPC);
	/* A relocatable kernel preferring low memory goes to 1 MiB. */
	put64(kimg + 0x258, 0x1000);
	assert_int_equal(load(f), 0);
	assert_int_equal(f->info.kernel_addr, 0x100000);
	assert_int_equal(f->info.kernel_end, 0x200000 + 3 * MiB);
	fx_free(f);
}

static void boot_linux_initrd_placed_high_aligned(void **state)
{
	struct fx *f = fx_new(64 * MiB);
	static uint8_t rd[10000];
	const uint8_t *bp = f->ram + VMM_BOOT_ZERO_PAGE;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rd); i++)
		rd[i] = (uint8_t)(i ^ 0x5a);
	f->a.initrd = rd;
	f->a.initrd_size = sizeof(rd);
	assert_int_equal(load(f), 0);
	assert_int_equal(f->info.initrd_addr, (64 * MiB - sizeof(rd)) & ~0xfffull);
	assert_int_equal(f->info.initrd_addr % 4096, 0);
	assert_true(f->info.initrd_addr + sizeof(rd) <= 64 * MiB);
	assert_int_equal(get32(bp + 0x218), f->info.initrd_addr);
	assert_int_equal(get32(bp + 0x21c), sizeof(rd));
	assert_memory_equal(f->ram + f->info.initrd_addr, rd, sizeof(rd));
	fx_free(f);

	/* initrd_addr_max below the end of RAM caps it. */
	f = fx_new(64 * MiB);
	put32(kimg + 0x22c, 32 * MiB - 1);
	f->a.initrd = rd;
	f->a.initrd_size = sizeof(rd);
	assert_int_equal(load(f), 0);
	assert_int_equal(f->info.initrd_addr, (32 * MiB - sizeof(rd)) & ~0xfffull);
	fx_free(f);
}

static void boot_linux_rejects_not_bzimage(void **state)
{
	struct fx *f = fx_new(16 * MiB);

	(void)state;
	kimg[0x202] = 'X';
	assert_int_equal(load(f), -ENOEXEC);
	assert_non_null(strstr(f->err.msg, "not a bzImage"));
	make_bzimage();
	put16(kimg + 0x1fe, 0);
	assert_int_equal(load(f), -ENOEXEC);
	make_bzimage();
	kimg[0x211] = 0;		/* zImage */
	assert_int_equal(load(f), -ENOEXEC);
	assert_non_null(strstr(f->err.msg, "zImage"));
	make_bzimage();
	f->a.kernel_size = 0x200;	/* truncated */
	assert_int_equal(load(f), -ENOEXEC);
	f->a.kernel_size = SETUP_SIZE;	/* no protected-mode part */
	assert_int_equal(load(f), -ENOEXEC);
	f->a.kernel_size = sizeof(kimg);
	kimg[0x1f1] = 0xff;		/* setup past the end */
	assert_int_equal(load(f), -ENOEXEC);
	assert_non_null(strstr(f->err.msg, "past the end"));
	f->a.kernel = NULL;
	assert_int_equal(load(f), -EINVAL);
	fx_free(f);
}

static void boot_linux_rejects_old_protocol(void **state)
{
	struct fx *f = fx_new(16 * MiB);

	(void)state;
	put16(kimg + 0x206, 0x0205);
	assert_int_equal(load(f), -EPROTO);
	assert_non_null(strstr(f->err.msg, "2.05 is older than 2.06"));
	/* 2.06 loads high but has no xloadflags: no 64-bit entry. */
	put16(kimg + 0x206, 0x0206);
	assert_int_equal(load(f), -ENOEXEC);
	assert_non_null(strstr(f->err.msg, "64-bit"));
	put16(kimg + 0x206, 0x020f);
	put16(kimg + 0x236, 0x02);
	assert_int_equal(load(f), -ENOEXEC);
	fx_free(f);
}

static void boot_linux_rejects_long_cmdline(void **state)
{
	struct fx *f = fx_new(16 * MiB);
	static char line[VMM_BOOT_CMDLINE_MAX + 10];

	(void)state;
	put32(kimg + 0x238, 10);
	f->a.cmdline = "0123456789";
	assert_int_equal(load(f), 0);
	assert_string_equal((const char *)f->ram + VMM_BOOT_CMDLINE,
			    "0123456789");
	f->a.cmdline = "0123456789a";
	assert_int_equal(load(f), -E2BIG);
	assert_non_null(strstr(f->err.msg, "at most 10"));
	/* A kernel that claims 4 GiB is held to our 64 KiB window. */
	put32(kimg + 0x238, 0xffffffffu);
	memset(line, 'x', sizeof(line) - 1);
	f->a.cmdline = line;
	assert_int_equal(load(f), -E2BIG);
	f->a.cmdline = NULL;
	assert_int_equal(load(f), 0);
	assert_int_equal(f->ram[VMM_BOOT_CMDLINE], 0);
	fx_free(f);
}

static void boot_linux_rejects_kernel_too_big(void **state)
{
	struct fx *f = fx_new(16 * MiB);

	(void)state;
	put32(kimg + 0x260, 0xffffffffu);	/* init_size */
	assert_int_equal(load(f), -ENOSPC);
	assert_non_null(strstr(f->err.msg, "init_size"));
	make_bzimage();
	put32(kimg + 0x260, 15 * MiB);		/* exactly fits */
	assert_int_equal(load(f), 0);
	put32(kimg + 0x260, 15 * MiB + 1);
	assert_int_equal(load(f), -ENOSPC);
	f->a.ram_size = MiB;
	assert_int_equal(load(f), -ENOSPC);
	fx_free(f);
}

static void boot_linux_rejects_initrd_without_room(void **state)
{
	struct fx *f = fx_new(8 * MiB);
	uint8_t *rd = malloc(5 * MiB);

	(void)state;
	assert_non_null(rd);
	memset(rd, 1, 5 * MiB);
	f->a.initrd = rd;
	f->a.initrd_size = 5 * MiB;	/* kernel ends at 4 MiB, RAM at 8 */
	assert_int_equal(load(f), -ENOSPC);
	assert_non_null(strstr(f->err.msg, "initrd"));
	f->a.initrd_size = 4 * MiB;
	assert_int_equal(load(f), 0);
	assert_int_equal(f->info.initrd_addr, 4 * MiB);
	put32(kimg + 0x22c, 2 * MiB);	/* initrd_addr_max inside the kernel */
	f->a.initrd_size = 4096;
	assert_int_equal(load(f), -ENOSPC);
	put32(kimg + 0x22c, 0);
	assert_int_equal(load(f), -ENOSPC);
	f->a.initrd = NULL;
	assert_int_equal(load(f), -EINVAL);
	free(rd);
	fx_free(f);
}

static void boot_linux_header_copy_bounded_loader_fields_ours(void **state)
{
	struct fx *f = fx_new(16 * MiB);
	const uint8_t *bp = f->ram + VMM_BOOT_ZERO_PAGE;

	(void)state;
	kimg[0x201] = 0xff;		/* claims a header to 0x301 */
	memset(kimg + 0x270, 0xee, 0x100);
	/* Loader-owned fields the file has no business setting. */
	put64(kimg + 0x250, 0x12345678);	/* setup_data */
	put32(kimg + 0x23c, 3);			/* hardware_subarch */
	kimg[0x211] |= 0xe0;			/* QUIET, KEEP_SEGMENTS, HEAP */
	put16(kimg + 0x224, 0x1234);		/* heap_end_ptr */
	memset(f->ram + VMM_BOOT_ZERO_PAGE, 0xcc, 4096);
	assert_int_equal(load(f), 0);
	assert_int_equal(bp[0x28f], 0xee);
	assert_int_equal(bp[0x290], 0);	/* edd_mbr_sig_buffer untouched */
	assert_int_equal(bp[0x0], 0);	/* the rest zeroed */
	assert_int_equal(bp[0xfff], 0);
	assert_int_equal(get64(bp + 0x250), 0);
	assert_int_equal(get32(bp + 0x23c), 0);
	assert_int_equal(bp[0x211], 0x01);
	assert_int_equal(get16(bp + 0x224), 0);
	fx_free(f);
}

/* Random damage to the header: an error or a load, never a crash, and a
 * load never writes outside RAM (ASan watches the mapping's neighbours). */
static void boot_linux_hostile_headers_are_safe(void **state)
{
	struct fx *f = fx_new(4 * MiB);
	uint32_t x = 99;
	unsigned i, j, ok = 0;
	static uint8_t rd[3000];

	(void)state;
	f->a.initrd = rd;
	f->a.initrd_size = sizeof(rd);
	for (i = 0; i < 4000; i++) {
		make_bzimage();
		for (j = 0; j < 1 + i % 6; j++) {
			x = x * 1103515245u + 12345u;
			kimg[0x1f1 + (x >> 8) % (0x270 - 0x1f1)] = (uint8_t)(x >> 20);
		}
		if (i % 3 == 0)
			kimg[0x234] = 1;
		x = x * 1103515245u + 12345u;
		f->a.kernel_size = i % 5 ? sizeof(kimg) : (x >> 8) % sizeof(kimg);
		int rc = load(f);

		assert_true(rc == 0 || rc == -ENOEXEC || rc == -EPROTO ||
			    rc == -E2BIG || rc == -ENOSPC);
		if (rc == 0) {
			ok++;
			assert_true(f->info.kernel_end <= 4 * MiB);
			assert_true(f->info.initrd_addr >= f->info.kernel_end);
			assert_true(f->info.initrd_addr + sizeof(rd) <= 4 * MiB);
		} else {
			assert_true(f->err.msg[0] != 0);
		}
	}
	assert_true(ok > 0);
	fx_free(f);
}

static void boot_linux_load_files_errors(void **state)
{
	uint8_t *ram = ram_map(16 * MiB);
	struct vmm_boot_linux_info info;
	struct vx_err err;
	char path[] = "/tmp/vmm-test-XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(vmm_boot_linux_load_files(ram, 16 * MiB,
						   "/nonexistent/vmlinuz", NULL,
						   "", &info, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/vmlinuz"));
	assert_int_equal(vmm_boot_linux_load_files(ram, 16 * MiB, path, NULL,
						   "", &info, &err), -ENOEXEC);
	make_bzimage();
	assert_int_equal(write(fd, kimg, 1000), 1000);
	assert_int_equal(vmm_boot_linux_load_files(ram, 16 * MiB, path, NULL,
						   "", &info, &err), -ENOEXEC);
	assert_non_null(strstr(err.msg, path));
	assert_int_equal(write(fd, kimg + 1000, sizeof(kimg) - 1000),
			 (ssize_t)(sizeof(kimg) - 1000));
	assert_int_equal(vmm_boot_linux_load_files(ram, 16 * MiB, path,
						   "/nonexistent/initrd", "",
						   &info, &err), -ENOENT);
	assert_int_equal(vmm_boot_linux_load_files(ram, 16 * MiB, path, path,
						   "quiet", &info, &err), 0);
	assert_int_equal(info.initrd_size, sizeof(kimg));
	assert_int_equal(vmm_boot_linux_load_files(ram, 16 * MiB, "/tmp",
						   NULL, "", &info, &err),
			 -EINVAL);
	close(fd);
	unlink(path);
	munmap(ram, 16 * MiB);
}

/* The Debian kernel the lab boots: extract the .deb and load its vmlinuz. */
static int find_prefixed(const char *dir, const char *prefix, char *out,
			 size_t outlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int found = 0;

	if (!d)
		return 0;
	while (!found && (de = readdir(d)))
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
			snprintf(out, outlen, "%s/%s", dir, de->d_name);
			found = 1;
		}
	closedir(d);
	return found;
}

static void boot_linux_real_debian_kernel(void **state)
{
	char deb[512], tmp[] = "/tmp/vmm-kernel-XXXXXX", cmd[1400];
	char vmlinuz[600], bootdir[600];
	struct vmm_boot_linux_info info;
	struct vx_err err;
	uint64_t ram_size = 512 * MiB;
	uint8_t *ram;
	FILE *fp;
	static uint8_t head[0x290];
	int rc;

	(void)state;
	if (!find_prefixed("/boot", "vmlinuz-", vmlinuz, sizeof(vmlinuz))) {
		if (!find_prefixed(VMM_KERNEL_DEB_DIR, "linux-image-", deb,
				   sizeof(deb))) {
			print_message("SKIP: no /boot/vmlinuz-* and no linux-image .deb in %s\n",
				      VMM_KERNEL_DEB_DIR);
			skip();
		}
		if (system("command -v dpkg-deb >/dev/null 2>&1") != 0) {
			print_message("SKIP: dpkg-deb not installed\n");
			skip();
		}
		assert_non_null(mkdtemp(tmp));
		snprintf(cmd, sizeof(cmd),
			 "dpkg-deb --fsys-tarfile '%s' | tar -xf - -C '%s' --wildcards './boot/vmlinuz-*'",
			 deb, tmp);
		assert_int_equal(system(cmd), 0);
		snprintf(bootdir, sizeof(bootdir), "%s/boot", tmp);
		assert_true(find_prefixed(bootdir, "vmlinuz-", vmlinuz,
					  sizeof(vmlinuz)));
	}
	print_message("# kernel %s\n", vmlinuz);
	ram = ram_map(ram_size);
	rc = vmm_boot_linux_load_files(ram, ram_size, vmlinuz, NULL,
				       "console=ttyS0 earlyprintk=serial",
				       &info, &err);
	if (rc)
		print_message("# %s\n", err.msg);
	assert_int_equal(rc, 0);
	print_message("# protocol %u.%02u, kernel at 0x%llx, %llu bytes, end 0x%llx\n",
		      info.version >> 8, info.version & 0xff,
		      (unsigned long long)info.kernel_addr,
		      (unsigned long long)info.kernel_size,
		      (unsigned long long)info.kernel_end);
	assert_true(info.version >= 0x020c);
	assert_int_equal(info.regs.rip, info.kernel_addr + 0x200);
	assert_true(info.kernel_addr >= 0x100000);
	assert_true(info.kernel_end <= ram_size);

	/* The protected-mode part is the file past the setup sectors. */
	fp = fopen(vmlinuz, "rb");
	assert_non_null(fp);
	assert_int_equal(fread(head, 1, sizeof(head), fp), sizeof(head));
	unsigned sects = head[0x1f1] ? head[0x1f1] : 4;
	uint8_t *chunk = malloc(65536);

	assert_non_null(chunk);
	assert_int_equal(fseek(fp, (long)(sects + 1) * 512, SEEK_SET), 0);
	assert_int_equal(fread(chunk, 1, 65536, fp), 65536);
	assert_memory_equal(ram + info.kernel_addr, chunk, 65536);
	free(chunk);
	fclose(fp);
	if (head[0x234])	/* relocatable: at its preferred address */
		assert_int_equal(info.kernel_addr, get64(head + 0x258));
	assert_int_equal(get32(ram + VMM_BOOT_ZERO_PAGE + 0x214),
			 info.kernel_addr);
	assert_int_equal(ram[VMM_BOOT_ZERO_PAGE + 0x210], 0xff);

	/* Again with an initrd (the kernel file will do): at the top of RAM,
	 * below the real kernel's initrd_addr_max, above its init_size. */
	rc = vmm_boot_linux_load_files(ram, ram_size, vmlinuz, vmlinuz,
				       "console=ttyS0", &info, &err);
	assert_int_equal(rc, 0);
	assert_true(info.initrd_addr >= info.kernel_end);
	assert_true(info.initrd_addr + info.initrd_size <= ram_size);
	assert_true(info.initrd_addr + info.initrd_size <=
		    (uint64_t)get32(head + 0x22c) + 1);
	assert_int_equal(info.initrd_addr % 4096, 0);
	assert_true(ram_size - (info.initrd_addr + info.initrd_size) < 4096);
	assert_memory_equal(ram + info.initrd_addr, head, sizeof(head));
	munmap(ram, ram_size);
	if (tmp[strlen(tmp) - 1] != 'X') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		assert_int_equal(system(cmd), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(boot_linux_valid_image_layout),
		cmocka_unit_test(boot_linux_identity_map_4g),
		cmocka_unit_test(boot_linux_relocatable_uses_pref_address),
		cmocka_unit_test(boot_linux_rejects_bad_placement_fields),
		cmocka_unit_test(boot_linux_initrd_placed_high_aligned),
		cmocka_unit_test(boot_linux_rejects_not_bzimage),
		cmocka_unit_test(boot_linux_rejects_old_protocol),
		cmocka_unit_test(boot_linux_rejects_long_cmdline),
		cmocka_unit_test(boot_linux_rejects_kernel_too_big),
		cmocka_unit_test(boot_linux_rejects_initrd_without_room),
		cmocka_unit_test(boot_linux_header_copy_bounded_loader_fields_ours),
		cmocka_unit_test(boot_linux_hostile_headers_are_safe),
		cmocka_unit_test(boot_linux_load_files_errors),
		cmocka_unit_test(boot_linux_real_debian_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
