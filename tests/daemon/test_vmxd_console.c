/*
 * Integration tests of `vmctl console`: a real vmxd and vmxd-runner-sim
 * (whose console prints a simulated banner and echoes lines), driven through
 * the real vmctl with a pipe (or, for the interactive mode, script(1)'s pty)
 * on its standard input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "tests/daemon/harness.h"

#define BANNER "vmxcore simulation runner: no guest code runs"
#define VCON_TAIL (80 * 1024)   /* more than console-log's 64 KiB default */


/* A vmctl running in the background with pipes on stdin and stdout. */
struct bg {
	pid_t pid;
	int in, out;   /* our ends */
};

static void bg_start(struct env *e, struct bg *b, const char *args)
{
	int pin[2], pout[2];
	char cmd[600];

	assert_int_equal(pipe2(pin, O_CLOEXEC), 0);
	assert_int_equal(pipe2(pout, O_CLOEXEC), 0);
	b->pid = fork();
	if (b->pid == 0) {
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		dup2(pout[1], 2);
		close(pin[1]);
		close(pout[0]);
		setenv("VMCTL_SOCKET_RO", e->ro, 1);
		snprintf(cmd, sizeof(cmd), "exec " BINDIR "/vmctl -c %s %s", e->rw, args);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	b->in = pin[1];
	b->out = pout[0];
}

/* Reads b's output into buf until want appears, EOF or ms pass. */
static int bg_read_until(struct bg *b, char *buf, size_t len, size_t *got,
			 const char *want, int ms)
{
	for (int t = 0; t < ms; t += 10) {
		struct pollfd p = { b->out, POLLIN, 0 };
		ssize_t n;

		if (want && strstr(buf, want))
			return 0;
		if (poll(&p, 1, 10) <= 0)
			continue;
		n = read(b->out, buf + *got, len - 1 - *got);
		if (n <= 0)
			break;
		*got += (size_t)n;
		buf[*got] = '\0';
	}
	return want && strstr(buf, want) ? 0 : -1;
}

/* Closes stdin, reads the rest, returns the exit code (killed after 10 s). */
static int bg_finish(struct bg *b, char *buf, size_t len, size_t *got)
{
	int st, t;

	close(b->in);
	bg_read_until(b, buf, len, got, NULL, 5000);
	close(b->out);
	for (t = 0; t < 5000 && waitpid(b->pid, &st, WNOHANG) == 0; t += 10)
		h_sleep_ms(10);
	if (t >= 5000) {
		kill(b->pid, SIGKILL);
		waitpid(b->pid, &st, 0);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* vmctl with input on a pipe (closed after it); output in out. */
static int console_pipe(struct env *e, const char *input, char *out, size_t len,
			const char *args)
{
	struct bg b;
	size_t got = 0;

	out[0] = '\0';
	bg_start(e, &b, args);
	if (*input)
		assert_int_equal(write(b.in, input, strlen(input)), (ssize_t)strlen(input));
	return bg_finish(&b, out, len, &got);
}

static void start_vm(struct env *e, const char *name)
{
	char out[4096];

	assert_int_equal(CTL(e, out, "define %s", h_xml(e, name, "test", NULL)), 0);
	assert_int_equal(CTL(e, out, "start %s", name), 0);
}

static void vmctl_console_pipe_sees_the_banner_and_its_echo(void **state)
{
	struct env *e = *state;
	char out[16384];

	start_vm(e, "vm");
	assert_int_equal(console_pipe(e, "hello console\n", out, sizeof(out),
				      "console vm --timeout 1"), 0);
	assert_non_null(strstr(out, BANNER));
	assert_non_null(strstr(out, "vm (vmxcore simulation) login: "));
	assert_non_null(strstr(out, "sim echo: hello console"));
	/* Without --timeout, the end of input ends the session at once. */
	assert_int_equal(console_pipe(e, "", out, sizeof(out), "console vm"), 0);
	/* The console is free again for the next client. */
	assert_int_equal(console_pipe(e, "again\n", out, sizeof(out),
				      "console vm --timeout 1"), 0);
	assert_non_null(strstr(out, "sim echo: again"));
}

static void vmctl_console_second_client_refused_and_force_takes_over(void **state)
{
	struct env *e = *state;
	char first[32768], out[16384];
	size_t got = 0;
	struct bg b;

	start_vm(e, "vm");
	first[0] = '\0';
	bg_start(e, &b, "console vm");
	assert_int_equal(bg_read_until(&b, first, sizeof(first), &got, "login: ", 5000), 0);
	assert_int_equal(console_pipe(e, "", out, sizeof(out), "console vm --timeout 1"), 8);
	assert_non_null(strstr(out, "another client is attached to this console; use --force"));
	assert_int_equal(console_pipe(e, "", out, sizeof(out),
				      "--json console vm --timeout 1"), 8);
	assert_non_null(strstr(out, "\"status\": \"state\""));
	/* The first client is still attached and still works. */
	assert_int_equal(write(b.in, "first\n", 6), 6);
	assert_int_equal(bg_read_until(&b, first, sizeof(first), &got,
				       "sim echo: first", 5000), 0);
	assert_int_equal(console_pipe(e, "second\n", out, sizeof(out),
				      "console vm --force --timeout 1"), 0);
	assert_non_null(strstr(out, "sim echo: second"));
	/* The first one was told, and ended (exit 0: the console closed). */
	assert_int_equal(bg_read_until(&b, first, sizeof(first), &got,
				       "console taken over by another client", 5000), 0);
	assert_int_equal(bg_finish(&b, first, sizeof(first), &got), 0);
	assert_null(strstr(first, "sim echo: second"));
}

/* The bytes flow between vmctl and the runner: vmxd may go away meanwhile. */
static void vmctl_console_session_survives_a_vmxd_restart(void **state)
{
	struct env *e = *state;
	char buf[32768], out[4096];
	size_t got = 0;
	struct bg b;

	start_vm(e, "keep");
	buf[0] = '\0';
	bg_start(e, &b, "console keep");
	assert_int_equal(bg_read_until(&b, buf, sizeof(buf), &got, "login: ", 5000), 0);
	h_vmxd_stop(e, SIGTERM);
	assert_int_equal(write(b.in, "still here\n", 11), 11);
	assert_int_equal(bg_read_until(&b, buf, sizeof(buf), &got,
				       "sim echo: still here", 5000), 0);
	assert_true(h_vmxd_start(e, NULL) > 0);
	assert_int_equal(h_wait_state(e, "keep", "running", 3000), 0);
	/* Still the one client: a second one is refused. */
	assert_int_equal(console_pipe(e, "", out, sizeof(out), "console keep"), 8);
	assert_int_equal(bg_finish(&b, buf, sizeof(buf), &got), 0);
	assert_int_equal(CTL(e, out, "destroy keep"), 0);
}

static void vmctl_console_show_log_without_attaching(void **state)
{
	struct env *e = *state;
	char out[65536], path[300], uuid[64] = "";
	json_object *o, *v;
	FILE *f;

	start_vm(e, "vm");
	assert_int_equal(console_pipe(e, "logged line\n", out, sizeof(out),
				      "console vm --timeout 1"), 0);
	assert_int_equal(CTL(e, out, "console vm --show-log"), 0);
	assert_non_null(strstr(out, BANNER));
	assert_non_null(strstr(out, "sim echo: logged line"));
	/* The read-only socket may read the log. */
	assert_int_equal(CTL(e, out, "-r --json console vm --show-log"), 0);
	o = json_tokener_parse(out);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "domain", &v));
	assert_string_equal(json_object_get_string(v), "vm");
	assert_true(json_object_object_get_ex(o, "log", &v));
	assert_non_null(strstr(json_object_get_string(v), BANNER));
	json_object_put(o);
	/* After the domain stops the log stays, with how it ended. */
	assert_int_equal(CTL(e, out, "--json dominfo vm"), 0);
	o = json_tokener_parse(out);
	assert_true(json_object_object_get_ex(o, "uuid", &v));
	snprintf(uuid, sizeof(uuid), "%s", json_object_get_string(v));
	json_object_put(o);
	assert_int_equal(CTL(e, out, "destroy vm"), 0);
	assert_int_equal(h_wait_state(e, "vm", "shutoff", 2000), 0);
	assert_int_equal(CTL(e, out, "console vm --show-log"), 0);
	assert_non_null(strstr(out, "sim: simulated power down"));
	snprintf(path, sizeof(path), "%s/vm/%s.console", e->run, uuid);
	assert_int_not_equal(access(path, F_OK), 0);   /* the socket is gone */
	/* Bytes that are not UTF-8 still come back as valid JSON. */
	snprintf(path, sizeof(path), "%s/vm/%s.console.log", e->run, uuid);
	f = fopen(path, "a");
	assert_non_null(f);
	fputs("\xff\xfe raw \xc3(\n", f);
	fclose(f);
	assert_int_equal(CTL(e, out, "--json console vm --show-log"), 0);
	o = json_tokener_parse(out);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "log", &v));
	assert_non_null(strstr(json_object_get_string(v), "\xef\xbf\xbd\xef\xbf\xbd raw \xef\xbf\xbd("));
	json_object_put(o);
	/* A domain that never ran has an empty log. */
	assert_int_equal(CTL(e, out, "define %s", h_xml(e, "quiet", "test", NULL)), 0);
	assert_int_equal(CTL(e, out, "--json console quiet --show-log"), 0);
	assert_non_null(strstr(out, "\"log\": \"\""));
}

