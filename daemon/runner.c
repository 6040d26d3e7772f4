/*
 * runner: spawning, supervising and re-attaching the per-domain runner
 * processes.
 *
 * vmxd creates the runner's listening socket <rundir>/vm/<uuid>.sock itself
 * and hands it over as fd 3, so it can connect at once; the runner is
 * detached (own session) and survives the daemon. The connection to it is
 * the supervision: EOF means the runner is gone, whoever its parent is. After
 * a daemon restart the same socket path is how vmxd finds its runners again.
 * Domain type 'test' runs conf.vc_runner_sim (vmxd-runner-sim, which executes
 * no guest code); type 'kvm' needs conf.vc_runner_kvm and is refused while
 * that is not configured: nothing falls back to simulation.
 * Context: loop thread.
 */
#include "daemon/vmxd.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void runner_path(struct vmxd *v, const char *uuid, const char *ext,
			char *out, size_t len)
{
	snprintf(out, len, "%s/vm/%s.%s", v->conf.vc_rundir, uuid, ext);
}

struct vmxd_vm *runner_find(struct vmxd *v, const char *uuid)
{
	for (struct vmxd_vm *vm = v->vms; vm; vm = vm->vm_next)
		if (strcmp(vm->vm_uuid, uuid) == 0)
			return vm;
	return NULL;
}

void runner_set_state(struct vmxd *v, const char *uuid, const char *name,
		      const char *state, const char *reason, int pid)
{
	struct vx_err err;
	json_object *data;

	if (store_domain_set_state(v->store, uuid, state, reason, pid, &err) < 0)
		log_err("domain %s: cannot record state %s: %s", name, state, err.msg);
	log_info("domain %s: %s (%s)", name, state, reason);
	data = json_object_new_object();
	json_object_object_add(data, "name", json_object_new_string(name));
	json_object_object_add(data, "uuid", json_object_new_string(uuid));
	json_object_object_add(data, "state", json_object_new_string(state));
	json_object_object_add(data, "reason", json_object_new_string(reason));
	vmxd_broadcast(v, "domain-state", data);
	vmxd_status(v);
}

/* ---- pending client requests ---- */

static struct vmxd_pending *runner_pending_add(struct vmxd_vm *vm,
					       struct vmxd_conn *c, uint64_t id,
					       uint64_t runner_id,
					       const char *verb)
{
	struct vmxd_pending *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->vp_conn = c;
	if (c)
		vmxd_conn_ref(c);
	p->vp_client_id = id;
	p->vp_runner_id = runner_id;
	snprintf(p->vp_verb, sizeof(p->vp_verb), "%s", verb);
	p->vp_next = vm->vm_pending;
	vm->vm_pending = p;
	return p;
}

/* Answers p (result NULL: plain ok; code < 0: error) and frees it. */
static void runner_pending_done(struct vmxd_vm *vm, struct vmxd_pending *p,
				int code, const char *msg, json_object *result)
{
	struct vmxd_pending **pp;
	char buf[PROTO_ERRMSG_MAX];

	for (pp = &vm->vm_pending; *pp; pp = &(*pp)->vp_next)
		if (*pp == p) {
			*pp = p->vp_next;
			break;
		}
	if (p->vp_done) {
		snprintf(buf, sizeof(buf), "%s", msg ? msg : "");
		p->vp_done(vm->vm_vmxd, p->vp_done_arg, &code, buf, &result);
		msg = buf;
	}
	if (p->vp_conn) {
		if (code < 0)
			vmxd_reply_err(p->vp_conn, p->vp_client_id, code, msg);
		else
			vmxd_reply(p->vp_conn, p->vp_client_id, result);
		vmxd_conn_unref(p->vp_conn);
		result = NULL;
	} else if (code < 0) {
		log_warn("domain %s: %s: %s", vm->vm_name, p->vp_verb, msg);
	}
	if (result)
		json_object_put(result);
	free(p);
}

/* ---- the connection to a runner ---- */

static void runner_vm_closed(uv_handle_t *h)
{
	struct vmxd_vm *vm = h->data;

	if (--vm->vm_handles == 0) {
		proto_rbuf_free(&vm->vm_rb);
		free(vm);
	}
}

