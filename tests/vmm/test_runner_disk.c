/* vmxd-runner's --disk option (vmm/runner/disk.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/runner/runner.h"

static void disk_option_forms(void **state)
{
	struct rn_disk_conf d;
	struct vx_err err = { 0 };

	(void)state;
	assert_int_equal(rn_disk_parse("/var/lib/vm/a.qcow2", &d, &err), 0);
	assert_string_equal(d.path, "/var/lib/vm/a.qcow2");
	assert_null(d.format);
	assert_false(d.readonly);
	assert_int_equal(rn_disk_parse("/a.img,format=raw,readonly", &d, &err), 0);
	assert_string_equal(d.path, "/a.img");
	assert_string_equal(d.format, "raw");
	assert_true(d.readonly);
	assert_int_equal(rn_disk_parse("/b,readonly,format=qcow2", &d, &err), 0);
	assert_string_equal(d.path, "/b");
	assert_string_equal(d.format, "qcow2");
}

static void disk_option_errors_name_the_problem(void **state)
{
	struct rn_disk_conf d;
	struct vx_err err = { 0 };
	char longpath[5000];

	(void)state;
	assert_int_equal(rn_disk_parse("/a,format=vmdk", &d, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown option 'format=vmdk'"));
	assert_int_equal(rn_disk_parse(",readonly", &d, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no path"));
	assert_int_equal(rn_disk_parse("/a,cache=none", &d, &err), -EINVAL);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(rn_disk_parse(longpath, &d, &err), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(disk_option_forms),
		cmocka_unit_test(disk_option_errors_name_the_problem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
