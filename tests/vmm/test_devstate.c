/* Unit tests for vmm/devstate.c and the PCI/virtio state in pci.c,
 * virtio_pci.c, virtio_blk.c, and the IOAPIC's: each device's save/load round trip (state
 * equal after, times rebased on the loading clock), and hostile sections:
 * every truncation, a trailing byte, out-of-range fields and random bytes
 * give an error and leave the device as it was (never a crash: ASan). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "storage/image.h"
#include "vmm/devstate.h"
#include "tests/vmm/pio_fixture.h"

/* Saves dev with save into a fresh buffer. */
#define SAVE(w, save, dev) do { vmm_snap_w_init(w); save((dev), (w)); \
		assert_false((w)->failed); } while (0)

/*
 * Every shorter prefix, the payload plus one byte, and random bytes of the
 * right length: load must refuse the first two kinds, may take the third,
 * and must never leave state changed when it refuses.
 */
#define HOSTILE(dev, load, buf, len) do {					\
		uint8_t *h_ = malloc((len) + 1);				\
		__typeof__((dev)->s) before_;					\
		memcpy(h_, (buf), (len));					\
		memcpy(&before_, &(dev)->s, sizeof(before_));			\
		for (size_t n_ = 0; n_ < (len); n_++) {			\
			struct vx_err e_ = { 0 };				\
			assert_int_equal(load((dev), h_, n_, &e_), -EBADMSG);	\
			assert_non_null(strstr(e_.msg, "state file"));		\
			assert_memory_equal(&before_, &(dev)->s, sizeof(before_)); \
		}								\
		h_[(len)] = 0;							\
		assert_int_equal(load((dev), h_, (len) + 1, NULL), -EBADMSG);	\
		assert_memory_equal(&before_, &(dev)->s, sizeof(before_));	\
		srand(7);							\
		for (int i_ = 0; i_ < 2000; i_++) {				\
			for (size_t k_ = 0; k_ < (len); k_++)			\
				h_[k_] = (uint8_t)(i_ & 1 ? rand() : (rand() & 3)); \
			memcpy(&before_, &(dev)->s, sizeof(before_));		\
			if (load((dev), h_, (len), NULL))			\
				assert_memory_equal(&before_, &(dev)->s, sizeof(before_)); \
		}								\
		free(h_);							\
	} while (0)

static struct pio_fixture io;

static void pic_round_trip_and_hostile(void **state)
{
	struct vmm_pic a, b;
	struct vmm_snap_w w;

	(void)state;
	vmm_pic_init(&a, NULL, NULL);
	vmm_pic_init(&b, NULL, NULL);
	a.s.chip[0].irr = 0x11;
	a.s.chip[0].isr = 0x01;
	a.s.chip[0].imr = 0xb8;
	a.s.chip[0].vector_base = 0x30;
	a.s.chip[1].vector_base = 0x38;
	a.s.chip[1].elcr = 0x02;
	a.s.chip[0].lowest = 3;
	a.s.chip[1].auto_eoi = 1;
	a.s.intr = 1;
	SAVE(&w, vmm_pic_save, &a);
	assert_int_equal(vmm_pic_load(&b, w.buf, w.len, NULL), 0);
	assert_memory_equal(&a.s, &b.s, sizeof(a.s));
	HOSTILE(&b, vmm_pic_load, w.buf, w.len);
	/* Field checks: ELCR bits the chipset has not, an impossible ICW step. */
	w.buf[4] = 0x01;	/* master ELCR bit 0: IRQ 0 is always edge */
	assert_int_equal(vmm_pic_load(&b, w.buf, w.len, NULL), -EBADMSG);
	w.buf[4] = 0;
	w.buf[7] = 1;		/* init_step 1 */
	assert_int_equal(vmm_pic_load(&b, w.buf, w.len, NULL), -EBADMSG);
	assert_memory_equal(&a.s, &b.s, sizeof(a.s));
	vmm_snap_w_free(&w);
}

