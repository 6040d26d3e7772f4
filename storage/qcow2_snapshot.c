/*
 * qcow2_snapshot: internal snapshots (create, list, apply, delete).
 *
 * Refcounts stay exact: a data cluster counts one reference per L1 "view"
 * (the active one and each snapshot) that reaches it, an L2 table one per L1
 * table naming it. Each operation is committed with one header write (see
 * shadow_commit), so a crash leaves either the old or the new state.
 * Context: one thread per image.
 */
#include "qcow2.h"
#include "snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SNAP_MAX_EXTRA   1024
#define SNAP_MAX_TABLE   (64u << 20)
/* Refcounts of the whole file are held in memory, 4 bytes per cluster. */
#define SNAP_MAX_CLUSTERS (1u << 28)

void qcow2_snapshots_free(struct qcow2 *s)
{
	for (uint32_t i = 0; i < s->nsnaps && s->snaps; i++) {
		free(s->snaps[i].id);
		free(s->snaps[i].name);
		free(s->snaps[i].extra);
	}
	free(s->snaps);
	s->snaps = NULL;
}

int qcow2_snapshots_load(struct qcow2 *s, struct vx_err *err)
{
	uint64_t pos = s->snaps_offset;
	uint8_t h[40];
	uint32_t n = s->nsnaps, i;
	int ret;

	s->nsnaps = 0;
	if (!n)
		return 0;
	s->snaps = calloc(n, sizeof(*s->snaps));
	if (!s->snaps)
		return vx_err_set(err, -ENOMEM, "qcow2: out of memory");
	for (i = 0; i < n; i++) {
		struct qcow2_snapshot *sn = &s->snaps[i];
		uint16_t idl, nml;

		ret = qcow2_pread(s, h, 40, pos, "snapshot table", err);
		if (ret < 0)
			return ret;
		s->nsnaps = i + 1;   /* so that free sees what was filled */
		sn->l1_offset = qcow2_be64(h);
		sn->l1_size = qcow2_be32(h + 8);
		idl = qcow2_be16(h + 12);
		nml = qcow2_be16(h + 14);
		sn->date_sec = qcow2_be32(h + 16);
		sn->date_nsec = qcow2_be32(h + 20);
		sn->vm_clock_nsec = qcow2_be64(h + 24);
		sn->vm_state_size = qcow2_be32(h + 32);
		sn->extra_size = qcow2_be32(h + 36);
		if (sn->extra_size > SNAP_MAX_EXTRA)
			return vx_err_set(err, -EINVAL,
					  "qcow2: %s: snapshot %u extra data of %u bytes exceeds %d",
					  s->img->path, i, sn->extra_size, SNAP_MAX_EXTRA);
		if ((uint64_t)sn->l1_size * 8 > QCOW2_MAX_L1_BYTES ||
		    (sn->l1_offset & (s->cs - 1)) ||
		    sn->l1_offset + (uint64_t)sn->l1_size * 8 > s->file_end)
			return vx_err_set(err, -EINVAL,
					  "qcow2: %s: snapshot %u L1 table (offset 0x%llx, 0x%x entries) invalid",
					  s->img->path, i, (unsigned long long)sn->l1_offset,
					  sn->l1_size);
		sn->extra = malloc(sn->extra_size + 1);
		sn->id = calloc(1, (size_t)idl + 1);
		sn->name = calloc(1, (size_t)nml + 1);
		if (!sn->extra || !sn->id || !sn->name)
			return vx_err_set(err, -ENOMEM, "qcow2: out of memory");
		pos += 40;
		ret = qcow2_pread(s, sn->extra, sn->extra_size, pos, "snapshot table", err);
		pos += sn->extra_size;
		if (!ret)
			ret = qcow2_pread(s, sn->id, idl, pos, "snapshot table", err);
		pos += idl;
		if (!ret)
			ret = qcow2_pread(s, sn->name, nml, pos, "snapshot table", err);
		pos += nml;
		if (ret < 0)
			return ret;
		pos = (pos + 7) & ~7ull;
		if (pos - s->snaps_offset > SNAP_MAX_TABLE)
			return vx_err_set(err, -EINVAL, "qcow2: %s: snapshot table exceeds %u bytes",
					  s->img->path, SNAP_MAX_TABLE);
		sn->disk_size = sn->extra_size >= 16 ? qcow2_be64(sn->extra + 8)
						     : s->img->size;
	}
	s->snaps_bytes = pos - s->snaps_offset;
	return 0;
}

