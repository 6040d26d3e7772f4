/* Unit tests for vmm/snap.c, the VM state file container: a file written
 * and read back (sections, RAM with zero pages left out), then hostile
 * files: every truncation, bad magic and version, section lengths past the
 * end, duplicates, too many sections, data after END, a RAM section whose
 * bitmap and length disagree, another RAM size, random bytes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/snap.h"

#define PAGES	37	/* not a multiple of 8: the bitmap's last byte is partial */
#define RAM	(PAGES * VMM_SNAP_PAGE)

static uint8_t ram[RAM], back[RAM];

static int mem_file(const void *buf, size_t len)
{
	int fd = memfd_create("snap", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	return fd;
}

/* A whole state file: header, two sections, RAM, END. Returns its bytes. */
static uint8_t *good_file(size_t *len)
{
	struct vmm_snap_w w;
	size_t at;
	uint8_t *out;
	off_t size;
	int fd;

	memset(ram, 0, sizeof(ram));
	for (unsigned p = 0; p < PAGES; p += 3)
		memset(ram + p * VMM_SNAP_PAGE + 100, (int)(p + 1), 50);
	vmm_snap_w_init(&w);
	vmm_snap_put_header(&w);
	at = vmm_snap_section_begin(&w, VMM_SNAP_PIC, 0);
	vmm_snap_put_u32(&w, 0xdeadbeef);
	vmm_snap_put_u8(&w, 7);
	vmm_snap_section_end(&w, at);
	at = vmm_snap_section_begin(&w, VMM_SNAP_VCPU, 0);
	vmm_snap_put_u64(&w, 0x0123456789abcdefull);
	vmm_snap_section_end(&w, at);
	fd = memfd_create("snap", MFD_CLOEXEC);
	assert_int_equal(vmm_snap_write_all(fd, w.buf, w.len, NULL), 0);
	assert_int_equal(vmm_snap_write_ram(fd, ram, RAM, NULL), 0);
	assert_int_equal(vmm_snap_write_end(fd, NULL), 0);
	vmm_snap_w_free(&w);
	size = lseek(fd, 0, SEEK_END);
	out = malloc((size_t)size);
	assert_int_equal(pread(fd, out, (size_t)size, 0), size);
	close(fd);
	*len = (size_t)size;
	return out;
}

static void snap_file_round_trip(void **state)
{
	struct vmm_snap_index ix;
	struct vmm_snap_sec *s;
	struct vmm_snap_r r;
	struct vx_err err = { 0 };
	uint8_t *buf, *p;
	size_t len;
	int fd;

	(void)state;
	buf = good_file(&len);
	/* 13 of 37 pages hold data: the rest are left out. */
	assert_true(len < 16 + 2 * 32 + 16 + 16 + 5 + 14 * VMM_SNAP_PAGE + 16);
	fd = mem_file(buf, len);
	assert_int_equal(vmm_snap_index_read(fd, &ix, &err), 0);
	assert_int_equal(ix.n, 3);
	assert_null(vmm_snap_find(&ix, VMM_SNAP_PIT, 0));
	s = vmm_snap_find(&ix, VMM_SNAP_PIC, 0);
	assert_non_null(s);
	assert_int_equal(vmm_snap_read_section(fd, s, &p, &err), 0);
	vmm_snap_r_init(&r, p, (size_t)s->len);
	assert_int_equal(vmm_snap_get_u32(&r), 0xdeadbeef);
	assert_int_equal(vmm_snap_get_u8(&r), 7);
	assert_int_equal(vmm_snap_r_done(&r, "PIC", &err), 0);
	/* One more read: short, zero, and reported. */
	assert_int_equal(vmm_snap_get_u64(&r), 0);
	assert_int_equal(vmm_snap_r_done(&r, "PIC", &err), -EBADMSG);
	free(p);
	/* A loader that skipped a section is told which. */
	assert_int_equal(vmm_snap_check_all_used(&ix, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "'VCPU'"));
	assert_non_null(vmm_snap_find(&ix, VMM_SNAP_VCPU, 0));
	s = vmm_snap_find(&ix, VMM_SNAP_RAM, 0);
	assert_int_equal(vmm_snap_check_all_used(&ix, &err), 0);
	/* RAM into a dirty buffer: zero pages come back zero. */
	memset(back, 0xee, sizeof(back));
	assert_int_equal(vmm_snap_read_ram(fd, s, back, RAM, &err), 0);
	assert_memory_equal(ram, back, RAM);
	/* Another machine's RAM size, refused before anything is written. */
	memset(back, 0xee, sizeof(back));
	assert_int_equal(vmm_snap_read_ram(fd, s, back, RAM - VMM_SNAP_PAGE, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "MiB"));
	assert_int_equal(back[0], 0xee);
	close(fd);
	free(buf);
}

/* Index and, if that passes, RAM: 0 or the first error. */
static int load_all(const uint8_t *buf, size_t len, struct vx_err *err)
{
	static struct vmm_snap_index ix;
	struct vmm_snap_sec *s;
	int fd = mem_file(buf, len), rc;

	rc = vmm_snap_index_read(fd, &ix, err);
	if (!rc && (s = vmm_snap_find(&ix, VMM_SNAP_RAM, 0)))
		rc = vmm_snap_read_ram(fd, s, back, RAM, err);
	close(fd);
	return rc;
}

static void snap_every_truncation_refused(void **state)
{
	struct vx_err err;
	uint8_t *buf;
	size_t len;

	(void)state;
	buf = good_file(&len);
	for (size_t n = 0; n < len; n++) {
		err.msg[0] = 0;
		assert_int_equal(load_all(buf, n, &err), -EBADMSG);
		assert_non_null(strstr(err.msg, "state file"));
	}
	assert_int_equal(load_all(buf, len, &err), 0);
	free(buf);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void snap_bad_headers_and_lengths(void **state)
{
	struct vx_err err;
	uint8_t *buf, *big;
	size_t len;

	(void)state;
	buf = good_file(&len);
	buf[0] = 'W';
	assert_int_equal(load_all(buf, len, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "magic"));
	buf[0] = 'V';
	put32(buf + 8, 3);
	assert_int_equal(load_all(buf, len, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "version 3"));
	put32(buf + 8, 0);
	assert_int_equal(load_all(buf, len, &err), -EPROTO);
	/* Version 1 files (no APIC or NIC sections) still load. */
	put32(buf + 8, 1);
	assert_int_equal(load_all(buf, len, &err), 0);
	put32(buf + 8, 2);
	put32(buf + 12, 1);	/* flags */
	assert_int_equal(load_all(buf, len, &err), -EPROTO);
	put32(buf + 12, 0);
	/* The first section's length past the end, and at the very top. */
	put64(buf + 16 + 8, len);
	assert_int_equal(load_all(buf, len, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "past the end"));
	put64(buf + 16 + 8, UINT64_MAX);
	assert_int_equal(load_all(buf, len, &err), -EBADMSG);
	put64(buf + 16 + 8, UINT64_MAX - 3);	/* rounding up to 8 wraps */
	assert_int_equal(load_all(buf, len, &err), -EBADMSG);
	/* A length that carries the next header off its place. (One inside
	 * the padding cannot be seen here: the section's loader finds the
	 * extra byte, vmm_snap_r_done.) */
	put64(buf + 16 + 8, 9);
	assert_int_not_equal(load_all(buf, len, &err), 0);
	put64(buf + 16 + 8, 5);
	assert_int_equal(load_all(buf, len, &err), 0);
	/* The second section renamed to the first: a duplicate. */
	put32(buf + 16 + 16 + 8, VMM_SNAP_PIC);
	assert_int_equal(load_all(buf, len, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "twice"));
	put32(buf + 16 + 16 + 8, VMM_SNAP_VCPU);
	/* Data after END. */
	big = malloc(len + 8);
	memcpy(big, buf, len);
	memset(big + len, 0, 8);
	assert_int_equal(load_all(big, len + 8, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "after the END"));
	free(big);
	free(buf);
}

static void snap_ram_bitmap_must_match(void **state)
{
	struct vmm_snap_index ix;
	struct vmm_snap_sec *s;
	struct vx_err err;
	uint8_t *buf;
	size_t len, bm;
	int fd;

	(void)state;
	buf = good_file(&len);
	fd = mem_file(buf, len);
	assert_int_equal(vmm_snap_index_read(fd, &ix, &err), 0);
	s = vmm_snap_find(&ix, VMM_SNAP_RAM, 0);
	close(fd);
	bm = (size_t)s->off + 16;
	/* One more page claimed than the section holds. */
	buf[bm] ^= 0x02;
	assert_int_equal(load_all(buf, len, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "bitmap"));
	buf[bm] ^= 0x02;
	/* A page past the end of RAM (bit 37 of a 37-page bitmap). */
	buf[bm + PAGES / 8] |= (uint8_t)(1u << (PAGES % 8));
	assert_int_equal(load_all(buf, len, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "past the end"));
	free(buf);
}

static void snap_too_many_sections(void **state)
{
	struct vmm_snap_w w;
	struct vx_err err;
	int fd;
	struct vmm_snap_index ix;

	(void)state;
	vmm_snap_w_init(&w);
	vmm_snap_put_header(&w);
	for (uint32_t i = 0; i <= VMM_SNAP_MAX_SECTIONS; i++)
		vmm_snap_section_end(&w, vmm_snap_section_begin(&w, VMM_SNAP_VBLK, i));
	vmm_snap_section_end(&w, vmm_snap_section_begin(&w, VMM_SNAP_END, 0));
	fd = mem_file(w.buf, w.len);
	assert_int_equal(vmm_snap_index_read(fd, &ix, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "more than"));
	close(fd);
	vmm_snap_w_free(&w);
}

/* Random bytes over a good file, a few at a time: refused or read, never
 * a crash or a read outside the buffers (ASan). */
static void snap_random_damage(void **state)
{
	uint8_t *buf, *d;
	size_t len;

	(void)state;
	buf = good_file(&len);
	d = malloc(len);
	srand(11);
	for (int i = 0; i < 3000; i++) {
		memcpy(d, buf, len);
		for (int k = 0; k < 1 + i % 4; k++) {
			/* Mostly the headers and small sections, where lengths live. */
			size_t at = (size_t)rand() % (i & 1 ? len : 128);

			d[at] = (uint8_t)rand();
		}
		(void)load_all(d, len, NULL);
	}
	free(d);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(snap_file_round_trip),
		cmocka_unit_test(snap_every_truncation_refused),
		cmocka_unit_test(snap_bad_headers_and_lengths),
		cmocka_unit_test(snap_ram_bitmap_must_match),
		cmocka_unit_test(snap_too_many_sections),
		cmocka_unit_test(snap_random_damage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
