/*
 * raw: the raw format, guest byte N at file byte N.
 *
 * Discard punches a hole (falling back to writing zeros) so the range reads as
 * zeros afterwards, as the img_ops contract says. Context: caller's thread.
 */
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int raw_open(struct img *img, struct vx_err *err)
{
	struct stat st;

	if (fstat(img->fd, &st) < 0)
		return vx_err_errno(err, -errno, "raw: stat %s", img->path);
	img->size = (uint64_t)st.st_size;
	return 0;
}

int raw_create(const char *path, uint64_t size, struct vx_err *err)
{
	int fd, ret = 0;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return vx_err_errno(err, -errno, "raw: create %s", path);
	if (ftruncate(fd, (off_t)size) < 0)
		ret = vx_err_errno(err, -errno, "raw: size %s", path);
	if (!ret && fsync(fd) < 0)
		ret = vx_err_errno(err, -errno, "raw: fsync %s", path);
	close(fd);
	return ret;
}

static int raw_read(struct img *img, void *buf, uint64_t off, size_t len,
		    struct vx_err *err)
{
	char *p = buf;
	ssize_t n;

	while (len) {
		n = pread(img->fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return vx_err_errno(err, -errno, "raw: read %s at 0x%llx",
					    img->path, (unsigned long long)off);
		}
		if (n == 0) {
			/* File shrank under us: the tail reads as zeros. */
			memset(p, 0, len);
			return 0;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int raw_write(struct img *img, const void *buf, uint64_t off, size_t len,
		     struct vx_err *err)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = pwrite(img->fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return vx_err_errno(err, -errno, "raw: write %s at 0x%llx",
					    img->path, (unsigned long long)off);
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int raw_discard(struct img *img, uint64_t off, uint64_t len,
		       struct vx_err *err)
{
	static const char zero[65536];
	size_t n;
	int ret;

	if (fallocate(img->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len) == 0)
		return 0;
	while (len) {
		n = len > sizeof(zero) ? sizeof(zero) : (size_t)len;
		ret = raw_write(img, zero, off, n, err);
		if (ret < 0)
			return ret;
		off += n;
		len -= n;
	}
	return 0;
}

static int raw_flush(struct img *img, struct vx_err *err)
{
	if (fdatasync(img->fd) < 0)
		return vx_err_errno(err, -errno, "raw: fsync %s", img->path);
	return 0;
}

static int raw_status(struct img *img, uint64_t off, uint64_t len,
		      uint64_t *pnum, int *from_backing, struct vx_err *err)
{
	off_t data, hole;

	(void)err;
	*from_backing = 0;
	*pnum = len;
	data = lseek(img->fd, (off_t)off, SEEK_DATA);
	if (data < 0)
		return errno == ENXIO ? 0 : 1;  /* ENXIO: only a hole follows */
	if ((uint64_t)data > off) {
		*pnum = (uint64_t)data - off < len ? (uint64_t)data - off : len;
		return 0;
	}
	hole = lseek(img->fd, (off_t)off, SEEK_HOLE);
	if (hole > (off_t)off && (uint64_t)hole - off < len)
		*pnum = (uint64_t)hole - off;
	return 1;
}

static void raw_close(struct img *img)
{
	(void)img;
}

const struct img_ops raw_ops = {
	.name = "raw",
	.read = raw_read,
	.write = raw_write,
	.discard = raw_discard,
	.flush = raw_flush,
	.status = raw_status,
	.close = raw_close,
};
