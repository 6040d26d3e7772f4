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
 *   sim.disks                 open the --disk images vmxd passes, read-write
 *                             and locked as a VMM holds them, and serve live
 *                             backups of them (backup_serve.c)
 *   sim.backup_writes_ms=N    test facility: while a live backup reads the
 *                             disks, the simulated guest writes a 4 KiB block
 *                             (pattern and counter) at a pseudo-random place
 *                             of each disk every N ms, through the same
 *                             copy-before-write path a guest's writes take
 *
 * Process: detached from vmxd; listens on the socket passed as fd 3 and
 * serves any number of vmxd connections over its life (vmxd may restart),
 * through daemon/runner/control.c like the real runner. On exit it writes
 * the reason to <pidfile minus .pid>.exit.
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
#include <seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <seccomp.h>

#include "daemon/runner/backup_serve.h"
#include "daemon/runner/console.h"
#include "daemon/runner/control.h"
#include "daemon/runner/sandbox.h"
#include "storage/image.h"
#include "daemon/runner/statedir.h"
#include "vmm/snap.h"

struct sim {
	const char *uuid, *name;
	char state[16];         /* running, paused, shutdown */
	int ignore_acpi;
	long shutdown_ms;
	long poweroff_at, crash_at;  /* monotonic ms, 0: never */
	long paused_since;
	int exit_fd;
	struct runner_ctl ctl;
	/* Set by a verb, acted on once its reply is out (sim_after_reply). */
	int acpi_event;
	const char *exit_reason;
	struct console con;
	int con_open;
	char line[256];         /* console input of the current line */
	size_t line_len;
	long booted_at;
	char cmdline[4096];
	char out[4096];         /* console output gathered, one write per batch */
	size_t out_len;
	/* sim.disks: the images held, and live backups of them */
	char *disk_arg[BSRV_MAX_DISKS];
	int ndisk_arg;
	struct img *disk[BSRV_MAX_DISKS];
	int ndisks;
	struct bsrv bsrv;
	long backup_writes_ms;  /* -1: none */
	long next_write;
	uint64_t writes, seed;
	int state_dir;          /* memory snapshots (statedir.h), -1: none */
};

static long sim_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
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
	bsrv_close(&s->bsrv);
	for (int i = 0; i < s->ndisks; i++)
		img_close(s->disk[i], NULL);   /* stores the dirty bitmaps */
	runner_ctl_event(&s->ctl, "shutoff", reason);
	runner_write_exit_reason(s->exit_fd, reason);
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

/* ---- vmxd's requests: the same verbs any runner answers (PROTOCOL.md) ---- */

static void sim_describe(void *opaque, json_object *data)
{
	struct sim *s = opaque;

	json_object_object_add(data, "uuid", json_object_new_string(s->uuid));
	json_object_object_add(data, "state", json_object_new_string(s->state));
	json_object_object_add(data, "simulation", json_object_new_boolean(1));
}

static int sim_status(void *opaque, const struct proto_msg *req, json_object **result,
		      struct vx_err *err)
{
	struct sim *s = opaque;

	(void)req;
	(void)err;
	*result = json_object_new_object();
	json_object_object_add(*result, "state", json_object_new_string(s->state));
	json_object_object_add(*result, "pid", json_object_new_int(getpid()));
	return 0;
}

/* vmxd is answered first, then sees the runner go (sim_after_reply). */
static int sim_destroy(void *opaque, const struct proto_msg *req, json_object **result,
		       struct vx_err *err)
{
	struct sim *s = opaque;

	(void)req;
	(void)result;
	(void)err;
	s->exit_reason = "destroyed";
	return 0;
}

/* The ACPI power button: the guest powers off shutdown_ms later, or never. */
static int sim_shutdown(void *opaque, const struct proto_msg *req, json_object **result,
			struct vx_err *err)
{
	struct sim *s = opaque;

	(void)req;
	(void)result;
	(void)err;
	if (!s->ignore_acpi && !s->poweroff_at) {
		s->poweroff_at = sim_now() + s->shutdown_ms;
		snprintf(s->state, sizeof(s->state), "shutdown");
		s->acpi_event = 1;
	}
	return 0;
}

