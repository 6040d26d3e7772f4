/*
 * vmm_pit: i8254 (see pit.h). Mode behaviour follows the Intel 8254 data
 * sheet, "Mode definitions"; Linux's users are arch/x86/kernel/tsc.c
 * (pit_calibrate_tsc: channel 2 mode 0 polled through port 0x61 bit 5;
 * quick_pit_calibrate: the MSB of channel 2 read without latching) and
 * drivers/clocksource/i8253.c (channel 0 in mode 2 or mode 0 for IRQ 0).
 */
#include "vmm/pit.h"

#include <string.h>

#define NS_PER_S	1000000000ull

/* Ticks of the 1.193182 MHz clock in ns nanoseconds, without overflow. */
static uint64_t vmm_pit_ns_to_ticks(uint64_t ns)
{
	return ns / NS_PER_S * VMM_PIT_HZ + ns % NS_PER_S * VMM_PIT_HZ / NS_PER_S;
}

/* First ns at which ticks have elapsed (rounded up). */
static uint64_t vmm_pit_ticks_to_ns(uint64_t ticks)
{
	return ticks / VMM_PIT_HZ * NS_PER_S +
	       (ticks % VMM_PIT_HZ * NS_PER_S + VMM_PIT_HZ - 1) / VMM_PIT_HZ;
}

static uint64_t vmm_pit_now(const struct vmm_pit *pit)
{
	return vmm_clock_mono(pit->clock);
}

/* Ticks counted since the count was loaded (or the trigger). */
static uint64_t vmm_pit_ticks(const struct vmm_pit_channel *c, uint64_t now)
{
	uint64_t t = c->base_ticks;

	if (c->running && now > c->load_ns)
		t += vmm_pit_ns_to_ticks(now - c->load_ns);
	return t;
}

static uint32_t vmm_pit_modulus(const struct vmm_pit_channel *c)
{
	return c->bcd ? 10000 : 65536;
}

/* Counting element value after t ticks; the caller encodes BCD. */
static uint32_t vmm_pit_value(const struct vmm_pit_channel *c, uint64_t t)
{
	uint32_t n = c->reload, m = vmm_pit_modulus(c), d, hi;

	if (!c->armed)
		return 0;
	switch (c->mode) {
	case 2:
		return n - (uint32_t)(t % n);
	case 3:
		d = (uint32_t)(t % n);
		hi = (n + 1) / 2;
		return d < hi ? n - 2 * d : n - 2 * (d - hi);
	default:	/* 0, 1, 4, 5: count down, wrap around */
		return (uint32_t)((n + m - t % m) % m);
	}
}

static int vmm_pit_out_at(const struct vmm_pit_channel *c, uint64_t t)
{
	uint32_t n = c->reload;

	if (!c->armed)
		return c->mode != 0;
	switch (c->mode) {
	case 0:
		return t >= n;
	case 1:
		return !c->running || t >= n;
	case 2:
		return !c->running || t % n != n - 1;
	case 3:
		return !c->running || t % n < (n + 1) / 2;
	case 4:
	case 5:
		return !c->running || t != n;
	}
	return 1;
}

/* OUT rising edges after t ticks (IRQ 0 counts these). */
static uint64_t vmm_pit_edges(const struct vmm_pit_channel *c, uint64_t t)
{
	uint32_t n = c->reload;

	if (!c->armed || !c->running)
		return 0;
	switch (c->mode) {
	case 0:
	case 1:
		return t >= n;
	case 2:
	case 3:
		return t / n;
	default:
		return t >= (uint64_t)n + 1;
	}
}

/* Tick of edge number k (k >= 1), or UINT64_MAX if there is none. */
static uint64_t vmm_pit_edge_tick(const struct vmm_pit_channel *c,
				  uint64_t k)
{
	uint32_t n = c->reload;

	switch (c->mode) {
	case 0:
	case 1:
		return k == 1 ? n : UINT64_MAX;
	case 2:
	case 3:
		return k > UINT64_MAX / n ? UINT64_MAX : k * n;
	default:
		return k == 1 ? (uint64_t)n + 1 : UINT64_MAX;
	}
}

static uint16_t vmm_pit_bcd(uint32_t v)
{
	v %= 10000;
	return (uint16_t)((v / 1000) << 12 | (v / 100 % 10) << 8 |
			  (v / 10 % 10) << 4 | (v % 10));
}

static uint16_t vmm_pit_encode(const struct vmm_pit_channel *c, uint32_t v)
{
	return c->bcd ? vmm_pit_bcd(v) : (uint16_t)v;
}

/* Restart counting from the reload value now. */
static void vmm_pit_restart(struct vmm_pit_channel *c, uint64_t now)
{
	c->load_ns = now;
	c->base_ticks = 0;
	c->edges_seen = 0;
}

