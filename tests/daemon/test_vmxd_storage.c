/*
 * Integration tests of the storage verbs: a real vmxd driven through the
 * real vmctl (disk create/info/convert, snapshot-*, backup, backup-list,
 * verify, restore, backup-prune, backup-gc). The test writes guest data into the images with the
 * storage library itself and checks bytes after revert and restore.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/file.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "tests/daemon/harness.h"
#include "proto/proto.h"
#include "storage/backup.h"
#include "storage/image.h"

#define MiB (1024 * 1024)


static void ctl_ok(struct env *e, char *out, size_t len, const char *cmd)
{
	int rc = h_ctl(e, out, len, "%s", cmd);

	if (rc != 0)
		fail_msg("vmctl %s: exit %d: %s", cmd, rc, out);
}

/* Parses vmctl --json output; fails the test when it is not an object. */
static json_object *ctl_json(struct env *e, const char *cmd)
{
	char out[16384];
	json_object *o;
	int rc = CTL(e, out, "--json %s", cmd);

	if (rc != 0)
		fail_msg("vmctl --json %s: exit %d: %s", cmd, rc, out);
	o = json_tokener_parse(out);
	if (!o || !json_object_is_type(o, json_type_object))
		fail_msg("vmctl --json %s printed no JSON object: %s", cmd, out);
	return o;
}

/* Fills [off, off+len) of the image with byte c through the library. */
static void img_fill(const char *path, uint64_t off, size_t len, int c)
{
	struct vx_err err;
	struct img *img;
	char *buf = malloc(len);

	assert_non_null(buf);
	memset(buf, c, len);
	if (img_open(path, NULL, IMG_RDWR, &img, &err) < 0)
		fail_msg("img_open %s: %s", path, err.msg);
	if (img_write(img, buf, off, len, &err) < 0)
		fail_msg("img_write %s: %s", path, err.msg);
	assert_int_equal(img_close(img, &err), 0);
	free(buf);
}

/* Whether the guest bytes of a and b are equal (any formats). */
static int img_same(const char *a, const char *b)
{
	struct img *ia, *ib;
	char *ba = malloc(MiB), *bb = malloc(MiB);
	int same = 1;

	assert_int_equal(img_open(a, NULL, IMG_SHARED, &ia, NULL), 0);
	assert_int_equal(img_open(b, NULL, IMG_SHARED, &ib, NULL), 0);
	if (ia->size != ib->size)
		same = 0;
	for (uint64_t off = 0; same && off < ia->size; off += MiB) {
		size_t n = ia->size - off < MiB ? ia->size - off : MiB;

		assert_int_equal(img_read(ia, ba, off, n, NULL), 0);
		assert_int_equal(img_read(ib, bb, off, n, NULL), 0);
		same = memcmp(ba, bb, n) == 0;
	}
	img_close(ia, NULL);
	img_close(ib, NULL);
	free(ba);
	free(bb);
	return same;
}

/* The byte at off of the image. */
static int img_byte(const char *path, uint64_t off)
{
	struct img *img;
	unsigned char c;

	assert_int_equal(img_open(path, NULL, IMG_SHARED, &img, NULL), 0);
	assert_int_equal(img_read(img, &c, off, 1, NULL), 0);
	img_close(img, NULL);
	return c;
}

/* qemu-img compare, when qemu-img is there: 0 same, 1 differ, -1 absent. */
static int qemu_compare(const char *a, const char *b)
{
	char cmd[600];
	int st;

	if (system("command -v qemu-img >/dev/null 2>&1") != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "qemu-img compare -q %s %s", a, b);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 2;
}

/* A test-type domain with the given disks ("vda:/path:qcow2" each). */
/*
 * A crash of vmxd (kill -9 at a crash point) must leave running test-type
 * domains running: bystander_start starts one and returns its runner's pid,
 * after_crash waits for vmxd's death by SIGKILL, restarts it and checks that
 * the same runner is still the domain's, and that integrity_check passes.
 */
static int bystander_start(struct env *e, const char *name)
{
	char out[4096];
	int pid;

	assert_int_equal(CTL(e, out, "define %s", h_xml(e, name, "test", NULL)), 0);
	assert_int_equal(CTL(e, out, "start %s", name), 0);
	assert_int_equal(h_wait_state(e, name, "running", 2000), 0);
	pid = h_runner_pid(e, name);
	assert_true(pid > 0);
	return pid;
}

static void after_crash(struct env *e, const char *bystander, int pid)
{
	char cmd[400];
	int st;

	st = h_vmxd_await_crash(e, 10000);
	assert_true(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	assert_int_equal(kill(pid, 0), 0);
	assert_true(h_vmxd_start(e, NULL) > 0);
	assert_int_equal(h_wait_state(e, bystander, "running", 2000), 0);
	assert_int_equal(h_runner_pid(e, bystander), pid);
	snprintf(cmd, sizeof(cmd), BINDIR "/vmxd --check-db --database %s >/dev/null 2>&1",
		 e->db);
	assert_int_equal(system(cmd), 0);
}

static void define_domain(struct env *e, const char *name, int n, ...)
{
	char path[200], out[4096], cmd[300];
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.xml", e->dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "<domain type='test'><name>%s</name><memory unit='MiB'>64</memory>"
		"<os><type arch='x86_64'>hvm</type><kernel>/boot/k</kernel></os><devices>",
		name);
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *target = va_arg(ap, const char *);
		const char *src = va_arg(ap, const char *);
		const char *fmt = va_arg(ap, const char *);

		fprintf(f, "<disk type='file' device='disk'><driver name='qemu' type='%s'/>"
			"<source file='%s'/><target dev='%s'/></disk>", fmt, src, target);
	}
	va_end(ap);
	fprintf(f, "</devices></domain>\n");
	fclose(f);
	snprintf(cmd, sizeof(cmd), "define %s", path);
	ctl_ok(e, out, sizeof(out), cmd);
}

static void disk_path(struct env *e, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", e->dir, name);
}

static void vmctl_disk_create_info_convert(void **state)
{
	struct env *e = *state;
	char out[8192], base[200], top[200], conv[200], cmd[700];
	json_object *o, *v, *a;

	disk_path(e, "base.raw", base, sizeof(base));
	disk_path(e, "top.qcow2", top, sizeof(top));
	disk_path(e, "conv.qcow2", conv, sizeof(conv));
	snprintf(cmd, sizeof(cmd), "disk create %s --format raw --size 4M", base);
	ctl_ok(e, out, sizeof(out), cmd);
	img_fill(base, 0, 65536, 0xab);
	/* A relative backing name, resolved against the image's directory. */
	snprintf(cmd, sizeof(cmd), "disk create %s --format qcow2 --backing base.raw", top);
	ctl_ok(e, out, sizeof(out), cmd);
	img_fill(top, MiB, 65536, 0xcd);

	snprintf(cmd, sizeof(cmd), "disk info %s", top);
	o = ctl_json(e, cmd);
	assert_true(json_object_object_get_ex(o, "format", &v));
	assert_string_equal(json_object_get_string(v), "qcow2");
	assert_true(json_object_object_get_ex(o, "virtual_size", &v));
	assert_int_equal(json_object_get_int64(v), 4 * MiB);
	assert_true(json_object_object_get_ex(o, "backing_chain", &a));
	assert_int_equal(json_object_array_length(a), 1);
	assert_string_equal(json_object_get_string(json_object_object_get(
		json_object_array_get_idx(a, 0), "file")), "base.raw");
	json_object_put(o);
	/* Human form too. */
	ctl_ok(e, out, sizeof(out), cmd);
	assert_non_null(strstr(out, "Backing chain  base.raw (raw)"));

	/* convert flattens the chain into a job with a result equal in bytes. */
	snprintf(cmd, sizeof(cmd), "disk convert %s %s --format qcow2", top, conv);
	ctl_ok(e, out, sizeof(out), cmd);
	assert_true(img_same(top, conv));
	assert_int_equal(img_byte(conv, 0), 0xab);
	assert_int_equal(img_byte(conv, MiB), 0xcd);
	if (qemu_compare(top, conv) > 0)
		fail_msg("qemu-img compare: %s and %s differ", top, conv);
	snprintf(cmd, sizeof(cmd), "%s.partial", conv);
	assert_int_not_equal(access(cmd, F_OK), 0);
	snprintf(cmd, sizeof(cmd), "disk info %s", conv);
	o = ctl_json(e, cmd);
	assert_true(json_object_object_get_ex(o, "backing_chain", &a));
	assert_int_equal(json_object_array_length(a), 0);
	json_object_put(o);
	assert_int_equal(CTL(e, out, "job-list"), 0);
	assert_non_null(strstr(out, "disk-convert"));
}

static void vmctl_disk_errors(void **state)
{
	struct env *e = *state;
	char out[4096], p[200];

	disk_path(e, "d.qcow2", p, sizeof(p));
	assert_int_equal(CTL(e, out, "disk create %s --format vmdk --size 1M", p), 1);
	assert_non_null(strstr(out, "format 'vmdk' unknown"));
	assert_int_equal(CTL(e, out, "disk create %s --format qcow2 --size 12Q", p), 1);
	assert_int_equal(CTL(e, out, "disk create %s --format qcow2", p), 1);
	assert_int_equal(CTL(e, out, "disk frobnicate"), 1);
	assert_int_equal(CTL(e, out, "disk create %s --format qcow2 --size 1M", p), 0);
	/* Never clobbers an existing image. */
	assert_int_equal(CTL(e, out, "disk create %s --format qcow2 --size 1M", p), 6);
	assert_non_null(strstr(out, "exists"));
	assert_int_equal(CTL(e, out, "disk info %s/nope.qcow2", e->dir), 5);
	assert_int_equal(CTL(e, out, "--json disk info %s/nope.qcow2", e->dir), 5);
	assert_non_null(strstr(out, "\"status\": \"not-found\""));
	assert_int_equal(CTL(e, out, "disk info /dev/null"), 7);
	assert_non_null(strstr(out, "not a regular file"));
	assert_int_equal(CTL(e, out, "disk info relative.qcow2"), 5);
	assert_int_equal(CTL(e, out, "disk convert %s %s --format qcow2", p, p), 6);
	assert_int_equal(CTL(e, out, "disk convert %s/nope %s/x --format raw", e->dir,
			     e->dir), 5);
	/* disk-create is a write verb. */
	assert_int_equal(CTL(e, out, "-r disk create %s/r.qcow2 --format qcow2 --size 1M",
			     e->dir), 4);
	/*
	 * info opens any path with vmxd's rights: not on the read-only
	 * socket (mode 0666), which would tell anyone about any file.
	 */
	assert_int_equal(CTL(e, out, "-r disk info %s", p), 4);
}

