/*
 * The backup engine: full and incremental backups (incrementals read only
 * what the persistent bitmap marks, across a close and reopen), dedup across
 * backups and disks, verify catching corrupt chunks, restore compared with
 * qemu-img compare, prune + gc (one disk or all, with what they freed), and kills at random points of backup and
 * prune leaving every earlier backup verifiable and restorable.
 */
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "st_helpers.h"
#include "storage/backup.h"
#include "storage/bitmap.h"

#define MiB (1024 * 1024)
#define DISK (16 * MiB)

static struct img *open_rw(const char *path)
{
	struct vx_err err = { 0 };
	struct img *img = NULL;

	if (img_open(path, NULL, IMG_RDWR, &img, &err))
		print_message("img_open %s: %s\n", path, err.msg);
	assert_non_null(img);
	return img;
}

static void mkdisk(const char *name, unsigned seed)
{
	struct img_create_opts o = { .fmt = "qcow2", .size = DISK };
	struct vx_err err = { 0 };
	uint8_t *buf = malloc(MiB);
	struct img *img;

	assert_int_equal(img_create(st_path(name), &o, &err), 0);
	img = open_rw(st_path(name));
	/* Data in half the megabytes, the rest never written. */
	for (int i = 0; i < 16; i += 2) {
		st_fill(buf, MiB, (uint64_t)i * MiB, seed);
		assert_int_equal(img_write(img, buf, (uint64_t)i * MiB, MiB, &err), 0);
	}
	assert_int_equal(img_bitmap_add(img, "bk", 16, &err), 0);
	assert_int_equal(img_close(img, &err), 0);
	free(buf);
}

static void same(const char *a, const char *b)
{
	char out[2048];
	int rc = st_run(out, sizeof(out), "qemu-img compare '%s' '%s'", a, b);

	if (rc)
		print_message("compare %s %s: %s\n", a, b, out);
	assert_int_equal(rc, 0);
}

static void snapshot_raw(const char *img, const char *raw)
{
	assert_int_equal(st_run(NULL, 0, "qemu-img convert -U -O raw '%s' '%s'", img, raw), 0);
}

