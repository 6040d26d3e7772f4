/*
 * domain: the runner started by vmxd. vmxd turns the domain's XML into
 * command-line options (it parsed and checked it; the sandboxed VMM parses
 * no XML), answers come from here: vmxd's requests (PROTOCOL.md, "vmxd <->
 * runner") from the main loop, and how the guest ended as a domain-state
 * event and the exit file.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/runner/backup_serve.h"
#include "daemon/runner/control.h"
#include "daemon/runner/statedir.h"
#include "vmm/runner/domain.h"

struct rn_domain {
	struct machine *m;
	const char *uuid, *name;
	int paused;
	struct runner_ctl ctl;
	struct bsrv bsrv;	/* live backups of the disks (backup_serve.c) */
};

/* ---- vmxd's requests ---- */

static void rn_describe(void *opaque, json_object *data)
{
	struct rn_domain *dom = opaque;

	json_object_object_add(data, "uuid", json_object_new_string(dom->uuid));
	json_object_object_add(data, "state",
			       json_object_new_string(dom->paused ? "paused" : "running"));
	json_object_object_add(data, "backend", json_object_new_string(dom->m->ops->name));
}

static int rn_status(void *opaque, const struct proto_msg *req, json_object **result,
		     struct vx_err *err)
{
	struct rn_domain *dom = opaque;

	(void)req;
	(void)err;
	*result = json_object_new_object();
	rn_describe(dom, *result);
	json_object_object_add(*result, "pid", json_object_new_int(getpid()));
	return 0;
}

static int rn_destroy(void *opaque, const struct proto_msg *req, json_object **result,
		      struct vx_err *err)
{
	struct rn_domain *dom = opaque;

	(void)req;
	(void)result;
	(void)err;
	machine_stop(dom->m, RN_DESTROYED, "destroyed by vmxd");
	return 0;
}

static int rn_shutdown(void *opaque, const struct proto_msg *req, json_object **result,
		       struct vx_err *err)
{
	struct rn_domain *dom = opaque;

	(void)req;
	(void)result;
	if (machine_power_button(dom->m) < 0)
		return vx_err_set(err, -ENOTSUP,
				  "domain '%s': no ACPI power button on this machine yet; use destroy",
				  dom->name);
	runner_ctl_event(&dom->ctl, "shutdown", "acpi");
	return 0;
}

/* A reboot is a fresh runner: vmxd restarts it as <on_reboot> says. */
static int rn_reboot(void *opaque, const struct proto_msg *req, json_object **result,
		     struct vx_err *err)
{
	struct rn_domain *dom = opaque;

	(void)req;
	(void)result;
	(void)err;
	machine_stop(dom->m, RN_RESET, "reboot asked by vmxd");
	return 0;
}

static int rn_suspend(void *opaque, const struct proto_msg *req, json_object **result,
		      struct vx_err *err)
{
	struct rn_domain *dom = opaque;

	(void)req;
	(void)result;
	if (dom->paused)
		return vx_err_set(err, -EBUSY, "guest is not running");
	machine_pause(dom->m);
	dom->paused = 1;
	return 0;
}

static int rn_resume(void *opaque, const struct proto_msg *req, json_object **result,
		     struct vx_err *err)
{
	struct rn_domain *dom = opaque;

	(void)req;
	(void)result;
	if (!dom->paused)
		return vx_err_set(err, -EBUSY, "guest is not paused");
	machine_resume(dom->m);
	dom->paused = 0;
	return 0;
}

/* backup-begin/read/status/bitmap/end: the disks' frozen views. */
static int rn_backup(void *opaque, const struct proto_msg *req, json_object **result,
		     struct vx_err *err)
{
	struct rn_domain *dom = opaque;

	return bsrv_verb(&dom->bsrv, req, result, err);
}

static void rn_peer_closed(void *opaque, int peer)
{
	struct rn_domain *dom = opaque;

	bsrv_peer_closed(&dom->bsrv, peer);
}

/* ---- memory snapshots (snapshot.c), in the state directory ---- */

static int rn_state_dir = -1;

void rn_domain_set_state_dir(int dirfd)
{
	rn_state_dir = dirfd;
}

/* args: file (a plain name in the state directory), disk_snapshot (the
 * disks' internal snapshot taken with it, optional). The guest is paused
 * for the save and goes on afterwards unless it was paused before. */
static int rn_snapshot_save(void *opaque, const struct proto_msg *req, json_object **result,
			    struct vx_err *err)
{
	struct rn_domain *dom = opaque;
	const char *file, *disks;
	int fd, rc;

	if ((rc = runner_statedir_arg(req->pm_body, "file", 1, &file, err)) ||
	    (rc = runner_statedir_arg(req->pm_body, "disk_snapshot", 0, &disks, err)))
		return rc;
	if ((fd = runner_statedir_create(rn_state_dir, file, err)) < 0)
		return fd;
	if (!dom->paused)
		machine_pause(dom->m);
	rc = machine_snapshot_save(dom->m, fd, disks, err);
	if (!dom->paused)
		machine_resume(dom->m);
	close(fd);
	if (rc) {
		runner_statedir_remove(rn_state_dir, file);
		return rc;
	}
	*result = json_object_new_object();
	json_object_object_add(*result, "file", json_object_new_string(file));
	json_object_object_add(*result, "memory", json_object_new_boolean(1));
	fprintf(stderr, "vmxd-runner %s: state saved to %s%s%s\n", dom->name, file,
		disks ? ", disk snapshot " : "", disks ? disks : "");
	return 0;
}

