/* backup_live: see backup_live.h. */
#include "daemon/backup_live.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/runner/backup_serve.h"
#include "proto/proto.h"

#define LIVE_TIMEOUT_MS 60000

struct live_bk {
	int fd;
	struct proto_rbuf rb;
	uint64_t next_id;
	struct live_disk *disks;
	int n;
};

struct live_view {
	struct live_bk *lb;
	int disk;
	/* Read-ahead: one window of the frozen view, handed out in order. */
	uint8_t *ra;
	size_t ra_max;
	uint64_t ra_off, ra_len;
};

/* One request; 0 with *resp the result (NULL allowed), or -errno. */
static int live_call(struct live_bk *lb, const char *verb, json_object *args,
		     json_object **res, struct vx_err *err)
{
	struct proto_msg m;
	int rc;

	if (res)
		*res = NULL;
	if (lb->fd < 0)
		return vx_err_set(err, -ENOTCONN, "live backup: the runner connection is closed");
	rc = proto_call(lb->fd, &lb->rb, ++lb->next_id, verb, args, &m, LIVE_TIMEOUT_MS, err);
	if (rc < 0) {
		if (rc == -ECONNRESET)
			vx_err_set(err, rc, "live backup: the domain's runner went away (%s)", verb);
		return rc;
	}
	if (m.pm_status != PROTO_OK) {
		rc = vx_err_set(err, proto_status_to_errno(m.pm_status), "%s", m.pm_error);
	} else if (res && m.pm_body) {
		*res = json_object_get(m.pm_body);
	}
	proto_msg_clear(&m);
	return rc;
}

static int64_t live_int(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;
}

static void live_str(json_object *o, const char *key, char *out, size_t len)
{
	json_object *v;

	snprintf(out, len, "%s", json_object_object_get_ex(o, key, &v) &&
		 json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "");
}

int live_begin(const char *sock, struct live_disk *disks, int n, unsigned block_bits,
	       uint64_t store_max, struct live_bk **out, struct vx_err *err)
{
	struct live_bk *lb = calloc(1, sizeof(*lb));
	json_object *args, *arr, *res = NULL, *rd;
	int rc;

	*out = NULL;
	if (!lb)
		return vx_err_set(err, -ENOMEM, "out of memory");
	proto_rbuf_init(&lb->rb);
	lb->disks = disks;
	lb->n = n;
	lb->fd = proto_connect_unix(sock, err);
	if (lb->fd < 0) {
		rc = lb->fd;
		live_close(lb);
		return rc;
	}
	rc = proto_client_hello(lb->fd, &lb->rb, "vmxd", NULL, LIVE_TIMEOUT_MS, err);
	if (rc < 0) {
		live_close(lb);
		return rc;
	}
	args = json_object_new_object();
	arr = json_object_new_array();
	for (int i = 0; i < n; i++) {
		json_object *d = json_object_new_object();

		json_object_object_add(d, "path", json_object_new_string(disks[i].path));
		if (disks[i].bitmap)
			json_object_object_add(d, "bitmap", json_object_new_string(disks[i].bitmap));
		json_object_array_add(arr, d);
	}
	json_object_object_add(args, "disks", arr);
	if (block_bits)
		json_object_object_add(args, "block_bits", json_object_new_int((int)block_bits));
	if (store_max)
		json_object_object_add(args, "store_max", json_object_new_int64((int64_t)store_max));
	rc = live_call(lb, "backup-begin", args, &res, err);
	if (!rc && (!res || !json_object_object_get_ex(res, "disks", &rd) ||
		    !json_object_is_type(rd, json_type_array) ||
		    (int)json_object_array_length(rd) != n))
		rc = vx_err_set(err, -EPROTO, "live backup: the runner's backup-begin answer lists no disks");
	for (int i = 0; !rc && i < n; i++) {
		json_object *d = json_object_array_get_idx(rd, i);
		int64_t size = live_int(d, "size"), nbits = live_int(d, "nbits");

		if (size <= 0 || nbits < 0) {
			rc = vx_err_set(err, -EPROTO, "live backup: the runner's disk %d has no size", i);
			break;
		}
		disks[i].size = (uint64_t)size;
		disks[i].nbits = (uint64_t)nbits;
		disks[i].granularity_bits = (unsigned)live_int(d, "granularity_bits");
		live_str(d, "format", disks[i].format, sizeof(disks[i].format));
		live_str(d, "bitmap", disks[i].bitmap_state, sizeof(disks[i].bitmap_state));
	}
	json_object_put(res);
	if (rc < 0) {
		live_close(lb);
		return rc;
	}
	*out = lb;
	return 0;
}

