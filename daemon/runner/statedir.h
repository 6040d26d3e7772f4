/*
 * statedir: a runner's directory of VM state files (memory snapshots),
 * <vmxd state dir>/snapshots/<uuid>, which vmxd creates for it and names
 * with --state-dir. Opened before the sandbox; afterwards files are made
 * and read only relative to it (openat with that dirfd is all the sandbox
 * lets through), under plain names vmxd chose: [A-Za-z0-9._-], no leading
 * dot, at most 200 bytes.
 *
 * Context: a runner's main thread.
 */
#ifndef RUNNER_STATEDIR_H
#define RUNNER_STATEDIR_H

#include <json-c/json.h>

#include "vx_err.h"

/* The directory as an O_PATH fd, or -errno. */
int runner_statedir_open(const char *path, struct vx_err *err);
/* A state file name from a request's args ("file"): 0 or -EINVAL. */
int runner_statedir_arg(json_object *args, const char *key, int required, const char **out,
			struct vx_err *err);
/* A new file (refused if it exists) for writing, or an existing one for
 * reading; -errno with err set. */
int runner_statedir_create(int dirfd, const char *name, struct vx_err *err);
int runner_statedir_read(int dirfd, const char *name, struct vx_err *err);
/* After a failed save: the partial file goes. */
void runner_statedir_remove(int dirfd, const char *name);

#endif
