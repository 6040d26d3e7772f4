/*
 * backup_serve: a runner's side of a live backup (PROTOCOL.md, "Live
 * backup"). The runner holds its disks' images (and their locks) while the
 * guest runs, so vmxd cannot open them; instead vmxd asks the runner to
 * freeze them (backup-begin: a copy-before-write view per disk, storage/
 * cbw.h, all disks at one instant), reads the frozen views through it
 * (backup-read, backup-status, backup-bitmap) and runs the backup engine
 * and the repository itself, exactly as for a stopped domain. backup-end
 * says whether the backup became durable; a session whose connection
 * closes first ends as failed (the dirty bitmaps get their bits back).
 * Shared by vmxd-runner and vmxd-runner-sim.
 * Context: the runner's control loop (the guest's I/O on its own threads).
 */
#ifndef RUNNER_BACKUP_SERVE_H
#define RUNNER_BACKUP_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/runner/control.h"
#include "storage/image.h"

#define BSRV_MAX_DISKS   8
#define BSRV_MAX_READ    (1u << 20)     /* bytes per backup-read (raw, after the frame) */
#define BSRV_MAX_BITMAP  (256u << 10)   /* bytes per backup-bitmap: base64 fits a frame */

struct bsrv_disk {
	const char *path;       /* as vmxd named it on the command line */
	struct img *img;
};

struct bsrv {
	struct runner_ctl *ctl;
	struct bsrv_disk disks[BSRV_MAX_DISKS];
	int ndisks;
	int peer;               /* the session's connection, -1: no session */
	int nviews;
	struct img *views[BSRV_MAX_DISKS];
	int vdisk[BSRV_MAX_DISKS];   /* which disk each view is of */
	uint8_t *rbuf;          /* backup-read's data, sent after its answer */
};

void bsrv_init(struct bsrv *s, struct runner_ctl *ctl);
int bsrv_add_disk(struct bsrv *s, const char *path, struct img *img);
/* Whether verb is one of ours; then bsrv_verb answers it. */
int bsrv_is_verb(const char *verb);
int bsrv_verb(struct bsrv *s, const struct proto_msg *req, json_object **result,
	      struct vx_err *err);
/* The control loop lost peer: its session ends as failed. */
void bsrv_peer_closed(struct bsrv *s, int peer);
/* Before the disks close: any session ends as failed. */
void bsrv_close(struct bsrv *s);

/* base64 (RFC 4648) for the data members; decode returns the length or -1. */
char *bsrv_b64_encode(const uint8_t *data, size_t len);
long bsrv_b64_decode(const char *s, uint8_t *out, size_t cap);

#endif
