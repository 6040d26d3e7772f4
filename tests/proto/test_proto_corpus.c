/*
 * Replays the fuzz corpus (tests/fuzz/corpus/proto) through the libFuzzer
 * entry point, so every make check-unit runs the decoder on hostile input,
 * under ASan+UBSan in the sanitizer build. PROTO_CORPUS_DIR comes from the
 * build.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/fuzz/fuzz_proto.c"

#ifndef PROTO_CORPUS_DIR
#define PROTO_CORPUS_DIR "tests/fuzz/corpus/proto"
#endif

static void proto_corpus_replays_without_crash(void **state)
{
	DIR *d = opendir(PROTO_CORPUS_DIR);
	struct dirent *de;
	int files = 0;

	(void)state;
	assert_non_null(d);
	while ((de = readdir(d))) {
		char path[1024];
		uint8_t buf[65536];
		size_t n;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", PROTO_CORPUS_DIR, de->d_name);
		f = fopen(path, "rb");
		assert_non_null(f);
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
		files++;
	}
	closedir(d);
	assert_true(files >= 10);
}

static void proto_random_bytes_never_crash(void **state)
{
	uint8_t buf[512];

	(void)state;
	srand(1234);
	for (int i = 0; i < 2000; i++) {
		size_t n = (size_t)(rand() % (int)sizeof(buf));

		for (size_t j = 0; j < n; j++)
			buf[j] = (uint8_t)rand();
		if (n >= 4) { /* make the length plausible half the time */
			if (i & 1) {
				buf[0] = buf[1] = 0;
				buf[2] = (uint8_t)((n - 4) >> 8);
				buf[3] = (uint8_t)(n - 4);
			}
		}
		LLVMFuzzerTestOneInput(buf, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(proto_corpus_replays_without_crash),
		cmocka_unit_test(proto_random_bytes_never_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
