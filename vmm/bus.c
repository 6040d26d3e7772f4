/*
 * vmm_bus: address-range dispatch for port I/O and MMIO (see bus.h).
 *
 * Ranges live in one array sorted by base; lookups are a binary search. A
 * PC has a few dozen ranges, registered once, so insertion by memmove is
 * fine.
 */
#include "vmm/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define VMM_PIO_SPACE	0x10000ull

void vmm_bus_init(struct vmm_bus *bus, enum vmm_bus_kind kind)
{
	memset(bus, 0, sizeof(*bus));
	bus->kind = kind;
}

void vmm_bus_destroy(struct vmm_bus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->nranges = bus->cap = 0;
}

/* Address one past the last (0 for MMIO: the full 2^64 space). */
static int vmm_bus_in_space(const struct vmm_bus *bus, uint64_t base,
			    uint64_t len)
{
	if (len == 0)
		return 0;
	if (bus->kind == VMM_BUS_PIO)
		return base < VMM_PIO_SPACE && len <= VMM_PIO_SPACE - base;
	return base + (len - 1) >= base;	/* no wrap past 2^64 - 1 */
}

static unsigned vmm_bus_max_size(const struct vmm_bus *bus)
{
	return bus->kind == VMM_BUS_PIO ? 4 : 8;
}