/* args as for snapshot-save: the disks go back to disk_snapshot and the
 * guest to the file's state, then runs on from there (or stays paused). */
static int rn_snapshot_load(void *opaque, const struct proto_msg *req, json_object **result,
			    struct vx_err *err)
{
	struct rn_domain *dom = opaque;
	const char *file, *disks;
	int fd, rc;

	(void)result;
	if ((rc = runner_statedir_arg(req->pm_body, "file", 1, &file, err)) ||
	    (rc = runner_statedir_arg(req->pm_body, "disk_snapshot", 0, &disks, err)))
		return rc;
	if ((fd = runner_statedir_read(rn_state_dir, file, err)) < 0)
		return fd;
	if (!dom->paused)
		machine_pause(dom->m);
	rc = machine_snapshot_load(dom->m, fd, disks, err);
	if (!dom->paused)
		machine_resume(dom->m);
	close(fd);
	if (!rc)
		fprintf(stderr, "vmxd-runner %s: state loaded from %s\n", dom->name, file);
	return rc;
}

static const struct runner_ctl_verb rn_verbs[] = {
	{ "status", rn_status },
	{ "shutdown", rn_shutdown },
	{ "destroy", rn_destroy },
	{ "reboot", rn_reboot },
	{ "suspend", rn_suspend },
	{ "resume", rn_resume },
	{ "backup-begin", rn_backup },
	{ "backup-read", rn_backup },
	{ "backup-status", rn_backup },
	{ "backup-bitmap", rn_backup },
	{ "backup-end", rn_backup },
	{ "snapshot-save", rn_snapshot_save },
	{ "snapshot-load", rn_snapshot_load },
};

/* What vmxd records (runner_gone, on_poweroff/on_reboot/on_crash). */
static const char *rn_reason(enum rn_stop why)
{
	switch (why) {
	case RN_POWEROFF:	return "shutdown";
	case RN_RESET:		return "reboot";
	case RN_DESTROYED:	return "destroyed";
	default:		return "crashed";
	}
}

/*
 * The console server and the vCPUs' UART output share io_lock: the guest's
 * bytes arrive from a vCPU thread, clients from this one. Typed bytes go to
 * the UART as its FIFO takes them; the rest wait in the server.
 */
static void rn_console(struct machine *m, struct console *con, const struct pollfd *p, int n)
{
	uint8_t buf[64];
	size_t got;

	pthread_mutex_lock(&m->io_lock);
	console_handle(con, p, n);
	while (console_input_len(con) && vmm_uart_rx_space(&m->pc.com1)) {
		size_t room = vmm_uart_rx_space(&m->pc.com1);

		got = console_take_input(con, buf, room < sizeof(buf) ? room : sizeof(buf));
		if (!got)
			break;
		vmm_uart_push(&m->pc.com1, buf, got);
	}
	pthread_mutex_unlock(&m->io_lock);
}

int rn_domain_run(struct machine *m, const char *uuid, const char *name,
		  int listen_fd, int exit_fd, int sigfd, struct console *con)
{
	struct rn_domain dom = { .m = m, .uuid = uuid, .name = name };
	struct pollfd p[MACHINE_POLLFDS + RUNNER_CTL_MAX_PEERS + 1 + CONSOLE_POLLFDS];
	enum rn_stop why;

	runner_ctl_init(&dom.ctl, listen_fd, "vmxd-runner", rn_verbs,
			sizeof(rn_verbs) / sizeof(rn_verbs[0]), rn_describe, &dom);
	dom.ctl.peer_closed = rn_peer_closed;
	bsrv_init(&dom.bsrv, &dom.ctl);
	for (unsigned i = 0; i < m->ndisks; i++)
		if (!m->cfg.disks[i].readonly)
			bsrv_add_disk(&dom.bsrv, m->cfg.disks[i].path, m->disks[i].img);
	while (atomic_load(&m->stop) == RN_RUNNING) {
		int k, c;

		machine_pollfds(m, sigfd, p);
		k = runner_ctl_pollfds(&dom.ctl, p + MACHINE_POLLFDS, RUNNER_CTL_MAX_PEERS + 1);
		pthread_mutex_lock(&m->io_lock);
		c = console_pollfds(con, p + MACHINE_POLLFDS + k, CONSOLE_POLLFDS);
		pthread_mutex_unlock(&m->io_lock);
		/* A timeout: typed bytes waiting for room in the UART's FIFO. */
		if (poll(p, (nfds_t)(MACHINE_POLLFDS + k + c),
			 console_input_len(con) ? 10 : -1) < 0 && errno != EINTR)
			break;
		machine_polled(m, sigfd, p);
		runner_ctl_handle(&dom.ctl, p + MACHINE_POLLFDS, k);
		rn_console(m, con, p + MACHINE_POLLFDS + k, c);
	}
	why = (enum rn_stop)atomic_load(&m->stop);
	fprintf(stderr, "vmxd-runner %s: guest %s: %s\n", name, machine_stop_name(why),
		m->stop_detail);
	bsrv_close(&dom.bsrv);	/* a backup still reading fails; the disks close next */
	runner_ctl_event(&dom.ctl, "shutoff", rn_reason(why));
	runner_write_exit_reason(exit_fd, rn_reason(why));
	runner_ctl_close(&dom.ctl);
	return why == RN_ERROR ? 1 : 0;
}
