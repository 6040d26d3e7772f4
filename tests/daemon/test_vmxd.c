/*
 * Integration tests: a real vmxd (temporary sockets, database, run dir)
 * driven through the real vmctl, with vmxd-runner-sim for type 'test'.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <grp.h>
#include <sys/stat.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "tests/daemon/harness.h"
#include "proto/proto.h"


static void vmctl_define_list_dumpxml_redefines_identically(void **state)
{
	struct env *e = *state;
	char out[8192], xml1[8192], xml2[8192], path[200];
	FILE *f;

	assert_int_equal(CTL(e, out, "define %s", h_xml(e, "a", "test", NULL)), 0);
	assert_non_null(strstr(out, "Domain 'a' defined"));
	assert_int_equal(CTL(e, out, "list"), 0);
	assert_null(strstr(out, " a "));            /* list shows active only */
	assert_int_equal(CTL(e, out, "list --all"), 0);
	assert_non_null(strstr(out, " a "));
	assert_non_null(strstr(out, "shutoff"));
	assert_int_equal(CTL(e, xml1, "dumpxml a"), 0);
	snprintf(path, sizeof(path), "%s/dump.xml", e->dir);
	f = fopen(path, "w");
	fputs(xml1, f);
	fclose(f);
	assert_int_equal(CTL(e, out, "--json define %s", path), 0);
	assert_non_null(strstr(out, "\"created\": false"));
	assert_int_equal(CTL(e, xml2, "dumpxml a"), 0);
	assert_string_equal(xml1, xml2);
	assert_int_equal(CTL(e, out, "undefine a"), 0);
	assert_int_equal(CTL(e, out, "dominfo a"), 5);
	assert_non_null(strstr(out, "domain 'a' not found"));
}

static void vmctl_lifecycle_of_a_test_domain(void **state)
{
	struct env *e = *state;
	char out[4096];

	assert_int_equal(CTL(e, out, "define %s", h_xml(e, "vm", "test", NULL)), 0);
	assert_int_equal(CTL(e, out, "start vm"), 0);
	assert_int_equal(h_wait_state(e, "vm", "running", 1), 0);
	assert_int_equal(CTL(e, out, "start vm"), 8);
	assert_non_null(strstr(out, "already running"));
	assert_int_equal(CTL(e, out, "suspend vm"), 0);
	assert_int_equal(h_wait_state(e, "vm", "paused", 1), 0);
	assert_int_equal(CTL(e, out, "suspend vm"), 8);
	assert_int_equal(CTL(e, out, "resume vm"), 0);
	assert_int_equal(h_wait_state(e, "vm", "running", 1), 0);
	assert_int_equal(CTL(e, out, "reboot vm"), 0);
	assert_int_equal(CTL(e, out, "shutdown vm --wait --timeout 10"), 0);
	assert_non_null(strstr(out, "is shut off"));
	assert_int_equal(h_wait_state(e, "vm", "shutoff", 1), 0);
	assert_int_equal(CTL(e, out, "dominfo vm"), 0);
	assert_non_null(strstr(out, "Reason         shutdown"));
	assert_int_equal(CTL(e, out, "start vm"), 0);
	assert_int_equal(CTL(e, out, "destroy vm"), 0);
	assert_int_equal(h_wait_state(e, "vm", "shutoff", 1), 0);
	assert_int_equal(CTL(e, out, "dominfo vm"), 0);
	assert_non_null(strstr(out, "Reason         destroyed"));
	assert_int_equal(CTL(e, out, "destroy vm"), 8);
	assert_non_null(strstr(out, "not running"));
}

static void vmctl_shutdown_timeout_when_guest_ignores_acpi(void **state)
{
	struct env *e = *state;
	char out[4096];

	assert_int_equal(CTL(e, out, "define %s", h_xml(e, "deaf", "test", "sim.ignore_acpi")), 0);
	assert_int_equal(CTL(e, out, "start deaf"), 0);
	assert_int_equal(CTL(e, out, "shutdown deaf --timeout 1"), 9);
	assert_non_null(strstr(out, "did not power off in time"));
	assert_int_equal(h_wait_state(e, "deaf", "running", 1), 0);
	assert_int_equal(CTL(e, out, "destroy deaf"), 0);
	assert_int_equal(h_wait_state(e, "deaf", "shutoff", 1), 0);
}

static void vmctl_shutdown_wait_bounded_by_configured_timeout(void **state)
{
	struct env *e = *state;
	char out[4096];
	FILE *f;

	h_vmxd_stop(e, SIGTERM);
	snprintf(e->conf, sizeof(e->conf), "%s/vmxd.conf", e->dir);
	f = fopen(e->conf, "w");
	fputs("# test\nshutdown_timeout = 1\nautostart = no\n", f);
	fclose(f);
	assert_true(h_vmxd_start(e, NULL) > 0);
	assert_int_equal(CTL(e, out, "define %s", h_xml(e, "deaf2", "test", "sim.ignore_acpi")), 0);
	assert_int_equal(CTL(e, out, "start deaf2"), 0);
	assert_int_equal(CTL(e, out, "shutdown deaf2 --wait"), 9);
	assert_non_null(strstr(out, "did not power off in time"));
	assert_int_equal(CTL(e, out, "destroy deaf2"), 0);
	/* A bad configuration stops vmxd with file and line. */
	h_vmxd_stop(e, SIGTERM);
	f = fopen(e->conf, "w");
	fputs("shutdown_timeout = soon\n", f);
	fclose(f);
	assert_true(h_vmxd_start(e, NULL) < 0);
	e->conf[0] = '\0';
	assert_true(h_vmxd_start(e, NULL) > 0);
}

static void vmxd_records_guest_crash_and_poweroff(void **state)
{
	struct env *e = *state;
	char out[4096];

	assert_int_equal(CTL(e, out, "define %s", h_xml(e, "crashy", "test", "sim.crash_ms=50")), 0);
	assert_int_equal(CTL(e, out, "define %s", h_xml(e, "quitter", "test", "sim.poweroff_ms=50")), 0);
	assert_int_equal(CTL(e, out, "start crashy"), 0);
	assert_int_equal(CTL(e, out, "start quitter"), 0);
	assert_int_equal(h_wait_state(e, "crashy", "shutoff", 5000), 0);
	assert_int_equal(h_wait_state(e, "quitter", "shutoff", 5000), 0);
	assert_int_equal(CTL(e, out, "dominfo crashy"), 0);
	assert_non_null(strstr(out, "Reason         crashed"));
	assert_int_equal(CTL(e, out, "dominfo quitter"), 0);
	assert_non_null(strstr(out, "Reason         shutdown"));
}

