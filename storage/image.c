/*
 * image: format dispatch, backing chains and bounds checks for struct img.
 *
 * img_open probes (or is told) the format, lets the backend parse the file,
 * then follows the backing file the backend reported, resolving relative names
 * against the directory of the image that names them, as QEMU does. A chain
 * that revisits a file (same device and inode) or grows deeper than
 * IMG_MAX_CHAIN is refused as a loop. Context: caller's thread.
 */
#include "image.h"
#include "cbw.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct chain_seen {
	dev_t dev[IMG_MAX_CHAIN + 1];
	ino_t ino[IMG_MAX_CHAIN + 1];
	int n;
};

static const struct img_ops *img_ops_by_name(const char *fmt)
{
	if (!strcmp(fmt, "raw"))
		return &raw_ops;
	if (!strcmp(fmt, "qcow2"))
		return &qcow2_ops;
	return NULL;
}

int img_probe(const char *path, const char **fmt, struct vx_err *err)
{
	unsigned char magic[4];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vx_err_errno(err, -errno, "img: open %s", path);
	n = pread(fd, magic, sizeof(magic), 0);
	close(fd);
	if (n == 4 && !memcmp(magic, "QFI\xfb", 4))
		*fmt = "qcow2";
	else
		*fmt = "raw";
	return 0;
}

/* dir of base + "/" + name, unless name is absolute. */
static char *img_resolve(const char *base, const char *name)
{
	const char *slash;
	char *out;
	size_t dlen;

	if (name[0] == '/' || !(slash = strrchr(base, '/')))
		return strdup(name);
	dlen = (size_t)(slash - base) + 1;
	out = malloc(dlen + strlen(name) + 1);
	if (!out)
		return NULL;
	memcpy(out, base, dlen);
	strcpy(out + dlen, name);
	return out;
}

static struct img *img_alloc(void)
{
	struct img *img = calloc(1, sizeof(*img));
	pthread_mutexattr_t a;

	if (!img)
		return NULL;
	img->fd = -1;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&img->lock, &a);
	pthread_mutexattr_destroy(&a);
	return img;
}

void img_lock_io(struct img *img)
{
	pthread_mutex_lock(&img->lock);
}

void img_unlock_io(struct img *img)
{
	pthread_mutex_unlock(&img->lock);
}

static void img_free(struct img *img)
{
	if (!img)
		return;
	pthread_mutex_destroy(&img->lock);
	if (img->fd >= 0)
		close(img->fd);
	free(img->path);
	free(img->backing_name);
	free(img->backing_fmt);
	free(img);
}

static int img_open_chain(const char *path, const char *fmt, int flags,
			  struct chain_seen *seen, struct img **out,
			  struct vx_err *err)
{
	const struct img_ops *ops;
	struct img *img;
	struct stat st;
	char *bpath;
	int ret, i;

	*out = NULL;
	if (!fmt) {
		ret = img_probe(path, &fmt, err);
		if (ret < 0)
			return ret;
	}
	ops = img_ops_by_name(fmt);
	if (!ops)
		return vx_err_set(err, -ENOTSUP, "img: unknown format \"%s\" for %s",
				  fmt, path);
	img = img_alloc();
	if (!img)
		return vx_err_set(err, -ENOMEM, "img: out of memory");
	img->flags = flags;
	img->ops = ops;
	img->path = strdup(path);
	if (!img->path) {
		img_free(img);
		return vx_err_set(err, -ENOMEM, "img: out of memory");
	}
	img->fd = open(path, ((flags & IMG_RDWR) ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (img->fd < 0) {
		ret = vx_err_errno(err, -errno, "img: open %s", path);
		img_free(img);
		return ret;
	}
	if (fstat(img->fd, &st) < 0) {
		ret = vx_err_errno(err, -errno, "img: stat %s", path);
		img_free(img);
		return ret;
	}
	for (i = 0; i < seen->n; i++) {
		if (seen->dev[i] == st.st_dev && seen->ino[i] == st.st_ino) {
			img_free(img);
			return vx_err_set(err, -ELOOP,
					  "img: backing chain loop: %s appears twice", path);
		}
	}
	if (seen->n > IMG_MAX_CHAIN) {
		img_free(img);
		return vx_err_set(err, -ELOOP,
				  "img: backing chain deeper than %d at %s",
				  IMG_MAX_CHAIN, path);
	}
	seen->dev[seen->n] = st.st_dev;
	seen->ino[seen->n] = st.st_ino;
	seen->n++;
	if (!(flags & IMG_SHARED)) {
		ret = img_lock(img->fd, path, !!(flags & IMG_RDWR), err);
		if (ret < 0) {
			img_free(img);
			return ret;
		}
	}
	ret = fmt[0] == 'r' ? raw_open(img, err) : qcow2_open(img, err);
	if (ret < 0) {
		img_free(img);
		return ret;
	}
	if (img->backing_name && !(flags & IMG_NO_BACKING)) {
		bpath = img_resolve(path, img->backing_name);
		if (!bpath) {
			img_close(img, NULL);
			return vx_err_set(err, -ENOMEM, "img: out of memory");
		}
		/* Backing files are never written: read-only, same lock policy. */
		ret = img_open_chain(bpath, img->backing_fmt,
				     flags & IMG_SHARED, seen, &img->backing, err);
		free(bpath);
		if (ret < 0) {
			img_close(img, NULL);
			return ret;
		}
	}
	*out = img;
	return 0;
}

int img_open(const char *path, const char *fmt, int flags, struct img **out,
	     struct vx_err *err)
{
	struct chain_seen seen = { .n = 0 };

	if ((flags & IMG_SHARED) && (flags & IMG_RDWR))
		return vx_err_set(err, -EINVAL, "img: IMG_SHARED is read-only");
	return img_open_chain(path, fmt, flags, &seen, out, err);
}

int img_create(const char *path, const struct img_create_opts *opts,
	       struct vx_err *err)
{
	struct img *b = NULL;
	uint64_t size = opts->size;
	char *bpath;
	int ret;

	if (!opts->fmt || !img_ops_by_name(opts->fmt))
		return vx_err_set(err, -ENOTSUP, "img: cannot create format \"%s\"",
				  opts->fmt ? opts->fmt : "(none)");
	if (opts->backing) {
		if (strcmp(opts->fmt, "qcow2"))
			return vx_err_set(err, -EINVAL,
					  "img: only qcow2 images take a backing file");
		/* Opening the backing checks it exists, its format and loops. */
		bpath = img_resolve(path, opts->backing);
		if (!bpath)
			return vx_err_set(err, -ENOMEM, "img: out of memory");
		ret = img_open(bpath, opts->backing_fmt, IMG_SHARED, &b, err);
		free(bpath);
		if (ret < 0)
			return ret;
		if (!size)
			size = b->size;
		img_close(b, NULL);
	}
	/* Never truncate an image someone has open. */
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		ret = img_lock(fd, path, 1, err);
		close(fd);
		if (ret < 0)
			return ret;
	}
	if (!strcmp(opts->fmt, "raw"))
		return raw_create(path, size, err);
	return qcow2_create(path, opts, size, err);
}

static int img_range(struct img *img, uint64_t off, uint64_t len,
		     struct vx_err *err)
{
	if (off > img->size || len > img->size - off)
		return vx_err_set(err, -EINVAL,
				  "img: range 0x%llx+0x%llx beyond disk size 0x%llx of %s",
				  (unsigned long long)off, (unsigned long long)len,
				  (unsigned long long)img->size, img->path);
	return 0;
}

int img_read(struct img *img, void *buf, uint64_t off, size_t len,
	     struct vx_err *err)
{
	int ret = img_range(img, off, len, err);

