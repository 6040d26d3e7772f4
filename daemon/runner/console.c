/* console: a runner's serial console server. See console.h. */
#include "daemon/runner/console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CONSOLE_HELLO_PREFIX "vmxcore-console 1 attach"

static void console_pending_reset(struct console_pending *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->len = 0;
}

static int console_listen(const char *path, struct vx_err *err)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return vx_err_set(err, -ENAMETOOLONG,
				  "console socket path too long: %s", path);
	strcpy(sun.sun_path, path);
	unlink(path); /* a previous runner's */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return vx_err_errno(err, -errno, "console: socket");
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(path, 0600) < 0 || listen(fd, 4) < 0) {
		int e = -errno;

		close(fd);
		return vx_err_errno(err, e, "console socket %s", path);
	}
	return fd;
}

static int console_open_log(struct console *c, const char *path,
			    struct vx_err *err)
{
	char old[4096];
	struct stat st;

	if (snprintf(old, sizeof(old), "%s.1", path) >= (int)sizeof(old))
		return vx_err_set(err, -ENAMETOOLONG, "console log path too long");
	c->c_log_fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (c->c_log_fd < 0)
		return vx_err_errno(err, -errno, "console log %s", path);
	c->c_log1_fd = open(old, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (c->c_log1_fd < 0)
		return vx_err_errno(err, -errno, "console log %s", old);
	c->c_log_size = fstat(c->c_log_fd, &st) == 0 ? st.st_size : 0;
	return 0;
}

int console_open(struct console *c, const char *sock_path, const char *log_path,
		 struct vx_err *err)
{
	char derived[4096];
	int rc;