static void vmctl_console_refusals_and_exit_codes(void **state)
{
	struct env *e = *state;
	char out[4096];

	assert_int_equal(CTL(e, out, "define %s", h_xml(e, "off", "test", NULL)), 0);
	assert_int_equal(console_pipe(e, "", out, sizeof(out), "console off"), 8);
	assert_non_null(strstr(out, "domain 'off' is not running"));
	assert_int_equal(console_pipe(e, "", out, sizeof(out), "console nope"), 5);
	assert_non_null(strstr(out, "domain 'nope' not found"));
	assert_int_equal(console_pipe(e, "", out, sizeof(out), "console nope --show-log"), 5);
	start_vm(e, "on");
	assert_int_equal(console_pipe(e, "", out, sizeof(out), "-r console on"), 4);
	assert_non_null(strstr(out, "'console' changes state and is refused on the read-only socket"));
	assert_int_equal(console_pipe(e, "", out, sizeof(out), "console"), 1);
	assert_int_equal(console_pipe(e, "", out, sizeof(out), "console on --bogus"), 1);
	assert_int_equal(console_pipe(e, "", out, sizeof(out), "console on --show-log --force"), 1);
	/* Paused: attaching works; input waits until the guest runs again. */
	assert_int_equal(CTL(e, out, "suspend on"), 0);
	assert_int_equal(console_pipe(e, "while paused\n", out, sizeof(out),
				      "console on --timeout 1"), 0);
	assert_null(strstr(out, "sim echo: while paused"));
	assert_int_equal(CTL(e, out, "resume on"), 0);
	assert_int_equal(console_pipe(e, "", out, sizeof(out), "console on --timeout 1"), 0);
	assert_non_null(strstr(out, "sim echo: while paused"));
	assert_int_equal(CTL(e, out, "destroy on"), 0);
}

