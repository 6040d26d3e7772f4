/*
 * statedir: see statedir.h. Names are checked here although vmxd made
 * them: the runner trusts nothing it did not check itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "daemon/runner/statedir.h"

int runner_statedir_open(const char *path, struct vx_err *err)
{
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return vx_err_errno(err, -errno, "state directory %s", path);
	return fd;
}

static int runner_statedir_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n && n <= 200 && name[0] != '.' &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789._-") == n;
}

int runner_statedir_arg(json_object *args, const char *key, int required, const char **out,
			struct vx_err *err)
{
	json_object *o;

	*out = NULL;
	if (!args || !json_object_object_get_ex(args, key, &o) || json_object_is_type(o, json_type_null)) {
		if (required)
			return vx_err_set(err, -EINVAL, "argument '%s' is required", key);
		return 0;
	}
	if (!json_object_is_type(o, json_type_string))
		return vx_err_set(err, -EINVAL, "argument '%s' must be a string", key);
	*out = json_object_get_string(o);
	return 0;
}

static int runner_statedir_check(int dirfd, const char *name, struct vx_err *err)
{
	if (dirfd < 0)
		return vx_err_set(err, -ENOTSUP, "this runner was started without a state directory");
	if (!runner_statedir_name_ok(name))
		return vx_err_set(err, -EINVAL,
				  "state file name '%.64s' invalid: [A-Za-z0-9._-], no leading dot, "
				  "at most 200 bytes", name);
	return 0;
}

int runner_statedir_create(int dirfd, const char *name, struct vx_err *err)
{
	int rc = runner_statedir_check(dirfd, name, err), fd;

	if (rc)
		return rc;
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return vx_err_errno(err, -errno, "state file %s", name);
	return fd;
}

int runner_statedir_read(int dirfd, const char *name, struct vx_err *err)
{
	int rc = runner_statedir_check(dirfd, name, err), fd;

	if (rc)
		return rc;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return vx_err_errno(err, -errno, "state file %s", name);
	return fd;
}

void runner_statedir_remove(int dirfd, const char *name)
{
	if (dirfd >= 0 && runner_statedir_name_ok(name))
		unlinkat(dirfd, name, 0);
}
