/*
 * vmm_virtio_pci: modern virtio PCI transport (see virtio_pci.h).
 *
 * The common configuration is served from the device's state on each read
 * (a 0x38-byte little-endian image), so reads of any width at any offset
 * agree with each other; writes are taken per field at the field's width,
 * and 64-bit queue addresses also as two 32-bit halves (as Linux writes
 * them).
 */
#include "vmm/virtio_pci.h"
#include "vmm/devstate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void vmm_vp_put(uint8_t *p, unsigned size, uint64_t v)
{
	unsigned i;

	for (i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t vmm_vp_get(const uint8_t *p, unsigned size)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void vmm_vp_update_irq(struct vmm_virtio_pci *vp)
{
	vmm_pci_set_irq(&vp->pci, vp->isr != 0);
}

void vmm_virtio_pci_log(struct vmm_virtio_pci *vp, const char *msg)
{
	/* A guest that resets and errs in a loop must not flood the host
	 * log: the first VMM_VIRTIO_LOG_MAX lines, then one more saying so. */
	char line[320];

	if (vp->nlog > VMM_VIRTIO_LOG_MAX)
		return;
	if (vp->nlog++ == VMM_VIRTIO_LOG_MAX)
		msg = "further guest and image errors not logged";
	snprintf(line, sizeof(line), "%s: %s", vp->name, msg);
	if (vp->log)
		vp->log(vp->log_opaque, line);
	else
		fprintf(stderr, "%s\n", line);
}

void vmm_virtio_pci_needs_reset(struct vmm_virtio_pci *vp, const char *fmt,
				...)
{
	char msg[256];
	int n;
	va_list ap;

	if (vp->status & VIRTIO_STATUS_NEEDS_RESET)
		return;		/* said once is enough */
	n = snprintf(msg, sizeof(msg), "guest error, device needs reset: ");
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(msg))
		vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	vmm_virtio_pci_log(vp, msg);
	vp->status |= VIRTIO_STATUS_NEEDS_RESET;
	/* 4.1.5.4: the driver learns of NEEDS_RESET by a config interrupt. */
	vmm_virtio_pci_config_changed(vp);
}

void vmm_virtio_pci_config_changed(struct vmm_virtio_pci *vp)
{
	vp->config_gen++;
	vp->isr |= VIRTIO_ISR_CONFIG;
	vmm_vp_update_irq(vp);
}

void vmm_virtio_pci_used(struct vmm_virtio_pci *vp, unsigned q)
{
	if (q >= vp->num_queues || !vmm_virtq_want_irq(&vp->q[q].vq))
		return;
	vp->isr |= VIRTIO_ISR_QUEUE;
	vmm_vp_update_irq(vp);
}

int vmm_virtio_pci_has(const struct vmm_virtio_pci *vp, unsigned bit)
{
	return bit < 64 && ((vp->guest_features >> bit) & 1);
}

static int vmm_vp_live(const struct vmm_virtio_pci *vp)
{
	return (vp->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(vp->status & VIRTIO_STATUS_NEEDS_RESET);
}

struct vmm_virtq *vmm_virtio_pci_queue(struct vmm_virtio_pci *vp,
				       unsigned q)
{
	if (q >= vp->num_queues || !vp->q[q].enable || !vmm_vp_live(vp))
		return NULL;
	return &vp->q[q].vq;
}

static void vmm_vp_reset(struct vmm_virtio_pci *vp)
{
	unsigned i;

	vp->status = 0;
	vp->guest_features = 0;
	vp->dfselect = vp->gfselect = 0;
	vp->queue_sel = 0;
	for (i = 0; i < VMM_VIRTIO_MAX_QUEUES; i++) {
		memset(&vp->q[i], 0, sizeof(vp->q[i]));
		vp->q[i].size = VMM_VIRTIO_QUEUE_MAX;
	}
	vp->isr = 0;
	vmm_vp_update_irq(vp);
	if (vp->ops->reset)
		vp->ops->reset(vp->opaque);
}

/* Runs queue q for the device, if it may be run. */
static void vmm_vp_kick(struct vmm_virtio_pci *vp, unsigned q)
{
	/* No DMA without bus mastering (PCI 3.0, 6.2.2). */
	if (!(vp->pci.cfg[PCI_COMMAND] & PCI_COMMAND_MASTER))
		return;
	if (!vmm_virtio_pci_queue(vp, q))
		return;
	if (vp->ops->queue_notify(vp->opaque, vp, q))
		vmm_virtio_pci_needs_reset(vp, "malformed chain on queue %u",
					   q);
}

static int vmm_vp_features_ok(const struct vmm_virtio_pci *vp)
{
	return !(vp->guest_features & ~vp->host_features) &&
	       vmm_virtio_pci_has(vp, VIRTIO_F_VERSION_1);
}

static void vmm_vp_write_status(struct vmm_virtio_pci *vp, uint8_t v)
{
	uint8_t newly = v & (uint8_t)~vp->status;
	unsigned q;

	if (v == 0) {
		vmm_vp_reset(vp);
		return;
	}
	/* FEATURES_OK only sticks when we accept the features (3.1.1). */
	if ((newly & VIRTIO_STATUS_FEATURES_OK) && !vmm_vp_features_ok(vp))
		v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	/* The driver may not clear bits short of a reset; NEEDS_RESET is
	 * ours to set. */
	vp->status |= v & (uint8_t)~VIRTIO_STATUS_NEEDS_RESET;
	if ((newly & VIRTIO_STATUS_DRIVER_OK) &&
	    !(vp->status & VIRTIO_STATUS_FEATURES_OK)) {
		vmm_virtio_pci_needs_reset(vp, "DRIVER_OK without FEATURES_OK");
		return;
	}
	/* Buffers made available before DRIVER_OK are served now. */
	if (newly & VIRTIO_STATUS_DRIVER_OK)
		for (q = 0; q < vp->num_queues; q++)
			vmm_vp_kick(vp, q);
}

static void vmm_vp_enable_queue(struct vmm_virtio_pci *vp,
				struct vmm_virtio_queue *q)
{
	if (q->size > VMM_VIRTIO_QUEUE_MAX ||
	    vmm_virtq_setup(&q->vq, vp->mem, q->size, q->desc, q->driver,
			    q->device)) {
		vmm_virtio_pci_needs_reset(vp,
					   "queue %u: size %u, rings 0x%llx/0x%llx/0x%llx not usable",
					   vp->queue_sel, q->size,
					   (unsigned long long)q->desc,
					   (unsigned long long)q->driver,
					   (unsigned long long)q->device);
		return;
	}
	q->enable = 1;
}

/* The 64-bit queue address a write at off (4 or 8 bytes) lands in. */
static uint64_t *vmm_vp_queue_addr(struct vmm_virtio_queue *q, uint64_t off)
{
	if (off < VIRTIO_PCI_COMMON_Q_AVAILLO)
		return &q->desc;
	if (off < VIRTIO_PCI_COMMON_Q_USEDLO)
		return &q->driver;
	return &q->device;
}

static void vmm_vp_write_queue_addr(struct vmm_virtio_queue *q, uint64_t off,
				    unsigned size, uint64_t v)
{
	uint64_t *a = vmm_vp_queue_addr(q, off);

	if (size == 8 && !(off & 7))
		*a = v;
	else if (size == 4 && (off & 4))
		*a = (*a & 0xffffffffull) | v << 32;
	else if (size == 4)
		*a = (*a & ~0xffffffffull) | (v & 0xffffffffull);
}

static void vmm_vp_write_queue(struct vmm_virtio_pci *vp, uint64_t off,
			       unsigned size, uint64_t v)
{
	struct vmm_virtio_queue *q;

	if (vp->queue_sel >= vp->num_queues)
		return;
	q = &vp->q[vp->queue_sel];
	/* A live queue's configuration is fixed until reset (4.1.4.3.2). */
	if (q->enable)
		return;
	if (off == VIRTIO_PCI_COMMON_Q_SIZE && size == 2)
		q->size = (uint16_t)v;
	else if (off == VIRTIO_PCI_COMMON_Q_ENABLE && size == 2 && v == 1)
		vmm_vp_enable_queue(vp, q);
	else if (off >= VIRTIO_PCI_COMMON_Q_DESCLO &&
		 off < VIRTIO_PCI_COMMON_SIZE)
		vmm_vp_write_queue_addr(q, off, size, v);
}

static void vmm_vp_write_features(struct vmm_virtio_pci *vp, uint64_t v)
{
	unsigned shift = 32 * vp->gfselect;

	/* Features are fixed once FEATURES_OK is set (3.1.1). */
	if (vp->gfselect > 1 || (vp->status & VIRTIO_STATUS_FEATURES_OK))
		return;
	vp->guest_features &= ~(0xffffffffull << shift);
	vp->guest_features |= (v & 0xffffffffull) << shift;
}

static void vmm_vp_common_write(struct vmm_virtio_pci *vp, uint64_t off,
				unsigned size, uint64_t v)
{
	if (off == VIRTIO_PCI_COMMON_DFSELECT && size == 4)
		vp->dfselect = (uint32_t)v;
	else if (off == VIRTIO_PCI_COMMON_GFSELECT && size == 4)
		vp->gfselect = (uint32_t)v;
	else if (off == VIRTIO_PCI_COMMON_GF && size == 4)
		vmm_vp_write_features(vp, v);
	else if (off == VIRTIO_PCI_COMMON_STATUS && size == 1)
		vmm_vp_write_status(vp, (uint8_t)v);
	else if (off == VIRTIO_PCI_COMMON_Q_SELECT && size == 2)
		vp->queue_sel = (uint16_t)v;
	else if (off >= VIRTIO_PCI_COMMON_Q_SIZE)
		vmm_vp_write_queue(vp, off, size, v);
	/* msix_config, queue_msix_vector: no MSI-X, stay NO_VECTOR. */
}

/* The common configuration as the driver reads it. */
static void vmm_vp_common_image(const struct vmm_virtio_pci *vp, uint8_t *b)
{
	const struct vmm_virtio_queue *q = NULL;
	uint64_t df = 0, gf = 0;

	memset(b, 0, VIRTIO_PCI_COMMON_SIZE);
	if (vp->dfselect < 2)
		df = vp->host_features >> (32 * vp->dfselect);
	if (vp->gfselect < 2)
		gf = vp->guest_features >> (32 * vp->gfselect);
	if (vp->queue_sel < vp->num_queues)
		q = &vp->q[vp->queue_sel];
	vmm_vp_put(b + VIRTIO_PCI_COMMON_DFSELECT, 4, vp->dfselect);
	vmm_vp_put(b + VIRTIO_PCI_COMMON_DF, 4, df);
	vmm_vp_put(b + VIRTIO_PCI_COMMON_GFSELECT, 4, vp->gfselect);
	vmm_vp_put(b + VIRTIO_PCI_COMMON_GF, 4, gf);
	vmm_vp_put(b + VIRTIO_PCI_COMMON_MSIX, 2, VIRTIO_MSI_NO_VECTOR);
	vmm_vp_put(b + VIRTIO_PCI_COMMON_NUMQ, 2, vp->num_queues);
	b[VIRTIO_PCI_COMMON_STATUS] = vp->status;
	b[VIRTIO_PCI_COMMON_CFGGENERATION] = vp->config_gen;
	vmm_vp_put(b + VIRTIO_PCI_COMMON_Q_SELECT, 2, vp->queue_sel);
	vmm_vp_put(b + VIRTIO_PCI_COMMON_Q_MSIX, 2, VIRTIO_MSI_NO_VECTOR);
	if (!q)
		return;		/* size 0: no such queue */
	vmm_vp_put(b + VIRTIO_PCI_COMMON_Q_SIZE, 2, q->size);
	vmm_vp_put(b + VIRTIO_PCI_COMMON_Q_ENABLE, 2, q->enable);
	vmm_vp_put(b + VIRTIO_PCI_COMMON_Q_NOFF, 2, vp->queue_sel);
	vmm_vp_put(b + VIRTIO_PCI_COMMON_Q_DESCLO, 8, q->desc);
	vmm_vp_put(b + VIRTIO_PCI_COMMON_Q_AVAILLO, 8, q->driver);
	vmm_vp_put(b + VIRTIO_PCI_COMMON_Q_USEDLO, 8, q->device);
}

/* Bytes [off, off + size) of a region of len bytes; zeros past its end. */
static uint64_t vmm_vp_slice(const uint8_t *b, uint64_t len, uint64_t off,
			     unsigned size)
{
	uint8_t tmp[8] = { 0 };
	unsigned i;

	for (i = 0; i < size; i++)
		if (off + i < len)
			tmp[i] = b[off + i];
	return vmm_vp_get(tmp, size);
}

static uint64_t vmm_vp_bar_read(void *opaque, uint64_t off, unsigned size)
{
	struct vmm_virtio_pci *vp = opaque;
	uint8_t img[VIRTIO_PCI_COMMON_SIZE];
	uint64_t v;

	if (off < VMM_VIRTIO_ISR_OFF) {
		vmm_vp_common_image(vp, img);
		return vmm_vp_slice(img, sizeof(img), off, size);
	}
	if (off < VMM_VIRTIO_DEVICE_OFF) {
		if (off != VMM_VIRTIO_ISR_OFF)
			return 0;
		v = vp->isr;
		vp->isr = 0;		/* 4.1.4.5: reading clears */
		vmm_vp_update_irq(vp);
		return v;
	}
	if (off < VMM_VIRTIO_NOTIFY_OFF)
		return vmm_vp_slice(vp->devcfg, vp->devcfg_len,
				    off - VMM_VIRTIO_DEVICE_OFF, size);
	return 0;			/* notify registers read as 0 */
}

static void vmm_vp_notify(struct vmm_virtio_pci *vp, uint64_t off)
{
	uint64_t q = off / VMM_VIRTIO_NOTIFY_MULT;

	if (vp->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	if (!(vp->status & VIRTIO_STATUS_DRIVER_OK))
		return;		/* served at DRIVER_OK (3.1.1 step 8) */
	if (off % VMM_VIRTIO_NOTIFY_MULT || q >= vp->num_queues ||
	    !vp->q[q].enable) {
		vmm_virtio_pci_needs_reset(vp, "notify at 0x%llx: no such queue enabled",
					   (unsigned long long)off);
		return;
	}
	vmm_vp_kick(vp, (unsigned)q);
}

static void vmm_vp_bar_write(void *opaque, uint64_t off, unsigned size,
			     uint64_t v)
{
	struct vmm_virtio_pci *vp = opaque;

	if (off < VMM_VIRTIO_ISR_OFF)
		vmm_vp_common_write(vp, off, size, v);
	else if (off >= VMM_VIRTIO_NOTIFY_OFF)
		vmm_vp_notify(vp, off - VMM_VIRTIO_NOTIFY_OFF);
	/* ISR and device configuration are read-only here. */
}

static const struct vmm_dev_ops vmm_vp_bar_ops = {
	.read = vmm_vp_bar_read,
	.write = vmm_vp_bar_write,
	.width = 8,
};

/*
 * The VIRTIO_PCI_CAP_PCI_CFG window (4.1.4.7): an access that touches
 * pci_cfg_data (capability bytes 16-19) becomes an access of cap.length
 * bytes at cap.offset in BAR cap.bar. Says where, or 0 for no access: a
 * BAR we lack, a length not 1, 2 or 4, a misaligned or outside offset.
 */
static int vmm_vp_window(const struct vmm_virtio_pci *vp, unsigned reg,
			 unsigned size, uint32_t *off, uint32_t *len)
{
	const uint8_t *c = &vp->pci.cfg[vp->pcicfg];
	unsigned data = vp->pcicfg + 16u;

	if (!vp->pcicfg || reg >= data + 4 || reg + size <= data)
		return 0;
	*off = (uint32_t)vmm_vp_get(c + 8, 4);
	*len = (uint32_t)vmm_vp_get(c + 12, 4);
	return c[4] == VMM_VIRTIO_BAR &&
	       (*len == 1 || *len == 2 || *len == 4) && *off % *len == 0 &&
	       *off < VMM_VIRTIO_BAR_SIZE;
}

static void vmm_vp_cfg_read(void *opaque, unsigned reg, unsigned size)
{
	struct vmm_virtio_pci *vp = opaque;
	uint32_t off, len;

	if (vmm_vp_window(vp, reg, size, &off, &len))
		vmm_vp_put(&vp->pci.cfg[vp->pcicfg + 16u], len,
			   vmm_vp_bar_read(vp, off, len));
}

static void vmm_vp_cfg_write(void *opaque, unsigned reg, unsigned size)
{
	struct vmm_virtio_pci *vp = opaque;
	uint32_t off, len;
	uint64_t v;

	if (!vmm_vp_window(vp, reg, size, &off, &len))
		return;
	v = vmm_vp_get(&vp->pci.cfg[vp->pcicfg + 16u], len);
	vmm_vp_bar_write(vp, off, len, v);
}

static int vmm_vp_add_pcicfg_cap(struct vmm_virtio_pci *vp)
{
	uint8_t cap[20] = { PCI_CAP_ID_VNDR, 0, 20, VIRTIO_PCI_CAP_PCI_CFG };
	int off = vmm_pci_dev_add_cap(&vp->pci, cap, sizeof(cap));

	if (off < 0)
		return -ENOSPC;
	/* bar, offset, length and pci_cfg_data are the driver's to write. */
	vp->pcicfg = (uint8_t)off;
	vp->pci.wmask[off + 4] = 0xff;
	memset(&vp->pci.wmask[off + 8], 0xff, 12);
	vp->pci.cfg_read = vmm_vp_cfg_read;
	vp->pci.cfg_write = vmm_vp_cfg_write;
	vp->pci.opaque = vp;
	return 0;
}

/* One vendor-specific capability pointing into BAR 0 (4.1.4). */
static int vmm_vp_add_cap(struct vmm_virtio_pci *vp, uint8_t type,
			  uint32_t offset, uint32_t length, int notify)
{
	uint8_t cap[20] = { PCI_CAP_ID_VNDR, 0, notify ? 20 : 16, type,
			    VMM_VIRTIO_BAR };

	vmm_vp_put(cap + 8, 4, offset);
	vmm_vp_put(cap + 12, 4, length);
	if (notify)
		vmm_vp_put(cap + 16, 4, VMM_VIRTIO_NOTIFY_MULT);
	return vmm_pci_dev_add_cap(&vp->pci, cap, cap[2]) < 0 ? -ENOSPC : 0;
}

int vmm_virtio_pci_init(struct vmm_virtio_pci *vp, uint16_t device_id,
			uint32_t class_code, unsigned num_queues,
			uint64_t host_features, uint32_t devcfg_len,
			const struct vmm_guest_mem *mem,
			const struct vmm_virtio_ops *ops, void *opaque,
			const char *name)
{
	uint16_t pci_id = (uint16_t)(VIRTIO_PCI_DEVICE_BASE + device_id);
	int rc;

	if (!num_queues || num_queues > VMM_VIRTIO_MAX_QUEUES ||
	    devcfg_len > VMM_VIRTIO_DEVCFG_MAX || device_id > 0x3f ||
	    !ops || !ops->queue_notify)
		return -EINVAL;
	memset(vp, 0, sizeof(*vp));
	vp->mem = mem;
	vp->ops = ops;
	vp->opaque = opaque;
	vp->name = name ? name : "virtio";
	vp->device_id = device_id;
	vp->num_queues = (uint16_t)num_queues;
	vp->devcfg_len = devcfg_len;
	/* No EVENT_IDX: the driver's flags suppress interrupts well enough
	 * for a device that serves each notify synchronously. */
	vp->host_features = (host_features & ~(1ull << VIRTIO_F_EVENT_IDX)) |
			    1ull << VIRTIO_F_VERSION_1 |
			    1ull << VIRTIO_F_INDIRECT_DESC;
	vmm_pci_dev_init(&vp->pci, VIRTIO_PCI_VENDOR_ID, pci_id, class_code,
			 1, VIRTIO_PCI_VENDOR_ID, pci_id);
	rc = vmm_pci_dev_add_bar(&vp->pci, VMM_VIRTIO_BAR, VMM_VIRTIO_BAR_SIZE,
				 1, &vmm_vp_bar_ops, vp, vp->name);
	if (!rc)
		rc = vmm_vp_add_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG,
				    VMM_VIRTIO_COMMON_OFF,
				    VIRTIO_PCI_COMMON_SIZE, 0);
	if (!rc)
		rc = vmm_vp_add_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG,
				    VMM_VIRTIO_NOTIFY_OFF,
				    VMM_VIRTIO_NOTIFY_MULT * num_queues, 1);
	if (!rc)
		rc = vmm_vp_add_cap(vp, VIRTIO_PCI_CAP_ISR_CFG,
				    VMM_VIRTIO_ISR_OFF, 1, 0);
	if (!rc && devcfg_len)
		rc = vmm_vp_add_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG,
				    VMM_VIRTIO_DEVICE_OFF, devcfg_len, 0);
	if (!rc)
		rc = vmm_vp_add_pcicfg_cap(vp);
	if (rc)
		return rc;
	vmm_vp_reset(vp);
	return 0;
}

