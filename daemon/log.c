/*
 * log: messages with syslog priorities. Under systemd (JOURNAL_STREAM set)
 * each line carries the "<N>" prefix journald turns into a priority;
 * otherwise "vmxd: level: message" on stderr. Context: loop thread.
 */
#include "daemon/vmxd.h"

#include <stdarg.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int log_level = 6;
static int log_journal;

void vmxd_log_init(int level, int to_journal)
{
	log_level = level;
	log_journal = to_journal || getenv("JOURNAL_STREAM") != NULL;
}

void vmxd_log(int prio, const char *fmt, ...)
{
	static const char *const names[] = { "emerg", "alert", "crit", "error",
		"warning", "notice", "info", "debug" };
	va_list ap;

	if (prio > log_level)
		return;
	if (log_journal)
		fprintf(stderr, "<%d>", prio);
	else
		fprintf(stderr, "vmxd: %s: ", names[prio & 7]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void vmxd_test_crash(const char *point)
{
	const char *v = getenv("VMXD_TEST_CRASH");

	if (v && strcmp(v, point) == 0)
		kill(getpid(), SIGKILL);
}
