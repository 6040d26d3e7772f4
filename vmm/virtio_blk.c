/*
 * vmm_virtio_blk: virtio block device on a storage-library image (see
 * virtio_blk.h).
 *
 * A request (5.2.6) is a chain: a 16-byte header {le32 type, le32
 * reserved, le64 sector} in the readable part, then data (readable for
 * writes, writable for reads), and a status byte as the last byte of the
 * writable part. Data moves straight between the image and guest RAM,
 * segment by segment, with no bounce buffer.
 */
#include "vmm/virtio_blk.h"
#include "vmm/devstate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "storage/image.h"

#define BLK_HDR_BYTES		16
#define BLK_RANGE_BYTES		16	/* discard/write-zeroes segment */
#define BLK_MAX_DISCARD_SECTORS	0x400000u	/* 2 GiB per request */
#define BLK_WZ_FLAG_UNMAP	1

static void blk_log(struct vmm_virtio_blk *blk, const char *what,
		    uint64_t off, uint64_t len, const struct vx_err *err)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "%s of %" PRIu64 " bytes at %" PRIu64
		 " failed: %s", what, len, off,
		 err->msg[0] ? err->msg : "error");
	blk->nerr++;
	vmm_virtio_pci_log(&blk->vp, msg);
}

/* Whether [sector, sector + bytes / 512) lies on the disk. */
static int blk_in_range(const struct vmm_virtio_blk *blk, uint64_t sector,
			uint64_t bytes)
{
	return bytes % VIRTIO_BLK_SECTOR == 0 && sector <= blk->sectors &&
	       bytes / VIRTIO_BLK_SECTOR <= blk->sectors - sector;
}

/* Moves len bytes between the image at off and the request's segments of
 * one kind, skip bytes into that part. */
static int blk_transfer(struct vmm_virtio_blk *blk,
			const struct vmm_virtq_req *req, int to_disk,
			uint64_t skip, uint64_t off, uint64_t len)
{
	struct vx_err err = { 0 };
	unsigned i;
	int rc;

	for (i = 0; i < req->nseg && len; i++) {
		const struct vmm_virtq_seg *s = &req->seg[i];
		uint64_t n;

		if (s->write == to_disk)
			continue;
		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		n = s->len - skip;
		if (n > len)
			n = len;
		if (to_disk)
			rc = img_write(blk->img, s->ptr + skip, off, n, &err);
		else
			rc = img_read(blk->img, s->ptr + skip, off, n, &err);
		if (rc) {
			blk_log(blk, to_disk ? "write" : "read", off, n, &err);
			return rc;
		}
		off += n;
		len -= n;
		skip = 0;
	}
	return 0;
}

static uint8_t blk_rw(struct vmm_virtio_blk *blk,
		      const struct vmm_virtq_req *req, uint64_t sector,
		      int to_disk)
{
	uint64_t len = to_disk ? req->read_len - BLK_HDR_BYTES :
				 req->write_len - 1;

	if (to_disk && blk->read_only)
		return VIRTIO_BLK_S_IOERR;
	if (!blk_in_range(blk, sector, len))
		return VIRTIO_BLK_S_IOERR;
	if (blk_transfer(blk, req, to_disk, to_disk ? BLK_HDR_BYTES : 0,
			 sector * VIRTIO_BLK_SECTOR, len))
		return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}