/* ---- state file (devstate.h) ---- */

/*
 * No request is ever in flight here: a queue is served to the end inside
 * the notify write (the vCPU thread, under the bus lock), and the machine
 * pauses only between exits. So the rings in guest RAM plus these indexes
 * are the whole of a queue.
 */
void vmm_virtio_pci_save(const struct vmm_virtio_pci *vp, struct vmm_snap_w *w)
{
	vmm_snap_put_u16(w, vp->num_queues);
	vmm_snap_put_u64(w, vp->guest_features);
	vmm_snap_put_u32(w, vp->dfselect);
	vmm_snap_put_u32(w, vp->gfselect);
	vmm_snap_put_u16(w, vp->queue_sel);
	vmm_snap_put_u8(w, vp->status);
	vmm_snap_put_u8(w, vp->isr);
	vmm_snap_put_u8(w, vp->config_gen);
	for (unsigned i = 0; i < vp->num_queues; i++) {
		const struct vmm_virtio_queue *q = &vp->q[i];

		vmm_snap_put_u16(w, q->size);
		vmm_snap_put_u16(w, q->enable);
		vmm_snap_put_u64(w, q->desc);
		vmm_snap_put_u64(w, q->driver);
		vmm_snap_put_u64(w, q->device);
		vmm_snap_put_u16(w, q->vq.last_avail);
		vmm_snap_put_u16(w, q->vq.used_idx);
	}
	vmm_pci_dev_save(&vp->pci, w);
}

