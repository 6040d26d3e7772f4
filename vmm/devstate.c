/*
 * devstate: save and load of the board's plain-data devices (PIC, PIT,
 * RTC, 16550, i8042, ACPI PM1 block, IOAPIC); the PCI and virtio ones live beside
 * their statics in pci.c and virtio_pci.c. Contract: devstate.h. Fields go
 * one by one, little-endian, so the file does not depend on struct layout.
 */
#include <errno.h>
#include <string.h>

#include "vmm/devstate.h"

/* A flag field must be 0 or 1; anything else is a damaged file. */
static int vmm_ds_bool(uint8_t v, int *bad)
{
	if (v > 1)
		*bad = 1;
	return v;
}

static int vmm_ds_bad(struct vx_err *err, const char *dev, const char *what)
{
	return vx_err_set(err, -EBADMSG, "state file: %s: %s out of range", dev, what);
}

/* ---- 8259A pair ---- */

static void vmm_pic_chip_save(const struct vmm_pic_chip *c, struct vmm_snap_w *w)
{
	const uint8_t f[] = {
		c->irr, c->isr, c->imr, c->line, c->elcr, c->vector_base, c->icw3,
		c->init_step, c->icw4_needed, c->single, c->auto_eoi, c->sfnm,
		c->rotate_aeoi, c->lowest, c->read_isr, c->poll, c->smm,
	};

	vmm_snap_put_bytes(w, f, sizeof(f));
}

static void vmm_pic_chip_get(struct vmm_pic_chip *c, struct vmm_snap_r *r, int *bad)
{
	c->irr = vmm_snap_get_u8(r);
	c->isr = vmm_snap_get_u8(r);
	c->imr = vmm_snap_get_u8(r);
	c->line = vmm_snap_get_u8(r);
	c->elcr = vmm_snap_get_u8(r);
	c->vector_base = vmm_snap_get_u8(r);
	c->icw3 = vmm_snap_get_u8(r);
	c->init_step = vmm_snap_get_u8(r);
	c->icw4_needed = (uint8_t)vmm_ds_bool(vmm_snap_get_u8(r), bad);
	c->single = (uint8_t)vmm_ds_bool(vmm_snap_get_u8(r), bad);
	c->auto_eoi = (uint8_t)vmm_ds_bool(vmm_snap_get_u8(r), bad);
	c->sfnm = (uint8_t)vmm_ds_bool(vmm_snap_get_u8(r), bad);
	c->rotate_aeoi = (uint8_t)vmm_ds_bool(vmm_snap_get_u8(r), bad);
	c->lowest = vmm_snap_get_u8(r);
	c->read_isr = (uint8_t)vmm_ds_bool(vmm_snap_get_u8(r), bad);
	c->poll = (uint8_t)vmm_ds_bool(vmm_snap_get_u8(r), bad);
	c->smm = (uint8_t)vmm_ds_bool(vmm_snap_get_u8(r), bad);
	/* ICW1 is never "expected next" (1); ICW2's low bits are the IRQ. */
	if (c->init_step == 1 || c->init_step > 4 || (c->vector_base & 7) || c->lowest > 7)
		*bad = 1;
}

void vmm_pic_save(const struct vmm_pic *pic, struct vmm_snap_w *w)
{
	vmm_pic_chip_save(&pic->s.chip[0], w);
	vmm_pic_chip_save(&pic->s.chip[1], w);
	vmm_snap_put_u8(w, pic->s.intr);
}

int vmm_pic_load(struct vmm_pic *pic, const void *p, size_t len, struct vx_err *err)
{
	struct vmm_pic_state s;
	struct vmm_snap_r r;
	int bad = 0, rc;

	vmm_snap_r_init(&r, p, len);
	vmm_pic_chip_get(&s.chip[0], &r, &bad);
	vmm_pic_chip_get(&s.chip[1], &r, &bad);
	s.intr = (uint8_t)vmm_ds_bool(vmm_snap_get_u8(&r), &bad);
	if ((rc = vmm_snap_r_done(&r, "PIC", err)))
		return rc;
	if (bad || (s.chip[0].elcr & ~VMM_PIC_ELCR1_MASK) ||
	    (s.chip[1].elcr & ~VMM_PIC_ELCR2_MASK))
		return vmm_ds_bad(err, "PIC", "a register");
	pic->s = s;
	return 0;
}

/* ---- 8254 ---- */

