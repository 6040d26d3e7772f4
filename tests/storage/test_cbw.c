/*
 * Copy-before-write frozen views (storage/cbw.c): a backup taken through a
 * view while a writer thread keeps writing random blocks (ahead of the
 * backup's reader and behind it, into holes that qcow2 must allocate)
 * restores to the disk as it was when the view began, and the writer's
 * data all lands in the image; a full side store fails the backup and
 * nothing else; the dirty bitmap's handover (taken, given back on failure).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "st_helpers.h"
#include "storage/backup.h"
#include "storage/bitmap.h"
#include "storage/cbw.h"

#define MiB (1024 * 1024)
#define DISK (8 * MiB)
#define WBLK 4096

static struct img *open_rw(const char *path)
{
	struct vx_err err = { 0 };
	struct img *img = NULL;

	if (img_open(path, NULL, IMG_RDWR, &img, &err))
		print_message("img_open %s: %s\n", path, err.msg);
	assert_non_null(img);
	return img;
}

/* Data in every other 512 KiB, holes between. */
static void mkdisk(const char *name, const char *fmt)
{
	struct img_create_opts o = { .fmt = fmt, .size = DISK };
	struct vx_err err = { 0 };
	uint8_t *buf = malloc(MiB / 2);
	struct img *img;

	assert_int_equal(img_create(st_path(name), &o, &err), 0);
	img = open_rw(st_path(name));
	for (uint64_t off = 0; off < DISK; off += MiB) {
		st_fill(buf, MiB / 2, off, 7);
		assert_int_equal(img_write(img, buf, off, MiB / 2, &err), 0);
	}
	assert_int_equal(img_close(img, &err), 0);
	free(buf);
}

static uint8_t *read_all(struct img *img)
{
	struct vx_err err = { 0 };
	uint8_t *buf = malloc(img->size);

	assert_non_null(buf);
	assert_int_equal(img_read(img, buf, 0, img->size, &err), 0);
	return buf;
}

/* The guest: random 4 KiB writes, alternately ahead of and behind the reader. */
struct writer {
	struct img *img;
	uint8_t *model;           /* what the disk must hold afterwards */
	_Atomic uint64_t reader;  /* bytes the backup has passed */
	_Atomic int stop;
	uint64_t writes, ahead, behind;
	uint64_t seed;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct vx_err err = { 0 };
	uint8_t buf[WBLK];

	while (!w->stop) {
		uint64_t r = w->reader, off, nblk = DISK / WBLK;
		int go_ahead = (w->writes & 1) == 0 && r + WBLK < DISK;

		if (go_ahead || r < WBLK) {
			off = (r / WBLK + 1 + st_rand(&w->seed) % (nblk - r / WBLK - 1)) * WBLK;
			w->ahead++;
		} else {
			off = (st_rand(&w->seed) % (r / WBLK)) * WBLK;
			w->behind++;
		}
		if (off >= DISK)
			off = DISK - WBLK;
		memset(buf, (int)(w->writes % 251) + 1, sizeof(buf));
		memcpy(buf, &w->writes, sizeof(w->writes));
		assert_int_equal(img_write(w->img, buf, off, WBLK, &err), 0);
		memcpy(w->model + off, buf, WBLK);
		w->writes++;
		if (w->writes % 16 == 0)
			usleep(100);
	}
	return NULL;
}

static int track_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct writer *w = ctx;

	(void)total;
	w->reader = done * 65536;
	usleep(2000);   /* give the writer time between reads */
	return 0;
}

static void restore_equals(const char *repo, const char *id, const uint8_t *want)
{
	struct vx_err err = { 0 };
	struct img *r;
	uint8_t *got;

	assert_int_equal(backup_restore(repo, id, st_path("restored.raw"), "raw", &err), 0);
	assert_int_equal(img_open(st_path("restored.raw"), "raw", 0, &r, &err), 0);
	got = read_all(r);
	assert_memory_equal(got, want, DISK);
	free(got);
	img_close(r, NULL);
}

