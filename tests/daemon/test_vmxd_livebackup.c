/*
 * Live backups through a real vmxd and vmctl: a running type 'test' domain
 * whose simulation runner holds its disks (sim.disks) and, as a named test
 * facility, writes a block to each disk every 2 ms while a backup reads
 * them (sim.backup_writes_ms). The backup must restore to the disks as they
 * were when it began (the test read them before), while the disks keep the
 * writes made meanwhile; incrementals follow the dirty bitmap the runner
 * hands over; cancel, a full copy-before-write store and kill -9 of vmxd
 * leave the repository consistent and the domain running.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <json-c/json.h>

#include "tests/daemon/harness.h"
#include "storage/image.h"

#define MiB (1024 * 1024)
#define DISK (32 * MiB)

static void ctl_ok(struct env *e, char *out, size_t len, const char *cmd)
{
	int rc = h_ctl(e, out, len, "%s", cmd);

	if (rc != 0)
		fail_msg("vmctl %s: exit %d: %s", cmd, rc, out);
}

/* The guest bytes of an image (read without a lock: nothing writes now). */
static uint8_t *img_all(const char *path, uint64_t *size)
{
	struct vx_err err;
	struct img *img;
	uint8_t *buf;

	if (img_open(path, NULL, IMG_SHARED, &img, &err) < 0)
		fail_msg("img_open %s: %s", path, err.msg);
	buf = malloc(img->size);
	assert_non_null(buf);
	assert_int_equal(img_read(img, buf, 0, img->size, &err), 0);
	*size = img->size;
	img_close(img, NULL);
	return buf;
}

static void img_fill(const char *path, uint64_t off, size_t len, int c)
{
	struct vx_err err;
	struct img *img;
	char *buf = malloc(len);

	memset(buf, c, len);
	if (img_open(path, NULL, IMG_RDWR, &img, &err) < 0)
		fail_msg("img_open %s: %s", path, err.msg);
	assert_int_equal(img_write(img, buf, off, len, &err), 0);
	assert_int_equal(img_close(img, &err), 0);
	free(buf);
}

/* A running test domain holding a qcow2 vda and a raw vdb. */
static void start_domain(struct env *e, const char *name, char *a, char *r, size_t len)
{
	char out[4096], cmd[700], xml[300];
	FILE *f;

	snprintf(a, len, "%s/%s-a.qcow2", e->dir, name);
	snprintf(r, len, "%s/%s-r.raw", e->dir, name);
	snprintf(cmd, sizeof(cmd), "disk create %s --format qcow2 --size %d", a, DISK);
	ctl_ok(e, out, sizeof(out), cmd);
	snprintf(cmd, sizeof(cmd), "disk create %s --format raw --size %d", r, 2 * MiB);
	ctl_ok(e, out, sizeof(out), cmd);
	img_fill(a, 0, MiB, 0x41);
	img_fill(a, 8 * MiB, MiB, 0x42);
	img_fill(r, 0, 2 * MiB, 0x52);
	snprintf(xml, sizeof(xml), "%s/%s.xml", e->dir, name);
	f = fopen(xml, "w");
	assert_non_null(f);
	fprintf(f, "<domain type='test'><name>%s</name><memory unit='MiB'>64</memory>"
		"<os><type arch='x86_64'>hvm</type><kernel>/boot/k</kernel>"
		"<cmdline>sim.disks sim.backup_writes_ms=2</cmdline></os><devices>"
		"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
		"<source file='%s'/><target dev='vda'/></disk>"
		"<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
		"<source file='%s'/><target dev='vdb'/></disk></devices></domain>\n",
		name, a, r);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "define %s", xml);
	ctl_ok(e, out, sizeof(out), cmd);
	snprintf(cmd, sizeof(cmd), "start %s", name);
	ctl_ok(e, out, sizeof(out), cmd);
}

/* Starts a backup job (slice_ms: a pause every 64 chunks); returns its id. */
static int job_backup(struct env *e, const char *name, const char *repo, const char *extra)
{
	char out[4096];
	int id = 0;

	if (CTL(e, out, "job-start backup name=%s repo=%s slice_ms=20 %s", name, repo,
		extra ? extra : "") != 0)
		fail_msg("job-start backup: %s", out);
	assert_int_equal(sscanf(out, "Job %d started", &id), 1);
	return id;
}

