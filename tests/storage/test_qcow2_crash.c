/*
 * Crash safety: a writer is killed just before its Nth write to the file, for
 * N across the whole run (data, L2, L1, refcount blocks, refcount table
 * growth, snapshot and bitmap metadata). After every kill qemu-img check
 * must call the image clean or merely leaking (exit 0 or 3, never 2), every
 * write that had completed must read back, and the image must take writes.
 *
 * The kill comes from pwrite() below, which replaces libc's for this program.
 */
#include <fcntl.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <cmocka.h>

#include "st_helpers.h"
#include "storage/bitmap.h"
#include "storage/snapshot.h"

#define SIZE   (2 * 1024 * 1024)
#define NOPS   48

static long countdown = -1;   /* >0: writes left before the kill */
static long nwrites;

/*
 * Power-loss model: every 4 KiB page written since the last fdatasync keeps
 * its content from before, in memory shared with the parent; after the kill
 * the parent puts back a random half of them, as if those pages had never
 * reached the disk.
 */
#define PLOG_PAGES 8192
struct plog {
	int active, overflow, n;
	int64_t page[PLOG_PAGES];
	uint8_t data[PLOG_PAGES][4096];
};
static struct plog *plog;

static void plog_page(int fd, int64_t pg)
{
	for (int i = 0; i < plog->n; i++)
		if (plog->page[i] == pg)
			return;
	if (plog->n == PLOG_PAGES) {
		plog->overflow = 1;
		return;
	}
	memset(plog->data[plog->n], 0, 4096);
	syscall(SYS_pread64, fd, plog->data[plog->n], 4096, (off_t)pg * 4096);
	plog->page[plog->n++] = pg;
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off);
ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	nwrites++;
	if (countdown > 0 && --countdown == 0)
		raise(SIGKILL);
	if (plog && plog->active && len)
		for (int64_t pg = off / 4096; pg <= (int64_t)((off + (off_t)len - 1) / 4096); pg++)
			plog_page(fd, pg);
	return syscall(SYS_pwrite64, fd, buf, len, off);
}

int fdatasync(int fd);
int fdatasync(int fd)
{
	int ret = (int)syscall(SYS_fdatasync, fd);

	if (plog && plog->active && ret == 0)
		plog->n = 0;
	return ret;
}

int fsync(int fd);
int fsync(int fd)
{
	int ret = (int)syscall(SYS_fsync, fd);

	if (plog && plog->active && ret == 0)
		plog->n = 0;
	return ret;
}

struct op {
	int kind;        /* 0 write, 1 discard, 2 snapshot, 3 delete snapshot, 4 bitmap */
	uint64_t off, len;
};

static void gen(int i, struct op *o)
{
	uint64_t rs = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);

	st_rand(&rs);
	o->kind = i == 4 ? 4 : i == 12 ? 2 : i == 30 ? 3 : (st_rand(&rs) % 5 == 0);
	o->off = st_rand(&rs) % SIZE;
	o->len = 1 + st_rand(&rs) % 6000;
	if (o->off + o->len > SIZE)
		o->len = SIZE - o->off;
}

static int apply(struct img *img, int i, uint8_t *buf)
{
	struct op o;

	gen(i, &o);
	switch (o.kind) {
	case 0:
		st_fill(buf, o.len, o.off, (unsigned)i);
		return img_write(img, buf, o.off, o.len, NULL);
	case 1:
		return img_discard(img, o.off, o.len, NULL);
	case 2:
		return img_snapshot_create(img, "snap", NULL);
	case 3:
		return img_snapshot_delete(img, "snap", NULL);
	default:
		return img_bitmap_add(img, "bm", 12, NULL);
	}
}

static void model(uint8_t *m, int upto)
{
	uint8_t *buf = malloc(8192);

	memset(m, 0, SIZE);
	for (int i = 0; i < upto; i++) {
		struct op o;
		gen(i, &o);
		if (o.kind == 0) {
			st_fill(buf, o.len, o.off, (unsigned)i);
			memcpy(m + o.off, buf, o.len);
		} else if (o.kind == 1) {
			memset(m + o.off, 0, o.len);
		}
	}
	free(buf);
}