static void vmxd_lifecycle_actions_from_the_definition(void **state)
{
	struct env *e = *state;
	char out[4096];

	/* on_crash restart: restarted, but not forever. */
	assert_int_equal(CTL(e, out, "define %s", h_xml_extra(e, "phoenix", "test",
		"sim.crash_ms=60", "<on_crash>restart</on_crash>")), 0);
	assert_int_equal(CTL(e, out, "start phoenix"), 0);
	assert_int_equal(h_wait_state(e, "phoenix", "shutoff", 10000), 0);
	assert_int_equal(CTL(e, out, "dominfo phoenix"), 0);
	assert_non_null(strstr(out, "Reason         crashed-too-often"));
	/* on_reboot destroy: a reboot ends the domain. */
	assert_int_equal(CTL(e, out, "define %s", h_xml_extra(e, "once", "test", NULL,
		"<on_reboot>destroy</on_reboot>")), 0);
	assert_int_equal(CTL(e, out, "start once"), 0);
	assert_int_equal(CTL(e, out, "reboot once"), 0);
	assert_int_equal(h_wait_state(e, "once", "shutoff", 2000), 0);
	/* on_poweroff restart: a guest power-off comes back. */
	assert_int_equal(CTL(e, out, "define %s", h_xml_extra(e, "back", "test", NULL,
		"<on_poweroff>restart</on_poweroff>")), 0);
	assert_int_equal(CTL(e, out, "start back"), 0);
	{
		int pid1 = h_runner_pid(e, "back"), pid2 = pid1;

		assert_int_equal(CTL(e, out, "shutdown back --wait"), 0);
		for (int i = 0; i < 100 && (pid2 == pid1 || pid2 <= 0); i++) {
			h_sleep_ms(20);
			pid2 = h_runner_pid(e, "back");
		}
		assert_true(pid2 > 0 && pid2 != pid1);
	}
	assert_int_equal(h_wait_state(e, "back", "running", 2000), 0);
	assert_int_equal(CTL(e, out, "destroy back"), 0);
	assert_int_equal(h_wait_state(e, "back", "shutoff", 2000), 0);
}

static void vmctl_create_makes_a_transient_domain(void **state)
{
	struct env *e = *state;
	char out[4096];

	assert_int_equal(CTL(e, out, "create %s", h_xml(e, "tmp", "test", NULL)), 0);
	assert_int_equal(CTL(e, out, "--json dominfo tmp"), 0);
	assert_non_null(strstr(out, "\"persistent\": false"));
	assert_non_null(strstr(out, "\"state\": \"running\""));
	assert_int_equal(CTL(e, out, "autostart tmp"), 7);
	assert_int_equal(CTL(e, out, "create %s", h_xml(e, "tmp", "test", NULL)), 6);
	assert_int_equal(CTL(e, out, "destroy tmp"), 0);
	assert_int_equal(CTL(e, out, "list --all"), 0);
	assert_null(strstr(out, "tmp"));
}

static void vmctl_kvm_start_refused_never_simulated(void **state)
{
	struct env *e = *state;
	char out[4096];

	assert_int_equal(CTL(e, out, "define %s", h_xml(e, "real", "kvm", NULL)), 0);
	assert_int_equal(CTL(e, out, "start real"), 7);
	assert_non_null(strstr(out, "/dev/vmxcore") ? strstr(out, "/dev/vmxcore") : strstr(out, "cannot run"));
	assert_int_equal(h_wait_state(e, "real", "shutoff", 1), 0);
	assert_int_equal(CTL(e, out, "create %s", h_xml(e, "real2", "kvm", NULL)), 7);
	assert_int_equal(CTL(e, out, "list --all"), 0);
	assert_null(strstr(out, "real2"));
}

static void vmctl_readonly_socket_refuses_writes(void **state)
{
	struct env *e = *state;
	const char *x = h_xml(e, "ro", "test", NULL);
	char out[4096];

	assert_int_equal(CTL(e, out, "define %s", x), 0);
	assert_int_equal(CTL(e, out, "-r define %s", x), 4);
	assert_non_null(strstr(out, "'define' changes state and is refused on the read-only socket"));
	assert_int_equal(CTL(e, out, "-r start ro"), 4);
	assert_int_equal(CTL(e, out, "-r undefine ro"), 4);
	assert_int_equal(CTL(e, out, "-r --json list --all"), 0);
	assert_non_null(strstr(out, "\"name\": \"ro\""));
	assert_int_equal(CTL(e, out, "-r dumpxml ro"), 0);
	assert_int_equal(CTL(e, out, "-r dominfo ro"), 0);
	assert_non_null(strstr(out, "State          shutoff"));
}

static void vmctl_exit_codes_and_json_errors(void **state)
{
	struct env *e = *state;
	char out[4096], bad[200], other[200];
	FILE *f;

	assert_int_equal(CTL(e, out, "frobnicate"), 1);
	assert_int_equal(CTL(e, out, "dominfo"), 1);
	assert_int_equal(CTL(e, out, "dominfo nope"), 5);
	assert_int_equal(CTL(e, out, "--json dominfo nope"), 5);
	assert_non_null(strstr(out, "\"status\": \"not-found\""));
	snprintf(bad, sizeof(bad), "%s/bad.xml", e->dir);
	f = fopen(bad, "w");
	fputs("<domain type='test'><name>b</name><memory>1</memory>"
	      "<devices><video/></devices></domain>", f);
	fclose(f);
	assert_int_equal(CTL(e, out, "define %s", bad), 7);
	assert_non_null(strstr(out, "unsupported element /domain/devices/video"));
	assert_int_equal(CTL(e, out, "define %s", h_xml(e, "dup", "test", NULL)), 0);
	snprintf(other, sizeof(other), "%s/other.xml", e->dir);
	f = fopen(other, "w");
	fputs("<domain type='test'><name>dup</name><memory>1024</memory></domain>", f);
	fclose(f);
	assert_int_equal(CTL(e, out, "define %s", other), 6);
	assert_non_null(strstr(out, "domain 'dup' already exists with uuid"));
	assert_int_equal(CTL(e, out, "resume dup"), 8);
	assert_int_equal(CTL(e, out, "define /nonexistent.xml"), 1);
	assert_int_equal(h_ctl(e, out, sizeof(out), "-c %s/none.sock list", e->dir), 3);
	assert_non_null(strstr(out, "cannot connect"));
}

static int wait_job_state(struct env *e, int id, const char *state, int ms);

