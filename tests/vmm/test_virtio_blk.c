/* Unit tests for vmm/virtio_blk.c and vmm/virtio_pci.c: a small guest
 * driver written here finds the disk through configuration mechanism #1,
 * walks its capabilities, negotiates features, sets up a queue in a
 * guest-RAM buffer and does I/O on a qcow2 image made by the storage
 * library, as Linux's virtio_pci_modern and virtio_blk do. Then hostile
 * drivers: the device must end up in NEEDS_RESET, never crash. */
#include <errno.h>
#include <fcntl.h>
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
#include "vmm/bus.h"
#include "vmm/pci.h"
#include "vmm/virtio_blk.h"
#include "vmm/virtio_pci.h"
#include "tests/storage/st_helpers.h"

#define RAM		0x100000
#define G_DESC		0x1000
#define G_AVAIL		0x2000
#define G_USED		0x3000
#define G_HDR		0x4000
#define G_STATUS	0x4100
#define G_ID		0x4200
#define G_TABLE		0x5000
#define G_DATA		0x10000
#define DISK_SIZE	(4u << 20)
#define QSZ		16
#define SLOT		1
#define IRQ_LINE	10

struct fx {
	struct vmm_bus pio, mmio;
	struct vmm_pci pci;
	struct vmm_guest_mem mem;
	struct vmm_virtio_blk blk;
	struct img *img;
	char path[256];
	int level, nedges;
	char log[512];
	int nlog;
	/* The driver's view. */
	unsigned slot;
	uint64_t bar;
	uint32_t common, isr, devcfg, notify, mult, devcfg_len, pcicfg;
	uint16_t avail_idx, used_seen, desc_next;
};

static void fx_irq(void *opaque, int level)
{
	struct fx *f = opaque;

	if (level && !f->level)
		f->nedges++;
	f->level = level;
}

static void fx_log(void *opaque, const char *msg)
{
	struct fx *f = opaque;

	snprintf(f->log, sizeof(f->log), "%s", msg);
	f->nlog++;
}

