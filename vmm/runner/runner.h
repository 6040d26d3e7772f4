/*
 * The runner: one process per VM (the VMM). It owns the guest's RAM, the PC
 * board's device models (vmm/), one thread per vCPU driving the backend
 * (/dev/vmxcore, or /dev/kvm for the differential check and the
 * performance reference), and a main thread with the host timers, the
 * console and the control channel.
 *
 * Locking: machine.io_lock serialises every device and the buses (the
 * vCPU threads' exits, the main thread's timers and console input). The
 * PIC's output, the IOAPIC and the vCPUs' halt/kick state are under the
 * same lock.
 *
 * Interrupt controllers (irqchip.c): one vCPU, the 8259 PIC alone, its
 * vector injected by the runner (a "noapic nolapic" guest). More than one,
 * an in-kernel local APIC per vCPU (backend create_lapic_split), the PIC's
 * vector going in through the BSP's LINT0 (ExtINT, virtual wire), and the
 * IOAPIC model (vmm/ioapic.c) sending its messages to the APICs through
 * the backend; a MADT describes them.
 */
#ifndef VMM_RUNNER_H
#define VMM_RUNNER_H

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "vmm/acpi_pm.h"
#include "vmm/ioapic.h"
#include "vmm/pc.h"
#include "vmm/pci.h"
#include "vmm/virtio_blk.h"
#include "vmm/virtio_net.h"
#include "storage/image.h"
#include "vmm/runner/backend.h"
#include "vx_err.h"

#define RUNNER_MAX_VCPUS	16	/* vmxcore's vCPU ids 0..15 */
#define RUNNER_MAX_DISKS	4
#define RUNNER_MAX_NICS		2

enum rn_vcpu_where {
	RN_VCPU_USER,		/* in the runner: handling an exit */
	RN_VCPU_GUEST,		/* inside RUN */
	RN_VCPU_HALTED,		/* HLT: waiting for an interrupt */
	RN_VCPU_PAUSED,		/* held by machine_pause */
};

struct rn_vcpu {
	struct machine *m;
	int id;
	struct vb_vcpu vb;
	pthread_t thread;
	_Atomic int where;		/* enum rn_vcpu_where */
	uint64_t exits;
	/* In HLT, waiting for an interrupt (a state file keeps it; io_lock
	 * or the machine paused). */
	int halted;
	/* An interrupt was handed to the kernel and no exit since said it
	 * is gone: it may still sit queued in the kernel, where no state
	 * file can see it (the ABI has no pending-event state), so the vCPU
	 * may not pause yet (vcpu.c). */
	int inject_unsure;
};

/* Why the guest stopped, as the daemon and the exit status report it. */
enum rn_stop {
	RN_RUNNING = 0,
	RN_POWEROFF,		/* the guest powered off (ACPI S5, or halted for good) */
	RN_RESET,		/* the guest reset the machine (i8042, ACPI reset) */
	RN_CRASH,		/* triple fault, failed entry, internal error */
	RN_DESTROYED,		/* the host stopped it */
	RN_ERROR,		/* the runner itself failed */
};

/* One --disk: PATH[,format=raw|qcow2][,readonly] (disk.c). */
struct rn_disk_conf {
	char spec[4096];		/* the option, split in place */
	const char *path;
	const char *format;		/* NULL: probe */
	int readonly;
};

struct rn_disk {
	struct machine *m;
	struct img *img;
	struct vmm_virtio_blk blk;
	uint8_t irq;
	char serial[24];
};

/* One --nic: tap=NAME[,mac=MAC][,bridge=BR] (net.c). */
struct rn_nic_conf {
	char spec[256];			/* the option, split in place */
	const char *tap;		/* interface name, may hold %d */
	const char *bridge;		/* NULL: none */
	uint8_t mac[6];
};

struct rn_nic {
	struct machine *m;
	int fd;				/* the tap; -1 when not open */
	char ifname[16];		/* as the kernel named it */
	uint8_t irq;
	struct vmm_virtio_net net;
};

struct machine_config {
	const char *backend;		/* "vmxcore" or "kvm" */
	uint64_t ram_bytes;
	unsigned vcpus;
	const char *kernel, *initrd, *cmdline;
	const char *kernel_format;	/* "linux", "multiboot"; NULL: by the file */
	struct rn_disk_conf disks[RUNNER_MAX_DISKS];
	unsigned ndisks;
	struct rn_nic_conf nics[RUNNER_MAX_NICS];
	unsigned nnics;
	unsigned trace_exits;		/* print each vCPU's first N exits */
	/* Guest console bytes (COM1 output); called under io_lock. */
	void (*console_out)(void *opaque, const uint8_t *buf, size_t len);
	void *console_opaque;
};

