/*
 * The vCPU thread: RUN, then one switch on the exit reason. Interrupts from
 * the PIC are taken here, where the guest's interruptibility is known:
 * when the last exit said the guest can take one, the PIC is acknowledged
 * (its INTA cycle) and the vector injected; otherwise the core is asked
 * for an interrupt-window exit. A HLT waits in the runner until the PIC
 * has something or the machine stops.
 *
 * With the in-kernel local APICs (more than one vCPU, irqchip.c) HLT and
 * wait-for-SIPI sleep inside RUN, so a vCPU blocked there is "in the
 * guest" and the same kick (a signal) gets it out for pause and stop; the
 * PIC's vector still goes to vCPU 0, accepted only through LINT0 ExtINT.
 *
 * Kicks: a vCPU inside RUN is made to return by setting immediate_exit and
 * sending SIGUSR1 to its thread (a signal pending in the kernel ends RUN
 * with -EINTR; immediate_exit covers a signal that arrives just before).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "vmm/runner/runner.h"

void rn_vcpu_kick(struct rn_vcpu *v)
{
	struct machine *m = v->m;

	switch (atomic_load(&v->where)) {
	case RN_VCPU_HALTED:
		pthread_cond_broadcast(&m->halt_cond);	/* caller holds io_lock */
		break;
	case RN_VCPU_GUEST:
		m->ops->set_immediate_exit(&v->vb, 1);
		if (v->thread)
			pthread_kill(v->thread, SIGUSR1);
		break;
	default:
		break;	/* it looks at the PIC before its next RUN */
	}
}

/* Before RUN: inject what the PIC has, or ask to be told when we can.
 * Returns 1 when an interrupt went to the kernel. Nothing is taken from
 * the PIC while the machine is pausing: a state file must find it there. */
static int rn_vcpu_interrupts(struct rn_vcpu *v)
{
	struct machine *m = v->m;
	struct vmxcore_run *run = v->vb.run;
	int vector = -1;

	run->request_interrupt_window = 0;
	if (v->id != 0)
		return 0;
	pthread_mutex_lock(&m->io_lock);
	if (vmm_pic_pending(&m->pc.pic) && !m->paused) {
		/*
		 * With the APIC, "not ready" while IF is set mostly means LINT0
		 * refuses ExtINT (masked: the guest uses the IOAPIC). vmxcore's
		 * window exit does not look at LINT0, so asking would exit at
		 * once, forever; ask only while IF is clear. A new request from
		 * the PIC kicks vCPU 0 again.
		 */
		if (run->ready_for_interrupt)
			vector = vmm_pc_ack(&m->pc);
		else if (!m->apic || !run->if_flag)
			run->request_interrupt_window = 1;
	} else if (m->paused && v->inject_unsure) {
		/* Pausing: run until the guest took it and can take
		 * another, which the window exit tells. */
		run->request_interrupt_window = 1;
	}
	pthread_mutex_unlock(&m->io_lock);
	if (vector >= 0 && m->ops->interrupt(&v->vb, (uint32_t)vector)) {
		machine_stop(m, RN_ERROR, "vCPU %d: injecting vector %d failed", v->id, vector);
		return 0;
	}
	return vector >= 0;
}

/* HLT: the vCPU sleeps in the runner (rn_vcpu_halt_wait); with IF clear
 * nothing could wake it. */
static void rn_vcpu_halt(struct rn_vcpu *v)
{
	struct machine *m = v->m;

	if (!v->vb.run->if_flag) {
		/* Nothing can wake it: Linux without ACPI halts like this
		 * at power-off. */
		machine_stop(m, RN_POWEROFF, "vCPU %d halted with interrupts disabled", v->id);
		return;
	}
	pthread_mutex_lock(&m->io_lock);
	v->halted = 1;
	pthread_mutex_unlock(&m->io_lock);
}

/* Halted: wait until the PIC has something (then the vCPU is awake and
 * interruptible), the machine pauses (still halted afterwards, unless a
 * state file loaded in between says otherwise) or stops. */
