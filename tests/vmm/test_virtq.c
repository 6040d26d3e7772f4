/* Unit tests for vmm/virtq.c: a driver written here builds split rings in
 * a guest-RAM buffer, well and badly. Nothing the driver writes may make
 * vmm_virtq read or write outside the buffer (ASan watches). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/virtq.h"

#define RAM	0x10000
#define QSIZE	8
#define DESC	0x0000
#define AVAIL	0x1000
#define USED	0x2000
#define BUF	0x4000
#define TABLE	0x8000

struct fx {
	struct vmm_guest_mem mem;
	struct vmm_virtq q;
	struct vmm_virtq_req req;
	uint16_t avail_idx;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	/* Exactly RAM bytes, so ASan catches a read one past the end. */
	f->mem.base = calloc(1, RAM);
	f->mem.size = RAM;
	if (!f->mem.base ||
	    vmm_virtq_setup(&f->q, &f->mem, QSIZE, DESC, AVAIL, USED))
		return -1;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	free(f->mem.base);
	free(f);
	return 0;
}

static void put16(struct fx *f, uint64_t gpa, uint16_t v)
{
	memcpy(f->mem.base + gpa, &v, 2);
}

static uint16_t get16(struct fx *f, uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, f->mem.base + gpa, 2);
	return v;
}

static uint32_t get32(struct fx *f, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, f->mem.base + gpa, 4);
	return v;
}

