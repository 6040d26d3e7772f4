/*
 * machine: the VM as the runner holds it: guest RAM in one memory slot,
 * the PC board, the vCPUs, and the plumbing between them: the PIC's
 * output kicks the boot vCPU, the PIT's and RTC's next events arm one host
 * timer, guest reset and power-off stop the machine.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/acpi.h"
#include "vmm/boot_linux.h"
#include "vmm/boot_multiboot.h"
#include "vmm/mptable.h"
#include "vmm/runner/runner.h"

const char *machine_stop_name(enum rn_stop why)
{
	switch (why) {
	case RN_RUNNING:	return "running";
	case RN_POWEROFF:	return "poweroff";
	case RN_RESET:		return "reset";
	case RN_CRASH:		return "crashed";
	case RN_DESTROYED:	return "destroyed";
	case RN_ERROR:		return "error";
	}
	return "?";
}

/* The first reason wins; every vCPU and the main loop are told. io_lock held. */
static void machine_stop_va(struct machine *m, enum rn_stop why, const char *fmt, va_list ap)
{
	int expected = RN_RUNNING;
	uint64_t one = 1;

	if (!atomic_compare_exchange_strong(&m->stop, &expected, (int)why))
		return;
	vsnprintf(m->stop_detail, sizeof(m->stop_detail), fmt, ap);
	pthread_cond_broadcast(&m->halt_cond);
	pthread_cond_broadcast(&m->pause_cond);
	for (unsigned i = 0; i < m->nvcpus; i++)
		rn_vcpu_kick(&m->vcpu[i]);
	if (m->wake_fd >= 0 && write(m->wake_fd, &one, sizeof(one)) < 0)
		perror("vmxd-runner: wake");
}

void machine_stop(struct machine *m, enum rn_stop why, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&m->io_lock);
	va_start(ap, fmt);
	machine_stop_va(m, why, fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&m->io_lock);
}

/* The same from a device callback: inside a port write, io_lock held. */
static void machine_stop_locked(struct machine *m, enum rn_stop why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	machine_stop_va(m, why, fmt, ap);
	va_end(ap);
}

/*
 * Pausing: every vCPU out of the guest and held before its next RUN, so
 * guest memory and vCPU state stand still (suspend, snapshots). Returns
 * once all are held (or the machine stopped).
 */
void machine_pause(struct machine *m)
{
	pthread_mutex_lock(&m->io_lock);
	m->paused = 1;
	while (m->vcpus_paused < m->nvcpus && atomic_load(&m->stop) == RN_RUNNING) {
		struct timespec t;

		/* Kicked again every 20 ms: a vCPU that went back into the
		 * guest to deliver an interrupt (inject_unsure) must come out. */
		pthread_cond_broadcast(&m->halt_cond);
		for (unsigned i = 0; i < m->nvcpus; i++)
			rn_vcpu_kick(&m->vcpu[i]);
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += 20 * 1000 * 1000;
		if (t.tv_nsec >= 1000000000) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&m->pause_cond, &m->io_lock, &t);
	}
	pthread_mutex_unlock(&m->io_lock);
}

void machine_resume(struct machine *m)
{
	pthread_mutex_lock(&m->io_lock);
	m->paused = 0;
	pthread_cond_broadcast(&m->pause_cond);
	pthread_mutex_unlock(&m->io_lock);
}

/* vCPU thread, before each RUN: hold here while the machine is paused. */
void machine_vcpu_pause_point(struct rn_vcpu *v)
{
	struct machine *m = v->m;

	pthread_mutex_lock(&m->io_lock);
	/* Not with an interrupt perhaps still queued in the kernel: one more
	 * RUN delivers it (machine_pause kicks again). */
	if (m->paused && !v->inject_unsure) {
		atomic_store(&v->where, RN_VCPU_PAUSED);
		m->vcpus_paused++;
		pthread_cond_broadcast(&m->pause_cond);
		while (m->paused && atomic_load(&m->stop) == RN_RUNNING)
			pthread_cond_wait(&m->pause_cond, &m->io_lock);
		m->vcpus_paused--;
		atomic_store(&v->where, RN_VCPU_USER);
	}
	pthread_mutex_unlock(&m->io_lock);
}