static int sim_reboot(void *opaque, const struct proto_msg *req, json_object **result,
		      struct vx_err *err)
{
	struct sim *s = opaque;

	(void)req;
	(void)result;
	(void)err;
	snprintf(s->state, sizeof(s->state), "running");
	sim_con_printf(s, "\r\n");
	sim_con_klog(s, "sim: simulated reboot");
	s->line_len = 0;
	sim_con_banner(s);
	return 0;
}

/* -EBUSY: vmxd's 'state' error, as for the real runner. */
static int sim_suspend(void *opaque, const struct proto_msg *req, json_object **result,
		       struct vx_err *err)
{
	struct sim *s = opaque;

	(void)req;
	(void)result;
	if (strcmp(s->state, "running") != 0)
		return vx_err_set(err, -EBUSY, "guest is not running");
	snprintf(s->state, sizeof(s->state), "paused");
	s->paused_since = sim_now();
	return 0;
}

static int sim_resume(void *opaque, const struct proto_msg *req, json_object **result,
		      struct vx_err *err)
{
	struct sim *s = opaque;

	(void)req;
	(void)result;
	if (strcmp(s->state, "paused") != 0)
		return vx_err_set(err, -EBUSY, "guest is not paused");
	/* Guest timers do not run while paused. */
	if (s->poweroff_at)
		s->poweroff_at += sim_now() - s->paused_since;
	if (s->crash_at)
		s->crash_at += sim_now() - s->paused_since;
	snprintf(s->state, sizeof(s->state), "running");
	return 0;
}

/* Live backups: the same verbs as the VMM's, on the disks sim.disks opened. */
static int sim_backup(void *opaque, const struct proto_msg *req, json_object **result,
		      struct vx_err *err)
{
	struct sim *s = opaque;

	return bsrv_verb(&s->bsrv, req, result, err);
}

static void sim_peer_closed(void *opaque, int peer)
{
	struct sim *s = opaque;

	bsrv_peer_closed(&s->bsrv, peer);
}

/* ---- memory snapshots: the simulation's own state ---- */

/*
 * There is no guest memory: a state file of this runner holds one 'SIM '
 * section with what the simulation is (state, time since its simulated
 * boot, its pending power-off or crash, the console line being typed),
 * in the same container as the VMM's, so vmxd's snapshot verbs work and
 * are tested as they are for a kvm domain. The VMM refuses such a file
 * (unknown section) and this runner refuses the VMM's (no 'SIM ').
 */
static long sim_left(long at, long now)
{
	return at ? (at > now ? at - now : 0) : -1;
}

static int sim_snapshot_save(void *opaque, const struct proto_msg *req, json_object **result,
			     struct vx_err *err)
{
	struct sim *s = opaque;
	long now = sim_now();
	const char *file, *disks;
	struct vmm_snap_w w;
	size_t at;
	int fd, rc;

	if ((rc = runner_statedir_arg(req->pm_body, "file", 1, &file, err)) ||
	    (rc = runner_statedir_arg(req->pm_body, "disk_snapshot", 0, &disks, err)))
		return rc;
	if (disks)
		return vx_err_set(err, -ENOTSUP, "the simulation has no disks of its own to snapshot");
	if ((fd = runner_statedir_create(s->state_dir, file, err)) < 0)
		return fd;
	vmm_snap_w_init(&w);
	vmm_snap_put_header(&w);
	at = vmm_snap_section_begin(&w, VMM_SNAP_SIM, 0);
	vmm_snap_put_bytes(&w, s->state, sizeof(s->state));
	vmm_snap_put_u64(&w, (uint64_t)(now - s->booted_at));
	vmm_snap_put_u64(&w, (uint64_t)sim_left(s->poweroff_at, now));
	vmm_snap_put_u64(&w, (uint64_t)sim_left(s->crash_at, now));
	vmm_snap_put_u32(&w, (uint32_t)s->line_len);
	vmm_snap_put_bytes(&w, s->line, sizeof(s->line));
	vmm_snap_section_end(&w, at);
	vmm_snap_section_end(&w, vmm_snap_section_begin(&w, VMM_SNAP_END, 0));
	rc = w.failed ? vx_err_set(err, -ENOMEM, "out of memory")
		      : vmm_snap_write_all(fd, w.buf, w.len, err);
	if (!rc && fdatasync(fd) < 0)
		rc = vx_err_errno(err, -errno, "state file: fdatasync");
	vmm_snap_w_free(&w);
	close(fd);
	if (rc) {
		runner_statedir_remove(s->state_dir, file);
		return rc;
	}
	*result = json_object_new_object();
	json_object_object_add(*result, "file", json_object_new_string(file));
	json_object_object_add(*result, "memory", json_object_new_boolean(1));
	json_object_object_add(*result, "simulation", json_object_new_boolean(1));
	sim_con_printf(s, "\r\n");
	sim_con_klog(s, "sim: simulated state saved (no guest memory exists)");
	sim_con_prompt(s);
	sim_con_flush(s);
	return 0;
}

