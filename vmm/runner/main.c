/*
 * vmxd-runner: the VMM process of one VM.
 *
 * Standalone (as kvmtool's "lkvm run" or Firecracker without its API):
 *   vmxd-runner [--backend vmxcore|kvm] --kernel FILE [--initrd FILE]
 *               [--cmdline TEXT] [--memory MIB] [--cpus N]
 * The guest's COM1 is this process's stdin and stdout. Exit status: 0 the
 * guest powered off, 3 it reset the machine, 2 it crashed, 4 stopped by a
 * signal, 1 the runner failed. The reason is printed on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "vmm/runner/runner.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: vmxd-runner [--backend vmxcore|kvm] --kernel FILE [--initrd FILE]\n"
		   "                   [--cmdline TEXT] [--memory MIB] [--cpus N]\n");
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

static int parse_args(int argc, char **argv, struct machine_config *c)
{
	static const struct option opts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "memory", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char *end;
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'b': c->backend = optarg; break;
		case 'k': c->kernel = optarg; break;
		case 'i': c->initrd = optarg; break;
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
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc || !c->kernel) {
		fprintf(stderr, "vmxd-runner: %s\n", c->kernel ? "unexpected argument" :
			"--kernel is required");
		usage(stderr);
		return -1;
	}
	return 0;
}

/* The main thread: timers, console input, signals, until the guest stops. */
static void main_loop(struct machine *m, int sigfd)
{
	struct pollfd p[4] = {
		{ .fd = m->timer_fd, .events = POLLIN },
		{ .fd = m->wake_fd, .events = POLLIN },
		{ .fd = sigfd, .events = POLLIN },
		{ .fd = STDIN_FILENO, .events = POLLIN },
	};
	uint8_t buf[16];

	while (atomic_load(&m->stop) == RN_RUNNING) {
		if (poll(p, 4, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			machine_on_timer(m);
		if (p[1].revents)
			machine_on_wake(m);
		if (p[2].revents) {
			struct signalfd_siginfo si;

			if (read(sigfd, &si, sizeof(si)) == sizeof(si))
				machine_stop(m, RN_DESTROYED, "signal %u", si.ssi_signo);
		}
		if (p[3].revents) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

			if (n > 0)
				machine_console_in(m, buf, (size_t)n);
			else
				p[3].fd = -1;	/* EOF: no more console input */
		}
	}
}

int main(int argc, char **argv)
{
	struct machine_config cfg = {
		.backend = "vmxcore", .ram_bytes = 128u << 20, .vcpus = 1,
		.console_out = console_stdout,
	};
	static struct machine m;
	struct vx_err err = { 0 };
	sigset_t sigs;
	int sigfd, status;

	if (parse_args(argc, argv, &cfg))
		return 1;
	/* SIGINT/SIGTERM go to the main loop only, before any thread exists. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sigfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sigfd < 0 || machine_create(&m, &cfg, &err) || machine_start(&m, &err)) {
		fprintf(stderr, "vmxd-runner: %s\n", err.msg[0] ? err.msg : strerror(errno));
		machine_stop(&m, RN_ERROR, "setup failed");
		machine_destroy(&m);
		return 1;
	}
	main_loop(&m, sigfd);
	machine_destroy(&m);
	status = exit_status((enum rn_stop)atomic_load(&m.stop));
	fprintf(stderr, "vmxd-runner: guest %s: %s\n",
		machine_stop_name((enum rn_stop)atomic_load(&m.stop)), m.stop_detail);
	return status;
}