/* vmctl --json CMD exits 0 and prints one JSON object. */
static void json_ok(struct env *e, const char *cmd)
{
	char out[8192];
	json_object *o;
	int rc;

	rc = CTL(e, out, "--json %s", cmd);
	if (rc != 0)
		fail_msg("vmctl --json %s: exit %d: %s", cmd, rc, out);
	o = json_tokener_parse(out);
	if (!o || !json_object_is_type(o, json_type_object))
		fail_msg("vmctl --json %s printed no JSON object: %s", cmd, out);
	json_object_put(o);
}

/*
 * The domain and job verbs; test_vmxd_storage's vmctl_storage_json_output
 * covers disk, snapshot and backup verbs, test_vmxd_console the console's.
 */
static void vmctl_json_on_every_verb(void **state)
{
	struct env *e = *state;
	static const char *const verbs[] = {
		"define %s", "autostart j", "autostart j --disable", "start j",
		"suspend j", "resume j", "reboot j", "list", "dominfo j", "dumpxml j",
		"shutdown j --wait", "destroy j", "undefine j",
		"create %s", "destroy jt",
		"job-start test-fill file=jf size_kib=64 --wait", "job-list",
		"job-start test-fill file=jc size_kib=65536 slice_ms=20", "job-cancel 2",
	};
	char out[8192], cmd[300];

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (i == 11) /* destroy needs a running domain again */
			assert_int_equal(CTL(e, out, "start j"), 0);
		snprintf(cmd, sizeof(cmd), verbs[i],
			 h_xml(e, i < 13 ? "j" : "jt", "test", NULL));
		json_ok(e, cmd);
	}
	assert_int_equal(wait_job_state(e, 2, "cancelled", 3000), 0);
	assert_int_equal(CTL(e, out, "dominfo jt"), 5);  /* transient: gone */
}

static void vmxd_restart_reattaches_running_vms(void **state)
{
	struct env *e = *state;
	char out[4096];
	int pid1, pid2;

	assert_int_equal(CTL(e, out, "define %s", h_xml(e, "keep", "test", NULL)), 0);
	assert_int_equal(CTL(e, out, "define %s", h_xml(e, "paws", "test", NULL)), 0);
	assert_int_equal(CTL(e, out, "start keep"), 0);
	assert_int_equal(CTL(e, out, "start paws"), 0);
	assert_int_equal(CTL(e, out, "suspend paws"), 0);
	pid1 = h_runner_pid(e, "keep");
	assert_true(pid1 > 0);
	h_vmxd_stop(e, SIGKILL);
	assert_int_equal(kill(pid1, 0), 0);        /* runner outlives vmxd */
	assert_true(h_vmxd_start(e, NULL) > 0);
	assert_int_equal(h_wait_state(e, "keep", "running", 2000), 0);
	assert_int_equal(h_wait_state(e, "paws", "paused", 2000), 0);
	pid2 = h_runner_pid(e, "keep");
	assert_int_equal(pid1, pid2);
	/* And it is still controllable. */
	assert_int_equal(CTL(e, out, "resume paws"), 0);
	assert_int_equal(CTL(e, out, "shutdown keep --wait"), 0);
	assert_int_equal(h_wait_state(e, "keep", "shutoff", 1), 0);
	/* A clean vmxd stop leaves runners alone too. */
	h_vmxd_stop(e, SIGTERM);
	assert_true(h_vmxd_start(e, NULL) > 0);
	assert_int_equal(h_wait_state(e, "paws", "running", 2000), 0);
	assert_int_equal(CTL(e, out, "destroy paws"), 0);
}

