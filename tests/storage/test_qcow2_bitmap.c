/*
 * Persistent dirty bitmaps: marked by every write and discard through the
 * library, stored on close, and interchangeable with `qemu-img bitmap` /
 * qemu-io (QEMU loads ours, we load QEMU's, bit for bit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "st_helpers.h"
#include "storage/bitmap.h"
#include "storage/snapshot.h"

#define MiB (1024 * 1024)

static struct img *open_img(const char *path, int flags)
{
	struct vx_err err = { 0 };
	struct img *img = NULL;

	if (img_open(path, NULL, flags, &img, &err))
		print_message("img_open %s: %s\n", path, err.msg);
	assert_non_null(img);
	return img;
}

static void check_clean(const char *path)
{
	char out[4096];
	int rc = st_qemu_check(path, out, sizeof(out));

	if (rc)
		print_message("qemu-img check %s (rc %d):\n%s\n", path, rc, out);
	assert_int_equal(rc, 0);
}

/* The set bits of a bitmap equal the list want[] (ascending). */
static void expect_bits(const char *path, const char *name, const uint64_t *want,
			size_t nwant)
{
	struct vx_err err = { 0 };
	struct img *img = open_img(path, 0);
	uint8_t *bits;
	uint64_t nbits, k = 0;
	unsigned g;

	if (img_bitmap_get(img, name, &bits, &nbits, &g, &err))
		print_message("img_bitmap_get: %s\n", err.msg);
	assert_non_null(bits);
	for (uint64_t i = 0; i < nbits; i++) {
		if (!(bits[i / 8] & (1u << (i % 8))))
			continue;
		if (k >= nwant || want[k] != i)
			print_message("unexpected dirty bit %llu\n", (unsigned long long)i);
		assert_true(k < nwant && want[k] == i);
		k++;
	}
	assert_int_equal(k, nwant);
	free(bits);
	img_close(img, NULL);
}

static void bitmap_marks_writes_and_survives_close(void **state)
{
	struct img_create_opts o = { .fmt = "qcow2", .size = 8 * MiB };
	struct vx_err err = { 0 };
	struct img_bitmap_info *list;
	uint8_t buf[4096] = { 1 };
	struct img *img;
	char out[8192];
	int n;

	(void)state;
	st_skip_without_qemu();
	assert_int_equal(img_create(st_path("b.qcow2"), &o, &err), 0);
	img = open_img(st_path("b.qcow2"), IMG_RDWR);
	assert_int_equal(img_write(img, buf, 7 * MiB, 512, &err), 0);   /* before: not marked */
	assert_int_equal(img_bitmap_add(img, "b0", 16, &err), 0);
	assert_int_equal(img_bitmap_add(img, "b0", 16, &err), -EEXIST);
	assert_int_equal(img_write(img, buf, 0, sizeof(buf), &err), 0);
	assert_int_equal(img_write(img, buf, MiB + 65536 - 10, 100, &err), 0);  /* spans 2 */
	assert_int_equal(img_discard(img, 3 * MiB, 65536, &err), 0);
	assert_int_equal(img_bitmap_list(img, &list, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].name, "b0");
	assert_true(list[0].enabled);
	assert_false(list[0].inconsistent);
	free(list);
	assert_int_equal(img_close(img, &err), 0);
	check_clean(st_path("b.qcow2"));
	assert_int_equal(st_run(out, sizeof(out), "qemu-img info '%s'", st_path("b.qcow2")), 0);
	assert_non_null(strstr(out, "name: b0"));
	assert_null(strstr(out, "in-use"));
	static const uint64_t want[] = { 0, 16, 17, 48 };
	expect_bits(st_path("b.qcow2"), "b0", want, 4);

	/* Clear, then only new writes show; remove leaves a clean image. */
	img = open_img(st_path("b.qcow2"), IMG_RDWR);
	assert_int_equal(img_bitmap_clear(img, "b0", &err), 0);
	assert_int_equal(img_bitmap_add(img, "b1", 20, &err), 0);
	assert_int_equal(img_write(img, buf, 5 * MiB, 1, &err), 0);
	assert_int_equal(img_close(img, &err), 0);
	static const uint64_t want2[] = { 80 };
	expect_bits(st_path("b.qcow2"), "b0", want2, 1);
	static const uint64_t want3[] = { 5 };
	expect_bits(st_path("b.qcow2"), "b1", want3, 1);
	img = open_img(st_path("b.qcow2"), IMG_RDWR);
	assert_int_equal(img_bitmap_remove(img, "b0", &err), 0);
	assert_int_equal(img_bitmap_remove(img, "b0", &err), -ENOENT);
	assert_int_equal(img_close(img, &err), 0);
	check_clean(st_path("b.qcow2"));
	img = open_img(st_path("b.qcow2"), IMG_RDWR);
	assert_int_equal(img_bitmap_remove(img, "b1", &err), 0);
	assert_int_equal(img_close(img, &err), 0);
	check_clean(st_path("b.qcow2"));
	assert_int_equal(st_run(out, sizeof(out), "qemu-img info '%s'", st_path("b.qcow2")), 0);
	assert_null(strstr(out, "bitmaps"));
}

