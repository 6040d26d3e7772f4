/* Unit tests for vmm/bus.c: registration, dispatch, splitting, holes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/bus.h"

/* A device that records every call and reads back offset-derived bytes. */
struct rec {
	unsigned nreads, nwrites;
	uint64_t last_off, last_val;
	unsigned last_size;
	uint8_t mem[64];
};

static uint64_t rec_read(void *opaque, uint64_t off, unsigned size)
{
	struct rec *r = opaque;
	uint64_t v = 0;
	unsigned i;

	assert_true(size == 1 || size == 2 || size == 4 || size == 8);
	assert_true(off + size <= sizeof(r->mem));
	r->nreads++;
	r->last_off = off;
	r->last_size = size;
	for (i = 0; i < size; i++)
		v |= (uint64_t)r->mem[off + i] << (8 * i);
	return v;
}

static void rec_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct rec *r = opaque;
	unsigned i;

	assert_true(off + size <= sizeof(r->mem));
	r->nwrites++;
	r->last_off = off;
	r->last_size = size;
	r->last_val = val;
	for (i = 0; i < size; i++)
		r->mem[off + i] = (uint8_t)(val >> (8 * i));
}

static const struct vmm_dev_ops rec_ops8 = { rec_read, rec_write, 1 };
static const struct vmm_dev_ops rec_ops32 = { rec_read, rec_write, 4 };
static const struct vmm_dev_ops rec_ops_any = { rec_read, rec_write, 0 };

static void rec_fill(struct rec *r)
{
	unsigned i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < sizeof(r->mem); i++)
		r->mem[i] = (uint8_t)(0x10 + i);
}

static void bus_unclaimed_reads_all_ones(void **state)
{
	struct vmm_bus bus;
	uint64_t v = 0;

	(void)state;
	vmm_bus_init(&bus, VMM_BUS_PIO);
	assert_int_equal(vmm_bus_read(&bus, 0x80, 1, &v), 0);
	assert_int_equal(v, 0xff);
	assert_int_equal(vmm_bus_read(&bus, 0x1234, 2, &v), 0);
	assert_int_equal(v, 0xffff);
	assert_int_equal(vmm_bus_read(&bus, 0xfffc, 4, &v), 0);
	assert_int_equal(v, 0xffffffffu);
	assert_int_equal(vmm_bus_write(&bus, 0x80, 1, 0x55), 0);
	vmm_bus_destroy(&bus);

	vmm_bus_init(&bus, VMM_BUS_MMIO);
	assert_int_equal(vmm_bus_read(&bus, 0xfee00000, 8, &v), 0);
	assert_true(v == UINT64_MAX);
	vmm_bus_destroy(&bus);
}

static void bus_dispatch_offset_and_size(void **state)
{
	struct vmm_bus bus;
	struct rec r;
	uint64_t v;

	(void)state;
	rec_fill(&r);
	vmm_bus_init(&bus, VMM_BUS_PIO);
	assert_int_equal(vmm_bus_register(&bus, 0xcf8, 8, &rec_ops32, &r,
					  "pci", NULL), 0);
	assert_int_equal(vmm_bus_read(&bus, 0xcfc, 4, &v), 0);
	assert_int_equal(r.last_off, 4);
	assert_int_equal(r.last_size, 4);
	assert_int_equal(v, 0x17161514);
	assert_int_equal(vmm_bus_write(&bus, 0xcf8, 2, 0xbeef), 0);
	assert_int_equal(r.last_off, 0);
	assert_int_equal(r.last_size, 2);
	assert_int_equal(r.last_val, 0xbeef);
	assert_ptr_equal(vmm_bus_find(&bus, 0xcff)->opaque, &r);
	assert_null(vmm_bus_find(&bus, 0xd00));
	assert_null(vmm_bus_find(&bus, 0xcf7));
	vmm_bus_destroy(&bus);
}

