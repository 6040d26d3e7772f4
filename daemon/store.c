/*
 * store: all of vmxd's SQL. See store.h.
 * Context: the daemon's loop thread.
 */
#include "daemon/store.h"
#include "daemon/vmxd.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define STORE_STMT_CACHE 32

struct store {
	sqlite3 *db;
	char path[512];
	struct {
		const char *sql;     /* identity of the statement's text */
		sqlite3_stmt *s;
	} stmts[STORE_STMT_CACHE];
	sqlite3_stmt *uncached;  /* never set while the table has room */
};

/*
 * Schema migrations: entry i takes user_version i to i + 1, in one
 * transaction with the version bump. Never edit an entry once released;
 * append a new one.
 */
static const char *const store_migrations[] = {
	/* 0 -> 1: domains with their disks and interfaces, jobs. */
	"CREATE TABLE domains ("
	"  id          INTEGER PRIMARY KEY,"
	"  uuid        TEXT NOT NULL UNIQUE,"
	"  name        TEXT NOT NULL UNIQUE,"
	"  type        TEXT NOT NULL CHECK (type IN ('kvm', 'test')),"
	"  xml         TEXT NOT NULL,"
	"  persistent  INTEGER NOT NULL DEFAULT 1,"
	"  autostart   INTEGER NOT NULL DEFAULT 0,"
	"  state       TEXT NOT NULL DEFAULT 'shutoff',"
	"  reason      TEXT NOT NULL DEFAULT 'defined',"
	"  runner_pid  INTEGER,"
	"  vcpu        INTEGER NOT NULL,"
	"  memory_kib  INTEGER NOT NULL,"
	"  created_at  INTEGER NOT NULL,"
	"  updated_at  INTEGER NOT NULL);"
	"CREATE TABLE disks ("
	"  domain_id   INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,"
	"  target      TEXT NOT NULL,"
	"  device      TEXT NOT NULL,"
	"  source      TEXT,"
	"  format      TEXT NOT NULL,"
	"  readonly    INTEGER NOT NULL,"
	"  backing     TEXT,"
	"  PRIMARY KEY (domain_id, target));"
	"CREATE TABLE interfaces ("
	"  domain_id   INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,"
	"  idx         INTEGER NOT NULL,"
	"  type        TEXT NOT NULL,"
	"  source      TEXT,"
	"  mac         TEXT NOT NULL,"
	"  PRIMARY KEY (domain_id, idx));"
	"CREATE TABLE jobs ("
	"  id          INTEGER PRIMARY KEY,"
	"  domain_id   INTEGER REFERENCES domains(id) ON DELETE CASCADE,"
	"  kind        TEXT NOT NULL,"
	"  state       TEXT NOT NULL,"
	"  progress    INTEGER NOT NULL DEFAULT 0,"
	"  created_at  INTEGER NOT NULL);",
	/* 1 -> 2: jobs remember their argument, error and end. */
	"ALTER TABLE jobs ADD COLUMN arg TEXT;"
	"ALTER TABLE jobs ADD COLUMN error TEXT;"
	"ALTER TABLE jobs ADD COLUMN finished_at INTEGER;",
	/*
	 * 2 -> 3: internal disk snapshots of a domain (disks: targets, a,b).
	 * state 'creating' while the disks are being snapshotted: a row left
	 * so by a crash is undone at the next start.
	 */
	"CREATE TABLE snapshots ("
	"  domain_id   INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,"
	"  name        TEXT NOT NULL,"
	"  disks       TEXT NOT NULL,"
	"  state       TEXT NOT NULL DEFAULT 'ok' CHECK (state IN ('creating', 'ok')),"
	"  created_at  INTEGER NOT NULL,"
	"  PRIMARY KEY (domain_id, name));",
	/*
	 * 3 -> 4: memory snapshots of a running domain: the VM state file's
	 * name in <state dir>/snapshots/<uuid>/ (memsnap.c); NULL for a
	 * disks-only snapshot.
	 */
	"ALTER TABLE snapshots ADD COLUMN memory TEXT;",
};

