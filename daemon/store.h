/*
 * store: every byte of vmxd state that must survive a restart, in one sqlite3
 * database (all SQL lives in store.c).
 *
 * WAL journal, foreign keys on, schema migrations by PRAGMA user_version,
 * PRAGMA integrity_check at open. Each change is one transaction: a domain
 * and its disks and interfaces are written together or not at all.
 * Context: the daemon's loop thread (one connection, no sharing).
 */
#ifndef VMXD_STORE_H
#define VMXD_STORE_H

#include <stdint.h>

#include "daemon/xml.h"
#include "vx_err.h"

#define STORE_SCHEMA_VERSION 4

struct store;

struct store_domain {
	int64_t sd_id;
	char sd_uuid[37];
	char sd_name[XML_NAME_MAX];
	char sd_type[8];        /* kvm or test */
	char *sd_xml;           /* canonical domain XML, malloc'd */
	int sd_persistent;      /* 0: transient (create), removed when it stops */
	int sd_autostart;
	char sd_state[16];      /* shutoff, running, paused, shutdown, crashed */
	char sd_reason[32];
	int sd_pid;             /* runner pid while running, else 0 */
	unsigned sd_vcpu;
	uint64_t sd_memory_kib;
};

int store_open(const char *path, struct store **out, struct vx_err *err);
void store_close(struct store *st);
/* Runs PRAGMA integrity_check; 0 when the answer is "ok". */
int store_integrity_check(struct store *st, struct vx_err *err);
int store_schema_version(struct store *st);
/* Rows changed through this store since it was opened (a change counter). */
int64_t store_changes(struct store *st);

/*
 * Inserts a domain, or replaces the definition of the domain with the same
 * uuid and name. -EEXIST when the name or the uuid belongs to another domain.
 * *created tells which happened (may be NULL).
 */
int store_domain_define(struct store *st, const struct xml_domain *d,
			const char *xml, int persistent, int *created,
			struct vx_err *err);
/* By name or uuid; -ENOENT when unknown. Clear out with store_domain_clear. */
int store_domain_get(struct store *st, const char *key,
		     struct store_domain *out, struct vx_err *err);
int store_domain_list(struct store *st, struct store_domain **out, size_t *n,
		      struct vx_err *err);
/* with_xml 0: sd_xml is "" (for list, which does not need it). */
int store_domain_list_ext(struct store *st, int with_xml,
			  struct store_domain **out, size_t *n, struct vx_err *err);
void store_domain_list_free(struct store_domain *v, size_t n);
void store_domain_clear(struct store_domain *sd);
int store_domain_undefine(struct store *st, const char *uuid,
			  struct vx_err *err);
int store_domain_set_state(struct store *st, const char *uuid,
			   const char *state, const char *reason, int pid,
			   struct vx_err *err);
int store_domain_set_autostart(struct store *st, const char *uuid, int on,
			       struct vx_err *err);
int store_domain_set_persistent(struct store *st, const char *uuid, int on,
				struct vx_err *err);

struct store_job {
	int64_t sj_id;
	char sj_kind[32];
	char sj_state[16];       /* running, done, failed, cancelled, interrupted */
	int sj_progress;         /* percent */
	char *sj_arg;            /* kind-specific, e.g. the file it produces */
	char sj_error[256];
	char sj_domain[XML_NAME_MAX]; /* "" when not about a domain */
};

/* uuid may be NULL (a job not about a domain). */
int store_job_create(struct store *st, const char *kind, const char *uuid,
		     const char *arg, int64_t *id, struct vx_err *err);
int store_job_update(struct store *st, int64_t id, const char *state,
		     int progress, const char *error, struct vx_err *err);
/* state NULL: every job. */
int store_job_list(struct store *st, const char *state,
		   struct store_job **out, size_t *n, struct vx_err *err);
void store_job_list_free(struct store_job *v, size_t n);
/* A job's argument as its commit knows it (e.g. the backup ids made). */
int store_job_set_arg(struct store *st, int64_t id, const char *arg,
		      struct vx_err *err);

/* Internal disk snapshots of a domain, as vmxd recorded them. */
struct store_snapshot {
	char ss_name[256];
	char ss_disks[1024];     /* the targets holding it, "vda,vdb" */
	int64_t ss_created;
	char ss_uuid[37];        /* its domain */
	int ss_creating;         /* disks being snapshotted (or a crash then) */
	char ss_memory[256];     /* VM state file (memsnap.c), "" for disks only */
};

/*
 * One transaction; -EEXIST when the domain has one of that name. creating:
 * recorded before the disks are touched, store_snapshot_done when they are.
 */
int store_snapshot_add(struct store *st, const char *uuid, const char *name,
		       const char *disks, int creating, struct vx_err *err);
int store_snapshot_done(struct store *st, const char *uuid, const char *name,
			const char *disks, struct vx_err *err);
/* -ENOENT when unknown; disks (may be NULL) gets the targets. */
int store_snapshot_get(struct store *st, const char *uuid, const char *name,
		       char *disks, size_t len, struct vx_err *err);
/* The memory state file of a snapshot ("" when it has none). */
int store_snapshot_set_memory(struct store *st, const char *uuid, const char *name,
			      const char *file, struct vx_err *err);
int store_snapshot_memory(struct store *st, const char *uuid, const char *name,
			  char *file, size_t len, struct vx_err *err);
int store_snapshot_del(struct store *st, const char *uuid, const char *name,
		       struct vx_err *err);
/* Oldest first; free(*out). uuid NULL: every 'creating' one (startup). */
int store_snapshot_list(struct store *st, const char *uuid,
			struct store_snapshot **out, size_t *n, struct vx_err *err);

#endif
