/* Unit tests for vmm/pci.c, driven through ports 0xcf8-0xcff the way
 * Linux's arch/x86/pci/direct.c probes and uses configuration mechanism
 * #1. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/bus.h"
#include "vmm/pci.h"
#include "tests/vmm/pio_fixture.h"

struct fx {
	struct pio_fixture io;
	struct vmm_bus mmio;
	struct vmm_pci pci;
	struct vmm_pci_dev dev;
	uint8_t regs[0x4000];		/* behind the device's BARs */
	int level, nlevel;
	int nchanged, last_bar, last_mapped;
	uint64_t last_addr;
};

static uint64_t fx_mmio_read(void *opaque, uint64_t off, unsigned size)
{
	struct fx *f = opaque;
	uint64_t v = 0;

	memcpy(&v, &f->regs[off], size);
	return v;
}

static void fx_mmio_write(void *opaque, uint64_t off, unsigned size,
			  uint64_t v)
{
	struct fx *f = opaque;

	memcpy(&f->regs[off], &v, size);
}

static const struct vmm_dev_ops fx_ops = { fx_mmio_read, fx_mmio_write, 8 };

static void fx_irq(void *opaque, int level)
{
	struct fx *f = opaque;

	f->level = level;
	f->nlevel++;
}

static void fx_bar_changed(void *opaque, int bar, int mapped, uint64_t addr)
{
	struct fx *f = opaque;

	f->nchanged++;
	f->last_bar = bar;
	f->last_mapped = mapped;
	f->last_addr = addr;
}

static int fx_setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	pio_fixture_init(&f.io, 0, 0);
	vmm_bus_init(&f.mmio, VMM_BUS_MMIO);
	vmm_pci_init(&f.pci, &f.mmio);
	if (vmm_pci_register(&f.pci, &f.io.bus, NULL))
		return -1;
	*state = &f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	vmm_pci_destroy(&f->pci);
	vmm_bus_destroy(&f->io.bus);
	vmm_bus_destroy(&f->mmio);
	return 0;
}

static uint32_t cfg_addr(unsigned bus, unsigned slot, unsigned fn,
			 unsigned reg)
{
	return 0x80000000u | bus << 16 | slot << 11 | fn << 8 | (reg & 0xfc);
}

/* As Linux's pci_conf1_read: address, then data at 0xcfc + (reg & 3). */
static uint32_t cfg_read(struct fx *f, unsigned slot, unsigned reg,
			 unsigned size)
{
	outl(&f->io, 0xcf8, cfg_addr(0, slot, 0, reg));
	return (uint32_t)pio_in(&f->io, 0xcfc + (reg & 3), size);
}

static void cfg_write(struct fx *f, unsigned slot, unsigned reg,
		      unsigned size, uint32_t v)
{
	outl(&f->io, 0xcf8, cfg_addr(0, slot, 0, reg));
	pio_out(&f->io, 0xcfc + (reg & 3), size, v);
}

/* A device with a 32-bit 4 KiB BAR 0 and a 64-bit 16 KiB BAR 2/3. */
static void fx_add_dev(struct fx *f, int slot)
{
	struct vmm_pci_irq irq = { fx_irq, f, 11 };

	vmm_pci_dev_init(&f->dev, 0x1234, 0x5678, 0x018000, 3, 0x1af4, 0x42);
	assert_int_equal(vmm_pci_dev_add_bar(&f->dev, 0, 0x1000, 0, &fx_ops,
					     f, "bar0"), 0);
	assert_int_equal(vmm_pci_dev_add_bar(&f->dev, 2, 0x4000, 1, &fx_ops,
					     f, "bar2"), 0);
	f->dev.bar_changed = fx_bar_changed;
	f->dev.opaque = f;
	assert_int_equal(vmm_pci_add(&f->pci, slot, &f->dev, &irq, NULL), 0);
}

