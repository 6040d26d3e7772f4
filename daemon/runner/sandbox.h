/*
 * sandbox: what a runner gives up once it is set up. Shared by every runner.
 * Context: runner process, single-threaded, before its main loop.
 */
#ifndef RUNNER_SANDBOX_H
#define RUNNER_SANDBOX_H

#include <stddef.h>

#include "vx_err.h"

/*
 * When root: drops supplementary groups and switches to user (default
 * "nobody"); then sets no_new_privs and loads a seccomp allow-list of the
 * syscalls a runner loop needs (poll, accept, read/write, send/recv, memory,
 * time, exit). Anything else is refused with SIGSYS, which kills the
 * process after naming the syscall in its log (crash.h). Sanitizer builds
 * log instead of killing: the ASan runtime needs syscalls the runner
 * itself does not.
 */
int runner_sandbox_enter(const char *user, struct vx_err *err);

/*
 * The same, plus what one runner needs beyond the common list: syscall
 * numbers, and ioctl restricted to the request types listed (the VMM:
 * vmxcore's 0xB7, KVM's 0xAE). Threads created afterwards inherit the
 * filter, so a runner with threads enters the sandbox before creating them.
 */
struct runner_sandbox_extra {
	const int *syscalls;
	size_t nsyscalls;
	const unsigned *ioctl_types;
	size_t nioctl_types;
	/* With has_dirfd: openat and unlinkat with dirfd as their directory
	 * (a runner's state directory, statedir.h). seccomp cannot look at
	 * the path: an absolute one would pass, so this widens the sandbox
	 * to what the runner's user may open; the runner itself only uses
	 * checked plain names. */
	int has_dirfd;
	int dirfd;
};
int runner_sandbox_enter_with(const char *user, const struct runner_sandbox_extra *extra,
			      struct vx_err *err);

#endif
