/*
 * image: one interface over disk image formats (raw, qcow2 v3).
 *
 * Callers open an image and then read, write, discard and flush guest bytes
 * through img_*(); the format lives behind struct img_ops and callers never
 * test it. Backing files (any depth, any supported format) are opened by
 * img_open() itself. Context: any thread; the img_* calls on one image are
 * serialised by its lock (a live backup reads while the guest writes, cbw.h).
 *
 * Every call returns 0 or a negative errno and, when err is not NULL, fills it
 * with a sentence naming what was wrong ("qcow2: L1 table ... exceeds limit").
 */
#ifndef IMG_IMAGE_H
#define IMG_IMAGE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "vx_err.h"

/* img_open flags */
#define IMG_RDWR        0x1  /* open for writing (takes the write lock) */
#define IMG_NO_BACKING  0x2  /* do not open the backing file: unallocated reads as zero */
#define IMG_SHARED      0x4  /* read-only, take no lock (like qemu-img -U) */

/* Deepest backing chain img_open follows before calling it a loop. */
#define IMG_MAX_CHAIN   64

struct img;
struct cbw;

/* A format's entry points; filled by raw.c and qcow2*.c. */
struct img_ops {
	const char *name;                          /* "raw", "qcow2" */
	int (*read)(struct img *img, void *buf, uint64_t off, size_t len,
		    struct vx_err *err);
	int (*write)(struct img *img, const void *buf, uint64_t off, size_t len,
		     struct vx_err *err);
	/* Afterwards the range reads as zeros; whole clusters are freed. */
	int (*discard)(struct img *img, uint64_t off, uint64_t len,
		       struct vx_err *err);
	int (*flush)(struct img *img, struct vx_err *err);
	/*
	 * Whether [off, off+len) is allocated in this image: sets *pnum to the
	 * length of the run starting at off with one answer. Returns 1 for data
	 * here, 0 for "not here": reads as zero, or, when *from_backing, is
	 * unallocated in an image that names a backing file (opened or not).
	 */
	int (*status)(struct img *img, uint64_t off, uint64_t len,
		      uint64_t *pnum, int *from_backing, struct vx_err *err);
	void (*close)(struct img *img);
};

struct img {
	const struct img_ops *ops;
	char *path;
	int fd;
	int flags;             /* IMG_* given to img_open */
	uint64_t size;         /* virtual disk size in bytes */
	struct img *backing;   /* NULL when none (or IMG_NO_BACKING) */
	char *backing_name;    /* as recorded in the image, NULL when none */
	char *backing_fmt;     /* "raw"/"qcow2" as recorded, NULL when unknown */
	void *priv;            /* the format's state */
	/*
	 * Held (recursively) by every img_* call on this image: guest I/O and a
	 * live backup's reads run on different threads (cbw.h).
	 */
	pthread_mutex_t lock;
	struct cbw *cbw;       /* copy-before-write filter of a live backup, or NULL */
};

struct img_create_opts {
	const char *fmt;            /* "raw" or "qcow2" */
	uint64_t size;              /* 0 with a backing file: take its size */
	unsigned cluster_bits;      /* qcow2: 0 means 16 (64 KiB) */
	unsigned refcount_order;    /* qcow2: 0 means 4 (16-bit); use 7 for order 0 */
	const char *backing;        /* qcow2: backing file name as stored, or NULL */
	const char *backing_fmt;    /* qcow2: its format, or NULL to probe */
};

int img_open(const char *path, const char *fmt, int flags, struct img **out,
	     struct vx_err *err);
int img_create(const char *path, const struct img_create_opts *opts,
	       struct vx_err *err);
int img_read(struct img *img, void *buf, uint64_t off, size_t len,
	     struct vx_err *err);
int img_write(struct img *img, const void *buf, uint64_t off, size_t len,
	      struct vx_err *err);
int img_discard(struct img *img, uint64_t off, uint64_t len, struct vx_err *err);
int img_flush(struct img *img, struct vx_err *err);
int img_status(struct img *img, uint64_t off, uint64_t len, uint64_t *pnum,
	       int *from_backing, struct vx_err *err);
/* Flushes and closes the chain. Returns the first flush error. */
int img_close(struct img *img, struct vx_err *err);
const char *img_format(const struct img *img);

/*
 * A read-only image whose ops are the caller's (a frozen view, cbw.c; a
 * view served by another process): priv is theirs, ops->close frees it.
 * name is what errors call it.
 */
int img_wrap(const struct img_ops *ops, void *priv, const char *name,
	     uint64_t size, struct img **out, struct vx_err *err);
void img_lock_io(struct img *img);
void img_unlock_io(struct img *img);

/*
 * Offline external snapshots (overlay.c). img_overlay_create makes a new
 * qcow2 image whose backing file is backing (name stored as given, relative
 * names resolve against the overlay's directory). img_commit writes every
 * cluster the overlay at top_path holds (data and zeros) into its backing
 * file, which must be no smaller; the overlay itself is left as it is.
 */
int img_overlay_create(const char *overlay, const char *backing,
		       const char *backing_fmt, struct vx_err *err);
int img_commit(const char *top_path, struct vx_err *err);

/*
 * Copies guest bytes [off, off+len) of src into dst (convert.c). dst must be
 * a new image, reading as zeros where never written: holes and all-zero data
 * of src are skipped, as qemu-img convert does. buf is scratch of buflen
 * bytes; a few MiB lets qcow2 allocate and write whole runs of clusters.
 */
int img_convert_range(struct img *src, struct img *dst, uint64_t off, uint64_t len,
		      void *buf, size_t buflen, struct vx_err *err);

/* Probes the format from the first bytes: "qcow2" or "raw". */
int img_probe(const char *path, const char **fmt, struct vx_err *err);

/* Lock helpers (image_lock.c): QEMU-compatible OFD lock bytes. */
int img_lock(int fd, const char *path, int write, struct vx_err *err);

/* Reads the backing chain of whatever img holds (used by backends). */
int img_read_backing(struct img *img, void *buf, uint64_t off, size_t len,
		     struct vx_err *err);

/* Backend entry points, used by image.c only. */
extern const struct img_ops raw_ops;
extern const struct img_ops qcow2_ops;
int raw_open(struct img *img, struct vx_err *err);
int raw_create(const char *path, uint64_t size, struct vx_err *err);
int qcow2_open(struct img *img, struct vx_err *err);
int qcow2_create(const char *path, const struct img_create_opts *opts,
		 uint64_t size, struct vx_err *err);

#endif