static void live_backup_while_writing(const char *fmt)
{
	char disk[32], repo[32], id[BACKUP_ID_MAX];
	struct backup_opts bo = { .disk = "live" };
	struct cbw_opts co = { 0 };
	struct writer w = { .seed = 42 };
	struct backup_stats bs;
	struct cbw_stats cs;
	struct vx_err err = { 0 };
	struct img *img, *view, *other;
	uint8_t *start, *now;
	pthread_t th;

	snprintf(disk, sizeof(disk), "d.%s", fmt);
	snprintf(repo, sizeof(repo), "repo-%s", fmt);
	mkdisk(disk, fmt);
	assert_int_equal(backup_repo_init(st_path(repo), 0, &err), 0);
	img = open_rw(st_path(disk));
	start = read_all(img);            /* the copy made at the start point */
	w.model = read_all(img);
	w.img = img;
	assert_int_equal(img_cbw_begin(img, &co, &view, &err), 0);
	assert_int_equal(img_cbw_begin(img, &co, &other, &err), -EBUSY);
	assert_null(other);
	assert_int_equal(pthread_create(&th, NULL, writer_main, &w), 0);
	bo.progress = track_progress;
	bo.progress_ctx = &w;
	assert_int_equal(backup_create(st_path(repo), view, &bo, id, &bs, &err), 0);
	img_cbw_stats(view, &cs);
	w.stop = 1;
	pthread_join(th, NULL);
	assert_int_equal(img_cbw_end(view, 1, &err), 0);
	print_message("%s: %llu guest writes (%llu ahead, %llu behind), %llu blocks copied, "
		      "store peak %llu KiB\n", fmt, (unsigned long long)w.writes,
		      (unsigned long long)w.ahead, (unsigned long long)w.behind,
		      (unsigned long long)cs.copied, (unsigned long long)cs.store_peak >> 10);
	assert_true(w.ahead > 10 && w.behind > 10);
	assert_true(cs.copied > 0);
	assert_int_equal(cs.failed, 0);
	/* The guest's writes all landed; the backup is the start point. */
	now = read_all(img);
	assert_memory_equal(now, w.model, DISK);
	assert_memory_not_equal(now, start, DISK);
	assert_int_equal(img_close(img, &err), 0);
	assert_int_equal(backup_verify(st_path(repo), id, &err), 0);
	restore_equals(st_path(repo), id, start);
	if (!strcmp(fmt, "qcow2") && st_have_qemu_img())
		assert_int_equal(st_qemu_check(st_path(disk), NULL, 0), 0);
	free(start);
	free(now);
	free(w.model);
}

/*
 * What a guest's init did in the lab (vmxd-livebackup): a fresh, empty
 * qcow2 disk whose dirty bitmap is created at the start point, and a
 * writer rewriting the first sector of MiB 7..1, each write flushed, while
 * the backup reads the view. Every sector must come back as the start
 * point had it (zeros: the disk was empty), and the writer's last round
 * must be in the image.
 */
struct churner {
	struct img *img;
	_Atomic int stop;
	uint64_t rounds;
};

static void *churner_main(void *arg)
{
	struct churner *c = arg;
	struct vx_err err = { 0 };
	uint8_t sec[512];

	while (!c->stop) {
		c->rounds++;
		for (int i = 7; i >= 1; i--) {
			memset(sec, 0, sizeof(sec));
			snprintf((char *)sec, sizeof(sec), "churn %llu", (unsigned long long)c->rounds);
			assert_int_equal(img_write(c->img, sec, (uint64_t)i * MiB, sizeof(sec), &err), 0);
			assert_int_equal(img_flush(c->img, &err), 0);
		}
	}
	return NULL;
}

static int slow_progress(void *ctx, uint64_t done, uint64_t total)
{
	(void)ctx;
	(void)done;
	(void)total;
	usleep(20000);
	return 0;
}

/* The restored sectors: rounds never decreasing from MiB 1 up (the churner
 * writes MiB 7 first), at most one apart, none later than the round under
 * way at the start point (at_begin), all after round 1 (round 3 had begun). */
