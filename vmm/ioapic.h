/*
 * vmm_ioapic: an Intel 82093AA I/O APIC at 0xfec00000: 24 input pins, each
 * with a redirection entry that turns the pin into an interrupt message to
 * local APICs (delivered by the runner through its backend: vmxcore's
 * VMXCORE_APIC_IRQ, KVM's KVM_SIGNAL_MSI).
 *
 * Environment: the runner, through the MMIO bus, serialised by the caller
 * (io_lock); vmm_ioapic_set_irq from device callbacks and vmm_ioapic_eoi
 * under the same lock. The deliver callback runs inside those calls: it
 * may send the message, not call back into the IOAPIC.
 *
 * What is modelled, from the 82093AA data sheet (order 290566-001):
 *   - the two direct registers: IOREGSEL (offset 0x00, bits 7-0 select) and
 *     IOWIN (offset 0x10, the selected 32-bit register);
 *   - IOAPICID (index 0x00, bits 27-24), IOAPICVER (0x01, reads 0x00170011:
 *     version 0x11, maximum redirection entry 23), IOAPICARB (0x02, reads
 *     the ID), the redirection table at 0x10-0x3f (entry n: low dword at
 *     0x10 + 2n, high at 0x11 + 2n);
 *   - per entry: vector, delivery mode, destination mode, polarity, trigger
 *     mode, mask, destination (bits 63-56); delivery status (bit 12) and
 *     remote IRR (bit 14) are read-only;
 *   - edge pins send one message per rising edge of an unmasked pin (an
 *     edge while masked is lost); level pins send a message while the pin
 *     is asserted and remote IRR is clear, and set remote IRR, which an EOI
 *     for the entry's vector clears (vmm_ioapic_eoi: the local APIC's EOI
 *     broadcast) after which a still-asserted pin sends again;
 *   - rewriting an entry to edge mode clears its remote IRR (what Linux's
 *     __eoi_ioapic_pin relies on for version 0x11, which has no EOI
 *     register), and unmasking a level entry whose pin is asserted sends.
 * Pins carry the device's logical level (1 = requesting); the polarity bit
 * is kept for the guest to read back but inverts nothing, since every
 * device model here signals "asserted" as 1 (QEMU and KVM do the same).
 * Reserved index reads return 0, writes to read-only registers and
 * reserved bits are dropped; accesses narrower than a dword read the bytes
 * of the aligned dword; only dword writes to IOWIN and byte or dword
 * writes to IOREGSEL take effect. Nothing a guest writes can make the
 * model fail.
 *
 * At reset: ID 0, IOREGSEL 0, every entry masked (0x00010000, 0).
 */
#ifndef VMM_IOAPIC_H
#define VMM_IOAPIC_H

#include <stdint.h>

#include "vmm/bus.h"
#include "vx_err.h"

#define VMM_IOAPIC_BASE		0xfec00000ull
#define VMM_IOAPIC_SIZE		0x1000ull
#define VMM_IOAPIC_PINS		24
#define VMM_IOAPIC_VERSION	0x11

/* Direct registers (offsets in the page). */
#define VMM_IOAPIC_IOREGSEL	0x00
#define VMM_IOAPIC_IOWIN	0x10

/* Indirect registers (IOREGSEL values). */
#define VMM_IOAPIC_REG_ID	0x00
#define VMM_IOAPIC_REG_VER	0x01
#define VMM_IOAPIC_REG_ARB	0x02
#define VMM_IOAPIC_REG_REDTBL	0x10	/* + 2 * pin (low), + 1 (high) */

/* Redirection entry bits. */
#define IOAPIC_RTE_VECTOR	0xffull
#define IOAPIC_RTE_DM_SHIFT	8
#define IOAPIC_RTE_DM_MASK	(7ull << 8)
#define IOAPIC_RTE_DEST_LOGICAL	(1ull << 11)
#define IOAPIC_RTE_DELIVS	(1ull << 12)	/* read-only: send pending */
#define IOAPIC_RTE_POLARITY_LOW	(1ull << 13)
#define IOAPIC_RTE_REMOTE_IRR	(1ull << 14)	/* read-only */
#define IOAPIC_RTE_LEVEL	(1ull << 15)
#define IOAPIC_RTE_MASKED	(1ull << 16)
#define IOAPIC_RTE_DEST_SHIFT	56
#define IOAPIC_RTE_WRITABLE	(IOAPIC_RTE_VECTOR | IOAPIC_RTE_DM_MASK | \
				 IOAPIC_RTE_DEST_LOGICAL | IOAPIC_RTE_POLARITY_LOW | \
				 IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED | \
				 (0xffull << IOAPIC_RTE_DEST_SHIFT))

/* Delivery modes (bits 10-8), as the local APIC's ICR names them. */
#define VMM_IOAPIC_DM_FIXED	0
#define VMM_IOAPIC_DM_LOWEST	1
#define VMM_IOAPIC_DM_SMI	2
#define VMM_IOAPIC_DM_NMI	4
#define VMM_IOAPIC_DM_INIT	5
#define VMM_IOAPIC_DM_EXTINT	7

/* One interrupt message, as a redirection entry describes it. */
struct vmm_ioapic_msg {
	uint8_t vector;
	uint8_t delivery;	/* VMM_IOAPIC_DM_* */
	uint8_t logical;	/* destination mode: 0 physical, 1 logical */
	uint8_t level;		/* trigger mode: 0 edge, 1 level */
	uint8_t dest;		/* APIC ID or logical destination, 0xff broadcast */
	uint8_t pin;		/* which input sent it, for logs */
};

struct vmm_ioapic {
	uint8_t id;		/* IOAPICID bits 27-24 */
	uint8_t regsel;		/* IOREGSEL */
	uint32_t lines;		/* pin levels, bit n = pin n asserted */
	uint64_t rte[VMM_IOAPIC_PINS];
	/* Sends one message; called under the caller's lock. */
	void (*deliver)(void *opaque, const struct vmm_ioapic_msg *msg);
	void *opaque;
	uint64_t sent;		/* messages handed to deliver, for tests and logs */
};

void vmm_ioapic_init(struct vmm_ioapic *io,
		     void (*deliver)(void *opaque, const struct vmm_ioapic_msg *msg),
		     void *opaque);

/* Claims VMM_IOAPIC_BASE..+VMM_IOAPIC_SIZE on the MMIO bus. */
int vmm_ioapic_register(struct vmm_ioapic *io, struct vmm_bus *mmio,
			struct vx_err *err);

/* Drives input pin (0-23) to level (0 or 1); other pins are ignored. */
void vmm_ioapic_set_irq(struct vmm_ioapic *io, int pin, int level);

/* The local APICs' EOI for vector: clears remote IRR of the level entries
 * with that vector and sends again for pins still asserted. */
void vmm_ioapic_eoi(struct vmm_ioapic *io, uint8_t vector);

#endif