static void rn_vcpu_halt_wait(struct rn_vcpu *v)
{
	struct machine *m = v->m;

	pthread_mutex_lock(&m->io_lock);
	atomic_store(&v->where, RN_VCPU_HALTED);
	while (!vmm_pic_pending(&m->pc.pic) && !m->paused &&
	       atomic_load(&m->stop) == RN_RUNNING)
		pthread_cond_wait(&m->halt_cond, &m->io_lock);
	if (!m->paused && atomic_load(&m->stop) == RN_RUNNING) {
		v->halted = 0;
		/* Interruptible: HLT was executed with IF set and no blocking. */
		v->vb.run->ready_for_interrupt = 1;
	}
	atomic_store(&v->where, RN_VCPU_USER);
	pthread_mutex_unlock(&m->io_lock);
}

static int rn_is_timer_port(uint16_t port)
{
	return (port >= 0x40 && port <= 0x43) || port == 0x61 ||
	       port == 0x70 || port == 0x71;
}

static void rn_vcpu_io(struct rn_vcpu *v)
{
	struct machine *m = v->m;
	struct vmxcore_run *run = v->vb.run;
	size_t bytes = (size_t)run->io.size * run->io.count;
	int rc;

	if (run->io.data_offset < offsetof(struct vmxcore_run, io_data) ||
	    run->io.data_offset > VMXCORE_RUN_SIZE || bytes > VMXCORE_RUN_SIZE - run->io.data_offset) {
		machine_stop(m, RN_ERROR, "vCPU %d: I/O exit data outside the run page", v->id);
		return;
	}
	pthread_mutex_lock(&m->io_lock);
	rc = vmm_bus_pio(&m->pc.pio, run->io.direction == VMXCORE_IO_OUT, run->io.port,
			 run->io.size, run->io.count, (uint8_t *)run + run->io.data_offset);
	pthread_mutex_unlock(&m->io_lock);
	if (rc)
		machine_stop(m, RN_ERROR, "vCPU %d: port 0x%x access of %u bytes refused",
			     v->id, run->io.port, run->io.size);
	else if (run->io.direction == VMXCORE_IO_OUT && rn_is_timer_port(run->io.port))
		machine_timers_changed(m);
}

static void rn_vcpu_mmio(struct rn_vcpu *v)
{
	struct machine *m = v->m;
	struct vmxcore_run *run = v->vb.run;
	int rc;

	pthread_mutex_lock(&m->io_lock);
	rc = vmm_bus_mmio(&m->pc.mmio, run->mmio.is_write, run->mmio.phys_addr,
			  run->mmio.len, run->mmio.data);
	pthread_mutex_unlock(&m->io_lock);
	if (rc)
		machine_stop(m, RN_ERROR, "vCPU %d: MMIO at 0x%llx of %u bytes refused", v->id,
			     (unsigned long long)run->mmio.phys_addr, run->mmio.len);
}

/* --trace-exits: one line per exit, with where the guest stood (read back
 * from the backend: KVM fills run->rip only for fatal exits). */
static void rn_vcpu_trace(struct rn_vcpu *v, int rc)
{
	const struct vmxcore_run *run = v->vb.run;
	struct vmxcore_regs r = { 0 };

	v->m->ops->get_regs(&v->vb, &r);
	fprintf(stderr, "vmxd-runner: vCPU %d exit %llu: rc %d reason %u (hw %u) rip 0x%llx",
		v->id, (unsigned long long)v->exits, rc, run->exit_reason, run->hw_exit_reason,
		(unsigned long long)r.rip);
	if (run->exit_reason == VMXCORE_EXIT_IO)
		fprintf(stderr, " port 0x%x %s", run->io.port,
			run->io.direction == VMXCORE_IO_IN ? "in" : "out");
	else if (run->exit_reason == VMXCORE_EXIT_MMIO)
		fprintf(stderr, " gpa 0x%llx %s", (unsigned long long)run->mmio.phys_addr,
			run->mmio.is_write ? "write" : "read");
	fputc('\n', stderr);
}