#define STORE_NMIGRATIONS (sizeof(store_migrations) / sizeof(store_migrations[0]))

_Static_assert(STORE_NMIGRATIONS == STORE_SCHEMA_VERSION,
	       "one migration per schema version");

static int store_fail(struct store *st, struct vx_err *err, const char *what)
{
	return vx_err_set(err, -EIO, "store: %s: %s", what, sqlite3_errmsg(st->db));
}

static int store_exec(struct store *st, const char *sql, struct vx_err *err)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		vx_err_set(err, -EIO, "store: %s", msg ? msg : "?");
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

static int store_begin(struct store *st, struct vx_err *err)
{
	return store_exec(st, "BEGIN IMMEDIATE", err);
}

static int store_commit(struct store *st, struct vx_err *err)
{
	return store_exec(st, "COMMIT", err);
}

static void store_rollback(struct store *st)
{
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

int64_t store_changes(struct store *st)
{
	return sqlite3_total_changes64(st->db);
}

int store_schema_version(struct store *st)
{
	sqlite3_stmt *s;
	int v = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

static int store_migrate(struct store *st, struct vx_err *err)
{
	int v = store_schema_version(st);
	char sql[64];

	if (v < 0)
		return store_fail(st, err, "reading user_version");
	if ((size_t)v > STORE_NMIGRATIONS)
		return vx_err_set(err, -EPROTONOSUPPORT,
				  "store: %s has schema version %d, this vmxd knows up to %d (downgrade?)",
				  st->path, v, STORE_SCHEMA_VERSION);
	for (; (size_t)v < STORE_NMIGRATIONS; v++) {
		if (store_begin(st, err) < 0)
			return -EIO;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (store_exec(st, store_migrations[v], err) < 0 ||
		    store_exec(st, sql, err) < 0) {
			store_rollback(st);
			return -EIO;
		}
		if (store_commit(st, err) < 0)
			return -EIO;
	}
	return 0;
}

int store_integrity_check(struct store *st, struct vx_err *err)
{
	sqlite3_stmt *s;
	int rc = 0;

	if (sqlite3_prepare_v2(st->db, "PRAGMA integrity_check", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, err, "integrity_check");
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(s, 0);

		if (!r || strcmp(r, "ok") != 0) {
			rc = vx_err_set(err, -EIO, "store: %s: integrity_check: %s",
					st->path, r ? r : "?");
			break;
		}
	}
	sqlite3_finalize(s);
	if (rc == 0) {
		if (sqlite3_prepare_v2(st->db, "PRAGMA foreign_key_check", -1, &s,
				       NULL) != SQLITE_OK)
			return store_fail(st, err, "foreign_key_check");
		if (sqlite3_step(s) == SQLITE_ROW)
			rc = vx_err_set(err, -EIO, "store: %s: foreign key violation in %s",
					st->path, sqlite3_column_text(s, 0));
		sqlite3_finalize(s);
	}
	return rc;
}

int store_open(const char *path, struct store **out, struct vx_err *err)
{
	struct store *st = calloc(1, sizeof(*st));
	int rc;

	*out = NULL;
	if (!st)
		return vx_err_set(err, -ENOMEM, "out of memory");
	snprintf(st->path, sizeof(st->path), "%s", path);
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		rc = vx_err_set(err, -EIO, "store: cannot open %s: %s", path,
				st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 5000);
	/*
	 * WAL: readers never block the writer and a crash loses at most the
	 * transaction in flight. synchronous=NORMAL: a commit survives a
	 * process crash or kill -9 (the WAL is in the page cache) and the
	 * database is never corrupted; only the last commits before a power
	 * loss may be lost. FULL would add an fsync to every define (about 3 ms).
	 */
	if ((rc = store_exec(st, "PRAGMA journal_mode = WAL", err)) < 0 ||
	    (rc = store_exec(st, "PRAGMA synchronous = NORMAL", err)) < 0 ||
	    (rc = store_exec(st, "PRAGMA foreign_keys = ON", err)) < 0 ||
	    (rc = store_integrity_check(st, err)) < 0 ||
	    (rc = store_migrate(st, err)) < 0)
		goto fail;
	*out = st;
	return 0;
fail:
	sqlite3_close(st->db);
	free(st);
	return rc;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < STORE_STMT_CACHE && st->stmts[i].sql; i++)
		sqlite3_finalize(st->stmts[i].s);
	sqlite3_finalize(st->uncached);
	sqlite3_close(st->db);
	free(st);
}

/*
 * Prepared statements are kept per SQL text (every caller passes a string
 * literal, so the pointer identifies it) and reset after use: preparing
 * costs more than running most of these statements.
 */
static sqlite3_stmt *store_prep(struct store *st, const char *sql,
				struct vx_err *err)
{
	sqlite3_stmt *s = NULL;
	size_t i;

	for (i = 0; i < STORE_STMT_CACHE && st->stmts[i].sql; i++)
		if (st->stmts[i].sql == sql)
			return st->stmts[i].s;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		store_fail(st, err, "prepare");
		return NULL;
	}
	if (i < STORE_STMT_CACHE) {
		st->stmts[i].sql = sql;
		st->stmts[i].s = s;
	} else {
		/* Table full: should not happen; keep working, uncached. */
		sqlite3_finalize(st->uncached);
		st->uncached = s;
	}
	return s;
}