static void backup_full_incremental_restore(void **state)
{
	struct backup_opts full = { .disk = "vm1", .bitmap = "bk", .clear_bitmap = 1 };
	struct backup_opts inc = { .disk = "vm1", .bitmap = "bk", .incremental = 1,
				   .clear_bitmap = 1 };
	char id1[BACKUP_ID_MAX], id2[BACKUP_ID_MAX];
	struct backup_stats st;
	struct vx_err err = { 0 };
	struct backup_info *list;
	uint8_t buf[4096];
	struct img *img;
	int n;

	(void)state;
	st_skip_without_qemu();
	mkdisk("d.qcow2", 1);
	assert_int_equal(backup_repo_init(st_path("repo"), 0, &err), 0);
	assert_int_equal(backup_repo_init(st_path("repo"), 0, &err), -EEXIST);
	img = open_rw(st_path("d.qcow2"));
	assert_int_equal(backup_create(st_path("repo"), img, &inc, id1, &st, &err), -ENOENT);
	assert_int_equal(backup_create(st_path("repo"), img, &full, id1, &st, &err), 0);
	assert_int_equal(st.chunks, DISK / 65536);
	assert_int_equal(st.new_chunks, 8 * MiB / 65536);
	assert_int_equal(st.zero_chunks, 8 * MiB / 65536);
	assert_int_equal(st.bytes_read, 8 * MiB);   /* holes are not read */
	assert_int_equal(img_close(img, &err), 0);
	snapshot_raw(st_path("d.qcow2"), st_path("t1.raw"));

	/* Change 5 clusters (about 2%), then close: the VM "stopped". */
	img = open_rw(st_path("d.qcow2"));
	memset(buf, 0xab, sizeof(buf));
	for (int i = 0; i < 5; i++)
		assert_int_equal(img_write(img, buf, (uint64_t)i * 3 * MiB + 100, sizeof(buf), &err), 0);
	assert_int_equal(img_close(img, &err), 0);
	snapshot_raw(st_path("d.qcow2"), st_path("t2.raw"));

	img = open_rw(st_path("d.qcow2"));
	assert_int_equal(backup_create(st_path("repo"), img, &inc, id2, &st, &err), 0);
	assert_int_equal(st.read_chunks, 5);
	/* 3M+100 and 9M+100 were holes: the same new chunk, stored once. */
	assert_int_equal(st.new_chunks, 4);
	assert_int_equal(st.dedup_chunks, 1);
	assert_int_equal(st.bytes_read, 5 * 65536);
	assert_int_equal(img_close(img, &err), 0);

	assert_int_equal(backup_list(st_path("repo"), &list, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].id, id1);
	assert_string_equal(list[1].parent, id1);
	assert_true(list[1].incremental);
	free(list);
	assert_int_equal(backup_verify(st_path("repo"), id1, &err), 0);
	assert_int_equal(backup_verify(st_path("repo"), id2, &err), 0);
	assert_int_equal(backup_restore(st_path("repo"), id1, st_path("r1.raw"), "raw", &err), 0);
	assert_int_equal(backup_restore(st_path("repo"), id2, st_path("r2.qcow2"), "qcow2", &err), 0);
	same(st_path("r1.raw"), st_path("t1.raw"));
	same(st_path("r2.qcow2"), st_path("t2.raw"));
	assert_int_equal(st_qemu_check(st_path("r2.qcow2"), NULL, 0), 0);
	assert_int_equal(backup_verify(st_path("repo"), "nope", &err), -ENOENT);
	assert_int_equal(backup_verify(st_path("repo"), "../etc/passwd", &err), -EINVAL);
}

/* Counts calls; asks to stop at the second (after 64 chunks). */
static int stop_at_second(void *ctx, uint64_t done, uint64_t total)
{
	int *calls = ctx;

	assert_true(done < total);
	return ++*calls == 2;
}

static void backup_cancel_from_progress_leaves_nothing(void **state)
{
	struct backup_opts o = { .disk = "vm1", .bitmap = "bk",
				 .progress = stop_at_second };
	char id[BACKUP_ID_MAX], path[600];
	struct vx_err err = { 0 };
	struct backup_info *list;
	struct img *img;
	int n, calls = 0;

	(void)state;
	mkdisk("c.qcow2", 3);
	assert_int_equal(backup_repo_init(st_path("crepo"), 0, &err), 0);
	img = open_rw(st_path("c.qcow2"));
	o.progress_ctx = &calls;
	assert_int_equal(backup_create(st_path("crepo"), img, &o, id, NULL, &err), -ECANCELED);
	assert_int_equal(calls, 2);
	assert_int_equal(backup_list(st_path("crepo"), &list, &n, &err), 0);
	assert_int_equal(n, 0);
	free(list);
	/* Nothing left in tmp/ either. */
	snprintf(path, sizeof(path), "test -z \"$(ls -A '%s/tmp')\"", st_path("crepo"));
	assert_int_equal(system(path), 0);
	assert_int_equal(img_close(img, &err), 0);
}

/* Records the calls; stops at call stop_at (0: never). */
struct read_calls {
	int calls, stop_at;
	uint64_t last_done, total;
};

static int read_progress_cb(void *ctx, uint64_t done, uint64_t total)
{
	struct read_calls *rc = ctx;

	assert_true(done < total);
	assert_true(rc->calls == 0 || done > rc->last_done);
	rc->last_done = done;
	rc->total = total;
	return ++rc->calls == rc->stop_at;
}

/*
 * verify and restore report progress every 64 chunks and stop when the
 * callback asks: a cancelled restore leaves neither the image nor its temp
 * file; the old entry points still work without a callback.
 */
