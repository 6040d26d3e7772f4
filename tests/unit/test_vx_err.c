/* Unit tests for common/vx_err.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vx_err.h"

static void vx_err_set_returns_code_and_formats(void **state)
{
	struct vx_err err;

	(void)state;
	assert_int_equal(vx_err_set(&err, -EINVAL, "bad %s %d", "size", 7), -EINVAL);
	assert_int_equal(err.code, -EINVAL);
	assert_string_equal(err.msg, "bad size 7");
}

static void vx_err_errno_appends_strerror(void **state)
{
	struct vx_err err;

	(void)state;
	vx_err_errno(&err, -ENOENT, "open %s", "disk.img");
	assert_string_equal(err.msg, "open disk.img: No such file or directory");
}

static void vx_err_null_is_allowed(void **state)
{
	(void)state;
	assert_int_equal(vx_err_set(NULL, -EIO, "ignored"), -EIO);
	vx_err_clear(NULL);
}

static void vx_err_truncates_long_messages(void **state)
{
	struct vx_err err;
	char long_name[600];

	(void)state;
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	vx_err_errno(&err, -EIO, "%s", long_name);
	assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
	vx_err_clear(&err);
	assert_int_equal(err.code, 0);
	assert_string_equal(err.msg, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vx_err_set_returns_code_and_formats),
		cmocka_unit_test(vx_err_errno_appends_strerror),
		cmocka_unit_test(vx_err_null_is_allowed),
		cmocka_unit_test(vx_err_truncates_long_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
