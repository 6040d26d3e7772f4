/*
 * vmm_bus: the port-I/O and MMIO address spaces of a guest, and the devices
 * that claim ranges of them.
 *
 * Environment: the runner process, any vCPU thread. A bus is not locked: the
 * runner serialises accesses to one bus (and so to its devices), as kvmtool
 * does with its ioport lock. Registration happens before the vCPUs run.
 *
 * What a PC does, so what a guest gets:
 *   - an access no device claims reads as all ones and its writes are lost;
 *   - an access wider than a device's data path (an inw on an 8-bit ISA
 *     device) reaches it as several accesses of its width, lowest address
 *     first, composed little-endian;
 *   - an access that straddles the end of a device's range is split the same
 *     way, each piece going to whatever claims its address.
 * So a device's read/write is only ever called with 0 <= offset,
 * offset + size <= len, and size a power of two no wider than ops->width.
 */
#ifndef VMM_BUS_H
#define VMM_BUS_H

#include <stddef.h>
#include <stdint.h>

#include "vx_err.h"

/* A device's side of an access. offset is from the start of its range. */
struct vmm_dev_ops {
	/* Returns the value read (only the low size*8 bits are used). */
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, unsigned size, uint64_t val);
	/* Data path width in bytes (1, 2, 4 or 8); wider accesses are split.
	 * 0 means the bus's widest access (4 for port I/O, 8 for MMIO). */
	unsigned width;
};

enum vmm_bus_kind {
	VMM_BUS_PIO,	/* 64 KiB of ports, accesses of 1, 2 or 4 bytes */
	VMM_BUS_MMIO,	/* 64-bit addresses, accesses of 1, 2, 4 or 8 bytes */
};

struct vmm_bus_range {
	uint64_t base;			/* first address claimed */
	uint64_t len;			/* bytes claimed, >= 1 */
	const struct vmm_dev_ops *ops;
	void *opaque;			/* first argument of ops */
	const char *name;		/* for messages and dumps; not copied */
};

struct vmm_bus {
	enum vmm_bus_kind kind;
	struct vmm_bus_range *ranges;	/* sorted by base, never overlapping */
	size_t nranges;
	size_t cap;
};

void vmm_bus_init(struct vmm_bus *bus, enum vmm_bus_kind kind);
void vmm_bus_destroy(struct vmm_bus *bus);

/*
 * Claims [base, base + len) for a device. Returns 0; -EINVAL for an empty
 * range, one past the end of the address space or bad ops; -EEXIST when it
 * overlaps a range already claimed (the message names both); -ENOMEM.
 */
int vmm_bus_register(struct vmm_bus *bus, uint64_t base, uint64_t len,
		     const struct vmm_dev_ops *ops, void *opaque,
		     const char *name, struct vx_err *err);

/* Releases the range that starts at base. Returns 0 or -ENOENT. */
int vmm_bus_unregister(struct vmm_bus *bus, uint64_t base);

/* The range containing addr, or NULL. */
const struct vmm_bus_range *vmm_bus_find(const struct vmm_bus *bus,
					 uint64_t addr);

/*
 * One guest access, as the exit handler sees it. Returns 0 (claimed or not:
 * an unclaimed read gives all ones), or -EINVAL when size is not a size this
 * bus carries (1/2/4 for port I/O, also 8 for MMIO) or the access runs off
 * the end of the address space: a runner bug, not something a guest can do.
 * *val is zero-extended from size bytes.
 */
int vmm_bus_read(struct vmm_bus *bus, uint64_t addr, unsigned size,
		 uint64_t *val);
int vmm_bus_write(struct vmm_bus *bus, uint64_t addr, unsigned size,
		  uint64_t val);

/*
 * An exit as the driver reports it (struct vmxcore_run, io and mmio): the
 * data moves between the device and buf, little-endian, in the layout of
 * run.io_data and run.mmio.data. For port I/O, count accesses of size
 * bytes to the same port (REP INS/OUTS), buf holding count * size bytes;
 * the caller has checked that buf lies inside the run page. Returns 0, or
 * -EINVAL as vmm_bus_read (stopping at the bad access, none made).
 */
int vmm_bus_pio(struct vmm_bus *bus, int is_write, uint16_t port,
		unsigned size, uint32_t count, uint8_t *buf);
int vmm_bus_mmio(struct vmm_bus *bus, int is_write, uint64_t addr,
		 unsigned len, uint8_t *buf);

#endif