/* One exit. Returns 0 to go on. */
static void rn_vcpu_exit(struct rn_vcpu *v)
{
	struct machine *m = v->m;
	struct vmxcore_run *run = v->vb.run;

	switch (run->exit_reason) {
	case VMXCORE_EXIT_IO:
		rn_vcpu_io(v);
		break;
	case VMXCORE_EXIT_MMIO:
		rn_vcpu_mmio(v);
		break;
	case VMXCORE_EXIT_HLT:
		rn_vcpu_halt(v);
		break;
	case VMXCORE_EXIT_IRQ_WINDOW_OPEN:
	case VMXCORE_EXIT_INTR:
		break;
	case VMXCORE_EXIT_HYPERCALL:
		run->hypercall.ret = (uint64_t)-1000;	/* no hypercalls: KVM's -ENOSYS */
		break;
	case VMXCORE_EXIT_SHUTDOWN:
		machine_stop(m, RN_CRASH, "vCPU %d: triple fault at rip 0x%llx", v->id,
			     (unsigned long long)run->rip);
		break;
	case VMXCORE_EXIT_FAIL_ENTRY:
		machine_stop(m, RN_CRASH, "vCPU %d: VM entry refused, hardware reason %u",
			     v->id, run->fail_entry.hw_reason);
		break;
	case VMXCORE_EXIT_INTERNAL_ERROR:
		machine_stop(m, RN_CRASH, "vCPU %d: internal error %u (data 0x%llx) at rip 0x%llx",
			     v->id, run->internal.suberror,
			     (unsigned long long)run->internal.data[0],
			     (unsigned long long)run->rip);
		break;
	default:
		machine_stop(m, RN_CRASH, "vCPU %d: unexpected exit %u", v->id, run->exit_reason);
		break;
	}
}

void *rn_vcpu_thread(void *arg)
{
	struct rn_vcpu *v = arg;
	struct machine *m = v->m;
	int rc;

	while (atomic_load(&m->stop) == RN_RUNNING) {
		int injected;

		machine_vcpu_pause_point(v);
		if (v->halted && v->inject_unsure) {
			v->halted = 0;	/* the kernel's queued interrupt wakes it */
		} else if (v->halted) {
			rn_vcpu_halt_wait(v);
			continue;
		}
		/* GUEST from here: a kick while we look at the PIC makes the
		 * coming RUN return at once, so no interrupt waits for the
		 * next exit. */
		atomic_store(&v->where, RN_VCPU_GUEST);
		injected = rn_vcpu_interrupts(v);
		if (atomic_load(&m->stop) != RN_RUNNING)
			break;
		rc = m->ops->run(&v->vb);
		atomic_store(&v->where, RN_VCPU_USER);
		m->ops->set_immediate_exit(&v->vb, 0);
		v->exits++;
		if (v->exits <= m->cfg.trace_exits)
			rn_vcpu_trace(v, rc);
		/* The kernel holds nothing once an exit (not a kick: that
		 * may come before the entry) says the guest could take an
		 * interrupt: ready_for_interrupt is 0 while one is queued. */
		if (injected)
			v->inject_unsure = 1;
		if (!rc && v->vb.run->exit_reason != VMXCORE_EXIT_INTR &&
		    v->vb.run->ready_for_interrupt)
			v->inject_unsure = 0;
		if (rc == -EINTR)
			continue;
		if (rc && !(rc == -EIO && v->vb.run->exit_reason == VMXCORE_EXIT_INTERNAL_ERROR)) {
			machine_stop(m, RN_ERROR, "vCPU %d: RUN failed: %s", v->id, strerror(-rc));
			break;
		}
		rn_vcpu_exit(v);
	}
	atomic_store(&v->where, RN_VCPU_USER);
	return NULL;
}
