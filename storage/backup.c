/*
 * backup: the backup engine (see backup.h for the repository layout).
 *
 * Write order for crash safety: a run's new chunks go to one pack file
 * (backup_pack.c), which with its index is durable before the manifest that
 * names them is written (tmp/, fsync, rename, fsync of backups/). Prune
 * unlinks manifests first and only then collects chunks no remaining
 * manifest names. Backups hold the repository lock shared, prune and gc
 * exclusive, so gc never deletes a chunk a running backup has just
 * deduplicated against. backup_create reads the disk and writes the pack on
 * the caller's thread while backup_pipe.c hashes and compresses on workers.
 * Context: caller's thread.
 */
#include "backup.h"
#include "backup_pack.h"
#include "backup_pipe.h"
#include "bitmap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct manifest {
	char id[BACKUP_ID_MAX];
	char disk[64];
	char parent[BACKUP_ID_MAX];
	char bitmap[256];
	int64_t time;
	uint64_t disk_size;
	uint32_t chunk_size;
	int incremental;
	uint64_t nchunks;
	uint8_t (*hash)[32];     /* per chunk */
	uint8_t *present;        /* 0: zero chunk */
};

struct repo {
	const char *dir;
	uint32_t chunk_size;
	int lockfd;
	struct pack_store ps;
	int ps_open;
};

static void manifest_free(struct manifest *m)
{
	free(m->hash);
	free(m->present);
	m->hash = NULL;
	m->present = NULL;
}

static int valid_name(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (!n || n >= max || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' ||
		      s[i] == '-'))
			return 0;
	return 1;
}

/* A manifest's file name in backups/ ("ID.json"): the backup ID, or 0. */
static int manifest_file_id(const char *name, char id[BACKUP_ID_MAX])
{
	size_t len = strlen(name);

	if (len < 6 || len - 5 >= BACKUP_ID_MAX || strcmp(name + len - 5, ".json"))
		return 0;
	memcpy(id, name, len - 5);
	id[len - 5] = '\0';
	return valid_name(id, BACKUP_ID_MAX);
}

static void hexify(const uint8_t h[32], char out[65])
{
	static const char x[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = x[h[i] >> 4];
		out[2 * i + 1] = x[h[i] & 15];
	}
	out[64] = '\0';
}

static int unhex(const char *s, uint8_t h[32])
{
	if (strlen(s) != 64)
		return -1;
	for (int i = 0; i < 64; i++) {
		int c = s[i], v = c >= '0' && c <= '9' ? c - '0' :
				  c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return -1;
		if (i % 2 == 0)
			h[i / 2] = (uint8_t)(v << 4);
		else
			h[i / 2] |= (uint8_t)v;
	}
	return 0;
}

static int fsync_path(const char *path, struct vx_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return vx_err_errno(err, -errno, "backup: open %s", path);
	if (fsync(fd) < 0)
		ret = vx_err_errno(err, -errno, "backup: fsync %s", path);
	close(fd);
	return ret;
}

/* Writes data to a fresh file in repo/tmp, then renames it to final. */
static int write_atomic(const struct repo *r, const char *final, const void *data,
			size_t len, int sync, struct vx_err *err)
{
	char tmp[PATH_MAX];
	const char *p = data;
	ssize_t n;
	int fd, ret = 0;

	snprintf(tmp, sizeof(tmp), "%s/tmp/w.XXXXXX", r->dir);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return vx_err_errno(err, -errno, "backup: create temp file in %s/tmp", r->dir);
	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = vx_err_errno(err, -errno, "backup: write %s", tmp);
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (!ret && sync && fsync(fd) < 0)
		ret = vx_err_errno(err, -errno, "backup: fsync %s", tmp);
	close(fd);
	if (!ret && rename(tmp, final) < 0)
		ret = vx_err_errno(err, -errno, "backup: rename to %s", final);
	if (ret)
		unlink(tmp);
	return ret;
}

