/*
 * loop: the two client sockets, their connections and frame I/O on libuv.
 *
 * The read-write socket is for root, the daemon's own uid and group
 * vc_group; the read-only one for anyone (write verbs refused there).
 * Caller identity comes from SO_PEERCRED at accept. A connection's first
 * message must be hello; a malformed frame gets an error reply, an oversized
 * one an error reply and close. Context: loop thread.
 */
#include "daemon/vmxd.h"
#include "daemon/job.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

/* A client that does not read its answers is cut off past this backlog. */
#define VMXD_WRITE_BACKLOG (16u << 20)

struct vmxd_write {
	uv_write_t w_req;
	uint8_t *w_frame;
};

void vmxd_conn_ref(struct vmxd_conn *c)
{
	c->vc_refs++;
}

static void vmxd_conn_free(struct vmxd_conn *c)
{
	proto_rbuf_free(&c->vc_rb);
	free(c);
}

void vmxd_conn_unref(struct vmxd_conn *c)
{
	if (--c->vc_refs == 0)
		vmxd_conn_free(c);
}

static void vmxd_conn_closed(uv_handle_t *h)
{
	vmxd_conn_unref(h->data);
}

static void vmxd_conn_close(struct vmxd_conn *c)
{
	struct vmxd *v = c->vc_vmxd;
	struct vmxd_conn **pp;

	if (c->vc_closing)
		return;
	c->vc_closing = 1;
	for (pp = &v->conns; *pp; pp = &(*pp)->vc_next)
		if (*pp == c) {
			*pp = c->vc_next;
			break;
		}
	v->nconns--;
	uv_close((uv_handle_t *)&c->vc_pipe, vmxd_conn_closed);
}

static void vmxd_write_done(uv_write_t *req, int status)
{
	struct vmxd_write *w = (struct vmxd_write *)req;

	(void)status;
	free(w->w_frame);
	free(w);
}

void vmxd_send(struct vmxd_conn *c, struct proto_msg *m)
{
	struct vmxd_write *w;
	struct vx_err err;
	uv_buf_t b;
	size_t len;

	if (c->vc_closing)
		return;
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->vc_pipe) >
	    VMXD_WRITE_BACKLOG) {
		log_warn("client pid %d does not read its answers; closing",
			 (int)c->vc_cred.pid);
		vmxd_conn_close(c);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w || proto_encode(m, &w->w_frame, &len, &err) < 0) {
		log_err("cannot encode a reply: %s", w ? err.msg : "out of memory");
		free(w);
		return;
	}
	b = uv_buf_init((char *)w->w_frame, (unsigned)len);
	if (uv_write(&w->w_req, (uv_stream_t *)&c->vc_pipe, &b, 1,
		     vmxd_write_done) < 0) {
		free(w->w_frame);
		free(w);
		vmxd_conn_close(c);
	}
}

int vmxd_send_with_fd(struct vmxd_conn *c, struct proto_msg *m, int fd,
		      struct vx_err *err)
{
	struct vmxd_write *w;
	uv_os_fd_t sock;
	uv_buf_t b;
	size_t len;
	ssize_t n;
	int rc;

	if (c->vc_closing)
		return vx_err_set(err, -EPIPE, "client connection is closing");
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->vc_pipe) > 0)
		return vx_err_set(err, -EBUSY,
				  "this connection has answers queued; ask on a connection of its own");
	if ((rc = uv_fileno((uv_handle_t *)&c->vc_pipe, &sock)) < 0)
		return vx_err_set(err, -EIO, "client socket: %s", uv_strerror(rc));
	w = calloc(1, sizeof(*w));
	if (!w || proto_encode(m, &w->w_frame, &len, err) < 0) {
		free(w);
		return vx_err_set(err, -ENOMEM, "cannot encode the answer");
	}
	/* Past libuv: it cannot attach a descriptor to a non-IPC pipe. */
	n = proto_sendmsg_fd(sock, w->w_frame, len, fd, MSG_DONTWAIT);
	if (n < 0 || (size_t)n == len) {
		free(w->w_frame);
		free(w);
		if (n < 0)
			return vx_err_errno(err, (int)n, "cannot pass the descriptor");
		return 0;
	}
	/* The rest of the frame queues like any answer. */
	b = uv_buf_init((char *)w->w_frame + n, (unsigned)(len - (size_t)n));
	if (uv_write(&w->w_req, (uv_stream_t *)&c->vc_pipe, &b, 1,
		     vmxd_write_done) < 0) {
		free(w->w_frame);
		free(w);
		vmxd_conn_close(c);
	}
	return 0;
}

void vmxd_reply(struct vmxd_conn *c, uint64_t id, json_object *result)
{
	struct proto_msg m;

	proto_msg_response(&m, id, result);
	vmxd_send(c, &m);
	proto_msg_clear(&m);
}

void vmxd_reply_err(struct vmxd_conn *c, uint64_t id, int code, const char *msg)
{
	struct proto_msg m;

	proto_msg_error(&m, id, proto_status_from_errno(code), "%s", msg);
	vmxd_send(c, &m);
}

