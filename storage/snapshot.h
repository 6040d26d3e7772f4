/*
 * snapshot: internal snapshots of an open image (qcow2 only; other formats
 * return -ENOTSUP). Names or numeric ids select a snapshot, as qemu-img does.
 * The image must be open with IMG_RDWR for create/apply/delete.
 */
#ifndef IMG_SNAPSHOT_H
#define IMG_SNAPSHOT_H

#include <stdint.h>

#include "image.h"

struct img_snapshot_info {
	char id[32];
	char name[256];
	uint64_t date_sec;
	uint64_t disk_size;
};

int img_snapshot_create(struct img *img, const char *name, struct vx_err *err);
/* *list is malloc'd (free it); *n may be 0. */
int img_snapshot_list(struct img *img, struct img_snapshot_info **list, int *n,
		      struct vx_err *err);
/* Reverts the disk to the snapshot's contents. */
int img_snapshot_apply(struct img *img, const char *name, struct vx_err *err);
int img_snapshot_delete(struct img *img, const char *name, struct vx_err *err);

#endif