/*
 * A snapshot operation as one atomic switch ("shadow paging"). Refcounts and
 * COPIED flags must change together, and they live in different clusters,
 * so no in-place order is safe: qemu-img check calls refcount 2 with COPIED
 * set (or 1 without it) corruption. Instead the new state is written whole
 * into free space at the end of the file - a new active L1 with fresh copies
 * of its L2 tables (flags computed from the final refcounts), the new
 * snapshot table, and a complete new set of refcount blocks and refcount
 * table holding the exact final counts - and one 36-byte header write
 * (L1, refcount table and snapshot table fields, all in the first sector)
 * switches to it. A crash before the switch leaves the old state untouched;
 * after it, the new state is exact, with nothing left to free.
 */
struct shadow {
	uint32_t *rc;            /* refcount of every cluster below n */
	uint64_t n;
	uint64_t end;            /* first cluster of the new area */
};

static int sh_add(struct qcow2 *s, struct shadow *sh, uint64_t c, int addend,
		  struct vx_err *err)
{
	uint64_t v;

	if (c >= sh->n)
		return vx_err_set(err, -EIO,
				  "qcow2: %s: metadata references cluster 0x%llx beyond the image (corrupt)",
				  s->img->path, (unsigned long long)c);
	v = sh->rc[c];
	if ((addend < 0 && v < (uint64_t)-addend) ||
	    (addend > 0 && v + (uint64_t)addend > (s->refcount_max < UINT32_MAX ?
						   s->refcount_max : UINT32_MAX)))
		return vx_err_set(err, -EIO,
				  "qcow2: %s: refcount of cluster 0x%llx would %s (is %llu; image corrupt)",
				  s->img->path, (unsigned long long)c,
				  addend < 0 ? "drop below zero" : "overflow", (unsigned long long)v);
	sh->rc[c] = (uint32_t)(v + (uint64_t)(int64_t)addend);
	return 0;
}

static int sh_add_range(struct qcow2 *s, struct shadow *sh, uint64_t off, uint64_t bytes,
			int addend, struct vx_err *err)
{
	int ret = 0;

	if (!bytes)
		return 0;
	for (uint64_t c = off >> s->cluster_bits;
	     !ret && c <= (off + bytes - 1) >> s->cluster_bits; c++)
		ret = sh_add(s, sh, c, addend, err);
	return ret;
}

static int sh_entry(struct qcow2 *s, struct shadow *sh, uint64_t e, int addend,
		    struct vx_err *err)
{
	unsigned x = 62 - (s->cluster_bits - 8);
	uint64_t off, nsec;

	if (e & QCOW2_OFLAG_COMPRESSED) {
		off = e & ((1ull << x) - 1);
		nsec = (e >> x) & ((1ull << (s->cluster_bits - 8)) - 1);
		return sh_add_range(s, sh, off, (nsec + 1) * 512 - (off & 511), addend, err);
	}
	off = e & QCOW2_OFFSET_MASK;
	return off ? sh_add(s, sh, off >> s->cluster_bits, addend, err) : 0;
}

/*
 * Adds addend for the data a view reaches and, with tables, for its L1 table
 * (at l1_off) and L2 tables too.
 */
static int sh_view(struct qcow2 *s, struct shadow *sh, const uint64_t *l1, uint32_t l1_size,
		   uint64_t l1_off, int tables, int addend, uint8_t *t, struct vx_err *err)
{
	uint64_t l2off, e;
	int ret = 0;

	if (tables)
		ret = sh_add_range(s, sh, l1_off, (uint64_t)l1_size * 8, addend, err);
	for (uint32_t i = 0; !ret && i < l1_size; i++) {
		l2off = l1[i] & QCOW2_OFFSET_MASK;
		if (!l2off)
			continue;
		if (tables)
			ret = sh_add(s, sh, l2off >> s->cluster_bits, addend, err);
		if (!ret)
			ret = qcow2_pread(s, t, s->cs, l2off, "L2 table", err);
		for (uint64_t j = 0; !ret && j < (1ull << s->l2_bits); j++) {
			e = qcow2_be64(t + j * 8);
			ret = qcow2_check_l2_entry(s, e, err);
			if (!ret)
				ret = sh_entry(s, sh, e, addend, err);
		}
	}
	return ret;
}

