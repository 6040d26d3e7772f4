/* backup_serve: see backup_serve.h. */
#include "daemon/runner/backup_serve.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "storage/cbw.h"

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *bsrv_b64_encode(const uint8_t *d, size_t len)
{
	char *out = malloc((len + 2) / 3 * 4 + 1), *p = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < len ? (uint32_t)d[i + 1] << 8 : 0) |
			     (i + 2 < len ? d[i + 2] : 0);

		*p++ = b64[v >> 18];
		*p++ = b64[(v >> 12) & 63];
		*p++ = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		*p++ = i + 2 < len ? b64[v & 63] : '=';
	}
	*p = '\0';
	return out;
}

static int b64_val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

long bsrv_b64_decode(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s), o = 0;

	if (n % 4)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int a = b64_val(s[i]), b = b64_val(s[i + 1]);
		int c = s[i + 2] == '=' ? 0 : b64_val(s[i + 2]);
		int d = s[i + 3] == '=' ? 0 : b64_val(s[i + 3]);
		int k = s[i + 2] == '=' ? 1 : s[i + 3] == '=' ? 2 : 3;
		uint32_t v;

		if (a < 0 || b < 0 || c < 0 || d < 0 || (k < 3 && i + 4 != n) ||
		    (s[i + 2] == '=' && s[i + 3] != '=') || o + (size_t)k > cap)
			return -1;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
		out[o++] = (uint8_t)(v >> 16);
		if (k > 1)
			out[o++] = (uint8_t)(v >> 8);
		if (k > 2)
			out[o++] = (uint8_t)v;
	}
	return (long)o;
}

void bsrv_init(struct bsrv *s, struct runner_ctl *ctl)
{
	memset(s, 0, sizeof(*s));
	s->ctl = ctl;
	s->peer = -1;
}

int bsrv_add_disk(struct bsrv *s, const char *path, struct img *img)
{
	if (s->ndisks == BSRV_MAX_DISKS)
		return -ENOSPC;
	s->disks[s->ndisks++] = (struct bsrv_disk){ .path = path, .img = img };
	return 0;
}

/* Ends the session; done: the backup is durable (cbw.h). */
static void bsrv_end(struct bsrv *s, int done, json_object *report)
{
	for (int i = 0; i < s->nviews; i++) {
		struct cbw_stats st;

		img_cbw_stats(s->views[i], &st);
		if (report) {
			json_object *d = json_object_new_object();

			json_object_object_add(d, "block_size", json_object_new_int64((int64_t)st.block_size));
			json_object_object_add(d, "copied", json_object_new_int64((int64_t)st.copied));
			json_object_object_add(d, "passed", json_object_new_int64((int64_t)st.passed));
			json_object_object_add(d, "store_peak", json_object_new_int64((int64_t)st.store_peak));
			json_object_array_add(report, d);
		}
		img_cbw_end(s->views[i], done, NULL);
		s->views[i] = NULL;
	}
	s->nviews = 0;
	s->peer = -1;
	free(s->rbuf);
	s->rbuf = NULL;
}

void bsrv_peer_closed(struct bsrv *s, int peer)
{
	if (s->peer >= 0 && s->peer == peer)
		bsrv_end(s, 0, NULL);
}

void bsrv_close(struct bsrv *s)
{
	if (s->peer >= 0)
		bsrv_end(s, 0, NULL);
}

static int arg_int(const struct proto_msg *req, const char *key, int64_t *v,
		   int required, struct vx_err *err)
{
	json_object *o;

	if (!req->pm_body || !json_object_object_get_ex(req->pm_body, key, &o) || !o) {
		if (required)
			return vx_err_set(err, -EINVAL, "backup: argument '%s' missing", key);
		return 0;
	}
	if (!json_object_is_type(o, json_type_int) || json_object_get_int64(o) < 0)
		return vx_err_set(err, -EINVAL, "backup: argument '%s' must be a count", key);
	*v = json_object_get_int64(o);
	return 0;
}

static int bsrv_find(struct bsrv *s, const char *path, struct vx_err *err)
{
	for (int i = 0; i < s->ndisks; i++)
		if (strcmp(s->disks[i].path, path) == 0)
			return i;
	if (!s->ndisks)
		return vx_err_set(err, -ENOTSUP, "backup: this runner holds no disks%s",
				  strcmp(s->ctl->name, "vmxd-runner-sim") == 0 ?
				  " (the simulation opens them with sim.disks on its command line)" : "");
	return vx_err_set(err, -ENOENT, "backup: the domain has no disk %s", path);
}

static const char *bitmap_word(enum cbw_bitmap b)
{
	switch (b) {
	case CBW_BITMAP_TAKEN:	return "taken";
	case CBW_BITMAP_NEW:	return "new";
	case CBW_BITMAP_RESET:	return "reset";
	default:		return "none";
	}
}

