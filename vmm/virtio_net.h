/*
 * vmm_virtio_net: a virtio network device (VIRTIO 1.1/1.2, 5.1) whose
 * frames go to and come from a host file descriptor: a tap device opened
 * with IFF_TAP | IFF_NO_PI (one read or write is one Ethernet frame), or
 * a SOCK_DGRAM/SOCK_SEQPACKET socket in the tests.
 *
 * Environment: the runner. The transmit queue is served in the vCPU
 * thread that notifies it (one write per frame, the fd non-blocking); the
 * receive side in the thread that polls the fd (the runner's main loop),
 * through vmm_virtio_net_poll_events / vmm_virtio_net_backend_ready. Both
 * under the caller's lock (the runner's io_lock), as every device.
 *
 * Queues: 0 receive, 1 transmit, 256 entries each; no control queue, no
 * multiqueue. Features: MAC (the configured address), STATUS (link always
 * up), MTU (1500: Linux then keeps its MTU where the small receive buffers
 * it posts without MRG_RXBUF hold a whole frame). No checksum or
 * segmentation offloads and no mergeable buffers: every frame travels
 * whole, checksummed, in one chain, behind a 12-byte struct
 * virtio_net_hdr (VERSION_1 always has num_buffers) that is all zeros but
 * num_buffers = 1 on receive and ignored on transmit.
 *
 * Flow control, never a busy loop or a drop storm:
 * - receive: a frame is read from the fd only once the driver has a buffer
 *   for it. With no buffer the fd is not polled for input (frames wait in
 *   the tap's queue, where the host kernel bounds them) until the driver
 *   adds buffers and notifies queue 0, which calls conf.wake. A frame
 *   larger than the buffer it would go to is dropped (counted) and the
 *   buffer stays the driver's. At most VMM_VIRTIO_NET_RX_BATCH frames per
 *   call, so a flood cannot hold the lock.
 * - transmit: when the fd would block (a socket's queue full) the chain is
 *   given back, the fd is polled for output (conf.wake), and the queue is
 *   served again when it is writable.
 *
 * A driver that breaks the rules gets what the transport gives
 * (NEEDS_RESET: malformed chains, loops, buffers outside RAM); a transmit
 * chain too short for the header, or a frame shorter than an Ethernet
 * header or longer than VMM_VIRTIO_NET_MAX_FRAME, is completed unsent and
 * counted. A failing fd (the tap's link down) drops the frame, logs it
 * (bounded) and carries on; end of file or an error reading stops the
 * receive side for good.
 */
#ifndef VMM_VIRTIO_NET_H
#define VMM_VIRTIO_NET_H

#include <stdint.h>

#include "vmm/virtio_pci.h"

struct vx_err;

#define VIRTIO_ID_NET		1

#define VIRTIO_NET_F_CSUM	0
#define VIRTIO_NET_F_GUEST_CSUM	1
#define VIRTIO_NET_F_MTU	3
#define VIRTIO_NET_F_MAC	5
#define VIRTIO_NET_F_GUEST_TSO4	7
#define VIRTIO_NET_F_HOST_TSO4	11
#define VIRTIO_NET_F_MRG_RXBUF	15
#define VIRTIO_NET_F_STATUS	16
#define VIRTIO_NET_F_CTRL_VQ	17
#define VIRTIO_NET_F_MQ		22

#define VIRTIO_NET_S_LINK_UP	1

/* struct virtio_net_config offsets (5.1.4) */
#define VIRTIO_NET_CFG_MAC	0
#define VIRTIO_NET_CFG_STATUS	6
#define VIRTIO_NET_CFG_MAX_VQ_PAIRS 8
#define VIRTIO_NET_CFG_MTU	10
#define VIRTIO_NET_CFG_SIZE	12

/* struct virtio_net_hdr with num_buffers (5.1.6), as VERSION_1 has it */
#define VIRTIO_NET_HDR_BYTES	12
#define VIRTIO_NET_HDR_NUM_BUFFERS 10

#define VMM_VIRTIO_NET_RXQ	0
#define VMM_VIRTIO_NET_TXQ	1
#define VMM_VIRTIO_NET_MTU	1500
#define VMM_VIRTIO_NET_MIN_FRAME 14	/* an Ethernet header */
/* Largest frame either way: the MTU, an Ethernet header and a VLAN tag,
 * with room to spare for a guest that ignores the MTU (65535-byte
 * frames, as a tap takes them). */
#define VMM_VIRTIO_NET_MAX_FRAME 65550
#define VMM_VIRTIO_NET_RX_BATCH	64

struct vmm_virtio_net_conf {
	int fd;				/* frames, one per read/write; O_NONBLOCK */
	uint8_t mac[6];			/* unicast */
	/* The poll events wanted changed (buffers came after a stall, a
	 * write would block, the driver went live): the poller should ask
	 * vmm_virtio_net_poll_events again. Called under the device's lock,
	 * from a vCPU thread; must not take it. May be NULL. */
	void (*wake)(void *opaque);
	void *wake_opaque;
	void (*log)(void *opaque, const char *msg);	/* NULL: stderr */
	void *log_opaque;
};

struct vmm_virtio_net_stats {
	uint64_t rx_frames, rx_bytes;	/* delivered to the guest */
	uint64_t rx_dropped;		/* larger than the buffer offered */
	uint64_t tx_frames, tx_bytes;	/* written to the fd */
	uint64_t tx_dropped;		/* malformed, or the fd refused it */
};

struct vmm_virtio_net {
	struct vmm_virtio_pci vp;	/* first: the PCI function */
	int fd;
	int rx_stalled;			/* the driver had no rx buffer */
	int tx_blocked;			/* a write would block: wait for POLLOUT */
	int fd_dead;			/* read hit EOF or an error */
	short polled;			/* events the poller last asked for */
	void (*wake)(void *opaque);
	void *wake_opaque;
	struct vmm_virtio_net_stats st;
	struct vmm_virtq_req req;	/* scratch: one chain at a time */
	uint8_t frame[VMM_VIRTIO_NET_MAX_FRAME + 1];	/* rx bounce */
};

/* Builds the device for conf->fd over guest memory mem (which must
 * outlive it). -EINVAL for a negative fd or a multicast MAC. The fd stays
 * the caller's to close. */
int vmm_virtio_net_init(struct vmm_virtio_net *net,
			const struct vmm_virtio_net_conf *conf,
			const struct vmm_guest_mem *mem, struct vx_err *err);

/* The PCI function to give vmm_pci_add. */
struct vmm_pci_dev *vmm_virtio_net_pci(struct vmm_virtio_net *net);

/* POLLIN and/or POLLOUT: what to poll conf.fd for now. 0: nothing (do
 * not poll it at all, so a hang-up cannot spin the poller). The device
 * remembers the answer, to know when it must call conf.wake. */
short vmm_virtio_net_poll_events(struct vmm_virtio_net *net);

/* The poller saw revents on conf.fd: receive into the driver's buffers,
 * resume a blocked transmit queue. */
void vmm_virtio_net_backend_ready(struct vmm_virtio_net *net, short revents);

#endif
