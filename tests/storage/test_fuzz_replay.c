/*
 * Runs the qcow2 fuzz target (tests/fuzz/fuzz_qcow2_header.c) over its seed
 * corpus and over deterministic mutations of it: hostile header fields, table
 * offsets and sizes, flipped bytes, truncation. Passing means no crash, no
 * sanitizer report (in the ASan build) and no hang.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "st_helpers.h"
#include "tests/fuzz/fuzz_qcow2_header.c"

#define CORPUS "tests/fuzz/corpus/qcow2_header"

static uint8_t *load(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)n + 1);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void put_be(uint8_t *p, uint64_t v, int w)
{
	for (int i = w - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void mutate(uint8_t *b, size_t *len, uint64_t *rs)
{
	static const uint64_t vals[] = {
		0, 1, 2, 7, 8, 9, 21, 22, 63, 64, 511, 512, 513, 0x10000, 0x7fffffff,
		0xffffffff, 0x100000000ull, 1ull << 55, 1ull << 62, 1ull << 63, ~0ull,
	};
	/* Header fields and the offsets that matter most. */
	static const int fields[][2] = {
		{ 4, 4 }, { 8, 8 }, { 16, 4 }, { 20, 4 }, { 24, 8 }, { 32, 4 }, { 36, 4 },
		{ 40, 8 }, { 48, 8 }, { 56, 4 }, { 60, 4 }, { 64, 8 }, { 72, 8 }, { 80, 8 },
		{ 88, 8 }, { 96, 4 }, { 100, 4 }, { 104, 1 }, { 112, 4 }, { 116, 4 },
	};
	int kinds = 1 + (int)(st_rand(rs) % 3);

	for (int k = 0; k < kinds; k++) {
		uint64_t r = st_rand(rs), v = vals[st_rand(rs) % (sizeof(vals) / sizeof(vals[0]))];
		size_t at;

		switch (r % 5) {
		case 0: {
			int f = (int)(st_rand(rs) % (sizeof(fields) / sizeof(fields[0])));
			put_be(b + fields[f][0], v, fields[f][1]);
			break;
		}
		case 1:   /* a field-sized value anywhere (L1/L2/refcount entries) */
			at = (size_t)(st_rand(rs) % (*len / 8)) * 8;
			put_be(b + at, st_rand(rs) % 2 ? v : st_rand(rs), 8);
			break;
		case 2:
			b[st_rand(rs) % *len] ^= (uint8_t)(1u << (st_rand(rs) % 8));
			break;
		case 3:
			b[st_rand(rs) % 512] = (uint8_t)st_rand(rs);
			break;
		default:
			if (*len > 128)
				*len = 128 + (size_t)(st_rand(rs) % (*len - 128));
			break;
		}
	}
}

static void fuzz_corpus_and_mutations_run_clean(void **state)
{
	const char *env = getenv("ST_FUZZ_ITERS");
	int iters = env ? atoi(env) : 250, files = 0, runs = 0;
	const char *seedenv = getenv("ST_SEED");
	uint64_t rs = seedenv ? strtoull(seedenv, NULL, 0) : 0xf022f022;
	struct dirent *de;
	char path[512];
	DIR *d;

	(void)state;
	d = opendir(CORPUS);
	if (!d) {
		print_message("corpus %s not found (run from the source tree)\n", CORPUS);
		skip();
	}
	while ((de = readdir(d))) {
		uint8_t *seed, *b;
		size_t len = 0, mlen;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", CORPUS, de->d_name);
		seed = load(path, &len);
		assert_non_null(seed);
		assert_true(len >= 512);
		files++;
		LLVMFuzzerTestOneInput(seed, len);
		runs++;
		b = malloc(len);
		for (int i = 0; i < iters; i++) {
			memcpy(b, seed, len);
			mlen = len;
			mutate(b, &mlen, &rs);
			LLVMFuzzerTestOneInput(b, mlen);
			runs++;
		}
		free(b);
		free(seed);
	}
	closedir(d);
	print_message("%d corpus files, %d runs\n", files, runs);
	assert_true(files >= 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fuzz_corpus_and_mutations_run_clean),
	};
	return cmocka_run_group_tests(tests, st_setup, st_teardown);
}