/*
 * Over 1 MiB of console output rotates the log inside the runner's seccomp
 * sandbox (a syscall missing from the allow-list would kill it).
 */
static void vmctl_console_log_rotates_inside_the_sandbox(void **state)
{
	struct env *e = *state;
	static char tail[VCON_TAIL];
	char out[4096], in[200], args[400], path[300], uuid[64];
	json_object *o, *v;
	struct stat st;
	FILE *f;

	start_vm(e, "rot");
	snprintf(in, sizeof(in), "%s/lines", e->dir);
	f = fopen(in, "w");
	assert_non_null(f);
	for (int i = 0; i < 3000; i++)
		fprintf(f, "%04d %0195d\n", i, 0);
	fclose(f);
	snprintf(args, sizeof(args), "console rot --timeout 3 < %s > /dev/null", in);
	assert_int_equal(console_pipe(e, "", out, sizeof(out), args), 0);
	/* The echo of every line is in the log (the session may end first). */
	for (int t = 0; t < 10000; t += 50) {
		if (CTL(e, tail, "console rot --show-log") == 0 &&
		    strstr(tail, "sim echo: 2999 "))
			break;
		h_sleep_ms(50);
	}
	assert_non_null(strstr(tail, "sim echo: 2999 "));
	assert_int_equal(CTL(e, out, "--json dominfo rot"), 0);
	assert_non_null(strstr(out, "\"state\": \"running\""));
	o = json_tokener_parse(out);
	assert_true(json_object_object_get_ex(o, "uuid", &v));
	snprintf(uuid, sizeof(uuid), "%s", json_object_get_string(v));
	json_object_put(o);
	snprintf(path, sizeof(path), "%s/vm/%s.console.log.1", e->run, uuid);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 512 * 1024);
	assert_true(st.st_size <= 1024 * 1024);
	assert_int_equal(CTL(e, out, "destroy rot"), 0);
}

