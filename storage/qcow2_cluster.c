/*
 * qcow2_cluster: guest reads, writes and discards through the L1/L2 tables.
 *
 * Write order, so a crash leaves at worst leaked clusters: the new cluster's
 * refcount, then its data, then the L2 entry naming it, then the L1 entry
 * naming a new L2 table; old clusters lose their reference last. A cluster is
 * written in place only when its entry carries the COPIED flag (refcount 1);
 * anything shared with a snapshot, compressed, zero or unallocated is copied
 * to a fresh cluster first. Context: one thread per image.
 */
#include "qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

static int is_compressed(uint64_t e)
{
	return !!(e & QCOW2_OFLAG_COMPRESSED);
}

static void compressed_loc(const struct qcow2 *s, uint64_t e, uint64_t *off,
			   uint64_t *bytes)
{
	unsigned x = 62 - (s->cluster_bits - 8);
	uint64_t nsec = (e >> x) & ((1ull << (s->cluster_bits - 8)) - 1);

	*off = e & ((1ull << x) - 1);
	*bytes = (nsec + 1) * 512 - (*off & 511);
}

int qcow2_check_l2_entry(struct qcow2 *s, uint64_t e, struct vx_err *err)
{
	if (is_compressed(e) || !e)
		return 0;
	if ((e & QCOW2_L2_RESERVED) || ((e & QCOW2_OFFSET_MASK) & (s->cs - 1)))
		return vx_err_set(err, -EIO,
				  "qcow2: %s: L2 entry 0x%llx has reserved bits or an unaligned offset",
				  s->img->path, (unsigned long long)e);
	return 0;
}

int qcow2_l2_entry(struct qcow2 *s, const uint64_t *l1, uint32_t l1_size,
		   uint64_t gcl, uint64_t *entry, struct vx_err *err)
{
	uint64_t l1i = gcl >> s->l2_bits, l2off;
	uint8_t *t;
	int ret;

	*entry = 0;
	if (l1i >= l1_size)
		return 0;
	l2off = l1[l1i] & QCOW2_OFFSET_MASK;
	if (!l2off)
		return 0;
	ret = qcow2_mc_get(s, l2off, &t, err);
	if (ret < 0)
		return ret;
	*entry = qcow2_be64(t + (gcl & ((1ull << s->l2_bits) - 1)) * 8);
	return qcow2_check_l2_entry(s, *entry, err);
}

int qcow2_entry_refs(struct qcow2 *s, uint64_t e, int addend, struct vx_err *err)
{
	uint64_t off, bytes, c, last;
	int ret;

	if (is_compressed(e)) {
		compressed_loc(s, e, &off, &bytes);
		last = (off + bytes - 1) >> s->cluster_bits;
		for (c = off >> s->cluster_bits; c <= last; c++) {
			ret = qcow2_update_refcount(s, c, addend, err);
			if (ret < 0)
				return ret;
		}
		return 0;
	}
	off = e & QCOW2_OFFSET_MASK;
	if (!off)
		return 0;
	return qcow2_update_refcount(s, off >> s->cluster_bits, addend, err);
}

/* Drops e's references after the next fdatasync (see qcow2_alloc). */
static int entry_defer_free(struct qcow2 *s, uint64_t e, struct vx_err *err)
{
	uint64_t off, bytes, c, last;
	int ret;

	if (is_compressed(e)) {
		compressed_loc(s, e, &off, &bytes);
		last = (off + bytes - 1) >> s->cluster_bits;
		for (c = off >> s->cluster_bits; c <= last; c++) {
			ret = qcow2_defer_free(s, c, err);
			if (ret < 0)
				return ret;
		}
		return 0;
	}
	off = e & QCOW2_OFFSET_MASK;
	return off ? qcow2_defer_free(s, off >> s->cluster_bits, err) : 0;
}

