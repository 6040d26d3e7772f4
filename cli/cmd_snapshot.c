/*
 * cmd_snapshot: internal snapshots of a stopped domain's qcow2 disks, and
 * snapshots with memory of a running one (snapshot-create/list/revert/delete
 * DOMAIN [NAME]). create and revert run as vmxd jobs (daemon/snapjob.c):
 * vmctl follows them with a progress bar on a terminal, or leaves them
 * running with --detach.
 */
#include "cli/ctl.h"

#include <stdio.h>
#include <string.h>

/* Positional arguments: exactly want of them (argv[0] is the verb);
 * detach NULL: --detach is not an option of the verb. */
static int ctl_positional(int argc, char **argv, const char **pos, int want, int *detach)
{
	int n = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			continue;
		if (detach && strcmp(argv[i], "--detach") == 0) {
			*detach = 1;
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1])
			return ctl_usage_error(argv[0], "unknown option %s", argv[i]);
		if (n == want)
			return ctl_usage_error(argv[0], "too many arguments");
		pos[n++] = argv[i];
	}
	if (n < want)
		return ctl_usage_error(argv[0], "missing argument");
	return 0;
}

/* snapshot-create and -revert: the job of that kind, waited for unless detached. */
static int ctl_snapshot_job(struct ctl_opts *o, int argc, char **argv,
			    const char *kind, const char *what)
{
	const char *pos[2];
	json_object *args, *done = NULL, *res = NULL, *id = NULL;
	int rc, detach = 0;

	if ((rc = ctl_positional(argc, argv, pos, 2, &detach)) != 0)
		return rc;
	args = json_object_new_object();
	json_object_object_add(args, "name", json_object_new_string(pos[0]));
	json_object_object_add(args, "snapshot", json_object_new_string(pos[1]));
	rc = ctl_job_run(o, kind, args, !detach, &done);
	if (rc == 0 && done) {
		/* --json: what the synchronous verb answered, and the job's id. */
		if (json_object_object_get_ex(done, "result", &res) && res)
			res = json_object_get(res);
		else
			res = json_object_new_object();
		if (json_object_object_get_ex(done, "id", &id))
			json_object_object_add(res, "job", json_object_get(id));
		ctl_print_ok(o, res, "Domain '%s': snapshot '%s' %s", pos[0], pos[1], what);
		json_object_put(res);
	}
	json_object_put(done);
	return rc;
}

static int ctl_snapshot_verb(struct ctl_opts *o, int argc, char **argv,
			     const char *verb, const char *done)
{
	const char *pos[2];
	json_object *args, *res;
	int rc;

	if ((rc = ctl_positional(argc, argv, pos, 2, NULL)) != 0)
		return rc;
	args = json_object_new_object();
	json_object_object_add(args, "name", json_object_new_string(pos[0]));
	json_object_object_add(args, "snapshot", json_object_new_string(pos[1]));
	rc = ctl_call(o, verb, 1, args, &res);
	if (rc == 0)
		ctl_print_ok(o, res, "Domain '%s': snapshot '%s' %s", pos[0], pos[1], done);
	json_object_put(res);
	return rc;
}

int ctl_snapshot_create(struct ctl_opts *o, int argc, char **argv)
{
	return ctl_snapshot_job(o, argc, argv, "snapshot-create", "created");
}

int ctl_snapshot_revert(struct ctl_opts *o, int argc, char **argv)
{
	return ctl_snapshot_job(o, argc, argv, "snapshot-revert", "reverted to");
}

int ctl_snapshot_delete(struct ctl_opts *o, int argc, char **argv)
{
	return ctl_snapshot_verb(o, argc, argv, "snapshot-delete", "deleted");
}

int ctl_snapshot_list(struct ctl_opts *o, int argc, char **argv)
{
	const char *pos[1];
	json_object *args, *res;
	int rc;

	if ((rc = ctl_positional(argc, argv, pos, 1, NULL)) != 0)
		return rc;
	args = json_object_new_object();
	json_object_object_add(args, "name", json_object_new_string(pos[0]));
	rc = ctl_call(o, "snapshot-list", 0, args, &res);
	if (rc == 0)
		ctl_print_snapshots(o, res);
	json_object_put(res);
	return rc;
}