static void vmm_pit_load(struct vmm_pit_channel *c, uint16_t raw,
			 uint64_t now)
{
	uint32_t v = raw;

	if (c->bcd)	/* digits above 9 count as what the bits say */
		v = (raw >> 12 & 0xf) * 1000 + (raw >> 8 & 0xf) * 100 +
		    (raw >> 4 & 0xf) * 10 + (raw & 0xf);
	if (v == 0)
		v = vmm_pit_modulus(c);
	if ((c->mode == 2 || c->mode == 3) && v == 1)
		v = 2;	/* count 1 is illegal in modes 2 and 3 */
	c->reload = v;
	c->armed = 1;
	c->null_count = 0;
	/* Modes 1 and 5 wait for a gate rising edge; the others count while
	 * the gate is high (modes 2/3 sit with OUT high while it is low). */
	c->running = (c->mode == 1 || c->mode == 5) ? 0 : c->gate;
	vmm_pit_restart(c, now);
}

static void vmm_pit_set_gate(struct vmm_pit_channel *c, uint8_t gate,
			     uint64_t now)
{
	if (gate == c->gate)
		return;
	c->gate = gate;
	if (!c->armed)
		return;
	switch (c->mode) {
	case 0:
	case 4:	/* gate low suspends counting, high resumes it */
		if (!gate) {
			c->base_ticks = vmm_pit_ticks(c, now);
			c->running = 0;
		} else {
			c->load_ns = now;
			c->running = 1;
		}
		break;
	case 2:
	case 3:	/* low stops with OUT high; rising reloads */
		c->running = gate;
		if (gate)
			vmm_pit_restart(c, now);
		break;
	default:	/* 1, 5: rising edge (re)triggers */
		if (gate) {
			c->running = 1;
			vmm_pit_restart(c, now);
		}
		break;
	}
}

static void vmm_pit_latch_count(struct vmm_pit *pit,
				struct vmm_pit_channel *c, uint64_t now)
{
	if (c->latched)
		return;	/* a second latch before reading is ignored */
	c->latch = vmm_pit_encode(c, vmm_pit_value(c, vmm_pit_ticks(c, now)));
	c->latched = c->rw == 3 ? 2 : 1;
	(void)pit;
}

static void vmm_pit_latch_status(struct vmm_pit_channel *c, uint64_t now)
{
	if (c->status_latched)
		return;
	c->status = (uint8_t)((vmm_pit_out_at(c, vmm_pit_ticks(c, now)) << 7) |
			      (c->null_count << 6) | (c->rw << 4) |
			      (c->mode << 1) | c->bcd);
	c->status_latched = 1;
}

