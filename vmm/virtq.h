/*
 * vmm_virtq: split virtqueues (VIRTIO 1.1, 2.6) in guest memory, device
 * side.
 *
 * Environment: the runner's vCPU thread, inside a queue notify, serialised
 * by the caller. Other vCPUs may be writing the rings at the same time, so
 * every guest structure is copied out once and checked on the copy: what a
 * guest writes can make a request fail, never make the runner touch memory
 * outside guest RAM.
 *
 * Guest RAM is one flat range from guest-physical 0 (struct vmm_guest_mem);
 * every address and length taken from the guest goes through
 * vmm_gmem_ptr, which checks it against that range without overflow.
 */
#ifndef VMM_VIRTQ_H
#define VMM_VIRTQ_H

#include <stdint.h>

/* Guest-physical [0, size) lives at base in the runner. */
struct vmm_guest_mem {
	uint8_t *base;
	uint64_t size;
};

/* Host pointer to guest [gpa, gpa + len), or NULL when any of it lies
 * outside RAM. len 0 is fine anywhere up to the end of RAM. */
void *vmm_gmem_ptr(const struct vmm_guest_mem *mem, uint64_t gpa,
		   uint64_t len);

#define VIRTQ_DESC_F_NEXT	1
#define VIRTQ_DESC_F_WRITE	2
#define VIRTQ_DESC_F_INDIRECT	4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

#define VMM_VIRTQ_MAX_SIZE	32768	/* the spec's limit */
/* Most buffers one chain may carry (direct or through one indirect
 * table); devices advertise less (virtio-blk's seg_max). */
#define VMM_VIRTQ_MAX_SEGS	256

/* One buffer of a chain, checked to lie inside guest RAM. */
struct vmm_virtq_seg {
	uint8_t *ptr;
	uint32_t len;
	int write;			/* device-writable */
};

/* A popped chain: readable segments first, then writable ones. */
struct vmm_virtq_req {
	uint16_t head;			/* id to give back in the used ring */
	unsigned nseg, nread;		/* segments, readable among them */
	uint64_t read_len, write_len;	/* bytes in each part */
	struct vmm_virtq_seg seg[VMM_VIRTQ_MAX_SEGS];
};

struct vmm_virtq {
	const struct vmm_guest_mem *mem;
	uint16_t size;			/* power of two; 0 when not set up */
	uint16_t last_avail;		/* next avail ring entry to take */
	uint16_t used_idx;		/* next used ring entry to fill */
	uint64_t desc, avail, used;	/* guest-physical ring addresses */
};

/*
 * Sets a queue up at the addresses the driver programmed. -EINVAL when size
 * is not a power of two in 1..32768, a ring is misaligned (16, 2, 4) or any
 * ring lies outside RAM.
 */
int vmm_virtq_setup(struct vmm_virtq *q, const struct vmm_guest_mem *mem,
		    unsigned size, uint64_t desc, uint64_t avail,
		    uint64_t used);
void vmm_virtq_reset(struct vmm_virtq *q);

/*
 * Takes the next available chain. Returns 1 with *req filled, 0 when the
 * ring is empty, -EINVAL when the driver broke the rules (avail index ran
 * more than size ahead, head or next out of range, a loop, an indirect
 * table that is empty, misaligned-in-length, nested or chained, a readable
 * descriptor after a writable one, a buffer outside RAM, more than
 * VMM_VIRTQ_MAX_SEGS buffers, more than 2^32 - 1 bytes in all): the device
 * should then need a reset.
 */
int vmm_virtq_pop(struct vmm_virtq *q, struct vmm_virtq_req *req);

/* Gives back the chain the last vmm_virtq_pop took, unused: the next pop
 * takes it again (a device that cannot serve it yet, e.g. virtio-net with
 * no frame to put in an rx buffer). */
void vmm_virtq_unpop(struct vmm_virtq *q);

/* Returns a chain to the driver with len bytes written into it. */
void vmm_virtq_push(struct vmm_virtq *q, uint16_t head, uint32_t len);

/* Whether the driver wants an interrupt for used buffers now (it has not
 * set VIRTQ_AVAIL_F_NO_INTERRUPT; no VIRTIO_F_EVENT_IDX). */
int vmm_virtq_want_irq(const struct vmm_virtq *q);

/* Copy between a request's segments and a buffer, starting off bytes into
 * its readable (from) or writable (to) part. Return bytes copied. */
uint64_t vmm_virtq_copy_from(const struct vmm_virtq_req *req, uint64_t off,
			     void *buf, uint64_t len);
uint64_t vmm_virtq_copy_to(const struct vmm_virtq_req *req, uint64_t off,
			   const void *buf, uint64_t len);

#endif