static void pit_round_trip_rebases_time(void **state)
{
	struct vmm_pit a, b;
	struct vmm_snap_w w;

	(void)state;
	pio_fixture_init(&io, 5000000000ull, 0);
	vmm_pit_init(&a, &io.clock, NULL, NULL);
	vmm_pit_init(&b, &io.clock, NULL, NULL);
	a.s.ch[0].reload = 11932;
	a.s.ch[0].mode = 2;
	a.s.ch[0].running = 1;
	a.s.ch[0].armed = 1;
	a.s.ch[0].load_ns = io.mono - 3000000;	/* 3 ms ago */
	a.s.ch[0].edges_seen = 2;
	a.s.ch[2].latched = 2;
	a.s.ch[2].latch = 0x1234;
	a.s.port_b = 0x3;
	SAVE(&w, vmm_pit_save, &a);
	io.mono += 7000000000ull;	/* the file sat for 7 s */
	assert_int_equal(vmm_pit_load(&b, w.buf, w.len, NULL), 0);
	/* Still 3 ms into its count on the new clock. */
	assert_int_equal(b.s.ch[0].load_ns, io.mono - 3000000);
	assert_int_equal(b.s.ch[0].reload, 11932);
	assert_int_equal(b.s.ch[0].edges_seen, 2);
	assert_int_equal(b.s.ch[2].latch, 0x1234);
	assert_int_equal(b.s.ch[2].latched, 2);
	assert_int_equal(b.s.port_b, 3);
	assert_int_equal(vmm_pit_count(&a, 0) != 0, 1);
	HOSTILE(&b, vmm_pit_load, w.buf, w.len);
	/* reload 0 would divide by zero in the count. */
	memset(w.buf, 0, 4);
	assert_int_equal(vmm_pit_load(&b, w.buf, w.len, NULL), -EBADMSG);
	vmm_snap_w_free(&w);
}

static void rtc_round_trip_keeps_guest_time(void **state)
{
	struct vmm_rtc a, b;
	struct vmm_snap_w w;
	int64_t guest;

	(void)state;
	pio_fixture_init(&io, 9000000000ull, 1700000000ll * 1000000000ll);
	vmm_rtc_init(&a, &io.clock, NULL, NULL);
	vmm_rtc_init(&b, &io.clock, NULL, NULL);
	a.s.cmos[0x0b] = 0x02;
	a.s.cmos[0x40] = 0x5a;
	a.s.index = 0x0c;
	a.s.irq_level = 1;
	a.s.offset_ns = -3600ll * 1000000000ll;	/* guest an hour behind */
	guest = vmm_rtc_guest_time(&a);
	SAVE(&w, vmm_rtc_save, &a);
	pio_clock_advance(&io, 60ll * 1000000000ll);
	assert_int_equal(vmm_rtc_load(&b, w.buf, w.len, NULL), 0);
	assert_int_equal(vmm_rtc_guest_time(&b), guest);
	assert_memory_equal(a.s.cmos, b.s.cmos, sizeof(a.s.cmos));
	assert_int_equal(b.s.index, 0x0c);
	assert_int_equal(b.s.irq_level, 1);
	HOSTILE(&b, vmm_rtc_load, w.buf, w.len);
	w.buf[128] = 0x80;	/* index past the 128 bytes of CMOS */
	assert_int_equal(vmm_rtc_load(&b, w.buf, w.len, NULL), -EBADMSG);
	vmm_snap_w_free(&w);
}

static void uart_round_trip_and_fifo_checks(void **state)
{
	struct vmm_uart a, b;
	struct vmm_uart_cb cb = { 0 };
	struct vmm_snap_w w;

	(void)state;
	vmm_uart_init(&a, &cb);
	vmm_uart_init(&b, &cb);
	a.s.ier = 0x03;
	a.s.lcr = 0x03;
	a.s.dll = 1;
	vmm_uart_push(&a, (const uint8_t *)"hello", 5);
	SAVE(&w, vmm_uart_save, &a);
	assert_int_equal(vmm_uart_load(&b, w.buf, w.len, NULL), 0);
	assert_memory_equal(&a.s, &b.s, sizeof(a.s));
	assert_int_equal(vmm_uart_rx_space(&b), vmm_uart_rx_space(&a));
	assert_int_equal(b.s.rx_count, a.s.rx_count);
	HOSTILE(&b, vmm_uart_load, w.buf, w.len);
	w.buf[11] = VMM_UART_FIFO_SIZE;	/* rx_head outside the ring */
	assert_int_equal(vmm_uart_load(&b, w.buf, w.len, NULL), -EBADMSG);
	w.buf[11] = 0;
	w.buf[12] = VMM_UART_FIFO_SIZE + 1;	/* more bytes than the FIFO */
	assert_int_equal(vmm_uart_load(&b, w.buf, w.len, NULL), -EBADMSG);
	vmm_snap_w_free(&w);
}

