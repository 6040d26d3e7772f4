/*
 * qcow2 and raw through the img_* interface: create, write, read, discard,
 * backing chains, locking, refcount table growth; every image we write is
 * checked by qemu-img check and compared with qemu-img compare.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "st_helpers.h"

#define MiB (1024 * 1024)

static void create_qcow2(const char *path, uint64_t size, unsigned cbits,
			 unsigned rorder, const char *backing, const char *bfmt)
{
	struct img_create_opts o = {
		.fmt = "qcow2", .size = size, .cluster_bits = cbits,
		.refcount_order = rorder, .backing = backing, .backing_fmt = bfmt,
	};
	struct vx_err err = { 0 };
	int ret = img_create(path, &o, &err);

	if (ret)
		print_message("img_create: %s\n", err.msg);
	assert_int_equal(ret, 0);
}

static struct img *open_img(const char *path, int flags)
{
	struct vx_err err = { 0 };
	struct img *img = NULL;
	int ret = img_open(path, NULL, flags, &img, &err);

	if (ret)
		print_message("img_open %s: %s\n", path, err.msg);
	assert_int_equal(ret, 0);
	return img;
}

static void assert_clean(const char *path)
{
	char out[4096];
	int rc = st_qemu_check(path, out, sizeof(out));

	if (rc)
		print_message("qemu-img check %s (rc %d):\n%s\n", path, rc, out);
	assert_int_equal(rc, 0);
}

static void assert_same(const char *a, const char *b)
{
	char out[4096];
	int rc = st_run(out, sizeof(out), "qemu-img compare '%s' '%s'", a, b);

	if (rc)
		print_message("qemu-img compare: %s\n", out);
	assert_int_equal(rc, 0);
}

/* Writes a mix of patterns through img and the same into a raw reference. */
static void write_both(struct img *img, FILE *ref, uint64_t off, size_t len,
		       unsigned seed)
{
	struct vx_err err = { 0 };
	uint8_t *buf = malloc(len);

	assert_non_null(buf);
	st_fill(buf, len, off, seed);
	if (img_write(img, buf, off, len, &err))
		print_message("img_write: %s\n", err.msg);
	assert_int_equal(err.code, 0);
	assert_int_equal(fseeko(ref, (off_t)off, SEEK_SET), 0);
	assert_int_equal(fwrite(buf, 1, len, ref), len);
	free(buf);
}

static void raw_roundtrip(void **state)
{
	struct vx_err err = { 0 };
	struct img_create_opts o = { .fmt = "raw", .size = 4 * MiB };
	uint8_t w[10000], r[10000];
	struct img *img;

	(void)state;
	assert_int_equal(img_create(st_path("a.raw"), &o, &err), 0);
	img = open_img(st_path("a.raw"), IMG_RDWR);
	assert_string_equal(img_format(img), "raw");
	assert_int_equal(img->size, 4 * MiB);
	st_fill(w, sizeof(w), 12345, 1);
	assert_int_equal(img_write(img, w, 12345, sizeof(w), &err), 0);
	assert_int_equal(img_read(img, r, 12345, sizeof(r), &err), 0);
	assert_memory_equal(w, r, sizeof(w));
	assert_int_equal(img_discard(img, 12345, 100, &err), 0);
	assert_int_equal(img_read(img, r, 12345, 100, &err), 0);
	memset(w, 0, 100);
	assert_memory_equal(w, r, 100);
	assert_int_equal(img_read(img, r, 4 * MiB - 10, 20, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "beyond disk size"));
	assert_int_equal(img_close(img, &err), 0);
}