static int repo_open(struct repo *r, const char *dir, int exclusive, struct vx_err *err)
{
	char path[PATH_MAX];
	json_object *cfg, *v;

	memset(r, 0, sizeof(*r));
	r->dir = dir;
	r->lockfd = -1;
	snprintf(path, sizeof(path), "%s/config.json", dir);
	cfg = json_object_from_file(path);
	if (!cfg)
		return vx_err_set(err, -ENOENT, "backup: %s is not a backup repository (no readable config.json)", dir);
	if (!json_object_object_get_ex(cfg, "chunk_size", &v) ||
	    json_object_get_int64(v) < 4096 || json_object_get_int64(v) > (16 << 20) ||
	    (json_object_get_int64(v) & (json_object_get_int64(v) - 1))) {
		json_object_put(cfg);
		return vx_err_set(err, -EINVAL, "backup: %s: config.json has no valid chunk_size", path);
	}
	r->chunk_size = (uint32_t)json_object_get_int64(v);
	json_object_put(cfg);
	snprintf(path, sizeof(path), "%s/lock", dir);
	r->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (r->lockfd < 0)
		return vx_err_errno(err, -errno, "backup: open %s", path);
	if (flock(r->lockfd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0) {
		int e = errno;
		close(r->lockfd);
		r->lockfd = -1;
		return vx_err_set(err, -EBUSY, "backup: repository %s is busy (%s): %s", dir,
				  exclusive ? "a backup is running" : "prune or gc is running",
				  strerror(e));
	}
	return 0;
}

/* Loads the pack indexes (verify, restore, backup and gc need them). */
static int repo_packs(struct repo *r, struct vx_err *err)
{
	int ret;

	if (r->ps_open)
		return 0;
	ret = pack_open(&r->ps, r->dir, err);
	if (!ret)
		r->ps_open = 1;
	return ret;
}

static void repo_close(struct repo *r)
{
	if (r->ps_open)
		pack_close(&r->ps);
	r->ps_open = 0;
	if (r->lockfd >= 0)
		close(r->lockfd);
	r->lockfd = -1;
}

int backup_repo_init(const char *dir, uint32_t chunk_size, struct vx_err *err)
{
	struct repo r = { .dir = dir };
	char path[PATH_MAX], cfg[128];
	int n;

	if (!chunk_size)
		chunk_size = 65536;
	if (chunk_size < 4096 || chunk_size > (16u << 20) || (chunk_size & (chunk_size - 1)))
		return vx_err_set(err, -EINVAL, "backup: chunk size %u is not a power of two in 4 KiB..16 MiB",
				  chunk_size);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return vx_err_errno(err, -errno, "backup: mkdir %s", dir);
	snprintf(path, sizeof(path), "%s/config.json", dir);
	if (access(path, F_OK) == 0)
		return vx_err_set(err, -EEXIST, "backup: %s is already a repository", dir);
	static const char *const sub[] = { "packs", "backups", "tmp" };
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, sub[i]);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return vx_err_errno(err, -errno, "backup: mkdir %s", path);
	}
	n = snprintf(cfg, sizeof(cfg), "{\"version\":1,\"chunk_size\":%u}\n", chunk_size);
	snprintf(path, sizeof(path), "%s/config.json", dir);
	/* config.json last: its presence means the layout is complete. */
	if (write_atomic(&r, path, cfg, (size_t)n, 1, err))
		return err ? err->code : -EIO;
	return fsync_path(dir, err);
}

static int chunk_load(struct repo *r, const uint8_t h[32], uint8_t *buf,
		      size_t len, struct vx_err *err)
{
	return pack_get(&r->ps, h, buf, len, err);
}

/* Where the pipeline's finished chunks go: manifest, pack, stats. */
struct run {
	struct repo *r;
	struct manifest *m;
	struct backup_stats *st;
};

static int chunk_out(void *ctx, const struct bpipe_chunk *c, struct vx_err *err)
{
	struct run *u = ctx;

	if (c->kind == BPIPE_FAIL)
		return vx_err_set(err, -EIO, "backup: hashing or compressing chunk %llu failed",
				  (unsigned long long)c->idx);
	if (c->kind == BPIPE_ZERO) {
		u->st->zero_chunks++;
		return 0;
	}
	memcpy(u->m->hash[c->idx], c->hash, 32);
	u->m->present[c->idx] = 1;
	/* Also catches a chunk this run has stored already. */
	if (c->kind == BPIPE_DUP || pack_has(&u->r->ps, c->hash)) {
		u->st->dedup_chunks++;
		return 0;
	}
	u->st->new_chunks++;
	u->st->bytes_stored += c->zlen;
	return pack_put(&u->r->ps, c->hash, c->z, (uint32_t)c->zlen, (uint32_t)c->len, err);
}