/* {disks:[{path, bitmap?}], block_bits?, store_max?}: all frozen at once. */
static int bsrv_begin(struct bsrv *s, const struct proto_msg *req, json_object **result,
		      struct vx_err *err)
{
	struct cbw_opts co = { 0 };
	struct img *locked[BSRV_MAX_DISKS];
	json_object *arr, *out;
	int64_t v = 0;
	int rc, n, idx[BSRV_MAX_DISKS];
	const char *bitmap[BSRV_MAX_DISKS];

	if (s->peer >= 0)
		return vx_err_set(err, -EBUSY, "backup: a backup of this domain is already running");
	if ((rc = arg_int(req, "block_bits", &v, 0, err)) < 0)
		return rc;
	co.block_bits = (unsigned)v;
	v = 0;
	if ((rc = arg_int(req, "store_max", &v, 0, err)) < 0)
		return rc;
	co.store_max = (uint64_t)v;
	if (!req->pm_body || !json_object_object_get_ex(req->pm_body, "disks", &arr) ||
	    !json_object_is_type(arr, json_type_array) ||
	    (n = (int)json_object_array_length(arr)) < 1 || n > BSRV_MAX_DISKS)
		return vx_err_set(err, -EINVAL, "backup: argument 'disks' must list 1..%d disks",
				  BSRV_MAX_DISKS);
	for (int i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(arr, i), *p = NULL, *b = NULL;

		if (!json_object_is_type(d, json_type_object) ||
		    !json_object_object_get_ex(d, "path", &p) ||
		    !json_object_is_type(p, json_type_string))
			return vx_err_set(err, -EINVAL, "backup: disks[%d] needs a 'path'", i);
		if ((idx[i] = bsrv_find(s, json_object_get_string(p), err)) < 0)
			return idx[i];
		bitmap[i] = NULL;
		if (json_object_object_get_ex(d, "bitmap", &b) && b) {
			if (!json_object_is_type(b, json_type_string))
				return vx_err_set(err, -EINVAL, "backup: disks[%d].bitmap must be a string", i);
			bitmap[i] = json_object_get_string(b);
		}
	}
	/* Every disk's lock held together: one start point for all of them. */
	for (int i = 0; i < n; i++) {
		locked[i] = s->disks[idx[i]].img;
		img_lock_io(locked[i]);
	}
	rc = 0;
	for (int i = 0; i < n && !rc; i++) {
		co.bitmap = bitmap[i];
		rc = img_cbw_begin(s->disks[idx[i]].img, &co, &s->views[i], err);
		if (!rc) {
			s->vdisk[i] = idx[i];
			s->nviews = i + 1;
		}
	}
	for (int i = n - 1; i >= 0; i--)
		img_unlock_io(locked[i]);
	if (rc < 0) {
		bsrv_end(s, 0, NULL);
		return rc;
	}
	s->peer = s->ctl->cur_peer;
	out = json_object_new_array();
	for (int i = 0; i < n; i++) {
		json_object *d = json_object_new_object();
		const uint8_t *bits;
		uint64_t nbits;
		unsigned g;
		enum cbw_bitmap bm = img_cbw_bitmap(s->views[i], &bits, &nbits, &g);
		struct img *img = s->disks[idx[i]].img;

		json_object_object_add(d, "size", json_object_new_int64((int64_t)img->size));
		json_object_object_add(d, "format", json_object_new_string(img_format(img)));
		json_object_object_add(d, "bitmap", json_object_new_string(bitmap_word(bm)));
		json_object_object_add(d, "nbits", json_object_new_int64((int64_t)nbits));
		json_object_object_add(d, "granularity_bits", json_object_new_int((int)g));
		json_object_array_add(out, d);
	}
	*result = json_object_new_object();
	json_object_object_add(*result, "disks", out);
	return 0;
}

/* The session's view named by the request's 'disk' (an index into begin's list). */
static int bsrv_view(struct bsrv *s, const struct proto_msg *req, struct img **view,
		     uint64_t *off, uint64_t *len, int64_t max, struct vx_err *err)
{
	int64_t d = -1, o = 0, l = 0;
	int rc;

	if (s->peer < 0 || s->peer != s->ctl->cur_peer)
		return vx_err_set(err, -EBUSY, "backup: no backup session on this connection");
	if ((rc = arg_int(req, "disk", &d, 1, err)) < 0 ||
	    (rc = arg_int(req, "offset", &o, 1, err)) < 0 ||
	    (rc = arg_int(req, "length", &l, 1, err)) < 0)
		return rc;
	if (d >= s->nviews)
		return vx_err_set(err, -EINVAL, "backup: disk %lld is not in this session",
				  (long long)d);
	if (!l || l > max)
		return vx_err_set(err, -EINVAL, "backup: length must be 1..%lld", (long long)max);
	*view = s->views[d];
	*off = (uint64_t)o;
	*len = (uint64_t)l;
	return 0;
}