static uint64_t snap_table_bytes(const struct qcow2_snapshot *snaps, uint32_t n)
{
	uint64_t bytes = 0;

	for (uint32_t i = 0; i < n; i++)
		bytes += (40 + snaps[i].extra_size + strlen(snaps[i].id) +
			  strlen(snaps[i].name) + 7) & ~7ull;
	return bytes;
}

static void snap_table_fill(const struct qcow2_snapshot *snaps, uint32_t n, uint8_t *buf)
{
	uint64_t pos = 0;

	for (uint32_t i = 0; i < n; i++) {
		const struct qcow2_snapshot *sn = &snaps[i];
		size_t idl = strlen(sn->id), nml = strlen(sn->name);
		qcow2_put64(buf + pos, sn->l1_offset);
		qcow2_put32(buf + pos + 8, sn->l1_size);
		qcow2_put16(buf + pos + 12, (uint16_t)idl);
		qcow2_put16(buf + pos + 14, (uint16_t)nml);
		qcow2_put32(buf + pos + 16, sn->date_sec);
		qcow2_put32(buf + pos + 20, sn->date_nsec);
		qcow2_put64(buf + pos + 24, sn->vm_clock_nsec);
		qcow2_put32(buf + pos + 32, sn->vm_state_size);
		qcow2_put32(buf + pos + 36, sn->extra_size);
		memcpy(buf + pos + 40, sn->extra, sn->extra_size);
		pos += 40 + sn->extra_size;
		memcpy(buf + pos, sn->id, idl);
		memcpy(buf + pos + idl, sn->name, nml);
		pos = (pos + idl + nml + 7) & ~7ull;
	}
}

/* Loads every refcount into sh->rc, sized for the new area too. */
static int sh_load(struct qcow2 *s, struct shadow *sh, uint64_t extra, uint8_t *t,
		   struct vx_err *err)
{
	uint64_t per = 1ull << s->rb_bits, last = 0, b, i, v;
	int ret;

	for (b = 0; b < s->rt_entries; b++) {
		if (!s->rt[b])
			continue;
		ret = qcow2_pread(s, t, s->cs, s->rt[b], "refcount block", err);
		if (ret < 0)
			return ret;
		for (i = 0; i < per; i++)
			if (qcow2_rb_get(s, t, i))
				last = b * per + i + 1;
	}
	sh->end = s->file_end >> s->cluster_bits;
	if (last > sh->end + 65536)
		/* A crash leaks a few clusters past the end, never this many. */
		return vx_err_set(err, -EIO,
				  "qcow2: %s: refcounts claim cluster 0x%llx far past the end of file (corrupt)",
				  s->img->path, (unsigned long long)last - 1);
	if (last > sh->end)
		sh->end = last;
	sh->n = sh->end + extra;
	if (sh->n > SNAP_MAX_CLUSTERS)
		return vx_err_set(err, -EFBIG,
				  "qcow2: %s: %llu clusters exceed the %u snapshot operations handle",
				  s->img->path, (unsigned long long)sh->n, SNAP_MAX_CLUSTERS);
	sh->rc = calloc(sh->n + 1, sizeof(*sh->rc));
	if (!sh->rc)
		return vx_err_set(err, -ENOMEM,
				  "qcow2: out of memory for the refcounts of %llu clusters",
				  (unsigned long long)sh->n);
	for (b = 0; b < s->rt_entries && b * per < last; b++) {
		if (!s->rt[b])
			continue;
		ret = qcow2_pread(s, t, s->cs, s->rt[b], "refcount block", err);
		if (ret < 0)
			return ret;
		for (i = 0; i < per && b * per + i < last; i++) {
			v = qcow2_rb_get(s, t, i);
			if (v > UINT32_MAX)
				return vx_err_set(err, -EIO, "qcow2: %s: refcount %llu too large",
						  s->img->path, (unsigned long long)v);
			sh->rc[b * per + i] = (uint32_t)v;
		}
	}
	return 0;
}

/*
 * Commits: the active view becomes src_l1 (fresh table copies), the views
 * in drop[] lose their references, the snapshot table becomes snaps[0..n).
 */
