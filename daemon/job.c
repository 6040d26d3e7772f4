/*
 * job: the jobs framework and its kinds' table. See job.h.
 * Context: loop thread; jo_step on the thread pool.
 */
#include "daemon/vmxd.h"
#include "daemon/job.h"
#include "daemon/storage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- kind "test-fill": writes size_kib KiB to <rundir>/jobs/<file> ---- */

struct fill {
	int fd;
	uint64_t size, done;
	int slice_ms;
	char partial[520], final[500];
};

static int fill_init(struct vmxd_job *j, json_object *args, struct vx_err *err)
{
	struct fill *f = calloc(1, sizeof(*f));
	json_object *o;
	const char *file;
	char dir[VMXD_PATH_MAX + 8];

	_Static_assert(sizeof(((struct fill *)0)->final) <= sizeof(j->j_arg), "");

	if (!f)
		return vx_err_set(err, -ENOMEM, "out of memory");
	j->j_priv = f;
	f->fd = -1;
	if (!args || !json_object_object_get_ex(args, "file", &o) ||
	    !json_object_is_type(o, json_type_string))
		return vx_err_set(err, -EINVAL, "test-fill: argument 'file' missing");
	file = json_object_get_string(o);
	if (!*file || strchr(file, '/') || file[0] == '.')
		return vx_err_set(err, -EINVAL,
				  "test-fill: 'file' must be a plain file name");
	f->size = 1024 * 1024;
	if (json_object_object_get_ex(args, "size_kib", &o))
		f->size = (uint64_t)json_object_get_int64(o) * 1024;
	f->slice_ms = 10;
	if (json_object_object_get_ex(args, "slice_ms", &o))
		f->slice_ms = json_object_get_int(o);
	if (f->size == 0 || f->size > (1ull << 32) || f->slice_ms < 0 ||
	    f->slice_ms > 10000)
		return vx_err_set(err, -EINVAL, "test-fill: size_kib or slice_ms out of range");
	snprintf(dir, sizeof(dir), "%s/jobs", j->j_vmxd->conf.vc_rundir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return vx_err_errno(err, -errno, "cannot create %s", dir);
	if (snprintf(f->final, sizeof(f->final), "%s/%s", dir, file) >=
	    (int)sizeof(f->final) ||
	    snprintf(f->partial, sizeof(f->partial), "%s.partial", f->final) >=
	    (int)sizeof(f->partial))
		return vx_err_set(err, -ENAMETOOLONG, "test-fill: path too long");
	snprintf(j->j_arg, sizeof(j->j_arg), "%.499s", f->final);
	if (access(f->final, F_OK) == 0)
		return vx_err_set(err, -EEXIST, "test-fill: %s exists", f->final);
	f->fd = open(f->partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (f->fd < 0)
		return vx_err_errno(err, -errno, "test-fill: %s", f->partial);
	return 0;
}

static int fill_step(struct vmxd_job *j, struct vx_err *err)
{
	struct fill *f = j->j_priv;
	static const char block[65536];
	uint64_t n = f->size - f->done < sizeof(block) ? f->size - f->done : sizeof(block);
	struct timespec ts = { f->slice_ms / 1000, (long)(f->slice_ms % 1000) * 1000000L };

	if (write(f->fd, block, n) != (ssize_t)n)
		return vx_err_errno(err, -EIO, "test-fill: write %s", f->partial);
	f->done += n;
	j->j_progress = (int)(f->done * 100 / f->size);
	nanosleep(&ts, NULL);
	return f->done == f->size;
}

static int fill_commit(struct vmxd_job *j, struct vx_err *err)
{
	struct fill *f = j->j_priv;

	if (fsync(f->fd) < 0 || rename(f->partial, f->final) < 0)
		return vx_err_errno(err, -errno, "test-fill: commit %s", f->final);
	return 0;
}

static void fill_abort(struct vmxd_job *j)
{
	struct fill *f = j->j_priv;

	if (f && f->partial[0])
		unlink(f->partial);
}

static void fill_recover(struct vmxd *v, const char *arg)
{
	char partial[600];

	(void)v;
	snprintf(partial, sizeof(partial), "%.500s.partial", arg);
	unlink(partial);
}

static void fill_free(struct vmxd_job *j)
{
	struct fill *f = j->j_priv;

	if (f && f->fd >= 0)
		close(f->fd);
	free(f);
}

static const struct job_ops fill_ops = {
	"test-fill", fill_init, fill_step, fill_commit, fill_abort, fill_recover,
	fill_free,
};

/* The job kinds; the storage kinds live in storage.c. */
static const struct job_ops *const job_kinds[] = {
	&fill_ops,
	&stor_convert_ops,
	&stor_backup_ops,
	&stor_verify_ops,
	&stor_restore_ops,
	&stor_prune_ops,
	&stor_gc_ops,
	&stor_snapshot_create_ops,
	&stor_snapshot_revert_ops,
};

static const struct job_ops *job_kind(const char *kind)
{
	for (size_t i = 0; i < sizeof(job_kinds) / sizeof(job_kinds[0]); i++)
		if (strcmp(job_kinds[i]->jo_kind, kind) == 0)
			return job_kinds[i];
	return NULL;
}

/* ---- the framework ---- */

static void job_event(struct vmxd_job *j, const char *event, const char *state,
		      const char *error)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "id", json_object_new_int64(j->j_id));
	json_object_object_add(d, "kind", json_object_new_string(j->j_ops->jo_kind));
	json_object_object_add(d, "progress", json_object_new_int(j->j_progress));
	if (state)
		json_object_object_add(d, "state", json_object_new_string(state));
	if (error)
		json_object_object_add(d, "error", json_object_new_string(error));
	/* What the job made (a backup job's commit adds the backup ids). */
	if (state)
		json_object_object_add(d, "arg", json_object_new_string(j->j_arg));
	/* Counts a kind reports (what prune and gc freed). */
	if (state && j->j_result)
		json_object_object_add(d, "result", json_object_get(j->j_result));
	vmxd_broadcast(j->j_vmxd, event, d);
}