static void runner_unlink(struct vmxd_vm *vm)
{
	struct vmxd_vm **pp;

	for (pp = &vm->vm_vmxd->vms; *pp; pp = &(*pp)->vm_next)
		if (*pp == vm) {
			*pp = vm->vm_next;
			break;
		}
	uv_close((uv_handle_t *)&vm->vm_pipe, runner_vm_closed);
	uv_close((uv_handle_t *)&vm->vm_timer, runner_vm_closed);
}

static int runner_send(struct vmxd_vm *vm, struct proto_msg *m)
{
	struct vx_err err;
	uv_buf_t b;
	uint8_t *frame;
	size_t len;
	int rc;

	if ((rc = proto_encode(m, &frame, &len, &err)) < 0)
		return rc;
	/* Runner messages are small; a unix socket takes them at once. */
	b = uv_buf_init((char *)frame, (unsigned)len);
	rc = uv_try_write((uv_stream_t *)&vm->vm_pipe, &b, 1);
	free(frame);
	if (rc >= 0 && (size_t)rc != len)
		rc = -EAGAIN;
	return rc < 0 ? rc : 0;
}

/*
 * Restart budget for on_poweroff/on_crash = restart: a guest that dies at
 * once would otherwise be restarted forever. RUNNER_RESTART_MAX restarts per
 * RUNNER_RESTART_WINDOW_MS per domain, then it stays off (reason says so).
 */
#define RUNNER_RESTART_MAX 3
#define RUNNER_RESTART_WINDOW_MS 60000
static struct {
	char uuid[37];
	uint64_t since;
	int count;
} runner_restarts[32];

static int runner_restart_allowed(struct vmxd *v, const char *uuid)
{
	uint64_t now = uv_now(v->loop);
	size_t i, slot = 0;

	for (i = 0; i < 32; i++) {
		if (strcmp(runner_restarts[i].uuid, uuid) == 0)
			break;
		if (runner_restarts[i].since < runner_restarts[slot].since)
			slot = i;
	}
	if (i == 32) {
		i = slot;
		snprintf(runner_restarts[i].uuid, 37, "%s", uuid);
		runner_restarts[i].count = 0;
		runner_restarts[i].since = now;
	}
	if (now - runner_restarts[i].since > RUNNER_RESTART_WINDOW_MS) {
		runner_restarts[i].since = now;
		runner_restarts[i].count = 0;
	}
	return ++runner_restarts[i].count <= RUNNER_RESTART_MAX;
}

/* The domain's <on_poweroff>/<on_crash>/<on_reboot> says "restart"? */
static int runner_wants_restart(const struct store_domain *sd, const char *event)
{
	struct xml_domain *d;
	const char *act = NULL;
	int restart;

	if (xml_domain_parse(sd->sd_xml, strlen(sd->sd_xml), &d, NULL) < 0)
		return 0;
	if (strcmp(event, "shutdown") == 0)
		act = d->xdom_on_poweroff;
	else if (strcmp(event, "crashed") == 0)
		act = d->xdom_on_crash;
	else if (strcmp(event, "reboot") == 0)
		act = d->xdom_on_reboot ? d->xdom_on_reboot : "restart";
	restart = act && strcmp(act, "restart") == 0;
	xml_domain_free(d);
	return restart;
}

int runner_reboot_destroys(struct vmxd *v, const char *uuid)
{
	struct store_domain sd;
	int destroys = 0;

	if (store_domain_get(v->store, uuid, &sd, NULL) == 0) {
		destroys = !runner_wants_restart(&sd, "reboot");
		store_domain_clear(&sd);
	}
	return destroys;
}

