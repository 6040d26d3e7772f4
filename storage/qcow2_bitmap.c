/*
 * qcow2_bitmap: the qcow2 bitmaps extension (persistent dirty bitmaps).
 *
 * While the image is open read-write every bitmap lives in memory; the file
 * keeps the last stored copy with the in_use flag set, so a crash leaves
 * bitmaps QEMU and we both treat as inconsistent rather than silently stale.
 * Storing writes new data clusters, a new bitmap table and directory, then
 * switches with one header write and frees the old clusters: a crash leaks
 * at worst. Context: one thread per image.
 */
#include "qcow2.h"
#include "bitmap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BM_MAX_COUNT       65535
#define BM_MAX_DIR_BYTES   (64u << 20)
#define BM_MAX_NAME        1023
#define BM_MAX_TABLE       0x8000000u
#define BM_MAX_BYTES       (512u << 20)   /* as QEMU: bitmap size in memory */
#define BM_TYPE_DIRTY      1
#define BM_FLAG_EXTRA_OK   (1u << 2)
#define BM_KNOWN_FLAGS     (QCOW2_BM_IN_USE | QCOW2_BM_AUTO | BM_FLAG_EXTRA_OK)
#define BM_ENTRY_RESERVED  0xff000000000001feull

static uint64_t bm_nbits(const struct qcow2 *s, unsigned gbits)
{
	return (s->img->size + (1ull << gbits) - 1) >> gbits;
}

static uint64_t bm_table_size(const struct qcow2 *s, unsigned gbits)
{
	uint64_t bytes = (bm_nbits(s, gbits) + 7) / 8;

	return (bytes + s->cs - 1) >> s->cluster_bits;
}

static void bm_free_one(struct qcow2_bitmap *b)
{
	free(b->name);
	free(b->bits);
}

void qcow2_bitmaps_free(struct qcow2 *s)
{
	for (uint32_t i = 0; i < s->nbms; i++)
		bm_free_one(&s->bms[i]);
	free(s->bms);
	s->bms = NULL;
	s->nbms = 0;
}

void qcow2_bitmaps_ext(struct qcow2 *s, uint8_t out[24], uint32_t *len)
{
	*len = 0;
	if (!s->nbms || !s->bm_dir_offset)
		return;
	qcow2_put32(out, s->nbms);
	qcow2_put32(out + 4, 0);
	qcow2_put64(out + 8, s->bm_dir_size);
	qcow2_put64(out + 16, s->bm_dir_offset);
	*len = 24;
}

/* Reads one bitmap's table and data clusters into b->bits. */
static int bm_load_bits(struct qcow2 *s, struct qcow2_bitmap *b, struct vx_err *err)
{
	uint64_t bytes = (uint64_t)b->table_size * s->cs, e, off, i;
	uint8_t *t;
	int ret = 0;

	b->bits = calloc(1, bytes ? bytes : 1);
	t = malloc((size_t)b->table_size * 8 + 8);
	if (!b->bits || !t) {
		free(t);
		return vx_err_set(err, -ENOMEM, "bitmap: out of memory for \"%s\"", b->name);
	}
	ret = qcow2_pread(s, t, (size_t)b->table_size * 8, b->table_offset, "bitmap table", err);
	for (i = 0; !ret && i < b->table_size; i++) {
		e = qcow2_be64(t + i * 8);
		off = e & QCOW2_OFFSET_MASK;
		if ((e & BM_ENTRY_RESERVED) || (off & (s->cs - 1)))
			ret = vx_err_set(err, -EINVAL,
					 "bitmap: %s: \"%s\" table entry %llu (0x%llx) invalid",
					 s->img->path, b->name, (unsigned long long)i,
					 (unsigned long long)e);
		else if (off)
			ret = qcow2_pread(s, b->bits + i * s->cs, s->cs, off, "bitmap data", err);
		else if (e & 1)
			memset(b->bits + i * s->cs, 0xff, s->cs);
	}
	free(t);
	return ret;
}

int qcow2_bitmaps_load(struct qcow2 *s, const uint8_t *ext, uint32_t len,
		       struct vx_err *err)
{
	uint32_t n, i;
	uint64_t dsize, doff, pos;
	uint8_t *dir;
	int ret = 0;
	const char *p = s->img->path;