#define VMM_VP_STATUS_KNOWN (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | \
			     VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FEATURES_OK | \
			     VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)

static int vmm_vp_load_queue(struct vmm_virtio_pci *vp, struct vmm_virtio_queue *q,
			     unsigned i, struct vmm_snap_r *r, struct vx_err *err)
{
	uint16_t last_avail, used_idx;

	memset(q, 0, sizeof(*q));
	q->size = vmm_snap_get_u16(r);
	q->enable = vmm_snap_get_u16(r);
	q->desc = vmm_snap_get_u64(r);
	q->driver = vmm_snap_get_u64(r);
	q->device = vmm_snap_get_u64(r);
	last_avail = vmm_snap_get_u16(r);
	used_idx = vmm_snap_get_u16(r);
	if (r->short_read)
		return vx_err_set(err, -EBADMSG, "state file: %s: queue %u truncated", vp->name, i);
	if (q->enable > 1)
		return vx_err_set(err, -EBADMSG, "state file: %s: queue %u enable %u", vp->name,
				  i, q->enable);
	if (!q->enable)
		return 0;
	/* The same checks as the driver's enable: rings inside RAM, aligned. */
	if (q->size > VMM_VIRTIO_QUEUE_MAX ||
	    vmm_virtq_setup(&q->vq, vp->mem, q->size, q->desc, q->driver, q->device))
		return vx_err_set(err, -EBADMSG,
				  "state file: %s: queue %u (size %u) has rings outside RAM or misaligned",
				  vp->name, i, q->size);
	q->vq.last_avail = last_avail;
	q->vq.used_idx = used_idx;
	return 0;
}