/* Several geometries, including tiny clusters and 1-bit / 64-bit refcounts. */
static void qcow2_write_read_geometries(void **state)
{
	static const unsigned geo[][2] = {
		{ 16, 4 }, { 9, 4 }, { 12, 7 /* order 0 */ }, { 9, 6 }, { 21, 5 }, { 12, 3 },
	};
	char name[64], refname[64];
	struct vx_err err = { 0 };

	(void)state;
	st_skip_without_qemu();
	for (size_t g = 0; g < sizeof(geo) / sizeof(geo[0]); g++) {
		uint64_t size = 8 * MiB + 3 * 512;
		uint8_t *r = malloc(MiB), *w = malloc(MiB);
		struct img *img;
		FILE *ref;

		snprintf(name, sizeof(name), "g%zu.qcow2", g);
		snprintf(refname, sizeof(refname), "g%zu.raw", g);
		create_qcow2(st_path(name), size, geo[g][0], geo[g][1], NULL, NULL);
		assert_clean(st_path(name));
		ref = fopen(st_path(refname), "w+");
		assert_non_null(ref);
		assert_int_equal(ftruncate(fileno(ref), (off_t)size), 0);
		img = open_img(st_path(name), IMG_RDWR);
		assert_int_equal(img->size, size);
		write_both(img, ref, 0, 70000, 1);
		write_both(img, ref, 3 * MiB - 100, 300000, 2);
		write_both(img, ref, size - 1000, 1000, 3);
		write_both(img, ref, 1 * MiB + 7, 5, 4);
		write_both(img, ref, 3 * MiB, 4096, 5);  /* overwrite in place */
		st_fill(w, 300000, 3 * MiB - 100, 2);
		assert_int_equal(img_read(img, r, 3 * MiB - 100, 300000, &err), 0);
		st_fill(w, 100, 3 * MiB - 100, 2);
		assert_memory_equal(r, w, 100);
		assert_int_equal(img_close(img, &err), 0);
		fclose(ref);
		assert_clean(st_path(name));
		assert_same(st_path(name), st_path(refname));
		free(r);
		free(w);
	}
}

static void qcow2_discard_reads_zero_and_frees(void **state)
{
	struct vx_err err = { 0 };
	struct img *img;
	FILE *ref;
	uint8_t z[MiB];

	(void)state;
	st_skip_without_qemu();
	create_qcow2(st_path("d.qcow2"), 16 * MiB, 16, 4, NULL, NULL);
	ref = fopen(st_path("d.raw"), "w+");
	assert_non_null(ref);
	assert_int_equal(ftruncate(fileno(ref), 16 * MiB), 0);
	img = open_img(st_path("d.qcow2"), IMG_RDWR);
	write_both(img, ref, 0, 8 * MiB, 7);
	memset(z, 0, sizeof(z));
	/* Unaligned: partial clusters are zeroed, whole ones freed. */
	assert_int_equal(img_discard(img, 1 * MiB + 1000, 2 * MiB, &err), 0);
	assert_int_equal(fseeko(ref, 1 * MiB + 1000, SEEK_SET), 0);
	assert_int_equal(fwrite(z, 1, MiB, ref), MiB);
	assert_int_equal(fwrite(z, 1, MiB, ref), MiB);
	uint8_t r[4096];
	assert_int_equal(img_read(img, r, 2 * MiB, sizeof(r), &err), 0);
	assert_memory_equal(r, z, sizeof(r));
	assert_int_equal(img_close(img, &err), 0);
	fclose(ref);
	assert_clean(st_path("d.qcow2"));
	assert_same(st_path("d.qcow2"), st_path("d.raw"));
}