void vmxd_broadcast(struct vmxd *v, const char *event, json_object *data)
{
	struct proto_msg m;

	proto_msg_event(&m, event, data);
	for (struct vmxd_conn *c = v->conns; c; c = c->vc_next)
		if (c->vc_subscribed)
			vmxd_send(c, &m);
	proto_msg_clear(&m);
}

/* Version negotiation: we speak PROTO_VERSION_MIN..PROTO_VERSION. */
static void vmxd_hello(struct vmxd_conn *c, struct proto_msg *in)
{
	struct proto_msg m;
	json_object *data;

	if (in->pm_version < PROTO_VERSION_MIN) {
		proto_msg_error(&m, 0, PROTO_E_VERSION,
				"protocol version %u is not supported (vmxd speaks %u..%u)",
				in->pm_version, PROTO_VERSION_MIN, PROTO_VERSION);
		vmxd_send(c, &m);
		vmxd_conn_close(c);
		return;
	}
	data = json_object_new_object();
	json_object_object_add(data, "readonly", json_object_new_boolean(c->vc_readonly));
	json_object_object_add(data, "uid", json_object_new_int64(c->vc_cred.uid));
	json_object_object_add(data, "gid", json_object_new_int64(c->vc_cred.gid));
	proto_msg_hello(&m, "vmxd", data);
	m.pm_version = in->pm_version < PROTO_VERSION ? in->pm_version : PROTO_VERSION;
	vmxd_send(c, &m);
	proto_msg_clear(&m);
	c->vc_hello = 1;
}

static void vmxd_handle(struct vmxd_conn *c, struct proto_msg *m)
{
	if (c->vc_denied) {
		vmxd_reply_err(c, m->pm_type == PROTO_REQUEST ? m->pm_id : 0, -EACCES,
			       "read-write socket: caller is not root or in the vmxd group; use the read-only socket");
		vmxd_conn_close(c);
		return;
	}
	if (!c->vc_hello) {
		if (m->pm_type == PROTO_HELLO) {
			vmxd_hello(c, m);
			return;
		}
		vmxd_reply_err(c, m->pm_type == PROTO_REQUEST ? m->pm_id : 0,
			       -EBADMSG, "first message must be hello");
		vmxd_conn_close(c);
		return;
	}
	switch (m->pm_type) {
	case PROTO_REQUEST:
		rpc_dispatch(c, m);
		break;
	case PROTO_HELLO:
		vmxd_reply_err(c, 0, -EBADMSG, "hello sent twice");
		break;
	default:
		vmxd_reply_err(c, m->pm_id, -EBADMSG,
			       "clients send requests, not responses or events");
		break;
	}
}

static void vmxd_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	(void)h;
	(void)hint;
	b->base = malloc(65536);
	b->len = b->base ? 65536 : 0;
}

static void vmxd_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct vmxd_conn *c = s->data;
	struct proto_msg m;
	struct vx_err err;
	int rc;

	if (n < 0) {
		free(b->base);
		vmxd_conn_close(c);
		return;
	}
	rc = proto_rbuf_append(&c->vc_rb, b->base, (size_t)n, &err);
	free(b->base);
	if (rc < 0) {
		vmxd_reply_err(c, 0, rc, err.msg);
		vmxd_conn_close(c);
		return;
	}
	vmxd_conn_ref(c); /* a handler may close c */
	while (!c->vc_closing && (rc = proto_rbuf_next(&c->vc_rb, &m, &err)) != 0) {
		if (rc == -EBADMSG) {
			vmxd_reply_err(c, 0, rc, err.msg);
			continue;
		}
		if (rc < 0) {
			vmxd_reply_err(c, 0, rc, err.msg);
			vmxd_conn_close(c);
			break;
		}
		vmxd_handle(c, &m);
		proto_msg_clear(&m);
	}
	vmxd_conn_unref(c);
}

/* May uid/gid (and its supplementary groups) use the read-write socket? */
static int vmxd_peer_may_write(struct vmxd *v, const struct ucred *cr)
{
	struct passwd pw, *pwp = NULL;
	char buf[4096];
	gid_t groups[256];
	int ng = 256;

	if (cr->uid == 0 || cr->uid == geteuid())
		return 1;
	if (v->group_gid == (gid_t)-1)
		return 0;
	if (cr->gid == v->group_gid)
		return 1;
	if (getpwuid_r(cr->uid, &pw, buf, sizeof(buf), &pwp) != 0 || !pwp)
		return 0;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &ng) < 0)
		return 0;
	for (int i = 0; i < ng; i++)
		if (groups[i] == v->group_gid)
			return 1;
	return 0;
}