/* Loop: a job-progress event when the progress moved since the last one. */
static void job_report(struct vmxd_job *j)
{
	int p = atomic_load(&j->j_progress);

	if (p != j->j_reported) {
		j->j_reported = p;
		job_event(j, "job-progress", NULL, NULL);
	}
}

static void job_async(uv_async_t *a)
{
	job_report(a->data);
}

void job_progress(struct vmxd_job *j, int percent)
{
	if (atomic_exchange(&j->j_progress, percent) != percent)
		uv_async_send(&j->j_async);
}

static void job_closed(uv_handle_t *h)
{
	free(h->data);
}

static void job_unlink_free(struct vmxd_job *j)
{
	struct vmxd_job **pp;

	for (pp = &j->j_vmxd->jobs; *pp; pp = &(*pp)->j_next)
		if (*pp == j) {
			*pp = j->j_next;
			break;
		}
	if (j->j_ops->jo_free)
		j->j_ops->jo_free(j);
	if (j->j_result)
		json_object_put(j->j_result);
	uv_close((uv_handle_t *)&j->j_async, job_closed);
}

static void job_finish(struct vmxd_job *j, const char *state, const char *error)
{
	struct vx_err err;

	if (strcmp(state, "done") != 0)
		j->j_ops->jo_abort(j);
	if (store_job_update(j->j_vmxd->store, j->j_id, state, j->j_progress,
			     error, &err) < 0)
		log_err("job %lld: %s", (long long)j->j_id, err.msg);
	log_info("job %lld (%s): %s%s%s", (long long)j->j_id, j->j_ops->jo_kind,
		 state, error ? ": " : "", error ? error : "");
	job_event(j, "job-done", state, error);
	job_unlink_free(j);
}

static void job_work(uv_work_t *w)
{
	struct vmxd_job *j = w->data;

	j->j_rc = j->j_ops->jo_step(j, &j->j_err);
}