/* Makes a statement from store_prep ready for its next use. */
static void store_release(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

static void store_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

/* Runs a prepared statement that returns no rows, and finalizes it. */
static int store_done(struct store *st, sqlite3_stmt *s, const char *what,
		      struct vx_err *err)
{
	int rc = sqlite3_step(s);

	store_release(s);
	if (rc != SQLITE_DONE)
		return store_fail(st, err, what);
	return 0;
}

static int store_write_devices(struct store *st, int64_t id,
			       const struct xml_domain *d, struct vx_err *err)
{
	sqlite3_stmt *s;
	int rc;

	if (!(s = store_prep(st, "DELETE FROM disks WHERE domain_id = ?", err)))
		return -EIO;
	sqlite3_bind_int64(s, 1, id);
	if ((rc = store_done(st, s, "delete disks", err)) < 0)
		return rc;
	if (!(s = store_prep(st, "DELETE FROM interfaces WHERE domain_id = ?", err)))
		return -EIO;
	sqlite3_bind_int64(s, 1, id);
	if ((rc = store_done(st, s, "delete interfaces", err)) < 0)
		return rc;
	for (size_t i = 0; i < d->xdom_ndisks; i++) {
		const struct xml_disk *k = &d->xdom_disks[i];

		if (!(s = store_prep(st, "INSERT INTO disks (domain_id, target, device,"
				     " source, format, readonly, backing)"
				     " VALUES (?, ?, ?, ?, ?, ?, ?)", err)))
			return -EIO;
		sqlite3_bind_int64(s, 1, id);
		store_text(s, 2, k->xd_target);
		store_text(s, 3, k->xd_device);
		store_text(s, 4, k->xd_source);
		store_text(s, 5, k->xd_format);
		sqlite3_bind_int(s, 6, k->xd_readonly);
		store_text(s, 7, k->xd_backing);
		if ((rc = store_done(st, s, "insert disk", err)) < 0)
			return rc;
	}
	for (size_t i = 0; i < d->xdom_nifaces; i++) {
		const struct xml_iface *f = &d->xdom_ifaces[i];

		if (!(s = store_prep(st, "INSERT INTO interfaces (domain_id, idx, type,"
				     " source, mac) VALUES (?, ?, ?, ?, ?)", err)))
			return -EIO;
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int64(s, 2, (int64_t)i);
		store_text(s, 3, f->xi_type);
		store_text(s, 4, f->xi_source);
		store_text(s, 5, f->xi_mac);
		if ((rc = store_done(st, s, "insert interface", err)) < 0)
			return rc;
	}
	return 0;
}

static int store_define_tx(struct store *st, const struct xml_domain *d,
			   const char *xml, int persistent, int *created,
			   struct vx_err *err)
{
	sqlite3_stmt *s;
	int64_t id = 0, now = (int64_t)time(NULL);
	char other[XML_NAME_MAX + 40] = "";
	int rc;

	/* Who holds this name, who holds this uuid? */
	if (!(s = store_prep(st, "SELECT id, uuid, name FROM domains"
			     " WHERE uuid = ?1 OR name = ?2", err)))
		return -EIO;
	store_text(s, 1, d->xdom_uuid);
	store_text(s, 2, d->xdom_name);
	rc = 0;
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *u = (const char *)sqlite3_column_text(s, 1);
		const char *n = (const char *)sqlite3_column_text(s, 2);

		if (strcmp(u, d->xdom_uuid) == 0 && strcmp(n, d->xdom_name) == 0) {
			id = sqlite3_column_int64(s, 0);
		} else if (strcmp(u, d->xdom_uuid) == 0) {
			rc = vx_err_set(err, -EEXIST,
					"domain with uuid %s already exists as '%s'",
					u, n);
		} else {
			snprintf(other, sizeof(other), "%s", u);
			rc = vx_err_set(err, -EEXIST,
					"domain '%s' already exists with uuid %s",
					n, other);
		}
	}
	store_release(s);
	if (rc < 0)
		return rc;
	if (created)
		*created = id == 0;
	if (id) {
		if (!(s = store_prep(st, "UPDATE domains SET type = ?, xml = ?,"
				     " vcpu = ?, memory_kib = ?, updated_at = ?,"
				     " persistent = MAX(persistent, ?) WHERE id = ?", err)))
			return -EIO;
		store_text(s, 1, d->xdom_type);
		store_text(s, 2, xml);
		sqlite3_bind_int(s, 3, (int)d->xdom_vcpu);
		sqlite3_bind_int64(s, 4, (int64_t)d->xdom_memory_kib);
		sqlite3_bind_int64(s, 5, now);
		sqlite3_bind_int(s, 6, persistent);
		sqlite3_bind_int64(s, 7, id);
		if ((rc = store_done(st, s, "update domain", err)) < 0)
			return rc;
	} else {
		if (!(s = store_prep(st, "INSERT INTO domains (uuid, name, type, xml,"
				     " persistent, vcpu, memory_kib, created_at,"
				     " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
				     err)))
			return -EIO;
		store_text(s, 1, d->xdom_uuid);
		store_text(s, 2, d->xdom_name);
		store_text(s, 3, d->xdom_type);
		store_text(s, 4, xml);
		sqlite3_bind_int(s, 5, persistent);
		sqlite3_bind_int(s, 6, (int)d->xdom_vcpu);
		sqlite3_bind_int64(s, 7, (int64_t)d->xdom_memory_kib);
		sqlite3_bind_int64(s, 8, now);
		sqlite3_bind_int64(s, 9, now);
		if ((rc = store_done(st, s, "insert domain", err)) < 0)
			return rc;
		id = sqlite3_last_insert_rowid(st->db);
	}
	vmxd_test_crash("define-mid"); /* tests: kill -9 mid define */
	return store_write_devices(st, id, d, err);
}

