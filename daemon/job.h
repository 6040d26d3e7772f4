/*
 * job: long operations (backup, restore, snapshot, image convert; for now
 * the test kind "test-fill") run as jobs: sliced work on libuv's thread
 * pool, progress as "job-progress" events, cancellable between slices, state
 * in the jobs table. A job's output only becomes visible in its commit step;
 * cancel, failure and a vmxd crash (jo_recover at next start) remove partial
 * work, so an interrupted job leaves nothing half-done.
 * Context: loop thread, except jo_step (a pool thread).
 */
#ifndef VMXD_JOB_H
#define VMXD_JOB_H

#include <stdatomic.h>
#include <stdint.h>

#include <json-c/json.h>
#include <uv.h>

#include "vx_err.h"

struct vmxd;
struct vmxd_job;

struct job_ops {
	const char *jo_kind;
	/* Loop: parse args, prepare (e.g. create the .partial file); sets j_arg. */
	int (*jo_init)(struct vmxd_job *j, json_object *args, struct vx_err *err);
	/* Pool thread: one slice. 1 finished, 0 more to do, <0 failed (err). */
	int (*jo_step)(struct vmxd_job *j, struct vx_err *err);
	/* Loop: make the result visible (rename into place). */
	int (*jo_commit)(struct vmxd_job *j, struct vx_err *err);
	/* Loop: remove partial work after cancel or failure. */
	void (*jo_abort)(struct vmxd_job *j);
	/* Startup: the previous vmxd died while this job ran; clean up. */
	void (*jo_recover)(struct vmxd *v, const char *arg);
	void (*jo_free)(struct vmxd_job *j);
};

struct vmxd_job {
	struct vmxd *j_vmxd;
	int64_t j_id;
	const struct job_ops *j_ops;
	char j_arg[512];          /* persisted: what jo_recover needs */
	atomic_int j_progress;    /* percent, written by jo_step (job_progress) */
	int j_reported;           /* last progress sent as an event */
	atomic_int j_cancel;      /* 1 cancel requested, 2 vmxd stopping */
	void *j_priv;             /* the kind's state */
	json_object *j_result;    /* set by jo_commit: the job-done event's result */
	uv_work_t j_work;
	uv_async_t j_async;       /* job_progress wakes the loop: an event mid-step */
	int j_rc;
	struct vx_err j_err;
	struct vmxd_job *j_next;
};

int job_start(struct vmxd *v, const char *kind, json_object *args,
	      int64_t *id, struct vx_err *err);
int job_cancel(struct vmxd *v, int64_t id, struct vx_err *err);
/*
 * Any thread (a step's library callback): sets the progress and has the
 * loop send a job-progress event now, not only when the step returns.
 */
void job_progress(struct vmxd_job *j, int percent);
/* Startup: mark jobs left running by a dead vmxd interrupted, clean up. */
void job_recover_all(struct vmxd *v);
/* vmxd stopping: every job stops at its next slice, cleaned up. */
void job_stop_all(struct vmxd *v);

#endif
