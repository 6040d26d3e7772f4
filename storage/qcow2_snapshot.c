/*
 * qcow2_snapshot: internal snapshots (create, list, apply, delete).
 *
 * Refcounts stay exact: a data cluster counts one reference per L1 "view"
 * (the active one and each snapshot) that reaches it, an L2 table one per L1
 * table naming it. Every change raises the counts the new state needs before
 * the switch (one header write, or the L1 table write) and drops the counts
 * of the old state after it, so a crash in between only leaks clusters. The
 * COPIED flags of the active tables are then recomputed from the refcounts.
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

/* Adds addend to every cluster reachable from l1 (L2 tables and data). */
static int view_refs(struct qcow2 *s, const uint64_t *l1, uint32_t l1_size,
		     int addend, struct vx_err *err)
{
	uint64_t *t = malloc(s->cs), l2off, e;
	uint32_t i, j;
	int ret = 0;

	if (!t)
		return vx_err_set(err, -ENOMEM, "qcow2: out of memory");
	for (i = 0; !ret && i < l1_size; i++) {
		l2off = l1[i] & QCOW2_OFFSET_MASK;
		if (!l2off)
			continue;
		/* A private copy: refcount updates may evict the cache slot. */
		ret = qcow2_pread(s, t, s->cs, l2off, "L2 table", err);
		for (j = 0; !ret && j < (1u << s->l2_bits); j++) {
			e = qcow2_be64(&t[j]);
			ret = qcow2_check_l2_entry(s, e, err);
			if (!ret)
				ret = qcow2_entry_refs(s, e, addend, err);
		}
		if (!ret)
			ret = qcow2_update_refcount(s, l2off >> s->cluster_bits, addend, err);
	}
	free(t);
	return ret;
}

int qcow2_fix_copied(struct qcow2 *s, struct vx_err *err)
{
	uint64_t l2off, rc, e, ne;
	uint8_t be[8], *t = malloc(s->cs);
	uint32_t i, j;
	int ret = 0, changed;

	if (!t)
		return vx_err_set(err, -ENOMEM, "qcow2: out of memory");
	for (i = 0; !ret && i < s->l1_size; i++) {
		l2off = s->l1[i] & QCOW2_OFFSET_MASK;
		if (!l2off)
			continue;
		ret = qcow2_get_refcount(s, l2off >> s->cluster_bits, &rc, err);
		if (ret < 0)
			break;
		ne = rc == 1 ? (s->l1[i] | QCOW2_OFLAG_COPIED) : (s->l1[i] & ~QCOW2_OFLAG_COPIED);
		if (ne != s->l1[i]) {
			s->l1[i] = ne;
			qcow2_put64(be, ne);
			ret = qcow2_pwrite(s, be, 8, s->l1_offset + (uint64_t)i * 8, "L1 table", err);
			if (ret < 0)
				break;
		}
		ret = qcow2_pread(s, t, s->cs, l2off, "L2 table", err);
		changed = 0;
		for (j = 0; !ret && j < (1u << s->l2_bits); j++) {
			e = qcow2_be64(t + (size_t)j * 8);
			if (!(e & QCOW2_OFFSET_MASK) || (e & QCOW2_OFLAG_COMPRESSED))
				continue;
			ret = qcow2_get_refcount(s, (e & QCOW2_OFFSET_MASK) >> s->cluster_bits,
						 &rc, err);
			ne = rc == 1 ? (e | QCOW2_OFLAG_COPIED) : (e & ~QCOW2_OFLAG_COPIED);
			if (ne != e) {
				qcow2_put64(t + (size_t)j * 8, ne);
				changed = 1;
			}
		}
		if (!ret && changed) {
			ret = qcow2_pwrite(s, t, s->cs, l2off, "L2 table", err);
			qcow2_mc_forget(s, l2off);
		}
	}
	free(t);
	return ret;
}

/* Writes the whole snapshot table anew and switches the header to it. */
static int table_write(struct qcow2 *s, struct qcow2_snapshot *snaps, uint32_t n,
		       struct vx_err *err)
{
	uint64_t bytes = 0, pos, off = 0, old_off = s->snaps_offset, old_bytes = s->snaps_bytes;
	uint8_t *buf, hdr[12];
	uint32_t i;
	int ret = 0;

