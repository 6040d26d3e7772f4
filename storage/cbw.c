/*
 * cbw: copy-before-write frozen views (see cbw.h).
 *
 * One state byte per block: untouched (the image still holds the start
 * point's data), copied (the old data waits in the side store), zero (the
 * start point read zeros there: nothing to copy), passed (handed out: the
 * guest owns it again). Every transition happens under the image's lock.
 */
#include "cbw.h"
#include "bitmap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { B_UNTOUCHED, B_COPIED, B_ZERO, B_PASSED };

struct cbw {
	struct img *img;         /* the live image; NULL once it was closed */
	unsigned bbits;
	uint64_t bsize, nblocks;
	uint8_t *state;
	uint8_t **slot;          /* a copied block's old data */
	uint64_t held, store_max;
	struct cbw_stats st;
	struct vx_err ferr;      /* why the view failed */
	char *bitmap;
	enum cbw_bitmap bm;
	uint8_t *bits;
	uint64_t nbits;
	unsigned gbits;
	int ended;               /* bitmap settled, detached */
};

static void cbw_drop_store(struct cbw *c)
{
	for (uint64_t b = 0; c->slot && b < c->nblocks; b++) {
		free(c->slot[b]);
		c->slot[b] = NULL;
	}
	c->held = 0;
}