static void restored_is_one_cut(const char *repo, const char *id, uint64_t at_begin)
{
	struct vx_err err = { 0 };
	unsigned long long g[8] = { 0 };
	uint8_t sec[512];
	struct img *r;

	assert_int_equal(backup_restore(repo, id, st_path("churn.raw"), "raw", &err), 0);
	assert_int_equal(img_open(st_path("churn.raw"), "raw", 0, &r, &err), 0);
	for (int i = 1; i <= 7; i++) {
		assert_int_equal(img_read(r, sec, (uint64_t)i * MiB, sizeof(sec), &err), 0);
		sec[sizeof(sec) - 1] = 0;
		assert_int_equal(sscanf((char *)sec, "churn %llu", &g[i]), 1);
		if (i > 1)
			assert_true(g[i] >= g[i - 1]);
	}
	assert_true(g[7] - g[1] <= 1);
	assert_true(g[1] >= 2 && g[7] <= at_begin);
	img_close(r, NULL);
}

static void cbw_backup_empty_qcow2_with_bitmap_while_churning(void **state)
{
	struct img_create_opts o = { .fmt = "qcow2", .size = DISK };
	struct cbw_opts co = { .bitmap = "vmxd-backup" };
	struct backup_opts bo = { .disk = "vda", .bitmap = "vmxd-backup", .bitmap_frozen = 1,
				  .progress = slow_progress };
	struct churner c = { 0 };
	char id[BACKUP_ID_MAX], want[32];
	struct vx_err err = { 0 };
	struct img *img, *view;
	uint8_t sec[512];
	uint64_t at_begin;
	pthread_t th;

	(void)state;
	assert_int_equal(img_create(st_path("churn.qcow2"), &o, &err), 0);
	assert_int_equal(backup_repo_init(st_path("repo-churn"), 0, &err), 0);
	img = open_rw(st_path("churn.qcow2"));
	c.img = img;
	assert_int_equal(pthread_create(&th, NULL, churner_main, &c), 0);
	while (c.rounds < 3)
		usleep(1000);
	img_lock_io(img);
	assert_int_equal(img_cbw_begin(img, &co, &view, &err), 0);
	at_begin = c.rounds;
	img_unlock_io(img);
	assert_int_equal(backup_create(st_path("repo-churn"), view, &bo, id, NULL, &err), 0);
	assert_int_equal(img_cbw_end(view, 1, &err), 0);
	/* A whole round after the start point, whatever the backup's speed. */
	while (c.rounds < at_begin + 2)
		usleep(1000);
	c.stop = 1;
	pthread_join(th, NULL);
	assert_true(c.rounds > 3);
	assert_int_equal(img_read(img, sec, 1 * MiB, sizeof(sec), &err), 0);
	snprintf(want, sizeof(want), "churn %llu", (unsigned long long)c.rounds);
	assert_string_equal((char *)sec, want);
	assert_int_equal(img_close(img, &err), 0);
	assert_int_equal(backup_verify(st_path("repo-churn"), id, &err), 0);
	restored_is_one_cut(st_path("repo-churn"), id, at_begin);
	if (st_have_qemu_img())
		assert_int_equal(st_qemu_check(st_path("churn.qcow2"), NULL, 0), 0);
}

static void cbw_backup_qcow2_while_writing(void **state)
{
	(void)state;
	live_backup_while_writing("qcow2");
}

static void cbw_backup_raw_while_writing(void **state)
{
	(void)state;
	live_backup_while_writing("raw");
}

