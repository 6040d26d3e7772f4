/*
 * cmd_vm: the domain verbs. Each parses its argv, builds the args object and
 * makes one call; printing is output.c's.
 */
#include "cli/ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads a whole file (or stdin for "-"), at most 1 MiB. */
static char *ctl_read_file(const char *path, const char *verb)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	size_t cap = 1 << 20, n;
	char *buf;

	if (!f) {
		fprintf(stderr, "vmctl %s: cannot open %s: %s\n", verb, path,
			strerror(errno));
		return NULL;
	}
	buf = malloc(cap + 1);
	n = buf ? fread(buf, 1, cap, f) : 0;
	if (buf && !feof(f)) {
		fprintf(stderr, "vmctl %s: %s is larger than 1 MiB\n", verb, path);
		free(buf);
		buf = NULL;
	}
	if (f != stdin)
		fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

/* argv[0] is the verb; exactly one positional argument, no other options. */
static int ctl_one_arg(int argc, char **argv, const char **arg)
{
	*arg = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			continue;
		if (argv[i][0] == '-' && argv[i][1])
			return ctl_usage_error(argv[0], "unknown option %s", argv[i]);
		if (*arg)
			return ctl_usage_error(argv[0], "too many arguments");
		*arg = argv[i];
	}
	if (!*arg)
		return ctl_usage_error(argv[0], "missing argument");
	return 0;
}

static json_object *ctl_name_args(const char *name)
{
	json_object *a = json_object_new_object();

	json_object_object_add(a, "name", json_object_new_string(name));
	return a;
}

static int ctl_xml_verb(struct ctl_opts *o, int argc, char **argv,
			const char *done)
{
	json_object *args, *res;
	const char *path;
	char *xml;
	int rc;

	if ((rc = ctl_one_arg(argc, argv, &path)))
		return rc;
	if (!(xml = ctl_read_file(path, argv[0])))
		return CTL_EXIT_USAGE;
	args = json_object_new_object();
	json_object_object_add(args, "xml", json_object_new_string(xml));
	free(xml);
	rc = ctl_call(o, argv[0], 1, args, &res);
	if (rc == 0) {
		json_object *n;

		json_object_object_get_ex(res, "name", &n);
		ctl_print_ok(o, res, "Domain '%s' %s", json_object_get_string(n), done);
	}
	json_object_put(res);
	return rc;
}

int ctl_define(struct ctl_opts *o, int argc, char **argv)
{
	return ctl_xml_verb(o, argc, argv, "defined");
}

int ctl_create(struct ctl_opts *o, int argc, char **argv)
{
	return ctl_xml_verb(o, argc, argv, "created and started");
}

/* Verbs that take a domain and answer nothing but ok. */
static int ctl_simple(struct ctl_opts *o, int argc, char **argv,
		      json_object *extra, const char *done)
{
	json_object *args, *res;
	const char *name;
	int rc;

	if ((rc = ctl_one_arg(argc, argv, &name))) {
		json_object_put(extra);
		return rc;
	}
	args = extra ? extra : json_object_new_object();
	json_object_object_add(args, "name", json_object_new_string(name));
	rc = ctl_call(o, argv[0], 1, args, &res);
	if (rc == 0)
		ctl_print_ok(o, res, "Domain '%s' %s", name, done);
	json_object_put(res);
	return rc;
}

int ctl_undefine(struct ctl_opts *o, int argc, char **argv)
{
	return ctl_simple(o, argc, argv, NULL, "undefined");
}

int ctl_start(struct ctl_opts *o, int argc, char **argv)
{
	return ctl_simple(o, argc, argv, NULL, "started");
}

int ctl_destroy(struct ctl_opts *o, int argc, char **argv)
{
	return ctl_simple(o, argc, argv, NULL, "destroyed");
}

int ctl_reboot(struct ctl_opts *o, int argc, char **argv)
{
	return ctl_simple(o, argc, argv, NULL, "is being rebooted");
}

int ctl_suspend(struct ctl_opts *o, int argc, char **argv)
{
	return ctl_simple(o, argc, argv, NULL, "suspended");
}

int ctl_resume(struct ctl_opts *o, int argc, char **argv)
{
	return ctl_simple(o, argc, argv, NULL, "resumed");
}

int ctl_shutdown(struct ctl_opts *o, int argc, char **argv)
{
	json_object *args = json_object_new_object();
	int wait = 0, timeout = 0, n = 1;
	char *rest[3] = { argv[0], NULL, NULL };

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--wait") == 0) {
			wait = 1;
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			timeout = atoi(argv[++i]);
			wait = 1;
			if (timeout <= 0) {
				json_object_put(args);
				return ctl_usage_error(argv[0], "--timeout needs seconds > 0");
			}
		} else if (n < 3) {
			rest[n++] = argv[i];
		}
	}
	if (wait) {
		/* Without --timeout, vmxd's shutdown_timeout bounds the wait. */
		json_object_object_add(args, "wait", json_object_new_boolean(1));
		if (timeout)
			json_object_object_add(args, "timeout_ms",
					       json_object_new_int64((int64_t)timeout * 1000));
		o->timeout_ms = timeout ? timeout * 1000 + 5000 : -1;
	}
	return ctl_simple(o, n, rest, args, wait ? "is shut off" :
			  "is being shut down");
}

int ctl_autostart(struct ctl_opts *o, int argc, char **argv)
{
	json_object *args = json_object_new_object();
	char *rest[3] = { argv[0], NULL, NULL };
	int on = 1, n = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--disable") == 0)
			on = 0;
		else if (n < 3)
			rest[n++] = argv[i];
	}
	json_object_object_add(args, "enable", json_object_new_boolean(on));
	return ctl_simple(o, n, rest, args, on ? "marked as autostarted" :
			  "unmarked as autostarted");
}

int ctl_list(struct ctl_opts *o, int argc, char **argv)
{
	json_object *args = json_object_new_object(), *res;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0)
			json_object_object_add(args, "all", json_object_new_boolean(1));
		else if (strcmp(argv[i], "--json") != 0) {
			json_object_put(args);
			return ctl_usage_error(argv[0], "unknown argument %s", argv[i]);
		}
	}
	/*
	 * A table needs only its columns, in the table form: the cheapest to
	 * parse. A vmxd older than it ignores "columns" and answers rows.
	 */
	if (!o->json) {
		json_object_object_add(args, "columns", ctl_list_columns());
		json_object_object_add(args, "rows", json_object_new_boolean(1));
	}
	rc = ctl_call(o, "list", 0, args, &res);
	if (rc == 0)
		ctl_print_list(o, res);
	json_object_put(res);
	return rc;
}

static int ctl_read_verb(struct ctl_opts *o, int argc, char **argv,
			 void (*print)(struct ctl_opts *, json_object *))
{
	json_object *res;
	const char *name;
	int rc;

	if ((rc = ctl_one_arg(argc, argv, &name)))
		return rc;
	rc = ctl_call(o, argv[0], 0, ctl_name_args(name), &res);
	if (rc == 0)
		print(o, res);
	json_object_put(res);
	return rc;
}

int ctl_dominfo(struct ctl_opts *o, int argc, char **argv)
{
	return ctl_read_verb(o, argc, argv, ctl_print_dominfo);
}

int ctl_dumpxml(struct ctl_opts *o, int argc, char **argv)
{
	return ctl_read_verb(o, argc, argv, ctl_print_xml);
}