/* How long ago t was on the clock now (0 for the future). */
static uint64_t vmm_ds_ago(uint64_t now, uint64_t t)
{
	return now > t ? now - t : 0;
}

void vmm_pit_save(const struct vmm_pit *pit, struct vmm_snap_w *w)
{
	uint64_t now = vmm_clock_mono(pit->clock);

	for (unsigned i = 0; i < 3; i++) {
		const struct vmm_pit_channel *c = &pit->s.ch[i];
		const uint8_t f[] = {
			c->mode, c->rw, c->bcd, c->armed, c->running, c->null_count,
			c->write_lsb, c->write_lo, c->read_msb, c->latched,
			c->status_latched, c->status, c->gate,
		};

		vmm_snap_put_u32(w, c->reload);
		vmm_snap_put_u64(w, vmm_ds_ago(now, c->load_ns));
		vmm_snap_put_u64(w, c->base_ticks);
		vmm_snap_put_u64(w, c->edges_seen);
		vmm_snap_put_u16(w, c->latch);
		vmm_snap_put_bytes(w, f, sizeof(f));
	}
	vmm_snap_put_u8(w, pit->s.port_b);
}

int vmm_pit_load(struct vmm_pit *pit, const void *p, size_t len, struct vx_err *err)
{
	uint64_t now = vmm_clock_mono(pit->clock);
	struct vmm_pit_state s;
	struct vmm_snap_r r;
	int bad = 0, rc;

	memset(&s, 0, sizeof(s));
	vmm_snap_r_init(&r, p, len);
	for (unsigned i = 0; i < 3; i++) {
		struct vmm_pit_channel *c = &s.ch[i];
		uint64_t ago;

		c->reload = vmm_snap_get_u32(&r);
		ago = vmm_snap_get_u64(&r);
		c->load_ns = ago < now ? now - ago : 0;
		c->base_ticks = vmm_snap_get_u64(&r);
		c->edges_seen = vmm_snap_get_u64(&r);
		c->latch = vmm_snap_get_u16(&r);
		c->mode = vmm_snap_get_u8(&r);
		c->rw = vmm_snap_get_u8(&r);
		c->bcd = (uint8_t)vmm_ds_bool(vmm_snap_get_u8(&r), &bad);
		c->armed = (uint8_t)vmm_ds_bool(vmm_snap_get_u8(&r), &bad);
		c->running = (uint8_t)vmm_ds_bool(vmm_snap_get_u8(&r), &bad);
		c->null_count = (uint8_t)vmm_ds_bool(vmm_snap_get_u8(&r), &bad);
		c->write_lsb = (uint8_t)vmm_ds_bool(vmm_snap_get_u8(&r), &bad);
		c->write_lo = vmm_snap_get_u8(&r);
		c->read_msb = (uint8_t)vmm_ds_bool(vmm_snap_get_u8(&r), &bad);
		c->latched = vmm_snap_get_u8(&r);
		c->status_latched = (uint8_t)vmm_ds_bool(vmm_snap_get_u8(&r), &bad);
		c->status = vmm_snap_get_u8(&r);
		c->gate = (uint8_t)vmm_ds_bool(vmm_snap_get_u8(&r), &bad);
		/* The counter divides by reload: 0 would divide by zero. */
		if (c->reload < 1 || c->reload > 65536 || c->mode > 5 || c->rw < 1 ||
		    c->rw > 3 || c->latched > 2)
			bad = 1;
	}
	s.port_b = vmm_snap_get_u8(&r);
	if ((rc = vmm_snap_r_done(&r, "PIT", err)))
		return rc;
	if (bad || (s.port_b & 0xf0))
		return vmm_ds_bad(err, "PIT", "a channel's register");
	pit->s = s;
	return 0;
}

/* ---- MC146818 ---- */

void vmm_rtc_save(const struct vmm_rtc *rtc, struct vmm_snap_w *w)
{
	uint64_t now = vmm_clock_mono(rtc->clock);

	vmm_snap_put_bytes(w, rtc->s.cmos, sizeof(rtc->s.cmos));
	vmm_snap_put_u8(w, rtc->s.index);
	vmm_snap_put_u8(w, rtc->s.nmi_masked);
	vmm_snap_put_u8(w, rtc->s.irq_level);
	vmm_snap_put_u64(w, (uint64_t)vmm_rtc_guest_time(rtc));
	vmm_snap_put_u64(w, vmm_ds_ago(now, rtc->s.flags_mono));
	vmm_snap_put_u64(w, (uint64_t)rtc->s.flags_sec);
}

