/* Unit tests for vmm/virtio_net.c: a small guest driver written here finds
 * the NIC through configuration mechanism #1, negotiates features, sets up
 * the receive and transmit queues in a guest-RAM buffer, as Linux's
 * virtio_net does without mergeable buffers; the backend is a datagram
 * socketpair (one datagram, one frame), or a real tap when run as root.
 * Then hostile drivers: dropped frames or NEEDS_RESET, never a crash. And
 * the device's state file section: queues go on after a load, bad ones
 * are refused. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/bus.h"
#include "vmm/devstate.h"
#include "vmm/pci.h"
#include "vmm/virtio_net.h"
#include "vmm/virtio_pci.h"
#include "vmm/runner/runner.h"

#define RAM		0x100000
#define QSZ		64
#define SLOT		5
#define IRQ_LINE	5
#define G_RXDESC	0x1000
#define G_RXAVAIL	0x2000
#define G_RXUSED	0x3000
#define G_TXDESC	0x5000
#define G_TXAVAIL	0x6000
#define G_TXUSED	0x7000
#define G_TABLE		0x9000
#define G_RXBUF		0x10000		/* QSZ buffers of RXBUF_SZ */
#define RXBUF_SZ	0x800
#define G_TXBUF		0x60000		/* QSZ frames of TXBUF_SZ */
#define TXBUF_SZ	0x1000
/* Linux's add_recvbuf_small: header + GOOD_PACKET_LEN (1518). */
#define LINUX_RXBUF	(VIRTIO_NET_HDR_BYTES + 1518)

static const uint8_t the_mac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };

struct txq_drv {	/* the driver's view of one queue */
	uint64_t desc, avail, used;
	uint16_t avail_idx, used_seen, desc_next;
};

