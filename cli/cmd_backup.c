/*
 * cmd_backup: backup (a job per domain), backup-list, and the jobs verify,
 * restore, backup-prune and backup-gc against a backup repository
 * directory. Jobs are followed to their end (a progress bar on a terminal)
 * unless --detach.
 */
#include "cli/ctl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctl_bk_args {
	const char *repo;
	const char *format;
	const char *mode;
	const char *keep, *disk;   /* backup-prune */
	int detach;
	const char *pos[3];
	int npos;
};

/* --repo DIR, --format F, --full/--incremental, --detach and positionals. */
static int ctl_bk_parse(int argc, char **argv, struct ctl_bk_args *a, int min,
			int max)
{
	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			continue;
		if (strcmp(argv[i], "--repo") == 0 && i + 1 < argc)
			a->repo = argv[++i];
		else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc &&
			 strcmp(argv[0], "restore") == 0)
			a->format = argv[++i];
		else if ((strcmp(argv[i], "--full") == 0 ||
			  strcmp(argv[i], "--incremental") == 0) &&
			 strcmp(argv[0], "backup") == 0)
			a->mode = argv[i] + 2;
		else if (strcmp(argv[i], "--keep") == 0 && i + 1 < argc &&
			 strcmp(argv[0], "backup-prune") == 0)
			a->keep = argv[++i];
		else if (strcmp(argv[i], "--disk") == 0 && i + 1 < argc &&
			 strcmp(argv[0], "backup-prune") == 0)
			a->disk = argv[++i];
		else if (strcmp(argv[i], "--detach") == 0 && strcmp(argv[0], "backup-list") != 0)
			a->detach = 1;
		else if (argv[i][0] == '-' && argv[i][1])
			return ctl_usage_error(argv[0], "unknown option %s", argv[i]);
		else if (a->npos == max)
			return ctl_usage_error(argv[0], "too many arguments");
		else
			a->pos[a->npos++] = argv[i];
	}
	if (!a->repo)
		return ctl_usage_error(argv[0], "--repo DIR missing");
	if (a->npos < min)
		return ctl_usage_error(argv[0], "missing argument");
	if (a->format && strcmp(a->format, "raw") != 0 && strcmp(a->format, "qcow2") != 0)
		return ctl_usage_error(argv[0], "format '%s' unknown: use raw or qcow2",
				       a->format);
	return 0;
}

static json_object *ctl_repo_args(const char *verb, const char *repo)
{
	char abs[4096];
	json_object *args;

	if (ctl_abspath(repo, abs, sizeof(abs)) < 0) {
		ctl_usage_error(verb, "path too long");
		return NULL;
	}
	args = json_object_new_object();
	json_object_object_add(args, "repo", json_object_new_string(abs));
	return args;
}

int ctl_backup(struct ctl_opts *o, int argc, char **argv)
{
	struct ctl_bk_args a;
	json_object *args, *done;
	int rc;

	if ((rc = ctl_bk_parse(argc, argv, &a, 1, 1)) != 0)
		return rc;
	if (!(args = ctl_repo_args(argv[0], a.repo)))
		return CTL_EXIT_USAGE;
	json_object_object_add(args, "name", json_object_new_string(a.pos[0]));
	json_object_object_add(args, "mode", json_object_new_string(a.mode ? a.mode : "auto"));
	rc = ctl_job_run(o, "backup", args, !a.detach, &done);
	if (rc == 0 && done) {
		json_object *v = NULL;
		const char *arg;

		/* arg: "<domain> <repo> <id>...": the ids are what a human wants. */
		json_object_object_get_ex(done, "arg", &v);
		arg = v ? json_object_get_string(v) : "";
		if (strchr(arg, ' ') && strchr(strchr(arg, ' ') + 1, ' '))
			arg = strchr(strchr(arg, ' ') + 1, ' ') + 1;
		ctl_print_ok(o, done, "Backup of '%s' done: %s", a.pos[0], arg);
	}
	json_object_put(done);
	return rc;
}

int ctl_backup_list(struct ctl_opts *o, int argc, char **argv)
{
	struct ctl_bk_args a;
	json_object *args, *res;
	int rc;

	if ((rc = ctl_bk_parse(argc, argv, &a, 0, 1)) != 0)
		return rc;
	if (!(args = ctl_repo_args(argv[0], a.repo)))
		return CTL_EXIT_USAGE;
	if (a.npos)
		json_object_object_add(args, "domain", json_object_new_string(a.pos[0]));
	rc = ctl_call(o, "backup-list", 1, args, &res);
	if (rc == 0)
		ctl_print_backups(o, res);
	json_object_put(res);
	return rc;
}