/* The ACPI power button (the guest decides what a press means). */
int machine_power_button(struct machine *m)
{
	pthread_mutex_lock(&m->io_lock);
	vmm_acpi_press_power_button(&m->acpi_pm);
	pthread_mutex_unlock(&m->io_lock);
	return 0;
}

/* ---- the board's callbacks (called under io_lock) ---- */

/* The PIC's INTR line: only the boot vCPU takes PIC interrupts. */
static void machine_intr(void *opaque, int level)
{
	struct machine *m = opaque;

	if (level)
		rn_vcpu_kick(&m->vcpu[0]);
}

static void machine_reset(void *opaque)
{
	machine_stop_locked(opaque, RN_RESET, "the guest reset the machine");
}

static void machine_sci(void *opaque, int level)
{
	struct machine *m = opaque;

	vmm_pc_set_irq(&m->pc, VMM_ACPI_SCI_IRQ, level);
}

static void machine_acpi_off(void *opaque)
{
	machine_stop_locked(opaque, RN_POWEROFF, "the guest powered off (ACPI S5)");
}

static void machine_acpi_reset(void *opaque)
{
	machine_stop_locked(opaque, RN_RESET, "the guest reset the machine (ACPI reset register)");
}

static void machine_console(void *opaque, uint8_t byte)
{
	struct machine *m = opaque;

	if (m->cfg.console_out)
		m->cfg.console_out(m->cfg.console_opaque, &byte, 1);
}

/* ---- firmware tables ---- */

/*
 * The ACPI tables, and with the APICs (more than one vCPU) an MP table
 * too, carrying the PCI devices' INTx lines (mptable.h says why).
 */
static int machine_tables(struct machine *m, struct vx_err *err)
{
	struct vmm_mp_pci_irq pci[VMM_MPTABLE_MAX_PCI];
	unsigned npci = 0;
	int rc = vmm_acpi_build_smp(m->ram, m->ram_bytes, m->apic ? m->cfg.vcpus : 0, NULL, err);

	if (rc || !m->apic)
		return rc;
	for (int slot = 1; slot < VMM_PCI_SLOTS && npci < VMM_MPTABLE_MAX_PCI; slot++) {
		const struct vmm_pci_dev *d = m->pci.slot[slot];

		if (d && d->cfg[PCI_INTERRUPT_PIN] && d->irq.set_irq)
			pci[npci++] = (struct vmm_mp_pci_irq){ .slot = (uint8_t)slot,
				.pin = d->cfg[PCI_INTERRUPT_PIN], .isa_irq = d->irq.line };
	}
	return vmm_mptable_build(m->ram, m->ram_bytes, m->cfg.vcpus, pci, npci, err);
}