struct fx {
	struct vmm_bus pio, mmio;
	struct vmm_pci pci;
	struct vmm_guest_mem mem;
	struct vmm_virtio_net net;
	int sv[2];			/* sv[0] the device's, sv[1] the host side */
	int level, nedges, nwake, nlog;
	char log[512];
	uint64_t bar;
	uint32_t common, isr, devcfg, notify, mult, devcfg_len;
	struct txq_drv q[2];
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

static void fx_wake(void *opaque)
{
	((struct fx *)opaque)->nwake++;
}

static int fx_add(struct fx *f, int fd)
{
	struct vmm_virtio_net_conf conf = {
		.fd = fd, .wake = fx_wake, .wake_opaque = f, .log = fx_log, .log_opaque = f,
	};
	struct vmm_pci_irq irq = { fx_irq, f, IRQ_LINE };
	struct vx_err err = { 0 };

	memcpy(conf.mac, the_mac, 6);
	if (vmm_virtio_net_init(&f->net, &conf, &f->mem, &err) ||
	    vmm_pci_add(&f->pci, SLOT, vmm_virtio_net_pci(&f->net), &irq, &err)) {
		print_message("device: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->sv[0] = f->sv[1] = -1;
	f->mem.base = calloc(1, RAM);
	f->mem.size = RAM;
	vmm_bus_init(&f->pio, VMM_BUS_PIO);
	vmm_bus_init(&f->mmio, VMM_BUS_MMIO);
	vmm_pci_init(&f->pci, &f->mmio);
	if (!f->mem.base || vmm_pci_register(&f->pci, &f->pio, NULL))
		return NULL;
	return f;
}

static int fx_setup(void **state)
{
	struct fx *f = fx_new();

	if (!f || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, f->sv) ||
	    fx_add(f, f->sv[0]))
		return -1;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	if (!f)
		return 0;
	vmm_pci_destroy(&f->pci);
	vmm_bus_destroy(&f->pio);
	vmm_bus_destroy(&f->mmio);
	if (f->sv[0] >= 0)
		close(f->sv[0]);
	if (f->sv[1] >= 0)
		close(f->sv[1]);
	free(f->mem.base);
	free(f);
	return 0;
}

/* ---- the guest driver ---- */

static uint32_t cfg_read(struct fx *f, unsigned slot, unsigned reg, unsigned size)
{
	uint64_t v;

	vmm_bus_write(&f->pio, 0xcf8, 4, 0x80000000u | slot << 11 | (reg & 0xfc));
	vmm_bus_read(&f->pio, 0xcfc + (reg & 3), size, &v);
	return (uint32_t)v;
}

static void cfg_write(struct fx *f, unsigned slot, unsigned reg, unsigned size, uint32_t v)
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

static void drv_find(struct fx *f)
{
	unsigned p;
	uint64_t bar;

	assert_int_equal(cfg_read(f, SLOT, PCI_VENDOR_ID, 4), 0x10411af4u);
	for (p = cfg_read(f, SLOT, PCI_CAPABILITY_LIST, 1) & 0xfc; p;
	     p = cfg_read(f, SLOT, p + 1, 1) & 0xfc) {
		unsigned type = cfg_read(f, SLOT, p + 3, 1);
		uint32_t off = cfg_read(f, SLOT, p + 8, 4);

		if (type == VIRTIO_PCI_CAP_COMMON_CFG)
			f->common = off;
		else if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
			f->notify = off;
			f->mult = cfg_read(f, SLOT, p + 16, 4);
		} else if (type == VIRTIO_PCI_CAP_ISR_CFG)
			f->isr = off;
		else if (type == VIRTIO_PCI_CAP_DEVICE_CFG) {
			f->devcfg = off;
			f->devcfg_len = cfg_read(f, SLOT, p + 12, 4);
		}
	}
	bar = (cfg_read(f, SLOT, PCI_BASE_ADDRESS_0, 4) & ~0xfull) |
	      (uint64_t)cfg_read(f, SLOT, PCI_BASE_ADDRESS_0 + 4, 4) << 32;
	f->bar = bar;
	cfg_write(f, SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
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

static void drv_queue(struct fx *f, unsigned qi, uint64_t desc, uint64_t avail, uint64_t used)
{
	wr(f, COMMON(f, Q_SELECT), 2, qi);
	wr(f, COMMON(f, Q_SIZE), 2, QSZ);
	wr(f, COMMON(f, Q_DESCLO), 4, (uint32_t)desc);
	wr(f, COMMON(f, Q_DESCHI), 4, desc >> 32);
	wr(f, COMMON(f, Q_AVAILLO), 4, (uint32_t)avail);
	wr(f, COMMON(f, Q_AVAILHI), 4, avail >> 32);
	wr(f, COMMON(f, Q_USEDLO), 4, (uint32_t)used);
	wr(f, COMMON(f, Q_USEDHI), 4, used >> 32);
	wr(f, COMMON(f, Q_ENABLE), 2, 1);
	f->q[qi] = (struct txq_drv){ desc, avail, used, 0, 0, 0 };
}

#define WANT (1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_INDIRECT_DESC | \
	      1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS | 1ull << VIRTIO_NET_F_MTU | \
	      1ull << VIRTIO_NET_F_MRG_RXBUF | 1ull << VIRTIO_NET_F_CSUM | \
	      1ull << VIRTIO_NET_F_GUEST_CSUM | 1ull << VIRTIO_NET_F_CTRL_VQ)

/* 3.1.1, as virtnet_probe does it; queues 0 (rx) and 1 (tx). */
static void drv_init(struct fx *f)
{
	drv_find(f);
	set_status(f, 0);
	set_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	drv_set_features(f, drv_device_features(f) & WANT);
	set_status(f, 0x0b);
	assert_int_equal(status(f), 0x0b);
	memset(f->mem.base + G_RXDESC, 0, G_TABLE - G_RXDESC);
	drv_queue(f, 0, G_RXDESC, G_RXAVAIL, G_RXUSED);
	drv_queue(f, 1, G_TXDESC, G_TXAVAIL, G_TXUSED);
	set_status(f, 0x0f);
	assert_int_equal(status(f), 0x0f);
}

struct seg {
	uint64_t gpa;
	uint32_t len;
	int write;
};

static void put_desc(struct fx *f, uint64_t table, unsigned i, const struct seg *s, int next,
		     uint16_t nexti)
{
	uint8_t *p = f->mem.base + table + 16 * i;
	uint16_t flags = (s->write ? VIRTQ_DESC_F_WRITE : 0) | (next ? VIRTQ_DESC_F_NEXT : 0);

	memcpy(p, &s->gpa, 8);
	memcpy(p + 8, &s->len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &nexti, 2);
}

/* Puts head in queue qi's available ring. */
static void drv_avail(struct fx *f, unsigned qi, uint16_t head, int notify)
{
	struct txq_drv *q = &f->q[qi];
	uint8_t *avail = f->mem.base + q->avail;

	memcpy(avail + 4 + 2 * (q->avail_idx % QSZ), &head, 2);
	q->avail_idx++;
	memcpy(avail + 2, &q->avail_idx, 2);
	if (notify)
		wr(f, f->notify + qi * f->mult, 2, qi);
}

/* Makes a chain available on queue qi (direct or indirect); returns its
 * head. notify: also write the queue's notify register. */
static uint16_t drv_add(struct fx *f, unsigned qi, const struct seg *s, unsigned n,
			int indirect, int notify)
{
	struct txq_drv *q = &f->q[qi];
	uint16_t head = (uint16_t)(q->desc_next % QSZ);
	unsigned i;

	if (indirect) {
		uint64_t table = G_TABLE + 0x400 * (head % 8);
		struct seg t = { table, 16 * n, 0 };
		uint16_t flags = VIRTQ_DESC_F_INDIRECT;

		for (i = 0; i < n; i++)
			put_desc(f, table, i, &s[i], i + 1 < n, (uint16_t)(i + 1));
		put_desc(f, q->desc, head, &t, 0, 0);
		memcpy(f->mem.base + q->desc + 16 * head + 12, &flags, 2);
		q->desc_next++;
	} else {
		for (i = 0; i < n; i++)
			put_desc(f, q->desc, (head + i) % QSZ, &s[i], i + 1 < n,
				 (uint16_t)((head + i + 1) % QSZ));
		q->desc_next += n;
	}
	drv_avail(f, qi, head, notify);
	return head;
}

/* The next used entry of queue qi: 1 with id and len, 0 when none. */
static int drv_used(struct fx *f, unsigned qi, uint32_t *id, uint32_t *len)
{
	struct txq_drv *q = &f->q[qi];
	uint16_t used_idx;

	memcpy(&used_idx, f->mem.base + q->used + 2, 2);
	if (used_idx == q->used_seen)
		return 0;
	memcpy(id, f->mem.base + q->used + 4 + 8 * (q->used_seen % QSZ), 4);
	memcpy(len, f->mem.base + q->used + 8 + 8 * (q->used_seen % QSZ), 4);
	q->used_seen++;
	return 1;
}

/* Posts one receive buffer i of len bytes (Linux: one descriptor). */
static uint16_t drv_post_rx(struct fx *f, unsigned i, uint32_t len, int notify)
{
	struct seg s = { G_RXBUF + (uint64_t)RXBUF_SZ * i, len, 1 };

	memset(f->mem.base + s.gpa, 0xee, len);
	return drv_add(f, 0, &s, 1, 0, notify);
}

static uint8_t drv_isr(struct fx *f)
{
	return (uint8_t)rd(f, f->isr, 1);
}

/* The runner's part: poll as the device asks, then tell it. */
static short poll_once(struct fx *f)
{
	struct pollfd p = { f->net.fd, vmm_virtio_net_poll_events(&f->net), 0 };

	if (!p.events)
		return 0;
	assert_true(poll(&p, 1, 0) >= 0);
	if (p.revents)
		vmm_virtio_net_backend_ready(&f->net, p.revents);
	return p.revents;
}

static void frame(uint8_t *buf, size_t len, unsigned seed)
{
	memcpy(buf, "\xff\xff\xff\xff\xff\xff", 6);	/* broadcast */
	memcpy(buf + 6, the_mac, 6);
	buf[12] = 0x88;					/* local experimental */
	buf[13] = 0xb5;
	for (size_t i = 14; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + seed * 31);
}

/* Transmits a frame of len from G_TXBUF + slot: header and frame as the
 * layout says (0: header in its own descriptor, 1: one descriptor with
 * both (Linux's can_push), 2: indirect, the frame in three pieces). */
static uint16_t drv_tx(struct fx *f, unsigned slot, const uint8_t *fr, uint32_t len, int layout)
{
	uint64_t g = G_TXBUF + (uint64_t)TXBUF_SZ * (slot % QSZ);
	uint8_t *p = f->mem.base + g;
	struct seg s[4];
	uint32_t a = len / 3, b = len / 3;

	memset(p, 0, VIRTIO_NET_HDR_BYTES);
	memcpy(p + VIRTIO_NET_HDR_BYTES, fr, len);
	if (layout == 0) {
		s[0] = (struct seg){ g, VIRTIO_NET_HDR_BYTES, 0 };
		s[1] = (struct seg){ g + VIRTIO_NET_HDR_BYTES, len, 0 };
		return drv_add(f, 1, s, 2, 0, 1);
	}
	if (layout == 1) {
		s[0] = (struct seg){ g, VIRTIO_NET_HDR_BYTES + len, 0 };
		return drv_add(f, 1, s, 1, 0, 1);
	}
	/* The header split too: 5 bytes, then 7 with the frame's start. */
	s[0] = (struct seg){ g, 5, 0 };
	s[1] = (struct seg){ g + 5, 7 + a, 0 };
	s[2] = (struct seg){ g + 12 + a, b, 0 };
	s[3] = (struct seg){ g + 12 + a + b, len - a - b, 0 };
	return drv_add(f, 1, s, 4, 1, 1);
}

/* ---- tests ---- */

static void net_probe_like_linux(void **state)
{
	struct fx *f = *state;
	uint64_t feat;

	drv_find(f);
	assert_int_equal(cfg_read(f, SLOT, PCI_CLASS_DEVICE, 2), 0x0200);
	assert_int_equal(cfg_read(f, SLOT, PCI_SUBSYSTEM_ID, 2), 0x1041);
	assert_int_equal(cfg_read(f, SLOT, PCI_INTERRUPT_LINE, 1), IRQ_LINE);
	feat = drv_device_features(f);
	assert_true(feat & 1ull << VIRTIO_F_VERSION_1);
	assert_true(feat & 1ull << VIRTIO_NET_F_MAC);
	assert_true(feat & 1ull << VIRTIO_NET_F_STATUS);
	assert_true(feat & 1ull << VIRTIO_NET_F_MTU);
	/* Nothing this device would have to do and does not. */
	assert_false(feat & 1ull << VIRTIO_NET_F_MRG_RXBUF);
	assert_false(feat & 1ull << VIRTIO_NET_F_CSUM);
	assert_false(feat & 1ull << VIRTIO_NET_F_GUEST_CSUM);
	assert_false(feat & 1ull << VIRTIO_NET_F_HOST_TSO4);
	assert_false(feat & 1ull << VIRTIO_NET_F_GUEST_TSO4);
	assert_false(feat & 1ull << VIRTIO_NET_F_CTRL_VQ);
	assert_false(feat & 1ull << VIRTIO_NET_F_MQ);
	assert_false(feat & 1ull << VIRTIO_F_EVENT_IDX);
	assert_int_equal(rd(f, COMMON(f, NUMQ), 2), 2);
	assert_int_equal(f->devcfg_len, VIRTIO_NET_CFG_SIZE);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(rd(f, f->devcfg + VIRTIO_NET_CFG_MAC + i, 1), the_mac[i]);
	assert_int_equal(rd(f, f->devcfg + VIRTIO_NET_CFG_STATUS, 2), VIRTIO_NET_S_LINK_UP);
	assert_int_equal(rd(f, f->devcfg + VIRTIO_NET_CFG_MTU, 2), 1500);
	drv_init(f);
	/* Live, with an empty receive ring: it listens until it finds none. */
	assert_int_equal(vmm_virtio_net_poll_events(&f->net), POLLIN);
	assert_int_equal(f->level, 0);
}

static void net_tx_frames_come_out_exactly(void **state)
{
	struct fx *f = *state;
	static const uint32_t sizes[] = { 60, 14, 1514, 1518, 333, 64, 1000 };
	uint8_t fr[2048], got[4096];
	uint32_t id, len;

	drv_init(f);
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint16_t head;
		ssize_t n;

		frame(fr, sizes[i], i);
		head = drv_tx(f, i, fr, sizes[i], (int)(i % 3));
		n = recv(f->sv[1], got, sizeof(got), MSG_DONTWAIT);
		assert_int_equal(n, sizes[i]);
		assert_memory_equal(got, fr, sizes[i]);
		assert_int_equal(drv_used(f, 1, &id, &len), 1);
		assert_int_equal(id, head);
		assert_int_equal(len, 0);
		assert_int_equal(f->level, 1);
		assert_int_equal(drv_isr(f), VIRTIO_ISR_QUEUE);
		assert_int_equal(f->level, 0);
	}
	assert_int_equal(f->net.st.tx_frames, 7);
	assert_int_equal(f->net.st.tx_dropped, 0);
	assert_int_equal(recv(f->sv[1], got, sizeof(got), MSG_DONTWAIT), -1);
	assert_int_equal(f->nlog, 0);
}

static void net_rx_frames_arrive_with_header(void **state)
{
	struct fx *f = *state;
	static const uint32_t sizes[] = { 60, 1518, 14, 777 };
	uint8_t fr[2048];
	uint16_t heads[4];
	uint32_t id, len;
	unsigned i;

	drv_init(f);
	for (i = 0; i < 4; i++)
		heads[i] = drv_post_rx(f, i, LINUX_RXBUF, 1);
	for (i = 0; i < 4; i++) {
		frame(fr, sizes[i], 10 + i);
		assert_int_equal(send(f->sv[1], fr, sizes[i], 0), (ssize_t)sizes[i]);
	}
	assert_int_equal(poll_once(f) & POLLIN, POLLIN);
	for (i = 0; i < 4; i++) {
		uint8_t *b = f->mem.base + G_RXBUF + RXBUF_SZ * i;
		static const uint8_t hdr[VIRTIO_NET_HDR_BYTES] = { [10] = 1 };

		assert_int_equal(drv_used(f, 0, &id, &len), 1);
		assert_int_equal(id, heads[i]);
		assert_int_equal(len, VIRTIO_NET_HDR_BYTES + sizes[i]);
		assert_memory_equal(b, hdr, VIRTIO_NET_HDR_BYTES);	/* num_buffers 1 */
		frame(fr, sizes[i], 10 + i);
		assert_memory_equal(b + VIRTIO_NET_HDR_BYTES, fr, sizes[i]);
		if (VIRTIO_NET_HDR_BYTES + sizes[i] < LINUX_RXBUF)	/* no more */
			assert_int_equal(b[VIRTIO_NET_HDR_BYTES + sizes[i]], 0xee);
	}
	assert_int_equal(drv_used(f, 0, &id, &len), 0);
	/* One interrupt for the batch. */
	assert_int_equal(f->nedges, 1);
	assert_int_equal(drv_isr(f), VIRTIO_ISR_QUEUE);
	assert_int_equal(f->net.st.rx_frames, 4);
	assert_int_equal(f->net.st.rx_bytes, 60 + 1518 + 14 + 777);
}

/* No receive buffers: frames wait in the backend, nothing is read or
 * dropped, the fd is not polled; buffers and a notify bring them in. */
static void net_rx_waits_for_buffers(void **state)
{
	struct fx *f = *state;
	uint8_t fr[128];
	uint32_t id, len;
	int pending;

	drv_init(f);
	for (unsigned i = 0; i < 3; i++) {
		frame(fr, 100, 20 + i);
		assert_int_equal(send(f->sv[1], fr, 100, 0), 100);
	}
	poll_once(f);			/* finds no buffer: stalls */
	assert_int_equal(vmm_virtio_net_poll_events(&f->net), 0);
	assert_int_equal(poll_once(f), 0);
	assert_true(ioctl(f->sv[0], FIONREAD, &pending) == 0 && pending == 300);
	assert_int_equal(f->net.st.rx_dropped, 0);
	f->nwake = 0;
	/* Two buffers, one notify: the poller is woken, takes two frames. */
	drv_post_rx(f, 0, LINUX_RXBUF, 0);
	drv_post_rx(f, 1, LINUX_RXBUF, 1);
	assert_int_equal(f->nwake, 1);
	assert_int_equal(vmm_virtio_net_poll_events(&f->net), POLLIN);
	poll_once(f);
	assert_int_equal(drv_used(f, 0, &id, &len), 1);
	assert_int_equal(drv_used(f, 0, &id, &len), 1);
	assert_int_equal(drv_used(f, 0, &id, &len), 0);
	/* The third waits again: the ring ran dry within the same call. */
	assert_int_equal(vmm_virtio_net_poll_events(&f->net), 0);
	assert_true(ioctl(f->sv[0], FIONREAD, &pending) == 0 && pending == 100);
	drv_post_rx(f, 2, LINUX_RXBUF, 1);
	assert_int_equal(f->nwake, 2);
	poll_once(f);
	assert_int_equal(drv_used(f, 0, &id, &len), 1);
	assert_int_equal(len, VIRTIO_NET_HDR_BYTES + 100);
	frame(fr, 100, 22);
	assert_memory_equal(f->mem.base + G_RXBUF + 2 * RXBUF_SZ + VIRTIO_NET_HDR_BYTES, fr, 100);
	assert_int_equal(f->net.st.rx_frames, 3);
	assert_int_equal(f->net.st.rx_dropped, 0);
	/* A notify while the poller already listens wakes nobody. */
	drv_post_rx(f, 3, LINUX_RXBUF, 1);
	assert_int_equal(vmm_virtio_net_poll_events(&f->net), POLLIN);
	drv_post_rx(f, 4, LINUX_RXBUF, 1);
	assert_int_equal(f->nwake, 2);
}

/* Before DRIVER_OK, after a reset, without bus mastering: no reading. */
static void net_rx_only_when_live(void **state)
{
	struct fx *f = *state;
	uint8_t fr[64];

	drv_find(f);
	assert_int_equal(vmm_virtio_net_poll_events(&f->net), 0);
	frame(fr, 64, 1);
	assert_int_equal(send(f->sv[1], fr, 64, 0), 64);
	f->nwake = 0;
	drv_init(f);			/* DRIVER_OK kicks queue 0: wake */
	assert_true(f->nwake >= 1);
	cfg_write(f, SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(vmm_virtio_net_poll_events(&f->net), 0);
	cfg_write(f, SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	set_status(f, 0);
	assert_int_equal(vmm_virtio_net_poll_events(&f->net), 0);
	drv_init(f);
	drv_post_rx(f, 0, LINUX_RXBUF, 1);
	poll_once(f);
	assert_int_equal(f->net.st.rx_frames, 1);
}

/* A frame larger than the buffer is dropped; the buffer takes the next. */
static void net_rx_frame_too_big_is_dropped_buffer_kept(void **state)
{
	struct fx *f = *state;
	uint8_t fr[2048];
	uint16_t head;
	uint32_t id, len;

	drv_init(f);
	head = drv_post_rx(f, 0, VIRTIO_NET_HDR_BYTES + 100, 1);
	frame(fr, 101, 1);
	assert_int_equal(send(f->sv[1], fr, 101, 0), 101);
	frame(fr, 2000, 2);
	assert_int_equal(send(f->sv[1], fr, 2000, 0), 2000);
	frame(fr, 100, 3);
	assert_int_equal(send(f->sv[1], fr, 100, 0), 100);
	poll_once(f);
	assert_int_equal(drv_used(f, 0, &id, &len), 1);
	assert_int_equal(id, head);
	assert_int_equal(len, VIRTIO_NET_HDR_BYTES + 100);
	assert_memory_equal(f->mem.base + G_RXBUF + VIRTIO_NET_HDR_BYTES, fr, 100);
	assert_int_equal(f->net.st.rx_dropped, 2);
	assert_int_equal(f->net.st.rx_frames, 1);
	assert_int_equal(status(f) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

/* A full backend: the chain waits, the fd is polled for output, nothing
 * is lost or reordered. */
static void net_tx_waits_when_backend_is_full(void **state)
{
	struct fx *f = *state;
	int small = 1;
	uint8_t fr[1514], got[2048];
	unsigned sent = 0, received = 0, i;

	setsockopt(f->sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	drv_init(f);
	f->nwake = 0;
	for (i = 0; i < QSZ - 2 && !(vmm_virtio_net_poll_events(&f->net) & POLLOUT); i++) {
		frame(fr, sizeof(fr), 100 + i);
		drv_tx(f, i, fr, sizeof(fr), 1);
		sent++;
	}
	assert_true(vmm_virtio_net_poll_events(&f->net) & POLLOUT);
	assert_int_equal(f->nwake, 1);
	assert_true(f->net.st.tx_frames < sent);
	/* More frames while blocked queue up behind. */
	for (i = sent; i < sent + 3; i++) {
		frame(fr, sizeof(fr), 100 + i);
		drv_tx(f, i, fr, sizeof(fr), 0);
	}
	sent += 3;
	while (received < sent) {
		ssize_t n = recv(f->sv[1], got, sizeof(got), MSG_DONTWAIT);

		if (n < 0) {
			assert_true(poll_once(f) & POLLOUT);
			continue;
		}
		assert_int_equal(n, sizeof(fr));
		frame(fr, sizeof(fr), 100 + received);
		assert_memory_equal(got, fr, sizeof(fr));
		received++;
	}
	assert_int_equal(f->net.st.tx_frames, sent);
	assert_int_equal(f->net.st.tx_dropped, 0);
	assert_int_equal(vmm_virtio_net_poll_events(&f->net) & POLLOUT, 0);
}

static void expect_needs_reset(struct fx *f)
{
	assert_true(status(f) & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(drv_isr(f) & VIRTIO_ISR_CONFIG);
	assert_int_equal(vmm_virtio_net_poll_events(&f->net), 0);
	assert_true(f->nlog >= 1);
	f->nlog = 0;
	drv_init(f);			/* reset, and it works again */
	drv_post_rx(f, 0, LINUX_RXBUF, 1);
	assert_int_equal(vmm_virtio_net_poll_events(&f->net), POLLIN);
}

static void net_hostile_tx(void **state)
{
	struct fx *f = *state;
	struct seg s[3];
	uint8_t got[256];
	uint32_t id, len;

	drv_init(f);
	/* Too short for the header, header only, a frame of 13 bytes:
	 * completed unsent. */
	s[0] = (struct seg){ G_TXBUF, 5, 0 };
	drv_add(f, 1, s, 1, 0, 1);
	s[0] = (struct seg){ G_TXBUF, VIRTIO_NET_HDR_BYTES, 0 };
	drv_add(f, 1, s, 1, 0, 1);
	s[0] = (struct seg){ G_TXBUF, VIRTIO_NET_HDR_BYTES + 13, 0 };
	drv_add(f, 1, s, 1, 0, 1);
	/* Writable buffers only. */
	s[0] = (struct seg){ G_TXBUF, 100, 1 };
	drv_add(f, 1, s, 1, 0, 1);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(drv_used(f, 1, &id, &len), 1);
		assert_int_equal(len, 0);
	}
	assert_int_equal(f->net.st.tx_dropped, 4);
	assert_int_equal(recv(f->sv[1], got, sizeof(got), MSG_DONTWAIT), -1);
	assert_int_equal(status(f), 0x0f);

	/* A frame running out of RAM. */
	s[0] = (struct seg){ G_TXBUF, VIRTIO_NET_HDR_BYTES, 0 };
	s[1] = (struct seg){ RAM - 10, 60, 0 };
	drv_add(f, 1, s, 2, 0, 1);
	expect_needs_reset(f);
	/* Far outside, an address that wraps. */
	s[1] = (struct seg){ 0xfffffffffffffff0ull, 60, 0 };
	drv_add(f, 1, s, 2, 0, 1);
	expect_needs_reset(f);
	/* A loop. */
	s[1] = (struct seg){ G_TXBUF + 12, 60, 0 };
	drv_add(f, 1, s, 2, 0, 0);
	put_desc(f, G_TXDESC, 1, &s[1], 1, 0);
	wr(f, f->notify + f->mult, 2, 1);
	expect_needs_reset(f);
	/* A frame over 64 KiB in 16 KiB pieces: dropped. */
	for (int i = 0; i < 3; i++)
		s[i] = (struct seg){ G_TXBUF, 0x6000, 0 };
	drv_add(f, 1, s, 3, 1, 1);
	assert_int_equal(drv_used(f, 1, &id, &len), 1);
	assert_int_equal(f->net.st.tx_dropped, 5);
	assert_int_equal(status(f), 0x0f);
}

static void net_hostile_rx(void **state)
{
	struct fx *f = *state;
	struct seg s[2];
	uint8_t fr[64];

	drv_init(f);
	frame(fr, 64, 1);
	/* A receive buffer outside RAM. */
	s[0] = (struct seg){ RAM - 8, 1530, 1 };
	drv_add(f, 0, s, 1, 0, 1);
	assert_int_equal(send(f->sv[1], fr, 64, 0), 64);
	poll_once(f);
	expect_needs_reset(f);
	/* A receive chain that loops. */
	set_status(f, 0);
	drv_init(f);
	s[0] = (struct seg){ G_RXBUF, 100, 1 };
	put_desc(f, G_RXDESC, 0, &s[0], 1, 1);
	put_desc(f, G_RXDESC, 1, &s[0], 1, 0);
	drv_avail(f, 0, 0, 1);
	poll_once(f);
	assert_true(status(f) & VIRTIO_STATUS_NEEDS_RESET);
	expect_needs_reset(f);
	/* Read-only receive buffers hold nothing: frames are dropped, at
	 * most a batch a call, and the queue stays usable. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(send(f->sv[1], fr, 64, 0), 64);
	set_status(f, 0);
	drv_init(f);
	s[0] = (struct seg){ G_RXBUF, 1530, 0 };
	drv_add(f, 0, s, 1, 0, 1);
	poll_once(f);
	assert_true(f->net.st.rx_dropped >= 3);
	assert_int_equal(f->net.st.rx_frames, 0);
	assert_int_equal(status(f), 0x0f);
}

/* A flood: one call takes at most a batch, the rest wait. */
static void net_rx_flood_is_taken_in_batches(void **state)
{
	struct fx *f = *state;
	int big = 1 << 20;
	uint8_t fr[64];
	uint32_t id, len;
	unsigned got = 0;

	setsockopt(f->sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	drv_init(f);
	for (unsigned i = 0; i < QSZ; i++)
		drv_post_rx(f, i, LINUX_RXBUF, i + 1 == QSZ);
	frame(fr, 64, 5);
	for (unsigned i = 0; i < 2 * VMM_VIRTIO_NET_RX_BATCH; i++)
		if (send(f->sv[1], fr, 64, MSG_DONTWAIT) < 0)
			break;
	poll_once(f);
	while (drv_used(f, 0, &id, &len))
		got++;
	assert_true(got <= VMM_VIRTIO_NET_RX_BATCH);
	assert_true(got >= 1);
}

/* The peer goes away: the receive side stops, no spinning on POLLHUP. */
static void net_backend_gone(void **state)
{
	struct fx *f = *state;
	uint8_t fr[64];

	drv_init(f);
	drv_post_rx(f, 0, LINUX_RXBUF, 1);
	close(f->sv[1]);
	f->sv[1] = -1;
	poll_once(f);
	assert_int_equal(vmm_virtio_net_poll_events(&f->net), 0);
	assert_true(f->nlog >= 1);
	/* Transmit fails: dropped, logged, the device carries on. */
	frame(fr, 64, 1);
	drv_tx(f, 0, fr, 64, 1);
	assert_int_equal(f->net.st.tx_dropped, 1);
	assert_int_equal(status(f), 0x0f);
}

/* Random writes all over the BAR and the rings, poll in between. */
static void net_garbage_is_harmless(void **state)
{
	struct fx *f = *state;
	static const unsigned sz[4] = { 1, 2, 4, 8 };
	uint64_t x = 0x9e3779b97f4a7c15ull, v;
	uint8_t fr[64];

	drv_init(f);
	frame(fr, 64, 1);
	for (int i = 0; i < 40000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		unsigned s = sz[(x >> 3) & 3];
		uint64_t off = (x >> 8) % (VMM_VIRTIO_BAR_SIZE + 16);

		if ((x >> 30) & 1)
			off = (x >> 8) % 0x40;
		else if ((x >> 31) & 1)
			off = VMM_VIRTIO_NOTIFY_OFF + ((x >> 8) & 7);
		off &= ~(uint64_t)(s - 1);
		if ((x >> 40) & 1)
			vmm_bus_read(&f->mmio, f->bar + off, s, &v);
		else
			vmm_bus_write(&f->mmio, f->bar + off, s, x >> 11);
		if (i % 64 == 0)
			memcpy(f->mem.base + G_RXDESC + (x >> 20) % 0x7000, &x, 8);
		if (i % 50 == 0) {
			send(f->sv[1], fr, 64, MSG_DONTWAIT);
			poll_once(f);
		}
		if (i % 997 == 0)
			drv_init(f);
	}
	drv_init(f);
	assert_true(f->nlog <= VMM_VIRTIO_LOG_MAX + 1);
}

static void net_init_refuses_nonsense(void **state)
{
	struct vmm_virtio_net_conf conf = { .fd = -1 };
	static struct vmm_virtio_net n;
	struct vx_err err = { 0 };
	struct vmm_guest_mem mem = { 0 };

	(void)state;
	assert_int_equal(vmm_virtio_net_init(&n, &conf, &mem, &err), -EINVAL);
	conf.fd = 0;
	conf.mac[0] = 0x01;
	assert_int_equal(vmm_virtio_net_init(&n, &conf, &mem, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "multicast"));
}

static void net_runner_nic_option(void **state)
{
	struct rn_nic_conf c;
	struct vx_err err = { 0 };

	(void)state;
	assert_int_equal(rn_nic_parse("tap=tap0,mac=52:54:00:AB:cd:01,bridge=br0", 0, &c, &err), 0);
	assert_string_equal(c.tap, "tap0");
	assert_string_equal(c.bridge, "br0");
	assert_memory_equal(c.mac, "\x52\x54\x00\xab\xcd\x01", 6);
	assert_int_equal(rn_nic_parse("tap=vmxtap%d", 1, &c, &err), 0);
	assert_null(c.bridge);
	assert_memory_equal(c.mac, "\x52\x54\x00\x12\x34\x57", 6);
	assert_int_equal(rn_nic_parse("mac=52:54:00:00:00:01", 0, &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "tap=NAME"));
	assert_int_equal(rn_nic_parse("tap=a-name-far-too-long", 0, &c, &err), -EINVAL);
	assert_int_equal(rn_nic_parse("tap=t,mac=01:00:5e:00:00:01", 0, &c, &err), -EINVAL);
	assert_int_equal(rn_nic_parse("tap=t,mac=52:54:00:00:00", 0, &c, &err), -EINVAL);
	assert_int_equal(rn_nic_parse("tap=t,vhost=on", 0, &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown option 'vhost=on'"));
}

/* ---- a real tap (root): the host kernel answers the guest's ARP ---- */

static int tap_set_ipv4(const char *ifname, const char *addr, struct vx_err *err)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int s = socket(AF_INET, SOCK_DGRAM, 0), rc = 0;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, addr, &sin->sin_addr);
	if (s < 0 || ioctl(s, SIOCSIFADDR, &ifr) < 0)
		rc = vx_err_errno(err, -errno, "SIOCSIFADDR %s", ifname);
	inet_pton(AF_INET, "255.255.255.0", &sin->sin_addr);
	if (!rc && ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
		rc = vx_err_errno(err, -errno, "SIOCSIFNETMASK %s", ifname);
	if (s >= 0)
		close(s);
	return rc;
}

static void arp_request(uint8_t *p, const char *sender, const char *target)
{
	memcpy(p, "\xff\xff\xff\xff\xff\xff", 6);
	memcpy(p + 6, the_mac, 6);
	memcpy(p + 12, "\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01", 10);
	memcpy(p + 22, the_mac, 6);
	inet_pton(AF_INET, sender, p + 28);
	memset(p + 32, 0, 6);
	inet_pton(AF_INET, target, p + 38);
	memset(p + 42, 0, 18);		/* padded to 60 */
}

static void net_real_tap_arp_round_trip(void **state)
{
	struct fx *f;
	struct vx_err err = { 0 };
	char ifname[IFNAMSIZ], path[128];
	uint8_t req[60];
	uint32_t id, len;
	int fd, found = 0;
	FILE *sys;

	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0) {
		print_message("needs root and /dev/net/tun to make a tap\n");
		skip();
	}
	f = fx_new();
	assert_non_null(f);
	*state = f;
	fd = rn_tap_open("vmxtest%d", ifname, &err);
	if (fd < 0)
		fail_msg("%s", err.msg);
	f->sv[0] = fd;		/* closed by the teardown; the tap goes with it */
	/* No IPv6 chatter on the link: only what we ask for comes back. */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	if ((sys = fopen(path, "w"))) {
		fputs("1\n", sys);
		fclose(sys);
	}
	if (tap_set_ipv4(ifname, "10.213.7.1", &err))
		fail_msg("%s", err.msg);
	assert_int_equal(fx_add(f, fd), 0);
	drv_init(f);
	for (unsigned i = 0; i < 8; i++)
		drv_post_rx(f, i, LINUX_RXBUF, i == 7);
	/* TX: who has 10.213.7.1? The host kernel sees it on the tap... */
	arp_request(req, "10.213.7.2", "10.213.7.1");
	drv_tx(f, 0, req, sizeof(req), 1);
	assert_int_equal(f->net.st.tx_frames, 1);
	assert_int_equal(f->net.st.tx_dropped, 0);
	/* ... RX: and its reply comes back into a receive buffer. */
	for (int tries = 0; tries < 50 && !found; tries++) {
		struct pollfd p = { fd, vmm_virtio_net_poll_events(&f->net), 0 };

		assert_true(poll(&p, 1, 100) >= 0);
		if (p.revents)
			vmm_virtio_net_backend_ready(&f->net, p.revents);
		while (!found && drv_used(f, 0, &id, &len)) {
			uint8_t *b = f->mem.base + G_RXBUF + RXBUF_SZ * id +
				     VIRTIO_NET_HDR_BYTES;

			assert_true(id < 8);
			if (len >= VIRTIO_NET_HDR_BYTES + 42 && b[12] == 0x08 && b[13] == 0x06 &&
			    b[21] == 2 /* reply */)
				found = 1;
			if (found) {
				assert_memory_equal(b, the_mac, 6);	/* to us */
				assert_memory_equal(b + 38, req + 28, 4);
				assert_memory_equal(b + 28, req + 38, 4);
			}
		}
	}
	if (!found)
		fail_msg("no ARP reply from the host on %s", ifname);
	assert_true(f->net.st.rx_frames >= 1);
}


/* ---- state file (devstate.h) ---- */

/* A second device on its own backend with the same guest RAM and the
 * driver's view of it: what a revert or --restore starts from. */
static struct fx *fx_twin(const struct fx *f)
{
	struct fx *g = fx_new();

	assert_non_null(g);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, g->sv), 0);
	assert_int_equal(fx_add(g, g->sv[0]), 0);
	memcpy(g->mem.base, f->mem.base, RAM);
	g->bar = f->bar;
	g->common = f->common;
	g->isr = f->isr;
	g->devcfg = f->devcfg;
	g->notify = f->notify;
	g->mult = f->mult;
	g->devcfg_len = f->devcfg_len;
	memcpy(g->q, f->q, sizeof(g->q));
	return g;
}

/* Three frames sent, one received with a second buffer still posted:
 * saved, loaded into a fresh device, the queues go on from the saved
 * indices (used entries land where the driver looks next) and the
 * receive buffer posted before the save takes the next frame. */
static void net_state_round_trip_keeps_queues(void **state)
{
	struct fx *f = *state, *g;
	uint8_t fr[256], got[512];
	uint16_t rx1, head;
	uint32_t id, len, i;
	struct vmm_snap_w w;
	struct vx_err err = { 0 };

	drv_init(f);
	for (i = 0; i < 3; i++) {
		frame(fr, 100, i);
		drv_tx(f, i, fr, 100, 1);
		assert_int_equal(recv(f->sv[1], got, sizeof(got), MSG_DONTWAIT), 100);
		assert_int_equal(drv_used(f, 1, &id, &len), 1);
	}
	drv_post_rx(f, 0, LINUX_RXBUF, 1);
	rx1 = drv_post_rx(f, 1, LINUX_RXBUF, 1);
	frame(fr, 60, 9);
	assert_int_equal(send(f->sv[1], fr, 60, 0), 60);
	/* One frame only: the fd is drained after it, the second buffer stays. */
	assert_int_equal(poll_once(f) & POLLIN, POLLIN);
	assert_int_equal(drv_used(f, 0, &id, &len), 1);
	drv_isr(f);

	vmm_snap_w_init(&w);
	vmm_virtio_net_save(&f->net, &w);
	assert_false(w.failed);
	g = fx_twin(f);
	g->nwake = 0;
	assert_int_equal(vmm_virtio_net_load(&g->net, w.buf, w.len, &err), 0);
	assert_int_equal(g->nwake, 1);			/* the poller asks again */
	assert_int_equal(status(g), 0x0f);
	assert_int_equal(g->net.vp.guest_features, f->net.vp.guest_features);
	assert_int_equal(cfg_read(g, SLOT, PCI_COMMAND, 2) & PCI_COMMAND_MASTER, PCI_COMMAND_MASTER);
	/* Transmit: the fourth frame, its used entry the fourth. */
	frame(fr, 80, 4);
	head = drv_tx(g, 3, fr, 80, 0);
	assert_int_equal(recv(g->sv[1], got, sizeof(got), MSG_DONTWAIT), 80);
	assert_memory_equal(got, fr, 80);
	assert_int_equal(drv_used(g, 1, &id, &len), 1);
	assert_int_equal(id, head);
	assert_int_equal(drv_used(g, 1, &id, &len), 0);
	/* Receive: polled for input, into the buffer posted before the save. */
	frame(fr, 70, 5);
	assert_int_equal(send(g->sv[1], fr, 70, 0), 70);
	assert_int_equal(poll_once(g) & POLLIN, POLLIN);
	assert_int_equal(drv_used(g, 0, &id, &len), 1);
	assert_int_equal(id, rx1);
	assert_int_equal(len, VIRTIO_NET_HDR_BYTES + 70);
	assert_memory_equal(g->mem.base + G_RXBUF + RXBUF_SZ + VIRTIO_NET_HDR_BYTES, fr, 70);
	assert_int_equal(g->nlog, 0);
	vmm_snap_w_free(&w);
	fx_teardown((void **)&g);
}

/* Every truncation and a trailing byte refused, another MAC refused by
 * name, random bytes never crash: and a refused load changes nothing. */
static void net_state_hostile_sections_change_nothing(void **state)
{
	struct fx *f = *state, *g;
	struct vmm_virtio_pci before;
	struct vmm_snap_w w;
	uint8_t *h;

	drv_init(f);
	drv_post_rx(f, 0, LINUX_RXBUF, 1);
	vmm_snap_w_init(&w);
	vmm_virtio_net_save(&f->net, &w);
	assert_false(w.failed);
	g = fx_twin(f);
	h = malloc(w.len + 1);
	before = g->net.vp;
	for (size_t n = 0; n < w.len; n++) {
		struct vx_err e = { 0 };

		assert_int_equal(vmm_virtio_net_load(&g->net, w.buf, n, &e), -EBADMSG);
		assert_non_null(strstr(e.msg, "state file"));
		assert_memory_equal(&before, &g->net.vp, sizeof(before));
	}
	memcpy(h, w.buf, w.len);
	h[w.len] = 0;
	assert_int_equal(vmm_virtio_net_load(&g->net, h, w.len + 1, NULL), -EBADMSG);
	assert_memory_equal(&before, &g->net.vp, sizeof(before));
	{
		struct vx_err e = { 0 };

		h[4 + VIRTIO_NET_CFG_MAC + 5] ^= 1;
		assert_int_equal(vmm_virtio_net_load(&g->net, h, w.len, &e), -EINVAL);
		assert_non_null(strstr(e.msg, "MAC 52:54:00:ab:cd:ee, this NIC has 52:54:00:ab:cd:ef"));
		h[4 + VIRTIO_NET_CFG_MAC + 5] ^= 1;
		h[0] = 13;	/* device configuration length */
		assert_int_equal(vmm_virtio_net_load(&g->net, h, w.len, &e), -EINVAL);
		h[0] = VIRTIO_NET_CFG_SIZE;
		assert_memory_equal(&before, &g->net.vp, sizeof(before));
	}
	srand(5);
	for (int i = 0; i < 3000; i++) {
		memcpy(h, w.buf, w.len);
		/* A few bytes of the transport garbled: queues, status, features. */
		for (int k = 0; k < 1 + i % 4; k++)
			h[4 + VIRTIO_NET_CFG_SIZE + (size_t)rand() % (w.len - 4 - VIRTIO_NET_CFG_SIZE)] =
				(uint8_t)rand();
		before = g->net.vp;
		if (vmm_virtio_net_load(&g->net, h, w.len, NULL))
			assert_memory_equal(&before, &g->net.vp, sizeof(before));
	}
	free(h);
	vmm_snap_w_free(&w);
	fx_teardown((void **)&g);
}

static int fx_none(void **state)
{
	*state = NULL;
	return 0;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	signal(SIGPIPE, SIG_IGN);	/* as the runner: EPIPE, not death */
	const struct CMUnitTest tests[] = {
		T(net_probe_like_linux),
		T(net_tx_frames_come_out_exactly),
		T(net_rx_frames_arrive_with_header),
		T(net_rx_waits_for_buffers),
		T(net_rx_only_when_live),
		T(net_rx_frame_too_big_is_dropped_buffer_kept),
		T(net_tx_waits_when_backend_is_full),
		T(net_hostile_tx),
		T(net_hostile_rx),
		T(net_rx_flood_is_taken_in_batches),
		T(net_backend_gone),
		T(net_garbage_is_harmless),
		T(net_state_round_trip_keeps_queues),
		T(net_state_hostile_sections_change_nothing),
		cmocka_unit_test(net_init_refuses_nonsense),
		cmocka_unit_test(net_runner_nic_option),
		cmocka_unit_test_setup_teardown(net_real_tap_arp_round_trip, fx_none, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