	if (len < 24)
		return vx_err_set(err, -EINVAL, "bitmap: %s: bitmaps extension of %u bytes too short", p, len);
	n = qcow2_be32(ext);
	dsize = qcow2_be64(ext + 8);
	doff = qcow2_be64(ext + 16);
	if (!n || n > BM_MAX_COUNT || qcow2_be32(ext + 4) || dsize > BM_MAX_DIR_BYTES ||
	    dsize < (uint64_t)n * 24 || (doff & (s->cs - 1)))
		return vx_err_set(err, -EINVAL,
				  "bitmap: %s: bitmaps extension invalid (%u bitmaps, directory 0x%llx bytes at 0x%llx)",
				  p, n, (unsigned long long)dsize, (unsigned long long)doff);
	dir = malloc(dsize);
	if (!dir)
		return vx_err_set(err, -ENOMEM, "bitmap: out of memory");
	ret = qcow2_pread(s, dir, dsize, doff, "bitmap directory", err);
	if (ret < 0)
		goto out;
	s->bms = calloc(n, sizeof(*s->bms));
	if (!s->bms) {
		ret = vx_err_set(err, -ENOMEM, "bitmap: out of memory");
		goto out;
	}
	for (i = 0, pos = 0; i < n; i++) {
		struct qcow2_bitmap *b = &s->bms[i];
		uint16_t nml;
		uint32_t extra;
		uint8_t type;

		if (pos + 24 > dsize)
			goto bad;
		b->table_offset = qcow2_be64(dir + pos);
		b->table_size = qcow2_be32(dir + pos + 8);
		b->flags = qcow2_be32(dir + pos + 12);
		type = dir[pos + 16];
		b->granularity_bits = dir[pos + 17];
		nml = qcow2_be16(dir + pos + 18);
		extra = qcow2_be32(dir + pos + 20);
		if (extra > dsize || nml > BM_MAX_NAME || pos + 24 + extra + nml > dsize)
			goto bad;
		b->name = strndup((char *)dir + pos + 24 + extra, nml);
		s->nbms = i + 1;
		if (!b->name) {
			ret = vx_err_set(err, -ENOMEM, "bitmap: out of memory");
			goto out;
		}
		if (type != BM_TYPE_DIRTY || b->granularity_bits < 9 ||
		    b->granularity_bits > 31 || (b->flags & ~BM_KNOWN_FLAGS) ||
		    (extra && !(b->flags & BM_FLAG_EXTRA_OK))) {
			ret = vx_err_set(err, -ENOTSUP,
					 "bitmap: %s: bitmap \"%s\" has type %u, granularity %u or flags 0x%x we cannot keep",
					 p, b->name, type, b->granularity_bits, b->flags);
			goto out;
		}
		if (b->table_size != bm_table_size(s, b->granularity_bits) ||
		    b->table_size > BM_MAX_TABLE || (b->table_offset & (s->cs - 1)) ||
		    b->table_offset + (uint64_t)b->table_size * 8 > s->file_end) {
			ret = vx_err_set(err, -EINVAL,
					 "bitmap: %s: bitmap \"%s\" table (0x%x entries at 0x%llx) invalid",
					 p, b->name, b->table_size,
					 (unsigned long long)b->table_offset);
			goto out;
		}
		if ((uint64_t)b->table_size * s->cs > BM_MAX_BYTES) {
			ret = vx_err_set(err, -EFBIG,
					 "bitmap: %s: bitmap \"%s\" needs %llu bytes of memory (limit %u)",
					 p, b->name, (unsigned long long)b->table_size * s->cs,
					 BM_MAX_BYTES);
			goto out;
		}
		b->nbits = bm_nbits(s, b->granularity_bits);
		ret = bm_load_bits(s, b, err);
		if (ret < 0)
			goto out;
		pos = (pos + 24 + extra + nml + 7) & ~7ull;
	}
	s->bm_dir_offset = doff;
	s->bm_dir_size = dsize;
	goto out;
bad:
	ret = vx_err_set(err, -EINVAL, "bitmap: %s: bitmap directory entry %u runs past the directory", p, i);
out:
	free(dir);
	return ret;
}

