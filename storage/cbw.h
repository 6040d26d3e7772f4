/*
 * cbw: copy-before-write, the frozen view a live backup reads.
 *
 * img_cbw_begin attaches a filter to an open image and returns a second,
 * read-only struct img, the view: it reads as the disk was at that moment
 * (the start point) however the guest writes meanwhile. The disk is tracked
 * in blocks; a guest write or discard touching a block the view has not
 * handed out yet first copies the block's old contents into a side store
 * (memory, at most store_max bytes at once), then goes ahead. The view reads
 * a block from the side store when it was copied, else from the image, and
 * then marks it passed: later guest writes to it go straight through, and
 * a copied block's memory is freed. So the view is read once, in any order
 * (a second read of a passed block fails with -ESTALE); the guest waits for
 * at most one block copy per block it writes, and for the view's reader at
 * most one block read (both hold the image's lock, image.h).
 *
 * A block the view learnt reads as zeros (its status said so) needs no copy.
 * When the side store is full or a copy fails, the view fails (every later
 * read returns that error) and drops its store; the guest's writes are
 * never failed or lost for it: the backup fails, the disk does not.
 *
 * The dirty bitmap handover (qcow2, incremental backups): with o->bitmap the
 * view takes the bitmap's bits as of the start point and the bitmap starts
 * again empty, atomically with the freeze, so it records exactly what
 * changed after the start point. img_cbw_end(view, 1) once the backup is
 * durable drops the taken bits; a backup that fails ends with 0 (or just
 * img_close of the view, or the image closing) and the bits go back into
 * the bitmap, so the next incremental still covers them. A bitmap that was
 * missing (created here) or inconsistent (reset here) has no bits to give
 * back: every bit is set instead, so no incremental can trust it blindly.
 *
 * Context: the view on one thread (the backup's), guest I/O on others.
 */
#ifndef IMG_CBW_H
#define IMG_CBW_H

#include <stdint.h>

#include "image.h"

#define CBW_MAX_BLOCKS    (1u << 22)        /* larger disks get larger blocks */
#define CBW_STORE_DEFAULT (256ull << 20)

struct cbw_opts {
	unsigned block_bits;    /* tracking granule; 0 means 16 (64 KiB); 9..24 */
	uint64_t store_max;     /* side store bytes held at once; 0: CBW_STORE_DEFAULT */
	const char *bitmap;     /* qcow2: the dirty bitmap handed over, or NULL */
};

enum cbw_bitmap {
	CBW_BITMAP_NONE,        /* none asked for */
	CBW_BITMAP_TAKEN,       /* the bits as of the start point are the view's */
	CBW_BITMAP_NEW,         /* it did not exist: created, tracking from now */
	CBW_BITMAP_RESET,       /* it was inconsistent (or disabled): reset */
};

struct cbw_stats {
	uint64_t block_size;
	uint64_t copied;        /* blocks copied into the side store before a write */
	uint64_t passed;        /* blocks the view handed out */
	uint64_t store_peak;    /* most bytes the side store held at once */
	int failed;             /* 0, or the view's error (-ENOSPC: store full) */
};

int img_cbw_begin(struct img *img, const struct cbw_opts *o, struct img **view,
		  struct vx_err *err);
/* What happened to the bitmap; TAKEN: its bits (owned by the view). */
enum cbw_bitmap img_cbw_bitmap(struct img *view, const uint8_t **bits,
			       uint64_t *nbits, unsigned *granularity_bits);
void img_cbw_stats(struct img *view, struct cbw_stats *st);
/* Detaches and frees the view; done: the backup is durable (see above). */
int img_cbw_end(struct img *view, int done, struct vx_err *err);

/* image.c's hooks, with the image's lock held. */
struct cbw;
void cbw_before_change(struct cbw *c, uint64_t off, uint64_t len);
void cbw_detach(struct cbw *c);

#endif
