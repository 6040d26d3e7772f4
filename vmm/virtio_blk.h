/*
 * vmm_virtio_blk: a virtio block device (VIRTIO 1.1/1.2, 5.2) on a disk
 * image of the storage library (raw or qcow2, backing chains and all).
 *
 * Environment: the runner's vCPU thread; each queue notify reads and
 * writes the image there and then (img_* calls, so one vCPU at a time:
 * the bus lock does it). The image stays the caller's: open it before
 * vmm_virtio_blk_init, close it after the device is gone.
 *
 * One request queue of 256 entries. Features: SEG_MAX (254), BLK_SIZE
 * (512), FLUSH (img_flush), DISCARD and WRITE_ZEROES (img_discard, which
 * leaves zeros), RO for a read-only disk; GET_ID answers the serial. A
 * request the disk cannot do (past the end, not whole sectors, a write to
 * a read-only disk, an img_* error) completes with VIRTIO_BLK_S_IOERR; an
 * unknown type with VIRTIO_BLK_S_UNSUPP. Errors of the image are logged
 * (the log callback, else stderr) and never stop the VM.
 */
#ifndef VMM_VIRTIO_BLK_H
#define VMM_VIRTIO_BLK_H

#include <stdint.h>

#include "vmm/virtio_pci.h"

struct img;

#define VIRTIO_ID_BLOCK		2

#define VIRTIO_BLK_F_SIZE_MAX	1
#define VIRTIO_BLK_F_SEG_MAX	2
#define VIRTIO_BLK_F_GEOMETRY	4
#define VIRTIO_BLK_F_RO		5
#define VIRTIO_BLK_F_BLK_SIZE	6
#define VIRTIO_BLK_F_FLUSH	9
#define VIRTIO_BLK_F_TOPOLOGY	10
#define VIRTIO_BLK_F_CONFIG_WCE	11
#define VIRTIO_BLK_F_MQ		12
#define VIRTIO_BLK_F_DISCARD	13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN		0
#define VIRTIO_BLK_T_OUT	1
#define VIRTIO_BLK_T_FLUSH	4
#define VIRTIO_BLK_T_GET_ID	8
#define VIRTIO_BLK_T_DISCARD	11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK		0
#define VIRTIO_BLK_S_IOERR	1
#define VIRTIO_BLK_S_UNSUPP	2

#define VIRTIO_BLK_ID_BYTES	20
#define VIRTIO_BLK_SECTOR	512

/* struct virtio_blk_config offsets (5.2.4) */
#define VIRTIO_BLK_CFG_CAPACITY		0
#define VIRTIO_BLK_CFG_SIZE_MAX		8
#define VIRTIO_BLK_CFG_SEG_MAX		12
#define VIRTIO_BLK_CFG_BLK_SIZE		20
#define VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS 36
#define VIRTIO_BLK_CFG_MAX_DISCARD_SEG	40
#define VIRTIO_BLK_CFG_DISCARD_ALIGN	44
#define VIRTIO_BLK_CFG_MAX_WZ_SECTORS	48
#define VIRTIO_BLK_CFG_MAX_WZ_SEG	52
#define VIRTIO_BLK_CFG_WZ_MAY_UNMAP	56
#define VIRTIO_BLK_CFG_SIZE		60

#define VMM_VIRTIO_BLK_SEG_MAX	(VMM_VIRTIO_QUEUE_MAX - 2)

struct vmm_virtio_blk_conf {
	struct img *img;		/* open; IMG_RDWR unless read_only */
	int read_only;			/* offer F_RO (implied without RDWR) */
	const char *serial;		/* GET_ID, up to 20 bytes; may be NULL */
	void (*log)(void *opaque, const char *msg);	/* NULL: stderr */
	void *log_opaque;
};

struct vmm_virtio_blk {
	struct vmm_virtio_pci vp;	/* first: the PCI function */
	struct img *img;
	int read_only;
	uint64_t sectors;		/* capacity */
	char serial[VIRTIO_BLK_ID_BYTES];
	struct vmm_virtq_req req;	/* scratch: one chain at a time */
	uint64_t nreq, nerr;		/* requests served, IOERR among them */
};

/* Builds the device for conf->img over guest memory mem (which must
 * outlive it). -EINVAL for a missing image or an image smaller than one
 * sector. */
int vmm_virtio_blk_init(struct vmm_virtio_blk *blk,
			const struct vmm_virtio_blk_conf *conf,
			const struct vmm_guest_mem *mem, struct vx_err *err);

/* The PCI function to give vmm_pci_add. */
struct vmm_pci_dev *vmm_virtio_blk_pci(struct vmm_virtio_blk *blk);

#endif
