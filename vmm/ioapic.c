/*
 * vmm_ioapic: the 82093AA I/O APIC (see ioapic.h). Messages go out at
 * once, so delivery status never reads 1.
 */
#include "vmm/ioapic.h"

#include <string.h>

/* IOAPICVER: maximum redirection entry (pins - 1) in bits 23-16. */
#define IOAPIC_VER_VALUE	((uint32_t)(VMM_IOAPIC_PINS - 1) << 16 | VMM_IOAPIC_VERSION)
#define IOAPIC_ID_SHIFT		24
#define IOAPIC_ID_MASK		0x0fu

void vmm_ioapic_init(struct vmm_ioapic *io,
		     void (*deliver)(void *opaque, const struct vmm_ioapic_msg *msg),
		     void *opaque)
{
	memset(io, 0, sizeof(*io));
	io->deliver = deliver;
	io->opaque = opaque;
	for (int pin = 0; pin < VMM_IOAPIC_PINS; pin++)
		io->rte[pin] = IOAPIC_RTE_MASKED;
}

static int vmm_ioapic_asserted(const struct vmm_ioapic *io, int pin)
{
	return (io->lines >> pin) & 1;
}

static void vmm_ioapic_send(struct vmm_ioapic *io, int pin)
{
	uint64_t e = io->rte[pin];
	struct vmm_ioapic_msg msg = {
		.vector = (uint8_t)(e & IOAPIC_RTE_VECTOR),
		.delivery = (uint8_t)((e & IOAPIC_RTE_DM_MASK) >> IOAPIC_RTE_DM_SHIFT),
		.logical = !!(e & IOAPIC_RTE_DEST_LOGICAL),
		.level = !!(e & IOAPIC_RTE_LEVEL),
		.dest = (uint8_t)(e >> IOAPIC_RTE_DEST_SHIFT),
		.pin = (uint8_t)pin,
	};

	io->sent++;
	if (io->deliver)
		io->deliver(io->opaque, &msg);
}

/* A level pin sends while asserted, unmasked and not waiting for its EOI. */
static void vmm_ioapic_service_level(struct vmm_ioapic *io, int pin)
{
	uint64_t *e = &io->rte[pin];

	if (!(*e & IOAPIC_RTE_LEVEL) || (*e & (IOAPIC_RTE_MASKED | IOAPIC_RTE_REMOTE_IRR)) ||
	    !vmm_ioapic_asserted(io, pin))
		return;
	*e |= IOAPIC_RTE_REMOTE_IRR;
	vmm_ioapic_send(io, pin);
}

void vmm_ioapic_set_irq(struct vmm_ioapic *io, int pin, int level)
{
	int was;

	if (pin < 0 || pin >= VMM_IOAPIC_PINS)
		return;
	was = vmm_ioapic_asserted(io, pin);
	if (level)
		io->lines |= 1u << pin;
	else
		io->lines &= ~(1u << pin);
	if (io->rte[pin] & IOAPIC_RTE_LEVEL)
		vmm_ioapic_service_level(io, pin);
	else if (level && !was && !(io->rte[pin] & IOAPIC_RTE_MASKED))
		vmm_ioapic_send(io, pin);
}

void vmm_ioapic_eoi(struct vmm_ioapic *io, uint8_t vector)
{
	for (int pin = 0; pin < VMM_IOAPIC_PINS; pin++) {
		uint64_t *e = &io->rte[pin];

		if ((*e & IOAPIC_RTE_VECTOR) != vector || !(*e & IOAPIC_RTE_LEVEL) ||
		    !(*e & IOAPIC_RTE_REMOTE_IRR))
			continue;
		*e &= ~IOAPIC_RTE_REMOTE_IRR;
		vmm_ioapic_service_level(io, pin);
	}
}

/* ---- registers ---- */

static uint32_t vmm_ioapic_reg_read(const struct vmm_ioapic *io, uint8_t index)
{
	int pin;

	switch (index) {
	case VMM_IOAPIC_REG_ID:
	case VMM_IOAPIC_REG_ARB:
		return (uint32_t)io->id << IOAPIC_ID_SHIFT;
	case VMM_IOAPIC_REG_VER:
		return IOAPIC_VER_VALUE;
	}
	if (index < VMM_IOAPIC_REG_REDTBL || index >= VMM_IOAPIC_REG_REDTBL + 2 * VMM_IOAPIC_PINS)
		return 0;	/* reserved */
	pin = (index - VMM_IOAPIC_REG_REDTBL) / 2;
	return (index & 1) ? (uint32_t)(io->rte[pin] >> 32) : (uint32_t)io->rte[pin];
}

static void vmm_ioapic_rte_write(struct vmm_ioapic *io, int pin, int high, uint32_t val)
{
	uint64_t *e = &io->rte[pin];
	uint64_t mask = high ? 0xffffffff00000000ull : 0xffffffffull;
	uint64_t v = high ? (uint64_t)val << 32 : val;

	*e = (*e & ~(mask & IOAPIC_RTE_WRITABLE)) | (v & mask & IOAPIC_RTE_WRITABLE);
	/* Edge mode has no remote IRR: a level entry rewritten as edge (and
	 * back) is how an EOI is simulated on a version 0x11 IOAPIC. */
	if (!(*e & IOAPIC_RTE_LEVEL))
		*e &= ~IOAPIC_RTE_REMOTE_IRR;
	vmm_ioapic_service_level(io, pin);
}

static void vmm_ioapic_reg_write(struct vmm_ioapic *io, uint8_t index, uint32_t val)
{
	if (index == VMM_IOAPIC_REG_ID) {
		io->id = (uint8_t)((val >> IOAPIC_ID_SHIFT) & IOAPIC_ID_MASK);
		return;
	}
	if (index < VMM_IOAPIC_REG_REDTBL || index >= VMM_IOAPIC_REG_REDTBL + 2 * VMM_IOAPIC_PINS)
		return;	/* version, arbitration: read-only; reserved */
	vmm_ioapic_rte_write(io, (index - VMM_IOAPIC_REG_REDTBL) / 2, index & 1, val);
}

static uint64_t vmm_ioapic_read(void *opaque, uint64_t offset, unsigned size)
{
	struct vmm_ioapic *io = opaque;
	uint64_t aligned = offset & ~3ull;
	uint32_t val;

	if (aligned == VMM_IOAPIC_IOREGSEL)
		val = io->regsel;
	else if (aligned == VMM_IOAPIC_IOWIN)
		val = vmm_ioapic_reg_read(io, io->regsel);
	else
		val = 0;
	val >>= (offset & 3) * 8;
	return size >= 4 ? val : val & ((1u << (size * 8)) - 1);
}

static void vmm_ioapic_write(void *opaque, uint64_t offset, unsigned size, uint64_t val)
{
	struct vmm_ioapic *io = opaque;

	if (offset == VMM_IOAPIC_IOREGSEL && (size == 1 || size == 4))
		io->regsel = (uint8_t)val;
	else if (offset == VMM_IOAPIC_IOWIN && size == 4)
		vmm_ioapic_reg_write(io, io->regsel, (uint32_t)val);
}

static const struct vmm_dev_ops vmm_ioapic_ops = {
	.read = vmm_ioapic_read,
	.write = vmm_ioapic_write,
	.width = 4,
};

int vmm_ioapic_register(struct vmm_ioapic *io, struct vmm_bus *mmio,
			struct vx_err *err)
{
	return vmm_bus_register(mmio, VMM_IOAPIC_BASE, VMM_IOAPIC_SIZE,
				&vmm_ioapic_ops, io, "ioapic", err);
}