static int sim_snapshot_read(int fd, uint8_t **p, size_t *len, struct vx_err *err)
{
	struct vmm_snap_index ix;
	struct vmm_snap_sec *sec;
	int rc;

	if ((rc = vmm_snap_index_read(fd, &ix, err)))
		return rc;
	if (!(sec = vmm_snap_find(&ix, VMM_SNAP_SIM, 0)))
		return vx_err_set(err, -EINVAL,
				  "state file: not the simulation's (no 'SIM ' section)");
	if ((rc = vmm_snap_check_all_used(&ix, err)) || (rc = vmm_snap_read_section(fd, sec, p, err)))
		return rc;
	*len = (size_t)sec->len;
	return 0;
}

static int sim_snapshot_load(void *opaque, const struct proto_msg *req, json_object **result,
			     struct vx_err *err)
{
	struct sim *s = opaque;
	long now = sim_now(), poweroff, crash, up;
	char state[sizeof(s->state)], line[sizeof(s->line)];
	const char *file, *disks;
	struct vmm_snap_r r;
	uint32_t line_len;
	uint8_t *p = NULL;
	size_t len = 0;
	int fd, rc;

	(void)result;
	if ((rc = runner_statedir_arg(req->pm_body, "file", 1, &file, err)) ||
	    (rc = runner_statedir_arg(req->pm_body, "disk_snapshot", 0, &disks, err)))
		return rc;
	if (disks)
		return vx_err_set(err, -ENOTSUP, "the simulation has no disks of its own to revert");
	if ((fd = runner_statedir_read(s->state_dir, file, err)) < 0)
		return fd;
	rc = sim_snapshot_read(fd, &p, &len, err);
	close(fd);
	if (rc)
		return rc;
	vmm_snap_r_init(&r, p, len);
	vmm_snap_get_bytes(&r, state, sizeof(state));
	up = (long)vmm_snap_get_u64(&r);
	poweroff = (long)vmm_snap_get_u64(&r);
	crash = (long)vmm_snap_get_u64(&r);
	line_len = vmm_snap_get_u32(&r);
	vmm_snap_get_bytes(&r, line, sizeof(line));
	rc = vmm_snap_r_done(&r, "SIM", err);
	free(p);
	if (rc)
		return rc;
	if (line_len >= sizeof(line) || up < 0 || poweroff < -1 || crash < -1 ||
	    (strcmp(state, "running") && strcmp(state, "paused") && strcmp(state, "shutdown")))
		return vx_err_set(err, -EBADMSG, "state file: simulation state out of range");
	/* The simulated guest goes on from the saved moment; paused or
	 * running stays as the domain is now (vmxd's revert decides). */
	if (strcmp(s->state, "paused"))
		snprintf(s->state, sizeof(s->state), "%s",
			 strcmp(state, "paused") ? state : "running");
	s->booted_at = now - up;
	s->poweroff_at = poweroff >= 0 ? now + poweroff : 0;
	s->crash_at = crash >= 0 ? now + crash : 0;
	memcpy(s->line, line, sizeof(line));
	s->line_len = line_len;
	if (!strcmp(s->state, "paused"))
		s->paused_since = now;
	sim_con_printf(s, "\r\n");
	sim_con_klog(s, "sim: simulated state loaded (no guest memory exists)");
	sim_con_prompt(s);
	sim_con_flush(s);
	return 0;
}