static int manifest_load(const struct repo *r, const char *id, struct manifest *m,
			 struct vx_err *err)
{
	char path[PATH_MAX];
	json_object *j, *v, *arr;
	uint64_t i, expect;
	int ret = 0;

	memset(m, 0, sizeof(*m));
	if (!valid_name(id, BACKUP_ID_MAX))
		return vx_err_set(err, -EINVAL, "backup: invalid backup id \"%s\"", id);
	snprintf(path, sizeof(path), "%s/backups/%s.json", r->dir, id);
	j = json_object_from_file(path);
	if (!j)
		return vx_err_set(err, access(path, F_OK) ? -ENOENT : -EIO,
				  "backup: no readable manifest for backup %s", id);
#define GETSTR(key, dst) do { \
		if (json_object_object_get_ex(j, key, &v) && json_object_is_type(v, json_type_string)) \
			snprintf(dst, sizeof(dst), "%s", json_object_get_string(v)); \
	} while (0)
	snprintf(m->id, sizeof(m->id), "%s", id);
	GETSTR("disk", m->disk);
	GETSTR("parent", m->parent);
	GETSTR("bitmap", m->bitmap);
#undef GETSTR
	if (json_object_object_get_ex(j, "time", &v))
		m->time = json_object_get_int64(v);
	if (json_object_object_get_ex(j, "incremental", &v))
		m->incremental = json_object_get_boolean(v);
	if (!json_object_object_get_ex(j, "disk_size", &v) ||
	    (m->disk_size = (uint64_t)json_object_get_int64(v)) > (1ull << 60) ||
	    !json_object_object_get_ex(j, "chunk_size", &v) ||
	    (m->chunk_size = (uint32_t)json_object_get_int64(v)) != r->chunk_size ||
	    !json_object_object_get_ex(j, "chunks", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		ret = vx_err_set(err, -EIO, "backup: manifest %s is damaged (sizes or chunk list)", path);
		goto out;
	}
	expect = (m->disk_size + r->chunk_size - 1) / r->chunk_size;
	if ((uint64_t)json_object_array_length(arr) != expect) {
		ret = vx_err_set(err, -EIO, "backup: manifest %s lists %zu chunks, disk needs %llu",
				 path, json_object_array_length(arr), (unsigned long long)expect);
		goto out;
	}
	m->nchunks = expect;
	m->hash = calloc(expect + 1, 32);
	m->present = calloc(expect + 1, 1);
	if (!m->hash || !m->present) {
		ret = vx_err_set(err, -ENOMEM, "backup: out of memory");
		goto out;
	}
	for (i = 0; i < expect; i++) {
		v = json_object_array_get_idx(arr, i);
		if (!v)
			continue;   /* null: a zero chunk */
		if (!json_object_is_type(v, json_type_string) ||
		    unhex(json_object_get_string(v), m->hash[i])) {
			ret = vx_err_set(err, -EIO, "backup: manifest %s chunk %llu is not a SHA-256",
					 path, (unsigned long long)i);
			goto out;
		}
		m->present[i] = 1;
	}
out:
	json_object_put(j);
	if (ret)
		manifest_free(m);
	return ret;
}

static int manifest_save(const struct repo *r, const struct manifest *m, struct vx_err *err)
{
	char path[PATH_MAX], hex[65];
	json_object *j = json_object_new_object(), *arr = json_object_new_array();
	const char *txt;
	int ret;

	json_object_object_add(j, "version", json_object_new_int(1));
	json_object_object_add(j, "id", json_object_new_string(m->id));
	json_object_object_add(j, "disk", json_object_new_string(m->disk));
	json_object_object_add(j, "disk_size", json_object_new_int64((int64_t)m->disk_size));
	json_object_object_add(j, "chunk_size", json_object_new_int64(m->chunk_size));
	json_object_object_add(j, "time", json_object_new_int64(m->time));
	json_object_object_add(j, "incremental", json_object_new_boolean(m->incremental));
	json_object_object_add(j, "parent", m->parent[0] ? json_object_new_string(m->parent) : NULL);
	json_object_object_add(j, "bitmap", m->bitmap[0] ? json_object_new_string(m->bitmap) : NULL);
	for (uint64_t i = 0; i < m->nchunks; i++) {
		if (m->present[i]) {
			hexify(m->hash[i], hex);
			json_object_array_add(arr, json_object_new_string(hex));
		} else {
			json_object_array_add(arr, NULL);
		}
	}
	json_object_object_add(j, "chunks", arr);
	txt = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
	snprintf(path, sizeof(path), "%s/backups/%s.json", r->dir, m->id);
	ret = write_atomic(r, path, txt, strlen(txt), 1, err);
	json_object_put(j);
	if (!ret) {
		snprintf(path, sizeof(path), "%s/backups", r->dir);
		ret = fsync_path(path, err);
	}
	return ret;
}