int qcow2_bitmaps_mark(struct qcow2 *s, uint64_t off, uint64_t len)
{
	uint64_t a, z, i;

	if (!len)
		return 0;
	for (uint32_t k = 0; k < s->nbms; k++) {
		struct qcow2_bitmap *b = &s->bms[k];
		if (!(b->flags & QCOW2_BM_AUTO) || !b->bits)
			continue;
		a = off >> b->granularity_bits;
		z = (off + len - 1) >> b->granularity_bits;
		for (i = a; i <= z && i < b->nbits; i++)
			b->bits[i / 8] |= (uint8_t)(1u << (i % 8));
		b->dirty = 1;
	}
	return 0;
}

/* Frees the on-disk table and data clusters of b. */
static int bm_free_disk(struct qcow2 *s, uint64_t table_offset, uint32_t table_size,
			struct vx_err *err)
{
	uint8_t *t;
	uint64_t off;
	int ret;

	if (!table_offset)
		return 0;
	t = malloc((size_t)table_size * 8 + 8);
	if (!t)
		return vx_err_set(err, -ENOMEM, "bitmap: out of memory");
	ret = qcow2_pread(s, t, (size_t)table_size * 8, table_offset, "bitmap table", err);
	for (uint32_t i = 0; !ret && i < table_size; i++) {
		off = qcow2_be64(t + (size_t)i * 8) & QCOW2_OFFSET_MASK;
		if (off)
			ret = qcow2_free_bytes(s, off, s->cs, err);
	}
	free(t);
	if (!ret)
		ret = qcow2_free_bytes(s, table_offset, (uint64_t)table_size * 8, err);
	return ret;
}

/* Writes b's bits to new clusters; sets *table_offset. */
static int bm_write_bits(struct qcow2 *s, struct qcow2_bitmap *b, uint64_t *table_offset,
			 struct vx_err *err)
{
	uint8_t *t = calloc(1, (size_t)b->table_size * 8 + 8);
	uint64_t off, i, j;
	int ret = 0;

	if (!t)
		return vx_err_set(err, -ENOMEM, "bitmap: out of memory");
	for (i = 0; !ret && i < b->table_size; i++) {
		const uint8_t *c = b->bits + i * s->cs;
		for (j = 0; j < s->cs && !c[j]; j++)
			;
		if (j == s->cs)
			continue;   /* all zeros: entry 0 */
		ret = qcow2_alloc(s, 1, &off, err);
		if (!ret)
			ret = qcow2_pwrite(s, c, s->cs, off, "bitmap data", err);
		qcow2_put64(t + i * 8, off);
	}
	if (!ret && b->table_size) {
		ret = qcow2_alloc(s, ((uint64_t)b->table_size * 8 + s->cs - 1) >> s->cluster_bits,
				  &off, err);
		if (!ret)
			ret = qcow2_pwrite(s, t, (size_t)b->table_size * 8, off, "bitmap table", err);
		*table_offset = off;
	}
	free(t);
	return ret;
}

/*
 * Writes every bitmap anew and switches the header to the new directory.
 * final: the image is being closed, so in_use is cleared.
 */
