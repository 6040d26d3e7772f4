/*
 * snapjob: the job kinds "snapshot-create" and "snapshot-revert" (vmctl's
 * snapshot-create and snapshot-revert run them; the verbs of those names
 * still answer at once, for older clients). A job is a list of steps, one
 * per slice, so progress comes per step and a cancel lands between steps:
 *   create: [save: the runner saves memory]  [disk: snapshot one disk]...
 *   revert: [undo: a snapshot of every disk as it is now]
 *           [disk: revert one disk]...  [load: the runner loads memory]
 * A stopped domain has disk steps only; a running test domain has memory
 * steps and disk steps (the simulation holds no disk); a running kvm domain
 * has one memory step (its runner snapshots or reverts the disks it holds
 * at the same instant). The disks vmxd works on stay open, so write-locked,
 * for the whole job: nothing starts the domain or writes them meanwhile.
 *
 * All or nothing:
 * - create records its row 'creating' in init (the store's pending-row
 *   scheme); cancel, failure and a vmxd crash (sj_recover, at the next
 *   start) delete the snapshot from the disks that have it, the state file
 *   and the row. Only commit marks the row done.
 * - revert first takes an undo snapshot of each disk; cancel, failure and
 *   a crash revert the disks already reverted to it, then delete it, so
 *   the domain is left as it was. The point of no return is the load step
 *   of a running domain (the last step): once the runner loaded the saved
 *   state the job completes, and a cancel arriving then has no effect.
 * Context: loop thread; sj_step on the thread pool.
 */
#include "daemon/vmxd.h"
#include "daemon/job.h"
#include "daemon/storage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/proto.h"
#include "storage/image.h"
#include "storage/snapshot.h"

#define SJ_MAX_DISKS 16
#define SJ_RUNNER_TIMEOUT_MS 120000

enum sj_op { SJ_SAVE, SJ_UNDO, SJ_DISK, SJ_LOAD };

struct sj_disk {
	struct img *img;
	char target[32];
	int undo;                /* revert: holds the undo snapshot */
	int done;                /* create: has the snapshot; revert: reverted */
};

struct sj {
	struct vmxd_job *job;
	int revert;
	char uuid[37], domain[XML_NAME_MAX], name[256];
	char undo[64];           /* revert: the undo snapshot's name */
	int memory;              /* the domain runs: the runner saves/loads */
	int runner_disks;        /* kvm: the runner does the disks with memory */
	int recorded;            /* create: the 'creating' row is this job's */
	char sock[VMXD_PATH_MAX + 64];
	char file[256];          /* memory state file */
	char disks[1024];        /* targets, "vda,vdb" */
	struct sj_disk d[SJ_MAX_DISKS];
	size_t n;
	enum sj_op ops[SJ_MAX_DISKS + 2];
	int opdisk[SJ_MAX_DISKS + 2];
	int nops, pos;
	int slice_ms;            /* test knob: a pause before each step's work */
};

static void sj_add_op(struct sj *s, enum sj_op op, int disk)
{
	s->ops[s->nops] = op;
	s->opdisk[s->nops++] = disk;
}

/* The writable qcow2 disks vmxd handles itself, opened (locked) now. */
static int sj_open_disks(struct sj *s, const struct xml_domain *xd, struct vx_err *err)
{
	size_t len = 0;
	int rc;

	for (size_t i = 0; i < xd->xdom_ndisks; i++) {
		const struct xml_disk *d = &xd->xdom_disks[i];
		struct sj_disk *sd;

		if (!stor_disk_is(d, "qcow2"))
			continue;
		if (s->revert && !stor_list_has(s->disks, d->xd_target))
			continue;
		if (s->n == SJ_MAX_DISKS)
			return vx_err_set(err, -E2BIG, "a snapshot takes at most %d disks",
					  SJ_MAX_DISKS);
		if (!s->revert)
			len += (size_t)snprintf(s->disks + len, sizeof(s->disks) - len, "%s%s",
						len ? "," : "", d->xd_target);
		if (len >= sizeof(s->disks))
			return vx_err_set(err, -E2BIG, "too many disks");
		if (s->runner_disks)
			continue;
		sd = &s->d[s->n];
		snprintf(sd->target, sizeof(sd->target), "%s", d->xd_target);
		if ((rc = img_open(d->xd_source, "qcow2", IMG_RDWR, &sd->img, err)) < 0)
			return rc;
		s->n++;
	}
	return 0;
}

