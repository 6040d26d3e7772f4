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
struct vmxd_conn;

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
/* Undoes snapshot name of domain uuid if it is still 'creating'. */
void stor_snapshot_undo(struct vmxd *v, const char *uuid, const char *name);

/* Shared with memsnap.c. */
struct xml_disk;
int stor_arg_str(json_object *args, const char *key, int required,
		 const char **out, struct vx_err *err);
int stor_snap_name(const char *name, struct vx_err *err);
/* A writable disk with a source, of format fmt (NULL: any). */
int stor_disk_is(const struct xml_disk *xd, const char *fmt);
int stor_list_has(const char *list, const char *target);
/* op "create", "revert" or "delete" of snapshot name on the qcow2 at path. */
int stor_snap_disk(const char *path, const char *op, const char *name,
		   struct vx_err *err);
/* Drops vmxd's dirty bitmaps (a revert changed the disk behind them). */
struct img;
void stor_bitmaps_drop(struct img *img);

/* memsnap.c: memory snapshots of running domains. Return RPC_DEFERRED
 * (answered later), 0 when the domain is not running (the disk-only path
 * applies), or -errno with err set. */
int memsnap_create(struct vmxd *v, struct vmxd_conn *c, uint64_t id, json_object *args,
		   struct vx_err *err);
int memsnap_revert(struct vmxd *v, struct vmxd_conn *c, uint64_t id, json_object *args,
		   struct vx_err *err);
/* Removes a domain's state file (file "" or NULL: nothing). */
void memsnap_remove_file(struct vmxd *v, const char *uuid, const char *file);

/* Job kinds: disk-convert, backup, verify, restore, backup-prune, backup-gc. */
extern const struct job_ops stor_convert_ops;
extern const struct job_ops stor_backup_ops;
extern const struct job_ops stor_verify_ops;
extern const struct job_ops stor_restore_ops;
extern const struct job_ops stor_prune_ops;
extern const struct job_ops stor_gc_ops;
/* snapjob.c: snapshot-create and snapshot-revert as jobs. */
extern const struct job_ops stor_snapshot_create_ops;
extern const struct job_ops stor_snapshot_revert_ops;

#endif