/* arch/x86/pci/direct.c: pci_check_type1 and pci_sanity_check. */
static void pci_linux_type1_probe(void **state)
{
	struct fx *f = *state;
	uint32_t tmp;

	outb(&f->io, 0xcfb, 0x01);
	tmp = inl(&f->io, 0xcf8);
	outl(&f->io, 0xcf8, 0x80000000u);
	assert_int_equal(inl(&f->io, 0xcf8), 0x80000000u);
	outl(&f->io, 0xcf8, tmp);
	/* Reserved bits read back as zero. */
	outl(&f->io, 0xcf8, 0xffffffffu);
	assert_int_equal(inl(&f->io, 0xcf8), 0x80fffffcu);
	/* The sanity check: a host bridge among the devfns of bus 0. */
	assert_int_equal(cfg_read(f, 0, PCI_CLASS_DEVICE, 2), 0x0600);
}

static void pci_host_bridge_ids(void **state)
{
	struct fx *f = *state;

	assert_int_equal(cfg_read(f, 0, PCI_VENDOR_ID, 4), 0x12378086u);
	assert_int_equal(cfg_read(f, 0, PCI_VENDOR_ID, 2), 0x8086);
	assert_int_equal(cfg_read(f, 0, PCI_DEVICE_ID, 2), 0x1237);
	assert_int_equal(cfg_read(f, 0, PCI_DEVICE_ID + 1, 1), 0x12);
	assert_int_equal(cfg_read(f, 0, 0x08, 4) >> 8, 0x060000);
	assert_int_equal(cfg_read(f, 0, PCI_HEADER_TYPE, 1), 0);
	/* Ids are read-only. */
	cfg_write(f, 0, PCI_VENDOR_ID, 4, 0);
	assert_int_equal(cfg_read(f, 0, PCI_VENDOR_ID, 4), 0x12378086u);
	assert_int_equal(cfg_read(f, 0, PCI_BASE_ADDRESS_0, 4), 0);
}

static void pci_absent_reads_all_ones(void **state)
{
	struct fx *f = *state;
	unsigned slot;

	for (slot = 1; slot < 32; slot++) {
		assert_int_equal(cfg_read(f, slot, 0, 4), 0xffffffffu);
		assert_int_equal(cfg_read(f, slot, 2, 2), 0xffff);
		assert_int_equal(cfg_read(f, slot, 3, 1), 0xff);
		cfg_write(f, slot, 4, 4, 0x12345678);	/* dropped */
	}
	/* Function 1, bus 1, and the enable bit clear. */
	outl(&f->io, 0xcf8, cfg_addr(0, 0, 1, 0));
	assert_int_equal(inl(&f->io, 0xcfc), 0xffffffffu);
	outl(&f->io, 0xcf8, cfg_addr(1, 0, 0, 0));
	assert_int_equal(inl(&f->io, 0xcfc), 0xffffffffu);
	outl(&f->io, 0xcf8, 0x00000000u);
	assert_int_equal(inl(&f->io, 0xcfc), 0xffffffffu);
	/* Byte and word cycles at 0xcf8 are not the address register. */
	outl(&f->io, 0xcf8, cfg_addr(0, 0, 0, 0));
	outw(&f->io, 0xcf8, 0);
	outb(&f->io, 0xcf9, 0);
	assert_int_equal(inl(&f->io, 0xcf8), cfg_addr(0, 0, 0, 0));
	assert_int_equal(inw(&f->io, 0xcfa), 0xffff);
}

