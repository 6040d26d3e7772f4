/* judge: see judge.h. Host side, plain C, unit-tested in tests/vmx/test_judge.c. */
#include "judge.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define LAB_MAX_SUITES 64

struct lab_suite {
	const char *name;
	bool started, ended, xfail;
	int plan, results, failures, rc;
};

struct lab_state {
	struct lab_suite suites[LAB_MAX_SUITES];
	size_t n;
	struct lab_suite *current;
	bool booted;		/* "LAB: booted" seen: the kernel is up, init runs */
	bool done;
	int kernel_problems;
	int boot_warnings;	/* before init: the emulated CPU model, not us */
	struct lab_counts *counts;
	FILE *report;
};

/* Kernel messages that mean the host kernel is no longer trustworthy. */
static const char *const kernel_problem_markers[] = {
	"Kernel panic", "BUG:", "Oops", "WARNING: CPU", "Call Trace:",
	"general protection fault", "kernel BUG at", "double fault",
	"RCU detected stall", "soft lockup", "hard LOCKUP", "blocked for more than",
};

/*
 * A nested guest's console, which a suite may show after a failure, is
 * prefixed "# guest| ": its kernel's warnings are the guest's business
 * (its suite judges the guest), not a problem of the lab's kernel.
 */
#define LAB_GUEST_PREFIX "# guest| "

static bool lab_is_kernel_problem(const char *line)
{
	if (!strncmp(line, LAB_GUEST_PREFIX, strlen(LAB_GUEST_PREFIX)))
		return false;
	for (size_t i = 0; i < sizeof(kernel_problem_markers) / sizeof(*kernel_problem_markers); i++)
		if (strstr(line, kernel_problem_markers[i]))
			return true;
	return false;
}

static struct lab_suite *lab_find(struct lab_state *st, const char *name)
{
	for (size_t i = 0; i < st->n; i++)
		if (!strcmp(st->suites[i].name, name))
			return &st->suites[i];
	return NULL;
}

static void lab_fail(struct lab_state *st, const char *what, const char *why)
{
	st->counts->failed++;
	fprintf(st->report, "FAIL %s: %s\n", what, why);
}

/*
 * A suite name is [A-Za-z0-9_-]+. The kernel console writes to the same
 * serial port without regard for lines, so "LAB: suite NAME" may arrive as
 * "LAB: suite NAME[    4.63] vmxcore: ...": the name ends where its
 * characters do, and anything after it but a space-separated flag is noise.
 */