static void backup_restore_verify_progress_and_cancel(void **state)
{
	struct backup_opts bo = { .disk = "vm1" };
	struct read_calls rc = { 0 };
	struct backup_read_opts o = { read_progress_cb, &rc };
	char id[BACKUP_ID_MAX], cmd[700];
	struct vx_err err = { 0 };
	struct img *img;

	(void)state;
	mkdisk("p.qcow2", 5);
	assert_int_equal(backup_repo_init(st_path("prepo"), 0, &err), 0);
	img = open_rw(st_path("p.qcow2"));
	assert_int_equal(backup_create(st_path("prepo"), img, &bo, id, NULL, &err), 0);
	assert_int_equal(img_close(img, &err), 0);

	/* 256 chunks of 64 KiB: called at 0, 64, 128 and 192. */
	assert_int_equal(backup_verify_ex(st_path("prepo"), id, &o, &err), 0);
	assert_int_equal(rc.calls, 4);
	assert_int_equal(rc.last_done, 192);
	assert_int_equal(rc.total, DISK / 65536);
	memset(&rc, 0, sizeof(rc));
	rc.stop_at = 2;
	assert_int_equal(backup_verify_ex(st_path("prepo"), id, &o, &err), -ECANCELED);
	assert_int_equal(rc.calls, 2);

	memset(&rc, 0, sizeof(rc));
	rc.stop_at = 3;
	assert_int_equal(backup_restore_ex(st_path("prepo"), id, st_path("pr.qcow2"),
					   "qcow2", &o, &err), -ECANCELED);
	assert_int_equal(rc.calls, 3);
	assert_int_not_equal(access(st_path("pr.qcow2"), F_OK), 0);
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls '%s'.restore-* 2>/dev/null)\"",
		 st_path("pr.qcow2"));
	assert_int_equal(system(cmd), 0);

	memset(&rc, 0, sizeof(rc));
	assert_int_equal(backup_restore_ex(st_path("prepo"), id, st_path("pr.qcow2"),
					   "qcow2", &o, &err), 0);
	assert_int_equal(rc.calls, 4);
	if (st_have_qemu_img())
		same(st_path("pr.qcow2"), st_path("p.qcow2"));
}

static void backup_dedup_across_disks(void **state)
{
	struct backup_opts a = { .disk = "a" }, b = { .disk = "b" };
	struct backup_stats st;
	struct vx_err err = { 0 };
	struct img *img;

	(void)state;
	mkdisk("da.qcow2", 7);
	assert_int_equal(st_run(NULL, 0, "cp '%s' '%s'", st_path("da.qcow2"), st_path("db.qcow2")), 0);
	assert_int_equal(backup_repo_init(st_path("repo2"), 0, &err), 0);
	img = open_rw(st_path("da.qcow2"));
	assert_int_equal(backup_create(st_path("repo2"), img, &a, NULL, &st, &err), 0);
	assert_int_equal(st.new_chunks, 128);
	img_close(img, NULL);
	img = open_rw(st_path("db.qcow2"));
	assert_int_equal(backup_create(st_path("repo2"), img, &b, NULL, &st, &err), 0);
	assert_int_equal(st.new_chunks, 0);
	assert_int_equal(st.dedup_chunks, 128);
	img_close(img, NULL);
}

