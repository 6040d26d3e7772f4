/*
 * io: blocking frame I/O on a connected stream socket, for vmctl, the runner
 * and tests (vmxd itself reads through libuv and only uses the codec), and
 * descriptor passing (SCM_RIGHTS) with a frame, which vmxd uses too.
 * Context: any thread, one caller per fd.
 */
#include "proto.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* All of buf, through short writes and EINTR. */
static int proto_send_all(int fd, const uint8_t *buf, size_t len, struct vx_err *err)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vx_err_errno(err, -errno, "proto: send");
		off += (size_t)n;
	}
	return 0;
}

int proto_send_fd(int fd, const struct proto_msg *m, struct vx_err *err)
{
	uint8_t *frame;
	size_t len;
	int rc;

	rc = proto_encode(m, &frame, &len, err);
	if (rc < 0)
		return rc;
	rc = proto_send_all(fd, frame, len, err);
	free(frame);
	return rc;
}

ssize_t proto_sendmsg_fd(int sock, const void *buf, size_t len, int pass_fd,
			 int flags)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	memset(&ctl, 0, sizeof(ctl));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	do {
		n = sendmsg(sock, &mh, flags | MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

int proto_send_with_fd(int sock, const struct proto_msg *m, int pass_fd,
		       struct vx_err *err)
{
	uint8_t *frame;
	size_t len, off;
	ssize_t n;
	int rc;

	if ((rc = proto_encode(m, &frame, &len, err)) < 0)
		return rc;
	n = proto_sendmsg_fd(sock, frame, len, pass_fd, 0);
	rc = n < 0 ? vx_err_errno(err, (int)n, "proto: sendmsg") : 0;
	/* The descriptor went with the first byte; the rest is plain data. */
	for (off = n > 0 ? (size_t)n : len; off < len; off += (size_t)n) {
		n = send(sock, frame + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n < 0) {
			rc = vx_err_errno(err, -errno, "proto: send");
			break;
		}
	}
	free(frame);
	return rc;
}

/*
 * recv that takes passed descriptors: the first goes to *passed (when
 * passed is not NULL and none was taken yet), every other one is closed so
 * a peer cannot fill our descriptor table.
 */
static ssize_t proto_recvmsg(int sock, void *buf, size_t len, int *passed)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 8)];
	} ctl;
	struct iovec iov = { buf, len };
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return n;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t nfd;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (passed && *passed < 0)
				*passed = fd;
			else
				close(fd);
		}
	}
	return n;
}

/* Smallest read: room for a few small frames (replies, events) at once. */
#define PROTO_RECV_MIN 16384

static long proto_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int proto_recv_fd(int fd, struct proto_rbuf *rb, struct proto_msg *m,
		  int timeout_ms, struct vx_err *err)
{
	return proto_recv_with_fd(fd, rb, m, NULL, timeout_ms, err);
}

int proto_recv_with_fd(int fd, struct proto_rbuf *rb, struct proto_msg *m,
		       int *passed, int timeout_ms, struct vx_err *err)
{
	long deadline = timeout_ms >= 0 ? proto_now_ms() + timeout_ms : 0;
	struct pollfd pfd;
	uint8_t *at;
	ssize_t n, room;
	int rc, wait;

	for (;;) {
		rc = proto_rbuf_next(rb, m, err);
		if (rc != 0)
			return rc < 0 ? rc : 0;
		wait = -1;
		if (timeout_ms >= 0) {
			long left = deadline - proto_now_ms();

			if (left <= 0)
				return vx_err_set(err, -ETIMEDOUT,
						  "proto: no answer within %d ms",
						  timeout_ms);
			wait = (int)left;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		rc = poll(&pfd, 1, wait);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return vx_err_errno(err, -errno, "proto: poll");
		if (rc == 0)
			continue;
		/* Straight into rb: a large answer is read whole, not copied. */
		room = proto_rbuf_space(rb, PROTO_RECV_MIN, &at, err);
		if (room < 0)
			return (int)room;
		n = proto_recvmsg(fd, at, (size_t)room, passed);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return vx_err_errno(err, -errno, "proto: recv");
		if (n == 0)
			return vx_err_set(err, -ECONNRESET,
					  "proto: connection closed by peer");
		proto_rbuf_added(rb, (size_t)n);
	}
}

int proto_connect_unix(const char *path, struct vx_err *err)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return vx_err_set(err, -ENAMETOOLONG,
				  "proto: socket path too long: %s", path);
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vx_err_errno(err, -errno, "proto: socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = -errno;

		close(fd);
		return vx_err_errno(err, e, "cannot connect to %s", path);
	}
	return fd;
}

/* The server's answer to our hello: its hello, in a version we speak. */
static int proto_hello_answer(struct proto_msg *m, struct proto_msg *server,
			      struct vx_err *err)
{
	int rc;

