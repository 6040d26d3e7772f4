/*
 * backup_live: vmxd's side of a live backup (PROTOCOL.md, "Live backup").
 * A running domain's runner holds its disks; vmxd connects to the runner's
 * control socket on a connection of the backup job's own, freezes the
 * disks there (backup-begin) and reads the frozen views as struct img
 * (read-only; backup_create takes them like any image), so the backup
 * engine and the repository stay vmxd's, as for a stopped domain.
 * Closing the connection without backup-end {done:true} ends the runner's
 * session as failed: the disks' dirty bitmaps get their bits back.
 * Context: one thread at a time (the job's steps, then its commit).
 */
#ifndef VMXD_BACKUP_LIVE_H
#define VMXD_BACKUP_LIVE_H

#include <stdint.h>

#include <json-c/json.h>

#include "storage/image.h"
#include "vx_err.h"

#define LIVE_MAX_DISKS 8

struct live_disk {
	const char *path;        /* the disk as the runner was given it */
	const char *bitmap;      /* dirty bitmap to hand over, or NULL */
	/* Filled by live_begin: */
	uint64_t size;
	char format[8];
	char bitmap_state[8];    /* none, taken, new, reset (cbw.h) */
	uint64_t nbits;
	unsigned granularity_bits;
};

struct live_bk;

/* Connects to sock and freezes every disk at one instant. */
int live_begin(const char *sock, struct live_disk *disks, int n, unsigned block_bits,
	       uint64_t store_max, struct live_bk **out, struct vx_err *err);
/* Disk i's frozen view (close it with img_close; the session stays). */
int live_view(struct live_bk *lb, int i, struct img **view, struct vx_err *err);
/*
 * Reads of view fetch up to bytes at once and hand the rest out from there
 * (fewer round trips). Only for a reader going through the disk in order
 * and reading most of it (a full backup): what the window passes over is
 * read from the runner all the same, and each block can be read only once.
 */
void live_view_readahead(struct img *view, size_t bytes);
/* The start-point bits of disk i's bitmap ("taken"); *bits is malloc'd. */
int live_bitmap(struct live_bk *lb, int i, uint8_t **bits, struct vx_err *err);
/* Ends the session; done: the backup is durable. *report: per-disk counts. */
int live_end(struct live_bk *lb, int done, json_object **report, struct vx_err *err);
/* Drops the connection (a session still open ends as failed) and frees. */
void live_close(struct live_bk *lb);

#endif
