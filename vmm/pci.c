/*
 * vmm_pci: configuration mechanism #1, bus 0 (see pci.h).
 *
 * Each device's configuration space is 256 bytes of plain data with two
 * masks beside it: which bits a write may change, and which bits a 1
 * clears. A BAR's writable bits are its address bits above its size, so
 * the sizing dance (write all ones, read back) falls out of the masks.
 * After a write that touches the command register or a BAR, every BAR's
 * mapping on the MMIO bus is brought in line with what the header says.
 */
#include "vmm/pci.h"
#include "vmm/devstate.h"

#include <errno.h>
#include <string.h>

#define PCI_ADDR_ENABLE		0x80000000u
#define PCI_ADDR_MASK		0x80fffffcu	/* 30:24 and 1:0 reserved */

static uint32_t vmm_pci_get(const uint8_t *p, unsigned size)
{
	uint32_t v = 0;
	unsigned i;

	for (i = 0; i < size; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void vmm_pci_put(uint8_t *p, unsigned size, uint32_t v)
{
	unsigned i;

	for (i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Sets bytes of both the value and the write mask. */
static void vmm_pci_set(struct vmm_pci_dev *dev, unsigned reg, unsigned size,
			uint32_t val, uint32_t wmask)
{
	vmm_pci_put(&dev->cfg[reg], size, val);
	vmm_pci_put(&dev->wmask[reg], size, wmask);
}

void vmm_pci_dev_init(struct vmm_pci_dev *dev, uint16_t vendor,
		      uint16_t device, uint32_t class_code, uint8_t revision,
		      uint16_t subsys_vendor, uint16_t subsys_id)
{
	memset(dev, 0, sizeof(*dev));
	vmm_pci_set(dev, PCI_VENDOR_ID, 2, vendor, 0);
	vmm_pci_set(dev, PCI_DEVICE_ID, 2, device, 0);
	vmm_pci_set(dev, PCI_COMMAND, 2, 0,
		    PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
		    PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
	/* Status error bits are write-one-to-clear; we never set them. */
	vmm_pci_put(&dev->w1cmask[PCI_STATUS], 2, 0xf900);
	vmm_pci_set(dev, PCI_REVISION_ID, 1, revision, 0);
	vmm_pci_set(dev, PCI_CLASS_PROG, 3, class_code, 0);
	vmm_pci_set(dev, PCI_SUBSYSTEM_VENDOR_ID, 2, subsys_vendor, 0);
	vmm_pci_set(dev, PCI_SUBSYSTEM_ID, 2, subsys_id, 0);
	vmm_pci_set(dev, PCI_INTERRUPT_LINE, 1, 0xff, 0xff);	/* unknown */
	vmm_pci_set(dev, PCI_INTERRUPT_PIN, 1, 1, 0);		/* INTA# */
	dev->cap_end = PCI_CAP_START;
}

static int vmm_pci_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

int vmm_pci_dev_add_bar(struct vmm_pci_dev *dev, int n, uint64_t size,
			int is64, const struct vmm_dev_ops *ops, void *opaque,
			const char *name)
{
	unsigned reg = PCI_BASE_ADDRESS_0 + 4 * (unsigned)n;
	uint64_t mask = ~(size - 1);

	if (n < 0 || n + !!is64 >= VMM_PCI_NBARS || !vmm_pci_pow2(size) ||
	    size < 16 || (!is64 && size > 0x80000000ull) || !ops ||
	    dev->bar[n].size || (is64 && dev->bar[n + 1].size))
		return -EINVAL;
	dev->bar[n] = (struct vmm_pci_bar){
		.size = size, .is64 = !!is64, .ops = ops, .opaque = opaque,
		.name = name,
	};
	/* Bits 3:0 say memory, 32/64-bit, not prefetchable: read-only. */
	vmm_pci_set(dev, reg, 4, is64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0,
		    (uint32_t)mask & ~0xfu);
	if (is64) {
		vmm_pci_set(dev, reg + 4, 4, 0, (uint32_t)(mask >> 32));
		dev->bar[n + 1].size = 0;
	}
	return 0;
}

int vmm_pci_dev_add_cap(struct vmm_pci_dev *dev, const uint8_t *cap,
			uint8_t len)
{
	unsigned off = dev->cap_end, p;

	if (len < 2 || off + len > VMM_PCI_CFG_SIZE)
		return -ENOSPC;
	memcpy(&dev->cfg[off], cap, len);
	dev->cfg[off + 1] = 0;
	/* Link from the end of the list. */
	p = PCI_CAPABILITY_LIST;
	while (dev->cfg[p])
		p = dev->cfg[p] + 1u;
	dev->cfg[p] = (uint8_t)off;
	dev->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	dev->cap_end = (uint8_t)((off + len + 3u) & ~3u);
	if (off + len > 0xfc)		/* no room after this one */
		dev->cap_end = 0xfc;
	return (int)off;
}

static uint16_t vmm_pci_command(const struct vmm_pci_dev *dev)
{
	return (uint16_t)vmm_pci_get(&dev->cfg[PCI_COMMAND], 2);
}

/* The address BAR n decodes, or 0 when it decodes nothing. */
static uint64_t vmm_pci_bar_addr(const struct vmm_pci_dev *dev, int n)
{
	unsigned reg = PCI_BASE_ADDRESS_0 + 4 * (unsigned)n;
	uint64_t a;

	if (!(vmm_pci_command(dev) & PCI_COMMAND_MEMORY))
		return 0;
	a = vmm_pci_get(&dev->cfg[reg], 4) & ~0xfull;
	if (dev->bar[n].is64)
		a |= (uint64_t)vmm_pci_get(&dev->cfg[reg + 4], 4) << 32;
	/* Address 0 means "unassigned" to firmware and Linux alike. */
	return a;
}

static void vmm_pci_bar_changed(struct vmm_pci_dev *dev, int n)
{
	if (dev->bar_changed)
		dev->bar_changed(dev->opaque, n, dev->bar[n].mapped,
				 dev->bar[n].addr);
}

/* Brings BAR n's MMIO range in line with the header. A range that cannot
 * be registered (it overlaps another device, or wraps) stays unmapped, as
 * on a bus where two devices would fight over the cycle. */
static void vmm_pci_map_bar(struct vmm_pci_dev *dev, int n)
{
	struct vmm_pci_bar *b = &dev->bar[n];
	uint64_t a = vmm_pci_bar_addr(dev, n);
	int changed = 0;

	if (b->mapped && b->addr == a)
		return;
	if (b->mapped) {
		vmm_bus_unregister(dev->bus->mmio, b->addr);
		b->mapped = 0;
		changed = 1;
	}
	if (a && !vmm_bus_register(dev->bus->mmio, a, b->size, b->ops,
				   b->opaque, b->name, NULL)) {
		b->mapped = 1;
		b->addr = a;
		changed = 1;
	}
	if (changed)
		vmm_pci_bar_changed(dev, n);
}

static void vmm_pci_map_bars(struct vmm_pci_dev *dev)
{
	int n;

	if (!dev->bus || !dev->bus->mmio)
		return;
	/* Unmap first so that two BARs swapping places both succeed. */
	for (n = 0; n < VMM_PCI_NBARS; n++)
		if (dev->bar[n].mapped &&
		    vmm_pci_bar_addr(dev, n) != dev->bar[n].addr) {
			vmm_bus_unregister(dev->bus->mmio, dev->bar[n].addr);
			dev->bar[n].mapped = 0;
			vmm_pci_bar_changed(dev, n);
		}
	for (n = 0; n < VMM_PCI_NBARS; n++)
		if (dev->bar[n].size)
			vmm_pci_map_bar(dev, n);
}

/* INTA# after the INTx disable bit (PCI 2.3). */
static void vmm_pci_update_irq(struct vmm_pci_dev *dev)
{
	int out = dev->irq_level &&
		  !(vmm_pci_command(dev) & PCI_COMMAND_INTX_DISABLE);

	if (dev->irq_level)
		dev->cfg[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		dev->cfg[PCI_STATUS] &= (uint8_t)~PCI_STATUS_INTERRUPT;
	if (out == dev->irq_out)
		return;
	dev->irq_out = out;
	if (dev->irq.set_irq)
		dev->irq.set_irq(dev->irq.opaque, out);
}

void vmm_pci_set_irq(struct vmm_pci_dev *dev, int level)
{
	dev->irq_level = !!level;
	vmm_pci_update_irq(dev);
}

uint32_t vmm_pci_cfg_read(struct vmm_pci_dev *dev, unsigned reg,
			  unsigned size)
{
	if (reg >= VMM_PCI_CFG_SIZE || size > VMM_PCI_CFG_SIZE - reg)
		return 0xffffffffu;
	if (dev->cfg_read)
		dev->cfg_read(dev->opaque, reg, size);
	return vmm_pci_get(&dev->cfg[reg], size);
}

void vmm_pci_cfg_write(struct vmm_pci_dev *dev, unsigned reg, unsigned size,
		       uint32_t val)
{
	unsigned i;

	if (reg >= VMM_PCI_CFG_SIZE || size > VMM_PCI_CFG_SIZE - reg)
		return;
	for (i = 0; i < size; i++) {
		uint8_t v = (uint8_t)(val >> (8 * i));
		unsigned r = reg + i;

		dev->cfg[r] = (uint8_t)((dev->cfg[r] & ~dev->wmask[r]) |
					(v & dev->wmask[r]));
		dev->cfg[r] &= (uint8_t)~(v & dev->w1cmask[r]);
	}
	/* Command (0x04-0x05) or BARs (0x10-0x27) touched: remap. */
	if ((reg < PCI_COMMAND + 2 && reg + size > PCI_COMMAND) ||
	    (reg < PCI_BASE_ADDRESS_0 + 24 && reg + size > PCI_BASE_ADDRESS_0))
		vmm_pci_map_bars(dev);
	if (reg < PCI_COMMAND + 2 && reg + size > PCI_COMMAND)
		vmm_pci_update_irq(dev);
	if (dev->cfg_write)
		dev->cfg_write(dev->opaque, reg, size);
}

/* The device CONFIG_ADDRESS selects, or NULL (reads all ones). */
static struct vmm_pci_dev *vmm_pci_selected(struct vmm_pci *pci)
{
	uint32_t a = pci->addr;

	if (!(a & PCI_ADDR_ENABLE) || ((a >> 16) & 0xff) != 0 ||
	    ((a >> 8) & 7) != 0)
		return NULL;
	return pci->slot[(a >> 11) & 0x1f];
}

static uint64_t vmm_pci_config_read(void *opaque, uint64_t offset,
				    unsigned size)
{
	struct vmm_pci *pci = opaque;
	struct vmm_pci_dev *dev;

	if (offset == 0 && size == 4)
		return pci->addr;
	/* Byte and word cycles to 0xcf8-0xcfb are not config cycles. */
	if (offset < 4)
		return 0xffffffffu;
	dev = vmm_pci_selected(pci);
	if (!dev)
		return 0xffffffffu;
	return vmm_pci_cfg_read(dev, (pci->addr & 0xfc) + (unsigned)offset - 4,
				size);
}

static void vmm_pci_config_write(void *opaque, uint64_t offset,
				 unsigned size, uint64_t val)
{
	struct vmm_pci *pci = opaque;
	struct vmm_pci_dev *dev;

	if (offset == 0 && size == 4) {
		pci->addr = (uint32_t)val & PCI_ADDR_MASK;
		return;
	}
	if (offset < 4)
		return;
	dev = vmm_pci_selected(pci);
	if (dev)
		vmm_pci_cfg_write(dev,
				  (pci->addr & 0xfc) + (unsigned)offset - 4,
				  size, (uint32_t)val);
}

const struct vmm_dev_ops vmm_pci_config_ops = {
	.read = vmm_pci_config_read,
	.write = vmm_pci_config_write,
	.width = 4,
};

void vmm_pci_init(struct vmm_pci *pci, struct vmm_bus *mmio)
{
	memset(pci, 0, sizeof(*pci));
	pci->mmio = mmio;
	pci->mmio_next = VMM_PCI_MMIO_BASE;
	/* Host bridge: no BARs, no interrupt; memory decoding always on. */
	vmm_pci_dev_init(&pci->host, 0x8086, 0x1237, 0x060000, 0x02, 0, 0);
	vmm_pci_set(&pci->host, PCI_COMMAND, 2,
		    PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 0);
	vmm_pci_set(&pci->host, PCI_INTERRUPT_LINE, 2, 0, 0);
	pci->host.bus = pci;
	pci->slot[0] = &pci->host;
}

int vmm_pci_register(struct vmm_pci *pci, struct vmm_bus *pio,
		     struct vx_err *err)
{
	return vmm_bus_register(pio, VMM_PCI_CONFIG_PORT, VMM_PCI_CONFIG_NPORTS,
				&vmm_pci_config_ops, pci, "pci-config", err);
}

/* Naturally aligned room for each BAR, biggest first would pack better;
 * a handful of small BARs do not need it. */
static int vmm_pci_place_bars(struct vmm_pci *pci, struct vmm_pci_dev *dev)
{
	uint64_t next = pci->mmio_next;
	int n;

	for (n = 0; n < VMM_PCI_NBARS; n++) {
		struct vmm_pci_bar *b = &dev->bar[n];
		unsigned reg = PCI_BASE_ADDRESS_0 + 4 * (unsigned)n;
		uint64_t a;

		if (!b->size)
			continue;
		a = (next + b->size - 1) & ~(b->size - 1);
		if (a < next || a > VMM_PCI_MMIO_END ||
		    b->size > VMM_PCI_MMIO_END - a)
			return -ENOSPC;
		vmm_pci_put(&dev->cfg[reg], 4, (uint32_t)a |
			    (b->is64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0));
		if (b->is64)
			vmm_pci_put(&dev->cfg[reg + 4], 4, (uint32_t)(a >> 32));
		next = a + b->size;
	}
	pci->mmio_next = next;
	return 0;
}

static void vmm_pci_unmap_all(struct vmm_pci *pci, struct vmm_pci_dev *dev)
{
	int n;

	for (n = 0; n < VMM_PCI_NBARS; n++)
		if (dev->bar[n].mapped) {
			vmm_bus_unregister(pci->mmio, dev->bar[n].addr);
			dev->bar[n].mapped = 0;
		}
}

void vmm_pci_destroy(struct vmm_pci *pci)
{
	int s;

	for (s = 0; s < VMM_PCI_SLOTS; s++) {
		if (pci->slot[s])
			vmm_pci_unmap_all(pci, pci->slot[s]);
		pci->slot[s] = NULL;
	}
}

int vmm_pci_add(struct vmm_pci *pci, int slot, struct vmm_pci_dev *dev,
		const struct vmm_pci_irq *irq, struct vx_err *err)
{
	uint64_t next = pci->mmio_next;
	int n;

	if (slot <= 0 || slot >= VMM_PCI_SLOTS)
		return vx_err_set(err, -EINVAL, "pci: bad slot %d", slot);
	if (pci->slot[slot])
		return vx_err_set(err, -EEXIST, "pci: slot %d is taken", slot);
	if (vmm_pci_place_bars(pci, dev))
		return vx_err_set(err, -ENOSPC,
				  "pci: no room in the PCI hole for slot %d",
				  slot);
	if (irq) {
		dev->irq = *irq;
		dev->cfg[PCI_INTERRUPT_LINE] = irq->line;
	}
	dev->bus = pci;
	pci->slot[slot] = dev;
	/* What firmware leaves behind: memory decoding on. */
	dev->cfg[PCI_COMMAND] |= PCI_COMMAND_MEMORY;
	vmm_pci_map_bars(dev);
	for (n = 0; n < VMM_PCI_NBARS; n++) {
		if (!dev->bar[n].size || dev->bar[n].mapped)
			continue;
		vmm_pci_unmap_all(pci, dev);
		pci->slot[slot] = NULL;
		pci->mmio_next = next;
		return vx_err_set(err, -EEXIST,
				  "pci: slot %d: BAR %d at 0x%llx overlaps another MMIO range",
				  slot, n,
				  (unsigned long long)vmm_pci_bar_addr(dev, n));
	}
	return 0;
}

/* ---- state file (devstate.h) ---- */

void vmm_pci_dev_save(const struct vmm_pci_dev *dev, struct vmm_snap_w *w)
{
	vmm_snap_put_bytes(w, dev->cfg, VMM_PCI_CFG_SIZE);
	vmm_snap_put_u8(w, (uint8_t)dev->irq_level);
}

/*
 * Reads a function's space from r and checks it is this function: the
 * bytes the guest cannot write (ids, class, capabilities) must be ours.
 * The device-maintained status bit (INTERRUPT) and the PCI_CFG window's
 * data, which the device refreshes, are writable or recomputed.
 */
int vmm_pci_dev_check(const struct vmm_pci_dev *dev, struct vmm_snap_r *r,
		      uint8_t cfg[VMM_PCI_CFG_SIZE], int *irq_level, struct vx_err *err)
{
	uint8_t lvl;

	vmm_snap_get_bytes(r, cfg, VMM_PCI_CFG_SIZE);
	lvl = vmm_snap_get_u8(r);
	if (r->short_read)
		return vx_err_set(err, -EBADMSG, "state file: PCI function truncated");
	if (lvl > 1)
		return vx_err_set(err, -EBADMSG, "state file: PCI INTA# level %u", lvl);
	for (unsigned i = 0; i < PCI_COMMAND; i++)
		if (cfg[i] != dev->cfg[i])
			return vx_err_set(err, -EINVAL,
					  "state file: PCI function %04x:%04x is not this machine's %04x:%04x",
					  cfg[0] | cfg[1] << 8, cfg[2] | cfg[3] << 8,
					  dev->cfg[0] | dev->cfg[1] << 8,
					  dev->cfg[2] | dev->cfg[3] << 8);
	for (unsigned i = PCI_REVISION_ID; i < PCI_REVISION_ID + 4; i++)
		if (cfg[i] != dev->cfg[i])
			return vx_err_set(err, -EINVAL,
					  "state file: PCI function class/revision differ");
	*irq_level = lvl;
	return 0;
}

/* Takes the guest-writable bits of cfg, then maps the BARs where it says
 * and sets INTA# without telling the interrupt controller (its own state
 * comes from the same file). */
void vmm_pci_dev_apply(struct vmm_pci_dev *dev, const uint8_t cfg[VMM_PCI_CFG_SIZE],
		       int irq_level)
{
	for (unsigned i = 0; i < VMM_PCI_CFG_SIZE; i++) {
		uint8_t keep = (uint8_t)~(dev->wmask[i] | dev->w1cmask[i]);

		dev->cfg[i] = (uint8_t)((dev->cfg[i] & keep) | (cfg[i] & ~keep));
	}
	vmm_pci_map_bars(dev);
	dev->irq_level = irq_level;
	if (irq_level)
		dev->cfg[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		dev->cfg[PCI_STATUS] &= (uint8_t)~PCI_STATUS_INTERRUPT;
	dev->irq_out = irq_level && !(vmm_pci_command(dev) & PCI_COMMAND_INTX_DISABLE);
}

void vmm_pci_save(const struct vmm_pci *pci, struct vmm_snap_w *w)
{
	vmm_snap_put_u32(w, pci->addr);
	vmm_pci_dev_save(&pci->host, w);
}

int vmm_pci_load(struct vmm_pci *pci, const void *p, size_t len, struct vx_err *err)
{
	uint8_t cfg[VMM_PCI_CFG_SIZE];
	struct vmm_snap_r r;
	uint32_t addr;
	int lvl, rc;

	vmm_snap_r_init(&r, p, len);
	addr = vmm_snap_get_u32(&r);
	if ((rc = vmm_pci_dev_check(&pci->host, &r, cfg, &lvl, err)) ||
	    (rc = vmm_snap_r_done(&r, "PCI", err)))
		return rc;
	pci->addr = addr;
	vmm_pci_dev_apply(&pci->host, cfg, lvl);
	return 0;
}