static void backup_verify_detects_corruption(void **state)
{
	struct backup_opts o = { .disk = "c" };
	char id[BACKUP_ID_MAX], out[4096], chunk[512];
	struct vx_err err = { 0 };
	struct img *img;

	(void)state;
	mkdisk("dc.qcow2", 9);
	assert_int_equal(backup_repo_init(st_path("repo3"), 0, &err), 0);
	img = open_rw(st_path("dc.qcow2"));
	assert_int_equal(backup_create(st_path("repo3"), img, &o, id, NULL, &err), 0);
	img_close(img, NULL);
	assert_int_equal(st_run(out, sizeof(out), "ls %s/packs/*.pack | head -1", st_path("repo3")), 0);
	sscanf(out, "%511s", chunk);
	/* Flip one byte inside the first compressed chunk of the pack. */
	assert_int_equal(st_run(NULL, 0, "printf '\\377' | dd of='%s' bs=1 seek=20 conv=notrunc", chunk), 0);
	assert_int_equal(backup_verify(st_path("repo3"), id, &err), -EIO);
	assert_non_null(strstr(err.msg, "corrupt"));
	assert_int_equal(backup_restore(st_path("repo3"), id, st_path("bad.raw"), "raw", &err), -EIO);
	assert_int_equal(access(st_path("bad.raw"), F_OK), -1);   /* no half image */
	assert_int_equal(st_run(out, sizeof(out), "ls %s | grep -c restore", st_dir), 1);
	unlink(chunk);
	assert_int_equal(backup_verify(st_path("repo3"), id, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "missing"));
}