static void vmctl_snapshot_create_revert_delete(void **state)
{
	struct env *e = *state;
	char out[8192], a[200], b[200], r[200], cmd[700];
	json_object *o, *arr;

	disk_path(e, "a.qcow2", a, sizeof(a));
	disk_path(e, "b.qcow2", b, sizeof(b));
	disk_path(e, "c.raw", r, sizeof(r));
	snprintf(cmd, sizeof(cmd), "disk create %s --format qcow2 --size 4M", a);
	ctl_ok(e, out, sizeof(out), cmd);
	snprintf(cmd, sizeof(cmd), "disk create %s --format qcow2 --size 2M", b);
	ctl_ok(e, out, sizeof(out), cmd);
	snprintf(cmd, sizeof(cmd), "disk create %s --format raw --size 1M", r);
	ctl_ok(e, out, sizeof(out), cmd);
	define_domain(e, "sv", 3, "vda", a, "qcow2", "vdb", b, "qcow2", "vdc", r, "raw");

	img_fill(a, 0, 65536, 0x11);
	img_fill(b, 0, 65536, 0x21);
	ctl_ok(e, out, sizeof(out), "snapshot-create sv first");
	img_fill(a, 0, 65536, 0x12);
	img_fill(b, 0, 65536, 0x22);
	o = ctl_json(e, "snapshot-create sv second");
	json_object_put(o);
	img_fill(a, 0, 65536, 0x13);

	o = ctl_json(e, "snapshot-list sv");
	assert_true(json_object_object_get_ex(o, "snapshots", &arr));
	assert_int_equal(json_object_array_length(arr), 2);
	assert_string_equal(json_object_get_string(json_object_object_get(
		json_object_array_get_idx(arr, 0), "name")), "first");
	/* The raw disk has no internal snapshots: only the qcow2 disks. */
	assert_string_equal(json_object_get_string(json_object_object_get(
		json_object_array_get_idx(arr, 0), "disks")), "vda,vdb");
	json_object_put(o);
	ctl_ok(e, out, sizeof(out), "snapshot-list sv");
	assert_non_null(strstr(out, "second"));

	ctl_ok(e, out, sizeof(out), "snapshot-revert sv first");
	assert_int_equal(img_byte(a, 0), 0x11);
	assert_int_equal(img_byte(b, 0), 0x21);
	ctl_ok(e, out, sizeof(out), "snapshot-revert sv second");
	assert_int_equal(img_byte(a, 100), 0x12);
	assert_int_equal(img_byte(b, 100), 0x22);

	ctl_ok(e, out, sizeof(out), "snapshot-delete sv first");
	o = ctl_json(e, "snapshot-list sv");
	assert_true(json_object_object_get_ex(o, "snapshots", &arr));
	assert_int_equal(json_object_array_length(arr), 1);
	json_object_put(o);
	snprintf(cmd, sizeof(cmd), "disk info %s", a);
	o = ctl_json(e, cmd);
	assert_true(json_object_object_get_ex(o, "snapshots", &arr));
	assert_int_equal(json_object_array_length(arr), 1);
	assert_string_equal(json_object_get_string(json_object_object_get(
		json_object_array_get_idx(arr, 0), "name")), "second");
	json_object_put(o);
	if (system("command -v qemu-img >/dev/null 2>&1") == 0) {
		snprintf(cmd, sizeof(cmd), "qemu-img check -q %s && qemu-img check -q %s", a, b);
		assert_int_equal(system(cmd), 0);
	}
}

static void vmctl_snapshot_errors(void **state)
{
	struct env *e = *state;
	char out[4096], a[200], b[200], cmd[700];
	json_object *o, *arr;

	disk_path(e, "a.qcow2", a, sizeof(a));
	disk_path(e, "b.qcow2", b, sizeof(b));
	snprintf(cmd, sizeof(cmd), "disk create %s --format qcow2 --size 1M", a);
	ctl_ok(e, out, sizeof(out), cmd);
	/* vdb names a missing image: the snapshot of vda is taken back. */
	define_domain(e, "se", 2, "vda", a, "qcow2", "vdb", b, "qcow2");
	assert_int_equal(CTL(e, out, "snapshot-create se s1"), 5);
	snprintf(cmd, sizeof(cmd), "disk info %s", a);
	o = ctl_json(e, cmd);
	assert_true(json_object_object_get_ex(o, "snapshots", &arr));
	assert_int_equal(json_object_array_length(arr), 0);
	json_object_put(o);
	assert_int_equal(CTL(e, out, "--json snapshot-list se"), 0);
	assert_null(strstr(out, "s1"));

	snprintf(cmd, sizeof(cmd), "disk create %s --format qcow2 --size 1M", b);
	ctl_ok(e, out, sizeof(out), cmd);
	ctl_ok(e, out, sizeof(out), "snapshot-create se s1");
	assert_int_equal(CTL(e, out, "snapshot-create se s1"), 6);
	assert_int_equal(CTL(e, out, "snapshot-revert se nope"), 5);
	assert_non_null(strstr(out, "domain 'se' has no snapshot 'nope'"));
	assert_int_equal(CTL(e, out, "--json snapshot-delete se nope"), 5);
	assert_non_null(strstr(out, "\"status\": \"not-found\""));
	assert_int_equal(CTL(e, out, "snapshot-create nodom s1"), 5);
	assert_int_equal(CTL(e, out, "snapshot-create se 123"), 7);
	assert_int_equal(CTL(e, out, "snapshot-create se"), 1);
	assert_int_equal(CTL(e, out, "-r snapshot-create se s2"), 4);

	/* A running domain: a snapshot of it has memory (below); a disks-only
	 * one cannot be reverted under it. */
	ctl_ok(e, out, sizeof(out), "start se");
	assert_int_equal(CTL(e, out, "snapshot-revert se s1"), 8);
	assert_non_null(strstr(out, "no memory state"));
	/* A live backup needs a runner holding the disks (sim.disks). */
	assert_int_equal(CTL(e, out, "backup se --repo %s/repo", e->dir), 9);
	assert_non_null(strstr(out, "sim.disks"));
	ctl_ok(e, out, sizeof(out), "destroy se");

	/* A domain without qcow2 disks has nothing to snapshot. */
	define_domain(e, "noq", 0);
	assert_int_equal(CTL(e, out, "snapshot-create noq s"), 7);
	assert_non_null(strstr(out, "qcow2"));
	/* Undefine drops its snapshot records (foreign key cascade). */
	ctl_ok(e, out, sizeof(out), "undefine se");
	define_domain(e, "se", 2, "vda", a, "qcow2", "vdb", b, "qcow2");
	ctl_ok(e, out, sizeof(out), "snapshot-list se");
	assert_null(strstr(out, "s1"));
}