static void qcow2_backing_chain_three_levels(void **state)
{
	struct vx_err err = { 0 };
	uint8_t *buf = malloc(4 * MiB), *exp = malloc(4 * MiB);
	struct img *img;
	FILE *ref;

	(void)state;
	st_skip_without_qemu();
	/* base.raw <- mid.qcow2 (qemu-img) <- top.qcow2 (ours) */
	ref = fopen(st_path("base.raw"), "w+");
	assert_non_null(ref);
	st_fill(buf, 4 * MiB, 0, 11);
	assert_int_equal(fwrite(buf, 1, 4 * MiB, ref), 4 * MiB);
	fclose(ref);
	assert_int_equal(st_run(NULL, 0, "cd %s && qemu-img create -q -f qcow2 -b base.raw -F raw mid.qcow2 && "
				"qemu-io -c 'write -P 0x5a 1M 64k' mid.qcow2", st_dir), 0);
	create_qcow2(st_path("top.qcow2"), 0, 16, 4, "mid.qcow2", "qcow2");
	img = open_img(st_path("top.qcow2"), IMG_RDWR);
	assert_int_equal(img->size, 4 * MiB);
	assert_non_null(img->backing);
	assert_non_null(img->backing->backing);
	assert_string_equal(img_format(img->backing->backing), "raw");
	assert_int_equal(img_read(img, buf, 0, 4 * MiB, &err), 0);
	st_fill(exp, 4 * MiB, 0, 11);
	memset(exp + MiB, 0x5a, 65536);
	assert_memory_equal(buf, exp, 4 * MiB);
	/* Partial write on top pulls the rest of the cluster from below. */
	memset(buf, 0xc3, 100);
	assert_int_equal(img_write(img, buf, MiB + 50, 100, &err), 0);
	memset(exp + MiB + 50, 0xc3, 100);
	/* Discard over a backing file must read zero, not the backing data. */
	assert_int_equal(img_discard(img, 2 * MiB, 65536, &err), 0);
	memset(exp + 2 * MiB, 0, 65536);
	assert_int_equal(img_read(img, buf, 0, 4 * MiB, &err), 0);
	assert_memory_equal(buf, exp, 4 * MiB);
	assert_int_equal(img_close(img, &err), 0);
	assert_clean(st_path("top.qcow2"));
	assert_int_equal(st_write_file(st_path("exp.raw"), exp, 4 * MiB), 0);
	assert_same(st_path("top.qcow2"), st_path("exp.raw"));
	free(buf);
	free(exp);
}

static void qcow2_backing_loop_refused(void **state)
{
	struct vx_err err = { 0 };
	struct img *img = NULL;

	(void)state;
	st_skip_without_qemu();
	assert_int_equal(st_run(NULL, 0, "cd %s && qemu-img create -q -f qcow2 la.qcow2 1M && "
				"qemu-img create -q -f qcow2 -b la.qcow2 -F qcow2 lb.qcow2 && "
				"qemu-img rebase -u -b lb.qcow2 -F qcow2 la.qcow2", st_dir), 0);
	assert_int_equal(img_open(st_path("lb.qcow2"), NULL, 0, &img, &err), -ELOOP);
	assert_null(img);
	assert_non_null(strstr(err.msg, "loop"));
	/* A self-reference too. */
	assert_int_equal(st_run(NULL, 0, "cd %s && qemu-img rebase -u -b self.qcow2 -F qcow2 la.qcow2 && "
				"mv la.qcow2 self.qcow2", st_dir), 0);
	assert_int_equal(img_open(st_path("self.qcow2"), NULL, 0, &img, &err), -ELOOP);
	/* A missing backing file is an error naming it. */
	assert_int_equal(st_run(NULL, 0, "cd %s && qemu-img create -q -f qcow2 -b gone.qcow2 -F qcow2 -u orphan.qcow2 1M",
				st_dir), 0);
	assert_int_equal(img_open(st_path("orphan.qcow2"), NULL, 0, &img, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "gone.qcow2"));
}