/* Waits for job id to end; out gets the job-list text. */
static void job_wait(struct env *e, char *out, size_t len)
{
	for (int i = 0; i < 3000; i++) {
		assert_int_equal(h_ctl(e, out, len, "job-list"), 0);
		if (!strstr(out, "running"))
			return;
		h_sleep_ms(10);
	}
	fail_msg("job still running: %s", out);
}

/* Backup ids of disk (e.g. "lb-vda") in repo, oldest first; types too. */
static size_t ids_of(struct env *e, const char *repo, const char *disk, char ids[][128],
		     char types[][16], size_t max)
{
	char out[16384];
	json_object *o, *arr;
	size_t n, k = 0;

	if (CTL(e, out, "--json backup-list --repo %s", repo) != 0)
		fail_msg("backup-list: %s", out);
	o = json_tokener_parse(out);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "backups", &arr));
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n && k < max; i++) {
		json_object *b = json_object_array_get_idx(arr, i);

		if (strcmp(json_object_get_string(json_object_object_get(b, "disk")), disk) != 0)
			continue;
		snprintf(ids[k], 128, "%s", json_object_get_string(json_object_object_get(b, "id")));
		snprintf(types[k], 16, "%s", json_object_get_string(json_object_object_get(b, "type")));
		k++;
	}
	json_object_put(o);
	return k;
}

/* Restores id and compares its bytes with want. */
static void restores_to(struct env *e, const char *repo, const char *id, const uint8_t *want,
			uint64_t size)
{
	char out[4096], dst[300];
	uint8_t *got;
	uint64_t n;

	snprintf(dst, sizeof(dst), "%s/restored-%s.qcow2", e->dir, id);
	if (CTL(e, out, "verify --repo %s %s", repo, id) != 0)
		fail_msg("verify %s: %s", id, out);
	if (CTL(e, out, "restore --repo %s %s %s", repo, id, dst) != 0)
		fail_msg("restore %s: %s", id, out);
	got = img_all(dst, &n);
	assert_int_equal(n, size);
	assert_memory_equal(got, want, size);
	free(got);
}

static void live_backup_full_then_incremental(void **state)
{
	struct env *e = *state;
	char out[8192], a[300], r[300], repo[300], ids[4][128], types[4][16];
	uint8_t *start_a, *start_r, *mid_a, *end_a;
	uint64_t sa, sr;

	snprintf(repo, sizeof(repo), "%s/repo", e->dir);
	start_domain(e, "lb", a, r, sizeof(a));
	start_a = img_all(a, &sa);
	start_r = img_all(r, &sr);
	job_backup(e, "lb", repo, NULL);
	job_wait(e, out, sizeof(out));
	if (!strstr(out, "done"))
		fail_msg("live backup: %s", out);
	/* The domain runs on; the writes made during the backup are on its disk. */
	assert_int_equal(h_wait_state(e, "lb", "running", 100), 0);
	mid_a = img_all(a, &sa);
	assert_memory_not_equal(mid_a, start_a, sa);
	assert_int_equal(ids_of(e, repo, "lb-vda", ids, types, 4), 1);
	assert_string_equal(types[0], "full");
	restores_to(e, repo, ids[0], start_a, sa);
	assert_int_equal(ids_of(e, repo, "lb-vdb", ids, types, 4), 1);
	restores_to(e, repo, ids[0], start_r, sr);

	/* The next one follows the bitmap the runner handed over. */
	job_backup(e, "lb", repo, "mode=incremental");
	job_wait(e, out, sizeof(out));
	if (!strstr(out, "done"))
		fail_msg("live incremental: %s", out);
	end_a = img_all(a, &sa);
	assert_memory_not_equal(end_a, mid_a, sa);
	assert_int_equal(ids_of(e, repo, "lb-vda", ids, types, 4), 2);
	assert_string_equal(types[1], "incremental");
	restores_to(e, repo, ids[1], mid_a, sa);
	ctl_ok(e, out, sizeof(out), "destroy lb");
	free(start_a);
	free(start_r);
	free(mid_a);
	free(end_a);
}

