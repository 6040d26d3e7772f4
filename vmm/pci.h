/*
 * vmm_pci: PCI bus 0 of the guest, reached through configuration mechanism
 * #1 (PCI Local Bus 3.0, 3.2.2.3.2): a dword address register at port
 * 0xcf8 (bit 31 enable, bus 23:16, device 15:11, function 10:8, register
 * 7:2) and a data window at 0xcfc-0xcff taking byte, word and dword
 * accesses.
 *
 * Environment: the runner, through the port-I/O bus, serialised by the
 * caller. A configuration write can move or (un)map a device's memory BARs,
 * which (un)registers ranges on the MMIO bus: the runner must hold the MMIO
 * bus's lock too while it dispatches port I/O to 0xcf8-0xcff (one lock for
 * both buses does it).
 *
 * Bus 0 only, function 0 only, no I/O BARs, no expansion ROM. Slot 0 is a
 * host bridge that says i440FX (8086:1237, class 06 00 00), which is what
 * Linux's pci_sanity_check looks for. Every other slot reads as all ones
 * until a device is added there.
 *
 * Firmware duty done here: vmm_pci_add gives each memory BAR a naturally
 * aligned address in the PCI hole [VMM_PCI_MMIO_BASE, VMM_PCI_MMIO_END),
 * turns memory decoding on and presets the interrupt line, so a guest with
 * no BIOS (and Linux with no ACPI or $PIR table) keeps what it finds.
 */
#ifndef VMM_PCI_H
#define VMM_PCI_H

#include <stdint.h>

#include "vmm/bus.h"

#define VMM_PCI_CONFIG_PORT	0xcf8	/* 8 ports: address, then data */
#define VMM_PCI_CONFIG_NPORTS	8

/* The 32-bit PCI hole: guest RAM must end below it. It stops short of the
 * IOAPIC (0xfec00000), the LAPIC (0xfee00000) and the BIOS flash. */
#define VMM_PCI_MMIO_BASE	0xc0000000ull
#define VMM_PCI_MMIO_END	0xfec00000ull	/* exclusive */

#define VMM_PCI_SLOTS		32
#define VMM_PCI_NBARS		6
#define VMM_PCI_CFG_SIZE	256

/* Configuration header (type 0) offsets. */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define PCI_STATUS		0x06
#define PCI_REVISION_ID		0x08
#define PCI_CLASS_PROG		0x09
#define PCI_CLASS_DEVICE	0x0a
#define PCI_HEADER_TYPE		0x0e
#define PCI_BASE_ADDRESS_0	0x10
#define PCI_SUBSYSTEM_VENDOR_ID	0x2c
#define PCI_SUBSYSTEM_ID	0x2e
#define PCI_ROM_ADDRESS		0x30
#define PCI_CAPABILITY_LIST	0x34
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d

#define PCI_COMMAND_IO		0x0001
#define PCI_COMMAND_MEMORY	0x0002
#define PCI_COMMAND_MASTER	0x0004
#define PCI_COMMAND_SERR	0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400

#define PCI_STATUS_INTERRUPT	0x0008
#define PCI_STATUS_CAP_LIST	0x0010

#define PCI_BASE_ADDRESS_MEM_TYPE_64	0x04

#define PCI_CAP_ID_VNDR		0x09
#define PCI_CAP_START		0x40	/* first byte after the header */

struct vmm_pci;

/* A memory BAR: the device's register block, size a power of two. */
struct vmm_pci_bar {
	uint64_t size;			/* 0: BAR not implemented */
	int is64;			/* takes this BAR and the next */
	const struct vmm_dev_ops *ops;	/* offsets are from the BAR's base */
	void *opaque;
	const char *name;
	int mapped;			/* registered on the MMIO bus */
	uint64_t addr;			/* where, when mapped */
};

/* The interrupt a device's INTA# is wired to, chosen by the runner. */
struct vmm_pci_irq {
	void (*set_irq)(void *opaque, int level);	/* may be NULL */
	void *opaque;
	uint8_t line;			/* preset in the interrupt line register */
};

