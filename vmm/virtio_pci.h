/*
 * vmm_virtio_pci: the modern virtio PCI transport (VIRTIO 1.1/1.2, 4.1
 * "Virtio Over PCI Bus"), for a device model such as virtio_blk.c.
 *
 * Environment: the runner's vCPU thread, through the MMIO bus (BAR 0) and
 * configuration space, serialised by the caller. A queue notify runs the
 * device's queue handler there and then, in the vCPU thread that wrote it.
 *
 * PCI function: vendor 0x1af4, device 0x1040 + virtio device id, revision
 * 1, subsystem 0x1af4 / the same device id; INTA# only (no MSI-X
 * capability, so Linux's virtio_pci falls back to INTx and the MSI-X
 * vector registers read VIRTIO_MSI_NO_VECTOR). Everything sits in one
 * 64-bit, 16 KiB memory BAR (BAR 0, with BAR 1 as its high half):
 *
 *   0x0000  common configuration (0x38 bytes)
 *   0x1000  ISR status (1 byte; a read returns and clears it, and drops
 *           the interrupt line)
 *   0x2000  device-specific configuration
 *   0x3000  notifications: queue n at 0x3000 + 4 * n
 *           (queue_notify_off = n, notify_off_multiplier = 4)
 *
 * The VIRTIO_PCI_CAP_PCI_CFG capability gives the same registers through
 * configuration space (a window of 1, 2 or 4 bytes into BAR 0).
 *
 * A driver that breaks the rules (features without VERSION_1, a queue size
 * that is not a power of two or larger than offered, rings outside RAM or
 * misaligned, a notify for a disabled queue, a malformed chain) gets
 * DEVICE_NEEDS_RESET in device_status and a configuration-change
 * interrupt; the device then ignores its queues until reset.
 */
#ifndef VMM_VIRTIO_PCI_H
#define VMM_VIRTIO_PCI_H

#include <stdint.h>

#include "vmm/pci.h"
#include "vmm/virtq.h"

#define VIRTIO_PCI_VENDOR_ID	0x1af4
#define VIRTIO_PCI_DEVICE_BASE	0x1040	/* + virtio device id */

/* device_status bits (2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE	0x01
#define VIRTIO_STATUS_DRIVER		0x02
#define VIRTIO_STATUS_DRIVER_OK		0x04
#define VIRTIO_STATUS_FEATURES_OK	0x08
#define VIRTIO_STATUS_NEEDS_RESET	0x40
#define VIRTIO_STATUS_FAILED		0x80

/* Transport feature bits (6) */
#define VIRTIO_F_INDIRECT_DESC	28
#define VIRTIO_F_EVENT_IDX	29
#define VIRTIO_F_VERSION_1	32

/* Vendor capability cfg_type values (4.1.4) */
#define VIRTIO_PCI_CAP_COMMON_CFG	1
#define VIRTIO_PCI_CAP_NOTIFY_CFG	2
#define VIRTIO_PCI_CAP_ISR_CFG		3
#define VIRTIO_PCI_CAP_DEVICE_CFG	4
#define VIRTIO_PCI_CAP_PCI_CFG		5

/* Common configuration offsets (4.1.4.3) */
#define VIRTIO_PCI_COMMON_DFSELECT	0x00
#define VIRTIO_PCI_COMMON_DF		0x04
#define VIRTIO_PCI_COMMON_GFSELECT	0x08
#define VIRTIO_PCI_COMMON_GF		0x0c
#define VIRTIO_PCI_COMMON_MSIX		0x10
#define VIRTIO_PCI_COMMON_NUMQ		0x12
#define VIRTIO_PCI_COMMON_STATUS	0x14
#define VIRTIO_PCI_COMMON_CFGGENERATION	0x15
#define VIRTIO_PCI_COMMON_Q_SELECT	0x16
#define VIRTIO_PCI_COMMON_Q_SIZE	0x18
#define VIRTIO_PCI_COMMON_Q_MSIX	0x1a
#define VIRTIO_PCI_COMMON_Q_ENABLE	0x1c
#define VIRTIO_PCI_COMMON_Q_NOFF	0x1e
#define VIRTIO_PCI_COMMON_Q_DESCLO	0x20
#define VIRTIO_PCI_COMMON_Q_DESCHI	0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO	0x28
#define VIRTIO_PCI_COMMON_Q_AVAILHI	0x2c
#define VIRTIO_PCI_COMMON_Q_USEDLO	0x30
#define VIRTIO_PCI_COMMON_Q_USEDHI	0x34
#define VIRTIO_PCI_COMMON_SIZE		0x38

