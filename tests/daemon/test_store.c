/* Unit tests for daemon/store.c: schema, transactions, constraints. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "daemon/store.h"

struct fixture {
	char dir[64];
	char db[128];
	struct store *st;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct vx_err err;

	snprintf(f->dir, sizeof(f->dir), "/tmp/vmxd-store-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/vmxd.db", f->dir);
	if (store_open(f->db, &f->st, &err) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];

	store_close(f->st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static struct xml_domain *dom(const char *name, const char *uuid, int ndisks)
{
	char xml[2048];
	size_t n;
	struct xml_domain *d;
	struct vx_err err;

	n = (size_t)snprintf(xml, sizeof(xml), "<domain type='test'><name>%s</name>"
			     "<uuid>%s</uuid><memory>1024</memory><devices>", name, uuid);
	for (int i = 0; i < ndisks; i++)
		n += (size_t)snprintf(xml + n, sizeof(xml) - n,
				      "<disk type='file'><source file='/d%d'/>"
				      "<target dev='vd%c'/></disk>", i, 'a' + i);
	snprintf(xml + n, sizeof(xml) - n, "</devices></domain>");
	if (xml_domain_parse(xml, strlen(xml), &d, &err) < 0)
		fail_msg("%s", err.msg);
	return d;
}

#define U1 "11111111-1111-4111-8111-111111111111"
#define U2 "22222222-2222-4222-8222-222222222222"

static int count(struct fixture *f, const char *table)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	char sql[64];
	int n = -1;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

static void store_open_creates_schema_in_wal_mode(void **state)
{
	struct fixture *f = *state;
	char wal[160];

	assert_int_equal(store_schema_version(f->st), STORE_SCHEMA_VERSION);
	assert_int_equal(store_integrity_check(f->st, NULL), 0);
	snprintf(wal, sizeof(wal), "%s-wal", f->db);
	assert_int_equal(access(wal, F_OK), 0);
}

static void store_define_get_list_undefine(void **state)
{
	struct fixture *f = *state;
	struct xml_domain *d = dom("a", U1, 2);
	struct store_domain sd, *v;
	struct vx_err err;
	size_t n;
	int created;

	assert_int_equal(store_domain_define(f->st, d, "<x/>", 1, &created, &err), 0);
	assert_int_equal(created, 1);
	assert_int_equal(store_domain_get(f->st, "a", &sd, &err), 0);
	assert_string_equal(sd.sd_uuid, U1);
	assert_string_equal(sd.sd_state, "shutoff");
	assert_string_equal(sd.sd_xml, "<x/>");
	store_domain_clear(&sd);
	assert_int_equal(store_domain_get(f->st, U1, &sd, &err), 0);
	store_domain_clear(&sd);
	assert_int_equal(count(f, "disks"), 2);
	/* Same name and uuid: an update, devices replaced. */
	xml_domain_free(d);
	d = dom("a", U1, 1);
	assert_int_equal(store_domain_define(f->st, d, "<y/>", 1, &created, &err), 0);
	assert_int_equal(created, 0);
	assert_int_equal(count(f, "disks"), 1);
	assert_int_equal(store_domain_list(f->st, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	store_domain_list_free(v, n);
	assert_int_equal(store_domain_undefine(f->st, U1, &err), 0);
	/* Foreign keys cascade: no orphan disks. */
	assert_int_equal(count(f, "disks"), 0);
	assert_int_equal(store_domain_get(f->st, "a", &sd, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "domain 'a' not found"));
	xml_domain_free(d);
}

static void store_define_name_or_uuid_conflict(void **state)
{
	struct fixture *f = *state;
	struct xml_domain *a = dom("a", U1, 0), *b = dom("a", U2, 0), *c = dom("c", U1, 0);
	struct vx_err err;

	assert_int_equal(store_domain_define(f->st, a, "<a/>", 1, NULL, &err), 0);
	assert_int_equal(store_domain_define(f->st, b, "<b/>", 1, NULL, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "domain 'a' already exists with uuid " U1));
	assert_int_equal(store_domain_define(f->st, c, "<c/>", 1, NULL, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "already exists as 'a'"));
	assert_int_equal(count(f, "domains"), 1);
	xml_domain_free(a);
	xml_domain_free(b);
	xml_domain_free(c);
}

static void store_state_and_autostart_persist_across_reopen(void **state)
{
	struct fixture *f = *state;
	struct xml_domain *a = dom("a", U1, 0);
	struct store_domain sd;
	struct vx_err err;

	assert_int_equal(store_domain_define(f->st, a, "<a/>", 1, NULL, &err), 0);
	assert_int_equal(store_domain_set_state(f->st, U1, "running", "booted", 42, &err), 0);
	assert_int_equal(store_domain_set_autostart(f->st, U1, 1, &err), 0);
	assert_int_equal(store_domain_set_state(f->st, U2, "running", "x", 1, &err), -ENOENT);
	store_close(f->st);
	assert_int_equal(store_open(f->db, &f->st, &err), 0);
	assert_int_equal(store_domain_get(f->st, "a", &sd, &err), 0);
	assert_string_equal(sd.sd_state, "running");
	assert_int_equal(sd.sd_pid, 42);
	assert_int_equal(sd.sd_autostart, 1);
	store_domain_clear(&sd);
	xml_domain_free(a);
}

static void store_refuses_newer_schema(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	struct vx_err err;
	sqlite3 *db;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(f->db, &st, &err), -EPROTONOSUPPORT);
	assert_non_null(strstr(err.msg, "schema version 99"));
}

