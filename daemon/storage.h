/*
 * storage: vmxd's disk, snapshot and backup verbs (rpc.c calls them) and the
 * storage job kinds (job.c lists them). Paths in arguments are absolute.
 * Each verb returns 0 with *res set, or a negative errno with err set.
 * Context: loop thread.
 */
#ifndef VMXD_STORAGE_H
#define VMXD_STORAGE_H

#include <json-c/json.h>

#include "vx_err.h"

struct vmxd;
struct job_ops;

int stor_disk_create(struct vmxd *v, json_object *args, json_object **res,
		     struct vx_err *err);
int stor_disk_info(struct vmxd *v, json_object *args, json_object **res,
		   struct vx_err *err);
int stor_snapshot_create(struct vmxd *v, json_object *args, json_object **res,
			 struct vx_err *err);
int stor_snapshot_list(struct vmxd *v, json_object *args, json_object **res,
		       struct vx_err *err);
int stor_snapshot_revert(struct vmxd *v, json_object *args, json_object **res,
			 struct vx_err *err);
int stor_snapshot_delete(struct vmxd *v, json_object *args, json_object **res,
			 struct vx_err *err);
int stor_backup_list(struct vmxd *v, json_object *args, json_object **res,
		     struct vx_err *err);

/* Startup: undoes snapshots a crash left half made. */
void stor_recover(struct vmxd *v);

/* Job kinds: disk-convert, backup, verify, restore, backup-prune, backup-gc. */
extern const struct job_ops stor_convert_ops;
extern const struct job_ops stor_backup_ops;
extern const struct job_ops stor_verify_ops;
extern const struct job_ops stor_restore_ops;
extern const struct job_ops stor_prune_ops;
extern const struct job_ops stor_gc_ops;

#endif
