/*
 * tap.h: the few TAP lines in-lab test programs print (see README.md for the
 * protocol the host-side judge reads). Header-only; one test program per
 * process, so the counter is a plain static.
 */
#ifndef VMX_LAB_TAP_H
#define VMX_LAB_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_count;
static int tap_failed;

static inline void tap_plan(int n)
{
	printf("1..%d\n", n);
	fflush(stdout);
}

/* Prints "ok N - name" or "not ok N - name: why" and returns cond. */
static inline int __attribute__((format(printf, 3, 4)))
tap_check(int cond, const char *name, const char *why_fmt, ...)
{
	va_list ap;

	tap_count++;
	printf("%sok %d - %s", cond ? "" : "not ", tap_count, name);
	if (!cond) {
		tap_failed++;
		printf(": ");
		va_start(ap, why_fmt);
		vprintf(why_fmt, ap);
		va_end(ap);
	}
	printf("\n");
	fflush(stdout);
	return cond;
}

static inline void tap_skip(const char *name, const char *why)
{
	tap_count++;
	printf("ok %d - %s # SKIP %s\n", tap_count, name, why);
	fflush(stdout);
}

#define tap_eq_u64(name, got, want)                                          \
	tap_check((unsigned long long)(got) == (unsigned long long)(want), name, \
		  "got %#llx, want %#llx", (unsigned long long)(got),        \
		  (unsigned long long)(want))

#endif
