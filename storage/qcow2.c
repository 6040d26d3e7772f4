/*
 * qcow2: open (header parse and validation), header write-back, create, flush
 * and close of qcow2 v3 images (v2 read-only).
 *
 * Everything read from the file is hostile until checked: cluster_bits,
 * table sizes and offsets are bounded against QEMU's own limits and the file
 * size before anything is allocated or read with them. Context: caller's
 * thread, one thread per image.
 */
#include "qcow2.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int qcow2_pread(struct qcow2 *s, void *buf, size_t len, uint64_t off,
		const char *what, struct vx_err *err)
{
	char *p = buf;
	ssize_t n;

	while (len) {
		n = pread(s->fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vx_err_errno(err, -errno, "qcow2: read %s at 0x%llx in %s",
					    what, (unsigned long long)off, s->img->path);
		if (n == 0)
			return vx_err_set(err, -EIO,
					  "qcow2: %s at 0x%llx is beyond the end of %s",
					  what, (unsigned long long)off, s->img->path);
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int qcow2_pwrite(struct qcow2 *s, const void *buf, size_t len, uint64_t off,
		 const char *what, struct vx_err *err)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = pwrite(s->fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vx_err_errno(err, -errno, "qcow2: write %s at 0x%llx in %s",
					    what, (unsigned long long)off, s->img->path);
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	if (off > s->file_end)
		s->file_end = (off + s->cs - 1) & ~(s->cs - 1);
	return 0;
}

int qcow2_sync(struct qcow2 *s, struct vx_err *err)
{
	if (fdatasync(s->fd) < 0)
		return vx_err_errno(err, -errno, "qcow2: fsync %s", s->img->path);
	return 0;
}

static int put_ext(uint8_t *buf, size_t *pos, size_t cap, uint32_t type,
		   const void *data, uint32_t len)
{
	size_t padded = ((size_t)len + 7) & ~(size_t)7;

	if (*pos + 8 + padded > cap)
		return -1;
	qcow2_put32(buf + *pos, type);
	qcow2_put32(buf + *pos + 4, len);
	memset(buf + *pos + 8, 0, padded);
	if (len)
		memcpy(buf + *pos + 8, data, len);
	*pos += 8 + padded;
	return 0;
}

/*
 * Builds cluster 0: fixed header, extensions (backing format, bitmaps, the
 * unknown ones we keep), end marker, backing file name. Returns bytes used.
 */
static int qcow2_build_header(struct qcow2 *s, uint64_t size, const char *bname,
			      const char *bfmt, uint8_t *buf, size_t *used,
			      struct vx_err *err)
{
	size_t pos, cap = s->cs;
	uint8_t bmext[24];
	uint32_t bmlen;
	int i;

	memset(buf, 0, cap);
	qcow2_put32(buf + 0, QCOW2_MAGIC);
	qcow2_put32(buf + 4, 3);
	qcow2_put32(buf + 20, s->cluster_bits);
	qcow2_put64(buf + 24, size);
	qcow2_put32(buf + 36, s->l1_size);
	qcow2_put64(buf + 40, s->l1_offset);
	qcow2_put64(buf + 48, s->rt_offset);
	qcow2_put32(buf + 56, s->rt_clusters);
	qcow2_put32(buf + 60, s->nsnaps);
	qcow2_put64(buf + 64, s->snaps_offset);
	qcow2_put64(buf + 72, s->incompat);
	qcow2_put64(buf + 80, s->compat);
	qcow2_put64(buf + 88, s->autoclear);
	qcow2_put32(buf + 96, s->refcount_order);
	qcow2_put32(buf + 100, 112);
	buf[104] = s->compression_type;
	pos = 112;
	if (bfmt && put_ext(buf, &pos, cap, QCOW2_EXT_BACKING_FMT, bfmt,
			    (uint32_t)strlen(bfmt)))
		goto full;
	qcow2_bitmaps_ext(s, bmext, &bmlen);
	if (bmlen && put_ext(buf, &pos, cap, QCOW2_EXT_BITMAPS, bmext, bmlen))
		goto full;
	for (i = 0; i < s->nexts; i++)
		if (put_ext(buf, &pos, cap, s->exts[i].type, s->exts[i].data,
			    s->exts[i].len))
			goto full;
	if (put_ext(buf, &pos, cap, QCOW2_EXT_END, NULL, 0))
		goto full;
	if (bname) {
		size_t n = strlen(bname);
		if (pos + n > cap)
			goto full;
		qcow2_put64(buf + 8, pos);
		qcow2_put32(buf + 16, (uint32_t)n);
		memcpy(buf + pos, bname, n);
		pos += n;
	}
	*used = pos;
	return 0;
full:
	return vx_err_set(err, -EFBIG,
			  "qcow2: header, extensions and backing name exceed one cluster (%llu bytes)",
			  (unsigned long long)s->cs);
}

int qcow2_write_header(struct qcow2 *s, struct vx_err *err)
{
	size_t used;
	int ret;

	ret = qcow2_build_header(s, s->img->size, s->img->backing_name,
				 s->img->backing_fmt, s->tmp, &used, err);
	if (ret < 0)
		return ret;
	return qcow2_pwrite(s, s->tmp, used, 0, "header", err);
}

static int bad(struct vx_err *err, const char *path, const char *what)
{
	return vx_err_set(err, -EINVAL, "qcow2: %s: %s", path, what);
}

/* Checks an on-disk table lies inside the file and is cluster aligned. */
static int check_table(struct qcow2 *s, uint64_t off, uint64_t bytes,
		       uint64_t fsize, const char *what, struct vx_err *err)
{
	if (off & (s->cs - 1))
		return vx_err_set(err, -EINVAL,
				  "qcow2: %s: %s offset 0x%llx is not cluster aligned",
				  s->img->path, what, (unsigned long long)off);
	if (off > fsize || bytes > fsize - off)
		return vx_err_set(err, -EINVAL,
				  "qcow2: %s: %s at 0x%llx (0x%llx bytes) is beyond end of file (0x%llx)",
				  s->img->path, what, (unsigned long long)off,
				  (unsigned long long)bytes, (unsigned long long)fsize);
	return 0;
}

static int qcow2_parse_exts(struct qcow2 *s, const uint8_t *h, size_t hlen,
			    uint64_t backing_off, struct vx_err *err)
{
	size_t pos = s->header_length;
	size_t end = hlen;
	uint32_t type, len;
	int ret;

	/* Extensions end where the backing name starts, if it is after them. */
	if (backing_off > pos && backing_off < end)
		end = (size_t)backing_off;
	while (pos + 8 <= end) {
		type = qcow2_be32(h + pos);
		len = qcow2_be32(h + pos + 4);
		pos += 8;
		if (type == QCOW2_EXT_END)
			return 0;
		if (len > end - pos)
			return vx_err_set(err, -EINVAL,
					  "qcow2: %s: header extension 0x%08x length %u runs past the header cluster",
					  s->img->path, type, len);
		if (type == QCOW2_EXT_BACKING_FMT) {
			free(s->img->backing_fmt);
			s->img->backing_fmt = strndup((const char *)h + pos, len);
			if (!s->img->backing_fmt)
				return -ENOMEM;
		} else if (type == QCOW2_EXT_BITMAPS) {
			if (s->autoclear & QCOW2_AUTOCLEAR_BITMAPS) {
				ret = qcow2_bitmaps_load(s, h + pos, len, err);
				if (ret < 0)
					return ret;
			}
		} else {
			struct qcow2_ext *e = realloc(s->exts,
					(size_t)(s->nexts + 1) * sizeof(*e));
			if (!e)
				return -ENOMEM;
			s->exts = e;
			e[s->nexts].type = type;
			e[s->nexts].len = len;
			e[s->nexts].data = malloc(len ? len : 1);
			if (!e[s->nexts].data)
				return -ENOMEM;
			memcpy(e[s->nexts].data, h + pos, len);
			s->nexts++;
		}
		pos += ((size_t)len + 7) & ~(size_t)7;
	}
	return 0;
}

static void qcow2_free(struct qcow2 *s)
{
	int i;

	if (!s)
		return;
	qcow2_mc_free(s);
	qcow2_snapshots_free(s);
	qcow2_bitmaps_free(s);
	for (i = 0; i < s->nexts; i++)
		free(s->exts[i].data);
	free(s->exts);
	free(s->l1);
	free(s->rt);
	free(s->tmp);
	free(s->tmp2);
	free(s->dc_buf);
	free(s->pend);
	free(s);
}

int qcow2_open(struct img *img, struct vx_err *err)
{
	uint8_t fixed[112], *h = NULL;
	uint64_t fsize, l1_need, guest_cl, backing_off, v;
	uint32_t backing_len, crypt, i;
	struct qcow2 *s;
	struct stat st;
	int ret, rw = !!(img->flags & IMG_RDWR);
	const char *p = img->path;

	if (fstat(img->fd, &st) < 0)
		return vx_err_errno(err, -errno, "qcow2: stat %s", p);
	fsize = (uint64_t)st.st_size;
	s = calloc(1, sizeof(*s));
	if (!s)
		return vx_err_set(err, -ENOMEM, "qcow2: out of memory");
	s->img = img;
	s->fd = img->fd;
	img->priv = s;
	s->cs = 512;   /* for error paths of qcow2_pread before the real value */

	memset(fixed, 0, sizeof(fixed));
	if (fsize < 72) {
		ret = bad(err, p, "file too short for a qcow2 header");
		goto fail;
	}
	ret = qcow2_pread(s, fixed, fsize < sizeof(fixed) ? (size_t)fsize : sizeof(fixed),
			  0, "header", err);
	if (ret < 0)
		goto fail;
	if (qcow2_be32(fixed) != QCOW2_MAGIC) {
		ret = bad(err, p, "not a qcow2 image (bad magic)");
		goto fail;
	}
	s->version = qcow2_be32(fixed + 4);
	if (s->version != 2 && s->version != 3) {
		ret = vx_err_set(err, -ENOTSUP, "qcow2: %s: unsupported version %u",
				 p, s->version);
		goto fail;
	}
	if (s->version == 2 && rw) {
		ret = vx_err_set(err, -EROFS,
				 "qcow2: %s: version 2 images are read-only here (upgrade with qemu-img amend -o compat=1.1)", p);
		goto fail;
	}
	s->cluster_bits = qcow2_be32(fixed + 20);
	if (s->cluster_bits < QCOW2_MIN_CLUSTER_BITS ||
	    s->cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
		ret = vx_err_set(err, -EINVAL,
				 "qcow2: %s: cluster_bits %u outside %d..%d", p,
				 s->cluster_bits, QCOW2_MIN_CLUSTER_BITS,
				 QCOW2_MAX_CLUSTER_BITS);
		goto fail;
	}
	s->cs = 1ull << s->cluster_bits;
	s->l2_bits = s->cluster_bits - 3;
	img->size = qcow2_be64(fixed + 24);
	crypt = qcow2_be32(fixed + 32);
	s->l1_size = qcow2_be32(fixed + 36);
	s->l1_offset = qcow2_be64(fixed + 40);
	s->rt_offset = qcow2_be64(fixed + 48);
	s->rt_clusters = qcow2_be32(fixed + 56);
	s->nsnaps = qcow2_be32(fixed + 60);
	s->snaps_offset = qcow2_be64(fixed + 64);
	backing_off = qcow2_be64(fixed + 8);
	backing_len = qcow2_be32(fixed + 16);
	if (s->version == 3) {
		s->incompat = qcow2_be64(fixed + 72);
		s->compat = qcow2_be64(fixed + 80);
		s->autoclear = qcow2_be64(fixed + 88);
		s->refcount_order = qcow2_be32(fixed + 96);
		s->header_length = qcow2_be32(fixed + 100);
		if (s->header_length < 104 || s->header_length > s->cs ||
		    s->header_length > fsize) {
			ret = vx_err_set(err, -EINVAL,
					 "qcow2: %s: header_length %u invalid", p,
					 s->header_length);
			goto fail;
		}
		if (s->header_length > 104)
			s->compression_type = fixed[104];
	} else {
		s->refcount_order = 4;
		s->header_length = 72;
	}
	if (crypt) {
		ret = vx_err_set(err, -ENOTSUP,
				 "qcow2: %s: encrypted images (crypt_method %u) are not supported",
				 p, crypt);
		goto fail;
	}
	v = s->incompat & ~(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT |
			    QCOW2_INCOMPAT_COMPRESSION);
	if (v) {
		const char *name = (v & QCOW2_INCOMPAT_DATA_FILE) ? "external data file" :
				   (v & QCOW2_INCOMPAT_EXTL2) ? "extended L2 entries" :
				   "unknown";
		ret = vx_err_set(err, -ENOTSUP,
				 "qcow2: %s: unsupported incompatible feature bits 0x%llx (%s)",
				 p, (unsigned long long)v, name);
		goto fail;
	}
	if (!!(s->incompat & QCOW2_INCOMPAT_COMPRESSION) != (s->compression_type != 0) ||
	    s->compression_type > QCOW2_COMPRESS_ZSTD) {
		ret = vx_err_set(err, -ENOTSUP,
				 "qcow2: %s: compression type %u (feature bit %s) not supported",
				 p, s->compression_type,
				 (s->incompat & QCOW2_INCOMPAT_COMPRESSION) ? "set" : "clear");
		goto fail;
	}
	if (rw && (s->incompat & QCOW2_INCOMPAT_CORRUPT)) {
		ret = vx_err_set(err, -EROFS,
				 "qcow2: %s is marked corrupt; repair it (qemu-img check -r all) before writing", p);
		goto fail;
	}
	if (rw && (s->incompat & QCOW2_INCOMPAT_DIRTY)) {
		ret = vx_err_set(err, -EROFS,
				 "qcow2: %s has the dirty bit set (lazy refcounts); repair it with qemu-img check -r all before writing", p);
		goto fail;
	}
	if (s->refcount_order > 6) {
		ret = vx_err_set(err, -EINVAL, "qcow2: %s: refcount_order %u exceeds 6",
				 p, s->refcount_order);
		goto fail;
	}
	s->rb_bits = s->cluster_bits + 3 - s->refcount_order;
	s->refcount_max = s->refcount_order == 6 ? UINT64_MAX :
			  (1ull << (1u << s->refcount_order)) - 1;
	if (img->size > QCOW2_MAX_SIZE) {
		ret = vx_err_set(err, -EINVAL, "qcow2: %s: virtual size 0x%llx too large",
				 p, (unsigned long long)img->size);
		goto fail;
	}
	guest_cl = (img->size + s->cs - 1) >> s->cluster_bits;
	l1_need = (guest_cl + (1ull << s->l2_bits) - 1) >> s->l2_bits;
	if ((uint64_t)s->l1_size * 8 > QCOW2_MAX_L1_BYTES) {
		ret = vx_err_set(err, -EINVAL,
				 "qcow2: %s: L1 table size 0x%x entries exceeds limit of 0x%x",
				 p, s->l1_size, QCOW2_MAX_L1_BYTES / 8);
		goto fail;
	}
	if (s->l1_size < l1_need) {
		ret = vx_err_set(err, -EINVAL,
				 "qcow2: %s: L1 table size 0x%x too small for virtual size 0x%llx",
				 p, s->l1_size, (unsigned long long)img->size);
		goto fail;
	}
	ret = check_table(s, s->l1_offset, (uint64_t)s->l1_size * 8, fsize, "L1 table", err);
	if (ret < 0)
		goto fail;
	if (!s->rt_clusters || (uint64_t)s->rt_clusters * s->cs > QCOW2_MAX_RT_BYTES) {
		ret = vx_err_set(err, -EINVAL,
				 "qcow2: %s: refcount table of %u clusters outside 1..%llu",
				 p, s->rt_clusters,
				 (unsigned long long)(QCOW2_MAX_RT_BYTES / s->cs));
		goto fail;
	}
	ret = check_table(s, s->rt_offset, (uint64_t)s->rt_clusters * s->cs, fsize,
			  "refcount table", err);
	if (ret < 0)
		goto fail;
	if (s->nsnaps > QCOW2_MAX_SNAPSHOTS) {
		ret = vx_err_set(err, -EINVAL, "qcow2: %s: %u snapshots exceed limit %d",
				 p, s->nsnaps, QCOW2_MAX_SNAPSHOTS);
		goto fail;
	}
	if (s->nsnaps) {
		ret = check_table(s, s->snaps_offset, (uint64_t)s->nsnaps * 40, fsize,
				  "snapshot table", err);
		if (ret < 0)
			goto fail;
	}
	if (backing_off) {
		if (backing_len > QCOW2_MAX_BACKING_NAME || backing_off > s->cs ||
		    backing_len > s->cs - backing_off || !backing_len) {
			ret = vx_err_set(err, -EINVAL,
					 "qcow2: %s: backing file name (offset 0x%llx, length %u) invalid",
					 p, (unsigned long long)backing_off, backing_len);
			goto fail;
		}
	}

	s->tmp = malloc(s->cs);
	s->tmp2 = malloc(s->cs);
	h = calloc(1, s->cs);
	if (!s->tmp || !s->tmp2 || !h) {
		ret = vx_err_set(err, -ENOMEM, "qcow2: out of memory");
		goto fail;
	}
	ret = qcow2_pread(s, h, fsize < s->cs ? (size_t)fsize : s->cs, 0, "header", err);
	if (ret < 0)
		goto fail;
	if (backing_off) {
		img->backing_name = strndup((char *)h + backing_off, backing_len);
		if (!img->backing_name || strlen(img->backing_name) != backing_len) {
			ret = bad(err, p, "backing file name contains a NUL byte");
			goto fail;
		}
	}
	s->file_end = (fsize + s->cs - 1) & ~(s->cs - 1);
	if (s->version == 3) {
		ret = qcow2_parse_exts(s, h, s->cs, backing_off, err);
		if (ret < 0)
			goto fail;
	}
	if (img->backing_fmt && strcmp(img->backing_fmt, "raw") &&
	    strcmp(img->backing_fmt, "qcow2")) {
		ret = vx_err_set(err, -ENOTSUP, "qcow2: %s: backing format \"%s\" not supported",
				 p, img->backing_fmt);
		goto fail;
	}

	s->l1 = calloc(s->l1_size ? s->l1_size : 1, 8);
	s->rt_entries = (uint64_t)s->rt_clusters * s->cs / 8;
	s->rt = calloc(s->rt_entries, 8);
	if (!s->l1 || !s->rt) {
		ret = vx_err_set(err, -ENOMEM, "qcow2: out of memory");
		goto fail;
	}
	if (s->l1_size) {
		ret = qcow2_pread(s, s->l1, (size_t)s->l1_size * 8, s->l1_offset, "L1 table", err);
		if (ret < 0)
			goto fail;
	}
	for (i = 0; i < s->l1_size; i++) {
		v = qcow2_be64(&s->l1[i]);
		s->l1[i] = v;
		if ((v & QCOW2_L1_RESERVED) || ((v & QCOW2_OFFSET_MASK) & (s->cs - 1))) {
			ret = vx_err_set(err, -EINVAL,
					 "qcow2: %s: L1 entry %u (0x%llx) has reserved bits or an unaligned L2 offset",
					 p, i, (unsigned long long)v);
			goto fail;
		}
	}
	ret = qcow2_pread(s, s->rt, (size_t)s->rt_entries * 8, s->rt_offset,
			  "refcount table", err);
	if (ret < 0)
		goto fail;
	for (v = 0; v < s->rt_entries; v++) {
		s->rt[v] = qcow2_be64(&s->rt[v]);
		if (s->rt[v] & (s->cs - 1)) {
			ret = vx_err_set(err, -EINVAL,
					 "qcow2: %s: refcount block %llu offset 0x%llx is not cluster aligned",
					 p, (unsigned long long)v, (unsigned long long)s->rt[v]);
			goto fail;
		}
	}
	s->file_end = (fsize + s->cs - 1) & ~(s->cs - 1);
	ret = qcow2_snapshots_load(s, err);
	if (ret < 0)
		goto fail;
	free(h);
	h = NULL;
	if (rw) {
		/* Autoclear bits we do not understand must be cleared on write. */
		v = s->autoclear;
		s->autoclear &= QCOW2_AUTOCLEAR_BITMAPS;
		if (!s->nbms)
			s->autoclear &= ~QCOW2_AUTOCLEAR_BITMAPS;
		if (v != s->autoclear) {
			ret = qcow2_write_header(s, err);
			if (!ret)
				ret = qcow2_sync(s, err);
			if (ret < 0)
				goto fail;
		}
		ret = qcow2_bitmaps_begin(s, err);
		if (ret < 0)
			goto fail;
	}
	return 0;
fail:
	free(h);
	qcow2_free(s);
	img->priv = NULL;
	return ret;
}

int qcow2_create(const char *path, const struct img_create_opts *o,
		 uint64_t size, struct vx_err *err)
{
	struct img fake = { .path = (char *)path };
	struct qcow2 s = { .img = &fake };
	uint64_t guest_cl, l1_cl, rt_cl, rb, n, i, rbe, per;
	size_t used;
	uint8_t *buf = NULL;
	int fd, ret;

	s.cluster_bits = o->cluster_bits ? o->cluster_bits : 16;
	s.refcount_order = o->refcount_order == 7 ? 0 :
			   o->refcount_order ? o->refcount_order : 4;
	if (s.cluster_bits < QCOW2_MIN_CLUSTER_BITS ||
	    s.cluster_bits > QCOW2_MAX_CLUSTER_BITS || s.refcount_order > 6)
		return vx_err_set(err, -EINVAL,
				  "qcow2: cluster_bits %u or refcount_order %u out of range",
				  s.cluster_bits, s.refcount_order);
	if (size > QCOW2_MAX_SIZE)
		return vx_err_set(err, -EINVAL, "qcow2: size 0x%llx too large",
				  (unsigned long long)size);
	s.cs = 1ull << s.cluster_bits;
	s.l2_bits = s.cluster_bits - 3;
	s.rb_bits = s.cluster_bits + 3 - s.refcount_order;
	guest_cl = (size + s.cs - 1) >> s.cluster_bits;
	n = (guest_cl + (1ull << s.l2_bits) - 1) >> s.l2_bits;
	if (n * 8 > QCOW2_MAX_L1_BYTES)
		return vx_err_set(err, -EFBIG,
				  "qcow2: L1 table of 0x%llx entries for size 0x%llx exceeds limit; use larger clusters",
				  (unsigned long long)n, (unsigned long long)size);
	s.l1_size = (uint32_t)n;
	l1_cl = (n * 8 + s.cs - 1) >> s.cluster_bits;
	/*
	 * Layout: header, refcount table, L1, refcount blocks. Grow the counts
	 * until the refcount blocks cover every cluster including themselves.
	 */
	per = 1ull << s.rb_bits;
	rb = 1;
	for (;;) {
		rt_cl = (rb * 8 + s.cs - 1) >> s.cluster_bits;
		n = 1 + rt_cl + l1_cl + rb;
		rbe = (n + per - 1) / per;
		if (rbe <= rb)
			break;
		rb = rbe;
	}
	s.rt_offset = s.cs;
	s.rt_clusters = (uint32_t)rt_cl;
	s.l1_offset = s.cs * (1 + rt_cl);
	if (!s.l1_size)
		s.l1_offset = 0;

	buf = calloc(1, s.cs);
	if (!buf)
		return vx_err_set(err, -ENOMEM, "qcow2: out of memory");
	ret = qcow2_build_header(&s, size, o->backing, o->backing_fmt, buf, &used, err);
	if (ret < 0)
		goto out;
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = vx_err_errno(err, -errno, "qcow2: create %s", path);
		goto out;
	}
	s.fd = fd;
	s.file_end = 0;
	ret = qcow2_pwrite(&s, buf, s.cs, 0, "header", err);
	/* Refcount table: entries point at the blocks after L1. */
	for (i = 0; !ret && i < rt_cl; i++) {
		uint64_t j;
		memset(buf, 0, s.cs);
		for (j = 0; j < s.cs / 8 && i * (s.cs / 8) + j < rb; j++)
			qcow2_put64(buf + j * 8,
				    s.cs * (1 + rt_cl + l1_cl + i * (s.cs / 8) + j));
		ret = qcow2_pwrite(&s, buf, s.cs, s.cs * (1 + i), "refcount table", err);
	}
	/* Refcount blocks: clusters 0..n-1 have refcount 1. */
	for (i = 0; !ret && i < rb; i++) {
		uint64_t c;
		memset(buf, 0, s.cs);
		for (c = i * per; c < n && c < (i + 1) * per; c++) {
			uint64_t idx = c - i * per;
			unsigned bits = 1u << s.refcount_order;
			uint64_t bitpos = idx * bits;
			if (bits >= 8)   /* big-endian value 1 in the last byte */
				buf[(bitpos + bits) / 8 - 1] = 1;
			else             /* sub-byte: LSB-first within a byte */
				buf[bitpos / 8] |= (uint8_t)(1u << (bitpos % 8));
		}
		ret = qcow2_pwrite(&s, buf, s.cs, s.cs * (1 + rt_cl + l1_cl + i),
				   "refcount block", err);
	}
	if (!ret && ftruncate(fd, (off_t)(n * s.cs)) < 0)
		ret = vx_err_errno(err, -errno, "qcow2: size %s", path);
	if (!ret && fsync(fd) < 0)
		ret = vx_err_errno(err, -errno, "qcow2: fsync %s", path);
	close(fd);
	if (ret < 0)
		unlink(path);
out:
	free(buf);
	return ret;
}

static int qcow2_flush(struct img *img, struct vx_err *err)
{
	struct qcow2 *s = img->priv;
	int ret = qcow2_sync(s, err);

	/* Durable now: the references guest writes dropped can go. */
	if (!ret && s->pend_n)
		ret = qcow2_apply_frees(s, err);
	return ret;
}

static void qcow2_close(struct img *img)
{
	struct qcow2 *s = img->priv;

	if (!s)
		return;
	if (img->flags & IMG_RDWR) {
		/* Bitmaps go back with in_use cleared: they are consistent now. */
		if (qcow2_apply_frees(s, NULL) == 0 && qcow2_bitmaps_store(s, NULL) == 0 &&
		    qcow2_release(s, NULL) == 0)
			qcow2_sync(s, NULL);
	}
	qcow2_free(s);
	img->priv = NULL;
}

const struct img_ops qcow2_ops = {
	.name = "qcow2",
	.read = qcow2_read,
	.write = qcow2_write,
	.discard = qcow2_discard,
	.flush = qcow2_flush,
	.status = qcow2_status,
	.close = qcow2_close,
};