struct sh_drop {
	const uint64_t *l1;
	uint32_t l1_size;
	uint64_t l1_off;
};

static int shadow_commit(struct qcow2 *s, const uint64_t *src_l1, uint32_t src_size,
			 const struct sh_drop *drop, int ndrop,
			 struct qcow2_snapshot *snaps, uint32_t nsnaps, struct vx_err *err)
{
	struct shadow sh = { 0 };
	uint64_t l1c, nl2 = 0, stb, stc, R, Rt, T, per = 1ull << s->rb_bits, pos, e, k;
	uint64_t l1_new, l2_first, st_new, rb_first, rt_new, *nl1 = NULL, *nrt = NULL;
	uint8_t *t = malloc(s->cs), *buf = NULL, hdr[36];
	size_t bpos, blen;
	uint32_t i;
	int ret;

	if (!t)
		return vx_err_set(err, -ENOMEM, "qcow2: out of memory");
	/* Settle deferred drops and reservations: the counts must be final. */
	ret = qcow2_apply_frees(s, err);
	if (!ret)
		ret = qcow2_release(s, err);
	if (ret < 0)
		goto out;
	for (i = 0; i < src_size; i++)
		nl2 += !!(src_l1[i] & QCOW2_OFFSET_MASK);
	l1c = ((uint64_t)s->l1_size * 8 + s->cs - 1) >> s->cluster_bits;
	stb = snap_table_bytes(snaps, nsnaps);
	stc = (stb + s->cs - 1) >> s->cluster_bits;
	if (stb > SNAP_MAX_TABLE) {
		ret = vx_err_set(err, -EFBIG, "qcow2: snapshot table would exceed %u bytes",
				 SNAP_MAX_TABLE);
		goto out;
	}
	/* Size the new area: refcount blocks must cover it and themselves. */
	ret = sh_load(s, &sh, 0, t, err);
	if (ret < 0)
		goto out;
	free(sh.rc);
	sh.rc = NULL;
	R = 1;
	for (;;) {
		Rt = (R * 8 + s->cs - 1) >> s->cluster_bits;
		T = sh.end + l1c + nl2 + stc + R + Rt;
		if ((T + per - 1) / per <= R)
			break;
		R = (T + per - 1) / per;
	}
	if (Rt * s->cs > QCOW2_MAX_RT_BYTES) {
		ret = vx_err_set(err, -EFBIG, "qcow2: %s: refcount table would exceed %u bytes",
				 s->img->path, QCOW2_MAX_RT_BYTES);
		goto out;
	}
	ret = sh_load(s, &sh, T - sh.end, t, err);
	if (ret < 0)
		goto out;
	l1_new = sh.end;
	l2_first = l1_new + l1c;
	st_new = l2_first + nl2;
	rb_first = st_new + stc;
	rt_new = rb_first + R;
	for (k = sh.end; k < T; k++)
		sh.rc[k] = 1;

	/* The old refcount structures and snapshot table go away. */
	for (k = 0; !ret && k < s->rt_entries; k++)
		if (s->rt[k])
			ret = sh_add(s, &sh, s->rt[k] >> s->cluster_bits, -1, err);
	if (!ret)
		ret = sh_add_range(s, &sh, s->rt_offset, (uint64_t)s->rt_clusters * s->cs, -1, err);
	if (!ret && s->nsnaps)
		ret = sh_add_range(s, &sh, s->snaps_offset, s->snaps_bytes, -1, err);
	/* Dropped views, then the new active view's data. */
	for (int d = 0; !ret && d < ndrop; d++)
		ret = sh_view(s, &sh, drop[d].l1, drop[d].l1_size, drop[d].l1_off, 1, -1, t, err);
	if (!ret)
		ret = sh_view(s, &sh, src_l1, src_size, 0, 0, 1, t, err);
	if (ret < 0)
		goto out;