static void store_refuses_corrupt_file(void **state)
{
	struct fixture *f = *state;
	char path[160];
	struct store *st;
	struct vx_err err;
	FILE *fp;

	(void)state;
	snprintf(path, sizeof(path), "%s/garbage.db", f->dir);
	fp = fopen(path, "w");
	for (int i = 0; i < 4096; i++)
		fputc(i * 7, fp);
	fclose(fp);
	assert_true(store_open(path, &st, &err) < 0);
	assert_non_null(strstr(err.msg, "store:"));
}

static void store_migrates_version_1_to_current(void **state)
{
	struct fixture *f = *state;
	struct vx_err err;
	sqlite3 *db;
	int64_t id;

	store_close(f->st);
	/* Turn the fresh database back into a version 1 one. */
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE snapshots;"
		"ALTER TABLE jobs DROP COLUMN arg;"
		"ALTER TABLE jobs DROP COLUMN error;"
		"ALTER TABLE jobs DROP COLUMN finished_at;"
		"PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(f->db, &f->st, &err), 0);
	assert_int_equal(store_schema_version(f->st), STORE_SCHEMA_VERSION);
	assert_int_equal(store_job_create(f->st, "test-fill", NULL, "/x", &id, &err), 0);
	assert_int_equal(store_job_update(f->st, id, "done", 100, NULL, &err), 0);
	/* 2 -> 3 made the snapshots table. */
	assert_int_equal(count(f, "snapshots"), 0);
}

static void store_snapshots_add_get_list_delete_cascade(void **state)
{
	struct fixture *f = *state;
	struct xml_domain *d = dom("a", U1, 2);
	struct store_snapshot *v;
	struct vx_err err;
	char disks[64];
	size_t n;

	assert_int_equal(store_domain_define(f->st, d, "<x/>", 1, NULL, &err), 0);
	assert_int_equal(store_snapshot_add(f->st, U1, "s1", "vda,vdb", 0, &err), 0);
	assert_int_equal(store_snapshot_add(f->st, U1, "s2", "vda", 1, &err), 0);
	assert_int_equal(store_snapshot_add(f->st, U1, "s1", "vda", 0, &err), -EEXIST);
	assert_int_equal(store_snapshot_get(f->st, U1, "s1", disks, sizeof(disks), &err), 0);
	assert_string_equal(disks, "vda,vdb");
	assert_int_equal(store_snapshot_get(f->st, U1, "nope", NULL, 0, &err), -ENOENT);
	assert_int_equal(store_snapshot_list(f->st, U1, &v, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].ss_name, "s1");
	assert_string_equal(v[1].ss_disks, "vda");
	assert_false(v[0].ss_creating);
	assert_true(v[1].ss_creating);
	free(v);
	/* NULL: every snapshot still being created, of any domain. */
	assert_int_equal(store_snapshot_list(f->st, NULL, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].ss_uuid, U1);
	free(v);
	assert_int_equal(store_snapshot_done(f->st, U1, "s2", "vda,vdb", &err), 0);
	assert_int_equal(store_snapshot_list(f->st, NULL, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	free(v);
	assert_int_equal(store_snapshot_del(f->st, U1, "s1", &err), 0);
	assert_int_equal(count(f, "snapshots"), 1);
	/* Undefining the domain takes its snapshot records along. */
	assert_int_equal(store_domain_undefine(f->st, U1, &err), 0);
	assert_int_equal(count(f, "snapshots"), 0);
	xml_domain_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(store_open_creates_schema_in_wal_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(store_define_get_list_undefine, setup, teardown),
		cmocka_unit_test_setup_teardown(store_define_name_or_uuid_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(store_state_and_autostart_persist_across_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(store_refuses_newer_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(store_migrates_version_1_to_current, setup, teardown),
		cmocka_unit_test_setup_teardown(store_snapshots_add_get_list_delete_cascade, setup, teardown),
		cmocka_unit_test_setup_teardown(store_refuses_corrupt_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