static void i8042_and_acpi_pm_round_trip(void **state)
{
	struct vmm_i8042 ka, kb;
	struct vmm_i8042_cb kcb = { 0 };
	struct vmm_acpi_pm pa, pb;
	struct vmm_acpi_pm_cb pcb = { 0 };
	struct vmm_snap_w w;

	(void)state;
	vmm_i8042_init(&ka, &kcb);
	vmm_i8042_init(&kb, &kcb);
	ka.s.ctr = 0x47;
	ka.s.out = 0xfa;
	ka.s.pending_cmd = 0x60;
	SAVE(&w, vmm_i8042_save, &ka);
	assert_int_equal(vmm_i8042_load(&kb, w.buf, w.len, NULL), 0);
	assert_memory_equal(&ka.s, &kb.s, sizeof(ka.s));
	HOSTILE(&kb, vmm_i8042_load, w.buf, w.len);
	vmm_snap_w_free(&w);

	vmm_acpi_pm_init(&pa, &pcb);
	vmm_acpi_pm_init(&pb, &pcb);
	pa.s.sts = 0x0100;
	pa.s.en = 0x0100;
	pa.s.cnt = 0x1401;
	pa.s.sci_level = 1;
	SAVE(&w, vmm_acpi_pm_save, &pa);
	assert_int_equal(vmm_acpi_pm_load(&pb, w.buf, w.len, NULL), 0);
	assert_int_equal(pb.s.sts, 0x0100);
	assert_int_equal(pb.s.en, 0x0100);
	assert_int_equal(pb.s.cnt, 0x1401);
	assert_int_equal(pb.s.sci_level, 1);
	HOSTILE(&pb, vmm_acpi_pm_load, w.buf, w.len);
	vmm_snap_w_free(&w);
}

/* ---- IOAPIC ---- */

static unsigned ioapic_sent;
static struct vmm_ioapic_msg ioapic_last;

static void ioapic_deliver(void *opaque, const struct vmm_ioapic_msg *msg)
{
	(void)opaque;
	ioapic_sent++;
	ioapic_last = *msg;
}

/* Pin 3 level, asserted, waiting for its EOI (remote IRR); pin 4 edge,
 * unmasked, low; the rest masked. */
static void ioapic_sample(struct vmm_ioapic *ia)
{
	vmm_ioapic_init(ia, ioapic_deliver, NULL);
	ia->id = 2;
	ia->regsel = 0x17;
	ia->lines = 1u << 3;
	ia->rte[3] = 0x31 | IOAPIC_RTE_LEVEL | IOAPIC_RTE_REMOTE_IRR | 1ull << 56;
	ia->rte[4] = 0x34 | IOAPIC_RTE_DEST_LOGICAL | 3ull << 56;
}

/* Loaded into a fresh IOAPIC, it behaves as the saved one: the EOI for
 * pin 3's vector sends again (the line is still up), pin 4's edge sends;
 * loading itself sent nothing. */
static void ioapic_round_trip_keeps_behaviour(void **state)
{
	struct vmm_ioapic a, b;
	struct vmm_snap_w w;

	(void)state;
	ioapic_sample(&a);
	SAVE(&w, vmm_ioapic_save, &a);
	vmm_ioapic_init(&b, ioapic_deliver, NULL);
	ioapic_sent = 0;
	assert_int_equal(vmm_ioapic_load(&b, w.buf, w.len, NULL), 0);
	assert_int_equal(ioapic_sent, 0);
	assert_int_equal(b.id, 2);
	assert_int_equal(b.regsel, 0x17);
	assert_int_equal(b.lines, 1u << 3);
	assert_memory_equal(a.rte, b.rte, sizeof(a.rte));
	vmm_ioapic_eoi(&b, 0x31);
	assert_int_equal(ioapic_sent, 1);
	assert_int_equal(ioapic_last.pin, 3);
	assert_int_equal(ioapic_last.dest, 1);
	assert_true(b.rte[3] & IOAPIC_RTE_REMOTE_IRR);	/* sent again: waits again */
	vmm_ioapic_set_irq(&b, 4, 1);
	assert_int_equal(ioapic_sent, 2);
	assert_int_equal(ioapic_last.vector, 0x34);
	assert_int_equal(ioapic_last.logical, 1);
	vmm_snap_w_free(&w);
}

/* Every truncation, a trailing byte, out-of-range fields, random bytes:
 * refused (or, for random bytes, maybe taken) and never half-loaded. */