struct vmm_pci_dev {
	uint8_t cfg[VMM_PCI_CFG_SIZE];
	uint8_t wmask[VMM_PCI_CFG_SIZE];	/* bits the guest may write */
	uint8_t w1cmask[VMM_PCI_CFG_SIZE];	/* bits a 1 clears (status) */
	struct vmm_pci_bar bar[VMM_PCI_NBARS];
	uint8_t cap_end;		/* where the next capability goes */
	int irq_level;			/* INTA# as the device drives it */
	int irq_out;			/* as last given to set_irq */
	struct vmm_pci_irq irq;
	/* Called after a BAR was mapped, moved or unmapped (may be NULL). */
	void (*bar_changed)(void *opaque, int bar, int mapped, uint64_t addr);
	/* Registers of the device's own in configuration space (may be
	 * NULL): cfg_read may refresh cfg[] before [reg, reg + size) is
	 * read; cfg_write is told after a write went through the masks. */
	void (*cfg_read)(void *opaque, unsigned reg, unsigned size);
	void (*cfg_write)(void *opaque, unsigned reg, unsigned size);
	void *opaque;			/* of the three callbacks */
	struct vmm_pci *bus;		/* set by vmm_pci_add */
};

struct vmm_pci {
	struct vmm_bus *mmio;
	uint32_t addr;			/* CONFIG_ADDRESS */
	uint64_t mmio_next;		/* BAR placement in the hole */
	struct vmm_pci_dev host;
	struct vmm_pci_dev *slot[VMM_PCI_SLOTS];
};

extern const struct vmm_dev_ops vmm_pci_config_ops;

/* An empty bus with the host bridge at slot 0; BARs map onto mmio. */
void vmm_pci_init(struct vmm_pci *pci, struct vmm_bus *mmio);
/* Claims ports 0xcf8-0xcff. */
int vmm_pci_register(struct vmm_pci *pci, struct vmm_bus *pio,
		     struct vx_err *err);
/* Unmaps every BAR (the port range goes with the port bus). */
void vmm_pci_destroy(struct vmm_pci *pci);

/*
 * A device's configuration header: ids, class (base << 16 | sub << 8 |
 * prog-if), revision, subsystem ids; command and BARs writable as a PCI
 * device's are, interrupt pin A.
 */
void vmm_pci_dev_init(struct vmm_pci_dev *dev, uint16_t vendor,
		      uint16_t device, uint32_t class_code, uint8_t revision,
		      uint16_t subsys_vendor, uint16_t subsys_id);
/* Declares memory BAR n (n + 1 too when is64). -EINVAL when size is not a
 * power of two >= 16, n is out of range or taken. */
int vmm_pci_dev_add_bar(struct vmm_pci_dev *dev, int n, uint64_t size,
			int is64, const struct vmm_dev_ops *ops, void *opaque,
			const char *name);
/* Appends a capability of len bytes (cap[0] = id, cap[1] is overwritten
 * with the link). Returns its offset in config space, or -ENOSPC. */
int vmm_pci_dev_add_cap(struct vmm_pci_dev *dev, const uint8_t *cap,
			uint8_t len);

/*
 * Puts a device at slot (1-31): places its BARs in the hole, enables memory
 * decoding (mapping them on the MMIO bus) and wires INTA#. -EINVAL for a
 * bad slot, -EEXIST when taken, -ENOSPC when the hole is full, or what
 * vmm_bus_register says.
 */
int vmm_pci_add(struct vmm_pci *pci, int slot, struct vmm_pci_dev *dev,
		const struct vmm_pci_irq *irq, struct vx_err *err);

/* Configuration space accesses as the data window makes them; reg + size
 * <= 256, size 1, 2 or 4. */
uint32_t vmm_pci_cfg_read(struct vmm_pci_dev *dev, unsigned reg,
			  unsigned size);
void vmm_pci_cfg_write(struct vmm_pci_dev *dev, unsigned reg, unsigned size,
		       uint32_t val);

/* The device drives INTA# (level-triggered; shows in status bit 3 and
 * reaches set_irq unless the command register's INTx disable is set). */
void vmm_pci_set_irq(struct vmm_pci_dev *dev, int level);

#endif