/* The view fails for good; the guest carries on. */
static void cbw_fail(struct cbw *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void cbw_fail(struct cbw *c, int code, const char *fmt, ...)
{
	va_list ap;

	if (c->st.failed)
		return;
	c->st.failed = code;
	c->ferr.code = code;
	va_start(ap, fmt);
	vsnprintf(c->ferr.msg, sizeof(c->ferr.msg), fmt, ap);
	va_end(ap);
	cbw_drop_store(c);
}

static uint64_t cbw_block_len(const struct cbw *c, uint64_t b)
{
	uint64_t off = b << c->bbits;

	return c->img && c->img->size - off < c->bsize ? c->img->size - off : c->bsize;
}

/* Keeps block b's start-point data before the guest changes it. */
static void cbw_copy_block(struct cbw *c, uint64_t b)
{
	struct vx_err err = { 0 };
	uint64_t len = cbw_block_len(c, b);
	uint8_t *buf;

	if (c->held + len > c->store_max) {
		cbw_fail(c, -ENOSPC,
			 "cbw: %s: the copy-before-write store is full (%llu bytes): the guest "
			 "changed more of the disk than the backup may hold back",
			 c->img->path, (unsigned long long)c->store_max);
		return;
	}
	buf = malloc(len);
	if (!buf) {
		cbw_fail(c, -ENOMEM, "cbw: %s: out of memory for the copy-before-write store",
			 c->img->path);
		return;
	}
	if (c->img->ops->read(c->img, buf, b << c->bbits, (size_t)len, &err) < 0) {
		free(buf);
		cbw_fail(c, err.code ? err.code : -EIO, "cbw: copying block %llu before a write: %s",
			 (unsigned long long)b, err.msg);
		return;
	}
	c->slot[b] = buf;
	c->state[b] = B_COPIED;
	c->held += len;
	c->st.copied++;
	if (c->held > c->st.store_peak)
		c->st.store_peak = c->held;
}

void cbw_before_change(struct cbw *c, uint64_t off, uint64_t len)
{
	uint64_t b, last;

	if (c->st.failed || !len)
		return;
	last = (off + len - 1) >> c->bbits;
	for (b = off >> c->bbits; b <= last && !c->st.failed; b++)
		if (c->state[b] == B_UNTOUCHED)
			cbw_copy_block(c, b);
}

/* Settles the bitmap and detaches (image lock held, or image gone). */
static int cbw_finish(struct cbw *c, int done, struct vx_err *err)
{
	int ret = 0;

	if (c->ended)
		return 0;
	c->ended = 1;
	if (c->img && c->bm != CBW_BITMAP_NONE && !done) {
		ret = img_bitmap_merge(c->img, c->bitmap,
				       c->bm == CBW_BITMAP_TAKEN ? c->bits : NULL,
				       c->nbits, err);
		if (ret == -ENOENT)
			ret = 0;   /* removed meanwhile: nothing to give back to */
	}
	if (c->img)
		c->img->cbw = NULL;
	return ret;
}

void cbw_detach(struct cbw *c)
{
	struct img *img = c->img;

	img_lock_io(img);
	cbw_finish(c, 0, NULL);
	cbw_fail(c, -ENXIO, "cbw: %s was closed during the backup", img->path);
	c->img = NULL;
	img_unlock_io(img);
}

/* ---- the view ---- */

static int view_gone(struct cbw *c, struct vx_err *err)
{
	if (c->st.failed)
		return vx_err_set(err, c->ferr.code, "%s", c->ferr.msg);
	return 0;
}

/* One block's piece [off, off+len) into buf. */
static int view_read_piece(struct cbw *c, uint8_t *buf, uint64_t off, size_t len,
			   struct vx_err *err)
{
	uint64_t b = off >> c->bbits, boff = off & (c->bsize - 1);
	int whole = boff == 0 && len == cbw_block_len(c, b), ret = 0;

	switch (c->state[b]) {
	case B_PASSED:
		return vx_err_set(err, -ESTALE,
				  "cbw: %s: block %llu was read before: the frozen view is read once",
				  c->img->path, (unsigned long long)b);
	case B_ZERO:
		memset(buf, 0, len);
		return 0;
	case B_COPIED:
		memcpy(buf, c->slot[b] + boff, len);
		if (whole) {
			free(c->slot[b]);
			c->slot[b] = NULL;
			c->held -= len;
		}
		break;
	default:
		ret = c->img->ops->read(c->img, buf, off, len, err);
		break;
	}
	if (!ret && whole) {
		c->state[b] = B_PASSED;
		c->st.passed++;
	}
	return ret;
}

static int view_read(struct img *view, void *buf, uint64_t off, size_t len,
		     struct vx_err *err)
{
	struct cbw *c = view->priv;
	uint8_t *p = buf;
	int ret = 0;

	/* One block per lock hold: the guest waits for one block at most. */
	while (len && !ret) {
		uint64_t end = ((off >> c->bbits) + 1) << c->bbits;
		size_t n = end - off < len ? (size_t)(end - off) : len;

		if (!c->img)
			return view_gone(c, err);
		img_lock_io(c->img);
		ret = view_gone(c, err);
		if (!ret)
			ret = view_read_piece(c, p, off, n, err);
		img_unlock_io(c->img);
		p += n;
		off += n;
		len -= n;
	}
	return ret;
}

/* The run of blocks from b with b's state, ending at most at block last. */
static uint64_t view_run_end(const struct cbw *c, uint64_t b, uint64_t last)
{
	uint8_t s = c->state[b], t;

	for (b++; b <= last; b++) {
		t = c->state[b];
		/* Copied and passed both answer "data" */
		if (t != s && !((t == B_COPIED || t == B_PASSED) &&
				(s == B_COPIED || s == B_PASSED)))
			break;
	}
	return b << c->bbits;
}

static int view_status_locked(struct cbw *c, uint64_t off, uint64_t len,
			      uint64_t *pnum, int *from_backing, struct vx_err *err)
{
	uint64_t b = off >> c->bbits, last = (off + len - 1) >> c->bbits;
	uint64_t end = view_run_end(c, b, last), k;
	int ret;

	if (end > off + len)
		end = off + len;
	*pnum = end - off;
	*from_backing = 0;
	if (c->state[b] == B_ZERO)
		return 0;
	if (c->state[b] != B_UNTOUCHED)
		return 1;
	ret = c->img->ops->status(c->img, off, end - off, pnum, from_backing, err);
	if (ret == 0 && !*from_backing) {
		/* Zeros at the start point: later writes there need no copy. */
		uint64_t zend = off + *pnum;

		for (k = (off + c->bsize - 1) >> c->bbits; k < c->nblocks; k++) {
			if ((k << c->bbits) + cbw_block_len(c, k) > zend)
				break;
			if (c->state[k] == B_UNTOUCHED)
				c->state[k] = B_ZERO;
		}
	}
	return ret;
}

static int view_status(struct img *view, uint64_t off, uint64_t len, uint64_t *pnum,
		       int *from_backing, struct vx_err *err)
{
	struct cbw *c = view->priv;
	int ret;

	if (!c->img)
		return view_gone(c, err);
	img_lock_io(c->img);
	ret = view_gone(c, err);
	if (!ret)
		ret = view_status_locked(c, off, len, pnum, from_backing, err);
	img_unlock_io(c->img);
	return ret;
}

static int view_write(struct img *view, const void *buf, uint64_t off, size_t len,
		      struct vx_err *err)
{
	(void)buf;
	(void)off;
	(void)len;
	return vx_err_set(err, -EBADF, "cbw: %s: a frozen view is read-only", view->path);
}

static int view_discard(struct img *view, uint64_t off, uint64_t len, struct vx_err *err)
{
	return view_write(view, NULL, off, (size_t)len, err);
}

static int view_flush(struct img *view, struct vx_err *err)
{
	(void)view;
	(void)err;
	return 0;
}

static void cbw_free(struct cbw *c)
{
	cbw_drop_store(c);
	free(c->slot);
	free(c->state);
	free(c->bitmap);
	free(c->bits);
	free(c);
}

static void view_close(struct img *view)
{
	struct cbw *c = view->priv;
	struct img *img = c->img;

	if (img) {
		img_lock_io(img);
		cbw_finish(c, 0, NULL);
		img_unlock_io(img);
	}
	cbw_free(c);
}

static const struct img_ops cbw_view_ops = {
	.name = "cbw-view",
	.read = view_read,
	.write = view_write,
	.discard = view_discard,
	.flush = view_flush,
	.status = view_status,
	.close = view_close,
};

/* ---- begin, end ---- */

/* Takes the bitmap's start-point bits and restarts it (image lock held). */
static int cbw_take_bitmap(struct cbw *c, const char *name, struct vx_err *err)
{
	struct img_bitmap_info *l;
	int n, ret, found = -1;

	c->bitmap = strdup(name);
	if (!c->bitmap)
		return vx_err_set(err, -ENOMEM, "cbw: out of memory");
	ret = img_bitmap_list(c->img, &l, &n, err);
	if (ret < 0)
		return ret;
	for (int i = 0; i < n; i++)
		if (!strcmp(l[i].name, name))
			found = i;
	if (found < 0) {
		c->bm = CBW_BITMAP_NEW;
		ret = img_bitmap_add(c->img, name, 0, err);
	} else if (l[found].inconsistent || !l[found].enabled) {
		c->bm = CBW_BITMAP_RESET;
		ret = img_bitmap_clear(c->img, name, err);
	} else {
		ret = img_bitmap_get(c->img, name, &c->bits, &c->nbits, &c->gbits, err);
		if (!ret)
			ret = img_bitmap_clear(c->img, name, err);
		if (!ret)
			c->bm = CBW_BITMAP_TAKEN;
	}
	free(l);
	return ret;
}

int img_cbw_begin(struct img *img, const struct cbw_opts *o, struct img **view,
		  struct vx_err *err)
{
	struct cbw *c;
	int ret;

	*view = NULL;
	if (!(img->flags & IMG_RDWR))
		return vx_err_set(err, -EINVAL, "cbw: %s is open read-only: nothing can change it",
				  img->path);
	if (o->block_bits && (o->block_bits < 9 || o->block_bits > 24))
		return vx_err_set(err, -EINVAL, "cbw: block size 2^%u outside 2^9..2^24",
				  o->block_bits);
	c = calloc(1, sizeof(*c));
	if (!c)
		return vx_err_set(err, -ENOMEM, "cbw: out of memory");
	c->img = img;
	c->bbits = o->block_bits ? o->block_bits : 16;
	while (((img->size + (1ull << c->bbits) - 1) >> c->bbits) > CBW_MAX_BLOCKS)
		c->bbits++;
	c->bsize = 1ull << c->bbits;
	c->nblocks = (img->size + c->bsize - 1) >> c->bbits;
	c->store_max = o->store_max ? o->store_max : CBW_STORE_DEFAULT;
	c->st.block_size = c->bsize;
	c->state = calloc(c->nblocks + 1, 1);
	c->slot = calloc(c->nblocks + 1, sizeof(*c->slot));
	if (!c->state || !c->slot) {
		cbw_free(c);
		return vx_err_set(err, -ENOMEM, "cbw: out of memory for %llu blocks",
				  (unsigned long long)c->nblocks);
	}
	img_lock_io(img);
	if (img->cbw) {
		ret = vx_err_set(err, -EBUSY, "cbw: %s: a backup is already reading it", img->path);
	} else {
		ret = o->bitmap ? cbw_take_bitmap(c, o->bitmap, err) : 0;
		if (!ret)
			ret = img_wrap(&cbw_view_ops, c, img->path, img->size, view, err);
		if (!ret)
			img->cbw = c;
	}
	img_unlock_io(img);
	if (ret < 0) {
		/* Bits taken before a later step failed go back. */
		if (c->bm != CBW_BITMAP_NONE) {
			img_lock_io(img);
			cbw_finish(c, 0, NULL);
			img_unlock_io(img);
		}
		cbw_free(c);
	}
	return ret;
}

enum cbw_bitmap img_cbw_bitmap(struct img *view, const uint8_t **bits,
			       uint64_t *nbits, unsigned *granularity_bits)
{
	struct cbw *c = view->priv;

	*bits = c->bits;
	*nbits = c->nbits;
	*granularity_bits = c->gbits;
	return c->bm;
}

void img_cbw_stats(struct img *view, struct cbw_stats *st)
{
	struct cbw *c = view->priv;

	if (c->img)
		img_lock_io(c->img);
	*st = c->st;
	if (c->img)
		img_unlock_io(c->img);
}

int img_cbw_end(struct img *view, int done, struct vx_err *err)
{
	struct cbw *c = view->priv;
	struct img *img = c->img;
	int ret = 0;

	if (img) {
		img_lock_io(img);
		ret = cbw_finish(c, done, err);
		img_unlock_io(img);
	}
	img_close(view, NULL);
	return ret;
}
