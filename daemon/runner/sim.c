/*
 * vmxd-runner-sim: the runner for domain type 'test'. It executes NO guest
 * code: it acts out a VM's states (running, paused, powering off) and answers
 * the daemon's control messages, so vmxd and vmctl can be tested on hosts
 * without VT-x. The daemon never uses it for type 'kvm'.
 *
 * Simulated guest behaviour comes from the domain's kernel command line:
 *   sim.ignore_acpi           the guest ignores the power button (shutdown
 *                             never completes; destroy is needed)
 *   sim.poweroff_ms=N         the guest powers off by itself after N ms
 *   sim.crash_ms=N            the guest crashes after N ms
 *   sim.shutdown_ms=N         time from power button to power-off (100)
 *
 * Process: detached from vmxd; listens on the socket passed as fd 3 and
 * serves any number of vmxd connections over its life (vmxd may restart).
 * On exit it writes the reason to <pidfile minus .pid>.exit.
 *
 * Console (daemon/runner/console.c, <pidfile minus .pid>.console): the
 * simulation prints a boot banner that says it is one, a login-prompt-like
 * line, and echoes what it is sent, line by line, so `vmctl console` can be
 * tested end to end. Nothing behind it is a shell.
 * Context: single-threaded poll loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/runner/console.h"
#include "daemon/runner/sandbox.h"
#include "proto/proto.h"

#define SIM_MAX_PEERS 8

struct sim_peer {
	int fd;                 /* -1: free */
	int hello;
	struct proto_rbuf rb;
};

struct sim {
	const char *uuid, *name;
	char state[16];         /* running, paused, shutdown */
	int ignore_acpi;
	long shutdown_ms;
	long poweroff_at, crash_at;  /* monotonic ms, 0: never */
	long paused_since;
	int exit_fd;
	struct sim_peer peers[SIM_MAX_PEERS];
	struct console con;
	int con_open;
	char line[256];         /* console input of the current line */
	size_t line_len;
	long booted_at;
	char cmdline[4096];
	char out[4096];         /* console output gathered, one write per batch */
	size_t out_len;
};

static long sim_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sim_event(struct sim *s, const char *state, const char *reason)
{
	struct proto_msg m;
	json_object *d = json_object_new_object();

	json_object_object_add(d, "state", json_object_new_string(state));
	json_object_object_add(d, "reason", json_object_new_string(reason));
	proto_msg_event(&m, "domain-state", d);
	for (int i = 0; i < SIM_MAX_PEERS; i++)
		if (s->peers[i].fd >= 0 && s->peers[i].hello)
			proto_send_fd(s->peers[i].fd, &m, NULL);
	proto_msg_clear(&m);
}

/* ---- the simulated serial console ---- */

