/*
 * vmm_virtio_net: virtio network device on a frame fd (see virtio_net.h).
 *
 * Transmit (5.1.6.2): a chain of readable buffers, the 12-byte header
 * first, then the frame; the frame goes to the fd straight from guest RAM
 * with one writev. Receive (5.1.6.3): a chain of writable buffers; a frame
 * is read into a bounce buffer only once such a chain is in hand, then
 * copied behind the header. Used lengths: 0 for transmit, header plus
 * frame for receive.
 */
#include "vmm/virtio_net.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vmm/devstate.h"
#include "vx_err.h"

static void net_logf(struct vmm_virtio_net *net, const char *what, int e)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "%s: %s", what, strerror(e));
	vmm_virtio_pci_log(&net->vp, msg);
}

static void net_wake(struct vmm_virtio_net *net)
{
	if (net->wake)
		net->wake(net->wake_opaque);
}

/* Queue qi when the device may do DMA on it: live, enabled, and the
 * command register's bus master bit set (PCI 3.0, 6.2.2). */
static struct vmm_virtq *net_queue(struct vmm_virtio_net *net, unsigned qi)
{
	if (!(net->vp.pci.cfg[PCI_COMMAND] & PCI_COMMAND_MASTER))
		return NULL;
	return vmm_virtio_pci_queue(&net->vp, qi);
}

/* ---- transmit ---- */

/* The frame of a popped transmit chain as an iovec over guest RAM: its
 * readable part past the header. Returns the count, 0 for none. */
static int net_tx_iov(const struct vmm_virtq_req *req, struct iovec *iov)
{
	uint64_t skip = VIRTIO_NET_HDR_BYTES;
	int n = 0;

	for (unsigned i = 0; i < req->nread; i++) {
		const struct vmm_virtq_seg *s = &req->seg[i];

		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		iov[n++] = (struct iovec){ s->ptr + skip, s->len - skip };
		skip = 0;
	}
	return n;
}

/* Sends one chain's frame. 0 when done with the chain (sent or dropped),
 * -EAGAIN when the fd would block. */
static int net_send(struct vmm_virtio_net *net, const struct vmm_virtq_req *req)
{
	struct iovec iov[VMM_VIRTQ_MAX_SEGS];
	uint64_t len = req->read_len;
	ssize_t w;
	int n;

	if (len < VIRTIO_NET_HDR_BYTES + VMM_VIRTIO_NET_MIN_FRAME ||
	    len > VIRTIO_NET_HDR_BYTES + VMM_VIRTIO_NET_MAX_FRAME) {
		net->st.tx_dropped++;
		return 0;
	}
	n = net_tx_iov(req, iov);
	do
		w = writev(net->fd, iov, n);
	while (w < 0 && errno == EINTR);
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -EAGAIN;
	if (w < 0) {
		/* A tap whose link is down says EIO: the frame is lost, as
		 * on a cable nobody plugged in. */
		net->st.tx_dropped++;
		net_logf(net, "transmit", errno);
		return 0;
	}
	net->st.tx_frames++;
	net->st.tx_bytes += len - VIRTIO_NET_HDR_BYTES;
	return 0;
}

/* Serves the transmit queue: at most one ring's worth, since every chain
 * the driver adds later comes with its own notify. -EINVAL for a chain
 * that breaks the rules. */
static int net_tx(struct vmm_virtio_net *net)
{
	struct vmm_virtq *q = net_queue(net, VMM_VIRTIO_NET_TXQ);
	unsigned served = 0;
	int rc = 0;

	net->tx_blocked = 0;
	for (unsigned n = 0; q && n < q->size; n++) {
		rc = vmm_virtq_pop(q, &net->req);
		if (rc <= 0)
			break;
		if (net_send(net, &net->req) == -EAGAIN) {
			vmm_virtq_unpop(q);
			net->tx_blocked = 1;
			if (!(net->polled & POLLOUT))
				net_wake(net);
			break;
		}
		vmm_virtq_push(q, net->req.head, 0);
		served++;
	}
	if (served)
		vmm_virtio_pci_used(&net->vp, VMM_VIRTIO_NET_TXQ);
	return rc < 0 ? rc : 0;
}

/* ---- receive ---- */

/* One frame from the fd into req's buffers. 1 delivered, 0 the fd has
 * nothing (or the frame was dropped: try the next), -1 stop reading. */