static int info_cmp(const void *a, const void *b)
{
	const struct backup_info *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int list_locked(const struct repo *r, struct backup_info **list, int *n,
		       struct vx_err *err)
{
	char path[PATH_MAX], id[BACKUP_ID_MAX];
	struct backup_info *l = NULL, *nl;
	struct manifest m;
	struct dirent *de;
	DIR *d;
	int cnt = 0, ret = 0;

	*list = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "%s/backups", r->dir);
	d = opendir(path);
	if (!d)
		return vx_err_errno(err, -errno, "backup: open %s", path);
	while ((de = readdir(d))) {
		if (!manifest_file_id(de->d_name, id))
			continue;
		ret = manifest_load(r, id, &m, err);
		if (ret < 0)
			break;
		nl = realloc(l, (size_t)(cnt + 1) * sizeof(*l));
		if (!nl) {
			manifest_free(&m);
			ret = vx_err_set(err, -ENOMEM, "backup: out of memory");
			break;
		}
		l = nl;
		memset(&l[cnt], 0, sizeof(l[cnt]));
		snprintf(l[cnt].id, sizeof(l[cnt].id), "%s", m.id);
		snprintf(l[cnt].disk, sizeof(l[cnt].disk), "%s", m.disk);
		snprintf(l[cnt].parent, sizeof(l[cnt].parent), "%s", m.parent);
		snprintf(l[cnt].bitmap, sizeof(l[cnt].bitmap), "%s", m.bitmap);
		l[cnt].time = m.time;
		l[cnt].disk_size = m.disk_size;
		l[cnt].incremental = m.incremental;
		cnt++;
		manifest_free(&m);
	}
	closedir(d);
	if (ret < 0) {
		free(l);
		return ret;
	}
	if (cnt)
		qsort(l, (size_t)cnt, sizeof(*l), info_cmp);
	*list = l;
	*n = cnt;
	return 0;
}

int backup_list(const char *repo, struct backup_info **list, int *n, struct vx_err *err)
{
	struct repo r;
	int ret = repo_open(&r, repo, 0, err);

	if (ret < 0)
		return ret;
	ret = list_locked(&r, list, n, err);
	repo_close(&r);
	return ret;
}

/* "<disk>-<sec>.<nsec>" as backup_create names its backups: 1 and the time. */
static int id_of_disk(const char *id, const char *disk, long long *sec, long *nsec)
{
	size_t dl = strlen(disk);
	const char *p = id + dl + 1;
	char *end;

	if (strncmp(id, disk, dl) || id[dl] != '-' || *p < '0' || *p > '9')
		return 0;
	*sec = strtoll(p, &end, 10);
	if (*end != '.' || strlen(end + 1) != 9 || end[1] < '0' || end[1] > '9')
		return 0;
	*nsec = strtol(end + 1, &end, 10);
	return *end == '\0';
}

/*
 * The newest backup of disk by its file name alone, without parsing every
 * manifest in the repository: an incremental's fixed cost must not grow
 * with the repository's history (each manifest of a 1 GiB disk is ~1 MB of
 * JSON). The name's time is the manifest's; backup_create checks that the
 * manifest it then loads is of this disk. 0 and pid "" when none matches.
 */
static int latest_of_disk(const struct repo *r, const char *disk, char pid[BACKUP_ID_MAX],
			  struct vx_err *err)
{
	char path[PATH_MAX], id[BACKUP_ID_MAX];
	long long sec, best_sec = -1;
	long nsec, best_nsec = -1;
	struct dirent *de;
	DIR *d;

