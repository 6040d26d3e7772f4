/*
 * harness: a real vmxd on a temporary socket pair, database and run
 * directory, driven through the real vmctl. Included by the integration
 * tests (tests/daemon/test_vmxd*.c); BINDIR points at this BUILD's binaries.
 */
#ifndef TEST_HARNESS_H
#define TEST_HARNESS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef BINDIR
#define BINDIR "build/bin"
#endif

struct env {
	char dir[64];
	char rw[128], ro[128], db[128], run[128], log[128];
	char conf[128];   /* passed with -f when set */
	pid_t vmxd;
};

static __attribute__((unused)) void h_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static __attribute__((unused)) int h_can_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), ok;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return ok;
}

/* Starts vmxd; crash names a VMXD_TEST_CRASH point or is NULL. */
static __attribute__((unused)) pid_t h_vmxd_start(struct env *e, const char *crash)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(e->log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		dup2(fd, 2);
		dup2(fd, 1);
		if (crash)
			setenv("VMXD_TEST_CRASH", crash, 1);
		if (e->conf[0])
			execl(BINDIR "/vmxd", "vmxd", "-d", "-f", e->conf, "--socket",
			      e->rw, "--socket-ro", e->ro, "--database", e->db,
			      "--rundir", e->run, (char *)NULL);
		else
			execl(BINDIR "/vmxd", "vmxd", "-d", "--socket", e->rw,
			      "--socket-ro", e->ro, "--database", e->db, "--rundir",
			      e->run, (char *)NULL);
		_exit(127);
	}
	e->vmxd = pid;
	/* Ready when the read-only socket (bound last) answers. */
	for (int i = 0; i < 1000; i++) {
		int st;

		if (h_can_connect(e->ro) && h_can_connect(e->rw))
			return pid;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			e->vmxd = 0;
			return -1;
		}
		h_sleep_ms(10);
	}
	return -1;
}

/*
 * Waits up to ms for a vmxd started with a crash point to die there;
 * returns its wait status, or -1 after killing one that never reached
 * the point (the request failed first): the test fails, it never hangs.
 */
static __attribute__((unused)) int h_vmxd_await_crash(struct env *e, int ms)
{
	int st = -1;

	for (int i = 0; i < ms / 10; i++) {
		if (waitpid(e->vmxd, &st, WNOHANG) == e->vmxd) {
			e->vmxd = 0;
			return st;
		}
		h_sleep_ms(10);
	}
	fprintf(stderr, "# vmxd never reached its crash point in %d ms: killed\n", ms);
	kill(e->vmxd, SIGKILL);
	waitpid(e->vmxd, NULL, 0);
	e->vmxd = 0;
	return -1;
}

/* SIGTERM (or sig) and wait; returns the wait status. */
static __attribute__((unused)) int h_vmxd_stop(struct env *e, int sig)
{
	int st = -1;

	if (e->vmxd <= 0)
		return -1;
	kill(e->vmxd, sig);
	waitpid(e->vmxd, &st, 0);
	e->vmxd = 0;
	/* The sockets are gone only when vmxd cleaned up; a killed one leaves them. */
	return st;
}

static __attribute__((unused)) int h_env_init(struct env *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/vmxd-it-XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	snprintf(e->rw, sizeof(e->rw), "%s/rw.sock", e->dir);
	snprintf(e->ro, sizeof(e->ro), "%s/ro.sock", e->dir);
	snprintf(e->db, sizeof(e->db), "%s/vmxd.db", e->dir);
	snprintf(e->run, sizeof(e->run), "%s/run", e->dir);
	snprintf(e->log, sizeof(e->log), "%s/vmxd.log", e->dir);
	return h_vmxd_start(e, NULL) > 0 ? 0 : -1;
}