/* How many state files the domains' state directories hold. */
static int state_files(struct env *e)
{
	char cmd[400];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls %s/snapshots/*/mem-*.vmstate 2>/dev/null | wc -l", e->dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

static int snapshot_has_memory(struct env *e, const char *dom, const char *snap)
{
	char cmd[300];
	json_object *o, *arr;
	int found = -1;

	snprintf(cmd, sizeof(cmd), "snapshot-list %s", dom);
	o = ctl_json(e, cmd);
	assert_true(json_object_object_get_ex(o, "snapshots", &arr));
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *s = json_object_array_get_idx(arr, i);

		if (strcmp(json_object_get_string(json_object_object_get(s, "name")), snap) == 0)
			found = json_object_get_boolean(json_object_object_get(s, "memory"));
	}
	json_object_put(o);
	return found;
}

/*
 * A running test domain: its snapshot has memory (the simulation's own
 * state, named so on its console) and the disks with it; revert puts both
 * back while it keeps running; delete removes the state file.
 */
static void vmctl_memory_snapshot_of_running_domain(void **state)
{
	struct env *e = *state;
	char out[8192], a[200], cmd[700], path[400];
	FILE *f;

	disk_path(e, "m.qcow2", a, sizeof(a));
	snprintf(cmd, sizeof(cmd), "disk create %s --format qcow2 --size 1M", a);
	ctl_ok(e, out, sizeof(out), cmd);
	define_domain(e, "ms", 1, "vda", a, "qcow2");
	ctl_ok(e, out, sizeof(out), "snapshot-create ms cold");
	ctl_ok(e, out, sizeof(out), "start ms");
	img_fill(a, 0, 65536, 0x31);
	ctl_ok(e, out, sizeof(out), "snapshot-create ms m1");
	assert_int_equal(snapshot_has_memory(e, "ms", "m1"), 1);
	assert_int_equal(snapshot_has_memory(e, "ms", "cold"), 0);
	assert_int_equal(state_files(e), 1);
	ctl_ok(e, out, sizeof(out), "snapshot-list ms");
	assert_non_null(strstr(out, "yes"));
	assert_int_equal(CTL(e, out, "snapshot-create ms m1"), 6);

	img_fill(a, 0, 65536, 0x32);
	ctl_ok(e, out, sizeof(out), "snapshot-revert ms m1");
	assert_int_equal(img_byte(a, 0), 0x31);
	ctl_ok(e, out, sizeof(out), "dominfo ms");
	assert_non_null(strstr(out, "running"));
	ctl_ok(e, out, sizeof(out), "console ms --show-log");
	assert_non_null(strstr(out, "simulated state saved"));
	assert_non_null(strstr(out, "simulated state loaded"));

	/* A damaged state file: the revert says so and the domain runs on. */
	snprintf(cmd, sizeof(cmd), "ls %s/snapshots/*/mem-*.vmstate", e->dir);
	f = popen(cmd, "r");
	assert_non_null(fgets(path, sizeof(path), f));
	pclose(f);
	path[strcspn(path, "\n")] = 0;
	assert_int_equal(truncate(path, 20), 0);
	assert_int_not_equal(CTL(e, out, "snapshot-revert ms m1"), 0);
	assert_non_null(strstr(out, "state file"));
	ctl_ok(e, out, sizeof(out), "dominfo ms");
	assert_non_null(strstr(out, "running"));

	/* Delete wants the domain stopped (the disks' snapshot goes too). */
	assert_int_equal(CTL(e, out, "snapshot-delete ms m1"), 8);
	ctl_ok(e, out, sizeof(out), "destroy ms");
	ctl_ok(e, out, sizeof(out), "snapshot-delete ms m1");
	assert_int_equal(state_files(e), 0);
	assert_int_equal(snapshot_has_memory(e, "ms", "m1"), -1);
}

/* kill -9 of vmxd once the runner saved the state (the snapshot job's
 * memory step done, its row still 'creating'): no row, no file left. */
static void vmxd_kill9_mid_memory_snapshot_leaves_no_half_row(void **state)
{
	struct env *e = *state;
	char out[4096], a[200], cmd[700];
	json_object *o, *arr;
	int st;

	disk_path(e, "k.qcow2", a, sizeof(a));
	snprintf(cmd, sizeof(cmd), "disk create %s --format qcow2 --size 1M", a);
	ctl_ok(e, out, sizeof(out), cmd);
	define_domain(e, "km", 1, "vda", a, "qcow2");
	ctl_ok(e, out, sizeof(out), "start km");
	h_vmxd_stop(e, SIGTERM);
	assert_true(h_vmxd_start(e, "memsnap-saved") > 0);
	assert_int_not_equal(CTL(e, out, "snapshot-create km s1"), 0);
	st = h_vmxd_await_crash(e, 10000);
	if (st == -1)
		fprintf(stderr, "# vmctl said: %s\n", out);
	assert_true(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	assert_true(h_vmxd_start(e, NULL) > 0);
	o = ctl_json(e, "snapshot-list km");
	assert_true(json_object_object_get_ex(o, "snapshots", &arr));
	assert_int_equal(json_object_array_length(arr), 0);
	json_object_put(o);
	/* The runner may still have been writing when the restart looked:
	 * whatever it wrote is gone once it answered no one. */
	for (int i = 0; i < 200 && state_files(e) != 0; i++)
		h_sleep_ms(10);
	assert_int_equal(state_files(e), 0);
	/* The name is free again, and the domain still runs. */
	ctl_ok(e, out, sizeof(out), "snapshot-create km s1");
	assert_int_equal(snapshot_has_memory(e, "km", "s1"), 1);
	ctl_ok(e, out, sizeof(out), "destroy km");
}

/* The ids of backups in repo (--json backup-list), oldest first. */
static size_t backup_ids(struct env *e, const char *repo, const char *dom,
			 char ids[][128], const char **types, size_t max)
{
	char cmd[400];
	json_object *o, *arr;
	size_t n;

	snprintf(cmd, sizeof(cmd), "backup-list --repo %s %s", repo, dom ? dom : "");
	o = ctl_json(e, cmd);
	assert_true(json_object_object_get_ex(o, "backups", &arr));
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n && i < max; i++) {
		json_object *b = json_object_array_get_idx(arr, i);
		const char *t = json_object_get_string(json_object_object_get(b, "type"));

		snprintf(ids[i], 128, "%s", json_object_get_string(json_object_object_get(b, "id")));
		if (types)
			types[i] = strcmp(t, "full") == 0 ? "full" : "incremental";
	}
	json_object_put(o);
	return n;
}

static void vmctl_backup_full_incremental_verify_restore(void **state)
{
	struct env *e = *state;
	char out[8192], a[200], repo[200], res[200], res2[200], cmd[900];
	char ids[8][128];
	const char *types[8];
	json_object *o, *v;

	disk_path(e, "a.qcow2", a, sizeof(a));
	disk_path(e, "repo", repo, sizeof(repo));
	snprintf(cmd, sizeof(cmd), "disk create %s --format qcow2 --size 8M", a);
	ctl_ok(e, out, sizeof(out), cmd);
	define_domain(e, "bv", 1, "vda", a, "qcow2");
	img_fill(a, 0, 3 * MiB, 0x5a);

	/* First backup: full, and it creates the repository and the bitmap. */
	snprintf(cmd, sizeof(cmd), "backup bv --repo %s", repo);
	ctl_ok(e, out, sizeof(out), cmd);
	assert_non_null(strstr(out, "Backup of 'bv' done: bv-vda-"));
	assert_int_equal(backup_ids(e, repo, "bv", ids, types, 8), 1);
	assert_string_equal(types[0], "full");
	snprintf(cmd, sizeof(cmd), "disk info %s", a);
	o = ctl_json(e, cmd);
	assert_true(json_object_object_get_ex(o, "bitmaps", &v));
	assert_int_equal(json_object_array_length(v), 1);
	json_object_put(o);

	/* Change a little; the incremental reads only that. */
	img_fill(a, 5 * MiB, 65536, 0x77);
	snprintf(cmd, sizeof(cmd), "backup bv --repo %s --incremental", repo);
	o = ctl_json(e, cmd);
	json_object_put(o);
	assert_int_equal(backup_ids(e, repo, NULL, ids, types, 8), 2);
	assert_string_equal(types[1], "incremental");
	ctl_ok(e, out, sizeof(out), "job-list");
	assert_non_null(strstr(out, "backup"));

	snprintf(cmd, sizeof(cmd), "verify --repo %s %s", repo, ids[0]);
	ctl_ok(e, out, sizeof(out), cmd);
	snprintf(cmd, sizeof(cmd), "verify --repo %s %s", repo, ids[1]);
	o = ctl_json(e, cmd);
	assert_true(json_object_object_get_ex(o, "state", &v));
	assert_string_equal(json_object_get_string(v), "done");
	json_object_put(o);

	/* Restore the incremental: the disk as it is now. */
	disk_path(e, "restored.qcow2", res, sizeof(res));
	snprintf(cmd, sizeof(cmd), "restore --repo %s %s %s", repo, ids[1], res);
	ctl_ok(e, out, sizeof(out), cmd);
	assert_true(img_same(a, res));
	if (qemu_compare(a, res) > 0)
		fail_msg("qemu-img compare: %s and %s differ", a, res);
	/* The full one, as raw: without the later change. */
	disk_path(e, "restored.raw", res2, sizeof(res2));
	snprintf(cmd, sizeof(cmd), "restore --repo %s %s %s --format raw", repo, ids[0], res2);
	ctl_ok(e, out, sizeof(out), cmd);
	assert_int_equal(img_byte(res2, 0), 0x5a);
	assert_int_equal(img_byte(res2, 5 * MiB), 0);
	assert_int_equal(img_byte(res, 5 * MiB), 0x77);
	snprintf(cmd, sizeof(cmd), "disk info %s", res2);
	ctl_ok(e, out, sizeof(out), cmd);
	assert_non_null(strstr(out, "Format         raw"));

	/* --full forces a full backup even with a usable bitmap. */
	snprintf(cmd, sizeof(cmd), "backup bv --repo %s --full", repo);
	ctl_ok(e, out, sizeof(out), cmd);
	assert_int_equal(backup_ids(e, repo, "bv", ids, types, 8), 3);
	assert_string_equal(types[2], "full");
}

static void vmctl_backup_errors(void **state)
{
	struct env *e = *state;
	char out[4096], a[200], r[200], repo[200], cmd[700];
	char ids[8][128];

	disk_path(e, "a.qcow2", a, sizeof(a));
	disk_path(e, "r.raw", r, sizeof(r));
	disk_path(e, "repo", repo, sizeof(repo));
	snprintf(cmd, sizeof(cmd), "disk create %s --format qcow2 --size 1M", a);
	ctl_ok(e, out, sizeof(out), cmd);
	snprintf(cmd, sizeof(cmd), "disk create %s --format raw --size 1M", r);
	ctl_ok(e, out, sizeof(out), cmd);
	define_domain(e, "be", 2, "vda", a, "qcow2", "vdb", r, "raw");

	/* Missing repository: not found, for every reader. */
	assert_int_equal(CTL(e, out, "backup-list --repo %s/none", e->dir), 5);
	assert_non_null(strstr(out, "not a backup repository"));
	assert_int_equal(CTL(e, out, "--json verify --repo %s/none x", e->dir), 5);
	assert_non_null(strstr(out, "\"status\": \"not-found\""));
	assert_int_equal(CTL(e, out, "restore --repo %s/none x %s/out", e->dir, e->dir), 5);
	/* backup's repository directory needs an existing parent. */
	assert_int_equal(CTL(e, out, "backup be --repo %s/no/such", e->dir), 5);
	assert_int_equal(CTL(e, out, "backup be"), 1);
	assert_non_null(strstr(out, "--repo DIR missing"));
	/* The first backup cannot be incremental. */
	assert_int_equal(CTL(e, out, "backup be --repo %s --incremental", repo), 7);
	assert_non_null(strstr(out, "first backup must be full"));
	assert_int_equal(CTL(e, out, "backup nodom --repo %s", repo), 5);

	assert_int_equal(CTL(e, out, "backup be --repo %s", repo), 0);
	/* A raw disk is backed up in full each time; the qcow2 one incrementally. */
	assert_int_equal(CTL(e, out, "backup be --repo %s --incremental", repo), 0);
	assert_int_equal(CTL(e, out, "backup-list --repo %s be", repo), 0);
	assert_non_null(strstr(out, "be-vdb"));
	assert_non_null(strstr(out, "incremental"));
	assert_int_equal(CTL(e, out, "backup-list --repo %s other", repo), 0);
	assert_null(strstr(out, "be-vda"));
	assert_int_equal(CTL(e, out, "verify --repo %s nope", repo), 5);
	assert_non_null(strstr(out, "no backup 'nope'"));
	assert_int_equal(CTL(e, out, "restore --repo %s nope %s/o.qcow2", repo, e->dir), 5);
	assert_int_equal(CTL(e, out, "restore --repo %s x %s/o --format vmdk", repo, e->dir), 1);
	assert_int_equal(CTL(e, out, "restore --repo %s x %s", repo, a), 5);
	assert_int_equal(backup_ids(e, repo, "be", ids, NULL, 8), 4);
	/* A restore into a missing directory is refused before the job runs. */
	assert_int_equal(CTL(e, out, "restore --repo %s %s %s/no/dir/x.qcow2", repo, ids[0],
			     e->dir), 5);
	assert_non_null(strstr(out, "no/dir"));
	/* ... and onto an existing file. */
	assert_int_equal(CTL(e, out, "restore --repo %s %s %s", repo, ids[0], a), 6);
	assert_int_equal(CTL(e, out, "-r backup be --repo %s", repo), 4);
	/* backup-list reads any directory with vmxd's rights: rw socket only. */
	assert_int_equal(CTL(e, out, "-r backup-list --repo %s", repo), 4);
	/* snapshot-list is vmxd's own records: fine on the read-only socket. */
	assert_int_equal(CTL(e, out, "-r snapshot-list be"), 0);
}

/* A revert changes the disk behind the bitmap: the next backup is full. */
static void vmctl_backup_after_revert_is_full(void **state)
{
	struct env *e = *state;
	char out[4096], a[200], repo[200], res[200], cmd[700];
	char ids[8][128];
	const char *types[8];

	disk_path(e, "a.qcow2", a, sizeof(a));
	disk_path(e, "repo", repo, sizeof(repo));
	snprintf(cmd, sizeof(cmd), "disk create %s --format qcow2 --size 2M", a);
	ctl_ok(e, out, sizeof(out), cmd);
	define_domain(e, "rv", 1, "vda", a, "qcow2");
	img_fill(a, 0, 65536, 0x01);
	ctl_ok(e, out, sizeof(out), "snapshot-create rv s");
	img_fill(a, MiB, 65536, 0x02);
	assert_int_equal(CTL(e, out, "backup rv --repo %s", repo), 0);
	ctl_ok(e, out, sizeof(out), "snapshot-revert rv s");
	assert_int_equal(CTL(e, out, "backup rv --repo %s", repo), 0);
	assert_int_equal(backup_ids(e, repo, "rv", ids, types, 8), 2);
	assert_string_equal(types[1], "full");
	disk_path(e, "res.qcow2", res, sizeof(res));
	assert_int_equal(CTL(e, out, "restore --repo %s %s %s", repo, ids[1], res), 0);
	assert_true(img_same(a, res));
	assert_int_equal(img_byte(res, MiB), 0);
}

/*
 * A full backup that made the bitmap anew (after a revert dropped it) and
 * was cancelled leaves every bit set: an incremental from the older parent
 * then reads what changed while no bitmap tracked it.
 */
static void vmctl_backup_cancelled_new_bitmap_keeps_changes(void **state)
{
	struct env *e = *state;
	char out[4096], a[200], repo[200], res[200], cmd[700];
	char ids[8][128];
	const char *types[8];
	int id = 0;

	disk_path(e, "a.qcow2", a, sizeof(a));
	disk_path(e, "repo", repo, sizeof(repo));
	snprintf(cmd, sizeof(cmd), "disk create %s --format qcow2 --size 256M", a);
	ctl_ok(e, out, sizeof(out), cmd);
	define_domain(e, "nb", 1, "vda", a, "qcow2");
	img_fill(a, 0, 65536, 0x01);
	ctl_ok(e, out, sizeof(out), "snapshot-create nb s");
	assert_int_equal(CTL(e, out, "backup nb --repo %s", repo), 0);
	ctl_ok(e, out, sizeof(out), "snapshot-revert nb s");
	img_fill(a, 2 * MiB, 65536, 0x33);   /* no bitmap sees this */
	assert_int_equal(CTL(e, out, "job-start backup name=nb repo=%s slice_ms=50", repo), 0);
	assert_int_equal(sscanf(out, "Job %d started", &id), 1);
	assert_int_equal(CTL(e, out, "job-cancel %d", id), 0);
	for (int i = 0; i < 500; i++) {
		assert_int_equal(CTL(e, out, "job-list"), 0);
		if (!strstr(out, "running"))
			break;
		h_sleep_ms(10);
	}
	assert_non_null(strstr(out, "cancelled"));
	assert_int_equal(CTL(e, out, "backup nb --repo %s --incremental", repo), 0);
	assert_int_equal(backup_ids(e, repo, "nb", ids, types, 8), 2);
	assert_string_equal(types[1], "incremental");
	disk_path(e, "res.qcow2", res, sizeof(res));
	assert_int_equal(CTL(e, out, "restore --repo %s %s %s", repo, ids[1], res), 0);
	assert_int_equal(img_byte(res, 2 * MiB), 0x33);
	assert_true(img_same(a, res));
}

/* kill -9 between the backups of two disks: no half domain in the repo. */
static void vmxd_kill9_mid_backup_keeps_repo_consistent(void **state)
{
	struct env *e = *state;
	char out[4096], a[200], b[200], repo[200], res[200], cmd[700];
	char ids[8][128], *latest;
	const char *types[8];
	int pid;

	disk_path(e, "a.qcow2", a, sizeof(a));
	disk_path(e, "b.qcow2", b, sizeof(b));
	disk_path(e, "repo", repo, sizeof(repo));
	snprintf(cmd, sizeof(cmd), "disk create %s --format qcow2 --size 2M", a);
	ctl_ok(e, out, sizeof(out), cmd);
	snprintf(cmd, sizeof(cmd), "disk create %s --format qcow2 --size 2M", b);
	ctl_ok(e, out, sizeof(out), cmd);
	define_domain(e, "kb", 2, "vda", a, "qcow2", "vdb", b, "qcow2");
	img_fill(a, 0, 65536, 0x31);
	assert_int_equal(CTL(e, out, "backup kb --repo %s", repo), 0);
	img_fill(a, 0, 65536, 0x32);

	pid = bystander_start(e, "kb-by");
	h_vmxd_stop(e, SIGTERM);
	assert_true(h_vmxd_start(e, "backup-mid") > 0);
	assert_int_not_equal(CTL(e, out, "backup kb --repo %s", repo), 0);
	after_crash(e, "kb-by", pid);

	/* Only the first, complete backup is listed; it verifies and restores. */
	assert_int_equal(backup_ids(e, repo, "kb", ids, types, 8), 2);
	assert_int_equal(CTL(e, out, "job-list"), 0);
	assert_non_null(strstr(out, "interrupted"));
	for (int i = 0; i < 2; i++)
		assert_int_equal(CTL(e, out, "verify --repo %s %s", repo, ids[i]), 0);
	disk_path(e, "res.qcow2", res, sizeof(res));
	assert_int_equal(strncmp(ids[0], "kb-vda-", 7), 0);
	assert_int_equal(CTL(e, out, "restore --repo %s %s %s", repo, ids[0], res), 0);
	assert_int_equal(img_byte(res, 0), 0x31);
	/* The bitmaps were left in use: an incremental is refused, auto is full. */
	assert_int_equal(CTL(e, out, "backup kb --repo %s --incremental", repo), 7);
	assert_non_null(strstr(out, "inconsistent"));
	assert_int_equal(CTL(e, out, "backup kb --repo %s", repo), 0);
	assert_int_equal(backup_ids(e, repo, "kb", ids, types, 8), 4);
	for (int i = 0; i < 4; i++)
		assert_string_equal(types[i], "full");
	/* The newest backup of vda (the list is oldest first per disk). */
	latest = NULL;
	for (int i = 0; i < 4; i++)
		if (strncmp(ids[i], "kb-vda-", 7) == 0 &&
		    (!latest || strcmp(ids[i], latest) > 0))
			latest = ids[i];
	assert_non_null(latest);
	disk_path(e, "res2.qcow2", res, sizeof(res));
	assert_int_equal(CTL(e, out, "restore --repo %s %s %s", repo, latest, res), 0);
	assert_true(img_same(a, res));
	snprintf(cmd, sizeof(cmd), "%s/jobs/backup-kb-ids", e->run);
	assert_int_not_equal(access(cmd, F_OK), 0);
	ctl_ok(e, out, sizeof(out), "destroy kb-by");
}

/* Cancel a conversion between slices: nothing left under either name. */
static void vmctl_disk_convert_cancel_leaves_nothing(void **state)
{
	struct env *e = *state;
	char out[4096], src[200], dst[200], cmd[700];
	int id = 0;

	disk_path(e, "big.raw", src, sizeof(src));
	disk_path(e, "big.qcow2", dst, sizeof(dst));
	snprintf(cmd, sizeof(cmd), "disk create %s --format raw --size 256M", src);
	ctl_ok(e, out, sizeof(out), cmd);
	/* slice_ms (a test knob) makes each 8 MiB slice last 50 ms. */
	assert_int_equal(CTL(e, out, "job-start disk-convert src=%s dst=%s format=qcow2 "
			     "slice_ms=50", src, dst), 0);
	assert_int_equal(sscanf(out, "Job %d started", &id), 1);
	assert_int_equal(CTL(e, out, "job-cancel %d", id), 0);
	for (int i = 0; i < 500; i++) {
		assert_int_equal(CTL(e, out, "job-list"), 0);
		if (!strstr(out, "running"))
			break;
		h_sleep_ms(10);
	}
	assert_non_null(strstr(out, "cancelled"));
	assert_int_not_equal(access(dst, F_OK), 0);
	snprintf(cmd, sizeof(cmd), "%s.partial", dst);
	assert_int_not_equal(access(cmd, F_OK), 0);
	/* The source is unlocked again: a new conversion runs to the end. */
	assert_int_equal(CTL(e, out, "disk convert %s %s --format qcow2", src, dst), 0);
	assert_true(img_same(src, dst));
}

/* kill -9 between the snapshots of two disks: undone at restart. */
static void vmxd_kill9_mid_snapshot_leaves_no_half_state(void **state)
{
	struct env *e = *state;
	char out[4096], a[200], b[200], cmd[700], db[300];
	json_object *o, *arr;
	int pid;

	disk_path(e, "a.qcow2", a, sizeof(a));
	disk_path(e, "b.qcow2", b, sizeof(b));
	snprintf(cmd, sizeof(cmd), "disk create %s --format qcow2 --size 1M", a);
	ctl_ok(e, out, sizeof(out), cmd);
	snprintf(cmd, sizeof(cmd), "disk create %s --format qcow2 --size 1M", b);
	ctl_ok(e, out, sizeof(out), cmd);
	define_domain(e, "ks", 2, "vda", a, "qcow2", "vdb", b, "qcow2");

	pid = bystander_start(e, "ks-by");
	h_vmxd_stop(e, SIGTERM);
	assert_true(h_vmxd_start(e, "snapshot-mid") > 0);
	assert_int_not_equal(CTL(e, out, "snapshot-create ks s1"), 0);
	after_crash(e, "ks-by", pid);

	o = ctl_json(e, "snapshot-list ks");
	assert_true(json_object_object_get_ex(o, "snapshots", &arr));
	assert_int_equal(json_object_array_length(arr), 0);
	json_object_put(o);
	for (int i = 0; i < 2; i++) {
		snprintf(cmd, sizeof(cmd), "disk info %s", i ? b : a);
		o = ctl_json(e, cmd);
		assert_true(json_object_object_get_ex(o, "snapshots", &arr));
		assert_int_equal(json_object_array_length(arr), 0);
		json_object_put(o);
	}
	snprintf(db, sizeof(db), "%s", e->db);
	h_vmxd_stop(e, SIGTERM);
	snprintf(cmd, sizeof(cmd), BINDIR "/vmxd --check-db --database %s >/dev/null 2>&1", db);
	assert_int_equal(system(cmd), 0);
	assert_true(h_vmxd_start(e, NULL) > 0);
	/* The name is free again. */
	ctl_ok(e, out, sizeof(out), "snapshot-create ks s1");
	ctl_ok(e, out, sizeof(out), "destroy ks-by");
}

/* Cancel a backup inside a disk: no backup listed, the next one is full. */
static void vmctl_backup_cancel_leaves_nothing(void **state)
{
	struct env *e = *state;
	char out[4096], a[200], repo[200], cmd[700];
	char ids[8][128];
	const char *types[8];
	int id = 0;

	disk_path(e, "a.qcow2", a, sizeof(a));
	disk_path(e, "repo", repo, sizeof(repo));
	snprintf(cmd, sizeof(cmd), "disk create %s --format qcow2 --size 256M", a);
	ctl_ok(e, out, sizeof(out), cmd);
	define_domain(e, "bc", 1, "vda", a, "qcow2");
	img_fill(a, 0, 65536, 0x44);
	/* slice_ms (a test knob) pauses 50 ms every 64 chunks (4 MiB). */
	assert_int_equal(CTL(e, out, "job-start backup name=bc repo=%s slice_ms=50", repo), 0);
	assert_int_equal(sscanf(out, "Job %d started", &id), 1);
	assert_int_equal(CTL(e, out, "job-cancel %d", id), 0);
	for (int i = 0; i < 500; i++) {
		assert_int_equal(CTL(e, out, "job-list"), 0);
		if (!strstr(out, "running"))
			break;
		h_sleep_ms(10);
	}
	assert_non_null(strstr(out, "cancelled"));
	assert_int_equal(backup_ids(e, repo, NULL, ids, types, 8), 0);
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s/tmp)\"", repo);
	assert_int_equal(system(cmd), 0);
	/* The disk is unlocked again and the next backup runs (full). */
	if (CTL(e, out, "backup bc --repo %s", repo) != 0)
		fail_msg("backup after cancel: %s", out);
	assert_int_equal(backup_ids(e, repo, NULL, ids, types, 8), 1);
	assert_string_equal(types[0], "full");
}

