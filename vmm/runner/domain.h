/* domain: vmxd-runner started by vmxd (see domain.c). */
#ifndef VMM_RUNNER_DOMAIN_H
#define VMM_RUNNER_DOMAIN_H

#include "daemon/runner/console.h"
#include "vmm/runner/runner.h"

/* Serves vmxd until the guest stops; returns the exit status. */
int rn_domain_run(struct machine *m, const char *uuid, const char *name,
		  int listen_fd, int exit_fd, int sigfd, struct console *con);

/* The state directory's fd (statedir.h) for the snapshot verbs; -1: none. */
void rn_domain_set_state_dir(int dirfd);

#endif
