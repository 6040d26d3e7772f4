/*
 * Internal snapshots against qemu-img, and the randomized model test: random
 * writes, discards and snapshot operations on an image and on an in-memory
 * model, checked after every step and by qemu-img check at the end.
 * ST_SEED=n reproduces a run; the seed is printed on failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "st_helpers.h"
#include "storage/snapshot.h"

#define MiB (1024 * 1024)

static struct img *open_rw(const char *path)
{
	struct vx_err err = { 0 };
	struct img *img = NULL;

	if (img_open(path, NULL, IMG_RDWR, &img, &err))
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

/* The snapshot's contents as qemu-img sees them equal buf. */
static void check_snapshot_content(const char *path, const char *snap,
				   const uint8_t *buf, size_t len)
{
	uint8_t *got = malloc(len);
	FILE *f;

	assert_int_equal(st_run(NULL, 0, "qemu-img convert -f qcow2 -l snapshot.name=%s -O raw '%s' '%s'",
				snap, path, st_path("snapout.raw")), 0);
	f = fopen(st_path("snapout.raw"), "rb");
	assert_non_null(f);
	assert_int_equal(fread(got, 1, len, f), len);
	fclose(f);
	assert_memory_equal(got, buf, len);
	free(got);
}

static void qcow2_snapshot_lifecycle(void **state)
{
	struct img_create_opts o = { .fmt = "qcow2", .size = 4 * MiB, .cluster_bits = 12 };
	struct vx_err err = { 0 };
	uint8_t *a = malloc(4 * MiB), *b = malloc(4 * MiB), *r = malloc(4 * MiB);
	struct img_snapshot_info *list;
	struct img *img;
	char out[4096];
	int n;

	(void)state;
	st_skip_without_qemu();
	assert_int_equal(img_create(st_path("s.qcow2"), &o, &err), 0);
	img = open_rw(st_path("s.qcow2"));
	st_fill(a, 4 * MiB, 0, 1);
	assert_int_equal(img_write(img, a, 0, 4 * MiB, &err), 0);
	assert_int_equal(img_snapshot_create(img, "one", &err), 0);
	assert_int_equal(img_snapshot_create(img, "one", &err), -EEXIST);
	memcpy(b, a, 4 * MiB);
	st_fill(b + MiB + 3, 100000, MiB + 3, 2);
	assert_int_equal(img_write(img, b + MiB + 3, MiB + 3, 100000, &err), 0);
	assert_int_equal(img_discard(img, 2 * MiB, MiB, &err), 0);
	memset(b + 2 * MiB, 0, MiB);
	assert_int_equal(img_snapshot_create(img, "two", &err), 0);
	assert_int_equal(img_write(img, a, 0, 8192, &err), 0);  /* unchanged data, new clusters */
	assert_int_equal(img_snapshot_list(img, &list, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].name, "one");
	assert_string_equal(list[1].id, "2");
	assert_int_equal(list[1].disk_size, 4 * MiB);
	free(list);
	assert_int_equal(img_close(img, &err), 0);
	check_clean(st_path("s.qcow2"));
	assert_int_equal(st_run(out, sizeof(out), "qemu-img snapshot -l '%s'", st_path("s.qcow2")), 0);
	assert_non_null(strstr(out, "one"));
	assert_non_null(strstr(out, "two"));
	check_snapshot_content(st_path("s.qcow2"), "one", a, 4 * MiB);
	check_snapshot_content(st_path("s.qcow2"), "two", b, 4 * MiB);

	img = open_rw(st_path("s.qcow2"));
	assert_int_equal(img_snapshot_apply(img, "one", &err), 0);
	assert_int_equal(img_read(img, r, 0, 4 * MiB, &err), 0);
	assert_memory_equal(r, a, 4 * MiB);
	assert_int_equal(img_snapshot_apply(img, "nope", &err), -ENOENT);
	assert_int_equal(img_snapshot_delete(img, "two", &err), 0);
	assert_int_equal(img_close(img, &err), 0);
	check_clean(st_path("s.qcow2"));
	img = open_rw(st_path("s.qcow2"));
	assert_int_equal(img_snapshot_delete(img, "1", &err), 0);   /* by id */
	assert_int_equal(img_snapshot_list(img, &list, &n, &err), 0);
	assert_int_equal(n, 0);
	free(list);
	assert_int_equal(img_close(img, &err), 0);
	check_clean(st_path("s.qcow2"));
	free(a);
	free(b);
	free(r);
}

static void qemu_made_snapshots_work_here(void **state)
{
	struct vx_err err = { 0 };
	struct img_snapshot_info *list;
	uint8_t buf[65536], exp[65536];
	struct img *img;
	int n;

	(void)state;
	st_skip_without_qemu();
	assert_int_equal(st_run(NULL, 0, "cd %s && qemu-img create -q -f qcow2 q.qcow2 2M && "
				"qemu-io -c 'write -P 0x11 0 64k' q.qcow2 && "
				"qemu-img snapshot -c first q.qcow2 && "
				"qemu-io -c 'write -P 0x22 0 32k' q.qcow2", st_dir), 0);
	img = open_rw(st_path("q.qcow2"));
	assert_int_equal(img_snapshot_list(img, &list, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].name, "first");
	free(list);
	memset(exp, 0x22, 32768);
	memset(exp + 32768, 0x11, 32768);
	assert_int_equal(img_read(img, buf, 0, sizeof(buf), &err), 0);
	assert_memory_equal(buf, exp, sizeof(buf));
	assert_int_equal(img_snapshot_apply(img, "first", &err), 0);
	memset(exp, 0x11, 32768);
	assert_int_equal(img_read(img, buf, 0, sizeof(buf), &err), 0);
	assert_memory_equal(buf, exp, sizeof(buf));
	assert_int_equal(img_snapshot_create(img, "ours", &err), 0);
	assert_int_equal(img_close(img, &err), 0);
	check_clean(st_path("q.qcow2"));
	assert_int_equal(st_run(NULL, 0, "qemu-img snapshot -d first '%s'", st_path("q.qcow2")), 0);
	check_clean(st_path("q.qcow2"));
}

