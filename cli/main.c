/*
 * vmctl main: global options, the verb table, the connection to vmxd.
 * Context: single-threaded, short-lived.
 */
#include "cli/ctl.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CTL_DEFAULT_SOCKET    "/run/vmxd/vmxd.sock"
#define CTL_DEFAULT_SOCKET_RO "/run/vmxd/vmxd-ro.sock"

/* The verb table; usage() and bash completion are printed from it. */
const struct ctl_verb ctl_verbs[] = {
	{ "define",    ctl_define,    1, "FILE", "define a domain from libvirt XML (or update it)" },
	{ "undefine",  ctl_undefine,  1, "DOMAIN", "remove a domain's definition" },
	{ "create",    ctl_create,    1, "FILE", "create and start a transient domain" },
	{ "start",     ctl_start,     1, "DOMAIN", "start a defined domain" },
	{ "shutdown",  ctl_shutdown,  1, "DOMAIN [--wait] [--timeout SEC]", "ask the guest to power off" },
	{ "destroy",   ctl_destroy,   1, "DOMAIN", "stop a domain at once" },
	{ "reboot",    ctl_reboot,    1, "DOMAIN", "reboot a domain" },
	{ "suspend",   ctl_suspend,   1, "DOMAIN", "pause a domain's vCPUs" },
	{ "resume",    ctl_resume,    1, "DOMAIN", "continue a paused domain" },
	{ "autostart", ctl_autostart, 1, "DOMAIN [--disable]", "start the domain when vmxd starts" },
	{ "list",      ctl_list,      0, "[--all]", "list active (or all) domains" },
	{ "dominfo",   ctl_dominfo,   0, "DOMAIN", "show a domain's facts" },
	{ "dumpxml",   ctl_dumpxml,   0, "DOMAIN", "print a domain's XML" },
	{ "console",   ctl_console,   1, "DOMAIN [--force|--show-log] [--timeout S]", "attach to the serial console (^] detaches)" },
	{ "job-list",  ctl_job_list,  0, "", "list jobs (long operations)" },
	{ "job-start", ctl_job_start, 1, "KIND [KEY=VALUE...] [--wait]", "start a job" },
	{ "job-cancel", ctl_job_cancel, 1, "ID", "cancel a running job" },
	{ "disk",      ctl_disk,      1, "create|info|convert ...", "disk images (see vmctl.8)" },
	{ "snapshot-create", ctl_snapshot_create, 1, "DOMAIN NAME [--detach]", "snapshot a domain's qcow2 disks (and memory when running)" },
	{ "snapshot-list", ctl_snapshot_list, 0, "DOMAIN", "list a domain's snapshots" },
	{ "snapshot-revert", ctl_snapshot_revert, 1, "DOMAIN NAME [--detach]", "revert a domain's disks (and memory when running)" },
	{ "snapshot-delete", ctl_snapshot_delete, 1, "DOMAIN NAME", "delete a snapshot" },
	{ "backup",    ctl_backup,    1, "DOMAIN --repo DIR [--full|--incremental]", "back a stopped domain's disks up" },
	{ "backup-list", ctl_backup_list, 1, "--repo DIR [DOMAIN]", "list the backups in a repository" },
	{ "verify",    ctl_verify,    1, "--repo DIR BACKUP_ID", "re-read and re-hash a backup" },
	{ "restore",   ctl_restore,   1, "--repo DIR BACKUP_ID DEST [--format F]", "restore a backup to a new image" },
	{ "backup-prune", ctl_backup_prune, 1, "--repo DIR --keep N [--disk NAME]", "keep each disk's newest N backups, gc the rest" },
	{ "backup-gc", ctl_backup_gc, 1, "--repo DIR", "free chunks no backup references" },
	{ NULL, NULL, 0, NULL, NULL },
};

static const char *ctl_verb_name;

static void usage(FILE *out)
{
	fprintf(out, "usage: vmctl [-c SOCKET] [-r] [--json] [-t SEC] VERB [ARGS]\n\nverbs:\n");
	for (const struct ctl_verb *v = ctl_verbs; v->cv_name; v++)
		fprintf(out, "  %-15s %-41s %s\n", v->cv_name, v->cv_usage, v->cv_help);
	fprintf(out, "\nexit codes: 0 ok, 1 usage, 2 protocol, 3 cannot connect, "
		"4 denied/read-only,\n5 not found, 6 exists, 7 invalid/unsupported, "
		"8 wrong state, 9 timeout, 10 internal\n");
}

int ctl_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vmctl %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	for (const struct ctl_verb *v = ctl_verbs; v->cv_name; v++)
		if (strcmp(v->cv_name, verb) == 0)
			fprintf(stderr, "usage: vmctl %s %s\n", v->cv_name, v->cv_usage);
	return CTL_EXIT_USAGE;
}

