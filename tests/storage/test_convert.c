/*
 * img_convert_range: the copy reads back equal to the source, holes and
 * zero data of the source stay unallocated in a new qcow2 (as with
 * qemu-img convert), and slicing (vmxd converts in 8 MiB slices, here with
 * odd sizes and a small buffer) changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "st_helpers.h"

#define MiB (1024 * 1024)
#define DISK (6 * MiB)

/* Source: data, a hole, zeros written as data, data with a zero 64 KiB
 * grain inside, and a partial tail grain. */
static void make_source(const char *path)
{
	struct img_create_opts o = { .fmt = "raw", .size = DISK };
	struct vx_err err = { 0 };
	uint8_t *buf = malloc(MiB);
	struct img *img;

	assert_non_null(buf);
	assert_int_equal(img_create(path, &o, &err), 0);
	assert_int_equal(img_open(path, "raw", IMG_RDWR, &img, &err), 0);
	st_fill(buf, MiB, 0, 7);
	assert_int_equal(img_write(img, buf, 0, MiB, &err), 0);
	memset(buf, 0, MiB);
	assert_int_equal(img_write(img, buf, 2 * MiB, MiB, &err), 0);
	st_fill(buf, MiB, 3 * MiB, 8);
	memset(buf + 128 * 1024, 0, 64 * 1024);
	assert_int_equal(img_write(img, buf, 3 * MiB, MiB, &err), 0);
	st_fill(buf, 1000, DISK - 1000, 9);
	assert_int_equal(img_write(img, buf, DISK - 1000, 1000, &err), 0);
	assert_int_equal(img_close(img, &err), 0);
	free(buf);
}

static void convert_with(size_t buflen, uint64_t slice)
{
	struct img_create_opts o = { .fmt = "qcow2", .size = DISK };
	uint8_t *a = malloc(DISK), *b = malloc(DISK), *buf = malloc(buflen);
	struct vx_err err = { 0 };
	struct img *src, *dst;
	uint64_t off, pnum;
	int fb;

	assert_true(a && b && buf);
	unlink(st_path("dst.qcow2"));
	assert_int_equal(img_create(st_path("dst.qcow2"), &o, &err), 0);
	assert_int_equal(img_open(st_path("src.raw"), NULL, 0, &src, &err), 0);
	assert_int_equal(img_open(st_path("dst.qcow2"), NULL, IMG_RDWR, &dst, &err), 0);
	for (off = 0; off < DISK; off += slice)
		assert_int_equal(img_convert_range(src, dst, off,
						   DISK - off < slice ? DISK - off : slice,
						   buf, buflen, &err), 0);
	assert_int_equal(img_read(src, a, 0, DISK, &err), 0);
	assert_int_equal(img_read(dst, b, 0, DISK, &err), 0);
	assert_memory_equal(a, b, DISK);
	/* Nothing allocated for the hole, the zeros or the zero grain. */
	assert_int_equal(img_status(dst, MiB, 2 * MiB, &pnum, &fb, &err), 0);
	assert_int_equal(pnum, 2 * MiB);
	assert_int_equal(img_status(dst, 3 * MiB + 128 * 1024, 64 * 1024, &pnum, &fb, &err), 0);
	assert_int_equal(img_status(dst, 0, MiB, &pnum, &fb, &err), 1);
	assert_int_equal(pnum, MiB);
	assert_int_equal(img_status(dst, DISK - 1000, 1000, &pnum, &fb, &err), 1);
	img_close(src, NULL);
	assert_int_equal(img_close(dst, &err), 0);
	if (st_have_qemu_img())
		assert_int_equal(st_qemu_check(st_path("dst.qcow2"), NULL, 0), 0);
	free(a);
	free(b);
	free(buf);
}

static void convert_skips_holes_and_zeros(void **state)
{
	(void)state;
	make_source(st_path("src.raw"));
	convert_with(8 * MiB, DISK);
}

static void convert_in_odd_slices(void **state)
{
	(void)state;
	make_source(st_path("src.raw"));
	convert_with(96 * 1024, 1536 * 1024 + 4096);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(convert_skips_holes_and_zeros),
		cmocka_unit_test(convert_in_odd_slices),
	};
	return cmocka_run_group_tests(tests, st_setup, st_teardown);
}