struct model_snap {
	char name[16];
	uint8_t *data;
};

static void random_ops(int with_backing)
{
	const uint64_t size = 3 * MiB + 4096 * 5;
	struct img_create_opts o = { .fmt = "qcow2", .size = size, .cluster_bits = 12 };
	struct vx_err err = { 0 };
	struct model_snap snaps[4];
	int nsnaps = 0, steps = 600, next_name = 0;
	uint64_t seed = 0x5eed1234, rs;
	uint8_t *model, *buf;
	struct img *img;
	const char *env = getenv("ST_SEED");

	st_skip_without_qemu();
	if (env)
		seed = strtoull(env, NULL, 0);
	seed += (uint64_t)with_backing;
	rs = seed;
	model = calloc(1, size);
	buf = malloc(size);
	if (with_backing) {
		/* Discards must hide the backing data; partial writes pull it up. */
		st_fill(model, size, 0, 77);
		assert_int_equal(st_write_file(st_path("mbase.raw"), model, size), 0);
		o.backing = "mbase.raw";
		o.backing_fmt = "raw";
	}
	assert_int_equal(img_create(st_path("m.qcow2"), &o, &err), 0);
	img = open_rw(st_path("m.qcow2"));
	for (int step = 0; step < steps; step++) {
		unsigned op = (unsigned)(st_rand(&rs) % 100);
		uint64_t off = st_rand(&rs) % size;
		uint64_t len = 1 + st_rand(&rs) % (3 * 4096 + 100);
		int ret = 0;

		if (st_rand(&rs) % 2)   /* half aligned, half not */
			off &= ~4095ull;
		if (off + len > size)
			len = size - off;
		if (op < 55) {
			st_fill(buf, len, off, (unsigned)step);
			ret = img_write(img, buf, off, len, &err);
			memcpy(model + off, buf, len);
		} else if (op < 70) {
			ret = img_discard(img, off, len, &err);
			memset(model + off, 0, len);
		} else if (op < 78 && nsnaps < 4) {
			struct model_snap *m = &snaps[nsnaps++];
			snprintf(m->name, sizeof(m->name), "s%d", next_name++);
			m->data = malloc(size);
			memcpy(m->data, model, size);
			ret = img_snapshot_create(img, m->name, &err);
		} else if (op < 84 && nsnaps) {
			struct model_snap *m = &snaps[st_rand(&rs) % (uint64_t)nsnaps];
			memcpy(model, m->data, size);
			ret = img_snapshot_apply(img, m->name, &err);
		} else if (op < 90 && nsnaps) {
			int k = (int)(st_rand(&rs) % (uint64_t)nsnaps);
			ret = img_snapshot_delete(img, snaps[k].name, &err);
			free(snaps[k].data);
			snaps[k] = snaps[--nsnaps];
		} else if (op < 93) {
			ret = img_close(img, &err);
			img = open_rw(st_path("m.qcow2"));
		}
		if (ret) {
			print_message("seed 0x%llx step %d op %u: %s\n",
				      (unsigned long long)seed, step, op, err.msg);
			fail();
		}
		/* The touched range every step, everything every 25 steps. */
		assert_int_equal(img_read(img, buf, off, len, &err), 0);
		if (memcmp(buf, model + off, len)) {
			print_message("seed 0x%llx step %d op %u: range differs\n",
				      (unsigned long long)seed, step, op);
			fail();
		}
		if (step % 25 == 24) {
			assert_int_equal(img_read(img, buf, 0, size, &err), 0);
			if (memcmp(buf, model, size)) {
				print_message("seed 0x%llx step %d: disk differs\n",
					      (unsigned long long)seed, step);
				fail();
			}
		}
		if (step % 200 == 199) {
			assert_int_equal(img_close(img, &err), 0);
			check_clean(st_path("m.qcow2"));
			img = open_rw(st_path("m.qcow2"));
		}
	}
	assert_int_equal(img_close(img, &err), 0);
	check_clean(st_path("m.qcow2"));
	assert_int_equal(st_write_file(st_path("m.raw"), model, size), 0);
	assert_int_equal(st_run(NULL, 0, "qemu-img compare '%s' '%s'",
				st_path("m.qcow2"), st_path("m.raw")), 0);
	for (int k = 0; k < nsnaps; k++) {
		check_snapshot_content(st_path("m.qcow2"), snaps[k].name, snaps[k].data, size);
		free(snaps[k].data);
	}
	free(model);
	free(buf);
}

static void qcow2_random_ops_match_model(void **state)
{
	(void)state;
	random_ops(0);
}

static void qcow2_random_ops_over_backing_match_model(void **state)
{
	(void)state;
	random_ops(1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(qcow2_snapshot_lifecycle),
		cmocka_unit_test(qemu_made_snapshots_work_here),
		cmocka_unit_test(qcow2_random_ops_match_model),
		cmocka_unit_test(qcow2_random_ops_over_backing_match_model),
	};
	return cmocka_run_group_tests(tests, st_setup, st_teardown);
}
