/*
 * qcow2_refcount: the metadata cache, refcounts and cluster allocation.
 *
 * Allocation is first-fit from free_hint. A cluster is marked used (refcount
 * written) before anyone writes it or points at it, so a crash can only leak
 * clusters, never hand one out twice. A missing refcount block is created
 * inside the range it describes and counts itself; a full refcount table is
 * replaced by a bigger one built at the end of the file and switched to with
 * one header write. Context: one thread per image.
 */
#include "qcow2.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int qcow2_mc_get(struct qcow2 *s, uint64_t off, uint8_t **buf, struct vx_err *err)
{
	struct qcow2_mc_slot *slot = NULL, *lru = &s->mc[0];
	int i, ret;

	for (i = 0; i < QCOW2_MC_SLOTS; i++) {
		if (s->mc[i].off == off && s->mc[i].buf) {
			slot = &s->mc[i];
			break;
		}
		if (s->mc[i].used < lru->used)
			lru = &s->mc[i];
	}
	if (!slot) {
		slot = lru;
		if (!slot->buf) {
			slot->buf = malloc(s->cs);
			if (!slot->buf)
				return vx_err_set(err, -ENOMEM, "qcow2: out of memory");
		}
		slot->off = 0;
		ret = qcow2_pread(s, slot->buf, s->cs, off, "metadata cluster", err);
		if (ret < 0)
			return ret;
		slot->off = off;
	}
	slot->used = ++s->mc_clock;
	*buf = slot->buf;
	return 0;
}

void qcow2_mc_forget(struct qcow2 *s, uint64_t off)
{
	for (int i = 0; i < QCOW2_MC_SLOTS; i++)
		if (s->mc[i].off == off)
			s->mc[i].off = 0;
}

void qcow2_mc_free(struct qcow2 *s)
{
	for (int i = 0; i < QCOW2_MC_SLOTS; i++) {
		free(s->mc[i].buf);
		s->mc[i].buf = NULL;
		s->mc[i].off = 0;
	}
}

uint64_t qcow2_rb_get(const struct qcow2 *s, const uint8_t *b, uint64_t idx)
{
	unsigned bits = 1u << s->refcount_order;
	uint64_t v = 0;

	if (bits < 8)
		return (b[idx * bits / 8] >> (idx * bits % 8)) & ((1u << bits) - 1);
	for (unsigned i = 0; i < bits / 8; i++)
		v = v << 8 | b[idx * (bits / 8) + i];
	return v;
}

/* Sets entry idx; returns the byte range to write back. */
void qcow2_rb_set(const struct qcow2 *s, uint8_t *b, uint64_t idx, uint64_t v,
		  size_t *pos, size_t *len)
{
	unsigned bits = 1u << s->refcount_order;

	if (bits < 8) {
		unsigned sh = (unsigned)(idx * bits % 8);
		uint8_t mask = (uint8_t)(((1u << bits) - 1) << sh);
		*pos = (size_t)(idx * bits / 8);
		b[*pos] = (uint8_t)((b[*pos] & ~mask) | ((v << sh) & mask));
		*len = 1;
		return;
	}
	*len = bits / 8;
	*pos = (size_t)(idx * *len);
	for (int i = (int)*len - 1; i >= 0; i--, v >>= 8)
		b[*pos + (size_t)i] = (uint8_t)v;
}

int qcow2_get_refcount(struct qcow2 *s, uint64_t cluster, uint64_t *rc,
		       struct vx_err *err)
{
	uint64_t bi = cluster >> s->rb_bits;
	uint8_t *b;
	int ret;

	*rc = 0;
	if (bi >= s->rt_entries || !s->rt[bi])
		return 0;
	ret = qcow2_mc_get(s, s->rt[bi], &b, err);
	if (ret < 0)
		return ret;
	*rc = qcow2_rb_get(s, b, cluster & ((1ull << s->rb_bits) - 1));
	return 0;
}

int qcow2_update_refcount(struct qcow2 *s, uint64_t cluster, int addend,
			  struct vx_err *err)
{
	uint64_t bi = cluster >> s->rb_bits, idx, v;
	size_t pos, len;
	uint8_t *b;
	int ret;

