/*
 * disk: the machine's virtio-blk disks on the PCI bus. Each disk is a
 * storage-library image (raw or qcow2, backing chains, dirty bitmaps kept
 * by the library) behind a modern virtio-pci function at slot 1 + index,
 * with its own level-triggered INTx line on the PIC.
 *
 * Option syntax (runner command line and vmxd): PATH[,format=raw|qcow2][,readonly]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/runner/runner.h"

/* PIC lines nothing else on the board uses: one per disk, none shared. */
static const uint8_t disk_irq[RUNNER_MAX_DISKS] = { 10, 11, 14, 15 };

int rn_disk_parse(const char *arg, struct rn_disk_conf *d, struct vx_err *err)
{
	char *opts;

	memset(d, 0, sizeof(*d));
	snprintf(d->spec, sizeof(d->spec), "%s", arg);
	if (strlen(arg) >= sizeof(d->spec))
		return vx_err_set(err, -ENAMETOOLONG, "--disk '%.40s...': too long", arg);
	d->path = d->spec;
	opts = strchr(d->spec, ',');
	while (opts) {
		char *o = opts + 1;

		*opts = '\0';
		opts = strchr(o, ',');
		if (opts)
			*opts = '\0';
		if (strcmp(o, "readonly") == 0)
			d->readonly = 1;
		else if (strcmp(o, "format=raw") == 0 || strcmp(o, "format=qcow2") == 0)
			d->format = o + strlen("format=");
		else
			return vx_err_set(err, -EINVAL,
					  "--disk '%s': unknown option '%s' (format=raw|qcow2, readonly)",
					  arg, o);
		if (opts)
			*opts = ',';
	}
	if (!d->path[0])
		return vx_err_set(err, -EINVAL, "--disk '%s': no path", arg);
	return 0;
}

static void disk_log(void *opaque, const char *msg)
{
	fprintf(stderr, "vmxd-runner: disk %s: %s\n", (const char *)opaque, msg);
}

static void disk_set_irq(void *opaque, int level)
{
	struct rn_disk *d = opaque;

	vmm_pc_set_irq(&d->m->pc, d->irq, level);
}

static int disk_attach(struct machine *m, unsigned i, const struct rn_disk_conf *c,
		       struct vx_err *err)
{
	struct rn_disk *d = &m->disks[i];
	struct vmm_virtio_blk_conf bc = {
		.read_only = c->readonly, .log = disk_log, .log_opaque = (void *)c->path,
	};
	struct vmm_pci_irq irq = { .set_irq = disk_set_irq, .opaque = d, .line = disk_irq[i] };
	int rc;

	d->m = m;
	d->irq = disk_irq[i];
	snprintf(d->serial, sizeof(d->serial), "vmxcore-disk%u", i);
	bc.serial = d->serial;
	rc = img_open(c->path, c->format, c->readonly ? 0 : IMG_RDWR, &d->img, err);
	if (rc)
		return rc;
	bc.img = d->img;
	rc = vmm_virtio_blk_init(&d->blk, &bc, &m->guest_mem, err);
	if (!rc)
		rc = vmm_pci_add(&m->pci, 1 + (int)i, vmm_virtio_blk_pci(&d->blk), &irq, err);
	return rc;
}

int rn_disks_attach(struct machine *m, struct vx_err *err)
{
	int rc;

	m->guest_mem = (struct vmm_guest_mem){ .base = m->ram, .size = m->ram_bytes };
	vmm_pci_init(&m->pci, &m->pc.mmio);
	rc = vmm_pci_register(&m->pci, &m->pc.pio, err);
	for (unsigned i = 0; !rc && i < m->cfg.ndisks; i++) {
		rc = disk_attach(m, i, &m->cfg.disks[i], err);
		if (!rc)
			m->ndisks++;
	}
	return rc;
}

/* Flushes and closes every image (the guest is stopped). */
void rn_disks_close(struct machine *m)
{
	struct vx_err err = { 0 };

	for (unsigned i = 0; i < m->ndisks; i++)
		if (img_close(m->disks[i].img, &err))
			fprintf(stderr, "vmxd-runner: disk %s: %s\n", m->cfg.disks[i].path, err.msg);
	m->ndisks = 0;
	vmm_pci_destroy(&m->pci);
}