static void backup_prune_and_gc(void **state)
{
	struct backup_opts o = { .disk = "p" };
	char ids[3][BACKUP_ID_MAX];
	struct backup_info *list;
	struct vx_err err = { 0 };
	uint64_t removed = 0;
	uint8_t buf[65536];
	struct img *img;
	int n;

	(void)state;
	st_skip_without_qemu();
	mkdisk("dp.qcow2", 3);
	assert_int_equal(backup_repo_init(st_path("repo4"), 0, &err), 0);
	img = open_rw(st_path("dp.qcow2"));
	for (int i = 0; i < 3; i++) {
		st_fill(buf, sizeof(buf), 0, 100 + (unsigned)i);
		assert_int_equal(img_write(img, buf, 0, sizeof(buf), &err), 0);
		assert_int_equal(backup_create(st_path("repo4"), img, &o, ids[i], NULL, &err), 0);
	}
	img_close(img, NULL);
	assert_int_equal(backup_gc(st_path("repo4"), &removed, &err), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(backup_prune(st_path("repo4"), "p", 1, &err), 0);
	assert_int_equal(backup_list(st_path("repo4"), &list, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].id, ids[2]);
	free(list);
	/* The two older first chunks went; nothing else did. */
	uint64_t chunks, bytes;
	assert_int_equal(backup_repo_usage(st_path("repo4"), &chunks, &bytes, &err), 0);
	assert_int_equal(chunks, 128);
	assert_int_equal(st_run(NULL, 0, "test $(ls %s/packs | wc -l) -le 6", st_path("repo4")), 0);
	assert_int_equal(backup_verify(st_path("repo4"), ids[2], &err), 0);
	assert_int_equal(backup_restore(st_path("repo4"), ids[2], st_path("rp.raw"), "raw", &err), 0);
	same(st_path("rp.raw"), st_path("dp.qcow2"));
}

/* Backs up three versions of name (first chunk changed each time). */
static void backup_three(const char *repo, const char *name, unsigned seed,
			 char last[BACKUP_ID_MAX])
{
	struct backup_opts o = { .disk = name };
	struct vx_err err = { 0 };
	char file[64];
	uint8_t buf[65536];
	struct img *img;

	snprintf(file, sizeof(file), "%s.qcow2", name);
	mkdisk(file, seed);
	img = open_rw(st_path(file));
	for (unsigned i = 0; i < 3; i++) {
		st_fill(buf, sizeof(buf), 0, seed * 100 + i);
		assert_int_equal(img_write(img, buf, 0, sizeof(buf), &err), 0);
		assert_int_equal(backup_create(repo, img, &o, last, NULL, &err), 0);
	}
	img_close(img, NULL);
}

/* Prune of every disk keeps each one's newest; the counts are what went. */
static void backup_prune_every_disk_counts(void **state)
{
	char last[2][BACKUP_ID_MAX], repo[256];
	struct backup_freed fr;
	struct backup_info *list;
	struct vx_err err = { 0 };
	uint64_t c0, b0, c1, b1;
	int n;

	(void)state;
	st_skip_without_qemu();
	/* A copy: st_path's buffers are reused. */
	snprintf(repo, sizeof(repo), "%s", st_path("repo-every"));
	assert_int_equal(backup_repo_init(repo, 0, &err), 0);
	backup_three(repo, "ex", 7, last[0]);
	backup_three(repo, "ey", 8, last[1]);
	assert_int_equal(backup_repo_usage(repo, &c0, &b0, &err), 0);
	assert_int_equal(c0, 2 * (128 + 2));
	assert_int_equal(backup_prune(repo, NULL, 1, &err), -EINVAL);
	assert_int_equal(backup_prune_ex(repo, NULL, 1, &fr, &err), 0);
	assert_int_equal(fr.backups, 4);
	assert_int_equal(backup_repo_usage(repo, &c1, &b1, &err), 0);
	assert_int_equal(c1, 256);
	assert_int_equal(fr.chunks, c0 - c1);
	assert_int_equal(fr.bytes, b0 - b1);
	assert_true(fr.bytes > 0);
	assert_int_equal(backup_list(repo, &list, &n, &err), 0);
	assert_int_equal(n, 2);
	for (int i = 0; i < n; i++)
		assert_true(!strcmp(list[i].id, last[0]) || !strcmp(list[i].id, last[1]));
	free(list);
	/* Nothing left to collect; a second prune deletes nothing. */
	assert_int_equal(backup_gc_ex(repo, &fr, &err), 0);
	assert_int_equal(fr.chunks, 0);
	assert_int_equal(fr.bytes, 0);
	assert_int_equal(backup_prune_ex(repo, "ex", 1, &fr, &err), 0);
	assert_int_equal(fr.backups, 0);
	assert_int_equal(backup_verify(repo, last[1], &err), 0);
}

static void backup_incremental_needs_consistent_bitmap(void **state)
{
	struct backup_opts full = { .disk = "i", .bitmap = "bk", .clear_bitmap = 1 };
	struct backup_opts inc = { .disk = "i", .bitmap = "bk", .incremental = 1 };
	char id[BACKUP_ID_MAX];
	struct backup_stats bs;
	struct vx_err err = { 0 };
	struct img *img;
	uint8_t b = 1;
	pid_t pid;
	int st;

	(void)state;
	mkdisk("di.qcow2", 4);
	assert_int_equal(backup_repo_init(st_path("repo5"), 0, &err), 0);
	img = open_rw(st_path("di.qcow2"));
	assert_int_equal(backup_create(st_path("repo5"), img, &full, NULL, NULL, &err), 0);
	img_close(img, NULL);
	pid = fork();
	if (pid == 0) {   /* a writer that crashes: bitmap left in_use */
		struct img *c = NULL;
		img_open(st_path("di.qcow2"), NULL, IMG_RDWR, &c, NULL);
		img_write(c, &b, 0, 1, NULL);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	img = open_rw(st_path("di.qcow2"));
	assert_int_equal(backup_create(st_path("repo5"), img, &inc, NULL, NULL, &err), -ESTALE);
	assert_non_null(strstr(err.msg, "inconsistent"));
	assert_non_null(strstr(err.msg, "full backup"));
	img_close(img, NULL);
	/* Read-only, with the in_use flag still in the file: refused too. */
	assert_int_equal(img_open(st_path("di.qcow2"), NULL, 0, &img, &err), 0);
	assert_int_equal(backup_create(st_path("repo5"), img, &inc, NULL, NULL, &err), -ESTALE);
	img_close(img, NULL);
	/* The way out the message names: a full backup resets the bitmap... */
	img = open_rw(st_path("di.qcow2"));
	assert_int_equal(backup_create(st_path("repo5"), img, &full, NULL, NULL, &err), 0);
	img_close(img, NULL);
	/* ...and incrementals work again, reading only what changed since. */
	img = open_rw(st_path("di.qcow2"));
	b = 7;
	assert_int_equal(img_write(img, &b, 3 * MiB, 1, &err), 0);
	img_close(img, NULL);
	img = open_rw(st_path("di.qcow2"));
	inc.clear_bitmap = 1;
	assert_int_equal(backup_create(st_path("repo5"), img, &inc, id, &bs, &err), 0);
	img_close(img, NULL);
	assert_int_equal(bs.read_chunks, 1);
	if (st_have_qemu_img()) {
		assert_int_equal(backup_restore(st_path("repo5"), id, st_path("di-r.raw"), "raw",
						&err), 0);
		same(st_path("di.qcow2"), st_path("di-r.raw"));
	}
}

/* The parent is the newest backup of the same disk, found by name: a disk
 * whose name extends this one's and a damaged manifest of another disk do
 * not get in the way (nor are other disks' manifests parsed at all). */
static void backup_incremental_finds_parent_by_name(void **state)
{
	struct backup_opts full = { .disk = "p", .bitmap = "bk", .clear_bitmap = 1 };
	struct backup_opts inc = { .disk = "p", .bitmap = "bk", .incremental = 1,
				   .clear_bitmap = 1 };
	struct backup_opts other = { .disk = "p-1" };
	char id1[BACKUP_ID_MAX], id2[BACKUP_ID_MAX], id3[BACKUP_ID_MAX], ido[BACKUP_ID_MAX];
	const char *repo = st_path("repo8");
	struct backup_info *list;
	struct backup_stats bs;
	struct vx_err err = { 0 };
	struct img *img;
	uint8_t b = 9;
	int n, seen = 0;

	(void)state;
	mkdisk("dp.qcow2", 11);
	assert_int_equal(backup_repo_init(repo, 0, &err), 0);
	img = open_rw(st_path("dp.qcow2"));
	assert_int_equal(backup_create(repo, img, &full, id1, NULL, &err), 0);
	assert_int_equal(img_write(img, &b, 5 * MiB, 1, &err), 0);
	/* "p-1" is newer than p's full backup and its name starts with "p-". */
	assert_int_equal(backup_create(repo, img, &other, ido, NULL, &err), 0);
	assert_int_equal(backup_create(repo, img, &inc, id2, &bs, &err), 0);
	assert_int_equal(bs.read_chunks, 1);
	/* A damaged manifest of another disk, newer than everything. */
	assert_int_equal(st_run(NULL, 0, "echo '{broken' > %s/backups/zz-9999999999.000000000.json",
				repo), 0);
	b = 10;
	assert_int_equal(img_write(img, &b, 7 * MiB, 1, &err), 0);
	assert_int_equal(backup_create(repo, img, &inc, id3, &bs, &err), 0);
	assert_int_equal(bs.read_chunks, 1);
	img_close(img, NULL);
	assert_int_equal(st_run(NULL, 0, "rm %s/backups/zz-9999999999.000000000.json", repo), 0);
	assert_int_equal(backup_list(repo, &list, &n, &err), 0);
	assert_int_equal(n, 4);
	for (int i = 0; i < n; i++) {
		if (!strcmp(list[i].id, id2))
			seen += !strcmp(list[i].parent, id1);
		if (!strcmp(list[i].id, id3))
			seen += !strcmp(list[i].parent, id2);
	}
	free(list);
	assert_int_equal(seen, 2);
	if (st_have_qemu_img()) {
		assert_int_equal(backup_restore(repo, id3, st_path("dp-r.raw"), "raw", &err), 0);
		same(st_path("dp.qcow2"), st_path("dp-r.raw"));
	}
}

/* The content each backup was taken from: k<round+1>.raw (k0.raw: the first). */
struct taken {
	char id[BACKUP_ID_MAX];
	int snap;
};

/* Records the backups listed now that were not before as taken from snap. */
static int note_new_backups(struct taken *t, int nt, int snap)
{
	struct backup_info *list;
	struct vx_err err = { 0 };
	int n, known;

	assert_int_equal(backup_list(st_path("repo6"), &list, &n, &err), 0);
	for (int k = 0; k < n; k++) {
		known = 0;
		for (int j = 0; j < nt; j++)
			known |= !strcmp(t[j].id, list[k].id);
		if (!known) {
			assert_true(nt < 32);
			snprintf(t[nt].id, sizeof(t[nt].id), "%s", list[k].id);
			t[nt++].snap = snap;
		}
	}
	free(list);
	return nt;
}

/* Kills backups and prunes at random moments; the repository stays good:
 * every backup still listed verifies, and restores to exactly the content it
 * was taken from. */
static void backup_interrupted_keeps_repo_consistent(void **state)
{
	struct backup_opts o = { .disk = "k" };
	struct taken taken[32];
	struct backup_info *list;
	struct vx_err err = { 0 };
	uint64_t rs = 0x1234abcd;
	uint8_t *buf = malloc(MiB);
	char snap[64], out[64];
	struct timespec t0, t1;
	struct img *img;
	uint64_t span;
	int n, nt, kills = 0, restored = 0;

	(void)state;
	st_skip_without_qemu();
	mkdisk("dk.qcow2", 5);
	assert_int_equal(backup_repo_init(st_path("repo6"), 16384, &err), 0);
	img = open_rw(st_path("dk.qcow2"));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(backup_create(st_path("repo6"), img, &o, NULL, NULL, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	img_close(img, NULL);
	/* Kills land anywhere in [0, 4x an uninterrupted backup here) (one in
	 * a forked child takes about 2-3x as long): some runs finish, most are
	 * cut short, however loaded the host is. */
	span = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000ull + (uint64_t)t1.tv_nsec -
	       (uint64_t)t0.tv_nsec;
	span = 4 * span + 1000000;
	snapshot_raw(st_path("dk.qcow2"), st_path("k0.raw"));
	nt = note_new_backups(taken, 0, 0);
	for (int round = 0; round < 12; round++) {
		int prune = round % 3 == 2, status;
		pid_t pid;

		/* New content so each backup writes new chunks. */
		img = open_rw(st_path("dk.qcow2"));
		for (int i = 0; i < 16; i += 2) {
			st_fill(buf, MiB, (uint64_t)i * MiB, 1000 + (unsigned)round);
			assert_int_equal(img_write(img, buf, (uint64_t)i * MiB, MiB, &err), 0);
		}
		img_close(img, NULL);
		snprintf(snap, sizeof(snap), "k%d.raw", round + 1);
		snapshot_raw(st_path("dk.qcow2"), st_path(snap));
		pid = fork();
		if (pid == 0) {
			struct img *c = NULL;
			if (prune)
				_exit(backup_prune(st_path("repo6"), "k", 2, NULL) ? 1 : 0);
			if (img_open(st_path("dk.qcow2"), NULL, 0, &c, NULL))
				_exit(1);
			_exit(backup_create(st_path("repo6"), c, &o, NULL, NULL, NULL) ? 1 : 0);
		}
		uint64_t d = st_rand(&rs) % span;
		struct timespec ts = { (time_t)(d / 1000000000u), (long)(d % 1000000000u) };
		/* Every fourth run finishes, so prune and backup both complete too. */
		if (round % 4 != 3) {
			nanosleep(&ts, NULL);
			if (kill(pid, SIGKILL) == 0)
				kills++;
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (round % 4 == 3)
			assert_int_equal(WEXITSTATUS(status), 0);
		/* A backup that got listed was taken from this round's content. */
		nt = note_new_backups(taken, nt, round + 1);
		/* Whatever is listed verifies. */
		assert_int_equal(backup_list(st_path("repo6"), &list, &n, &err), 0);
		for (int k = 0; k < n; k++) {
			if (backup_verify(st_path("repo6"), list[k].id, &err))
				print_message("round %d: %s: %s\n", round, list[k].id, err.msg);
			assert_int_equal(err.code, 0);
		}
		free(list);
	}
	assert_true(kills > 0);
	assert_int_equal(backup_gc(st_path("repo6"), NULL, &err), 0);
	/* After all that, each listed backup verifies and restores equal. */
	assert_int_equal(backup_list(st_path("repo6"), &list, &n, &err), 0);
	assert_true(n > 0);
	for (int k = 0; k < n; k++) {
		int j = 0;
		assert_int_equal(backup_verify(st_path("repo6"), list[k].id, &err), 0);
		while (j < nt && strcmp(taken[j].id, list[k].id))
			j++;
		assert_true(j < nt);
		snprintf(out, sizeof(out), "k-restored-%d.raw", k);
		assert_int_equal(backup_restore(st_path("repo6"), list[k].id, st_path(out), "raw",
						&err), 0);
		snprintf(snap, sizeof(snap), "k%d.raw", taken[j].snap);
		same(st_path(out), st_path(snap));
		restored++;
	}
	free(list);
	assert_int_equal(restored, n);
	assert_int_equal(st_run(NULL, 0, "test -z \"$(ls -A %s/tmp)\"", st_path("repo6")), 0);
	free(buf);
}

static void backup_raw_disk_full_only(void **state)
{
	struct backup_opts full = { .disk = "raw1" };
	struct backup_opts inc = { .disk = "raw1", .bitmap = "bk", .incremental = 1 };
	char id[BACKUP_ID_MAX];
	struct vx_err err = { 0 };
	uint8_t *buf = malloc(4 * MiB);
	struct img *img;

	(void)state;
	st_skip_without_qemu();
	st_fill(buf, 4 * MiB, 0, 31);
	memset(buf + MiB, 0, MiB);
	assert_int_equal(st_write_file(st_path("r.raw"), buf, 4 * MiB), 0);
	assert_int_equal(backup_repo_init(st_path("repo7"), 0, &err), 0);
	img = NULL;
	assert_int_equal(img_open(st_path("r.raw"), "raw", 0, &img, &err), 0);
	assert_int_equal(backup_create(st_path("repo7"), img, &full, id, NULL, &err), 0);
	/* The parent used no bitmap, so it cannot anchor an incremental... */
	assert_int_equal(backup_create(st_path("repo7"), img, &inc, NULL, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "does not match"));
	/* ...and raw images have no bitmaps to start one. */
	struct backup_opts fullbm = { .disk = "raw1", .bitmap = "bk" };
	assert_int_equal(backup_create(st_path("repo7"), img, &fullbm, NULL, NULL, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "no persistent bitmaps"));
	img_close(img, NULL);
	assert_int_equal(backup_restore(st_path("repo7"), id, st_path("r.qcow2"), "qcow2", &err), 0);
	same(st_path("r.qcow2"), st_path("r.raw"));
	assert_int_equal(st_qemu_check(st_path("r.qcow2"), NULL, 0), 0);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(backup_full_incremental_restore),
		cmocka_unit_test(backup_cancel_from_progress_leaves_nothing),
		cmocka_unit_test(backup_restore_verify_progress_and_cancel),
		cmocka_unit_test(backup_dedup_across_disks),
		cmocka_unit_test(backup_verify_detects_corruption),
		cmocka_unit_test(backup_prune_and_gc),
		cmocka_unit_test(backup_prune_every_disk_counts),
		cmocka_unit_test(backup_incremental_needs_consistent_bitmap),
		cmocka_unit_test(backup_incremental_finds_parent_by_name),
		cmocka_unit_test(backup_interrupted_keeps_repo_consistent),
		cmocka_unit_test(backup_raw_disk_full_only),
	};
	return cmocka_run_group_tests(tests, st_setup, st_teardown);
}
