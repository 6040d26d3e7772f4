/*
 * vmm_virtq: split virtqueue, device side (see virtq.h).
 *
 * Layout (VIRTIO 1.1, 2.6): descriptor table of 16-byte entries {le64 addr,
 * le32 len, le16 flags, le16 next}; available ring {le16 flags, le16 idx,
 * le16 ring[size], le16 used_event}; used ring {le16 flags, le16 idx,
 * {le32 id, le32 len} ring[size], le16 avail_event}.
 */
#include "vmm/virtq.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

struct vmm_virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

void *vmm_gmem_ptr(const struct vmm_guest_mem *mem, uint64_t gpa,
		   uint64_t len)
{
	if (!mem || !mem->base || gpa > mem->size || len > mem->size - gpa)
		return NULL;
	return mem->base + gpa;
}

static uint16_t vmm_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t vmm_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void vmm_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void vmm_put_le32(uint8_t *p, uint32_t v)
{
	vmm_put_le16(p, (uint16_t)v);
	vmm_put_le16(p + 2, (uint16_t)(v >> 16));
}

/* Ring sizes in bytes, event fields included. */
static uint64_t vmm_virtq_desc_bytes(unsigned size)
{
	return 16ull * size;
}

static uint64_t vmm_virtq_avail_bytes(unsigned size)
{
	return 6 + 2ull * size;
}

static uint64_t vmm_virtq_used_bytes(unsigned size)
{
	return 6 + 8ull * size;
}

int vmm_virtq_setup(struct vmm_virtq *q, const struct vmm_guest_mem *mem,
		    unsigned size, uint64_t desc, uint64_t avail,
		    uint64_t used)
{
	vmm_virtq_reset(q);
	if (!size || size > VMM_VIRTQ_MAX_SIZE || (size & (size - 1)))
		return -EINVAL;
	if ((desc & 15) || (avail & 1) || (used & 3))
		return -EINVAL;
	if (!vmm_gmem_ptr(mem, desc, vmm_virtq_desc_bytes(size)) ||
	    !vmm_gmem_ptr(mem, avail, vmm_virtq_avail_bytes(size)) ||
	    !vmm_gmem_ptr(mem, used, vmm_virtq_used_bytes(size)))
		return -EINVAL;
	q->mem = mem;
	q->size = (uint16_t)size;	/* 32768 fits */
	q->desc = desc;
	q->avail = avail;
	q->used = used;
	return 0;
}

void vmm_virtq_reset(struct vmm_virtq *q)
{
	memset(q, 0, sizeof(*q));
}

/* Ring pointers were checked at setup; these only add in-range offsets. */
static uint8_t *vmm_virtq_avail(const struct vmm_virtq *q, uint64_t off)
{
	return q->mem->base + q->avail + off;
}

static uint8_t *vmm_virtq_used(const struct vmm_virtq *q, uint64_t off)
{
	return q->mem->base + q->used + off;
}

/* Copies descriptor i of a table of n at gpa out of guest memory. */
static int vmm_virtq_read_desc(const struct vmm_virtq *q, uint64_t table,
			       unsigned n, unsigned i,
			       struct vmm_virtq_desc *d)
{
	const uint8_t *p;

	if (i >= n)
		return -EINVAL;
	p = vmm_gmem_ptr(q->mem, table + 16ull * i, 16);
	if (!p)
		return -EINVAL;
	d->addr = (uint64_t)vmm_le32(p) | (uint64_t)vmm_le32(p + 4) << 32;
	d->len = vmm_le32(p + 8);
	d->flags = vmm_le16(p + 12);
	d->next = vmm_le16(p + 14);
	return 0;
}

/* Appends one buffer, enforcing "readable before writable". */
static int vmm_virtq_add_seg(const struct vmm_virtq *q,
			     struct vmm_virtq_req *req,
			     const struct vmm_virtq_desc *d)
{
	int write = !!(d->flags & VIRTQ_DESC_F_WRITE);
	uint8_t *p;

	if (req->nseg >= VMM_VIRTQ_MAX_SEGS)
		return -EINVAL;
	if (!write && req->nseg > req->nread)
		return -EINVAL;
	p = vmm_gmem_ptr(q->mem, d->addr, d->len);
	if (!p)
		return -EINVAL;
	req->seg[req->nseg++] = (struct vmm_virtq_seg){
		.ptr = p, .len = d->len, .write = write,
	};
	if (write) {
		req->write_len += d->len;
	} else {
		req->nread++;
		req->read_len += d->len;
	}
	return 0;
}