/* Descriptor i of the table at gpa (little-endian host assumed, as x86). */
static void desc_at(struct fx *f, uint64_t table, unsigned i, uint64_t addr,
		    uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *p = f->mem.base + table + 16 * i;

	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

static void desc(struct fx *f, unsigned i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
{
	desc_at(f, DESC, i, addr, len, flags, next);
}

static void make_avail(struct fx *f, uint16_t head)
{
	put16(f, AVAIL + 4 + 2 * (f->avail_idx % QSIZE), head);
	f->avail_idx++;
	put16(f, AVAIL + 2, f->avail_idx);
}

static int pop(struct fx *f)
{
	return vmm_virtq_pop(&f->q, &f->req);
}

static void virtq_direct_chain_and_used_ring(void **state)
{
	struct fx *f = *state;

	assert_int_equal(pop(f), 0);
	desc(f, 2, BUF, 16, VIRTQ_DESC_F_NEXT, 5);
	desc(f, 5, BUF + 0x100, 512, VIRTQ_DESC_F_NEXT, 1);
	desc(f, 1, BUF + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
	make_avail(f, 2);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->req.head, 2);
	assert_int_equal(f->req.nseg, 3);
	assert_int_equal(f->req.nread, 2);
	assert_int_equal(f->req.read_len, 528);
	assert_int_equal(f->req.write_len, 1);
	assert_ptr_equal(f->req.seg[1].ptr, f->mem.base + BUF + 0x100);
	assert_true(f->req.seg[2].write);
	assert_int_equal(pop(f), 0);

	vmm_virtq_push(&f->q, 2, 1);
	assert_int_equal(get16(f, USED + 2), 1);
	assert_int_equal(get32(f, USED + 4), 2);
	assert_int_equal(get32(f, USED + 8), 1);
	assert_true(vmm_virtq_want_irq(&f->q));
	put16(f, AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	assert_false(vmm_virtq_want_irq(&f->q));
}

static void virtq_indirect_table(void **state)
{
	struct fx *f = *state;

	desc_at(f, TABLE, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	desc_at(f, TABLE, 1, BUF + 0x10, 4096, VIRTQ_DESC_F_NEXT |
		VIRTQ_DESC_F_WRITE, 2);
	desc_at(f, TABLE, 2, BUF + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	desc(f, 0, TABLE, 48, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(f, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->req.head, 0);
	assert_int_equal(f->req.nseg, 3);
	assert_int_equal(f->req.nread, 1);
	assert_int_equal(f->req.write_len, 4097);
	assert_ptr_equal(f->req.seg[2].ptr, f->mem.base + BUF + 0x2000);

	/* A direct descriptor chained to an indirect one: both count. */
	desc(f, 3, BUF + 0x3000, 16, VIRTQ_DESC_F_NEXT, 4);
	desc(f, 4, TABLE + 32, 16, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(f, 3);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->req.nseg, 2);
	assert_int_equal(f->req.nread, 1);
}

static void virtq_copy_across_segments(void **state)
{
	struct fx *f = *state;
	uint8_t in[40], out[40];
	unsigned i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 1);
	memcpy(f->mem.base + BUF, in, 10);
	memcpy(f->mem.base + BUF + 0x100, in + 10, 30);
	desc(f, 0, BUF, 10, VIRTQ_DESC_F_NEXT, 1);
	desc(f, 1, BUF + 0x100, 30, VIRTQ_DESC_F_NEXT, 2);
	desc(f, 2, BUF + 0x200, 3, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
	desc(f, 3, BUF + 0x300, 0, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 4);
	desc(f, 4, BUF + 0x400, 5, VIRTQ_DESC_F_WRITE, 0);
	make_avail(f, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(vmm_virtq_copy_from(&f->req, 4, out, 40), 36);
	assert_memory_equal(out, in + 4, 36);
	/* Writes skip the zero-length buffer and stop at the end. */
	assert_int_equal(vmm_virtq_copy_to(&f->req, 1, in, 40), 7);
	assert_memory_equal(f->mem.base + BUF + 0x201, in, 2);
	assert_memory_equal(f->mem.base + BUF + 0x400, in + 2, 5);
	assert_int_equal(vmm_virtq_copy_to(&f->req, 8, in, 1), 0);
}

static void virtq_setup_checks_rings(void **state)
{
	struct fx *f = *state;
	struct vmm_virtq q;

	assert_int_equal(vmm_virtq_setup(&q, &f->mem, 0, 0, 0x1000, 0x2000), -EINVAL);
	assert_int_equal(vmm_virtq_setup(&q, &f->mem, 3, 0, 0x1000, 0x2000), -EINVAL);
	assert_int_equal(vmm_virtq_setup(&q, &f->mem, 65536, 0, 0x1000, 0x2000), -EINVAL);
	assert_int_equal(vmm_virtq_setup(&q, &f->mem, 8, 8, 0x1000, 0x2000), -EINVAL);
	assert_int_equal(vmm_virtq_setup(&q, &f->mem, 8, 0, 0x1001, 0x2000), -EINVAL);
	assert_int_equal(vmm_virtq_setup(&q, &f->mem, 8, 0, 0x1000, 0x2002), -EINVAL);
	/* Rings past the end of RAM, or wrapping the address space. */
	assert_int_equal(vmm_virtq_setup(&q, &f->mem, 8, RAM - 64, 0x1000, 0x2000), -EINVAL);
	assert_int_equal(vmm_virtq_setup(&q, &f->mem, 8, 0, RAM - 20, 0x2000), -EINVAL);
	assert_int_equal(vmm_virtq_setup(&q, &f->mem, 8, 0, 0x1000, RAM - 68), -EINVAL);
	assert_int_equal(vmm_virtq_setup(&q, &f->mem, 8, 0xfffffffffffffff0ull, 0x1000, 0x2000), -EINVAL);
	assert_int_equal(vmm_virtq_setup(&q, &f->mem, 32768, 0, 0x1000, 0x2000), -EINVAL);
	assert_int_equal(vmm_virtq_setup(&q, NULL, 8, 0, 0x1000, 0x2000), -EINVAL);
	/* Exactly at the end of RAM is fine. */
	assert_int_equal(vmm_virtq_setup(&q, &f->mem, 8, RAM - 128, RAM - 22, RAM - 72), 0);
	vmm_virtq_reset(&q);
	assert_int_equal(vmm_virtq_pop(&q, &f->req), -EINVAL);
	vmm_virtq_push(&q, 0, 0);	/* harmless */
}

/* Each hostile chain is refused and leaves the queue where it was. */
static void expect_bad(struct fx *f, uint16_t head)
{
	uint16_t last = f->q.last_avail;

	make_avail(f, head);
	assert_int_equal(pop(f), -EINVAL);
	assert_int_equal(f->q.last_avail, last);
	/* Forget it, as a reset would. */
	f->avail_idx--;
	put16(f, AVAIL + 2, f->avail_idx);
}

static void virtq_hostile_addresses_and_lengths(void **state)
{
	struct fx *f = *state;

	desc(f, 0, RAM, 1, 0, 0);			/* just past RAM */
	expect_bad(f, 0);
	desc(f, 0, RAM - 1, 2, 0, 0);			/* straddles the end */
	expect_bad(f, 0);
	desc(f, 0, 0xfffffffffffffff0ull, 0x20, 0, 0);	/* wraps */
	expect_bad(f, 0);
	desc(f, 0, BUF, 0xffffffffu, 0, 0);		/* huge */
	expect_bad(f, 0);
	desc(f, 0, 0x8000000000000000ull, 0, 0, 0);	/* far, empty */
	expect_bad(f, 0);
	expect_bad(f, QSIZE);				/* head out of range */
	expect_bad(f, 0xffff);
	desc(f, 0, BUF, 16, VIRTQ_DESC_F_NEXT, QSIZE);	/* next out of range */
	expect_bad(f, 0);
	/* Readable after writable. */
	desc(f, 0, BUF, 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	desc(f, 1, BUF, 16, 0, 0);
	expect_bad(f, 0);

	/* Zero-length buffers are legal, even at the very end of RAM. */
	desc(f, 0, RAM, 0, 0, 0);
	make_avail(f, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->req.nseg, 1);
	assert_int_equal(f->req.seg[0].len, 0);
	/* Exactly up to the end of RAM. */
	desc(f, 0, RAM - 16, 16, VIRTQ_DESC_F_WRITE, 0);
	make_avail(f, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(vmm_virtq_copy_to(&f->req, 0, "0123456789abcdefXX", 18), 16);
}

static void virtq_hostile_loops(void **state)
{
	struct fx *f = *state;
	unsigned i;

	desc(f, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 0);	/* self */
	expect_bad(f, 0);
	desc(f, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(f, 1, BUF, 16, VIRTQ_DESC_F_NEXT, 0);	/* 0 -> 1 -> 0 */
	expect_bad(f, 0);
	/* A chain through every descriptor is fine; one more is a loop. */
	for (i = 0; i < QSIZE; i++)
		desc(f, i, BUF, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
	desc(f, QSIZE - 1, BUF, 16, 0, 0);
	make_avail(f, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->req.nseg, QSIZE);
	desc(f, QSIZE - 1, BUF, 16, VIRTQ_DESC_F_NEXT, 3);
	expect_bad(f, 0);
	/* Loop inside an indirect table. */
	desc_at(f, TABLE, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	desc_at(f, TABLE, 1, BUF, 16, VIRTQ_DESC_F_NEXT, 0);
	desc(f, 0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad(f, 0);
	/* Indirect next beyond its table. */
	desc_at(f, TABLE, 1, BUF, 16, VIRTQ_DESC_F_NEXT, 2);
	expect_bad(f, 0);
}

static void virtq_hostile_indirect(void **state)
{
	struct fx *f = *state;
	unsigned i;

	desc_at(f, TABLE, 0, BUF, 16, 0, 0);
	desc(f, 0, TABLE, 0, VIRTQ_DESC_F_INDIRECT, 0);		/* empty */
	expect_bad(f, 0);
	desc(f, 0, TABLE, 24, VIRTQ_DESC_F_INDIRECT, 0);	/* not n*16 */
	expect_bad(f, 0);
	desc(f, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	expect_bad(f, 0);					/* + NEXT */
	desc(f, 0, RAM - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);	/* past RAM */
	expect_bad(f, 0);
	desc(f, 0, TABLE, 0xfffffff0u, VIRTQ_DESC_F_INDIRECT, 0); /* huge */
	expect_bad(f, 0);
	/* Nested. */
	desc_at(f, TABLE, 0, TABLE + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
	desc(f, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad(f, 0);
	/* More buffers than a request may carry. */
	for (i = 0; i <= VMM_VIRTQ_MAX_SEGS; i++)
		desc_at(f, TABLE, i, BUF, 1, VIRTQ_DESC_F_NEXT,
			(uint16_t)(i + 1));
	desc_at(f, TABLE, VMM_VIRTQ_MAX_SEGS, BUF, 1, 0, 0);
	desc(f, 0, TABLE, 16 * (VMM_VIRTQ_MAX_SEGS + 1), VIRTQ_DESC_F_INDIRECT, 0);
	expect_bad(f, 0);
	desc_at(f, TABLE, VMM_VIRTQ_MAX_SEGS - 1, BUF, 1, 0, 0);
	desc(f, 0, TABLE, 16 * VMM_VIRTQ_MAX_SEGS, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(f, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->req.nseg, VMM_VIRTQ_MAX_SEGS);
}

/* 2.6.5.2: a chain carries at most 2^32 - 1 bytes, counted over both
 * parts (256 buffers of 16 MiB reach 2^32 exactly). */
static void virtq_chain_over_4gib(void **state)
{
	struct fx *f = *state;
	struct vmm_guest_mem big = { calloc(1, 32u << 20), 32u << 20 };
	struct vmm_virtq q;
	struct fx g = *f;
	unsigned i;

	assert_non_null(big.base);
	g.mem = big;
	assert_int_equal(vmm_virtq_setup(&q, &g.mem, QSIZE, DESC, AVAIL, USED), 0);
	for (i = 0; i < 256; i++)
		desc_at(&g, TABLE, i, 0, 16u << 20,
			VIRTQ_DESC_F_NEXT | (i >= 128 ? VIRTQ_DESC_F_WRITE : 0),
			(uint16_t)(i + 1));
	desc_at(&g, TABLE, 255, 0, 16u << 20, VIRTQ_DESC_F_WRITE, 0);
	desc_at(&g, DESC, 0, TABLE, 16 * 256, VIRTQ_DESC_F_INDIRECT, 0);
	put16(&g, AVAIL + 2, 1);
	assert_int_equal(vmm_virtq_pop(&q, &f->req), -EINVAL);
	/* One byte less is fine. */
	desc_at(&g, TABLE, 255, 0, (16u << 20) - 1, VIRTQ_DESC_F_WRITE, 0);
	assert_int_equal(vmm_virtq_pop(&q, &f->req), 1);
	assert_int_equal(f->req.read_len + f->req.write_len, UINT32_MAX);
	free(big.base);
}

static void virtq_avail_index_runaway(void **state)
{
	struct fx *f = *state;

	desc(f, 0, BUF, 16, 0, 0);
	put16(f, AVAIL + 2, QSIZE + 1);		/* more than the ring holds */
	assert_int_equal(pop(f), -EINVAL);
	put16(f, AVAIL + 2, 0xffff);		/* "backwards" */
	assert_int_equal(pop(f), -EINVAL);
	put16(f, AVAIL + 2, QSIZE);		/* a full ring is fine */
	assert_int_equal(pop(f), 1);
}

/* Indices wrap at 65536, entries at the ring size. */
static void virtq_index_wraparound(void **state)
{
	struct fx *f = *state;
	unsigned i;

	desc(f, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(f, 1, BUF + 16, 1, VIRTQ_DESC_F_WRITE, 0);
	for (i = 0; i < 70000; i++) {
		make_avail(f, 0);
		assert_int_equal(pop(f), 1);
		vmm_virtq_push(&f->q, 0, (uint32_t)i);
		assert_int_equal(get16(f, USED + 2), (uint16_t)(i + 1));
		assert_int_equal(get32(f, USED + 8 + 8 * (i % QSIZE)), i);
	}
	assert_int_equal(pop(f), 0);
}

/* Random rings and descriptors: never a crash, never outside RAM. */
static void virtq_random_garbage(void **state)
{
	struct fx *f = *state;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned i, j;

	for (i = 0; i < 3000; i++) {
		for (j = 0; j < 16; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* Mostly inside RAM, sometimes anywhere. */
			uint64_t a = (x & 0x10) ? x : (x >> 20) % (RAM + 64);

			desc(f, j % QSIZE, a, (uint32_t)((x >> 40) % 0x3000),
			     (uint16_t)((x >> 8) & 7), (uint16_t)((x >> 30) % 12));
			desc_at(f, TABLE, j, (x >> 24) % RAM, (uint32_t)(x >> 48),
				(uint16_t)((x >> 12) & 7), (uint16_t)((x >> 34) % 20));
		}
		put16(f, AVAIL + 4 + 2 * (i % QSIZE), (uint16_t)((x >> 5) % 10));
		put16(f, AVAIL + 2, (uint16_t)(f->q.last_avail + 1));
		if (pop(f) == 1) {
			uint8_t junk[64] = { 0 };

			vmm_virtq_copy_to(&f->req, x % 64, junk, sizeof(junk));
			vmm_virtq_copy_from(&f->req, x % 64, junk, sizeof(junk));
			vmm_virtq_push(&f->q, f->req.head, 0);
		} else {
			f->q.last_avail++;	/* skip it */
		}
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(virtq_direct_chain_and_used_ring),
		T(virtq_indirect_table),
		T(virtq_copy_across_segments),
		T(virtq_setup_checks_rings),
		T(virtq_hostile_addresses_and_lengths),
		T(virtq_hostile_loops),
		T(virtq_hostile_indirect),
		T(virtq_chain_over_4gib),
		T(virtq_avail_index_runaway),
		T(virtq_index_wraparound),
		T(virtq_random_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
