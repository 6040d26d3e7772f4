/*
 * Unit tests of the runners' console server (daemon/runner/console.c):
 * attach handshake, one client at a time and takeover, the ring, the log cap
 * and rotation, input back-pressure, and that a client which does not read
 * never blocks the guest's output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon/runner/console.h"

struct fixture {
	char dir[32], sock[64], log[96];
	struct console con;
};

static int setup(void **state)
{
	static struct fixture f; /* the console is 70 KiB */
	struct vx_err err;

	memset(&f, 0, sizeof(f));
	snprintf(f.dir, sizeof(f.dir), "/tmp/vx-console-XXXXXX");
	if (!mkdtemp(f.dir))
		return -1;
	snprintf(f.sock, sizeof(f.sock), "%s/vm.console", f.dir);
	snprintf(f.log, sizeof(f.log), "%s/vm.console.log", f.dir);
	if (console_open(&f.con, f.sock, NULL, &err) < 0) {
		fprintf(stderr, "console_open: %s\n", err.msg);
		return -1;
	}
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	console_close(&f->con);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	return system(cmd) == 0 ? 0 : -1;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* One turn of a runner's loop: poll what the console asks for, handle it. */
static void pump(struct console *c, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		struct pollfd p[CONSOLE_POLLFDS];
		int n = console_pollfds(c, p, CONSOLE_POLLFDS);

		if (poll(p, (nfds_t)n, 10) > 0)
			console_handle(c, p, n);
	}
}

/* Connects and sends the attach line (flags: "", " force", " replay"...). */
static int client(struct fixture *f, const char *flags)
{
	struct sockaddr_un sun;
	char line[128];
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f->sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	snprintf(line, sizeof(line), "vmxcore-console 1 attach%s\n", flags);
	assert_int_equal(send(fd, line, strlen(line), 0), (ssize_t)strlen(line));
	return fd;
}

/* Reads what arrives within ms (pumping the console meanwhile). */
static size_t drain(struct fixture *f, int fd, char *buf, size_t len, int ms)
{
	size_t got = 0;
	long end = now_ms() + ms;

	while (got + 1 < len && now_ms() < end) {
		ssize_t n = -1;

		pump(&f->con, 1);
		while (got + 1 < len &&
		       (n = recv(fd, buf + got, len - 1 - got, MSG_DONTWAIT)) > 0)
			got += (size_t)n;
		if (n == 0)
			break;
	}
	buf[got] = '\0';
	return got;
}

