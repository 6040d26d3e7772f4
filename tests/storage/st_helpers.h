/*
 * Helpers shared by the storage tests (header-only: each test is one program).
 * Temp files live under a mkdtemp directory in /tmp, removed at teardown.
 */
#ifndef ST_HELPERS_H
#define ST_HELPERS_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "storage/image.h"

static char st_dir[64];

static inline int st_setup(void **state)
{
	(void)state;
	strcpy(st_dir, "/tmp/vxstorage.XXXXXX");
	return mkdtemp(st_dir) ? 0 : -1;
}

static inline int st_teardown(void **state)
{
	char cmd[128];

	(void)state;
	if (getenv("ST_KEEP"))   /* debugging: keep the files */
		return 0;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", st_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Path of a file in the test directory (rotating static buffers). */
static inline const char *st_path(const char *name)
{
	static char bufs[8][256];
	static int i;
	char *b = bufs[i++ % 8];

	snprintf(b, 256, "%s/%s", st_dir, name);
	return b;
}

/* Runs a shell command; returns its exit status, output into out. */
static inline int st_run(char *out, size_t outlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline int st_run(char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	FILE *f;
	size_t n = 0;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	if (out && outlen) {
		n = fread(out, 1, outlen - 1, f);
		out[n] = '\0';
	} else {
		char sink[4096];
		while (fread(sink, 1, sizeof(sink), f) > 0)
			;
	}
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline int st_have_qemu_img(void)
{
	return st_run(NULL, 0, "qemu-img --version") == 0;
}

/* qemu-img check: 0 when clean (no errors, no leaks). */
static inline int st_qemu_check(const char *path, char *out, size_t outlen)
{
	return st_run(out, outlen, "qemu-img check -q '%s'", path);
}

/* Deterministic fill: byte depends on position and seed. */
static inline void st_fill(void *buf, size_t len, uint64_t off, unsigned seed)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		uint64_t x = (off + i) / 8 * 0x9e3779b97f4a7c15ull + seed * 0x1234567ull;
		p[i] = (uint8_t)((x >> 29) ^ (x >> 47) ^ (off + i));
	}
}

/* xorshift PRNG for randomized tests, seeded and printed for reproduction. */
static inline uint64_t st_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static inline int st_write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (!f)
		return -1;
	ok = fwrite(buf, 1, len, f) == len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

#define st_skip_without_qemu() do { \
	if (!st_have_qemu_img()) { \
		print_message("qemu-img not installed\n"); \
		skip(); \
	} } while (0)

#endif