static void bitmap_qemu_interop(void **state)
{
	struct vx_err err = { 0 };
	struct img_bitmap_info *list;
	uint8_t buf[4096] = { 2 };
	struct img *img;
	char out[8192];
	int n;

	(void)state;
	st_skip_without_qemu();
	assert_int_equal(st_run(out, sizeof(out), "cd %s && qemu-img create -q -f qcow2 q.qcow2 16M && "
				"qemu-img bitmap --add q.qcow2 qb && "
				"qemu-io -c 'write 128k 4k' -c 'write 5M 64k' q.qcow2", st_dir), 0);
	static const uint64_t w1[] = { 2, 80 };
	expect_bits(st_path("q.qcow2"), "qb", w1, 2);
	img = open_img(st_path("q.qcow2"), IMG_RDWR);
	assert_int_equal(img_bitmap_list(img, &list, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_true(list[0].enabled);
	assert_int_equal(list[0].granularity_bits, 16);
	free(list);
	assert_int_equal(img_write(img, buf, 10 * MiB, sizeof(buf), &err), 0);
	assert_int_equal(img_close(img, &err), 0);
	check_clean(st_path("q.qcow2"));
	/* QEMU loads what we stored and keeps tracking. */
	assert_int_equal(st_run(out, sizeof(out), "qemu-io -c 'write 0 4k' '%s'", st_path("q.qcow2")), 0);
	static const uint64_t w2[] = { 0, 2, 80, 160 };
	expect_bits(st_path("q.qcow2"), "qb", w2, 4);
	/* A bitmap we add is one QEMU can drive. */
	img = open_img(st_path("q.qcow2"), IMG_RDWR);
	assert_int_equal(img_bitmap_add(img, "ours", 17, &err), 0);
	assert_int_equal(img_close(img, &err), 0);
	assert_int_equal(st_run(out, sizeof(out), "qemu-img bitmap --disable '%s' ours && "
				"qemu-io -c 'write 0 4k' '%s' && qemu-img bitmap --remove '%s' qb",
				st_path("q.qcow2"), st_path("q.qcow2"), st_path("q.qcow2")), 0);
	check_clean(st_path("q.qcow2"));
	img = open_img(st_path("q.qcow2"), IMG_RDWR);
	assert_int_equal(img_bitmap_list(img, &list, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].name, "ours");
	assert_false(list[0].enabled);   /* disabled by QEMU: we must not mark it */
	free(list);
	assert_int_equal(img_write(img, buf, 0, sizeof(buf), &err), 0);
	assert_int_equal(img_close(img, &err), 0);
	expect_bits(st_path("q.qcow2"), "ours", NULL, 0);
}

static void bitmap_unclean_close_is_inconsistent(void **state)
{
	struct img_create_opts o = { .fmt = "qcow2", .size = 4 * MiB };
	struct vx_err err = { 0 };
	struct img_bitmap_info *list;
	uint8_t *bits = NULL, buf[512] = { 3 };
	uint64_t nbits;
	unsigned g;
	struct img *img;
	int n, st;
	pid_t pid;

	(void)state;
	assert_int_equal(img_create(st_path("u.qcow2"), &o, &err), 0);
	img = open_img(st_path("u.qcow2"), IMG_RDWR);
	assert_int_equal(img_bitmap_add(img, "b", 0, &err), 0);
	assert_int_equal(img_close(img, &err), 0);
	pid = fork();
	if (pid == 0) {
		struct img *c = NULL;
		if (img_open(st_path("u.qcow2"), NULL, IMG_RDWR, &c, NULL) ||
		    img_write(c, buf, 0, sizeof(buf), NULL))
			_exit(1);
		_exit(0);   /* a crash: no img_close */
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(WEXITSTATUS(st), 0);
	img = open_img(st_path("u.qcow2"), 0);
	assert_int_equal(img_bitmap_list(img, &list, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_true(list[0].inconsistent);
	free(list);
	assert_int_equal(img_bitmap_get(img, "b", &bits, &nbits, &g, &err), -ESTALE);
	assert_non_null(strstr(err.msg, "inconsistent"));
	img_close(img, NULL);
	/* Clearing makes it usable again. */
	img = open_img(st_path("u.qcow2"), IMG_RDWR);
	assert_int_equal(img_bitmap_clear(img, "b", &err), 0);
	assert_int_equal(img_close(img, &err), 0);
	expect_bits(st_path("u.qcow2"), "b", NULL, 0);
}

/* Reverting to an internal snapshot or committing an overlay changes data
 * behind the guest's back: the bitmaps must say so, or the next incremental
 * backup would miss it. */
static void bitmap_marks_snapshot_apply_and_commit(void **state)
{
	struct img_create_opts o = { .fmt = "qcow2", .size = 4 * MiB };
	struct img_create_opts ov = { .fmt = "qcow2", .backing = "base.qcow2",
				      .backing_fmt = "qcow2" };
	uint64_t all[4 * MiB / 65536], two[] = { 16, 32 };
	struct vx_err err = { 0 };
	uint8_t buf[4096] = { 3 };
	struct img *img;

	(void)state;
	for (uint64_t i = 0; i < 4 * MiB / 65536; i++)
		all[i] = i;
	assert_int_equal(img_create(st_path("base.qcow2"), &o, &err), 0);
	img = open_img(st_path("base.qcow2"), IMG_RDWR);
	assert_int_equal(img_write(img, buf, 0, sizeof(buf), &err), 0);
	assert_int_equal(img_snapshot_create(img, "s", &err), 0);
	assert_int_equal(img_bitmap_add(img, "bk", 16, &err), 0);
	assert_int_equal(img_close(img, &err), 0);
	expect_bits(st_path("base.qcow2"), "bk", NULL, 0);
	img = open_img(st_path("base.qcow2"), IMG_RDWR);
	assert_int_equal(img_snapshot_apply(img, "s", &err), 0);
	assert_int_equal(img_close(img, &err), 0);
	expect_bits(st_path("base.qcow2"), "bk", all, sizeof(all) / sizeof(all[0]));
	/* Clear, then commit an overlay that wrote two clusters. */
	img = open_img(st_path("base.qcow2"), IMG_RDWR);
	assert_int_equal(img_bitmap_clear(img, "bk", &err), 0);
	assert_int_equal(img_close(img, &err), 0);
	assert_int_equal(img_create(st_path("top.qcow2"), &ov, &err), 0);
	img = open_img(st_path("top.qcow2"), IMG_RDWR);
	assert_int_equal(img_write(img, buf, 1 * MiB, sizeof(buf), &err), 0);
	assert_int_equal(img_write(img, buf, 2 * MiB + 100, 10, &err), 0);
	assert_int_equal(img_close(img, &err), 0);
	assert_int_equal(img_commit(st_path("top.qcow2"), &err), 0);
	expect_bits(st_path("base.qcow2"), "bk", two, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bitmap_marks_writes_and_survives_close),
		cmocka_unit_test(bitmap_qemu_interop),
		cmocka_unit_test(bitmap_marks_snapshot_apply_and_commit),
		cmocka_unit_test(bitmap_unclean_close_is_inconsistent),
	};
	return cmocka_run_group_tests(tests, st_setup, st_teardown);
}