int ctl_verify(struct ctl_opts *o, int argc, char **argv)
{
	struct ctl_bk_args a;
	json_object *args, *done;
	int rc;

	if ((rc = ctl_bk_parse(argc, argv, &a, 1, 1)) != 0)
		return rc;
	if (!(args = ctl_repo_args(argv[0], a.repo)))
		return CTL_EXIT_USAGE;
	json_object_object_add(args, "id", json_object_new_string(a.pos[0]));
	rc = ctl_job_run(o, "verify", args, !a.detach, &done);
	if (rc == 0 && done)
		ctl_print_ok(o, done, "Backup %s verified: every chunk re-read and "
			     "re-hashed", a.pos[0]);
	json_object_put(done);
	return rc;
}

int ctl_restore(struct ctl_opts *o, int argc, char **argv)
{
	struct ctl_bk_args a;
	json_object *args, *done;
	char dest[4096];
	int rc;

	if ((rc = ctl_bk_parse(argc, argv, &a, 2, 2)) != 0)
		return rc;
	if (ctl_abspath(a.pos[1], dest, sizeof(dest)) < 0)
		return ctl_usage_error(argv[0], "path too long");
	if (!(args = ctl_repo_args(argv[0], a.repo)))
		return CTL_EXIT_USAGE;
	json_object_object_add(args, "id", json_object_new_string(a.pos[0]));
	json_object_object_add(args, "path", json_object_new_string(dest));
	json_object_object_add(args, "format",
			       json_object_new_string(a.format ? a.format : "qcow2"));
	rc = ctl_job_run(o, "restore", args, !a.detach, &done);
	if (rc == 0 && done)
		ctl_print_ok(o, done, "Backup %s restored to %s (%s)", a.pos[0], dest,
			     a.format ? a.format : "qcow2");
	json_object_put(done);
	return rc;
}

/* --keep N: a whole number of at least 1 (keeping none is not retention). */
static int ctl_keep(const char *verb, const char *s, long *keep)
{
	char *end;

	if (!s)
		return ctl_usage_error(verb, "--keep N missing: how many of each "
				       "disk's newest backups to keep");
	*keep = strtol(s, &end, 10);
	if (!*s || *end || *keep < 1 || *keep > 1000000)
		return ctl_usage_error(verb, "--keep must be a whole number, 1 or more "
				       "(got '%s')", s);
	return 0;
}

/* The result of a prune or gc job: what it freed. */
static int64_t ctl_freed(json_object *done, const char *key)
{
	json_object *r, *v;

	if (done && json_object_object_get_ex(done, "result", &r) &&
	    json_object_object_get_ex(r, key, &v))
		return json_object_get_int64(v);
	return 0;
}

int ctl_backup_prune(struct ctl_opts *o, int argc, char **argv)
{
	struct ctl_bk_args a;
	json_object *args, *done;
	char sz[32];
	long keep = 0;
	int rc;

	if ((rc = ctl_bk_parse(argc, argv, &a, 0, 0)) != 0 ||
	    (rc = ctl_keep(argv[0], a.keep, &keep)) != 0)
		return rc;
	if (!(args = ctl_repo_args(argv[0], a.repo)))
		return CTL_EXIT_USAGE;
	json_object_object_add(args, "keep", json_object_new_int64(keep));
	if (a.disk)
		json_object_object_add(args, "disk", json_object_new_string(a.disk));
	rc = ctl_job_run(o, "backup-prune", args, !a.detach, &done);
	if (rc == 0 && done) {
		int64_t nb = ctl_freed(done, "backups"), nc = ctl_freed(done, "chunks");

		ctl_print_ok(o, done, "Pruned %s to the newest %ld backup%s %s%s: %" PRId64
			     " backup%s deleted, %" PRId64 " chunk%s (%s, %" PRId64
			     " bytes) freed", a.repo, keep, keep == 1 ? "" : "s",
			     a.disk ? "of " : "per disk", a.disk ? a.disk : "", nb,
			     nb == 1 ? "" : "s", nc, nc == 1 ? "" : "s",
			     ctl_size(ctl_freed(done, "bytes"), sz), ctl_freed(done, "bytes"));
	}
	json_object_put(done);
	return rc;
}

int ctl_backup_gc(struct ctl_opts *o, int argc, char **argv)
{
	struct ctl_bk_args a;
	json_object *args, *done;
	char sz[32];
	int rc;

	if ((rc = ctl_bk_parse(argc, argv, &a, 0, 0)) != 0)
		return rc;
	if (!(args = ctl_repo_args(argv[0], a.repo)))
		return CTL_EXIT_USAGE;
	rc = ctl_job_run(o, "backup-gc", args, !a.detach, &done);
	if (rc == 0 && done) {
		int64_t nc = ctl_freed(done, "chunks");

		ctl_print_ok(o, done, "Collected %s: %" PRId64 " chunk%s (%s, %" PRId64
			     " bytes) freed", a.repo, nc, nc == 1 ? "" : "s",
			     ctl_size(ctl_freed(done, "bytes"), sz), ctl_freed(done, "bytes"));
	}
	json_object_put(done);
	return rc;
}