#define VIRTIO_MSI_NO_VECTOR	0xffff
#define VIRTIO_ISR_QUEUE	0x01
#define VIRTIO_ISR_CONFIG	0x02

/* BAR layout */
#define VMM_VIRTIO_BAR		0
#define VMM_VIRTIO_BAR_SIZE	0x4000
#define VMM_VIRTIO_COMMON_OFF	0x0000
#define VMM_VIRTIO_ISR_OFF	0x1000
#define VMM_VIRTIO_DEVICE_OFF	0x2000
#define VMM_VIRTIO_NOTIFY_OFF	0x3000
#define VMM_VIRTIO_NOTIFY_MULT	4
#define VMM_VIRTIO_DEVCFG_MAX	0x100

#define VMM_VIRTIO_LOG_MAX	100	/* lines per device, then silence */
#define VMM_VIRTIO_MAX_QUEUES	8
#define VMM_VIRTIO_QUEUE_MAX	256	/* queue_size offered */

struct vmm_virtio_pci;

struct vmm_virtio_ops {
	/* Serves queue q: pops chains, pushes them, then calls
	 * vmm_virtio_pci_used. Returns 0, or -EINVAL when the driver broke a
	 * chain (the transport then flags NEEDS_RESET). */
	int (*queue_notify)(void *opaque, struct vmm_virtio_pci *vp,
			    unsigned q);
	void (*reset)(void *opaque);			/* may be NULL */
};

/* What the driver programmed for one queue. */
struct vmm_virtio_queue {
	uint16_t size;
	uint16_t enable;
	uint64_t desc, driver, device;
	struct vmm_virtq vq;		/* live when enable */
};

struct vmm_virtio_pci {
	struct vmm_pci_dev pci;
	const struct vmm_guest_mem *mem;
	const struct vmm_virtio_ops *ops;
	void *opaque;			/* the device model */
	const char *name;
	uint16_t device_id;
	uint16_t num_queues;
	uint64_t host_features;		/* VERSION_1 always among them */
	uint64_t guest_features;
	uint32_t dfselect, gfselect;
	uint16_t queue_sel;
	uint8_t status, isr, config_gen;
	uint8_t pcicfg;			/* offset of the PCI_CFG capability */
	struct vmm_virtio_queue q[VMM_VIRTIO_MAX_QUEUES];
	uint8_t devcfg[VMM_VIRTIO_DEVCFG_MAX];	/* little-endian, device-set */
	uint32_t devcfg_len;
	/* Guest errors go here, one line each; NULL means stderr. */
	void (*log)(void *opaque, const char *msg);
	void *log_opaque;
	unsigned nlog;			/* lines given to log */
};

/*
 * Builds the PCI function and its capabilities for virtio device device_id
 * with num_queues queues (1..8) offering host_features (VERSION_1 and
 * INDIRECT_DESC added) and devcfg_len bytes of device configuration in
 * vp->devcfg. class_code as for vmm_pci_dev_init. -EINVAL on bad numbers.
 */
int vmm_virtio_pci_init(struct vmm_virtio_pci *vp, uint16_t device_id,
			uint32_t class_code, unsigned num_queues,
			uint64_t host_features, uint32_t devcfg_len,
			const struct vmm_guest_mem *mem,
			const struct vmm_virtio_ops *ops, void *opaque,
			const char *name);

/* The live queue q when the driver enabled it and the device may use it
 * (DRIVER_OK, no NEEDS_RESET), else NULL. */
struct vmm_virtq *vmm_virtio_pci_queue(struct vmm_virtio_pci *vp,
				       unsigned q);

/* After pushing used buffers on queue q: interrupt unless suppressed. */
void vmm_virtio_pci_used(struct vmm_virtio_pci *vp, unsigned q);

/* Device configuration changed: new generation, interrupt. */
void vmm_virtio_pci_config_changed(struct vmm_virtio_pci *vp);

/* Marks the device broken by the driver (NEEDS_RESET, config interrupt)
 * and logs why. */
void vmm_virtio_pci_needs_reset(struct vmm_virtio_pci *vp, const char *fmt,
				...) __attribute__((format(printf, 2, 3)));

/* One line for the log (vp->log or stderr), prefixed with the device's
 * name; at most VMM_VIRTIO_LOG_MAX per device. */
void vmm_virtio_pci_log(struct vmm_virtio_pci *vp, const char *msg);

/* Whether the driver accepted feature bit (after FEATURES_OK). */
int vmm_virtio_pci_has(const struct vmm_virtio_pci *vp, unsigned bit);

#endif
