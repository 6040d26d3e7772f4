/*
 * sandbox: what a runner gives up once it is set up. Shared by every runner.
 * Context: runner process, single-threaded, before its main loop.
 */
#ifndef RUNNER_SANDBOX_H
#define RUNNER_SANDBOX_H

#include "vx_err.h"

/*
 * When root: drops supplementary groups and switches to user (default
 * "nobody"); then sets no_new_privs and loads a seccomp allow-list of the
 * syscalls a runner loop needs (poll, accept, read/write, send/recv, memory,
 * time, exit). Anything else kills the process. Sanitizer builds log instead
 * of killing: the ASan runtime needs syscalls the runner itself does not.
 */
int runner_sandbox_enter(const char *user, struct vx_err *err);

#endif
