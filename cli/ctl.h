/*
 * vmctl: the command line client of vmxd. Verbs are a table (main.c); each
 * handler parses its argv and makes one call through ctl_call; output.c
 * prints human tables or --json. Context: single-threaded, short-lived.
 */
#ifndef CTL_H
#define CTL_H

#include <json-c/json.h>

#include "proto/proto.h"

/* Exit codes (documented in vmctl.8 and PROTOCOL.md). */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_USAGE = 1,
	CTL_EXIT_PROTO = 2,
	CTL_EXIT_CONNECT = 3,
	CTL_EXIT_DENIED = 4,
	CTL_EXIT_NOT_FOUND = 5,
	CTL_EXIT_EXISTS = 6,
	CTL_EXIT_INVALID = 7,
	CTL_EXIT_STATE = 8,
	CTL_EXIT_TIMEOUT = 9,
	CTL_EXIT_INTERNAL = 10,
};

struct ctl_opts {
	const char *socket;     /* explicit -c path, or NULL */
	const char *socket_ro;  /* read-only socket path */
	int readonly;           /* -r: use the read-only socket */
	int json;               /* --json */
	int timeout_ms;         /* per call */
};

struct ctl_verb {
	const char *cv_name;
	int (*cv_fn)(struct ctl_opts *o, int argc, char **argv);
	int cv_write;           /* needs the read-write socket */
	const char *cv_usage;
	const char *cv_help;
};

/* main.c */
extern const struct ctl_verb ctl_verbs[];
int ctl_usage_error(const char *verb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * main.c: connects (hello included), sends verb with args (owned), waits for
 * the response. On success *result holds the result object (may be NULL; put
 * it when done). Returns an exit code; errors are printed by output.c.
 */
int ctl_call(struct ctl_opts *o, const char *verb, int write, json_object *args,
	     json_object **result);

/* main.c: a connected, hello'd fd, or -exit code (error printed). */
int ctl_connect(struct ctl_opts *o, int write, struct proto_rbuf *rb);
/* One call on an open connection; events meanwhile are dropped. */
int ctl_call_fd(struct ctl_opts *o, int fd, struct proto_rbuf *rb,
		uint64_t id, const char *verb, json_object *args,
		json_object **result);

/* output.c: the columns vmctl's table shows, as list's "columns" argument. */
json_object *ctl_list_columns(void);

/* cmd_job.c */
int ctl_job_list(struct ctl_opts *o, int argc, char **argv);
int ctl_job_start(struct ctl_opts *o, int argc, char **argv);
int ctl_job_cancel(struct ctl_opts *o, int argc, char **argv);
/*
 * Starts a job of kind with args (owned). wait: follow its progress (a bar on
 * a terminal) to the end; done (may be NULL) then gets the job-done event of
 * a successful job instead of it being printed. Returns an exit code.
 */
int ctl_job_run(struct ctl_opts *o, const char *kind, json_object *args,
		int wait, json_object **done);

/* cmd_disk.c */
int ctl_disk(struct ctl_opts *o, int argc, char **argv);
/* An absolute path for vmxd (whose cwd is not ours); 0 or -1 (too long). */
int ctl_abspath(const char *in, char *out, size_t len);

/* cmd_snapshot.c */
int ctl_snapshot_create(struct ctl_opts *o, int argc, char **argv);
int ctl_snapshot_list(struct ctl_opts *o, int argc, char **argv);
int ctl_snapshot_revert(struct ctl_opts *o, int argc, char **argv);
int ctl_snapshot_delete(struct ctl_opts *o, int argc, char **argv);

/* cmd_console.c */
int ctl_console(struct ctl_opts *o, int argc, char **argv);

/* cmd_backup.c */
int ctl_backup(struct ctl_opts *o, int argc, char **argv);
int ctl_backup_list(struct ctl_opts *o, int argc, char **argv);
int ctl_verify(struct ctl_opts *o, int argc, char **argv);
int ctl_restore(struct ctl_opts *o, int argc, char **argv);
int ctl_backup_prune(struct ctl_opts *o, int argc, char **argv);
int ctl_backup_gc(struct ctl_opts *o, int argc, char **argv);

/* cmd_vm.c */
int ctl_define(struct ctl_opts *o, int argc, char **argv);
int ctl_undefine(struct ctl_opts *o, int argc, char **argv);
int ctl_create(struct ctl_opts *o, int argc, char **argv);
int ctl_start(struct ctl_opts *o, int argc, char **argv);
int ctl_shutdown(struct ctl_opts *o, int argc, char **argv);
int ctl_destroy(struct ctl_opts *o, int argc, char **argv);
int ctl_reboot(struct ctl_opts *o, int argc, char **argv);
int ctl_suspend(struct ctl_opts *o, int argc, char **argv);
int ctl_resume(struct ctl_opts *o, int argc, char **argv);
int ctl_autostart(struct ctl_opts *o, int argc, char **argv);
int ctl_list(struct ctl_opts *o, int argc, char **argv);
int ctl_dominfo(struct ctl_opts *o, int argc, char **argv);
int ctl_dumpxml(struct ctl_opts *o, int argc, char **argv);

/* output.c */
void ctl_print_error(struct ctl_opts *o, const char *status, const char *msg);
void ctl_print_ok(struct ctl_opts *o, json_object *result, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ctl_print_list(struct ctl_opts *o, json_object *result);
void ctl_print_dominfo(struct ctl_opts *o, json_object *result);
void ctl_print_xml(struct ctl_opts *o, json_object *result);
int ctl_exit_for_status(enum proto_status st);
void ctl_print_jobs(struct ctl_opts *o, json_object *result);
void ctl_print_json(json_object *o);
void ctl_print_disk_info(struct ctl_opts *o, json_object *result);
void ctl_print_snapshots(struct ctl_opts *o, json_object *result);
void ctl_print_backups(struct ctl_opts *o, json_object *result);
/* "64 MiB" for humans (buf holds it). */
const char *ctl_size(int64_t n, char buf[32]);
/* A progress bar on a terminal (stderr), nothing otherwise; done ends it. */
void ctl_progress(struct ctl_opts *o, const char *what, int percent, int done);

#endif