/* On a terminal (script(1) gives vmctl a pty): banner, echo, ^] detaches. */
static void vmctl_console_on_a_terminal_detaches_with_ctrl_bracket(void **state)
{
	struct env *e = *state;
	char cmd[800], out[16384];
	size_t n;
	FILE *p;

	if (access("/usr/bin/script", X_OK) != 0) {
		skip();
		return;
	}
	start_vm(e, "tty");
	snprintf(cmd, sizeof(cmd), "(sleep 1; printf 'typed\\r'; sleep 0.5; printf '\\035';"
		 " sleep 2) | script -qec '" BINDIR "/vmctl -c %s console tty; echo vmctl-exit=$?;"
		 " stty -a | tr \" \" \"\\n\" | grep -x -- -*icanon' /dev/null", e->rw);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	pclose(p);
	assert_non_null(strstr(out, "Connected to domain 'tty'"));
	assert_non_null(strstr(out, "Escape character is ^]"));
	assert_non_null(strstr(out, "sim echo: typed"));
	assert_non_null(strstr(out, "vmctl-exit=0"));
	assert_non_null(strstr(out, "\nicanon"));   /* the terminal is cooked again */
	/* Interactive sessions start at new output: no replayed banner. */
	assert_null(strstr(out, BANNER));
	/* And the console is free again. */
	assert_int_equal(console_pipe(e, "", out, sizeof(out), "console tty --timeout 1"), 0);
	assert_non_null(strstr(out, BANNER));
}

/* Killed in raw mode: the terminal is restored all the same. */
static void vmctl_console_restores_the_terminal_when_killed(void **state)
{
	struct env *e = *state;
	char cmd[1200], out[16384], pidf[200];
	size_t n;
	FILE *p;

	if (access("/usr/bin/script", X_OK) != 0) {
		skip();
		return;
	}
	start_vm(e, "kill");
	snprintf(pidf, sizeof(pidf), "%s/vmctl.pid", e->dir);
	snprintf(cmd, sizeof(cmd), "sleep 4 | script -qec '(sleep 1.5; kill -TERM $(cat %s)) &"
		 " sh -c \"echo \\$\\$ > %s; exec " BINDIR "/vmctl -c %s console kill\";"
		 " echo vmctl-status=$?; stty -a | tr \" \" \"\\n\" | grep -x -- -*icanon'"
		 " /dev/null", pidf, pidf, e->rw);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	pclose(p);
	assert_non_null(strstr(out, "Escape character is ^]"));
	assert_non_null(strstr(out, "vmctl-status=143"));   /* died of SIGTERM */
	assert_non_null(strstr(out, "\nicanon"));
	assert_null(strstr(out, "-icanon"));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, h_setup, h_teardown)
	const struct CMUnitTest tests[] = {
		T(vmctl_console_pipe_sees_the_banner_and_its_echo),
		T(vmctl_console_second_client_refused_and_force_takes_over),
		T(vmctl_console_session_survives_a_vmxd_restart),
		T(vmctl_console_show_log_without_attaching),
		T(vmctl_console_refusals_and_exit_codes),
		T(vmctl_console_log_rotates_inside_the_sandbox),
		T(vmctl_console_on_a_terminal_detaches_with_ctrl_bracket),
		T(vmctl_console_restores_the_terminal_when_killed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