static int decompress(struct qcow2 *s, uint64_t e, struct vx_err *err)
{
	uint64_t off, bytes;
	uint8_t *in;
	ssize_t n;
	int ok = 0;

	if (s->dc_entry == e && s->dc_buf)
		return 0;
	if (!s->dc_buf && !(s->dc_buf = malloc(s->cs)))
		return vx_err_set(err, -ENOMEM, "qcow2: out of memory");
	compressed_loc(s, e, &off, &bytes);
	in = malloc(bytes);
	if (!in)
		return vx_err_set(err, -ENOMEM, "qcow2: out of memory");
	/* The last compressed cluster may end before its sector count says. */
	n = pread(s->fd, in, bytes, (off_t)off);
	if (n <= 0) {
		free(in);
		return vx_err_set(err, -EIO,
				  "qcow2: %s: compressed cluster at 0x%llx unreadable or beyond end of file",
				  s->img->path, (unsigned long long)off);
	}
	s->dc_entry = 0;
	if (s->compression_type == QCOW2_COMPRESS_DEFLATE) {
		z_stream z;
		int zr;
		memset(&z, 0, sizeof(z));
		if (inflateInit2(&z, -12) == Z_OK) {
			z.next_in = in;
			z.avail_in = (uInt)n;
			z.next_out = s->dc_buf;
			z.avail_out = (uInt)s->cs;
			zr = inflate(&z, Z_FINISH);
			ok = (zr == Z_STREAM_END || zr == Z_BUF_ERROR) && z.avail_out == 0;
			inflateEnd(&z);
		}
	} else {
		ZSTD_DCtx *d = ZSTD_createDCtx();
		ZSTD_inBuffer ib = { in, (size_t)n, 0 };
		ZSTD_outBuffer ob = { s->dc_buf, s->cs, 0 };
		size_t zr = 0;
		while (d && ob.pos < ob.size && ib.pos < ib.size) {
			zr = ZSTD_decompressStream(d, &ob, &ib);
			if (ZSTD_isError(zr))
				break;
		}
		ok = d && !ZSTD_isError(zr) && ob.pos == ob.size;
		ZSTD_freeDCtx(d);
	}
	free(in);
	if (!ok)
		return vx_err_set(err, -EIO,
				  "qcow2: %s: compressed cluster at 0x%llx does not decompress to one cluster",
				  s->img->path, (unsigned long long)off);
	s->dc_entry = e;
	return 0;
}

/* Reads [in_off, in_off+len) of guest cluster gcl whose L2 entry is e. */
static int read_in_cluster(struct qcow2 *s, uint64_t gcl, uint64_t e,
			   uint64_t in_off, size_t len, uint8_t *buf,
			   struct vx_err *err)
{
	uint64_t host;
	int ret;

	if (is_compressed(e)) {
		ret = decompress(s, e, err);
		if (ret < 0)
			return ret;
		memcpy(buf, s->dc_buf + in_off, len);
		return 0;
	}
	if (e & QCOW2_OFLAG_ZERO) {
		memset(buf, 0, len);
		return 0;
	}
	host = e & QCOW2_OFFSET_MASK;
	if (host)
		return qcow2_pread(s, buf, len, host + in_off, "data cluster", err);
	return img_read_backing(s->img, buf, (gcl << s->cluster_bits) + in_off, len, err);
}

int qcow2_read(struct img *img, void *buf, uint64_t off, size_t len,
	       struct vx_err *err)
{
	struct qcow2 *s = img->priv;
	uint8_t *p = buf;
	uint64_t gcl, in, e;
	size_t n;
	int ret;

