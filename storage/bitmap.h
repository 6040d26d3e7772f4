/*
 * bitmap: persistent dirty bitmaps (the qcow2 "bitmaps" extension, the same
 * bitmaps `qemu-img bitmap` makes). An enabled bitmap gets a bit set for
 * every granule any write or discard through the library touches; bitmaps
 * are kept in memory while the image is open read-write (marked in_use on
 * disk, as QEMU does) and written back on img_close. Other formats: -ENOTSUP.
 */
#ifndef IMG_BITMAP_H
#define IMG_BITMAP_H

#include <stdint.h>

#include "image.h"

struct img_bitmap_info {
	char name[256];
	unsigned granularity_bits;   /* a bit covers 1 << granularity_bits bytes */
	int enabled;                 /* "auto": tracks writes */
	int inconsistent;            /* was in_use on open: not trustworthy */
};

/* granularity_bits 0 means 16 (64 KiB), as QEMU's default. */
int img_bitmap_add(struct img *img, const char *name, unsigned granularity_bits,
		   struct vx_err *err);
int img_bitmap_remove(struct img *img, const char *name, struct vx_err *err);
int img_bitmap_clear(struct img *img, const char *name, struct vx_err *err);
int img_bitmap_list(struct img *img, struct img_bitmap_info **list, int *n,
		    struct vx_err *err);
/*
 * A copy of the bits (LSB first: bit i of byte i/8 covers bytes
 * [i << gbits, (i + 1) << gbits) of the disk). Refuses an inconsistent bitmap.
 */
int img_bitmap_get(struct img *img, const char *name, uint8_t **bits,
		   uint64_t *nbits, unsigned *granularity_bits, struct vx_err *err);
/*
 * ORs bits (as img_bitmap_get gives them, nbits long) into the bitmap;
 * bits NULL sets every bit. A live backup that failed gives back the bits
 * it took (cbw.h), so the next incremental still covers those changes.
 */
int img_bitmap_merge(struct img *img, const char *name, const uint8_t *bits,
		     uint64_t nbits, struct vx_err *err);

#endif
