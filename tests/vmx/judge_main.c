/*
 * lab-judge SERIAL_LOG COUNTS_FILE SUITE...
 * Judges one lab boot (judge.h), prints PASS/FAIL lines and a closing
 * "vmx-lab: N passed, N failed, N skipped", writes the counts for
 * tests/tap-total.sh. Exit status 0 only when everything passed.
 */
#include <stdio.h>

#include "judge.h"

int main(int argc, char **argv)
{
	struct lab_counts c;
	FILE *serial, *out;
	int ret;

	if (argc < 3) {
		fprintf(stderr, "usage: lab-judge SERIAL_LOG COUNTS_FILE SUITE...\n");
		return 2;
	}
	serial = fopen(argv[1], "r");
	if (!serial) {
		perror(argv[1]);
		return 2;
	}
	ret = lab_judge(serial, (const char *const *)argv + 3, (size_t)(argc - 3), stdout, &c);
	fclose(serial);
	out = fopen(argv[2], "w");
	if (out) {
		fprintf(out, "%d %d %d\n", c.passed, c.failed, c.skipped);
		fclose(out);
	}
	printf("vmx-lab: %d passed, %d failed, %d skipped\n", c.passed, c.failed, c.skipped);
	return ret;
}