/* Kills every runner this env started (their pidfiles), then removes it. */
static __attribute__((unused)) void h_env_destroy(struct env *e)
{
	char path[300], cmd[200];
	struct dirent *de;
	DIR *d;

	if (e->vmxd > 0)
		h_vmxd_stop(e, SIGTERM);
	snprintf(path, sizeof(path), "%s/vm", e->run);
	if ((d = opendir(path))) {
		while ((de = readdir(d))) {
			char pf[600];
			FILE *f;
			int pid = 0;

			if (!strstr(de->d_name, ".pid"))
				continue;
			snprintf(pf, sizeof(pf), "%s/%s", path, de->d_name);
			if ((f = fopen(pf, "r"))) {
				if (fscanf(f, "%d", &pid) == 1 && pid > 1)
					kill(pid, SIGKILL);
				fclose(f);
			}
		}
		closedir(d);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", e->dir);
}

/*
 * Runs vmctl -c <rw socket> with the space-separated arguments; stdout and
 * stderr go to out. Returns vmctl's exit code.
 */
static __attribute__((unused)) int h_ctl(struct env *e, char *out, size_t outlen, const char *fmt, ...)
{
	char line[1024], *argv[32], *tok, *save;
	int argc = 0, p[2], st;
	size_t n = 0;
	ssize_t r;
	va_list ap;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	argv[argc++] = "vmctl";
	argv[argc++] = "-c";
	argv[argc++] = e->rw;
	for (tok = strtok_r(line, " ", &save); tok && argc < 31;
	     tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		setenv("VMCTL_SOCKET_RO", e->ro, 1);
		execv(BINDIR "/vmctl", argv);
		_exit(127);
	}
	close(p[1]);
	while (out && n + 1 < outlen && (r = read(p[0], out + n, outlen - 1 - n)) > 0)
		n += (size_t)r;
	if (out)
		out[n] = '\0';
	else
		while (read(p[0], line, sizeof(line)) > 0)
			;
	close(p[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * Writes a domain XML into the env dir; extra goes before <devices>.
 * Returns its path (static buffer).
 */
static __attribute__((unused)) const char *h_xml_extra(struct env *e, const char *name, const char *type,
			       const char *cmdline, const char *extra)
{
	static char path[200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.xml", e->dir, name);
	f = fopen(path, "w");
	fprintf(f, "<domain type='%s'>\n  <name>%s</name>\n"
		"  <memory unit='MiB'>64</memory>\n  <vcpu>1</vcpu>\n"
		"  <os><type arch='x86_64'>hvm</type><kernel>/boot/k</kernel>"
		"<cmdline>%s</cmdline></os>\n%s"
		"  <devices><disk type='file'><source file='/img/%s.raw'/>"
		"<target dev='vda'/></disk></devices>\n</domain>\n",
		type, name, cmdline ? cmdline : "console=ttyS0", extra, name);
	fclose(f);
	return path;
}

static __attribute__((unused)) const char *h_xml(struct env *e, const char *name, const char *type,
			 const char *cmdline)
{
	return h_xml_extra(e, name, type, cmdline, "");
}

/* Polls dominfo until the state line matches or ms pass. */
static __attribute__((unused)) int h_wait_state(struct env *e, const char *name, const char *state, int ms)
{
	char out[4096], want[64];

	snprintf(want, sizeof(want), "State          %s\n", state);
	for (int t = 0; t < ms; t += 20) {
		if (h_ctl(e, out, sizeof(out), "dominfo %s", name) == 0 &&
		    strstr(out, want))
			return 0;
		h_sleep_ms(20);
	}
	return -1;
}

static __attribute__((unused)) int h_runner_pid(struct env *e, const char *name)
{
	char out[4096], *p;

	if (h_ctl(e, out, sizeof(out), "dominfo %s", name) != 0)
		return -1;
	p = strstr(out, "Runner pid");
	return p ? atoi(p + strlen("Runner pid")) : -1;
}


/* cmocka group fixtures: a vmxd of its own for each test. */
static __attribute__((unused)) int h_setup(void **state)
{
	struct env *e = malloc(sizeof(*e));

	if (!e || h_env_init(e) < 0) {
		fprintf(stderr, "cannot start vmxd\n");
		free(e);
		return -1;
	}
	*state = e;
	return 0;
}

/* vmxd must stop cleanly (under ASan that is also the leak check); its
 * log's tail is shown when it does not. */
static __attribute__((unused)) int h_teardown(void **state)
{
	struct env *e = *state;
	int st = 0, rc = 0;

	if (e->vmxd > 0) {
		st = h_vmxd_stop(e, SIGTERM);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			char cmd[200];

			fprintf(stderr, "vmxd did not stop cleanly (status %#x); its log:\n", st);
			snprintf(cmd, sizeof(cmd), "tail -n 40 %s >&2", e->log);
			if (system(cmd) != 0)
				fprintf(stderr, "(no log)\n");
			rc = -1;
		}
	}
	h_env_destroy(e);
	free(e);
	return rc;
}

#define CTL(e, out, ...) h_ctl((e), (out), sizeof(out), __VA_ARGS__)

#endif