	/* New L1 and L2 copies, COPIED where the final refcount is 1. */
	nl1 = calloc(l1c * s->cs / 8 + 1, 8);
	buf = calloc(1, (l1c > stc ? l1c : stc) * s->cs + s->cs);
	if (!nl1 || !buf) {
		ret = vx_err_set(err, -ENOMEM, "qcow2: out of memory");
		goto out;
	}
	for (i = 0, k = 0; !ret && i < src_size && i < s->l1_size; i++) {
		uint64_t l2off = src_l1[i] & QCOW2_OFFSET_MASK, dst;
		if (!l2off)
			continue;
		dst = (l2_first + k++) << s->cluster_bits;
		ret = qcow2_pread(s, t, s->cs, l2off, "L2 table", err);
		for (uint64_t j = 0; !ret && j < (1ull << s->l2_bits); j++) {
			e = qcow2_be64(t + j * 8);
			if ((e & QCOW2_OFLAG_COMPRESSED) || !(e & QCOW2_OFFSET_MASK))
				e &= ~QCOW2_OFLAG_COPIED;
			else if (sh.rc[(e & QCOW2_OFFSET_MASK) >> s->cluster_bits] == 1)
				e |= QCOW2_OFLAG_COPIED;
			else
				e &= ~QCOW2_OFLAG_COPIED;
			qcow2_put64(t + j * 8, e);
		}
		if (!ret)
			ret = qcow2_pwrite(s, t, s->cs, dst, "L2 table", err);
		nl1[i] = dst | QCOW2_OFLAG_COPIED;
	}
	memset(buf, 0, l1c * s->cs);
	for (i = 0; i < s->l1_size; i++)
		qcow2_put64(buf + (uint64_t)i * 8, nl1[i]);
	if (!ret && l1c)
		ret = qcow2_pwrite(s, buf, l1c * s->cs, l1_new << s->cluster_bits, "L1 table", err);
	if (!ret && stc) {
		memset(buf, 0, stc * s->cs);
		snap_table_fill(snaps, nsnaps, buf);
		ret = qcow2_pwrite(s, buf, stc * s->cs, st_new << s->cluster_bits,
				   "snapshot table", err);
	}
	/* Refcount blocks with the final counts, and their table. */
	nrt = calloc(Rt * s->cs / 8 + 1, 8);
	if (!ret && !nrt)
		ret = vx_err_set(err, -ENOMEM, "qcow2: out of memory");
	for (k = 0; !ret && k < R; k++) {
		memset(t, 0, s->cs);
		for (pos = 0; pos < per && k * per + pos < T; pos++)
			if (sh.rc[k * per + pos])
				qcow2_rb_set(s, t, pos, sh.rc[k * per + pos], &bpos, &blen);
		nrt[k] = (rb_first + k) << s->cluster_bits;
		ret = qcow2_pwrite(s, t, s->cs, nrt[k], "refcount block", err);
	}
	for (k = 0; !ret && k < Rt; k++) {
		for (pos = 0; pos < s->cs / 8; pos++)
			qcow2_put64(t + pos * 8, nrt[k * (s->cs / 8) + pos]);
		ret = qcow2_pwrite(s, t, s->cs, (rt_new + k) << s->cluster_bits,
				   "refcount table", err);
	}
	if (!ret)
		ret = qcow2_sync(s, err);
	if (ret < 0)
		goto out;
	/* The switch: bytes 36..71 of the header, in its first sector. */
	qcow2_put32(hdr, s->l1_size);
	qcow2_put64(hdr + 4, l1_new << s->cluster_bits);
	qcow2_put64(hdr + 12, rt_new << s->cluster_bits);
	qcow2_put32(hdr + 20, (uint32_t)Rt);
	qcow2_put32(hdr + 24, nsnaps);
	qcow2_put64(hdr + 28, stc ? st_new << s->cluster_bits : 0);
	ret = qcow2_pwrite(s, hdr, sizeof(hdr), 36, "header", err);
	if (!ret)
		ret = qcow2_sync(s, err);
	if (ret < 0)
		goto out;
	/* In memory, the new state. */
	for (i = 0; i < s->l1_size; i++)
		s->l1[i] = nl1[i];
	s->l1_offset = l1_new << s->cluster_bits;
	free(s->rt);
	s->rt = nrt;
	nrt = NULL;
	s->rt_entries = Rt * s->cs / 8;
	s->rt_offset = rt_new << s->cluster_bits;
	s->rt_clusters = (uint32_t)Rt;
	s->snaps_offset = stc ? st_new << s->cluster_bits : 0;
	s->snaps_bytes = stb;
	s->file_end = T << s->cluster_bits;
	s->free_hint = 0;
	s->dc_entry = 0;
	for (int m = 0; m < QCOW2_MC_SLOTS; m++)
		s->mc[m].off = 0;
out:
	free(sh.rc);
	free(nl1);
	free(nrt);
	free(buf);
	free(t);
	return ret;
}

