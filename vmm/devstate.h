/*
 * devstate: each device model's state in and out of a VM state file
 * section (vmm/snap.h). vmm_X_save appends the device's guest-visible
 * state to w (the caller wraps it in its section); vmm_X_load checks a
 * section's payload completely before it changes anything, so a state
 * file from a hostile source gets -EBADMSG (or -EINVAL when it is well
 * formed but describes another machine) with a sentence in err, and the
 * device is left as it was.
 *
 * Times: the PIT and RTC save how long ago their counting started (not
 * host clock values), and load rebases that on the clock now: the guest
 * sees no time pass while it sat in the file. The RTC keeps the guest's
 * wall clock where it was at the save.
 *
 * Environment: under the runner's io_lock, machine paused.
 */
#ifndef VMM_DEVSTATE_H
#define VMM_DEVSTATE_H

#include "vmm/acpi_pm.h"
#include "vmm/i8042.h"
#include "vmm/ioapic.h"
#include "vmm/pci.h"
#include "vmm/pic.h"
#include "vmm/pit.h"
#include "vmm/rtc.h"
#include "vmm/snap.h"
#include "vmm/uart16550.h"
#include "vmm/virtio_blk.h"
#include "vmm/virtio_net.h"
#include "vmm/virtio_pci.h"

void vmm_pic_save(const struct vmm_pic *pic, struct vmm_snap_w *w);
int vmm_pic_load(struct vmm_pic *pic, const void *p, size_t len, struct vx_err *err);
void vmm_pit_save(const struct vmm_pit *pit, struct vmm_snap_w *w);
int vmm_pit_load(struct vmm_pit *pit, const void *p, size_t len, struct vx_err *err);
void vmm_rtc_save(const struct vmm_rtc *rtc, struct vmm_snap_w *w);
int vmm_rtc_load(struct vmm_rtc *rtc, const void *p, size_t len, struct vx_err *err);
void vmm_uart_save(const struct vmm_uart *uart, struct vmm_snap_w *w);
int vmm_uart_load(struct vmm_uart *uart, const void *p, size_t len, struct vx_err *err);
void vmm_i8042_save(const struct vmm_i8042 *kbc, struct vmm_snap_w *w);
int vmm_i8042_load(struct vmm_i8042 *kbc, const void *p, size_t len, struct vx_err *err);
void vmm_acpi_pm_save(const struct vmm_acpi_pm *pm, struct vmm_snap_w *w);
int vmm_acpi_pm_load(struct vmm_acpi_pm *pm, const void *p, size_t len, struct vx_err *err);
/* The IOAPIC: ID, IOREGSEL, the pins' levels and the redirection table
 * with its remote IRR bits (its only interrupt state: messages go out at
 * once). Loading sends nothing: the local APICs' state comes from the
 * same file. */
void vmm_ioapic_save(const struct vmm_ioapic *io, struct vmm_snap_w *w);
int vmm_ioapic_load(struct vmm_ioapic *io, const void *p, size_t len, struct vx_err *err);

/* pci.c: CONFIG_ADDRESS and the host bridge. */
void vmm_pci_save(const struct vmm_pci *pci, struct vmm_snap_w *w);
int vmm_pci_load(struct vmm_pci *pci, const void *p, size_t len, struct vx_err *err);
/* pci.c: one function's configuration space and INTA#, inside its
 * device's section; r is left after it. */
void vmm_pci_dev_save(const struct vmm_pci_dev *dev, struct vmm_snap_w *w);
int vmm_pci_dev_check(const struct vmm_pci_dev *dev, struct vmm_snap_r *r,
		      uint8_t cfg[VMM_PCI_CFG_SIZE], int *irq_level, struct vx_err *err);
void vmm_pci_dev_apply(struct vmm_pci_dev *dev, const uint8_t cfg[VMM_PCI_CFG_SIZE],
		       int irq_level);

/* virtio_pci.c / virtio_blk.c */
void vmm_virtio_pci_save(const struct vmm_virtio_pci *vp, struct vmm_snap_w *w);
/* apply 0: check only (nothing changes, even on success). */
int vmm_virtio_pci_load(struct vmm_virtio_pci *vp, struct vmm_snap_r *r, int apply,
			struct vx_err *err);
void vmm_virtio_blk_save(const struct vmm_virtio_blk *blk, struct vmm_snap_w *w);
int vmm_virtio_blk_load(struct vmm_virtio_blk *blk, const void *p, size_t len,
			struct vx_err *err);
/* The load's checks alone: its apply maps BARs, so no copy can stand in. */
int vmm_virtio_blk_check(struct vmm_virtio_blk *blk, const void *p, size_t len,
			 struct vx_err *err);
/* virtio_net.c: the device configuration (MAC, status, MTU: must be this
 * device's) and the transport. The backend fd is the caller's and stays;
 * frames in flight on it are not the guest's state. After a load the
 * device polls for input again and serves its transmit queue once the fd
 * is writable (chains the driver added before the save go out). */
void vmm_virtio_net_save(const struct vmm_virtio_net *net, struct vmm_snap_w *w);
int vmm_virtio_net_load(struct vmm_virtio_net *net, const void *p, size_t len,
			struct vx_err *err);
int vmm_virtio_net_check(struct vmm_virtio_net *net, const void *p, size_t len,
			 struct vx_err *err);

#endif