static void img_second_writer_refused(void **state)
{
	struct vx_err err = { 0 };
	struct img *a, *b = NULL;
	char out[2048];

	(void)state;
	create_qcow2(st_path("l.qcow2"), MiB, 16, 4, NULL, NULL);
	a = open_img(st_path("l.qcow2"), IMG_RDWR);
	assert_int_equal(img_open(st_path("l.qcow2"), NULL, IMG_RDWR, &b, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "in use"));
	assert_int_equal(img_open(st_path("l.qcow2"), NULL, 0, &b, &err), -EBUSY);
	/* Nor may anyone create an image over it. */
	struct img_create_opts co = { .fmt = "raw", .size = MiB };
	assert_int_equal(img_create(st_path("l.qcow2"), &co, &err), -EBUSY);
	if (st_have_qemu_img()) {
		/* QEMU sees our lock too, and we see QEMU's. */
		assert_int_not_equal(st_run(out, sizeof(out), "qemu-io -c 'write 0 4k' '%s'",
					    st_path("l.qcow2")), 0);
		assert_non_null(strstr(out, "lock"));
	}
	assert_int_equal(img_close(a, &err), 0);
	b = open_img(st_path("l.qcow2"), IMG_RDWR);
	img_close(b, NULL);
	if (st_have_qemu_img()) {
		/* qemu-io holds the image for a while; we must be refused. */
		FILE *q;
		char cmd[512];
		snprintf(cmd, sizeof(cmd), "qemu-io -c 'sleep 1500' '%s' 2>&1", st_path("l.qcow2"));
		q = popen(cmd, "r");
		assert_non_null(q);
		/* Wait, without taking a lock, until QEMU holds byte 100. */
		int fd = open(st_path("l.qcow2"), O_RDONLY), held = 0;
		assert_true(fd >= 0);
		for (int i = 0; i < 300 && !held; i++) {
			struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
					    .l_start = 100, .l_len = 1 };
			struct timespec ts = { 0, 5 * 1000 * 1000 };
			assert_int_equal(fcntl(fd, F_OFD_GETLK, &fl), 0);
			held = fl.l_type != F_UNLCK;
			if (!held)
				nanosleep(&ts, NULL);
		}
		close(fd);
		assert_true(held);
		b = NULL;
		assert_int_equal(img_open(st_path("l.qcow2"), NULL, IMG_RDWR, &b, &err), -EBUSY);
		assert_null(b);
		pclose(q);
	}
}

/* 512-byte clusters with 64-bit refcounts: the table must grow, twice. */
static void qcow2_refcount_table_grows(void **state)
{
	struct vx_err err = { 0 };
	struct img *img;
	FILE *ref;

	(void)state;
	st_skip_without_qemu();
	create_qcow2(st_path("grow.qcow2"), 24 * MiB, 9, 6, NULL, NULL);
	ref = fopen(st_path("grow.raw"), "w+");
	assert_non_null(ref);
	assert_int_equal(ftruncate(fileno(ref), 24 * MiB), 0);
	img = open_img(st_path("grow.qcow2"), IMG_RDWR);
	for (int i = 0; i < 12; i++)
		write_both(img, ref, (uint64_t)i * 2 * MiB, MiB + 512, (unsigned)i);
	assert_int_equal(img_close(img, &err), 0);
	fclose(ref);
	assert_clean(st_path("grow.qcow2"));
	assert_same(st_path("grow.qcow2"), st_path("grow.raw"));
}