int vmm_virtio_pci_load(struct vmm_virtio_pci *vp, struct vmm_snap_r *r, int apply,
			struct vx_err *err)
{
	struct vmm_virtio_queue q[VMM_VIRTIO_MAX_QUEUES];
	uint8_t cfg[VMM_PCI_CFG_SIZE];
	uint64_t features;
	uint32_t dfselect, gfselect;
	uint16_t nq, sel;
	uint8_t status, isr, gen;
	int lvl, rc;

	nq = vmm_snap_get_u16(r);
	features = vmm_snap_get_u64(r);
	dfselect = vmm_snap_get_u32(r);
	gfselect = vmm_snap_get_u32(r);
	sel = vmm_snap_get_u16(r);
	status = vmm_snap_get_u8(r);
	isr = vmm_snap_get_u8(r);
	gen = vmm_snap_get_u8(r);
	if (r->short_read)
		return vx_err_set(err, -EBADMSG, "state file: %s truncated", vp->name);
	if (nq != vp->num_queues)
		return vx_err_set(err, -EINVAL, "state file: %s had %u queues, this one has %u",
				  vp->name, nq, vp->num_queues);
	if (features & ~vp->host_features)
		return vx_err_set(err, -EINVAL,
				  "state file: %s: features 0x%llx were never offered (0x%llx)",
				  vp->name, (unsigned long long)features,
				  (unsigned long long)vp->host_features);
	if ((status & ~VMM_VP_STATUS_KNOWN) || isr > 3)
		return vx_err_set(err, -EBADMSG, "state file: %s: status 0x%x, ISR 0x%x",
				  vp->name, status, isr);
	for (unsigned i = 0; i < nq; i++)
		if ((rc = vmm_vp_load_queue(vp, &q[i], i, r, err)))
			return rc;
	if ((rc = vmm_pci_dev_check(&vp->pci, r, cfg, &lvl, err)))
		return rc;
	if (!apply)
		return 0;
	vp->guest_features = features;
	vp->dfselect = dfselect;
	vp->gfselect = gfselect;
	vp->queue_sel = sel;
	vp->status = status;
	vp->isr = isr;
	vp->config_gen = gen;
	for (unsigned i = 0; i < nq; i++)
		vp->q[i] = q[i];
	vmm_pci_dev_apply(&vp->pci, cfg, lvl);
	return 0;
}