static void vmxd_kill9_mid_define_leaves_no_half_state(void **state)
{
	struct env *e = *state;
	char out[4096];
	sqlite3 *db;
	sqlite3_stmt *s;
	int pid1, st, n = -1;

	assert_int_equal(CTL(e, out, "define %s", h_xml(e, "alive", "test", NULL)), 0);
	assert_int_equal(CTL(e, out, "start alive"), 0);
	pid1 = h_runner_pid(e, "alive");
	h_vmxd_stop(e, SIGTERM);
	assert_true(h_vmxd_start(e, "define-mid") > 0);
	assert_true(CTL(e, out, "define %s", h_xml(e, "half", "test", NULL)) != 0);
	st = h_vmxd_await_crash(e, 10000);
	assert_true(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	assert_int_equal(kill(pid1, 0), 0);
	assert_true(h_vmxd_start(e, NULL) > 0);
	assert_int_equal(CTL(e, out, "dominfo half"), 5);
	assert_int_equal(h_wait_state(e, "alive", "running", 2000), 0);
	assert_int_equal(h_runner_pid(e, "alive"), pid1);
	/* No orphan rows; integrity_check ok (vmxd --check-db runs it). */
	assert_int_equal(sqlite3_open(e->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM disks WHERE"
		" domain_id NOT IN (SELECT id FROM domains)", -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	assert_int_equal(n, 0);
	snprintf(out, sizeof(out), BINDIR "/vmxd --check-db --database %s 2>/dev/null", e->db);
	assert_int_equal(system(out), 0);
	/* The name is free: the half define never happened. */
	assert_int_equal(CTL(e, out, "define %s", h_xml(e, "half", "test", NULL)), 0);
	assert_int_equal(CTL(e, out, "destroy alive"), 0);
}

static void vmxd_kill9_mid_start_adopts_the_runner(void **state)
{
	struct env *e = *state;
	char out[4096];
	int st, pid;

	assert_int_equal(CTL(e, out, "define %s", h_xml(e, "orphan", "test", NULL)), 0);
	h_vmxd_stop(e, SIGTERM);
	assert_true(h_vmxd_start(e, "start-mid") > 0);
	assert_true(CTL(e, out, "start orphan") != 0);
	st = h_vmxd_await_crash(e, 10000);
	assert_true(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	/* The runner lives on behind a "shutoff" row; the next vmxd adopts it. */
	assert_true(h_vmxd_start(e, NULL) > 0);
	assert_int_equal(h_wait_state(e, "orphan", "running", 3000), 0);
	pid = h_runner_pid(e, "orphan");
	assert_true(pid > 0);
	assert_int_equal(kill(pid, 0), 0);
	assert_int_equal(CTL(e, out, "destroy orphan"), 0);
}

static void vmxd_second_daemon_on_the_same_rundir_refused(void **state)
{
	struct env *e = *state, e2;
	char out[4096];

	e2 = *e;
	snprintf(e2.rw, sizeof(e2.rw), "%s/rw2.sock", e->dir);
	snprintf(e2.ro, sizeof(e2.ro), "%s/ro2.sock", e->dir);
	assert_true(h_vmxd_start(&e2, NULL) < 0);
	assert_int_equal(CTL(e, out, "list"), 0);
}

static void vmxd_missing_runner_binary_is_an_error(void **state)
{
	struct env *e = *state;
	char out[4096];
	FILE *f;

	h_vmxd_stop(e, SIGTERM);
	snprintf(e->conf, sizeof(e->conf), "%s/vmxd.conf", e->dir);
	f = fopen(e->conf, "w");
	fputs("runner_kvm = /nonexistent/vmxd-runner\n", f);
	fclose(f);
	assert_true(h_vmxd_start(e, NULL) > 0);
	/* What the VMM cannot give yet is refused by name, before any process. */
	assert_int_equal(CTL(e, out, "define %s", h_xml_extra(e, "d", "kvm", NULL,
		"  <devices><interface type='network'><source network='default'/>"
		"<model type='virtio'/></interface></devices>\n")), 0);
	assert_int_equal(CTL(e, out, "start d"), 7);
	assert_non_null(strstr(out, "/domain/devices/interface[1]: type 'network' needs a network driver"));
	/* A domain it could run, but the binary is missing. */
	f = fopen(h_xml(e, "k", "kvm", NULL), "w");
	fputs("<domain type='kvm'><name>k</name><memory unit='MiB'>64</memory>"
	      "<os><type>hvm</type><kernel>/boot/k</kernel></os></domain>\n", f);
	fclose(f);
	assert_int_equal(CTL(e, out, "define %s/k.xml", e->dir), 0);
	if (access("/dev/vmxcore", F_OK) == 0) {
		assert_int_equal(CTL(e, out, "start k"), 10);
		assert_non_null(strstr(out, "cannot run /nonexistent/vmxd-runner for domain 'k'"));
	} else {
		/* No VT-x driver here: said before any runner starts. */
		assert_int_equal(CTL(e, out, "start k"), 7);
		assert_non_null(strstr(out, "domain 'k': /dev/vmxcore: No such file or directory (is vmxcore.ko loaded?"));
	}
	assert_int_equal(h_wait_state(e, "k", "shutoff", 1), 0);
	assert_int_equal(CTL(e, out, "list"), 0);
}

static void vmxd_autostart_at_daemon_start(void **state)
{
	struct env *e = *state;
	char out[4096];

	assert_int_equal(CTL(e, out, "define %s", h_xml(e, "auto", "test", NULL)), 0);
	assert_int_equal(CTL(e, out, "autostart auto"), 0);
	h_vmxd_stop(e, SIGTERM);
	assert_true(h_vmxd_start(e, NULL) > 0);
	assert_int_equal(h_wait_state(e, "auto", "running", 3000), 0);
	assert_int_equal(CTL(e, out, "dominfo auto"), 0);
	assert_non_null(strstr(out, "Autostart      yes"));
	assert_int_equal(CTL(e, out, "destroy auto"), 0);
}

static void vmxd_fifty_concurrent_clients(void **state)
{
	struct env *e = *state;
	char out[16384];
	pid_t kids[50];
	int n = 0;

	for (int i = 0; i < 50; i++) {
		char name[16];

		snprintf(name, sizeof(name), "c%02d", i);
		h_xml(e, name, "test", NULL);
	}
	for (int i = 0; i < 50; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			char path[200], buf[4096];
			int rc;

			snprintf(path, sizeof(path), "%s/c%02d.xml", e->dir, i);
			rc = h_ctl(e, buf, sizeof(buf), "define %s", path);
			if (rc == 0)
				rc = h_ctl(e, buf, sizeof(buf), "-r list --all");
			if (rc == 0 && i % 5 == 0) {
				char start[32];

				snprintf(start, sizeof(start), "start c%02d", i);
				rc = h_ctl(e, buf, sizeof(buf), "%s", start);
			}
			_exit(rc);
		}
	}
	for (int i = 0; i < 50; i++) {
		int st;

		waitpid(kids[i], &st, 0);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			n++;
	}
	assert_int_equal(n, 50);
	assert_int_equal(CTL(e, out, "--json list --all"), 0);
	{
		json_object *o = json_tokener_parse(out), *arr;

		assert_non_null(o);
		assert_true(json_object_object_get_ex(o, "domains", &arr));
		assert_int_equal(json_object_array_length(arr), 50);
		json_object_put(o);
	}
	assert_int_equal(CTL(e, out, "list"), 0);
	for (int i = 0; i < 50; i += 5) {
		char name[16];

		snprintf(name, sizeof(name), "c%02d", i);
		assert_int_equal(CTL(e, out, "destroy %s", name), 0);
	}
}

/* Raw protocol abuse: the daemon answers and survives. */
static struct env *e_of(void **state)
{
	return *state;
}

static int raw_connect(struct env *e)
{
	struct vx_err err;

	return proto_connect_unix(e->rw, &err);
}

static void vmxd_survives_malformed_and_oversized_frames(void **state)
{
	struct env *e = *state;
	struct proto_rbuf rb;
	struct proto_msg m;
	struct vx_err err;
	int fd = raw_connect(e);
	const char garbage[] = "\0\0\0\x05hello";
	const char huge[] = "\x7f\xff\xff\xff";
	char out[1024];

	proto_rbuf_init(&rb);
	/* Request before hello: error, then closed. */
	proto_msg_request(&m, 1, "list", NULL);
	assert_int_equal(proto_send_fd(fd, &m, &err), 0);
	assert_int_equal(proto_recv_fd(fd, &rb, &m, 2000, &err), 0);
	assert_int_equal(m.pm_status, PROTO_E_MALFORMED);
	assert_non_null(strstr(m.pm_error, "first message must be hello"));
	assert_int_equal(proto_recv_fd(fd, &rb, &m, 2000, &err), -ECONNRESET);
	close(fd);
	proto_rbuf_free(&rb);

	fd = raw_connect(e);
	assert_int_equal(proto_client_hello(fd, &rb, "test", NULL, 2000, &err), 0);
	assert_int_equal(send(fd, garbage, sizeof(garbage) - 1, 0), (ssize_t)sizeof(garbage) - 1);
	assert_int_equal(proto_recv_fd(fd, &rb, &m, 2000, &err), 0);
	assert_int_equal(m.pm_status, PROTO_E_MALFORMED);
	/* Still in sync: an unknown verb, then a real one. */
	assert_int_equal(proto_call(fd, &rb, 7, "frobnicate", NULL, &m, 2000, &err), 0);
	assert_int_equal(m.pm_status, PROTO_E_UNKNOWN_VERB);
	assert_int_equal(proto_call(fd, &rb, 8, "ping", NULL, &m, 2000, &err), 0);
	assert_int_equal(m.pm_status, PROTO_OK);
	proto_msg_clear(&m);
	/* Oversized: error, then closed. */
	assert_int_equal(send(fd, huge, 4, 0), 4);
	assert_int_equal(proto_recv_fd(fd, &rb, &m, 2000, &err), 0);
	assert_int_equal(m.pm_status, PROTO_E_TOO_BIG);
	assert_int_equal(proto_recv_fd(fd, &rb, &m, 2000, &err), -ECONNRESET);
	close(fd);
	proto_rbuf_free(&rb);
	/* Version 0 is refused. */
	fd = raw_connect(e);
	proto_msg_hello(&m, "old", NULL);
	m.pm_version = 0;
	assert_int_equal(proto_send_fd(fd, &m, &err), 0);
	assert_int_equal(proto_recv_fd(fd, &rb, &m, 2000, &err), 0);
	assert_int_equal(m.pm_status, PROTO_E_VERSION);
	close(fd);
	proto_rbuf_free(&rb);
	assert_int_equal(CTL(e, out, "list"), 0);
}

static void vmxd_events_reach_subscribers(void **state)
{
	struct env *e = *state;
	struct proto_rbuf rb;
	struct proto_msg m;
	struct vx_err err;
	char out[1024];
	int fd = raw_connect(e), got = 0;

	proto_rbuf_init(&rb);
	assert_int_equal(proto_client_hello(fd, &rb, "watcher", NULL, 2000, &err), 0);
	assert_int_equal(proto_call(fd, &rb, 1, "subscribe", NULL, &m, 2000, &err), 0);
	proto_msg_clear(&m);
	assert_int_equal(CTL(e, out, "define %s", h_xml(e, "ev", "test", NULL)), 0);
	assert_int_equal(CTL(e, out, "start ev"), 0);
	while (!got && proto_recv_fd(fd, &rb, &m, 3000, &err) == 0) {
		json_object *s;

		if (m.pm_type == PROTO_EVENT && strcmp(m.pm_name, "domain-state") == 0 &&
		    json_object_object_get_ex(m.pm_body, "state", &s) &&
		    strcmp(json_object_get_string(s), "running") == 0)
			got = 1;
		proto_msg_clear(&m);
	}
	assert_true(got);
	close(fd);
	proto_rbuf_free(&rb);
	assert_int_equal(CTL(e, out, "destroy ev"), 0);
}

static void runner_sim_is_sandboxed(void **state)
{
	struct env *e = *state;
	char out[4096], path[64], line[256];
	int pid, seccomp = -1, nnp = -1, uid = -1;
	FILE *f;

	assert_int_equal(CTL(e, out, "define %s", h_xml(e, "box", "test", NULL)), 0);
	assert_int_equal(CTL(e, out, "start box"), 0);
	pid = h_runner_pid(e, "box");
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "Seccomp: %d", &seccomp);
		sscanf(line, "NoNewPrivs: %d", &nnp);
		sscanf(line, "Uid: %d", &uid);
	}
	fclose(f);
	assert_int_equal(seccomp, 2);   /* filter mode */
	assert_int_equal(nnp, 1);
	if (geteuid() == 0)
		assert_true(uid != 0);      /* dropped root */
	assert_int_equal(CTL(e, out, "destroy box"), 0);
}

/* Polls job-list --json until job id has the state. */
static int wait_job_state(struct env *e, int id, const char *state, int ms)
{
	char out[16384], want[80], idtxt[40];

	snprintf(want, sizeof(want), "\"state\": \"%s\"", state);
	snprintf(idtxt, sizeof(idtxt), "\"id\": %d,", id);
	for (int t = 0; t < ms; t += 20) {
		char *p;

		if (h_ctl(e, out, sizeof(out), "--json job-list") == 0 &&
		    (p = strstr(out, idtxt)) && strstr(p, want) &&
		    (!strstr(p + 1, "\"id\":") || strstr(p, want) < strstr(p + 1, "\"id\":")))
			return 0;
		h_sleep_ms(20);
	}
	return -1;
}

static int file_size(struct env *e, const char *name)
{
	char path[300];
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/jobs/%s", e->run, name);
	if (!(f = fopen(path, "r")))
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fclose(f);
	return (int)n;
}

static void vmctl_job_runs_to_completion_with_progress_events(void **state)
{
	struct env *e = *state;
	struct proto_rbuf rb;
	struct proto_msg m;
	struct vx_err err;
	char out[4096];
	int fd, progress = 0, done = 0;

	fd = raw_connect(e);
	proto_rbuf_init(&rb);
	assert_int_equal(proto_client_hello(fd, &rb, "watch", NULL, 2000, &err), 0);
	assert_int_equal(proto_call(fd, &rb, 1, "subscribe", NULL, &m, 2000, &err), 0);
	assert_int_equal(CTL(e, out, "job-start test-fill file=a size_kib=512 slice_ms=2 --wait"), 0);
	assert_non_null(strstr(out, "Job 1 done"));
	assert_int_equal(file_size(e, "a"), 512 * 1024);
	assert_int_equal(file_size(e, "a.partial"), -1);
	while (!done && proto_recv_fd(fd, &rb, &m, 2000, &err) == 0) {
		if (m.pm_type == PROTO_EVENT && strcmp(m.pm_name, "job-progress") == 0)
			progress++;
		if (m.pm_type == PROTO_EVENT && strcmp(m.pm_name, "job-done") == 0)
			done = 1;
		proto_msg_clear(&m);
	}
	close(fd);
	proto_rbuf_free(&rb);
	assert_true(done);
	assert_true(progress >= 3);
	assert_int_equal(wait_job_state(e, 1, "done", 1), 0);
	assert_int_equal(CTL(e, out, "job-list"), 0);
	assert_non_null(strstr(out, "test-fill"));
	/* Refusals: unknown kind, bad argument, existing output, read-only. */
	assert_int_equal(CTL(e, out, "job-start nope"), 7);
	assert_non_null(strstr(out, "unknown job kind 'nope'"));
	assert_int_equal(CTL(e, out, "job-start test-fill file=../x"), 7);
	assert_int_equal(CTL(e, out, "job-start test-fill file=a"), 6);
	assert_int_equal(CTL(e, out, "-r job-start test-fill file=b"), 4);
	assert_int_equal(CTL(e, out, "job-cancel 99"), 5);
}

/* On a terminal, job-start --wait draws a progress bar (script(1) gives a pty). */
static void vmctl_job_progress_bar_on_a_terminal(void **state)
{
	struct env *e = *state;
	char cmd[800], out[16384];
	FILE *p;
	size_t n;

	if (access("/usr/bin/script", X_OK) != 0) {
		skip();
		return;
	}
	snprintf(cmd, sizeof(cmd), "script -qec '" BINDIR "/vmctl -c %s job-start "
		 "test-fill file=tty size_kib=1024 slice_ms=5 --wait' /dev/null", e->rw);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
	assert_non_null(strstr(out, "test-fill [####"));
	assert_non_null(strstr(out, "] 100%"));
	assert_non_null(strstr(out, "Job 1 done"));
}

static void vmctl_job_cancel_leaves_nothing(void **state)
{
	struct env *e = *state;
	char out[4096];

	assert_int_equal(CTL(e, out, "job-start test-fill file=big size_kib=65536 slice_ms=20"), 0);
	assert_non_null(strstr(out, "Job 1 started"));
	assert_int_equal(CTL(e, out, "job-cancel 1"), 0);
	assert_int_equal(wait_job_state(e, 1, "cancelled", 3000), 0);
	assert_int_equal(file_size(e, "big"), -1);
	assert_int_equal(file_size(e, "big.partial"), -1);
	/* --wait on a cancelled job: exit 9. */
	{
		pid_t pid = fork();
		int st;

		if (pid == 0) {
			char buf[1024];

			_exit(h_ctl(e, buf, sizeof(buf),
				    "job-start test-fill file=c size_kib=65536 slice_ms=20 --wait"));
		}
		assert_int_equal(wait_job_state(e, 2, "running", 3000), 0);
		assert_int_equal(CTL(e, out, "job-cancel 2"), 0);
		waitpid(pid, &st, 0);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 9);
	}
}