/* Distinct chunks stored in repo, read from its pack indexes by the library. */
static uint64_t repo_chunks(const char *repo, uint64_t *bytes)
{
	struct vx_err err;
	uint64_t chunks = 0, b = 0;

	if (backup_repo_usage(repo, &chunks, &b, &err) < 0)
		fail_msg("backup_repo_usage %s: %s", repo, err.msg);
	if (bytes)
		*bytes = b;
	return chunks;
}

/* A prune or gc job's result member (what it freed), from vmctl --json. */
static int64_t freed(json_object *done, const char *key)
{
	json_object *r, *v;

	assert_true(json_object_object_get_ex(done, "result", &r));
	assert_true(json_object_object_get_ex(r, key, &v));
	return json_object_get_int64(v);
}

/* Whether the list holds id. */
static int ids_have(char ids[][128], size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return 1;
	return 0;
}

/*
 * Three backups of a domain with a qcow2 and a raw disk; each backup changes
 * the first 64 KiB of both (the rest is zero, stored as null), so every
 * backup adds exactly one chunk per disk.
 */
static void prune_fixture(struct env *e, char *a, char *b, char *repo, size_t len)
{
	char out[4096], cmd[700];

	disk_path(e, "a.qcow2", a, len);
	disk_path(e, "b.raw", b, len);
	disk_path(e, "repo", repo, len);
	snprintf(cmd, sizeof(cmd), "disk create %s --format qcow2 --size 2M", a);
	ctl_ok(e, out, sizeof(out), cmd);
	snprintf(cmd, sizeof(cmd), "disk create %s --format raw --size 2M", b);
	ctl_ok(e, out, sizeof(out), cmd);
	define_domain(e, "pg", 2, "vda", a, "qcow2", "vdb", b, "raw");
	for (int i = 0; i < 3; i++) {
		img_fill(a, 0, 65536, 0x11 + i);
		img_fill(b, 0, 65536, 0x21 + i);
		snprintf(cmd, sizeof(cmd), "backup pg --repo %s", repo);
		ctl_ok(e, out, sizeof(out), cmd);
	}
	assert_int_equal(repo_chunks(repo, NULL), 6);
}

