/*
 * cmd_console: `vmctl console DOMAIN`, the guest's serial console.
 *
 * vmxd answers the console verb with a descriptor connected to the runner's
 * console (PROTOCOL.md); its first line is the runner's "ok" or refusal,
 * then guest bytes flow both ways on it without vmxd. On a terminal the
 * session is interactive: raw mode, Ctrl-] (0x1d) detaches, and the
 * terminal is restored on every way out (exit, atexit, fatal signals).
 * Otherwise it is a pipe for scripts: stdin goes to the guest, guest output
 * (starting with what the runner still holds) to stdout, until either side
 * ends or --timeout.
 */
#include "cli/ctl.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define CTL_CONSOLE_ESCAPE 0x1d   /* Ctrl-], as virsh and telnet */

/* ---- the terminal ---- */

static struct termios ctl_tty_saved;
static volatile sig_atomic_t ctl_tty_is_raw;

static void ctl_tty_restore(void)
{
	if (ctl_tty_is_raw) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &ctl_tty_saved);
		ctl_tty_is_raw = 0;
	}
}

/* Restores the terminal, then dies of the signal as if never caught. */
static void ctl_tty_signal(int sig)
{
	ctl_tty_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int ctl_tty_raw(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT };
	struct termios raw;

	if (tcgetattr(STDIN_FILENO, &ctl_tty_saved) < 0)
		return -errno;
	atexit(ctl_tty_restore);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], ctl_tty_signal);
	raw = ctl_tty_saved;
	cfmakeraw(&raw);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) < 0)
		return -errno;
	ctl_tty_is_raw = 1;
	return 0;
}

/* ---- the byte pump ---- */

struct ctl_relay {
	int con;                 /* the console connection */
	int tty;                 /* interactive: escape key, raw terminal */
	long deadline;           /* monotonic ms, 0: none */
	int in_eof;
	int shut;                /* our write side of con is shut */
	char to_con[4096];       /* stdin bytes the console has not taken */
	size_t to_con_len;
};

static long ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int ctl_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Reads stdin into to_con. Returns 1 when the user pressed the escape key
 * (the bytes before it are still sent), -1 on a read error, else 0.
 */
static int ctl_relay_stdin(struct ctl_relay *r)
{
	ssize_t n = read(STDIN_FILENO, r->to_con, sizeof(r->to_con));
	char *esc;

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0) {
		r->in_eof = 1;
		return 0;
	}
	r->to_con_len = (size_t)n;
	if (r->tty && (esc = memchr(r->to_con, CTL_CONSOLE_ESCAPE, (size_t)n))) {
		r->to_con_len = (size_t)(esc - r->to_con);
		ctl_write_all(r->con, r->to_con, r->to_con_len);
		return 1;
	}
	return 0;
}

