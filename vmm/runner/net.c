/*
 * net: the machine's virtio-net NICs, each on a host tap device.
 *
 * The runner opens the tap itself, before it drops privileges (it starts
 * as root under vmxd): /dev/net/tun, TUNSETIFF with IFF_TAP | IFF_NO_PI
 * (one read or write is one Ethernet frame, no offloads, no vnet header),
 * which creates the tap or attaches to a persistent one of that name;
 * then the link goes up and, for a bridged NIC, joins the bridge
 * (SIOCBRADDIF). A tap the runner created is not persistent: it goes away
 * with the runner, however the runner ends. Afterwards the sandbox needs
 * only read, writev and poll on the fd.
 *
 * Each NIC is a modern virtio-pci function at slot 5 + index with its own
 * PIC line; the main loop polls the tap (machine_pollfds) for what the
 * device wants: input while the guest has receive buffers, output while a
 * transmit waits for room.
 *
 * Option syntax (runner command line and vmxd): tap=NAME[,mac=MAC][,bridge=BR]
 * NAME may hold one %d for the kernel to fill in (vmxtap%d).
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <linux/sockios.h>

#include "vmm/runner/runner.h"

/* PIC lines free on the board (disks have 10, 11, 14, 15; SCI 9): one
 * per NIC, none shared. */
static const uint8_t nic_irq[RUNNER_MAX_NICS] = { 5, 12 };
#define NIC_FIRST_SLOT 5

static int nic_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &end) != 6 || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return mac[0] & 1 ? -EINVAL : 0;
}

int rn_nic_parse(const char *arg, unsigned index, struct rn_nic_conf *c, struct vx_err *err)
{
	char *o, *next;

	memset(c, 0, sizeof(*c));
	if (strlen(arg) >= sizeof(c->spec))
		return vx_err_set(err, -ENAMETOOLONG, "--nic '%.40s...': too long", arg);
	snprintf(c->spec, sizeof(c->spec), "%s", arg);
	/* 52:54:00 is the range QEMU and libvirt use for guests. */
	memcpy(c->mac, (uint8_t[6]){ 0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)(0x56 + index) }, 6);
	for (o = c->spec; o; o = next) {
		next = strchr(o, ',');
		if (next)
			*next++ = '\0';
		if (strncmp(o, "tap=", 4) == 0)
			c->tap = o + 4;
		else if (strncmp(o, "bridge=", 7) == 0)
			c->bridge = o + 7;
		else if (strncmp(o, "mac=", 4) == 0) {
			if (nic_parse_mac(o + 4, c->mac))
				return vx_err_set(err, -EINVAL,
						  "--nic '%s': mac '%s' is not a unicast aa:bb:cc:dd:ee:ff",
						  arg, o + 4);
		} else
			return vx_err_set(err, -EINVAL,
					  "--nic '%s': unknown option '%s' (tap=NAME, mac=MAC, bridge=BR)",
					  arg, o);
	}
	if (!c->tap || !c->tap[0] || strlen(c->tap) >= IFNAMSIZ || strchr(c->tap, '/'))
		return vx_err_set(err, -EINVAL, "--nic '%s': tap=NAME of 1 to %d characters is required",
				  arg, IFNAMSIZ - 1);
	if (c->bridge && (!c->bridge[0] || strlen(c->bridge) >= IFNAMSIZ))
		return vx_err_set(err, -EINVAL, "--nic '%s': bridge name of 1 to %d characters",
				  arg, IFNAMSIZ - 1);
	return 0;
}

/* An ioctl on interface name through a throwaway socket. */
static int nic_if_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc = 0;

	if (s < 0)
		return -errno;
	if (ioctl(s, req, ifr) < 0)
		rc = -errno;
	close(s);
	return rc;
}

static int nic_link_up(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int rc;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	rc = nic_if_ioctl(SIOCGIFFLAGS, &ifr);
	if (rc || (ifr.ifr_flags & IFF_UP))
		return rc;
	ifr.ifr_flags |= IFF_UP;
	return nic_if_ioctl(SIOCSIFFLAGS, &ifr);
}

int rn_tap_open(const char *name, char ifname[IFNAMSIZ], struct vx_err *err)
{
	struct ifreq ifr = { 0 };
	int fd, rc;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return vx_err_errno(err, -errno, "/dev/net/tun");
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		rc = -errno;
		close(fd);
		return vx_err_set(err, rc, "tap '%s': TUNSETIFF: %s%s", name, strerror(-rc),
				  rc == -EPERM ? " (needs CAP_NET_ADMIN, or a tap made for this user)" :
				  rc == -EINVAL ? " (a tun device of that name, or flags that differ?)" :
				  "");
	}
	snprintf(ifname, IFNAMSIZ, "%s", ifr.ifr_name);
	rc = nic_link_up(ifname);
	if (rc) {
		close(fd);
		return vx_err_set(err, rc, "tap '%s': bringing the link up: %s", ifname,
				  strerror(-rc));
	}
	return fd;
}