/* Bad arguments and the read-only socket are refused; nothing changes. */
static void vmctl_backup_prune_gc_errors(void **state)
{
	struct env *e = *state;
	char out[4096], a[200], b[200], repo[200], none[200], lock[300];
	char ids[8][128];
	int fd;

	prune_fixture(e, a, b, repo, sizeof(a));
	disk_path(e, "none", none, sizeof(none));
	assert_int_equal(CTL(e, out, "backup-prune --repo %s --keep 0", repo), 1);
	assert_non_null(strstr(out, "--keep must be a whole number, 1 or more (got '0')"));
	assert_int_equal(CTL(e, out, "backup-prune --repo %s --keep -2", repo), 1);
	assert_non_null(strstr(out, "--keep"));
	assert_int_equal(CTL(e, out, "backup-prune --repo %s --keep two", repo), 1);
	assert_non_null(strstr(out, "--keep"));
	assert_int_equal(CTL(e, out, "backup-prune --repo %s", repo), 1);
	assert_non_null(strstr(out, "--keep N missing"));
	assert_int_equal(CTL(e, out, "backup-prune --keep 1"), 1);
	assert_non_null(strstr(out, "--repo DIR missing"));
	assert_int_equal(CTL(e, out, "backup-gc --repo %s --keep 1", repo), 1);
	/* vmxd checks keep itself (for clients other than vmctl). */
	assert_int_equal(CTL(e, out, "job-start backup-prune repo=%s keep=0", repo), 7);
	assert_non_null(strstr(out, "argument 'keep' must be 1 or more"));
	assert_int_equal(CTL(e, out, "job-start backup-prune repo=%s", repo), 7);
	assert_non_null(strstr(out, "argument 'keep' missing"));
	/* A missing repository is not found, and not created. */
	assert_int_equal(CTL(e, out, "backup-prune --repo %s --keep 1", none), 5);
	assert_non_null(strstr(out, "not a backup repository"));
	assert_int_equal(CTL(e, out, "--json backup-gc --repo %s", none), 5);
	assert_non_null(strstr(out, "\"status\": \"not-found\""));
	assert_int_not_equal(access(none, F_OK), 0);
	/* A disk name with no backups (a typo) is not found either. */
	assert_int_equal(CTL(e, out, "backup-prune --repo %s --keep 1 --disk pg-vdz", repo), 5);
	assert_non_null(strstr(out, "no backups of disk 'pg-vdz'"));
	/* Both are write verbs: refused on the read-only socket. */
	assert_int_equal(CTL(e, out, "-r backup-prune --repo %s --keep 1", repo), 4);
	assert_non_null(strstr(out, "read-only"));
	assert_int_equal(CTL(e, out, "-r backup-gc --repo %s", repo), 4);
	assert_non_null(strstr(out, "read-only"));
	/*
	 * While the repository is in use (the shared lock a backup, verify or
	 * restore holds, taken here as they take it), both fail as busy.
	 */
	snprintf(lock, sizeof(lock), "%s/lock", repo);
	assert_true((fd = open(lock, O_RDWR)) >= 0);
	assert_int_equal(flock(fd, LOCK_SH), 0);
	assert_int_equal(CTL(e, out, "backup-prune --repo %s --keep 1", repo), 9);
	assert_non_null(strstr(out, "busy"));
	assert_int_equal(CTL(e, out, "backup-gc --repo %s", repo), 9);
	assert_non_null(strstr(out, "busy"));
	close(fd);
	/* Nothing changed. */
	assert_int_equal(backup_ids(e, repo, NULL, ids, NULL, 8), 6);
	assert_int_equal(repo_chunks(repo, NULL), 6);
}