static void vmxd_kill9_mid_job_cleans_up_at_restart(void **state)
{
	struct env *e = *state;
	char out[4096];

	assert_int_equal(CTL(e, out, "job-start test-fill file=k size_kib=65536 slice_ms=20"), 0);
	for (int i = 0; i < 100 && file_size(e, "k.partial") <= 0; i++)
		h_sleep_ms(20);
	assert_true(file_size(e, "k.partial") > 0);
	h_vmxd_stop(e, SIGKILL);
	assert_true(file_size(e, "k.partial") > 0);
	assert_true(h_vmxd_start(e, NULL) > 0);
	assert_int_equal(wait_job_state(e, 1, "interrupted", 1), 0);
	assert_int_equal(file_size(e, "k.partial"), -1);
	assert_int_equal(file_size(e, "k"), -1);
	/* A clean stop interrupts a running job too, and cleans up. */
	assert_int_equal(CTL(e, out, "job-start test-fill file=s size_kib=65536 slice_ms=20"), 0);
	assert_int_equal(h_vmxd_stop(e, SIGTERM), 0);
	assert_int_equal(file_size(e, "s.partial"), -1);
	assert_true(h_vmxd_start(e, NULL) > 0);
	assert_int_equal(wait_job_state(e, 2, "interrupted", 1), 0);
}