/* Index of the first range whose base is > addr. */
static size_t vmm_bus_upper(const struct vmm_bus *bus, uint64_t addr)
{
	size_t lo = 0, hi = bus->nranges;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (bus->ranges[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct vmm_bus_range *vmm_bus_find(const struct vmm_bus *bus,
					 uint64_t addr)
{
	size_t i = vmm_bus_upper(bus, addr);
	const struct vmm_bus_range *r;

	if (i == 0)
		return NULL;
	r = &bus->ranges[i - 1];
	return addr - r->base < r->len ? r : NULL;
}

int vmm_bus_register(struct vmm_bus *bus, uint64_t base, uint64_t len,
		     const struct vmm_dev_ops *ops, void *opaque,
		     const char *name, struct vx_err *err)
{
	const char *what = bus->kind == VMM_BUS_PIO ? "port" : "mmio";
	size_t i;

	if (!name)
		name = "?";
	if (!ops || !ops->read || !ops->write ||
	    (ops->width != 0 && ops->width != 1 && ops->width != 2 &&
	     ops->width != 4 && ops->width != 8) ||
	    ops->width > vmm_bus_max_size(bus))
		return vx_err_set(err, -EINVAL, "%s bus: %s: bad device ops",
				  what, name);
	if (!vmm_bus_in_space(bus, base, len))
		return vx_err_set(err, -EINVAL,
				  "%s bus: %s: range 0x%llx+0x%llx outside the address space",
				  what, name, (unsigned long long)base,
				  (unsigned long long)len);

	i = vmm_bus_upper(bus, base);
	/* The predecessor may reach into us; the successor may start inside. */
	if (i > 0 && base - bus->ranges[i - 1].base < bus->ranges[i - 1].len)
		i--;
	else if (!(i < bus->nranges && bus->ranges[i].base - base < len))
		i = SIZE_MAX;
	if (i != SIZE_MAX) {
		const struct vmm_bus_range *o = &bus->ranges[i];

		return vx_err_set(err, -EEXIST,
				  "%s bus: %s at 0x%llx+0x%llx overlaps %s at 0x%llx+0x%llx",
				  what, name, (unsigned long long)base,
				  (unsigned long long)len, o->name,
				  (unsigned long long)o->base,
				  (unsigned long long)o->len);
	}

	if (bus->nranges == bus->cap) {
		size_t ncap = bus->cap ? bus->cap * 2 : 16;
		struct vmm_bus_range *n = realloc(bus->ranges, ncap * sizeof(*n));

		if (!n)
			return vx_err_set(err, -ENOMEM, "%s bus: out of memory",
					  what);
		bus->ranges = n;
		bus->cap = ncap;
	}
	i = vmm_bus_upper(bus, base);
	memmove(&bus->ranges[i + 1], &bus->ranges[i],
		(bus->nranges - i) * sizeof(bus->ranges[0]));
	bus->ranges[i] = (struct vmm_bus_range){
		.base = base, .len = len, .ops = ops, .opaque = opaque,
		.name = name,
	};
	bus->nranges++;
	return 0;
}

int vmm_bus_unregister(struct vmm_bus *bus, uint64_t base)
{
	size_t i = vmm_bus_upper(bus, base);

	if (i == 0 || bus->ranges[i - 1].base != base)
		return -ENOENT;
	i--;
	memmove(&bus->ranges[i], &bus->ranges[i + 1],
		(bus->nranges - i - 1) * sizeof(bus->ranges[0]));
	bus->nranges--;
	return 0;
}

static int vmm_bus_check(const struct vmm_bus *bus, uint64_t addr,
			 unsigned size)
{
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return -EINVAL;
	if (size > vmm_bus_max_size(bus))
		return -EINVAL;
	return vmm_bus_in_space(bus, addr, size) ? 0 : -EINVAL;
}

static unsigned vmm_dev_width(const struct vmm_bus *bus,
			      const struct vmm_bus_range *r)
{
	return r->ops->width ? r->ops->width : vmm_bus_max_size(bus);
}

/*
 * Largest piece of the access [addr, addr + size) that one device call can
 * carry: within the range, no wider than its data path, a power of two.
 */
static unsigned vmm_bus_piece(const struct vmm_bus *bus,
			      const struct vmm_bus_range *r, uint64_t addr,
			      unsigned size)
{
	unsigned piece = 8, width = vmm_dev_width(bus, r);
	uint64_t left = r->len - (addr - r->base);

	while (piece > size || piece > width || piece > left)
		piece /= 2;
	return piece;
}

/* Bytes up to the next claimed range (or the whole rest), capped at size. */
static unsigned vmm_bus_gap(const struct vmm_bus *bus, uint64_t addr,
			    unsigned size)
{
	size_t i = vmm_bus_upper(bus, addr);
	uint64_t gap;

	if (i == bus->nranges)
		return size;
	gap = bus->ranges[i].base - addr;
	return gap < size ? (unsigned)gap : size;
}

int vmm_bus_read(struct vmm_bus *bus, uint64_t addr, unsigned size,
		 uint64_t *val)
{
	uint64_t out = 0;
	unsigned done = 0;
	int rc = vmm_bus_check(bus, addr, size);

	if (rc)
		return rc;
	while (done < size) {
		uint64_t a = addr + done, v;
		const struct vmm_bus_range *r = vmm_bus_find(bus, a);
		unsigned n;

		if (r) {
			n = vmm_bus_piece(bus, r, a, size - done);
			v = r->ops->read(r->opaque, a - r->base, n);
		} else {
			n = vmm_bus_gap(bus, a, size - done);
			v = ~0ull;
		}
		if (n < 8)
			v &= (1ull << (n * 8)) - 1;
		out |= v << (done * 8);
		done += n;
	}
	*val = out;
	return 0;
}

int vmm_bus_write(struct vmm_bus *bus, uint64_t addr, unsigned size,
		  uint64_t val)
{
	unsigned done = 0;
	int rc = vmm_bus_check(bus, addr, size);

	if (rc)
		return rc;
	while (done < size) {
		uint64_t a = addr + done, v = done < 8 ? val >> (done * 8) : 0;
		const struct vmm_bus_range *r = vmm_bus_find(bus, a);
		unsigned n;

		if (r) {
			n = vmm_bus_piece(bus, r, a, size - done);
			if (n < 8)
				v &= (1ull << (n * 8)) - 1;
			r->ops->write(r->opaque, a - r->base, n, v);
		} else {
			n = vmm_bus_gap(bus, a, size - done);
		}
		done += n;
	}
	return 0;
}

/* One access between the bus and len little-endian bytes at buf. */
static int vmm_bus_xfer(struct vmm_bus *bus, int is_write, uint64_t addr,
			unsigned len, uint8_t *buf)
{
	uint64_t v = 0;
	unsigned i;
	int rc;

	if (is_write) {
		for (i = 0; i < len && i < 8; i++)
			v |= (uint64_t)buf[i] << (8 * i);
		return vmm_bus_write(bus, addr, len, v);
	}
	rc = vmm_bus_read(bus, addr, len, &v);
	if (rc)
		return rc;
	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(v >> (8 * i));
	return 0;
}

int vmm_bus_pio(struct vmm_bus *bus, int is_write, uint16_t port,
		unsigned size, uint32_t count, uint8_t *buf)
{
	uint32_t i;
	int rc;

	if (bus->kind != VMM_BUS_PIO)
		return -EINVAL;
	rc = vmm_bus_check(bus, port, size);
	if (rc)
		return rc;
	for (i = 0; i < count; i++) {
		rc = vmm_bus_xfer(bus, is_write, port, size,
				  buf + (size_t)i * size);
		if (rc)
			return rc;
	}
	return 0;
}

int vmm_bus_mmio(struct vmm_bus *bus, int is_write, uint64_t addr,
		 unsigned len, uint8_t *buf)
{
	if (bus->kind != VMM_BUS_MMIO)
		return -EINVAL;
	return vmm_bus_xfer(bus, is_write, addr, len, buf);
}