	if (bi >= s->rt_entries || !s->rt[bi])
		return vx_err_set(err, -EIO,
				  "qcow2: %s: no refcount block for cluster 0x%llx (image corrupt)",
				  s->img->path, (unsigned long long)cluster);
	ret = qcow2_mc_get(s, s->rt[bi], &b, err);
	if (ret < 0)
		return ret;
	idx = cluster & ((1ull << s->rb_bits) - 1);
	v = qcow2_rb_get(s, b, idx);
	if ((addend < 0 && v < (uint64_t)-addend) ||
	    (addend > 0 && s->refcount_max - v < (uint64_t)addend))
		return vx_err_set(err, -EIO,
				  "qcow2: %s: refcount of cluster 0x%llx would %s (is %llu)",
				  s->img->path, (unsigned long long)cluster,
				  addend < 0 ? "drop below zero" : "overflow",
				  (unsigned long long)v);
	v += (uint64_t)(int64_t)addend;
	qcow2_rb_set(s, b, idx, v, &pos, &len);
	ret = qcow2_pwrite(s, b + pos, len, s->rt[bi] + pos, "refcount block", err);
	if (ret < 0)
		return ret;
	if (v == 0) {
		if (cluster < s->free_hint)
			s->free_hint = cluster;
		qcow2_mc_forget(s, cluster << s->cluster_bits);
		/* Give the space back to the host file system; best effort. */
		fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			  (off_t)(cluster << s->cluster_bits), (off_t)s->cs);
	}
	return 0;
}

int qcow2_free_bytes(struct qcow2 *s, uint64_t off, uint64_t bytes,
		     struct vx_err *err)
{
	uint64_t c, last;
	int ret;