	memset(c, 0, sizeof(*c));
	c->c_client_fd = c->c_log_fd = c->c_log1_fd = -1;
	c->c_log_max = CONSOLE_LOG_MAX;
	for (int i = 0; i < CONSOLE_MAX_PENDING; i++)
		c->c_pending[i].fd = -1;
	if (!log_path) {
		if (snprintf(derived, sizeof(derived), "%s.log", sock_path) >=
		    (int)sizeof(derived))
			return vx_err_set(err, -ENAMETOOLONG, "console log path too long");
		log_path = derived;
	}
	c->c_listen_fd = console_listen(sock_path, err);
	if (c->c_listen_fd < 0)
		return c->c_listen_fd;
	if ((rc = console_open_log(c, log_path, err)) < 0) {
		console_close(c);
		return rc;
	}
	return 0;
}

int console_path_from_pidfile(const char *pidfile, char *out, size_t len)
{
	size_t n = strlen(pidfile);

	if (n > 4 && strcmp(pidfile + n - 4, ".pid") == 0)
		n -= 4;
	if ((size_t)snprintf(out, len, "%.*s.console", (int)n, pidfile) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int console_attached(const struct console *c)
{
	return c->c_client_fd >= 0;
}

size_t console_input_len(const struct console *c)
{
	return c->c_in_len;
}

static int console_add(struct pollfd *out, int max, int n, int fd, short ev)
{
	if (n >= max)
		return n;
	out[n].fd = fd;
	out[n].events = ev;
	out[n].revents = 0;
	return n + 1;
}

int console_pollfds(const struct console *c, struct pollfd *out, int max)
{
	int n = 0;

	if (c->c_listen_fd >= 0)
		n = console_add(out, max, n, c->c_listen_fd, POLLIN);
	if (c->c_client_fd >= 0) {
		short ev = 0;

		/* No POLLIN while the guest has not taken what we hold. */
		if (!c->c_client_eof && c->c_in_len < CONSOLE_IN_MAX)
			ev |= POLLIN;
		if (c->c_client_pos < c->c_total)
			ev |= POLLOUT;
		/* events 0 still reports POLLHUP: a client gone for good. */
		n = console_add(out, max, n, c->c_client_fd, ev);
	}
	for (int i = 0; i < CONSOLE_MAX_PENDING; i++)
		if (c->c_pending[i].fd >= 0)
			n = console_add(out, max, n, c->c_pending[i].fd, POLLIN);
	return n;
}

static void console_client_close(struct console *c)
{
	if (c->c_client_fd < 0)
		return;
	close(c->c_client_fd);
	c->c_client_fd = -1;
	c->c_client_eof = 0;
}

/* Sends ring bytes the client has not had, as far as its socket takes them. */
static void console_flush(struct console *c)
{
	while (c->c_client_fd >= 0 && c->c_client_pos < c->c_total) {
		size_t off = (size_t)(c->c_client_pos % CONSOLE_RING_SIZE);
		size_t len = (size_t)(c->c_total - c->c_client_pos);
		ssize_t n;

		if (len > CONSOLE_RING_SIZE - off)
			len = CONSOLE_RING_SIZE - off;
		n = send(c->c_client_fd, c->c_ring + off, len,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			console_client_close(c);
			return;
		}
		c->c_client_pos += (uint64_t)n;
	}
}

/* One line to a peer that is about to be closed or told to go on. */
static void console_say(int fd, const char *line)
{
	ssize_t n = send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);

	(void)n; /* a peer that cannot take one line loses it */
}

/* A complete hello line from pending connection p: attach, refuse or drop. */
static void console_hello(struct console *c, struct console_pending *p)
{
	size_t plen = strlen(CONSOLE_HELLO_PREFIX);
	int force = 0, replay = 0;
	char *w, *save;

	if (strncmp(p->line, CONSOLE_HELLO_PREFIX, plen) != 0 ||
	    (p->line[plen] != '\0' && p->line[plen] != ' ')) {
		console_say(p->fd, "error expected '" CONSOLE_HELLO_PREFIX
			    " [force] [replay]'\n");
		console_pending_reset(p);
		return;
	}
	for (w = strtok_r(p->line + plen, " ", &save); w;
	     w = strtok_r(NULL, " ", &save)) {
		force |= strcmp(w, "force") == 0;
		replay |= strcmp(w, "replay") == 0;
	}
	if (c->c_client_fd >= 0 && !force) {
		console_say(p->fd, "busy another client is attached to this console; "
			    "use --force to take it over\n");
		console_pending_reset(p);
		return;
	}
	if (c->c_client_fd >= 0) {
		console_say(c->c_client_fd,
			    "\r\n[vmxcore: console taken over by another client]\r\n");
		console_client_close(c);
	}
	console_say(p->fd, "ok\n");
	c->c_client_fd = p->fd;
	c->c_client_eof = 0;
	p->fd = -1;
	console_pending_reset(p);
	c->c_client_pos = c->c_total;
	if (replay)
		c->c_client_pos -= c->c_total < CONSOLE_RING_SIZE ?
				   c->c_total : CONSOLE_RING_SIZE;
	console_flush(c);
}

/*
 * Reads the hello line one byte at a time: whatever follows it is console
 * input and must not be swallowed here.
 */
static void console_pending_input(struct console *c, struct console_pending *p)
{
	char ch;
	ssize_t n;

	while ((n = recv(p->fd, &ch, 1, MSG_DONTWAIT)) == 1) {
		if (ch == '\n') {
			p->line[p->len] = '\0';
			console_hello(c, p);
			return;
		}
		if (p->len + 1 >= sizeof(p->line)) {
			console_say(p->fd, "error hello line too long\n");
			console_pending_reset(p);
			return;
		}
		p->line[p->len++] = ch;
	}
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		       errno != EINTR))
		console_pending_reset(p);
}