/* Runs vmctl as uid/gid of "nobody"; returns its exit code. */
static int ctl_as_nobody(struct env *e, char *out, size_t len, const char *args)
{
	int p[2], st;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		char cmd[600];

		dup2(p[1], 1);
		dup2(p[1], 2);
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(126);
		setenv("VMCTL_SOCKET_RO", e->ro, 1);
		snprintf(cmd, sizeof(cmd), BINDIR "/vmctl -c %s %s", e->rw, args);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (n + 1 < len && (r = read(p[0], out + n, len - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(p[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void vmxd_peer_credentials_gate_the_rw_socket(void **state)
{
	struct env *e = *state;
	char out[4096], args[300];

	if (geteuid() != 0) {
		skip(); /* needs root to act as another user */
		return;
	}
	assert_int_equal(chmod(e->dir, 0755), 0);
	assert_int_equal(CTL(e, out, "define %s", h_xml(e, "mine", "test", NULL)), 0);
	assert_int_equal(chmod(h_xml(e, "theirs", "test", NULL), 0644), 0);
	/* Anyone may read through the read-only socket. */
	assert_int_equal(ctl_as_nobody(e, out, sizeof(out), "-r list --all"), 0);
	assert_non_null(strstr(out, "mine"));
	/* The rw socket's mode (0600 without a vmxd group) keeps others out... */
	snprintf(args, sizeof(args), "define %s/theirs.xml", e->dir);
	assert_int_equal(ctl_as_nobody(e, out, sizeof(out), args), 3);
	assert_non_null(strstr(out, "Permission denied"));
	/* ...and if the mode is loosened, SO_PEERCRED still does. */
	assert_int_equal(chmod(e->rw, 0666), 0);
	assert_int_equal(ctl_as_nobody(e, out, sizeof(out), args), 4);
	assert_non_null(strstr(out, "not root or in the vmxd group"));
	assert_int_equal(CTL(e, out, "dominfo theirs"), 5);
}

/* Random requests with random argument types: answered, never a crash. */
static void vmxd_survives_random_requests(void **state)
{
	static const char *const verbs[] = { "ping", "list", "dominfo", "dumpxml",
		"define", "undefine", "create", "start", "shutdown", "destroy",
		"reboot", "suspend", "resume", "autostart", "job-list", "job-start",
		"job-cancel", "subscribe", "nosuchverb" };
	static const char *const keys[] = { "name", "xml", "all", "timeout_ms",
		"wait", "enable", "id", "kind", "file", "size_kib" };
	struct proto_rbuf rb;
	struct proto_msg m;
	struct vx_err err;
	char out[1024];
	int fd = raw_connect(e_of(state));

	proto_rbuf_init(&rb);
	assert_int_equal(proto_client_hello(fd, &rb, "chaos", NULL, 2000, &err), 0);
	srand(42);
	for (int i = 0; i < 400; i++) {
		json_object *args = json_object_new_object();
		int nargs = rand() % 4;

		for (int k = 0; k < nargs; k++) {
			json_object *v;

			switch (rand() % 7) {
			case 0: v = json_object_new_int64((int64_t)rand() - RAND_MAX / 2); break;
			case 1: v = json_object_new_string(rand() % 2 ? "" : "zz\u00e9<domain"); break;
			case 2: v = json_object_new_boolean(rand() % 2); break;
			case 3: v = json_object_new_array(); break;
			case 4: v = json_object_new_object(); break;
			case 5: v = json_object_new_double(1.5e300); break;
			default: v = NULL; break;
			}
			json_object_object_add(args, keys[rand() % 10], v);
		}
		assert_int_equal(proto_call(fd, &rb, (uint64_t)i + 1,
					    verbs[rand() % 19], args, &m, 5000, &err), 0);
		assert_int_equal(m.pm_type, PROTO_RESPONSE);
		proto_msg_clear(&m);
	}
	close(fd);
	proto_rbuf_free(&rb);
	assert_int_equal(CTL(e_of(state), out, "list --all"), 0);
}

/*
 * Under systemd (JOURNAL_STREAM set) every line vmxd writes starts with the
 * "<N>" prefix journald takes as its priority: info for lifecycle, warning
 * for a job a crash interrupted, error for a refused start.
 */
static void vmxd_logs_carry_journal_priorities(void **state)
{
	struct env *e = *state, e2;
	char out[4096], line[1024];
	int info = 0, warn = 0, error = 0, lines = 0;
	FILE *f;

	h_vmxd_stop(e, SIGTERM);
	assert_int_equal(truncate(e->log, 0), 0);
	setenv("JOURNAL_STREAM", "8:12345", 1);
	assert_true(h_vmxd_start(e, NULL) > 0);
	assert_int_equal(CTL(e, out, "define %s", h_xml(e, "jl", "test", NULL)), 0);
	assert_int_equal(CTL(e, out, "job-start test-fill file=jl size_kib=65536 slice_ms=20"), 0);
	kill(e->vmxd, SIGKILL);
	waitpid(e->vmxd, NULL, 0);
	e->vmxd = 0;
	assert_true(h_vmxd_start(e, NULL) > 0);
	e2 = *e;
	snprintf(e2.rw, sizeof(e2.rw), "%s/rw2.sock", e->dir);
	snprintf(e2.ro, sizeof(e2.ro), "%s/ro2.sock", e->dir);
	assert_true(h_vmxd_start(&e2, NULL) < 0);
	unsetenv("JOURNAL_STREAM");
	h_vmxd_stop(e, SIGTERM);

	f = fopen(e->log, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		lines++;
		if (line[0] != '<' || line[1] < '0' || line[1] > '7' || line[2] != '>')
			fail_msg("log line without a journal priority: %s", line);
		info += line[1] == '6' && strstr(line, "domain jl defined") != NULL;
		warn += line[1] == '4' && strstr(line, "interrupted by a vmxd crash") != NULL;
		error += line[1] == '3' && strstr(line, "another vmxd runs") != NULL;
	}
	fclose(f);
	assert_true(lines > 3);
	assert_int_equal(info, 1);
	assert_int_equal(warn, 1);
	assert_int_equal(error, 1);
	assert_true(h_vmxd_start(e, NULL) > 0);
}

/* list with args a (owned) on fd: its status, and the answer in *m. */
static enum proto_status list_call(int fd, struct proto_rbuf *rb, json_object *a,
				   struct proto_msg *m)
{
	struct vx_err err;

	assert_int_equal(proto_call(fd, rb, 7, "list", a, m, 2000, &err), 0);
	return m->pm_status;
}

static json_object *list_args(const char *const *cols, size_t ncols)
{
	json_object *a = json_object_new_object(), *c = json_object_new_array();

	json_object_object_add(a, "all", json_object_new_boolean(1));
	for (size_t i = 0; i < ncols; i++)
		json_object_array_add(c, json_object_new_string(cols[i]));
	json_object_object_add(a, "columns", c);
	return a;
}

/*
 * list's "rows" and "columns" (table) forms carry the same facts as its
 * objects, each cached apart (the table per set of columns).
 */
static void vmxd_list_rows_match_objects(void **state)
{
	struct env *e = *state;
	static const char *const cols[] = { "name", "uuid", "type", "state",
		"persistent", "autostart" };
	static const char *const some[] = { "state", "name" };
	static const char *const unknown[] = { "name", "memory" };
	static const char *const twice[] = { "name", "name" };
	struct proto_rbuf rb;
	struct proto_msg mo, mr, mt;
	struct vx_err err;
	json_object *a, *objs, *rows, *c, *t, *tc;
	char out[4096];
	int fd;

	assert_int_equal(CTL(e, out, "define %s", h_xml(e, "r1", "test", NULL)), 0);
	assert_int_equal(CTL(e, out, "define %s", h_xml(e, "r2", "test", NULL)), 0);
	assert_int_equal(CTL(e, out, "autostart r2"), 0);
	assert_int_equal(CTL(e, out, "start r1"), 0);
	fd = raw_connect(e);
	proto_rbuf_init(&rb);
	assert_int_equal(proto_client_hello(fd, &rb, "rows", NULL, 2000, &err), 0);
	for (int round = 0; round < 2; round++) {  /* built, then from the cache */
		a = json_object_new_object();
		json_object_object_add(a, "all", json_object_new_boolean(1));
		assert_int_equal(proto_call(fd, &rb, 1, "list", a, &mo, 2000, &err), 0);
		a = json_object_new_object();
		json_object_object_add(a, "all", json_object_new_boolean(1));
		json_object_object_add(a, "rows", json_object_new_boolean(1));
		assert_int_equal(proto_call(fd, &rb, 2, "list", a, &mr, 2000, &err), 0);
		assert_int_equal(mo.pm_status, PROTO_OK);
		assert_int_equal(mr.pm_status, PROTO_OK);
		assert_true(json_object_object_get_ex(mo.pm_body, "domains", &objs));
		assert_true(json_object_object_get_ex(mr.pm_body, "rows", &rows));
		assert_true(json_object_object_get_ex(mr.pm_body, "columns", &c));
		assert_false(json_object_object_get_ex(mo.pm_body, "rows", NULL));
		assert_int_equal(json_object_array_length(c), 6);
		assert_int_equal(json_object_array_length(objs), 2);
		assert_int_equal(json_object_array_length(rows), 2);
		for (size_t i = 0; i < 2; i++) {
			json_object *o = json_object_array_get_idx(objs, i);
			json_object *r = json_object_array_get_idx(rows, i);

			assert_int_equal(json_object_array_length(r), 6);
			for (size_t k = 0; k < 6; k++) {
				json_object *v;

				assert_string_equal(json_object_get_string(
					json_object_array_get_idx(c, k)), cols[k]);
				assert_true(json_object_object_get_ex(o, cols[k], &v));
				assert_string_equal(json_object_get_string(v),
					json_object_get_string(json_object_array_get_idx(r, k)));
			}
		}
		/* The table: all columns, then two (another cache entry), in
		 * vmxd's column order whatever the order asked. */
		for (int sub = 0; sub < 2; sub++) {
			size_t nc = sub ? 2 : 6;

			assert_int_equal(list_call(fd, &rb, sub ? list_args(some, 2) :
					 list_args(cols, 6), &mt), PROTO_OK);
			assert_true(json_object_object_get_ex(mt.pm_body, "table", &t));
			assert_false(json_object_object_get_ex(mt.pm_body, "rows", NULL));
			assert_int_equal(json_object_object_length(t), nc);
			for (size_t k = 0; k < 6; k++) {
				int asked = !sub || k == 0 || k == 3;

				assert_int_equal(json_object_object_get_ex(t, cols[k], &tc),
						 asked);
				if (!asked)
					continue;
				assert_int_equal(json_object_array_length(tc), 2);
				for (size_t i = 0; i < 2; i++) {
					json_object *v;

					assert_true(json_object_object_get_ex(
						json_object_array_get_idx(objs, i), cols[k], &v));
					assert_string_equal(json_object_get_string(v),
						json_object_get_string(
							json_object_array_get_idx(tc, i)));
				}
			}
			{
				struct json_object_iterator it = json_object_iter_begin(t);

				assert_string_equal(json_object_iter_peek_name(&it), "name");
			}
			proto_msg_clear(&mt);
		}
		proto_msg_clear(&mo);
		proto_msg_clear(&mr);
	}
	/* Columns that do not exist, or named twice: invalid, said why. */
	assert_int_equal(list_call(fd, &rb, list_args(unknown, 2), &mt),
			 PROTO_E_INVALID);
	assert_non_null(strstr(mt.pm_error, "unknown column 'memory'"));
	proto_msg_clear(&mt);
	assert_int_equal(list_call(fd, &rb, list_args(twice, 2), &mt),
			 PROTO_E_INVALID);
	assert_non_null(strstr(mt.pm_error, "'name' named twice"));
	proto_msg_clear(&mt);
	assert_int_equal(list_call(fd, &rb, list_args(NULL, 0), &mt),
			 PROTO_E_INVALID);
	proto_msg_clear(&mt);
	close(fd);
	proto_rbuf_free(&rb);
	/* vmctl's table (from the table form) shows the same. */
	assert_int_equal(CTL(e, out, "list --all"), 0);
	assert_non_null(strstr(out, " r1    running   test  no "));
	assert_non_null(strstr(out, " r2    shutoff   test  yes "));
	assert_int_equal(CTL(e, out, "list"), 0);
	assert_null(strstr(out, " r2 "));
	assert_int_equal(CTL(e, out, "destroy r1"), 0);
}

/*
 * Every verb of PROTOCOL.md's verb table, sent on the read-only socket: the
 * ones the table marks "write" are refused with read-only, the others are
 * not (they may fail otherwise: the domain "nope" does not exist), and none
 * is unknown to vmxd.
 */
static void vmxd_readonly_socket_matches_the_protocol_table(void **state)
{
	struct env *e = *state;
	struct proto_rbuf rb;
	struct proto_msg m;
	struct vx_err err;
	char line[2048];
	int fd, in_table = 0, writes = 0, reads = 0;
	uint64_t id = 1;
	FILE *f = fopen(SRCDIR "/proto/PROTOCOL.md", "r");

	assert_non_null(f);
	fd = proto_connect_unix(e->ro, &err);
	assert_true(fd >= 0);
	proto_rbuf_init(&rb);
	assert_int_equal(proto_client_hello(fd, &rb, "ro-table", NULL, 2000, &err), 0);
	while (fgets(line, sizeof(line), f)) {
		char *last, *p, *col_end;
		int write;

		if (strncmp(line, "## vmctl <-> vmxd verbs", 23) == 0)
			in_table = 1;
		else if (strncmp(line, "## ", 3) == 0 || strncmp(line, "### ", 4) == 0)
			in_table = 0;
		if (!in_table || strncmp(line, "| `", 3) != 0)
			continue;
		last = strrchr(line, '|');
		*last = '\0';
		last = strrchr(line, '|');
		assert_non_null(last);
		write = strncmp(last, "| yes", 5) == 0;
		assert_true(write || strncmp(last, "| no", 4) == 0);
		col_end = strchr(line + 1, '|');
		for (p = line; (p = strchr(p, '`')) && p < col_end; ) {
			char verb[64];
			char *q = strchr(p + 1, '`');
			json_object *a = json_object_new_object();

			assert_non_null(q);
			snprintf(verb, sizeof(verb), "%.*s", (int)(q - p - 1), p + 1);
			p = q + 1;
			json_object_object_add(a, "name", json_object_new_string("nope"));
			assert_int_equal(proto_call(fd, &rb, id++, verb, a, &m, 2000, &err), 0);
			if (write && m.pm_status != PROTO_E_READONLY)
				fail_msg("write verb %s answered %s on the read-only socket",
					 verb, proto_status_name(m.pm_status));
			if (!write && (m.pm_status == PROTO_E_READONLY ||
				       m.pm_status == PROTO_E_UNKNOWN_VERB))
				fail_msg("read verb %s answered %s on the read-only socket",
					 verb, proto_status_name(m.pm_status));
			writes += write;
			reads += !write;
			proto_msg_clear(&m);
		}
	}
	fclose(f);
	close(fd);
	proto_rbuf_free(&rb);
	if (writes < 18 || reads < 8)
		fail_msg("read %d write and %d read verbs from PROTOCOL.md", writes, reads);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, h_setup, h_teardown)
	const struct CMUnitTest tests[] = {
		T(vmctl_define_list_dumpxml_redefines_identically),
		T(vmctl_lifecycle_of_a_test_domain),
		T(vmctl_shutdown_timeout_when_guest_ignores_acpi),
		T(vmctl_shutdown_wait_bounded_by_configured_timeout),
		T(vmxd_records_guest_crash_and_poweroff),
		T(vmxd_lifecycle_actions_from_the_definition),
		T(vmctl_create_makes_a_transient_domain),
		T(vmctl_kvm_start_refused_never_simulated),
		T(vmctl_readonly_socket_refuses_writes),
		T(vmctl_exit_codes_and_json_errors),
		T(vmctl_json_on_every_verb),
		T(vmxd_restart_reattaches_running_vms),
		T(vmxd_kill9_mid_define_leaves_no_half_state),
		T(vmxd_kill9_mid_start_adopts_the_runner),
		T(vmxd_missing_runner_binary_is_an_error),
		T(vmxd_second_daemon_on_the_same_rundir_refused),
		T(vmxd_autostart_at_daemon_start),
		T(vmxd_fifty_concurrent_clients),
		T(vmxd_survives_malformed_and_oversized_frames),
		T(vmxd_events_reach_subscribers),
		T(runner_sim_is_sandboxed),
		T(vmxd_peer_credentials_gate_the_rw_socket),
		T(vmxd_survives_random_requests),
		T(vmctl_job_runs_to_completion_with_progress_events),
		T(vmctl_job_progress_bar_on_a_terminal),
		T(vmctl_job_cancel_leaves_nothing),
		T(vmxd_kill9_mid_job_cleans_up_at_restart),
		T(vmxd_logs_carry_journal_priorities),
		T(vmxd_list_rows_match_objects),
		T(vmxd_readonly_socket_matches_the_protocol_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
