/*
 * vmxd-runner: the VMM process of one VM.
 *
 * Standalone (as kvmtool's "lkvm run" or Firecracker without its API):
 *   vmxd-runner [--backend vmxcore|kvm] --kernel FILE [--initrd FILE]
 *               [--kernel-format linux|multiboot]
 *               [--cmdline TEXT] [--memory MIB] [--cpus N]
 *               [--disk PATH[,format=raw|qcow2][,readonly]]...   (virtio-blk)
 *               [--nic tap=NAME[,mac=MAC][,bridge=BR]]...         (virtio-net)
 * The kernel is booted by the Linux boot protocol (bzImage or ELF vmlinux)
 * or, when it carries a multiboot header and is not a bzImage, as a
 * multiboot kernel with the initrd as module 0; --kernel-format overrides
 * the choice, and the runner's first log line names it.
 * The guest's COM1 is this process's stdin and stdout. Exit status: 0 the
 * guest powered off, 3 it reset the machine, 2 it crashed, 4 stopped by a
 * signal, 1 the runner failed. The reason is printed on stderr.
 *
 * Started by vmxd (domain type 'kvm'), as every runner is:
 *   vmxd-runner --uuid U --name N --xml FILE --pidfile FILE [--listen-fd 3]
 *               [--user nobody] plus the machine options above
 * and --state-dir DIR (memory snapshots: the snapshot-save and
 * snapshot-load verbs, statedir.h) and --restore FILE (start from a state
 * file rather than boot; standalone too).
 * vmxd derives the machine options from the domain XML (the VMM parses no
 * XML; --xml is the file vmxd keeps for it); vmxd's requests arrive on the
 * listening socket (domain.c). Once the VM is built the runner drops to
 * --user under a seccomp allow-list, before its vCPU threads exist.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "daemon/runner/console.h"
#include "daemon/runner/control.h"
#include "daemon/runner/sandbox.h"
#include "daemon/runner/statedir.h"
#include "vmm/runner/domain.h"
#include "vmm/runner/runner.h"

/* What vmxd starts us with (daemon mode when uuid is set). */
struct rn_daemon_args {
	const char *uuid, *name, *xml, *pidfile, *user;
	int listen_fd;
	const char *state_dir;		/* memory snapshots (statedir.h) */
	int state_dir_fd;
	const char *restore;		/* a state file to start from */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: vmxd-runner [--backend vmxcore|kvm] --kernel FILE [--initrd FILE]\n"
		   "                   [--kernel-format linux|multiboot]\n"
		   "                   [--cmdline TEXT] [--memory MIB] [--cpus N]\n"
		   "                   [--disk PATH[,format=raw|qcow2][,readonly]]...\n"
		   "                   [--nic tap=NAME[,mac=MAC][,bridge=BR]]...\n"

		   "                   [--restore STATEFILE] [--trace-exits N]\n");
}

static void console_stdout(void *opaque, const uint8_t *buf, size_t len)
{
	(void)opaque;
	while (len) {
		ssize_t n = write(STDOUT_FILENO, buf, len);

		if (n <= 0)
			return;	/* a closed stdout loses console output, nothing else */
		buf += n;
		len -= (size_t)n;
	}
}

static int exit_status(enum rn_stop why)
{
	switch (why) {
	case RN_POWEROFF:	return 0;
	case RN_RESET:		return 3;
	case RN_CRASH:		return 2;
	case RN_DESTROYED:	return 4;
	default:		return 1;
	}
}