int vmm_rtc_load(struct vmm_rtc *rtc, const void *p, size_t len, struct vx_err *err)
{
	uint64_t now = vmm_clock_mono(rtc->clock), ago;
	struct vmm_rtc_state s;
	struct vmm_snap_r r;
	int64_t guest_ns;
	int bad = 0, rc;

	vmm_snap_r_init(&r, p, len);
	vmm_snap_get_bytes(&r, s.cmos, sizeof(s.cmos));
	s.index = vmm_snap_get_u8(&r);
	s.nmi_masked = (uint8_t)vmm_ds_bool(vmm_snap_get_u8(&r), &bad);
	s.irq_level = (uint8_t)vmm_ds_bool(vmm_snap_get_u8(&r), &bad);
	guest_ns = (int64_t)vmm_snap_get_u64(&r);
	ago = vmm_snap_get_u64(&r);
	s.flags_sec = (int64_t)vmm_snap_get_u64(&r);
	if ((rc = vmm_snap_r_done(&r, "RTC", err)))
		return rc;
	if (bad || s.index > 127)
		return vmm_ds_bad(err, "RTC", "a register");
	/* The guest's wall clock goes on from where it was saved. */
	s.offset_ns = guest_ns - vmm_clock_real(rtc->clock);
	s.flags_mono = ago < now ? now - ago : 0;
	rtc->s = s;
	return 0;
}

/* ---- 16550A ---- */

void vmm_uart_save(const struct vmm_uart *uart, struct vmm_snap_w *w)
{
	const struct vmm_uart_state *s = &uart->s;
	const uint8_t f[] = {
		s->ier, s->lcr, s->mcr, s->lsr, s->msr, s->scr, s->dll, s->dlm,
		s->fcr, s->thri_pending, s->host_msr, s->rx_head, s->rx_count, s->irq_level,
	};

	vmm_snap_put_bytes(w, f, sizeof(f));
	vmm_snap_put_bytes(w, s->rx, sizeof(s->rx));
}

int vmm_uart_load(struct vmm_uart *uart, const void *p, size_t len, struct vx_err *err)
{
	struct vmm_uart_state s;
	struct vmm_snap_r r;
	int bad = 0, rc;

	vmm_snap_r_init(&r, p, len);
	s.ier = vmm_snap_get_u8(&r);
	s.lcr = vmm_snap_get_u8(&r);
	s.mcr = vmm_snap_get_u8(&r);
	s.lsr = vmm_snap_get_u8(&r);
	s.msr = vmm_snap_get_u8(&r);
	s.scr = vmm_snap_get_u8(&r);
	s.dll = vmm_snap_get_u8(&r);
	s.dlm = vmm_snap_get_u8(&r);
	s.fcr = vmm_snap_get_u8(&r);
	s.thri_pending = (uint8_t)vmm_ds_bool(vmm_snap_get_u8(&r), &bad);
	s.host_msr = vmm_snap_get_u8(&r);
	s.rx_head = vmm_snap_get_u8(&r);
	s.rx_count = vmm_snap_get_u8(&r);
	s.irq_level = (uint8_t)vmm_ds_bool(vmm_snap_get_u8(&r), &bad);
	vmm_snap_get_bytes(&r, s.rx, sizeof(s.rx));
	if ((rc = vmm_snap_r_done(&r, "UART", err)))
		return rc;
	/* The FIFO is a ring of VMM_UART_FIFO_SIZE: head and count index it. */
	if (bad || s.rx_head >= VMM_UART_FIFO_SIZE || s.rx_count > VMM_UART_FIFO_SIZE)
		return vmm_ds_bad(err, "UART", "the receive FIFO");
	uart->s = s;
	return 0;
}

/* ---- i8042 ---- */

void vmm_i8042_save(const struct vmm_i8042 *kbc, struct vmm_snap_w *w)
{
	const struct vmm_i8042_state *s = &kbc->s;
	const uint8_t f[] = { s->status, s->ctr, s->outport, s->out, s->pending_cmd,
			      s->irq_level };

	vmm_snap_put_bytes(w, f, sizeof(f));
}

