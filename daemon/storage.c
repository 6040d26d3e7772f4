/*
 * storage: vmxd's disk, snapshot and backup verbs over libvxstorage, and the
 * storage job kinds (disk-convert, backup, verify, restore, backup-prune,
 * backup-gc). vmxd is the one place that opens images on a client's behalf,
 * so the library's image locks keep two verbs (or a verb and a runner) off
 * the same disk.
 * Context: loop thread; the jobs' st_step functions run on the thread pool.
 */
#include "daemon/vmxd.h"
#include "daemon/backup_live.h"
#include "daemon/job.h"
#include "daemon/storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "storage/backup.h"
#include "storage/bitmap.h"
#include "storage/image.h"
#include "storage/snapshot.h"

/*
 * The persistent dirty bitmaps incremental backups follow: one per
 * repository ("vmxd-" and a hash of its path), because a backup clears its
 * bitmap and another repository's next incremental must still see those
 * changes.
 */
#define STOR_BITMAP_PFX "vmxd-"

/* ---- arguments ---- */

int stor_arg_str(json_object *args, const char *key, int required,
			const char **out, struct vx_err *err)
{
	json_object *v;

	*out = NULL;
	if (!args || !json_object_object_get_ex(args, key, &v) || !v) {
		if (required)
			return vx_err_set(err, -EINVAL, "argument '%s' missing", key);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return vx_err_set(err, -EINVAL, "argument '%s' must be a string", key);
	*out = json_object_get_string(v);
	return 0;
}

/* A path vmxd opens for a client: absolute (vmxd's cwd is not the client's). */
static int stor_arg_path(json_object *args, const char *key, const char **out,
			 struct vx_err *err)
{
	int rc;

	if ((rc = stor_arg_str(args, key, 1, out, err)) < 0)
		return rc;
	if ((*out)[0] != '/')
		return vx_err_set(err, -EINVAL, "argument '%s' must be an absolute path", key);
	if (strlen(*out) >= PATH_MAX - 32)
		return vx_err_set(err, -ENAMETOOLONG, "argument '%s' too long", key);
	return 0;
}

static int stor_arg_format(json_object *args, const char *key, int required,
			   const char **out, struct vx_err *err)
{
	int rc;

	if ((rc = stor_arg_str(args, key, required, out, err)) < 0 || !*out)
		return rc;
	if (strcmp(*out, "raw") != 0 && strcmp(*out, "qcow2") != 0)
		return vx_err_set(err, -EINVAL, "format '%s' unknown: use raw or qcow2", *out);
	return 0;
}

/* ---- disk-create, disk-info ---- */

/* Images are regular files (a FIFO or device would block the loop). */
static int stor_regular(const char *path, struct vx_err *err)
{
	struct stat stb;

	if (stat(path, &stb) < 0)
		return vx_err_errno(err, -errno, "%s", path);
	if (!S_ISREG(stb.st_mode))
		return vx_err_set(err, -EINVAL, "%s is not a regular file", path);
	return 0;
}

int stor_disk_create(struct vmxd *v, json_object *args, json_object **res,
		     struct vx_err *err)
{
	struct img_create_opts o;
	const char *path, *fmt, *backing;
	json_object *sz;
	int rc;

	(void)v;
	memset(&o, 0, sizeof(o));
	if ((rc = stor_arg_path(args, "path", &path, err)) < 0 ||
	    (rc = stor_arg_format(args, "format", 1, &fmt, err)) < 0 ||
	    (rc = stor_arg_str(args, "backing", 0, &backing, err)) < 0)
		return rc;
	o.fmt = fmt;
	o.backing = backing;
	if (json_object_object_get_ex(args, "size", &sz) && sz) {
		if (!json_object_is_type(sz, json_type_int) ||
		    json_object_get_int64(sz) < 0)
			return vx_err_set(err, -EINVAL, "argument 'size' must be a byte count");
		o.size = (uint64_t)json_object_get_int64(sz);
	}
	if (backing && strcmp(fmt, "qcow2") != 0)
		return vx_err_set(err, -EINVAL, "a backing file needs format qcow2");
	if (!o.size && !backing)
		return vx_err_set(err, -EINVAL, "argument 'size' missing (or zero)");
	/* img_create truncates; never clobber an existing file. */
	if (access(path, F_OK) == 0)
		return vx_err_set(err, -EEXIST, "%s exists", path);
	if ((rc = img_create(path, &o, err)) < 0)
		return rc;
	*res = json_object_new_object();
	json_object_object_add(*res, "path", json_object_new_string(path));
	json_object_object_add(*res, "format", json_object_new_string(fmt));
	log_info("disk %s created (%s)", path, fmt);
	return 0;
}

int stor_disk_info(struct vmxd *v, json_object *args, json_object **res,
		   struct vx_err *err)
{
	struct img_snapshot_info *snaps = NULL;
	struct img_bitmap_info *bms = NULL;
	json_object *o, *chain, *a;
	const char *path;
	struct img *img;
	struct stat stb;
	int rc, n;

	(void)v;
	if ((rc = stor_arg_path(args, "path", &path, err)) < 0)
		return rc;
	/* Shared: info must work on a disk a running domain holds. */
	if ((rc = stor_regular(path, err)) < 0 ||
	    (rc = img_open(path, NULL, IMG_SHARED, &img, err)) < 0)
		return rc;
	o = json_object_new_object();
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "format", json_object_new_string(img_format(img)));
	json_object_object_add(o, "virtual_size", json_object_new_int64((int64_t)img->size));
	if (fstat(img->fd, &stb) == 0)
		json_object_object_add(o, "allocated",
				       json_object_new_int64((int64_t)stb.st_blocks * 512));
	chain = json_object_new_array();
	for (struct img *b = img; b->backing_name; b = b->backing) {
		json_object *e = json_object_new_object();

		json_object_object_add(e, "file", json_object_new_string(b->backing_name));
		json_object_object_add(e, "format", json_object_new_string(
			b->backing ? img_format(b->backing) :
			b->backing_fmt ? b->backing_fmt : "?"));
		json_object_array_add(chain, e);
		if (!b->backing)
			break;
	}
	json_object_object_add(o, "backing_chain", chain);
	a = json_object_new_array();
	if (img_snapshot_list(img, &snaps, &n, NULL) == 0) {
		for (int i = 0; i < n; i++) {
			json_object *e = json_object_new_object();

			json_object_object_add(e, "id", json_object_new_string(snaps[i].id));
			json_object_object_add(e, "name", json_object_new_string(snaps[i].name));
			json_object_object_add(e, "date", json_object_new_int64((int64_t)snaps[i].date_sec));
			json_object_object_add(e, "disk_size",
					       json_object_new_int64((int64_t)snaps[i].disk_size));
			json_object_array_add(a, e);
		}
		free(snaps);
	}
	json_object_object_add(o, "snapshots", a);
	a = json_object_new_array();
	if (img_bitmap_list(img, &bms, &n, NULL) == 0) {
		for (int i = 0; i < n; i++) {
			json_object *e = json_object_new_object();

			json_object_object_add(e, "name", json_object_new_string(bms[i].name));
			json_object_object_add(e, "granularity",
					       json_object_new_int64(1ll << bms[i].granularity_bits));
			json_object_object_add(e, "enabled", json_object_new_boolean(bms[i].enabled));
			json_object_object_add(e, "inconsistent",
					       json_object_new_boolean(bms[i].inconsistent));
			json_object_array_add(a, e);
		}
		free(bms);
	}
	json_object_object_add(o, "bitmaps", a);
	img_close(img, NULL);
	*res = o;
	return 0;
}