static int lv_fetch(struct live_view *v, uint8_t *p, uint64_t off, size_t len,
		    struct vx_err *err);

/* The view's data: from the read-ahead window, else pieces of at most
 * BSRV_MAX_READ bytes. */
static int lv_read(struct img *img, void *buf, uint64_t off, size_t len, struct vx_err *err)
{
	struct live_view *v = img->priv;
	int rc;

	if (v->ra && len <= v->ra_max) {
		if (off < v->ra_off || off + len > v->ra_off + v->ra_len) {
			v->ra_off = off;
			v->ra_len = img->size - off < v->ra_max ? img->size - off : v->ra_max;
			rc = lv_fetch(v, v->ra, off, (size_t)v->ra_len, err);
			if (rc < 0) {
				v->ra_len = 0;
				return rc;
			}
		}
		memcpy(buf, v->ra + (off - v->ra_off), len);
		return 0;
	}
	return lv_fetch(v, buf, off, len, err);
}

/* n raw bytes after a backup-read answer: first what the frame reader
 * already took in, then straight from the socket. */
static int lv_trailer(struct live_bk *lb, uint8_t *p, size_t n, struct vx_err *err)
{
	size_t have = lb->rb.rb_len < n ? lb->rb.rb_len : n;
	struct pollfd pfd = { .fd = lb->fd, .events = POLLIN };

	memcpy(p, lb->rb.rb_buf, have);
	memmove(lb->rb.rb_buf, lb->rb.rb_buf + have, lb->rb.rb_len - have);
	lb->rb.rb_len -= have;
	for (p += have, n -= have; n;) {
		ssize_t got;
		int rc = poll(&pfd, 1, LIVE_TIMEOUT_MS);

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0)
			return vx_err_set(err, -ETIMEDOUT, "live backup: the runner stopped sending data");
		got = recv(lb->fd, p, n, 0);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got <= 0)
			return vx_err_set(err, -ECONNRESET, "live backup: the domain's runner went away");
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

