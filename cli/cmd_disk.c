/*
 * cmd_disk: vmctl disk create|info|convert. vmxd opens the images (it holds
 * the image locks); paths are made absolute here because vmxd's working
 * directory is not ours. convert is a job: its progress is followed.
 */
#include "cli/ctl.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ctl_abspath(const char *in, char *out, size_t len)
{
	char cwd[4096];

	if (in[0] == '/')
		return snprintf(out, len, "%s", in) < (int)len ? 0 : -1;
	if (!getcwd(cwd, sizeof(cwd)))
		return -1;
	return snprintf(out, len, "%s/%s", cwd, in) < (int)len ? 0 : -1;
}

/* N[K|M|G|T] (also KiB, MiB...; powers of 1024) into bytes; -1 when bad. */
static int ctl_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long n;
	int shift = 0;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: return -1;
	}
	if (shift && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0))
		end += strlen(end);
	if (*end || n > (unsigned long long)(INT64_MAX >> shift))
		return -1;
	*out = (uint64_t)n << shift;
	return 0;
}

static int ctl_format_ok(const char *f)
{
	return strcmp(f, "raw") == 0 || strcmp(f, "qcow2") == 0;
}

static int ctl_disk_create(struct ctl_opts *o, int argc, char **argv)
{
	const char *path = NULL, *fmt = NULL, *size = NULL, *backing = NULL;
	char abs[4096];
	json_object *args, *res;
	uint64_t bytes = 0;
	int rc;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			continue;
		if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
			fmt = argv[++i];
		else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
			size = argv[++i];
		else if (strcmp(argv[i], "--backing") == 0 && i + 1 < argc)
			backing = argv[++i];
		else if (argv[i][0] == '-')
			return ctl_usage_error("disk", "unknown option %s", argv[i]);
		else if (!path)
			path = argv[i];
		else
			return ctl_usage_error("disk", "too many arguments");
	}
	if (!path)
		return ctl_usage_error("disk", "create: missing PATH");
	if (!fmt)
		fmt = "qcow2";
	if (!ctl_format_ok(fmt))
		return ctl_usage_error("disk", "format '%s' unknown: use raw or qcow2", fmt);
	if (!size && !backing)
		return ctl_usage_error("disk", "create: --size missing");
	if (size && (ctl_parse_size(size, &bytes) < 0 || bytes == 0))
		return ctl_usage_error("disk", "bad size '%s' (N[K|M|G|T])", size);
	if (ctl_abspath(path, abs, sizeof(abs)) < 0)
		return ctl_usage_error("disk", "path too long");
	args = json_object_new_object();
	json_object_object_add(args, "path", json_object_new_string(abs));
	json_object_object_add(args, "format", json_object_new_string(fmt));
	if (bytes)
		json_object_object_add(args, "size", json_object_new_int64((int64_t)bytes));
	/* Stored as given: a relative backing name resolves against the image. */
	if (backing)
		json_object_object_add(args, "backing", json_object_new_string(backing));
	rc = ctl_call(o, "disk-create", 1, args, &res);
	if (rc == 0)
		ctl_print_ok(o, res, "Disk %s created (%s)", abs, fmt);
	json_object_put(res);
	return rc;
}

static int ctl_disk_info(struct ctl_opts *o, int argc, char **argv)
{
	const char *path = NULL;
	char abs[4096];
	json_object *args, *res;
	int rc;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			continue;
		if (argv[i][0] == '-')
			return ctl_usage_error("disk", "unknown option %s", argv[i]);
		if (path)
			return ctl_usage_error("disk", "too many arguments");
		path = argv[i];
	}
	if (!path)
		return ctl_usage_error("disk", "info: missing PATH");
	if (ctl_abspath(path, abs, sizeof(abs)) < 0)
		return ctl_usage_error("disk", "path too long");
	args = json_object_new_object();
	json_object_object_add(args, "path", json_object_new_string(abs));
	rc = ctl_call(o, "disk-info", 1, args, &res);
	if (rc == 0)
		ctl_print_disk_info(o, res);
	json_object_put(res);
	return rc;
}

static int ctl_disk_convert(struct ctl_opts *o, int argc, char **argv)
{
	const char *src = NULL, *dst = NULL, *fmt = NULL;
	char asrc[4096], adst[4096];
	json_object *args, *done;
	int rc, detach = 0;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			continue;
		if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
			fmt = argv[++i];
		else if (strcmp(argv[i], "--detach") == 0)
			detach = 1;
		else if (argv[i][0] == '-')
			return ctl_usage_error("disk", "unknown option %s", argv[i]);
		else if (!src)
			src = argv[i];
		else if (!dst)
			dst = argv[i];
		else
			return ctl_usage_error("disk", "too many arguments");
	}
	if (!src || !dst)
		return ctl_usage_error("disk", "convert: needs SRC and DST");
	if (!fmt)
		return ctl_usage_error("disk", "convert: --format missing");
	if (!ctl_format_ok(fmt))
		return ctl_usage_error("disk", "format '%s' unknown: use raw or qcow2", fmt);
	if (ctl_abspath(src, asrc, sizeof(asrc)) < 0 ||
	    ctl_abspath(dst, adst, sizeof(adst)) < 0)
		return ctl_usage_error("disk", "path too long");
	args = json_object_new_object();
	json_object_object_add(args, "src", json_object_new_string(asrc));
	json_object_object_add(args, "dst", json_object_new_string(adst));
	json_object_object_add(args, "format", json_object_new_string(fmt));
	rc = ctl_job_run(o, "disk-convert", args, !detach, &done);
	if (rc == 0 && done)
		ctl_print_ok(o, done, "Disk %s converted to %s (%s)", asrc, adst, fmt);
	json_object_put(done);
	return rc;
}

/* The sub-verbs of "disk", a table like the verbs'. */
static const struct {
	const char *name;
	int (*fn)(struct ctl_opts *o, int argc, char **argv);
} ctl_disk_verbs[] = {
	{ "create", ctl_disk_create },
	{ "info", ctl_disk_info },
	{ "convert", ctl_disk_convert },
};

int ctl_disk(struct ctl_opts *o, int argc, char **argv)
{
	if (argc < 2)
		return ctl_usage_error("disk", "missing sub-verb (create, info, convert)");
	for (size_t i = 0; i < sizeof(ctl_disk_verbs) / sizeof(ctl_disk_verbs[0]); i++)
		if (strcmp(argv[1], ctl_disk_verbs[i].name) == 0)
			return ctl_disk_verbs[i].fn(o, argc, argv);
	return ctl_usage_error("disk", "unknown sub-verb '%s'", argv[1]);
}