int store_domain_define(struct store *st, const struct xml_domain *d,
			const char *xml, int persistent, int *created,
			struct vx_err *err)
{
	int rc;

	if ((rc = store_begin(st, err)) < 0)
		return rc;
	if (created)
		*created = 0;
	rc = store_define_tx(st, d, xml, persistent, created, err);
	if (rc < 0) {
		store_rollback(st);
		return rc;
	}
	return store_commit(st, err);
}

static void store_row(sqlite3_stmt *s, struct store_domain *sd)
{
	const char *t;

	memset(sd, 0, sizeof(*sd));
	sd->sd_id = sqlite3_column_int64(s, 0);
	snprintf(sd->sd_uuid, sizeof(sd->sd_uuid), "%s", sqlite3_column_text(s, 1));
	snprintf(sd->sd_name, sizeof(sd->sd_name), "%s", sqlite3_column_text(s, 2));
	snprintf(sd->sd_type, sizeof(sd->sd_type), "%s", sqlite3_column_text(s, 3));
	t = (const char *)sqlite3_column_text(s, 4);
	sd->sd_xml = strdup(t ? t : "");
	sd->sd_persistent = sqlite3_column_int(s, 5);
	sd->sd_autostart = sqlite3_column_int(s, 6);
	snprintf(sd->sd_state, sizeof(sd->sd_state), "%s", sqlite3_column_text(s, 7));
	snprintf(sd->sd_reason, sizeof(sd->sd_reason), "%s", sqlite3_column_text(s, 8));
	sd->sd_pid = sqlite3_column_int(s, 9);
	sd->sd_vcpu = (unsigned)sqlite3_column_int(s, 10);
	sd->sd_memory_kib = (uint64_t)sqlite3_column_int64(s, 11);
}