static void ioapic_hostile_sections_change_nothing(void **state)
{
	static const struct { size_t off; uint8_t val; const char *what; } bad[] = {
		{ 0, 16, "ID" },			/* 4-bit ID */
		{ 5, 0x01, "pin level" },		/* lines bit 24 */
		{ 6 + 8 * 5 + 1, 0x10, "entry 5" },	/* delivery status, never set */
		{ 6 + 8 * 4 + 1, 0x40, "entry 4" },	/* remote IRR on an edge entry */
		{ 6 + 8 * 6 + 2, 0x02, "entry 6" },	/* reserved bit 17 */
	};
	struct vmm_ioapic a, b, before;
	struct vmm_snap_w w;
	uint8_t *h;

	(void)state;
	ioapic_sample(&a);
	SAVE(&w, vmm_ioapic_save, &a);
	assert_int_equal(w.len, 2 + 4 + 8 * VMM_IOAPIC_PINS);
	h = malloc(w.len + 1);
	vmm_ioapic_init(&b, ioapic_deliver, NULL);
	before = b;
	for (size_t n = 0; n < w.len; n++) {
		struct vx_err e = { 0 };

		assert_int_equal(vmm_ioapic_load(&b, w.buf, n, &e), -EBADMSG);
		assert_non_null(strstr(e.msg, "IOAPIC section truncated"));
		assert_memory_equal(&before, &b, sizeof(b));
	}
	memcpy(h, w.buf, w.len);
	h[w.len] = 0;
	assert_int_equal(vmm_ioapic_load(&b, h, w.len + 1, NULL), -EBADMSG);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vx_err e = { 0 };

		memcpy(h, w.buf, w.len);
		h[bad[i].off] |= bad[i].val;
		assert_int_equal(vmm_ioapic_load(&b, h, w.len, &e), -EBADMSG);
		assert_non_null(strstr(e.msg, bad[i].what));
		assert_memory_equal(&before, &b, sizeof(b));
	}
	srand(11);
	for (int i = 0; i < 2000; i++) {
		for (size_t k = 0; k < w.len; k++)
			h[k] = (uint8_t)(i & 1 ? rand() : (rand() & 3));
		before = b;
		if (vmm_ioapic_load(&b, h, w.len, NULL))
			assert_memory_equal(&before, &b, sizeof(b));
	}
	free(h);
	vmm_snap_w_free(&w);
}

/* ---- PCI and virtio-blk ---- */

#define RAM_SIZE	0x100000

struct blk_fx {
	struct vmm_bus mmio;
	struct vmm_pci pci;
	struct vmm_guest_mem mem;
	struct vmm_virtio_blk blk;
	struct img *img;
	char path[64];
};

static void blk_fx_open(struct blk_fx *f, uint8_t *ram, const char *path, uint64_t size)
{
	struct img_create_opts o = { .fmt = "qcow2", .size = size };
	struct vmm_virtio_blk_conf conf = { .serial = "snap" };
	struct vmm_pci_irq irq = { NULL, NULL, 10 };
	struct vx_err err;

	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s", path);
	unlink(path);
	vmm_bus_init(&f->mmio, VMM_BUS_MMIO);
	vmm_pci_init(&f->pci, &f->mmio);
	f->mem = (struct vmm_guest_mem){ ram, RAM_SIZE };
	assert_int_equal(img_create(path, &o, &err), 0);
	assert_int_equal(img_open(path, "qcow2", IMG_RDWR, &f->img, &err), 0);
	conf.img = f->img;
	assert_int_equal(vmm_virtio_blk_init(&f->blk, &conf, &f->mem, &err), 0);
	assert_int_equal(vmm_pci_add(&f->pci, 1, vmm_virtio_blk_pci(&f->blk), &irq, &err), 0);
}

static void blk_fx_close(struct blk_fx *f)
{
	vmm_pci_destroy(&f->pci);
	vmm_bus_destroy(&f->mmio);
	img_close(f->img, NULL);
	unlink(f->path);
}

