/*
 * backup_pack: pack files and their indexes (see backup_pack.h).
 * Context: caller's thread, under the repository lock backup.c takes.
 */
#include "backup_pack.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#define IDX_MAGIC "VXPIDX01"
#define WBUF_SIZE (1u << 20)  /* frames are small: batch them into large writes */
#define IDX_REC   48          /* hash, be64 off, be32 clen, be32 dlen */

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void hex(const uint8_t h[32], char out[65])
{
	static const char x[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		out[2 * i] = x[h[i] >> 4];
		out[2 * i + 1] = x[h[i] & 15];
	}
	out[64] = '\0';
}

static int ent_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static int sync_dir(const char *path, struct vx_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return vx_err_errno(err, -errno, "backup: open %s", path);
	if (fsync(fd) < 0)
		ret = vx_err_errno(err, -errno, "backup: fsync %s", path);
	close(fd);
	return ret;
}

static int add_name(struct pack_store *ps, const char *name, uint32_t *id)
{
	char (*nn)[64] = realloc(ps->names, (ps->nnames + 1) * sizeof(*nn));
	int *nf = realloc(ps->fds, (ps->nnames + 1) * sizeof(*nf));

	if (nn)
		ps->names = nn;
	if (nf)
		ps->fds = nf;
	if (!nn || !nf)
		return -ENOMEM;
	snprintf(ps->names[ps->nnames], 64, "%s", name);
	ps->fds[ps->nnames] = -1;
	*id = ps->nnames++;
	return 0;
}

static int load_idx(struct pack_store *ps, const char *name, struct vx_err *err)
{
	char path[PATH_MAX];
	struct stat st;
	uint8_t *b = NULL;
	uint32_t id;
	size_t cnt;
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/packs/%s.idx", ps->dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vx_err_errno(err, -errno, "backup: open %s", path);
	if (fstat(fd, &st) < 0 || st.st_size < 8 || (st.st_size - 8) % IDX_REC) {
		close(fd);
		return vx_err_set(err, -EIO, "backup: pack index %s is damaged (size)", path);
	}
	b = malloc((size_t)st.st_size);
	if (!b || pread(fd, b, (size_t)st.st_size, 0) != st.st_size ||
	    memcmp(b, IDX_MAGIC, 8)) {
		ret = vx_err_set(err, b ? -EIO : -ENOMEM, "backup: pack index %s unreadable", path);
		goto out;
	}
	cnt = (size_t)(st.st_size - 8) / IDX_REC;
	if (add_name(ps, name, &id)) {
		ret = vx_err_set(err, -ENOMEM, "backup: out of memory");
		goto out;
	}
	struct pack_ent *ne = realloc(ps->e, (ps->n + cnt + 1) * sizeof(*ne));
	if (!ne) {
		ret = vx_err_set(err, -ENOMEM, "backup: out of memory");
		goto out;
	}
	ps->e = ne;
	for (size_t i = 0; i < cnt; i++) {
		const uint8_t *r = b + 8 + i * IDX_REC;
		struct pack_ent *x = &ps->e[ps->n++];
		memcpy(x->hash, r, 32);
		x->off = be64(r + 32);
		x->clen = be32(r + 40);
		x->dlen = be32(r + 44);
		x->pack = id;
	}
out:
	free(b);
	close(fd);
	return ret;
}

int pack_open(struct pack_store *ps, const char *dir, struct vx_err *err)
{
	char path[PATH_MAX], name[64];
	struct dirent *de;
	size_t l;
	DIR *d;
	int ret = 0;

	memset(ps, 0, sizeof(*ps));
	ps->dir = dir;
	ps->wfd = -1;
	snprintf(path, sizeof(path), "%s/packs", dir);
	d = opendir(path);
	if (!d)
		return vx_err_errno(err, -errno, "backup: open %s", path);
	while (!ret && (de = readdir(d))) {
		l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l < 5 || l - 4 >= sizeof(name) ||
		    strcmp(de->d_name + l - 4, ".idx"))
			continue;
		memcpy(name, de->d_name, l - 4);
		name[l - 4] = '\0';
		ret = load_idx(ps, name, err);
	}
	closedir(d);
	if (ret < 0) {
		pack_close(ps);
		return ret;
	}
	if (ps->n)
		qsort(ps->e, ps->n, sizeof(*ps->e), ent_cmp);
	return 0;
}