/* The runner is gone: record why, answer everyone waiting, maybe restart. */
static void runner_gone(struct vmxd_vm *vm)
{
	struct vmxd *v = vm->vm_vmxd;
	struct store_domain sd;
	const char *reason;
	char path[VMXD_PATH_MAX + 64], why[32];
	int have_sd, restart = 0;

	if (vm->vm_gone)
		return;
	vm->vm_gone = 1;
	if (strcmp(vm->vm_state, "shutoff") == 0)
		reason = vm->vm_reason;
	else if (vm->vm_destroying)
		reason = "destroyed";
	else if (!vm->vm_hello)
		reason = "failed";
	else
		reason = "crashed";
	snprintf(why, sizeof(why), "%s", reason);
	have_sd = store_domain_get(v->store, vm->vm_uuid, &sd, NULL) == 0;
	if (have_sd && !vm->vm_destroying && runner_wants_restart(&sd, why)) {
		restart = runner_restart_allowed(v, vm->vm_uuid);
		if (!restart) {
			log_warn("domain %s: %s again; restart budget used up, leaving it off",
				 vm->vm_name, why);
			snprintf(why, sizeof(why), "%.16s-too-often", reason);
		}
	}
	if (have_sd) {
		if (!sd.sd_persistent && !restart) {
			store_domain_undefine(v->store, vm->vm_uuid, NULL);
			log_info("transient domain %s stopped (%s) and is gone",
				 vm->vm_name, why);
		} else if (!restart) {
			runner_set_state(v, vm->vm_uuid, vm->vm_name, "shutoff",
					 why, 0);
		}
		/* Restarting: it stays "running" in the store, no shutoff blip. */
	}
	runner_path(v, vm->vm_uuid, "sock", path, sizeof(path));
	unlink(path);
	runner_path(v, vm->vm_uuid, "xml", path, sizeof(path));
	unlink(path);
	runner_path(v, vm->vm_uuid, "pid", path, sizeof(path));
	unlink(path);
	runner_path(v, vm->vm_uuid, "exit", path, sizeof(path));
	unlink(path);
	/* The console log stays: console-log shows why a guest stopped. */
	runner_path(v, vm->vm_uuid, "console", path, sizeof(path));
	unlink(path);
	while (vm->vm_pending) {
		struct vmxd_pending *p = vm->vm_pending;
		char msg[512];

		if (p->vp_wait_stop) {
			runner_pending_done(vm, p, 0, NULL, NULL);
			continue;
		}
		snprintf(msg, sizeof(msg), "runner of domain '%s' exited (%s); see %s/vm/%s.log",
			 vm->vm_name, why, v->conf.vc_rundir, vm->vm_uuid);
		runner_pending_done(vm, p, -EIO, msg, NULL);
	}
	runner_unlink(vm);
	if (restart) {
		struct vx_err err;

		log_info("domain %s: %s, restarting as its configuration asks",
			 sd.sd_name, reason);
		if (runner_start(v, &sd, NULL, 0, &err) < 0)
			log_err("domain %s: restart failed: %s", sd.sd_name, err.msg);
	}
	if (have_sd)
		store_domain_clear(&sd);
}

static void runner_on_hello(struct vmxd_vm *vm, struct proto_msg *m)
{
	struct vmxd *v = vm->vm_vmxd;
	json_object *o;

	vm->vm_hello = 1;
	uv_timer_stop(&vm->vm_timer);
	if (m->pm_body && json_object_object_get_ex(m->pm_body, "pid", &o))
		vm->vm_pid = json_object_get_int(o);
	if (m->pm_body && json_object_object_get_ex(m->pm_body, "state", &o) &&
	    json_object_is_type(o, json_type_string))
		snprintf(vm->vm_state, sizeof(vm->vm_state), "%s",
			 json_object_get_string(o));
	else
		snprintf(vm->vm_state, sizeof(vm->vm_state), "running");
	for (struct vmxd_pending *p = vm->vm_pending, *next; p; p = next) {
		next = p->vp_next;
		if (p->vp_runner_id != 0)
			continue;
		if (strcmp(p->vp_verb, "start") == 0) {
			json_object *r = json_object_new_object();

			runner_set_state(v, vm->vm_uuid, vm->vm_name, vm->vm_state,
					 "booted", vm->vm_pid);
			json_object_object_add(r, "name", json_object_new_string(vm->vm_name));
			json_object_object_add(r, "uuid", json_object_new_string(vm->vm_uuid));
			json_object_object_add(r, "pid", json_object_new_int(vm->vm_pid));
			runner_pending_done(vm, p, 0, NULL, r);
		} else {
			log_info("domain %s: re-attached to runner pid %d (%s)",
				 vm->vm_name, vm->vm_pid, vm->vm_state);
			store_domain_set_state(v->store, vm->vm_uuid, vm->vm_state,
					       "reattached", vm->vm_pid, NULL);
			runner_pending_done(vm, p, 0, NULL, NULL);
		}
	}
}