/* {"length": n}, then the n bytes themselves, raw (control.c's trailer). */
static int bsrv_read(struct bsrv *s, const struct proto_msg *req, json_object **result,
		     struct vx_err *err)
{
	struct img *view;
	uint64_t off, len;
	int rc = bsrv_view(s, req, &view, &off, &len, BSRV_MAX_READ, err);

	if (rc < 0)
		return rc;
	if (!s->rbuf && !(s->rbuf = malloc(BSRV_MAX_READ)))
		return vx_err_set(err, -ENOMEM, "backup: out of memory");
	rc = img_read(view, s->rbuf, off, (size_t)len, err);
	if (rc < 0)
		return rc;
	*result = json_object_new_object();
	json_object_object_add(*result, "length", json_object_new_int64((int64_t)len));
	s->ctl->trailer = s->rbuf;
	s->ctl->trailer_len = (size_t)len;
	return 0;
}

static int bsrv_status(struct bsrv *s, const struct proto_msg *req, json_object **result,
		       struct vx_err *err)
{
	struct img *view;
	uint64_t off, len, pnum;
	int fb, rc = bsrv_view(s, req, &view, &off, &len, INT64_MAX, err);

	if (rc < 0)
		return rc;
	rc = img_status(view, off, len, &pnum, &fb, err);
	if (rc < 0)
		return rc;
	*result = json_object_new_object();
	json_object_object_add(*result, "allocated", json_object_new_boolean(rc));
	json_object_object_add(*result, "from_backing", json_object_new_boolean(fb));
	json_object_object_add(*result, "length", json_object_new_int64((int64_t)pnum));
	return 0;
}

/* Bytes [offset, offset+length) of the bits the view took (backup-begin: "taken"). */
static int bsrv_bitmap(struct bsrv *s, const struct proto_msg *req, json_object **result,
		       struct vx_err *err)
{
	struct img *view;
	const uint8_t *bits;
	uint64_t off, len, nbits;
	unsigned g;
	char *txt;
	int rc = bsrv_view(s, req, &view, &off, &len, BSRV_MAX_BITMAP, err);

	if (rc < 0)
		return rc;
	if (img_cbw_bitmap(view, &bits, &nbits, &g) != CBW_BITMAP_TAKEN)
		return vx_err_set(err, -ENOENT, "backup: no bitmap bits were taken for this disk");
	if (off > (nbits + 7) / 8 || len > (nbits + 7) / 8 - off)
		return vx_err_set(err, -EINVAL, "backup: bitmap bytes beyond %llu",
				  (unsigned long long)((nbits + 7) / 8));
	txt = bsrv_b64_encode(bits + off, (size_t)len);
	if (!txt)
		return vx_err_set(err, -ENOMEM, "backup: out of memory");
	*result = json_object_new_object();
	json_object_object_add(*result, "data", json_object_new_string(txt));
	free(txt);
	return 0;
}

static int bsrv_finish(struct bsrv *s, const struct proto_msg *req, json_object **result,
		       struct vx_err *err)
{
	json_object *o, *report;
	int done = 0;

	if (s->peer < 0 || s->peer != s->ctl->cur_peer)
		return vx_err_set(err, -EBUSY, "backup: no backup session on this connection");
	if (req->pm_body && json_object_object_get_ex(req->pm_body, "done", &o))
		done = json_object_get_boolean(o);
	report = json_object_new_array();
	bsrv_end(s, done, report);
	*result = json_object_new_object();
	json_object_object_add(*result, "disks", report);
	return 0;
}

static const struct {
	const char *verb;
	int (*fn)(struct bsrv *s, const struct proto_msg *req, json_object **result,
		  struct vx_err *err);
} bsrv_verbs[] = {
	{ "backup-begin", bsrv_begin },
	{ "backup-read", bsrv_read },
	{ "backup-status", bsrv_status },
	{ "backup-bitmap", bsrv_bitmap },
	{ "backup-end", bsrv_finish },
};

int bsrv_is_verb(const char *verb)
{
	for (size_t i = 0; i < sizeof(bsrv_verbs) / sizeof(bsrv_verbs[0]); i++)
		if (strcmp(bsrv_verbs[i].verb, verb) == 0)
			return 1;
	return 0;
}

int bsrv_verb(struct bsrv *s, const struct proto_msg *req, json_object **result,
	      struct vx_err *err)
{
	for (size_t i = 0; i < sizeof(bsrv_verbs) / sizeof(bsrv_verbs[0]); i++)
		if (strcmp(bsrv_verbs[i].verb, req->pm_name) == 0)
			return bsrv_verbs[i].fn(s, req, result, err);
	return -ENOSYS;
}