	if (ret < 0 || !len)
		return ret;
	img_lock_io(img);
	ret = img->ops->read(img, buf, off, len, err);
	img_unlock_io(img);
	return ret;
}

int img_write(struct img *img, const void *buf, uint64_t off, size_t len,
	      struct vx_err *err)
{
	int ret;

	if (!(img->flags & IMG_RDWR))
		return vx_err_set(err, -EBADF, "img: %s is open read-only", img->path);
	ret = img_range(img, off, len, err);
	if (ret < 0 || !len)
		return ret;
	img_lock_io(img);
	/* A live backup's frozen view keeps what is about to change. */
	if (img->cbw)
		cbw_before_change(img->cbw, off, len);
	ret = img->ops->write(img, buf, off, len, err);
	img_unlock_io(img);
	return ret;
}

int img_discard(struct img *img, uint64_t off, uint64_t len, struct vx_err *err)
{
	int ret;

	if (!(img->flags & IMG_RDWR))
		return vx_err_set(err, -EBADF, "img: %s is open read-only", img->path);
	ret = img_range(img, off, len, err);
	if (ret < 0 || !len)
		return ret;
	img_lock_io(img);
	if (img->cbw)
		cbw_before_change(img->cbw, off, len);
	ret = img->ops->discard(img, off, len, err);
	img_unlock_io(img);
	return ret;
}

int img_flush(struct img *img, struct vx_err *err)
{
	int ret;

	if (!(img->flags & IMG_RDWR))
		return 0;
	img_lock_io(img);
	ret = img->ops->flush(img, err);
	img_unlock_io(img);
	return ret;
}

int img_status(struct img *img, uint64_t off, uint64_t len, uint64_t *pnum,
	       int *from_backing, struct vx_err *err)
{
	int ret = img_range(img, off, len, err);

	*from_backing = 0;
	*pnum = len;
	if (ret < 0 || !len)
		return ret;
	img_lock_io(img);
	ret = img->ops->status(img, off, len, pnum, from_backing, err);
	img_unlock_io(img);
	return ret;
}

int img_close(struct img *img, struct vx_err *err)
{
	int ret = 0;

	if (!img)
		return 0;
	/* A live backup still reading: its view fails, its bitmap bits go back. */
	if (img->cbw)
		cbw_detach(img->cbw);
	if (img->flags & IMG_RDWR)
		ret = img->ops->flush(img, err);
	img->ops->close(img);
	img_close(img->backing, NULL);
	img_free(img);
	return ret;
}

const char *img_format(const struct img *img)
{
	return img->ops->name;
}

int img_wrap(const struct img_ops *ops, void *priv, const char *name,
	     uint64_t size, struct img **out, struct vx_err *err)
{
	struct img *img = img_alloc();

	*out = NULL;
	if (!img || !(img->path = strdup(name))) {
		img_free(img);
		return vx_err_set(err, -ENOMEM, "img: out of memory");
	}
	img->ops = ops;
	img->priv = priv;
	img->size = size;
	*out = img;
	return 0;
}

int img_read_backing(struct img *img, void *buf, uint64_t off, size_t len,
		     struct vx_err *err)
{
	struct img *b = img->backing;
	size_t n = 0;

	/* Past the end of a shorter backing file the disk reads as zeros. */
	if (b && off < b->size) {
		n = len;
		if (n > b->size - off)
			n = (size_t)(b->size - off);
		int ret = b->ops->read(b, buf, off, n, err);
		if (ret < 0)
			return ret;
	}
	memset((char *)buf + n, 0, len - n);
	return 0;
}
