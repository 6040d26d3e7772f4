/*
 * Hostile qcow2 input: each bad header value, table offset or metadata entry
 * gets a clear error naming it, never a crash or an out-of-bounds access
 * (the ASan build runs these too).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "st_helpers.h"

#define MiB (1024 * 1024)

static void mk(const char *name)
{
	struct img_create_opts o = { .fmt = "qcow2", .size = 4 * MiB };
	struct vx_err err = { 0 };

	assert_int_equal(img_create(st_path(name), &o, &err), 0);
}

static void patch(const char *name, uint64_t off, uint64_t val, int width)
{
	uint8_t b[8];
	int fd = open(st_path(name), O_WRONLY);

	assert_true(fd >= 0);
	for (int i = 0; i < width; i++)
		b[i] = (uint8_t)(val >> (8 * (width - 1 - i)));
	assert_int_equal(pwrite(fd, b, (size_t)width, (off_t)off), width);
	close(fd);
}

static uint64_t peek(const char *name, uint64_t off, int width)
{
	uint8_t b[8];
	uint64_t v = 0;
	int fd = open(st_path(name), O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, b, (size_t)width, (off_t)off), width);
	close(fd);
	for (int i = 0; i < width; i++)
		v = v << 8 | b[i];
	return v;
}

/* Opens (read-only and read-write) and expects code with text in message. */
static void expect_open_fails(const char *name, int code, const char *text)
{
	struct vx_err err = { 0 };
	struct img *img = NULL;

	assert_int_equal(img_open(st_path(name), "qcow2", 0, &img, &err), code);
	assert_null(img);
	if (!strstr(err.msg, text))
		print_message("message \"%s\" lacks \"%s\"\n", err.msg, text);
	assert_non_null(strstr(err.msg, text));
}

static void qcow2_header_values_refused(void **state)
{
	static const struct {
		uint64_t off; uint64_t val; int width; int code; const char *text;
	} cases[] = {
		{ 4, 4, 4, -ENOTSUP, "version 4" },
		{ 20, 30, 4, -EINVAL, "cluster_bits 30" },
		{ 20, 8, 4, -EINVAL, "cluster_bits 8" },
		{ 24, 1ull << 62, 8, -EINVAL, "virtual size" },
		{ 24, 1ull << 50, 8, -EINVAL, "too small for virtual size" },
		{ 32, 1, 4, -ENOTSUP, "encrypted" },
		{ 36, 0xffffffffu, 4, -EINVAL, "exceeds limit" },
		{ 36, 0x400001, 4, -EINVAL, "exceeds limit" },
		{ 36, 0, 4, -EINVAL, "too small" },
		{ 36, 0x100000, 4, -EINVAL, "beyond end of file" },
		{ 40, 0x30001, 8, -EINVAL, "not cluster aligned" },
		{ 40, 1ull << 55, 8, -EINVAL, "beyond end of file" },
		{ 48, 0x10200, 8, -EINVAL, "not cluster aligned" },
		{ 48, 1ull << 40, 8, -EINVAL, "beyond end of file" },
		{ 56, 0, 4, -EINVAL, "refcount table of 0 clusters" },
		{ 56, 0x7fffffff, 4, -EINVAL, "refcount table of" },
		{ 60, 70000, 4, -EINVAL, "snapshots exceed limit" },
		{ 60, 3, 4, -EINVAL, "snapshot table" },
		{ 72, 1ull << 5, 8, -ENOTSUP, "incompatible feature" },
		{ 72, 1ull << 2, 8, -ENOTSUP, "external data file" },
		{ 72, 1ull << 4, 8, -ENOTSUP, "extended L2" },
		{ 72, 1ull << 3, 8, -ENOTSUP, "compression type" },
		{ 96, 7, 4, -EINVAL, "refcount_order 7" },
		{ 96, 0xffffffffu, 4, -EINVAL, "refcount_order" },
		{ 100, 50, 4, -EINVAL, "header_length 50" },
		{ 100, 0x20000, 4, -EINVAL, "header_length" },
		{ 104, 9, 1, -ENOTSUP, "compression type 9" },
		{ 8, 0x20000, 8, -EINVAL, "backing file name" },
		{ 0, 0x12345678, 4, -EINVAL, "bad magic" },
	};
	char name[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(name, sizeof(name), "h%zu.qcow2", i);
		mk(name);
		patch(name, cases[i].off, cases[i].val, cases[i].width);
		if (cases[i].off == 60)   /* snapshot table inside the image? */
			patch(name, 64, 1ull << 40, 8);
		if (cases[i].off == 8)
			patch(name, 16, 10, 4);
		expect_open_fails(name, cases[i].code, cases[i].text);
	}
}

static void qcow2_truncated_and_tiny_files_refused(void **state)
{
	(void)state;
	assert_int_equal(st_write_file(st_path("tiny.qcow2"), "QFI\xfb\0\0\0\3", 8), 0);
	expect_open_fails("tiny.qcow2", -EINVAL, "too short");
	mk("cut.qcow2");
	assert_int_equal(truncate(st_path("cut.qcow2"), 65536 + 100), 0);
	expect_open_fails("cut.qcow2", -EINVAL, "beyond end of file");
}