static int bm_store(struct qcow2 *s, int final, struct vx_err *err)
{
	uint64_t *old_off = NULL, *new_off = NULL, dsize = 0, doff = 0, pos;
	uint64_t old_doff = s->bm_dir_offset, old_dsize = s->bm_dir_size;
	uint32_t *old_size = NULL, i;
	uint8_t *dir = NULL;
	int ret = 0;

	old_off = calloc(s->nbms + 1, sizeof(*old_off));
	new_off = calloc(s->nbms + 1, sizeof(*new_off));
	old_size = calloc(s->nbms + 1, sizeof(*old_size));
	if (!old_off || !new_off || !old_size) {
		ret = vx_err_set(err, -ENOMEM, "bitmap: out of memory");
		goto out;
	}
	for (i = 0; i < s->nbms; i++) {
		struct qcow2_bitmap *b = &s->bms[i];
		old_off[i] = b->table_offset;
		old_size[i] = b->table_size;
		if (!b->dirty && b->table_offset) {
			new_off[i] = b->table_offset;   /* unchanged: keep it */
			old_off[i] = 0;
		} else {
			ret = bm_write_bits(s, b, &new_off[i], err);
			if (ret < 0)
				goto out;
		}
		dsize += (24 + strlen(b->name) + 7) & ~7ull;
	}
	if (s->nbms) {
		dir = calloc(1, dsize);
		if (!dir) {
			ret = vx_err_set(err, -ENOMEM, "bitmap: out of memory");
			goto out;
		}
		for (i = 0, pos = 0; i < s->nbms; i++) {
			struct qcow2_bitmap *b = &s->bms[i];
			uint32_t fl = b->flags & ~BM_FLAG_EXTRA_OK;
			size_t nml = strlen(b->name);
			/* Consistent enabled bitmaps: in_use while we hold them. */
			if (!(b->flags & QCOW2_BM_IN_USE) || b->bits)
				fl = final ? fl & ~QCOW2_BM_IN_USE
					   : ((fl & QCOW2_BM_AUTO) ? fl | QCOW2_BM_IN_USE : fl);
			qcow2_put64(dir + pos, new_off[i]);
			qcow2_put32(dir + pos + 8, b->table_size);
			qcow2_put32(dir + pos + 12, fl);
			dir[pos + 16] = BM_TYPE_DIRTY;
			dir[pos + 17] = b->granularity_bits;
			qcow2_put16(dir + pos + 18, (uint16_t)nml);
			qcow2_put32(dir + pos + 20, 0);
			memcpy(dir + pos + 24, b->name, nml);
			pos = (pos + 24 + nml + 7) & ~7ull;
		}
		ret = qcow2_alloc(s, (dsize + s->cs - 1) >> s->cluster_bits, &doff, err);
		if (!ret)
			ret = qcow2_pwrite(s, dir, dsize, doff, "bitmap directory", err);
		if (ret < 0)
			goto out;
	}
	ret = qcow2_sync(s, err);
	if (ret < 0)
		goto out;
	/* The switch. */
	s->bm_dir_offset = doff;
	s->bm_dir_size = dsize;
	if (s->nbms)
		s->autoclear |= QCOW2_AUTOCLEAR_BITMAPS;
	else
		s->autoclear &= ~QCOW2_AUTOCLEAR_BITMAPS;
	ret = qcow2_write_header(s, err);
	if (!ret)
		ret = qcow2_sync(s, err);
	if (ret < 0)
		goto out;
	s->bm_in_use = !final && s->nbms;
	for (i = 0; i < s->nbms; i++) {
		struct qcow2_bitmap *b = &s->bms[i];
		b->table_offset = new_off[i];
		b->dirty = 0;
		if (b->bits && final)
			b->flags &= ~QCOW2_BM_IN_USE;
		if (!ret && old_off[i])
			ret = bm_free_disk(s, old_off[i], old_size[i], err);
	}
	if (!ret && old_doff && old_dsize)
		ret = qcow2_free_bytes(s, old_doff, old_dsize, err);
out:
	free(old_off);
	free(new_off);
	free(old_size);
	free(dir);
	return ret;
}

int qcow2_bitmaps_store(struct qcow2 *s, struct vx_err *err)
{
	int any = s->bm_in_use;

	for (uint32_t i = 0; i < s->nbms; i++)
		any |= s->bms[i].dirty;
	if (!any)
		return 0;
	return bm_store(s, 1, err);
}

int qcow2_bitmaps_begin(struct qcow2 *s, struct vx_err *err)
{
	/* Bitmaps that were in_use when we opened stay inconsistent. */
	for (uint32_t i = 0; i < s->nbms; i++)
		if (s->bms[i].flags & QCOW2_BM_IN_USE) {
			free(s->bms[i].bits);
			s->bms[i].bits = NULL;
		}
	for (uint32_t i = 0; i < s->nbms; i++)
		if (s->bms[i].bits && (s->bms[i].flags & QCOW2_BM_AUTO)) {
			s->bms[i].dirty = 0;
			return bm_store(s, 0, err);
		}
	return 0;
}

static struct qcow2 *bq(struct img *img, int rw, struct vx_err *err, int *ret)
{
	if (img->ops != &qcow2_ops) {
		*ret = vx_err_set(err, -ENOTSUP, "bitmap: %s: %s images have no persistent bitmaps",
				  img->path, img->ops->name);
		return NULL;
	}
	if (rw && !(img->flags & IMG_RDWR)) {
		*ret = vx_err_set(err, -EBADF, "bitmap: %s is open read-only", img->path);
		return NULL;
	}
	*ret = 0;
	return img->priv;
}

