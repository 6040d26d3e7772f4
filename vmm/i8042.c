/*
 * vmm_i8042: 8042 keyboard controller (see i8042.h). Command numbers and
 * their answers follow Linux's drivers/input/serio/i8042.h and the IBM PC/AT
 * technical reference.
 *
 * The device's offsets are those of 0x60-0x64: 0 is data, 4 is command and
 * status. Two one-port ranges carry them (see vmm_i8042_register).
 */
#include "vmm/i8042.h"

#include <string.h>

#define CMD_CTL_RCTR	0x20
#define CMD_CTL_WCTR	0x60
#define CMD_AUX_DISABLE	0xa7
#define CMD_AUX_ENABLE	0xa8
#define CMD_AUX_TEST	0xa9
#define CMD_CTL_TEST	0xaa
#define CMD_KBD_TEST	0xab
#define CMD_KBD_DISABLE	0xad
#define CMD_KBD_ENABLE	0xae
#define CMD_READ_OUTP	0xd0
#define CMD_WRITE_OUTP	0xd1
#define CMD_WRITE_KBD	0xd2	/* as if from the keyboard */
#define CMD_WRITE_AUXO	0xd3	/* AUX loopback */
#define CMD_WRITE_AUX	0xd4
#define CMD_PULSE_RESET	0xfe	/* 0xf0-0xff pulse outport bits 3:0 */

static void vmm_i8042_update_irq(struct vmm_i8042 *k)
{
	int level = (k->s.status & I8042_STR_OBF) &&
		    !(k->s.status & I8042_STR_AUXDATA) &&
		    (k->s.ctr & I8042_CTR_KBDINT);

	if (level != k->s.irq_level) {
		k->s.irq_level = (uint8_t)level;
		if (k->cb.raise_kbd)
			k->cb.raise_kbd(k->cb.opaque, level);
	}
}

/* A byte for the guest to read from 0x60. flags: AUXDATA, TIMEOUT. */
static void vmm_i8042_put(struct vmm_i8042 *k, uint8_t byte, uint8_t flags)
{
	k->s.out = byte;
	k->s.status &= (uint8_t)~(I8042_STR_AUXDATA | I8042_STR_TIMEOUT);
	k->s.status |= I8042_STR_OBF | flags;
}

static void vmm_i8042_reset_line(struct vmm_i8042 *k)
{
	if (k->cb.reset)
		k->cb.reset(k->cb.opaque);
}

void vmm_i8042_init(struct vmm_i8042 *kbc, const struct vmm_i8042_cb *cb)
{
	memset(kbc, 0, sizeof(*kbc));
	if (cb)
		kbc->cb = *cb;
	kbc->s.status = I8042_STR_SYS | I8042_STR_KEYLOCK;
	kbc->s.ctr = I8042_CTR_KBDINT | I8042_CTR_SYS | I8042_CTR_XLATE;
	kbc->s.outport = 0x03;	/* reset line inactive, A20 on */
}

static void vmm_i8042_command(struct vmm_i8042 *k, uint8_t cmd)
{
	k->s.pending_cmd = 0;
	switch (cmd) {
	case CMD_CTL_RCTR:
		vmm_i8042_put(k, k->s.ctr, 0);
		break;
	case CMD_CTL_WCTR:
	case CMD_WRITE_OUTP:
	case CMD_WRITE_KBD:
	case CMD_WRITE_AUXO:
	case CMD_WRITE_AUX:
		k->s.pending_cmd = cmd;
		break;
	case CMD_AUX_DISABLE:
		k->s.ctr |= I8042_CTR_AUXDIS;
		break;
	case CMD_AUX_ENABLE:
		k->s.ctr &= (uint8_t)~I8042_CTR_AUXDIS;
		break;
	case CMD_AUX_TEST:
		vmm_i8042_put(k, 0x01, 0);	/* clock line stuck low */
		break;
	case CMD_CTL_TEST:
		k->s.status |= I8042_STR_SYS;
		vmm_i8042_put(k, 0x55, 0);
		break;
	case CMD_KBD_TEST:
		vmm_i8042_put(k, 0x00, 0);
		break;
	case CMD_KBD_DISABLE:
		k->s.ctr |= I8042_CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		k->s.ctr &= (uint8_t)~I8042_CTR_KBDDIS;
		break;
	case CMD_READ_OUTP:
		vmm_i8042_put(k, k->s.outport, 0);
		break;
	default:
		/* 0xf0-0xff pulse the output port bits whose command bit is
		 * 0 (active low); bit 0 is the CPU reset line. */
		if (cmd >= 0xf0 && !(cmd & 0x01))
			vmm_i8042_reset_line(k);
		/* Anything else: ignored, as the 8042 firmware does. */
		break;
	}
}

