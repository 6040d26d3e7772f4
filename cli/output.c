/*
 * output: everything vmctl prints. Human form: short sentences and aligned
 * tables on stdout, errors on stderr. --json: one JSON object on stdout per
 * call, {"error":{"status":..,"message":..}} for failures.
 */
#include "cli/ctl.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int ctl_exit_for_status(enum proto_status st)
{
	switch (st) {
	case PROTO_OK:             return CTL_EXIT_OK;
	case PROTO_E_READONLY:
	case PROTO_E_DENIED:       return CTL_EXIT_DENIED;
	case PROTO_E_NOT_FOUND:    return CTL_EXIT_NOT_FOUND;
	case PROTO_E_EXISTS:       return CTL_EXIT_EXISTS;
	case PROTO_E_INVALID:
	case PROTO_E_UNSUPPORTED:  return CTL_EXIT_INVALID;
	case PROTO_E_STATE:        return CTL_EXIT_STATE;
	case PROTO_E_TIMEOUT:
	case PROTO_E_CANCELLED:    return CTL_EXIT_TIMEOUT;
	case PROTO_E_INTERNAL:     return CTL_EXIT_INTERNAL;
	default:                   return CTL_EXIT_PROTO;
	}
}

void ctl_print_json(json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
		JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
}

void ctl_print_error(struct ctl_opts *o, const char *status, const char *msg)
{
	if (o->json) {
		json_object *e = json_object_new_object(), *w = json_object_new_object();

		json_object_object_add(e, "status", json_object_new_string(status));
		json_object_object_add(e, "message", json_object_new_string(msg));
		json_object_object_add(w, "error", e);
		ctl_print_json(w);
		json_object_put(w);
		return;
	}
	fprintf(stderr, "vmctl: error: %s\n", msg);
}

void ctl_print_ok(struct ctl_opts *o, json_object *result, const char *fmt, ...)
{
	va_list ap;

	if (o->json) {
		json_object *empty = result ? NULL : json_object_new_object();

		ctl_print_json(result ? result : empty);
		json_object_put(empty);
		return;
	}
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static const char *ctl_str(json_object *o, const char *key)
{
	json_object *v;

	if (o && json_object_object_get_ex(o, key, &v) && v)
		return json_object_get_string(v);
	return "-";
}

/* Index of column name in list's rows form, or -1. */
static int ctl_column(json_object *cols, const char *name)
{
	size_t n = cols ? json_object_array_length(cols) : 0;

	for (size_t i = 0; i < n; i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(cols, i)),
			   name) == 0)
			return (int)i;
	return -1;
}

/*
 * list's answer in any of its forms (PROTOCOL.md): the table (an array per
 * column, what vmctl asks for), rows (from a vmxd before the table) or
 * objects (from a vmxd before rows).
 */
struct ctl_list {
	json_object *table;   /* {column: [values]}, or NULL */
	json_object *rows;    /* rows or objects (the table's first column) */
	json_object *cols;    /* the rows form's column names */
};

static size_t ctl_list_open(struct ctl_list *l, json_object *result,
			    const char *first)
{
	memset(l, 0, sizeof(*l));
	if (json_object_object_get_ex(result, "table", &l->table) && l->table)
		json_object_object_get_ex(l->table, first, &l->rows);
	else if (!json_object_object_get_ex(result, "rows", &l->rows))
		json_object_object_get_ex(result, "domains", &l->rows);
	json_object_object_get_ex(result, "columns", &l->cols);
	return json_object_is_type(l->rows, json_type_array) ?
	       json_object_array_length(l->rows) : 0;
}

/* A column of a list's answer, found once: by name, array or index. */
struct ctl_list_col {
	const char *name;
	json_object *values;  /* the table form's array for it */
	int idx;              /* its index in the rows form, or -1 */
};

static void ctl_list_col(const struct ctl_list *l, const char *name,
			 struct ctl_list_col *c)
{
	c->name = name;
	c->values = NULL;
	c->idx = ctl_column(l->cols, name);
	if (l->table)
		json_object_object_get_ex(l->table, name, &c->values);
}

