/*
 * judge: reads the serial log of one VT-x lab boot and decides.
 *
 * The protocol the in-lab init and test programs print (README.md):
 *   LAB: suite NAME [xfail]     a suite starts
 *   1..N                        its plan
 *   ok N - test / not ok N - test: why
 *   LAB: suite-end NAME rc=RC   it ended, with its exit code
 *   LAB: done                   every suite ran; the lab is powering off
 *   LAB: booted ...             init runs: from here on the kernel is ours to judge
 * Any kernel oops, BUG, WARNING, panic or call trace after "LAB: booted"
 * (before it, the kernel is booting on Bochs' CPU model, whose XSAVE layout
 * draws one known warning; those lines are noted, not judged), a suite that never
 * started or never ended, a short plan, a non-zero rc without a failing
 * line, and a missing "LAB: done" are failures. An xfail suite is the
 * negative control: it passes only if the judge saw it fail.
 */
#ifndef VMX_LAB_JUDGE_H
#define VMX_LAB_JUDGE_H

#include <stddef.h>
#include <stdio.h>

struct lab_counts {
	int passed;
	int failed;
	int skipped;
};

/*
 * Judges @serial against the suites the lab was built to run. Writes one
 * PASS/FAIL line per test and per problem to @report. Returns 0 when
 * everything passed, 1 otherwise.
 */
int lab_judge(FILE *serial, const char *const *suites, size_t nsuites, FILE *report,
	      struct lab_counts *counts);

#endif