void pack_close(struct pack_store *ps)
{
	char path[PATH_MAX];

	for (uint32_t i = 0; i < ps->nnames; i++)
		if (ps->fds[i] >= 0)
			close(ps->fds[i]);
	if (ps->wfd >= 0) {
		close(ps->wfd);
		snprintf(path, sizeof(path), "%s/tmp/%s.pack", ps->dir, ps->wname);
		unlink(path);
	}
	free(ps->e);
	free(ps->names);
	free(ps->fds);
	free(ps->se);
	free(ps->ht);
	free(ps->wbuf);
	EVP_MD_free(ps->sha256);
	memset(ps, 0, sizeof(*ps));
	ps->wfd = -1;
}

static const struct pack_ent *find(const struct pack_store *ps, const uint8_t h[32])
{
	uint64_t k;
	size_t i;

	if (ps->n) {
		const struct pack_ent *x = bsearch(h, ps->e, ps->n, sizeof(*ps->e), ent_cmp);
		if (x)
			return x;
	}
	if (!ps->htcap)
		return NULL;
	memcpy(&k, h, 8);
	for (i = k & (ps->htcap - 1); ps->ht[i]; i = (i + 1) & (ps->htcap - 1))
		if (!memcmp(ps->se[ps->ht[i] - 1].hash, h, 32))
			return &ps->se[ps->ht[i] - 1];
	return NULL;
}

int pack_has(struct pack_store *ps, const uint8_t hash[32])
{
	return find(ps, hash) != NULL;
}