static void runner_on_response(struct vmxd_vm *vm, struct proto_msg *m)
{
	struct vmxd *v = vm->vm_vmxd;
	struct vmxd_pending *p;
	const char *state = NULL, *reason = NULL;

	for (p = vm->vm_pending; p; p = p->vp_next)
		if (p->vp_runner_id == m->pm_id)
			break;
	if (!p)
		return;
	if (m->pm_status != PROTO_OK) {
		/* Keep the runner's words; the status maps back to an errno. */
		runner_pending_done(vm, p, proto_status_to_errno(m->pm_status),
				    m->pm_error, NULL);
		return;
	}
	if (strcmp(p->vp_verb, "suspend") == 0)
		state = "paused", reason = "user";
	else if (strcmp(p->vp_verb, "resume") == 0)
		state = "running", reason = "unpaused";
	else if (strcmp(p->vp_verb, "reboot") == 0)
		state = "running", reason = "rebooted";
	/* shutdown: the guest says when it starts powering off (an event). */
	if (state) {
		snprintf(vm->vm_state, sizeof(vm->vm_state), "%s", state);
		runner_set_state(v, vm->vm_uuid, vm->vm_name, state, reason, vm->vm_pid);
	}
	if (p->vp_wait_stop) {
		p->vp_runner_id = UINT64_MAX; /* answered; now waits for EOF */
		return;
	}
	runner_pending_done(vm, p, 0, NULL, NULL);
}

static void runner_on_event(struct vmxd_vm *vm, struct proto_msg *m)
{
	json_object *s, *r;

	if (strcmp(m->pm_name, "domain-state") != 0 || !m->pm_body ||
	    !json_object_object_get_ex(m->pm_body, "state", &s) ||
	    !json_object_is_type(s, json_type_string))
		return;
	snprintf(vm->vm_state, sizeof(vm->vm_state), "%s", json_object_get_string(s));
	if (json_object_object_get_ex(m->pm_body, "reason", &r) &&
	    json_object_is_type(r, json_type_string))
		snprintf(vm->vm_reason, sizeof(vm->vm_reason), "%s",
			 json_object_get_string(r));
	else
		snprintf(vm->vm_reason, sizeof(vm->vm_reason), "unknown");
	/* shutoff is recorded when the runner is gone, in runner_gone. */
	if (strcmp(vm->vm_state, "shutoff") != 0)
		runner_set_state(vm->vm_vmxd, vm->vm_uuid, vm->vm_name, vm->vm_state,
				 vm->vm_reason, vm->vm_pid);
}

static void runner_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	(void)h;
	(void)hint;
	b->base = malloc(16384);
	b->len = b->base ? 16384 : 0;
}

static void runner_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct vmxd_vm *vm = s->data;
	struct proto_msg m;
	struct vx_err err;
	int rc;

	if (n < 0) {
		free(b->base);
		runner_gone(vm);
		return;
	}
	rc = proto_rbuf_append(&vm->vm_rb, b->base, (size_t)n, &err);
	free(b->base);
	if (rc < 0) {
		log_err("domain %s: runner: %s", vm->vm_name, err.msg);
		return;
	}
	while (!vm->vm_gone && (rc = proto_rbuf_next(&vm->vm_rb, &m, &err)) != 0) {
		if (rc < 0) {
			log_err("domain %s: runner sent: %s", vm->vm_name, err.msg);
			if (rc != -EBADMSG)
				break;
			continue;
		}
		if (m.pm_type == PROTO_HELLO)
			runner_on_hello(vm, &m);
		else if (m.pm_type == PROTO_RESPONSE)
			runner_on_response(vm, &m);
		else if (m.pm_type == PROTO_EVENT)
			runner_on_event(vm, &m);
		proto_msg_clear(&m);
	}
}