static struct qcow2 *q(struct img *img, int rw, struct vx_err *err, int *ret)
{
	if (img->ops != &qcow2_ops) {
		*ret = vx_err_set(err, -ENOTSUP, "img: %s: %s images have no internal snapshots",
				  img->path, img->ops->name);
		return NULL;
	}
	if (rw && !(img->flags & IMG_RDWR)) {
		*ret = vx_err_set(err, -EBADF, "img: %s is open read-only", img->path);
		return NULL;
	}
	*ret = 0;
	return img->priv;
}

static int find(struct qcow2 *s, const char *name)
{
	for (uint32_t i = 0; i < s->nsnaps; i++)
		if (!strcmp(s->snaps[i].name, name))
			return (int)i;
	for (uint32_t i = 0; i < s->nsnaps; i++)
		if (!strcmp(s->snaps[i].id, name))
			return (int)i;
	return -1;
}

int img_snapshot_create(struct img *img, const char *name, struct vx_err *err)
{
	struct qcow2_snapshot *ns, *sn;
	uint64_t maxid = 0;
	struct timespec ts;
	char idbuf[24];
	uint32_t i;
	int ret;
	struct qcow2 *s = q(img, 1, err, &ret);

	if (!s)
		return ret;
	if (!name || !*name || strlen(name) > 255)
		return vx_err_set(err, -EINVAL, "qcow2: snapshot name must be 1..255 bytes");
	if (find(s, name) >= 0)
		return vx_err_set(err, -EEXIST, "qcow2: %s: snapshot \"%s\" exists",
				  img->path, name);
	if (s->nsnaps >= QCOW2_MAX_SNAPSHOTS)
		return vx_err_set(err, -ENOSPC, "qcow2: %s: snapshot limit reached", img->path);
	for (i = 0; i < s->nsnaps; i++) {
		uint64_t v = strtoull(s->snaps[i].id, NULL, 10);
		if (v > maxid)
			maxid = v;
	}
	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)maxid + 1);
	ns = realloc(s->snaps, (s->nsnaps + 1) * sizeof(*ns));
	if (!ns)
		return vx_err_set(err, -ENOMEM, "qcow2: out of memory");
	s->snaps = ns;
	sn = &ns[s->nsnaps];
	memset(sn, 0, sizeof(*sn));
	clock_gettime(CLOCK_REALTIME, &ts);
	/* The snapshot keeps today's L1 and L2 tables; the active view
	 * moves to fresh copies. */
	sn->l1_offset = s->l1_size ? s->l1_offset : 0;
	sn->l1_size = s->l1_size;
	sn->id = strdup(idbuf);
	sn->name = strdup(name);
	sn->date_sec = (uint32_t)ts.tv_sec;
	sn->date_nsec = (uint32_t)ts.tv_nsec;
	sn->disk_size = img->size;
	sn->extra_size = 16;
	sn->extra = calloc(1, 16);
	if (sn->id && sn->name && sn->extra) {
		qcow2_put64(sn->extra + 8, img->size);
		ret = shadow_commit(s, s->l1, s->l1_size, NULL, 0, s->snaps, s->nsnaps + 1, err);
	} else {
		ret = vx_err_set(err, -ENOMEM, "qcow2: out of memory");
	}
	if (ret < 0) {
		free(sn->id);
		free(sn->name);
		free(sn->extra);
		return ret;
	}
	s->nsnaps++;
	return 0;
}

int img_snapshot_list(struct img *img, struct img_snapshot_info **list, int *n,
		      struct vx_err *err)
{
	struct img_snapshot_info *l;
	int ret;
	struct qcow2 *s = q(img, 0, err, &ret);