static void qcow2_extension_overrun_refused(void **state)
{
	(void)state;
	mk("ext.qcow2");
	patch("ext.qcow2", 112, 0x12345678, 4);
	patch("ext.qcow2", 116, 0xfffffff0u, 4);
	expect_open_fails("ext.qcow2", -EINVAL, "header extension 0x12345678");
}

static void qcow2_metadata_entries_checked(void **state)
{
	struct vx_err err = { 0 };
	struct img *img;
	uint8_t buf[4096];
	uint64_t l1, l2, rt;

	(void)state;
	/* An L1 entry with reserved bits set. */
	mk("l1.qcow2");
	l1 = peek("l1.qcow2", 40, 8);
	patch("l1.qcow2", l1, 0x10000 | 0x2, 8);
	expect_open_fails("l1.qcow2", -EINVAL, "L1 entry 0");

	/* An L2 entry pointing past the end of the file. */
	mk("l2.qcow2");
	img = NULL;
	assert_int_equal(img_open(st_path("l2.qcow2"), NULL, IMG_RDWR, &img, &err), 0);
	memset(buf, 1, sizeof(buf));
	assert_int_equal(img_write(img, buf, 0, sizeof(buf), &err), 0);
	img_close(img, NULL);
	l1 = peek("l2.qcow2", 40, 8);
	l2 = peek("l2.qcow2", l1, 8) & 0x00fffffffffffe00ull;
	patch("l2.qcow2", l2, (1ull << 63) | (1ull << 40), 8);
	assert_int_equal(img_open(st_path("l2.qcow2"), NULL, IMG_RDWR, &img, &err), 0);
	assert_int_equal(img_read(img, buf, 0, 512, &err), -EIO);
	assert_non_null(strstr(err.msg, "beyond the end"));
	/* Unaligned data offset. */
	img_close(img, NULL);
	patch("l2.qcow2", l2, (1ull << 63) | 0x30200, 8);
	assert_int_equal(img_open(st_path("l2.qcow2"), NULL, 0, &img, &err), 0);
	assert_int_equal(img_read(img, buf, 0, 512, &err), -EIO);
	assert_non_null(strstr(err.msg, "unaligned"));
	img_close(img, NULL);
	/* Garbage where a compressed cluster should be. */
	patch("l2.qcow2", l2, (1ull << 62) | 0x100, 8);
	assert_int_equal(img_open(st_path("l2.qcow2"), NULL, 0, &img, &err), 0);
	assert_int_equal(img_read(img, buf, 0, 512, &err), -EIO);
	assert_non_null(strstr(err.msg, "compressed cluster"));
	img_close(img, NULL);

	/* A refcount of zero on a cluster in use: freeing it is refused. */
	mk("rc.qcow2");
	assert_int_equal(img_open(st_path("rc.qcow2"), NULL, IMG_RDWR, &img, &err), 0);
	assert_int_equal(img_write(img, buf, 0, sizeof(buf), &err), 0);
	img_close(img, NULL);
	rt = peek("rc.qcow2", 48, 8);
	l1 = peek("rc.qcow2", 40, 8);
	l2 = peek("rc.qcow2", l1, 8) & 0x00fffffffffffe00ull;
	uint64_t data = peek("rc.qcow2", l2, 8) & 0x00fffffffffffe00ull;
	uint64_t rb = peek("rc.qcow2", rt, 8);
	patch("rc.qcow2", rb + (data >> 16) * 2, 0, 2);
	assert_int_equal(img_open(st_path("rc.qcow2"), NULL, IMG_RDWR, &img, &err), 0);
	assert_int_equal(img_discard(img, 0, 65536, &err), -EIO);
	assert_non_null(strstr(err.msg, "below zero"));
	img_close(img, NULL);

	/* Misaligned refcount block offset. */
	mk("rb.qcow2");
	rt = peek("rb.qcow2", 48, 8);
	patch("rb.qcow2", rt, 0x30100, 8);
	expect_open_fails("rb.qcow2", -EINVAL, "refcount block 0");
}

static void qcow2_dirty_and_corrupt_bits_block_writes(void **state)
{
	struct vx_err err = { 0 };
	struct img *img = NULL;

	(void)state;
	mk("dirty.qcow2");
	patch("dirty.qcow2", 72, 1, 8);
	assert_int_equal(img_open(st_path("dirty.qcow2"), NULL, IMG_RDWR, &img, &err), -EROFS);
	assert_non_null(strstr(err.msg, "dirty"));
	assert_int_equal(img_open(st_path("dirty.qcow2"), NULL, 0, &img, &err), 0);
	img_close(img, NULL);
	mk("corrupt.qcow2");
	patch("corrupt.qcow2", 72, 2, 8);
	assert_int_equal(img_open(st_path("corrupt.qcow2"), NULL, IMG_RDWR, &img, &err), -EROFS);
	assert_non_null(strstr(err.msg, "corrupt"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(qcow2_header_values_refused),
		cmocka_unit_test(qcow2_truncated_and_tiny_files_refused),
		cmocka_unit_test(qcow2_extension_overrun_refused),
		cmocka_unit_test(qcow2_metadata_entries_checked),
		cmocka_unit_test(qcow2_dirty_and_corrupt_bits_block_writes),
	};
	return cmocka_run_group_tests(tests, st_setup, st_teardown);
}