	for (i = 0; i < n; i++)
		bytes += (40 + snaps[i].extra_size + strlen(snaps[i].id) +
			  strlen(snaps[i].name) + 7) & ~7ull;
	if (bytes > SNAP_MAX_TABLE)
		return vx_err_set(err, -EFBIG, "qcow2: snapshot table would exceed %u bytes",
				  SNAP_MAX_TABLE);
	buf = calloc(1, bytes ? bytes : 1);
	if (!buf)
		return vx_err_set(err, -ENOMEM, "qcow2: out of memory");
	for (i = 0, pos = 0; i < n; i++) {
		struct qcow2_snapshot *sn = &snaps[i];
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
	if (bytes) {
		ret = qcow2_alloc(s, (bytes + s->cs - 1) >> s->cluster_bits, &off, err);
		if (!ret)
			ret = qcow2_pwrite(s, buf, bytes, off, "snapshot table", err);
		if (!ret)
			ret = qcow2_sync(s, err);
	}
	free(buf);
	if (ret < 0)
		return ret;
	qcow2_put32(hdr, n);
	qcow2_put64(hdr + 4, off);
	ret = qcow2_pwrite(s, hdr, 12, 60, "header", err);
	if (!ret)
		ret = qcow2_sync(s, err);
	if (ret < 0)
		return ret;
	s->snaps_offset = off;
	s->snaps_bytes = bytes;
	if (old_off && old_bytes)
		ret = qcow2_free_bytes(s, old_off, old_bytes, err);
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
	uint64_t l1bytes, off = 0, maxid = 0;
	uint8_t *buf;
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

	/* 1. The new view's references. */
	ret = view_refs(s, s->l1, s->l1_size, 1, err);
	if (ret < 0)
		return ret;
	/* 2. A copy of the active L1 for the snapshot. */
	l1bytes = (uint64_t)s->l1_size * 8;
	if (l1bytes) {
		buf = calloc(1, l1bytes);
		if (!buf)
			return vx_err_set(err, -ENOMEM, "qcow2: out of memory");
		for (i = 0; i < s->l1_size; i++)
			qcow2_put64(buf + (size_t)i * 8, s->l1[i] & ~QCOW2_OFLAG_COPIED);
		ret = qcow2_alloc(s, (l1bytes + s->cs - 1) >> s->cluster_bits, &off, err);
		if (!ret)
			ret = qcow2_pwrite(s, buf, l1bytes, off, "snapshot L1 table", err);
		free(buf);
		if (ret < 0)
			return ret;
	}
	/* 3. The table entry, then the switch. */
	ns = realloc(s->snaps, (s->nsnaps + 1) * sizeof(*ns));
	if (!ns)
		return vx_err_set(err, -ENOMEM, "qcow2: out of memory");
	s->snaps = ns;
	sn = &ns[s->nsnaps];
	memset(sn, 0, sizeof(*sn));
	clock_gettime(CLOCK_REALTIME, &ts);
	sn->l1_offset = off;
	sn->l1_size = s->l1_size;
	sn->id = strdup(idbuf);
	sn->name = strdup(name);
	sn->date_sec = (uint32_t)ts.tv_sec;
	sn->date_nsec = (uint32_t)ts.tv_nsec;
	sn->disk_size = img->size;
	sn->extra_size = 16;
	sn->extra = calloc(1, 16);
	if (!sn->id || !sn->name || !sn->extra) {
		free(sn->id);
		free(sn->name);
		free(sn->extra);
		return vx_err_set(err, -ENOMEM, "qcow2: out of memory");
	}
	qcow2_put64(sn->extra + 8, img->size);
	ret = table_write(s, s->snaps, s->nsnaps + 1, err);
	if (ret < 0) {
		free(sn->id);
		free(sn->name);
		free(sn->extra);
		return ret;
	}
	s->nsnaps++;
	/* 4. Everything the active view reaches is shared now. */
	return qcow2_fix_copied(s, err);
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
	uint64_t *sl1, *old;
	uint8_t *buf;
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
	old = malloc((size_t)s->l1_size * 8 + 8);
	buf = calloc(1, (size_t)s->l1_size * 8 + 8);
	if (!old || !buf) {
		ret = vx_err_set(err, -ENOMEM, "qcow2: out of memory");
		goto out;
	}
	memcpy(old, s->l1, (size_t)s->l1_size * 8);
	/* New references first, then the L1 switch, then drop the old ones. */
	ret = view_refs(s, sl1, s->snaps[i].l1_size, 1, err);
	if (ret < 0)
		goto out;
	for (uint32_t k = 0; k < s->l1_size; k++) {
		s->l1[k] = k < s->snaps[i].l1_size ? sl1[k] & ~QCOW2_OFLAG_COPIED : 0;
		qcow2_put64(buf + (size_t)k * 8, s->l1[k]);
	}
	ret = qcow2_pwrite(s, buf, (size_t)s->l1_size * 8, s->l1_offset, "L1 table", err);
	if (!ret)
		ret = qcow2_sync(s, err);
	if (!ret)
		ret = view_refs(s, old, s->l1_size, -1, err);
	if (!ret)
		ret = qcow2_fix_copied(s, err);
	qcow2_bitmaps_mark(s, 0, img->size);
	s->dc_entry = 0;
out:
	free(sl1);
	free(old);
	free(buf);
	return ret;
}

int img_snapshot_delete(struct img *img, const char *name, struct vx_err *err)
{
	struct qcow2_snapshot gone;
	uint64_t *sl1;
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
	gone = s->snaps[i];
	memmove(&s->snaps[i], &s->snaps[i + 1],
		(s->nsnaps - (uint32_t)i - 1) * sizeof(*s->snaps));
	ret = table_write(s, s->snaps, s->nsnaps - 1, err);
	if (ret < 0) {
		memmove(&s->snaps[i + 1], &s->snaps[i],
			(s->nsnaps - (uint32_t)i - 1) * sizeof(*s->snaps));
		s->snaps[i] = gone;
		free(sl1);
		return ret;
	}
	s->nsnaps--;
	/* Unreferenced now: drop its references (a crash here only leaks). */
	ret = view_refs(s, sl1, gone.l1_size, -1, err);
	if (!ret && gone.l1_size)
		ret = qcow2_free_bytes(s, gone.l1_offset, (uint64_t)gone.l1_size * 8, err);
	if (!ret)
		ret = qcow2_fix_copied(s, err);
	free(sl1);
	free(gone.id);
	free(gone.name);
	free(gone.extra);
	return ret;
}