static void bus_wide_access_split_for_byte_device(void **state)
{
	struct vmm_bus bus;
	struct rec r;
	uint64_t v;

	(void)state;
	rec_fill(&r);
	vmm_bus_init(&bus, VMM_BUS_PIO);
	assert_int_equal(vmm_bus_register(&bus, 0x3f8, 8, &rec_ops8, &r,
					  "uart", NULL), 0);
	assert_int_equal(vmm_bus_read(&bus, 0x3f8, 4, &v), 0);
	assert_int_equal(r.nreads, 4);
	assert_int_equal(r.last_size, 1);
	assert_int_equal(r.last_off, 3);
	assert_int_equal(v, 0x13121110);
	assert_int_equal(vmm_bus_write(&bus, 0x3fa, 2, 0xa1b2), 0);
	assert_int_equal(r.nwrites, 2);
	assert_int_equal(r.mem[2], 0xb2);
	assert_int_equal(r.mem[3], 0xa1);
	vmm_bus_destroy(&bus);
}

static void bus_straddling_access_split_across_hole(void **state)
{
	struct vmm_bus bus;
	struct rec a, b;
	uint64_t v;

	(void)state;
	rec_fill(&a);
	rec_fill(&b);
	vmm_bus_init(&bus, VMM_BUS_PIO);
	assert_int_equal(vmm_bus_register(&bus, 0x100, 2, &rec_ops_any, &a,
					  "a", NULL), 0);
	assert_int_equal(vmm_bus_register(&bus, 0x103, 1, &rec_ops_any, &b,
					  "b", NULL), 0);
	/* 0x101 from a, 0x102 unclaimed, 0x103 from b, 0x104 unclaimed. */
	assert_int_equal(vmm_bus_read(&bus, 0x101, 4, &v), 0);
	assert_int_equal(v, 0xff10ff11u);
	assert_int_equal(vmm_bus_write(&bus, 0x101, 4, 0x44332211), 0);
	assert_int_equal(a.mem[1], 0x11);
	assert_int_equal(b.mem[0], 0x33);
	assert_int_equal(a.nwrites, 1);
	assert_int_equal(b.nwrites, 1);
	vmm_bus_destroy(&bus);
}

static void bus_overlap_refused(void **state)
{
	struct vmm_bus bus;
	struct rec r;
	struct vx_err err;

	(void)state;
	rec_fill(&r);
	vmm_bus_init(&bus, VMM_BUS_PIO);
	assert_int_equal(vmm_bus_register(&bus, 0x60, 1, &rec_ops8, &r, "kbd",
					  NULL), 0);
	assert_int_equal(vmm_bus_register(&bus, 0x64, 1, &rec_ops8, &r, "kbd",
					  NULL), 0);
	assert_int_equal(vmm_bus_register(&bus, 0x5e, 3, &rec_ops8, &r, "x",
					  &err), -EEXIST);
	assert_non_null(strstr(err.msg, "overlaps kbd at 0x60"));
	assert_int_equal(vmm_bus_register(&bus, 0x60, 1, &rec_ops8, &r, "x",
					  NULL), -EEXIST);
	assert_int_equal(vmm_bus_register(&bus, 0x50, 0x100, &rec_ops8, &r,
					  "x", NULL), -EEXIST);
	assert_int_equal(vmm_bus_register(&bus, 0x64, 4, &rec_ops8, &r, "x",
					  NULL), -EEXIST);
	/* Neighbours touching but not overlapping are fine. */
	assert_int_equal(vmm_bus_register(&bus, 0x61, 3, &rec_ops8, &r, "x",
					  NULL), 0);
	assert_int_equal(vmm_bus_register(&bus, 0x65, 1, &rec_ops8, &r, "y",
					  NULL), 0);
	assert_int_equal(bus.nranges, 4);
	assert_int_equal(vmm_bus_unregister(&bus, 0x61), 0);
	assert_int_equal(vmm_bus_unregister(&bus, 0x61), -ENOENT);
	assert_int_equal(vmm_bus_register(&bus, 0x62, 1, &rec_ops8, &r, "z",
					  NULL), 0);
	vmm_bus_destroy(&bus);
}