#define STORE_COLS "id, uuid, name, type, xml, persistent, autostart, state," \
		   " reason, runner_pid, vcpu, memory_kib"
/* Same columns, the XML replaced by NULL: list does not need it. */
#define STORE_COLS_NOXML "id, uuid, name, type, NULL, persistent, autostart," \
		   " state, reason, runner_pid, vcpu, memory_kib"

int store_domain_get(struct store *st, const char *key,
		     struct store_domain *out, struct vx_err *err)
{
	sqlite3_stmt *s;
	int rc;

	if (!(s = store_prep(st, "SELECT " STORE_COLS " FROM domains"
			     " WHERE name = ?1 OR uuid = lower(?1)", err)))
		return -EIO;
	store_text(s, 1, key);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		store_row(s, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = vx_err_set(err, -ENOENT, "domain '%s' not found", key);
	} else {
		rc = store_fail(st, err, "select domain");
	}
	store_release(s);
	return rc;
}

int store_domain_list(struct store *st, struct store_domain **out, size_t *n,
		      struct vx_err *err)
{
	return store_domain_list_ext(st, 1, out, n, err);
}

int store_domain_list_ext(struct store *st, int with_xml,
			  struct store_domain **out, size_t *n, struct vx_err *err)
{
	struct store_domain *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	sqlite3_stmt *s;
	int rc;

	if (!(s = store_prep(st, with_xml ?
			     "SELECT " STORE_COLS " FROM domains ORDER BY name" :
			     "SELECT " STORE_COLS_NOXML " FROM domains ORDER BY name",
			     err)))
		return -EIO;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				store_release(s);
				store_domain_list_free(v, cnt);
				return vx_err_set(err, -ENOMEM, "out of memory");
			}
			v = nv;
		}
		store_row(s, &v[cnt++]);
	}
	store_release(s);
	if (rc != SQLITE_DONE) {
		store_domain_list_free(v, cnt);
		return store_fail(st, err, "list domains");
	}
	*out = v;
	*n = cnt;
	return 0;
}

void store_domain_clear(struct store_domain *sd)
{
	free(sd->sd_xml);
	sd->sd_xml = NULL;
}

void store_domain_list_free(struct store_domain *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_domain_clear(&v[i]);
	free(v);
}

/* One-statement changes: autocommit is their transaction. */
static int store_update(struct store *st, const char *sql, const char *uuid,
			struct vx_err *err, const char *t1, const char *t2,
			int64_t i1)
{
	sqlite3_stmt *s;
	int rc;

	if (!(s = store_prep(st, sql, err)))
		return -EIO;
	sqlite3_bind_int64(s, 1, i1);
	store_text(s, 2, t1);
	store_text(s, 3, t2);
	sqlite3_bind_int64(s, 4, (int64_t)time(NULL));
	store_text(s, 5, uuid);
	rc = store_done(st, s, "update", err);
	if (rc == 0 && sqlite3_changes(st->db) == 0)
		rc = vx_err_set(err, -ENOENT, "domain %s not found", uuid);
	return rc;
}