static void vmxd_accept(uv_stream_t *srv, int status)
{
	struct vmxd *v = srv->data;
	struct vmxd_conn *c;
	socklen_t len = sizeof(c->vc_cred);
	uv_os_fd_t fd;

	if (status < 0) {
		log_warn("accept: %s", uv_strerror(status));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->vc_vmxd = v;
	c->vc_refs = 1;
	c->vc_readonly = srv == (uv_stream_t *)&v->srv_ro;
	proto_rbuf_init(&c->vc_rb);
	uv_pipe_init(v->loop, &c->vc_pipe, 0);
	c->vc_pipe.data = c;
	if (uv_accept(srv, (uv_stream_t *)&c->vc_pipe) < 0 ||
	    uv_fileno((uv_handle_t *)&c->vc_pipe, &fd) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->vc_cred, &len) < 0) {
		log_warn("cannot accept a client or read its credentials");
		c->vc_closing = 1;
		uv_close((uv_handle_t *)&c->vc_pipe, vmxd_conn_closed);
		return;
	}
	c->vc_next = v->conns;
	v->conns = c;
	v->nconns++;
	if (!c->vc_readonly && !vmxd_peer_may_write(v, &c->vc_cred)) {
		/*
		 * The socket's mode should have stopped this caller already.
		 * The refusal answers its first message (closing at once could
		 * make the client's hello fail before it reads why).
		 */
		log_warn("uid %d (pid %d) is not allowed on the read-write socket",
			 (int)c->vc_cred.uid, (int)c->vc_cred.pid);
		c->vc_denied = 1;
	}
	log_debug("client uid %d pid %d on the %s socket", (int)c->vc_cred.uid,
		  (int)c->vc_cred.pid, c->vc_readonly ? "read-only" : "read-write");
	uv_read_start((uv_stream_t *)&c->vc_pipe, vmxd_alloc, vmxd_read);
}

static int vmxd_bind(struct vmxd *v, uv_pipe_t *p, const char *path, int mode,
		     struct vx_err *err)
{
	int rc;

	uv_pipe_init(v->loop, p, 0);
	p->data = v;
	unlink(path); /* a stale socket from a previous daemon */
	if ((rc = uv_pipe_bind(p, path)) < 0)
		return vx_err_set(err, rc, "cannot bind %s: %s", path, uv_strerror(rc));
	if (chmod(path, (mode_t)mode) < 0)
		return vx_err_errno(err, -errno, "chmod %s", path);
	if (mode == 0660 && v->group_gid != (gid_t)-1 &&
	    chown(path, (uid_t)-1, v->group_gid) < 0)
		log_warn("cannot give %s to group %s", path, v->conf.vc_group);
	return 0;
}

int vmxd_listen(struct vmxd *v, struct vx_err *err)
{
	char **names = NULL;
	int n, rc;

	/* Socket activation (vmxd.socket): FileDescriptorName rw and ro. */
	n = sd_listen_fds_with_names(1, &names);
	for (int i = 0; i < n; i++) {
		uv_pipe_t *p = names && names[i] && strcmp(names[i], "ro") == 0 ?
			       &v->srv_ro : &v->srv_rw;
		int *open = p == &v->srv_ro ? &v->srv_ro_open : &v->srv_rw_open;

		if (!*open) {
			uv_pipe_init(v->loop, p, 0);
			p->data = v;
			uv_pipe_open(p, SD_LISTEN_FDS_START + i);
			*open = 1;
		}
	}
	if (names) {
		for (int i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
	if (!v->srv_rw_open) {
		if ((rc = vmxd_bind(v, &v->srv_rw, v->conf.vc_socket,
				    v->group_gid != (gid_t)-1 ? 0660 : 0600, err)) < 0)
			return rc;
		v->srv_rw_open = 1;
	}
	if (!v->srv_ro_open) {
		if ((rc = vmxd_bind(v, &v->srv_ro, v->conf.vc_socket_ro, 0666, err)) < 0)
			return rc;
		v->srv_ro_open = 1;
	}
	if ((rc = uv_listen((uv_stream_t *)&v->srv_rw, 128, vmxd_accept)) < 0 ||
	    (rc = uv_listen((uv_stream_t *)&v->srv_ro, 128, vmxd_accept)) < 0)
		return vx_err_set(err, rc, "listen: %s", uv_strerror(rc));
	return 0;
}

/* systemd STATUS= line: what vmxd is doing, for systemctl status. */
void vmxd_status(struct vmxd *v)
{
	int running = 0;

	for (struct vmxd_vm *vm = v->vms; vm; vm = vm->vm_next)
		running++;
	sd_notifyf(0, "STATUS=%d domain%s running, %d client%s", running,
		   running == 1 ? "" : "s", v->nconns, v->nconns == 1 ? "" : "s");
}

/* Closes every handle; runners keep running (they are not our children). */
void vmxd_stop(struct vmxd *v)
{
	if (v->stopping)
		return;
	v->stopping = 1;
	sd_notify(0, "STOPPING=1\nSTATUS=stopping; running VMs keep running");
	while (v->conns)
		vmxd_conn_close(v->conns);
	runner_detach_all(v);
	job_stop_all(v); /* the loop runs until their last slices are back */
	if (v->srv_rw_open)
		uv_close((uv_handle_t *)&v->srv_rw, NULL);
	if (v->srv_ro_open)
		uv_close((uv_handle_t *)&v->srv_ro, NULL);
	uv_close((uv_handle_t *)&v->sig_term, NULL);
	uv_close((uv_handle_t *)&v->sig_int, NULL);
	uv_close((uv_handle_t *)&v->sig_hup, NULL);
	uv_close((uv_handle_t *)&v->watchdog, NULL);
}