static const struct runner_ctl_verb sim_verbs[] = {
	{ "status",   sim_status },
	{ "shutdown", sim_shutdown },
	{ "destroy",  sim_destroy },
	{ "reboot",   sim_reboot },
	{ "suspend",  sim_suspend },
	{ "resume",   sim_resume },
	{ "backup-begin",  sim_backup },
	{ "backup-read",   sim_backup },
	{ "backup-status", sim_backup },
	{ "backup-bitmap", sim_backup },
	{ "backup-end",    sim_backup },
	{ "snapshot-save", sim_snapshot_save },
	{ "snapshot-load", sim_snapshot_load },
};

/* --disk PATH[,format=raw|qcow2][,readonly] as vmxd passes it; opened locked. */
static int sim_open_disk(struct sim *s, char *arg, struct vx_err *err)
{
	const char *fmt = NULL;
	int ro = 0, rc;
	char *o = strchr(arg, ',');

	if (o)
		*o++ = '\0';   /* arg is the path vmxd names the disk by */
	while (o && *o) {
		char *next = strchr(o, ',');

		if (next)
			*next++ = '\0';
		if (strncmp(o, "format=", 7) == 0)
			fmt = o + 7;
		else if (strcmp(o, "readonly") == 0)
			ro = 1;
		o = next;
	}
	rc = img_open(arg, fmt, ro ? 0 : IMG_RDWR, &s->disk[s->ndisks], err);
	if (rc < 0)
		return rc;
	if (!ro)
		bsrv_add_disk(&s->bsrv, arg, s->disk[s->ndisks]);
	s->ndisks++;
	return 0;
}

/* sim.backup_writes_ms: one block per disk while a backup session is open. */
static void sim_backup_writes(struct sim *s)
{
	uint8_t buf[4096];
	struct vx_err err = { 0 };

	if (s->backup_writes_ms < 0 || s->bsrv.peer < 0 || strcmp(s->state, "running") != 0 ||
	    sim_now() < s->next_write)
		return;
	s->next_write = sim_now() + s->backup_writes_ms;
	for (int i = 0; i < s->ndisks; i++) {
		uint64_t blocks = s->disk[i]->size / sizeof(buf), off;

		if (!(s->disk[i]->flags & IMG_RDWR) || !blocks)
			continue;
		s->seed = s->seed * 6364136223846793005ull + 1442695040888963407ull;
		off = (s->seed >> 33) % blocks * sizeof(buf);
		memset(buf, 0xc5, sizeof(buf));
		memcpy(buf, &s->writes, sizeof(s->writes));
		if (img_write(s->disk[i], buf, off, sizeof(buf), &err) < 0)
			fprintf(stderr, "sim %s: disk write: %s\n", s->name, err.msg);
		s->writes++;
	}
}

/* The reply goes first: vmxd learns the guest's new state after its answer. */
static void sim_after_reply(void *opaque)
{
	struct sim *s = opaque;

	if (s->acpi_event) {
		s->acpi_event = 0;
		runner_ctl_event(&s->ctl, "shutdown", "acpi");
	}
	if (s->exit_reason)
		sim_exit(s, s->exit_reason, 0);
}

/* The common allow-list; with disks held, the storage library's I/O as
 * well (as the VMM's); with a state directory, that directory and
 * fdatasync for the state files. */
