/*
 * vmm_acpi_pm: PM1a event/control blocks and the reset register (see
 * acpi_pm.h). Register semantics from the ACPI 6.5 specification, "Fixed
 * Hardware Programming Model"; Linux's users are ACPICA's hwregs.c and
 * hwsleep.c (acpi_hw_legacy_sleep) and evevent.c (fixed event dispatch).
 */
#include "vmm/acpi_pm.h"

#include <string.h>

/* PM1_EN bits that hold a value; the rest read 0. */
#define PM1_EN_MASK	(ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | \
			 ACPI_PM1_SLPBTN | ACPI_PM1_RTC | ACPI_PM1_PCIEXP_WAKE)
/* Status bits that raise the SCI when enabled (WAK_STS and
 * PCIEXP_WAKE_STS only wake a sleeping machine). */
#define PM1_SCI_MASK	(ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | \
			 ACPI_PM1_SLPBTN | ACPI_PM1_RTC)
/* PM1_CNT bits stored: BM_RLD, bit 9 (ignored, preserved by OSPM) and
 * SLP_TYP. SCI_EN always reads 1 (no legacy mode to leave, the FADT has
 * no SMI_CMD); GBL_RLS and SLP_EN are write-only. */
#define PM1_CNT_MASK	(ACPI_PM1_BM_RLD | 0x0200 | ACPI_PM1_SLP_TYP)

#define RESET_RST_CPU	0x04

static void vmm_acpi_pm_update_sci(struct vmm_acpi_pm *pm)
{
	int level = (pm->s.sts & pm->s.en & PM1_SCI_MASK) != 0;

	if (level != pm->s.sci_level) {
		pm->s.sci_level = (uint8_t)level;
		if (pm->cb.set_irq)
			pm->cb.set_irq(pm->cb.opaque, level);
	}
}

void vmm_acpi_pm_init(struct vmm_acpi_pm *pm, const struct vmm_acpi_pm_cb *cb)
{
	memset(pm, 0, sizeof(*pm));
	if (cb)
		pm->cb = *cb;
}

void vmm_acpi_press_power_button(struct vmm_acpi_pm *pm)
{
	pm->s.sts |= ACPI_PM1_PWRBTN;
	vmm_acpi_pm_update_sci(pm);
}

/* byte is 0 or 1, the lane of a 16-bit register. */
static uint8_t vmm_acpi_lane(uint16_t reg, unsigned byte)
{
	return (uint8_t)(reg >> (8 * byte));
}

static uint16_t vmm_acpi_set_lane(uint16_t reg, unsigned byte, uint8_t v)
{
	unsigned shift = 8 * byte;

	return (uint16_t)((reg & ~(0xffu << shift)) | (unsigned)v << shift);
}

/* SLP_EN was written with the SLP_TYP now in PM1_CNT. */
static void vmm_acpi_pm_sleep(struct vmm_acpi_pm *pm)
{
	unsigned typ = (pm->s.cnt & ACPI_PM1_SLP_TYP) >> ACPI_PM1_SLP_TYP_SHIFT;

	if (typ == VMM_ACPI_SLP_TYP_S5) {
		if (pm->cb.poweroff)
			pm->cb.poweroff(pm->cb.opaque);
		return;
	}
	/* No other sleep state exists: the machine wakes before it slept.
	 * ACPICA polls WAK_STS after S1-S3 (acpi_hw_legacy_sleep). */
	pm->s.sts |= ACPI_PM1_WAK_STS;
}

static uint64_t vmm_acpi_pm_read(void *opaque, uint64_t offset, unsigned size)
{
	struct vmm_acpi_pm *pm = opaque;
	unsigned byte = offset & 1;

	(void)size;
	switch (offset & ~1ull) {
	case VMM_ACPI_PM1_STS:
		return vmm_acpi_lane(pm->s.sts, byte);
	case VMM_ACPI_PM1_EN:
		return vmm_acpi_lane(pm->s.en, byte);
	case VMM_ACPI_PM1_CNT:
		return vmm_acpi_lane(pm->s.cnt | ACPI_PM1_SCI_EN, byte);
	default:
		return 0;	/* reserved; the reset register is write-only */
	}
}

static void vmm_acpi_pm_write_cnt(struct vmm_acpi_pm *pm, unsigned byte,
				  uint8_t v)
{
	uint16_t val = vmm_acpi_set_lane(pm->s.cnt, byte, v);

	pm->s.cnt = val & PM1_CNT_MASK;
	if (val & ACPI_PM1_SLP_EN)
		vmm_acpi_pm_sleep(pm);
}

static void vmm_acpi_pm_write(void *opaque, uint64_t offset, unsigned size,
			      uint64_t val)
{
	struct vmm_acpi_pm *pm = opaque;
	unsigned byte = offset & 1;
	uint8_t v = (uint8_t)val;

	(void)size;
	switch (offset) {
	case VMM_ACPI_PM1_STS:
	case VMM_ACPI_PM1_STS + 1:
		pm->s.sts &= (uint16_t)~((unsigned)v << (8 * byte));
		break;
	case VMM_ACPI_PM1_EN:
	case VMM_ACPI_PM1_EN + 1:
		pm->s.en = vmm_acpi_set_lane(pm->s.en, byte, v) & PM1_EN_MASK;
		break;
	case VMM_ACPI_PM1_CNT:
	case VMM_ACPI_PM1_CNT + 1:
		vmm_acpi_pm_write_cnt(pm, byte, v);
		break;
	case VMM_ACPI_RESET:
		if ((v & RESET_RST_CPU) && pm->cb.reset)
			pm->cb.reset(pm->cb.opaque);
		break;
	default:
		break;	/* reserved */
	}
	vmm_acpi_pm_update_sci(pm);
}

const struct vmm_dev_ops vmm_acpi_pm_ops = {
	.read = vmm_acpi_pm_read,
	.write = vmm_acpi_pm_write,
	.width = 1,
};

int vmm_acpi_pm_register(struct vmm_acpi_pm *pm, struct vmm_bus *pio,
			 struct vx_err *err)
{
	return vmm_bus_register(pio, VMM_ACPI_PM_BASE, VMM_ACPI_PM_LEN,
				&vmm_acpi_pm_ops, pm, "acpi-pm", err);
}