/* Domain i's value of column c, or NULL. */
static json_object *ctl_list_cell_obj(const struct ctl_list *l, size_t i,
				      const struct ctl_list_col *c)
{
	json_object *row, *v = NULL;

	if (l->table)
		return c->values ? json_object_array_get_idx(c->values, i) : NULL;
	row = json_object_array_get_idx(l->rows, i);
	if (json_object_is_type(row, json_type_object))
		json_object_object_get_ex(row, c->name, &v);
	else if (c->idx >= 0)
		v = json_object_array_get_idx(row, (size_t)c->idx);
	return v;
}

static const char *ctl_list_cell(const struct ctl_list *l, size_t i,
				 const struct ctl_list_col *c)
{
	json_object *v = ctl_list_cell_obj(l, i, c);

	return v ? json_object_get_string(v) : "-";
}

/* The columns vmctl's table shows, as list's "columns" argument. */
json_object *ctl_list_columns(void)
{
	static const char *const show[] = { "name", "state", "type", "autostart", "uuid" };
	json_object *a = json_object_new_array_ext(5);

	for (size_t i = 0; i < sizeof(show) / sizeof(show[0]); i++)
		json_object_array_add(a, json_object_new_string(show[i]));
	return a;
}

/* Appends s padded with spaces to width (at least one space after it). */
static char *ctl_put_cell(char *p, const char *s, size_t width)
{
	size_t l = strlen(s);

	memcpy(p, s, l);
	if (l < width) {
		memset(p + l, ' ', width - l);
		l = width;
	}
	p[l] = ' ';
	return p + l + 1;
}

/*
 * --json: the objects form, as vmxd sent it. A table: from the table form
 * (see ctl_list), or what an older vmxd sends instead.
 * Each line is laid out by hand and goes to stdout's buffer with one fwrite
 * (with 1,000 domains, formatting by printf was a tenth of vmctl list's
 * time); one line's buffer, not the table's: fresh pages cost more than
 * the copy.
 */
void ctl_print_list(struct ctl_opts *o, json_object *result)
{
	enum { NAME, STATE, TYPE, AUTOSTART, UUID, NCOL };
	static const char *const want[NCOL] = { "name", "state", "type", "autostart", "uuid" };
	static const size_t width[NCOL] = { 0, 9, 5, 9, 0 };
	struct ctl_list l;
	struct ctl_list_col col[NCOL];
	size_t n, w = 4, line = 0;
	char small[512], *buf, *p;

	if (o->json) {
		ctl_print_json(result);
		return;
	}
	n = ctl_list_open(&l, result, want[NAME]);
	for (int c = 0; c < NCOL; c++)
		ctl_list_col(&l, want[c], &col[c]);
	/* Widest name and widest whole line (cells of any length fit). */
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(ctl_list_cell(&l, i, &col[NAME]));
		size_t all = nl + strlen(ctl_list_cell(&l, i, &col[STATE])) +
			     strlen(ctl_list_cell(&l, i, &col[TYPE])) +
			     strlen(ctl_list_cell(&l, i, &col[UUID]));

		if (nl > w)
			w = nl;
		if (all > line)
			line = all;
	}
	printf(" %-*s  %-9s %-5s %-9s %s\n", (int)w, "Name", "State", "Type",
	       "Autostart", "UUID");
	printf("%.*s\n", (int)w + 68,
	       "--------------------------------------------------------------------"
	       "--------------------------------------------------------------------");
	/* The longest line: its cells, paddings (w + 9 + 5 + 9), separators. */
	line += w + 9 + 5 + 9 + 8;
	buf = line <= sizeof(small) ? small : malloc(line);
	if (!buf) {
		fprintf(stderr, "vmctl: out of memory\n");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *a = ctl_list_cell_obj(&l, i, &col[AUTOSTART]);
		const char *uuid = ctl_list_cell(&l, i, &col[UUID]);
		size_t ul = strlen(uuid);

		p = buf;
		*p++ = ' ';
		p = ctl_put_cell(p, ctl_list_cell(&l, i, &col[NAME]), w);
		*p++ = ' ';
		p = ctl_put_cell(p, ctl_list_cell(&l, i, &col[STATE]),
				 width[STATE]);
		p = ctl_put_cell(p, ctl_list_cell(&l, i, &col[TYPE]),
				 width[TYPE]);
		p = ctl_put_cell(p, json_object_get_boolean(a) ? "yes" : "no",
				 width[AUTOSTART]);
		memcpy(p, uuid, ul);
		p += ul;
		*p++ = '\n';
		fwrite(buf, 1, (size_t)(p - buf), stdout);
	}
	if (buf != small)
		free(buf);
}