static int sim_sandbox(const struct sim *s, const char *user, struct vx_err *err)
{
	static const int disk_io[] = {
		SCMP_SYS(pread64), SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(fsync),
		SCMP_SYS(fdatasync), SCMP_SYS(fallocate), SCMP_SYS(flock), SCMP_SYS(fcntl),
	};
	static const int state_io[] = { SCMP_SYS(fdatasync) };
	const struct runner_sandbox_extra x = {
		s->ndisks ? disk_io : state_io,
		s->ndisks ? sizeof(disk_io) / sizeof(disk_io[0]) : 1, NULL, 0,
		.has_dirfd = s->state_dir >= 0, .dirfd = s->state_dir,
	};

	return runner_sandbox_enter_with(user, &x, err);
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
		{ "disk", required_argument, NULL, 'd' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	/* static: the console's ring and buffers are 70 KiB */
	static struct sim s;
	struct vx_err err;
	const char *xml = NULL, *pidfile = NULL, *user = NULL, *state_dir = NULL;
	char *cmdline = s.cmdline, path[1024];
	int ch, lfd = 3;
	long v;

	memset(&s, 0, sizeof(s));
	s.exit_fd = -1;
	s.state_dir = -1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'u': s.uuid = optarg; break;
		case 'n': s.name = optarg; break;
		case 'x': xml = optarg; break;
		case 'p': pidfile = optarg; break;
		case 'l': lfd = atoi(optarg); break;
		case 'U': user = optarg; break;
		case 'd':
			if (s.ndisk_arg < BSRV_MAX_DISKS)
				s.disk_arg[s.ndisk_arg++] = optarg;
			break;
		case 'S': state_dir = optarg; break;
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
	s.backup_writes_ms = sim_opt(cmdline, "sim.backup_writes_ms");
	s.seed = 0x5eed;
	snprintf(s.state, sizeof(s.state), "running");

	/* Best effort, as it always was: hello tells vmxd the pid too. */
	(void)runner_write_pidfile(pidfile, &err);
	/* Opened now: the sandbox below forbids creating files. */
	s.exit_fd = runner_open_exit_file(pidfile);
	if (fcntl(lfd, F_GETFD) < 0) {
		fprintf(stderr, "vmxd-runner-sim: no listening socket on fd %d\n", lfd);
		return 2;
	}
	runner_ctl_init(&s.ctl, lfd, "vmxd-runner-sim", sim_verbs,
			sizeof(sim_verbs) / sizeof(sim_verbs[0]), sim_describe, &s);
	s.ctl.after_reply = sim_after_reply;
	s.ctl.peer_closed = sim_peer_closed;
	bsrv_init(&s.bsrv, &s.ctl);
	for (int i = 0; sim_opt(cmdline, "sim.disks") >= 0 && i < s.ndisk_arg; i++)
		if (sim_open_disk(&s, s.disk_arg[i], &err) < 0) {
			fprintf(stderr, "vmxd-runner-sim: %s\n", err.msg);
			runner_write_exit_reason(s.exit_fd, "failed");
			return 2;
		}
	/* A console is a convenience: the guest runs without one. */
	if (console_path_from_pidfile(pidfile, path, sizeof(path)) < 0 ||
	    console_open(&s.con, path, NULL, &err) < 0)
		fprintf(stderr, "vmxd-runner-sim: no console: %s\n", err.msg);
	else
		s.con_open = 1;
	if (state_dir && (s.state_dir = runner_statedir_open(state_dir, &err)) < 0)
		fprintf(stderr, "vmxd-runner-sim: no memory snapshots: %s\n", err.msg);
	if (sim_sandbox(&s, user, &err) < 0) {
		fprintf(stderr, "vmxd-runner-sim: %s\n", err.msg);
		return 2;
	}
	fprintf(stderr, "sim %s: simulated guest running (no guest code executes)%s\n",
		s.name, s.ignore_acpi ? ", ignores ACPI" : "");
	sim_con_banner(&s);

	for (;;) {
		struct pollfd pfd[RUNNER_CTL_MAX_PEERS + 1 + CONSOLE_POLLFDS];
		int n, ncon = 0, timeout = -1;
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
			sim_backup_writes(&s);
			if (s.backup_writes_ms >= 0 && s.bsrv.peer >= 0 &&
			    (timeout < 0 || s.next_write - now < timeout))
				timeout = s.next_write > now ? (int)(s.next_write - now) : 0;
		}
		n = runner_ctl_pollfds(&s.ctl, pfd, RUNNER_CTL_MAX_PEERS + 1);
		if (s.con_open)
			ncon = console_pollfds(&s.con, pfd + n, CONSOLE_POLLFDS);
		if (poll(pfd, (nfds_t)(n + ncon), timeout) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (ncon)
			console_handle(&s.con, pfd + n, ncon);
		runner_ctl_handle(&s.ctl, pfd, n);
		/* Last: a resume above lets input that waited through a pause in. */
		sim_con_input(&s);
	}
}