static void vmm_pit_control(struct vmm_pit *pit, uint8_t v, uint64_t now)
{
	unsigned sc = v >> 6, rw = (v >> 4) & 3, i;
	struct vmm_pit_channel *c;

	if (sc == 3) {	/* read-back: bit 5 = !count, bit 4 = !status */
		for (i = 0; i < 3; i++) {
			if (!(v & (2u << i)))
				continue;
			c = &pit->s.ch[i];
			if (!(v & 0x20))
				vmm_pit_latch_count(pit, c, now);
			if (!(v & 0x10))
				vmm_pit_latch_status(c, now);
		}
		return;
	}
	c = &pit->s.ch[sc];
	if (rw == 0) {
		vmm_pit_latch_count(pit, c, now);
		return;
	}
	c->rw = (uint8_t)rw;
	c->mode = (v >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4;
	c->bcd = v & 1;
	c->armed = 0;
	c->running = 0;
	c->null_count = 1;
	c->write_lsb = c->read_msb = 0;
	c->latched = c->status_latched = 0;
	c->edges_seen = 0;
}

static uint8_t vmm_pit_read_counter(struct vmm_pit_channel *c, uint64_t now)
{
	uint16_t v;
	int msb;

	if (c->status_latched) {
		c->status_latched = 0;
		return c->status;
	}
	if (c->latched) {
		msb = c->rw == 2 || (c->rw == 3 && c->latched == 1);
		c->latched--;
		return msb ? (uint8_t)(c->latch >> 8) : (uint8_t)c->latch;
	}
	v = vmm_pit_encode(c, vmm_pit_value(c, vmm_pit_ticks(c, now)));
	switch (c->rw) {
	case 2:
		return (uint8_t)(v >> 8);
	case 3:
		msb = c->read_msb;
		c->read_msb ^= 1;
		return msb ? (uint8_t)(v >> 8) : (uint8_t)v;
	default:
		return (uint8_t)v;
	}
}

static void vmm_pit_write_counter(struct vmm_pit_channel *c, uint8_t v,
				  uint64_t now)
{
	switch (c->rw) {
	case 1:
		vmm_pit_load(c, v, now);
		break;
	case 2:
		vmm_pit_load(c, (uint16_t)(v << 8), now);
		break;
	case 3:
		if (!c->write_lsb) {
			c->write_lo = v;
			c->write_lsb = 1;
			c->null_count = 1;
		} else {
			c->write_lsb = 0;
			vmm_pit_load(c, (uint16_t)(c->write_lo | v << 8), now);
		}
		break;
	default:	/* no control word yet: the 8254 ignores it */
		break;
	}
}

static uint64_t vmm_pit_read(void *opaque, uint64_t offset, unsigned size)
{
	struct vmm_pit *pit = opaque;

	(void)size;
	if (offset == 3)
		return 0xff;	/* the control word is write-only */
	return vmm_pit_read_counter(&pit->s.ch[offset], vmm_pit_now(pit));
}

static void vmm_pit_write(void *opaque, uint64_t offset, unsigned size,
			  uint64_t val)
{
	struct vmm_pit *pit = opaque;
	uint64_t now = vmm_pit_now(pit);

	(void)size;
	if (offset == 3)
		vmm_pit_control(pit, (uint8_t)val, now);
	else
		vmm_pit_write_counter(&pit->s.ch[offset], (uint8_t)val, now);
}

const struct vmm_dev_ops vmm_pit_ops = {
	.read = vmm_pit_read,
	.write = vmm_pit_write,
	.width = 1,
};

/* Port B: bit 0 gate 2, bit 1 speaker, bits 2-3 parity/IOCHK enables
 * (stored), bit 4 refresh toggle (every 15.09 us), bit 5 OUT2. */
static uint64_t vmm_pit_port_b_read(void *opaque, uint64_t offset,
				    unsigned size)
{
	struct vmm_pit *pit = opaque;
	uint64_t now = vmm_pit_now(pit);
	const struct vmm_pit_channel *c2 = &pit->s.ch[2];
	uint8_t v = pit->s.port_b & 0x0f;

	(void)offset;
	(void)size;
	if ((now / 15085) & 1)
		v |= 0x10;
	if (vmm_pit_out_at(c2, vmm_pit_ticks(c2, now)))
		v |= 0x20;
	return v;
}

static void vmm_pit_port_b_write(void *opaque, uint64_t offset,
				 unsigned size, uint64_t val)
{
	struct vmm_pit *pit = opaque;

	(void)offset;
	(void)size;
	pit->s.port_b = (uint8_t)(val & 0x0f);
	vmm_pit_set_gate(&pit->s.ch[2], val & 1, vmm_pit_now(pit));
}

const struct vmm_dev_ops vmm_pit_port_b_ops = {
	.read = vmm_pit_port_b_read,
	.write = vmm_pit_port_b_write,
	.width = 1,
};

void vmm_pit_init(struct vmm_pit *pit, const struct vmm_clock *clock,
		  void (*raise)(void *opaque, int level), void *opaque)
{
	unsigned i;

	memset(pit, 0, sizeof(*pit));
	pit->clock = clock ? clock : &vmm_clock_host;
	pit->raise = raise;
	pit->opaque = opaque;
	for (i = 0; i < 3; i++) {
		pit->s.ch[i].rw = 3;
		pit->s.ch[i].gate = i < 2;
		pit->s.ch[i].reload = 65536;
	}
}

int vmm_pit_register(struct vmm_pit *pit, struct vmm_bus *pio,
		     struct vx_err *err)
{
	int rc = vmm_bus_register(pio, VMM_PIT_BASE, 4, &vmm_pit_ops, pit,
				  "i8254", err);

	if (rc)
		return rc;
	rc = vmm_bus_register(pio, VMM_PIT_PORT_B, 1, &vmm_pit_port_b_ops,
			      pit, "port-b", err);
	if (rc)
		vmm_bus_unregister(pio, VMM_PIT_BASE);
	return rc;
}

uint64_t vmm_pit_next_irq(struct vmm_pit *pit)
{
	const struct vmm_pit_channel *c = &pit->s.ch[0];
	uint64_t now = vmm_pit_now(pit), t, k;

	if (!c->armed || !c->running)
		return UINT64_MAX;
	t = vmm_pit_ticks(c, now);
	if (vmm_pit_edges(c, t) > c->edges_seen)
		return now;
	k = vmm_pit_edge_tick(c, vmm_pit_edges(c, t) + 1);
	if (k == UINT64_MAX)
		return UINT64_MAX;
	/* ch0's gate is always high: base_ticks is 0. */
	return c->load_ns + vmm_pit_ticks_to_ns(k);
}

int vmm_pit_tick(struct vmm_pit *pit)
{
	struct vmm_pit_channel *c = &pit->s.ch[0];
	uint64_t e = vmm_pit_edges(c, vmm_pit_ticks(c, vmm_pit_now(pit)));

	if (e <= c->edges_seen)
		return 0;
	c->edges_seen = e;
	if (pit->raise) {
		pit->raise(pit->opaque, 1);
		pit->raise(pit->opaque, 0);
	}
	return 1;
}

uint16_t vmm_pit_count(struct vmm_pit *pit, unsigned n)
{
	const struct vmm_pit_channel *c = &pit->s.ch[n % 3];

	return vmm_pit_encode(c, vmm_pit_value(c, vmm_pit_ticks(c,
							 vmm_pit_now(pit))));
}

int vmm_pit_out(struct vmm_pit *pit, unsigned n)
{
	const struct vmm_pit_channel *c = &pit->s.ch[n % 3];

	return vmm_pit_out_at(c, vmm_pit_ticks(c, vmm_pit_now(pit)));
}