void ctl_print_dominfo(struct ctl_opts *o, json_object *result)
{
	static const struct { const char *key, *label; } rows[] = {
		{ "name", "Name" }, { "uuid", "UUID" }, { "type", "Type" },
		{ "state", "State" }, { "reason", "Reason" }, { "vcpu", "CPU(s)" },
		{ "memory_kib", "Memory (KiB)" }, { "persistent", "Persistent" },
		{ "autostart", "Autostart" }, { "pid", "Runner pid" },
	};

	if (o->json) {
		ctl_print_json(result);
		return;
	}
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		json_object *v = NULL;
		const char *s = ctl_str(result, rows[i].key);

		json_object_object_get_ex(result, rows[i].key, &v);
		if (v && json_object_is_type(v, json_type_boolean))
			s = json_object_get_boolean(v) ? "yes" : "no";
		printf("%-14s %s\n", rows[i].label, s);
	}
}

void ctl_print_xml(struct ctl_opts *o, json_object *result)
{
	const char *x = ctl_str(result, "xml");

	if (o->json) {
		ctl_print_json(result);
		return;
	}
	fputs(x, stdout);
	if (*x && x[strlen(x) - 1] != '\n')
		putchar('\n');
}

void ctl_print_jobs(struct ctl_opts *o, json_object *result)
{
	json_object *arr = NULL;
	size_t n;

	if (o->json) {
		ctl_print_json(result);
		return;
	}
	json_object_object_get_ex(result, "jobs", &arr);
	n = arr ? json_object_array_length(arr) : 0;
	printf(" %-5s %-12s %-12s %8s  %s\n", "Id", "Kind", "State", "Progress", "Detail");
	printf("%.*s\n", 60, "------------------------------------------------------------");
	for (size_t i = 0; i < n; i++) {
		json_object *j = json_object_array_get_idx(arr, i);
		const char *e = ctl_str(j, "error");

		printf(" %-5s %-12s %-12s %7s%%  %s\n", ctl_str(j, "id"), ctl_str(j, "kind"),
		       ctl_str(j, "state"), ctl_str(j, "progress"),
		       *e && strcmp(e, "-") ? e : ctl_str(j, "arg"));
	}
}

void ctl_progress(struct ctl_opts *o, const char *what, int percent, int done)
{
	char bar[41];
	int fill = percent * 40 / 100;

	if (o->json || !isatty(STDERR_FILENO))
		return;
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, '.', (size_t)(40 - fill));
	bar[40] = '\0';
	fprintf(stderr, "\r%s [%s] %3d%%", what, bar, percent);
	if (done)
		fputc('\n', stderr);
	fflush(stderr);
}

/* "64 MiB" for humans; exact bytes are in --json. */
const char *ctl_size(int64_t n, char buf[32])
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)n;
	int u = 0;

	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	snprintf(buf, 32, u ? "%.1f %s" : "%.0f %s", d, unit[u]);
	return buf;
}

static int64_t ctl_int(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static const char *ctl_time(int64_t t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm) || !strftime(buf, 32, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, 32, "%" PRId64, t);
	return buf;
}