static int bm_find(struct qcow2 *s, const char *name)
{
	for (uint32_t i = 0; i < s->nbms; i++)
		if (!strcmp(s->bms[i].name, name))
			return (int)i;
	return -1;
}

static int bm_add_unlocked(struct img *img, const char *name, unsigned gbits,
		   struct vx_err *err)
{
	struct qcow2_bitmap *nb, *b;
	int ret;
	struct qcow2 *s = bq(img, 1, err, &ret);

	if (!s)
		return ret;
	if (!gbits)
		gbits = 16;
	if (!name || !*name || strlen(name) > BM_MAX_NAME || gbits < 9 || gbits > 31)
		return vx_err_set(err, -EINVAL, "bitmap: name must be 1..%d bytes, granularity 9..31 bits",
				  BM_MAX_NAME);
	if (bm_find(s, name) >= 0)
		return vx_err_set(err, -EEXIST, "bitmap: %s: bitmap \"%s\" exists", img->path, name);
	if (s->nbms >= BM_MAX_COUNT)
		return vx_err_set(err, -ENOSPC, "bitmap: %s: too many bitmaps", img->path);
	nb = realloc(s->bms, (s->nbms + 1) * sizeof(*nb));
	if (!nb)
		return vx_err_set(err, -ENOMEM, "bitmap: out of memory");
	s->bms = nb;
	b = &nb[s->nbms];
	memset(b, 0, sizeof(*b));
	b->granularity_bits = (uint8_t)gbits;
	b->flags = QCOW2_BM_AUTO;
	b->table_size = (uint32_t)bm_table_size(s, gbits);
	b->nbits = bm_nbits(s, gbits);
	b->name = strdup(name);
	b->bits = calloc(1, (size_t)b->table_size * s->cs + 1);
	b->dirty = 1;
	if (!b->name || !b->bits) {
		bm_free_one(b);
		return vx_err_set(err, -ENOMEM, "bitmap: out of memory");
	}
	s->nbms++;
	return bm_store(s, 0, err);
}

static int bm_remove_unlocked(struct img *img, const char *name, struct vx_err *err)
{
	struct qcow2_bitmap gone;
	int i, ret;
	struct qcow2 *s = bq(img, 1, err, &ret);

	if (!s)
		return ret;
	i = bm_find(s, name);
	if (i < 0)
		return vx_err_set(err, -ENOENT, "bitmap: %s: no bitmap \"%s\"", img->path, name);
	gone = s->bms[i];
	memmove(&s->bms[i], &s->bms[i + 1], (s->nbms - (uint32_t)i - 1) * sizeof(gone));
	s->nbms--;
	ret = bm_store(s, 0, err);
	if (!ret)
		ret = bm_free_disk(s, gone.table_offset, gone.table_size, err);
	bm_free_one(&gone);
	return ret;
}

static int bm_clear_unlocked(struct img *img, const char *name, struct vx_err *err)
{
	int i, ret;
	struct qcow2 *s = bq(img, 1, err, &ret);

	if (!s)
		return ret;
	i = bm_find(s, name);
	if (i < 0)
		return vx_err_set(err, -ENOENT, "bitmap: %s: no bitmap \"%s\"", img->path, name);
	if (!s->bms[i].bits) {
		/* Clearing makes an inconsistent bitmap trustworthy again. */
		s->bms[i].bits = calloc(1, (size_t)s->bms[i].table_size * s->cs + 1);
		if (!s->bms[i].bits)
			return vx_err_set(err, -ENOMEM, "bitmap: out of memory");
		s->bms[i].flags &= ~QCOW2_BM_IN_USE;
	}
	memset(s->bms[i].bits, 0, (size_t)s->bms[i].table_size * s->cs);
	s->bms[i].dirty = 1;
	return bm_store(s, 0, err);
}

static int bm_list_unlocked(struct img *img, struct img_bitmap_info **list, int *n,
		    struct vx_err *err)
{
	struct img_bitmap_info *l;
	int ret;
	struct qcow2 *s = bq(img, 0, err, &ret);