/* A running domain: memory goes through its runner; kvm's disks too. */
static int sj_memory_checks(struct sj *s, const struct store_domain *sd,
			    const struct xml_domain *xd, struct vx_err *err)
{
	for (size_t i = 0; i < xd->xdom_ndisks; i++) {
		const struct xml_disk *d = &xd->xdom_disks[i];

		if (stor_disk_is(d, NULL) && !stor_disk_is(d, "qcow2"))
			return vx_err_set(err, -ENOTSUP,
					  "domain '%s': disk %s is %s; a memory snapshot needs every "
					  "writable disk in qcow2 (its internal snapshot keeps the disk "
					  "in step with memory)", sd->sd_name, d->xd_target, d->xd_format);
	}
	s->runner_disks = strcmp(sd->sd_type, "test") != 0;
	return 0;
}

static int sj_init_create(struct sj *s, struct vmxd *v, const struct store_domain *sd,
			  const struct xml_domain *xd, struct vx_err *err)
{
	int rc;

	if (store_snapshot_get(v->store, sd->sd_uuid, s->name, NULL, 0, NULL) == 0)
		return vx_err_set(err, -EEXIST, "domain '%s' already has a snapshot '%s'",
				  sd->sd_name, s->name);
	if (s->memory && (rc = sj_memory_checks(s, sd, xd, err)) < 0)
		return rc;
	if ((rc = sj_open_disks(s, xd, err)) < 0)
		return rc;
	if (!s->memory && !s->n)
		return vx_err_set(err, -ENOTSUP, "domain '%s' has no writable qcow2 disk "
				  "(internal snapshots need qcow2)", sd->sd_name);
	if (s->memory) {
		/* A name of our own: snapshot names may hold any character. */
		snprintf(s->file, sizeof(s->file), "mem-%lld-%08lx.vmstate",
			 (long long)time(NULL), (unsigned long)random());
		sj_add_op(s, SJ_SAVE, -1);
	}
	for (size_t i = 0; i < s->n; i++)
		sj_add_op(s, SJ_DISK, (int)i);
	if ((rc = store_snapshot_add(v->store, sd->sd_uuid, s->name, s->disks, 1, err)) < 0)
		return rc;
	s->recorded = 1;
	if (s->memory &&
	    (rc = store_snapshot_set_memory(v->store, sd->sd_uuid, s->name, s->file, err)) < 0)
		return rc;
	return 0;
}

static int sj_init_revert(struct sj *s, struct vmxd *v, const struct store_domain *sd,
			  const struct xml_domain *xd, struct vx_err *err)
{
	int rc;

	if ((rc = store_snapshot_get(v->store, sd->sd_uuid, s->name, s->disks,
				     sizeof(s->disks), err)) < 0 ||
	    (rc = store_snapshot_memory(v->store, sd->sd_uuid, s->name, s->file,
					sizeof(s->file), err)) < 0) {
		if (rc == -ENOENT)
			vx_err_set(err, rc, "domain '%s' has no snapshot '%s'", sd->sd_name,
				   s->name);
		return rc;
	}
	if (s->memory && !s->file[0])
		return vx_err_set(err, -EBUSY,
				  "domain '%s' is running and snapshot '%s' has no memory state: "
				  "stop the domain to revert its disks", sd->sd_name, s->name);
	if (s->memory)
		s->runner_disks = strcmp(sd->sd_type, "test") != 0;
	if ((rc = sj_open_disks(s, xd, err)) < 0)
		return rc;
	snprintf(s->undo, sizeof(s->undo), "vmxd-undo-%lld-%08lx", (long long)time(NULL),
		 (unsigned long)random());
	if (s->n)
		sj_add_op(s, SJ_UNDO, -1);
	for (size_t i = 0; i < s->n; i++)
		sj_add_op(s, SJ_DISK, (int)i);
	if (s->memory)
		sj_add_op(s, SJ_LOAD, -1);
	return 0;
}

