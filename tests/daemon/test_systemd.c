/*
 * systemd integration without systemd: vmxd's sd_notify messages on a
 * NOTIFY_SOCKET we own, and socket activation with LISTEN_FDS.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>

#include "tests/daemon/harness.h"

static int bind_unix(const char *path, int type)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, type, 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(fd, 16), 0);
	return fd;
}

/*
 * The notify socket is drained by a thread from start to end, as systemd
 * does: a datagram socket queues only net.unix.max_dgram_qlen (10)
 * messages, and vmxd, pinging the watchdog every 50 ms, would block in
 * sd_notify while the test waits on vmctl or on vmxd's exit. Messages go
 * into one newline-separated log; repeated WATCHDOG=1 pings are kept once.
 */
struct notify_log {
	int fd;
	int stop;
	size_t n;
	char buf[16384];
	pthread_mutex_t lock;
	pthread_t thread;
};

static void *notify_drain(void *opaque)
{
	struct notify_log *l = opaque;
	char msg[4096];

	while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd p = { l->fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&p, 1, 20) <= 0)
			continue;
		r = recv(l->fd, msg, sizeof(msg) - 1, 0);
		if (r <= 0)
			continue;
		msg[r] = '\0';
		pthread_mutex_lock(&l->lock);
		if ((strcmp(msg, "WATCHDOG=1") || !strstr(l->buf, "WATCHDOG=1")) &&
		    l->n + (size_t)r + 2 < sizeof(l->buf)) {
			memcpy(l->buf + l->n, msg, (size_t)r);
			l->n += (size_t)r;
			l->buf[l->n++] = '\n';
			l->buf[l->n] = '\0';
		}
		pthread_mutex_unlock(&l->lock);
	}
	return NULL;
}

/* Waits ms, then copies what the socket said so far into buf. */
static void collect(struct notify_log *l, char *buf, size_t len, int ms)
{
	usleep((useconds_t)ms * 1000);
	pthread_mutex_lock(&l->lock);
	snprintf(buf, len, "%s", l->buf);
	pthread_mutex_unlock(&l->lock);
}

static void vmxd_notifies_ready_status_watchdog_stopping(void **state)
{
	struct env e;
	char path[200], buf[16384] = "", out[4096];
	static struct notify_log l;

	(void)state;
	memset(&e, 0, sizeof(e));
	snprintf(e.dir, sizeof(e.dir), "/tmp/vmxd-sd-XXXXXX");
	assert_non_null(mkdtemp(e.dir));
	snprintf(e.rw, sizeof(e.rw), "%s/rw.sock", e.dir);
	snprintf(e.ro, sizeof(e.ro), "%s/ro.sock", e.dir);
	snprintf(e.db, sizeof(e.db), "%s/vmxd.db", e.dir);
	snprintf(e.run, sizeof(e.run), "%s/run", e.dir);
	snprintf(e.log, sizeof(e.log), "%s/vmxd.log", e.dir);
	snprintf(path, sizeof(path), "%s/notify", e.dir);
	l.fd = bind_unix(path, SOCK_DGRAM);
	pthread_mutex_init(&l.lock, NULL);
	assert_int_equal(pthread_create(&l.thread, NULL, notify_drain, &l), 0);
	setenv("NOTIFY_SOCKET", path, 1);
	setenv("WATCHDOG_USEC", "100000", 1);
	assert_true(h_vmxd_start(&e, NULL) > 0);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	collect(&l, buf, sizeof(buf), 300);
	assert_non_null(strstr(buf, "READY=1"));
	assert_non_null(strstr(buf, "STATUS=0 domains running"));
	assert_non_null(strstr(buf, "WATCHDOG=1"));
	assert_int_equal(CTL(&e, out, "define %s", h_xml(&e, "sd", "test", NULL)), 0);
	assert_int_equal(CTL(&e, out, "start sd"), 0);
	collect(&l, buf, sizeof(buf), 100);
	assert_non_null(strstr(buf, "STATUS=1 domain running"));
	assert_int_equal(CTL(&e, out, "destroy sd"), 0);
	h_vmxd_stop(&e, SIGTERM);
	collect(&l, buf, sizeof(buf), 100);
	assert_non_null(strstr(buf, "STOPPING=1"));
	__atomic_store_n(&l.stop, 1, __ATOMIC_RELEASE);
	pthread_join(l.thread, NULL);
	close(l.fd);
	h_env_destroy(&e);
}

static void vmxd_uses_activated_sockets(void **state)
{
	struct env e;
	char out[4096];
	int rw, ro, st;
	pid_t pid;

	(void)state;
	memset(&e, 0, sizeof(e));
	snprintf(e.dir, sizeof(e.dir), "/tmp/vmxd-sa-XXXXXX");
	assert_non_null(mkdtemp(e.dir));
	snprintf(e.rw, sizeof(e.rw), "%s/activated-rw.sock", e.dir);
	snprintf(e.ro, sizeof(e.ro), "%s/activated-ro.sock", e.dir);
	snprintf(e.db, sizeof(e.db), "%s/vmxd.db", e.dir);
	snprintf(e.run, sizeof(e.run), "%s/run", e.dir);
	snprintf(e.log, sizeof(e.log), "%s/vmxd.log", e.dir);
	/* Passed in the order ro, rw: names, not positions, tell them apart. */
	ro = bind_unix(e.ro, SOCK_STREAM);
	rw = bind_unix(e.rw, SOCK_STREAM);
	pid = fork();
	if (pid == 0) {
		char n[16], cfg[300], unused_rw[200], unused_ro[200];
		int logfd = open(e.log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		dup2(logfd, 2);
		dup2(ro, 3);
		dup2(rw, 4);
		snprintf(n, sizeof(n), "%d", (int)getpid());
		setenv("LISTEN_PID", n, 1);
		setenv("LISTEN_FDS", "2", 1);
		setenv("LISTEN_FDNAMES", "ro:rw", 1);
		snprintf(unused_rw, sizeof(unused_rw), "%s/unused-rw.sock", e.dir);
		snprintf(unused_ro, sizeof(unused_ro), "%s/unused-ro.sock", e.dir);
		snprintf(cfg, sizeof(cfg), "%s", e.db);
		execl(BINDIR "/vmxd", "vmxd", "--socket", unused_rw, "--socket-ro",
		      unused_ro, "--database", cfg, "--rundir", e.run, (char *)NULL);
		_exit(127);
	}
	close(ro);
	close(rw);
	e.vmxd = pid;
	assert_int_equal(CTL(&e, out, "define %s", h_xml(&e, "act", "test", NULL)), 0);
	assert_int_equal(CTL(&e, out, "-r define %s", h_xml(&e, "act", "test", NULL)), 4);
	assert_int_equal(CTL(&e, out, "-r list --all"), 0);
	assert_non_null(strstr(out, "act"));
	snprintf(out, sizeof(out), "%s/unused-rw.sock", e.dir);
	assert_int_equal(access(out, F_OK), -1);
	st = h_vmxd_stop(&e, SIGTERM);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	h_env_destroy(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(vmxd_notifies_ready_status_watchdog_stopping),
		cmocka_unit_test(vmxd_uses_activated_sockets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