/* Wraps a connected fd to a runner; sends hello. */
static struct vmxd_vm *runner_attach(struct vmxd *v, const char *uuid,
				     const char *name, int fd, int transient,
				     struct vx_err *err)
{
	struct vmxd_vm *vm = calloc(1, sizeof(*vm));
	struct proto_msg m;
	int rc;

	if (!vm) {
		close(fd);
		vx_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	vm->vm_vmxd = v;
	snprintf(vm->vm_uuid, sizeof(vm->vm_uuid), "%s", uuid);
	snprintf(vm->vm_name, sizeof(vm->vm_name), "%s", name);
	snprintf(vm->vm_state, sizeof(vm->vm_state), "starting");
	vm->vm_transient = transient;
	vm->vm_next_id = 1;
	proto_rbuf_init(&vm->vm_rb);
	uv_pipe_init(v->loop, &vm->vm_pipe, 0);
	uv_timer_init(v->loop, &vm->vm_timer);
	vm->vm_pipe.data = vm;
	vm->vm_timer.data = vm;
	vm->vm_handles = 2;
	vm->vm_next = v->vms;
	v->vms = vm;
	if ((rc = uv_pipe_open(&vm->vm_pipe, fd)) < 0) {
		close(fd);
		vx_err_set(err, rc, "runner socket: %s", uv_strerror(rc));
		vm->vm_gone = 1;
		runner_unlink(vm);
		return NULL;
	}
	uv_read_start((uv_stream_t *)&vm->vm_pipe, runner_alloc, runner_read);
	proto_msg_hello(&m, "vmxd", NULL);
	runner_send(vm, &m);
	return vm;
}

static int runner_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static int runner_listen_socket(const char *path, struct vx_err *err)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return vx_err_set(err, -ENAMETOOLONG, "runner socket path too long: %s",
				  path);
	strcpy(sun.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vx_err_errno(err, -errno, "socket");
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(path, 0600) < 0 || listen(fd, 8) < 0) {
		int e = -errno;

		close(fd);
		return vx_err_errno(err, e, "runner socket %s", path);
	}
	return fd;
}

static void runner_process_exit(uv_process_t *p, int64_t status, int sig)
{
	log_debug("runner pid %d exited: status %lld signal %d", p->pid,
		  (long long)status, sig);
	uv_close((uv_handle_t *)p, (uv_close_cb)free);
}

static int runner_write_file(const char *path, const char *text,
			     struct vx_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t len = strlen(text), off = 0;

	if (fd < 0)
		return vx_err_errno(err, -errno, "cannot write %s", path);
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0) {
			int e = -errno;

			close(fd);
			return vx_err_errno(err, e, "cannot write %s", path);
		}
		off += (size_t)n;
	}
	close(fd);
	return 0;
}

/* A runner that has not said hello by then is killed (reason "failed"). */
#define RUNNER_START_TIMEOUT_MS 10000

static void runner_start_timeout(uv_timer_t *t)
{
	struct vmxd_vm *vm = t->data;

	if (vm->vm_hello || vm->vm_pid <= 0)
		return;
	log_err("domain %s: runner pid %d did not answer within %d ms; killing it",
		vm->vm_name, vm->vm_pid, RUNNER_START_TIMEOUT_MS);
	kill(vm->vm_pid, SIGKILL);
}

static int runner_make_state_dir(struct vmxd *v, const char *uuid, char *dir, size_t len,
				 struct vx_err *err);

int runner_start(struct vmxd *v, const struct store_domain *sd,
		 struct vmxd_conn *c, uint64_t id, struct vx_err *err)
{
	char sock[VMXD_PATH_MAX + 64], xml[VMXD_PATH_MAX + 64];
	char pidf[VMXD_PATH_MAX + 64], logf[VMXD_PATH_MAX + 64];
	char dir[VMXD_PATH_MAX + 8];
	const char *prog;
	uv_process_options_t opt;
	uv_stdio_container_t stdio[4];
	uv_process_t *proc;
	struct runner_args args;
	struct vmxd_vm *vm;
	int lfd, logfd, cfd, rc;