/* ---- host timer for the PIT and the RTC ---- */

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Arms the timer for the earliest device event (under io_lock). */
static void machine_arm_timer(struct machine *m)
{
	uint64_t next = min_u64(vmm_pit_next_irq(&m->pc.pit),
				vmm_rtc_next_event(&m->pc.rtc));
	struct itimerspec its = { 0 };

	if (next != UINT64_MAX) {
		if (next == 0)
			next = 1;	/* 0 would disarm: "now" */
		its.it_value.tv_sec = (time_t)(next / 1000000000u);
		its.it_value.tv_nsec = (long)(next % 1000000000u);
	}
	if (timerfd_settime(m->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		perror("vmxd-runner: timerfd_settime");
}

/* Main thread: the timer fired. */
static void machine_on_timer(struct machine *m)
{
	uint64_t n;

	if (read(m->timer_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		perror("vmxd-runner: timer");
	pthread_mutex_lock(&m->io_lock);
	vmm_pit_tick(&m->pc.pit);
	vmm_rtc_tick(&m->pc.rtc);
	machine_arm_timer(m);
	pthread_mutex_unlock(&m->io_lock);
}

/* vCPU thread, after the guest programmed a timer device. */
void machine_timers_changed(struct machine *m)
{
	uint64_t one = 1;

	if (write(m->wake_fd, &one, sizeof(one)) < 0)
		perror("vmxd-runner: wake");
}

/* Main thread: the wake eventfd fired. */
static void machine_on_wake(struct machine *m)
{
	uint64_t n;

	if (read(m->wake_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		perror("vmxd-runner: wake");
	pthread_mutex_lock(&m->io_lock);
	machine_arm_timer(m);
	pthread_mutex_unlock(&m->io_lock);
}

/* The main thread's own fds: device timer, wake eventfd, signalfd, the
 * NICs' taps. */
void machine_pollfds(struct machine *m, int sigfd, struct pollfd p[MACHINE_POLLFDS])
{
	p[0] = (struct pollfd){ .fd = m->timer_fd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = m->wake_fd, .events = POLLIN };
	p[2] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
	rn_nics_pollfds(m, p + 3);
}

/* After poll: timer, re-arm, and SIGINT/SIGTERM (the VM is destroyed). */
void machine_polled(struct machine *m, int sigfd, const struct pollfd p[MACHINE_POLLFDS])
{
	struct signalfd_siginfo si;

	if (p[0].revents)
		machine_on_timer(m);
	if (p[1].revents)
		machine_on_wake(m);
	if (p[2].revents && read(sigfd, &si, sizeof(si)) == sizeof(si))
		machine_stop(m, RN_DESTROYED, "signal %u", si.ssi_signo);
	rn_nics_polled(m, p + 3);
}

/* Main thread: bytes typed at the console; what does not fit now is
 * dropped (the UART has a 16-byte FIFO; the caller reads in small
 * pieces). Returns how many the guest took. */
size_t machine_console_in(struct machine *m, const uint8_t *buf, size_t len)
{
	size_t n;

	pthread_mutex_lock(&m->io_lock);
	n = vmm_uart_push(&m->pc.com1, buf, len);
	pthread_mutex_unlock(&m->io_lock);
	return n;
}

/* ---- creation ---- */

static int machine_memory(struct machine *m, struct vx_err *err)
{
	int rc;

	m->ram_bytes = m->cfg.ram_bytes;
	m->ram = mmap(NULL, m->ram_bytes, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->ram == MAP_FAILED) {
		m->ram = NULL;
		return vx_err_errno(err, -errno, "guest RAM (%llu MiB)",
				    (unsigned long long)(m->ram_bytes >> 20));
	}
	rc = m->ops->set_slot(&m->vm, 0, 0, m->ram_bytes, m->ram, 0);
	if (rc)
		return vx_err_set(err, rc, "%s: memory slot of %llu MiB: %s", m->ops->dev,
				  (unsigned long long)(m->ram_bytes >> 20), strerror(-rc));
	return 0;
}

static void seg_to_vx(struct vmxcore_segment *d, const struct vmm_seg *s)
{
	*d = (struct vmxcore_segment){ .base = s->base, .limit = s->limit,
				       .selector = s->selector, .ar = s->ar };
}

/* The boot vCPU as the loader left it (Linux: 64-bit entry, boot_params in
 * RSI; multiboot: 32-bit protected mode, magic in EAX, information in EBX). */
static int machine_boot_regs(struct machine *m, struct rn_vcpu *v,
			     const struct vmm_boot_regs *b, struct vx_err *err)
{
	struct vmxcore_regs r = { .rip = b->rip, .rsp = b->rsp, .rsi = b->rsi,
				  .rax = b->rax, .rbx = b->rbx, .rflags = b->rflags };
	struct vmxcore_sregs s;
	int rc = m->ops->get_sregs(&v->vb, &s);

	if (rc)
		return vx_err_set(err, rc, "vCPU 0: get sregs: %s", strerror(-rc));
	seg_to_vx(&s.cs, &b->cs);
	seg_to_vx(&s.ds, &b->ds);
	seg_to_vx(&s.es, &b->es);
	seg_to_vx(&s.fs, &b->fs);
	seg_to_vx(&s.gs, &b->gs);
	seg_to_vx(&s.ss, &b->ss);
	seg_to_vx(&s.tr, &b->tr);
	seg_to_vx(&s.ldt, &b->ldtr);
	s.gdt = (struct vmxcore_dtable){ .base = b->gdt.base, .limit = b->gdt.limit };
	s.idt = (struct vmxcore_dtable){ .base = b->idt.base, .limit = b->idt.limit };
	s.cr0 = b->cr0;
	s.cr3 = b->cr3;
	s.cr4 = b->cr4;
	s.efer = b->efer;
	rc = m->ops->set_sregs(&v->vb, &s);
	if (!rc)
		rc = m->ops->set_regs(&v->vb, &r);
	if (rc)
		return vx_err_set(err, rc, "vCPU 0: the boot registers were refused: %s",
				  strerror(-rc));
	return 0;
}

static int machine_vcpu(struct machine *m, unsigned id, struct vx_err *err)
{
	struct {
		struct vmxcore_cpuid head;
		struct vmxcore_cpuid_entry e[VMXCORE_CPUID_MAX_ENTRIES];
	} t;
	struct rn_vcpu *v = &m->vcpu[id];
	int rc;

	v->m = m;
	v->id = (int)id;
	rc = m->ops->create_vcpu(&m->vm, (int)id, &v->vb);
	if (rc)
		return vx_err_set(err, rc, "%s: vCPU %u: %s", m->ops->dev, id, strerror(-rc));
	m->nvcpus++;
	rc = rn_cpuid_build(&t.head, VMXCORE_CPUID_MAX_ENTRIES, rn_cpuid_host, id);
	if (!rc && m->apic)
		rn_cpuid_give_apic(&t.head);
	if (!rc)
		rc = m->ops->set_cpuid(&v->vb, &t.head);
	if (rc)
		return vx_err_set(err, rc, "vCPU %u: CPUID table: %s", id, strerror(-rc));
	return 0;
}

static int machine_board(struct machine *m, struct vx_err *err)
{
	struct vmm_pc_cb cb = {
		.intr = machine_intr, .reset = machine_reset,
		.console = machine_console, .opaque = m,
	};

	struct vmm_acpi_pm_cb pm_cb = {
		.set_irq = machine_sci, .poweroff = machine_acpi_off,
		.reset = machine_acpi_reset, .opaque = m,
	};
	int rc = vmm_pc_init(&m->pc, &vmm_clock_host, &cb, err);

	if (rc)
		return rc;
	vmm_acpi_pm_init(&m->acpi_pm, &pm_cb);
	return vmm_acpi_pm_register(&m->acpi_pm, &m->pc.pio, err);
}

/*
 * --kernel-format: "linux", "multiboot", or NULL to choose by the file: a
 * multiboot header in a file that is not a bzImage means multiboot (an ELF
 * vmlinux has none), anything else goes to the Linux loader, which says
 * what it does not like.
 */
static int machine_kernel_format(struct machine *m, struct vx_err *err)
{
	const char *f = m->cfg.kernel_format;
	const uint8_t *k;
	size_t n;
	int rc;

	if (f && strcmp(f, "linux") && strcmp(f, "multiboot"))
		return vx_err_set(err, -EINVAL, "kernel format '%s': use linux or multiboot", f);
	if (!f) {
		rc = vmm_boot_map_file(m->cfg.kernel, "kernel", &k, &n, err);
		if (rc)
			return rc;
		f = vmm_multiboot_probe(k, n) ? "multiboot" : "linux";
		vmm_boot_unmap_file(k, n);
	}
	m->boot_format = f;
	return 0;
}

/* The kernel, initrd and command line into RAM, the ACPI tables beside
 * them, the boot vCPU's registers. */
static int machine_load_kernel(struct machine *m, struct vx_err *err)
{
	const struct machine_config *cfg = &m->cfg;
	struct vmm_boot_linux_info info;
	struct vmm_boot_multiboot_info mb;
	int rc = machine_kernel_format(m, err);

	if (rc)
		return rc;
	if (!strcmp(m->boot_format, "multiboot")) {
		rc = vmm_boot_multiboot_load_files(m->ram, m->ram_bytes, cfg->kernel, cfg->initrd,
						   cfg->cmdline, &mb, err);
		/* No zero page to point at the RSDP: a guest that wants ACPI
		 * scans for it, as on a PC. */
		if (!rc)
			rc = machine_tables(m, err);
		return rc ? rc : machine_boot_regs(m, &m->vcpu[0], &mb.regs, err);
	}
	rc = vmm_boot_linux_load_files(m->ram, m->ram_bytes, cfg->kernel, cfg->initrd,
				       cfg->cmdline, &info, err);
	if (!rc)
		rc = machine_tables(m, err);
	if (!rc)
		rc = vmm_acpi_set_boot_rsdp(m->ram, m->ram_bytes, info.boot_params, err);
	if (rc)
		return rc;
	return machine_boot_regs(m, &m->vcpu[0], &info.regs, err);
}

int machine_create(struct machine *m, const struct machine_config *cfg,
		   struct vx_err *err)
{
	int rc;

	memset(m, 0, sizeof(*m));
	m->cfg = *cfg;
	m->timer_fd = m->wake_fd = -1;
	m->vm.fd = m->vm.sys = -1;
	pthread_mutex_init(&m->io_lock, NULL);
	pthread_cond_init(&m->halt_cond, NULL);
	pthread_cond_init(&m->pause_cond, NULL);
	if (cfg->vcpus < 1 || cfg->vcpus > RUNNER_MAX_VCPUS)
		return vx_err_set(err, -EINVAL, "%u vCPUs: must be 1 to %d",
				  cfg->vcpus, RUNNER_MAX_VCPUS);
	if (cfg->ram_bytes < (16u << 20) || cfg->ram_bytes > (3ull << 30) ||
	    cfg->ram_bytes % 4096)
		return vx_err_set(err, -EINVAL,
				  "memory %llu KiB: must be 16 MiB to 3 GiB, whole pages",
				  (unsigned long long)(cfg->ram_bytes >> 10));
	m->ops = vb_find(cfg->backend);
	if (!m->ops)
		return vx_err_set(err, -EINVAL, "backend '%s': use vmxcore or kvm", cfg->backend);
	rc = vb_open_vm(m->ops, &m->vm);
	if (rc)
		return vx_err_set(err, rc, "%s: cannot create a VM: %s", m->ops->dev,
				  strerror(-rc));
	m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	m->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (m->timer_fd < 0 || m->wake_fd < 0)
		return vx_err_errno(err, -errno, "timerfd/eventfd");
	if ((rc = machine_memory(m, err)) || (rc = machine_board(m, err)) ||
	    (rc = rn_disks_attach(m, err)) || (rc = rn_nics_attach(m, err)))
		return rc;
	if (cfg->vcpus > 1 && (rc = rn_irqchip_create(m, err)))
		return rc;
	for (unsigned i = 0; i < cfg->vcpus; i++)
		if ((rc = machine_vcpu(m, i, err)))
			return rc;
	return machine_load_kernel(m, err);
}

static void rn_sig_kick(int sig)
{
	(void)sig;	/* only there to make RUN return -EINTR */
}

int machine_start(struct machine *m, struct vx_err *err)
{
	struct sigaction sa = { .sa_handler = rn_sig_kick };
	int rc;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	pthread_mutex_lock(&m->io_lock);
	machine_arm_timer(m);
	pthread_mutex_unlock(&m->io_lock);
	for (unsigned i = 0; i < m->nvcpus; i++) {
		rc = pthread_create(&m->vcpu[i].thread, NULL, rn_vcpu_thread, &m->vcpu[i]);
		if (rc)
			return vx_err_set(err, -rc, "vCPU %u thread: %s", i, strerror(rc));
	}
	return 0;
}

void machine_destroy(struct machine *m)
{
	for (unsigned i = 0; i < m->nvcpus; i++) {
		if (m->vcpu[i].thread)
			pthread_join(m->vcpu[i].thread, NULL);
		m->ops->close_vcpu(&m->vcpu[i].vb);
	}
	vb_close_vm(&m->vm);
	rn_nics_close(m);
	rn_disks_close(m);
	vmm_pc_destroy(&m->pc);
	if (m->ram)
		munmap(m->ram, m->ram_bytes);
	if (m->timer_fd >= 0)
		close(m->timer_fd);
	if (m->wake_fd >= 0)
		close(m->wake_fd);
}
