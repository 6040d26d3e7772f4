/* Unit tests for the VT-x lab's judge (tests/vmx/judge.c): a lab must not pass
 * a boot in which anything went wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tests/vmx/judge.h"

static const char *const two_suites[] = { "alpha", "beta" };

static int judge_text(const char *text, struct lab_counts *c)
{
	FILE *in = fmemopen((void *)text, strlen(text), "r");
	FILE *out = fopen("/dev/null", "w");
	int ret;

	assert_non_null(in);
	assert_non_null(out);
	ret = lab_judge(in, two_suites, 2, out, c);
	fclose(in);
	fclose(out);
	return ret;
}

#define BOOTED "LAB: booted 5.4s cpus=2\n"
#define ALPHA_OK BOOTED "LAB: suite alpha\n1..2\nok 1 - a1\nok 2 - a2\nLAB: suite-end alpha rc=0\n"
#define BETA_OK  "LAB: suite beta\n1..1\nok 1 - b1 # SKIP no second CPU\nLAB: suite-end beta rc=0\n"

static void judge_clean_boot_passes(void **state)
{
	struct lab_counts c;

	(void)state;
	assert_int_equal(judge_text(ALPHA_OK BETA_OK "LAB: done\n", &c), 0);
	assert_int_equal(c.passed, 2);
	assert_int_equal(c.skipped, 1);
	assert_int_equal(c.failed, 0);
}

static void judge_crlf_lines_are_read(void **state)
{
	struct lab_counts c;
	const char *log = BOOTED "LAB: suite alpha\r\n1..1\r\nok 1 - a\r\nLAB: suite-end alpha rc=0\r\n"
			  "LAB: suite beta\r\n1..1\r\nok 1 - b\r\nLAB: suite-end beta rc=0\r\n"
			  "LAB: done\r\n";

	(void)state;
	assert_int_equal(judge_text(log, &c), 0);
	assert_int_equal(c.passed, 2);
}

static void judge_not_ok_fails(void **state)
{
	struct lab_counts c;
	const char *log = BOOTED "LAB: suite alpha\n1..2\nok 1 - a1\nnot ok 2 - a2: got 1, want 2\n"
			  "LAB: suite-end alpha rc=1\n" BETA_OK "LAB: done\n";

	(void)state;
	assert_int_equal(judge_text(log, &c), 1);
	assert_int_equal(c.failed, 1);
	assert_int_equal(c.passed, 1);
}

static void judge_short_plan_fails(void **state)
{
	struct lab_counts c;
	const char *log = BOOTED "LAB: suite alpha\n1..3\nok 1 - a1\nLAB: suite-end alpha rc=0\n"
			  BETA_OK "LAB: done\n";

	(void)state;
	assert_int_equal(judge_text(log, &c), 1);
	assert_int_equal(c.failed, 1);
}

static void judge_results_beyond_plan_fail(void **state)
{
	struct lab_counts c;
	const char *log = BOOTED "LAB: suite alpha\n1..1\nok 1 - a1\nok 2 - a2\n"
			  "LAB: suite-end alpha rc=0\n" BETA_OK "LAB: done\n";

	(void)state;
	assert_int_equal(judge_text(log, &c), 1);
	assert_int_equal(c.failed, 1);
}

static void judge_missing_suite_fails(void **state)
{
	struct lab_counts c;

	(void)state;
	assert_int_equal(judge_text(ALPHA_OK "LAB: done\n", &c), 1);
	assert_int_equal(c.failed, 1);
}

static void judge_suite_without_end_fails(void **state)
{
	struct lab_counts c;

	(void)state;
	assert_int_equal(judge_text(ALPHA_OK "LAB: suite beta\n1..1\n", &c), 1);
	assert_int_equal(c.failed, 2);	/* beta never ended, no LAB: done */
}

static void judge_missing_done_fails(void **state)
{
	struct lab_counts c;

	(void)state;
	assert_int_equal(judge_text(ALPHA_OK BETA_OK, &c), 1);
	assert_int_equal(c.failed, 1);
}

static void judge_kernel_oops_fails(void **state)
{
	struct lab_counts c;

	(void)state;
	assert_int_equal(judge_text(ALPHA_OK "[   12.5] BUG: kernel NULL pointer dereference\n"
				    BETA_OK "LAB: done\n", &c), 1);
	assert_int_equal(c.failed, 1);
	assert_int_equal(judge_text(ALPHA_OK "[ 3.1] WARNING: CPU: 0 PID: 1 at vmxon.c:12\n"
				    BETA_OK "LAB: done\n", &c), 1);
}

