/* Unit tests for daemon/conf.c; etc/vmxd.conf must document the defaults. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/vmxd.h"

#ifndef SRCDIR
#define SRCDIR "."
#endif

static const char *write_conf(const char *text)
{
	static char path[] = "/tmp/vmxd-conf-XXXXXX";
	int fd;

	strcpy(path, "/tmp/vmxd-conf-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* Uncommenting every "#key = value" line of etc/vmxd.conf gives the defaults. */
static void conf_shipped_file_states_the_defaults(void **state)
{
	struct vmxd_conf def, c;
	struct vx_err err;
	char line[512], text[8192] = "";
	FILE *f = fopen(SRCDIR "/etc/vmxd.conf", "r");
	const char *path;
	int keys = 0;

	(void)state;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (line[0] == '#' && strchr(line, '=') && line[1] != ' ') {
			strncat(text, line + 1, sizeof(text) - strlen(text) - 1);
			keys++;
		}
	fclose(f);
	assert_int_equal(keys, 10);
	vmxd_conf_defaults(&def);
	vmxd_conf_defaults(&c);
	path = write_conf(text);
	if (vmxd_conf_load(&c, path, &err) < 0)
		fail_msg("%s", err.msg);
	unlink(path);
	assert_memory_equal(&def, &c, sizeof(c));
}

static void conf_overrides_and_errors(void **state)
{
	struct vmxd_conf c;
	struct vx_err err;
	const char *path;

	(void)state;
	vmxd_conf_defaults(&c);
	path = write_conf("# comment\n socket = /tmp/x.sock  # trailing\n"
			  "shutdown_timeout = 5\nlog_level = debug\nautostart = no\n");
	assert_int_equal(vmxd_conf_load(&c, path, &err), 0);
	unlink(path);
	assert_string_equal(c.vc_socket, "/tmp/x.sock");
	assert_int_equal(c.vc_shutdown_timeout_ms, 5000);
	assert_int_equal(c.vc_log_level, 7);
	assert_int_equal(c.vc_autostart, 0);
	path = write_conf("sockett = /x\n");
	assert_int_equal(vmxd_conf_load(&c, path, &err), -EINVAL);
	assert_non_null(strstr(err.msg, ":1: unknown key 'sockett'"));
	unlink(path);
	path = write_conf("\n\nautostart = maybe\n");
	assert_int_equal(vmxd_conf_load(&c, path, &err), -EINVAL);
	assert_non_null(strstr(err.msg, ":3: autostart must be yes or no"));
	unlink(path);
	path = write_conf("just words\n");
	assert_int_equal(vmxd_conf_load(&c, path, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "expected key = value"));
	unlink(path);
	assert_int_equal(vmxd_conf_load(&c, "/nonexistent/vmxd.conf", &err), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(conf_shipped_file_states_the_defaults),
		cmocka_unit_test(conf_overrides_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