static int sj_init(struct vmxd_job *j, json_object *args, int revert, struct vx_err *err)
{
	struct vmxd *v = j->j_vmxd;
	struct sj *s = calloc(1, sizeof(*s));
	struct store_domain sd;
	struct xml_domain *xd = NULL;
	struct vmxd_vm *vm;
	const char *dom, *name;
	json_object *sl;
	int rc;

	if (!s)
		return vx_err_set(err, -ENOMEM, "out of memory");
	j->j_priv = s;
	s->job = j;
	s->revert = revert;
	if ((rc = stor_arg_str(args, "name", 1, &dom, err)) < 0 ||
	    (rc = stor_arg_str(args, "snapshot", 1, &name, err)) < 0 ||
	    (!revert && (rc = stor_snap_name(name, err)) < 0))
		return rc;
	if (strlen(name) >= sizeof(s->name))
		return vx_err_set(err, -EINVAL, "snapshot name too long");
	if (json_object_object_get_ex(args, "slice_ms", &sl) &&
	    json_object_is_type(sl, json_type_int))
		s->slice_ms = json_object_get_int(sl);
	if (s->slice_ms < 0 || s->slice_ms > 10000)
		return vx_err_set(err, -EINVAL, "slice_ms out of range");
	snprintf(s->name, sizeof(s->name), "%s", name);
	if ((rc = store_domain_get(v->store, dom, &sd, err)) < 0)
		return rc;
	snprintf(s->uuid, sizeof(s->uuid), "%s", sd.sd_uuid);
	snprintf(s->domain, sizeof(s->domain), "%s", sd.sd_name);
	vm = runner_find(v, sd.sd_uuid);
	if (vm && !vm->vm_hello) {
		rc = vx_err_set(err, -EBUSY, "domain '%s' is starting; try again", sd.sd_name);
		goto out;
	}
	s->memory = vm != NULL;
	snprintf(s->sock, sizeof(s->sock), "%s/vm/%s.sock", v->conf.vc_rundir, sd.sd_uuid);
	if ((rc = xml_domain_parse(sd.sd_xml, strlen(sd.sd_xml), &xd, err)) < 0)
		goto out;
	rc = revert ? sj_init_revert(s, v, &sd, xd, err) : sj_init_create(s, v, &sd, xd, err);
	/* What sj_recover needs: the kind's word, the domain, the names. */
	snprintf(j->j_arg, sizeof(j->j_arg), "%s %s %s %.200s",
		 revert ? "revert" : "create", s->uuid, revert ? s->undo : "-", s->name);
out:
	xml_domain_free(xd);
	store_domain_clear(&sd);
	return rc;
}

static int sjc_init(struct vmxd_job *j, json_object *args, struct vx_err *err)
{
	return sj_init(j, args, 0, err);
}

static int sjr_init(struct vmxd_job *j, json_object *args, struct vx_err *err)
{
	return sj_init(j, args, 1, err);
}