static void vmm_i8042_data(struct vmm_i8042 *k, uint8_t v)
{
	uint8_t cmd = k->s.pending_cmd;

	k->s.pending_cmd = 0;
	switch (cmd) {
	case CMD_CTL_WCTR:
		k->s.ctr = v;
		if (v & I8042_CTR_SYS)
			k->s.status |= I8042_STR_SYS;
		else
			k->s.status &= (uint8_t)~I8042_STR_SYS;
		break;
	case CMD_WRITE_OUTP:
		k->s.outport = v;
		if (!(v & 0x01))
			vmm_i8042_reset_line(k);
		break;
	case CMD_WRITE_KBD:
		vmm_i8042_put(k, v, 0);
		break;
	case CMD_WRITE_AUXO:
		/* No AUX port: the byte comes back, but not as AUX data, which
		 * Linux's i8042_check_aux reads as "no loopback". */
		vmm_i8042_put(k, v, 0);
		break;
	case CMD_WRITE_AUX:
		vmm_i8042_put(k, 0xfe, I8042_STR_AUXDATA | I8042_STR_TIMEOUT);
		break;
	default:
		/* A byte for the keyboard, and there is none. */
		vmm_i8042_put(k, 0xfe, I8042_STR_TIMEOUT);
		break;
	}
}

static uint64_t vmm_i8042_read(void *opaque, uint64_t offset, unsigned size)
{
	struct vmm_i8042 *k = opaque;
	uint8_t v;

	(void)size;
	if (offset == 4)
		return k->s.status;
	/* Reading 0x60 empties the buffer; an empty one repeats its byte. */
	v = k->s.out;
	k->s.status &= (uint8_t)~(I8042_STR_OBF | I8042_STR_AUXDATA |
				  I8042_STR_TIMEOUT);
	vmm_i8042_update_irq(k);
	return v;
}

static void vmm_i8042_write(void *opaque, uint64_t offset, unsigned size,
			    uint64_t val)
{
	struct vmm_i8042 *k = opaque;

	(void)size;
	if (offset == 4) {
		k->s.status |= I8042_STR_CMDDAT;
		vmm_i8042_command(k, (uint8_t)val);
	} else {
		k->s.status &= (uint8_t)~I8042_STR_CMDDAT;
		vmm_i8042_data(k, (uint8_t)val);
	}
	vmm_i8042_update_irq(k);
}

const struct vmm_dev_ops vmm_i8042_ops = {
	.read = vmm_i8042_read,
	.write = vmm_i8042_write,
	.width = 1,
};

/* The command port is the same device 4 ports up: one range 0x60-0x64
 * would also claim 0x61-0x63 (port B belongs to the PIT/speaker), so the
 * command port gets its own ops that add the offset. */
static uint64_t vmm_i8042_cmd_read(void *opaque, uint64_t offset,
				   unsigned size)
{
	return vmm_i8042_read(opaque, offset + 4, size);
}

static void vmm_i8042_cmd_write(void *opaque, uint64_t offset, unsigned size,
				uint64_t val)
{
	vmm_i8042_write(opaque, offset + 4, size, val);
}

static const struct vmm_dev_ops vmm_i8042_cmd_ops = {
	.read = vmm_i8042_cmd_read,
	.write = vmm_i8042_cmd_write,
	.width = 1,
};

int vmm_i8042_register(struct vmm_i8042 *kbc, struct vmm_bus *pio,
		       struct vx_err *err)
{
	int rc = vmm_bus_register(pio, VMM_I8042_DATA, 1, &vmm_i8042_ops, kbc,
				  "i8042", err);

	if (rc)
		return rc;
	rc = vmm_bus_register(pio, VMM_I8042_CMD, 1, &vmm_i8042_cmd_ops, kbc,
			      "i8042", err);
	if (rc)
		vmm_bus_unregister(pio, VMM_I8042_DATA);
	return rc;
}