struct machine {
	struct machine_config cfg;
	const struct vb_ops *ops;
	struct vb_vm vm;
	const char *boot_format;	/* how the kernel was loaded: "linux", "multiboot" */
	uint8_t *ram;
	uint64_t ram_bytes;

	pthread_mutex_t io_lock;
	pthread_cond_t halt_cond;	/* a halted vCPU waits here (io_lock) */
	pthread_cond_t pause_cond;	/* paused vCPUs, and machine_pause (io_lock) */
	int paused;			/* machine_pause asked (io_lock) */
	unsigned vcpus_paused;		/* how many are held (io_lock) */
	struct vmm_pc pc;
	struct vmm_acpi_pm acpi_pm;	/* PM1 block: power button, S5, reset */
	struct vmm_guest_mem guest_mem;	/* RAM as devices doing DMA see it */
	struct vmm_pci pci;
	int apic;			/* in-kernel local APICs and the IOAPIC (irqchip.c) */
	struct vmm_ioapic ioapic;
	unsigned irq_errors;		/* dropped IOAPIC messages, for the log's limit */
	struct rn_disk disks[RUNNER_MAX_DISKS];
	unsigned ndisks;
	struct rn_nic nics[RUNNER_MAX_NICS];
	unsigned nnics;
	struct rn_vcpu vcpu[RUNNER_MAX_VCPUS];
	unsigned nvcpus;

	int timer_fd;			/* the PIT's and RTC's next event */
	int wake_fd;			/* eventfd: re-arm timers, or stop */
	_Atomic int stop;		/* enum rn_stop, RN_RUNNING while running */
	char stop_detail[160];
};

/* machine.c */
int machine_create(struct machine *m, const struct machine_config *cfg,
		   struct vx_err *err);
int machine_start(struct machine *m, struct vx_err *err);
void machine_stop(struct machine *m, enum rn_stop why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void machine_destroy(struct machine *m);
int machine_power_button(struct machine *m);
void machine_pause(struct machine *m);
void machine_resume(struct machine *m);
void machine_vcpu_pause_point(struct rn_vcpu *v);
void machine_timers_changed(struct machine *m);
/* The timer, the wake eventfd, the signalfd, then one per possible NIC. */
#define MACHINE_POLLFDS (3 + RUNNER_MAX_NICS)
void machine_pollfds(struct machine *m, int sigfd, struct pollfd p[MACHINE_POLLFDS]);
void machine_polled(struct machine *m, int sigfd, const struct pollfd p[MACHINE_POLLFDS]);
size_t machine_console_in(struct machine *m, const uint8_t *buf, size_t len);
const char *machine_stop_name(enum rn_stop why);

/* disk.c */
int rn_disk_parse(const char *arg, struct rn_disk_conf *d, struct vx_err *err);
int rn_disks_attach(struct machine *m, struct vx_err *err);
void rn_disks_close(struct machine *m);

/* irqchip.c */
int rn_irqchip_create(struct machine *m, struct vx_err *err);
/* net.c */
int rn_nic_parse(const char *arg, unsigned index, struct rn_nic_conf *c, struct vx_err *err);
/* Opens (creating if need be) tap name, non-blocking, link up; returns
 * the fd and the kernel's name for it in ifname. */
int rn_tap_open(const char *name, char ifname[16], struct vx_err *err);
int rn_tap_add_to_bridge(const char *ifname, const char *bridge, struct vx_err *err);
int rn_nics_attach(struct machine *m, struct vx_err *err);
void rn_nics_close(struct machine *m);
void rn_nics_pollfds(struct machine *m, struct pollfd p[RUNNER_MAX_NICS]);
void rn_nics_polled(struct machine *m, const struct pollfd p[RUNNER_MAX_NICS]);
/* snapshot.c: the machine paused (or not started); fd open for writing
 * (save, at its start) or reading (load). disk_snapshot: the internal
 * snapshot of every writable disk taken with (or applied before) the
 * memory state, NULL or "" for none. */
int machine_snapshot_save(struct machine *m, int fd, const char *disk_snapshot,
			  struct vx_err *err);
int machine_snapshot_load(struct machine *m, int fd, const char *disk_snapshot,
			  struct vx_err *err);

/* vcpu.c */
void *rn_vcpu_thread(void *arg);
void rn_vcpu_kick(struct rn_vcpu *v);

/* cpuid.c */
typedef void (*rn_cpuid_source)(uint32_t leaf, uint32_t sub, uint32_t out[4]);
int rn_cpuid_build(struct vmxcore_cpuid *t, unsigned max_entries,
		   rn_cpuid_source host, unsigned vcpu_id);
void rn_cpuid_host(uint32_t leaf, uint32_t sub, uint32_t out[4]);
void rn_cpuid_give_apic(struct vmxcore_cpuid *t);

#endif