/* Pool thread: snapshot-save or snapshot-load on a connection of our own. */
static int sj_runner(struct sj *s, const char *verb, struct vx_err *err)
{
	struct proto_rbuf rb;
	struct proto_msg m;
	json_object *a = json_object_new_object();
	int fd, rc;

	json_object_object_add(a, "file", json_object_new_string(s->file));
	if (s->runner_disks)
		json_object_object_add(a, "disk_snapshot", json_object_new_string(s->name));
	proto_rbuf_init(&rb);
	if ((fd = proto_connect_unix(s->sock, err)) < 0) {
		json_object_put(a);
		proto_rbuf_free(&rb);
		return vx_err_set(err, fd, "domain '%s' stopped during the snapshot job",
				  s->domain);
	}
	rc = proto_client_hello(fd, &rb, "vmxd", NULL, SJ_RUNNER_TIMEOUT_MS, err);
	if (rc == 0)
		rc = proto_call(fd, &rb, 1, verb, a, &m, SJ_RUNNER_TIMEOUT_MS, err);
	else
		json_object_put(a);
	if (rc == 0) {
		if (m.pm_status != PROTO_OK)
			rc = vx_err_set(err, proto_status_to_errno(m.pm_status), "%s", m.pm_error);
		proto_msg_clear(&m);
	}
	close(fd);
	proto_rbuf_free(&rb);
	return rc;
}

/* Runs verb on disk d's snapshot name (the library's calls). */
static int sj_disk(struct img *img, const char *verb, const char *name, struct vx_err *err)
{
	int rc;

	if (strcmp(verb, "create") == 0)
		return img_snapshot_create(img, name, err);
	if (strcmp(verb, "delete") == 0)
		return img_snapshot_delete(img, name, err);
	if ((rc = img_snapshot_apply(img, name, err)) == 0)
		stor_bitmaps_drop(img);
	return rc;
}

static int sj_do(struct sj *s, struct vx_err *err)
{
	int k = s->opdisk[s->pos], rc = 0;

	switch (s->ops[s->pos]) {
	case SJ_SAVE:
		if ((rc = sj_runner(s, "snapshot-save", err)) == 0)
			vmxd_test_crash("memsnap-saved"); /* tests: kill -9 with the state saved */
		return rc;
	case SJ_LOAD:
		return sj_runner(s, "snapshot-load", err);
	case SJ_UNDO:
		for (size_t i = 0; i < s->n && rc == 0; i++)
			if ((rc = sj_disk(s->d[i].img, "create", s->undo, err)) == 0)
				s->d[i].undo = 1;
		return rc;
	case SJ_DISK:
		rc = sj_disk(s->d[k].img, s->revert ? "revert" : "create", s->name, err);
		if (rc == 0) {
			s->d[k].done = 1;
			/* tests: kill -9 between disks */
			vmxd_test_crash(s->revert ? "snapshot-revert-mid" : "snapshot-mid");
		}
		return rc;
	}
	return 0;
}