/* Reads by hand: ahead, behind, inside a hole (allocation), read-once. */
static void cbw_view_reads_start_point(void **state)
{
	struct cbw_opts co = { .block_bits = 16 };
	struct vx_err err = { 0 };
	uint8_t *start, b[65536], x[65536];
	struct img *img, *view;
	uint64_t pnum;
	int fb;

	(void)state;
	mkdisk("v.qcow2", "qcow2");
	img = open_rw(st_path("v.qcow2"));
	start = read_all(img);
	assert_int_equal(img_cbw_begin(img, &co, &view, &err), 0);
	memset(x, 0xee, sizeof(x));
	/* The hole at 512 KiB reads as zeros: status says so, then a write. */
	assert_int_equal(img_status(view, MiB / 2, MiB / 2, &pnum, &fb, &err), 0);
	assert_int_equal(pnum, MiB / 2);
	assert_int_equal(img_write(img, x, MiB / 2 + 100, 5000, &err), 0);
	assert_int_equal(img_read(view, b, MiB / 2, sizeof(b), &err), 0);
	assert_memory_equal(b, start + MiB / 2, sizeof(b));
	/* A block ahead, written before the reader gets there. */
	assert_int_equal(img_write(img, x, 3 * MiB + 4096, 4096, &err), 0);
	assert_int_equal(img_status(view, 3 * MiB, 65536, &pnum, &fb, &err), 1);
	assert_int_equal(img_read(view, b, 3 * MiB, sizeof(b), &err), 0);
	assert_memory_equal(b, start + 3 * MiB, sizeof(b));
	/* Passed blocks are the guest's again: a second read is refused. */
	assert_int_equal(img_read(view, b, 3 * MiB, sizeof(b), &err), -ESTALE);
	/* Partial reads of one block, a write between them. */
	assert_int_equal(img_read(view, b, 0, 4096, &err), 0);
	assert_int_equal(img_write(img, x, 0, sizeof(x), &err), 0);
	assert_int_equal(img_read(view, b + 4096, 4096, 65536 - 4096, &err), 0);
	assert_memory_equal(b, start, sizeof(b));
	assert_int_equal(img_write(view, x, 0, 1, &err), -EBADF);
	assert_int_equal(img_cbw_end(view, 1, &err), 0);
	/* Detached: writes go straight through, and a new view may begin. */
	assert_int_equal(img_write(img, x, MiB, 1, &err), 0);
	assert_int_equal(img_cbw_begin(img, &co, &view, &err), 0);
	img_close(view, NULL);
	assert_null(img->cbw);
	assert_int_equal(img_close(img, &err), 0);
	free(start);
}

/* A full side store fails the backup, never the guest's write. */
static void cbw_store_full_fails_backup_only(void **state)
{
	struct cbw_opts co = { .block_bits = 16, .store_max = 2 * 65536 };
	struct backup_opts bo = { .disk = "full" };
	char id0[BACKUP_ID_MAX];
	struct vx_err err = { 0 };
	struct img *img, *view;
	struct cbw_stats cs;
	uint8_t x[4096], *model;
	struct backup_info *l;
	int n;

	(void)state;
	mkdisk("f.qcow2", "qcow2");
	assert_int_equal(backup_repo_init(st_path("repo-f"), 0, &err), 0);
	img = open_rw(st_path("f.qcow2"));
	assert_int_equal(backup_create(st_path("repo-f"), img, &bo, id0, NULL, &err), 0);
	assert_int_equal(img_cbw_begin(img, &co, &view, &err), 0);
	memset(x, 0x5a, sizeof(x));
	for (int i = 0; i < 3; i++)   /* three blocks: the third does not fit */
		assert_int_equal(img_write(img, x, (uint64_t)i * MiB + 8192, sizeof(x), &err), 0);
	model = read_all(img);
	for (int i = 0; i < 3; i++)
		assert_memory_equal(model + (uint64_t)i * MiB + 8192, x, sizeof(x));
	img_cbw_stats(view, &cs);
	assert_int_equal(cs.failed, -ENOSPC);
	assert_int_equal(backup_create(st_path("repo-f"), view, &bo, NULL, NULL, &err), -ENOSPC);
	assert_non_null(strstr(err.msg, "store is full"));
	assert_int_equal(img_cbw_end(view, 0, &err), 0);
	/* The guest carries on; the repository holds the earlier backup only. */
	assert_int_equal(img_write(img, x, 5 * MiB, sizeof(x), &err), 0);
	assert_int_equal(backup_list(st_path("repo-f"), &l, &n, &err), 0);
	assert_int_equal(n, 1);
	free(l);
	assert_int_equal(backup_verify(st_path("repo-f"), id0, &err), 0);
	assert_int_equal(img_close(img, &err), 0);
	if (st_have_qemu_img())
		assert_int_equal(st_qemu_check(st_path("f.qcow2"), NULL, 0), 0);
	free(model);
}