static void virtio_blk_round_trip_and_hostile(void **state)
{
	static uint8_t ram[RAM_SIZE];
	static struct blk_fx a, b;
	struct vmm_virtio_pci *vp;
	struct vmm_snap_w w;
	struct vx_err err = { 0 };

	(void)state;
	blk_fx_open(&a, ram, "/tmp/vxsnap-test-a.qcow2", 4u << 20);
	blk_fx_open(&b, ram, "/tmp/vxsnap-test-b.qcow2", 4u << 20);
	/* A driver that got as far as DRIVER_OK with queue 0 live, and moved
	 * BAR 0 (the guest may). */
	vp = &a.blk.vp;
	vp->guest_features = vp->host_features;
	vp->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;
	vp->q[0].size = 16;
	vp->q[0].desc = 0x1000;
	vp->q[0].driver = 0x2000;
	vp->q[0].device = 0x3000;
	assert_int_equal(vmm_virtq_setup(&vp->q[0].vq, &a.mem, 16, 0x1000, 0x2000, 0x3000), 0);
	vp->q[0].enable = 1;
	vp->q[0].vq.last_avail = 7;
	vp->q[0].vq.used_idx = 7;
	vmm_pci_cfg_write(&vp->pci, PCI_BASE_ADDRESS_0, 4, 0xc0100000);
	assert_int_equal(vp->pci.bar[0].addr, 0xc0100000);
	SAVE(&w, vmm_virtio_blk_save, &a.blk);

	assert_int_equal(vmm_virtio_blk_check(&b.blk, w.buf, w.len, &err), 0);
	assert_int_equal(b.blk.vp.status, 0);	/* check changes nothing */
	assert_int_equal(vmm_virtio_blk_load(&b.blk, w.buf, w.len, &err), 0);
	assert_int_equal(b.blk.vp.status, vp->status);
	assert_non_null(vmm_virtio_pci_queue(&b.blk.vp, 0));
	assert_int_equal(b.blk.vp.q[0].vq.last_avail, 7);
	assert_int_equal(b.blk.vp.q[0].vq.used_idx, 7);
	assert_int_equal(b.blk.vp.pci.bar[0].mapped, 1);
	assert_int_equal(b.blk.vp.pci.bar[0].addr, 0xc0100000);
	assert_memory_equal(a.blk.vp.pci.cfg, b.blk.vp.pci.cfg, VMM_PCI_CFG_SIZE);

	/* Every truncation and random bytes: refused by the check, or taken. */
	{
		uint8_t *h = malloc(w.len + 1);

		memcpy(h, w.buf, w.len);
		for (size_t n = 0; n < w.len; n++)
			assert_int_equal(vmm_virtio_blk_check(&b.blk, h, n, NULL), -EBADMSG);
		h[w.len] = 0;
		assert_int_equal(vmm_virtio_blk_check(&b.blk, h, w.len + 1, NULL), -EBADMSG);
		srand(3);
		for (int i = 0; i < 300; i++) {
			memcpy(h, w.buf, w.len);
			for (int k = 0; k < 4; k++)
				h[(size_t)rand() % w.len] = (uint8_t)rand();
			(void)vmm_virtio_blk_check(&b.blk, h, w.len, NULL);
		}
		/* Rings outside RAM. */
		memcpy(h, w.buf, w.len);
		h[8 + 2 + 8 + 4 + 4 + 2 + 3 + 2 + 2 + 7] = 0x40;	/* q0.desc bits 56-63 */
		assert_int_equal(vmm_virtio_blk_check(&b.blk, h, w.len, &err), -EBADMSG);
		assert_non_null(strstr(err.msg, "outside RAM"));
		free(h);
	}
	/* Another disk size: not this machine's device. */
	blk_fx_close(&b);
	blk_fx_open(&b, ram, "/tmp/vxsnap-test-b.qcow2", 8u << 20);
	assert_int_equal(vmm_virtio_blk_load(&b.blk, w.buf, w.len, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "sectors"));
	vmm_snap_w_free(&w);

	/* The host bridge and CONFIG_ADDRESS. */
	a.pci.addr = 0x80000800;
	SAVE(&w, vmm_pci_save, &a.pci);
	assert_int_equal(vmm_pci_load(&b.pci, w.buf, w.len, NULL), 0);
	assert_int_equal(b.pci.addr, 0x80000800);
	for (size_t n = 0; n < w.len; n++)
		assert_int_equal(vmm_pci_load(&b.pci, w.buf, n, NULL), -EBADMSG);
	w.buf[4] ^= 0xff;	/* vendor id: another function */
	assert_int_equal(vmm_pci_load(&b.pci, w.buf, w.len, &err), -EINVAL);
	vmm_snap_w_free(&w);
	blk_fx_close(&a);
	blk_fx_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pic_round_trip_and_hostile),
		cmocka_unit_test(pit_round_trip_rebases_time),
		cmocka_unit_test(rtc_round_trip_keeps_guest_time),
		cmocka_unit_test(uart_round_trip_and_fifo_checks),
		cmocka_unit_test(i8042_and_acpi_pm_round_trip),
		cmocka_unit_test(virtio_blk_round_trip_and_hostile),
		cmocka_unit_test(ioapic_round_trip_keeps_behaviour),
		cmocka_unit_test(ioapic_hostile_sections_change_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