	pid[0] = '\0';
	snprintf(path, sizeof(path), "%s/backups", r->dir);
	d = opendir(path);
	if (!d)
		return vx_err_errno(err, -errno, "backup: open %s", path);
	while ((de = readdir(d))) {
		if (!manifest_file_id(de->d_name, id) || !id_of_disk(id, disk, &sec, &nsec))
			continue;
		if (sec > best_sec || (sec == best_sec && nsec > best_nsec)) {
			best_sec = sec;
			best_nsec = nsec;
			snprintf(pid, BACKUP_ID_MAX, "%s", id);
		}
	}
	closedir(d);
	return 0;
}

static int chunk_dirty(const uint8_t *bits, uint64_t nbits, unsigned gbits,
		       uint64_t off, uint64_t len)
{
	uint64_t a = off >> gbits, z = (off + len - 1) >> gbits;

	for (uint64_t i = a; i <= z && i < nbits; i++)
		if (bits[i / 8] & (1u << (i % 8)))
			return 1;
	return 0;
}

int backup_create(const char *repo, struct img *img, const struct backup_opts *o,
		  char id[BACKUP_ID_MAX], struct backup_stats *stp, struct vx_err *err)
{
	struct backup_stats st = { 0 };
	struct manifest m = { 0 }, par = { 0 };
	struct run run = { .m = &m, .st = &st };
	struct bpipe pipe;
	struct repo r;
	struct timespec ts;
	uint8_t *bits = NULL;
	uint64_t nbits = 0, i, off, len, pnum, known_end = 0;
	unsigned gbits = 0;
	int ret, fb, have_par = 0, have_pipe = 0, known_zero = 0;

	if (!o->disk || !valid_name(o->disk, sizeof(m.disk)))
		return vx_err_set(err, -EINVAL, "backup: disk name must be [A-Za-z0-9._-]+");
	if (o->incremental && !o->bitmap)
		return vx_err_set(err, -EINVAL, "backup: an incremental backup needs a dirty bitmap");
	if (o->clear_bitmap && (!o->bitmap || o->bitmap_frozen || !(img->flags & IMG_RDWR)))
		return vx_err_set(err, -EINVAL,
				  "backup: clearing the bitmap needs one and the image open read-write");
	ret = repo_open(&r, repo, 0, err);
	if (ret < 0)
		return ret;
	ret = repo_packs(&r, err);
	if (ret < 0)
		goto out;
	if (o->incremental) {
		char pid[BACKUP_ID_MAX] = "";
		if (o->parent) {
			snprintf(pid, sizeof(pid), "%s", o->parent);
		} else if ((ret = latest_of_disk(&r, o->disk, pid, err)) < 0) {
			goto out;
		} else if (!pid[0]) {
			/* Only names backup_create did not make: read them all. */
			struct backup_info *l;
			int n;
			ret = list_locked(&r, &l, &n, err);
			if (ret < 0)
				goto out;
			for (int k = 0; k < n; k++)
				if (!strcmp(l[k].disk, o->disk))
					snprintf(pid, sizeof(pid), "%s", l[k].id);
			free(l);
			if (!pid[0]) {
				ret = vx_err_set(err, -ENOENT, "backup: no earlier backup of disk %s to increment from",
						 o->disk);
				goto out;
			}
		}
		ret = manifest_load(&r, pid, &par, err);
		if (ret < 0)
			goto out;
		have_par = 1;
		if (strcmp(par.disk, o->disk) || par.disk_size != img->size ||
		    strcmp(par.bitmap, o->bitmap)) {
			ret = vx_err_set(err, -EINVAL,
					 "backup: parent %s (disk %s, size %llu, bitmap \"%s\") does not match this disk and bitmap \"%s\"",
					 pid, par.disk, (unsigned long long)par.disk_size, par.bitmap,
					 o->bitmap);
			goto out;
		}
	}
	if (o->bitmap_frozen && o->incremental && !o->bits) {
		ret = vx_err_set(err, -EINVAL, "backup: an incremental backup needs the bitmap's bits");
		goto out;
	}
	if (o->bitmap && o->bitmap_frozen && o->bits) {
		nbits = o->nbits;
		gbits = o->granularity_bits;
		bits = malloc((nbits + 7) / 8 + 1);
		if (!bits) {
			ret = vx_err_set(err, -ENOMEM, "backup: out of memory");
			goto out;
		}
		memcpy(bits, o->bits, (nbits + 7) / 8);
	} else if (o->bitmap && !o->bitmap_frozen) {
		ret = img_bitmap_get(img, o->bitmap, &bits, &nbits, &gbits, err);
		/* A full backup reads everything: an inconsistent bitmap (writer
		 * crashed) does not matter to it, and clear_bitmap makes the
		 * bitmap good again for the next incremental. */
		if (ret == -ESTALE && !o->incremental) {
			if (err)
				memset(err, 0, sizeof(*err));
			ret = 0;
		}
		if (ret < 0)
			goto out;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(m.id, sizeof(m.id), "%s-%lld.%09ld", o->disk, (long long)ts.tv_sec, ts.tv_nsec);
	snprintf(m.disk, sizeof(m.disk), "%s", o->disk);
	if (have_par)
		snprintf(m.parent, sizeof(m.parent), "%s", par.id);
	if (o->bitmap)
		snprintf(m.bitmap, sizeof(m.bitmap), "%s", o->bitmap);
	m.time = ts.tv_sec;
	m.disk_size = img->size;
	m.chunk_size = r.chunk_size;
	m.incremental = o->incremental;
	m.nchunks = (img->size + r.chunk_size - 1) / r.chunk_size;
	m.hash = calloc(m.nchunks + 1, 32);
	m.present = calloc(m.nchunks + 1, 1);
	if (!m.hash || !m.present) {
		ret = vx_err_set(err, -ENOMEM, "backup: out of memory");
		goto out;
	}
	run.r = &r;
	have_pipe = 1;
	ret = bpipe_init(&pipe, &r.ps, r.chunk_size, chunk_out, &run, err);
	if (ret < 0)
		goto out;
	st.chunks = m.nchunks;
	for (i = 0; i < m.nchunks; i++) {
		if (o->progress && (i & 63) == 0 &&
		    o->progress(o->progress_ctx, i, m.nchunks)) {
			ret = vx_err_set(err, -ECANCELED, "backup: cancelled");
			goto out;
		}
		off = i * r.chunk_size;
		len = img->size - off < r.chunk_size ? img->size - off : r.chunk_size;
		if (have_par && !chunk_dirty(bits, nbits, gbits, off, len)) {
			m.present[i] = par.present[i];
			memcpy(m.hash[i], par.hash[i], 32);
			continue;
		}
		/* Unallocated, no backing: zero without reading. One status
		 * call answers for a whole run of chunks. */
		if (off >= known_end) {
			ret = img_status(img, off, img->size - off, &pnum, &fb, err);
			if (ret < 0)
				goto out;
			known_zero = ret == 0 && !fb;
			known_end = off + pnum;
		}
		if (known_zero && off + len <= known_end) {
			st.zero_chunks++;
			continue;
		}
		ret = img_read(img, bpipe_buf(&pipe), off, (size_t)len, err);
		if (ret < 0)
			goto out;
		st.read_chunks++;
		st.bytes_read += len;
		ret = bpipe_add(&pipe, i, (size_t)len, err);
		if (ret < 0)
			goto out;
	}
	ret = bpipe_finish(&pipe, err);
	if (ret < 0)
		goto out;
	/* Chunks durable before the manifest that names them. */
	ret = pack_commit(&r.ps, err);
	if (ret < 0)
		goto out;
	ret = manifest_save(&r, &m, err);
	if (ret < 0)
		goto out;
	if (o->bitmap && o->clear_bitmap)
		ret = img_bitmap_clear(img, o->bitmap, err);
	if (id)
		snprintf(id, BACKUP_ID_MAX, "%s", m.id);
	if (stp)
		*stp = st;
out:
	if (have_pipe)
		bpipe_destroy(&pipe);
	manifest_free(&m);
	manifest_free(&par);
	free(bits);
	repo_close(&r);
	return ret;
}

/* backup_read_opts' callback; nonzero (a cancel) sets err. */
static int read_progress(const struct backup_read_opts *o, uint64_t i,
			 uint64_t total, struct vx_err *err)
{
	if (!o || !o->progress || (i & 63) != 0)
		return 0;
	if (o->progress(o->progress_ctx, i, total))
		return vx_err_set(err, -ECANCELED, "backup: cancelled");
	return 0;
}

int backup_verify(const char *repo, const char *id, struct vx_err *err)
{
	return backup_verify_ex(repo, id, NULL, err);
}

int backup_verify_ex(const char *repo, const char *id,
		     const struct backup_read_opts *o, struct vx_err *err)
{
	struct manifest m;
	struct repo r;
	uint8_t *buf = NULL;
	uint64_t len;
	int ret = repo_open(&r, repo, 0, err);

	if (ret < 0)
		return ret;
	ret = repo_packs(&r, err);
	if (ret < 0)
		goto out;
	ret = manifest_load(&r, id, &m, err);
	if (ret < 0)
		goto out;
	buf = malloc(r.chunk_size);
	if (!buf) {
		ret = vx_err_set(err, -ENOMEM, "backup: out of memory");
		goto out;
	}
	for (uint64_t i = 0; !ret && i < m.nchunks; i++) {
		if ((ret = read_progress(o, i, m.nchunks, err)) < 0 || !m.present[i])
			continue;
		len = m.disk_size - i * r.chunk_size;
		if (len > r.chunk_size)
			len = r.chunk_size;
		ret = chunk_load(&r, m.hash[i], buf, (size_t)len, err);
	}
	manifest_free(&m);
out:
	free(buf);
	repo_close(&r);
	return ret;
}

int backup_restore(const char *repo, const char *id, const char *path,
		   const char *fmt, struct vx_err *err)
{
	return backup_restore_ex(repo, id, path, fmt, NULL, err);
}

int backup_restore_ex(const char *repo, const char *id, const char *path,
		      const char *fmt, const struct backup_read_opts *o,
		      struct vx_err *err)
{
	struct img_create_opts co = { .fmt = fmt };
	char tmp[PATH_MAX], dir[PATH_MAX], *slash;
	struct img *img = NULL;
	struct manifest m;
	struct repo r;
	uint8_t *buf = NULL;
	uint64_t len;
	int fd, ret = repo_open(&r, repo, 0, err);

	if (ret < 0)
		return ret;
	ret = repo_packs(&r, err);
	if (!ret)
		ret = manifest_load(&r, id, &m, err);
	if (ret < 0) {
		repo_close(&r);
		return ret;
	}
	snprintf(tmp, sizeof(tmp), "%s.restore-XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = vx_err_errno(err, -errno, "backup: create temp file for %s", path);
		goto out;
	}
	close(fd);
	co.size = m.disk_size;
	ret = img_create(tmp, &co, err);
	if (!ret)
		ret = img_open(tmp, fmt, IMG_RDWR, &img, err);
	buf = malloc(r.chunk_size);
	if (!ret && !buf)
		ret = vx_err_set(err, -ENOMEM, "backup: out of memory");
	for (uint64_t i = 0; !ret && i < m.nchunks; i++) {
		if ((ret = read_progress(o, i, m.nchunks, err)) < 0 || !m.present[i])
			continue;   /* new images read as zeros */
		len = m.disk_size - i * r.chunk_size;
		if (len > r.chunk_size)
			len = r.chunk_size;
		ret = chunk_load(&r, m.hash[i], buf, (size_t)len, err);
		if (!ret)
			ret = img_write(img, buf, i * r.chunk_size, (size_t)len, err);
	}
	if (img) {
		int cret = img_close(img, ret ? NULL : err);   /* flushes: fsync */
		if (!ret)
			ret = cret;
	}
	if (!ret && rename(tmp, path) < 0)
		ret = vx_err_errno(err, -errno, "backup: rename %s to %s", tmp, path);
	if (!ret) {
		snprintf(dir, sizeof(dir), "%s", path);
		slash = strrchr(dir, '/');
		if (slash)
			*(slash == dir ? slash + 1 : slash) = '\0';
		else
			snprintf(dir, sizeof(dir), ".");
		ret = fsync_path(dir, err);
	}
	if (ret)
		unlink(tmp);
out:
	free(buf);
	manifest_free(&m);
	repo_close(&r);
	return ret;
}

static int hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static int gc_locked(struct repo *r, struct backup_freed *fr, struct vx_err *err)
{
	struct backup_info *l = NULL;
	uint8_t (*set)[32] = NULL;
	uint64_t nset = 0, cap = 0;
	char path[PATH_MAX];
	struct dirent *de;
	struct manifest m;
	DIR *d;
	int n, ret;

	/* Every manifest must load: a damaged one stops gc deleting anything. */
	ret = list_locked(r, &l, &n, err);
	for (int k = 0; !ret && k < n; k++) {
		ret = manifest_load(r, l[k].id, &m, err);
		if (ret < 0)
			break;
		if (nset + m.nchunks > cap) {
			cap = (nset + m.nchunks) * 2 + 16;
			void *ns = realloc(set, cap * 32);
			if (!ns) {
				manifest_free(&m);
				ret = vx_err_set(err, -ENOMEM, "backup: out of memory");
				break;
			}
			set = ns;
		}
		for (uint64_t i = 0; i < m.nchunks; i++)
			if (m.present[i])
				memcpy(set[nset++], m.hash[i], 32);
		manifest_free(&m);
	}
	free(l);
	if (ret < 0)
		goto out;
	if (nset)
		qsort(set, nset, 32, hash_cmp);
	ret = repo_packs(r, err);
	if (!ret)
		ret = pack_gc(&r->ps, (const uint8_t (*)[32])set, nset, &fr->chunks,
			      &fr->bytes, err);
	if (ret < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/tmp", r->dir);
	d = opendir(path);
	if (d) {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/tmp/%s", r->dir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
out:
	free(set);
	return ret;
}

int backup_repo_usage(const char *repo, uint64_t *chunks, uint64_t *bytes,
		      struct vx_err *err)
{
	struct repo r;
	int ret = repo_open(&r, repo, 0, err);

	if (ret < 0)
		return ret;
	ret = repo_packs(&r, err);
	if (!ret)
		pack_usage(&r.ps, chunks, bytes);
	repo_close(&r);
	return ret;
}

int backup_gc_ex(const char *repo, struct backup_freed *fr, struct vx_err *err)
{
	struct backup_freed f = { 0 };
	struct repo r;
	int ret = repo_open(&r, repo, 1, err);

	if (ret < 0)
		return ret;
	ret = gc_locked(&r, &f, err);
	repo_close(&r);
	if (fr)
		*fr = f;
	return ret;
}

int backup_gc(const char *repo, uint64_t *removed, struct vx_err *err)
{
	struct backup_freed f = { 0 };
	int ret = backup_gc_ex(repo, &f, err);

	if (removed)
		*removed = f.chunks;
	return ret;
}

/* Whether l[k] is among the newest keep backups of its disk (l: oldest first). */
static int prune_keeps(const struct backup_info *l, int n, int k, int keep)
{
	int newer = 0;

	for (int i = k + 1; i < n && newer < keep; i++)
		newer += !strcmp(l[i].disk, l[k].disk);
	return newer < keep;
}

int backup_prune_ex(const char *repo, const char *disk, int keep,
		    struct backup_freed *fr, struct vx_err *err)
{
	struct backup_freed f = { 0 };
	struct backup_info *l = NULL;
	char path[PATH_MAX];
	struct repo r;
	int n, ret;

	if (keep < 0)
		return vx_err_set(err, -EINVAL, "backup: keep must be >= 0");
	ret = repo_open(&r, repo, 1, err);
	if (ret < 0)
		return ret;
	ret = list_locked(&r, &l, &n, err);
	for (int k = 0; !ret && k < n; k++) {
		if ((disk && strcmp(l[k].disk, disk)) || prune_keeps(l, n, k, keep))
			continue;
		snprintf(path, sizeof(path), "%s/backups/%s.json", repo, l[k].id);
		if (unlink(path) < 0)
			ret = vx_err_errno(err, -errno, "backup: delete %s", path);
		else
			f.backups++;
	}
	free(l);
	/* Manifests gone for good before any chunk they named is collected. */
	if (!ret) {
		snprintf(path, sizeof(path), "%s/backups", repo);
		ret = fsync_path(path, err);
	}
	if (!ret)
		ret = gc_locked(&r, &f, err);
	repo_close(&r);
	if (fr)
		*fr = f;
	return ret;
}

int backup_prune(const char *repo, const char *disk, int keep, struct vx_err *err)
{
	if (!disk)
		return vx_err_set(err, -EINVAL, "backup: prune needs a disk name");
	return backup_prune_ex(repo, disk, keep, NULL, err);
}
