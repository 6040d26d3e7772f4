/*
 * conf: vmxd.conf, "key = value" lines, '#' comments. Every key and its
 * default is documented in etc/vmxd.conf and vmxd.8. Unknown keys are errors
 * (a typo must not silently fall back to a default). Context: startup.
 */
#include "daemon/vmxd.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vmxd_conf_defaults(struct vmxd_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->vc_socket, sizeof(c->vc_socket), "/run/vmxd/vmxd.sock");
	snprintf(c->vc_socket_ro, sizeof(c->vc_socket_ro), "/run/vmxd/vmxd-ro.sock");
	snprintf(c->vc_db, sizeof(c->vc_db), "/var/lib/vmxd/vmxd.db");
	snprintf(c->vc_rundir, sizeof(c->vc_rundir), "/run/vmxd");
	snprintf(c->vc_runner_sim, sizeof(c->vc_runner_sim),
		 "/usr/libexec/vmxd/vmxd-runner-sim");
	snprintf(c->vc_runner_kvm, sizeof(c->vc_runner_kvm),
		 "/usr/libexec/vmxd/vmxd-runner");
	snprintf(c->vc_group, sizeof(c->vc_group), "vmxd");
	c->vc_shutdown_timeout_ms = 60000;
	c->vc_log_level = 6;
	c->vc_autostart = 1;
}

static char *conf_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int conf_set(struct vmxd_conf *c, const char *k, const char *v,
		    const char *path, int line, struct vx_err *err)
{
	static const struct { const char *key; size_t off; } paths[] = {
		{ "socket", offsetof(struct vmxd_conf, vc_socket) },
		{ "socket_ro", offsetof(struct vmxd_conf, vc_socket_ro) },
		{ "database", offsetof(struct vmxd_conf, vc_db) },
		{ "rundir", offsetof(struct vmxd_conf, vc_rundir) },
		{ "runner_sim", offsetof(struct vmxd_conf, vc_runner_sim) },
		{ "runner_kvm", offsetof(struct vmxd_conf, vc_runner_kvm) },
	};
	static const char *const levels[] = { "emerg", "alert", "crit", "err",
		"warning", "notice", "info", "debug" };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (strcmp(k, paths[i].key) == 0) {
			if (strlen(v) >= VMXD_PATH_MAX)
				return vx_err_set(err, -EINVAL, "%s:%d: %s too long",
						  path, line, k);
			strcpy((char *)c + paths[i].off, v);
			return 0;
		}
	if (strcmp(k, "group") == 0) {
		snprintf(c->vc_group, sizeof(c->vc_group), "%s", v);
		return 0;
	}
	if (strcmp(k, "shutdown_timeout") == 0) {
		char *end;
		long n = strtol(v, &end, 10);

		if (*end || n < 0 || n > 86400)
			return vx_err_set(err, -EINVAL,
					  "%s:%d: shutdown_timeout must be 0..86400 seconds",
					  path, line);
		c->vc_shutdown_timeout_ms = (int)n * 1000;
		return 0;
	}
	if (strcmp(k, "log_level") == 0) {
		for (int i = 0; i < 8; i++)
			if (strcmp(v, levels[i]) == 0) {
				c->vc_log_level = i;
				return 0;
			}
		return vx_err_set(err, -EINVAL, "%s:%d: unknown log_level '%s'",
				  path, line, v);
	}
	if (strcmp(k, "autostart") == 0) {
		if (strcmp(v, "yes") && strcmp(v, "no"))
			return vx_err_set(err, -EINVAL,
					  "%s:%d: autostart must be yes or no", path, line);
		c->vc_autostart = strcmp(v, "yes") == 0;
		return 0;
	}
	return vx_err_set(err, -EINVAL, "%s:%d: unknown key '%s'", path, line, k);
}

int vmxd_conf_load(struct vmxd_conf *c, const char *path, struct vx_err *err)
{
	char buf[1024];
	FILE *f = fopen(path, "re");
	int line = 0, rc = 0;

	if (!f)
		return vx_err_errno(err, -errno, "cannot open %s", path);
	while (rc == 0 && fgets(buf, sizeof(buf), f)) {
		char *s, *eq, *hash;

		line++;
		if ((hash = strchr(buf, '#')))
			*hash = '\0';
		s = conf_trim(buf);
		if (!*s)
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			rc = vx_err_set(err, -EINVAL, "%s:%d: expected key = value",
					path, line);
			break;
		}
		*eq = '\0';
		rc = conf_set(c, conf_trim(s), conf_trim(eq + 1), path, line, err);
	}
	fclose(f);
	return rc;
}