static int parse_args(int argc, char **argv, struct machine_config *c,
		      struct rn_daemon_args *d)
{
	static const struct option opts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "kernel-format", required_argument, NULL, 'f' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "memory", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'n' },
		{ "disk", required_argument, NULL, 'd' },
		{ "nic", required_argument, NULL, 't' },
		{ "uuid", required_argument, NULL, 'u' },
		{ "name", required_argument, NULL, 'N' },
		{ "xml", required_argument, NULL, 'x' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "listen-fd", required_argument, NULL, 'l' },
		{ "user", required_argument, NULL, 'U' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "restore", required_argument, NULL, 'R' },
		{ "trace-exits", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct vx_err err = { 0 };
	char *end;
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'b': c->backend = optarg; break;
		case 'k': c->kernel = optarg; break;
		case 'i': c->initrd = optarg; break;
		case 'f':
			if (strcmp(optarg, "linux") && strcmp(optarg, "multiboot")) {
				fprintf(stderr, "vmxd-runner: --kernel-format '%s': linux or multiboot\n",
					optarg);
				return -1;
			}
			c->kernel_format = optarg;
			break;
		case 'c': c->cmdline = optarg; break;
		case 'm':
			c->ram_bytes = strtoull(optarg, &end, 10) << 20;
			if (*end || !c->ram_bytes) {
				fprintf(stderr, "vmxd-runner: --memory '%s': a size in MiB\n", optarg);
				return -1;
			}
			break;
		case 'n':
			c->vcpus = (unsigned)strtoul(optarg, &end, 10);
			if (*end) {
				fprintf(stderr, "vmxd-runner: --cpus '%s': a number\n", optarg);
				return -1;
			}
			break;
		case 'd':
			if (c->ndisks == RUNNER_MAX_DISKS) {
				fprintf(stderr, "vmxd-runner: at most %d disks\n", RUNNER_MAX_DISKS);
				return -1;
			}
			if (rn_disk_parse(optarg, &c->disks[c->ndisks++], &err)) {
				fprintf(stderr, "vmxd-runner: %s\n", err.msg);
				return -1;
			}
			break;
		case 't':
			if (c->nnics == RUNNER_MAX_NICS) {
				fprintf(stderr, "vmxd-runner: at most %d NICs\n", RUNNER_MAX_NICS);
				return -1;
			}
			if (rn_nic_parse(optarg, c->nnics, &c->nics[c->nnics], &err)) {
				fprintf(stderr, "vmxd-runner: %s\n", err.msg);
				return -1;
			}
			c->nnics++;
			break;
		case 'u': d->uuid = optarg; break;
		case 'N': d->name = optarg; break;
		case 'x': d->xml = optarg; break;
		case 'p': d->pidfile = optarg; break;
		case 'l': d->listen_fd = atoi(optarg); break;
		case 'U': d->user = optarg; break;
		case 'S': d->state_dir = optarg; break;
		case 'R': d->restore = optarg; break;
		case 'T':
			c->trace_exits = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !*optarg) {
				fprintf(stderr, "vmxd-runner: --trace-exits '%s': a number\n", optarg);
				return -1;
			}
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "vmxd-runner: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (d->uuid && (!d->name || !d->pidfile)) {
		fprintf(stderr, "vmxd-runner: --uuid needs --name and --pidfile\n");
		return -1;
	}
	if (!c->kernel) {
		fprintf(stderr, "vmxd-runner: --kernel is required\n");
		usage(stderr);
		return -1;
	}
	return 0;
}

/* Beyond the common runner allow-list: threads, signals, timers, and
 * ioctls of vmxcore (0xB7) and KVM (0xAE) only. */
static int rn_sandbox(const char *user, int state_dir_fd, struct vx_err *err)
{
	static const int syscalls[] = {
		SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(set_robust_list),
		SCMP_SYS(rseq), SCMP_SYS(mprotect), SCMP_SYS(tgkill), SCMP_SYS(gettid),
		SCMP_SYS(rt_sigaction), SCMP_SYS(timerfd_settime), SCMP_SYS(sched_yield),
		SCMP_SYS(getuid), SCMP_SYS(prctl),
		/* disk I/O through the storage library */
		SCMP_SYS(pread64), SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(fsync),
		SCMP_SYS(fdatasync), SCMP_SYS(fallocate), SCMP_SYS(flock), SCMP_SYS(fcntl),
		/* frames to the NICs' taps, straight from guest RAM (net.c) */
		SCMP_SYS(writev),
	};
	static const unsigned ioctl_types[] = { 0xB7, 0xAE };
	const struct runner_sandbox_extra x = {
		syscalls, sizeof(syscalls) / sizeof(syscalls[0]),
		ioctl_types, sizeof(ioctl_types) / sizeof(ioctl_types[0]),
		.has_dirfd = state_dir_fd >= 0, .dirfd = state_dir_fd,
	};

	return runner_sandbox_enter_with(user, &x, err);
}

/* Where the restored boot vCPU stands, read back from the backend: what
 * the kernel will run first, so a state that did not take shows here. */
static void rn_restore_report(struct machine *m, const char *path)
{
	struct vmxcore_regs r;
	struct vmxcore_sregs s;

	if (m->ops->get_regs(&m->vcpu[0].vb, &r) || m->ops->get_sregs(&m->vcpu[0].vb, &s))
		return;
	fprintf(stderr, "vmxd-runner: restored %s: vCPU 0 at %04x:%016llx, cr3 0x%llx, rflags 0x%llx\n",
		path, (unsigned)s.cs.selector, (unsigned long long)r.rip,
		(unsigned long long)s.cr3, (unsigned long long)r.rflags);
}

/* --restore: the guest's state from a file instead of the boot (the
 * kernel was loaded all the same; the file's RAM replaces it). */
static int rn_restore(struct machine *m, const char *path, struct vx_err *err)
{
	int fd, rc;

	if (!path)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vx_err_errno(err, -errno, "--restore %s", path);
	rc = machine_snapshot_load(m, fd, NULL, err);
	close(fd);
	if (!rc)
		rn_restore_report(m, path);
	return rc;
}