static int ctl_relay_to_con(struct ctl_relay *r)
{
	ssize_t n = send(r->con, r->to_con, r->to_con_len,
			 MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
		return 1; /* the runner is gone: the console ended */
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	memmove(r->to_con, r->to_con + n, r->to_con_len - (size_t)n);
	r->to_con_len -= (size_t)n;
	return 0;
}

/* Guest output to stdout. Returns 1 at the console's end, -1 on errors. */
static int ctl_relay_from_con(struct ctl_relay *r)
{
	char buf[16384];
	ssize_t n = recv(r->con, buf, sizeof(buf), 0);

	/* A runner that died with our input unread resets: an end too. */
	if (n == 0 || (n < 0 && errno == ECONNRESET))
		return 1;
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	return ctl_write_all(STDOUT_FILENO, buf, (size_t)n) < 0 ? -1 : 0;
}

/*
 * Pumps until detach, the console's end, the end of input (without a
 * deadline; with one, output is read until it) or the deadline.
 */
static int ctl_relay_run(struct ctl_relay *r)
{
	for (;;) {
		struct pollfd p[2];
		int wait = -1, rc = 0;

		if (r->in_eof && !r->to_con_len && !r->shut) {
			if (!r->deadline)
				return 0;
			shutdown(r->con, SHUT_WR); /* no more input; output still comes */
			r->shut = 1;
		}
		if (r->deadline) {
			long left = r->deadline - ctl_now_ms();

			if (left <= 0)
				return 0;
			wait = (int)left;
		}
		p[0].fd = r->in_eof || r->to_con_len ? -1 : STDIN_FILENO;
		p[0].events = POLLIN;
		p[1].fd = r->con;
		p[1].events = POLLIN | (r->to_con_len ? POLLOUT : 0);
		if (poll(p, 2, wait) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
			rc = ctl_relay_from_con(r);
		if (rc == 0 && (p[1].revents & POLLOUT))
			rc = ctl_relay_to_con(r);
		if (rc == 0 && (p[0].revents & (POLLIN | POLLHUP)))
			rc = ctl_relay_stdin(r);
		if (rc != 0)
			return rc < 0 ? -1 : 0;
	}
}

/* ---- attaching ---- */

/*
 * The runner's first line on the console: "ok", or why not. Returns an exit
 * code (errors printed).
 */
static int ctl_console_answer(struct ctl_opts *o, int con)
{
	char line[512];
	size_t len = 0;
	struct pollfd p = { con, POLLIN, 0 };

	while (len + 1 < sizeof(line)) {
		ssize_t n;

		if (poll(&p, 1, o->timeout_ms) == 0) {
			ctl_print_error(o, "timeout", "the runner did not answer on the console");
			return CTL_EXIT_TIMEOUT;
		}
		n = recv(con, line + len, 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	if (strcmp(line, "ok") == 0)
		return CTL_EXIT_OK;
	if (strncmp(line, "busy ", 5) == 0) {
		ctl_print_error(o, "state", line + 5);
		return CTL_EXIT_STATE;
	}
	ctl_print_error(o, "protocol", len ? line : "the console closed before it answered");
	return CTL_EXIT_PROTO;
}

/* The console verb: a descriptor connected to the runner, or -exit code. */
static int ctl_console_open(struct ctl_opts *o, const char *name, int force,
			    int replay)
{
	json_object *args = json_object_new_object();
	struct proto_rbuf rb;
	struct proto_msg resp;
	struct vx_err err;
	int fd, con = -1, rc;

	json_object_object_add(args, "name", json_object_new_string(name));
	json_object_object_add(args, "force", json_object_new_boolean(force));
	json_object_object_add(args, "replay", json_object_new_boolean(replay));
	fd = ctl_connect(o, 1, &rb);
	if (fd < 0) {
		json_object_put(args);
		return fd;
	}
	rc = proto_call_with_fd(fd, &rb, 1, "console", args, &resp, &con,
				o->timeout_ms, &err);
	close(fd);
	proto_rbuf_free(&rb);
	if (rc < 0) {
		ctl_print_error(o, rc == -ETIMEDOUT ? "timeout" : "protocol", err.msg);
		rc = rc == -ETIMEDOUT ? CTL_EXIT_TIMEOUT : CTL_EXIT_PROTO;
		resp.pm_type = 0;
	} else if (resp.pm_status != PROTO_OK) {
		ctl_print_error(o, proto_status_name(resp.pm_status), resp.pm_error);
		rc = ctl_exit_for_status(resp.pm_status);
	} else if (con < 0) {
		ctl_print_error(o, "protocol", "vmxd answered without the console's descriptor");
		rc = CTL_EXIT_PROTO;
	} else {
		rc = ctl_console_answer(o, con);
	}
	if (resp.pm_type)
		proto_msg_clear(&resp);
	if (rc != CTL_EXIT_OK) {
		if (con >= 0)
			close(con);
		return -rc;
	}
	return con;
}

static int ctl_console_attach(struct ctl_opts *o, const char *name, int force,
			      int timeout)
{
	struct ctl_relay r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.tty = isatty(STDIN_FILENO);
	signal(SIGPIPE, SIG_IGN);
	/* A script gets what the guest printed before it came; a person does not. */
	r.con = ctl_console_open(o, name, force, !r.tty);
	if (r.con < 0)
		return -r.con;
	if (timeout > 0)
		r.deadline = ctl_now_ms() + timeout * 1000L;
	if (r.tty) {
		printf("Connected to domain '%s'\nEscape character is ^] (Ctrl + ])\n", name);
		fflush(stdout);
		if (ctl_tty_raw() < 0) {
			close(r.con);
			ctl_print_error(o, "internal", "cannot put the terminal in raw mode");
			return CTL_EXIT_INTERNAL;
		}
	}
	rc = ctl_relay_run(&r);
	close(r.con);
	if (r.tty) {
		ctl_tty_restore();
		putchar('\n');
	}
	if (rc < 0) {
		ctl_print_error(o, "internal", "console I/O failed");
		return CTL_EXIT_INTERNAL;
	}
	return CTL_EXIT_OK;
}

static int ctl_console_show_log(struct ctl_opts *o, const char *name)
{
	json_object *args = json_object_new_object(), *res, *log = NULL, *t = NULL;
	const char *text;
	int rc;

	json_object_object_add(args, "name", json_object_new_string(name));
	rc = ctl_call(o, "console-log", 0, args, &res);
	if (rc != 0)
		return rc;
	json_object_object_get_ex(res, "log", &log);
	json_object_object_get_ex(res, "truncated", &t);
	text = log ? json_object_get_string(log) : "";
	if (o->json) {
		json_object *out = json_object_new_object();

		json_object_object_add(out, "domain", json_object_new_string(name));
		json_object_object_add(out, "log", json_object_new_string(text));
		json_object_object_add(out, "truncated",
				       json_object_new_boolean(t && json_object_get_boolean(t)));
		ctl_print_json(out);
		json_object_put(out);
	} else {
		fputs(text, stdout);
		if (*text && text[strlen(text) - 1] != '\n')
			putchar('\n');
	}
	json_object_put(res);
	return CTL_EXIT_OK;
}

int ctl_console(struct ctl_opts *o, int argc, char **argv)
{
	const char *name = NULL;
	int force = 0, show_log = 0, timeout = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0) {
			force = 1;
		} else if (strcmp(argv[i], "--show-log") == 0) {
			show_log = 1;
		} else if (strcmp(argv[i], "--timeout") == 0) {
			timeout = i + 1 < argc ? atoi(argv[++i]) : 0;
			if (timeout <= 0)
				return ctl_usage_error(argv[0], "--timeout needs seconds > 0");
		} else if (strcmp(argv[i], "--json") == 0) {
			continue;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return ctl_usage_error(argv[0], "unknown option %s", argv[i]);
		} else if (name) {
			return ctl_usage_error(argv[0], "too many arguments");
		} else {
			name = argv[i];
		}
	}
	if (!name)
		return ctl_usage_error(argv[0], "missing argument");
	if (show_log && (force || timeout))
		return ctl_usage_error(argv[0], "--show-log takes no --force or --timeout");
	if (show_log)
		return ctl_console_show_log(o, name);
	return ctl_console_attach(o, name, force, timeout);
}