/* Walks an indirect table (VIRTIO 1.1, 2.6.5.3): no nesting, no loops. */
static int vmm_virtq_walk_indirect(const struct vmm_virtq *q,
				   struct vmm_virtq_req *req,
				   const struct vmm_virtq_desc *ind)
{
	struct vmm_virtq_desc d;
	unsigned n = ind->len / 16, i = 0, steps = 0;
	int rc;

	if (ind->len == 0 || ind->len % 16 || (ind->flags & VIRTQ_DESC_F_NEXT))
		return -EINVAL;
	if (!vmm_gmem_ptr(q->mem, ind->addr, ind->len))
		return -EINVAL;
	for (;;) {
		if (++steps > n)
			return -EINVAL;		/* a loop */
		rc = vmm_virtq_read_desc(q, ind->addr, n, i, &d);
		if (rc)
			return rc;
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return -EINVAL;
		rc = vmm_virtq_add_seg(q, req, &d);
		if (rc)
			return rc;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

/* Walks the chain starting at head in the descriptor table. */
static int vmm_virtq_walk(const struct vmm_virtq *q, struct vmm_virtq_req *req,
			  uint16_t head)
{
	struct vmm_virtq_desc d;
	unsigned i = head, steps = 0;
	int rc;

	for (;;) {
		if (++steps > q->size)
			return -EINVAL;		/* a loop */
		rc = vmm_virtq_read_desc(q, q->desc, q->size, i, &d);
		if (rc)
			return rc;
		/* An indirect descriptor ends its chain (it may not have
		 * NEXT, 2.6.5.3.1); its table continues the buffers. */
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return vmm_virtq_walk_indirect(q, req, &d);
		rc = vmm_virtq_add_seg(q, req, &d);
		if (rc)
			return rc;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

int vmm_virtq_pop(struct vmm_virtq *q, struct vmm_virtq_req *req)
{
	uint16_t avail_idx, head;

	if (!q->size)
		return -EINVAL;
	avail_idx = vmm_le16(vmm_virtq_avail(q, 2));
	if (avail_idx == q->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - q->last_avail) > q->size)
		return -EINVAL;
	/* Read the ring entry (and the descriptors) after the index. */
	atomic_thread_fence(memory_order_acquire);
	head = vmm_le16(vmm_virtq_avail(q, 4 + 2ull * (q->last_avail &
							(q->size - 1))));
	if (head >= q->size)
		return -EINVAL;
	req->head = head;
	req->nseg = req->nread = 0;
	req->read_len = req->write_len = 0;
	if (vmm_virtq_walk(q, req, head))
		return -EINVAL;
	/* 2.6.5.2: no chain longer than 2^32 bytes in total (so a used
	 * length always fits its 32 bits). */
	if (req->read_len + req->write_len > UINT32_MAX)
		return -EINVAL;
	q->last_avail++;
	return 1;
}

void vmm_virtq_unpop(struct vmm_virtq *q)
{
	q->last_avail--;
}

void vmm_virtq_push(struct vmm_virtq *q, uint16_t head, uint32_t len)
{
	uint8_t *e;

	if (!q->size)
		return;
	e = vmm_virtq_used(q, 4 + 8ull * (q->used_idx & (q->size - 1)));
	vmm_put_le32(e, head);
	vmm_put_le32(e + 4, len);
	/* The entry must be visible before the index that publishes it. */
	atomic_thread_fence(memory_order_release);
	q->used_idx++;
	vmm_put_le16(vmm_virtq_used(q, 2), q->used_idx);
	/* And the index before we read the driver's flags for the irq. */
	atomic_thread_fence(memory_order_seq_cst);
}

int vmm_virtq_want_irq(const struct vmm_virtq *q)
{
	if (!q->size)
		return 0;
	return !(vmm_le16(vmm_virtq_avail(q, 0)) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

/* Walks segments of one kind (write or not), off bytes in, calling copy
 * on each overlap. */
static uint64_t vmm_virtq_copy(const struct vmm_virtq_req *req, int write,
			       uint64_t off, uint8_t *buf, uint64_t len,
			       int to_guest)
{
	uint64_t done = 0;
	unsigned i;

	for (i = 0; i < req->nseg && done < len; i++) {
		const struct vmm_virtq_seg *s = &req->seg[i];
		uint64_t n;

		if (s->write != write)
			continue;
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		n = s->len - off;
		if (n > len - done)
			n = len - done;
		if (to_guest)
			memcpy(s->ptr + off, buf + done, n);
		else
			memcpy(buf + done, s->ptr + off, n);
		done += n;
		off = 0;
	}
	return done;
}

uint64_t vmm_virtq_copy_from(const struct vmm_virtq_req *req, uint64_t off,
			     void *buf, uint64_t len)
{
	return vmm_virtq_copy(req, 0, off, buf, len, 0);
}

uint64_t vmm_virtq_copy_to(const struct vmm_virtq_req *req, uint64_t off,
			   const void *buf, uint64_t len)
{
	return vmm_virtq_copy(req, 1, off, (uint8_t *)buf, len, 1);
}