/*
 * Prune keeps exactly the newest N of each disk and frees what only the
 * others held; the kept backups (an incremental whose parent went among
 * them) still verify and restore to the data they were taken of.
 */
static void vmctl_backup_prune_keeps_newest_per_disk(void **state)
{
	struct env *e = *state;
	char out[4096], a[200], b[200], repo[200], res[200], cmd[900];
	char before[8][128], after[8][128], *newest[2] = { NULL, NULL };
	uint64_t b0, b1;
	json_object *o;
	size_t n;

	prune_fixture(e, a, b, repo, sizeof(a));
	repo_chunks(repo, &b0);
	assert_int_equal(backup_ids(e, repo, NULL, before, NULL, 8), 6);

	snprintf(cmd, sizeof(cmd), "backup-prune --repo %s --keep 2", repo);
	o = ctl_json(e, cmd);
	assert_string_equal(json_object_get_string(json_object_object_get(o, "state")), "done");
	assert_int_equal(freed(o, "backups"), 2);
	assert_int_equal(freed(o, "chunks"), 2);
	/* Counted four ways: the job's report, and the indexes before and after. */
	assert_int_equal(repo_chunks(repo, &b1), 4);
	assert_int_equal(freed(o, "bytes"), (int64_t)(b0 - b1));
	assert_true(b1 < b0);
	json_object_put(o);

	/* Exactly the oldest of each disk went (the list is oldest first). */
	n = backup_ids(e, repo, NULL, after, NULL, 8);
	assert_int_equal(n, 4);
	for (size_t i = 0, seen_a = 0, seen_b = 0; i < 6; i++) {
		int is_a = strncmp(before[i], "pg-vda-", 7) == 0;
		int oldest = is_a ? !seen_a++ : !seen_b++;

		assert_int_equal(ids_have(after, n, before[i]), !oldest);
		newest[is_a ? 0 : 1] = before[i];
	}
	/* Every kept backup verifies; each restores to its own data. */
	for (size_t i = 0; i < n; i++) {
		int is_a = strncmp(after[i], "pg-vda-", 7) == 0;
		int latest = strcmp(after[i], newest[is_a ? 0 : 1]) == 0;

		assert_int_equal(CTL(e, out, "verify --repo %s %s", repo, after[i]), 0);
		snprintf(res, sizeof(res), "%s/res%zu.raw", e->dir, i);
		assert_int_equal(CTL(e, out, "restore --repo %s %s %s --format raw", repo,
				     after[i], res), 0);
		assert_int_equal(img_byte(res, 0), (is_a ? 0x11 : 0x21) + (latest ? 2 : 1));
		assert_int_equal(img_byte(res, 65536), 0);
		if (latest)
			assert_true(img_same(is_a ? a : b, res));
	}

	/* Nothing is left to free: gc says 0 and changes nothing. */
	snprintf(cmd, sizeof(cmd), "backup-gc --repo %s", repo);
	ctl_ok(e, out, sizeof(out), cmd);
	assert_non_null(strstr(out, ": 0 chunks (0 B, 0 bytes) freed"));
	assert_int_equal(repo_chunks(repo, NULL), 4);
	assert_int_equal(backup_ids(e, repo, NULL, after, NULL, 8), 4);

	/* --disk prunes that disk alone; the other keeps its two. */
	assert_int_equal(CTL(e, out, "backup-prune --repo %s --keep 1 --disk pg-vda", repo), 0);
	assert_non_null(strstr(out, "newest 1 backup of pg-vda: 1 backup deleted, 1 chunk ("));
	assert_int_equal(backup_ids(e, repo, NULL, after, NULL, 8), 3);
	assert_true(ids_have(after, 3, newest[0]) && ids_have(after, 3, newest[1]));
	assert_int_equal(repo_chunks(repo, NULL), 3);
	/* A second prune to the same N deletes nothing. */
	snprintf(cmd, sizeof(cmd), "backup-prune --repo %s --keep 2", repo);
	o = ctl_json(e, cmd);
	assert_int_equal(freed(o, "backups"), 0);
	assert_int_equal(freed(o, "chunks"), 0);
	json_object_put(o);
	ctl_ok(e, out, sizeof(out), "job-list");
	assert_non_null(strstr(out, "backup-prune"));
	assert_non_null(strstr(out, "backup-gc"));
}

/*
 * gc frees what no manifest references: a backup job that is cancelled or
 * interrupted removes its manifests and leaves their chunks (bk_abort,
 * bk_recover); removing a manifest by hand leaves the same state.
 */
static void vmctl_backup_gc_frees_unreferenced(void **state)
{
	struct env *e = *state;
	char out[4096], a[200], b[200], repo[200], path[1400], cmd[700];
	char ids[8][128];
	uint64_t b0, b1;
	json_object *o;

	prune_fixture(e, a, b, repo, sizeof(a));
	assert_int_equal(backup_ids(e, repo, NULL, ids, NULL, 8), 6);
	/* The oldest two (one per disk) hold the only 0x11 and 0x21 chunks. */
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/backups/%s.json", repo, ids[i]);
		assert_int_equal(unlink(path), 0);
	}
	assert_int_equal(repo_chunks(repo, &b0), 6);
	snprintf(cmd, sizeof(cmd), "backup-gc --repo %s", repo);
	o = ctl_json(e, cmd);
	assert_int_equal(freed(o, "chunks"), 2);
	assert_int_equal(repo_chunks(repo, &b1), 4);
	assert_int_equal(freed(o, "bytes"), (int64_t)(b0 - b1));
	assert_null(json_object_object_get(json_object_object_get(o, "result"), "backups"));
	json_object_put(o);
	for (int i = 2; i < 6; i++)
		assert_int_equal(CTL(e, out, "verify --repo %s %s", repo, ids[i]), 0);
	/* Again: nothing left. */
	o = ctl_json(e, cmd);
	assert_int_equal(freed(o, "chunks"), 0);
	assert_int_equal(freed(o, "bytes"), 0);
	json_object_put(o);
}

static void vmctl_storage_json_output(void **state)
{
	struct env *e = *state;
	char out[4096], a[200], repo[200], cmd[900];
	static const char *const verbs[] = {
		"disk create %s/j.qcow2 --format qcow2 --size 1M", "disk info %s/j.qcow2",
		"disk convert %s/j.qcow2 %s/j.raw --format raw",
		"snapshot-create js one", "snapshot-list js", "snapshot-revert js one",
		"snapshot-delete js one", "backup js --repo %s/repo",
		"backup-list --repo %s/repo js", "backup-prune --repo %s/repo --keep 1",
		"backup-gc --repo %s/repo",
	};

	disk_path(e, "j.qcow2", a, sizeof(a));
	disk_path(e, "repo", repo, sizeof(repo));
	define_domain(e, "js", 1, "vda", a, "qcow2");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		snprintf(cmd, sizeof(cmd), verbs[i], e->dir, e->dir);
		json_object_put(ctl_json(e, cmd));
		if (strncmp(verbs[i], "backup ", 7) == 0) {
			/* verify and restore need the backup's id */
			char ids[2][128];
			const char *types[2];

			assert_int_equal(backup_ids(e, repo, "js", ids, types, 2), 1);
			snprintf(cmd, sizeof(cmd), "verify --repo %s %s", repo, ids[0]);
			json_object_put(ctl_json(e, cmd));
			snprintf(cmd, sizeof(cmd), "restore --repo %s %s %s/jr.qcow2",
				 repo, ids[0], e->dir);
			json_object_put(ctl_json(e, cmd));
		}
	}
	(void)out;
}

/* kill -9 of vmxd while a conversion writes dst.partial: gone at restart. */
static void vmxd_kill9_mid_convert_leaves_nothing(void **state)
{
	struct env *e = *state;
	char out[4096], src[200], dst[200], partial[220], cmd[700];
	int id = 0, pid;

	disk_path(e, "k.raw", src, sizeof(src));
	disk_path(e, "k.qcow2", dst, sizeof(dst));
	snprintf(partial, sizeof(partial), "%s.partial", dst);
	snprintf(cmd, sizeof(cmd), "disk create %s --format raw --size 256M", src);
	ctl_ok(e, out, sizeof(out), cmd);
	pid = bystander_start(e, "kc-by");
	assert_int_equal(CTL(e, out, "job-start disk-convert src=%s dst=%s format=qcow2 "
			     "slice_ms=200", src, dst), 0);
	assert_int_equal(sscanf(out, "Job %d started", &id), 1);
	for (int i = 0; i < 500 && access(partial, F_OK) != 0; i++)
		h_sleep_ms(10);
	assert_int_equal(access(partial, F_OK), 0);
	kill(e->vmxd, SIGKILL);
	after_crash(e, "kc-by", pid);
	assert_int_equal(CTL(e, out, "job-list"), 0);
	assert_non_null(strstr(out, "interrupted"));
	assert_int_not_equal(access(partial, F_OK), 0);
	assert_int_not_equal(access(dst, F_OK), 0);
	/* The source is not left locked: a new conversion runs to the end. */
	assert_int_equal(CTL(e, out, "disk convert %s %s --format qcow2", src, dst), 0);
	assert_true(img_same(src, dst));
	ctl_ok(e, out, sizeof(out), "destroy kc-by");
}