int store_domain_undefine(struct store *st, const char *uuid,
			  struct vx_err *err)
{
	sqlite3_stmt *s;
	int rc;

	if (!(s = store_prep(st, "DELETE FROM domains WHERE uuid = ?", err)))
		return -EIO;
	store_text(s, 1, uuid);
	rc = store_done(st, s, "delete domain", err);
	if (rc == 0 && sqlite3_changes(st->db) == 0)
		rc = vx_err_set(err, -ENOENT, "domain %s not found", uuid);
	return rc;
}

int store_domain_set_state(struct store *st, const char *uuid,
			   const char *state, const char *reason, int pid,
			   struct vx_err *err)
{
	return store_update(st, "UPDATE domains SET runner_pid = NULLIF(?1, 0),"
			    " state = ?2, reason = ?3, updated_at = ?4"
			    " WHERE uuid = ?5", uuid, err, state, reason, pid);
}

int store_domain_set_autostart(struct store *st, const char *uuid, int on,
			       struct vx_err *err)
{
	return store_update(st, "UPDATE domains SET autostart = ?1,"
			    " updated_at = ?4 WHERE uuid = ?5 AND ?2 IS ?3",
			    uuid, err, NULL, NULL, on != 0);
}

int store_domain_set_persistent(struct store *st, const char *uuid, int on,
				struct vx_err *err)
{
	return store_update(st, "UPDATE domains SET persistent = ?1,"
			    " updated_at = ?4 WHERE uuid = ?5 AND ?2 IS ?3",
			    uuid, err, NULL, NULL, on != 0);
}

/* ---- jobs ---- */

int store_job_create(struct store *st, const char *kind, const char *uuid,
		     const char *arg, int64_t *id, struct vx_err *err)
{
	sqlite3_stmt *s;
	int rc;

	if (!(s = store_prep(st, "INSERT INTO jobs (domain_id, kind, state, progress,"
			     " created_at, arg) VALUES ((SELECT id FROM domains"
			     " WHERE uuid = ?1), ?2, 'running', 0, ?3, ?4)", err)))
		return -EIO;
	store_text(s, 1, uuid);
	store_text(s, 2, kind);
	sqlite3_bind_int64(s, 3, (int64_t)time(NULL));
	store_text(s, 4, arg);
	rc = store_done(st, s, "insert job", err);
	if (rc == 0)
		*id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

int store_job_update(struct store *st, int64_t id, const char *state,
		     int progress, const char *error, struct vx_err *err)
{
	sqlite3_stmt *s;

	if (!(s = store_prep(st, "UPDATE jobs SET state = ?1, progress = ?2,"
			     " error = ?3, finished_at = CASE WHEN ?1 = 'running'"
			     " THEN NULL ELSE ?4 END WHERE id = ?5", err)))
		return -EIO;
	store_text(s, 1, state);
	sqlite3_bind_int(s, 2, progress);
	store_text(s, 3, error);
	sqlite3_bind_int64(s, 4, (int64_t)time(NULL));
	sqlite3_bind_int64(s, 5, id);
	return store_done(st, s, "update job", err);
}

int store_job_list(struct store *st, const char *state,
		   struct store_job **out, size_t *n, struct vx_err *err)
{
	struct store_job *v = NULL, *nv;
	size_t cnt = 0;
	sqlite3_stmt *s;
	int rc;

	if (!(s = store_prep(st, "SELECT j.id, j.kind, j.state, j.progress,"
			     " j.arg, j.error, d.name FROM jobs j LEFT JOIN domains d"
			     " ON d.id = j.domain_id WHERE ?1 IS NULL OR j.state = ?1"
			     " ORDER BY j.id", err)))
		return -EIO;
	store_text(s, 1, state);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_job *j;
		const char *t;

		nv = realloc(v, (cnt + 1) * sizeof(*v));
		if (!nv) {
			rc = SQLITE_NOMEM;
			break;
		}
		v = nv;
		j = &v[cnt++];
		memset(j, 0, sizeof(*j));
		j->sj_id = sqlite3_column_int64(s, 0);
		snprintf(j->sj_kind, sizeof(j->sj_kind), "%s", sqlite3_column_text(s, 1));
		snprintf(j->sj_state, sizeof(j->sj_state), "%s", sqlite3_column_text(s, 2));
		j->sj_progress = sqlite3_column_int(s, 3);
		t = (const char *)sqlite3_column_text(s, 4);
		j->sj_arg = t ? strdup(t) : NULL;
		t = (const char *)sqlite3_column_text(s, 5);
		snprintf(j->sj_error, sizeof(j->sj_error), "%s", t ? t : "");
		t = (const char *)sqlite3_column_text(s, 6);
		snprintf(j->sj_domain, sizeof(j->sj_domain), "%s", t ? t : "");
	}
	store_release(s);
	if (rc != SQLITE_DONE) {
		store_job_list_free(v, cnt);
		return store_fail(st, err, "list jobs");
	}
	*out = v;
	*n = cnt;
	return 0;
}