static void sim_con_printf(struct sim *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sim_con_flush(struct sim *s)
{
	if (s->con_open && s->out_len)
		console_output(&s->con, s->out, s->out_len);
	s->out_len = 0;
}

/* Echo comes a byte at a time: gathered, not a log write per byte. */
static void sim_con_printf(struct sim *s, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	if (!s->con_open)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	if (s->out_len + (size_t)n > sizeof(s->out))
		sim_con_flush(s);
	memcpy(s->out + s->out_len, buf, (size_t)n);
	s->out_len += (size_t)n;
}

/* Kernel-log-like lines, stamped with time since the simulated boot. */
static void sim_con_klog(struct sim *s, const char *msg)
{
	long ms = sim_now() - s->booted_at;

	sim_con_printf(s, "[%5ld.%06ld] %s\r\n", ms / 1000, (ms % 1000) * 1000, msg);
}

static void sim_con_prompt(struct sim *s)
{
	sim_con_printf(s, "%s (vmxcore simulation) login: ", s->name);
}

static void sim_con_banner(struct sim *s)
{
	char line[600];

	s->booted_at = sim_now();
	sim_con_printf(s, "\r\nvmxcore simulation runner: no guest code runs.\r\n");
	sim_con_klog(s, "sim: simulated boot; this is not a kernel");
	snprintf(line, sizeof(line), "sim: domain %.64s uuid %.40s", s->name, s->uuid);
	sim_con_klog(s, line);
	snprintf(line, sizeof(line), "sim: command line: %.500s", s->cmdline);
	sim_con_klog(s, line);
	sim_con_klog(s, "sim: serial console ready; lines sent here are echoed back");
	sim_con_printf(s, "\r\n");
	sim_con_prompt(s);
	sim_con_flush(s);
}

static void sim_con_line(struct sim *s)
{
	s->line[s->line_len] = '\0';
	if (s->line_len)
		sim_con_printf(s, "sim echo: %s\r\n", s->line);
	s->line_len = 0;
	sim_con_prompt(s);
}

/* A terminal line discipline, just enough: echo, erase, ^C, end of line. */
static void sim_con_byte(struct sim *s, uint8_t ch, uint8_t prev)
{
	if (ch == '\n' && prev == '\r')
		return;
	if (ch == '\r' || ch == '\n') {
		sim_con_printf(s, "\r\n");
		sim_con_line(s);
	} else if (ch == 0x7f || ch == 0x08) {
		if (s->line_len) {
			s->line_len--;
			sim_con_printf(s, "\b \b");
		}
	} else if (ch == 0x03) {
		sim_con_printf(s, "^C\r\n");
		s->line_len = 0;
		sim_con_prompt(s);
	} else if (ch >= 0x20 && s->line_len + 1 < sizeof(s->line)) {
		s->line[s->line_len++] = (char)ch;
		sim_con_printf(s, "%c", ch);
	}
}

static void sim_con_input(struct sim *s)
{
	static uint8_t prev;
	uint8_t buf[512];
	size_t n;

	/* A paused guest does not read its UART: input waits in the console. */
	if (!s->con_open || strcmp(s->state, "paused") == 0)
		return;
	while ((n = console_take_input(&s->con, buf, sizeof(buf))) > 0)
		for (size_t i = 0; i < n; i++) {
			sim_con_byte(s, buf[i], prev);
			prev = buf[i];
		}
	sim_con_flush(s);
}

static void sim_exit(struct sim *s, const char *reason, int status)
{
	fprintf(stderr, "sim %s: guest %s\n", s->name, reason);
	sim_con_printf(s, "\r\n");
	sim_con_klog(s, strcmp(reason, "crashed") == 0 ?
		     "sim: simulated kernel panic" : "sim: simulated power down");
	sim_con_flush(s);
	if (s->con_open)
		console_close(&s->con);
	sim_event(s, "shutoff", reason);
	if (s->exit_fd >= 0) {
		ssize_t n = write(s->exit_fd, reason, strlen(reason));

		(void)n;
		close(s->exit_fd);
	}
	exit(status);
}

/* A cmdline value "key=N" or flag "key"; -1 when absent. */
static long sim_opt(const char *cmdline, const char *key)
{
	const char *p = cmdline;
	size_t kl = strlen(key);

	while (p && (p = strstr(p, key))) {
		if ((p == cmdline || p[-1] == ' ') &&
		    (p[kl] == '=' || p[kl] == ' ' || p[kl] == '\0' || p[kl] == '<'))
			return p[kl] == '=' ? strtol(p + kl + 1, NULL, 10) : 0;
		p += kl;
	}
	return -1;
}

/* The <cmdline> text of the domain XML, or "". No XML parser on purpose. */
static void sim_read_cmdline(const char *xml_path, char *out, size_t len)
{
	char buf[65536];
	FILE *f = fopen(xml_path, "re");
	size_t n;
	char *a, *b;

	out[0] = '\0';
	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	a = strstr(buf, "<cmdline>");
	b = a ? strstr(a, "</cmdline>") : NULL;
	if (a && b) {
		a += strlen("<cmdline>");
		snprintf(out, len, "%.*s", (int)(b - a), a);
	}
}

static void sim_reply(struct sim_peer *p, struct proto_msg *req, int ok,
		      const char *fmt)
{
	struct proto_msg m;

	if (ok)
		proto_msg_response(&m, req->pm_id, NULL);
	else
		proto_msg_error(&m, req->pm_id, PROTO_E_STATE, "%s", fmt);
	proto_send_fd(p->fd, &m, NULL);
}

static void sim_status(struct sim *s, struct sim_peer *p, struct proto_msg *req)
{
	struct proto_msg m;
	json_object *r = json_object_new_object();

	json_object_object_add(r, "state", json_object_new_string(s->state));
	json_object_object_add(r, "pid", json_object_new_int(getpid()));
	proto_msg_response(&m, req->pm_id, r);
	proto_send_fd(p->fd, &m, NULL);
	proto_msg_clear(&m);
}

static void sim_destroy(struct sim *s, struct sim_peer *p, struct proto_msg *req)
{
	sim_reply(p, req, 1, NULL);
	sim_exit(s, "destroyed", 0);
}

/* The ACPI power button: the guest powers off shutdown_ms later, or never. */
static void sim_shutdown(struct sim *s, struct sim_peer *p, struct proto_msg *req)
{
	sim_reply(p, req, 1, NULL);
	if (!s->ignore_acpi && !s->poweroff_at) {
		s->poweroff_at = sim_now() + s->shutdown_ms;
		snprintf(s->state, sizeof(s->state), "shutdown");
		sim_event(s, "shutdown", "acpi");
	}
}

static void sim_reboot(struct sim *s, struct sim_peer *p, struct proto_msg *req)
{
	sim_reply(p, req, 1, NULL);
	snprintf(s->state, sizeof(s->state), "running");
	sim_con_printf(s, "\r\n");
	sim_con_klog(s, "sim: simulated reboot");
	s->line_len = 0;
	sim_con_banner(s);
}

static void sim_suspend(struct sim *s, struct sim_peer *p, struct proto_msg *req)
{
	if (strcmp(s->state, "running") != 0) {
		sim_reply(p, req, 0, "guest is not running");
		return;
	}
	snprintf(s->state, sizeof(s->state), "paused");
	s->paused_since = sim_now();
	sim_reply(p, req, 1, NULL);
}

static void sim_resume(struct sim *s, struct sim_peer *p, struct proto_msg *req)
{
	if (strcmp(s->state, "paused") != 0) {
		sim_reply(p, req, 0, "guest is not paused");
		return;
	}
	/* Guest timers do not run while paused. */
	if (s->poweroff_at)
		s->poweroff_at += sim_now() - s->paused_since;
	if (s->crash_at)
		s->crash_at += sim_now() - s->paused_since;
	snprintf(s->state, sizeof(s->state), "running");
	sim_reply(p, req, 1, NULL);
}

/* The daemon's requests; the same verbs any runner answers (PROTOCOL.md). */
static const struct {
	const char *verb;
	void (*fn)(struct sim *s, struct sim_peer *p, struct proto_msg *req);
} sim_handlers[] = {
	{ "status",   sim_status },
	{ "shutdown", sim_shutdown },
	{ "destroy",  sim_destroy },
	{ "reboot",   sim_reboot },
	{ "suspend",  sim_suspend },
	{ "resume",   sim_resume },
};

static void sim_request(struct sim *s, struct sim_peer *p, struct proto_msg *req)
{
	struct proto_msg m;

	for (size_t i = 0; i < sizeof(sim_handlers) / sizeof(sim_handlers[0]); i++)
		if (strcmp(sim_handlers[i].verb, req->pm_name) == 0) {
			sim_handlers[i].fn(s, p, req);
			return;
		}
	proto_msg_error(&m, req->pm_id, PROTO_E_UNKNOWN_VERB,
			"runner: unknown verb '%s'", req->pm_name);
	proto_send_fd(p->fd, &m, NULL);
}

static void sim_peer_close(struct sim_peer *p)
{
	close(p->fd);
	p->fd = -1;
	proto_rbuf_free(&p->rb);
}

static void sim_peer_input(struct sim *s, struct sim_peer *p)
{
	uint8_t buf[16384];
	struct proto_msg m;
	ssize_t n = recv(p->fd, buf, sizeof(buf), 0);
	int rc;

	if (n <= 0) {
		if (n < 0 && errno == EINTR)
			return;
		sim_peer_close(p);
		return;
	}
	if (proto_rbuf_append(&p->rb, buf, (size_t)n, NULL) < 0) {
		sim_peer_close(p);
		return;
	}
	while (p->fd >= 0 && (rc = proto_rbuf_next(&p->rb, &m, NULL)) != 0) {
		if (rc < 0) {
			sim_peer_close(p);
			return;
		}
		if (m.pm_type == PROTO_HELLO) {
			struct proto_msg h;
			json_object *d = json_object_new_object();

			json_object_object_add(d, "uuid", json_object_new_string(s->uuid));
			json_object_object_add(d, "state", json_object_new_string(s->state));
			json_object_object_add(d, "pid", json_object_new_int(getpid()));
			json_object_object_add(d, "simulation", json_object_new_boolean(1));
			proto_msg_hello(&h, "vmxd-runner-sim", d);
			proto_send_fd(p->fd, &h, NULL);
			proto_msg_clear(&h);
			p->hello = 1;
		} else if (m.pm_type == PROTO_REQUEST && p->hello) {
			sim_request(s, p, &m);
		}
		proto_msg_clear(&m);
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "uuid", required_argument, NULL, 'u' },
		{ "name", required_argument, NULL, 'n' },
		{ "xml", required_argument, NULL, 'x' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "listen-fd", required_argument, NULL, 'l' },
		{ "user", required_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	/* static: the console's ring and buffers are 70 KiB */
	static struct sim s;
	struct vx_err err;
	const char *xml = NULL, *pidfile = NULL, *user = NULL;
	char *cmdline = s.cmdline, path[1024];
	int ch, lfd = 3;
	long v;
	FILE *f;

	memset(&s, 0, sizeof(s));
	s.exit_fd = -1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'u': s.uuid = optarg; break;
		case 'n': s.name = optarg; break;
		case 'x': xml = optarg; break;
		case 'p': pidfile = optarg; break;
		case 'l': lfd = atoi(optarg); break;
		case 'U': user = optarg; break;
		default:
			fprintf(stderr, "usage: vmxd-runner-sim --uuid U --name N --xml F --pidfile F [--listen-fd 3]\n");
			return 2;
		}
	}
	if (!s.uuid || !s.name || !xml || !pidfile) {
		fprintf(stderr, "vmxd-runner-sim: --uuid, --name, --xml and --pidfile are required\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stderr, NULL, _IOLBF, 0);
	sim_read_cmdline(xml, cmdline, sizeof(s.cmdline));
	s.ignore_acpi = sim_opt(cmdline, "sim.ignore_acpi") >= 0;
	s.shutdown_ms = (v = sim_opt(cmdline, "sim.shutdown_ms")) >= 0 ? v : 100;
	if ((v = sim_opt(cmdline, "sim.poweroff_ms")) >= 0)
		s.poweroff_at = sim_now() + v;
	if ((v = sim_opt(cmdline, "sim.crash_ms")) >= 0)
		s.crash_at = sim_now() + v;
	snprintf(s.state, sizeof(s.state), "running");
	for (int i = 0; i < SIM_MAX_PEERS; i++)
		s.peers[i].fd = -1;

	if ((f = fopen(pidfile, "we"))) {
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
	/* Opened now: the sandbox below forbids creating files. */
	snprintf(path, sizeof(path), "%.*s.exit",
		 (int)(strlen(pidfile) > 4 ? strlen(pidfile) - 4 : strlen(pidfile)),
		 pidfile);
	s.exit_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fcntl(lfd, F_GETFD) < 0) {
		fprintf(stderr, "vmxd-runner-sim: no listening socket on fd %d\n", lfd);
		return 2;
	}
	/* A console is a convenience: the guest runs without one. */
	if (console_path_from_pidfile(pidfile, path, sizeof(path)) < 0 ||
	    console_open(&s.con, path, NULL, &err) < 0)
		fprintf(stderr, "vmxd-runner-sim: no console: %s\n", err.msg);
	else
		s.con_open = 1;
	if (runner_sandbox_enter(user, &err) < 0) {
		fprintf(stderr, "vmxd-runner-sim: %s\n", err.msg);
		return 2;
	}
	fprintf(stderr, "sim %s: simulated guest running (no guest code executes)%s\n",
		s.name, s.ignore_acpi ? ", ignores ACPI" : "");
	sim_con_banner(&s);

	for (;;) {
		struct pollfd pfd[SIM_MAX_PEERS + 1 + CONSOLE_POLLFDS];
		int idx[SIM_MAX_PEERS + 1], n = 0, ncon = 0, timeout = -1;
		long now = sim_now();

		if (strcmp(s.state, "paused") != 0) {
			if (s.crash_at && now >= s.crash_at)
				sim_exit(&s, "crashed", 1);
			if (s.poweroff_at && now >= s.poweroff_at)
				sim_exit(&s, "shutdown", 0);
			if (s.crash_at)
				timeout = (int)(s.crash_at - now);
			if (s.poweroff_at && (timeout < 0 || s.poweroff_at - now < timeout))
				timeout = (int)(s.poweroff_at - now);
		}
		pfd[n].fd = lfd;
		pfd[n].events = POLLIN;
		idx[n++] = -1;
		for (int i = 0; i < SIM_MAX_PEERS; i++)
			if (s.peers[i].fd >= 0) {
				pfd[n].fd = s.peers[i].fd;
				pfd[n].events = POLLIN;
				idx[n++] = i;
			}
		if (s.con_open)
			ncon = console_pollfds(&s.con, pfd + n, CONSOLE_POLLFDS);
		if (poll(pfd, (nfds_t)(n + ncon), timeout) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (ncon)
			console_handle(&s.con, pfd + n, ncon);
		for (int k = 1; k < n; k++)
			if (pfd[k].revents)
				sim_peer_input(&s, &s.peers[idx[k]]);
		if (pfd[0].revents & POLLIN) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), slot = -1;

			for (int i = 0; i < SIM_MAX_PEERS && fd >= 0; i++)
				if (s.peers[i].fd < 0) {
					slot = i;
					break;
				}
			if (fd >= 0 && slot < 0) {
				close(fd); /* more daemons than any sane setup has */
			} else if (fd >= 0) {
				s.peers[slot].fd = fd;
				s.peers[slot].hello = 0;
				proto_rbuf_init(&s.peers[slot].rb);
			}
		}
		/* Last: a resume above lets input that waited through a pause in. */
		sim_con_input(&s);
	}
}
