/*
 * vmm_acpi_pm: the ACPI fixed hardware the FADT (acpi.h) points at: the
 * PM1a event and control blocks, the reset register and the SCI.
 *
 * Environment: the runner, through the port-I/O bus, serialised by the
 * caller; vmm_acpi_press_power_button from the runner under the same lock.
 *
 *   port         register                           width
 *   0x600-0x601  PM1a_STS (PM1_EVT_BLK)             16
 *   0x602-0x603  PM1a_EN                            16
 *   0x604-0x605  PM1a_CNT (PM1_CNT_BLK)             16
 *   0x606-0x607  reserved
 *   0x608        reset register (RESET_REG)          8
 *   0x609-0x60f  reserved (0x60c: room for a PM timer, PM_TMR_BLK)
 *
 * Reserved bytes read 0 and ignore writes. The data path is one byte wide:
 * a 16-bit access reaches the device as two byte accesses, low byte first,
 * which is enough because SLP_TYP and SLP_EN share PM1_CNT's high byte.
 *
 * The SCI is IRQ 9, level-triggered and active high on the 8259 (Linux
 * programs the ELCR for it): set_irq(opaque, 1) while any status bit has
 * its enable bit set, set_irq(opaque, 0) when the guest clears it.
 *
 * Only the power button makes events. The guest ends the VM by writing
 * SLP_TYP = 5 (VMM_ACPI_SLP_TYP_S5, the value \_S5 names in the DSDT) with
 * SLP_EN; any other sleep type "wakes" at once (WAK_STS set), so a guest
 * trying S1-S4 anyway does not spin forever. A write with bit 2 (RST_CPU,
 * as in the 0xcf9 reset control register of Intel chipsets) to the reset
 * register resets; the FADT gives the value 0x06.
 */
#ifndef VMM_ACPI_PM_H
#define VMM_ACPI_PM_H

#include <stdint.h>

#include "vmm/bus.h"

#define VMM_ACPI_PM_BASE	0x600
#define VMM_ACPI_PM_LEN		0x10
#define VMM_ACPI_PM1_STS	0x0	/* offsets in the block */
#define VMM_ACPI_PM1_EN		0x2
#define VMM_ACPI_PM1_CNT	0x4
#define VMM_ACPI_RESET		0x8

#define VMM_ACPI_PM1_EVT_BLK	(VMM_ACPI_PM_BASE + VMM_ACPI_PM1_STS)
#define VMM_ACPI_PM1_EVT_LEN	4	/* STS + EN */
#define VMM_ACPI_PM1_CNT_BLK	(VMM_ACPI_PM_BASE + VMM_ACPI_PM1_CNT)
#define VMM_ACPI_PM1_CNT_LEN	2
#define VMM_ACPI_RESET_PORT	(VMM_ACPI_PM_BASE + VMM_ACPI_RESET)
#define VMM_ACPI_RESET_VALUE	0x06	/* what the FADT tells the OS to write */
#define VMM_ACPI_SCI_IRQ	9
#define VMM_ACPI_SLP_TYP_S5	5

/* PM1_STS (write 1 to clear) and PM1_EN bits (ACPI 6.5, "PM1 Status
 * Registers" and "PM1 Enable Registers"). */
#define ACPI_PM1_TMR		0x0001
#define ACPI_PM1_BM_STS		0x0010
#define ACPI_PM1_GBL		0x0020
#define ACPI_PM1_PWRBTN		0x0100
#define ACPI_PM1_SLPBTN		0x0200
#define ACPI_PM1_RTC		0x0400
#define ACPI_PM1_PCIEXP_WAKE	0x4000	/* _STS; in PM1_EN, _DIS */
#define ACPI_PM1_WAK_STS	0x8000

/* PM1_CNT bits (ACPI 6.5, "PM1 Control Registers"). */
#define ACPI_PM1_SCI_EN		0x0001
#define ACPI_PM1_BM_RLD		0x0002
#define ACPI_PM1_GBL_RLS	0x0004
#define ACPI_PM1_SLP_TYP_SHIFT	10
#define ACPI_PM1_SLP_TYP	0x1c00
#define ACPI_PM1_SLP_EN		0x2000

struct vmm_acpi_pm_cb {
	/* SCI (IRQ 9) level. May be NULL. */
	void (*set_irq)(void *opaque, int level);
	/* The guest entered S5. Called inside its port write: record the
	 * request and end the VM after the exit. May be NULL. */
	void (*poweroff)(void *opaque);
	/* The guest wrote the reset register. Same rules. May be NULL. */
	void (*reset)(void *opaque);
	void *opaque;
};

struct vmm_acpi_pm_state {
	uint16_t sts;		/* PM1_STS: PWRBTN_STS, WAK_STS can be set */
	uint16_t en;		/* PM1_EN */
	uint16_t cnt;		/* PM1_CNT as stored: BM_RLD, bit 9, SLP_TYP */
	uint8_t sci_level;
};

struct vmm_acpi_pm {
	struct vmm_acpi_pm_state s;
	struct vmm_acpi_pm_cb cb;
};

extern const struct vmm_dev_ops vmm_acpi_pm_ops;

/* Power-on state: everything clear, SCI low. cb may be NULL. */
void vmm_acpi_pm_init(struct vmm_acpi_pm *pm, const struct vmm_acpi_pm_cb *cb);

/* Claims VMM_ACPI_PM_BASE .. + VMM_ACPI_PM_LEN on the port bus. */
int vmm_acpi_pm_register(struct vmm_acpi_pm *pm, struct vmm_bus *pio,
			 struct vx_err *err);

/* The host pressed the power button: PWRBTN_STS is set, and the SCI
 * rises if the guest enabled it (Linux's button driver does). */
void vmm_acpi_press_power_button(struct vmm_acpi_pm *pm);

#endif