static void crash_at_every_write_point(void **state)
{
	struct img_create_opts co = { .fmt = "qcow2", .size = SIZE, .cluster_bits = 9,
				      .refcount_order = 6 };
	struct vx_err err = { 0 };
	long total, step, kills = 0;
	int *done = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint8_t *m = malloc(SIZE), *got = malloc(SIZE), *buf = malloc(8192);
	const char *path = st_path("c.qcow2");
	struct img *img;
	char out[4096];

	(void)state;
	st_skip_without_qemu();
	/* A dry run counts the writes. */
	assert_int_equal(img_create(path, &co, &err), 0);
	img = NULL;
	assert_int_equal(img_open(path, NULL, IMG_RDWR, &img, &err), 0);
	nwrites = 0;
	long mark[NOPS + 1] = { 0 };
	for (int i = 0; i < NOPS; i++) {
		mark[i] = nwrites;
		assert_int_equal(apply(img, i, buf), 0);
	}
	mark[NOPS] = nwrites;
	assert_int_equal(img_close(img, &err), 0);
	total = nwrites;
	assert_int_equal(st_qemu_check(path, out, sizeof(out)), 0);
	step = total / 150 + 1;
	for (long k = 1; k <= total; k++) {
		pid_t pid;
		int dense = 0;

		/* Every write of the bitmap and snapshot operations, a sample
		 * of the rest. */
		for (int i = 0; i < NOPS; i++) {
			struct op o;
			gen(i, &o);
			if (o.kind >= 2 && k > mark[i] && k <= mark[i + 1] + 1)
				dense = 1;
		}
		if (!dense && k % step)
			continue;
		int status, rc;

		assert_int_equal(img_create(path, &co, &err), 0);
		*done = 0;
		pid = fork();
		if (pid == 0) {
			struct img *c = NULL;
			if (img_open(path, NULL, IMG_RDWR, &c, NULL))
				_exit(2);
			countdown = k;
			for (int i = 0; i < NOPS; i++) {
				if (apply(c, i, buf))
					_exit(3);
				*done = i + 1;
			}
			img_close(c, NULL);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (WIFSIGNALED(status))
			kills++;
		else
			assert_int_equal(WEXITSTATUS(status), 0);
		rc = st_qemu_check(path, out, sizeof(out));
		if (rc != 0 && rc != 3)
			print_message("kill before write %ld (after op %d): qemu-img check rc %d\n%s\n",
				      k, *done, rc, out);
		assert_true(rc == 0 || rc == 3);

		/* Completed ops read back; the one in flight may be either. */
		model(m, *done);
		img = NULL;
		if (img_open(path, NULL, IMG_RDWR, &img, &err))
			print_message("reopen after kill %ld: %s\n", k, err.msg);
		assert_non_null(img);
		if (img_read(img, got, 0, SIZE, &err))
			print_message("read after kill %ld (op %d): %s\n", k, *done, err.msg);
		assert_int_equal(err.code, 0);
		if (*done < NOPS) {
			struct op o;
			gen(*done, &o);
			if (o.kind <= 1) {
				memcpy(m + o.off, got + o.off, o.len);
			}
		}
		if (memcmp(m, got, SIZE))
			print_message("kill before write %ld: data of completed ops lost\n", k);
		assert_memory_equal(m, got, SIZE);
		/* And it keeps working. */
		memset(buf, 0x5c, 4096);
		if (img_write(img, buf, 12345, 4096, &err))
			print_message("write after kill %ld: %s\n", k, err.msg);
		assert_int_equal(err.code, 0);
		assert_int_equal(img_close(img, &err), 0);
		rc = st_qemu_check(path, out, sizeof(out));
		assert_true(rc == 0 || rc == 3);
	}
	print_message("%ld writes per run, %ld kill points\n", total, kills);
	assert_true(kills > 120);
	munmap(done, 4096);
	free(m);
	free(got);
	free(buf);
}

/*
 * The same runs, but the kill is a power cut: pages written since the last
 * fdatasync may or may not have reached the disk (a random half did). The
 * guest loses unflushed data, as with QEMU; the image must stay consistent.
 */
static void power_loss_at_every_write_point(void **state)
{
	struct img_create_opts co = { .fmt = "qcow2", .size = SIZE, .cluster_bits = 9,
				      .refcount_order = 6 };
	struct vx_err err = { 0 };
	long total, cuts = 0, reverted = 0;
	uint64_t rs = 0xc0ffee;
	uint8_t *buf = malloc(8192);
	const char *path = st_path("p.qcow2");
	struct img *img;
	char out[4096];

	(void)state;
	st_skip_without_qemu();
	plog = mmap(NULL, sizeof(*plog), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(plog != MAP_FAILED);
	assert_int_equal(img_create(path, &co, &err), 0);
	img = NULL;
	assert_int_equal(img_open(path, NULL, IMG_RDWR, &img, &err), 0);
	nwrites = 0;
	for (int i = 0; i < NOPS; i++)
		assert_int_equal(apply(img, i, buf), 0);
	assert_int_equal(img_close(img, &err), 0);
	total = nwrites;
	for (long k = 1; k <= total; k += 4) {
		pid_t pid;
		int status, rc, fd;

		assert_int_equal(img_create(path, &co, &err), 0);
		memset(plog, 0, offsetof(struct plog, page));
		pid = fork();
		if (pid == 0) {
			struct img *c = NULL;
			plog->active = 1;
			if (img_open(path, NULL, IMG_RDWR, &c, NULL))
				_exit(2);
			countdown = k;
			for (int i = 0; i < NOPS; i++)
				if (apply(c, i, buf))
					_exit(3);
			img_close(c, NULL);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status)) {
			assert_int_equal(WEXITSTATUS(status), 0);
			continue;
		}
		cuts++;
		assert_false(plog->overflow);
		fd = open(path, O_WRONLY);
		assert_true(fd >= 0);
		for (int i = 0; i < plog->n; i++) {
			if (st_rand(&rs) % 2)
				continue;
			reverted++;
			assert_int_equal(syscall(SYS_pwrite64, fd, plog->data[i], 4096,
						 (off_t)plog->page[i] * 4096), 4096);
		}
		close(fd);
		rc = st_qemu_check(path, out, sizeof(out));
		if (rc != 0 && rc != 3)
			print_message("power cut before write %ld: qemu-img check rc %d\n%s\n",
				      k, rc, out);
		assert_true(rc == 0 || rc == 3);
		img = NULL;
		if (img_open(path, NULL, IMG_RDWR, &img, &err))
			print_message("reopen after power cut %ld: %s\n", k, err.msg);
		assert_non_null(img);
		memset(buf, 0x5c, 4096);
		assert_int_equal(img_write(img, buf, 12345, 4096, &err), 0);
		assert_int_equal(img_close(img, &err), 0);
		rc = st_qemu_check(path, out, sizeof(out));
		assert_true(rc == 0 || rc == 3);
	}
	print_message("%ld power cuts, %ld pages reverted\n", cuts, reverted);
	assert_true(cuts > 80);
	munmap(plog, sizeof(*plog));
	plog = NULL;
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crash_at_every_write_point),
		cmocka_unit_test(power_loss_at_every_write_point),
	};
	return cmocka_run_group_tests(tests, st_setup, st_teardown);
}