/* A connected socket to the right vmxd socket, or -exit code (printed). */
static int ctl_open(struct ctl_opts *o, int write)
{
	struct vx_err err;
	const char *path;
	int fd;

	if (o->socket)
		path = o->socket;
	else if (o->readonly || (!write && access(CTL_DEFAULT_SOCKET, W_OK) < 0))
		path = o->socket_ro;
	else
		path = CTL_DEFAULT_SOCKET;
	if (o->socket && o->readonly)
		path = o->socket_ro;
	fd = proto_connect_unix(path, &err);
	if (fd < 0) {
		ctl_print_error(o, "connect", err.msg);
		return -CTL_EXIT_CONNECT;
	}
	return fd;
}

int ctl_connect(struct ctl_opts *o, int write, struct proto_rbuf *rb)
{
	struct vx_err err;
	int fd, rc;

	if ((fd = ctl_open(o, write)) < 0)
		return fd;
	proto_rbuf_init(rb);
	rc = proto_client_hello(fd, rb, "vmctl", NULL, o->timeout_ms, &err);
	if (rc < 0) {
		close(fd);
		proto_rbuf_free(rb);
		ctl_print_error(o, "protocol", err.msg);
		return rc == -EACCES ? -CTL_EXIT_DENIED : -CTL_EXIT_PROTO;
	}
	return fd;
}

/*
 * An answer's exit code: the call's failure (rc < 0: a timeout, a refusal
 * of our hello, anything else is the protocol), or the response's status;
 * printed unless ok, when *result takes the response's body.
 */
static int ctl_answer(struct ctl_opts *o, int rc, struct proto_msg *resp,
		      const struct vx_err *err, json_object **result)
{
	int ex;

	if (rc < 0) {
		ctl_print_error(o, rc == -ETIMEDOUT ? "timeout" : "protocol", err->msg);
		return rc == -ETIMEDOUT ? CTL_EXIT_TIMEOUT :
		       rc == -EACCES ? CTL_EXIT_DENIED : CTL_EXIT_PROTO;
	}
	if (resp->pm_status != PROTO_OK) {
		ctl_print_error(o, proto_status_name(resp->pm_status), resp->pm_error);
		ex = ctl_exit_for_status(resp->pm_status);
		proto_msg_clear(resp);
		return ex;
	}
	*result = resp->pm_body;
	return CTL_EXIT_OK;
}

int ctl_call_fd(struct ctl_opts *o, int fd, struct proto_rbuf *rb,
		uint64_t id, const char *verb, json_object *args,
		json_object **result)
{
	struct proto_msg resp;
	struct vx_err err;
	int rc;

	*result = NULL;
	rc = proto_call(fd, rb, id, verb, args, &resp, o->timeout_ms, &err);
	return ctl_answer(o, rc, &resp, &err, result);
}

/* One call on a connection of its own: hello and request go together. */
int ctl_call(struct ctl_opts *o, const char *verb, int write, json_object *args,
	     json_object **result)
{
	struct proto_rbuf rb;
	struct proto_msg resp;
	struct vx_err err;
	int fd, rc;

	*result = NULL;
	fd = ctl_open(o, write);
	if (fd < 0) {
		json_object_put(args);
		return -fd;
	}
	proto_rbuf_init(&rb);
	rc = proto_hello_call(fd, &rb, "vmctl", 1, verb, args, &resp,
			      o->timeout_ms, &err);
	close(fd);
	proto_rbuf_free(&rb);
	return ctl_answer(o, rc, &resp, &err, result);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "readonly", no_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_opts o;
	const char *env;
	int ch;

	memset(&o, 0, sizeof(o));
	o.socket_ro = CTL_DEFAULT_SOCKET_RO;
	o.timeout_ms = 120000;
	if ((env = getenv("VMCTL_SOCKET")) && *env)
		o.socket = env;
	if ((env = getenv("VMCTL_SOCKET_RO")) && *env)
		o.socket_ro = env;
	/* '+': stop at the verb; its options belong to it. */
	while ((ch = getopt_long(argc, argv, "+c:rjt:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o.socket = optarg; break;
		case 'r': o.readonly = 1; break;
		case 'j': o.json = 1; break;
		case 't': o.timeout_ms = atoi(optarg) * 1000; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (const struct ctl_verb *v = ctl_verbs; v->cv_name; v++)
		if (strcmp(v->cv_name, argv[optind]) == 0) {
			ctl_verb_name = v->cv_name;
			/* Verb-local options (--json accepted after the verb too). */
			for (int i = optind + 1; i < argc; i++)
				if (strcmp(argv[i], "--json") == 0)
					o.json = 1;
			return v->cv_fn(&o, argc - optind, argv + optind);
		}
	fprintf(stderr, "vmctl: unknown verb '%s'\n", argv[optind]);
	usage(stderr);
	return CTL_EXIT_USAGE;
}