/* A nested guest's console shown by a suite is the guest's, not the lab's. */
static void judge_nested_guest_console_is_not_the_lab_kernel(void **state)
{
	struct lab_counts c;

	(void)state;
	assert_int_equal(judge_text(ALPHA_OK "# guest| [ 0.1] WARNING: CPU: 0 PID: 0 at xstate.c:606\n"
				    "# guest| Call Trace:\n" BETA_OK "LAB: done\n", &c), 0);
	assert_int_equal(c.failed, 0);
	/* Not at the start of the line: the lab's own message. */
	assert_int_equal(judge_text(ALPHA_OK "x # guest| Call Trace:\n" BETA_OK "LAB: done\n", &c), 1);
}

static void judge_boot_warning_before_init_is_noted_not_failed(void **state)
{
	struct lab_counts c;

	(void)state;
	assert_int_equal(judge_text("[ 0.03] WARNING: CPU: 0 PID: 0 at xstate.c:606\n"
				    ALPHA_OK BETA_OK "LAB: done\n", &c), 0);
	assert_int_equal(c.failed, 0);
}

static void judge_nonzero_rc_without_failure_fails(void **state)
{
	struct lab_counts c;
	const char *log = BOOTED "LAB: suite alpha\n1..1\nok 1 - a1\nLAB: suite-end alpha rc=139\n"
			  BETA_OK "LAB: done\n";

	(void)state;
	assert_int_equal(judge_text(log, &c), 1);
}

static void judge_xfail_control_passes_only_when_it_fails(void **state)
{
	struct lab_counts c;
	const char *failing = "LAB: suite beta xfail\n1..1\nnot ok 1 - must fail\n"
			      "LAB: suite-end beta rc=1\n";
	const char *passing = "LAB: suite beta xfail\n1..1\nok 1 - must fail\n"
			      "LAB: suite-end beta rc=0\n";
	char log[1024];

	(void)state;
	snprintf(log, sizeof(log), "%s%sLAB: done\n", ALPHA_OK, failing);
	assert_int_equal(judge_text(log, &c), 0);
	assert_int_equal(c.passed, 3);
	assert_int_equal(c.failed, 0);

	snprintf(log, sizeof(log), "%s%sLAB: done\n", ALPHA_OK, passing);
	assert_int_equal(judge_text(log, &c), 1);
	assert_int_equal(c.failed, 1);
}

/* What the serial port really carries: kernel text inside our lines. */
static void judge_reads_lines_the_kernel_interleaved(void **state)
{
	struct lab_counts c;
	const char *log = BOOTED "LAB: suite alpha[    4.62] vmxcore: loading out-of-tree module\n"
			  "1..2\nok 1 - a1\nok 2 - a2\nLAB: suite-end alpha rc=0\n" BETA_OK
			  "LAB: done 5.24s\n";

	(void)state;
	assert_int_equal(judge_text(log, &c), 0);
	assert_int_equal(c.passed, 2);
}

static void judge_unexpected_suite_fails(void **state)
{
	struct lab_counts c;

	(void)state;
	assert_int_equal(judge_text(ALPHA_OK BETA_OK "LAB: suite gamma\nLAB: done\n", &c), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(judge_clean_boot_passes),
		cmocka_unit_test(judge_crlf_lines_are_read),
		cmocka_unit_test(judge_not_ok_fails),
		cmocka_unit_test(judge_short_plan_fails),
		cmocka_unit_test(judge_results_beyond_plan_fail),
		cmocka_unit_test(judge_missing_suite_fails),
		cmocka_unit_test(judge_suite_without_end_fails),
		cmocka_unit_test(judge_missing_done_fails),
		cmocka_unit_test(judge_kernel_oops_fails),
		cmocka_unit_test(judge_nested_guest_console_is_not_the_lab_kernel),
		cmocka_unit_test(judge_boot_warning_before_init_is_noted_not_failed),
		cmocka_unit_test(judge_nonzero_rc_without_failure_fails),
		cmocka_unit_test(judge_xfail_control_passes_only_when_it_fails),
		cmocka_unit_test(judge_reads_lines_the_kernel_interleaved),
		cmocka_unit_test(judge_unexpected_suite_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