/* Cancel mid-way, and a store too small: nothing listed, the VM runs on. */
static void live_backup_cancel_and_store_full(void **state)
{
	struct env *e = *state;
	char out[8192], a[300], r[300], repo[300], ids[4][128], types[4][16];
	uint8_t *now_a;
	uint64_t sa;
	int id;

	snprintf(repo, sizeof(repo), "%s/repo", e->dir);
	start_domain(e, "lc", a, r, sizeof(a));
	id = job_backup(e, "lc", repo, NULL);
	h_sleep_ms(30);
	assert_int_equal(CTL(e, out, "job-cancel %d", id), 0);
	job_wait(e, out, sizeof(out));
	assert_non_null(strstr(out, "cancelled"));
	assert_int_equal(ids_of(e, repo, "lc-vda", ids, types, 4), 0);
	assert_int_equal(h_wait_state(e, "lc", "running", 100), 0);

	/* 64 KiB of copy-before-write store: the guest's writes outrun it. */
	job_backup(e, "lc", repo, "store_max=65536");
	job_wait(e, out, sizeof(out));
	assert_non_null(strstr(out, "failed"));
	if (!strstr(out, "store is full"))
		fail_msg("not the store: %s", out);
	assert_int_equal(ids_of(e, repo, "lc-vda", ids, types, 4), 0);
	assert_int_equal(h_wait_state(e, "lc", "running", 100), 0);

	/* The runner's session ended each time: a backup runs to the end now. */
	now_a = img_all(a, &sa);
	job_backup(e, "lc", repo, NULL);
	job_wait(e, out, sizeof(out));
	if (!strstr(out, "done"))
		fail_msg("live backup after cancel: %s", out);
	assert_int_equal(ids_of(e, repo, "lc-vda", ids, types, 4), 1);
	restores_to(e, repo, ids[0], now_a, sa);
	ctl_ok(e, out, sizeof(out), "destroy lc");
	free(now_a);
}

/* kill -9 of vmxd mid-backup: earlier backups verify, the domain runs on,
 * the next incremental still covers what changed before the kill. */
static void vmxd_kill9_mid_live_backup(void **state)
{
	struct env *e = *state;
	char out[8192], a[300], r[300], repo[300], ids[4][128], types[4][16];
	uint8_t *before, *now_a;
	uint64_t sa;

	snprintf(repo, sizeof(repo), "%s/repo", e->dir);
	start_domain(e, "lk", a, r, sizeof(a));
	before = img_all(a, &sa);
	job_backup(e, "lk", repo, NULL);
	job_wait(e, out, sizeof(out));
	assert_non_null(strstr(out, "done"));
	job_backup(e, "lk", repo, "slice_ms=200");
	h_sleep_ms(150);
	kill(e->vmxd, SIGKILL);
	waitpid(e->vmxd, NULL, 0);
	e->vmxd = 0;
	assert_true(h_vmxd_start(e, NULL) > 0);
	assert_int_equal(h_wait_state(e, "lk", "running", 2000), 0);
	assert_int_equal(CTL(e, out, "job-list"), 0);
	assert_non_null(strstr(out, "interrupted"));
	assert_int_equal(ids_of(e, repo, "lk-vda", ids, types, 4), 1);
	restores_to(e, repo, ids[0], before, sa);
	free(before);

	/* The bits the dead job took went back: the incremental covers them. */
	h_sleep_ms(50);   /* the runner noticed the closed connection */
	now_a = img_all(a, &sa);
	job_backup(e, "lk", repo, "mode=incremental");
	job_wait(e, out, sizeof(out));
	if (!strstr(out, "done"))
		fail_msg("incremental after kill: %s", out);
	assert_int_equal(ids_of(e, repo, "lk-vda", ids, types, 4), 2);
	assert_string_equal(types[1], "incremental");
	restores_to(e, repo, ids[1], now_a, sa);
	ctl_ok(e, out, sizeof(out), "destroy lk");
	free(now_a);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, h_setup, h_teardown)
	const struct CMUnitTest tests[] = {
		T(live_backup_full_then_incremental),
		T(live_backup_cancel_and_store_full),
		T(vmxd_kill9_mid_live_backup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
