/*
 * console_verbs: vmxd's side of `vmctl console` (prefix vcon_).
 *
 * console: vmxd connects to the runner's console socket
 * (<rundir>/vm/<uuid>.console, daemon/runner/console.c), writes the attach
 * line for the client and hands the connected descriptor over in its
 * response (SCM_RIGHTS). From then on the bytes flow between vmctl and the
 * runner without vmxd: a chatty guest cannot load the daemon, and vmxd
 * restarting does not cut a console session. The runner's answer to the
 * attach line ("ok", or "busy ..." when another client is attached) is the
 * first line the client reads on that descriptor.
 *
 * console-log: the tail of <uuid>.console.log (and .1 when the current file
 * is short), made valid UTF-8 for JSON, for any domain that ever ran.
 * Context: loop thread. Nothing here waits for a runner.
 */
#include "daemon/vmxd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void vcon_path(struct vmxd *v, const char *uuid, const char *ext,
		      char *out, size_t len)
{
	snprintf(out, len, "%s/vm/%s.%s", v->conf.vc_rundir, uuid, ext);
}

/*
 * Non-blocking connect: a runner whose backlog is full must not stall the
 * loop. Returns the fd (blocking again, for the client) or a negative errno.
 */
static int vcon_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd, e;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		e = -errno;
		close(fd);
		return e;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

int vcon_attach(struct vmxd *v, struct vmxd_conn *c, uint64_t id,
		const struct store_domain *sd, int force, int replay,
		struct vx_err *err)
{
	struct vmxd_vm *vm = runner_find(v, sd->sd_uuid);
	char path[VMXD_PATH_MAX + 64], hello[64];
	struct proto_msg m;
	json_object *r;
	ssize_t n;
	int fd, rc;

	if (!vm || !vm->vm_hello || vm->vm_gone)
		return vx_err_set(err, -EBUSY, "domain '%s' is not running",
				  sd->sd_name);
	vcon_path(v, sd->sd_uuid, "console", path, sizeof(path));
	fd = vcon_connect(path);
	if (fd == -ENOENT || fd == -ECONNREFUSED)
		return vx_err_set(err, -ENOTSUP,
				  "the runner of domain '%s' offers no console", sd->sd_name);
	if (fd == -EAGAIN)
		return vx_err_set(err, -EBUSY,
				  "the console of domain '%s' is not accepting; try again",
				  sd->sd_name);
	if (fd < 0)
		return vx_err_errno(err, fd, "cannot connect to the console of '%s'",
				    sd->sd_name);
	snprintf(hello, sizeof(hello), "vmxcore-console 1 attach%s%s\n",
		 force ? " force" : "", replay ? " replay" : "");
	/* A fresh socket's buffer takes one short line at once. */
	n = send(fd, hello, strlen(hello), MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n != (ssize_t)strlen(hello)) {
		close(fd);
		return vx_err_set(err, -EIO, "cannot talk to the console of '%s'",
				  sd->sd_name);
	}
	r = json_object_new_object();
	json_object_object_add(r, "name", json_object_new_string(sd->sd_name));
	json_object_object_add(r, "uuid", json_object_new_string(sd->sd_uuid));
	proto_msg_response(&m, id, r);
	rc = vmxd_send_with_fd(c, &m, fd, err);
	proto_msg_clear(&m);
	close(fd); /* the client's copy is the session */
	if (rc == 0)
		log_info("domain %s: console handed to uid %d pid %d%s", sd->sd_name,
			 (int)c->vc_cred.uid, (int)c->vc_cred.pid, force ? " (force)" : "");
	return rc;
}

/* Reads up to want bytes ending at the end of path; *full: the whole file. */
static size_t vcon_tail(const char *path, char *buf, size_t want, int *full)
{
	struct stat st;
	off_t off;
	ssize_t n;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	*full = 1;
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	off = st.st_size > (off_t)want ? st.st_size - (off_t)want : 0;
	*full = off == 0;
	while (got < want && (n = pread(fd, buf + got, want - got, off + (off_t)got)) > 0)
		got += (size_t)n;
	close(fd);
	return got;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t vcon_utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/*
 * Guest output is bytes; JSON wants UTF-8. Invalid bytes (also a sequence
 * cut by the tail's start) become U+FFFD, NULs are dropped.
 */
static char *vcon_utf8_clean(const char *in, size_t n)
{
	const unsigned char *s = (const unsigned char *)in;
	char *out = malloc(n * 3 + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t k = vcon_utf8_len(s + i, n - i);

		if (k == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		if (s[i] != 0) {
			memcpy(o, s + i, k);
			o += k;
		}
		i += k;
	}
	*o = '\0';
	return out;
}

int vcon_log(struct vmxd *v, const struct store_domain *sd, int64_t want,
	     json_object **result, struct vx_err *err)
{
	char path[VMXD_PATH_MAX + 64], *buf, *text;
	size_t cur, old = 0;
	int full_cur, full_old = 1;

	buf = malloc((size_t)want);
	if (!buf)
		return vx_err_set(err, -ENOMEM, "out of memory");
	/* The current file's tail, preceded by the rotated one's if short. */
	vcon_path(v, sd->sd_uuid, "console.log", path, sizeof(path));
	cur = vcon_tail(path, buf, (size_t)want, &full_cur);
	if (cur < (size_t)want && full_cur) {
		char *tmp = malloc((size_t)want - cur);

		vcon_path(v, sd->sd_uuid, "console.log.1", path, sizeof(path));
		if (tmp) {
			old = vcon_tail(path, tmp, (size_t)want - cur, &full_old);
			memmove(buf + old, buf, cur);
			memcpy(buf, tmp, old);
			free(tmp);
		}
	}
	text = vcon_utf8_clean(buf, old + cur);
	free(buf);
	if (!text)
		return vx_err_set(err, -ENOMEM, "out of memory");
	*result = json_object_new_object();
	json_object_object_add(*result, "name", json_object_new_string(sd->sd_name));
	json_object_object_add(*result, "log", json_object_new_string(text));
	json_object_object_add(*result, "truncated",
			       json_object_new_boolean(!full_cur || !full_old));
	free(text);
	return 0;
}