/* ---- restore and verify: progress during the library call, cancel, kill -9 ---- */

/* A stopped domain with a 64 MiB disk (1024 chunks, data in some) backed up. */
static void rv_fixture(struct env *e, const char *dom, char *a, char *repo,
		       char *id, size_t len)
{
	char out[4096], cmd[700];
	char ids[2][128];
	const char *types[2];

	snprintf(a, len, "%s/%s.qcow2", e->dir, dom);
	snprintf(repo, len, "%s/repo", e->dir);
	snprintf(cmd, sizeof(cmd), "disk create %s --format qcow2 --size 64M", a);
	ctl_ok(e, out, sizeof(out), cmd);
	define_domain(e, dom, 1, "vda", a, "qcow2");
	for (int i = 0; i < 64; i += 8)
		img_fill(a, (uint64_t)i * MiB, 65536, 0x50 + i);
	assert_int_equal(CTL(e, out, "backup %s --repo %s", dom, repo), 0);
	assert_int_equal(backup_ids(e, repo, dom, ids, types, 2), 1);
	snprintf(id, 128, "%s", ids[0]);
}

/* Watches events; runs the job with --wait; returns distinct progress values
 * strictly between 0 and 100 of its job-progress events. */
static int job_intermediate_progress(struct env *e, const char *kind, const char *args)
{
	struct proto_rbuf rb;
	struct proto_msg m;
	struct vx_err err;
	char out[4096];
	int fd, done = 0, seen[101] = { 0 }, n = 0;

	fd = proto_connect_unix(e->rw, &err);
	assert_true(fd >= 0);
	proto_rbuf_init(&rb);
	assert_int_equal(proto_client_hello(fd, &rb, "watch", NULL, 2000, &err), 0);
	assert_int_equal(proto_call(fd, &rb, 1, "subscribe", NULL, &m, 2000, &err), 0);
	proto_msg_clear(&m);
	if (CTL(e, out, "job-start %s %s --wait", kind, args) != 0)
		fail_msg("job-start %s: %s", kind, out);
	assert_non_null(strstr(out, "done"));
	while (!done && proto_recv_fd(fd, &rb, &m, 2000, &err) == 0) {
		json_object *k = NULL, *p = NULL;

		if (m.pm_type == PROTO_EVENT && m.pm_body &&
		    json_object_object_get_ex(m.pm_body, "kind", &k) &&
		    strcmp(json_object_get_string(k), kind) == 0) {
			if (strcmp(m.pm_name, "job-done") == 0)
				done = 1;
			else if (strcmp(m.pm_name, "job-progress") == 0 &&
				 json_object_object_get_ex(m.pm_body, "progress", &p)) {
				int v = json_object_get_int(p);

				if (v > 0 && v < 100 && !seen[v]++)
					n++;
			}
		}
		proto_msg_clear(&m);
	}
	close(fd);
	proto_rbuf_free(&rb);
	assert_true(done);
	return n;
}

static void vmctl_restore_and_verify_report_progress(void **state)
{
	struct env *e = *state;
	char a[200], repo[200], id[128], res[200], args[900];

	rv_fixture(e, "rp", a, repo, id, sizeof(a));
	/* Every 64 chunks of 1024: 6, 12, ... 93 percent along the way. */
	snprintf(args, sizeof(args), "repo=%s id=%s slice_ms=20", repo, id);
	assert_true(job_intermediate_progress(e, "verify", args) >= 3);
	disk_path(e, "rp-res.qcow2", res, sizeof(res));
	snprintf(args, sizeof(args), "repo=%s id=%s path=%s slice_ms=20", repo, id, res);
	assert_true(job_intermediate_progress(e, "restore", args) >= 3);
	assert_true(img_same(a, res));
}

/* Polls job-list until job id is no longer running; returns its line. */
static void job_wait_ended(struct env *e, int id, char *out, size_t len)
{
	char want[32];

	snprintf(want, sizeof(want), "%d ", id);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(h_ctl(e, out, len, "job-list"), 0);
		if (!strstr(out, "running"))
			return;
		h_sleep_ms(10);
	}
	fail_msg("job %d still running: %s", id, out);
}