	if (m->pm_type == PROTO_RESPONSE && m->pm_status != PROTO_OK) {
		rc = vx_err_set(err, proto_status_to_errno(m->pm_status), "%s",
				m->pm_error);
		proto_msg_clear(m);
		return rc;
	}
	if (m->pm_type != PROTO_HELLO) {
		proto_msg_clear(m);
		return vx_err_set(err, -EBADMSG,
				  "proto: peer did not answer hello with hello");
	}
	if (m->pm_version < PROTO_VERSION_MIN || m->pm_version > PROTO_VERSION) {
		rc = vx_err_set(err, -EPROTONOSUPPORT,
				"proto: peer speaks version %u, we speak %u..%u",
				m->pm_version, PROTO_VERSION_MIN, PROTO_VERSION);
		proto_msg_clear(m);
		return rc;
	}
	if (server)
		*server = *m;
	else
		proto_msg_clear(m);
	return 0;
}

/*
 * Sends frames (already encoded, back to back) and reads the answer to the
 * first, a hello; a peer that refused us may have said why before it
 * closed, so a failed send still reads briefly.
 */
static int proto_hello_exchange(int fd, struct proto_rbuf *rb,
				const uint8_t *frames, size_t len,
				struct proto_msg *server, int timeout_ms,
				struct vx_err *err)
{
	struct proto_msg m;
	int rc = proto_send_all(fd, frames, len, err);

	if (rc < 0) {
		if (proto_recv_fd(fd, rb, &m, 100, NULL) < 0)
			return rc;
	} else if ((rc = proto_recv_fd(fd, rb, &m, timeout_ms, err)) < 0) {
		return rc;
	}
	return proto_hello_answer(&m, server, err);
}

int proto_client_hello(int fd, struct proto_rbuf *rb, const char *peer,
		       struct proto_msg *server, int timeout_ms,
		       struct vx_err *err)
{
	struct proto_msg m;
	uint8_t *f;
	size_t len;
	int rc;

	proto_msg_hello(&m, peer, NULL);
	if ((rc = proto_encode(&m, &f, &len, err)) < 0)
		return rc;
	rc = proto_hello_exchange(fd, rb, f, len, server, timeout_ms, err);
	free(f);
	return rc;
}

/* Waits for the response to request id; events and stale answers are dropped. */
static int proto_await(int fd, struct proto_rbuf *rb, uint64_t id,
		       struct proto_msg *resp, int *passed, int timeout_ms,
		       struct vx_err *err)
{
	int rc;

	for (;;) {
		rc = proto_recv_with_fd(fd, rb, resp, passed, timeout_ms, err);
		if (rc < 0)
			return rc;
		if (resp->pm_type == PROTO_RESPONSE && resp->pm_id == id)
			return 0;
		proto_msg_clear(resp);
	}
}

int proto_hello_call(int fd, struct proto_rbuf *rb, const char *peer,
		     uint64_t id, const char *verb, json_object *args,
		     struct proto_msg *resp, int timeout_ms, struct vx_err *err)
{
	struct proto_msg h, m;
	uint8_t *fh = NULL, *fr = NULL, *both;
	size_t lh, lr;
	int rc;

	proto_msg_hello(&h, peer, NULL);
	proto_msg_request(&m, id, verb, args);
	if ((rc = proto_encode(&h, &fh, &lh, err)) < 0 ||
	    (rc = proto_encode(&m, &fr, &lr, err)) < 0) {
		free(fh);
		proto_msg_clear(&m);
		return rc;
	}
	proto_msg_clear(&m);
	both = realloc(fh, lh + lr);
	if (!both) {
		free(fh);
		free(fr);
		return vx_err_set(err, -ENOMEM, "proto: out of memory");
	}
	memcpy(both + lh, fr, lr);
	free(fr);
	rc = proto_hello_exchange(fd, rb, both, lh + lr, NULL, timeout_ms, err);
	free(both);
	if (rc < 0)
		return rc;
	return proto_await(fd, rb, id, resp, NULL, timeout_ms, err);
}

int proto_call(int fd, struct proto_rbuf *rb, uint64_t id, const char *verb,
	       json_object *args, struct proto_msg *resp, int timeout_ms,
	       struct vx_err *err)
{
	return proto_call_with_fd(fd, rb, id, verb, args, resp, NULL, timeout_ms,
				  err);
}

int proto_call_with_fd(int fd, struct proto_rbuf *rb, uint64_t id,
		       const char *verb, json_object *args,
		       struct proto_msg *resp, int *passed, int timeout_ms,
		       struct vx_err *err)
{
	struct proto_msg m;
	int rc;

	proto_msg_request(&m, id, verb, args);
	rc = proto_send_fd(fd, &m, err);
	proto_msg_clear(&m);
	if (rc < 0)
		return rc;
	return proto_await(fd, rb, id, resp, passed, timeout_ms, err);
}