static int net_recv_one(struct vmm_virtio_net *net, const struct vmm_virtq_req *req,
			uint32_t *used)
{
	uint8_t hdr[VIRTIO_NET_HDR_BYTES] = { 0 };
	ssize_t len;

	do
		len = read(net->fd, net->frame, sizeof(net->frame));
	while (len < 0 && errno == EINTR);
	if (len < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -1;
	if (len <= 0) {
		net->fd_dead = 1;
		net_logf(net, "receive stopped", len < 0 ? errno : EPIPE);
		return -1;
	}
	/* Too large for the buffer (or for us): dropped, buffer kept. */
	if ((size_t)len > VMM_VIRTIO_NET_MAX_FRAME ||
	    (uint64_t)len + VIRTIO_NET_HDR_BYTES > req->write_len) {
		net->st.rx_dropped++;
		return 0;
	}
	/* 5.1.6.3.1: num_buffers is 1 without MRG_RXBUF; no offloads, so
	 * flags and gso_type stay 0 (VIRTIO_NET_HDR_GSO_NONE). */
	hdr[VIRTIO_NET_HDR_NUM_BUFFERS] = 1;
	vmm_virtq_copy_to(req, 0, hdr, sizeof(hdr));
	vmm_virtq_copy_to(req, sizeof(hdr), net->frame, (uint64_t)len);
	*used = (uint32_t)len + VIRTIO_NET_HDR_BYTES;
	net->st.rx_frames++;
	net->st.rx_bytes += (uint64_t)len;
	return 1;
}

/* Frames from the fd into the driver's receive buffers, while both last,
 * at most a batch. */
static void net_rx(struct vmm_virtio_net *net)
{
	struct vmm_virtq *q = net_queue(net, VMM_VIRTIO_NET_RXQ);
	unsigned delivered = 0;
	uint32_t used;

	for (unsigned n = 0; q && !net->fd_dead && n < VMM_VIRTIO_NET_RX_BATCH; n++) {
		int rc = vmm_virtq_pop(q, &net->req);

		if (rc < 0) {
			vmm_virtio_pci_needs_reset(&net->vp, "malformed chain on queue 0");
			break;
		}
		if (rc == 0) {
			net->rx_stalled = 1;	/* until the driver notifies */
			break;
		}
		rc = net_recv_one(net, &net->req, &used);
		if (rc <= 0) {
			vmm_virtq_unpop(q);
			if (rc < 0)
				break;
			continue;
		}
		vmm_virtq_push(q, net->req.head, used);
		delivered++;
	}
	if (delivered)
		vmm_virtio_pci_used(&net->vp, VMM_VIRTIO_NET_RXQ);
}

/* ---- the transport's callbacks, and the poller's ---- */

static int net_queue_notify(void *opaque, struct vmm_virtio_pci *vp, unsigned qi)
{
	struct vmm_virtio_net *net = opaque;

	(void)vp;
	if (qi == VMM_VIRTIO_NET_TXQ)
		return net_tx(net);
	/* Receive buffers: reading is the poller's job; make sure it polls. */
	net->rx_stalled = 0;
	if (!(net->polled & POLLIN))
		net_wake(net);
	return 0;
}

static void net_reset(void *opaque)
{
	struct vmm_virtio_net *net = opaque;

	net->rx_stalled = 0;
	net->tx_blocked = 0;
}

static const struct vmm_virtio_ops net_ops = {
	.queue_notify = net_queue_notify,
	.reset = net_reset,
};

short vmm_virtio_net_poll_events(struct vmm_virtio_net *net)
{
	short ev = 0;

	if (!net->rx_stalled && !net->fd_dead && net_queue(net, VMM_VIRTIO_NET_RXQ))
		ev |= POLLIN;
	if (net->tx_blocked && net_queue(net, VMM_VIRTIO_NET_TXQ))
		ev |= POLLOUT;
	net->polled = ev;
	return ev;
}

void vmm_virtio_net_backend_ready(struct vmm_virtio_net *net, short revents)
{
	if ((revents & POLLOUT) && net->tx_blocked && net_tx(net))
		vmm_virtio_pci_needs_reset(&net->vp, "malformed chain on queue 1");
	if (revents & (POLLIN | POLLHUP | POLLERR))
		net_rx(net);
}

/* ---- setup ---- */

static void net_fill_config(struct vmm_virtio_net *net, const uint8_t mac[6])
{
	uint8_t *c = net->vp.devcfg;

	memcpy(c + VIRTIO_NET_CFG_MAC, mac, 6);
	c[VIRTIO_NET_CFG_STATUS] = VIRTIO_NET_S_LINK_UP;
	c[VIRTIO_NET_CFG_MAX_VQ_PAIRS] = 1;
	c[VIRTIO_NET_CFG_MTU] = (uint8_t)VMM_VIRTIO_NET_MTU;
	c[VIRTIO_NET_CFG_MTU + 1] = (uint8_t)(VMM_VIRTIO_NET_MTU >> 8);
}

int vmm_virtio_net_init(struct vmm_virtio_net *net,
			const struct vmm_virtio_net_conf *conf,
			const struct vmm_guest_mem *mem, struct vx_err *err)
{
	uint64_t features = 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS |
			    1ull << VIRTIO_NET_F_MTU;
	int rc;

	if (!conf || conf->fd < 0)
		return vx_err_set(err, -EINVAL, "virtio-net: no backend fd");
	if (conf->mac[0] & 1)
		return vx_err_set(err, -EINVAL,
				  "virtio-net: MAC %02x:%02x:%02x:%02x:%02x:%02x is multicast",
				  conf->mac[0], conf->mac[1], conf->mac[2], conf->mac[3],
				  conf->mac[4], conf->mac[5]);
	/* Network controller, Ethernet. */
	rc = vmm_virtio_pci_init(&net->vp, VIRTIO_ID_NET, 0x020000, 2, features,
				 VIRTIO_NET_CFG_SIZE, mem, &net_ops, net, "virtio-net");
	if (rc)
		return vx_err_set(err, rc, "virtio-net: transport setup failed");
	net->vp.log = conf->log;
	net->vp.log_opaque = conf->log_opaque;
	net->fd = conf->fd;
	net->rx_stalled = net->tx_blocked = net->fd_dead = 0;
	net->polled = 0;
	net->wake = conf->wake;
	net->wake_opaque = conf->wake_opaque;
	memset(&net->st, 0, sizeof(net->st));
	net_fill_config(net, conf->mac);
	return 0;
}

struct vmm_pci_dev *vmm_virtio_net_pci(struct vmm_virtio_net *net)
{
	return &net->vp.pci;
}

/* ---- state file (devstate.h) ---- */

void vmm_virtio_net_save(const struct vmm_virtio_net *net, struct vmm_snap_w *w)
{
	vmm_snap_put_u32(w, net->vp.devcfg_len);
	vmm_snap_put_bytes(w, net->vp.devcfg, net->vp.devcfg_len);
	vmm_virtio_pci_save(&net->vp, w);
}

/* The section's device configuration, checked against ours; r is left
 * at the transport. */
static int vmm_virtio_net_cfg_get(struct vmm_virtio_net *net, struct vmm_snap_r *r,
				  struct vx_err *err)
{
	uint8_t cfg[VMM_VIRTIO_DEVCFG_MAX];
	const uint8_t *mac = cfg + VIRTIO_NET_CFG_MAC, *ours = net->vp.devcfg + VIRTIO_NET_CFG_MAC;
	uint32_t cfg_len = vmm_snap_get_u32(r);

	if (r->short_read)
		return vx_err_set(err, -EBADMSG, "state file: virtio-net section truncated");
	if (cfg_len != net->vp.devcfg_len)
		return vx_err_set(err, -EINVAL,
				  "state file: virtio-net: device configuration of %u bytes (%u expected)",
				  cfg_len, net->vp.devcfg_len);
	vmm_snap_get_bytes(r, cfg, cfg_len);
	if (r->short_read)
		return vx_err_set(err, -EBADMSG, "state file: virtio-net section truncated");
	/* The guest's driver keeps the MAC it read: another one would be a
	 * different NIC under it. */
	if (memcmp(mac, ours, 6))
		return vx_err_set(err, -EINVAL,
				  "state file: virtio-net: MAC %02x:%02x:%02x:%02x:%02x:%02x, this NIC has "
				  "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
				  mac[4], mac[5], ours[0], ours[1], ours[2], ours[3], ours[4], ours[5]);
	if (memcmp(cfg, net->vp.devcfg, cfg_len))
		return vx_err_set(err, -EINVAL,
				  "state file: virtio-net: device configuration (status, MTU) differs");
	return 0;
}

int vmm_virtio_net_check(struct vmm_virtio_net *net, const void *p, size_t len,
			 struct vx_err *err)
{
	struct vmm_snap_r r;
	int rc;

	vmm_snap_r_init(&r, p, len);
	if ((rc = vmm_virtio_net_cfg_get(net, &r, err)) ||
	    (rc = vmm_virtio_pci_load(&net->vp, &r, 0, err)))
		return rc;
	return vmm_snap_r_done(&r, "virtio-net", err);
}

int vmm_virtio_net_load(struct vmm_virtio_net *net, const void *p, size_t len,
			struct vx_err *err)
{
	struct vmm_snap_r r;
	int rc;

	/* The whole section checked before the transport takes any of it. */
	if ((rc = vmm_virtio_net_check(net, p, len, err)))
		return rc;
	vmm_snap_r_init(&r, p, len);
	vmm_virtio_net_cfg_get(net, &r, NULL);
	vmm_virtio_pci_load(&net->vp, &r, 1, NULL);
	/* As after a reset: poll for input; and serve the transmit queue once
	 * the fd can take a frame, for chains added while it was blocked. */
	net->rx_stalled = 0;
	net->tx_blocked = 1;
	net_wake(net);
	return 0;
}