static void bus_bad_registration_refused(void **state)
{
	struct vmm_bus bus;
	struct rec r;
	const struct vmm_dev_ops noread = { NULL, rec_write, 1 };
	const struct vmm_dev_ops badw = { rec_read, rec_write, 3 };
	const struct vmm_dev_ops wide = { rec_read, rec_write, 8 };

	(void)state;
	vmm_bus_init(&bus, VMM_BUS_PIO);
	assert_int_equal(vmm_bus_register(&bus, 0, 0, &rec_ops8, &r, "e",
					  NULL), -EINVAL);
	assert_int_equal(vmm_bus_register(&bus, 0xffff, 2, &rec_ops8, &r, "e",
					  NULL), -EINVAL);
	assert_int_equal(vmm_bus_register(&bus, 0x10000, 1, &rec_ops8, &r,
					  "e", NULL), -EINVAL);
	assert_int_equal(vmm_bus_register(&bus, 0, 1, NULL, &r, "e", NULL),
			 -EINVAL);
	assert_int_equal(vmm_bus_register(&bus, 0, 1, &noread, &r, "e", NULL),
			 -EINVAL);
	assert_int_equal(vmm_bus_register(&bus, 0, 1, &badw, &r, "e", NULL),
			 -EINVAL);
	assert_int_equal(vmm_bus_register(&bus, 0, 1, &wide, &r, "e", NULL),
			 -EINVAL);
	assert_int_equal(vmm_bus_register(&bus, 0xffff, 1, &rec_ops8, &r, "e",
					  NULL), 0);
	vmm_bus_destroy(&bus);

	vmm_bus_init(&bus, VMM_BUS_MMIO);
	assert_int_equal(vmm_bus_register(&bus, UINT64_MAX, 2, &rec_ops8, &r,
					  "e", NULL), -EINVAL);
	assert_int_equal(vmm_bus_register(&bus, UINT64_MAX - 7, 8, &wide, &r,
					  "e", NULL), 0);
	vmm_bus_destroy(&bus);
}

static void bus_bad_access_size_is_einval(void **state)
{
	struct vmm_bus bus;
	uint64_t v;

	(void)state;
	vmm_bus_init(&bus, VMM_BUS_PIO);
	assert_int_equal(vmm_bus_read(&bus, 0x80, 3, &v), -EINVAL);
	assert_int_equal(vmm_bus_read(&bus, 0x80, 8, &v), -EINVAL);
	assert_int_equal(vmm_bus_read(&bus, 0x80, 0, &v), -EINVAL);
	assert_int_equal(vmm_bus_write(&bus, 0xffff, 2, 0), -EINVAL);
	vmm_bus_destroy(&bus);
}

/* Every port, every size, over a bus full of byte devices: no crash, and
 * the bytes come back in the right order. */
static void bus_every_port_every_size_safe(void **state)
{
	struct vmm_bus bus;
	struct rec r[16];
	unsigned i, port, sizes[3] = { 1, 2, 4 }, s;
	uint64_t v;

	(void)state;
	vmm_bus_init(&bus, VMM_BUS_PIO);
	for (i = 0; i < 16; i++) {
		rec_fill(&r[i]);
		assert_int_equal(vmm_bus_register(&bus, i * 0x1000 + 0x10,
						  i + 1,
						  i % 2 ? &rec_ops8 : &rec_ops_any,
						  &r[i], "r", NULL), 0);
	}
	for (port = 0; port < 0x10000; port++)
		for (s = 0; s < 3; s++) {
			if (port + sizes[s] > 0x10000) {
				assert_int_equal(vmm_bus_read(&bus, port,
							      sizes[s], &v),
						 -EINVAL);
				continue;
			}
			assert_int_equal(vmm_bus_read(&bus, port, sizes[s],
						      &v), 0);
			assert_int_equal(vmm_bus_write(&bus, port, sizes[s],
						       v), 0);
		}
	/* Writing back what was read changed nothing. */
	for (i = 0; i < 16; i++)
		assert_int_equal(r[i].mem[0], 0x10);
	vmm_bus_destroy(&bus);
}