static void job_after_work(uv_work_t *w, int status)
{
	struct vmxd_job *j = w->data;
	struct vx_err err;
	int cancel = atomic_load(&j->j_cancel);

	/* A step that saw the cancel request itself stops with -ECANCELED. */
	if (status == 0 && j->j_rc == -ECANCELED && cancel) {
		j->j_rc = 0;
	} else if (status < 0 || j->j_rc < 0) {
		job_finish(j, "failed", status < 0 ? uv_strerror(status) : j->j_err.msg);
		return;
	}
	if (j->j_rc == 1) {
		if (j->j_ops->jo_commit(j, &err) < 0) {
			job_finish(j, "failed", err.msg);
			return;
		}
		j->j_progress = 100;
		job_finish(j, "done", NULL);
		return;
	}
	if (cancel) {
		job_finish(j, cancel == 2 ? "interrupted" : "cancelled",
			   cancel == 2 ? "vmxd stopped" : "cancelled by request");
		return;
	}
	job_report(j);
	uv_queue_work(j->j_vmxd->loop, &j->j_work, job_work, job_after_work);
}

int job_start(struct vmxd *v, const char *kind, json_object *args,
	      int64_t *id, struct vx_err *err)
{
	const struct job_ops *ops = job_kind(kind);
	struct vmxd_job *j;
	int rc;

	if (!ops)
		return vx_err_set(err, -EINVAL, "unknown job kind '%s'", kind);
	j = calloc(1, sizeof(*j));
	if (!j)
		return vx_err_set(err, -ENOMEM, "out of memory");
	j->j_vmxd = v;
	j->j_ops = ops;
	j->j_work.data = j;
	j->j_reported = -1;
	atomic_init(&j->j_cancel, 0);
	atomic_init(&j->j_progress, 0);
	if ((rc = ops->jo_init(j, args, err)) < 0 ||
	    (rc = store_job_create(v->store, kind, NULL, j->j_arg, &j->j_id, err)) < 0) {
		if (rc != -EEXIST)
			ops->jo_abort(j);
		ops->jo_free(j);
		free(j);
		return rc;
	}
	uv_async_init(v->loop, &j->j_async, job_async);
	j->j_async.data = j;
	j->j_next = v->jobs;
	v->jobs = j;
	*id = j->j_id;
	log_info("job %lld (%s) started: %s", (long long)j->j_id, kind, j->j_arg);
	uv_queue_work(v->loop, &j->j_work, job_work, job_after_work);
	return 0;
}

int job_cancel(struct vmxd *v, int64_t id, struct vx_err *err)
{
	for (struct vmxd_job *j = v->jobs; j; j = j->j_next)
		if (j->j_id == id) {
			atomic_store(&j->j_cancel, 1);
			return 0;
		}
	return vx_err_set(err, -ENOENT, "no running job %lld", (long long)id);
}

void job_stop_all(struct vmxd *v)
{
	for (struct vmxd_job *j = v->jobs; j; j = j->j_next)
		atomic_store(&j->j_cancel, 2);
}

void job_recover_all(struct vmxd *v)
{
	struct store_job *jobs;
	struct vx_err err;
	size_t n;

	if (store_job_list(v->store, "running", &jobs, &n, &err) < 0) {
		log_err("cannot list jobs: %s", err.msg);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct job_ops *ops = job_kind(jobs[i].sj_kind);

		if (ops && jobs[i].sj_arg)
			ops->jo_recover(v, jobs[i].sj_arg);
		store_job_update(v->store, jobs[i].sj_id, "interrupted",
				 jobs[i].sj_progress,
				 "vmxd stopped while the job ran; partial work removed",
				 NULL);
		log_warn("job %lld (%s) was interrupted by a vmxd crash; cleaned up",
			 (long long)jobs[i].sj_id, jobs[i].sj_kind);
	}
	store_job_list_free(jobs, n);
}