int rn_tap_add_to_bridge(const char *ifname, const char *bridge, struct vx_err *err)
{
	struct ifreq ifr = { 0 };
	int rc;

	ifr.ifr_ifindex = (int)if_nametoindex(ifname);
	if (!ifr.ifr_ifindex)
		return vx_err_errno(err, -errno, "tap '%s'", ifname);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", bridge);
	rc = nic_if_ioctl(SIOCBRADDIF, &ifr);
	if (rc)
		return vx_err_set(err, rc, "tap '%s': joining bridge '%s': %s", ifname, bridge,
				  strerror(-rc));
	return 0;
}

static void nic_log(void *opaque, const char *msg)
{
	fprintf(stderr, "vmxd-runner: nic %s: %s\n", ((struct rn_nic *)opaque)->ifname, msg);
}

static void nic_set_irq(void *opaque, int level)
{
	struct rn_nic *n = opaque;

	vmm_pc_set_irq(&n->m->pc, n->irq, level);
}

/* The device wants other poll events: the main loop asks again. */
static void nic_wake(void *opaque)
{
	struct rn_nic *n = opaque;
	uint64_t one = 1;

	if (write(n->m->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		perror("vmxd-runner: wake");
}

static int nic_attach(struct machine *m, unsigned i, const struct rn_nic_conf *c,
		      struct vx_err *err)
{
	struct rn_nic *n = &m->nics[i];
	struct vmm_virtio_net_conf nc = {
		.wake = nic_wake, .wake_opaque = n, .log = nic_log, .log_opaque = n,
	};
	struct vmm_pci_irq irq = { .set_irq = nic_set_irq, .opaque = n, .line = nic_irq[i] };
	int rc;

	n->m = m;
	n->irq = nic_irq[i];
	n->fd = rn_tap_open(c->tap, n->ifname, err);
	if (n->fd < 0)
		return n->fd;
	if (c->bridge && (rc = rn_tap_add_to_bridge(n->ifname, c->bridge, err)))
		return rc;
	nc.fd = n->fd;
	memcpy(nc.mac, c->mac, 6);
	rc = vmm_virtio_net_init(&n->net, &nc, &m->guest_mem, err);
	if (!rc)
		rc = vmm_pci_add(&m->pci, NIC_FIRST_SLOT + (int)i, vmm_virtio_net_pci(&n->net),
				 &irq, err);
	if (!rc)
		fprintf(stderr, "vmxd-runner: nic %u: tap %s%s%s, mac %02x:%02x:%02x:%02x:%02x:%02x\n",
			i, n->ifname, c->bridge ? " on bridge " : "", c->bridge ? c->bridge : "",
			c->mac[0], c->mac[1], c->mac[2], c->mac[3], c->mac[4], c->mac[5]);
	return rc;
}

/* After rn_disks_attach (the PCI bus and guest_mem exist). */
int rn_nics_attach(struct machine *m, struct vx_err *err)
{
	int rc = 0;

	for (unsigned i = 0; i < RUNNER_MAX_NICS; i++)
		m->nics[i].fd = -1;
	for (unsigned i = 0; !rc && i < m->cfg.nnics; i++) {
		rc = nic_attach(m, i, &m->cfg.nics[i], err);
		m->nnics = i + 1;	/* the fd is ours to close either way */
	}
	return rc;
}

void rn_nics_close(struct machine *m)
{
	for (unsigned i = 0; i < m->nnics; i++)
		if (m->nics[i].fd >= 0) {
			close(m->nics[i].fd);
			m->nics[i].fd = -1;
		}
	m->nnics = 0;
}

/* Main thread: one pollfd per possible NIC; fd -1 where nothing is wanted. */
void rn_nics_pollfds(struct machine *m, struct pollfd p[RUNNER_MAX_NICS])
{
	pthread_mutex_lock(&m->io_lock);
	for (unsigned i = 0; i < RUNNER_MAX_NICS; i++) {
		short ev = i < m->nnics && m->nics[i].fd >= 0 ?
			   vmm_virtio_net_poll_events(&m->nics[i].net) : 0;

		p[i] = (struct pollfd){ .fd = ev ? m->nics[i].fd : -1, .events = ev };
	}
	pthread_mutex_unlock(&m->io_lock);
}

void rn_nics_polled(struct machine *m, const struct pollfd p[RUNNER_MAX_NICS])
{
	pthread_mutex_lock(&m->io_lock);
	for (unsigned i = 0; i < m->nnics; i++)
		if (p[i].fd >= 0 && p[i].revents)
			vmm_virtio_net_backend_ready(&m->nics[i].net, p[i].revents);
	pthread_mutex_unlock(&m->io_lock);
}