void store_job_list_free(struct store_job *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].sj_arg);
	free(v);
}

int store_job_set_arg(struct store *st, int64_t id, const char *arg,
		      struct vx_err *err)
{
	sqlite3_stmt *s;

	if (!(s = store_prep(st, "UPDATE jobs SET arg = ?1 WHERE id = ?2", err)))
		return -EIO;
	store_text(s, 1, arg);
	sqlite3_bind_int64(s, 2, id);
	return store_done(st, s, "update job", err);
}

/* ---- snapshots ---- */

int store_snapshot_add(struct store *st, const char *uuid, const char *name,
		       const char *disks, int creating, struct vx_err *err)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = store_begin(st, err)) < 0)
		return rc;
	if (!(s = store_prep(st, "INSERT INTO snapshots (domain_id, name, disks,"
			     " created_at, state) VALUES ((SELECT id FROM domains WHERE"
			     " uuid = ?1), ?2, ?3, ?4, ?5)", err))) {
		store_rollback(st);
		return -EIO;
	}
	store_text(s, 1, uuid);
	store_text(s, 2, name);
	store_text(s, 3, disks);
	sqlite3_bind_int64(s, 4, (int64_t)time(NULL));
	store_text(s, 5, creating ? "creating" : "ok");
	if ((rc = store_done(st, s, "insert snapshot", err)) < 0) {
		int dup = sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_PRIMARYKEY;

		store_rollback(st);
		return dup ? vx_err_set(err, -EEXIST, "snapshot '%s' exists", name) : rc;
	}
	if ((rc = store_commit(st, err)) < 0)
		store_rollback(st);
	return rc;
}

int store_snapshot_done(struct store *st, const char *uuid, const char *name,
			const char *disks, struct vx_err *err)
{
	sqlite3_stmt *s;

	if (!(s = store_prep(st, "UPDATE snapshots SET state = 'ok', disks = ?3"
			     " WHERE name = ?2 AND domain_id = (SELECT id FROM"
			     " domains WHERE uuid = ?1)", err)))
		return -EIO;
	store_text(s, 1, uuid);
	store_text(s, 2, name);
	store_text(s, 3, disks);
	return store_done(st, s, "update snapshot", err);
}

int store_snapshot_set_memory(struct store *st, const char *uuid, const char *name,
			      const char *file, struct vx_err *err)
{
	sqlite3_stmt *s;

	if (!(s = store_prep(st, "UPDATE snapshots SET memory = ?3"
			     " WHERE name = ?2 AND domain_id = (SELECT id FROM"
			     " domains WHERE uuid = ?1)", err)))
		return -EIO;
	store_text(s, 1, uuid);
	store_text(s, 2, name);
	store_text(s, 3, file);
	return store_done(st, s, "update snapshot", err);
}

#define STORE_SNAPSHOT_COLUMN(c) "SELECT sn." c " FROM snapshots sn JOIN domains d" \
	" ON d.id = sn.domain_id WHERE d.uuid = ?1 AND sn.name = ?2"