static void stor_bitmap_name(const char *repo, char out[32])
{
	uint64_t h = 1469598103934665603ull;   /* FNV-1a */

	for (const char *p = repo; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	snprintf(out, 32, STOR_BITMAP_PFX "%016llx", (unsigned long long)h);
}

/*
 * A revert changes the disk behind the bitmaps' back: drop vmxd's bitmaps
 * so the next backup of the disk is full.
 */
void stor_bitmaps_drop(struct img *img)
{
	struct img_bitmap_info *bms;
	int n;

	if (img_bitmap_list(img, &bms, &n, NULL) < 0)
		return;
	for (int i = 0; i < n; i++)
		if (strncmp(bms[i].name, STOR_BITMAP_PFX, strlen(STOR_BITMAP_PFX)) == 0)
			img_bitmap_remove(img, bms[i].name, NULL);
	free(bms);
}

/* ---- domains' disks ---- */

struct stor_dom {
	struct store_domain sd;
	struct xml_domain *xd;
};

static void stor_dom_clear(struct stor_dom *d)
{
	xml_domain_free(d->xd);
	store_domain_clear(&d->sd);
}

/*
 * Looks the domain up and refuses a running one: its disks are the VMM's
 * while it runs (a kvm domain's memory snapshot comes with the VMM).
 */
static int stor_dom_get_stopped(struct vmxd *v, json_object *args,
				const char *what, struct stor_dom *d,
				struct vx_err *err)
{
	const char *name;
	int rc;

	memset(d, 0, sizeof(*d));
	if ((rc = stor_arg_str(args, "name", 1, &name, err)) < 0 ||
	    (rc = store_domain_get(v->store, name, &d->sd, err)) < 0)
		return rc;
	if (!what) {
		/* The caller takes running domains too (live backup). */
	} else if (runner_find(v, d->sd.sd_uuid)) {
		if (strcmp(d->sd.sd_type, "kvm") == 0)
			rc = vx_err_set(err, -EBUSY,
					"domain '%s' is running: %s of a running kvm domain "
					"needs the VMM (memory state); stop it first",
					d->sd.sd_name, what);
		else
			rc = vx_err_set(err, -EBUSY,
					"domain '%s' is running: %s works on stopped domains "
					"only; stop it first", d->sd.sd_name, what);
		store_domain_clear(&d->sd);
		return rc;
	}
	if ((rc = xml_domain_parse(d->sd.sd_xml, strlen(d->sd.sd_xml), &d->xd, err)) < 0)
		store_domain_clear(&d->sd);
	return rc;
}

int stor_disk_is(const struct xml_disk *xd, const char *fmt)
{
	return xd->xd_source && strcmp(xd->xd_device, "disk") == 0 &&
	       !xd->xd_readonly && (!fmt || strcmp(xd->xd_format, fmt) == 0);
}

/* ---- snapshots ---- */

int stor_snap_name(const char *name, struct vx_err *err)
{
	if (!*name || strlen(name) > 200 || strchr(name, ',') ||
	    strspn(name, "0123456789") == strlen(name))
		return vx_err_set(err, -EINVAL,
				  "snapshot name '%s' invalid: 1-200 characters, no comma, "
				  "not all digits", name);
	return 0;
}

/* Runs op on the snapshot name of the disk at path (opened read-write). */
int stor_snap_disk(const char *path, const char *op, const char *name,
			  struct vx_err *err)
{
	struct img *img;
	int rc;

	if ((rc = img_open(path, "qcow2", IMG_RDWR, &img, err)) < 0)
		return rc;
	if (strcmp(op, "create") == 0)
		rc = img_snapshot_create(img, name, err);
	else if (strcmp(op, "revert") == 0 &&
		 (rc = img_snapshot_apply(img, name, err)) == 0)
		stor_bitmaps_drop(img);
	else
		rc = img_snapshot_delete(img, name, err);
	if (img_close(img, rc < 0 ? NULL : err) < 0 && rc == 0)
		rc = err ? err->code : -EIO;
	return rc;
}

int stor_snapshot_create(struct vmxd *v, json_object *args, json_object **res,
			 struct vx_err *err)
{
	char disks[1024] = "";
	struct stor_dom d;
	const char *name;
	size_t done = 0, len = 0;
	int rc, nq = 0;

	if ((rc = stor_arg_str(args, "snapshot", 1, &name, err)) < 0 ||
	    (rc = stor_snap_name(name, err)) < 0 ||
	    (rc = stor_dom_get_stopped(v, args, "a snapshot", &d, err)) < 0)
		return rc;
	if (store_snapshot_get(v->store, d.sd.sd_uuid, name, NULL, 0, NULL) == 0) {
		rc = vx_err_set(err, -EEXIST, "domain '%s' already has a snapshot '%s'",
				d.sd.sd_name, name);
		goto out;
	}
	for (size_t i = 0; i < d.xd->xdom_ndisks; i++)
		if (stor_disk_is(&d.xd->xdom_disks[i], "qcow2"))
			nq++;
	if (!nq) {
		rc = vx_err_set(err, -ENOTSUP, "domain '%s' has no writable qcow2 disk "
				"(internal snapshots need qcow2)", d.sd.sd_name);
		goto out;
	}
	/*
	 * All or nothing: recorded as 'creating' first (a crash is undone at
	 * the next start, stor_recover), then a failing disk deletes the
	 * snapshots made before it.
	 */
	for (size_t i = 0; i < d.xd->xdom_ndisks; i++) {
		struct xml_disk *xd = &d.xd->xdom_disks[i];

		if (!stor_disk_is(xd, "qcow2"))
			continue;
		len += (size_t)snprintf(disks + len, sizeof(disks) - len, "%s%s",
				       len ? "," : "", xd->xd_target);
		if (len >= sizeof(disks)) {
			rc = vx_err_set(err, -E2BIG, "too many disks");
			goto out;
		}
	}
	if ((rc = store_snapshot_add(v->store, d.sd.sd_uuid, name, disks, 1, err)) < 0)
		goto out;
	done = 0;
	for (size_t i = 0; i < d.xd->xdom_ndisks; i++) {
		struct xml_disk *xd = &d.xd->xdom_disks[i];

		if (!stor_disk_is(xd, "qcow2"))
			continue;
		if ((rc = stor_snap_disk(xd->xd_source, "create", name, err)) < 0)
			break;
		done = i + 1;
		vmxd_test_crash("snapshot-mid"); /* tests: kill -9 between disks */
	}
	if (rc == 0)
		rc = store_snapshot_done(v->store, d.sd.sd_uuid, name, disks, err);
	if (rc < 0) {
		for (size_t i = 0; i < done; i++)
			if (stor_disk_is(&d.xd->xdom_disks[i], "qcow2"))
				stor_snap_disk(d.xd->xdom_disks[i].xd_source, "delete",
					       name, NULL);
		store_snapshot_del(v->store, d.sd.sd_uuid, name, NULL);
		goto out;
	}
	*res = json_object_new_object();
	json_object_object_add(*res, "domain", json_object_new_string(d.sd.sd_name));
	json_object_object_add(*res, "snapshot", json_object_new_string(name));
	json_object_object_add(*res, "disks", json_object_new_string(disks));
	log_info("domain %s: snapshot %s created (%s)", d.sd.sd_name, name, disks);
out:
	stor_dom_clear(&d);
	return rc;
}

/* Whether the comma-separated list names target. */
int stor_list_has(const char *list, const char *target)
{
	size_t tl = strlen(target);

	for (const char *p = list; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] != 0))
		if (strncmp(p, target, tl) == 0 && (p[tl] == ',' || p[tl] == '\0'))
			return 1;
	return 0;
}