static void console_accept(struct console *c)
{
	struct console_pending *slot = NULL;
	int fd = accept4(c->c_listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	/* Full: the oldest silent connection makes room (no timers needed). */
	for (int i = 0; i < CONSOLE_MAX_PENDING; i++) {
		struct console_pending *p = &c->c_pending[i];

		if (p->fd < 0) {
			slot = p;
			break;
		}
		if (!slot || p->seq < slot->seq)
			slot = p;
	}
	console_pending_reset(slot);
	slot->fd = fd;
	slot->seq = ++c->c_accepts;
}

static void console_client_input(struct console *c, short revents)
{
	ssize_t n = 0;

	if ((revents & POLLIN) && !c->c_client_eof &&
	    c->c_in_len < CONSOLE_IN_MAX) {
		n = recv(c->c_client_fd, c->c_in + c->c_in_len,
			 CONSOLE_IN_MAX - c->c_in_len, MSG_DONTWAIT);
		if (n > 0)
			c->c_in_len += (size_t)n;
		else if (n == 0)
			c->c_client_eof = 1; /* half-closed: it may still read */
		else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			console_client_close(c);
	}
	/* Gone for good; unless it just sent something, read the rest later. */
	if (c->c_client_fd >= 0 && (revents & (POLLHUP | POLLERR)) && n <= 0)
		console_client_close(c);
	if (c->c_client_fd >= 0 && (revents & POLLOUT))
		console_flush(c);
}

void console_handle(struct console *c, const struct pollfd *fds, int n)
{
	int accept_ready = 0;

	for (int k = 0; k < n; k++) {
		if (!fds[k].revents || fds[k].fd < 0)
			continue;
		if (fds[k].fd == c->c_listen_fd) {
			accept_ready = 1;
		} else if (fds[k].fd == c->c_client_fd) {
			console_client_input(c, fds[k].revents);
		} else {
			for (int i = 0; i < CONSOLE_MAX_PENDING; i++)
				if (c->c_pending[i].fd == fds[k].fd) {
					console_pending_input(c, &c->c_pending[i]);
					break;
				}
		}
	}
	/* Last: a descriptor closed above may be reused by accept. */
	if (accept_ready)
		console_accept(c);
}

/* Copies the log to <log>.1 and empties it: a rename without the syscall. */
static void console_rotate(struct console *c)
{
	uint8_t buf[65536];
	off_t off = 0;
	ssize_t n;

	if (ftruncate(c->c_log1_fd, 0) < 0)
		return;
	while ((n = pread(c->c_log_fd, buf, sizeof(buf), off)) > 0) {
		if (pwrite(c->c_log1_fd, buf, (size_t)n, off) != n)
			break;
		off += n;
	}
	if (ftruncate(c->c_log_fd, 0) == 0)
		c->c_log_size = 0;
}

static void console_log(struct console *c, const uint8_t *buf, size_t len)
{
	ssize_t n;

	if (c->c_log_fd < 0)
		return;
	if (c->c_log_size > 0 && (size_t)c->c_log_size + len > c->c_log_max)
		console_rotate(c);
	while (len > 0) {
		n = write(c->c_log_fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* a full disk costs the log, not the guest */
		buf += n;
		len -= (size_t)n;
		c->c_log_size += n;
	}
}

static void console_ring_put(struct console *c, const uint8_t *buf, size_t len)
{
	if (len > CONSOLE_RING_SIZE) {
		c->c_total += len - CONSOLE_RING_SIZE;
		buf += len - CONSOLE_RING_SIZE;
		len = CONSOLE_RING_SIZE;
	}
	while (len > 0) {
		size_t off = (size_t)(c->c_total % CONSOLE_RING_SIZE);
		size_t k = len < CONSOLE_RING_SIZE - off ? len : CONSOLE_RING_SIZE - off;

		memcpy(c->c_ring + off, buf, k);
		c->c_total += k;
		buf += k;
		len -= k;
	}
}

void console_output(struct console *c, const void *buf, size_t len)
{
	console_log(c, buf, len);
	console_ring_put(c, buf, len);
	if (c->c_client_fd < 0)
		return;
	/* Bytes the ring no longer holds are lost to a client that lagged. */
	if (c->c_total - c->c_client_pos > CONSOLE_RING_SIZE) {
		c->c_dropped += c->c_total - c->c_client_pos - CONSOLE_RING_SIZE;
		c->c_client_pos = c->c_total - CONSOLE_RING_SIZE;
	}
	console_flush(c);
}

size_t console_take_input(struct console *c, void *buf, size_t max)
{
	size_t n = c->c_in_len < max ? c->c_in_len : max;

	memcpy(buf, c->c_in, n);
	memmove(c->c_in, c->c_in + n, c->c_in_len - n);
	c->c_in_len -= n;
	return n;
}

void console_close(struct console *c)
{
	console_client_close(c);
	for (int i = 0; i < CONSOLE_MAX_PENDING; i++)
		console_pending_reset(&c->c_pending[i]);
	if (c->c_listen_fd >= 0)
		close(c->c_listen_fd);
	if (c->c_log_fd >= 0)
		close(c->c_log_fd);
	if (c->c_log1_fd >= 0)
		close(c->c_log1_fd);
	c->c_listen_fd = c->c_log_fd = c->c_log1_fd = -1;
}