/* The main thread: timers, console input, signals, until the guest stops. */
static void main_loop(struct machine *m, int sigfd)
{
	struct pollfd p[MACHINE_POLLFDS + 1];
	int console_in = STDIN_FILENO;
	uint8_t buf[16];

	while (atomic_load(&m->stop) == RN_RUNNING) {
		machine_pollfds(m, sigfd, p);
		p[MACHINE_POLLFDS] = (struct pollfd){ .fd = console_in, .events = POLLIN };
		if (poll(p, MACHINE_POLLFDS + 1, -1) < 0 && errno != EINTR)
			break;
		machine_polled(m, sigfd, p);
		if (p[MACHINE_POLLFDS].revents) {
			ssize_t n = read(console_in, buf, sizeof(buf));

			if (n > 0)
				machine_console_in(m, buf, (size_t)n);
			else
				console_in = -1;	/* EOF: no more console input */
		}
	}
}

/* Daemon mode: the machine from the XML, vmxd's socket, the sandbox. */
/* The guest's COM1 output to the console server (vCPU thread, io_lock held). */
static void console_to_server(void *opaque, const uint8_t *buf, size_t len)
{
	console_output(opaque, buf, len);
}

static int domain_main(struct machine *m, struct machine_config *cfg,
		       const struct rn_daemon_args *d, int sigfd)
{
	static struct console con;	/* about 70 KiB */
	char path[4096];
	struct vx_err err = { 0 };
	int exit_fd, rc;

	exit_fd = runner_open_exit_file(d->pidfile);
	cfg->console_out = console_to_server;
	cfg->console_opaque = &con;
	console_path_from_pidfile(d->pidfile, path, sizeof(path));
	if (runner_write_pidfile(d->pidfile, &err) || console_open(&con, path, NULL, &err) ||
	    machine_create(m, cfg, &err) || rn_restore(m, d->restore, &err) ||
	    rn_sandbox(d->user, d->state_dir_fd, &err) || machine_start(m, &err)) {
		fprintf(stderr, "vmxd-runner %s: %s\n", d->name, err.msg);
		runner_write_exit_reason(exit_fd, "failed");
		atomic_store(&m->stop, RN_ERROR);
		machine_destroy(m);
		return 1;
	}
	fprintf(stderr, "vmxd-runner %s: guest running on %s (%llu MiB, %u vCPU, %s kernel)\n",
		d->name, m->ops->dev, (unsigned long long)(cfg->ram_bytes >> 20), cfg->vcpus,
		m->boot_format);
	rc = rn_domain_run(m, d->uuid, d->name, d->listen_fd, exit_fd, sigfd, &con);
	machine_destroy(m);
	console_close(&con);
	return rc;
}

int main(int argc, char **argv)
{
	struct machine_config cfg = {
		.backend = "vmxcore", .ram_bytes = 128u << 20, .vcpus = 1,
		.console_out = console_stdout,
	};
	struct rn_daemon_args d = { .listen_fd = 3, .state_dir_fd = -1 };
	static struct machine m;	/* large (disks): not on the stack */
	struct vx_err err = { 0 };
	sigset_t sigs;
	int sigfd, status;

	if (parse_args(argc, argv, &cfg, &d))
		return 1;
	signal(SIGPIPE, SIG_IGN);
	/* SIGINT/SIGTERM go to the main loop only, before any thread exists. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sigfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (d.state_dir && (d.state_dir_fd = runner_statedir_open(d.state_dir, &err)) < 0) {
		fprintf(stderr, "vmxd-runner: %s\n", err.msg);
		return 1;
	}
	rn_domain_set_state_dir(d.state_dir_fd);
	if (d.uuid && sigfd >= 0)
		return domain_main(&m, &cfg, &d, sigfd);
	if (sigfd < 0 || machine_create(&m, &cfg, &err) || rn_restore(&m, d.restore, &err) ||
	    machine_start(&m, &err)) {
		fprintf(stderr, "vmxd-runner: %s\n", err.msg[0] ? err.msg : strerror(errno));
		machine_stop(&m, RN_ERROR, "setup failed");
		machine_destroy(&m);
		return 1;
	}
	fprintf(stderr, "vmxd-runner: booting %s as %s on %s (%llu MiB, %u vCPU)\n", cfg.kernel,
		m.boot_format, m.ops->dev, (unsigned long long)(cfg.ram_bytes >> 20), cfg.vcpus);
	main_loop(&m, sigfd);
	machine_destroy(&m);
	status = exit_status((enum rn_stop)atomic_load(&m.stop));
	fprintf(stderr, "vmxd-runner: guest %s: %s\n",
		machine_stop_name((enum rn_stop)atomic_load(&m.stop)), m.stop_detail);
	return status;
}
