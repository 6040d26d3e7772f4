/*
 * vmm_i8042: the PC keyboard controller, only as much as Linux needs: the
 * status port, the command byte, self tests, and the CPU reset line (the
 * 0xfe pulse that `reboot=k` and most BIOSes use to reset the machine).
 *
 * Environment: the runner, through the port-I/O bus (ports 0x60 and 0x64,
 * 8-bit), serialised by the caller.
 *
 * No keyboard or mouse is attached. Bytes the guest sends to the keyboard
 * get 0xfe back with the timeout bit set (what a controller answers when the
 * device does not respond), so Linux's atkbd gives up at once instead of
 * waiting out its timeouts. The AUX port answers its interface test with
 * "clock line stuck low", so Linux decides there is no mouse port. Runners
 * that want a quiet boot still pass "i8042.noaux" as Firecracker does.
 */
#ifndef VMM_I8042_H
#define VMM_I8042_H

#include <stdint.h>

#include "vmm/bus.h"

#define VMM_I8042_DATA		0x60
#define VMM_I8042_CMD		0x64	/* read: status */

#define I8042_STR_OBF		0x01	/* output buffer full */
#define I8042_STR_IBF		0x02
#define I8042_STR_SYS		0x04	/* self test passed */
#define I8042_STR_CMDDAT	0x08	/* last write was to 0x64 */
#define I8042_STR_KEYLOCK	0x10	/* 1: not inhibited */
#define I8042_STR_AUXDATA	0x20
#define I8042_STR_TIMEOUT	0x40

#define I8042_CTR_KBDINT	0x01
#define I8042_CTR_AUXINT	0x02
#define I8042_CTR_SYS		0x04
#define I8042_CTR_KBDDIS	0x10
#define I8042_CTR_AUXDIS	0x20
#define I8042_CTR_XLATE		0x40

struct vmm_i8042_cb {
	/* The guest asked for a CPU reset. Called inside its port write:
	 * record the request and act on it after the exit. May be NULL. */
	void (*reset)(void *opaque);
	/* IRQ 1 (keyboard) level. May be NULL. */
	void (*raise_kbd)(void *opaque, int level);
	void *opaque;
};

struct vmm_i8042_state {
	uint8_t status;
	uint8_t ctr;		/* controller command byte ("CTR") */
	uint8_t outport;	/* bit 0: reset line (active low), bit 1: A20 */
	uint8_t out;		/* output buffer, valid when status has OBF */
	uint8_t pending_cmd;	/* command waiting for its data byte, or 0 */
	uint8_t irq_level;
};

struct vmm_i8042 {
	struct vmm_i8042_state s;
	struct vmm_i8042_cb cb;
};

extern const struct vmm_dev_ops vmm_i8042_ops;

void vmm_i8042_init(struct vmm_i8042 *kbc, const struct vmm_i8042_cb *cb);

/* Registers ports 0x60 and 0x64 (two ranges) on a port-I/O bus. */
int vmm_i8042_register(struct vmm_i8042 *kbc, struct vmm_bus *pio,
		       struct vx_err *err);

#endif