static int fx_open(struct fx *f, const char *fmt, int flags)
{
	struct img_create_opts o = { .fmt = fmt, .size = DISK_SIZE };
	struct vmm_virtio_blk_conf conf = {
		.serial = "vmxcore-disk-0001", .log = fx_log,
	};
	struct vmm_pci_irq irq = { fx_irq, f, IRQ_LINE };
	struct vx_err err = { 0 };

	snprintf(f->path, sizeof(f->path), "%s/disk.%s", st_dir, fmt);
	if (img_create(f->path, &o, &err) ||
	    img_open(f->path, fmt, flags, &f->img, &err)) {
		print_message("image: %s\n", err.msg);
		return -1;
	}
	conf.img = f->img;
	conf.log_opaque = f;
	if (vmm_virtio_blk_init(&f->blk, &conf, &f->mem, &err) ||
	    vmm_pci_add(&f->pci, SLOT, vmm_virtio_blk_pci(&f->blk), &irq,
			&err)) {
		print_message("device: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int fx_setup_fmt(void **state, const char *fmt, int flags)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || st_setup(NULL))
		return -1;
	f->mem.base = calloc(1, RAM);
	f->mem.size = RAM;
	vmm_bus_init(&f->pio, VMM_BUS_PIO);
	vmm_bus_init(&f->mmio, VMM_BUS_MMIO);
	vmm_pci_init(&f->pci, &f->mmio);
	if (!f->mem.base || vmm_pci_register(&f->pci, &f->pio, NULL) ||
	    fx_open(f, fmt, flags))
		return -1;
	*state = f;
	return 0;
}

static int fx_setup(void **state)
{
	return fx_setup_fmt(state, "qcow2", IMG_RDWR);
}

static int fx_setup_ro(void **state)
{
	return fx_setup_fmt(state, "qcow2", 0);
}

static int fx_setup_raw(void **state)
{
	return fx_setup_fmt(state, "raw", IMG_RDWR);
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	vmm_pci_destroy(&f->pci);
	vmm_bus_destroy(&f->pio);
	vmm_bus_destroy(&f->mmio);
	if (f->img)
		img_close(f->img, NULL);
	free(f->mem.base);
	free(f);
	return st_teardown(NULL);
}

/* ---- the guest driver ---- */

static uint32_t cfg_read(struct fx *f, unsigned slot, unsigned reg,
			 unsigned size)
{
	uint64_t v;

	vmm_bus_write(&f->pio, 0xcf8, 4, 0x80000000u | slot << 11 | (reg & 0xfc));
	vmm_bus_read(&f->pio, 0xcfc + (reg & 3), size, &v);
	return (uint32_t)v;
}

static void cfg_write(struct fx *f, unsigned slot, unsigned reg,
		      unsigned size, uint32_t v)
{
	vmm_bus_write(&f->pio, 0xcf8, 4, 0x80000000u | slot << 11 | (reg & 0xfc));
	vmm_bus_write(&f->pio, 0xcfc + (reg & 3), size, v);
}

static uint64_t rd(struct fx *f, uint64_t off, unsigned size)
{
	uint64_t v;

	assert_int_equal(vmm_bus_read(&f->mmio, f->bar + off, size, &v), 0);
	return v;
}

static void wr(struct fx *f, uint64_t off, unsigned size, uint64_t v)
{
	assert_int_equal(vmm_bus_write(&f->mmio, f->bar + off, size, v), 0);
}

#define COMMON(f, reg)	((f)->common + VIRTIO_PCI_COMMON_##reg)

static uint8_t status(struct fx *f)
{
	return (uint8_t)rd(f, COMMON(f, STATUS), 1);
}

static void set_status(struct fx *f, uint8_t s)
{
	wr(f, COMMON(f, STATUS), 1, s);
}

/* pci_scan_slot + virtio_pci_find_capability + vp_modern_map_capability. */
static void drv_find(struct fx *f)
{
	unsigned slot, p, found = 0;
	uint64_t bar;

	f->slot = 0;
	for (slot = 0; slot < 32; slot++)
		if (cfg_read(f, slot, PCI_VENDOR_ID, 4) == 0x10421af4u)
			f->slot = slot;
	assert_int_equal(f->slot, SLOT);
	assert_true(cfg_read(f, f->slot, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	for (p = cfg_read(f, f->slot, PCI_CAPABILITY_LIST, 1) & 0xfc; p;
	     p = cfg_read(f, f->slot, p + 1, 1) & 0xfc) {
		unsigned type = cfg_read(f, f->slot, p + 3, 1);
		uint32_t off = cfg_read(f, f->slot, p + 8, 4);

		assert_int_equal(cfg_read(f, f->slot, p, 1), PCI_CAP_ID_VNDR);
		assert_int_equal(cfg_read(f, f->slot, p + 4, 1), 0);	/* BAR */
		found |= 1u << type;
		if (type == VIRTIO_PCI_CAP_COMMON_CFG) {
			f->common = off;
			assert_true(cfg_read(f, f->slot, p + 12, 4) >= 0x38);
		} else if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
			f->notify = off;
			assert_true(cfg_read(f, f->slot, p + 2, 1) >= 20);
			f->mult = cfg_read(f, f->slot, p + 16, 4);
		} else if (type == VIRTIO_PCI_CAP_ISR_CFG) {
			f->isr = off;
		} else if (type == VIRTIO_PCI_CAP_DEVICE_CFG) {
			f->devcfg = off;
			f->devcfg_len = cfg_read(f, f->slot, p + 12, 4);
		} else if (type == VIRTIO_PCI_CAP_PCI_CFG) {
			f->pcicfg = p;
		}
	}
	assert_int_equal(found, 0x3e);
	bar = cfg_read(f, f->slot, PCI_BASE_ADDRESS_0, 4);
	assert_int_equal(bar & 0x6, PCI_BASE_ADDRESS_MEM_TYPE_64);
	bar = (bar & ~0xfull) |
	      (uint64_t)cfg_read(f, f->slot, PCI_BASE_ADDRESS_0 + 4, 4) << 32;
	assert_true(bar >= VMM_PCI_MMIO_BASE && bar < VMM_PCI_MMIO_END);
	f->bar = bar;
	/* pci_enable_device + pci_set_master */
	cfg_write(f, f->slot, PCI_COMMAND, 2,
		  PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

static uint64_t drv_device_features(struct fx *f)
{
	uint64_t lo, hi;

	wr(f, COMMON(f, DFSELECT), 4, 0);
	lo = rd(f, COMMON(f, DF), 4);
	wr(f, COMMON(f, DFSELECT), 4, 1);
	hi = rd(f, COMMON(f, DF), 4);
	return lo | hi << 32;
}

static void drv_set_features(struct fx *f, uint64_t feat)
{
	wr(f, COMMON(f, GFSELECT), 4, 0);
	wr(f, COMMON(f, GF), 4, (uint32_t)feat);
	wr(f, COMMON(f, GFSELECT), 4, 1);
	wr(f, COMMON(f, GF), 4, feat >> 32);
}

static void drv_queue(struct fx *f, uint16_t size, uint64_t desc,
		      uint64_t avail, uint64_t used)
{
	wr(f, COMMON(f, Q_SELECT), 2, 0);
	wr(f, COMMON(f, Q_SIZE), 2, size);
	/* Linux's vp_iowrite64_twopart: low half, then high. */
	wr(f, COMMON(f, Q_DESCLO), 4, (uint32_t)desc);
	wr(f, COMMON(f, Q_DESCHI), 4, desc >> 32);
	wr(f, COMMON(f, Q_AVAILLO), 4, (uint32_t)avail);
	wr(f, COMMON(f, Q_AVAILHI), 4, avail >> 32);
	wr(f, COMMON(f, Q_USEDLO), 4, (uint32_t)used);
	wr(f, COMMON(f, Q_USEDHI), 4, used >> 32);
	wr(f, COMMON(f, Q_ENABLE), 2, 1);
}

/* 3.1.1 Driver Requirements: Device Initialization. */
static void drv_init(struct fx *f, uint64_t want)
{
	uint64_t have;

	drv_find(f);
	set_status(f, 0);
	assert_int_equal(status(f), 0);
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE);
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	have = drv_device_features(f);
	assert_true(have & 1ull << VIRTIO_F_VERSION_1);
	drv_set_features(f, have & want);
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		   VIRTIO_STATUS_FEATURES_OK);
	assert_true(status(f) & VIRTIO_STATUS_FEATURES_OK);
	wr(f, COMMON(f, Q_SELECT), 2, 0);
	assert_int_equal(rd(f, COMMON(f, Q_SIZE), 2), VMM_VIRTIO_QUEUE_MAX);
	assert_int_equal(rd(f, COMMON(f, Q_ENABLE), 2), 0);
	memset(f->mem.base + G_AVAIL, 0, 0x2000);
	drv_queue(f, QSZ, G_DESC, G_AVAIL, G_USED);
	assert_int_equal(rd(f, COMMON(f, Q_ENABLE), 2), 1);
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		   VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(status(f), 0x0f);
	f->avail_idx = f->used_seen = 0;
}

#define WANT (1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_INDIRECT_DESC | \
	      1ull << VIRTIO_BLK_F_FLUSH | 1ull << VIRTIO_BLK_F_SEG_MAX | \
	      1ull << VIRTIO_BLK_F_BLK_SIZE | 1ull << VIRTIO_BLK_F_RO | \
	      1ull << VIRTIO_BLK_F_DISCARD | 1ull << VIRTIO_BLK_F_WRITE_ZEROES)

struct seg {
	uint64_t gpa;
	uint32_t len;
	int write;
};

static void put_desc(struct fx *f, uint64_t table, unsigned i,
		     const struct seg *s, int next, uint16_t nexti)
{
	uint8_t *p = f->mem.base + table + 16 * i;
	uint16_t flags = (s->write ? VIRTQ_DESC_F_WRITE : 0) |
			 (next ? VIRTQ_DESC_F_NEXT : 0);

	memcpy(p, &s->gpa, 8);
	memcpy(p + 8, &s->len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &nexti, 2);
}

static void drv_kick(struct fx *f, uint16_t head)
{
	uint8_t *avail = f->mem.base + G_AVAIL;

	memcpy(avail + 4 + 2 * (f->avail_idx % QSZ), &head, 2);
	f->avail_idx++;
	memcpy(avail + 2, &f->avail_idx, 2);
	wr(f, f->notify + 0 * f->mult, 2, 0);
}

/* Submits a chain (direct, or through an indirect table); returns the
 * used length, or -1 when the device did not complete it. */
static int64_t drv_submit(struct fx *f, const struct seg *s, unsigned n,
			  int indirect)
{
	uint16_t head = (uint16_t)(f->desc_next % QSZ), used_idx;
	uint32_t id, len;
	unsigned i;

	if (indirect) {
		struct seg t = { G_TABLE, 16 * n, 0 };
		uint16_t flags = VIRTQ_DESC_F_INDIRECT;

		for (i = 0; i < n; i++)
			put_desc(f, G_TABLE, i, &s[i], i + 1 < n, (uint16_t)(i + 1));
		put_desc(f, G_DESC, head, &t, 0, 0);
		memcpy(f->mem.base + G_DESC + 16 * head + 12, &flags, 2);
		f->desc_next++;
	} else {
		for (i = 0; i < n; i++)
			put_desc(f, G_DESC, (head + i) % QSZ, &s[i], i + 1 < n,
				 (uint16_t)((head + i + 1) % QSZ));
		f->desc_next += n;
	}
	drv_kick(f, head);
	memcpy(&used_idx, f->mem.base + G_USED + 2, 2);
	if (used_idx == f->used_seen)
		return -1;
	assert_int_equal(used_idx, (uint16_t)(f->used_seen + 1));
	memcpy(&id, f->mem.base + G_USED + 4 + 8 * (f->used_seen % QSZ), 4);
	memcpy(&len, f->mem.base + G_USED + 8 + 8 * (f->used_seen % QSZ), 4);
	f->used_seen++;
	assert_int_equal(id, head);
	return len;
}

static void put_hdr(struct fx *f, uint32_t type, uint64_t sector)
{
	uint8_t *h = f->mem.base + G_HDR;

	memset(h, 0, 16);
	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	f->mem.base[G_STATUS] = 0xee;
}

/* One read or write of len bytes at sector, data at G_DATA in nseg
 * pieces of uneven sizes. Returns the status byte. */
static int drv_rw(struct fx *f, int write, uint64_t sector, uint32_t len,
		  unsigned nseg, int indirect)
{
	struct seg s[10];
	uint32_t done = 0;
	unsigned n = 0, i;
	int64_t used;

	assert_true(nseg <= 8);
	put_hdr(f, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, sector);
	s[n++] = (struct seg){ G_HDR, 16, 0 };
	for (i = 0; i < nseg; i++) {
		uint32_t piece = i + 1 == nseg ? len - done : len / nseg + 100;

		s[n++] = (struct seg){ G_DATA + done, piece, !write };
		done += piece;
	}
	s[n++] = (struct seg){ G_STATUS, 1, 1 };
	used = drv_submit(f, s, n, indirect);
	assert_true(used >= 1);
	if (!write && f->mem.base[G_STATUS] == VIRTIO_BLK_S_OK)
		assert_int_equal(used, len + 1);
	return f->mem.base[G_STATUS];
}

static int drv_simple(struct fx *f, uint32_t type, uint64_t sector)
{
	struct seg s[2] = { { G_HDR, 16, 0 }, { G_STATUS, 1, 1 } };

	put_hdr(f, type, sector);
	assert_true(drv_submit(f, s, 2, 0) >= 1);
	return f->mem.base[G_STATUS];
}

static uint8_t drv_isr(struct fx *f)
{
	return (uint8_t)rd(f, f->isr, 1);
}

/* ---- tests ---- */

static void blk_probe_like_linux(void **state)
{
	struct fx *f = *state;
	uint64_t feat;

	drv_find(f);
	assert_int_equal(cfg_read(f, SLOT, PCI_REVISION_ID, 1), 1);
	assert_int_equal(cfg_read(f, SLOT, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_read(f, SLOT, PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(cfg_read(f, SLOT, PCI_INTERRUPT_LINE, 1), IRQ_LINE);
	assert_int_equal(f->mult, VMM_VIRTIO_NOTIFY_MULT);
	feat = drv_device_features(f);
	assert_true(feat & 1ull << VIRTIO_F_VERSION_1);
	assert_true(feat & 1ull << VIRTIO_BLK_F_FLUSH);
	assert_true(feat & 1ull << VIRTIO_BLK_F_BLK_SIZE);
	assert_true(feat & 1ull << VIRTIO_BLK_F_SEG_MAX);
	assert_false(feat & 1ull << VIRTIO_BLK_F_RO);
	assert_false(feat & 1ull << VIRTIO_F_EVENT_IDX);
	assert_int_equal(rd(f, COMMON(f, NUMQ), 2), 1);
	assert_int_equal(rd(f, COMMON(f, MSIX), 2), VIRTIO_MSI_NO_VECTOR);
	/* Device config: capacity in sectors, 64-bit and as two halves. */
	assert_int_equal(f->devcfg_len, VIRTIO_BLK_CFG_SIZE);
	assert_int_equal(rd(f, f->devcfg, 8), DISK_SIZE / 512);
	assert_int_equal(rd(f, f->devcfg, 4), DISK_SIZE / 512);
	assert_int_equal(rd(f, f->devcfg + 4, 4), 0);
	assert_int_equal(rd(f, f->devcfg + VIRTIO_BLK_CFG_BLK_SIZE, 4), 512);
	assert_int_equal(rd(f, f->devcfg + VIRTIO_BLK_CFG_SEG_MAX, 4),
			 VMM_VIRTIO_BLK_SEG_MAX);
	/* Queues beyond num_queues have size 0. */
	wr(f, COMMON(f, Q_SELECT), 2, 1);
	assert_int_equal(rd(f, COMMON(f, Q_SIZE), 2), 0);
	drv_init(f, WANT);
	assert_int_equal(f->level, 0);
}

static void pattern(uint8_t *p, size_t len, unsigned seed)
{
	st_fill(p, len, 0, seed);
}

/* Writes three patterns (direct, multi-segment, indirect), reads them
 * back through the device, flushes. */
static void workload(struct fx *f)
{
	uint8_t *data = f->mem.base + G_DATA;
	static uint8_t want[3][65536];

	drv_init(f, WANT);
	pattern(want[0], 4096, 1);
	pattern(want[1], 65536, 2);
	pattern(want[2], 12288, 3);

	memcpy(data, want[0], 4096);
	assert_int_equal(drv_rw(f, 1, 0, 4096, 1, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(f->level, 1);
	assert_int_equal(drv_isr(f), VIRTIO_ISR_QUEUE);
	assert_int_equal(f->level, 0);
	assert_int_equal(drv_isr(f), 0);
	memcpy(data, want[1], 65536);
	assert_int_equal(drv_rw(f, 1, 1000, 65536, 5, 0), VIRTIO_BLK_S_OK);
	memcpy(data, want[2], 12288);
	assert_int_equal(drv_rw(f, 1, DISK_SIZE / 512 - 24, 12288, 3, 1),
			 VIRTIO_BLK_S_OK);

	memset(data, 0, 65536);
	assert_int_equal(drv_rw(f, 0, 0, 4096, 2, 1), VIRTIO_BLK_S_OK);
	assert_memory_equal(data, want[0], 4096);
	assert_int_equal(drv_rw(f, 0, 1000, 65536, 7, 0), VIRTIO_BLK_S_OK);
	assert_memory_equal(data, want[1], 65536);
	assert_int_equal(drv_rw(f, 0, DISK_SIZE / 512 - 24, 12288, 1, 0),
			 VIRTIO_BLK_S_OK);
	assert_memory_equal(data, want[2], 12288);
	/* Unwritten sectors read as zeros. */
	memset(data, 0xaa, 512);
	assert_int_equal(drv_rw(f, 0, 500, 512, 1, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(data[0], 0);
	assert_int_equal(data[511], 0);
	assert_int_equal(drv_simple(f, VIRTIO_BLK_T_FLUSH, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(f->nlog, 0);
}

static void blk_write_read_flush_qcow2(void **state)
{
	struct fx *f = *state;
	static uint8_t buf[65536], want[65536];
	struct vx_err err = { 0 };
	struct img *img;

	workload(f);
	/* The image, closed and opened again, holds what the guest wrote. */
	assert_int_equal(img_close(f->img, &err), 0);
	f->img = NULL;
	assert_int_equal(img_open(f->path, NULL, 0, &img, &err), 0);
	assert_string_equal(img_format(img), "qcow2");
	assert_int_equal(img_read(img, buf, 0, 4096, &err), 0);
	pattern(want, 4096, 1);
	assert_memory_equal(buf, want, 4096);
	assert_int_equal(img_read(img, buf, 1000 * 512, 65536, &err), 0);
	pattern(want, 65536, 2);
	assert_memory_equal(buf, want, 65536);
	assert_int_equal(img_read(img, buf, DISK_SIZE - 12288, 12288, &err), 0);
	pattern(want, 12288, 3);
	assert_memory_equal(buf, want, 12288);
	img_close(img, NULL);
}

static void blk_qemu_img_check_is_clean(void **state)
{
	struct fx *f = *state;
	char out[4096];
	int rc;

	if (!st_have_qemu_img()) {
		print_message("qemu-img not installed (Debian qemu-utils)\n");
		skip();
	}
	workload(f);
	assert_int_equal(img_close(f->img, NULL), 0);
	f->img = NULL;
	rc = st_qemu_check(f->path, out, sizeof(out));
	if (rc)
		print_message("qemu-img check: %s\n", out);
	assert_int_equal(rc, 0);
}

static void blk_get_id_and_discard(void **state)
{
	struct fx *f = *state;
	struct seg s[3] = { { G_HDR, 16, 0 }, { G_ID, 20, 1 },
			    { G_STATUS, 1, 1 } };
	uint8_t *data = f->mem.base + G_DATA;
	uint8_t range[16] = { 0 };
	uint32_t n = 8;
	uint64_t sector = 16;

	drv_init(f, WANT);
	put_hdr(f, VIRTIO_BLK_T_GET_ID, 0);
	assert_int_equal(drv_submit(f, s, 3, 0), 21);
	assert_int_equal(f->mem.base[G_STATUS], VIRTIO_BLK_S_OK);
	assert_memory_equal(f->mem.base + G_ID, "vmxcore-disk-0001\0\0\0", 20);

	memset(data, 0x5a, 8192);
	assert_int_equal(drv_rw(f, 1, 8, 8192, 1, 0), VIRTIO_BLK_S_OK);
	/* Write zeroes over sectors 16-23, discard 8-15. */
	memcpy(range, &sector, 8);
	memcpy(range + 8, &n, 4);
	memcpy(f->mem.base + G_TABLE + 0x800, range, 16);
	s[1] = (struct seg){ G_TABLE + 0x800, 16, 0 };
	s[2] = (struct seg){ G_STATUS, 1, 1 };
	put_hdr(f, VIRTIO_BLK_T_WRITE_ZEROES, 0);
	assert_int_equal(drv_submit(f, s, 3, 0), 1);
	assert_int_equal(f->mem.base[G_STATUS], VIRTIO_BLK_S_OK);
	sector = 8;
	memcpy(f->mem.base + G_TABLE + 0x800, &sector, 8);
	put_hdr(f, VIRTIO_BLK_T_DISCARD, 0);
	assert_int_equal(drv_submit(f, s, 3, 0), 1);
	assert_int_equal(f->mem.base[G_STATUS], VIRTIO_BLK_S_OK);
	memset(data, 0x77, 8192);
	assert_int_equal(drv_rw(f, 0, 8, 8192, 1, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(data[0], 0);
	assert_int_equal(data[8191], 0);
	/* A discard past the end, or with flags, fails. */
	sector = DISK_SIZE / 512 - 4;
	memcpy(f->mem.base + G_TABLE + 0x800, &sector, 8);
	put_hdr(f, VIRTIO_BLK_T_DISCARD, 0);
	drv_submit(f, s, 3, 0);
	assert_int_equal(f->mem.base[G_STATUS], VIRTIO_BLK_S_IOERR);
}

static void blk_bad_requests_get_ioerr(void **state)
{
	struct fx *f = *state;
	uint64_t cap = DISK_SIZE / 512;

	drv_init(f, WANT);
	assert_int_equal(drv_rw(f, 0, cap, 512, 1, 0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(drv_rw(f, 1, cap - 1, 1024, 1, 0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(drv_rw(f, 0, ~0ull, 512, 1, 0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(drv_rw(f, 0, ~0ull / 512, 1024, 1, 0),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(drv_rw(f, 1, 0, 700, 1, 0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(drv_rw(f, 0, cap - 1, 512, 1, 0), VIRTIO_BLK_S_OK);
	/* Empty reads and writes at the end are fine. */
	assert_int_equal(drv_rw(f, 0, cap, 0, 1, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(drv_simple(f, 99, 0), VIRTIO_BLK_S_UNSUPP);
	/* A header cut short. */
	{
		struct seg s[2] = { { G_HDR, 8, 0 }, { G_STATUS, 1, 1 } };

		put_hdr(f, VIRTIO_BLK_T_IN, 0);
		assert_int_equal(drv_submit(f, s, 2, 0), 1);
		assert_int_equal(f->mem.base[G_STATUS], VIRTIO_BLK_S_IOERR);
	}
	assert_int_equal(status(f) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

static void blk_read_only_disk(void **state)
{
	struct fx *f = *state;
	uint64_t feat;

	drv_find(f);
	feat = drv_device_features(f);
	assert_true(feat & 1ull << VIRTIO_BLK_F_RO);
	assert_false(feat & 1ull << VIRTIO_BLK_F_DISCARD);
	drv_init(f, WANT);
	assert_int_equal(drv_rw(f, 1, 0, 512, 1, 0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(drv_rw(f, 0, 0, 512, 1, 0), VIRTIO_BLK_S_OK);
}

/* 4.1.4.7: the registers through the PCI_CFG capability's window. */
static uint32_t win_read(struct fx *f, uint32_t off, uint32_t len)
{
	cfg_write(f, SLOT, f->pcicfg + 4, 1, 0);
	cfg_write(f, SLOT, f->pcicfg + 8, 4, off);
	cfg_write(f, SLOT, f->pcicfg + 12, 4, len);
	return cfg_read(f, SLOT, f->pcicfg + 16, 4) &
	       (uint32_t)((1ull << (8 * len)) - 1);
}

static void win_write(struct fx *f, uint32_t off, uint32_t len, uint32_t v)
{
	cfg_write(f, SLOT, f->pcicfg + 4, 1, 0);
	cfg_write(f, SLOT, f->pcicfg + 8, 4, off);
	cfg_write(f, SLOT, f->pcicfg + 12, 4, len);
	cfg_write(f, SLOT, f->pcicfg + 16, 4, v);
}

static void blk_pci_cfg_window(void **state)
{
	struct fx *f = *state;

	drv_find(f);
	assert_int_equal(win_read(f, COMMON(f, NUMQ), 2), 1);
	win_write(f, COMMON(f, DFSELECT), 4, 1);
	assert_int_equal(rd(f, COMMON(f, DFSELECT), 4), 1);
	assert_int_equal(win_read(f, COMMON(f, DF), 4), 1);	/* VERSION_1 */
	assert_int_equal(win_read(f, f->devcfg, 4), DISK_SIZE / 512);
	win_write(f, COMMON(f, STATUS), 1, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(status(f), VIRTIO_STATUS_ACKNOWLEDGE);
	/* Nonsense windows do nothing. */
	cfg_write(f, SLOT, f->pcicfg + 4, 1, 3);
	cfg_write(f, SLOT, f->pcicfg + 16, 4, 0);
	cfg_write(f, SLOT, f->pcicfg + 4, 1, 0);
	cfg_write(f, SLOT, f->pcicfg + 12, 4, 3);
	cfg_write(f, SLOT, f->pcicfg + 16, 4, 0);
	cfg_write(f, SLOT, f->pcicfg + 8, 4, COMMON(f, STATUS) + 1);
	cfg_write(f, SLOT, f->pcicfg + 12, 4, 2);
	cfg_write(f, SLOT, f->pcicfg + 16, 4, 0);
	cfg_write(f, SLOT, f->pcicfg + 8, 4, 0xfffffffcu);
	cfg_write(f, SLOT, f->pcicfg + 12, 4, 4);
	(void)cfg_read(f, SLOT, f->pcicfg + 16, 4);
	cfg_write(f, SLOT, f->pcicfg + 16, 4, 0);
	assert_int_equal(status(f), VIRTIO_STATUS_ACKNOWLEDGE);
	/* The capability's type and length stay read-only. */
	cfg_write(f, SLOT, f->pcicfg, 4, 0);
	assert_int_equal(cfg_read(f, SLOT, f->pcicfg + 3, 1),
			 VIRTIO_PCI_CAP_PCI_CFG);
}

/* Linux may reassign BARs: the device follows its BAR around. */
static void blk_bar_moved_by_guest(void **state)
{
	struct fx *f = *state;
	uint64_t old;

	drv_find(f);
	old = f->bar;
	cfg_write(f, SLOT, PCI_COMMAND, 2, 0);
	cfg_write(f, SLOT, PCI_BASE_ADDRESS_0, 4, 0xfe000000u);
	cfg_write(f, SLOT, PCI_BASE_ADDRESS_0 + 4, 4, 0);
	drv_init(f, WANT);
	assert_int_equal(f->bar, 0xfe000000u);
	assert_null(vmm_bus_find(&f->mmio, old));
	assert_int_equal(drv_rw(f, 0, 0, 512, 1, 0), VIRTIO_BLK_S_OK);
}

/* An img_* failure is IOERR and a log line, not an abort. */
static void blk_image_error_is_ioerr(void **state)
{
	struct fx *f = *state;
	int ro = open(f->path, O_RDONLY);

	assert_true(ro >= 0);
	drv_init(f, WANT);
	assert_true(dup2(ro, f->img->fd) >= 0);	/* writes now fail */
	close(ro);
	assert_int_equal(drv_rw(f, 1, 0, 4096, 2, 0), VIRTIO_BLK_S_IOERR);
	assert_true(f->nlog >= 1);
	assert_non_null(strstr(f->log, "write"));
	assert_int_equal(drv_rw(f, 0, 0, 4096, 2, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(status(f), 0x0f);
}

/* The driver turns interrupts off with VIRTQ_AVAIL_F_NO_INTERRUPT. */
static void blk_interrupt_suppression(void **state)
{
	struct fx *f = *state;
	uint16_t flags = VIRTQ_AVAIL_F_NO_INTERRUPT;

	drv_init(f, WANT);
	memcpy(f->mem.base + G_AVAIL, &flags, 2);
	assert_int_equal(drv_rw(f, 0, 0, 512, 1, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(f->level, 0);
	assert_int_equal(f->nedges, 0);
	flags = 0;
	memcpy(f->mem.base + G_AVAIL, &flags, 2);
	assert_int_equal(drv_rw(f, 0, 0, 512, 1, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(f->nedges, 1);
	/* INTx disable masks the line, the ISR still says why. */
	cfg_write(f, SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEMORY |
		  PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	assert_int_equal(f->level, 0);
	cfg_write(f, SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEMORY |
		  PCI_COMMAND_MASTER);
	assert_int_equal(f->level, 1);
	assert_int_equal(drv_isr(f), VIRTIO_ISR_QUEUE);
	assert_int_equal(f->level, 0);
}

/* Asserts NEEDS_RESET with a config interrupt, then that a reset and a
 * fresh initialisation bring the disk back. */
static void expect_needs_reset(struct fx *f)
{
	assert_true(status(f) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(f->level, 1);
	assert_true(drv_isr(f) & VIRTIO_ISR_CONFIG);
	assert_int_equal(f->level, 0);
	assert_true(f->nlog >= 1);
	f->nlog = 0;
	f->desc_next = 0;
	set_status(f, 0);
	assert_int_equal(status(f), 0);
	drv_init(f, WANT);
	assert_int_equal(drv_rw(f, 0, 0, 512, 1, 0), VIRTIO_BLK_S_OK);
	(void)drv_isr(f);
}

static void blk_hostile_setup(void **state)
{
	struct fx *f = *state;
	uint8_t gen;

	drv_find(f);
	/* No VERSION_1: FEATURES_OK does not stick. */
	set_status(f, 0);
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	drv_set_features(f, 1ull << VIRTIO_BLK_F_FLUSH);
	set_status(f, 0x0b);
	assert_int_equal(status(f), 0x03);
	/* Features the device did not offer: refused too. */
	drv_set_features(f, 1ull << VIRTIO_F_VERSION_1 | 1ull << 63);
	set_status(f, 0x0b);
	assert_int_equal(status(f), 0x03);
	/* DRIVER_OK without FEATURES_OK. */
	gen = (uint8_t)rd(f, COMMON(f, CFGGENERATION), 1);
	set_status(f, 0x07);
	assert_int_not_equal(rd(f, COMMON(f, CFGGENERATION), 1), gen);
	expect_needs_reset(f);

	/* Queue size not a power of two, and larger than offered. */
	set_status(f, 0);
	set_status(f, 0x03);
	drv_set_features(f, 1ull << VIRTIO_F_VERSION_1);
	set_status(f, 0x0b);
	drv_queue(f, 3, G_DESC, G_AVAIL, G_USED);
	assert_int_equal(rd(f, COMMON(f, Q_ENABLE), 2), 0);
	expect_needs_reset(f);
	set_status(f, 0);
	set_status(f, 0x03);
	drv_set_features(f, 1ull << VIRTIO_F_VERSION_1);
	set_status(f, 0x0b);
	drv_queue(f, 512, G_DESC, G_AVAIL, G_USED);
	expect_needs_reset(f);

	/* Rings outside RAM, far outside, misaligned. */
	set_status(f, 0);
	set_status(f, 0x03);
	drv_set_features(f, 1ull << VIRTIO_F_VERSION_1);
	set_status(f, 0x0b);
	drv_queue(f, QSZ, RAM - 16, G_AVAIL, G_USED);
	expect_needs_reset(f);
	set_status(f, 0);
	set_status(f, 0x03);
	drv_set_features(f, 1ull << VIRTIO_F_VERSION_1);
	set_status(f, 0x0b);
	drv_queue(f, QSZ, G_DESC, 0xfffffffffffff000ull, G_USED);
	expect_needs_reset(f);
	set_status(f, 0);
	set_status(f, 0x03);
	drv_set_features(f, 1ull << VIRTIO_F_VERSION_1);
	set_status(f, 0x0b);
	drv_queue(f, QSZ, G_DESC + 8, G_AVAIL, G_USED);
	expect_needs_reset(f);
}

static void blk_hostile_queues(void **state)
{
	struct fx *f = *state;
	struct seg s[3] = { { G_HDR, 16, 0 }, { G_DATA, 512, 1 },
			    { G_STATUS, 1, 1 } };
	uint16_t loop[2] = { VIRTQ_DESC_F_NEXT, 0 };

	/* Notify for a queue that does not exist. */
	drv_init(f, WANT);
	wr(f, f->notify + 5 * f->mult, 2, 5);
	expect_needs_reset(f);

	/* Notify before the queue is enabled, after DRIVER_OK. */
	set_status(f, 0);
	set_status(f, 0x03);
	drv_set_features(f, 1ull << VIRTIO_F_VERSION_1);
	set_status(f, 0x0f);
	wr(f, f->notify, 2, 0);
	expect_needs_reset(f);

	/* A chain that loops: the last descriptor points at the first. */
	put_hdr(f, VIRTIO_BLK_T_IN, 0);
	f->desc_next = 0;
	put_desc(f, G_DESC, 0, &s[0], 1, 1);
	put_desc(f, G_DESC, 1, &s[1], 1, 2);
	put_desc(f, G_DESC, 2, &s[2], 1, 0);
	drv_kick(f, 0);
	expect_needs_reset(f);

	/* No writable byte for the status. */
	put_desc(f, G_DESC, 0, &s[0], 0, 0);
	drv_kick(f, 0);
	expect_needs_reset(f);

	/* Data outside RAM. */
	s[1].gpa = RAM - 256;
	assert_int_equal(drv_submit(f, s, 3, 0), -1);
	expect_needs_reset(f);

	/* While NEEDS_RESET, notifies are ignored. */
	memcpy(f->mem.base + G_DESC + 12, loop, 4);
	drv_kick(f, 0);
	assert_true(status(f) & VIRTIO_STATUS_NEEDS_RESET);
	drv_kick(f, 0);
	expect_needs_reset(f);
}

/* Random writes all over the BAR and the rings: never a crash. */
static void blk_garbage_is_harmless(void **state)
{
	struct fx *f = *state;
	static const unsigned sz[4] = { 1, 2, 4, 8 };
	uint64_t x = 0x1234567890abcdefull, v;
	int i;

	drv_init(f, WANT);
	for (i = 0; i < 40000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		unsigned s = sz[(x >> 3) & 3];
		uint64_t off = (x >> 8) % (VMM_VIRTIO_BAR_SIZE + 16);

		/* Mostly the registers that matter. */
		if ((x >> 30) & 1)
			off = (x >> 8) % 0x40;
		else if ((x >> 31) & 1)
			off = VMM_VIRTIO_NOTIFY_OFF + ((x >> 8) & 7);
		off &= ~(uint64_t)(s - 1);
		if ((x >> 40) & 1)
			vmm_bus_read(&f->mmio, f->bar + off, s, &v);
		else
			vmm_bus_write(&f->mmio, f->bar + off, s, x >> 11);
		if (i % 64 == 0)	/* scribble over the rings too */
			memcpy(f->mem.base + G_DESC + (x >> 20) % 0x3000, &x, 8);
		if (i % 997 == 0)
			drv_init(f, WANT);
	}
	set_status(f, 0);
	f->desc_next = 0;
	drv_init(f, WANT);
	assert_int_equal(drv_rw(f, 0, 0, 512, 1, 0), VIRTIO_BLK_S_OK);
	/* However often the guest erred, the log saw at most 101 lines. */
	assert_true(f->nlog <= VMM_VIRTIO_LOG_MAX + 1);
}

/* A guest that errs and resets in a loop: the log stops at the limit. */
static void blk_log_is_bounded(void **state)
{
	struct fx *f = *state;
	int i;

	for (i = 0; i < 300; i++) {
		drv_init(f, WANT);
		wr(f, f->notify + 7 * f->mult, 2, 7);
		assert_true(status(f) & VIRTIO_STATUS_NEEDS_RESET);
		set_status(f, 0);
	}
	assert_int_equal(f->nlog, VMM_VIRTIO_LOG_MAX + 1);
	assert_non_null(strstr(f->log, "not logged"));
	assert_non_null(strstr(f->log, "virtio-blk: "));
}

static void blk_raw_image(void **state)
{
	struct fx *f = *state;
	uint8_t *data = f->mem.base + G_DATA;
	uint8_t buf[4096];

	drv_init(f, WANT);
	pattern(data, 4096, 9);
	assert_int_equal(drv_rw(f, 1, 77, 4096, 3, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(drv_simple(f, VIRTIO_BLK_T_FLUSH, 0), VIRTIO_BLK_S_OK);
	assert_int_equal(img_read(f->img, buf, 77 * 512, 4096, NULL), 0);
	assert_memory_equal(buf, data, 4096);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(blk_probe_like_linux),
		T(blk_pci_cfg_window),
		T(blk_bar_moved_by_guest),
		T(blk_write_read_flush_qcow2),
		T(blk_qemu_img_check_is_clean),
		T(blk_get_id_and_discard),
		T(blk_bad_requests_get_ioerr),
		cmocka_unit_test_setup_teardown(blk_read_only_disk,
						fx_setup_ro, fx_teardown),
		cmocka_unit_test_setup_teardown(blk_image_error_is_ioerr,
						fx_setup_raw, fx_teardown),
		cmocka_unit_test_setup_teardown(blk_raw_image,
						fx_setup_raw, fx_teardown),
		T(blk_interrupt_suppression),
		T(blk_hostile_setup),
		T(blk_hostile_queues),
		T(blk_garbage_is_harmless),
		T(blk_log_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