static int sj_step(struct vmxd_job *j, struct vx_err *err)
{
	struct sj *s = j->j_priv;
	int rc;

	if (s->nops == 0)
		return 1;
	/* Just above the step's start: a memory step shows "before" and "after". */
	job_progress(j, s->pos * 100 / s->nops + 1);
	if (s->slice_ms) {
		struct timespec ts = { s->slice_ms / 1000, (long)(s->slice_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	if ((rc = sj_do(s, err)) < 0)
		return rc;
	s->pos++;
	job_progress(j, s->pos * 100 / s->nops);
	return s->pos == s->nops;
}

static void sj_close_disks(struct sj *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->d[i].img)
			img_close(s->d[i].img, NULL);
		s->d[i].img = NULL;
	}
}

static int sj_commit(struct vmxd_job *j, struct vx_err *err)
{
	struct sj *s = j->j_priv;
	int rc = 0;

	if (s->revert) {
		for (size_t i = 0; i < s->n; i++)
			if (s->d[i].undo && sj_disk(s->d[i].img, "delete", s->undo, NULL) == 0)
				s->d[i].undo = 0;
	} else if ((rc = store_snapshot_done(j->j_vmxd->store, s->uuid, s->name, s->disks,
					     err)) < 0) {
		return rc;
	}
	for (size_t i = 0; i < s->n; i++) {
		if (img_close(s->d[i].img, rc < 0 ? NULL : err) < 0 && rc == 0)
			rc = err->code;
		s->d[i].img = NULL;
	}
	j->j_result = json_object_new_object();
	json_object_object_add(j->j_result, "domain", json_object_new_string(s->domain));
	json_object_object_add(j->j_result, "snapshot", json_object_new_string(s->name));
	if (!s->revert)
		json_object_object_add(j->j_result, "disks", json_object_new_string(s->disks));
	json_object_object_add(j->j_result, "memory", json_object_new_boolean(s->memory));
	log_info("domain %s: snapshot %s %s%s", s->domain, s->name,
		 s->revert ? "reverted to" : "created", s->memory ? " with memory" : "");
	return rc;
}

/* Cancel or failure: everything this job did is taken back. */
static void sj_abort(struct vmxd_job *j)
{
	struct sj *s = j->j_priv;

	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		struct sj_disk *d = &s->d[i];

		if (!d->img)
			continue;
		if (!s->revert && d->done)
			sj_disk(d->img, "delete", s->name, NULL);
		if (s->revert && d->done && sj_disk(d->img, "revert", s->undo, NULL) < 0)
			log_err("domain %s: disk %s could not go back to its state before the "
				"revert (snapshot %s keeps it)", s->domain, d->target, s->undo);
		else if (s->revert && d->undo)
			sj_disk(d->img, "delete", s->undo, NULL);
	}
	sj_close_disks(s);
	if (s->recorded) {
		memsnap_remove_file(j->j_vmxd, s->uuid, s->file);
		store_snapshot_del(j->j_vmxd->store, s->uuid, s->name, NULL);
	}
}

/*
 * vmxd died during the job. create: the row is still 'creating' (only
 * commit marks it done): stor_snapshot_undo removes it from the disks, its
 * state file and the row. revert: disks holding the undo snapshot go back
 * to it and lose it (a finished revert whose commit did not run is undone
 * too: the job is reported interrupted).
 */
static void sj_recover(struct vmxd *v, const char *arg)
{
	char word[16], uuid[40], undo[64], name[256];
	struct store_domain sd;
	struct xml_domain *xd = NULL;

	if (sscanf(arg, "%15s %39s %63s %255[^\n]", word, uuid, undo, name) != 4)
		return;
	if (strcmp(word, "create") == 0) {
		stor_snapshot_undo(v, uuid, name);
		return;
	}
	if (store_domain_get(v->store, uuid, &sd, NULL) < 0)
		return;
	if (xml_domain_parse(sd.sd_xml, strlen(sd.sd_xml), &xd, NULL) == 0) {
		for (size_t k = 0; k < xd->xdom_ndisks; k++)
			if (stor_disk_is(&xd->xdom_disks[k], "qcow2") &&
			    stor_snap_disk(xd->xdom_disks[k].xd_source, "revert", undo, NULL) == 0) {
				stor_snap_disk(xd->xdom_disks[k].xd_source, "delete", undo, NULL);
				log_warn("domain %s: disk %s put back as it was before the "
					 "interrupted revert to %s", sd.sd_name,
					 xd->xdom_disks[k].xd_target, name);
			}
		xml_domain_free(xd);
	}
	store_domain_clear(&sd);
}

static void sj_free(struct vmxd_job *j)
{
	struct sj *s = j->j_priv;

	if (!s)
		return;
	sj_close_disks(s);
	free(s);
}

const struct job_ops stor_snapshot_create_ops = {
	"snapshot-create", sjc_init, sj_step, sj_commit, sj_abort, sj_recover, sj_free,
};

const struct job_ops stor_snapshot_revert_ops = {
	"snapshot-revert", sjr_init, sj_step, sj_commit, sj_abort, sj_recover, sj_free,
};