/* How many <path>.restore-* temp files exist. */
static int restore_temps(const char *path)
{
	char cmd[600];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -d %s.restore-* 2>/dev/null | wc -l", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

/* Cancel inside the library call: no image, no temp file; verify cancelled. */
static void vmctl_restore_and_verify_cancel_mid_call(void **state)
{
	struct env *e = *state;
	char out[4096], a[200], repo[200], id[128], res[200];
	int job = 0;

	rv_fixture(e, "rc", a, repo, id, sizeof(a));
	disk_path(e, "rc-res.qcow2", res, sizeof(res));
	/* slice_ms (a test knob) pauses 200 ms every 64 chunks: ~3 s in all. */
	assert_int_equal(CTL(e, out, "job-start restore repo=%s id=%s path=%s slice_ms=200",
			     repo, id, res), 0);
	assert_int_equal(sscanf(out, "Job %d started", &job), 1);
	for (int i = 0; i < 500 && restore_temps(res) == 0; i++)
		h_sleep_ms(10);
	assert_int_equal(restore_temps(res), 1);
	h_sleep_ms(250);   /* into the chunks */
	assert_int_equal(CTL(e, out, "job-cancel %d", job), 0);
	job_wait_ended(e, job, out, sizeof(out));
	assert_non_null(strstr(out, "cancelled"));
	assert_int_not_equal(access(res, F_OK), 0);
	assert_int_equal(restore_temps(res), 0);

	assert_int_equal(CTL(e, out, "job-start verify repo=%s id=%s slice_ms=200", repo, id), 0);
	assert_int_equal(sscanf(out, "Job %d started", &job), 1);
	h_sleep_ms(300);
	assert_int_equal(CTL(e, out, "job-cancel %d", job), 0);
	job_wait_ended(e, job, out, sizeof(out));
	assert_non_null(strstr(out, "cancelled"));
	/* Both run to the end afterwards. */
	assert_int_equal(CTL(e, out, "verify --repo %s %s", repo, id), 0);
	assert_int_equal(CTL(e, out, "restore --repo %s %s %s", repo, id, res), 0);
	assert_true(img_same(a, res));
}

/* kill -9 of vmxd with a restore's temp file half written: gone at restart. */
static void vmxd_kill9_mid_restore_leaves_nothing(void **state)
{
	struct env *e = *state;
	char out[4096], a[200], repo[200], id[128], res[200];
	int pid;

	rv_fixture(e, "kr", a, repo, id, sizeof(a));
	disk_path(e, "kr-res.qcow2", res, sizeof(res));
	pid = bystander_start(e, "kr-by");
	h_vmxd_stop(e, SIGTERM);
	assert_true(h_vmxd_start(e, "restore-mid") > 0);
	assert_int_not_equal(CTL(e, out, "restore --repo %s %s %s", repo, id, res), 0);
	after_crash(e, "kr-by", pid);
	assert_int_equal(CTL(e, out, "job-list"), 0);
	assert_non_null(strstr(out, "interrupted"));
	assert_int_not_equal(access(res, F_OK), 0);
	assert_int_equal(restore_temps(res), 0);
	assert_int_equal(CTL(e, out, "restore --repo %s %s %s", repo, id, res), 0);
	assert_true(img_same(a, res));
	ctl_ok(e, out, sizeof(out), "destroy kr-by");
}

/* ---- snapshot-create and snapshot-revert as jobs ---- */

/* How many internal snapshots the qcow2 at path has (disk info). */
static int disk_snaps(struct env *e, const char *path)
{
	char cmd[400];
	json_object *o, *arr;
	int n;

	snprintf(cmd, sizeof(cmd), "disk info %s", path);
	o = ctl_json(e, cmd);
	assert_true(json_object_object_get_ex(o, "snapshots", &arr));
	n = (int)json_object_array_length(arr);
	json_object_put(o);
	return n;
}

static int snap_rows(struct env *e, const char *dom)
{
	char cmd[300];
	json_object *o, *arr;
	int n;

	snprintf(cmd, sizeof(cmd), "snapshot-list %s", dom);
	o = ctl_json(e, cmd);
	assert_true(json_object_object_get_ex(o, "snapshots", &arr));
	n = (int)json_object_array_length(arr);
	json_object_put(o);
	return n;
}

/* Two 1 MiB qcow2 disks of dom, filled with c (vda) and c + 1 (vdb). */
static void sj_fixture(struct env *e, const char *dom, char *a, char *b, size_t len, int c)
{
	char out[4096], cmd[700];

	snprintf(a, len, "%s/%s-a.qcow2", e->dir, dom);
	snprintf(b, len, "%s/%s-b.qcow2", e->dir, dom);
	snprintf(cmd, sizeof(cmd), "disk create %s --format qcow2 --size 1M", a);
	ctl_ok(e, out, sizeof(out), cmd);
	snprintf(cmd, sizeof(cmd), "disk create %s --format qcow2 --size 1M", b);
	ctl_ok(e, out, sizeof(out), cmd);
	define_domain(e, dom, 2, "vda", a, "qcow2", "vdb", b, "qcow2");
	img_fill(a, 0, 65536, c);
	img_fill(b, 0, 65536, c + 1);
}

/* Per disk (stopped) and around the runner's save/load (running test domain). */
static void vmctl_snapshot_jobs_report_progress(void **state)
{
	struct env *e = *state;
	char out[4096], a[200], b[200], args[300];

	sj_fixture(e, "sp", a, b, sizeof(a), 0x10);
	snprintf(args, sizeof(args), "name=sp snapshot=s1 slice_ms=50");
	assert_true(job_intermediate_progress(e, "snapshot-create", args) >= 2);
	assert_int_equal(snap_rows(e, "sp"), 1);
	img_fill(a, 0, 65536, 0x20);
	assert_true(job_intermediate_progress(e, "snapshot-revert", args) >= 3);
	assert_int_equal(img_byte(a, 0), 0x10);
	/* The undo snapshot is gone once the revert is done. */
	assert_int_equal(disk_snaps(e, a), 1);
	assert_int_equal(disk_snaps(e, b), 1);
	/* --detach: the job's id, and the job runs on. */
	{
		int job = 0;

		assert_int_equal(CTL(e, out, "snapshot-create sp d1 --detach"), 0);
		assert_int_equal(sscanf(out, "Job %d started", &job), 1);
		job_wait_ended(e, job, out, sizeof(out));
		assert_int_equal(snap_rows(e, "sp"), 2);
	}

	ctl_ok(e, out, sizeof(out), "start sp");
	img_fill(a, 0, 65536, 0x25);
	snprintf(args, sizeof(args), "name=sp snapshot=m1 slice_ms=50");
	assert_true(job_intermediate_progress(e, "snapshot-create", args) >= 2);
	assert_int_equal(snapshot_has_memory(e, "sp", "m1"), 1);
	img_fill(a, 0, 65536, 0x30);
	assert_true(job_intermediate_progress(e, "snapshot-revert", args) >= 3);
	assert_int_equal(img_byte(a, 0), 0x25);
	ctl_ok(e, out, sizeof(out), "console sp --show-log");
	assert_non_null(strstr(out, "simulated state loaded"));
	/* vmctl --json: the verb's old answer, and the job. */
	{
		json_object *o = ctl_json(e, "snapshot-create sp m2"), *v;

		assert_true(json_object_object_get_ex(o, "memory", &v) && json_object_get_boolean(v));
		assert_true(json_object_object_get_ex(o, "disks", &v));
		assert_string_equal(json_object_get_string(v), "vda,vdb");
		assert_true(json_object_object_get_ex(o, "job", &v));
		json_object_put(o);
	}
	ctl_ok(e, out, sizeof(out), "destroy sp");
}

/* Starts a kind job with slice_ms, cancels it after ms; asserts cancelled. */
static void sj_cancel_after(struct env *e, const char *kind, const char *dom,
			    const char *snap, int slice_ms, int ms)
{
	char out[4096];
	int job = 0;

	assert_int_equal(CTL(e, out, "job-start %s name=%s snapshot=%s slice_ms=%d", kind, dom,
			     snap, slice_ms), 0);
	assert_int_equal(sscanf(out, "Job %d started", &job), 1);
	h_sleep_ms(ms);
	assert_int_equal(CTL(e, out, "job-cancel %d", job), 0);
	job_wait_ended(e, job, out, sizeof(out));
	if (!strstr(out, "cancelled"))
		fail_msg("%s not cancelled: %s", kind, out);
}

/*
 * Cancel between steps: a create leaves no snapshot on any disk and no row;
 * a revert leaves the disks as they were (no undo snapshot left over).
 * Stopped domain, then a running test domain (memory steps).
 */
static void vmctl_snapshot_jobs_cancel_leave_nothing(void **state)
{
	struct env *e = *state;
	char out[4096], a[200], b[200];

	sj_fixture(e, "sc", a, b, sizeof(a), 0x40);
	/* Steps: vda, vdb, each 1 s pause then its work: the cancel lands after vda. */
	sj_cancel_after(e, "snapshot-create", "sc", "s1", 1000, 500);
	assert_int_equal(snap_rows(e, "sc"), 0);
	assert_int_equal(disk_snaps(e, a), 0);
	assert_int_equal(disk_snaps(e, b), 0);

	ctl_ok(e, out, sizeof(out), "snapshot-create sc s1");
	img_fill(a, 0, 65536, 0x50);
	img_fill(b, 0, 65536, 0x51);
	/* Steps: undo, vda, vdb: the cancel lands after vda was reverted. */
	sj_cancel_after(e, "snapshot-revert", "sc", "s1", 1000, 1500);
	assert_int_equal(img_byte(a, 0), 0x50);
	assert_int_equal(img_byte(b, 0), 0x51);
	assert_int_equal(disk_snaps(e, a), 1);
	assert_int_equal(disk_snaps(e, b), 1);
	assert_int_equal(snap_rows(e, "sc"), 1);

	/* Running: create's steps are save, vda, vdb. */
	ctl_ok(e, out, sizeof(out), "start sc");
	sj_cancel_after(e, "snapshot-create", "sc", "m1", 1000, 500);
	assert_int_equal(snap_rows(e, "sc"), 1);
	assert_int_equal(state_files(e), 0);
	assert_int_equal(disk_snaps(e, a), 1);
	ctl_ok(e, out, sizeof(out), "snapshot-create sc m1");
	img_fill(a, 0, 65536, 0x60);
	/* revert's: undo, vda, vdb, load; the cancel lands after vda. */
	sj_cancel_after(e, "snapshot-revert", "sc", "m1", 1000, 1500);
	assert_int_equal(img_byte(a, 0), 0x60);
	assert_int_equal(disk_snaps(e, a), 2);
	ctl_ok(e, out, sizeof(out), "console sc --show-log");
	assert_null(strstr(out, "simulated state loaded"));
	assert_int_equal(h_wait_state(e, "sc", "running", 2000), 0);
	ctl_ok(e, out, sizeof(out), "destroy sc");
}

/* kill -9 between the reverts of two disks: put back as it was at restart. */
static void vmxd_kill9_mid_snapshot_revert_leaves_disks_as_they_were(void **state)
{
	struct env *e = *state;
	char out[4096], a[200], b[200];
	int pid;

	sj_fixture(e, "kv", a, b, sizeof(a), 0x70);
	ctl_ok(e, out, sizeof(out), "snapshot-create kv s1");
	img_fill(a, 0, 65536, 0x72);
	img_fill(b, 0, 65536, 0x73);
	pid = bystander_start(e, "kv-by");
	h_vmxd_stop(e, SIGTERM);
	assert_true(h_vmxd_start(e, "snapshot-revert-mid") > 0);
	assert_int_not_equal(CTL(e, out, "snapshot-revert kv s1"), 0);
	after_crash(e, "kv-by", pid);
	assert_int_equal(CTL(e, out, "job-list"), 0);
	assert_non_null(strstr(out, "interrupted"));
	assert_int_equal(img_byte(a, 0), 0x72);
	assert_int_equal(img_byte(b, 0), 0x73);
	assert_int_equal(disk_snaps(e, a), 1);
	assert_int_equal(disk_snaps(e, b), 1);
	/* The revert runs to the end now. */
	ctl_ok(e, out, sizeof(out), "snapshot-revert kv s1");
	assert_int_equal(img_byte(a, 0), 0x70);
	assert_int_equal(img_byte(b, 0), 0x71);

	/* A running test domain: its disks too, and it keeps running. */
	ctl_ok(e, out, sizeof(out), "start kv");
	ctl_ok(e, out, sizeof(out), "snapshot-create kv m1");
	img_fill(a, 0, 65536, 0x74);
	pid = h_runner_pid(e, "kv");
	h_vmxd_stop(e, SIGTERM);
	assert_true(h_vmxd_start(e, "snapshot-revert-mid") > 0);
	assert_int_not_equal(CTL(e, out, "snapshot-revert kv m1"), 0);
	after_crash(e, "kv", pid);
	assert_int_equal(img_byte(a, 0), 0x74);
	assert_int_equal(disk_snaps(e, a), 2);
	ctl_ok(e, out, sizeof(out), "destroy kv");
	ctl_ok(e, out, sizeof(out), "destroy kv-by");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, h_setup, h_teardown)
	const struct CMUnitTest tests[] = {
		T(vmctl_disk_create_info_convert),
		T(vmctl_disk_errors),
		T(vmctl_disk_convert_cancel_leaves_nothing),
		T(vmctl_snapshot_create_revert_delete),
		T(vmctl_snapshot_errors),
		T(vmctl_backup_full_incremental_verify_restore),
		T(vmctl_backup_errors),
		T(vmctl_backup_after_revert_is_full),
		T(vmxd_kill9_mid_backup_keeps_repo_consistent),
		T(vmctl_backup_cancel_leaves_nothing),
		T(vmctl_backup_cancelled_new_bitmap_keeps_changes),
		T(vmxd_kill9_mid_snapshot_leaves_no_half_state),
		T(vmctl_memory_snapshot_of_running_domain),
		T(vmxd_kill9_mid_memory_snapshot_leaves_no_half_row),
		T(vmctl_backup_prune_gc_errors),
		T(vmctl_backup_prune_keeps_newest_per_disk),
		T(vmctl_backup_gc_frees_unreferenced),
		T(vmctl_storage_json_output),
		T(vmxd_kill9_mid_convert_leaves_nothing),
		T(vmctl_restore_and_verify_report_progress),
		T(vmctl_restore_and_verify_cancel_mid_call),
		T(vmxd_kill9_mid_restore_leaves_nothing),
		T(vmctl_snapshot_jobs_report_progress),
		T(vmctl_snapshot_jobs_cancel_leave_nothing),
		T(vmxd_kill9_mid_snapshot_revert_leaves_disks_as_they_were),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