static char *lab_take_name(char *args, char **rest)
{
	size_t n = strspn(args, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");

	*rest = args + n;
	if (**rest == ' ' || **rest == '\t') {
		**rest = '\0';
		(*rest)++;
	} else if (**rest) {
		**rest = '\0';
		*rest = "";	/* interleaved kernel text: no flag to read */
	}
	return n ? args : NULL;
}

static void lab_suite_start(struct lab_state *st, char *args)
{
	char *rest;
	char *name = lab_take_name(args, &rest);
	char *flag = strtok(rest, " \t");
	struct lab_suite *s = name ? lab_find(st, name) : NULL;

	if (!s) {
		fprintf(st->report, "FAIL lab: unexpected suite '%s'\n", name ? name : "");
		st->counts->failed++;
		st->current = NULL;
		return;
	}
	s->started = true;
	s->xfail = flag && !strcmp(flag, "xfail");
	st->current = s;
}

static void lab_suite_end(struct lab_state *st, char *args)
{
	char *rest;
	char *name = lab_take_name(args, &rest);
	char *rc = strtok(rest, " \t");
	struct lab_suite *s = name ? lab_find(st, name) : NULL;

	if (s) {
		s->ended = true;
		s->rc = (rc && !strncmp(rc, "rc=", 3)) ? atoi(rc + 3) : -1;
	}
	st->current = NULL;
}

static void lab_result(struct lab_state *st, const char *line, bool ok)
{
	struct lab_suite *s = st->current;
	const char *desc = strstr(line, " - ");
	bool skip = ok && (strstr(line, "# SKIP") || strstr(line, "# skip"));
	char what[256];

	desc = desc ? desc + 3 : line;
	s->results++;
	if (!ok)
		s->failures++;
	if (s->xfail)
		return;	/* judged as a whole in lab_finish_suite */
	if (skip) {
		st->counts->skipped++;
		fprintf(st->report, "SKIP %s/%s\n", s->name, desc);
	} else if (ok) {
		st->counts->passed++;
		fprintf(st->report, "PASS %s/%s\n", s->name, desc);
	} else {
		snprintf(what, sizeof(what), "%s/%.*s", s->name,
			 (int)strcspn(desc, ":"), desc);
		lab_fail(st, what, strchr(desc, ':') ? strchr(desc, ':') + 2 : "failed");
	}
}

static void lab_line(struct lab_state *st, char *line)
{
	line[strcspn(line, "\r\n")] = '\0';
	if (lab_is_kernel_problem(line)) {
		if (st->booted) {
			st->kernel_problems++;
			fprintf(st->report, "FAIL kernel: %s\n", line);
		} else {
			st->boot_warnings++;
		}
		return;
	}
	if (!strncmp(line, "LAB: booted", 11))
		st->booted = true;
	else if (!strncmp(line, "LAB: suite ", 11))
		lab_suite_start(st, line + 11);
	else if (!strncmp(line, "LAB: suite-end ", 15))
		lab_suite_end(st, line + 15);
	else if (!strncmp(line, "LAB: done", 9))
		st->done = true;
	else if (!st->current)
		return;
	else if (!strncmp(line, "1..", 3))
		st->current->plan = atoi(line + 3);
	else if (!strncmp(line, "ok ", 3))
		lab_result(st, line, true);
	else if (!strncmp(line, "not ok ", 7))
		lab_result(st, line, false);
}

static void lab_finish_suite(struct lab_state *st, struct lab_suite *s)
{
	char why[160];

	if (!s->started) {
		lab_fail(st, s->name, "suite never started");
		return;
	}
	if (s->xfail) {
		if (s->failures > 0 || s->rc != 0) {
			st->counts->passed++;
			fprintf(st->report, "PASS %s (negative control: the lab saw its %d failure(s))\n",
				s->name, s->failures);
		} else {
			lab_fail(st, s->name, "negative control passed: this lab cannot see failures");
		}
		return;
	}
	if (!s->ended) {
		lab_fail(st, s->name, "suite never ended (hang, crash or timeout)");
	} else if (s->plan == 0) {
		lab_fail(st, s->name, "no plan printed");
	} else if (s->results != s->plan) {
		/* More results than planned is a miscounted plan: it hides skipped tests too. */
		snprintf(why, sizeof(why), "planned %d tests, %d reported", s->plan, s->results);
		lab_fail(st, s->name, why);
	} else if (s->rc != 0 && s->failures == 0) {
		snprintf(why, sizeof(why), "exited with rc=%d without a failing test", s->rc);
		lab_fail(st, s->name, why);
	}
}

int lab_judge(FILE *serial, const char *const *suites, size_t nsuites, FILE *report,
	      struct lab_counts *counts)
{
	struct lab_state *st = calloc(1, sizeof(*st));
	char line[4096];
	int failed;

	if (!st)
		return 1;
	memset(counts, 0, sizeof(*counts));
	st->counts = counts;
	st->report = report;
	for (size_t i = 0; i < nsuites && i < LAB_MAX_SUITES; i++)
		st->suites[st->n++].name = suites[i];

	while (fgets(line, sizeof(line), serial))
		lab_line(st, line);

	for (size_t i = 0; i < st->n; i++)
		lab_finish_suite(st, &st->suites[i]);
	if (st->kernel_problems)
		counts->failed++;
	if (st->boot_warnings)
		fprintf(report, "NOTE kernel: %d warning line(s) while booting, before any test "
			"(Bochs' CPU model; see the serial log)\n", st->boot_warnings);
	if (!st->done)
		lab_fail(st, "lab", "no 'LAB: done' line (guest hung, crashed or timed out)");
	failed = counts->failed > 0;
	free(st);
	return failed;
}