static uint8_t blk_flush(struct vmm_virtio_blk *blk)
{
	struct vx_err err = { 0 };

	if (img_flush(blk->img, &err)) {
		blk_log(blk, "flush", 0, 0, &err);
		return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/* Discard and write zeroes (5.2.6): one range per request (max_seg 1);
 * img_discard leaves the range reading as zeros, which serves both. */
static uint8_t blk_discard(struct vmm_virtio_blk *blk,
			   const struct vmm_virtq_req *req, int zeroes)
{
	struct vx_err err = { 0 };
	uint8_t r[BLK_RANGE_BYTES];
	uint64_t sector, bytes;
	uint32_t n, flags;
	unsigned i;

	if (blk->read_only)
		return VIRTIO_BLK_S_IOERR;
	if (req->read_len - BLK_HDR_BYTES != BLK_RANGE_BYTES ||
	    vmm_virtq_copy_from(req, BLK_HDR_BYTES, r, sizeof(r)) != sizeof(r))
		return VIRTIO_BLK_S_UNSUPP;
	sector = 0;
	for (i = 0; i < 8; i++)
		sector |= (uint64_t)r[i] << (8 * i);
	n = (uint32_t)r[8] | (uint32_t)r[9] << 8 | (uint32_t)r[10] << 16 |
	    (uint32_t)r[11] << 24;
	flags = (uint32_t)r[12] | (uint32_t)r[13] << 8 |
		(uint32_t)r[14] << 16 | (uint32_t)r[15] << 24;
	if (flags & ~(zeroes ? BLK_WZ_FLAG_UNMAP : 0))
		return VIRTIO_BLK_S_UNSUPP;
	bytes = (uint64_t)n * VIRTIO_BLK_SECTOR;
	if (n > BLK_MAX_DISCARD_SECTORS || !blk_in_range(blk, sector, bytes))
		return VIRTIO_BLK_S_IOERR;
	if (n && img_discard(blk->img, sector * VIRTIO_BLK_SECTOR, bytes,
			     &err)) {
		blk_log(blk, zeroes ? "write-zeroes" : "discard",
			sector * VIRTIO_BLK_SECTOR, bytes, &err);
		return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/* Serves one request; returns the bytes written into its writable part. */
static uint32_t blk_serve(struct vmm_virtio_blk *blk,
			  const struct vmm_virtq_req *req)
{
	uint8_t hdr[BLK_HDR_BYTES], st;
	uint64_t id_len, sector = 0;
	uint32_t type, used = 1;
	unsigned i;

	if (vmm_virtq_copy_from(req, 0, hdr, sizeof(hdr)) != sizeof(hdr)) {
		st = VIRTIO_BLK_S_IOERR;
		goto done;
	}
	type = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 |
	       (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 24;
	for (i = 0; i < 8; i++)
		sector |= (uint64_t)hdr[8 + i] << (8 * i);
	switch (type) {
	case VIRTIO_BLK_T_IN:
		st = blk_rw(blk, req, sector, 0);
		if (st == VIRTIO_BLK_S_OK)
			used = (uint32_t)req->write_len;
		break;
	case VIRTIO_BLK_T_OUT:
		st = blk_rw(blk, req, sector, 1);
		break;
	case VIRTIO_BLK_T_FLUSH:
		st = blk_flush(blk);
		break;
	case VIRTIO_BLK_T_GET_ID:
		id_len = req->write_len - 1;
		if (id_len > VIRTIO_BLK_ID_BYTES)
			id_len = VIRTIO_BLK_ID_BYTES;
		used += (uint32_t)vmm_virtq_copy_to(req, 0, blk->serial,
						    id_len);
		st = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		st = blk_discard(blk, req, type == VIRTIO_BLK_T_WRITE_ZEROES);
		break;
	default:
		st = VIRTIO_BLK_S_UNSUPP;
		break;
	}
done:
	blk->nreq++;
	vmm_virtq_copy_to(req, req->write_len - 1, &st, 1);
	return used;
}

static int blk_queue_notify(void *opaque, struct vmm_virtio_pci *vp,
			    unsigned qi)
{
	struct vmm_virtio_blk *blk = opaque;
	struct vmm_virtq *q = vmm_virtio_pci_queue(vp, qi);
	unsigned served = 0;
	int rc = 0;

	while (q && (rc = vmm_virtq_pop(q, &blk->req)) == 1) {
		/* No byte for the status: nothing we can answer. */
		if (blk->req.write_len == 0) {
			rc = -EINVAL;
			break;
		}
		vmm_virtq_push(q, blk->req.head, blk_serve(blk, &blk->req));
		served++;
	}
	if (served)
		vmm_virtio_pci_used(vp, qi);
	return rc < 0 ? rc : 0;
}

static const struct vmm_virtio_ops blk_ops = {
	.queue_notify = blk_queue_notify,
};

static void blk_put(uint8_t *cfg, unsigned off, unsigned size, uint64_t v)
{
	unsigned i;

	for (i = 0; i < size; i++)
		cfg[off + i] = (uint8_t)(v >> (8 * i));
}

static void blk_fill_config(struct vmm_virtio_blk *blk)
{
	uint8_t *c = blk->vp.devcfg;

	blk_put(c, VIRTIO_BLK_CFG_CAPACITY, 8, blk->sectors);
	blk_put(c, VIRTIO_BLK_CFG_SEG_MAX, 4, VMM_VIRTIO_BLK_SEG_MAX);
	blk_put(c, VIRTIO_BLK_CFG_BLK_SIZE, 4, VIRTIO_BLK_SECTOR);
	blk_put(c, VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, 4,
		BLK_MAX_DISCARD_SECTORS);
	blk_put(c, VIRTIO_BLK_CFG_MAX_DISCARD_SEG, 4, 1);
	blk_put(c, VIRTIO_BLK_CFG_DISCARD_ALIGN, 4, 1);
	blk_put(c, VIRTIO_BLK_CFG_MAX_WZ_SECTORS, 4, BLK_MAX_DISCARD_SECTORS);
	blk_put(c, VIRTIO_BLK_CFG_MAX_WZ_SEG, 4, 1);
	c[VIRTIO_BLK_CFG_WZ_MAY_UNMAP] = 1;
}

int vmm_virtio_blk_init(struct vmm_virtio_blk *blk,
			const struct vmm_virtio_blk_conf *conf,
			const struct vmm_guest_mem *mem, struct vx_err *err)
{
	uint64_t features = 1ull << VIRTIO_BLK_F_SEG_MAX |
			    1ull << VIRTIO_BLK_F_BLK_SIZE |
			    1ull << VIRTIO_BLK_F_FLUSH;
	int ro, rc;

	if (!conf || !conf->img || conf->img->size < VIRTIO_BLK_SECTOR)
		return vx_err_set(err, -EINVAL,
				  "virtio-blk: no image, or smaller than a sector");
	ro = conf->read_only || !(conf->img->flags & IMG_RDWR);
	if (ro)
		features |= 1ull << VIRTIO_BLK_F_RO;
	else
		features |= 1ull << VIRTIO_BLK_F_DISCARD |
			    1ull << VIRTIO_BLK_F_WRITE_ZEROES;
	/* Mass storage controller, "other" (the spec names no class). */
	rc = vmm_virtio_pci_init(&blk->vp, VIRTIO_ID_BLOCK, 0x018000, 1,
				 features, VIRTIO_BLK_CFG_SIZE, mem, &blk_ops,
				 blk, "virtio-blk");
	if (rc)
		return vx_err_set(err, rc, "virtio-blk: transport setup failed");
	blk->vp.log = conf->log;
	blk->vp.log_opaque = conf->log_opaque;
	blk->img = conf->img;
	blk->read_only = ro;
	blk->sectors = conf->img->size / VIRTIO_BLK_SECTOR;
	blk->nreq = blk->nerr = 0;
	memset(blk->serial, 0, sizeof(blk->serial));
	if (conf->serial)	/* not NUL-terminated when 20 long (5.2.6) */
		memcpy(blk->serial, conf->serial,
		       strnlen(conf->serial, sizeof(blk->serial)));
	blk_fill_config(blk);
	return 0;
}

struct vmm_pci_dev *vmm_virtio_blk_pci(struct vmm_virtio_blk *blk)
{
	return &blk->vp.pci;
}

/* ---- state file (devstate.h) ---- */

void vmm_virtio_blk_save(const struct vmm_virtio_blk *blk, struct vmm_snap_w *w)
{
	vmm_snap_put_u64(w, blk->sectors);
	vmm_virtio_pci_save(&blk->vp, w);
}

static int vmm_virtio_blk_load_or_check(struct vmm_virtio_blk *blk, const void *p,
					size_t len, int apply, struct vx_err *err)
{
	struct vmm_snap_r r;
	uint64_t sectors;
	int rc;

	vmm_snap_r_init(&r, p, len);
	sectors = vmm_snap_get_u64(&r);
	if (!r.short_read && sectors != blk->sectors)
		return vx_err_set(err, -EINVAL,
				  "state file: disk %s had %" PRIu64 " sectors, now %" PRIu64,
				  blk->serial, sectors, blk->sectors);
	if ((rc = vmm_virtio_pci_load(&blk->vp, &r, apply, err)))
		return rc;
	return vmm_snap_r_done(&r, "virtio-blk", err);
}

int vmm_virtio_blk_check(struct vmm_virtio_blk *blk, const void *p, size_t len,
			 struct vx_err *err)
{
	return vmm_virtio_blk_load_or_check(blk, p, len, 0, err);
}

int vmm_virtio_blk_load(struct vmm_virtio_blk *blk, const void *p, size_t len,
			struct vx_err *err)
{
	return vmm_virtio_blk_load_or_check(blk, p, len, 1, err);
}
