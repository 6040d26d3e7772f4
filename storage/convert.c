/*
 * convert: copies one image's guest bytes into a new image (img_convert_range).
 *
 * The destination is new, so it already reads as zeros: like qemu-img
 * convert, nothing is written for holes of the source (img_status) or for
 * data that is all zeros, which keeps the output sparse and skips the work.
 * Data is moved in extents as large as the caller's buffer, so a qcow2
 * destination allocates and writes whole runs of clusters at once.
 * Context: caller's thread (the daemon's disk-convert job calls it per slice).
 */
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

/* Zero detection granule: a qcow2 cluster at the default size. */
#define CONV_ZERO_GRAIN 65536u

static int all_zero(const uint8_t *p, size_t len)
{
	return len && p[0] == 0 && !memcmp(p, p + 1, len - 1);
}

/* Writes buf's non-zero stretches (grains aligned on the guest offset). */
static int write_nonzero(struct img *dst, const uint8_t *buf, uint64_t off,
			 size_t len, struct vx_err *err)
{
	size_t pos = 0, start = 0, n;
	int ret;

	while (pos < len) {
		n = CONV_ZERO_GRAIN - (size_t)((off + pos) % CONV_ZERO_GRAIN);
		if (n > len - pos)
			n = len - pos;
		if (all_zero(buf + pos, n)) {
			if (pos > start) {
				ret = img_write(dst, buf + start, off + start, pos - start, err);
				if (ret < 0)
					return ret;
			}
			start = pos + n;
		}
		pos += n;
	}
	return pos > start ? img_write(dst, buf + start, off + start, pos - start, err) : 0;
}

int img_convert_range(struct img *src, struct img *dst, uint64_t off, uint64_t len,
		      void *buf, size_t buflen, struct vx_err *err)
{
	uint64_t end = off + len, pnum, n;
	int fb, data, ret;

	while (off < end) {
		data = img_status(src, off, end - off, &pnum, &fb, err);
		if (data < 0)
			return data;
		if (!pnum)
			return vx_err_set(err, -EIO, "convert: %s: no progress at %llu",
					  src->path, (unsigned long long)off);
		if (!data && !fb) {   /* reads as zero: already so in dst */
			off += pnum;
			continue;
		}
		for (; pnum; pnum -= n, off += n) {
			n = pnum < buflen ? pnum : buflen;
			ret = img_read(src, buf, off, (size_t)n, err);
			if (!ret)
				ret = write_nonzero(dst, buf, off, (size_t)n, err);
			if (ret < 0)
				return ret;
			/* Start writeback now (no wait, no durability): the
			 * fdatasyncs of qcow2 allocation and close then find
			 * the disk already busy with it. */
			sync_file_range(dst->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		}
	}
	return 0;
}