static void pci_device_header_and_interrupt_line(void **state)
{
	struct fx *f = *state;

	fx_add_dev(f, 3);
	assert_int_equal(cfg_read(f, 3, 0, 4), 0x56781234u);
	assert_int_equal(cfg_read(f, 3, 0x08, 4), 0x01800003u);
	assert_int_equal(cfg_read(f, 3, PCI_SUBSYSTEM_VENDOR_ID, 4),
			 0x00421af4u);
	assert_int_equal(cfg_read(f, 3, PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(cfg_read(f, 3, PCI_INTERRUPT_LINE, 1), 11);
	/* The line register is the OS's scratch; the pin is read-only. */
	cfg_write(f, 3, PCI_INTERRUPT_LINE, 2, 0x0405);
	assert_int_equal(cfg_read(f, 3, PCI_INTERRUPT_LINE, 2), 0x0105);
	/* Firmware left memory decoding on. */
	assert_int_equal(cfg_read(f, 3, PCI_COMMAND, 2), PCI_COMMAND_MEMORY);
	/* Unaligned word at 0xcfd: bytes 1-2 of the dword. */
	outl(&f->io, 0xcf8, cfg_addr(0, 3, 0, 0));
	assert_int_equal(inw(&f->io, 0xcfd), 0x7812);
	/* No expansion ROM. */
	cfg_write(f, 3, PCI_ROM_ADDRESS, 4, 0xffffffffu);
	assert_int_equal(cfg_read(f, 3, PCI_ROM_ADDRESS, 4), 0);
}

/* drivers/pci/probe.c __pci_read_base: decode off, all ones, read back. */
static void pci_bar_sizing(void **state)
{
	struct fx *f = *state;
	uint32_t l, h, orig0, orig2, orig3;
	uint64_t size;

	fx_add_dev(f, 4);
	orig0 = cfg_read(f, 4, 0x10, 4);
	orig2 = cfg_read(f, 4, 0x18, 4);
	orig3 = cfg_read(f, 4, 0x1c, 4);
	/* Preassigned in the hole, naturally aligned. */
	assert_true(orig0 >= VMM_PCI_MMIO_BASE && orig0 % 0x1000 == 0);
	assert_int_equal(orig2 & 0xf, PCI_BASE_ADDRESS_MEM_TYPE_64);
	assert_true((orig2 & ~0xfu) >= VMM_PCI_MMIO_BASE &&
		    (orig2 & ~0xfu) % 0x4000 == 0);
	assert_int_equal(orig3, 0);

	cfg_write(f, 4, PCI_COMMAND, 2, 0);
	cfg_write(f, 4, 0x10, 4, 0xffffffffu);
	l = cfg_read(f, 4, 0x10, 4);
	assert_int_equal(l, 0xfffff000u);
	cfg_write(f, 4, 0x10, 4, orig0);

	cfg_write(f, 4, 0x18, 4, 0xffffffffu);
	cfg_write(f, 4, 0x1c, 4, 0xffffffffu);
	l = cfg_read(f, 4, 0x18, 4);
	h = cfg_read(f, 4, 0x1c, 4);
	assert_int_equal(l, 0xffffc004u);
	assert_int_equal(h, 0xffffffffu);
	size = ~(((uint64_t)h << 32 | (l & ~0xfu))) + 1;
	assert_int_equal(size, 0x4000);
	cfg_write(f, 4, 0x18, 4, orig2);
	cfg_write(f, 4, 0x1c, 4, orig3);
	/* Unimplemented BARs read 0 whatever is written. */
	cfg_write(f, 4, 0x14, 4, 0xffffffffu);
	assert_int_equal(cfg_read(f, 4, 0x14, 4), 0);
	cfg_write(f, 4, 0x24, 4, 0xffffffffu);
	assert_int_equal(cfg_read(f, 4, 0x24, 4), 0);
	cfg_write(f, 4, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(cfg_read(f, 4, 0x10, 4), orig0);
}

static void pci_bar_move_and_decode(void **state)
{
	struct fx *f = *state;
	uint64_t v, a0, a2;

	fx_add_dev(f, 5);
	a0 = f->dev.bar[0].addr;
	a2 = f->dev.bar[2].addr;
	assert_true(f->dev.bar[0].mapped && f->dev.bar[2].mapped);
	assert_int_equal(f->nchanged, 2);
	assert_non_null(vmm_bus_find(&f->mmio, a0));
	assert_non_null(vmm_bus_find(&f->mmio, a2 + 0x3fff));

	/* MMIO through the bus reaches the device at its BAR offset. */
	assert_int_equal(vmm_bus_write(&f->mmio, a2 + 0x100, 4, 0xdeadbeef), 0);
	assert_int_equal(f->regs[0x100], 0xef);

	/* Memory decoding off: both ranges go. */
	cfg_write(f, 5, PCI_COMMAND, 2, 0);
	assert_false(f->dev.bar[0].mapped);
	assert_null(vmm_bus_find(&f->mmio, a0));
	assert_null(vmm_bus_find(&f->mmio, a2));
	assert_int_equal(vmm_bus_read(&f->mmio, a2 + 0x100, 4, &v), 0);
	assert_int_equal(v, 0xffffffffu);
	assert_int_equal(f->nchanged, 4);
	assert_int_equal(f->last_mapped, 0);

	/* Move the 64-bit BAR above 4 GiB, then turn decoding on. */
	cfg_write(f, 5, 0x18, 4, 0xd0000000u);
	cfg_write(f, 5, 0x1c, 4, 0x1);
	assert_int_equal(f->nchanged, 4);
	cfg_write(f, 5, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_true(f->dev.bar[2].mapped);
	assert_int_equal(f->dev.bar[2].addr, 0x1d0000000ull);
	assert_non_null(vmm_bus_find(&f->mmio, 0x1d0000000ull));
	assert_null(vmm_bus_find(&f->mmio, a2));
	assert_int_equal(vmm_bus_read(&f->mmio, 0x1d0000100ull, 4, &v), 0);
	assert_int_equal(v, 0xdeadbeef);

	/* Moving the 32-bit BAR while decoding: unmapped, then mapped. */
	f->nchanged = 0;
	cfg_write(f, 5, 0x10, 4, 0xc8000000u);
	assert_int_equal(f->nchanged, 2);
	assert_int_equal(f->last_bar, 0);
	assert_int_equal(f->last_mapped, 1);
	assert_int_equal(f->last_addr, 0xc8000000u);
	assert_null(vmm_bus_find(&f->mmio, a0));
	/* Onto the other BAR: the overlap stays unmapped, no crash. */
	cfg_write(f, 5, 0x10, 4, 0xd0000000u);
	cfg_write(f, 5, 0x1c, 4, 0);
	assert_true(f->dev.bar[0].mapped != f->dev.bar[2].mapped ||
		    f->dev.bar[0].mapped == 0);
	/* Address 0 means unassigned: never decoded. */
	cfg_write(f, 5, 0x10, 4, 0);
	assert_false(f->dev.bar[0].mapped);
	assert_null(vmm_bus_find(&f->mmio, 0));
}

static void pci_capability_list(void **state)
{
	struct fx *f = *state;
	uint8_t a[4] = { 0x09, 0xee, 4, 0x55 }, b[16] = { 0x09, 0, 16, 0x77 };
	unsigned p, n = 0;

	vmm_pci_dev_init(&f->dev, 0x1234, 0x5678, 0, 0, 0, 0);
	assert_int_equal(vmm_pci_dev_add_cap(&f->dev, a, sizeof(a)), 0x40);
	assert_int_equal(vmm_pci_dev_add_cap(&f->dev, b, sizeof(b)), 0x44);
	assert_int_equal(vmm_pci_add(&f->pci, 7, &f->dev, NULL, NULL), 0);
	assert_true(cfg_read(f, 7, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	for (p = cfg_read(f, 7, PCI_CAPABILITY_LIST, 1); p; n++) {
		assert_int_equal(cfg_read(f, 7, p, 1), 0x09);
		assert_int_equal(cfg_read(f, 7, p + 3, 1), n ? 0x77 : 0x55);
		p = cfg_read(f, 7, p + 1, 1);
	}
	assert_int_equal(n, 2);
	/* Capabilities are read-only. */
	cfg_write(f, 7, 0x40, 4, 0);
	assert_int_equal(cfg_read(f, 7, 0x40, 1), 0x09);
	/* Config space fills up rather than overflowing. */
	while (vmm_pci_dev_add_cap(&f->dev, b, sizeof(b)) > 0)
		n++;
	assert_true(n < 16);
}

static void pci_intx_and_disable(void **state)
{
	struct fx *f = *state;

	fx_add_dev(f, 2);
	vmm_pci_set_irq(&f->dev, 1);
	assert_int_equal(f->level, 1);
	assert_true(cfg_read(f, 2, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cfg_write(f, 2, PCI_COMMAND, 2,
		  PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(f->level, 0);
	assert_true(cfg_read(f, 2, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cfg_write(f, 2, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(f->level, 1);
	vmm_pci_set_irq(&f->dev, 0);
	assert_int_equal(f->level, 0);
	assert_false(cfg_read(f, 2, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* Status is write-one-to-clear; writing ones does not set. */
	cfg_write(f, 2, PCI_STATUS, 2, 0xffff);
	assert_int_equal(cfg_read(f, 2, PCI_STATUS, 2), 0);
}

static void pci_add_refuses_bad_slots(void **state)
{
	struct fx *f = *state;
	struct vmm_pci_dev d2;

	assert_int_equal(vmm_pci_add(&f->pci, 0, &f->dev, NULL, NULL), -EINVAL);
	assert_int_equal(vmm_pci_add(&f->pci, 32, &f->dev, NULL, NULL), -EINVAL);
	fx_add_dev(f, 9);
	vmm_pci_dev_init(&d2, 1, 2, 0, 0, 0, 0);
	assert_int_equal(vmm_pci_add(&f->pci, 9, &d2, NULL, NULL), -EEXIST);
	assert_int_equal(vmm_pci_dev_add_bar(&d2, 0, 0x1800, 0, &fx_ops, f,
					     "x"), -EINVAL);
	assert_int_equal(vmm_pci_dev_add_bar(&d2, 5, 0x1000, 1, &fx_ops, f,
					     "x"), -EINVAL);
}

static void pci_garbage_is_harmless(void **state)
{
	struct fx *f = *state;
	static const unsigned sz[3] = { 1, 2, 4 };
	uint32_t x = 12345;
	uint64_t v;
	int i;

	fx_add_dev(f, 1);
	for (i = 0; i < 50000; i++) {
		x = x * 1103515245u + 12345u;
		unsigned port = 0xcf8 + ((x >> 8) % 8);
		unsigned s = sz[(x >> 20) % 3];

		if (port + s > 0xd00)
			continue;
		if (i % 3 == 0)
			outl(&f->io, 0xcf8, 0x80000000u | ((x >> 4) & 0xfffc) |
				((x & 1) ? 0x800 : 0));
		else if ((x >> 24) & 1)
			assert_int_equal(vmm_bus_read(&f->io.bus, port, s, &v), 0);
		else
			assert_int_equal(vmm_bus_write(&f->io.bus, port, s,
						       x * 2654435761u), 0);
	}
	assert_int_equal(cfg_read(f, 0, 0, 4), 0x12378086u);
	assert_int_equal(cfg_read(f, 1, 0, 4), 0x56781234u);
	assert_int_equal(cfg_read(f, 1, PCI_INTERRUPT_PIN, 1), 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(pci_linux_type1_probe),
		T(pci_host_bridge_ids),
		T(pci_absent_reads_all_ones),
		T(pci_device_header_and_interrupt_line),
		T(pci_bar_sizing),
		T(pci_bar_move_and_decode),
		T(pci_capability_list),
		T(pci_intx_and_disable),
		T(pci_add_refuses_bad_slots),
		T(pci_garbage_is_harmless),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
