/*
 * Offline external snapshots: an overlay over a qcow2 or raw base takes the
 * writes, the base stays as it was, and commit brings the base to what the
 * overlay showed (data and discarded ranges), checked with qemu-img.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "st_helpers.h"

#define MiB (1024 * 1024)

static void commit_into(const char *basefmt)
{
	struct img_create_opts o = { .fmt = basefmt, .size = 8 * MiB };
	struct vx_err err = { 0 };
	uint8_t *buf = malloc(8 * MiB), *view = malloc(8 * MiB);
	char base[64], top[64];
	struct img *img = NULL;

	snprintf(base, sizeof(base), "base.%s", basefmt);
	snprintf(top, sizeof(top), "top-%s.qcow2", basefmt);
	assert_int_equal(img_create(st_path(base), &o, &err), 0);
	assert_int_equal(img_open(st_path(base), basefmt, IMG_RDWR, &img, &err), 0);
	st_fill(buf, 8 * MiB, 0, 1);
	assert_int_equal(img_write(img, buf, 0, 8 * MiB, &err), 0);
	assert_int_equal(img_close(img, &err), 0);
	assert_int_equal(st_run(NULL, 0, "cp '%s' '%s'", st_path(base), st_path("orig")), 0);

	/* Relative backing name, resolved against the overlay's directory. */
	assert_int_equal(img_overlay_create(st_path(top), base, basefmt, &err), 0);
	assert_int_equal(img_open(st_path(top), NULL, IMG_RDWR, &img, &err), 0);
	st_fill(buf, 300000, 1 * MiB + 5, 2);
	assert_int_equal(img_write(img, buf, 1 * MiB + 5, 300000, &err), 0);
	assert_int_equal(img_discard(img, 4 * MiB, MiB, &err), 0);
	assert_int_equal(img_read(img, view, 0, 8 * MiB, &err), 0);
	assert_int_equal(img_close(img, &err), 0);
	/* The base is untouched until commit. */
	assert_int_equal(st_run(NULL, 0, "cmp -s '%s' '%s'", st_path(base), st_path("orig")), 0);

	assert_int_equal(img_commit(st_path(top), &err), 0);
	assert_int_equal(img_open(st_path(base), basefmt, 0, &img, &err), 0);
	assert_int_equal(img_read(img, buf, 0, 8 * MiB, &err), 0);
	assert_memory_equal(buf, view, 8 * MiB);
	assert_int_equal(img_close(img, &err), 0);
	if (st_have_qemu_img()) {
		assert_int_equal(st_run(NULL, 0, "qemu-img compare '%s' '%s'", st_path(top), st_path(base)), 0);
		if (!strcmp(basefmt, "qcow2"))
			assert_int_equal(st_qemu_check(st_path(base), NULL, 0), 0);
	}
	free(buf);
	free(view);
}

static void overlay_commit_into_qcow2(void **state)
{
	(void)state;
	commit_into("qcow2");
}

static void overlay_commit_into_raw(void **state)
{
	(void)state;
	commit_into("raw");
}

static void commit_without_backing_refused(void **state)
{
	struct img_create_opts o = { .fmt = "qcow2", .size = MiB };
	struct vx_err err = { 0 };

	(void)state;
	assert_int_equal(img_create(st_path("alone.qcow2"), &o, &err), 0);
	assert_int_equal(img_commit(st_path("alone.qcow2"), &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no backing file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(overlay_commit_into_qcow2),
		cmocka_unit_test(overlay_commit_into_raw),
		cmocka_unit_test(commit_without_backing_refused),
	};
	return cmocka_run_group_tests(tests, st_setup, st_teardown);
}