	*list = NULL;
	*n = 0;
	if (!s)
		return ret;
	l = calloc(s->nbms + 1, sizeof(*l));
	if (!l)
		return vx_err_set(err, -ENOMEM, "bitmap: out of memory");
	for (uint32_t i = 0; i < s->nbms; i++) {
		snprintf(l[i].name, sizeof(l[i].name), "%s", s->bms[i].name);
		l[i].granularity_bits = s->bms[i].granularity_bits;
		l[i].enabled = !!(s->bms[i].flags & QCOW2_BM_AUTO);
		/* Read-only opens see the file's flag; read-write ones our state. */
		l[i].inconsistent = !s->bms[i].bits ||
			(!(img->flags & IMG_RDWR) && (s->bms[i].flags & QCOW2_BM_IN_USE));
	}
	*list = l;
	*n = (int)s->nbms;
	return 0;
}

static int bm_get_unlocked(struct img *img, const char *name, uint8_t **bits,
		   uint64_t *nbits, unsigned *gbits, struct vx_err *err)
{
	struct qcow2_bitmap *b;
	size_t bytes;
	int i, ret;
	struct qcow2 *s = bq(img, 0, err, &ret);

	*bits = NULL;
	if (!s)
		return ret;
	i = bm_find(s, name);
	if (i < 0)
		return vx_err_set(err, -ENOENT, "bitmap: %s: no bitmap \"%s\"", img->path, name);
	b = &s->bms[i];
	if (!b->bits || (!(img->flags & IMG_RDWR) && (b->flags & QCOW2_BM_IN_USE)))
		return vx_err_set(err, -ESTALE,
				  "bitmap: %s: bitmap \"%s\" is inconsistent (image not closed cleanly); take a full backup",
				  img->path, name);
	bytes = (size_t)((b->nbits + 7) / 8);
	*bits = malloc(bytes + 1);
	if (!*bits)
		return vx_err_set(err, -ENOMEM, "bitmap: out of memory");
	memcpy(*bits, b->bits, bytes);
	*nbits = b->nbits;
	*gbits = b->granularity_bits;
	return 0;
}

int img_bitmap_merge(struct img *img, const char *name, const uint8_t *bits,
		     uint64_t nbits, struct vx_err *err)
{
	struct qcow2_bitmap *b;
	int i, ret;
	struct qcow2 *s = bq(img, 1, err, &ret);

	if (!s)
		return ret;
	i = bm_find(s, name);
	if (i < 0)
		return vx_err_set(err, -ENOENT, "bitmap: %s: no bitmap \"%s\"", img->path, name);
	b = &s->bms[i];
	if (!b->bits)
		return 0;   /* inconsistent already: nobody trusts it anyway */
	if (!bits)
		nbits = b->nbits;
	for (uint64_t k = 0; k < nbits && k < b->nbits; k++)
		if (!bits || (bits[k / 8] & (1u << (k % 8))))
			b->bits[k / 8] |= (uint8_t)(1u << (k % 8));
	b->dirty = 1;
	return bm_store(s, 0, err);
}

/* The public calls hold the image's lock: a live backup's thread hands
 * bitmaps over while the guest's writes mark them. */
#define BM_LOCKED(call) do { \
	int ret_; \
	img_lock_io(img); \
	ret_ = (call); \
	img_unlock_io(img); \
	return ret_; \
} while (0)

int img_bitmap_add(struct img *img, const char *name, unsigned gbits,
		   struct vx_err *err)
{
	BM_LOCKED(bm_add_unlocked(img, name, gbits, err));
}

int img_bitmap_remove(struct img *img, const char *name, struct vx_err *err)
{
	BM_LOCKED(bm_remove_unlocked(img, name, err));
}

int img_bitmap_clear(struct img *img, const char *name, struct vx_err *err)
{
	BM_LOCKED(bm_clear_unlocked(img, name, err));
}

int img_bitmap_list(struct img *img, struct img_bitmap_info **list, int *n,
		    struct vx_err *err)
{
	BM_LOCKED(bm_list_unlocked(img, list, n, err));
}

int img_bitmap_get(struct img *img, const char *name, uint8_t **bits,
		   uint64_t *nbits, unsigned *gbits, struct vx_err *err)
{
	BM_LOCKED(bm_get_unlocked(img, name, bits, nbits, gbits, err));
}