	*list = NULL;
	*n = 0;
	if (!s)
		return ret;
	l = calloc(s->nsnaps ? s->nsnaps : 1, sizeof(*l));
	if (!l)
		return vx_err_set(err, -ENOMEM, "qcow2: out of memory");
	for (uint32_t i = 0; i < s->nsnaps; i++) {
		snprintf(l[i].id, sizeof(l[i].id), "%s", s->snaps[i].id);
		snprintf(l[i].name, sizeof(l[i].name), "%s", s->snaps[i].name);
		l[i].date_sec = s->snaps[i].date_sec;
		l[i].disk_size = s->snaps[i].disk_size;
	}
	*list = l;
	*n = (int)s->nsnaps;
	return 0;
}

static int load_l1(struct qcow2 *s, const struct qcow2_snapshot *sn, uint64_t **out,
		   struct vx_err *err)
{
	uint64_t *l1 = calloc(sn->l1_size ? sn->l1_size : 1, 8);
	int ret;

	if (!l1)
		return vx_err_set(err, -ENOMEM, "qcow2: out of memory");
	ret = qcow2_pread(s, l1, (size_t)sn->l1_size * 8, sn->l1_offset,
			  "snapshot L1 table", err);
	for (uint32_t i = 0; !ret && i < sn->l1_size; i++) {
		l1[i] = qcow2_be64(&l1[i]);
		if ((l1[i] & QCOW2_L1_RESERVED) || ((l1[i] & QCOW2_OFFSET_MASK) & (s->cs - 1)))
			ret = vx_err_set(err, -EIO,
					 "qcow2: %s: snapshot \"%s\" L1 entry %u invalid",
					 s->img->path, sn->name, i);
	}
	if (ret < 0) {
		free(l1);
		return ret;
	}
	*out = l1;
	return 0;
}

int img_snapshot_apply(struct img *img, const char *name, struct vx_err *err)
{
	struct sh_drop drop;
	uint64_t *sl1;
	int i, ret;
	struct qcow2 *s = q(img, 1, err, &ret);

	if (!s)
		return ret;
	i = find(s, name);
	if (i < 0)
		return vx_err_set(err, -ENOENT, "qcow2: %s: no snapshot \"%s\"", img->path, name);
	if (s->snaps[i].disk_size != img->size || s->snaps[i].l1_size > s->l1_size)
		return vx_err_set(err, -ENOTSUP,
				  "qcow2: %s: snapshot \"%s\" has another disk size", img->path, name);
	ret = load_l1(s, &s->snaps[i], &sl1, err);
	if (ret < 0)
		return ret;
	drop.l1 = s->l1;
	drop.l1_size = s->l1_size;
	drop.l1_off = s->l1_offset;
	ret = shadow_commit(s, sl1, s->snaps[i].l1_size, &drop, 1, s->snaps, s->nsnaps, err);
	qcow2_bitmaps_mark(s, 0, img->size);
	free(sl1);
	return ret;
}

int img_snapshot_delete(struct img *img, const char *name, struct vx_err *err)
{
	struct qcow2_snapshot gone, *rest;
	struct sh_drop drop[2];
	uint64_t *sl1;
	uint32_t k, n = 0;
	int i, ret;
	struct qcow2 *s = q(img, 1, err, &ret);

	if (!s)
		return ret;
	i = find(s, name);
	if (i < 0)
		return vx_err_set(err, -ENOENT, "qcow2: %s: no snapshot \"%s\"", img->path, name);
	ret = load_l1(s, &s->snaps[i], &sl1, err);
	if (ret < 0)
		return ret;
	rest = calloc(s->nsnaps, sizeof(*rest));
	if (!rest) {
		free(sl1);
		return vx_err_set(err, -ENOMEM, "qcow2: out of memory");
	}
	for (k = 0; k < s->nsnaps; k++)
		if ((int)k != i)
			rest[n++] = s->snaps[k];
	gone = s->snaps[i];
	drop[0].l1 = s->l1;
	drop[0].l1_size = s->l1_size;
	drop[0].l1_off = s->l1_offset;
	drop[1].l1 = sl1;
	drop[1].l1_size = gone.l1_size;
	drop[1].l1_off = gone.l1_offset;
	ret = shadow_commit(s, s->l1, s->l1_size, drop, 2, rest, n, err);
	if (!ret) {
		memcpy(s->snaps, rest, n * sizeof(*rest));
		s->nsnaps = n;
		free(gone.id);
		free(gone.name);
		free(gone.extra);
	}
	free(rest);
	free(sl1);
	return ret;
}