static int lv_fetch(struct live_view *v, uint8_t *p, uint64_t off, size_t len,
		    struct vx_err *err)
{
	while (len) {
		size_t n = len < BSRV_MAX_READ ? len : BSRV_MAX_READ;
		json_object *args = json_object_new_object(), *res;
		int64_t got;
		int rc;

		json_object_object_add(args, "disk", json_object_new_int(v->disk));
		json_object_object_add(args, "offset", json_object_new_int64((int64_t)off));
		json_object_object_add(args, "length", json_object_new_int64((int64_t)n));
		rc = live_call(v->lb, "backup-read", args, &res, err);
		if (rc < 0)
			return rc;
		got = res ? live_int(res, "length") : -1;
		json_object_put(res);
		if (got != (int64_t)n) {
			/* The stream cannot be trusted past a wrong count. */
			close(v->lb->fd);
			v->lb->fd = -1;
			return vx_err_set(err, -EPROTO, "live backup: the runner announced %lld bytes for %zu at 0x%llx",
					  (long long)got, n, (unsigned long long)off);
		}
		rc = lv_trailer(v->lb, p, n, err);
		if (rc < 0)
			return rc;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int lv_status(struct img *img, uint64_t off, uint64_t len, uint64_t *pnum,
		     int *from_backing, struct vx_err *err)
{
	struct live_view *v = img->priv;
	json_object *args = json_object_new_object(), *res, *o;
	int64_t n;
	int rc, alloc = 0;

	json_object_object_add(args, "disk", json_object_new_int(v->disk));
	json_object_object_add(args, "offset", json_object_new_int64((int64_t)off));
	json_object_object_add(args, "length", json_object_new_int64((int64_t)len));
	rc = live_call(v->lb, "backup-status", args, &res, err);
	if (rc < 0)
		return rc;
	n = res ? live_int(res, "length") : -1;
	if (res && json_object_object_get_ex(res, "allocated", &o))
		alloc = json_object_get_boolean(o);
	*from_backing = res && json_object_object_get_ex(res, "from_backing", &o) &&
			json_object_get_boolean(o);
	json_object_put(res);
	if (n <= 0 || (uint64_t)n > len)
		return vx_err_set(err, -EPROTO, "live backup: the runner's status answer has no valid length");
	*pnum = (uint64_t)n;
	return alloc;
}

static int lv_write(struct img *img, const void *buf, uint64_t off, size_t len,
		    struct vx_err *err)
{
	(void)buf;
	(void)off;
	(void)len;
	return vx_err_set(err, -EBADF, "live backup: %s is a read-only view", img->path);
}

static int lv_discard(struct img *img, uint64_t off, uint64_t len, struct vx_err *err)
{
	return lv_write(img, NULL, off, (size_t)len, err);
}

static int lv_flush(struct img *img, struct vx_err *err)
{
	(void)img;
	(void)err;
	return 0;
}

static void lv_close(struct img *img)
{
	struct live_view *v = img->priv;

	free(v->ra);
	free(v);
}

void live_view_readahead(struct img *view, size_t bytes)
{
	struct live_view *v = view->priv;

	if (bytes > BSRV_MAX_READ)
		bytes = BSRV_MAX_READ;
	free(v->ra);
	v->ra = bytes ? malloc(bytes) : NULL;
	v->ra_max = v->ra ? bytes : 0;
	v->ra_len = 0;
}

static const struct img_ops live_view_ops = {
	.name = "live-view",
	.read = lv_read,
	.write = lv_write,
	.discard = lv_discard,
	.flush = lv_flush,
	.status = lv_status,
	.close = lv_close,
};

int live_view(struct live_bk *lb, int i, struct img **view, struct vx_err *err)
{
	struct live_view *v = calloc(1, sizeof(*v));
	int rc;

	if (!v)
		return vx_err_set(err, -ENOMEM, "out of memory");
	v->lb = lb;
	v->disk = i;
	rc = img_wrap(&live_view_ops, v, lb->disks[i].path, lb->disks[i].size, view, err);
	if (rc < 0)
		free(v);
	return rc;
}

int live_bitmap(struct live_bk *lb, int i, uint8_t **bits, struct vx_err *err)
{
	uint64_t bytes = (lb->disks[i].nbits + 7) / 8, off = 0;
	uint8_t *b = malloc(bytes + 1);

	*bits = NULL;
	if (!b)
		return vx_err_set(err, -ENOMEM, "out of memory");
	while (off < bytes) {
		uint64_t n = bytes - off < BSRV_MAX_BITMAP ? bytes - off : BSRV_MAX_BITMAP;
		json_object *args = json_object_new_object(), *res, *d;
		long got;
		int rc;

		json_object_object_add(args, "disk", json_object_new_int(i));
		json_object_object_add(args, "offset", json_object_new_int64((int64_t)off));
		json_object_object_add(args, "length", json_object_new_int64((int64_t)n));
		rc = live_call(lb, "backup-bitmap", args, &res, err);
		if (rc < 0) {
			free(b);
			return rc;
		}
		got = res && json_object_object_get_ex(res, "data", &d) &&
		      json_object_is_type(d, json_type_string) ?
		      bsrv_b64_decode(json_object_get_string(d), b + off, n) : -1;
		json_object_put(res);
		if (got != (long)n) {
			free(b);
			return vx_err_set(err, -EPROTO, "live backup: the runner sent a short bitmap");
		}
		off += n;
	}
	*bits = b;
	return 0;
}

int live_end(struct live_bk *lb, int done, json_object **report, struct vx_err *err)
{
	json_object *args = json_object_new_object(), *res = NULL, *d;
	int rc;

	json_object_object_add(args, "done", json_object_new_boolean(done));
	rc = live_call(lb, "backup-end", args, &res, err);
	if (report)
		*report = !rc && res && json_object_object_get_ex(res, "disks", &d) ?
			  json_object_get(d) : NULL;
	json_object_put(res);
	return rc;
}

void live_close(struct live_bk *lb)
{
	if (!lb)
		return;
	if (lb->fd >= 0)
		close(lb->fd);
	proto_rbuf_free(&lb->rb);
	free(lb);
}