/* Images qemu-img makes: plain, deflate and zstd compressed, v2. */
static void qemu_made_images_read_back(void **state)
{
	static const char *const variants[] = {
		"-O qcow2",
		"-O qcow2 -c",
		"-O qcow2 -c -o compression_type=zstd",
		"-O qcow2 -c -o cluster_size=4k",
		"-O qcow2 -o compat=0.10",
		"-O qcow2 -o cluster_size=512,refcount_bits=1",
	};
	uint8_t *buf = malloc(6 * MiB), *got = malloc(6 * MiB);
	struct vx_err err = { 0 };

	(void)state;
	st_skip_without_qemu();
	st_fill(buf, 6 * MiB, 0, 21);
	memset(buf + MiB, 0, MiB);                    /* a zero run */
	memset(buf + 3 * MiB, 0x77, MiB);             /* compressible */
	assert_int_equal(st_write_file(st_path("src.raw"), buf, 6 * MiB), 0);
	for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
		struct img *img;
		assert_int_equal(st_run(NULL, 0, "qemu-img convert -f raw %s '%s' '%s'",
					variants[v], st_path("src.raw"), st_path("conv.qcow2")), 0);
		img = open_img(st_path("conv.qcow2"), 0);
		assert_int_equal(img->size, 6 * MiB);
		memset(got, 0xee, 6 * MiB);
		if (img_read(img, got, 0, 6 * MiB, &err))
			print_message("%s: %s\n", variants[v], err.msg);
		assert_int_equal(err.code, 0);
		assert_memory_equal(got, buf, 6 * MiB);
		img_close(img, NULL);
	}
	/* Writing over compressed clusters replaces them; check stays clean. */
	assert_int_equal(st_run(NULL, 0, "qemu-img convert -f raw -O qcow2 -c '%s' '%s'",
				st_path("src.raw"), st_path("conv.qcow2")), 0);
	struct img *img = open_img(st_path("conv.qcow2"), IMG_RDWR);
	memset(buf + 3 * MiB + 100, 0x11, 200000);
	assert_int_equal(img_write(img, buf + 3 * MiB + 100, 3 * MiB + 100, 200000, &err), 0);
	assert_int_equal(img_discard(img, 0, 256 * 1024, &err), 0);
	memset(buf, 0, 256 * 1024);
	assert_int_equal(img_close(img, &err), 0);
	assert_clean(st_path("conv.qcow2"));
	assert_int_equal(st_write_file(st_path("exp.raw"), buf, 6 * MiB), 0);
	assert_same(st_path("conv.qcow2"), st_path("exp.raw"));
	free(buf);
	free(got);
}

/* A chain qemu-img builds end to end reads like qemu-img says it does. */
static void qemu_made_chain_reads_back(void **state)
{
	uint8_t *got = malloc(4 * MiB), *exp = malloc(4 * MiB);
	struct vx_err err = { 0 };
	struct img *img;
	FILE *f;

	(void)state;
	st_skip_without_qemu();
	assert_int_equal(st_run(NULL, 0, "cd %s && qemu-img create -q -f qcow2 cb.qcow2 4M && "
				"qemu-io -c 'write -P 0x11 0 2M' cb.qcow2 && "
				"qemu-img create -q -f qcow2 -b cb.qcow2 -F qcow2 -o cluster_size=4k cm.qcow2 && "
				"qemu-io -c 'write -P 0x22 512k 1M' -c 'write -z 1536k 8k' cm.qcow2 && "
				"qemu-img create -q -f qcow2 -b cm.qcow2 -F qcow2 ct.qcow2 && "
				"qemu-io -c 'write -P 0x33 1M 64k' -c 'discard 0 64k' -c 'write -P 0x44 3M 100k' ct.qcow2 && "
				"qemu-img convert -O raw ct.qcow2 ct.raw", st_dir), 0);
	f = fopen(st_path("ct.raw"), "rb");
	assert_non_null(f);
	assert_int_equal(fread(exp, 1, 4 * MiB, f), 4 * MiB);
	fclose(f);
	img = open_img(st_path("ct.qcow2"), 0);
	assert_int_equal(img_read(img, got, 0, 4 * MiB, &err), 0);
	assert_memory_equal(got, exp, 4 * MiB);
	img_close(img, NULL);
	free(got);
	free(exp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(raw_roundtrip),
		cmocka_unit_test(qcow2_write_read_geometries),
		cmocka_unit_test(qcow2_discard_reads_zero_and_frees),
		cmocka_unit_test(qcow2_backing_chain_three_levels),
		cmocka_unit_test(qcow2_backing_loop_refused),
		cmocka_unit_test(img_second_writer_refused),
		cmocka_unit_test(qcow2_refcount_table_grows),
		cmocka_unit_test(qemu_made_images_read_back),
		cmocka_unit_test(qemu_made_chain_reads_back),
	};
	return cmocka_run_group_tests(tests, st_setup, st_teardown);
}