/* REP OUTSB / INSW as the driver hands them over in run.io_data. */
static void bus_pio_string_io(void **state)
{
	struct vmm_bus bus;
	struct rec r;
	uint8_t buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	(void)state;
	rec_fill(&r);
	vmm_bus_init(&bus, VMM_BUS_PIO);
	assert_int_equal(vmm_bus_register(&bus, 0x1f0, 8, &rec_ops_any, &r,
					  "ide", NULL), 0);
	assert_int_equal(vmm_bus_pio(&bus, 1, 0x1f0, 1, 5, buf), 0);
	assert_int_equal(r.nwrites, 5);
	assert_int_equal(r.mem[0], 5);		/* last one wins */
	assert_int_equal(vmm_bus_pio(&bus, 0, 0x1f2, 2, 4, buf), 0);
	assert_int_equal(r.nreads, 4);
	assert_int_equal(buf[0], 0x12);
	assert_int_equal(buf[1], 0x13);
	assert_int_equal(buf[6], 0x12);
	assert_int_equal(buf[7], 0x13);
	assert_int_equal(vmm_bus_pio(&bus, 0, 0x80, 4, 1, buf), 0);
	assert_int_equal(buf[3], 0xff);
	assert_int_equal(vmm_bus_pio(&bus, 0, 0x80, 3, 1, buf), -EINVAL);
	assert_int_equal(vmm_bus_pio(&bus, 0, 0xffff, 2, 1, buf), -EINVAL);
	assert_int_equal(vmm_bus_pio(&bus, 0, 0x1f0, 1, 0, buf), 0);
	assert_int_equal(vmm_bus_mmio(&bus, 0, 0x1f0, 1, buf), -EINVAL);
	vmm_bus_destroy(&bus);
}

static void bus_mmio_exit_data(void **state)
{
	struct vmm_bus bus;
	struct rec r;
	uint8_t data[8] = { 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x11, 0x22 };

	(void)state;
	rec_fill(&r);
	vmm_bus_init(&bus, VMM_BUS_MMIO);
	assert_int_equal(vmm_bus_register(&bus, 0xfebf0000, 64, &rec_ops_any,
					  &r, "virtio", NULL), 0);
	assert_int_equal(vmm_bus_mmio(&bus, 1, 0xfebf0008, 8, data), 0);
	assert_int_equal(r.last_size, 8);
	assert_true(r.last_val == 0x2211ffeeddccbbaaull);
	memset(data, 0, sizeof(data));
	assert_int_equal(vmm_bus_mmio(&bus, 0, 0xfebf000c, 2, data), 0);
	assert_int_equal(data[0], 0xee);
	assert_int_equal(data[1], 0xff);
	assert_int_equal(data[2], 0);
	assert_int_equal(vmm_bus_mmio(&bus, 0, 0xfec00000, 4, data), 0);
	assert_int_equal(data[0], 0xff);
	assert_int_equal(vmm_bus_mmio(&bus, 0, 0xfec00000, 16, data), -EINVAL);
	assert_int_equal(vmm_bus_pio(&bus, 0, 0x80, 1, 1, data), -EINVAL);
	vmm_bus_destroy(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bus_unclaimed_reads_all_ones),
		cmocka_unit_test(bus_dispatch_offset_and_size),
		cmocka_unit_test(bus_wide_access_split_for_byte_device),
		cmocka_unit_test(bus_straddling_access_split_across_hole),
		cmocka_unit_test(bus_overlap_refused),
		cmocka_unit_test(bus_bad_registration_refused),
		cmocka_unit_test(bus_bad_access_size_is_einval),
		cmocka_unit_test(bus_every_port_every_size_safe),
		cmocka_unit_test(bus_pio_string_io),
		cmocka_unit_test(bus_mmio_exit_data),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