	if (!bytes)
		return 0;
	last = (off + bytes - 1) >> s->cluster_bits;
	for (c = off >> s->cluster_bits; c <= last; c++) {
		ret = qcow2_update_refcount(s, c, -1, err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int rt_write_entry(struct qcow2 *s, uint64_t bi, struct vx_err *err)
{
	uint8_t be[8];

	qcow2_put64(be, s->rt[bi]);
	return qcow2_pwrite(s, be, 8, s->rt_offset + bi * 8, "refcount table", err);
}

/* Does block bi need creating for [first, last] clusters? */
static int rb_missing(struct qcow2 *s, uint64_t bi)
{
	return bi >= s->rt_entries || !s->rt[bi];
}

/*
 * Replaces the refcount table by one of at least min_entries entries, placed
 * at the end of the file together with the refcount blocks that describe it.
 */
static int qcow2_grow_rt(struct qcow2 *s, uint64_t min_entries, struct vx_err *err)
{
	uint64_t p = s->file_end >> s->cluster_bits, entries, T, R, Rn, b, x, k;
	uint64_t old_off = s->rt_offset, old_cl = s->rt_clusters, *nrt;
	uint8_t hdr[12], *buf;
	size_t pos, len;
	int ret;

	entries = s->rt_entries * 2;
	if (entries < min_entries)
		entries = min_entries;
	R = 0;
	for (;;) {
		T = (entries * 8 + s->cs - 1) >> s->cluster_bits;
		Rn = 0;
		for (b = p >> s->rb_bits; b <= (p + T + R - 1) >> s->rb_bits; b++)
			if (rb_missing(s, b))
				Rn++;
		if (((p + T + Rn - 1) >> s->rb_bits) >= entries) {
			entries = ((p + T + Rn - 1) >> s->rb_bits) + 1;
			continue;
		}
		if (Rn == R)
			break;
		R = Rn;
	}
	T = (entries * 8 + s->cs - 1) >> s->cluster_bits;
	entries = T * s->cs / 8;
	if (T * s->cs > QCOW2_MAX_RT_BYTES)
		return vx_err_set(err, -EFBIG,
				  "qcow2: %s: refcount table would exceed %u bytes",
				  s->img->path, QCOW2_MAX_RT_BYTES);
	nrt = calloc(entries, 8);
	buf = calloc(1, s->cs);
	if (!nrt || !buf) {
		free(nrt);
		free(buf);
		return vx_err_set(err, -ENOMEM, "qcow2: out of memory");
	}
	memcpy(nrt, s->rt, s->rt_entries * 8);
	k = 0;
	for (b = p >> s->rb_bits; b <= (p + T + R - 1) >> s->rb_bits; b++)
		if (rb_missing(s, b))
			nrt[b] = (p + T + k++) << s->cluster_bits;
	/* New blocks, each counting the new clusters in its range. */
	ret = 0;
	for (b = p >> s->rb_bits; !ret && b <= (p + T + R - 1) >> s->rb_bits; b++) {
		if (!rb_missing(s, b))
			continue;
		memset(buf, 0, s->cs);
		for (x = p; x < p + T + R; x++)
			if (x >> s->rb_bits == b)
				qcow2_rb_set(s, buf, x & ((1ull << s->rb_bits) - 1), 1, &pos, &len);
		ret = qcow2_pwrite(s, buf, s->cs, nrt[b], "refcount block", err);
	}
	/* New clusters that fall in blocks which already exist. */
	for (x = p; !ret && x < p + T + R; x++)
		if (!rb_missing(s, x >> s->rb_bits))
			ret = qcow2_update_refcount(s, x, 1, err);
	for (k = 0; !ret && k < T; k++) {
		for (x = 0; x < s->cs / 8; x++)
			qcow2_put64(buf + x * 8, nrt[k * (s->cs / 8) + x]);
		ret = qcow2_pwrite(s, buf, s->cs, (p + k) << s->cluster_bits,
				   "refcount table", err);
	}
	free(buf);
	if (!ret)
		ret = qcow2_sync(s, err);
	if (!ret) {
		/* The switch: one write of refcount_table_offset and _clusters. */
		qcow2_put64(hdr, p << s->cluster_bits);
		qcow2_put32(hdr + 8, (uint32_t)T);
		ret = qcow2_pwrite(s, hdr, 12, 48, "header", err);
	}
	if (!ret)
		ret = qcow2_sync(s, err);
	if (ret < 0) {
		free(nrt);
		return ret;
	}
	free(s->rt);
	s->rt = nrt;
	s->rt_entries = entries;
	s->rt_offset = p << s->cluster_bits;
	s->rt_clusters = (uint32_t)T;
	if (s->file_end < (p + T + R) << s->cluster_bits)
		s->file_end = (p + T + R) << s->cluster_bits;
	return qcow2_free_bytes(s, old_off, old_cl << s->cluster_bits, err);
}

/* Sets refcount 1 on free clusters [c, c+n): one write per refcount block. */
static int mark_run(struct qcow2 *s, uint64_t c, uint64_t n, struct vx_err *err)
{
	uint64_t per = 1ull << s->rb_bits, bi, idx, end;
	size_t pos, len, lo, hi;
	uint8_t *b;
	int ret;

	while (n) {
		bi = c >> s->rb_bits;
		idx = c & (per - 1);
		end = idx + n < per ? idx + n : per;
		ret = qcow2_mc_get(s, s->rt[bi], &b, err);
		if (ret < 0)
			return ret;
		lo = SIZE_MAX;
		hi = 0;
		for (uint64_t i = idx; i < end; i++) {
			qcow2_rb_set(s, b, i, 1, &pos, &len);
			if (pos < lo)
				lo = pos;
			if (pos + len > hi)
				hi = pos + len;
		}
		ret = qcow2_pwrite(s, b + lo, hi - lo, s->rt[bi] + lo, "refcount block", err);
		if (ret < 0)
			return ret;
		n -= end - idx;
		c += end - idx;
	}
	return 0;
}

static int alloc_raw(struct qcow2 *s, uint64_t n, uint64_t *off, struct vx_err *err)
{
	uint64_t c, i, rc, bi, x;
	uint8_t *b;
	size_t pos, len;
	int ret;

	for (int round = 0;; round++) {
		/* Each round adds a refcount block or grows the table; a sane
		 * image needs a handful. */
		if (round > 64 + 2 * (int)(n >> s->rb_bits))
			return vx_err_set(err, -EIO,
					  "qcow2: %s: cannot place %llu clusters: refcount structures inconsistent",
					  s->img->path, (unsigned long long)n);
		/* First fit: a run of n clusters with refcount 0. */
		c = s->free_hint;
		for (i = 0; i < n;) {
			ret = qcow2_get_refcount(s, c + i, &rc, err);
			if (ret < 0)
				return ret;
			if (rc && c + i >= (s->file_end >> s->cluster_bits) + 65536)
				/* A crash leaks a few clusters past the end of file,
				 * never this many: a hostile refcount block would
				 * make this search endless. */
				return vx_err_set(err, -EIO,
						  "qcow2: %s: cluster 0x%llx past end of file has refcount %llu",
						  s->img->path, (unsigned long long)(c + i),
						  (unsigned long long)rc);
			if (rc) {
				c += i + 1;
				i = 0;
			} else {
				i++;
			}
		}
		if ((c + n) << s->cluster_bits > QCOW2_OFFSET_MASK)
			return vx_err_set(err, -EFBIG, "qcow2: %s: image file would exceed 64 PiB",
					  s->img->path);
		/* Make sure refcount blocks describe the run before using it. */
		for (bi = c >> s->rb_bits; bi <= (c + n - 1) >> s->rb_bits; bi++) {
			if (bi >= s->rt_entries) {
				ret = qcow2_grow_rt(s, bi + 1, err);
				if (ret < 0)
					return ret;
				break;
			}
			if (s->rt[bi])
				continue;
			if (n > 1) {
				/* A long run would chase its own refcount blocks
				 * forward; place them one cluster at a time. */
				ret = alloc_raw(s, 1, &x, err);
				if (ret < 0)
					return ret;
				if (s->rt[bi]) {
					/* That allocation created block bi itself. */
					ret = qcow2_update_refcount(s, x >> s->cluster_bits, -1, err);
					if (ret < 0)
						return ret;
					break;
				}
				memset(s->tmp2, 0, s->cs);
				ret = qcow2_pwrite(s, s->tmp2, s->cs, x, "refcount block", err);
				/* The block (and x's count) durable before the table names it. */
				if (!ret)
					ret = qcow2_sync(s, err);
				if (ret < 0)
					return ret;
				qcow2_mc_forget(s, x);
				s->rt[bi] = x;
				ret = rt_write_entry(s, bi, err);
				if (ret < 0)
					return ret;
				break;
			}
			x = bi << s->rb_bits;
			if (x < c)
				x = c;
			if (x == 0)
				return vx_err_set(err, -EIO,
						  "qcow2: %s: no refcount block covers the header (corrupt)",
						  s->img->path);
			b = s->tmp2;
			memset(b, 0, s->cs);
			qcow2_rb_set(s, b, x & ((1ull << s->rb_bits) - 1), 1, &pos, &len);
			ret = qcow2_pwrite(s, b, s->cs, x << s->cluster_bits,
					   "refcount block", err);
			if (!ret)
				ret = qcow2_sync(s, err);
			if (ret < 0)
				return ret;
			qcow2_mc_forget(s, x << s->cluster_bits);
			s->rt[bi] = x << s->cluster_bits;
			ret = rt_write_entry(s, bi, err);
			if (ret < 0)
				return ret;
			break;
		}
		if (bi <= (c + n - 1) >> s->rb_bits)
			continue;   /* metadata changed: search again */
		ret = mark_run(s, c, n, err);
		if (ret < 0)
			return ret;
		if (c == s->free_hint || n == 1)
			s->free_hint = c + n;
		if (s->file_end < (c + n) << s->cluster_bits)
			s->file_end = (c + n) << s->cluster_bits;
		*off = c << s->cluster_bits;
		return 0;
	}
}

/*
 * The next reservation's size. One that was used up is followed by one twice
 * as big: each costs an fdatasync, which also waits for the data written
 * since the last one, so a sequential writer (convert, restore) would
 * otherwise stall every QCOW2_RESV clusters.
 */
static uint64_t resv_size(struct qcow2 *s)
{
	uint64_t r = s->resv_next ? s->resv_next : QCOW2_RESV;
	uint64_t max = QCOW2_RESV_MAX;

	if (max > (256ull << 20) >> s->cluster_bits)
		max = (256ull << 20) >> s->cluster_bits;
	if (max < QCOW2_RESV)
		max = QCOW2_RESV;
	s->resv_next = r * 2 < max ? r * 2 : max;
	return r;
}

/*
 * Power-loss ordering. A cluster's refcount must reach the disk before any
 * L2 entry naming it, and a dropped reference before the refcount falls.
 * Clusters are therefore handed out from a contiguous reservation whose
 * refcounts were made durable (one fdatasync per QCOW2_RESV clusters, or per
 * longer run), and references dropped by guest writes are only
 * counted down after the next fdatasync (img_flush, close, or when many are
 * pending). Unused reservations are returned on close; a crash leaks them.
 */
int qcow2_alloc(struct qcow2 *s, uint64_t n, uint64_t *off, struct vx_err *err)
{
	uint64_t r, half = (1ull << s->rb_bits) / 2;
	int ret;

	if (s->resv_n >= n) {
		*off = s->resv_start << s->cluster_bits;
		s->resv_start += n;
		s->resv_n -= n;
		return 0;
	}
	/* Too little left: give it back, reserve anew (one contiguous run). */
	ret = qcow2_release(s, err);
	if (ret < 0)
		return ret;
	r = resv_size(s);
	if (r > half)
		r = half;
	if (r < n)
		r = n;
	ret = alloc_raw(s, r, off, err);
	if (ret < 0 && r != n)
		ret = alloc_raw(s, r = n, off, err);
	if (!ret)
		ret = qcow2_sync(s, err);
	if (ret < 0)
		return ret;
	s->resv_start = (*off >> s->cluster_bits) + n;
	s->resv_n = r - n;
	return 0;
}

/*
 * Returns the unused reservation: one refcount write per block and one hole
 * punched for the whole run, not one of each per cluster.
 */
int qcow2_release(struct qcow2 *s, struct vx_err *err)
{
	uint64_t per = 1ull << s->rb_bits, c = s->resv_start, n = s->resv_n;
	uint64_t bi, idx, end, i;
	size_t pos, len, lo, hi;
	uint8_t *b;
	int ret;

	while (n) {
		bi = c >> s->rb_bits;
		idx = c & (per - 1);
		end = idx + n < per ? idx + n : per;
		if (bi >= s->rt_entries || !s->rt[bi])
			return vx_err_set(err, -EIO,
					  "qcow2: %s: no refcount block for cluster 0x%llx (image corrupt)",
					  s->img->path, (unsigned long long)c);
		ret = qcow2_mc_get(s, s->rt[bi], &b, err);
		if (ret < 0)
			return ret;
		lo = SIZE_MAX;
		hi = 0;
		for (i = idx; i < end; i++) {
			if (qcow2_rb_get(s, b, i) != 1)
				return vx_err_set(err, -EIO,
						  "qcow2: %s: reserved cluster 0x%llx has refcount %llu, not 1",
						  s->img->path, (unsigned long long)((bi << s->rb_bits) + i),
						  (unsigned long long)qcow2_rb_get(s, b, i));
			qcow2_rb_set(s, b, i, 0, &pos, &len);
			lo = pos < lo ? pos : lo;
			hi = pos + len > hi ? pos + len : hi;
		}
		ret = qcow2_pwrite(s, b + lo, hi - lo, s->rt[bi] + lo, "refcount block", err);
		if (ret < 0)
			return ret;
		for (i = 0; i < end - idx; i++)
			qcow2_mc_forget(s, (c + i) << s->cluster_bits);
		/* Give the space back to the host file system; best effort. */
		fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			  (off_t)(c << s->cluster_bits), (off_t)((end - idx) << s->cluster_bits));
		if (c < s->free_hint)
			s->free_hint = c;
		s->resv_start += end - idx;
		s->resv_n -= end - idx;
		c += end - idx;
		n -= end - idx;
	}
	return 0;
}

int qcow2_defer_free(struct qcow2 *s, uint64_t cluster, struct vx_err *err)
{
	uint64_t rc;
	int ret;

	/* Refuse a refcount that is already zero now, not at the next flush. */
	ret = qcow2_get_refcount(s, cluster, &rc, err);
	if (ret < 0)
		return ret;
	if (!rc)
		return vx_err_set(err, -EIO,
				  "qcow2: %s: refcount of cluster 0x%llx would drop below zero (is 0)",
				  s->img->path, (unsigned long long)cluster);
	if (s->pend_n == s->pend_cap) {
		size_t cap = s->pend_cap ? s->pend_cap * 2 : 256;
		uint64_t *np = realloc(s->pend, cap * sizeof(*np));
		if (!np)
			return vx_err_set(err, -ENOMEM, "qcow2: out of memory");
		s->pend = np;
		s->pend_cap = cap;
	}
	s->pend[s->pend_n++] = cluster;
	if (s->pend_n >= 4096)
		return qcow2_apply_frees(s, err);
	return 0;
}

int qcow2_apply_frees(struct qcow2 *s, struct vx_err *err)
{
	size_t i;
	int ret;

	if (!s->pend_n)
		return 0;
	ret = qcow2_sync(s, err);
	for (i = 0; !ret && i < s->pend_n; i++)
		ret = qcow2_update_refcount(s, s->pend[i], -1, err);
	s->pend_n = 0;
	return ret;
}