/* The text column sql selects (STORE_SNAPSHOT_COLUMN: a string literal,
 * as store_prep caches statements by their text's address) of a domain's
 * snapshot into out ("" for NULL; out may be NULL to test that the
 * snapshot exists). */
static int store_snapshot_column(struct store *st, const char *sql, const char *uuid,
				 const char *name, char *out, size_t len, struct vx_err *err)
{
	sqlite3_stmt *s;
	int rc;

	if (!(s = store_prep(st, sql, err)))
		return -EIO;
	store_text(s, 1, uuid);
	store_text(s, 2, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(s, 0);

		if (out)
			snprintf(out, len, "%s", t ? (const char *)t : "");
		store_release(s);
		return 0;
	}
	store_release(s);
	if (rc != SQLITE_DONE)
		return store_fail(st, err, "get snapshot");
	return vx_err_set(err, -ENOENT, "no snapshot '%s'", name);
}

int store_snapshot_memory(struct store *st, const char *uuid, const char *name,
			  char *file, size_t len, struct vx_err *err)
{
	return store_snapshot_column(st, STORE_SNAPSHOT_COLUMN("memory"), uuid, name, file, len, err);
}

int store_snapshot_get(struct store *st, const char *uuid, const char *name,
		       char *disks, size_t len, struct vx_err *err)
{
	return store_snapshot_column(st, STORE_SNAPSHOT_COLUMN("disks"), uuid, name, disks, len, err);
}

int store_snapshot_del(struct store *st, const char *uuid, const char *name,
		       struct vx_err *err)
{
	sqlite3_stmt *s;

	if (!(s = store_prep(st, "DELETE FROM snapshots WHERE name = ?2 AND"
			     " domain_id = (SELECT id FROM domains WHERE uuid = ?1)",
			     err)))
		return -EIO;
	store_text(s, 1, uuid);
	store_text(s, 2, name);
	return store_done(st, s, "delete snapshot", err);
}

int store_snapshot_list(struct store *st, const char *uuid,
			struct store_snapshot **out, size_t *n, struct vx_err *err)
{
	struct store_snapshot *v = NULL, *nv;
	size_t cnt = 0;
	sqlite3_stmt *s;
	int rc;

	if (!(s = store_prep(st, "SELECT sn.name, sn.disks, sn.created_at, d.uuid,"
			     " sn.state, sn.memory FROM snapshots sn JOIN domains d ON"
			     " d.id = sn.domain_id WHERE (?1 IS NULL AND sn.state ="
			     " 'creating') OR d.uuid = ?1 ORDER BY sn.created_at,"
			     " sn.rowid", err)))
		return -EIO;
	store_text(s, 1, uuid);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		nv = realloc(v, (cnt + 1) * sizeof(*v));
		if (!nv) {
			rc = SQLITE_NOMEM;
			break;
		}
		v = nv;
		snprintf(v[cnt].ss_name, sizeof(v[cnt].ss_name), "%s",
			 sqlite3_column_text(s, 0));
		snprintf(v[cnt].ss_disks, sizeof(v[cnt].ss_disks), "%s",
			 sqlite3_column_text(s, 1));
		v[cnt].ss_created = sqlite3_column_int64(s, 2);
		snprintf(v[cnt].ss_uuid, sizeof(v[cnt].ss_uuid), "%s",
			 sqlite3_column_text(s, 3));
		v[cnt].ss_creating = strcmp((const char *)sqlite3_column_text(s, 4),
					    "creating") == 0;
		snprintf(v[cnt].ss_memory, sizeof(v[cnt].ss_memory), "%s",
			 sqlite3_column_text(s, 5) ? (const char *)sqlite3_column_text(s, 5) : "");
		cnt++;
	}
	store_release(s);
	if (rc != SQLITE_DONE) {
		free(v);
		return store_fail(st, err, "list snapshots");
	}
	*out = v;
	*n = cnt;
	return 0;
}