int vmm_i8042_load(struct vmm_i8042 *kbc, const void *p, size_t len, struct vx_err *err)
{
	struct vmm_i8042_state s;
	struct vmm_snap_r r;
	int bad = 0, rc;

	vmm_snap_r_init(&r, p, len);
	s.status = vmm_snap_get_u8(&r);
	s.ctr = vmm_snap_get_u8(&r);
	s.outport = vmm_snap_get_u8(&r);
	s.out = vmm_snap_get_u8(&r);
	s.pending_cmd = vmm_snap_get_u8(&r);
	s.irq_level = (uint8_t)vmm_ds_bool(vmm_snap_get_u8(&r), &bad);
	if ((rc = vmm_snap_r_done(&r, "i8042", err)))
		return rc;
	if (bad)
		return vmm_ds_bad(err, "i8042", "the IRQ level");
	kbc->s = s;
	return 0;
}

/* ---- ACPI PM1 ---- */

void vmm_acpi_pm_save(const struct vmm_acpi_pm *pm, struct vmm_snap_w *w)
{
	vmm_snap_put_u16(w, pm->s.sts);
	vmm_snap_put_u16(w, pm->s.en);
	vmm_snap_put_u16(w, pm->s.cnt);
	vmm_snap_put_u8(w, pm->s.sci_level);
}

int vmm_acpi_pm_load(struct vmm_acpi_pm *pm, const void *p, size_t len, struct vx_err *err)
{
	struct vmm_acpi_pm_state s;
	struct vmm_snap_r r;
	int bad = 0, rc;

	vmm_snap_r_init(&r, p, len);
	s.sts = vmm_snap_get_u16(&r);
	s.en = vmm_snap_get_u16(&r);
	s.cnt = vmm_snap_get_u16(&r);
	s.sci_level = (uint8_t)vmm_ds_bool(vmm_snap_get_u8(&r), &bad);
	if ((rc = vmm_snap_r_done(&r, "ACPI PM", err)))
		return rc;
	if (bad)
		return vmm_ds_bad(err, "ACPI PM", "the SCI level");
	pm->s = s;
	return 0;
}

/* ---- 82093AA IOAPIC ---- */

void vmm_ioapic_save(const struct vmm_ioapic *io, struct vmm_snap_w *w)
{
	vmm_snap_put_u8(w, io->id);
	vmm_snap_put_u8(w, io->regsel);
	vmm_snap_put_u32(w, io->lines);
	for (unsigned pin = 0; pin < VMM_IOAPIC_PINS; pin++)
		vmm_snap_put_u64(w, io->rte[pin]);
}

/* What the model can hold: the guest's writable bits, and remote IRR on
 * a level entry only (delivery status never reads 1 here). */
static int vmm_ioapic_rte_ok(uint64_t e)
{
	if (e & ~(IOAPIC_RTE_WRITABLE | IOAPIC_RTE_REMOTE_IRR))
		return 0;
	return !(e & IOAPIC_RTE_REMOTE_IRR) || (e & IOAPIC_RTE_LEVEL);
}

int vmm_ioapic_load(struct vmm_ioapic *io, const void *p, size_t len, struct vx_err *err)
{
	uint64_t rte[VMM_IOAPIC_PINS];
	struct vmm_snap_r r;
	uint32_t lines;
	uint8_t id, regsel;
	int rc;

	vmm_snap_r_init(&r, p, len);
	id = vmm_snap_get_u8(&r);
	regsel = vmm_snap_get_u8(&r);
	lines = vmm_snap_get_u32(&r);
	for (unsigned pin = 0; pin < VMM_IOAPIC_PINS; pin++)
		rte[pin] = vmm_snap_get_u64(&r);
	if ((rc = vmm_snap_r_done(&r, "IOAPIC", err)))
		return rc;
	if (id > 15)
		return vmm_ds_bad(err, "IOAPIC", "the ID");
	if (lines >> VMM_IOAPIC_PINS)
		return vmm_ds_bad(err, "IOAPIC", "a pin level");
	for (unsigned pin = 0; pin < VMM_IOAPIC_PINS; pin++)
		if (!vmm_ioapic_rte_ok(rte[pin]))
			return vx_err_set(err, -EBADMSG,
					  "state file: IOAPIC: redirection entry %u (0x%016llx) out of range",
					  pin, (unsigned long long)rte[pin]);
	io->id = id;
	io->regsel = regsel;
	io->lines = lines;
	memcpy(io->rte, rte, sizeof(rte));
	return 0;
}
