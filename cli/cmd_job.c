/*
 * cmd_job: jobs, vmxd's long operations. job-start --wait follows the
 * job's events, drawing a progress bar when stderr is a terminal.
 */
#include "cli/ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ctl_job_list(struct ctl_opts *o, int argc, char **argv)
{
	json_object *res;
	int rc;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--json") != 0)
			return ctl_usage_error(argv[0], "unknown argument %s", argv[i]);
	rc = ctl_call(o, "job-list", 0, NULL, &res);
	if (rc == 0)
		ctl_print_jobs(o, res);
	json_object_put(res);
	return rc;
}

int ctl_job_cancel(struct ctl_opts *o, int argc, char **argv)
{
	json_object *args, *res;
	char *end;
	long long id;
	int rc;

	if (argc < 2)
		return ctl_usage_error(argv[0], "missing job id");
	id = strtoll(argv[1], &end, 10);
	if (*end || id <= 0)
		return ctl_usage_error(argv[0], "bad job id '%s'", argv[1]);
	args = json_object_new_object();
	json_object_object_add(args, "id", json_object_new_int64(id));
	rc = ctl_call(o, "job-cancel", 1, args, &res);
	if (rc == 0)
		ctl_print_ok(o, res, "Job %lld cancelled", id);
	json_object_put(res);
	return rc;
}

/* KEY=VALUE: a number when the value is all digits, else a string. */
static int ctl_job_arg(json_object *args, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char key[64];
	char *end;
	long long n;

	if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof(key))
		return -1;
	snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
	n = strtoll(eq + 1, &end, 10);
	if (eq[1] && !*end)
		json_object_object_add(args, key, json_object_new_int64(n));
	else
		json_object_object_add(args, key, json_object_new_string(eq + 1));
	return 0;
}

/*
 * Follows job id's events until job-done; returns the exit code. With done,
 * a successful job's event is handed over (*done) instead of printed.
 */
static int ctl_job_wait(struct ctl_opts *o, int fd, struct proto_rbuf *rb,
			int64_t id, const char *kind, json_object **done)
{
	struct proto_msg m;
	struct vx_err err;
	json_object *v;

	for (;;) {
		if (proto_recv_fd(fd, rb, &m, -1, &err) < 0) {
			ctl_print_error(o, "protocol", err.msg);
			return CTL_EXIT_PROTO;
		}
		if (m.pm_type != PROTO_EVENT || !m.pm_body ||
		    !json_object_object_get_ex(m.pm_body, "id", &v) ||
		    json_object_get_int64(v) != id) {
			proto_msg_clear(&m);
			continue;
		}
		json_object_object_get_ex(m.pm_body, "progress", &v);
		if (strcmp(m.pm_name, "job-progress") == 0) {
			ctl_progress(o, kind, json_object_get_int(v), 0);
		} else if (strcmp(m.pm_name, "job-done") == 0) {
			json_object *st = NULL, *e = NULL;
			int ok;

			json_object_object_get_ex(m.pm_body, "state", &st);
			json_object_object_get_ex(m.pm_body, "error", &e);
			ok = st && strcmp(json_object_get_string(st), "done") == 0;
			ctl_progress(o, kind, json_object_get_int(v), 1);
			if (ok && done)
				*done = json_object_get(m.pm_body);
			else if (ok)
				ctl_print_ok(o, m.pm_body, "Job %lld done", (long long)id);
			else
				ctl_print_error(o, st ? json_object_get_string(st) : "failed",
						e ? json_object_get_string(e) : "job failed");
			proto_msg_clear(&m);
			return ok ? CTL_EXIT_OK : CTL_EXIT_TIMEOUT;
		}
		proto_msg_clear(&m);
	}
}

int ctl_job_run(struct ctl_opts *o, const char *kind, json_object *args,
		int wait, json_object **done)
{
	json_object *res;
	struct proto_rbuf rb;
	int fd, rc;
	int64_t id;

	if (done)
		*done = NULL;
	json_object_object_add(args, "kind", json_object_new_string(kind));
	fd = ctl_connect(o, 1, &rb);
	if (fd < 0) {
		json_object_put(args);
		return -fd;
	}
	/* Subscribe first so no event of the new job can be missed. */
	if (wait && (rc = ctl_call_fd(o, fd, &rb, 1, "subscribe", NULL, &res)) != 0) {
		json_object_put(args);
		goto out;
	}
	json_object_put(wait ? res : NULL);
	rc = ctl_call_fd(o, fd, &rb, 2, "job-start", args, &res);
	if (rc != 0)
		goto out;
	id = json_object_get_int64(json_object_object_get(res, "id"));
	if (!wait)
		ctl_print_ok(o, res, "Job %lld started", (long long)id);
	json_object_put(res);
	if (wait)
		rc = ctl_job_wait(o, fd, &rb, id, kind, done);
out:
	close(fd);
	proto_rbuf_free(&rb);
	return rc;
}

int ctl_job_start(struct ctl_opts *o, int argc, char **argv)
{
	json_object *args;
	int wait = 0;
	const char *kind = NULL;

	args = json_object_new_object();
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--wait") == 0)
			wait = 1;
		else if (strcmp(argv[i], "--json") == 0)
			continue;
		else if (!kind && !strchr(argv[i], '='))
			kind = argv[i];
		else if (ctl_job_arg(args, argv[i]) < 0) {
			json_object_put(args);
			return ctl_usage_error(argv[0], "expected KEY=VALUE, got '%s'", argv[i]);
		}
	}
	if (!kind) {
		json_object_put(args);
		return ctl_usage_error(argv[0], "missing job kind");
	}
	return ctl_job_run(o, kind, args, wait, NULL);
}