	while (len) {
		gcl = off >> s->cluster_bits;
		in = off & (s->cs - 1);
		n = s->cs - in < len ? (size_t)(s->cs - in) : len;
		ret = qcow2_l2_entry(s, s->l1, s->l1_size, gcl, &e, err);
		if (ret < 0)
			return ret;
		ret = read_in_cluster(s, gcl, e, in, n, p, err);
		if (ret < 0)
			return ret;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int l1_write_entry(struct qcow2 *s, uint64_t l1i, struct vx_err *err)
{
	uint8_t be[8];

	qcow2_put64(be, s->l1[l1i]);
	return qcow2_pwrite(s, be, 8, s->l1_offset + l1i * 8, "L1 table", err);
}

/* Returns the offset of an L2 table for l1i that only the active view uses. */
static int ensure_l2(struct qcow2 *s, uint64_t l1i, uint64_t *l2off,
		     struct vx_err *err)
{
	uint64_t old = s->l1[l1i] & QCOW2_OFFSET_MASK, nl2;
	uint8_t *t;
	int ret;

	if (old && (s->l1[l1i] & QCOW2_OFLAG_COPIED)) {
		*l2off = old;
		return 0;
	}
	ret = qcow2_alloc(s, 1, &nl2, err);
	if (ret < 0)
		return ret;
	t = calloc(1, s->cs);
	if (!t)
		return vx_err_set(err, -ENOMEM, "qcow2: out of memory");
	/* Shared with a snapshot: the copy keeps the entries (their data
	 * clusters already count both views). */
	ret = old ? qcow2_pread(s, t, s->cs, old, "L2 table", err) : 0;
	if (!ret)
		ret = qcow2_pwrite(s, t, s->cs, nl2, "L2 table", err);
	free(t);
	/* The table durable before the L1 entry names it. */
	if (!ret)
		ret = qcow2_sync(s, err);
	if (ret < 0)
		return ret;
	qcow2_mc_forget(s, nl2);
	s->l1[l1i] = nl2 | QCOW2_OFLAG_COPIED;
	ret = l1_write_entry(s, l1i, err);
	if (ret < 0)
		return ret;
	if (old) {
		ret = qcow2_defer_free(s, old >> s->cluster_bits, err);
		if (ret < 0)
			return ret;
	}
	*l2off = nl2;
	return 0;
}

static int l2_set(struct qcow2 *s, uint64_t l2off, uint64_t l2i, uint64_t e,
		  struct vx_err *err)
{
	uint8_t *t;
	int ret;

	ret = qcow2_mc_get(s, l2off, &t, err);
	if (ret < 0)
		return ret;
	qcow2_put64(t + l2i * 8, e);
	return qcow2_pwrite(s, t + l2i * 8, 8, l2off + l2i * 8, "L2 table", err);
}

static int l2_get(struct qcow2 *s, uint64_t l2off, uint64_t l2i, uint64_t *e,
		  struct vx_err *err)
{
	uint8_t *t;
	int ret;

	ret = qcow2_mc_get(s, l2off, &t, err);
	if (ret < 0)
		return ret;
	*e = qcow2_be64(t + l2i * 8);
	return qcow2_check_l2_entry(s, *e, err);
}

static int write_in_cluster(struct qcow2 *s, uint64_t gcl, uint64_t in,
			    const uint8_t *data, size_t n, struct vx_err *err)
{
	uint64_t l1i = gcl >> s->l2_bits, l2i = gcl & ((1ull << s->l2_bits) - 1);
	uint64_t l2off, e, host, target;
	const uint8_t *src = data;
	int ret;

	ret = ensure_l2(s, l1i, &l2off, err);
	if (ret < 0)
		return ret;
	ret = l2_get(s, l2off, l2i, &e, err);
	if (ret < 0)
		return ret;
	host = is_compressed(e) ? 0 : e & QCOW2_OFFSET_MASK;
	if (host >= s->file_end)
		/* Data is written before its L2 entry: never past the end. */
		return vx_err_set(err, -EIO,
				  "qcow2: %s: L2 entry names cluster 0x%llx beyond end of file (corrupt)",
				  s->img->path, (unsigned long long)host);
	if (host && (e & QCOW2_OFLAG_COPIED) && !(e & QCOW2_OFLAG_ZERO))
		return qcow2_pwrite(s, data, n, host + in, "data cluster", err);

	if (n != s->cs) {
		ret = read_in_cluster(s, gcl, e, 0, s->cs, s->tmp, err);
		if (ret < 0)
			return ret;
		memcpy(s->tmp + in, data, n);
		src = s->tmp;
	}
	if (host && (e & QCOW2_OFLAG_COPIED)) {
		target = host;   /* a preallocated zero cluster we own */
	} else {
		ret = qcow2_alloc(s, 1, &target, err);
		if (ret < 0)
			return ret;
	}
	ret = qcow2_pwrite(s, src, s->cs, target, "data cluster", err);
	if (ret < 0)
		return ret;
	ret = l2_set(s, l2off, l2i, target | QCOW2_OFLAG_COPIED, err);
	if (ret < 0)
		return ret;
	if (target != host)
		ret = entry_defer_free(s, e, err);
	return ret;
}

#define RUN_MAX 256   /* clusters per batched write */

static int needs_alloc(uint64_t e)
{
	return is_compressed(e) || !(e & QCOW2_OFFSET_MASK) ||
	       !(e & QCOW2_OFLAG_COPIED) || (e & QCOW2_OFLAG_ZERO);
}

/*
 * Whole clusters from gcl on, within one L2 table: a physically contiguous
 * run written in place, or a run of clusters that all need new space, given
 * one contiguous allocation, one data write and one L2 write. Same order as
 * write_in_cluster. Sets *done to the clusters written (0: not applicable).
 */
static int write_run(struct qcow2 *s, uint64_t gcl, const uint8_t *data, uint64_t max,
		     uint64_t *done, struct vx_err *err)
{
	uint64_t l1i = gcl >> s->l2_bits, l2i = gcl & ((1ull << s->l2_bits) - 1);
	uint64_t e[RUN_MAX], l2off, k, target;
	uint8_t *t;
	int ret;

	*done = 0;
	if (max > RUN_MAX)
		max = RUN_MAX;
	if (max > (1ull << s->l2_bits) - l2i)
		max = (1ull << s->l2_bits) - l2i;
	if (max < 2)
		return 0;
	ret = ensure_l2(s, l1i, &l2off, err);
	if (ret < 0)
		return ret;
	ret = qcow2_mc_get(s, l2off, &t, err);
	if (ret < 0)
		return ret;
	for (k = 0; k < max; k++)
		e[k] = qcow2_be64(t + (l2i + k) * 8);
	for (k = 0; k < max; k++)
		if (qcow2_check_l2_entry(s, e[k], err))
			return err ? err->code : -EIO;
	if (!needs_alloc(e[0])) {
		uint64_t host = e[0] & QCOW2_OFFSET_MASK;
		for (k = 1; k < max && !needs_alloc(e[k]) &&
			    (e[k] & QCOW2_OFFSET_MASK) == host + k * s->cs; k++)
			;
		if (host + k * s->cs > s->file_end)
			return 0;   /* let the per-cluster path report it */
		*done = k;
		return qcow2_pwrite(s, data, k * s->cs, host, "data cluster", err);
	}
	for (k = 1; k < max && needs_alloc(e[k]); k++)
		;
	ret = qcow2_alloc(s, k, &target, err);
	if (!ret)
		ret = qcow2_pwrite(s, data, k * s->cs, target, "data cluster", err);
	if (!ret)
		ret = qcow2_mc_get(s, l2off, &t, err);
	if (ret < 0)
		return ret;
	for (uint64_t j = 0; j < k; j++)
		qcow2_put64(t + (l2i + j) * 8, (target + j * s->cs) | QCOW2_OFLAG_COPIED);
	ret = qcow2_pwrite(s, t + l2i * 8, k * 8, l2off + l2i * 8, "L2 table", err);
	for (uint64_t j = 0; !ret && j < k; j++)
		ret = entry_defer_free(s, e[j], err);
	*done = k;
	return ret;
}

int qcow2_write(struct img *img, const void *buf, uint64_t off, size_t len,
		struct vx_err *err)
{
	struct qcow2 *s = img->priv;
	const uint8_t *p = buf;
	uint64_t in;
	size_t n;
	int ret;

	qcow2_bitmaps_mark(s, off, len);
	s->dc_entry = 0;
	while (len) {
		in = off & (s->cs - 1);
		if (in == 0 && len >= 2 * s->cs) {
			uint64_t done;
			ret = write_run(s, off >> s->cluster_bits, p, len >> s->cluster_bits,
					&done, err);
			if (ret < 0)
				return ret;
			if (done) {
				p += done << s->cluster_bits;
				off += done << s->cluster_bits;
				len -= (size_t)(done << s->cluster_bits);
				continue;
			}
		}
		n = s->cs - in < len ? (size_t)(s->cs - in) : len;
		ret = write_in_cluster(s, off >> s->cluster_bits, in, p, n, err);
		if (ret < 0)
			return ret;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int discard_cluster(struct qcow2 *s, uint64_t gcl, struct vx_err *err)
{
	uint64_t l1i = gcl >> s->l2_bits, l2i = gcl & ((1ull << s->l2_bits) - 1);
	uint64_t e, ne, l2off;
	int ret;

	/* With a backing file a hole would show its data: mark zero instead. */
	ne = s->img->backing ? QCOW2_OFLAG_ZERO : 0;
	ret = qcow2_l2_entry(s, s->l1, s->l1_size, gcl, &e, err);
	if (ret < 0 || e == ne)
		return ret;
	if (!s->img->backing && !(s->l1[l1i] & QCOW2_OFFSET_MASK))
		return 0;
	ret = ensure_l2(s, l1i, &l2off, err);
	if (ret < 0)
		return ret;
	ret = l2_set(s, l2off, l2i, ne, err);
	if (ret < 0)
		return ret;
	return entry_defer_free(s, e, err);
}

int qcow2_discard(struct img *img, uint64_t off, uint64_t len, struct vx_err *err)
{
	struct qcow2 *s = img->priv;
	uint64_t in, n, e;
	int ret;

	qcow2_bitmaps_mark(s, off, len);
	s->dc_entry = 0;
	while (len) {
		in = off & (s->cs - 1);
		n = s->cs - in < len ? s->cs - in : len;
		/* The last cluster may be partial only because the disk ends. */
		if (n == s->cs || (in == 0 && off + n == img->size)) {
			ret = discard_cluster(s, off >> s->cluster_bits, err);
		} else {
			ret = qcow2_l2_entry(s, s->l1, s->l1_size, off >> s->cluster_bits, &e, err);
			if (!ret && !(e == 0 && !img->backing) &&
			    !(!is_compressed(e) && (e & QCOW2_OFLAG_ZERO))) {
				uint8_t *z = calloc(1, (size_t)n);
				ret = z ? write_in_cluster(s, off >> s->cluster_bits, in, z,
							   (size_t)n, err)
					: vx_err_set(err, -ENOMEM, "qcow2: out of memory");
				free(z);
			}
		}
		if (ret < 0)
			return ret;
		off += n;
		len -= n;
	}
	return 0;
}

/* 1: data here, 0: zero here or (from_backing) unallocated. */
static int entry_kind(const struct qcow2 *s, uint64_t e, int *from_backing)
{
	*from_backing = 0;
	if (is_compressed(e))
		return 1;
	if (e & QCOW2_OFLAG_ZERO)
		return 0;
	if (e & QCOW2_OFFSET_MASK)
		return 1;
	/* Unallocated differs from zero whenever a backing file is named,
	 * even one not opened (IMG_NO_BACKING): commit needs to tell. */
	*from_backing = s->img->backing != NULL || s->img->backing_name != NULL;
	return 0;
}

int qcow2_status(struct img *img, uint64_t off, uint64_t len, uint64_t *pnum,
		 int *from_backing, struct vx_err *err)
{
	struct qcow2 *s = img->priv;
	uint64_t e, done = 0, n, in;
	int kind = -1, k, fb = 0, ret;

	while (done < len) {
		in = (off + done) & (s->cs - 1);
		n = s->cs - in < len - done ? s->cs - in : len - done;
		ret = qcow2_l2_entry(s, s->l1, s->l1_size, (off + done) >> s->cluster_bits,
				     &e, err);
		if (ret < 0)
			return ret;
		k = entry_kind(s, e, &fb);
		if (kind < 0) {
			kind = k;
			*from_backing = fb;
		} else if (k != kind || fb != *from_backing) {
			break;
		}
		done += n;
	}
	*pnum = done;
	return kind;
}