int pack_has_committed(const struct pack_store *ps, const uint8_t hash[32])
{
	return ps->n && bsearch(hash, ps->e, ps->n, sizeof(*ps->e), ent_cmp);
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t w;

	while (len) {
		w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Writes the buffered frames; starts writeback every 8 MiB so the final
 * fsync overlaps the work. */
static int wbuf_flush(struct pack_store *ps, struct vx_err *err)
{
	uint64_t start = ps->woff - ps->wlen;
	int ret;

	if (!ps->wlen)
		return 0;
	ret = write_all(ps->wfd, ps->wbuf, ps->wlen);
	if (ret < 0)
		return vx_err_errno(err, ret, "backup: write pack %s", ps->wname);
	ps->wlen = 0;
	if ((start >> 23) != (ps->woff >> 23))
		sync_file_range(ps->wfd, (off_t)(((ps->woff >> 23) - 1) << 23), 8 << 20,
				SYNC_FILE_RANGE_WRITE);
	return 0;
}

static int ht_grow(struct pack_store *ps)
{
	size_t cap = ps->htcap ? ps->htcap * 2 : 1024;
	uint32_t *ht = calloc(cap, sizeof(*ht));
	uint64_t k;

	if (!ht)
		return -ENOMEM;
	for (size_t j = 0; j < ps->sn; j++) {
		size_t i;
		memcpy(&k, ps->se[j].hash, 8);
		for (i = k & (cap - 1); ht[i]; i = (i + 1) & (cap - 1))
			;
		ht[i] = (uint32_t)j + 1;
	}
	free(ps->ht);
	ps->ht = ht;
	ps->htcap = cap;
	return 0;
}

int pack_put(struct pack_store *ps, const uint8_t hash[32], const void *z,
	     uint32_t zlen, uint32_t dlen, struct vx_err *err)
{
	char path[PATH_MAX];
	struct timespec ts;
	const uint8_t *p = z;
	uint64_t k, off = ps->woff;
	size_t i;
	int ret;

	if (ps->wfd < 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		snprintf(ps->wname, sizeof(ps->wname), "p%lld%09ld-%d",
			 (long long)ts.tv_sec, ts.tv_nsec, (int)getpid());
		snprintf(path, sizeof(path), "%s/tmp/%s.pack", ps->dir, ps->wname);
		if (!ps->wbuf && !(ps->wbuf = malloc(WBUF_SIZE)))
			return vx_err_set(err, -ENOMEM, "backup: out of memory");
		ps->wfd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (ps->wfd < 0)
			return vx_err_errno(err, -errno, "backup: create %s", path);
		ps->woff = 0;
		ps->wlen = 0;
	}
	if (ps->wlen + zlen > WBUF_SIZE) {
		ret = wbuf_flush(ps, err);
		if (ret < 0)
			return ret;
	}
	if (zlen > WBUF_SIZE) {
		ret = write_all(ps->wfd, p, zlen);
		if (ret < 0)
			return vx_err_errno(err, ret, "backup: write pack %s", ps->wname);
	} else {
		memcpy(ps->wbuf + ps->wlen, p, zlen);
		ps->wlen += zlen;
	}
	if ((ps->sn + 1) * 2 > ps->htcap && ht_grow(ps))
		return vx_err_set(err, -ENOMEM, "backup: out of memory");
	if (ps->sn == ps->scap) {
		size_t cap = ps->scap ? ps->scap * 2 : 1024;
		struct pack_ent *se = realloc(ps->se, cap * sizeof(*se));
		if (!se)
			return vx_err_set(err, -ENOMEM, "backup: out of memory");
		ps->se = se;
		ps->scap = cap;
	}
	memcpy(ps->se[ps->sn].hash, hash, 32);
	ps->se[ps->sn].off = off;
	ps->se[ps->sn].clen = zlen;
	ps->se[ps->sn].dlen = dlen;
	ps->se[ps->sn].pack = UINT32_MAX;   /* this run's pack */
	memcpy(&k, hash, 8);
	for (i = k & (ps->htcap - 1); ps->ht[i]; i = (i + 1) & (ps->htcap - 1))
		;
	ps->ht[i] = (uint32_t)ps->sn + 1;
	ps->sn++;
	ps->woff += zlen;
	return 0;
}

/* Writes name.idx for entries es[0..n) (tmp, fsync, rename). */
static int write_idx(const struct pack_store *ps, const char *name,
		     const struct pack_ent *es, size_t n, struct vx_err *err)
{
	char tmp[PATH_MAX], fin[PATH_MAX];
	uint8_t *b = malloc(8 + n * IDX_REC);
	int fd, ret = 0;

	if (!b)
		return vx_err_set(err, -ENOMEM, "backup: out of memory");
	memcpy(b, IDX_MAGIC, 8);
	for (size_t i = 0; i < n; i++) {
		uint8_t *r = b + 8 + i * IDX_REC;
		memcpy(r, es[i].hash, 32);
		put64(r + 32, es[i].off);
		put32(r + 40, es[i].clen);
		put32(r + 44, es[i].dlen);
	}
	snprintf(tmp, sizeof(tmp), "%s/tmp/%s.idx", ps->dir, name);
	snprintf(fin, sizeof(fin), "%s/packs/%s.idx", ps->dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		free(b);
		return vx_err_errno(err, -errno, "backup: create %s", tmp);
	}
	if (write(fd, b, 8 + n * IDX_REC) != (ssize_t)(8 + n * IDX_REC) || fsync(fd) < 0)
		ret = vx_err_errno(err, -errno, "backup: write %s", tmp);
	close(fd);
	free(b);
	if (!ret && rename(tmp, fin) < 0)
		ret = vx_err_errno(err, -errno, "backup: rename %s", fin);
	if (ret)
		unlink(tmp);
	return ret;
}

int pack_commit(struct pack_store *ps, struct vx_err *err)
{
	char tmp[PATH_MAX], fin[PATH_MAX];
	int ret;

	if (ps->wfd < 0)
		return 0;
	ret = wbuf_flush(ps, err);
	if (ret < 0)
		return ret;
	if (fsync(ps->wfd) < 0)
		return vx_err_errno(err, -errno, "backup: fsync pack %s", ps->wname);
	close(ps->wfd);
	ps->wfd = -1;
	snprintf(tmp, sizeof(tmp), "%s/tmp/%s.pack", ps->dir, ps->wname);
	snprintf(fin, sizeof(fin), "%s/packs/%s.pack", ps->dir, ps->wname);
	if (rename(tmp, fin) < 0) {
		ret = vx_err_errno(err, -errno, "backup: rename %s", fin);
		unlink(tmp);
		return ret;
	}
	/* The pack is in place before an index names it. */
	snprintf(fin, sizeof(fin), "%s/packs", ps->dir);
	ret = sync_dir(fin, err);
	if (!ret)
		ret = write_idx(ps, ps->wname, ps->se, ps->sn, err);
	if (!ret)
		ret = sync_dir(fin, err);
	return ret;
}

static int pack_fd(struct pack_store *ps, uint32_t id, struct vx_err *err)
{
	char path[PATH_MAX];

	if (ps->fds[id] >= 0)
		return ps->fds[id];
	snprintf(path, sizeof(path), "%s/packs/%s.pack", ps->dir, ps->names[id]);
	ps->fds[id] = open(path, O_RDONLY | O_CLOEXEC);
	if (ps->fds[id] < 0)
		return vx_err_errno(err, -errno, "backup: pack %s missing", path);
	return ps->fds[id];
}

int pack_get(struct pack_store *ps, const uint8_t hash[32], uint8_t *buf,
	     size_t len, struct vx_err *err)
{
	const struct pack_ent *x = find(ps, hash);
	unsigned int hl = 32;
	uint8_t got[32], *z;
	char hx[65];
	size_t d;
	int fd, ret = 0;

	hex(hash, hx);
	if (!x || x->pack == UINT32_MAX)
		return vx_err_set(err, -ENOENT, "backup: chunk %s missing (in no pack index)", hx);
	if (x->dlen != len || x->clen > ZSTD_compressBound(len) + 64)
		return vx_err_set(err, -EIO, "backup: chunk %s is corrupt (index sizes)", hx);
	fd = pack_fd(ps, x->pack, err);
	if (fd < 0)
		return fd;
	z = malloc(x->clen + 1);
	if (!z)
		return vx_err_set(err, -ENOMEM, "backup: out of memory");
	if (pread(fd, z, x->clen, (off_t)x->off) != (ssize_t)x->clen) {
		ret = vx_err_set(err, -EIO, "backup: chunk %s unreadable (pack %s truncated)",
				 hx, ps->names[x->pack]);
	} else {
		d = ZSTD_decompress(buf, len, z, x->clen);
		if (ZSTD_isError(d) || d != len)
			ret = vx_err_set(err, -EIO, "backup: chunk %s is corrupt (does not decompress to %zu bytes)",
					 hx, len);
		else if (!ps->sha256 && !(ps->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)))
			ret = vx_err_set(err, -ENOMEM, "backup: OpenSSL has no SHA-256");
		else if (EVP_Digest(buf, len, got, &hl, ps->sha256, NULL) != 1 ||
			 memcmp(got, hash, 32))
			ret = vx_err_set(err, -EIO, "backup: chunk %s is corrupt (hash mismatch)", hx);
	}
	free(z);
	return ret;
}

void pack_usage(const struct pack_store *ps, uint64_t *chunks, uint64_t *bytes)
{
	*chunks = 0;
	*bytes = 0;
	for (size_t i = 0; i < ps->n; i++) {
		if (i && !memcmp(ps->e[i].hash, ps->e[i - 1].hash, 32))
			continue;
		(*chunks)++;
		*bytes += ps->e[i].clen;
	}
}

static int is_live(const uint8_t (*live)[32], size_t nlive, const uint8_t h[32])
{
	return nlive && bsearch(h, live, nlive, 32, ent_cmp);
}

/* Copies the live entries of pack id into a new pack + index. */
static int repack(struct pack_store *ps, uint32_t id, const uint8_t (*live)[32],
		  size_t nlive, struct vx_err *err)
{
	struct pack_store w = { .dir = ps->dir, .wfd = -1 };
	uint8_t *z = NULL;
	int fd, ret = 0;

	fd = pack_fd(ps, id, err);
	if (fd < 0)
		return fd;
	for (size_t i = 0; !ret && i < ps->n; i++) {
		const struct pack_ent *x = &ps->e[i];
		if (x->pack != id || !is_live(live, nlive, x->hash))
			continue;
		uint8_t *nz = realloc(z, x->clen + 1);
		if (!nz) {
			ret = vx_err_set(err, -ENOMEM, "backup: out of memory");
			break;
		}
		z = nz;
		if (pread(fd, z, x->clen, (off_t)x->off) != (ssize_t)x->clen)
			ret = vx_err_set(err, -EIO, "backup: pack %s truncated", ps->names[id]);
		else
			ret = pack_put(&w, x->hash, z, x->clen, x->dlen, err);
	}
	free(z);
	if (!ret)
		ret = pack_commit(&w, err);
	pack_close(&w);
	return ret;
}

int pack_gc(struct pack_store *ps, const uint8_t (*live)[32], size_t nlive,
	    uint64_t *removed, uint64_t *bytes, struct vx_err *err)
{
	char path[PATH_MAX], name[64];
	size_t *total = calloc(ps->nnames + 1, sizeof(size_t));
	size_t *alive = calloc(ps->nnames + 1, sizeof(size_t));
	uint64_t *dead = calloc(ps->nnames + 1, sizeof(uint64_t));
	uint64_t rm = 0, rmb = 0;
	struct dirent *de;
	DIR *d;
	int ret = 0;

	if (!total || !alive || !dead) {
		free(total);
		free(alive);
		free(dead);
		return vx_err_set(err, -ENOMEM, "backup: out of memory");
	}
	for (size_t i = 0; i < ps->n; i++) {
		total[ps->e[i].pack]++;
		if (is_live(live, nlive, ps->e[i].hash))
			alive[ps->e[i].pack]++;
		else
			dead[ps->e[i].pack] += ps->e[i].clen;
	}
	for (uint32_t p = 0; !ret && p < ps->nnames; p++) {
		if (alive[p] == total[p])
			continue;
		/* Survivors reach a new pack and index before the old go. */
		if (alive[p])
			ret = repack(ps, p, live, nlive, err);
		if (ret < 0)
			break;
		rm += total[p] - alive[p];
		rmb += dead[p];
		snprintf(path, sizeof(path), "%s/packs/%s.idx", ps->dir, ps->names[p]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/packs/%s.pack", ps->dir, ps->names[p]);
		unlink(path);
	}
	free(total);
	free(alive);
	free(dead);
	if (ret < 0)
		return ret;
	/* Packs no index names: leftovers of interrupted runs. */
	snprintf(path, sizeof(path), "%s/packs", ps->dir);
	d = opendir(path);
	if (d) {
		while ((de = readdir(d))) {
			size_t l = strlen(de->d_name);
			int known = 0;
			if (de->d_name[0] == '.' || l < 6 || l - 5 >= sizeof(name) ||
			    strcmp(de->d_name + l - 5, ".pack"))
				continue;
			memcpy(name, de->d_name, l - 5);
			name[l - 5] = '\0';
			for (uint32_t p = 0; p < ps->nnames && !known; p++)
				known = !strcmp(ps->names[p], name);
			snprintf(path, sizeof(path), "%s/packs/%s.idx", ps->dir, name);
			if (!known && access(path, F_OK) != 0) {
				snprintf(path, sizeof(path), "%s/packs/%s", ps->dir, de->d_name);
				unlink(path);
			}
		}
		closedir(d);
	}
	snprintf(path, sizeof(path), "%s/packs", ps->dir);
	ret = sync_dir(path, err);
	if (removed)
		*removed = rm;
	if (bytes)
		*bytes = rmb;
	return ret;
}