static void console_attach_replays_and_relays_both_ways(void **state)
{
	struct fixture *f = *state;
	char buf[256];
	int fd;

	console_output(&f->con, "boot line\r\n", 11);
	fd = client(f, " replay");
	drain(f, fd, buf, sizeof(buf), 100);
	assert_string_equal(buf, "ok\nboot line\r\n");
	assert_true(console_attached(&f->con));
	console_output(&f->con, "login: ", 7);
	drain(f, fd, buf, sizeof(buf), 50);
	assert_string_equal(buf, "login: ");
	assert_int_equal(send(fd, "root\r", 5, 0), 5);
	pump(&f->con, 5);
	assert_int_equal(console_input_len(&f->con), 5);
	assert_int_equal(console_take_input(&f->con, buf, 3), 3);
	assert_memory_equal(buf, "roo", 3);
	assert_int_equal(console_take_input(&f->con, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "t\r", 2);
	close(fd);
	pump(&f->con, 5);
	assert_false(console_attached(&f->con));
}

static void console_without_replay_starts_at_new_output(void **state)
{
	struct fixture *f = *state;
	char buf[256];
	int fd;

	console_output(&f->con, "old", 3);
	fd = client(f, "");
	drain(f, fd, buf, sizeof(buf), 50);
	assert_string_equal(buf, "ok\n");
	console_output(&f->con, "new", 3);
	drain(f, fd, buf, sizeof(buf), 50);
	assert_string_equal(buf, "new");
	close(fd);
}

static void console_second_client_refused_unless_force(void **state)
{
	struct fixture *f = *state;
	char buf[512];
	int a, b, c;

	a = client(f, "");
	drain(f, a, buf, sizeof(buf), 50);
	assert_string_equal(buf, "ok\n");
	b = client(f, "");
	drain(f, b, buf, sizeof(buf), 100);
	assert_non_null(strstr(buf, "busy another client is attached"));
	assert_int_equal(recv(b, buf, sizeof(buf), 0), 0); /* and closed */
	close(b);
	c = client(f, " force");
	drain(f, c, buf, sizeof(buf), 50);
	assert_string_equal(buf, "ok\n");
	drain(f, a, buf, sizeof(buf), 50);
	assert_non_null(strstr(buf, "taken over by another client"));
	console_output(&f->con, "x", 1);
	drain(f, c, buf, sizeof(buf), 50);
	assert_string_equal(buf, "x");
	close(a);
	close(c);
}

static void console_bad_hello_is_answered_and_closed(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sun;
	char buf[256];
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f->sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(send(fd, "GET / HTTP/1.0\n", 15, 0), 15);
	drain(f, fd, buf, sizeof(buf), 100);
	assert_true(strncmp(buf, "error ", 6) == 0);
	assert_false(console_attached(&f->con));
	close(fd);
}

static void console_ring_keeps_the_last_64k(void **state)
{
	struct fixture *f = *state;
	static char out[200 * 1024], in[CONSOLE_RING_SIZE + 64];
	size_t got;
	int fd;

	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (char)('a' + i % 26);
	console_output(&f->con, out, 70 * 1024);
	console_output(&f->con, out + 70 * 1024, sizeof(out) - 70 * 1024);
	fd = client(f, " replay");
	got = drain(f, fd, in, sizeof(in), 300);
	assert_int_equal(got, 3 + CONSOLE_RING_SIZE);
	assert_memory_equal(in + 3, out + sizeof(out) - CONSOLE_RING_SIZE,
			    CONSOLE_RING_SIZE);
	close(fd);
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

static void console_log_is_capped_with_one_rotation(void **state)
{
	struct fixture *f = *state;
	char old[160], buf[700];
	struct vx_err err;
	FILE *fp;

	snprintf(old, sizeof(old), "%s.1", f->log);
	f->con.c_log_max = 1000;
	memset(buf, 'a', 600);
	console_output(&f->con, buf, 600);
	assert_int_equal(file_size(f->log), 600);
	memset(buf, 'b', 600);
	console_output(&f->con, buf, 600);      /* 1200 > 1000: rotate first */
	assert_int_equal(file_size(f->log), 600);
	assert_int_equal(file_size(old), 600);
	fp = fopen(old, "r");
	assert_int_equal(fread(buf, 1, sizeof(buf), fp), 600);
	fclose(fp);
	assert_int_equal(buf[0], 'a');
	memset(buf, 'c', 600);
	console_output(&f->con, buf, 600);      /* only one generation kept */
	fp = fopen(old, "r");
	assert_int_equal(fread(buf, 1, sizeof(buf), fp), 600);
	fclose(fp);
	assert_int_equal(buf[599], 'b');
	/* A new runner appends to the log it finds. */
	console_close(&f->con);
	assert_int_equal(console_open(&f->con, f->sock, NULL, &err), 0);
	console_output(&f->con, "d", 1);
	assert_int_equal(file_size(f->log), 601);
	/* A log path may be given. */
	console_close(&f->con);
	snprintf(old, sizeof(old), "%s/other.log", f->dir);
	assert_int_equal(console_open(&f->con, f->sock, old, &err), 0);
	console_output(&f->con, "e", 1);
	assert_int_equal(file_size(old), 1);
}

static void console_slow_client_loses_bytes_but_never_blocks(void **state)
{
	struct fixture *f = *state;
	static char chunk[4096], in[CONSOLE_RING_SIZE * 4];
	long t0;
	size_t got;
	int fd;

	fd = client(f, "");
	pump(&f->con, 3);
	assert_true(console_attached(&f->con));
	/* 8 MiB to a client that reads nothing: far beyond every buffer. */
	t0 = now_ms();
	for (int i = 0; i < 2048; i++) {
		memset(chunk, 'A' + i % 26, sizeof(chunk));
		console_output(&f->con, chunk, sizeof(chunk));
	}
	assert_true(now_ms() - t0 < 2000);
	assert_true(f->con.c_dropped > 0);
	/* What it does get ends with the newest output. */
	got = drain(f, fd, in, sizeof(in), 300);
	assert_true(got > 0);
	assert_int_equal(in[got - 1], 'A' + 2047 % 26);
	close(fd);
}

static void console_input_waits_while_the_guest_does_not_take_it(void **state)
{
	struct fixture *f = *state;
	static char out[10000], in[10000];
	size_t got = 0;
	int fd;

	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (char)(i % 251);
	fd = client(f, "");
	assert_int_equal(send(fd, out, sizeof(out), 0), (ssize_t)sizeof(out));
	pump(&f->con, 10);
	assert_int_equal(console_input_len(&f->con), CONSOLE_IN_MAX);
	for (int i = 0; i < 100 && got < sizeof(in); i++) {
		got += console_take_input(&f->con, in + got, sizeof(in) - got);
		pump(&f->con, 1);
	}
	assert_int_equal(got, sizeof(out));
	assert_memory_equal(in, out, sizeof(out));
	close(fd);
}

static void console_half_closed_client_still_gets_output(void **state)
{
	struct fixture *f = *state;
	char buf[64];
	int fd = client(f, "");

	drain(f, fd, buf, sizeof(buf), 50);
	assert_int_equal(send(fd, "x\n", 2, 0), 2);
	shutdown(fd, SHUT_WR);
	pump(&f->con, 5);
	assert_true(console_attached(&f->con));
	console_output(&f->con, "echo", 4);
	drain(f, fd, buf, sizeof(buf), 50);
	assert_string_equal(buf, "echo");
	close(fd);
	pump(&f->con, 5);
	assert_false(console_attached(&f->con));
	assert_int_equal(console_input_len(&f->con), 2);
}

static void console_path_sits_beside_the_pidfile(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(console_path_from_pidfile("/run/vmxd/vm/u.pid", out,
						   sizeof(out)), 0);
	assert_string_equal(out, "/run/vmxd/vm/u.console");
	assert_int_equal(console_path_from_pidfile("/run/vmxd/vm/u.pid", out, 8),
			 -ENAMETOOLONG);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(console_attach_replays_and_relays_both_ways),
		T(console_without_replay_starts_at_new_output),
		T(console_second_client_refused_unless_force),
		T(console_bad_hello_is_answered_and_closed),
		T(console_ring_keeps_the_last_64k),
		T(console_log_is_capped_with_one_rotation),
		T(console_slow_client_loses_bytes_but_never_blocks),
		T(console_input_waits_while_the_guest_does_not_take_it),
		T(console_half_closed_client_still_gets_output),
		cmocka_unit_test(console_path_sits_beside_the_pidfile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