void ctl_print_disk_info(struct ctl_opts *o, json_object *result)
{
	json_object *a = NULL;
	char b1[32], b2[32];
	size_t n;

	if (o->json) {
		ctl_print_json(result);
		return;
	}
	printf("%-14s %s\n", "Image", ctl_str(result, "path"));
	printf("%-14s %s\n", "Format", ctl_str(result, "format"));
	printf("%-14s %s (%" PRId64 " bytes)\n", "Virtual size",
	       ctl_size(ctl_int(result, "virtual_size"), b1), ctl_int(result, "virtual_size"));
	printf("%-14s %s\n", "Allocated", ctl_size(ctl_int(result, "allocated"), b2));
	json_object_object_get_ex(result, "backing_chain", &a);
	n = a ? json_object_array_length(a) : 0;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i);

		printf("%-14s %s (%s)\n", i ? "" : "Backing chain", ctl_str(e, "file"),
		       ctl_str(e, "format"));
	}
	a = NULL;
	json_object_object_get_ex(result, "snapshots", &a);
	n = a ? json_object_array_length(a) : 0;
	if (n) {
		printf("Snapshots:\n %-4s %-24s %-19s %s\n", "Id", "Name", "Date", "Size");
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(a, i);

			printf(" %-4s %-24s %-19s %s\n", ctl_str(e, "id"), ctl_str(e, "name"),
			       ctl_time(ctl_int(e, "date"), b1),
			       ctl_size(ctl_int(e, "disk_size"), b2));
		}
	}
	a = NULL;
	json_object_object_get_ex(result, "bitmaps", &a);
	n = a ? json_object_array_length(a) : 0;
	if (n) {
		printf("Bitmaps:\n %-24s %-12s %s\n", "Name", "Granularity", "Flags");
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(a, i), *v = NULL;
			int en, inc;

			json_object_object_get_ex(e, "enabled", &v);
			en = json_object_get_boolean(v);
			json_object_object_get_ex(e, "inconsistent", &v);
			inc = json_object_get_boolean(v);
			printf(" %-24s %-12s %s%s\n", ctl_str(e, "name"),
			       ctl_size(ctl_int(e, "granularity"), b1),
			       en ? "auto" : "disabled", inc ? " in-use(inconsistent)" : "");
		}
	}
}

void ctl_print_snapshots(struct ctl_opts *o, json_object *result)
{
	json_object *a = NULL;
	char b[32];
	size_t n;

	if (o->json) {
		ctl_print_json(result);
		return;
	}
	json_object_object_get_ex(result, "snapshots", &a);
	n = a ? json_object_array_length(a) : 0;
	printf(" %-24s %-19s %-6s %s\n", "Name", "Creation Time", "Memory", "Disks");
	printf("%.*s\n", 67, "-------------------------------------------------------------------");
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i);
		json_object *m = NULL;

		json_object_object_get_ex(e, "memory", &m);
		printf(" %-24s %-19s %-6s %s\n", ctl_str(e, "name"),
		       ctl_time(ctl_int(e, "created"), b),
		       m && json_object_get_boolean(m) ? "yes" : "no", ctl_str(e, "disks"));
	}
}

void ctl_print_backups(struct ctl_opts *o, json_object *result)
{
	json_object *a = NULL;
	char b1[32], b2[32];
	size_t n;

	if (o->json) {
		ctl_print_json(result);
		return;
	}
	json_object_object_get_ex(result, "backups", &a);
	n = a ? json_object_array_length(a) : 0;
	printf(" %-40s %-20s %-11s %-19s %s\n", "Id", "Disk", "Type", "Time", "Size");
	printf("%.*s\n", 104, "----------------------------------------------------"
	       "----------------------------------------------------");
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i);

		printf(" %-40s %-20s %-11s %-19s %s\n", ctl_str(e, "id"), ctl_str(e, "disk"),
		       ctl_str(e, "type"), ctl_time(ctl_int(e, "time"), b1),
		       ctl_size(ctl_int(e, "disk_size"), b2));
	}
}