/* revert and delete: the snapshot must be recorded; every disk it names. */
static int stor_snapshot_each(struct vmxd *v, json_object *args, const char *op,
			      json_object **res, struct vx_err *err)
{
	char disks[1024];
	struct stor_dom d;
	const char *name;
	int rc;

	if ((rc = stor_arg_str(args, "snapshot", 1, &name, err)) < 0 ||
	    (rc = stor_dom_get_stopped(v, args, strcmp(op, "revert") == 0 ?
				       "reverting a snapshot" : "deleting a snapshot",
				       &d, err)) < 0)
		return rc;
	if ((rc = store_snapshot_get(v->store, d.sd.sd_uuid, name, disks,
				     sizeof(disks), err)) < 0) {
		if (rc == -ENOENT)
			vx_err_set(err, rc, "domain '%s' has no snapshot '%s'",
				   d.sd.sd_name, name);
		goto out;
	}
	for (size_t i = 0; i < d.xd->xdom_ndisks; i++) {
		struct xml_disk *xd = &d.xd->xdom_disks[i];
		if (!stor_disk_is(xd, "qcow2") || !stor_list_has(disks, xd->xd_target))
			continue;
		rc = stor_snap_disk(xd->xd_source, op, name, err);
		/* delete: a snapshot someone already removed from a disk is fine. */
		if (rc == -ENOENT && strcmp(op, "delete") == 0)
			rc = 0;
		if (rc < 0)
			goto out;
	}
	if (strcmp(op, "delete") == 0) {
		char file[256] = "";

		store_snapshot_memory(v->store, d.sd.sd_uuid, name, file, sizeof(file), NULL);
		if ((rc = store_snapshot_del(v->store, d.sd.sd_uuid, name, err)) < 0)
			goto out;
		memsnap_remove_file(v, d.sd.sd_uuid, file);
	}
	*res = json_object_new_object();
	json_object_object_add(*res, "domain", json_object_new_string(d.sd.sd_name));
	json_object_object_add(*res, "snapshot", json_object_new_string(name));
	log_info("domain %s: snapshot %s %s", d.sd.sd_name, name,
		 strcmp(op, "delete") == 0 ? "deleted" : "reverted to");
out:
	stor_dom_clear(&d);
	return rc;
}

int stor_snapshot_revert(struct vmxd *v, json_object *args, json_object **res,
			 struct vx_err *err)
{
	return stor_snapshot_each(v, args, "revert", res, err);
}

int stor_snapshot_delete(struct vmxd *v, json_object *args, json_object **res,
			 struct vx_err *err)
{
	return stor_snapshot_each(v, args, "delete", res, err);
}

int stor_snapshot_list(struct vmxd *v, json_object *args, json_object **res,
		       struct vx_err *err)
{
	struct store_snapshot *s;
	struct store_domain sd;
	const char *name;
	json_object *arr;
	size_t n;
	int rc;

	if ((rc = stor_arg_str(args, "name", 1, &name, err)) < 0 ||
	    (rc = store_domain_get(v->store, name, &sd, err)) < 0)
		return rc;
	rc = store_snapshot_list(v->store, sd.sd_uuid, &s, &n, err);
	store_domain_clear(&sd);
	if (rc < 0)
		return rc;
	arr = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_new_object();

		json_object_object_add(e, "name", json_object_new_string(s[i].ss_name));
		json_object_object_add(e, "created", json_object_new_int64(s[i].ss_created));
		json_object_object_add(e, "disks", json_object_new_string(s[i].ss_disks));
		json_object_object_add(e, "memory", json_object_new_boolean(s[i].ss_memory[0] != 0));
		json_object_array_add(arr, e);
	}
	free(s);
	*res = json_object_new_object();
	json_object_object_add(*res, "snapshots", arr);
	return 0;
}

/* Removes snapshot s (recorded 'creating') from its disks, its state file, the row. */
static void stor_snapshot_undo_row(struct vmxd *v, const struct store_snapshot *s)
{
	struct store_domain sd;
	struct xml_domain *xd = NULL;

	if (store_domain_get(v->store, s->ss_uuid, &sd, NULL) < 0)
		return;
	if (xml_domain_parse(sd.sd_xml, strlen(sd.sd_xml), &xd, NULL) == 0) {
		for (size_t k = 0; k < xd->xdom_ndisks; k++)
			if (stor_disk_is(&xd->xdom_disks[k], "qcow2") &&
			    stor_list_has(s->ss_disks, xd->xdom_disks[k].xd_target))
				stor_snap_disk(xd->xdom_disks[k].xd_source, "delete",
					       s->ss_name, NULL);
		xml_domain_free(xd);
	}
	memsnap_remove_file(v, s->ss_uuid, s->ss_memory);
	store_snapshot_del(v->store, s->ss_uuid, s->ss_name, NULL);
	log_warn("domain %s: snapshot %s was interrupted by a vmxd crash; "
		 "removed from its disks", sd.sd_name, s->ss_name);
	store_domain_clear(&sd);
}

