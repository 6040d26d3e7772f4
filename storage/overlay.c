/*
 * overlay: offline external snapshots - overlay creation and commit of an
 * overlay into its backing file.
 *
 * Commit copies what the overlay holds, range by range as img_status reports
 * it: data is written to the backing file, clusters the overlay reads as
 * zero are discarded there (so they read as zero too), unallocated ranges are
 * skipped. The backing file is flushed before img_commit returns, so the
 * overlay can be dropped afterwards. Context: caller's thread.
 */
#include "image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define COMMIT_STEP (1u << 20)

int img_overlay_create(const char *overlay, const char *backing,
		       const char *backing_fmt, struct vx_err *err)
{
	struct img_create_opts o = {
		.fmt = "qcow2", .backing = backing, .backing_fmt = backing_fmt,
	};

	if (!backing)
		return vx_err_set(err, -EINVAL, "img: an overlay needs a backing file");
	return img_create(overlay, &o, err);
}

int img_commit(const char *top_path, struct vx_err *err)
{
	struct img *top = NULL, *base = NULL;
	uint64_t off, pnum;
	uint8_t *buf = NULL;
	char *bpath = NULL;
	const char *slash;
	int ret, fb;

	ret = img_open(top_path, NULL, IMG_NO_BACKING, &top, err);
	if (ret < 0)
		return ret;
	if (!top->backing_name) {
		ret = vx_err_set(err, -EINVAL, "img: %s has no backing file to commit into",
				 top_path);
		goto out;
	}
	slash = strrchr(top_path, '/');
	if (top->backing_name[0] != '/' && slash) {
		size_t dl = (size_t)(slash - top_path) + 1;
		bpath = malloc(dl + strlen(top->backing_name) + 1);
		if (bpath) {
			memcpy(bpath, top_path, dl);
			strcpy(bpath + dl, top->backing_name);
		}
	} else {
		bpath = strdup(top->backing_name);
	}
	buf = malloc(COMMIT_STEP);
	if (!bpath || !buf) {
		ret = vx_err_set(err, -ENOMEM, "img: out of memory");
		goto out;
	}
	ret = img_open(bpath, top->backing_fmt, IMG_RDWR, &base, err);
	if (ret < 0)
		goto out;
	if (base->size < top->size) {
		ret = vx_err_set(err, -ENOTSUP,
				 "img: %s (%llu bytes) is smaller than its overlay %s (%llu bytes)",
				 bpath, (unsigned long long)base->size, top_path,
				 (unsigned long long)top->size);
		goto out;
	}
	for (off = 0; off < top->size; off += pnum) {
		uint64_t len = top->size - off < COMMIT_STEP ? top->size - off : COMMIT_STEP;
		ret = img_status(top, off, len, &pnum, &fb, err);
		if (ret < 0)
			goto out;
		if (ret == 1) {
			ret = img_read(top, buf, off, (size_t)pnum, err);
			if (!ret)
				ret = img_write(base, buf, off, (size_t)pnum, err);
		} else if (!fb) {
			ret = img_discard(base, off, pnum, err);
		} else {
			ret = 0;
		}
		if (ret < 0)
			goto out;
	}
	ret = img_flush(base, err);
out:
	if (base) {
		int cret = img_close(base, ret ? NULL : err);
		if (!ret)
			ret = cret;
	}
	img_close(top, NULL);
	free(bpath);
	free(buf);
	return ret;
}
