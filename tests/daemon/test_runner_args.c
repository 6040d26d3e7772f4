/*
 * Unit tests for daemon/runner_args.c: the VMM runner's command line from
 * a type 'kvm' domain's XML; interfaces become --nic options, what the
 * runner cannot give is refused naming its XPath.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/store.h"
#include "daemon/vmxd.h"

static const char *xml_with(const char *devices)
{
	static char xml[4096];

	snprintf(xml, sizeof(xml),
		 "<domain type='kvm'><name>n</name><memory unit='MiB'>64</memory>"
		 "<os><type>hvm</type><kernel>/boot/k</kernel></os>"
		 "<devices>%s</devices></domain>", devices);
	return xml;
}

static int build(const char *devices, struct runner_args *a, struct vx_err *err)
{
	struct store_domain sd = { .sd_uuid = "4dea22b3-1d52-d8f3-2516-782e98ab3fa0",
				   .sd_name = "n", .sd_type = "kvm" };

	sd.sd_xml = (char *)xml_with(devices);
	memset(err, 0, sizeof(*err));
	return runner_args_build(a, "vmxd-runner", &sd, "/run/n.xml", "/run/n.pid", err);
}

/* The value after option opt, the nth time it appears (0 first). */
static const char *arg_after(const struct runner_args *a, const char *opt, int nth)
{
	for (int i = 0; i + 1 < a->argc; i++)
		if (strcmp(a->argv[i], opt) == 0 && nth-- == 0)
			return a->argv[i + 1];
	return NULL;
}

static void runner_args_bridge_and_ethernet_become_nics(void **state)
{
	struct runner_args a;
	struct vx_err err;

	(void)state;
	assert_int_equal(build("<interface type='bridge'><mac address='52:54:00:AB:CD:EF'/>"
			       "<source bridge='br0'/><model type='virtio'/></interface>"
			       "<interface type='ethernet'><mac address='52:54:00:00:00:02'/>"
			       "<target dev='tap7'/><model type='virtio'/></interface>",
			       &a, &err), 0);
	assert_string_equal(arg_after(&a, "--nic", 0),
			    "tap=vmxtap%d,mac=52:54:00:ab:cd:ef,bridge=br0");
	assert_string_equal(arg_after(&a, "--nic", 1), "tap=tap7,mac=52:54:00:00:00:02");
	assert_null(arg_after(&a, "--nic", 2));
	assert_string_equal(arg_after(&a, "--kernel", 0), "/boot/k");
	runner_args_free(&a);
	/* No model: virtio is the only one; no MAC: one was generated. */
	assert_int_equal(build("<interface type='ethernet'/>", &a, &err), 0);
	assert_non_null(strstr(arg_after(&a, "--nic", 0), "tap=vmxtap%d,mac=52:54:00:"));
	runner_args_free(&a);
}

static void runner_args_refuses_what_the_runner_cannot_do(void **state)
{
	struct runner_args a;
	struct vx_err err;

	(void)state;
	assert_int_equal(build("<interface type='network'><source network='default'/></interface>",
			       &a, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "/domain/devices/interface[1]: type 'network' needs a network driver"));
	assert_int_equal(build("<interface type='ethernet'/><interface type='ethernet'/>"
			       "<interface type='ethernet'/>", &a, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "/domain/devices/interface[3]: the vmxcore runner takes at most 2"));
	assert_int_equal(build("<interface type='ethernet'/><interface type='ethernet'>"
			       "<target dev='a,b'/></interface>", &a, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "/domain/devices/interface[2]/target: 'a,b'"));
	assert_int_equal(build("<interface type='ethernet'><target dev='sixteen-chars-xx'/>"
			       "</interface>", &a, &err), -EINVAL);
	assert_int_equal(build("<interface type='bridge'><source bridge='br 0'/></interface>",
			       &a, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "/domain/devices/interface[1]/source"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(runner_args_bridge_and_ethernet_become_nics),
		cmocka_unit_test(runner_args_refuses_what_the_runner_cannot_do),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