	if (strcmp(sd->sd_type, "test") == 0) {
		prog = v->conf.vc_runner_sim;
	} else {
		prog = v->conf.vc_runner_kvm;
		if (!prog[0])
			return vx_err_set(err, -ENOTSUP,
					  "domain '%s' has type 'kvm' but runner_kvm is empty in vmxd.conf; "
					  "vmxd never runs it as a simulation",
					  sd->sd_name);
	}
	snprintf(dir, sizeof(dir), "%s/vm", v->conf.vc_rundir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return vx_err_errno(err, -errno, "cannot create %s", dir);
	runner_path(v, sd->sd_uuid, "sock", sock, sizeof(sock));
	runner_path(v, sd->sd_uuid, "xml", xml, sizeof(xml));
	runner_path(v, sd->sd_uuid, "pid", pidf, sizeof(pidf));
	runner_path(v, sd->sd_uuid, "log", logf, sizeof(logf));
	if ((rc = runner_args_build(&args, prog, sd, xml, pidf, err)) < 0)
		return rc;
	{
		char sdir[VMXD_PATH_MAX + 64];

		if ((rc = runner_make_state_dir(v, sd->sd_uuid, sdir, sizeof(sdir), err)) < 0 ||
		    (rc = runner_args_state_dir(&args, sdir)) < 0) {
			if (rc != -EIO && !err->msg[0])
				vx_err_set(err, rc, "runner command line: %s", strerror(-rc));
			runner_args_free(&args);
			return rc;
		}
	}
	if (strcmp(sd->sd_type, "kvm") == 0 && access(VMXD_VMXCORE_DEV, R_OK | W_OK) < 0) {
		rc = vx_err_set(err, -ENOTSUP,
				"domain '%s': %s: %s (is vmxcore.ko loaded? modprobe vmxcore)",
				sd->sd_name, VMXD_VMXCORE_DEV, strerror(errno));
		runner_args_free(&args);
		return rc;
	}
	if ((rc = runner_write_file(xml, sd->sd_xml, err)) < 0 ||
	    (rc = lfd = runner_listen_socket(sock, err)) < 0) {
		runner_args_free(&args);
		return rc;
	}
	logfd = open(logf, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0) {
		rc = vx_err_errno(err, -errno, "cannot open %s", logf);
		close(lfd);
		runner_args_free(&args);
		return rc;
	}
	memset(&opt, 0, sizeof(opt));
	opt.file = prog;
	opt.args = args.argv;
	opt.exit_cb = runner_process_exit;
	/* Detached: its own session, so it outlives vmxd (restart, upgrade). */
	opt.flags = UV_PROCESS_DETACHED;
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_INHERIT_FD;
	stdio[1].data.fd = logfd;
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = logfd;
	stdio[3].flags = UV_INHERIT_FD;
	stdio[3].data.fd = lfd;
	opt.stdio = stdio;
	opt.stdio_count = 4;
	proc = calloc(1, sizeof(*proc));
	rc = proc ? uv_spawn(v->loop, proc, &opt) : -ENOMEM;
	close(logfd);
	runner_args_free(&args);
	if (rc < 0) {
		close(lfd);
		unlink(sock);
		/* A failed uv_spawn still leaves an initialised handle to close. */
		if (proc)
			uv_close((uv_handle_t *)proc, (uv_close_cb)free);
		return vx_err_set(err, -EIO, "cannot run %s for domain '%s': %s", prog,
				  sd->sd_name, uv_strerror(rc));
	}
	uv_unref((uv_handle_t *)proc);
	vmxd_test_crash("start-mid");
	/* The listening socket exists, so connect succeeds before the runner accepts. */
	cfd = runner_connect(sock);
	close(lfd);
	if (cfd < 0) {
		kill(proc->pid, SIGKILL);
		return vx_err_errno(err, cfd, "cannot connect to runner of '%s'",
				    sd->sd_name);
	}
	log_info("domain %s: runner %s pid %d", sd->sd_name, prog, proc->pid);
	vm = runner_attach(v, sd->sd_uuid, sd->sd_name, cfd, !sd->sd_persistent, err);
	if (!vm) {
		kill(proc->pid, SIGKILL);
		return -EIO;
	}
	vm->vm_pid = proc->pid;
	vm->vm_starting = 1;
	runner_pending_add(vm, c, id, 0, "start");
	uv_timer_start(&vm->vm_timer, runner_start_timeout, RUNNER_START_TIMEOUT_MS, 0);
	return 0;
}

static void runner_timer_fired(uv_timer_t *t)
{
	struct vmxd_vm *vm = t->data;

	if (vm->vm_destroying) {
		log_warn("domain %s: runner pid %d ignores destroy; SIGKILL",
			 vm->vm_name, vm->vm_pid);
		if (vm->vm_pid > 0)
			kill(vm->vm_pid, SIGKILL);
		return;
	}
	for (struct vmxd_pending *p = vm->vm_pending, *next; p; p = next) {
		next = p->vp_next;
		if (p->vp_wait_stop && strcmp(p->vp_verb, "shutdown") == 0) {
			char msg[200];

			snprintf(msg, sizeof(msg),
				 "domain '%s' did not power off in time; it is still running (use destroy)",
				 vm->vm_name);
			runner_pending_done(vm, p, -ETIMEDOUT, msg, NULL);
		}
	}
}

int runner_command(struct vmxd *v, struct vmxd_vm *vm, const char *verb,
		   struct vmxd_conn *c, uint64_t id, int wait_stop,
		   int timeout_ms, struct vx_err *err)
{
	struct vmxd_pending *p;
	struct proto_msg m;
	uint64_t rid = vm->vm_next_id++;
	int rc;

	(void)v;
	proto_msg_request(&m, rid, verb, NULL);
	rc = runner_send(vm, &m);
	if (rc < 0)
		return vx_err_set(err, -EIO, "cannot reach the runner of '%s': %s",
				  vm->vm_name, uv_strerror(rc));
	p = runner_pending_add(vm, c, id, rid, verb);
	if (!p)
		return vx_err_set(err, -ENOMEM, "out of memory");
	p->vp_wait_stop = wait_stop;
	if (strcmp(verb, "destroy") == 0)
		vm->vm_destroying = 1;
	if (wait_stop && timeout_ms > 0)
		uv_timer_start(&vm->vm_timer, runner_timer_fired, (uint64_t)timeout_ms, 0);
	return 0;
}

int runner_command_args(struct vmxd *v, struct vmxd_vm *vm, const char *verb,
			json_object *args, struct vmxd_conn *c, uint64_t id,
			void (*done)(struct vmxd *v, void *arg, int *code, char *msg,
				     json_object **result),
			void *done_arg, struct vx_err *err)
{
	struct vmxd_pending *p;
	struct proto_msg m;
	uint64_t rid = vm->vm_next_id++;
	int rc;

	(void)v;
	proto_msg_request(&m, rid, verb, args);
	rc = runner_send(vm, &m);
	proto_msg_clear(&m);	/* the args are encoded: ours to drop */
	if (rc < 0)
		return vx_err_set(err, -EIO, "cannot reach the runner of '%s': %s",
				  vm->vm_name, uv_strerror(rc));
	p = runner_pending_add(vm, c, id, rid, verb);
	if (!p)
		return vx_err_set(err, -ENOMEM, "out of memory");
	p->vp_done = done;
	p->vp_done_arg = done_arg;
	return 0;
}

void runner_state_dir(struct vmxd *v, const char *uuid, char *out, size_t len)
{
	char db[VMXD_PATH_MAX];
	char *slash;

	snprintf(db, sizeof(db), "%s", v->conf.vc_db);
	slash = strrchr(db, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(db, sizeof(db), ".");
	snprintf(out, len, "%s/snapshots/%s", db, uuid);
}

/* The runner's state directory: made before it starts, owned by the user
 * the runner drops to (nobody) when vmxd is root. */
static int runner_make_state_dir(struct vmxd *v, const char *uuid, char *dir, size_t len,
				 struct vx_err *err)
{
	char parent[VMXD_PATH_MAX + 64];

	runner_state_dir(v, uuid, dir, len);
	snprintf(parent, sizeof(parent), "%s", dir);
	*strrchr(parent, '/') = '\0';
	if ((mkdir(parent, 0711) < 0 && errno != EEXIST) ||
	    (mkdir(dir, 0700) < 0 && errno != EEXIST))
		return vx_err_errno(err, -errno, "cannot create %s", dir);
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("nobody");

		if (pw && chown(dir, pw->pw_uid, pw->pw_gid) < 0)
			return vx_err_errno(err, -errno, "cannot hand %s to nobody", dir);
	}
	return 0;
}

/* Reads and removes the reason a runner left in <uuid>.exit, if any. */
static void runner_exit_reason(struct vmxd *v, const char *uuid, char *out,
			       size_t len)
{
	char path[VMXD_PATH_MAX + 64];
	FILE *f;

	snprintf(out, len, "runner-lost");
	runner_path(v, uuid, "exit", path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(out, (int)len, f))
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
	unlink(path);
	runner_path(v, uuid, "pid", path, sizeof(path));
	unlink(path);
	runner_path(v, uuid, "console", path, sizeof(path));
	unlink(path);
}

void runner_reattach_all(struct vmxd *v)
{
	struct store_domain *doms;
	struct vx_err err;
	size_t n;

	if (store_domain_list(v->store, &doms, &n, &err) < 0) {
		log_err("cannot list domains: %s", err.msg);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct store_domain *sd = &doms[i];
		char sock[VMXD_PATH_MAX + 64], reason[32];
		struct vmxd_vm *vm;
		int fd;

		/*
		 * Every domain, not only those recorded as active: a vmxd that
		 * died between spawning a runner and its hello left a running
		 * runner behind a "shutoff" row. It is adopted, not killed.
		 */
		runner_path(v, sd->sd_uuid, "sock", sock, sizeof(sock));
		fd = runner_connect(sock);
		if (fd < 0 && strcmp(sd->sd_state, "shutoff") == 0)
			continue;
		if (fd < 0) {
			/* It stopped while vmxd was away. */
			runner_exit_reason(v, sd->sd_uuid, reason, sizeof(reason));
			log_info("domain %s: runner gone while vmxd was down (%s)",
				 sd->sd_name, reason);
			if (!sd->sd_persistent)
				store_domain_undefine(v->store, sd->sd_uuid, NULL);
			else
				runner_set_state(v, sd->sd_uuid, sd->sd_name, "shutoff",
						 reason, 0);
			continue;
		}
		vm = runner_attach(v, sd->sd_uuid, sd->sd_name, fd, !sd->sd_persistent,
				   &err);
		if (vm) {
			vm->vm_pid = sd->sd_pid;
			runner_pending_add(vm, NULL, 0, 0, "attach");
		}
	}
	store_domain_list_free(doms, n);
}

void runner_autostart_all(struct vmxd *v)
{
	struct store_domain *doms;
	struct vx_err err;
	size_t n;

	if (store_domain_list(v->store, &doms, &n, &err) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (doms[i].sd_autostart && strcmp(doms[i].sd_state, "shutoff") == 0 &&
		    !runner_find(v, doms[i].sd_uuid)) {
			log_info("autostart: domain %s", doms[i].sd_name);
			if (runner_start(v, &doms[i], NULL, 0, &err) < 0)
				log_err("autostart of %s failed: %s", doms[i].sd_name,
					err.msg);
		}
	store_domain_list_free(doms, n);
}

/*
 * Daemon stop: let go of the runners without touching them or the store,
 * except one still starting (no hello yet): nobody was told it runs, so it
 * is stopped rather than left behind.
 */
void runner_detach_all(struct vmxd *v)
{
	while (v->vms) {
		struct vmxd_vm *vm = v->vms;

		if (vm->vm_starting && !vm->vm_hello && vm->vm_pid > 0)
			kill(vm->vm_pid, SIGKILL);
		while (vm->vm_pending)
			runner_pending_done(vm, vm->vm_pending, -EIO,
					    "vmxd is stopping", NULL);
		vm->vm_gone = 1;
		runner_unlink(vm);
	}
}