/* The bitmap handover: an incremental covers what changed during the full. */
static void cbw_bitmap_handover(void **state)
{
	struct cbw_opts co = { .bitmap = "bk" };
	struct backup_opts full = { .disk = "bm", .bitmap = "bk", .bitmap_frozen = 1 };
	struct backup_opts inc = { .disk = "bm", .bitmap = "bk", .bitmap_frozen = 1,
				   .incremental = 1 };
	char id1[BACKUP_ID_MAX], id2[BACKUP_ID_MAX];
	struct vx_err err = { 0 };
	struct backup_stats bs;
	struct img *img, *view;
	const uint8_t *bits;
	uint64_t nbits;
	unsigned g;
	uint8_t x[4096], *mid, *got;

	(void)state;
	mkdisk("b.qcow2", "qcow2");
	assert_int_equal(backup_repo_init(st_path("repo-b"), 0, &err), 0);
	img = open_rw(st_path("b.qcow2"));
	/* No bitmap yet: created at the start point, the backup is full. */
	assert_int_equal(img_cbw_begin(img, &co, &view, &err), 0);
	assert_int_equal(img_cbw_bitmap(view, &bits, &nbits, &g), CBW_BITMAP_NEW);
	memset(x, 0x77, sizeof(x));
	assert_int_equal(img_write(img, x, 6 * MiB, sizeof(x), &err), 0);   /* during */
	assert_int_equal(backup_create(st_path("repo-b"), view, &full, id1, NULL, &err), 0);
	assert_int_equal(img_cbw_end(view, 1, &err), 0);
	mid = read_all(img);
	/* A failed view gives its bits back. */
	assert_int_equal(img_cbw_begin(img, &co, &view, &err), 0);
	assert_int_equal(img_cbw_bitmap(view, &bits, &nbits, &g), CBW_BITMAP_TAKEN);
	assert_int_equal(nbits, DISK / 65536);
	assert_true(bits[(6 * MiB / 65536) / 8] & (1u << ((6 * MiB / 65536) % 8)));
	assert_int_equal(img_cbw_end(view, 0, &err), 0);
	/* The incremental: the write made during the full backup is in it. */
	assert_int_equal(img_cbw_begin(img, &co, &view, &err), 0);
	assert_int_equal(img_cbw_bitmap(view, &bits, &nbits, &g), CBW_BITMAP_TAKEN);
	inc.bits = bits;
	inc.nbits = nbits;
	inc.granularity_bits = g;
	assert_int_equal(img_write(img, x, 7 * MiB, sizeof(x), &err), 0);   /* after */
	assert_int_equal(backup_create(st_path("repo-b"), view, &inc, id2, &bs, &err), 0);
	assert_int_equal(bs.read_chunks, 1);
	assert_int_equal(img_cbw_end(view, 1, &err), 0);
	restore_equals(st_path("repo-b"), id2, mid);
	got = read_all(img);
	assert_memory_equal(got + 7 * MiB, x, sizeof(x));
	assert_int_equal(img_close(img, &err), 0);
	free(mid);
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cbw_backup_qcow2_while_writing),
		cmocka_unit_test(cbw_backup_raw_while_writing),
		cmocka_unit_test(cbw_view_reads_start_point),
		cmocka_unit_test(cbw_store_full_fails_backup_only),
		cmocka_unit_test(cbw_bitmap_handover),
		cmocka_unit_test(cbw_backup_empty_qcow2_with_bitmap_while_churning),
	};
	return cmocka_run_group_tests(tests, st_setup, st_teardown);
}
