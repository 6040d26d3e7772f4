/* control: see control.h. */
#include "daemon/runner/control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void runner_ctl_init(struct runner_ctl *c, int listen_fd, const char *name,
		     const struct runner_ctl_verb *verbs, size_t nverbs,
		     void (*describe)(void *opaque, json_object *data), void *opaque)
{
	memset(c, 0, sizeof(*c));
	c->listen_fd = listen_fd;
	c->name = name;
	c->verbs = verbs;
	c->nverbs = nverbs;
	c->describe = describe;
	c->opaque = opaque;
	c->cur_peer = -1;
	for (int i = 0; i < RUNNER_CTL_MAX_PEERS; i++)
		c->peers[i].fd = -1;
}

int runner_ctl_pollfds(const struct runner_ctl *c, struct pollfd *out, int max)
{
	int n = 0;

	if (n < max)
		out[n++] = (struct pollfd){ .fd = c->listen_fd, .events = POLLIN };
	for (int i = 0; i < RUNNER_CTL_MAX_PEERS && n < max; i++)
		if (c->peers[i].fd >= 0)
			out[n++] = (struct pollfd){ .fd = c->peers[i].fd, .events = POLLIN };
	return n;
}

static void peer_close(struct runner_ctl *c, struct runner_ctl_peer *p)
{
	close(p->fd);
	p->fd = -1;
	proto_rbuf_free(&p->rb);
	if (c->peer_closed)
		c->peer_closed(c->opaque, (int)(p - c->peers));
}

static void ctl_hello(struct runner_ctl *c, struct runner_ctl_peer *p)
{
	struct proto_msg h;
	json_object *d = json_object_new_object();

	json_object_object_add(d, "pid", json_object_new_int(getpid()));
	c->describe(c->opaque, d);
	proto_msg_hello(&h, c->name, d);
	proto_send_fd(p->fd, &h, NULL);
	proto_msg_clear(&h);
	p->hello = 1;
}

static void ctl_send_all(int fd, const uint8_t *b, size_t len)
{
	while (len) {
		ssize_t n = send(fd, b, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;	/* the peer is gone: its next read says so */
		b += n;
		len -= (size_t)n;
	}
}

static void ctl_request(struct runner_ctl *c, struct runner_ctl_peer *p,
			const struct proto_msg *req)
{
	struct vx_err err = { 0 };
	json_object *result = NULL;
	struct proto_msg m;
	int rc = -ENOSYS;

	c->cur_peer = (int)(p - c->peers);
	for (size_t i = 0; i < c->nverbs; i++)
		if (strcmp(c->verbs[i].verb, req->pm_name) == 0) {
			rc = c->verbs[i].fn(c->opaque, req, &result, &err);
			break;
		}
	c->cur_peer = -1;
	if (rc == -ENOSYS && !err.msg[0])
		proto_msg_error(&m, req->pm_id, PROTO_E_UNKNOWN_VERB,
				"runner: unknown verb '%s'", req->pm_name);
	else if (rc < 0)
		proto_msg_error(&m, req->pm_id, proto_status_from_errno(rc), "%s",
				err.msg[0] ? err.msg : strerror(-rc));
	else
		proto_msg_response(&m, req->pm_id, result);
	if (proto_send_fd(p->fd, &m, NULL) == 0 && rc >= 0 && c->trailer_len)
		ctl_send_all(p->fd, c->trailer, c->trailer_len);
	c->trailer_len = 0;
	proto_msg_clear(&m);
	if (c->after_reply)
		c->after_reply(c->opaque);
}

static void ctl_peer_input(struct runner_ctl *c, struct runner_ctl_peer *p)
{
	uint8_t buf[16384];
	struct proto_msg m;
	ssize_t n = recv(p->fd, buf, sizeof(buf), 0);
	int rc;

	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0 || proto_rbuf_append(&p->rb, buf, (size_t)n, NULL) < 0) {
		peer_close(c, p);
		return;
	}
	while (p->fd >= 0 && (rc = proto_rbuf_next(&p->rb, &m, NULL)) != 0) {
		if (rc < 0) {
			peer_close(c, p);
			return;
		}
		if (m.pm_type == PROTO_HELLO)
			ctl_hello(c, p);
		else if (m.pm_type == PROTO_REQUEST && p->hello)
			ctl_request(c, p, &m);
		proto_msg_clear(&m);
	}
}

static void ctl_accept(struct runner_ctl *c)
{
	int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	for (int i = 0; i < RUNNER_CTL_MAX_PEERS; i++)
		if (c->peers[i].fd < 0) {
			c->peers[i].fd = fd;
			c->peers[i].hello = 0;
			proto_rbuf_init(&c->peers[i].rb);
			return;
		}
	close(fd);	/* more daemons than any sane setup has */
}

void runner_ctl_handle(struct runner_ctl *c, const struct pollfd *p, int n)
{
	for (int k = 0; k < n; k++) {
		if (!p[k].revents)
			continue;
		if (p[k].fd == c->listen_fd) {
			ctl_accept(c);
			continue;
		}
		for (int i = 0; i < RUNNER_CTL_MAX_PEERS; i++)
			if (c->peers[i].fd == p[k].fd) {
				ctl_peer_input(c, &c->peers[i]);
				break;
			}
	}
}

void runner_ctl_event(struct runner_ctl *c, const char *state, const char *reason)
{
	struct proto_msg m;
	json_object *d = json_object_new_object();

	json_object_object_add(d, "state", json_object_new_string(state));
	json_object_object_add(d, "reason", json_object_new_string(reason));
	proto_msg_event(&m, "domain-state", d);
	for (int i = 0; i < RUNNER_CTL_MAX_PEERS; i++)
		if (c->peers[i].fd >= 0 && c->peers[i].hello)
			proto_send_fd(c->peers[i].fd, &m, NULL);
	proto_msg_clear(&m);
}

void runner_ctl_close(struct runner_ctl *c)
{
	for (int i = 0; i < RUNNER_CTL_MAX_PEERS; i++)
		if (c->peers[i].fd >= 0)
			peer_close(c, &c->peers[i]);
}

int runner_write_pidfile(const char *pidfile, struct vx_err *err)
{
	FILE *f = fopen(pidfile, "we");

	if (!f)
		return vx_err_errno(err, -errno, "pid file %s", pidfile);
	fprintf(f, "%d\n", (int)getpid());
	if (fclose(f))
		return vx_err_errno(err, -errno, "pid file %s", pidfile);
	return 0;
}

int runner_open_exit_file(const char *pidfile)
{
	char path[4096];
	size_t len = strlen(pidfile);

	if (len > 4 && strcmp(pidfile + len - 4, ".pid") == 0)
		len -= 4;
	snprintf(path, sizeof(path), "%.*s.exit", (int)len, pidfile);
	return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

void runner_write_exit_reason(int fd, const char *reason)
{
	if (fd < 0)
		return;
	if (write(fd, reason, strlen(reason)) < 0)
		perror("runner: exit reason");
	close(fd);
}