void stor_snapshot_undo(struct vmxd *v, const char *uuid, const char *name)
{
	struct store_snapshot *s;
	size_t n;

	if (store_snapshot_list(v->store, uuid, &s, &n, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (s[i].ss_creating && strcmp(s[i].ss_name, name) == 0)
			stor_snapshot_undo_row(v, &s[i]);
	free(s);
}

/*
 * Startup: a snapshot still 'creating' was interrupted by a vmxd crash.
 * Its name is ours (recorded before the disks were touched): delete it
 * from every disk that has it, then the record.
 */
void stor_recover(struct vmxd *v)
{
	struct store_snapshot *s;
	struct vx_err err;
	size_t n;

	if (store_snapshot_list(v->store, NULL, &s, &n, &err) < 0) {
		log_err("cannot list snapshots: %s", err.msg);
		return;
	}
	for (size_t i = 0; i < n; i++)
		stor_snapshot_undo_row(v, &s[i]);
	free(s);
}

/* ---- backup-list ---- */

/*
 * The repository's name for a domain's disk: <domain>-<target>, characters
 * outside [A-Za-z0-9._-] as '_' (the library's alphabet). target NULL: the
 * prefix alone, for filtering.
 */
static int stor_repo_disk(const char *dom, const char *target, char out[64])
{
	int n = target ? snprintf(out, 64, "%s-%s", dom, target) :
		snprintf(out, 64, "%s-", dom);

	if (n < 0 || n >= 64)
		return -ENAMETOOLONG;
	for (char *p = out; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789._-", *p))
			*p = '_';
	return 0;
}

int stor_backup_list(struct vmxd *v, json_object *args, json_object **res,
		     struct vx_err *err)
{
	struct backup_info *b;
	const char *repo, *dom;
	json_object *arr;
	char pfx[64];
	size_t dl = 0;
	int rc, n;

	(void)v;
	if ((rc = stor_arg_path(args, "repo", &repo, err)) < 0 ||
	    (rc = stor_arg_str(args, "domain", 0, &dom, err)) < 0 ||
	    (rc = backup_list(repo, &b, &n, err)) < 0)
		return rc;
	if (dom && stor_repo_disk(dom, NULL, pfx) == 0)
		dl = strlen(pfx);
	else if (dom)
		dl = sizeof(pfx);     /* matches nothing */
	arr = json_object_new_array();
	for (int i = 0; i < n; i++) {
		json_object *e;

		/* Disks are named <domain>-<target> by the backup job. */
		if (dom && (dl >= sizeof(pfx) || strncmp(b[i].disk, pfx, dl) != 0 ||
			    strchr(b[i].disk + dl, '-')))
			continue;
		e = json_object_new_object();
		json_object_object_add(e, "id", json_object_new_string(b[i].id));
		json_object_object_add(e, "disk", json_object_new_string(b[i].disk));
		json_object_object_add(e, "time", json_object_new_int64(b[i].time));
		json_object_object_add(e, "disk_size", json_object_new_int64((int64_t)b[i].disk_size));
		json_object_object_add(e, "type", json_object_new_string(
			b[i].incremental ? "incremental" : "full"));
		json_object_object_add(e, "parent", json_object_new_string(b[i].parent));
		json_object_array_add(arr, e);
	}
	free(b);
	*res = json_object_new_object();
	json_object_object_add(*res, "backups", arr);
	return 0;
}

/* ---- job "disk-convert": src -> dst.partial, renamed in commit ---- */

#define STOR_SLICE (8u << 20)

struct conv {
	struct img *src, *dst;
	uint64_t off;
	int slice_ms;            /* test knob: a pause per slice */
	char partial[PATH_MAX], final[PATH_MAX];
	void *buf;
};

static int conv_init(struct vmxd_job *j, json_object *args, struct vx_err *err)
{
	struct conv *c = calloc(1, sizeof(*c));
	struct img_create_opts o;
	const char *src, *dst, *fmt;
	json_object *sl;
	int rc;

	if (!c)
		return vx_err_set(err, -ENOMEM, "out of memory");
	j->j_priv = c;
	if ((rc = stor_arg_path(args, "src", &src, err)) < 0 ||
	    (rc = stor_arg_path(args, "dst", &dst, err)) < 0 ||
	    (rc = stor_arg_format(args, "format", 1, &fmt, err)) < 0)
		return rc;
	if (strlen(dst) >= sizeof(j->j_arg))
		return vx_err_set(err, -ENAMETOOLONG, "disk-convert: path too long");
	snprintf(j->j_arg, sizeof(j->j_arg), "%s", dst);
	if (access(dst, F_OK) == 0)
		return vx_err_set(err, -EEXIST, "disk-convert: %s exists", dst);
	snprintf(c->final, sizeof(c->final), "%s", dst);
	if ((rc = stor_regular(src, err)) < 0 ||
	    (rc = img_open(src, NULL, 0, &c->src, err)) < 0)
		return rc;
	snprintf(c->partial, sizeof(c->partial), "%s.partial", dst);
	if (access(c->partial, F_OK) == 0) {
		c->partial[0] = '\0';
		return vx_err_set(err, -EBUSY, "disk-convert: %s.partial exists "
				  "(a conversion to %s is running?)", dst, dst);
	}
	memset(&o, 0, sizeof(o));
	o.fmt = fmt;
	o.size = c->src->size;
	if ((rc = img_create(c->partial, &o, err)) < 0) {
		c->partial[0] = '\0';
		return rc;
	}
	if ((rc = img_open(c->partial, fmt, IMG_RDWR, &c->dst, err)) < 0)
		return rc;
	if (json_object_object_get_ex(args, "slice_ms", &sl) &&
	    json_object_is_type(sl, json_type_int))
		c->slice_ms = json_object_get_int(sl);
	if (c->slice_ms < 0 || c->slice_ms > 10000)
		return vx_err_set(err, -EINVAL, "disk-convert: slice_ms out of range");
	if (!(c->buf = malloc(STOR_SLICE)))
		return vx_err_set(err, -ENOMEM, "out of memory");
	return 0;
}

/* One slice: up to 8 MiB of guest bytes, holes and zeros skipped. */
static int conv_step(struct vmxd_job *j, struct vx_err *err)
{
	struct conv *c = j->j_priv;
	uint64_t end = c->src->size - c->off < STOR_SLICE ?
		       c->src->size : c->off + STOR_SLICE;
	int rc;

	rc = img_convert_range(c->src, c->dst, c->off, end - c->off, c->buf,
			       STOR_SLICE, err);
	if (rc < 0)
		return rc;
	c->off = end;
	j->j_progress = c->src->size ? (int)(c->off * 100 / c->src->size) : 100;
	if (c->slice_ms) {
		struct timespec ts = { c->slice_ms / 1000,
				       (long)(c->slice_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	return c->off >= c->src->size;
}

static int conv_commit(struct vmxd_job *j, struct vx_err *err)
{
	struct conv *c = j->j_priv;
	int rc = img_close(c->dst, err);

	c->dst = NULL;
	if (rc < 0)
		return rc;
	if (rename(c->partial, c->final) < 0)
		return vx_err_errno(err, -errno, "disk-convert: rename to %s", c->final);
	c->partial[0] = '\0';
	return 0;
}

static void conv_abort(struct vmxd_job *j)
{
	struct conv *c = j->j_priv;

	if (!c)
		return;
	if (c->dst)
		img_close(c->dst, NULL);
	c->dst = NULL;
	if (c->partial[0])
		unlink(c->partial);
}

static void conv_recover(struct vmxd *v, const char *arg)
{
	char partial[PATH_MAX];

	(void)v;
	snprintf(partial, sizeof(partial), "%.4000s.partial", arg);
	unlink(partial);
}

static void conv_free(struct vmxd_job *j)
{
	struct conv *c = j->j_priv;

	if (!c)
		return;
	if (c->dst)
		img_close(c->dst, NULL);
	if (c->src)
		img_close(c->src, NULL);
	free(c->buf);
	free(c);
}

const struct job_ops stor_convert_ops = {
	"disk-convert", conv_init, conv_step, conv_commit, conv_abort,
	conv_recover, conv_free,
};

/*
 * ---- job "backup": one slice per disk ----
 *
 * A stopped domain's disks are opened here (write-locked for the whole job).
 * A running domain's are its runner's: the first slice freezes them there
 * (backup_live.c, copy-before-write in the runner) and each later slice
 * backs one frozen view up; the engine and the repository are vmxd's either
 * way.
 */

struct bk_disk {
	struct img *img;
	char name[64];           /* <domain>-<target>: the repository's disk name */
	char path[PATH_MAX];     /* live: the disk as its runner knows it */
	int qcow2;
	int incremental;
	int bitmap_reset;        /* offline: bk_prepare created or cleared the bitmap */
	uint8_t *bits;           /* live incremental: the bitmap at the start point */
	char id[BACKUP_ID_MAX];  /* set once this disk's backup is durable */
};

struct bk {
	char repo[PATH_MAX];
	char bitmap[32];         /* this repository's bitmap name */
	char journal[PATH_MAX];  /* ids written so far, for bk_recover */
	int journal_mine;        /* this job created it (and may remove it) */
	int mode;                /* 0 auto, 1 full, 2 incremental */
	struct bk_disk *disks;
	size_t n, next;
	struct backup_info *list;  /* the repository's backups at init */
	int nlist;
	struct vmxd_job *job;
	int slice_ms;            /* test knob: a pause every 64 chunks */
	int live;                /* the domain runs: its runner serves frozen views */
	char sock[PATH_MAX];     /* live: the runner's control socket */
	uint64_t store_max;      /* live: copy-before-write store bound (0: runner's) */
	struct live_bk *lb;      /* live: the session, from the first slice on */
	struct live_disk ld[LIVE_MAX_DISKS];
};

/* Whether the repository holds a backup of bd made with this bitmap. */
static int bk_has_parent(struct bk *b, struct bk_disk *bd)
{
	for (int i = 0; i < b->nlist; i++)
		if (strcmp(b->list[i].disk, bd->name) == 0 &&
		    strcmp(b->list[i].bitmap, b->bitmap) == 0)
			return 1;
	return 0;
}

/* Decides full or incremental for one disk, sets the bitmap up for it. */
static int bk_prepare(struct bk *b, struct bk_disk *bd, struct vx_err *err)
{
	struct img_bitmap_info *bms;
	int rc, n, have = 0, usable = 0;

	bd->incremental = 0;
	if (!bd->qcow2)
		return 0;
	if ((rc = img_bitmap_list(bd->img, &bms, &n, err)) < 0)
		return rc;
	for (int i = 0; i < n; i++)
		if (strcmp(bms[i].name, b->bitmap) == 0) {
			have = 1;
			usable = !bms[i].inconsistent && bms[i].enabled;
		}
	free(bms);
	if (!have) {
		if (b->mode == 2)
			return vx_err_set(err, -EINVAL, "backup: disk %s has no dirty bitmap "
					  "yet: the first backup must be full", bd->name);
		bd->bitmap_reset = 1;
		return img_bitmap_add(bd->img, b->bitmap, 0, err);
	}
	if (!usable) {
		/* Not closed cleanly (a crash): its bits cannot be trusted. */
		if (b->mode == 2)
			return vx_err_set(err, -EINVAL, "backup: the dirty bitmap of %s is "
					  "inconsistent (unclean close): take a full backup",
					  bd->name);
		bd->bitmap_reset = 1;
		return img_bitmap_clear(bd->img, b->bitmap, err);
	}
	if (b->mode != 1 && !bk_has_parent(b, bd)) {
		if (b->mode == 2)
			return vx_err_set(err, -EINVAL, "backup: %s has no earlier backup in "
					  "%s to increment from: the first backup must be full",
					  bd->name, b->repo);
		return 0;
	}
	bd->incremental = b->mode != 1;
	return 0;
}

/*
 * The journal, <rundir>/jobs/backup-<domain>.ids: the repository's first
 * line, then each backup id once durable. A vmxd killed mid-job leaves it;
 * bk_recover removes those backups, so no half domain stays listed.
 */
static int bk_journal_path(struct vmxd *v, const char *dom, char *out,
			   size_t len, struct vx_err *err)
{
	char name[64], dir[VMXD_PATH_MAX + 8];

	if (stor_repo_disk(dom, NULL, name) < 0)
		return vx_err_set(err, -ENAMETOOLONG, "backup: domain name too long");
	snprintf(dir, sizeof(dir), "%s/jobs", v->conf.vc_rundir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return vx_err_errno(err, -errno, "cannot create %s", dir);
	if (snprintf(out, len, "%s/backup-%sids", dir, name) >= (int)len)
		return vx_err_set(err, -ENAMETOOLONG, "backup: path too long");
	return 0;
}

/* Appends line (create: starts the file, line is the repository), syncs. */
static int bk_journal_add(const char *path, const char *line, int create)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC |
		      (create ? O_CREAT | O_TRUNC : 0), 0600);
	char buf[PATH_MAX + 2];
	int n, rc = 0;

	if (fd < 0)
		return -1;
	n = snprintf(buf, sizeof(buf), "%s\n", line);
	if (n >= (int)sizeof(buf))
		n = (int)sizeof(buf) - 1;
	if (write(fd, buf, (size_t)n) != n || fdatasync(fd) < 0)
		rc = -1;
	close(fd);
	return rc;
}

static int bk_init(struct vmxd_job *j, json_object *args, struct vx_err *err)
{
	struct bk *b = calloc(1, sizeof(*b));
	const char *repo, *mode;
	struct stor_dom d;
	struct stat stb;
	json_object *sl;
	char cfg[PATH_MAX + 16], real[PATH_MAX];
	int rc;

	if (!b)
		return vx_err_set(err, -ENOMEM, "out of memory");
	j->j_priv = b;
	if ((rc = stor_arg_path(args, "repo", &repo, err)) < 0 ||
	    (rc = stor_arg_str(args, "mode", 0, &mode, err)) < 0)
		return rc;
	if (!mode || strcmp(mode, "auto") == 0)
		b->mode = 0;
	else if (strcmp(mode, "full") == 0)
		b->mode = 1;
	else if (strcmp(mode, "incremental") == 0)
		b->mode = 2;
	else
		return vx_err_set(err, -EINVAL, "backup: mode '%s' unknown", mode);
	b->job = j;
	if (json_object_object_get_ex(args, "slice_ms", &sl) &&
	    json_object_is_type(sl, json_type_int))
		b->slice_ms = json_object_get_int(sl);
	if (b->slice_ms < 0 || b->slice_ms > 10000)
		return vx_err_set(err, -EINVAL, "backup: slice_ms out of range");
	snprintf(b->repo, sizeof(b->repo), "%s", repo);
	if (json_object_object_get_ex(args, "store_max", &sl) &&
	    json_object_is_type(sl, json_type_int) && json_object_get_int64(sl) > 0)
		b->store_max = (uint64_t)json_object_get_int64(sl);
	if ((rc = stor_dom_get_stopped(j->j_vmxd, args, NULL, &d, err)) < 0)
		return rc;
	if (runner_find(j->j_vmxd, d.sd.sd_uuid)) {
		b->live = 1;
		snprintf(b->sock, sizeof(b->sock), "%s/vm/%s.sock", j->j_vmxd->conf.vc_rundir,
			 d.sd.sd_uuid);
	}
	snprintf(j->j_arg, sizeof(j->j_arg), "%.200s %.300s", d.sd.sd_name, repo);
	if ((rc = bk_journal_path(j->j_vmxd, d.sd.sd_name, b->journal,
				  sizeof(b->journal), err)) < 0)
		goto out;
	snprintf(cfg, sizeof(cfg), "%s/config.json", repo);
	if (stat(cfg, &stb) < 0) {
		/* A new repository in an existing directory (or a new one in it). */
		if ((rc = backup_repo_init(repo, 0, err)) < 0)
			goto out;
	}
	/* One bitmap per repository, however its path is spelt. */
	stor_bitmap_name(realpath(repo, real) ? real : repo, b->bitmap);
	if ((rc = backup_list(repo, &b->list, &b->nlist, err)) < 0)
		goto out;
	b->disks = calloc(d.xd->xdom_ndisks + 1, sizeof(*b->disks));
	if (!b->disks) {
		rc = vx_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	/*
	 * Every disk stays open (write-locked) for the whole job, so nothing
	 * writes between a disk's backup and its bitmap being cleared in commit.
	 */
	for (size_t i = 0; i < d.xd->xdom_ndisks; i++) {
		struct xml_disk *xd = &d.xd->xdom_disks[i];
		struct bk_disk *bd = &b->disks[b->n];

		if (!stor_disk_is(xd, NULL))
			continue;
		if (stor_repo_disk(d.sd.sd_name, xd->xd_target, bd->name) < 0) {
			rc = vx_err_set(err, -ENAMETOOLONG, "backup: domain name '%s' too long "
					"for a repository disk name", d.sd.sd_name);
			goto out;
		}
		/* Raw disks have no dirty bitmap: every backup of one is full. */
		bd->qcow2 = strcmp(xd->xd_format, "qcow2") == 0;
		if (b->live) {
			if (b->n == LIVE_MAX_DISKS) {
				rc = vx_err_set(err, -ENOTSUP, "backup: a running domain's backup "
						"takes at most %d disks", LIVE_MAX_DISKS);
				goto out;
			}
			snprintf(bd->path, sizeof(bd->path), "%s", xd->xd_source);
			b->n++;
			continue;
		}
		if ((rc = img_open(xd->xd_source, xd->xd_format, IMG_RDWR, &bd->img, err)) < 0)
			goto out;
		b->n++;
		if ((rc = bk_prepare(b, bd, err)) < 0)
			goto out;
	}
	if (!b->n) {
		rc = vx_err_set(err, -EINVAL, "backup: domain '%s' has no writable disk",
				d.sd.sd_name);
		goto out;
	}
	/* Disks are locked now: no other backup of this domain owns the journal.
	 * A running domain's are its runner's: a journal present is a backup
	 * running (bk_recover removed those of a crashed vmxd). */
	if (b->live && access(b->journal, F_OK) == 0)
		rc = vx_err_set(err, -EBUSY, "backup: a backup of domain '%s' is already running",
				d.sd.sd_name);
	else if (bk_journal_add(b->journal, b->repo, 1) < 0)
		rc = vx_err_errno(err, -errno, "backup: cannot create %s", b->journal);
	else
		b->journal_mine = 1;
out:
	stor_dom_clear(&d);
	return rc;
}

/* Pool thread, inside backup_create: progress, and cancel between chunks. */
static int bk_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct bk *b = ctx;

	job_progress(b->job, (int)((b->next * 100 + (total ? done * 100 / total : 0)) / b->n));
	if (b->slice_ms) {
		struct timespec ts = { b->slice_ms / 1000,
				       (long)(b->slice_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	return atomic_load(&b->job->j_cancel) != 0;
}

/* Live: full or incremental for one disk, from what its runner's view took. */
static int bk_prepare_live(struct bk *b, size_t i, struct vx_err *err)
{
	struct bk_disk *bd = &b->disks[i];
	const char *state = b->ld[i].bitmap_state;

	bd->incremental = 0;
	if (!bd->qcow2)
		return 0;
	if (strcmp(state, "taken") != 0) {
		/* Created or reset at the start point: nothing to increment from. */
		if (b->mode == 2)
			return vx_err_set(err, -EINVAL, strcmp(state, "new") == 0 ?
					  "backup: disk %s has no dirty bitmap yet: the first backup must be full" :
					  "backup: the dirty bitmap of %s is inconsistent (unclean close): take a full backup",
					  bd->name);
		return 0;
	}
	if (b->mode != 1 && !bk_has_parent(b, bd)) {
		if (b->mode == 2)
			return vx_err_set(err, -EINVAL, "backup: %s has no earlier backup in "
					  "%s to increment from: the first backup must be full",
					  bd->name, b->repo);
		return 0;
	}
	bd->incremental = b->mode != 1;
	return bd->incremental ? live_bitmap(b->lb, (int)i, &bd->bits, err) : 0;
}

/* Live, first slice: every disk frozen at one instant in the runner. */
static int bk_freeze(struct bk *b, struct vx_err *err)
{
	int rc;

	for (size_t i = 0; i < b->n; i++) {
		b->ld[i].path = b->disks[i].path;
		b->ld[i].bitmap = b->disks[i].qcow2 ? b->bitmap : NULL;
	}
	rc = live_begin(b->sock, b->ld, (int)b->n, 0, b->store_max, &b->lb, err);
	if (rc == -ENOENT || rc == -ECONNREFUSED)
		return vx_err_set(err, rc, "backup: the domain stopped before its live backup began; "
				  "back it up again (now offline)");
	for (size_t i = 0; !rc && i < b->n; i++)
		rc = bk_prepare_live(b, i, err);
	return rc;
}

static int bk_step(struct vmxd_job *j, struct vx_err *err)
{
	struct bk *b = j->j_priv;
	struct bk_disk *bd = &b->disks[b->next];
	struct backup_opts o;
	struct backup_stats st;
	struct img *view = NULL;
	int rc;

	if (b->live && !b->lb)
		return bk_freeze(b, err);
	memset(&o, 0, sizeof(o));
	o.disk = bd->name;
	o.bitmap = bd->qcow2 ? b->bitmap : NULL;
	o.incremental = bd->incremental;
	/* Cleared in commit, once every disk of the domain is backed up. */
	o.clear_bitmap = 0;
	o.progress = bk_progress;
	o.progress_ctx = b;
	if (b->live) {
		/* The runner handed the bitmap over at the freeze. */
		o.bitmap_frozen = 1;
		o.bits = bd->bits;
		o.nbits = b->ld[b->next].nbits;
		o.granularity_bits = b->ld[b->next].granularity_bits;
		if ((rc = live_view(b->lb, (int)b->next, &view, err)) < 0)
			return rc;
		/* A full backup reads nearly every block in order: 1 MiB per request. */
		if (!bd->incremental)
			live_view_readahead(view, 1u << 20);
	}
	rc = backup_create(b->repo, view ? view : bd->img, &o, bd->id, &st, err);
	img_close(view, NULL);
	if (rc < 0) {
		bd->id[0] = '\0';
		return rc;
	}
	if (bk_journal_add(b->journal, bd->id, 0) < 0)
		return vx_err_errno(err, -errno, "backup: cannot write %s", b->journal);
	vmxd_test_crash("backup-mid"); /* tests: kill -9 between two disks */
	b->next++;
	j->j_progress = (int)(b->next * 100 / b->n);
	return b->next == b->n;
}

/* The backup ids into the job's arg (the job-done event shows them). */
static void bk_arg_ids(struct vmxd_job *j, struct bk *b)
{
	size_t len = strlen(j->j_arg);

	for (size_t i = 0; i < b->n && len < sizeof(j->j_arg); i++)
		len += (size_t)snprintf(j->j_arg + len, sizeof(j->j_arg) - len,
					" %s", b->disks[i].id);
	store_job_set_arg(j->j_vmxd->store, j->j_id, j->j_arg, NULL);
}

/*
 * Live: the journal goes first (the domain's backup is now official), then
 * the runner hears the backup is durable and drops the bitmap bits it took.
 * A crash between the two closes the connection: the runner gives the bits
 * back, and the next incremental covers a little more than it must.
 */
static int bk_commit_live(struct vmxd_job *j, struct bk *b)
{
	struct vx_err err = { 0 };
	json_object *report = NULL;

	bk_arg_ids(j, b);
	unlink(b->journal);
	if (live_end(b->lb, 1, &report, &err) < 0)
		log_warn("backup: the runner did not confirm the end of the live backup "
			 "(its bitmaps keep the older changes): %s", err.msg);
	live_close(b->lb);
	b->lb = NULL;
	j->j_result = json_object_new_object();
	json_object_object_add(j->j_result, "live", json_object_new_boolean(1));
	if (report)
		json_object_object_add(j->j_result, "disks", report);
	return 0;
}

static int bk_commit(struct vmxd_job *j, struct vx_err *err)
{
	struct bk *b = j->j_priv;
	int rc = 0;

	if (b->live)
		return bk_commit_live(j, b);
	for (size_t i = 0; i < b->n; i++) {
		struct bk_disk *bd = &b->disks[i];

		if (bd->qcow2 && rc == 0)
			rc = img_bitmap_clear(bd->img, b->bitmap, err);
		if (img_close(bd->img, rc < 0 ? NULL : err) < 0 && rc == 0)
			rc = err->code;
		bd->img = NULL;
	}
	if (rc == 0) {
		bk_arg_ids(j, b);
		unlink(b->journal);
	}
	return rc;
}

/*
 * Cancel or failure: backups of the domain's other disks already written are
 * removed again (manifest first, as prune does; their chunks wait for gc), so
 * the repository never holds half a domain from this job. The bitmaps were
 * not cleared, so the next incremental still covers every change.
 */
static void bk_abort(struct vmxd_job *j)
{
	struct bk *b = j->j_priv;
	char path[PATH_MAX + BACKUP_ID_MAX + 16];

	if (!b)
		return;
	/* Live: the runner ends the session as failed, the bitmaps get their bits back. */
	live_close(b->lb);
	b->lb = NULL;
	/*
	 * A bitmap created or reset for this (full) backup tracks only what
	 * changed since: with the backup gone, an incremental from an older
	 * parent must read everything, so every bit is set.
	 */
	for (size_t i = 0; i < b->n; i++)
		if (b->disks[i].img && b->disks[i].bitmap_reset)
			img_bitmap_merge(b->disks[i].img, b->bitmap, NULL, 0, NULL);
	for (size_t i = 0; i < b->n; i++)
		if (b->disks[i].id[0]) {
			snprintf(path, sizeof(path), "%s/backups/%s.json", b->repo,
				 b->disks[i].id);
			unlink(path);
		}
	if (b->journal_mine)
		unlink(b->journal);
}

/*
 * vmxd died mid-backup: the library left the repository consistent (every
 * listed backup restorable, at worst unreferenced chunks for gc). What this
 * job's journal names is removed (manifests only, as bk_abort), so the
 * domain's backup is all or nothing. The disks' bitmaps were not cleared and
 * are marked in_use (never closed), so the next backup is full.
 */
static void bk_recover(struct vmxd *v, const char *arg)
{
	char dom[256], journal[PATH_MAX], line[PATH_MAX], repo[PATH_MAX];
	char path[PATH_MAX + 256];
	const char *sp = strchr(arg, ' ');
	FILE *f;

	if (!sp || (size_t)(sp - arg) >= sizeof(dom))
		return;
	snprintf(dom, sizeof(dom), "%.*s", (int)(sp - arg), arg);
	if (bk_journal_path(v, dom, journal, sizeof(journal), NULL) < 0 ||
	    !(f = fopen(journal, "re")))
		return;
	if (fgets(repo, sizeof(repo), f)) {
		repo[strcspn(repo, "\n")] = '\0';
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			if (!line[0] || strchr(line, '/') || line[0] == '.')
				continue;
			if (snprintf(path, sizeof(path), "%s/backups/%.200s.json", repo, line) >=
			    (int)sizeof(path))
				continue;
			if (unlink(path) == 0)
				log_warn("backup %s (interrupted job) removed from %s", line, repo);
		}
	}
	fclose(f);
	unlink(journal);
}

static void bk_free(struct vmxd_job *j)
{
	struct bk *b = j->j_priv;

	if (!b)
		return;
	live_close(b->lb);
	for (size_t i = 0; i < b->n; i++) {
		if (b->disks[i].img)
			img_close(b->disks[i].img, NULL);
		free(b->disks[i].bits);
	}
	free(b->disks);
	free(b->list);
	free(b);
}

const struct job_ops stor_backup_ops = {
	"backup", bk_init, bk_step, bk_commit, bk_abort, bk_recover, bk_free,
};

/*
 * ---- jobs "verify" and "restore": one library call each ----
 *
 * The library reports every 64 chunks (rs_progress): the job's progress
 * moves during the call and a cancel stops it there. A cancelled or failed
 * restore has removed its temp file, and nothing was renamed to path.
 */

struct rs {
	char repo[PATH_MAX], id[BACKUP_ID_MAX], path[PATH_MAX], fmt[8];
	struct vmxd_job *job;
	int slice_ms;            /* test knob: a pause every 64 chunks */
};

/* Pool thread, inside the library call: progress, and cancel between chunks. */
static int rs_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct rs *r = ctx;

	job_progress(r->job, total ? (int)(done * 100 / total) : 0);
	if (r->path[0] && done > 0)
		vmxd_test_crash("restore-mid"); /* tests: kill -9 with the temp file written */
	if (r->slice_ms) {
		struct timespec ts = { r->slice_ms / 1000,
				       (long)(r->slice_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	return atomic_load(&r->job->j_cancel) != 0;
}

static int rs_init_common(struct vmxd_job *j, json_object *args, int restore,
			  struct vx_err *err)
{
	struct rs *r = calloc(1, sizeof(*r));
	const char *repo, *id, *path = NULL, *fmt = NULL;
	char cfg[PATH_MAX + 16];
	json_object *sl;
	int rc;

	if (!r)
		return vx_err_set(err, -ENOMEM, "out of memory");
	j->j_priv = r;
	r->job = j;
	if (json_object_object_get_ex(args, "slice_ms", &sl) &&
	    json_object_is_type(sl, json_type_int))
		r->slice_ms = json_object_get_int(sl);
	if (r->slice_ms < 0 || r->slice_ms > 10000)
		return vx_err_set(err, -EINVAL, "slice_ms out of range");
	if ((rc = stor_arg_path(args, "repo", &repo, err)) < 0 ||
	    (rc = stor_arg_str(args, "id", 1, &id, err)) < 0 ||
	    (restore && (rc = stor_arg_path(args, "path", &path, err)) < 0) ||
	    (restore && (rc = stor_arg_format(args, "format", 0, &fmt, err)) < 0))
		return rc;
	if (strlen(id) >= BACKUP_ID_MAX || strchr(id, '/') || id[0] == '.')
		return vx_err_set(err, -EINVAL, "backup id '%s' invalid", id);
	snprintf(r->repo, sizeof(r->repo), "%s", repo);
	snprintf(r->id, sizeof(r->id), "%s", id);
	snprintf(cfg, sizeof(cfg), "%s/config.json", repo);
	if (access(cfg, F_OK) < 0)
		return vx_err_set(err, -ENOENT, "%s is not a backup repository", repo);
	snprintf(cfg, sizeof(cfg), "%s/backups/%.128s.json", repo, id);
	if (access(cfg, F_OK) < 0)
		return vx_err_set(err, -ENOENT, "no backup '%s' in %s", id, repo);
	if (restore) {
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(path, '/') - path), path);
		if (dir[0] && access(dir, W_OK) < 0)
			return vx_err_errno(err, -errno, "restore: directory %s", dir);
		snprintf(r->path, sizeof(r->path), "%s", path);
		snprintf(r->fmt, sizeof(r->fmt), "%s", fmt ? fmt : "qcow2");
		if (access(path, F_OK) == 0)
			return vx_err_set(err, -EEXIST, "restore: %s exists", path);
		snprintf(j->j_arg, sizeof(j->j_arg), "%.500s", path);
	} else {
		snprintf(j->j_arg, sizeof(j->j_arg), "%.300s %.128s", repo, id);
	}
	return 0;
}

static int vf_init(struct vmxd_job *j, json_object *args, struct vx_err *err)
{
	return rs_init_common(j, args, 0, err);
}

static int vf_step(struct vmxd_job *j, struct vx_err *err)
{
	struct rs *r = j->j_priv;
	struct backup_read_opts o = { rs_progress, r };
	int rc = backup_verify_ex(r->repo, r->id, &o, err);

	return rc < 0 ? rc : 1;
}

static int rs_init(struct vmxd_job *j, json_object *args, struct vx_err *err)
{
	return rs_init_common(j, args, 1, err);
}

static int rs_step(struct vmxd_job *j, struct vx_err *err)
{
	struct rs *r = j->j_priv;
	struct backup_read_opts o = { rs_progress, r };
	int rc = backup_restore_ex(r->repo, r->id, r->path, r->fmt, &o, err);

	return rc < 0 ? rc : 1;
}

static int rs_commit(struct vmxd_job *j, struct vx_err *err)
{
	(void)j;
	(void)err;
	return 0;
}

static void rs_abort(struct vmxd_job *j)
{
	(void)j;
}

/* The library writes <path>.restore-XXXXXX, then renames: drop leftovers. */
static void rs_recover(struct vmxd *v, const char *arg)
{
	char dir[PATH_MAX], pfx[PATH_MAX], p[2 * PATH_MAX];
	const char *slash = strrchr(arg, '/');
	struct dirent *e;
	DIR *dp;

	(void)v;
	if (!slash)
		return;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - arg), arg);
	snprintf(pfx, sizeof(pfx), "%s.restore-", slash + 1);
	if (!(dp = opendir(dir[0] ? dir : "/")))
		return;
	while ((e = readdir(dp)))
		if (strncmp(e->d_name, pfx, strlen(pfx)) == 0) {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
	closedir(dp);
}

static void vf_recover(struct vmxd *v, const char *arg)
{
	(void)v;
	(void)arg;
}

static void rs_free(struct vmxd_job *j)
{
	free(j->j_priv);
}

const struct job_ops stor_verify_ops = {
	"verify", vf_init, vf_step, rs_commit, rs_abort, vf_recover, rs_free,
};

const struct job_ops stor_restore_ops = {
	"restore", rs_init, rs_step, rs_commit, rs_abort, rs_recover, rs_free,
};

/* ---- jobs "backup-prune" and "backup-gc": one library call each ---- */

/*
 * The library unlinks manifests before it collects chunks and leaves the
 * repository consistent at every step, so cancel, failure and a vmxd crash
 * have nothing to undo: a prune cut short has deleted some backups and left
 * their chunks to the next gc. Cancel takes effect when the call returns
 * (the library has no progress callback for them).
 */
struct pg {
	char repo[PATH_MAX];
	char disk[64];           /* prune: "" means every disk */
	int keep;                /* prune: backups kept per disk; 0 for gc */
	struct backup_freed fr;
};

static int pg_init_repo(struct vmxd_job *j, json_object *args, struct vx_err *err)
{
	struct pg *p = calloc(1, sizeof(*p));
	char cfg[PATH_MAX + 16];
	const char *repo;
	int rc;

	if (!p)
		return vx_err_set(err, -ENOMEM, "out of memory");
	j->j_priv = p;
	if ((rc = stor_arg_path(args, "repo", &repo, err)) < 0)
		return rc;
	snprintf(cfg, sizeof(cfg), "%s/config.json", repo);
	if (access(cfg, F_OK) < 0)
		return vx_err_set(err, -ENOENT, "%s is not a backup repository", repo);
	snprintf(p->repo, sizeof(p->repo), "%s", repo);
	return 0;
}

/* At least 1: pruning a disk to nothing would be deleting it, not retention. */
static int pg_arg_keep(json_object *args, int *keep, struct vx_err *err)
{
	json_object *v;
	int64_t n;

	if (!args || !json_object_object_get_ex(args, "keep", &v) || !v)
		return vx_err_set(err, -EINVAL, "argument 'keep' missing: how many of "
				  "each disk's newest backups to keep");
	if (!json_object_is_type(v, json_type_int))
		return vx_err_set(err, -EINVAL, "argument 'keep' must be a number");
	n = json_object_get_int64(v);
	if (n < 1 || n > 1000000)
		return vx_err_set(err, -EINVAL, "argument 'keep' must be 1 or more (got "
				  "%lld): prune keeps each disk's newest backups",
				  (long long)n);
	*keep = (int)n;
	return 0;
}

/* A named disk must have backups here: a typo must not prune nothing quietly. */
static int pg_disk_known(const struct pg *p, struct vx_err *err)
{
	struct backup_info *l;
	int n, rc, found = 0;

	if ((rc = backup_list(p->repo, &l, &n, err)) < 0)
		return rc;
	for (int i = 0; i < n && !found; i++)
		found = strcmp(l[i].disk, p->disk) == 0;
	free(l);
	if (!found)
		return vx_err_set(err, -ENOENT, "no backups of disk '%s' in %s", p->disk,
				  p->repo);
	return 0;
}

static int pr_init(struct vmxd_job *j, json_object *args, struct vx_err *err)
{
	const char *disk;
	struct pg *p;
	int rc, keep = 0;

	if ((rc = pg_arg_keep(args, &keep, err)) < 0 ||
	    (rc = stor_arg_str(args, "disk", 0, &disk, err)) < 0 ||
	    (rc = pg_init_repo(j, args, err)) < 0)
		return rc;
	p = j->j_priv;
	p->keep = keep;
	if (disk) {
		if (!*disk || strlen(disk) >= sizeof(p->disk))
			return vx_err_set(err, -EINVAL, "argument 'disk' invalid: '%.100s'", disk);
		snprintf(p->disk, sizeof(p->disk), "%s", disk);
		if ((rc = pg_disk_known(p, err)) < 0)
			return rc;
	}
	snprintf(j->j_arg, sizeof(j->j_arg), "%.400s keep %d %s%s", p->repo, keep,
		 disk ? "of " : "per disk", p->disk);
	return 0;
}

static int pr_step(struct vmxd_job *j, struct vx_err *err)
{
	struct pg *p = j->j_priv;
	int rc = backup_prune_ex(p->repo, p->disk[0] ? p->disk : NULL, p->keep,
				 &p->fr, err);

	return rc < 0 ? rc : 1;
}

static int gc_init(struct vmxd_job *j, json_object *args, struct vx_err *err)
{
	int rc = pg_init_repo(j, args, err);

	if (rc == 0)
		snprintf(j->j_arg, sizeof(j->j_arg), "%.500s",
			 ((struct pg *)j->j_priv)->repo);
	return rc;
}

static int gc_step(struct vmxd_job *j, struct vx_err *err)
{
	struct pg *p = j->j_priv;
	int rc = backup_gc_ex(p->repo, &p->fr, err);

	return rc < 0 ? rc : 1;
}

/* What went, for the job-done event (vmctl prints it). */
static int pg_commit(struct vmxd_job *j, struct vx_err *err)
{
	struct pg *p = j->j_priv;
	json_object *r = json_object_new_object();

	(void)err;
	if (p->keep)
		json_object_object_add(r, "backups", json_object_new_int64((int64_t)p->fr.backups));
	json_object_object_add(r, "chunks", json_object_new_int64((int64_t)p->fr.chunks));
	json_object_object_add(r, "bytes", json_object_new_int64((int64_t)p->fr.bytes));
	j->j_result = r;
	log_info("%s %s: %llu backups deleted, %llu chunks (%llu bytes) freed",
		 j->j_ops->jo_kind, p->repo, (unsigned long long)p->fr.backups,
		 (unsigned long long)p->fr.chunks, (unsigned long long)p->fr.bytes);
	return 0;
}

/* Leftovers of a prune or gc cut short are the next gc's to remove. */
static void pg_recover(struct vmxd *v, const char *arg)
{
	(void)v;
	(void)arg;
}

const struct job_ops stor_prune_ops = {
	"backup-prune", pr_init, pr_step, pg_commit, rs_abort, pg_recover, rs_free,
};

const struct job_ops stor_gc_ops = {
	"backup-gc", gc_init, gc_step, pg_commit, rs_abort, pg_recover, rs_free,
};
